//! The chat view: one conversation per pane, and answers rendered as Markdown safely.
//!
//! - [`markdown`]: pulldown-cmark into a tree of allowed elements (pure, tested natively).

pub mod markdown;
