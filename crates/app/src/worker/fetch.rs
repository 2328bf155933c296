//! Model bytes as they arrive ([`Intake`]: whole in wasm memory, or streamed into GPU
//! buffers, hashed on the way) and model files from the network or the browser's cache:
//! listing and storing cache entries, downloads resumed with Range requests, integrity checks,
//! and one log entry per request.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_engine::backend::webgpu::wgpu;
use arbitre_engine::{StreamingLoader, WebGpuBackend};
use arbitre_hosted::transport::now_ms;
use arbitre_protocol::{CacheEntry, ErrorKind, Event, LoadPhase, NetEntry, RequestId, WireError};
use js_sys::{Array, Promise, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Headers, ReadableStreamDefaultReader, RequestInit, Response};

use super::load::check_fits;
use super::{CACHE_NAME, RESUME_ATTEMPTS, js_message, post, scope, storage_err, wire, yield_now};

/// Where a model's bytes go as they arrive.
pub(super) enum Sink {
    /// Gathered whole in wasm memory: the CPU backend, or a file whose tensor types the
    /// WebGPU kernels lack.
    Whole(Vec<u8>),
    /// Streamed tensor by tensor into GPU buffers. `prefix` keeps the bytes seen until the
    /// header is read, so that the CPU can still take the file if the GPU turns it down.
    Gpu {
        loader: Box<StreamingLoader<WebGpuBackend>>,
        prefix: Option<Vec<u8>>,
        /// Catches buffer allocations that fail (a model too big for the GPU), reported
        /// once the load ends.
        scope: wgpu::ErrorScopeGuard,
    },
}

/// A download's chunks kept on the JS side, as the browser handed them.
#[derive(Default)]
pub(super) struct Kept {
    pub(super) chunks: Vec<Uint8Array>,
}

impl Kept {
    pub(super) fn push(&mut self, chunk: &Uint8Array) {
        self.chunks.push(chunk.clone());
    }

    /// A stream of the kept chunks, and the callback that feeds it (to keep alive while the
    /// stream is read). A stream rather than one Blob: Chromium can fail to store a Blob of
    /// hundreds of MB assembled from thousands of parts, while it writes a streamed body to
    /// the cache as it reads it.
    pub(super) fn stream(&self) -> Result<(web_sys::ReadableStream, Closure<dyn FnMut(JsValue)>), JsValue> {
        let mut queue: std::collections::VecDeque<Uint8Array> = self.chunks.iter().cloned().collect();
        let pull = Closure::<dyn FnMut(JsValue)>::new(move |controller: JsValue| {
            let call = |name: &str, arg: Option<&JsValue>| {
                if let Ok(f) = Reflect::get(&controller, &name.into()).and_then(|f| f.dyn_into::<js_sys::Function>()) {
                    let _ = match arg {
                        Some(a) => f.call1(&controller, a),
                        None => f.call0(&controller),
                    };
                }
            };
            match queue.pop_front() {
                Some(chunk) => call("enqueue", Some(&chunk)),
                None => call("close", None),
            }
        });
        let source = js_sys::Object::new();
        Reflect::set(&source, &"pull".into(), pull.as_ref())?;
        let stream = web_sys::ReadableStream::new_with_underlying_source(&source)?;
        Ok((stream, pull))
    }
}

/// Everything a model's byte stream feeds: the sink, the sha256 being computed, and the
/// chunks kept for the browser cache.
pub(super) struct Intake {
    pub(super) sink: Sink,
    pub(super) label: String,
    /// The sha256 so far, when a digest is pinned.
    pub(super) hasher: Option<Sha256>,
    /// The chunks as the browser handed them (JS memory, not the wasm heap), to store in
    /// the cache once the download checks out; only on the streamed path, where the file is
    /// never whole in wasm memory.
    pub(super) keep: Option<Kept>,
    /// Bytes of the file taken so far.
    pub(super) received: u64,
    /// Bytes to drop at the start of the stream: a server that ignored a Range request sends
    /// the file again from its first byte.
    pub(super) skip: u64,
    /// Why the CPU took the file over from WebGPU, if it did.
    pub(super) fallback: Option<String>,
    /// Reused buffer a chunk is copied into.
    pub(super) scratch: Vec<u8>,
}

