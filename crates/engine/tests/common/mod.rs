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
