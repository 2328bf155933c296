//! The chat view in the browser (wasm32 only): [`Answer`] renders an answer's Markdown tree
//! ([`super::markdown`]) node by node as Yew elements, never through an HTML string, with a
//! "raw" toggle showing the text as generated and a thinking model's `<think>` reasoning
//! collapsed apart from the answer; [`ChatColumns`] shows the message box and one
//! column per pane.

use std::rc::Rc;

use arbitre_chat::reasoning;
use arbitre_protocol::ChatRole;
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;
use yew::virtual_dom::VTag;

use super::export;
use super::markdown::{self, MdNode};
use super::state::{Chat, PaneId, Thread, TurnState};
use super::votes::{self, Vote};

/// The conversations as a Yew reducer, with the API panes' names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatState {
    /// The threads.
    pub chat: Chat,
    /// Each API pane's provider and model, by index.
    pub api_names: Vec<String>,
}

/// What changes the conversations.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatAction {
    /// A message to every pane, with the system message a new conversation takes.
    Send(String, String),
    /// Text streamed into a pane's answer.
    Delta(PaneId, String),
    /// A pane's answer ended: its statistics as JSON, and its final text if it has one.
    Done(PaneId, String, Option<String>),
    /// A pane's answer failed.
    Fail(PaneId, String),
    /// The API panes now are these (names by index).
    SetApis(Vec<String>),
    /// A new conversation.
    New,
    /// Drop the oldest question and its answers.
    DropOldest,
    /// A vote on question `.0`'s answers.
    Vote(usize, Vote),
}

impl Reducible for ChatState {
    type Action = ChatAction;

