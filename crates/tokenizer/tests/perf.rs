//! Build and encode times on a vocabulary the size of Llama 3's (128k tokens, 280k merges).
//! Timing assertions only mean something in release: run with
//! `cargo test --release -p arbitre-tokenizer --test perf -- --ignored --nocapture`.

use std::time::Instant;

use arbitre_gguf::{Metadata, Value};
use arbitre_tokenizer::Tokenizer;

/// A deterministic pseudo-random generator (xorshift), to keep the test self-contained.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn synthetic_llama3_metadata() -> Metadata {
    // GPT-2's printable byte alphabet
    let alphabet: Vec<char> = (0u32..256)
        .map(|b| match b {
            0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => char::from_u32(b).unwrap_or('?'),
            _ => '?',
        })
        .filter(|&c| c != '?')
        .chain((256u32..324).filter_map(char::from_u32))
        .collect();
    let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = tokens.iter().cloned().collect();
    let mut merges = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    while tokens.len() < 128_000 {
        let a = tokens[rng.below(tokens.len())].clone();
        let b = tokens[rng.below(tokens.len().min(4000))].clone();
        let ab = format!("{a}{b}");
        if ab.chars().count() <= 12 && seen.insert(ab.clone()) {
            merges.push(format!("{a} {b}"));
            tokens.push(ab);
        }
    }
    while merges.len() < 280_000 {
        let a = &tokens[rng.below(tokens.len())];
        let b = &tokens[rng.below(tokens.len())];
        merges.push(format!("{a} {b}"));
    }
    let mut md = Metadata::default();
    md.insert("tokenizer.ggml.model", Value::String("gpt2".into()));
    md.insert("tokenizer.ggml.pre", Value::String("llama-bpe".into()));
    md.insert("tokenizer.ggml.tokens", Value::Array(tokens.into_iter().map(Value::String).collect()));
    md.insert("tokenizer.ggml.merges", Value::Array(merges.into_iter().map(Value::String).collect()));
    md.insert("tokenizer.ggml.bos_token_id", Value::U32(0));
    md
}

#[test]
#[ignore = "timing: run in release"]
fn llama3_sized_vocab_builds_fast() {
    let md = synthetic_llama3_metadata();
    let t0 = Instant::now();
    let tok = Tokenizer::from_metadata(&md).unwrap_or_else(|e| panic!("{e}"));
    let build = t0.elapsed();
    let text = "The quick brown fox jumps over the lazy dog; 1234567, ÜML, 中文字符 🦙.\n".repeat(60);
    let t1 = Instant::now();
    let ids = tok.encode(&text, true, false).unwrap_or_else(|e| panic!("{e}"));
    let encode = t1.elapsed();
    println!("build {build:?}; encode {} bytes -> {} ids in {encode:?}", text.len(), ids.len());
    assert_eq!(tok.decode(&ids, true), text);
    assert!(build.as_secs_f64() < 1.0, "build took {build:?}");
    assert!(encode.as_secs_f64() < 0.05, "encode took {encode:?}");
}
