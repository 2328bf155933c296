//! The WebGPU backend in headless Chromium (SwiftShader's adapter): our WGSL kernels through
//! the browser's WebGPU, with results read back asynchronously.
#![cfg(target_arch = "wasm32")]

use arbitre_engine::{Engine, GenerateOptions, SamplingParams, Step, StopReason, WebGpuBackend};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const STORIES: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/stories260K/stories260K.gguf"));
const EXPECTED: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/stories260K/expected_t0_n200.txt"));

#[wasm_bindgen_test]
async fn stories260k_greedy_on_webgpu_is_byte_exact() {
    let backend = WebGpuBackend::request().await.expect("headless Chromium with --enable-unsafe-webgpu has an adapter");
    let adapter = backend.context().adapter_name.clone();
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    backend.context().device.on_uncaptured_error(std::sync::Arc::new(move |e: arbitre_kernels::wgpu::Error| {
        if let Ok(mut v) = sink.lock() {
            v.push(e.to_string());
        }
    }));
    let engine = Engine::from_gguf_bytes(backend, STORIES.to_vec()).expect("loads");
    let opts = GenerateOptions { sampling: SamplingParams::greedy(), max_tokens: 200, ..GenerateOptions::default() };
    let mut generator = engine.generate("", opts).expect("starts");
    let mut text = String::new();
    let mut ids = Vec::new();
    let reason = loop {
        match generator.step_async().await.expect("step") {
            Step::Token { id, text: t } => {
                ids.push(id);
                text.push_str(&t);
            }
            Step::Done { reason, text: t } => {
                text.push_str(&t);
                break reason;
            }
        }
    };
    console_log!("WebGPU ({adapter}): first ids {:?}", &ids[..ids.len().min(10)]);
    let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        errors.is_empty(),
        "WebGPU reported {} errors, first: {}",
        errors.len(),
        errors.first().cloned().unwrap_or_default()
    );
    assert_eq!(reason, StopReason::MaxTokens);
    assert_eq!(text, EXPECTED);
}
