//! The inference worker: owns the engine, downloads and caches weights, streams tokens back.
//!
//! Runs in a dedicated Web Worker, so a long prefill or a 2 GB download never freezes the page.
//! Requests arrive as JSON text (optionally with a `File` beside them, for a visitor's local
//! model); events leave as JSON text. Between generation steps the loop yields to the worker's
//! event loop through a `MessageChannel` (no 4 ms timer clamping), which is when a Stop request
//! can arrive.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_engine::backend::webgpu::wgpu;
use arbitre_engine::stream::main_quant;
use arbitre_engine::{
    Backend, CpuBackend, Engine, GenerateOptions, Generator, Message, SamplingParams, Step, StopReason,
    StreamingLoader, WebGpuBackend,
};
use arbitre_hosted::transport::now_ms;
use arbitre_protocol::{
    BackendChoice, BackendInfo, CacheEntry, ErrorKind, Event, LoadPhase, ModelInfo, ModelSource, NetEntry, Prompt,
    Request, RequestId, RunStats, Sampling, WireError, decode_request, encode_event,
};
use js_sys::{Array, Promise, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    Cache, DedicatedWorkerGlobalScope, File, Headers, MessageChannel, MessageEvent, ReadableStreamDefaultReader,
    RequestInit, Response,
};

/// Name of the Cache Storage bucket holding model files.
pub const CACHE_NAME: &str = "arbitre-models-v1";

/// Most bytes a wasm32 heap can hold.
const WASM_HEAP_LIMIT: u64 = 4 << 30;
/// What the page, tokenizer, KV cache and activations need besides the weights.
const HEAP_RESERVE: u64 = 384 << 20;
/// Attempts to resume a download cut mid-way.
const RESUME_ATTEMPTS: u32 = 6;
/// How long the generation loop may run before it yields to the worker's event loop.
const YIELD_EVERY_MS: f64 = 30.0;
/// Longest a generated token waits in the worker before it is posted to the page.
const TOKEN_POST_MS: f64 = 100.0;

/// An engine on whichever backend was chosen.
enum AnyEngine {
    Cpu(Engine<CpuBackend>),
    Gpu(Engine<WebGpuBackend>),
}

struct Loaded {
    engine: AnyEngine,
    backend: BackendInfo,
}

#[derive(Default)]
struct State {
    model: Option<Rc<Loaded>>,
    /// Why the last WebGPU device was lost, if it was (reported when a backend is chosen).
    lost: Option<String>,
    /// Test hook: destroy the WebGPU device after this many tokens of a run
    /// (`debug_lose_device_after=N` in the page's URL, passed on in the worker's URL).
    lose_device_after: Option<usize>,
    /// The request currently running (load or generation) and whether it was asked to stop.
    active: Option<(RequestId, Rc<RefCell<bool>>)>,
}

type Shared = Rc<RefCell<State>>;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(event: &Event) {
    // A failed postMessage means the page is gone; nothing is left to tell.
    let _ = scope().post_message(&JsValue::from_str(&encode_event(event)));
}

fn fail(id: RequestId, kind: ErrorKind, message: impl Into<String>) {
    post(&Event::Failed { id, error: WireError { kind, message: message.into() } });
}

fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// Lets the worker's event loop run (and deliver a Stop) without timer clamping.
async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _reject| {
        let Ok(channel) = MessageChannel::new() else {
            let _ = resolve.call0(&JsValue::NULL);
            return;
        };
        let cb = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        channel.port1().set_onmessage(Some(cb.unchecked_ref()));
        let _ = channel.port2().post_message(&JsValue::NULL);
    });
    let _ = JsFuture::from(promise).await;
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook_lite();
    let state: Shared = Rc::new(RefCell::new(State::default()));
    state.borrow_mut().lose_device_after = debug_lose_device_after();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let data = ev.data();
        let (text, file) = if let Some(s) = data.as_string() {
            (s, None)
        } else if Array::is_array(&data) {
            let arr: Array = data.unchecked_into();
            (arr.get(0).as_string().unwrap_or_default(), arr.get(1).dyn_into::<File>().ok())
        } else {
            (String::new(), None)
        };
        match decode_request(&text) {
            Ok(req) => handle(state.clone(), req, file),
            Err(e) => fail(RequestId(0), ErrorKind::State, e),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&Event::Ready);
}

