//! The browser transport (wasm32 only): `fetch` with a streamed body, fed to a
//! [`StreamSession`]. It works on a page and inside a worker (it finds `fetch` and
//! `performance` on `globalThis`). All parsing and decisions live in the pure modules; this file
//! only moves bytes and maps browser failures.
//!
//! ```ignore
//! // In a Yew component or a worker:
//! let prepared = arbitre_hosted::build_request(&spec)?;   // pure, testable
//! let abort = Abort::new()?;                              // keep a clone for the Stop button
//! let stop = abort.clone();
//! wasm_bindgen_futures::spawn_local(async move {
//!     let result = stream(&prepared, &abort, |event, so_far| {
//!         if let StreamEvent::TextDelta { text } = event { /* append text */ }
//!         let _ttft = so_far.first_token_ms;
//!     })
//!     .await;
//!     match result {
//!         Ok(summary) => { /* summary.resolved_usage(), total_ms, tokens_per_second() */ }
//!         Err(failed) => { /* failed.error.to_string(); failed.partial.text */ }
//!     }
//! });
//! // later: stop.abort();
//! ```

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, ReadableStreamDefaultReader, ReferrerPolicy, RequestCache, RequestCredentials,
    RequestInit, RequestMode, Response, Window, WorkerGlobalScope,
};

use crate::decode::StreamEvent;
use crate::error::HostedError;
use crate::request::PreparedRequest;
use crate::session::{RunSummary, StreamSession};

/// A Stop button's handle on one request (wraps an `AbortController`). Clones share the
/// controller.
#[derive(Debug, Clone)]
pub struct Abort {
    controller: AbortController,
}

impl Abort {
    /// A fresh controller.
    pub fn new() -> Result<Self, HostedError> {
        AbortController::new().map(|controller| Self { controller }).map_err(|e| browser_error("AbortController", &e))
    }

    /// Cancels the request (the fetch, or the body being read).
    pub fn abort(&self) {
        self.controller.abort();
    }

    /// Whether [`Abort::abort`] was called.
    pub fn is_aborted(&self) -> bool {
        self.controller.signal().aborted()
    }
}

/// A run that failed, with what had arrived before the failure.
#[derive(Debug, Clone)]
pub struct Failed {
    /// What went wrong, as a plain message.
    pub error: HostedError,
    /// Text, usage and timings received before the failure.
    pub partial: RunSummary,
}

/// Milliseconds from `performance.now()` on the global object (page or worker), or
/// `Date.now()` where there is none.
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Sends `request` and streams the answer, calling `on_event` with each decoded event and the
/// summary so far (text, first-token time…). Resolves with the final summary, or with the error
/// and the partial summary. Aborting through `abort` resolves with [`HostedError::Aborted`].
///
/// The key rule is checked again here, right before sending. The request omits credentials
/// (cookies) and the referrer, and bypasses the HTTP cache.
pub async fn stream(
    request: &PreparedRequest,
    abort: &Abort,
    mut on_event: impl FnMut(&StreamEvent, &RunSummary),
) -> Result<RunSummary, Failed> {
    let started = now_ms();
    let mut session = StreamSession::new(request, started);
    match run(request, abort, &mut session, &mut on_event).await {
        Ok(()) => match session.end(now_ms()) {
            (summary, None) => Ok(summary),
            (partial, Some(error)) => Err(Failed { error, partial }),
        },
        Err(error) => Err(Failed { error, partial: session.into_partial(now_ms()) }),
    }
}

