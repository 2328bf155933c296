//! The page's UI thread: a Yew app that talks to the inference worker and never runs a model.
//!
//! [`runtime`] talks to the worker; this file is the page itself ([`App`]).

mod runtime;

use std::rc::Rc;

use arbitre_protocol::{BackendChoice, NetEntry, Prompt, Request};
use web_sys::{File, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::address::{PageQuery, query_pairs, write_query};
use crate::chat::state::{Thread, context_warning};
use crate::chat::view::{ChatAction, ChatColumns, ChatState};
use crate::compare::panel::{ChatSend, ComparePanel};
use crate::compare::panes::{ApiChoice, LocalResult};
use crate::compare::workbench::WorkbenchProvider;
use crate::costs::panel::CostPanel;
use crate::field::{DraftField, commit_to, parse_into};
use crate::format;
use crate::latest::Latest;
use crate::model::pane::PaneStatus;
use crate::model::{apply_default, default_model, source_for};
use crate::netlog::panel::PrivacyLog;
use crate::settings::RunSettings;
use runtime::{
    CacheView, NetLog, PaneState, Runtime, Sinks, catalog, is_cached, spawn_worker, start_generation, start_load,
    start_run,
};

/// Mounts the app on the page's body.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

#[component]
fn App() -> Html {
    let pairs = use_memo((), |_| query_pairs());
    let initial = use_memo((), |_| RunSettings::from_pairs(pairs.iter().cloned()));
    let page_query = use_state(|| PageQuery::from_pairs(&pairs));
    let run_token = use_state(|| 0u64);
    let cat = use_memo((), |_| catalog());
    let settings = use_state(|| {
        let mut s = initial.settings.clone();
        if s.model.is_empty() {
            s.model = default_model(&cat);
        }
        s
    });
    let settings_ref = use_mut_ref(|| (*settings).clone());
    let settings = Latest::synced(settings, settings_ref.clone());
    let pane = use_reducer(PaneState::default);
    let chat = use_reducer(ChatState::default);
    let chat_warning = use_state(|| None::<String>);
    let cache = use_state(CacheView::default);
    let net = use_reducer(NetLog::default);
    let rt = use_mut_ref(Runtime::default);
    let local_name = use_state(|| None::<String>);
    let dark = use_state(|| {
        web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|m| m.matches())
    });

    {
        let sinks =
            Sinks { pane: pane.dispatcher(), chat: chat.dispatcher(), cache: cache.setter(), net: net.dispatcher() };
        let (rt, settings_ref) = (rt.clone(), settings_ref.clone());
        let autorun = initial.run;
        use_effect_with((), move |_| {
            rt.borrow_mut().autorun = autorun;
            spawn_worker(rt, sinks, settings_ref);
        });
    }
    // No model in the URL: settle the default on the first of the catalog's chain this site
    // can give (the embedded SmolLM2, else its Hub Q8_0, else stories260K; see `models`).
    let unavailable = use_state(Vec::<String>::new);
    {
        let probe = initial.settings.model.is_empty();
        let (rt, settings, cat, pairs) = (rt.clone(), settings.clone(), cat.clone(), pairs.clone());
        let (pane, net, unavailable) = (pane.dispatcher(), net.dispatcher(), unavailable.setter());
        use_effect_with((), move |_| {
            if !probe {
                return;
            }
            rt.borrow_mut().probing = true;
            wasm_bindgen_futures::spawn_local(async move {
                let (pick, missing) = crate::model::probe::choose_default(&cat, |e| net.dispatch(e)).await;
                let mut s = settings.current();
                // Unless the person picked a model meanwhile.
                if s.model == default_model(&cat) && s.model != pick {
                    apply_default(&mut s, &pick, &cat, &pairs);
                    settings.set(s);
                }
                unavailable.set(missing);
                let mut r = rt.borrow_mut();
                r.probing = false;
                if r.ready && std::mem::take(&mut r.autorun) {
                    drop(r);
                    start_run(&rt, &settings.current(), &pane);
                }
            });
        });
    }
    {
        let deps = ((*settings).clone(), (*page_query).clone());
        use_effect_with(deps, |(s, q)| write_query(s, q));
    }
    {
        let dark = *dark;
        use_effect_with(dark, |dark| {
            if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
                let _ = root.set_attribute("data-theme", if *dark { "dark" } else { "light" });
            }
        });
    }

    // Setting fields are DraftFields: `f` takes the typed text and says whether it was taken.
    let update = |f: fn(&mut RunSettings, &str) -> bool| commit_to(&settings, f);
    let on_prompt = {
        let settings = settings.clone();
        Callback::from(move |e: InputEvent| {
            let mut s = settings.current();
            s.prompt = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            settings.set(s);
        })
    };
    let on_model = {
        let (settings, rt, local_name) = (settings.clone(), rt.clone(), local_name.clone());
        Callback::from(move |e: web_sys::Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            if v == "__url" {
                return;
            }
            rt.borrow_mut().local_file = None;
            local_name.set(None);
            let mut s = settings.current();
            s.model = v;
            settings.set(s);
        })
    };
    let on_url = {
        let (settings, rt, local_name) = (settings.clone(), rt.clone(), local_name.clone());
        Callback::from(move |v: String| {
            let v = v.trim().to_string();
            if v.is_empty() {
                return true;
            }
            rt.borrow_mut().local_file = None;
            local_name.set(None);
            let mut s = settings.current();
            s.model = v;
            settings.set(s);
            true
        })
    };
    let take_file = {
        let (rt, local_name) = (rt.clone(), local_name.clone());
        Rc::new(move |f: File| {
            local_name.set(Some(format!("{} ({})", f.name(), format::bytes(f.size() as u64))));
            rt.borrow_mut().local_file = Some(f);
        })
    };
    let on_file = {
        let take_file = take_file.clone();
        Callback::from(move |e: web_sys::Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                take_file(f);
            }
        })
    };
    let on_drop = {
        let take_file = take_file.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(f) = e.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
                take_file(f);
            }
        })
    };
    let on_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let on_backend = {
        let settings = settings.clone();
        Callback::from(move |e: web_sys::Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut s = settings.current();
            s.backend = BackendChoice::parse(&v).unwrap_or_default();
            settings.set(s);
        })
    };
    let on_run = {
        let (rt, settings, pane, run_token) = (rt.clone(), settings.clone(), pane.dispatcher(), run_token.clone());
        Callback::from(move |_| {
            run_token.set(*run_token + 1);
            start_run(&rt, &settings, &pane)
        })
    };
    let on_net = {
        let net = net.dispatcher();
        Callback::from(move |e: NetEntry| net.dispatch(e))
    };
    let on_apis = {
        let page_query = page_query.clone();
        Callback::from(move |apis: Vec<ApiChoice>| {
            let mut q = (*page_query).clone();
            q.apis = apis;
            page_query.set(q);
        })
    };
    let on_projection = {
        let page_query = page_query.clone();
        Callback::from(move |(volume, horizon): (u64, u32)| {
            let mut q = (*page_query).clone();
            q.volume = Some(volume);
            q.horizon = Some(horizon);
            if q != *page_query {
                page_query.set(q);
            }
        })
    };
    let on_load = {
        let (rt, settings, pane) = (rt.clone(), settings.clone(), pane.dispatcher());
        Callback::from(move |_| {
            rt.borrow_mut().pending = None;
            start_load(&rt, &settings, &pane)
        })
    };
    let on_stop = {
        let rt = rt.clone();
        Callback::from(move |_| {
            let r = rt.borrow();
            let target = r.running.or(r.loading.as_ref().map(|(id, _)| *id));
            if let Some(id) = target {
                r.send(&Request::Stop { id }, None);
            }
        })
    };
    let on_chat = {
        let settings = settings.clone();
        Callback::from(move |e: web_sys::Event| {
            let mut s = settings.current();
            s.chat = e.target_unchecked_into::<HtmlInputElement>().checked();
            settings.set(s);
        })
    };
    let on_theme = {
        let dark = dark.clone();
        Callback::from(move |_| dark.set(!*dark))
    };
    let delete_cached = {
        let rt = rt.clone();
        Callback::from(move |url: String| rt.borrow().send(&Request::DeleteCache { url }, None))
    };

    let p = &pane.0;
    let busy = matches!(p.status, PaneStatus::Downloading | PaneStatus::Loading | PaneStatus::Running);
    let selected_source = source_for(&settings.model, &cat, None);
    let in_catalog = cat.iter().any(|m| m.id == settings.model);

    let model_options = cat
        .iter()
        .map(|m| {
            let cached = is_cached(&source_for(&m.id, &cat, None), &cache);
            let missing = unavailable.contains(&m.id);
            let label = format!(
                "{} · {} · {} · {}{}",
                m.name,
                m.quant,
                format::bytes(m.size_bytes),
                m.license,
                if cached {
                    " · ✓ cached"
                } else if missing {
                    " · not served by this site"
                } else if m.hub_url().is_none() {
                    " · served with this page"
                } else {
                    ""
                }
            );
            html! { <option value={m.id.clone()} selected={m.id == settings.model} disabled={missing && !cached}>{label}</option> }
        })
        .collect::<Html>();
    let selected = cat.iter().find(|m| m.id == settings.model);
    let model_detail = match (&*local_name, selected) {
        (Some(name), _) => {
            html! { <p class="muted">{"Local file: "}<strong>{name.clone()}</strong>{" — read in this tab, never uploaded."}</p> }
        }
        (None, Some(m)) => html! {
            <p class="muted">
                {format!("{} family · {} · context {} · {} · ", m.family, m.quant, m.context_length, m.license)}
                if let Some((href, name)) = m.homepage() {
                    <a href={href} target="_blank" rel="noopener noreferrer">{name}</a>
                }
                if is_cached(&selected_source, &cache) { <span class="badge ok">{"cached"}</span> }
                if m.sha256.is_some() { <span class="badge">{"sha256 pinned"}</span> }
            </p>
        },
        (None, None) => html! { <p class="muted">{"Custom URL: "}<code>{settings.model.clone()}</code></p> },
    };

    let progress = if matches!(p.status, PaneStatus::Downloading | PaneStatus::Loading) {
        let pr = &p.progress;
        let phase = match pr.phase {
            Some(arbitre_protocol::LoadPhase::Downloading) => "Downloading",
            Some(arbitre_protocol::LoadPhase::ReadingCache) => "Reading from browser cache",
            Some(arbitre_protocol::LoadPhase::ReadingFile) => "Reading local file",
            Some(arbitre_protocol::LoadPhase::Verifying) => "Verifying sha256",
            Some(arbitre_protocol::LoadPhase::Loading) => "Preparing weights",
            None => "Starting",
        };
        let pct = pr.fraction().map(|f| f * 100.0);
        let mut detail = format::bytes(pr.loaded);
        if let Some(t) = pr.total {
            detail = format!("{detail} of {}", format::bytes(t));
        }
        if let Some(pc) = pct {
            detail = format!("{detail} · {pc:.0}%");
        }
        if let Some(s) = pr.meter.speed() {
            detail = format!("{detail} · {}/s", format::bytes(s as u64));
        }
        if let Some(eta) = pr.total.and_then(|t| pr.meter.eta_ms(pr.loaded, t)) {
            detail = format!("{detail} · {} left", format::duration_ms(eta));
        }
        html! {
            <div class="progress" data-testid="load-progress">
                <div class="progress-label"><span>{phase}</span><span class="num">{detail}</span></div>
                <div class={classes!("bar", pct.is_none().then_some("indeterminate"))}>
                    <div class="fill" style={format!("width:{}%", pct.unwrap_or(100.0))}></div>
                </div>
            </div>
        }
    } else {
        html! {}
    };

    let live_tokens = if p.status == PaneStatus::Running { p.tokens_seen } else { 0 };
    // The worker's wasm memory once the model loaded: its peak, since wasm memory never shrinks.
    let wasm_memory = p.model.as_ref().map_or(0, |m| m.wasm_memory_bytes);
    let stats_json = p.stats.as_ref().and_then(|s| serde_json::to_string(s).ok()).unwrap_or_default();
    let stat = |label: &str, value: String| {
        html! { <div class="stat"><span class="stat-label">{label.to_string()}</span><span class="stat-value num">{value}</span></div> }
    };
    let backend_line = match &p.backend {
        Some(b) => html! {
            <p class="backend" data-testid="local-backend">
                <span class="badge">{b.name.clone()}</span>
                if let Some(r) = &b.reason { <span class="muted small">{r.clone()}</span> }
            </p>
        },
        None => html! {},
    };
    let model_line = match &p.model {
        Some(m) => format!(
            "{} · {} · {} · {} · ctx {} · template {}{}{}",
            m.label,
            m.architecture,
            m.quant,
            format::bytes(m.size_bytes),
            m.n_ctx,
            m.chat_template,
            if m.from_cache { " · from browser cache" } else { "" },
            if m.streamed { " · streamed into GPU buffers" } else { "" }
        ),
        None => "No model loaded yet".to_string(),
    };

    let cache_rows = cache
        .entries
        .iter()
        .map(|e| {
            let url = e.url.clone();
            let del = delete_cached.clone();
            let name = url.rsplit('/').next().unwrap_or(&url).to_string();
            html! {
                <li>
                    <span class="cache-name" title={url.clone()}>{name}</span>
                    <span class="num muted">{format::bytes(e.size_bytes)}</span>
                    <button class="link" onclick={Callback::from(move |_| del.emit(url.clone()))}>{"Delete"}</button>
                </li>
            }
        })
        .collect::<Html>();
    let quota_line = match (cache.usage, cache.quota) {
        (Some(u), Some(q)) if q > 0 => {
            html! {
                <div class="quota">
                    <div class="bar"><div class="fill" style={format!("width:{:.1}%", (u as f64 / q as f64 * 100.0).min(100.0))}></div></div>
                    <span class="muted small">{format!("{} used of {} this site may store", format::bytes(u), format::bytes(q))}</span>
                </div>
            }
        }
        _ => html! {},
    };

    let local_result = match (&p.stats, p.status) {
        (Some(stats), PaneStatus::Done) => Some(LocalResult {
            label: p
                .model
                .as_ref()
                .map(|m| format!("{} ({})", m.label, m.quant))
                .unwrap_or_else(|| "local model".into()),
            text: p.output.clone(),
            stats: stats.clone(),
        }),
        _ => None,
    };
    let local_windows = rt.borrow().local_windows.clone();

    // The conversation: the local model's tokens so far (its last finished turn's prompt and
    // answer) against its context, checked before each message.
    let n_ctx = p.model.as_ref().map_or(0, |m| m.n_ctx);
    let used = chat
        .chat
        .local
        .turns
        .iter()
        .rev()
        .find_map(|t| serde_json::from_str::<arbitre_protocol::RunStats>(&t.stats_json).ok())
        .map_or(0, |s| s.prompt_tokens + s.generated_tokens);
    // Test hook: `chat_cache=0` in the page's first URL prefills every turn from scratch.
    let reuse_cache = !pairs.iter().any(|(k, v)| k == "chat_cache" && v == "0");
    let on_send = {
        let (chat, rt, settings, pane, warning) =
            (chat.clone(), rt.clone(), settings.clone(), pane.dispatcher(), chat_warning.clone());
        let page_query = page_query.clone();
        Callback::from(move |text: String| {
            let s = settings.current();
            if let Some(w) = context_warning(used, &text, s.max_tokens, n_ctx) {
                warning.set(Some(w));
                return;
            }
            warning.set(None);
            if chat.chat.local.turns.is_empty() {
                // The link reproduces the conversation's first message.
                let mut q = (*page_query).clone();
                q.message = Some(text.clone());
                page_query.set(q);
            }
            let mut next = chat.chat.clone();
            next.send(&text, &s.system);
            let turns = next.local.request();
            let system = next.system.clone();
            chat.dispatch(ChatAction::Send(text, s.system.clone()));
            let prompt = Prompt::Conversation { system, turns, reuse_cache };
            let id = start_generation(&rt, &s, &pane, Some(prompt));
            let mut r = rt.borrow_mut();
            r.chat_run = Some(id);
        })
    };
    let on_chat_new = {
        let (chat, warning, page_query) = (chat.dispatcher(), chat_warning.clone(), page_query.clone());
        Callback::from(move |_| {
            warning.set(None);
            let mut q = (*page_query).clone();
            q.message = None;
            page_query.set(q);
            chat.dispatch(ChatAction::New);
        })
    };
    let on_drop_oldest = {
        let (chat, warning) = (chat.dispatcher(), chat_warning.clone());
        Callback::from(move |_| {
            warning.set(None);
            chat.dispatch(ChatAction::DropOldest);
        })
    };
    let chat_blocked = match p.status {
        PaneStatus::Downloading | PaneStatus::Loading => Some("The local model is loading…".to_string()),
        PaneStatus::Running if rt.borrow().chat_run.is_none() => Some("A local run is going on.".to_string()),
        _ if !rt.borrow().ready || rt.borrow().probing => Some("Starting the inference worker…".to_string()),
        _ => None,
    };
    let initial_message = PageQuery::from_pairs(&pairs).message.unwrap_or_default();
    let chat_send = ChatSend {
        sent: chat.chat.sent,
        system: chat.chat.system.clone(),
        threads: chat.chat.apis.iter().map(Thread::request).collect(),
    };
    let on_conversation = chat.dispatcher().to_callback();
    let s = &*settings;
    html! {
        <div class="app">
            <header class="top">
                <div class="brand">
                    <span class="logo">{"arbitre"}</span>
                    <span class="tagline">{"An open model running in this tab, beside the hosted APIs — and what each costs."}</span>
                </div>
                <button class="ghost" onclick={on_theme} aria-label="Toggle dark mode">{ if *dark { "☀ Light" } else { "☾ Dark" } }</button>
            </header>
            <WorkbenchProvider>
            <main class="grid">
                <section class="wide">
                    <ChatColumns chat={chat.chat.clone()} api_names={chat.api_names.clone()} local_name={p.model.as_ref().map(|m| m.label.clone()).unwrap_or_else(|| s.model.clone())}
                        system={chat.chat.system.clone().unwrap_or_default()} initial={initial_message} on_vote={chat.dispatcher().to_callback().reform(|(q, v)| ChatAction::Vote(q, v))} blocked={chat_blocked} warning={(*chat_warning).clone()} on_send={on_send} on_new={on_chat_new} on_drop_oldest={on_drop_oldest} />
                </section>
                <section class="card model-card" ondrop={on_drop} ondragover={on_dragover}>
                    <h2>{"Model"}</h2>
                    <label class="field">
                        <span>{"From the catalog"}</span>
                        <select data-testid="model-select" onchange={on_model}>
                            {model_options}
                            if !in_catalog { <option value="__url" selected=true>{"Custom URL"}</option> }
                        </select>
                    </label>
                    {model_detail}
                    <label class="field">
                        <span>{"Or any GGUF by URL"}</span>
                        <DraftField kind="url" testid="model-url" placeholder="https://huggingface.co/…/resolve/main/model.gguf"
                            value={if in_catalog { String::new() } else { s.model.clone() }} oncommit={on_url} />
                    </label>
                    <label class="field drop">
                        <span>{"Or a file on this device (pick or drop it here; it never leaves the browser)"}</span>
                        <input type="file" accept=".gguf" onchange={on_file} data-testid="model-file" />
                    </label>
                    <div class="row">
                        <label class="field inline">
                            <span>{"Backend"}</span>
                            <select onchange={on_backend} data-testid="backend-select">
                                { for [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu].iter().map(|b| html!{
                                    <option value={b.as_str()} selected={*b == s.backend}>{match b { BackendChoice::Auto => "Auto (WebGPU, else CPU)", BackendChoice::Webgpu => "WebGPU", BackendChoice::Cpu => "CPU (WASM SIMD)" }}</option>
                                }) }
                            </select>
                        </label>
                        <button onclick={on_load} disabled={busy}>{"Load"}</button>
                    </div>
                    {progress}
                    <details class="cache">
                        <summary>{format!("Stored in this browser ({})", cache.entries.len())}</summary>
                        <ul class="cache-list">{cache_rows}</ul>
                        {quota_line}
                    </details>
                </section>

                <section class="card prompt-card">
                    <h2>{"Prompt"}</h2>
                    <textarea data-testid="prompt" rows="5" placeholder="Once upon a time… (empty: the model starts from its first token)"
                        value={s.prompt.clone()} oninput={on_prompt} />
                    <div class="row wrap">
                        <label class="check"><input type="checkbox" checked={s.chat} onchange={on_chat} />{" Chat (use the model's template)"}</label>
                        if s.chat {
                            <DraftField class="grow" testid="system" placeholder="System message (optional)" value={s.system.clone()}
                                oncommit={update(|s, v| { s.system = v.to_string(); true })} />
                        }
                    </div>
                    <details class="settings">
                        <summary>{"Sampling"}</summary>
                        <div class="settings-grid">
                            <label class="field"><span>{"Temperature"}</span><DraftField kind="number" testid="temperature" min="0" max="2" step="0.05" value={s.sampling.temperature.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.temperature, v))} /></label>
                            <label class="field"><span>{"Top-k"}</span><DraftField kind="number" testid="top-k" min="0" step="1" value={s.sampling.top_k.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.top_k, v))} /></label>
                            <label class="field"><span>{"Top-p"}</span><DraftField kind="number" testid="top-p" min="0" max="1" step="0.01" value={s.sampling.top_p.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.top_p, v))} /></label>
                            <label class="field"><span>{"Min-p"}</span><DraftField kind="number" testid="min-p" min="0" max="1" step="0.01" value={s.sampling.min_p.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.min_p, v))} /></label>
                            <label class="field"><span>{"Repeat penalty"}</span><DraftField kind="number" testid="repeat-penalty" min="0.5" max="2" step="0.05" value={s.sampling.repeat_penalty.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.repeat_penalty, v))} /></label>
                            <label class="field"><span>{"Seed"}</span><DraftField kind="number" testid="seed" min="0" step="1" value={s.sampling.seed.to_string()} oncommit={update(|s, v| parse_into(&mut s.sampling.seed, v))} /></label>
                            <label class="field"><span>{"Max tokens"}</span><DraftField kind="number" testid="max-tokens" min="1" step="1" value={s.max_tokens.to_string()} oncommit={update(|s, v| {
                                let taken = parse_into(&mut s.max_tokens, v);
                                s.max_tokens = s.max_tokens.clamp(1, crate::settings::MAX_TOKENS_LIMIT);
                                taken
                            })} /></label>
                            <label class="field"><span>{"Stop strings (comma-separated)"}</span><DraftField testid="stop-strings" value={s.stop.join(",")} oncommit={update(|s, v| { s.stop = v.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect(); true })} /></label>
                        </div>
                    </details>
                    <div class="row">
                        <button class="primary" data-testid="run" onclick={on_run} disabled={busy}>{"Run locally"}</button>
                        <button data-testid="stop" onclick={on_stop} disabled={!busy}>{"Stop"}</button>
                        <span class="muted small">{"The link in the address bar reproduces this run."}</span>
                    </div>
                </section>

                <section class="card pane" data-testid="local-pane" data-state={p.status.as_str()}>
                    <div class="pane-head">
                        <h2>{"In this browser"}</h2>
                        <span class={classes!("state", p.status.as_str())}>{p.status.as_str()}</span>
                    </div>
                    <p class="muted small" data-testid="local-model">{model_line}</p>
                    {backend_line}
                    <pre class="output" data-testid="local-output" aria-live="polite">{p.output.clone()}</pre>
                    if let Some(err) = &p.error {
                        <p class="error" role="alert" data-testid="local-error">{err.clone()}</p>
                    }
                    <div class="stats" data-testid="local-stats" data-json={stats_json} data-wasm-memory={wasm_memory.to_string()}>
                        {stat("TTFT", p.stats.as_ref().map(|s| format::duration_ms(s.ttft_ms)).unwrap_or_else(|| "—".into()))}
                        {stat("Prefill tok/s", p.stats.as_ref().map(|s| format::rate(s.prefill_tps)).unwrap_or_else(|| "—".into()))}
                        {stat("Decode tok/s", p.stats.as_ref().map(|s| s.decode_tps).or(p.live_decode_tps()).map(format::rate).unwrap_or_else(|| "—".into()))}
                        {stat("Prompt tokens", if p.prompt_tokens > 0 { p.prompt_tokens.to_string() } else { p.stats.as_ref().map(|s| s.prompt_tokens.to_string()).unwrap_or_else(|| "—".into()) })}
                        {stat("Generated", p.stats.as_ref().map(|s| s.generated_tokens.to_string()).unwrap_or_else(|| if live_tokens > 0 { live_tokens.to_string() } else { "—".into() }))}
                        {stat("Stopped by", p.stop_reason.clone().unwrap_or_else(|| "—".into()))}
                        {stat("Wasm memory", if wasm_memory > 0 { format::bytes(wasm_memory) } else { "—".into() })}
                    </div>
                </section>
                <section class="wide">
                    <ComparePanel prompt={s.prompt.clone()} system={Some(s.system.clone()).filter(|x| !x.is_empty())}
                        chat={s.chat} sampling={s.sampling.clone()} max_tokens={s.max_tokens} stop={s.stop.clone()}
                        run_token={*run_token} local={local_result.clone()} on_net={on_net.clone()}
                        apis={page_query.apis.clone()} on_apis={on_apis} conversation={chat_send} on_conversation={on_conversation} />
                </section>
                <section class="wide">
                    <CostPanel local={local_result} voted={crate::chat::votes::verdict(&chat.chat.votes).map(|v| (v, crate::chat::votes::tally(&chat.chat.votes)))} volume={page_query.volume} horizon={page_query.horizon}
                        on_projection={on_projection} on_net={on_net} />
                </section>
                <section class="wide">
                    <PrivacyLog entries={net.0.clone()} local_windows={local_windows} />
                </section>
            </main>
            </WorkbenchProvider>
            <footer class="muted small">
                {"The local model runs in this tab and sends nothing; an API pane sends your prompt only to the provider you set it up for. The network log lists every request."}
            </footer>
        </div>
    }
}