/// The test-only `debug_lose_device_after=N` of the worker's own URL (the page passes its
/// URL's value on when it starts the worker). Tests use it to check that a device lost
/// mid-run ends the run with an error; nothing else sets it.
fn debug_lose_device_after() -> Option<usize> {
    let search = scope().location().search();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get("debug_lose_device_after")?.parse().ok()
}

/// Panics should never happen; if one does, say so on the console instead of dying silently.
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("arbitre worker panicked: {info}").into());
        post(&Event::Failed {
            id: RequestId(0),
            error: WireError { kind: ErrorKind::State, message: format!("internal error in the worker: {info}") },
        });
    }));
}

fn handle(state: Shared, req: Request, file: Option<File>) {
    match req {
        Request::Stop { id } => {
            if let Some((active, flag)) = &state.borrow().active {
                if *active == id {
                    *flag.borrow_mut() = true;
                }
            }
        }
        Request::Load { id, source, backend } => {
            stop_active(&state);
            let flag = Rc::new(RefCell::new(false));
            state.borrow_mut().active = Some((id, flag.clone()));
            state.borrow_mut().model = None;
            let lost = state.borrow().lost.clone();
            spawn_local(async move {
                match load(id, source, backend, file, lost, &flag).await {
                    Ok(loaded) => {
                        let info = loaded.1;
                        let backend = loaded.0.backend.clone();
                        if backend.kind == "webgpu" {
                            state.borrow_mut().lost = None;
                        }
                        state.borrow_mut().model = Some(Rc::new(loaded.0));
                        post(&Event::Loaded { id, info, backend });
                    }
                    Err(e) => post(&Event::Failed { id, error: e }),
                }
                clear_active(&state, id);
            });
        }
        Request::Generate { id, prompt, sampling, max_tokens, stop, ignore_eos } => {
            let Some(model) = state.borrow().model.clone() else {
                fail(id, ErrorKind::State, "no model is loaded yet: load one first");
                return;
            };
            stop_active(&state);
            let flag = Rc::new(RefCell::new(false));
            state.borrow_mut().active = Some((id, flag.clone()));
            let lose_after = state.borrow().lose_device_after;
            spawn_local(async move {
                let opts = GenerateOptions {
                    sampling: to_engine_sampling(&sampling),
                    max_tokens,
                    stop,
                    ignore_eos,
                    n_ctx: None,
                };
                if let Err(e) = generate(id, &model, prompt, opts, lose_after, &flag).await {
                    if e.kind == ErrorKind::DeviceLost {
                        // The model's buffers went with the device: the next run loads it again.
                        let why = match &model.engine {
                            AnyEngine::Gpu(g) => g.model.backend().lost(),
                            AnyEngine::Cpu(_) => None,
                        };
                        let mut s = state.borrow_mut();
                        s.lost = Some(format!("the last WebGPU device was lost ({})", why.unwrap_or_default()));
                        if s.model.as_ref().is_some_and(|m| Rc::ptr_eq(m, &model)) {
                            s.model = None;
                        }
                    }
                    post(&Event::Failed { id, error: e });
                }
                clear_active(&state, id);
            });
        }
        Request::ListCache => spawn_local(async move {
            match list_cache().await {
                Ok(ev) => post(&ev),
                Err(e) => post(&Event::Failed { id: RequestId(0), error: e }),
            }
        }),
        Request::DeleteCache { url } => spawn_local(async move {
            let res = async {
                let cache = open_cache().await?;
                JsFuture::from(cache.delete_with_str(&url)).await.map_err(storage_err)?;
                list_cache().await
            }
            .await;
            match res {
                Ok(ev) => post(&ev),
                Err(e) => post(&Event::Failed { id: RequestId(0), error: e }),
            }
        }),
    }
}

