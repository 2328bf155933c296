//! The static page: a Yew UI on the main thread and an inference worker that owns the engine.
//!
//! The pure parts (URL state, the local pane's state machine, formatting, which model and from
//! where, the comparison, cost and privacy arithmetic) live here and are tested natively. The
//! browser parts (components, `ui`, `worker`) compile only for wasm32; the UI never runs a
//! model, and the worker never touches the DOM.
//!
//! One module folder per panel:
//! - [`chat`]: the conversations side by side, answers as safe Markdown;
//! - [`model`]: which model and from where, the local pane's state, the default-model probe;
//! - [`compare`]: the API panes, the comparison table and the quick diff;
//! - [`costs`]: projections, the price table and the decision grid;
//! - [`netlog`]: the network ("privacy") log.
//!
//! Shared: [`format`], [`settings`]; in the browser `address` (URL state), `field`, `latest`,
//! `dom` (small browser helpers), `ui` (the page) and `worker`.

pub mod chat;
pub mod compare;
pub mod costs;
pub mod format;
pub mod model;
pub mod netlog;
pub mod settings;

#[cfg(target_arch = "wasm32")]
pub mod address;
#[cfg(target_arch = "wasm32")]
pub mod dom;
#[cfg(target_arch = "wasm32")]
pub mod field;
#[cfg(target_arch = "wasm32")]
pub mod latest;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