impl Intake {
    /// An intake for `gpu` (else the CPU), computing the sha256 when `hash`, keeping the
    /// chunks for the cache when `store`.
    pub(super) fn new(gpu: Option<WebGpuBackend>, label: &str, hash: bool, store: bool) -> Self {
        let sink = match gpu {
            Some(gpu) => {
                let scope = gpu.context().device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                Sink::Gpu { loader: Box::new(StreamingLoader::new(gpu)), prefix: Some(Vec::new()), scope }
            }
            None => Sink::Whole(Vec::new()),
        };
        let keep = (store && matches!(sink, Sink::Gpu { .. })).then(Kept::default);
        Self {
            sink,
            label: label.to_string(),
            hasher: hash.then(Sha256::new),
            keep,
            received: 0,
            skip: 0,
            fallback: None,
            scratch: Vec::new(),
        }
    }

    /// Reserves room for the whole file when it is gathered whole.
    pub(super) fn expect_total(&mut self, total: u64) -> Result<(), WireError> {
        if let Sink::Whole(buf) = &mut self.sink {
            let more = (total as usize).saturating_sub(buf.len());
            buf.try_reserve_exact(more).map_err(|_| {
                wire(ErrorKind::TooBig, format!("not enough memory to hold {}", crate::format::bytes(total)))
            })?;
        }
        Ok(())
    }

    /// Takes one chunk of the stream.
    pub(super) fn take(&mut self, chunk: Uint8Array) -> Result<(), WireError> {
        let mut chunk = chunk;
        if self.skip > 0 {
            let drop = self.skip.min(chunk.length() as u64);
            self.skip -= drop;
            chunk = chunk.subarray(drop as u32, chunk.length());
        }
        let n = chunk.length() as usize;
        if n == 0 {
            return Ok(());
        }
        self.received += n as u64;
        if let Some(keep) = &mut self.keep {
            keep.push(&chunk);
        }
        let bytes: &[u8] = match &mut self.sink {
            Sink::Whole(buf) => {
                let start = buf.len();
                buf.resize(start + n, 0);
                chunk.copy_to(&mut buf[start..]);
                &buf[start..]
            }
            Sink::Gpu { .. } => {
                self.scratch.resize(n, 0);
                chunk.copy_to(&mut self.scratch);
                &self.scratch
            }
        };
        if let Some(h) = &mut self.hasher {
            h.update(bytes);
        }
        let Sink::Gpu { loader, prefix, .. } = &mut self.sink else { return Ok(()) };
        if let Some(p) = prefix {
            p.extend_from_slice(&self.scratch);
        }
        match loader.push(&self.scratch) {
            Ok(()) => {
                if loader.header().is_some() {
                    *prefix = None;
                }
                Ok(())
            }
            Err(e @ arbitre_engine::EngineError::UnsupportedQuant { .. }) if prefix.is_some() => {
                // The header named a tensor type the WGSL kernels lack: the CPU takes the
                // whole file instead, if it fits.
                let bytes = prefix.take().unwrap_or_default();
                let total = arbitre_gguf::GgufHeader::parse(&bytes).map(|h| h.expected_len()).unwrap_or(0);
                check_fits(total, &self.label)?;
                self.fallback = Some(format!("the WebGPU backend cannot run this file ({e}); running on the CPU"));
                self.keep = None;
                self.sink = Sink::Whole(bytes);
                self.expect_total(total)
            }
            Err(e) => Err(wire(ErrorKind::Model, format!("{}: {e}", self.label))),
        }
    }

    /// The sha256 of everything taken, if it was computed.
    pub(super) fn digest(&mut self) -> Option<String> {
        self.hasher.take().map(|h| hex(&h.finalize()))
    }
}

pub(super) async fn open_cache() -> Result<Cache, WireError> {
    let caches = scope().caches().map_err(storage_err)?;
    let cache = JsFuture::from(caches.open(CACHE_NAME)).await.map_err(storage_err)?;
    Ok(cache.unchecked_into())
}

pub(super) async fn list_cache() -> Result<Event, WireError> {
    let cache = open_cache().await?;
    let keys: Array = JsFuture::from(cache.keys()).await.map_err(storage_err)?.unchecked_into();
    let mut entries = Vec::new();
    for k in keys.iter() {
        let req: web_sys::Request = k.unchecked_into();
        let url = req.url();
        let resp = JsFuture::from(cache.match_with_str(&url)).await.map_err(storage_err)?;
        let size = resp
            .dyn_ref::<Response>()
            .and_then(|r| r.headers().get("x-arbitre-size").ok().flatten())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        entries.push(CacheEntry { url, size_bytes: size });
    }
    let (usage, quota) = storage_estimate().await;
    Ok(Event::Cache { entries, usage, quota })
}

