//! The static page: a Yew UI on the main thread and an inference worker that owns the engine.
//!
//! The pure parts (URL state, the local pane's state machine, formatting, which model and from
//! where) live here and are tested natively. The browser parts (`ui`, `worker`) compile only
//! for wasm32; the UI never runs a model, and the worker never touches the DOM.

pub mod format;
pub mod models;
pub mod pane;
pub mod settings;

#[cfg(target_arch = "wasm32")]
pub mod address;
#[cfg(target_arch = "wasm32")]
pub mod field;
#[cfg(target_arch = "wasm32")]
pub mod latest;
#[cfg(target_arch = "wasm32")]
pub mod probe;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub mod compare;
pub mod costs;
