//! Real trained weights in wasm32 (simd128) and on WebGPU in headless Chromium, against the
//! llama.cpp references of `tests/golden/real/` (see the engine's native `tests/real.rs`):
//! SmolLM2-135M-Instruct F32 greedy chat answers exactly, and quantized files scored like
//! llama-perplexity within the same statistical rule as natively (Gemma 3: `real_gemma.rs`).
//!
//! The model files are fetched from the static server `scripts/test-wasm.sh` starts over
//! `scripts/real-models.sh`'s folder; its address is baked in at build time
//! (`ARBITRE_REAL_URL`).
//!
//! CI runs a subset sized for two cores: two conversations on the CPU and the perplexity of
//! the default model's Q4_1 file. The feature `real-full` adds every conversation, one on WebGPU
//! (SwiftShader: with Chromium 156.0.8078.114 it did not finish within the binary's 600 s on two
//! cores, twice on 2026-12-06; real weights on WebGPU are checked natively on lavapipe in CI),
//! and the Q4_0 and Q4_K_M files:
//! `scripts/test-wasm.sh --release --locked --test real --features real-full`.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "real-full")]
use arbitre_engine::WebGpuBackend;
use arbitre_engine::perplexity::{Reference, Scores, compare, n_scored, score_window, windows};
use arbitre_engine::{Backend, CpuBackend, Engine, GenerateOptions, Message, SamplingParams, Step};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[macro_use]
mod common;

use common::{fetch_bytes, json, now_ms, yield_now};

/// Greedy answers to the recorded conversations (those named in `only`, or all) against
/// llama.cpp's, stepping asynchronously as the page does.
async fn check_chats<B: Backend>(engine: &Engine<B>, only: Option<&[&str]>) {
    let spec = json(golden!("conversations.json"));
    let recorded = json(golden!("chats.json"));
    let max_tokens = recorded["max_tokens"].as_u64().expect("max_tokens") as usize;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (conv, want) in spec["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .zip(recorded["chats"].as_array().expect("chats"))
    {
        let id = conv["id"].as_str().expect("id");
        if only.is_some_and(|o| !o.contains(&id)) {
            continue;
        }
        let messages: Vec<Message> = serde_json::from_value(conv["messages"].clone()).expect("messages");
        let options = GenerateOptions { sampling: SamplingParams::greedy(), max_tokens, ..GenerateOptions::default() };
        let mut g = engine.generate_chat(&messages, options).expect("start");
        let mut text = String::new();
        loop {
            yield_now().await;
            match g.step_async().await.expect("step") {
                Step::Token { text: t, .. } => text.push_str(&t),
                Step::Done { text: t, .. } => {
                    text.push_str(&t);
                    break;
                }
            }
        }
        let want_text = want["answer"].as_str().expect("answer");
        console_log!("{id} [{}]: {text:?}", engine.model.backend().name());
        if text != want_text {
            failures.push(format!("{id}: arbitre {text:?} / llama.cpp {want_text:?}"));
        }
        checked += 1;
    }
    assert!(checked >= only.map_or(8, <[&str]>::len), "only {checked} conversations checked");
    assert!(failures.is_empty(), "greedy answers differ from llama.cpp's:\n{}", failures.join("\n"));
}

/// The conversations checked on the CPU: all with `real-full`, else a system prompt and several
/// turns (the three tests took 478 s in one binary on two busy cores, against a 600 s limit).
const CPU_CHATS: Option<&[&str]> =
    if cfg!(feature = "real-full") { None } else { Some(&["system-pirate", "multi-turn"]) };

#[wasm_bindgen_test]
async fn f32_greedy_chats_equal_llama_cpp_in_wasm() {
    let start = now_ms();
    let r = json(golden!("chats.json"));
    let bytes = fetch_bytes(r["file"].as_str().expect("file")).await;
    let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
    check_chats(&engine, CPU_CHATS).await;
    console_log!("F32 chats in wasm (CPU): {:.1} s", (now_ms() - start) / 1000.0);
}

#[cfg(feature = "real-full")]
#[wasm_bindgen_test]
async fn f32_greedy_chats_equal_llama_cpp_on_webgpu_in_chromium() {
    let backend = WebGpuBackend::request().await.expect("headless Chromium with --enable-unsafe-webgpu has WebGPU");
    let r = json(golden!("chats.json"));
    let bytes = fetch_bytes(r["file"].as_str().expect("file")).await;
    let start = now_ms();
    let engine = Engine::from_gguf_bytes(backend, bytes).expect("loads");
    check_chats(&engine, Some(&["system-pirate"])).await;
    console_log!("F32 chat on WebGPU: {:.1} s", (now_ms() - start) / 1000.0);
}

/// One quantized file scored in wasm against llama.cpp's batched run, window by window with
/// a pause between windows (see [`yield_now`]). As natively, the perplexity must be within 1%
/// of llama.cpp's; the top-1 agreement is printed (that part of the rule is not met yet).
async fn check_perplexity(reference: &str) {
    let start = now_ms();
    let r: Reference = serde_json::from_str(reference).expect("reference");
    let tokens: Vec<u32> = serde_json::from_str(golden!("tokens.json")).expect("tokens");
    let engine = Engine::from_gguf_bytes(CpuBackend, fetch_bytes(&r.file).await).expect("loads");
    let model = &engine.model;
    let mut scores = Scores { n_ctx: r.n_ctx, windows: Vec::new() };
    for w in windows(&tokens, r.n_ctx, r.bos).expect("windows") {
        yield_now().await;
        let mut session = model.session(r.n_ctx).expect("session");
        let logits =
            model.forward_last_async(&mut session, &w[..r.n_ctx - 1], n_scored(r.n_ctx)).await.expect("forward");
        scores.windows.push(score_window(&w, &logits, model.config.n_vocab).expect("scores"));
    }
    let c = compare(&scores, &r).expect("comparable");
    console_log!("{} in wasm: {c} ({:.1} s)", r.ty, (now_ms() - start) / 1000.0);
    assert!(c.perplexity_gap().abs() <= 0.01, "{}: {c}: perplexity not within 1% of llama.cpp's", r.ty);
}

/// The default model's type, on its simd128 kernels.
#[wasm_bindgen_test]
async fn perplexity_q4_1_in_wasm_matches_llama_cpp() {
    check_perplexity(golden!("ppl-q4_1.json")).await;
}

#[cfg(feature = "real-full")]
#[wasm_bindgen_test]
async fn perplexity_q4_0_in_wasm_matches_llama_cpp() {
    check_perplexity(golden!("ppl-q4_0.json")).await;
}

#[cfg(feature = "real-full")]
#[wasm_bindgen_test]
async fn perplexity_q4_k_m_in_wasm_matches_llama_cpp() {
    check_perplexity(golden!("ppl-q4_k_m.json")).await;
}
