//! What the real-weights tests share: the models' address, fetching a file, yielding to the
//! browser between steps, the committed references.
#![allow(dead_code)]

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// A file of `tests/golden/real/`, compiled in.
macro_rules! golden {
    ($rel:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/real/", $rel))
    };
}

/// The static server over `scripts/real-models.sh`'s folder that `scripts/test-wasm.sh` starts.
pub const BASE: Option<&str> = option_env!("ARBITRE_REAL_URL");

/// The bytes of a model file from that server.
pub async fn fetch_bytes(file: &str) -> Vec<u8> {
    let base = BASE.expect("ARBITRE_REAL_URL is unset: run these tests through scripts/test-wasm.sh");
    let url = format!("{base}{file}");
    let window = web_sys::window().expect("a window");
    let resp = JsFuture::from(window.fetch_with_str(&url)).await.unwrap_or_else(|e| panic!("{url}: {e:?}"));
    let resp: web_sys::Response = resp.dyn_into().expect("a Response");
    assert!(resp.ok(), "{url}: HTTP {} (scripts/real-models.sh makes the files)", resp.status());
    let buf = JsFuture::from(resp.array_buffer().expect("arrayBuffer")).await.expect("body");
    js_sys::Uint8Array::new(&buf).to_vec()
}

/// Lets the browser run its event loop. The CPU backend computes synchronously: without a
/// pause between steps the page would not answer the test driver for minutes, and chromedriver
/// gives up on a renderer silent for 30 s.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a window");
        window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0).expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

/// A committed reference, parsed.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("reference json")
}

/// Milliseconds since the epoch (for the timings printed).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
