//! The conversations of the chat view (pure, tested natively): one thread per pane (the local
//! model and each API pane), the same user messages in all, each pane's own answers.
//!
//! A message sent goes to every pane: [`Chat::send`] appends the user's turn and a running
//! assistant turn to each thread. Each pane's request is its own history ([`Thread::request`]):
//! the user's messages and that pane's finished answers, a failed answer dropped with the
//! question it answered, so that turns always alternate.

use arbitre_protocol::{ChatRole, ChatTurn};

use super::votes::Vote;

/// Where an assistant turn stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TurnState {
    /// Still streaming.
    #[default]
    Running,
    /// Finished (also when stopped: the text so far is the answer).
    Done,
    /// Failed; the error is in [`Turn::error`].
    Error,
}

impl TurnState {
    /// The name used in the page's `data-state` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}

/// One message of a thread.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    /// Who wrote it.
    pub role: Option<ChatRole>,
    /// The text (as generated, for an answer).
    pub text: String,
    /// For answers: running, done or failed (user turns are done).
    pub state: TurnState,
    /// For finished answers: the statistics as JSON (the page's `data-json`).
    pub stats_json: String,
    /// For failed answers: why.
    pub error: Option<String>,
}

impl Turn {
    fn user(text: &str) -> Self {
        Self { role: Some(ChatRole::User), text: text.to_owned(), state: TurnState::Done, ..Self::default() }
    }

    fn answer() -> Self {
        Self { role: Some(ChatRole::Assistant), ..Self::default() }
    }

    /// Whether this is the person's message.
    pub fn is_user(&self) -> bool {
        self.role == Some(ChatRole::User)
    }
}

/// One pane's conversation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thread {
    /// The messages, oldest first.
    pub turns: Vec<Turn>,
}

impl Thread {
    /// The conversation to send for the last user message: each earlier question with this
    /// pane's finished answer (a failed or empty answer drops the pair), then the last user
    /// message. Empty when the thread does not end with a user message waiting for an answer.
    pub fn request(&self) -> Vec<ChatTurn> {
        let mut turns = self.turns.as_slice();
        if let Some(last) = turns.last()
            && !last.is_user()
            && last.state == TurnState::Running
        {
            turns = &turns[..turns.len() - 1];
        }
        let Some((question, earlier)) = turns.split_last().filter(|(q, _)| q.is_user()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut pending: Option<&Turn> = None;
        for t in earlier {
            if t.is_user() {
                pending = Some(t);
            } else if let Some(q) = pending.take()
                && t.state == TurnState::Done
                && !t.text.trim().is_empty()
            {
                out.push(ChatTurn { role: ChatRole::User, text: q.text.clone() });
                out.push(ChatTurn { role: ChatRole::Assistant, text: t.text.trim().to_owned() });
            }
        }
        out.push(ChatTurn { role: ChatRole::User, text: question.text.clone() });
        out
    }

    /// The last turn if it is a running answer.
    fn running(&mut self) -> Option<&mut Turn> {
        self.turns.last_mut().filter(|t| !t.is_user() && t.state == TurnState::Running)
    }

    /// Whether an answer is still streaming.
    pub fn is_running(&self) -> bool {
        self.turns.last().is_some_and(|t| !t.is_user() && t.state == TurnState::Running)
    }
}

/// Which pane a piece of an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    /// The model in this browser.
    Local,
    /// The API pane with this 0-based index.
    Api(usize),
}

/// All panes' conversations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chat {
    /// The local model's thread.
    pub local: Thread,
    /// One thread per API pane.
    pub apis: Vec<Thread>,
    /// How many messages were sent in this conversation (API panes start on a change).
    pub sent: u64,
    /// The vote on each question's answers, by question (0 the first).
    pub votes: Vec<Option<Vote>>,
    /// The system message of this conversation, fixed by its first message: editing the
    /// setting applies to the next conversation.
    pub system: Option<String>,
}

