//! The page's address: the query it was opened with, and the query that reproduces the page
//! as it stands (written back on every change, without a new history entry).

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::compare::panes::{self, ApiChoice};
use crate::settings::RunSettings;

/// The page's query string as decoded pairs.
pub fn query_pairs() -> Vec<(String, String)> {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let mut pairs = Vec::new();
    if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) {
        for entry in params.entries().into_iter().flatten() {
            let arr: Array = entry.unchecked_into();
            pairs.push((arr.get(0).as_string().unwrap_or_default(), arr.get(1).as_string().unwrap_or_default()));
        }
    }
    pairs
}

/// Everything besides the local run that the URL carries (API panes, projection inputs).
#[derive(Clone, PartialEq)]
pub struct PageQuery {
    /// The API panes.
    pub apis: Vec<ApiChoice>,
    /// Requests per month in the projection.
    pub volume: Option<u64>,
    /// Months of the projection.
    pub horizon: Option<u32>,
    /// The conversation's first message (URL `message`): a link opens with it in the chat box.
    pub message: Option<String>,
}

impl PageQuery {
    /// Reads the parameters this type owns.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        Self {
            apis: panes::api_choices_from_pairs(pairs),
            volume: get("volume").and_then(|v| v.parse().ok()),
            horizon: get("horizon").and_then(|v| v.parse().ok()),
            message: get("message").filter(|m| !m.trim().is_empty()).map(str::to_owned),
        }
    }

    /// The parameters that reproduce it.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = panes::api_choices_to_pairs(&self.apis);
        if let Some(v) = self.volume {
            out.push(("volume".into(), v.to_string()));
        }
        if let Some(h) = self.horizon {
            out.push(("horizon".into(), h.to_string()));
        }
        if let Some(m) = &self.message {
            out.push(("message".into(), m.clone()));
        }
        out
    }
}

/// Replaces the address's query with one that reproduces these settings (no new history entry).
pub fn write_query(settings: &RunSettings, page: &PageQuery) {
    let Ok(params) = web_sys::UrlSearchParams::new() else { return };
    for (k, v) in settings.to_pairs() {
        params.append(k, &v);
    }
    for (k, v) in page.to_pairs() {
        params.append(&k, &v);
    }
    let query = String::from(params.to_string());
    let Some(window) = web_sys::window() else { return };
    let path = window.location().pathname().unwrap_or_default();
    let url = if query.is_empty() { path } else { format!("{path}?{query}") };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// `url` resolved against the page's address (what the worker fetches and caches under).
pub fn absolute(url: &str) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    web_sys::Url::new_with_base(url, &base).map(|u| u.href()).unwrap_or_else(|_| url.to_string())
}
