//! Reasoning blocks: the `<think>…</think>` text that thinking models (Qwen3, DeepSeek-R1 and
//! their distillations, QwQ) write before their answer.
//!
//! Two shapes occur. Either the model writes the whole block (`<think>` first, after optional
//! white space), or the chat template already opened it at the end of the prompt (DeepSeek-R1's
//! and Qwen3's templates in thinking mode end with `<think>\n`), so the output holds only the
//! closing tag. Both are read here: the reasoning is what comes before `</think>`, the answer
//! what comes after it. A block that is still open (generation running, or cut by the token
//! limit) is all reasoning and no answer yet.
//!
//! The page shows the reasoning apart, counts its tokens ([`ReasoningCounter`] while tokens
//! stream, [`estimate_reasoning_tokens`] where only the text and a total are known), and
//! compares and scores [`answer`] only.

/// The tag that opens a reasoning block.
pub const OPEN: &str = "<think>";
/// The tag that closes a reasoning block.
pub const CLOSE: &str = "</think>";

/// A generated text cut into its reasoning and its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The reasoning without its tags, trimmed; `None` when the text has no reasoning block.
    pub reasoning: Option<&'a str>,
    /// The answer: the text after the block (white space at its start removed), or the whole
    /// text when there is no block.
    pub answer: &'a str,
    /// The block is open: the model is still reasoning (or was stopped while it was).
    pub thinking: bool,
}

/// Cuts `text` into reasoning and answer (see the module docs for the shapes recognised).
pub fn split(text: &str) -> Split<'_> {
    let lead = text.trim_start();
    let opened = lead.starts_with(OPEN);
    let body = if opened { &lead[OPEN.len()..] } else { text };
    match body.find(CLOSE) {
        Some(end) => Split {
            reasoning: Some(body[..end].trim()),
            answer: body[end + CLOSE.len()..].trim_start(),
            thinking: false,
        },
        None if opened => Split { reasoning: Some(body.trim()), answer: "", thinking: true },
        None => Split { reasoning: None, answer: text, thinking: false },
    }
}

/// The answer of `text`, without its reasoning block.
pub fn answer(text: &str) -> &str {
    split(text).answer
}

/// Share of `total_tokens` spent on reasoning, estimated by characters: for answers whose
/// provider reports only a total (a reasoning block in the content of an OpenAI-compatible
/// answer). Zero when `text` has no reasoning block.
pub fn estimate_reasoning_tokens(text: &str, total_tokens: u64) -> u64 {
    let s = split(text);
    let all = text.chars().count() as u64;
    if s.reasoning.is_none() || all == 0 {
        return 0;
    }
    // Tags count with the reasoning: everything before the answer.
    let share = all - s.answer.chars().count() as u64;
    (total_tokens * share + all / 2) / all
}

/// Counts the reasoning tokens of a stream, one decoded token piece at a time, holding only the
/// few characters needed to find a tag cut across pieces.
///
/// A token belongs to the reasoning when it comes before or completes the `</think>` tag; when
/// the text began with `<think>` and no closing tag came (yet), every token does. Without either
/// tag, no token does.
#[derive(Clone, Debug, Default)]
pub struct ReasoningCounter {
    tokens: usize,
    /// The text's start, kept until it shows whether it opens with [`OPEN`].
    head: String,
    opened: Option<bool>,
    /// The last characters seen, enough to find a [`CLOSE`] that spans pieces.
    tail: String,
    closed_at: Option<usize>,
}

impl ReasoningCounter {
    /// A counter before the first token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts for one generated token whose decoded text is `piece` (may be empty).
    pub fn push(&mut self, piece: &str) {
        self.tokens += 1;
        self.scan(piece);
    }

    /// Accounts for text of tokens already pushed that was held back and released later (a
    /// generator withholding a possible stop string).
    pub fn push_text(&mut self, text: &str) {
        self.scan(text);
    }