fn stop_active(state: &Shared) {
    if let Some((_, flag)) = &state.borrow().active {
        *flag.borrow_mut() = true;
    }
}

fn clear_active(state: &Shared, id: RequestId) {
    let mut s = state.borrow_mut();
    if s.active.as_ref().is_some_and(|(a, _)| *a == id) {
        s.active = None;
    }
}

fn to_engine_sampling(s: &Sampling) -> SamplingParams {
    SamplingParams {
        temperature: s.temperature,
        top_k: s.top_k,
        top_p: s.top_p,
        min_p: s.min_p,
        repeat_penalty: s.repeat_penalty,
        seed: s.seed,
        ..SamplingParams::default()
    }
}

fn wire(kind: ErrorKind, message: impl Into<String>) -> WireError {
    WireError { kind, message: message.into() }
}

fn storage_err(e: JsValue) -> WireError {
    wire(ErrorKind::Storage, format!("browser storage failed: {}", js_message(&e)))
}

fn reason_str(r: StopReason) -> &'static str {
    match r {
        StopReason::Eos => "eos",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopString => "stop_string",
        StopReason::ContextFull => "context_full",
        StopReason::Cancelled => "cancelled",
    }
}

async fn generate(
    id: RequestId,
    model: &Loaded,
    prompt: Prompt,
    opts: GenerateOptions,
    lose_device_after: Option<usize>,
    stop: &Rc<RefCell<bool>>,
) -> Result<(), WireError> {
    match &model.engine {
        AnyEngine::Cpu(e) => run(id, start_generator(e, prompt, opts)?, &model.backend, |_| {}, stop).await,
        AnyEngine::Gpu(e) => {
            let device = e.model.backend().context().device.clone();
            let after_token = move |n: usize| {
                if lose_device_after == Some(n) {
                    device.destroy();
                }
            };
            let result = run(id, start_generator(e, prompt, opts)?, &model.backend, after_token, stop).await;
            match result {
                Err(err) if err.kind != ErrorKind::DeviceLost => {
                    // A read that failed because the device went away may be reported before
                    // the browser's device-lost notice: give it a moment to arrive.
                    sleep_ms(50).await;
                    match e.model.backend().lost() {
                        Some(why) => {
                            Err(gen_err(arbitre_engine::EngineError::DeviceLost { backend: "WebGPU", reason: why }))
                        }
                        None => Err(err),
                    }
                }
                other => other,
            }
        }
    }
}

fn gen_err(e: arbitre_engine::EngineError) -> WireError {
    let kind = match e {
        arbitre_engine::EngineError::DeviceLost { .. } => ErrorKind::DeviceLost,
        _ => ErrorKind::Generation,
    };
    wire(kind, e.to_string())
}

fn start_generator<B: Backend>(
    engine: &Engine<B>,
    prompt: Prompt,
    opts: GenerateOptions,
) -> Result<Generator<B>, WireError> {
    Ok(match prompt {
        Prompt::Text { text } => engine.generate(&text, opts).map_err(gen_err)?,
        Prompt::Chat { system, user } => {
            let mut messages = Vec::new();
            if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
                messages.push(Message::system(s));
            }
            messages.push(Message::user(user));
            engine.generate_chat(&messages, opts).map_err(gen_err)?
        }
        Prompt::Synthetic { tokens } => {
            let ids = engine.synthetic_prompt(tokens).map_err(gen_err)?;
            engine.generate_ids(ids, opts).map_err(gen_err)?
        }
    })
}