impl Chat {
    /// A thread by pane, created (empty) for an API pane not seen yet.
    pub fn thread_mut(&mut self, pane: PaneId) -> &mut Thread {
        match pane {
            PaneId::Local => &mut self.local,
            PaneId::Api(i) => {
                if self.apis.len() <= i {
                    self.apis.resize(i + 1, Thread::default());
                }
                &mut self.apis[i]
            }
        }
    }

    /// Keeps one thread per API pane (panes added start empty, removed ones go).
    pub fn set_api_panes(&mut self, n: usize) {
        self.apis.resize(n, Thread::default());
    }

    /// Sends `text` to every pane: a user turn and a running answer in each thread. The first
    /// message of a conversation fixes its system message (`system`, empty for none).
    pub fn send(&mut self, text: &str, system: &str) {
        if self.local.turns.is_empty() && self.apis.iter().all(|t| t.turns.is_empty()) {
            self.system = Some(system.trim().to_owned()).filter(|s| !s.is_empty());
        }
        for t in std::iter::once(&mut self.local).chain(self.apis.iter_mut()) {
            t.turns.push(Turn::user(text));
            t.turns.push(Turn::answer());
        }
        self.sent += 1;
    }

    /// Appends streamed text to a pane's running answer.
    pub fn delta(&mut self, pane: PaneId, text: &str) {
        if let Some(t) = self.thread_mut(pane).running() {
            t.text.push_str(text);
        }
    }

    /// Ends a pane's running answer with its statistics; `text`, when given, replaces what
    /// was streamed (an API's final text).
    pub fn done(&mut self, pane: PaneId, stats_json: String, text: Option<String>) {
        if let Some(t) = self.thread_mut(pane).running() {
            t.state = TurnState::Done;
            t.stats_json = stats_json;
            if let Some(text) = text {
                t.text = text;
            }
        }
    }

    /// Ends a pane's running answer with an error.
    pub fn fail(&mut self, pane: PaneId, error: String) {
        if let Some(t) = self.thread_mut(pane).running() {
            t.state = TurnState::Error;
            t.error = Some(error);
        }
    }

    /// Records the vote on question `q` (0 the first); the same vote again takes it back.
    pub fn vote(&mut self, q: usize, vote: Vote) {
        if self.votes.len() <= q {
            self.votes.resize(q + 1, None);
        }
        self.votes[q] = if self.votes[q] == Some(vote) { None } else { Some(vote) };
    }

    /// Forgets every thread (a new conversation); the API panes stay.
    pub fn clear(&mut self) {
        self.local = Thread::default();
        self.votes.clear();
        self.system = None;
        let n = self.apis.len();
        self.apis = vec![Thread::default(); n];
    }

    /// Drops the oldest question and its answers from every thread (when the conversation
    /// outgrows the context). Returns whether anything was dropped.
    pub fn drop_oldest(&mut self) -> bool {
        let mut dropped = false;
        for t in std::iter::once(&mut self.local).chain(self.apis.iter_mut()) {
            // The first user turn and everything up to the next user turn.
            if let Some(first) = t.turns.iter().position(Turn::is_user) {
                let end = t.turns[first + 1..].iter().position(Turn::is_user).map_or(t.turns.len(), |i| first + 1 + i);
                if end < t.turns.len() || !t.is_running() {
                    t.turns.drain(first..end);
                    dropped = true;
                }
            }
        }
        if dropped && !self.votes.is_empty() {
            self.votes.remove(0);
        }
        dropped
    }

    /// Whether any pane is still answering.
    pub fn busy(&self) -> bool {
        self.local.is_running() || self.apis.iter().any(Thread::is_running)
    }
}