pub(super) async fn storage_estimate() -> (Option<u64>, Option<u64>) {
    let res = async {
        let est = JsFuture::from(scope().navigator().storage().estimate().ok()?).await.ok()?;
        let est: web_sys::StorageEstimate = est.unchecked_into();
        Some((est.get_usage().map(|u| u as u64), est.get_quota().map(|q| q as u64)))
    }
    .await;
    res.unwrap_or((None, None))
}

pub(super) fn absolute(url: &str) -> String {
    let base = scope().location().href();
    web_sys::Url::new_with_base(url, &base).map(|u| u.href()).unwrap_or_else(|_| url.to_string())
}

/// Finds the model in the cache or downloads it from the first URL that answers, resuming
/// after cuts, feeding `intake` as bytes arrive; then checks the sha256 and stores the file.
pub(super) async fn fetch_model(
    id: RequestId,
    urls: &[String],
    sha256: Option<&str>,
    label: &str,
    mut intake: Intake,
    stop: &Rc<RefCell<bool>>,
) -> Result<(Intake, bool), WireError> {
    let cache = open_cache().await.ok();
    let urls: Vec<String> = urls.iter().map(|u| absolute(u)).collect();
    if let Some(cache) = &cache {
        for url in &urls {
            let hit = JsFuture::from(cache.match_with_str(url)).await.unwrap_or(JsValue::UNDEFINED);
            if let Ok(resp) = hit.dyn_into::<Response>() {
                if let Some(body) = resp.body() {
                    let total = resp.headers().get("x-arbitre-size").ok().flatten().and_then(|s| s.parse().ok());
                    // What was stored was checked when it was downloaded.
                    intake.hasher = None;
                    intake.keep = None;
                    read_stream(
                        id,
                        body.get_reader().unchecked_into(),
                        url,
                        LoadPhase::ReadingCache,
                        total,
                        &mut intake,
                        stop,
                    )
                    .await?;
                    return Ok((intake, true));
                }
            }
        }
    }
    let mut errors = Vec::new();
    for url in &urls {
        match download(id, url, &mut intake, stop).await {
            Ok(()) => {
                if let Some(expected) = sha256 {
                    post(&Event::Progress {
                        id,
                        phase: LoadPhase::Verifying,
                        loaded: 0,
                        total: None,
                        url: url.clone(),
                    });
                    yield_now().await;
                    let got = intake.digest().unwrap_or_default();
                    if !got.eq_ignore_ascii_case(expected) {
                        return Err(wire(
                            ErrorKind::Checksum,
                            format!(
                                "{label}: sha256 mismatch: the catalog pins {expected} but the download is {got}; the file was not stored"
                            ),
                        ));
                    }
                }
                if let Some(cache) = &cache {
                    store(cache, url, &mut intake).await;
                }
                return Ok((intake, false));
            }
            Err(Attempt::TryNext(why)) => errors.push(format!("{url}: {why}")),
            Err(Attempt::Fatal(e)) => return Err(e),
        }
    }
    Err(wire(ErrorKind::Network, format!("could not download {label}: {}", errors.join("; "))))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a downloaded file; a full quota only means the next visit downloads again. A
/// streamed download is stored from the chunks kept on the JS side (a Blob), a gathered one
/// from its bytes.
pub(super) async fn store(cache: &Cache, url: &str, intake: &mut Intake) {
    let size = intake.received;
    let headers = Headers::new().ok();
    let init = web_sys::ResponseInit::new();
    if let Some(h) = &headers {
        let _ = h.set("content-type", "application/octet-stream");
        let _ = h.set("x-arbitre-size", &size.to_string());
        init.set_headers(h);
    }
    let kept = intake.keep.take();
    // Chromium's first put of a large body into a fresh profile's cache can fail with an
    // "unexpected internal error" and succeed when tried again.
    let mut last_error = None;
    for _ in 0..2 {
        let put = match (&kept, &intake.sink) {
            (Some(kept), _) => match kept.stream() {
                Ok((stream, pull)) => {
                    let put = match Response::new_with_opt_readable_stream_and_init(Some(&stream), &init) {
                        Ok(resp) => JsFuture::from(cache.put_with_str(url, &resp)).await,
                        Err(e) => Err(e),
                    };
                    drop(pull);
                    put
                }
                Err(e) => Err(e),
            },
            (None, Sink::Whole(bytes)) => {
                match Response::new_with_opt_buffer_source_and_init(Some(&Uint8Array::from(&bytes[..])), &init) {
                    Ok(resp) => JsFuture::from(cache.put_with_str(url, &resp)).await,
                    Err(e) => Err(e),
                }
            }
            (None, Sink::Gpu { .. }) => return,
        };
        match put {
            Ok(_) => return,
            Err(e) => last_error = Some(js_message(&e)),
        }
    }
    if let Some(e) = last_error {
        web_sys::console::warn_1(&format!("model not stored in the browser cache: {e}").into());
    }
}

pub(super) enum Attempt {
    /// This URL does not serve the file (404, refused): try the next candidate.
    TryNext(String),
    /// Stop trying.
    Fatal(WireError),
}

/// Tells the page's privacy log about a request the worker made.
pub(super) fn log_request(started_ms: f64, url: &str, status: u16, bytes_down: u64, purpose: &str) {
    post(&Event::Net {
        entry: NetEntry {
            time_ms: started_ms,
            origin: "worker".into(),
            method: "GET".into(),
            url: url.to_string(),
            status,
            bytes_up: 0,
            bytes_down,
            purpose: purpose.to_string(),
        },
    });
}

pub(super) async fn fetch_range(url: &str, from: u64) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_method("GET");
    if from > 0 {
        let headers = Headers::new().map_err(|e| js_message(&e))?;
        headers.set("range", &format!("bytes={from}-")).map_err(|e| js_message(&e))?;
        init.set_headers(&headers);
    }
    let resp = JsFuture::from(scope().fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("network error ({})", js_message(&e)))?;
    Ok(resp.unchecked_into())
}

