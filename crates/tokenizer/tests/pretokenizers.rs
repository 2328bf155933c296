//! The pre-tokenizers of the catalog's model families (llama-bpe for Llama 3, qwen2, smollm),
//! checked against llama.cpp's own tokenization. No vocabulary fixture carries these `pre`
//! values, so the GPT-2 vocabulary is given each one in turn: the same merges meet different
//! splitting rules. `tests/golden/pretok/*.json` holds llama.cpp's ids for the same texts
//! (written by `scripts/pretokenizer_reference.py`).

mod common;

use arbitre_gguf::{GgufHeader, Value};
use arbitre_tokenizer::Tokenizer;

fn tokenizer_with_pre(pre: &str) -> Tokenizer {
    let path = common::fixtures_dir().join("vocab/ggml-vocab-gpt-2.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut header = GgufHeader::parse(&bytes).expect("GPT-2 vocab parses");
    header.metadata.insert("tokenizer.ggml.pre", Value::String(pre.to_string()));
    Tokenizer::from_metadata(&header.metadata).expect("tokenizer")
}

fn check(pre: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden/pretok/");
    let file = format!("{path}{pre}.json");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("golden file")).expect("golden JSON");
    assert_eq!(record["pre"], pre);
    let tok = tokenizer_with_pre(pre);
    let cases = record["cases"].as_array().expect("cases");
    assert!(cases.len() > 40, "{file} has too few cases");
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| u32::try_from(v.as_u64().expect("id")).expect("u32 id"))
            .collect();
        let got = tok.encode(text, false, false).expect("encode");
        if got != want {
            failures.push(format!("{text:?}\n  llama.cpp {want:?}\n  arbitre   {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "pre = {pre}: {} of {} texts differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn llama_bpe_matches_llama_cpp() {
    check("llama-bpe");
}

#[test]
fn qwen2_matches_llama_cpp() {
    check("qwen2");
}

#[test]
fn smollm_matches_llama_cpp() {
    check("smollm");
}

#[test]
fn gpt2_matches_llama_cpp() {
    check("gpt-2");
}

#[test]
fn the_pre_tokenizers_really_split_differently() {
    // Guards the test above: if every `pre` gave the GPT-2 split, it would prove nothing.
    let digits = "1234567890 12345";
    let gpt2 = tokenizer_with_pre("gpt-2").encode(digits, false, false).expect("encode");
    let llama3 = tokenizer_with_pre("llama-bpe").encode(digits, false, false).expect("encode");
    let qwen2 = tokenizer_with_pre("qwen2").encode(digits, false, false).expect("encode");
    assert_ne!(gpt2, llama3);
    assert_ne!(llama3, qwen2);
}
