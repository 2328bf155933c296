//! The UI thread's side of the worker (wasm32 only): the local pane's and the network log's
//! reducers, what is remembered between worker events ([`Runtime`]), starting loads and runs,
//! and routing the worker's events to the pane, the chat, the cache view and the log.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_engine::catalog::CatalogModel;
use arbitre_hosted::transport::now_ms;
use arbitre_protocol::{
    CacheEntry, ErrorKind, Event, ModelSource, NetEntry, Prompt, Request, RequestId, decode_event, encode_request,
};
use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{File, MessageEvent, Worker};
use yew::prelude::*;

use crate::chat::state::PaneId;
use crate::chat::view::{ChatAction, ChatState};
use crate::model::pane::LocalPane;
use crate::model::{default_model, source_for};
use crate::settings::RunSettings;

/// The local pane as a Yew reducer.
#[derive(Clone, Default, PartialEq)]
pub(super) struct PaneState(pub(super) LocalPane);

pub(super) enum PaneAction {
    Event(Box<Event>, f64),
    BeginLoad(RequestId),
    BeginRun(RequestId),
    Fail(String),
}

impl Reducible for PaneState {
    type Action = PaneAction;

    fn reduce(self: Rc<Self>, action: PaneAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            PaneAction::Event(e, now) => next.0.apply(&e, now),
            PaneAction::BeginLoad(id) => next.0.begin_load(id),
            PaneAction::BeginRun(id) => next.0.begin_run(id),
            PaneAction::Fail(m) => next.0.fail(m),
        }
        Rc::new(next)
    }
}

/// Every network request the page and its worker made, for the privacy log.
#[derive(Clone, Default, PartialEq)]
pub struct NetLog(pub Vec<NetEntry>);

impl Reducible for NetLog {
    type Action = NetEntry;

    fn reduce(self: Rc<Self>, entry: NetEntry) -> Rc<Self> {
        let mut next = (*self).clone();
        next.0.push(entry);
        Rc::new(next)
    }
}

/// Where worker events go.
#[derive(Clone)]
pub(super) struct Sinks {
    pub(super) pane: UseReducerDispatcher<PaneState>,
    pub(super) chat: UseReducerDispatcher<ChatState>,
    pub(super) cache: UseStateSetter<CacheView>,
    pub(super) net: UseReducerDispatcher<NetLog>,
}

#[derive(Clone, Default, PartialEq)]
pub(super) struct CacheView {
    pub(super) entries: Vec<CacheEntry>,
    pub(super) usage: Option<u64>,
    pub(super) quota: Option<u64>,
}

/// What the UI thread remembers between events without re-rendering.
#[derive(Default)]
pub(super) struct Runtime {
    pub(super) worker: Option<Worker>,
    pub(super) ready: bool,
    pub(super) next_id: u64,
    /// The load in flight and the key of what it loads.
    pub(super) loading: Option<(RequestId, String)>,
    /// Key of the loaded model (model + backend).
    pub(super) loaded_key: Option<String>,
    /// A generation to start once the load in flight finishes.
    pub(super) pending: Option<Request>,
    /// Started on load (`run=1`) once the worker is ready.
    pub(super) autorun: bool,
    /// The default model is being chosen (see `models`): runs wait for it.
    pub(super) probing: bool,
    /// Id of the running generation.
    pub(super) running: Option<RequestId>,
    /// Id of the generation answering the chat, while it runs (or waits for its model).
    pub(super) chat_run: Option<RequestId>,
    pub(super) local_file: Option<File>,
    /// performance.now() spans of local runs, for the privacy log.
    pub(super) local_windows: Vec<(f64, f64)>,
}

impl Runtime {
    pub(super) fn id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    pub(super) fn send(&self, req: &Request, file: Option<&File>) {
        let Some(w) = &self.worker else { return };
        let text = JsValue::from_str(&encode_request(req));
        let res = match file {
            Some(f) => w.post_message(&Array::of2(&text, f)),
            None => w.post_message(&text),
        };
        if let Err(e) = res {
            web_sys::console::error_1(&e);
        }
    }
}

