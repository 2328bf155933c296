//! The chat view: one conversation per pane (the local model and each API pane), side by
//! side, and answers rendered as Markdown safely.
//!
//! - [`export`]: the conversation as Markdown or JSON with its statistics (pure);
//! - [`markdown`]: pulldown-cmark into a tree of allowed elements (pure, tested natively);
//! - [`state`]: the threads, what each pane sends, the context-size check (pure);
//! - [`votes`]: which pane answered best, and the verdict on quality it gives (pure);
//! - `view` (wasm32): the tree as Yew nodes, the answer with its raw toggle and copy buttons,
//!   the message box and the columns.
//!
//! URL: `message` holds the conversation's first message (a link opens with it in the box);
//! keys are never in the URL.
//!
//! Test hooks (`data-testid`): `chat-panel`, `chat-input`, `chat-send`, `chat-new`,
//! `chat-warning` (with `chat-drop-oldest`), `chat-export-md`, `chat-export-json`; under each local answer once
//! all panes answered, `vote-K` (K the question, from 0) holding buttons with `data-vote`
//! (`local`, `api-N`, `tie`, `bad`) and `aria-pressed`; `thread-local`, `thread-api-N` (N from 0), each
//! holding one `turn` element per message with `data-role` (`user`|`assistant`) and, on
//! answers, `data-state` (running/done/error) and `data-json` (the turn's statistics; for the
//! local model including `prompt_tokens` and `prefill_tokens`); in each answer `answer-md`
//! (the rendered Markdown), `answer-raw` (the text as generated), `answer-raw-toggle`,
//! `code-copy`.

pub mod export;
pub mod markdown;
pub mod state;
#[cfg(target_arch = "wasm32")]
pub mod view;
pub mod votes;
