//! models/catalog.json is well formed, and pinned entries match the files they pin.

mod common;

use arbitre_engine::catalog::{catalog, parse_catalog};
use common::*;
use sha2::{Digest, Sha256};

#[test]
fn catalog_is_well_formed_and_lists_the_families() {
    let models = catalog().expect("catalog parses");
    for id in [
        "stories260k",
        "smollm2-135m-instruct-q8_0",
        "smollm2-360m-instruct-q8_0",
        "qwen2.5-0.5b-instruct-q4_k_m",
        "qwen2.5-1.5b-instruct-q4_k_m",
        "llama-3.2-1b-instruct-q4_k_m",
        "tinyllama-1.1b-chat-q4_k_m",
        "phi-3.5-mini-instruct-q4_k_m",
    ] {
        assert!(models.iter().any(|m| m.id == id), "{id} missing");
    }
    let default = models.iter().find(|m| m.default).expect("default");
    assert_eq!(default.id, "stories260k");
    assert_eq!(default.hub_url(), "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf");
}

#[test]
fn verified_entries_match_their_local_files() {
    let models = catalog().expect("catalog");
    let with_fixture: Vec<_> = models.iter().filter(|m| m.verified && m.fixture.is_some()).collect();
    assert!(!with_fixture.is_empty(), "the default model is pinned against its fixture");
    for m in with_fixture {
        let bytes = read(m.fixture.as_deref().unwrap_or_default());
        assert_eq!(bytes.len() as u64, m.size_bytes, "{}", m.id);
        assert_eq!(Some(format!("{:x}", Sha256::digest(&bytes))), m.sha256, "{}", m.id);
    }
}

#[test]
fn malformed_catalogs_are_refused() {
    let ok = r#"{"models":[{"id":"a","name":"A","repo":"o/r","file":"a.gguf","size_bytes":1,"sha256":null,"verified":false,"quant":"Q8_0","family":"llama","context_length":8,"license":"MIT","default":true}]}"#;
    assert!(parse_catalog(ok).is_ok());
    for (from, to) in [
        ("\"o/r\"", "\"or\""),
        ("a.gguf", "a.bin"),
        ("\"llama\"", "\"mamba\""),
        ("\"size_bytes\":1", "\"size_bytes\":0"),
        ("\"sha256\":null", "\"sha256\":\"abc\""),
        ("\"verified\":false", "\"verified\":true"),
        ("\"sha256\":null,\"verified\":false", &format!("\"sha256\":\"{}\",\"verified\":true", "a".repeat(64))),
        ("\"default\":true", "\"default\":false"),
    ] {
        assert!(parse_catalog(&ok.replace(from, to)).is_err(), "{from} -> {to} accepted");
    }
}