pub(super) fn catalog() -> Vec<CatalogModel> {
    arbitre_engine::catalog::catalog().unwrap_or_default()
}

pub(super) fn is_cached(source: &ModelSource, cache: &CacheView) -> bool {
    match source {
        ModelSource::Url { urls, .. } => {
            urls.iter().map(|u| crate::address::absolute(u)).any(|u| cache.entries.iter().any(|e| e.url == u))
        }
        ModelSource::LocalFile { .. } => false,
    }
}

pub(super) fn model_key(settings: &RunSettings, local: Option<&File>) -> String {
    match local {
        Some(f) => format!("local:{}:{}|{}", f.name(), f.size(), settings.backend.as_str()),
        None => format!("{}|{}", settings.model, settings.backend.as_str()),
    }
}

pub(super) fn generate_request(id: RequestId, s: &RunSettings, prompt: Option<Prompt>) -> Request {
    let prompt = if let Some(p) = prompt {
        p
    } else if s.bench {
        Prompt::Synthetic { tokens: s.prompt_tokens }
    } else if s.chat {
        Prompt::Chat { system: Some(s.system.clone()).filter(|x| !x.is_empty()), user: s.prompt.clone() }
    } else {
        Prompt::Text { text: s.prompt.clone() }
    };
    Request::Generate {
        id,
        prompt,
        sampling: s.sampling.clone(),
        max_tokens: s.max_tokens,
        stop: s.stop.clone(),
        ignore_eos: s.ignore_eos || s.bench,
        thinking: s.thinking,
    }
}

/// Starts a run: generate at once if the model is loaded, else load it first.
pub(super) fn start_run(rt: &Rc<RefCell<Runtime>>, settings: &RunSettings, pane: &UseReducerDispatcher<PaneState>) {
    let mut r = rt.borrow_mut();
    if !r.ready || r.probing {
        r.autorun = true;
        return;
    }
    drop(r);
    start_generation(rt, settings, pane, None);
}

/// Starts a generation of `prompt` (the settings' prompt when `None`) on the worker, loading
/// the model first if needed; returns its id.
pub(super) fn start_generation(
    rt: &Rc<RefCell<Runtime>>,
    settings: &RunSettings,
    pane: &UseReducerDispatcher<PaneState>,
    prompt: Option<Prompt>,
) -> RequestId {
    let mut r = rt.borrow_mut();
    let key = model_key(settings, r.local_file.as_ref());
    if r.loaded_key.as_deref() == Some(key.as_str()) {
        let id = r.id();
        pane.dispatch(PaneAction::BeginRun(id));
        r.running = Some(id);
        r.local_windows.push((now_ms(), f64::INFINITY));
        r.send(&generate_request(id, settings, prompt), None);
        return id;
    }
    let gen_id = r.id();
    r.pending = Some(generate_request(gen_id, settings, prompt));
    drop(r);
    start_load(rt, settings, pane);
    gen_id
}

pub(super) fn start_load(rt: &Rc<RefCell<Runtime>>, settings: &RunSettings, pane: &UseReducerDispatcher<PaneState>) {
    let mut r = rt.borrow_mut();
    let id = r.id();
    let key = model_key(settings, r.local_file.as_ref());
    let file = r.local_file.clone();
    let source = match &file {
        Some(f) => ModelSource::LocalFile { name: f.name(), size_bytes: f.size() as u64 },
        None => {
            let cat = catalog();
            let model = if settings.model.is_empty() { default_model(&cat) } else { settings.model.clone() };
            source_for(&model, &cat, settings.sha256.as_deref())
        }
    };
    r.loading = Some((id, key));
    r.loaded_key = None;
    pane.dispatch(PaneAction::BeginLoad(id));
    r.send(&Request::Load { id, source, backend: settings.backend }, file.as_ref());
}

