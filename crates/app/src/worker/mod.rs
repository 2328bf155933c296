//! The inference worker: owns the engine, downloads and caches weights, streams tokens back.
//!
//! Runs in a dedicated Web Worker, so a long prefill or a 2 GB download never freezes the page.
//! Requests arrive as JSON text (optionally with a `File` beside them, for a visitor's local
//! model); events leave as JSON text. Between generation steps the loop yields to the worker's
//! event loop through a `MessageChannel` (no 4 ms timer clamping), which is when a Stop request
//! can arrive.
//!
//! Layout: this file handles requests and runs generations; [`load`] turns a model's bytes
//! into an engine on the chosen backend; [`fetch`] downloads, resumes and caches model files.

mod fetch;
mod load;

use fetch::{list_cache, open_cache, sleep_ms};

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_chat::reasoning::ReasoningCounter;
use arbitre_engine::{
    Backend, ChatCache, CpuBackend, Engine, GenerateOptions, Generator, Message, SamplingParams, Step, StopReason,
    WebGpuBackend,
};
use arbitre_hosted::transport::now_ms;
use arbitre_protocol::{
    BackendChoice, BackendInfo, ChatRole, ErrorKind, Event, Prompt, Request, RequestId, RunStats, Sampling, WireError,
    decode_request, encode_event,
};
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{DedicatedWorkerGlobalScope, File, MessageChannel, MessageEvent};

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
    /// The KV cache of the last conversation run on this model, reused by the next one.
    chat: RefCell<AnyCache>,
}

/// A conversation's cache on whichever backend holds it.
#[derive(Default)]
enum AnyCache {
    #[default]
    None,
    Cpu(ChatCache<CpuBackend>),
    Gpu(ChatCache<WebGpuBackend>),
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
                match load::load(id, source, backend, file, lost, &flag).await {
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
        Request::Generate { id, prompt, sampling, max_tokens, stop, ignore_eos, thinking } => {
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
                    thinking,
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
    let conversation = matches!(prompt, Prompt::Conversation { .. });
    // A run takes the conversation's cache, and gives it back when it ends well.
    let cache = std::mem::take(&mut *model.chat.borrow_mut());
    match &model.engine {
        AnyEngine::Cpu(e) => {
            let cache = if let AnyCache::Cpu(c) = cache { Some(c) } else { None };
            let g = run(id, start_generator(e, prompt, cache, opts)?, &model.backend, |_| {}, stop).await?;
            if conversation {
                *model.chat.borrow_mut() = AnyCache::Cpu(g.into_cache());
            }
            Ok(())
        }
        AnyEngine::Gpu(e) => {
            let cache = if let AnyCache::Gpu(c) = cache { Some(c) } else { None };
            let device = e.model.backend().context().device.clone();
            let after_token = move |n: usize| {
                if lose_device_after == Some(n) {
                    device.destroy();
                }
            };
            let result = run(id, start_generator(e, prompt, cache, opts)?, &model.backend, after_token, stop).await;
            match result {
                Ok(g) => {
                    if conversation {
                        *model.chat.borrow_mut() = AnyCache::Gpu(g.into_cache());
                    }
                    Ok(())
                }
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
                Err(err) => Err(err),
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
    cache: Option<ChatCache<B>>,
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
        Prompt::Conversation { system, turns, reuse_cache } => {
            let cache = cache.filter(|_| reuse_cache);
            let mut messages = Vec::new();
            if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
                messages.push(Message::system(s));
            }
            messages.extend(turns.into_iter().map(|t| match t.role {
                ChatRole::User => Message::user(t.text),
                ChatRole::Assistant => Message::assistant(t.text),
            }));
            engine.resume_chat(&messages, cache, opts).map_err(gen_err)?
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
) -> Result<Generator<B>, WireError> {
    post(&Event::Started { id, prompt_tokens: generator.stats().prompt_tokens });
    let cancel = generator.cancel_handle();
    let mut last_yield = now_ms();
    // Tokens not yet posted: the first goes at once (time to first token), later ones at most
    // every TOKEN_POST_MS, so the page renders ~10 times a second however fast the model is
    // (a model slower than that still shows every token as it comes).
    let (mut pending, mut pending_tokens, mut last_post) = (String::new(), 0usize, None::<f64>);
    let mut reasoning = ReasoningCounter::new();
    let reason = loop {
        if *stop.borrow() {
            cancel.cancel();
        }
        match generator.step_async().await.map_err(gen_err)? {
            Step::Token { text, .. } => {
                reasoning.push(&text);
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
                reasoning.push_text(&text);
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
        prefill_tokens: s.prefill_tokens,
        generated_tokens: s.generated_tokens,
        reasoning_tokens: reasoning.reasoning_tokens().min(s.generated_tokens),
        ttft_ms: s.ttft_ms,
        prefill_tps: s.prefill_tps,
        decode_tps: s.decode_tps,
        total_ms: s.total_ms,
    };
    post(&Event::Done { id, stats, reason: reason_str(reason).into() });
    Ok(generator)
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