/// Why the next message may not fit the local model's context, or `None` when it does.
///
/// `used` is the last finished local turn's whole conversation (its prompt plus its answer,
/// in tokens); the new message is estimated at one token per three bytes (plus the template's
/// few tokens), and the answer may take `max_tokens`. An estimate: the worker refuses a prompt
/// that is really too long.
pub fn context_warning(used: usize, new_message: &str, max_tokens: usize, n_ctx: usize) -> Option<String> {
    if n_ctx == 0 {
        return None;
    }
    let need = used + new_message.len().div_ceil(3) + 16 + max_tokens;
    (need > n_ctx).then(|| {
        format!(
            "This conversation would need about {need} tokens with the next answer ({used} so far), more than the local model's context of {n_ctx}. Start a new conversation, or drop the oldest turns."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(turns: &[ChatTurn]) -> Vec<(ChatRole, &str)> {
        turns.iter().map(|t| (t.role, t.text.as_str())).collect()
    }

    #[test]
    fn a_message_goes_to_every_pane_and_each_keeps_its_answers() {
        let mut c = Chat::default();
        c.set_api_panes(2);
        c.send("Hi", " Be brief. ");
        assert!(c.busy());
        assert_eq!(roles(&c.local.request()), [(ChatRole::User, "Hi")]);
        c.delta(PaneId::Local, "Hel");
        c.delta(PaneId::Local, "lo!");
        c.done(PaneId::Local, "{\"prompt_tokens\":3}".into(), None);
        c.delta(PaneId::Api(0), "partial");
        c.done(PaneId::Api(0), "{}".into(), Some("Hey there".into()));
        c.fail(PaneId::Api(1), "401 bad key".into());
        assert!(!c.busy());
        assert_eq!(c.local.turns[1].text, "Hello!");
        assert_eq!(c.local.turns[1].stats_json, "{\"prompt_tokens\":3}");
        assert_eq!(c.apis[0].turns[1].text, "Hey there");
        assert_eq!(c.apis[1].turns[1].state, TurnState::Error);

        c.send("And then?", "Changed meanwhile");
        assert_eq!(c.sent, 2);
        assert_eq!(c.system.as_deref(), Some("Be brief."), "the conversation keeps its system message");
        assert_eq!(
            roles(&c.local.request()),
            [(ChatRole::User, "Hi"), (ChatRole::Assistant, "Hello!"), (ChatRole::User, "And then?")]
        );
        assert_eq!(
            roles(&c.apis[0].request()),
            [(ChatRole::User, "Hi"), (ChatRole::Assistant, "Hey there"), (ChatRole::User, "And then?")]
        );
        // The failed answer is dropped with its question: turns still alternate.
        assert_eq!(roles(&c.apis[1].request()), [(ChatRole::User, "And then?")]);
        // Late pieces of a finished answer change nothing.
        c.done(PaneId::Local, "{}".into(), None);
        c.delta(PaneId::Local, "x");
        assert_eq!(c.local.turns[3].text, "");
    }

    #[test]
    fn new_conversation_and_dropping_the_oldest_turns() {
        let mut c = Chat::default();
        c.set_api_panes(1);
        for (q, a) in [("one", "1"), ("two", "2")] {
            c.send(q, "");
            c.done(PaneId::Local, String::new(), Some(a.into()));
            c.done(PaneId::Api(0), String::new(), Some(a.into()));
        }
        c.vote(0, Vote::Tie);
        c.vote(1, Vote::Local);
        c.vote(1, Vote::Local);
        assert_eq!(c.votes, [Some(Vote::Tie), None], "voting twice takes the vote back");
        c.vote(1, Vote::Api(0));
        assert!(c.drop_oldest());
        assert_eq!(c.votes, [Some(Vote::Api(0))], "the votes follow their questions");
        assert_eq!(c.local.turns.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), ["two", "2"]);
        assert_eq!(c.apis[0].turns.len(), 2);
        c.clear();
        assert!(c.local.turns.is_empty() && c.apis.len() == 1 && c.apis[0].turns.is_empty());
        assert!(c.votes.is_empty() && c.system.is_none());
        assert!(!c.drop_oldest());
        assert!(c.local.request().is_empty());
        c.send("again", "New system");
        assert_eq!(c.system.as_deref(), Some("New system"), "a new conversation takes the new one");
    }

    #[test]
    fn context_warning_counts_the_conversation_the_message_and_the_answer() {
        assert_eq!(context_warning(100, "hello", 256, 8192), None);
        let w = context_warning(1900, &"x".repeat(300), 128, 2048).expect("too long");
        assert!(w.contains("2144") && w.contains("2048"), "{w}");
        assert_eq!(context_warning(1_000_000, "x", 1, 0), None, "unknown context: no warning");
    }
}