pub(super) fn on_worker_event(
    rt: &Rc<RefCell<Runtime>>,
    event: Event,
    sinks: &Sinks,
    settings: &Rc<RefCell<RunSettings>>,
) {
    let pane = &sinks.pane;
    match &event {
        Event::Net { entry } => {
            sinks.net.dispatch(entry.clone());
            return;
        }
        Event::Ready => {
            let mut r = rt.borrow_mut();
            r.ready = true;
            r.send(&Request::ListCache, None);
            if !r.probing && std::mem::take(&mut r.autorun) {
                drop(r);
                start_run(rt, &settings.borrow(), pane);
            }
            return;
        }
        Event::Cache { entries, usage, quota } => {
            sinks.cache.set(CacheView { entries: entries.clone(), usage: *usage, quota: *quota });
            return;
        }
        _ => {}
    }
    pane.dispatch(PaneAction::Event(Box::new(event.clone()), now_ms()));
    let mut r = rt.borrow_mut();
    // The chat's answer (its load failing fails it too).
    let chat = &sinks.chat;
    match &event {
        Event::Token { id, text, .. } if r.chat_run == Some(*id) => {
            chat.dispatch(ChatAction::Delta(PaneId::Local, text.clone()));
        }
        Event::Done { id, stats, .. } if r.chat_run == Some(*id) => {
            r.chat_run = None;
            chat.dispatch(ChatAction::Done(PaneId::Local, serde_json::to_string(stats).unwrap_or_default(), None));
        }
        Event::Failed { id, error }
            if r.chat_run == Some(*id)
                || (r.chat_run.is_some() && r.loading.as_ref().is_some_and(|(l, _)| l == id)) =>
        {
            r.chat_run = None;
            chat.dispatch(ChatAction::Fail(PaneId::Local, error.message.clone()));
        }
        _ => {}
    }
    match event {
        Event::Loaded { id, .. } if r.loading.as_ref().is_some_and(|(l, _)| *l == id) => {
            let (_, key) = r.loading.take().unwrap_or_default();
            r.loaded_key = Some(key);
            r.send(&Request::ListCache, None);
            if let Some(req) = r.pending.take() {
                if let Request::Generate { id: gen_id, .. } = &req {
                    pane.dispatch(PaneAction::BeginRun(*gen_id));
                    r.running = Some(*gen_id);
                    r.local_windows.push((now_ms(), f64::INFINITY));
                }
                r.send(&req, None);
            }
        }
        Event::Failed { id, .. } if r.loading.as_ref().is_some_and(|(l, _)| *l == id) => {
            r.loading = None;
            r.pending = None;
        }
        Event::Failed { id, ref error } if r.running == Some(id) && error.kind == ErrorKind::DeviceLost => {
            // The worker dropped the model with its device: the next run loads it again.
            r.running = None;
            r.loaded_key = None;
            if let Some(w) = r.local_windows.last_mut() {
                w.1 = now_ms();
            }
        }
        Event::Done { id, .. } | Event::Failed { id, .. } if r.running == Some(id) => {
            r.running = None;
            if let Some(w) = r.local_windows.last_mut() {
                w.1 = now_ms();
            }
        }
        _ => {}
    }
}

pub(super) fn spawn_worker(rt: Rc<RefCell<Runtime>>, sinks: Sinks, settings: Rc<RefCell<RunSettings>>) {
    let pane = sinks.pane.clone();
    // Test hook: `debug_lose_device_after=N` reaches the worker through its URL (see the worker).
    let debug = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get("debug_lose_device_after"))
        .and_then(|v| v.parse::<usize>().ok())
        .map(|n| format!("?debug_lose_device_after={n}"))
        .unwrap_or_default();
    let worker = match Worker::new(&format!("./worker_loader.js{debug}")) {
        Ok(w) => w,
        Err(e) => {
            pane.dispatch(PaneAction::Fail(format!("could not start the inference worker: {e:?}")));
            return;
        }
    };
    let rt2 = rt.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let text = ev.data().as_string().unwrap_or_default();
        match decode_event(&text) {
            Ok(event) => on_worker_event(&rt2, event, &sinks, &settings),
            Err(e) => web_sys::console::error_1(&e.into()),
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let pane3 = pane.clone();
    let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
        pane3.dispatch(PaneAction::Fail(format!("the inference worker failed: {}", e.message())));
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
    rt.borrow_mut().worker = Some(worker);
}
