//! Shared helpers for the fixture tests.

#![allow(dead_code)]

use std::path::PathBuf;

use arbitre_tokenizer::Tokenizer;

/// The shared fixtures directory: `$ARBITRE_FIXTURES`, else `../shared/fixtures` beside the
/// checkout.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("ARBITRE_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures")),
    }
}

/// Loads the tokenizer of a GGUF file under the fixtures directory.
pub fn load_gguf(rel: &str) -> Tokenizer {
    let path = fixtures_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let header = arbitre_gguf::GgufHeader::parse(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    Tokenizer::from_metadata(&header.metadata).unwrap_or_else(|e| panic!("tokenizer of {}: {e}", path.display()))
}

/// The texts of an `X.gguf.inp` file, split as llama.cpp's test-tokenizer-0 does.
pub fn split_inputs(raw: &str) -> Vec<String> {
    const SEP: &str = "\n__ggml_vocab_test__\n";
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        match raw[pos..].find(SEP) {
            Some(i) => {
                out.push(raw[pos..pos + i].to_string());
                pos += i + SEP.len();
            }
            None => {
                out.push(raw[pos..].to_string());
                break;
            }
        }
    }
    out
}

/// The expected ids of an `X.gguf.out` file, one line per text.
pub fn parse_outputs(raw: &str) -> Vec<Vec<u32>> {
    raw.lines()
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap_or_else(|e| panic!("bad id {t:?}: {e}"))).collect())
        .collect()
}

/// `(text, expected ids)` for vocab `name` (e.g. `"gpt-2"`).
pub fn vocab_cases(name: &str) -> Vec<(String, Vec<u32>)> {
    let dir = fixtures_dir().join("vocab");
    let read = |ext: &str| {
        let p = dir.join(format!("ggml-vocab-{name}.gguf.{ext}"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    };
    let inputs = split_inputs(&read("inp"));
    let outputs = parse_outputs(&read("out"));
    assert_eq!(inputs.len(), outputs.len(), "{name}: .inp and .out disagree on the number of tests");
    inputs.into_iter().zip(outputs).collect()
}
