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
    /// Hugging Face repository, `owner/name`.
    pub repo: String,
    /// Path of the GGUF inside the repository.
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
    /// Path of a local copy under the shared fixtures, for development and tests.
    #[serde(default)]
    pub fixture: Option<String>,
    /// Where size and sha256 were read, for entries verified without a local copy.
    #[serde(default)]
    pub source: Option<String>,
}

impl CatalogModel {
    /// Download URL on the Hugging Face Hub.
    pub fn hub_url(&self) -> String {
        format!("https://huggingface.co/{}/resolve/main/{}", self.repo, self.file)
    }
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
        if m.repo.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return bad(&m.id, "repo must be owner/name");
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
        if let Some(sha) = &m.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        {
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
    Ok(file.models)
}

/// The built-in catalog.
pub fn catalog() -> Result<Vec<CatalogModel>> {
    parse_catalog(CATALOG_JSON)
}