    fn scan(&mut self, piece: &str) {
        if self.closed_at.is_some() {
            return;
        }
        if self.opened.is_none() {
            self.head.push_str(piece);
            let lead = self.head.trim_start();
            // Still white space, or a beginning of the tag: too early to tell.
            let undecided = lead.is_empty() || (lead.len() < OPEN.len() && OPEN.starts_with(lead));
            if !undecided {
                self.opened = Some(lead.starts_with(OPEN));
                self.head = String::new();
            }
        }
        self.tail.push_str(piece);
        if self.tail.contains(CLOSE) {
            self.closed_at = Some(self.tokens);
            self.tail = String::new();
            return;
        }
        let keep = CLOSE.len() - 1;
        if self.tail.len() > keep {
            let mut cut = self.tail.len() - keep;
            while !self.tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.tail.drain(..cut);
        }
    }

    /// Tokens pushed so far.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// Tokens of the reasoning so far (see the type's docs).
    pub fn reasoning_tokens(&self) -> usize {
        match self.closed_at {
            Some(n) => n,
            None if self.opened == Some(true) => self.tokens,
            None => 0,
        }
    }

    /// A block opened and not closed yet.
    pub fn thinking(&self) -> bool {
        self.closed_at.is_none() && self.opened == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_block_is_cut_from_the_answer() {
        let s = split("  <think>\nTwo and two.\n</think>\n\nFour!");
        assert_eq!(s, Split { reasoning: Some("Two and two."), answer: "Four!", thinking: false });
        assert_eq!(answer("<think></think>Four"), "Four");
    }

    #[test]
    fn closing_tag_alone_ends_a_block_the_template_opened() {
        let s = split("Let me add.\n</think>\nFour");
        assert_eq!(s, Split { reasoning: Some("Let me add."), answer: "Four", thinking: false });
    }

    #[test]
    fn open_block_is_all_reasoning() {
        let s = split("<think>Still going");
        assert_eq!(s, Split { reasoning: Some("Still going"), answer: "", thinking: true });
    }

    #[test]
    fn text_without_tags_is_all_answer() {
        let s = split("Plain <b>answer</b> about <think> tags");
        assert_eq!(s, Split { reasoning: None, answer: "Plain <b>answer</b> about <think> tags", thinking: false });
        assert_eq!(estimate_reasoning_tokens("Plain answer", 10), 0);
    }

    #[test]
    fn counter_counts_through_the_closing_tag_even_across_pieces() {
        let mut c = ReasoningCounter::new();
        for piece in ["<", "think", ">", "Two", " and two", "</th", "ink>", "Four", "!"] {
            c.push(piece);
        }
        assert_eq!((c.tokens(), c.reasoning_tokens(), c.thinking()), (9, 7, false));

        let mut open = ReasoningCounter::new();
        for piece in ["\n", "<think>", "Two", "é"] {
            open.push(piece);
        }
        assert_eq!((open.reasoning_tokens(), open.thinking()), (4, true));

        let mut template_opened = ReasoningCounter::new();
        for piece in ["Two", " and two", "</think>", "Four"] {
            template_opened.push(piece);
        }
        assert_eq!(template_opened.reasoning_tokens(), 3);

        let mut held_back = ReasoningCounter::new();
        for piece in ["<think>", "Two", "", ""] {
            held_back.push(piece);
        }
        held_back.push_text("</think>Four");
        assert_eq!((held_back.reasoning_tokens(), held_back.thinking()), (4, false));

        let mut plain = ReasoningCounter::new();
        for piece in ["<th", "e", " end>", "Four"] {
            plain.push(piece);
        }
        assert_eq!((plain.reasoning_tokens(), plain.thinking()), (0, false));
    }

    #[test]
    fn estimate_shares_tokens_by_characters() {
        // 20 of the 26 characters (the tags included) are reasoning.
        assert_eq!(estimate_reasoning_tokens("<think>abcde</think>Four!!", 13), 10);
        assert_eq!(estimate_reasoning_tokens("<think>all open", 7), 7);
    }
}