/// Steps a run to its end, streaming tokens and yielding to the event loop between steps. The
/// async step reads GPU results without blocking (a browser cannot block on a GPU read).
async fn run<B: Backend>(
    id: RequestId,
    mut generator: Generator<B>,
    backend: &BackendInfo,
    after_token: impl Fn(usize),
    stop: &Rc<RefCell<bool>>,
) -> Result<(), WireError> {
    post(&Event::Started { id, prompt_tokens: generator.stats().prompt_tokens });
    let cancel = generator.cancel_handle();
    let mut last_yield = now_ms();
    // Tokens not yet posted: the first goes at once (time to first token), later ones at most
    // every TOKEN_POST_MS, so the page renders ~10 times a second however fast the model is
    // (a model slower than that still shows every token as it comes).
    let (mut pending, mut pending_tokens, mut last_post) = (String::new(), 0usize, None::<f64>);
    let reason = loop {
        if *stop.borrow() {
            cancel.cancel();
        }
        match generator.step_async().await.map_err(gen_err)? {
            Step::Token { text, .. } => {
                pending.push_str(&text);
                pending_tokens += 1;
                let now = now_ms();
                if last_post.is_none_or(|t| now - t >= TOKEN_POST_MS) {
                    post(&Event::Token { id, text: std::mem::take(&mut pending), tokens: pending_tokens });
                    (pending_tokens, last_post) = (0, Some(now));
                }
                after_token(generator.generated().len());
            }
            Step::Done { reason, text } => {
                pending.push_str(&text);
                if !pending.is_empty() || pending_tokens > 0 {
                    post(&Event::Token { id, text: pending, tokens: pending_tokens });
                }
                break reason;
            }
        }
        if now_ms() - last_yield > YIELD_EVERY_MS {
            yield_now().await;
            last_yield = now_ms();
        }
    };
    let s = generator.stats();
    let stats = RunStats {
        backend: backend.kind.clone(),
        prompt_tokens: s.prompt_tokens,
        generated_tokens: s.generated_tokens,
        ttft_ms: s.ttft_ms,
        prefill_tps: s.prefill_tps,
        decode_tps: s.decode_tps,
        total_ms: s.total_ms,
    };
    post(&Event::Done { id, stats, reason: reason_str(reason).into() });
    Ok(())
}

const CPU_NAME: &str = "CPU SIMD (wasm simd128, 1 thread)";

fn cpu_info(reason: Option<String>) -> BackendInfo {
    BackendInfo { kind: "cpu".into(), name: CPU_NAME.into(), reason }
}

/// Picks the backend: WebGPU when asked for (or, in `auto`, when a hardware adapter exists),
/// else the CPU, with the reason whenever the choice differs from the request.
async fn choose_backend(choice: BackendChoice, lost: Option<String>) -> (BackendInfo, Option<WebGpuBackend>) {
    if choice == BackendChoice::Cpu {
        return (cpu_info(None), None);
    }
    if let (BackendChoice::Auto, Some(why)) = (choice, &lost) {
        return (cpu_info(Some(format!("{why}; running on the CPU (choose WebGPU to try a new device)"))), None);
    }
    let probe = webgpu_adapter_name().await;
    if let Err(why) = &probe {
        return (cpu_info(Some(format!("WebGPU unavailable: {why}; running on the CPU"))), None);
    }
    let probe_name = probe.unwrap_or_default();
    let software =
        ["swiftshader", "llvmpipe", "lavapipe", "software"].iter().any(|s| probe_name.to_lowercase().contains(s));
    if choice == BackendChoice::Auto && software {
        let why = format!(
            "the only WebGPU adapter is a software renderer ({probe_name}), slower than the CPU path; choose WebGPU to use it anyway"
        );
        return (cpu_info(Some(why)), None);
    }
    match WebGpuBackend::request().await {
        Ok(gpu) => {
            let name = gpu.context().adapter_name.clone();
            let name = if name.trim().is_empty() { probe_name } else { name };
            (BackendInfo { kind: "webgpu".into(), name: format!("WebGPU: {name}"), reason: None }, Some(gpu))
        }
        Err(e) => {
            let after = lost.map(|why| format!(" after {why}")).unwrap_or_default();
            (cpu_info(Some(format!("WebGPU could not start ({e}){after}; running on the CPU"))), None)
        }
    }
}

