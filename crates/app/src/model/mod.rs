//! Which model the page loads, and from where: catalog entries to download sources, and the
//! default model with its fallbacks.
//!
//! The catalog's default (SmolLM2-135M-Instruct Q4_1) has no direct download URL: the page gets
//! it only as the copy served beside it (`models/<embedded>`). Where that copy is absent (a
//! deployment of `dist/` alone) or nothing answers (offline), the page's default becomes the
//! next entry of the catalog's fallback chain that answers: the same model as Q8_0 from the
//! Hub, then stories260K. The probing itself is the UI's (it needs `fetch`); the order and the
//! choice are here, tested natively.
//!
//! Also here: [`pane`], the local pane's state machine (pure), and `probe`, the browser side of
//! the default-model probe (wasm32 only).

pub mod pane;
#[cfg(target_arch = "wasm32")]
pub mod probe;

use arbitre_engine::catalog::{CatalogModel, default_chain};
use arbitre_protocol::ModelSource;

use crate::settings::RunSettings;

/// Where a model can be fetched from: for a catalog id, its embedded copy beside the page
/// first, then the Hub, with the catalog's sha256 and size; anything else is a URL, checked
/// against `sha256` when given.
pub fn source_for(model: &str, catalog: &[CatalogModel], sha256: Option<&str>) -> ModelSource {
    match catalog.iter().find(|m| m.id == model) {
        Some(m) => ModelSource::Url {
            urls: m.urls(),
            sha256: m.sha256.clone(),
            size_bytes: Some(m.size_bytes),
            label: m.name.clone(),
        },
        None => {
            let label = model.rsplit('/').next().unwrap_or(model).split('?').next().unwrap_or(model).to_string();
            ModelSource::Url {
                urls: vec![model.to_string()],
                sha256: sha256.map(str::to_string),
                size_bytes: None,
                label,
            }
        }
    }
}

/// The catalog's default model id (the first entry in a catalog without one).
pub fn default_model(catalog: &[CatalogModel]) -> String {
    catalog.iter().find(|m| m.default).or(catalog.first()).map(|m| m.id.clone()).unwrap_or_default()
}

/// What the page checks, in order, to pick its default when the URL names no model: each entry
/// of the default chain with the URLs to try (its embedded copy, then the Hub).
pub fn default_candidates(catalog: &[CatalogModel]) -> Vec<(String, Vec<String>)> {
    default_chain(catalog).into_iter().map(|m| (m.id.clone(), m.urls())).collect()
}

/// The default once the candidates were checked: the first that answered, else the catalog's
/// default (whose load then says what failed). `answered` lists the ids that answered.
pub fn pick_default(candidates: &[(String, Vec<String>)], answered: &[String], catalog: &[CatalogModel]) -> String {
    candidates
        .iter()
        .map(|(id, _)| id)
        .find(|id| answered.contains(id))
        .cloned()
        .unwrap_or_else(|| default_model(catalog))
}

/// Makes `pick` the model of settings read from a URL that named none. A base model
/// (`completion` in the catalog: stories260K) runs in completion mode from its first token,
/// unless the URL set `chat` or `prompt` itself.
pub fn apply_default(s: &mut RunSettings, pick: &str, catalog: &[CatalogModel], url: &[(String, String)]) {
    s.model = pick.to_string();
    if catalog.iter().any(|m| m.id == pick && m.completion) {
        let given = |k: &str| url.iter().any(|(key, _)| key == k);
        if !given("chat") {
            s.chat = false;
        }
        if !given("prompt") {
            s.prompt.clear();
        }
    }
}

