//! Checks, when the page opens with no model in its URL, which default model this site can
//! give (see `models`): a model answers if the browser cache holds it or its URL serves a
//! GGUF. The check reads 4 bytes (an HTTP Range request), and says so in the network log.

use arbitre_hosted::transport::now_ms;
use arbitre_protocol::NetEntry;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, RequestInit, Response};

use crate::address::absolute;
use crate::model::{default_candidates, looks_like_gguf, pick_default};
use crate::netlog::page_get;
use arbitre_engine::catalog::CatalogModel;

/// Checks the catalog's default chain in order and returns the default this site can give,
/// and the entries found missing that only this site could serve (embedded copies).
pub async fn choose_default(cat: &[CatalogModel], log: impl Fn(NetEntry)) -> (String, Vec<String>) {
    let candidates = default_candidates(cat);
    let (mut answered, mut missing) = (Vec::new(), Vec::new());
    'candidates: for (id, urls) in &candidates {
        for url in urls {
            let (yes, entry) = answers(url).await;
            entry.into_iter().for_each(&log);
            if yes {
                answered.push(id.clone());
                break 'candidates;
            }
        }
        missing.extend(cat.iter().filter(|m| &m.id == id && m.hub_url().is_none()).map(|m| m.id.clone()));
    }
    (pick_default(&candidates, &answered, cat), missing)
}

/// Whether the model at `url` can be had: from the browser cache, else from the network.
/// Returns the network request made, if any, for the log.
pub async fn answers(url: &str) -> (bool, Option<NetEntry>) {
    let url = absolute(url);
    let Some(window) = web_sys::window() else { return (false, None) };
    if let Ok(caches) = window.caches() {
        let hit = JsFuture::from(caches.match_with_str(&url)).await.unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
        if hit.is_instance_of::<Response>() {
            return (true, None);
        }
    }
    let started = now_ms();
    let init = RequestInit::new();
    init.set_method("GET");
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("range", "bytes=0-3");
        init.set_headers(&headers);
    }
    let entry = |status: u16, bytes: u64| {
        page_get(started, &url, status, bytes, "which default model this site serves (first 4 bytes)")
    };
    let resp = match JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await {
        Ok(r) => r.unchecked_into::<Response>(),
        Err(_) => return (false, Some(entry(0, 0))),
    };
    if !resp.ok() {
        return (false, Some(entry(resp.status(), 0)));
    }
    // A host that ignores Range sends the whole file: read the first chunk, then cancel.
    let Some(body) = resp.body() else { return (false, Some(entry(resp.status(), 0))) };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let first = match JsFuture::from(reader.read()).await {
        Ok(chunk) => Reflect::get(&chunk, &"value".into())
            .ok()
            .filter(|v| v.is_instance_of::<Uint8Array>())
            .map(|v| v.unchecked_into::<Uint8Array>().to_vec())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let _ = reader.cancel();
    (looks_like_gguf(&first), Some(entry(resp.status(), first.len() as u64)))
}