pub(super) async fn download(
    id: RequestId,
    url: &str,
    intake: &mut Intake,
    stop: &Rc<RefCell<bool>>,
) -> Result<(), Attempt> {
    let t0 = now_ms();
    let first = match fetch_range(url, 0).await {
        Ok(r) => r,
        Err(e) => {
            log_request(t0, url, 0, 0, "model download (failed)");
            return Err(Attempt::TryNext(e));
        }
    };
    if !first.ok() {
        log_request(t0, url, first.status(), 0, "model download");
        return Err(Attempt::TryNext(format!("HTTP {} {}", first.status(), first.status_text())));
    }
    let total: Option<u64> = first.headers().get("content-length").ok().flatten().and_then(|s| s.parse().ok());
    if let Some(t) = total {
        if matches!(intake.sink, Sink::Whole(_)) {
            check_fits(t, url).map_err(Attempt::Fatal)?;
        }
        intake.expect_total(t).map_err(Attempt::Fatal)?;
    }
    let mut status = first.status();
    let mut resp = first;
    let mut attempts = 0u32;
    let mut segment_start = 0u64;
    let mut segment_t0 = t0;
    loop {
        let Some(body) = resp.body() else {
            return Err(Attempt::Fatal(wire(ErrorKind::Network, format!("{url}: the response has no body"))));
        };
        let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let progress = Progress { id, phase: LoadPhase::Downloading, total, url };
        let cut = match pump(&reader, intake, &progress, stop).await {
            Ok(()) => None,
            Err(Pump::Stopped) => return Err(Attempt::Fatal(wire(ErrorKind::Network, "download stopped"))),
            Err(Pump::Rejected(e)) => return Err(Attempt::Fatal(e)),
            Err(Pump::Failed(e)) => Some(e),
        };
        let purpose = if segment_start == 0 { "model download" } else { "model download (resumed)" };
        log_request(segment_t0, url, status, intake.received.saturating_sub(segment_start), purpose);
        let complete = total.is_none_or(|t| intake.received >= t);
        match cut {
            None if complete => break,
            None => {}
            Some(_) if complete && total.is_some() => break,
            Some(_) => {}
        }
        // Cut mid-way: ask for the rest, waiting longer after each failed attempt.
        let mut last_error = cut;
        resp = loop {
            attempts += 1;
            if attempts > RESUME_ATTEMPTS {
                return Err(Attempt::Fatal(wire(
                    ErrorKind::Network,
                    format!(
                        "{url}: the download was cut at {} of {} and {RESUME_ATTEMPTS} attempts to resume failed{}",
                        crate::format::bytes(intake.received),
                        total.map(crate::format::bytes).unwrap_or_else(|| "?".into()),
                        last_error.map(|c| format!(" (last error: {c})")).unwrap_or_default()
                    ),
                )));
            }
            sleep_ms(250 * attempts).await;
            if *stop.borrow() {
                return Err(Attempt::Fatal(wire(ErrorKind::Network, "download stopped")));
            }
            let have = intake.received;
            segment_t0 = now_ms();
            segment_start = have;
            match fetch_range(url, have).await {
                Ok(r) if r.status() == 206 => {
                    status = 206;
                    break r;
                }
                Ok(r) if r.ok() => {
                    // The server ignored Range: it sends the file from its start again, and
                    // the bytes already taken are dropped on the way in.
                    intake.skip = have;
                    status = r.status();
                    break r;
                }
                Ok(r) => {
                    log_request(segment_t0, url, r.status(), 0, "model download resume");
                    return Err(Attempt::Fatal(wire(
                        ErrorKind::Network,
                        format!("{url}: resuming at byte {have} failed with HTTP {}", r.status()),
                    )));
                }
                Err(e) => {
                    log_request(segment_t0, url, 0, 0, "model download resume (failed)");
                    last_error = Some(e);
                }
            }
        };
    }
    post(&Event::Progress { id, phase: LoadPhase::Downloading, loaded: intake.received, total, url: url.to_string() });
    Ok(())
}