async fn webgpu_adapter_name() -> Result<String, String> {
    let nav = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|e| js_message(&e))?;
    let gpu = Reflect::get(&nav, &"gpu".into()).map_err(|e| js_message(&e))?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser exposes no navigator.gpu".into());
    }
    let request: js_sys::Function = Reflect::get(&gpu, &"requestAdapter".into())
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|e| js_message(&e))?;
    let promise: Promise = request.call0(&gpu).map_err(|e| js_message(&e))?.dyn_into().map_err(|e| js_message(&e))?;
    let adapter = JsFuture::from(promise).await.map_err(|e| js_message(&e))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("navigator.gpu.requestAdapter() returned no adapter".into());
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| Reflect::get(&info, &k.into()).ok().and_then(|v| v.as_string()).filter(|s| !s.is_empty());
    let name = [field("vendor"), field("architecture"), field("description")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(if name.is_empty() { "unnamed adapter".into() } else { name })
}

/// The most bytes a model file may have to load on the CPU backend: the file and the weights
/// built from it are both in the wasm heap while loading.
pub fn cpu_size_limit() -> u64 {
    (WASM_HEAP_LIMIT - HEAP_RESERVE) / 2
}

fn check_fits(size: u64, label: &str) -> Result<(), WireError> {
    let limit = cpu_size_limit();
    if size > limit {
        return Err(wire(
            ErrorKind::TooBig,
            format!(
                "{label} is {} but this browser can load at most {} on the CPU backend (the file and its \
                 weights must both fit the 4 GiB WebAssembly heap while loading); pick a smaller quantization",
                crate::format::bytes(size),
                crate::format::bytes(limit)
            ),
        ));
    }
    Ok(())
}

async fn load(
    id: RequestId,
    source: ModelSource,
    backend: BackendChoice,
    file: Option<File>,
    lost: Option<String>,
    stop: &Rc<RefCell<bool>>,
) -> Result<(Loaded, ModelInfo), WireError> {
    let (backend_info, gpu) = choose_backend(backend, lost).await;
    let on_cpu = gpu.is_none();
    // On the CPU the file and its weights share the wasm heap; on WebGPU the weights stream
    // into GPU buffers, and the GPU's own limits apply (checked as buffers are made).
    let fits = |size: u64, label: &str| if on_cpu { check_fits(size, label) } else { Ok(()) };
    let (intake, label, from_cache) = match source {
        ModelSource::Url { urls, sha256, size_bytes, label } => {
            if let Some(size) = size_bytes {
                fits(size, &label)?;
            }
            let intake = Intake::new(gpu, &label, sha256.is_some(), true);
            let (intake, from_cache) = fetch_model(id, &urls, sha256.as_deref(), &label, intake, stop).await?;
            (intake, label, from_cache)
        }
        ModelSource::LocalFile { name, size_bytes } => {
            fits(size_bytes, &name)?;
            let file = file.ok_or_else(|| wire(ErrorKind::State, "the local file did not reach the worker"))?;
            let mut intake = Intake::new(gpu, &name, false, false);
            read_stream(
                id,
                file.stream().get_reader().unchecked_into(),
                &name,
                LoadPhase::ReadingFile,
                Some(size_bytes),
                &mut intake,
                stop,
            )
            .await?;
            (intake, name, false)
        }
    };
    post(&Event::Progress { id, phase: LoadPhase::Loading, loaded: 0, total: None, url: label.clone() });
    yield_now().await;
    let size = intake.received;
    let model_err = |e: arbitre_engine::EngineError| wire(ErrorKind::Model, format!("{label}: {e}"));
    let (engine, quant, backend_info, streamed) = match intake.sink {
        Sink::Gpu { loader, scope, .. } => {
            let quant = loader.header().and_then(main_quant).map(|q| q.to_string()).unwrap_or_else(|| "?".into());
            let engine = loader.finish().map_err(model_err)?;
            if let Some(e) = scope.pop().await {
                return Err(wire(
                    ErrorKind::TooBig,
                    format!(
                        "{label}: the GPU could not allocate the model's buffers ({e}); try the CPU backend or a smaller quantization"
                    ),
                ));
            }
            (AnyEngine::Gpu(engine), quant, backend_info, true)
        }
        Sink::Whole(bytes) => {
            let file = arbitre_gguf::GgufFile::from_bytes(bytes)
                .map_err(|e| wire(ErrorKind::Model, format!("{label}: {e}")))?;
            let quant = main_quant(&file.header).map(|q| q.to_string()).unwrap_or_else(|| "?".into());
            let info = match intake.fallback {
                Some(why) => cpu_info(Some(why)),
                None => backend_info,
            };
            (AnyEngine::Cpu(Engine::from_gguf(CpuBackend, &file).map_err(model_err)?), quant, info, false)
        }
    };
    let mut info = match &engine {
        AnyEngine::Cpu(e) => model_info(e, label, size, quant, from_cache),
        AnyEngine::Gpu(e) => model_info(e, label, size, quant, from_cache),
    };
    info.streamed = streamed;
    info.wasm_memory_bytes = wasm_memory_bytes();
    Ok((Loaded { engine, backend: backend_info }, info))
}

