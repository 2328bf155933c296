//! Harness smoke tests: prove that wasm32 tests build, embed fixtures and run
//! inside headless Chromium (not Node.js). Run with `scripts/test-wasm.sh`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Greedy (temperature 0) 200-token reference output of stories260K.
const EXPECTED_T0_N200: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/stories260K/expected_t0_n200.txt"));

#[wasm_bindgen_test]
fn fixture_is_embedded() {
    assert_eq!(EXPECTED_T0_N200.len(), 464);
    assert!(EXPECTED_T0_N200.starts_with(b"Once upon a time"));
}

/// Reads `navigator.userAgent` through the JS global object.
fn user_agent() -> Option<String> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &JsValue::from_str("navigator")).ok()?;
    js_sys::Reflect::get(&navigator, &JsValue::from_str("userAgent")).ok()?.as_string()
}

#[wasm_bindgen_test]
fn runs_in_chromium() {
    let ua = user_agent().unwrap_or_default();
    console_log!("navigator.userAgent = {ua}");
    assert!(ua.contains("Chrome/"), "expected to run in Chromium, got user agent {ua:?}");
}
