//! Shared helpers of the engine's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use arbitre_engine::{CpuBackend, Engine, GenerateOptions, SamplingParams, StopReason};

/// `../shared/fixtures` beside the checkout, or `$ARBITRE_FIXTURES`.
pub fn fixtures() -> PathBuf {
    std::env::var_os("ARBITRE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into())
}

/// The repository's committed golden outputs.
pub fn golden(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden")).join(name)
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

pub fn gguf(rel: &str) -> Engine<CpuBackend> {
    Engine::from_gguf_bytes(CpuBackend, read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Runs a generator to the end and returns (text, ids, reason).
pub fn run(engine: &Engine<CpuBackend>, prompt: &str, options: GenerateOptions) -> (String, Vec<u32>, StopReason) {
    let mut g = engine.generate(prompt, options).expect("generator");
    let (text, reason) = g.run_to_end().expect("run");
    (text, g.generated().to_vec(), reason)
}

pub fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions { sampling: SamplingParams::greedy(), max_tokens, ..GenerateOptions::default() }
}

/// A synthetic model of `tests/golden/synth/<name>.json` (a llama.cpp reference run): the
/// reference, and the GGUF bytes made again from its arch, quant, vocab and seed.
pub fn synth_reference(name: &str) -> (serde_json::Value, Vec<u8>) {
    use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf};
    let text = std::fs::read_to_string(golden(&format!("synth/{name}.json"))).expect("reference");
    let r: serde_json::Value = serde_json::from_str(&text).expect("json");
    let field = |k: &str| r[k].as_str().unwrap_or_else(|| panic!("{name}: no {k}")).to_owned();
    let vocab = read(&format!("vocab/ggml-vocab-{}.gguf", field("vocab")));
    let vocab = arbitre_gguf::GgufHeader::parse(&vocab).expect("vocab parses").metadata;
    let quant = SynthQuant::parse(&field("quant")).expect("quant");
    let seed = r["seed"].as_u64().expect("seed");
    let shape = SynthShape::named(r["shape"].as_str().unwrap_or("test")).expect("shape");
    let bytes = synth_gguf(&field("arch"), &shape, quant, &vocab, seed).expect("synth");
    (r, bytes)
}

/// Token ids stored in a reference (`prompt_ids`, `ids`).
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect()
}