async fn run(
    request: &PreparedRequest,
    abort: &Abort,
    session: &mut StreamSession,
    on_event: &mut impl FnMut(&StreamEvent, &RunSummary),
) -> Result<(), HostedError> {
    request.check_key_destination()?;
    let init = request_init(request, abort)?;
    let promise = fetch(&request.http.url, &init)?;
    let response = match JsFuture::from(promise).await {
        Ok(r) => r.dyn_into::<Response>().map_err(|e| browser_error("fetch result", &e))?,
        Err(e) => return Err(fetch_failure(request, abort, &e)),
    };

    if !response.ok() {
        let retry_after = response.headers().get("retry-after").ok().flatten();
        let body = match response.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        };
        if abort.is_aborted() {
            return Err(HostedError::Aborted);
        }
        return Err(HostedError::from_http(
            request.provider,
            &request.model,
            response.status(),
            retry_after.as_deref(),
            &body,
        ));
    }

    let Some(body) = response.body() else {
        return Err(HostedError::MalformedStream {
            provider: request.provider,
            detail: "the response has no body".to_string(),
        });
    };
    let reader = body
        .get_reader()
        .dyn_into::<ReadableStreamDefaultReader>()
        .map_err(|e| browser_error("ReadableStream reader", &e))?;

    loop {
        if abort.is_aborted() {
            cancel(&reader);
            return Err(HostedError::Aborted);
        }
        let chunk = match JsFuture::from(reader.read()).await {
            Ok(c) => c,
            Err(e) => {
                if abort.is_aborted() {
                    return Err(HostedError::Aborted);
                }
                return Err(HostedError::MalformedStream {
                    provider: request.provider,
                    detail: format!("the connection was interrupted before the answer was complete ({})", js_text(&e)),
                });
            }
        };
        let done =
            js_sys::Reflect::get(&chunk, &JsValue::from_str("done")).ok().and_then(|d| d.as_bool()).unwrap_or(true);
        if done {
            return Ok(());
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).unwrap_or(JsValue::UNDEFINED);
        let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>().map(js_sys::Uint8Array::to_vec) else {
            continue;
        };
        let events = match session.feed(&bytes, now_ms()) {
            Ok(events) => events,
            Err(e) => {
                cancel(&reader);
                return Err(e);
            }
        };
        for ev in &events {
            on_event(ev, session.summary());
        }
        if session.is_done() {
            cancel(&reader);
            return Ok(());
        }
    }
}

fn request_init(request: &PreparedRequest, abort: &Abort) -> Result<RequestInit, HostedError> {
    let headers = Headers::new().map_err(|e| browser_error("Headers", &e))?;
    for (name, value) in &request.http.headers {
        headers.set(name, value).map_err(|e| browser_error("header", &e))?;
    }
    let init = RequestInit::new();
    init.set_method(request.http.method);
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&request.http.body));
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_referrer_policy(ReferrerPolicy::NoReferrer);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&abort.controller.signal()));
    Ok(init)
}

fn fetch(url: &str, init: &RequestInit) -> Result<js_sys::Promise, HostedError> {
    let global = js_sys::global();
    if let Some(w) = global.dyn_ref::<Window>() {
        return Ok(w.fetch_with_str_and_init(url, init));
    }
    if let Some(w) = global.dyn_ref::<WorkerGlobalScope>() {
        return Ok(w.fetch_with_str_and_init(url, init));
    }
    Err(HostedError::Browser { detail: "no fetch here (neither a window nor a worker)".to_string() })
}

/// A rejected `fetch`: the visitor's Stop, or a `TypeError` that hides whether CORS or the
/// network refused the request.
fn fetch_failure(request: &PreparedRequest, abort: &Abort, e: &JsValue) -> HostedError {
    if abort.is_aborted() || error_name(e).as_deref() == Some("AbortError") {
        return HostedError::Aborted;
    }
    if e.is_instance_of::<js_sys::TypeError>() {
        return HostedError::unreachable(request.provider, &request.host);
    }
    browser_error("fetch", e)
}

fn cancel(reader: &ReadableStreamDefaultReader) {
    // The promise only settles the stream's teardown; nothing waits on it.
    let _ = reader.cancel();
}

fn error_name(e: &JsValue) -> Option<String> {
    js_sys::Reflect::get(e, &JsValue::from_str("name")).ok().and_then(|n| n.as_string())
}

fn js_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|err| String::from(err.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn browser_error(what: &str, e: &JsValue) -> HostedError {
    HostedError::Browser { detail: format!("{what}: {}", js_text(e)) }
}