pub(super) async fn sleep_ms(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// Feeds a whole stream (the browser cache's copy, a local file) to `intake`.
pub(super) async fn read_stream(
    id: RequestId,
    reader: ReadableStreamDefaultReader,
    url: &str,
    phase: LoadPhase,
    total: Option<u64>,
    intake: &mut Intake,
    stop: &Rc<RefCell<bool>>,
) -> Result<(), WireError> {
    if let Some(t) = total {
        intake.expect_total(t)?;
    }
    match pump(&reader, intake, &Progress { id, phase, total, url }, stop).await {
        Ok(()) => Ok(()),
        Err(Pump::Stopped) => Err(wire(ErrorKind::State, "loading stopped")),
        Err(Pump::Rejected(e)) => Err(e),
        Err(Pump::Failed(e)) => Err(wire(ErrorKind::Storage, format!("reading {url} failed: {e}"))),
    }
}

/// What a stream being read reports as progress.
pub(super) struct Progress<'a> {
    id: RequestId,
    phase: LoadPhase,
    total: Option<u64>,
    url: &'a str,
}

/// Why [`pump`] ended before the stream did.
pub(super) enum Pump {
    /// The request was stopped.
    Stopped,
    /// The stream failed (network cut, storage error), with the browser's message.
    Failed(String),
    /// The bytes were refused (not a model the engine can load).
    Rejected(WireError),
}

/// Feeds a stream's chunks to `intake` until it ends, posting progress at most every 100 ms.
pub(super) async fn pump(
    reader: &ReadableStreamDefaultReader,
    intake: &mut Intake,
    progress: &Progress<'_>,
    stop: &Rc<RefCell<bool>>,
) -> Result<(), Pump> {
    let mut last_post = 0.0;
    loop {
        if *stop.borrow() {
            let _ = reader.cancel();
            return Err(Pump::Stopped);
        }
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| Pump::Failed(js_message(&e)))?;
        if Reflect::get(&chunk, &"done".into()).map(|v| v.is_truthy()).unwrap_or(true) {
            return Ok(());
        }
        if let Ok(v) = Reflect::get(&chunk, &"value".into())
            && let Err(e) = intake.take(v.unchecked_into())
        {
            let _ = reader.cancel();
            return Err(Pump::Rejected(e));
        }
        let now = now_ms();
        if now - last_post > 100.0 {
            last_post = now;
            post(&Event::Progress {
                id: progress.id,
                phase: progress.phase,
                loaded: intake.received,
                total: progress.total,
                url: progress.url.to_string(),
            });
        }
    }
}
