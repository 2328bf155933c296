//! Loading a model in the worker: size checks, the bytes from the network, the cache or a
//! local file, and the engine and model info at the end.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_engine::stream::main_quant;
use arbitre_engine::{Backend, CpuBackend, Engine};
use arbitre_protocol::{BackendChoice, ErrorKind, Event, LoadPhase, ModelInfo, ModelSource, RequestId, WireError};
use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::File;

use super::fetch::{Intake, Sink, fetch_model, read_stream};
use super::{AnyEngine, HEAP_RESERVE, Loaded, WASM_HEAP_LIMIT, choose_backend, cpu_info, post, wire, yield_now};

/// The most bytes a model file may have to load on the CPU backend: the file and the weights
/// built from it are both in the wasm heap while loading.
pub fn cpu_size_limit() -> u64 {
    (WASM_HEAP_LIMIT - HEAP_RESERVE) / 2
}

pub(super) fn check_fits(size: u64, label: &str) -> Result<(), WireError> {
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

pub(super) async fn load(
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
    Ok((Loaded { engine, backend: backend_info, chat: RefCell::default() }, info))
}

/// Bytes of the worker's wasm memory now. Wasm memory only grows, so this is also the most
/// it ever held.
pub(super) fn wasm_memory_bytes() -> u64 {
    let memory = wasm_bindgen::memory();
    let buffer = Reflect::get(&memory, &"buffer".into()).unwrap_or(JsValue::UNDEFINED);
    Reflect::get(&buffer, &"byteLength".into()).ok().and_then(|v| v.as_f64()).map_or(0, |b| b as u64)
}

pub(super) fn model_info<B: Backend>(
    engine: &Engine<B>,
    label: String,
    size: u64,
    quant: String,
    from_cache: bool,
) -> ModelInfo {
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
