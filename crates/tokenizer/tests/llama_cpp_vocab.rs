//! llama.cpp's tokenizer tests (`tests/test-tokenizer-0.cpp`) on its vocab-only GGUFs:
//! every text must encode to exactly the ids llama.cpp gives (`add_special = false`,
//! `parse_special = false`), and decode back to itself where the tokenizer is lossless.

mod common;

use common::{load_gguf, vocab_cases};

const VOCABS: &[&str] = &[
    "llama-spm",
    "phi-3",
    "gpt-2",
    "mpt",
    "falcon",
    "starcoder",
    "refact",
    "deepseek-coder",
    "deepseek-llm",
    "bert-bge",
];

#[test]
fn encode_matches_llama_cpp() {
    let mut failures = Vec::new();
    for &name in VOCABS {
        let tok = load_gguf(&format!("vocab/ggml-vocab-{name}.gguf"));
        let cases = vocab_cases(name);
        let mut ok = 0;
        for (text, expected) in &cases {
            let got = tok.encode(text, false, false).unwrap_or_else(|e| panic!("{name}: encode {text:?}: {e}"));
            if &got == expected {
                ok += 1;
            } else {
                failures.push(format!("{name}: {text:?}\n  expected {expected:?}\n  got      {got:?}"));
            }
        }
        println!("vocab {name}: {ok}/{}", cases.len());
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn decode_inverts_encode() {
    let mut failures = Vec::new();
    // WordPiece lowercases and drops whitespace: not invertible.
    for &name in VOCABS.iter().filter(|&&n| n != "bert-bge") {
        let tok = load_gguf(&format!("vocab/ggml-vocab-{name}.gguf"));
        for (text, _) in vocab_cases(name) {
            let ids = tok.encode(&text, false, false).unwrap_or_default();
            for skip_special in [false, true] {
                let back = tok.decode(&ids, skip_special);
                if back != text {
                    failures.push(format!("{name} (skip_special {skip_special}): {text:?} -> {back:?}"));
                }
            }
            // With BOS, as a prompt would be, skipping special tokens: llama.cpp's detokenizer
            // then keeps the SentencePiece space prefix.
            if tok.add_bos_default() {
                let ids = tok.encode(&text, true, false).unwrap_or_default();
                let back = tok.decode(&ids, true);
                let prefix = if tok.add_space_prefix() && !text.is_empty() { " " } else { "" };
                if back != format!("{prefix}{text}") {
                    failures.push(format!("{name} (with BOS): {text:?} -> {back:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} round-trip failures:\n{}", failures.len(), failures.join("\n"));
}
