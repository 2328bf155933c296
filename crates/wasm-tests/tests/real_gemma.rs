//! Gemma 3 270M on real trained weights in wasm32 (simd128) and on WebGPU in headless Chromium:
//! llama.cpp's F32 requantization of the published Q4_K_M (`scripts/real-models.sh --gemma F32`)
//! gives llama.cpp's greedy ids for the first prompt of `tests/golden/real/gemma3-completions.json`
//! (the native `tests/gemma.rs` checks them all). A binary of its own: the browser's time limit
//! is per binary, and `real.rs` uses most of it on two cores.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "real-full")]
use arbitre_engine::WebGpuBackend;
use arbitre_engine::{Backend, CpuBackend, Engine, GenerateOptions, SamplingParams, Step};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[macro_use]
mod common;

use common::{fetch_bytes, json, now_ms, yield_now};

/// The first `n` of the first recorded prompt's greedy ids on real Gemma 3 270M F32 weights
/// (`scripts/real-models.sh --gemma F32`), stepping asynchronously as the page does.
async fn check_gemma3<B: Backend>(backend: B, n: usize) {
    let start = now_ms();
    let r = json(golden!("gemma3-completions.json"));
    let bytes = fetch_bytes(r["file"].as_str().expect("file")).await;
    let engine = Engine::from_gguf_bytes(backend, bytes).expect("loads");
    let c = &r["completions"][0];
    let prompt = c["prompt"].as_str().expect("prompt");
    let mut want: Vec<u32> = serde_json::from_value(c["ids"].clone()).expect("ids");
    want.truncate(n);
    let options = GenerateOptions {
        sampling: SamplingParams::greedy(),
        max_tokens: want.len(),
        ignore_eos: true,
        ..GenerateOptions::default()
    };
    let mut g = engine.generate(prompt, options).expect("start");
    loop {
        yield_now().await;
        if let Step::Done { .. } = g.step_async().await.expect("step") {
            break;
        }
    }
    let name = engine.model.backend().name();
    assert_eq!(g.generated(), want.as_slice(), "Gemma 3 greedy ids after {prompt:?} on {name}");
    console_log!("Gemma 3 F32 on {name}: {} ids equal ({:.1} s)", want.len(), (now_ms() - start) / 1000.0);
}

#[wasm_bindgen_test]
async fn gemma3_f32_greedy_completion_equals_llama_cpp_in_wasm() {
    check_gemma3(CpuBackend, usize::MAX).await;
}

/// SwiftShader runs Gemma's 262,144-token output slowly on two cores: with `real-full` only,
/// and on the first 12 ids (natively, lavapipe took 125 s for 12 and 475 s for all 48).
#[cfg(feature = "real-full")]
#[wasm_bindgen_test]
async fn gemma3_f32_greedy_completion_equals_llama_cpp_on_webgpu_in_chromium() {
    check_gemma3(WebGpuBackend::request().await.expect("WebGPU"), 12).await;
}