    fn reduce(self: Rc<Self>, action: ChatAction) -> Rc<Self> {
        let mut next = (*self).clone();
        let c = &mut next.chat;
        match action {
            ChatAction::Send(text, system) => c.send(&text, &system),
            ChatAction::Delta(pane, text) => c.delta(pane, &text),
            ChatAction::Done(pane, json, text) => c.done(pane, json, text),
            ChatAction::Fail(pane, error) => c.fail(pane, error),
            ChatAction::SetApis(names) => {
                c.set_api_panes(names.len());
                next.api_names = names;
            }
            ChatAction::New => c.clear(),
            ChatAction::DropOldest => {
                c.drop_oldest();
            }
            ChatAction::Vote(q, v) => c.vote(q, v),
        }
        Rc::new(next)
    }
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`), quietly doing nothing where
/// the browser has no clipboard API.
fn copy_to_clipboard(text: &str) {
    let Some(window) = web_sys::window() else { return };
    let Ok(clipboard) = Reflect::get(&window.navigator(), &"clipboard".into()) else { return };
    if clipboard.is_undefined() {
        return;
    }
    if let Ok(f) = Reflect::get(&clipboard, &"writeText".into()).and_then(|f| f.dyn_into::<Function>()) {
        let _ = f.call1(&clipboard, &JsValue::from_str(text));
    }
}

/// Offers `text` as a file to save (a `data:` link clicked at once: nothing leaves the page).
fn download(name: &str, mime: &str, text: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(a) = doc.create_element("a") else { return };
    let a: web_sys::HtmlAnchorElement = a.unchecked_into();
    a.set_href(&format!("data:{mime};charset=utf-8,{}", String::from(js_sys::encode_uri_component(text))));
    a.set_download(name);
    a.click();
}

/// One node as Yew: text as a text node, elements by name from the module's fixed list with
/// their checked attributes, code blocks with a copy button.
fn node(n: &MdNode) -> Html {
    match n {
        MdNode::Text(t) => html! { {t.clone()} },
        MdNode::El(e) => {
            let mut tag = VTag::new(e.tag);
            for (name, value) in &e.attrs {
                tag.add_attribute(name, value.clone());
            }
            tag.add_children(e.children.iter().map(node));
            tag.into()
        }
        MdNode::Code { lang, text } => {
            let copy = {
                let text = text.clone();
                Callback::from(move |_: MouseEvent| copy_to_clipboard(&text))
            };
            html! {
                <div class="md-code">
                    <div class="md-code-bar">
                        <span class="muted small">{lang.clone().unwrap_or_default()}</span>
                        <button class="link small" data-testid="code-copy" onclick={copy}>{"Copy"}</button>
                    </div>
                    <pre><code>{text.clone()}</code></pre>
                </div>
            }
        }
    }
}

/// Props of [`Answer`].
#[derive(Properties, PartialEq)]
pub struct AnswerProps {
    /// The answer as generated.
    pub text: AttrValue,
    /// `data-testid` of the raw text (`answer-raw` in threads).
    #[prop_or(AttrValue::from("answer-raw"))]
    pub raw_testid: AttrValue,
    /// Tokens of the reasoning, when known (`~` marks an estimate).
    #[prop_or_default]
    pub reasoning_tokens: Option<(u64, bool)>,
}

/// An answer as Markdown, with a toggle to the raw text (always in the page, hidden unless
/// toggled, so that it can be read and copied as generated).
#[component]
pub fn Answer(props: &AnswerProps) -> Html {
    let raw = use_state(|| false);
    let nodes = {
        let text = props.text.clone();
        use_memo(text, |t| Rc::new(markdown::parse(reasoning::answer(t))))
    };
    let split = reasoning::split(&props.text);
    let toggle = {
        let raw = raw.clone();
        Callback::from(move |_: MouseEvent| raw.set(!*raw))
    };
    html! {
        <div class="answer">
            <button class="link small answer-toggle" data-testid="answer-raw-toggle" onclick={toggle}
                aria-pressed={raw.to_string()}>{ if *raw { "formatted" } else { "raw" } }</button>
            if let Some(thought) = split.reasoning.filter(|_| !*raw) {
                <details class="reasoning" data-testid="reasoning" data-thinking={split.thinking.to_string()}>
                    <summary data-testid="reasoning-summary">{reasoning_summary(split.thinking, props.reasoning_tokens)}</summary>
                    <pre class="reasoning-text">{thought.to_string()}</pre>
                </details>
            }
            <div class="md" data-testid="answer-md" hidden={*raw}>{ for nodes.iter().map(node) }</div>
            <pre class="output" data-testid={props.raw_testid.clone()} hidden={!*raw}>{props.text.clone()}</pre>
        </div>
    }
}

/// The collapsed reasoning's title: "Thinking…" while the block is open, else its size.
fn reasoning_summary(thinking: bool, tokens: Option<(u64, bool)>) -> String {
    match (thinking, tokens) {
        (true, _) => "Thinking…".into(),
        (false, Some((n, estimated))) => format!("Reasoning · {}{n} tokens", if estimated { "~" } else { "" }),
        (false, None) => "Reasoning".into(),
    }
}

/// The reasoning tokens a turn's statistics (JSON) report, and whether they are an estimate.
fn reasoning_count(json: &str) -> Option<(u64, bool)> {
    let v = serde_json::from_str::<serde_json::Value>(json).ok()?;
    let n = v.get("reasoning_tokens")?.as_u64()?;
    Some((n, v.get("reasoning_estimated").and_then(serde_json::Value::as_bool).unwrap_or(false)))
}

/// The vote buttons under question `q`'s local answer.
fn vote_row(q: usize, current: Option<Vote>, n_apis: usize, on_vote: &Callback<(usize, Vote)>) -> Html {
    html! {
        <div class="votes row wrap" data-testid={format!("vote-{q}")}>
            { for votes::choices(n_apis).into_iter().map(|(v, label)| {
                let on_vote = on_vote.clone();
                let pressed = current == Some(v);
                html! {
                    <button class={classes!("small", pressed.then_some("primary"))} data-vote={v.as_str()} aria-pressed={pressed.to_string()}
                        onclick={Callback::from(move |_: MouseEvent| on_vote.emit((q, v)))}>{label}</button>
                }
            }) }
        </div>
    }
}

/// One pane's thread; `votes` (the local thread's) puts the vote buttons under each answer
/// once every pane has answered that question.
fn thread(t: &Thread, testid: String, title: String, votes: Option<(&Chat, &Callback<(usize, Vote)>)>) -> Html {
    let mut question = 0usize;
    html! {
        <section class="thread card" data-testid={testid}>
            <h3 class="thread-title">{title}</h3>
            { for t.turns.iter().map(|turn| {
                let role = if turn.role == Some(ChatRole::User) { "user" } else { "assistant" };
                let q = question;
                if !turn.is_user() {
                    question += 1;
                }
                let vote = votes.filter(|(c, _)| {
                    !c.apis.is_empty()
                        && turn.state != TurnState::Running
                        && c.apis.iter().all(|a| a.turns.iter().filter(|x| !x.is_user()).nth(q).is_some_and(|x| x.state != TurnState::Running))
                });
                if turn.is_user() {
                    html! { <div class="turn user" data-testid="turn" data-role={role}><p>{turn.text.clone()}</p></div> }
                } else {
                    html! {
                        <div class={classes!("turn", "assistant", turn.state.as_str())} data-testid="turn" data-role={role}
                            data-state={turn.state.as_str()} data-json={turn.stats_json.clone()}>
                            <Answer text={AttrValue::from(turn.text.clone())} reasoning_tokens={reasoning_count(&turn.stats_json)} />
                            if turn.state == TurnState::Running { <span class="muted small">{"…"}</span> }
                            if let Some(e) = &turn.error { <p class="error small" role="alert">{e.clone()}</p> }
                            if !turn.stats_json.is_empty() { <p class="muted small turn-stats">{stats_line(&turn.stats_json)}</p> }
                            if let Some((c, on_vote)) = vote { {vote_row(q, c.votes.get(q).copied().flatten(), c.apis.len(), on_vote)} }
                        </div>
                    }
                }
            }) }
        </section>
    }
}

/// A short line of the statistics a turn carries as JSON.
fn stats_line(json: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else { return String::new() };
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let mut parts = Vec::new();
    if let Some(t) = num("ttft_ms") {
        parts.push(format!("TTFT {}", crate::format::duration_ms(t)));
    }
    if let (Some(p), Some(f)) = (num("prompt_tokens"), num("prefill_tokens")) {
        parts.push(format!("prompt {p} tok ({f} prefilled)"));
    } else if let Some(i) = num("input_tokens") {
        parts.push(format!("input {i} tok"));
    }
    if let Some(g) = num("generated_tokens").or(num("output_tokens")) {
        match num("reasoning_tokens").filter(|r| *r > 0.0) {
            Some(r) => {
                let approx = if v.get("reasoning_estimated").and_then(serde_json::Value::as_bool) == Some(true) {
                    "~"
                } else {
                    ""
                };
                parts.push(format!("{g} tok out ({approx}{r} reasoning)"));
            }
            None => parts.push(format!("{g} tok out")),
        }
    }
    if let Some(t) = num("decode_tps").filter(|t| *t > 0.0) {
        parts.push(format!("{} tok/s", crate::format::rate(t)));
    }
    parts.join(" · ")
}

/// Props of [`ChatColumns`].
#[derive(Properties, PartialEq)]
pub struct ChatColumnsProps {
    /// The conversations.
    pub chat: Chat,
    /// Names of the API panes, by index.
    pub api_names: Vec<String>,
    /// The local model's name.
    pub local_name: String,
    /// What the message box holds at first (the link's `message`).
    #[prop_or_default]
    pub initial: String,
    /// The system message of the conversation (for the export).
    #[prop_or_default]
    pub system: String,
    /// Why sending is not possible now (no model loaded, a run going on…).
    #[prop_or_default]
    pub blocked: Option<String>,
    /// The context-size warning, when the next message may not fit.
    #[prop_or_default]
    pub warning: Option<String>,
    /// Sends a message to every pane.
    pub on_send: Callback<String>,
    /// Starts a new conversation.
    pub on_new: Callback<()>,
    /// Drops the oldest question and its answers.
    pub on_drop_oldest: Callback<()>,
    /// A vote on a question's answers (question index, vote).
    #[prop_or_default]
    pub on_vote: Callback<(usize, Vote)>,
}

/// The message box and the columns: local | API 1 | API 2 | API 3 on a wide screen, stacked
/// on a phone.
#[component]
pub fn ChatColumns(props: &ChatColumnsProps) -> Html {
    let draft = {
        let initial = props.initial.clone();
        use_state(move || initial)
    };
    let on_input = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| draft.set(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    };
    let send = {
        let (draft, on_send) = (draft.clone(), props.on_send.clone());
        move || {
            let text = draft.trim().to_string();
            if !text.is_empty() {
                on_send.emit(text);
            }
        }
    };
    let on_click = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send())
    };
    let on_key = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
            e.prevent_default();
            send();
        }
    });
    let on_new = {
        let on_new = props.on_new.clone();
        Callback::from(move |_: MouseEvent| on_new.emit(()))
    };
    let on_drop = {
        let on_drop = props.on_drop_oldest.clone();
        Callback::from(move |_: MouseEvent| on_drop.emit(()))
    };
    // The box empties once its message has gone out.
    {
        let (draft, sent) = (draft.clone(), props.chat.sent);
        use_effect_with(sent, move |sent| {
            if *sent > 0 {
                draft.set(String::new());
            }
        });
    }
    let export = |json: bool| {
        let (chat, names, local, system) =
            (props.chat.clone(), props.api_names.clone(), props.local_name.clone(), props.system.clone());
        Callback::from(move |_: MouseEvent| {
            if json {
                download("conversation.json", "application/json", &export::to_json(&chat, &names, &local, &system));
            } else {
                download("conversation.md", "text/markdown", &export::to_markdown(&chat, &names, &local, &system));
            }
        })
    };
    let on_vote = {
        let on_vote = props.on_vote.clone();
        Callback::from(move |(q, v): (usize, Vote)| on_vote.emit((q, v)))
    };
    let busy = props.chat.busy();
    let empty = props.chat.local.turns.is_empty();
    let n_cols = 1 + props.chat.apis.len();
    html! {
        <section class="card chat-panel" data-testid="chat-panel">
            <div class="pane-head">
                <h2>{"Conversation"}</h2>
                <div class="row">
                    <button class="ghost" data-testid="chat-export-md" onclick={export(false)} disabled={busy || empty}>{"Export Markdown"}</button>
                    <button class="ghost" data-testid="chat-export-json" onclick={export(true)} disabled={busy || empty}>{"Export JSON"}</button>
                    <button class="ghost" data-testid="chat-new" onclick={on_new} disabled={busy}>{"New conversation"}</button>
                </div>
            </div>
            <div class="chat-columns" style={format!("--cols:{n_cols}")}>
                { thread(&props.chat.local, "thread-local".into(), format!("In this browser · {}", props.local_name), Some((&props.chat, &on_vote))) }
                { for props.chat.apis.iter().enumerate().map(|(i, t)| {
                    let name = props.api_names.get(i).cloned().unwrap_or_else(|| format!("API {}", i + 1));
                    thread(t, format!("thread-api-{i}"), format!("API {} · {name}", i + 1), None)
                }) }
            </div>
            if let Some(w) = &props.warning {
                <div class="warning" role="alert" data-testid="chat-warning">
                    <p>{w.clone()}</p>
                    <button onclick={on_new_from(&props.on_new)}>{"New conversation"}</button>
                    <button data-testid="chat-drop-oldest" onclick={on_drop}>{"Drop the oldest turns"}</button>
                </div>
            }
            <div class="chat-compose">
                <textarea data-testid="chat-input" rows="2" placeholder="Message every pane… (Enter sends, Shift+Enter for a new line)"
                    value={(*draft).clone()} oninput={on_input} onkeydown={on_key} />
                <button class="primary" data-testid="chat-send" onclick={on_click}
                    disabled={busy || props.blocked.is_some() || draft.trim().is_empty()}>{"Send"}</button>
            </div>
            if let Some(why) = &props.blocked { <p class="muted small" data-testid="chat-blocked">{why.clone()}</p> }
        </section>
    }
}

fn on_new_from(cb: &Callback<()>) -> Callback<MouseEvent> {
    let cb = cb.clone();
    Callback::from(move |_: MouseEvent| cb.emit(()))
}