/// Bytes of the worker's wasm memory now. Wasm memory only grows, so this is also the most
/// it ever held.
fn wasm_memory_bytes() -> u64 {
    let memory = wasm_bindgen::memory();
    let buffer = Reflect::get(&memory, &"buffer".into()).unwrap_or(JsValue::UNDEFINED);
    Reflect::get(&buffer, &"byteLength".into()).ok().and_then(|v| v.as_f64()).map_or(0, |b| b as u64)
}

/// Where a model's bytes go as they arrive.
enum Sink {
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
struct Kept {
    chunks: Vec<Uint8Array>,
}

impl Kept {
    fn push(&mut self, chunk: &Uint8Array) {
        self.chunks.push(chunk.clone());
    }

    /// A stream of the kept chunks, and the callback that feeds it (to keep alive while the
    /// stream is read). A stream rather than one Blob: Chromium can fail to store a Blob of
    /// hundreds of MB assembled from thousands of parts, while it writes a streamed body to
    /// the cache as it reads it.
    fn stream(&self) -> Result<(web_sys::ReadableStream, Closure<dyn FnMut(JsValue)>), JsValue> {
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
struct Intake {
    sink: Sink,
    label: String,
    /// The sha256 so far, when a digest is pinned.
    hasher: Option<Sha256>,
    /// The chunks as the browser handed them (JS memory, not the wasm heap), to store in
    /// the cache once the download checks out; only on the streamed path, where the file is
    /// never whole in wasm memory.
    keep: Option<Kept>,
    /// Bytes of the file taken so far.
    received: u64,
    /// Bytes to drop at the start of the stream: a server that ignored a Range request sends
    /// the file again from its first byte.
    skip: u64,
    /// Why the CPU took the file over from WebGPU, if it did.
    fallback: Option<String>,
    /// Reused buffer a chunk is copied into.
    scratch: Vec<u8>,
}

impl Intake {
    /// An intake for `gpu` (else the CPU), computing the sha256 when `hash`, keeping the
    /// chunks for the cache when `store`.
    fn new(gpu: Option<WebGpuBackend>, label: &str, hash: bool, store: bool) -> Self {
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
    fn expect_total(&mut self, total: u64) -> Result<(), WireError> {
        if let Sink::Whole(buf) = &mut self.sink {
            let more = (total as usize).saturating_sub(buf.len());
            buf.try_reserve_exact(more).map_err(|_| {
                wire(ErrorKind::TooBig, format!("not enough memory to hold {}", crate::format::bytes(total)))
            })?;
        }
        Ok(())
    }

    /// Takes one chunk of the stream.
    fn take(&mut self, chunk: Uint8Array) -> Result<(), WireError> {
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
    fn digest(&mut self) -> Option<String> {
        self.hasher.take().map(|h| hex(&h.finalize()))
    }
}

fn model_info<B: Backend>(engine: &Engine<B>, label: String, size: u64, quant: String, from_cache: bool) -> ModelInfo {
    let cfg = &engine.model.config;
    ModelInfo {
        label,
        architecture: cfg.arch.clone(),
        size_bytes: size,
        quant,
        n_ctx: cfg.n_ctx_train.min(arbitre_engine::generate::DEFAULT_N_CTX),
        vocab_size: engine.tokenizer.vocab_size(),
        chat_template: match &engine.chat_template {
            Ok(t) => t.name().to_string(),
            Err(e) => format!("none ({e})"),
        },
        from_cache,
        streamed: false,
        wasm_memory_bytes: 0,
    }
}

async fn open_cache() -> Result<Cache, WireError> {
    let caches = scope().caches().map_err(storage_err)?;
    let cache = JsFuture::from(caches.open(CACHE_NAME)).await.map_err(storage_err)?;
    Ok(cache.unchecked_into())
}

async fn list_cache() -> Result<Event, WireError> {
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

async fn storage_estimate() -> (Option<u64>, Option<u64>) {
    let res = async {
        let est = JsFuture::from(scope().navigator().storage().estimate().ok()?).await.ok()?;
        let est: web_sys::StorageEstimate = est.unchecked_into();
        Some((est.get_usage().map(|u| u as u64), est.get_quota().map(|q| q as u64)))
    }
    .await;
    res.unwrap_or((None, None))
}

fn absolute(url: &str) -> String {
    let base = scope().location().href();
    web_sys::Url::new_with_base(url, &base).map(|u| u.href()).unwrap_or_else(|_| url.to_string())
}

/// Finds the model in the cache or downloads it from the first URL that answers, resuming
/// after cuts, feeding `intake` as bytes arrive; then checks the sha256 and stores the file.
async fn fetch_model(
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores a downloaded file; a full quota only means the next visit downloads again. A
/// streamed download is stored from the chunks kept on the JS side (a Blob), a gathered one
/// from its bytes.
async fn store(cache: &Cache, url: &str, intake: &mut Intake) {
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

enum Attempt {
    /// This URL does not serve the file (404, refused): try the next candidate.
    TryNext(String),
    /// Stop trying.
    Fatal(WireError),
}

/// Tells the page's privacy log about a request the worker made.
fn log_request(started_ms: f64, url: &str, status: u16, bytes_down: u64, purpose: &str) {
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

async fn fetch_range(url: &str, from: u64) -> Result<Response, String> {
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

async fn download(id: RequestId, url: &str, intake: &mut Intake, stop: &Rc<RefCell<bool>>) -> Result<(), Attempt> {
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

async fn sleep_ms(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// Feeds a whole stream (the browser cache's copy, a local file) to `intake`.
async fn read_stream(
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
struct Progress<'a> {
    id: RequestId,
    phase: LoadPhase,
    total: Option<u64>,
    url: &'a str,
}

/// Why [`pump`] ended before the stream did.
enum Pump {
    /// The request was stopped.
    Stopped,
    /// The stream failed (network cut, storage error), with the browser's message.
    Failed(String),
    /// The bytes were refused (not a model the engine can load).
    Rejected(WireError),
}

/// Feeds a stream's chunks to `intake` until it ends, posting progress at most every 100 ms.
async fn pump(
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
