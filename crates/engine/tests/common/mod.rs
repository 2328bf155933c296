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

/// `$ARBITRE_MODELS`, or `~/.cache/arbitre/models`: where `scripts/real-models.sh` writes the
/// real-weights files.
pub fn models() -> PathBuf {
    std::env::var_os("ARBITRE_MODELS").map(Into::into).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME or ARBITRE_MODELS");
        PathBuf::from(home).join(".cache/arbitre/models")
    })
}

/// A JSON reference of `tests/golden/real/`.
pub fn real_reference(name: &str) -> serde_json::Value {
    let p = golden(&format!("real/{name}"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("reference json")
}

/// The bytes of a real-weights file, checked to be the file a reference was recorded on;
/// `make` says how to write it when it is missing.
pub fn model_bytes(file: &str, sha256: &str, make: &str) -> Vec<u8> {
    use sha2::Digest;
    let p = models().join(file);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; make it with {make}", p.display()));
    let got = format!("{:x}", sha2::Sha256::digest(&bytes));
    assert_eq!(got, sha256, "{} is not the file llama.cpp's reference was recorded on", p.display());
    bytes
}