/// Whether the first bytes of a response are a GGUF file's (a static host may answer a
/// missing path with its index page and status 200).
pub fn looks_like_gguf(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"GGUF")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SAMPLE_PROMPT;

    fn cat() -> Vec<CatalogModel> {
        arbitre_engine::catalog::catalog().expect("catalog")
    }

    #[test]
    fn the_default_is_the_embedded_smollm2_instruct() {
        let c = cat();
        assert_eq!(default_model(&c), "smollm2-135m-instruct-q4_1");
        let ModelSource::Url { urls, sha256, size_bytes, label } = source_for(&default_model(&c), &c, None) else {
            panic!("a URL source")
        };
        assert_eq!(urls, ["models/SmolLM2-135M-Instruct.Q4_1.gguf"]);
        assert_eq!(sha256.as_deref(), Some("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"));
        assert_eq!(size_bytes, Some(98_362_432));
        assert_eq!(label, "SmolLM2 135M Instruct");
    }

    #[test]
    fn catalog_entries_try_the_copy_beside_the_page_then_the_hub() {
        let c = cat();
        let ModelSource::Url { urls, .. } = source_for("stories260k", &c, Some(&"0".repeat(64))) else { panic!() };
        assert_eq!(
            urls,
            [
                "models/stories260K.gguf",
                "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"
            ]
        );
        let ModelSource::Url { urls, .. } = source_for("smollm2-135m-instruct-q8_0", &c, None) else { panic!() };
        assert_eq!(
            urls,
            [
                "https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf"
            ]
        );
    }

    #[test]
    fn a_url_is_its_own_source_with_the_given_sha256() {
        let url = "http://127.0.0.1:8080/fixtures/stories260K/stories260K.gguf?cut=10";
        let sha = "ab".repeat(32);
        let ModelSource::Url { urls, sha256, size_bytes, label } = source_for(url, &cat(), Some(&sha)) else {
            panic!()
        };
        assert_eq!(
            (urls, sha256, size_bytes, label.as_str()),
            (vec![url.to_string()], Some(sha), None, "stories260K.gguf")
        );
    }

    #[test]
    fn without_the_embedded_copy_the_default_is_the_hub_q8_0_and_offline_stories260k() {
        let c = cat();
        let candidates = default_candidates(&c);
        let ids: Vec<&str> = candidates.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["smollm2-135m-instruct-q4_1", "smollm2-135m-instruct-q8_0", "stories260k"]);
        let answered = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // serve.sh with the wheel fetched: the embedded Q4_1 answers.
        assert_eq!(pick_default(&candidates, &answered(&ids), &c), "smollm2-135m-instruct-q4_1");
        // dist/ deployed alone, online: the Hub's Q8_0 of the same model.
        assert_eq!(pick_default(&candidates, &answered(&ids[1..]), &c), "smollm2-135m-instruct-q8_0");
        // serve.sh offline (no wheel, no Hub): stories260K beside the page.
        assert_eq!(pick_default(&candidates, &answered(&ids[2..]), &c), "stories260k");
        // Nothing answers: the catalog default, whose load reports the failure.
        assert_eq!(pick_default(&candidates, &[], &c), "smollm2-135m-instruct-q4_1");
    }

    #[test]
    fn falling_back_to_stories260k_runs_it_in_completion_mode_unless_the_url_says_otherwise() {
        let c = cat();
        let mut s = RunSettings::default();
        apply_default(&mut s, "smollm2-135m-instruct-q8_0", &c, &[]);
        assert_eq!((s.model.as_str(), s.chat, s.prompt.as_str()), ("smollm2-135m-instruct-q8_0", true, SAMPLE_PROMPT));
        apply_default(&mut s, "stories260k", &c, &[]);
        assert_eq!((s.model.as_str(), s.chat, s.prompt.as_str()), ("stories260k", false, ""));
        let mut s = RunSettings::default();
        let url = [("prompt".to_string(), "Once upon a time".to_string()), ("chat".to_string(), "1".to_string())];
        s.prompt = "Once upon a time".into();
        apply_default(&mut s, "stories260k", &c, &url);
        assert_eq!((s.chat, s.prompt.as_str()), (true, "Once upon a time"));
    }

    #[test]
    fn only_gguf_bytes_count_as_a_model() {
        assert!(looks_like_gguf(b"GGUF\x03\x00"));
        assert!(!looks_like_gguf(b"<!doctype html>"));
        assert!(!looks_like_gguf(b"GG"));
    }
}
