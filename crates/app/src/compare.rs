//! The comparison and cost views of the page (wasm32 only): hosted-API panes beside the local
//! pane, the comparison table and quick diff, the price table, projections and decision grid,
//! and the privacy log. All arithmetic and geometry comes from [`crate::costs`] and
//! `arbitre_pricing`; model and API text is only ever rendered as text nodes.
//!
//! Mount [`WorkbenchProvider`] around the panels so that they share the price table, the
//! currency and the API runs; without it each panel keeps its own.
//!
//! Test hooks (`data-testid`), with `N` the 0-based API pane index:
//! - `compare-panel`; `api-pane-N` (attribute `data-state`: idle/running/done/error),
//!   `api-provider-N` (select), `api-base-N`, `api-model-N`, `api-key-N` (password),
//!   `api-remember-N` (checkbox), `api-output-N` (`<pre>`), `api-error-N`, `api-note-N`,
//!   `api-stats-N` (with `data-cost-picos`, `data-input-tokens`, `data-output-tokens`,
//!   `data-estimated` once finished), `api-remove-N`;
//!   `api-add`, `api-run`, `api-stop`;
//!   `compare-table` (rows `compare-row-local`, `compare-row-N`);
//!   `quick-diff`, `diff-a`, `diff-b` (selects), `diff-stats`, `diff-text`.
//! - `cost-panel`; `currency` (select USD/EUR), `eur-usd-rate`; `price-search`,
//!   `price-table` (rows `price-row` with `data-key="provider/model"`), `price-pick`
//!   (checkbox per row), `price-input`, `price-output` (inputs per row); `price-add-provider`,
//!   `price-add-model`, `price-add-input`, `price-add-output`, `price-add`; `price-import-url`,
//!   `price-import-fetch`, `price-import-file`, `price-import-status`, `price-as-of`;
//!   `volume-slider`, `volume`, `tokens-in`, `tokens-out`, `horizon`, `price-change`,
//!   `compounding`, `growth`; `energy-on`, `energy-watts`, `energy-kwh`; `server-on`,
//!   `server-mode`, `server-hourly`, `server-price`, `server-amortisation`, `server-watts`,
//!   `server-kwh`, `server-utilisation`, `server-throughput`, `server-ops`;
//!   `cost-chart` (SVG), `chart-legend`, `break-even` (list), `break-even-volume`,
//!   `cost-table` (rows `cost-row-I` with `data-total-micros`), `projection-problems`;
//!   `decision-criticality`, `decision-volume`, `decision-sensitivity`,
//!   `decision-complexity`, `decision-quality`, `decision` (with `data-recommendation`),
//!   `decision-reasons`.
//! - `privacy-log` (table), `privacy-row`, `privacy-headline`.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_hosted::transport::{self, Abort};
use arbitre_hosted::{HostedError, ProviderId, RequestSpec, RunSummary, StreamEvent, build_request, presets};
use arbitre_pricing::decision::volume_level;
use arbitre_pricing::{
    Complexity, Compounding, Currency, DecisionInput, DeviceEnergy, ExchangeRate, ImportSource, Level, Money,
    PriceChange, PriceEntry, PricePerMTok, PriceTable, QualityVerdict, Recommendation, SelfHosted, ServerCost,
    Settings, Usage, Workload, decide, self_hosting_break_even_volume,
};
use arbitre_protocol::NetEntry;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::costs::{
    self, ApiChoice, COMPARE_COLUMNS, Chart, ChartFrame, DiffKind, LocalResult, MAX_API_PANES, Metrics,
    ProjectionInputs, SLIDER_STEPS, api_metrics, billed_usage, build_chart, default_projection_apis, hosted_prompt,
    hosted_sampling, key_storage_name, local_metrics, price_for, privacy_headline, privacy_summary, quick_diff,
    slider_from_volume, tokens_per_request, totals, url_host, volume_from_slider,
};
use crate::field::{DraftField, commit_to, parse_into};
use crate::format;
use crate::latest::Latest;

// =============================================================================================
// Shared state

/// One finished API run, as the projection uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRun {
    /// Pane index.
    pub pane: usize,
    /// Provider preset.
    pub provider: ProviderId,
    /// Model name.
    pub model: String,
    /// Billed usage.
    pub usage: Usage,
    /// Whether a count was estimated.
    pub estimated: bool,
}

/// What the comparison and cost panels share: the (editable) price table, the display
/// currency and rate, and the latest API runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Workbench {
    /// The price table, builtin plus the visitor's edits and imports.
    pub table: Rc<PriceTable>,
    /// Currency amounts are shown in.
    pub currency: Currency,
    /// EUR/USD rate.
    pub rate: ExchangeRate,
    /// Latest finished run of each API pane.
    pub api_runs: Vec<ApiRun>,
}

impl Default for Workbench {
    fn default() -> Self {
        Self {
            table: Rc::new(PriceTable::builtin().unwrap_or_default()),
            currency: Currency::Usd,
            rate: ExchangeRate::DEFAULT,
            api_runs: Vec::new(),
        }
    }
}

/// Changes to the [`Workbench`].
#[derive(Debug, Clone)]
pub enum WorkbenchAction {
    /// Sets the input or output price of an entry.
    EditPrice {
        /// Provider of the entry.
        provider: String,
        /// Model of the entry.
        model: String,
        /// True for the output price, false for the input price.
        output: bool,
        /// The new price.
        price: PricePerMTok,
    },
    /// Adds or replaces an entry.
    Upsert(Box<PriceEntry>),
    /// Merges an imported table.
    Merge(Box<PriceTable>),
    /// Goes back to the shipped table.
    ResetTable,
    /// Changes the display currency.
    Currency(Currency),
    /// Changes the EUR/USD rate.
    Rate(ExchangeRate),
    /// Records a finished API run (replacing the pane's previous one).
    ApiRun(ApiRun),
}

impl Reducible for Workbench {
    type Action = WorkbenchAction;

    fn reduce(self: Rc<Self>, action: WorkbenchAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            WorkbenchAction::EditPrice { provider, model, output, price } => {
                let mut table = (*next.table).clone();
                if let Some(e) = table.find_mut(&provider, &model) {
                    if output {
                        e.output = price;
                    } else {
                        e.input = price;
                    }
                    e.source = if e.source.ends_with("(edited)") {
                        e.source.clone()
                    } else {
                        format!("{} (edited)", e.source)
                    };
                }
                next.table = Rc::new(table);
            }
            WorkbenchAction::Upsert(entry) => {
                let mut table = (*next.table).clone();
                table.upsert(*entry);
                next.table = Rc::new(table);
            }
            WorkbenchAction::Merge(other) => {
                let mut table = (*next.table).clone();
                table.merge(*other);
                next.table = Rc::new(table);
            }
            WorkbenchAction::ResetTable => next.table = Rc::new(PriceTable::builtin().unwrap_or_default()),
            WorkbenchAction::Currency(c) => next.currency = c,
            WorkbenchAction::Rate(r) => next.rate = r,
            WorkbenchAction::ApiRun(run) => {
                next.api_runs.retain(|r| r.pane != run.pane);
                next.api_runs.push(run);
                next.api_runs.sort_by_key(|r| r.pane);
            }
        }
        Rc::new(next)
    }
}

/// The context handle the panels read the [`Workbench`] through.
pub type WorkbenchContext = UseReducerHandle<Workbench>;

/// Props of [`WorkbenchProvider`].
#[derive(Properties, PartialEq)]
pub struct WorkbenchProps {
    /// The panels (and anything else) that share the workbench.
    #[prop_or_default]
    pub children: Html,
}

/// Shares one [`Workbench`] (price table, currency, API runs) with the panels inside it.
#[component]
pub fn WorkbenchProvider(props: &WorkbenchProps) -> Html {
    let state = use_reducer(Workbench::default);
    html! {
        <ContextProvider<WorkbenchContext> context={state}>{props.children.clone()}</ContextProvider<WorkbenchContext>>
    }
}

#[hook]
fn use_workbench() -> WorkbenchContext {
    let own = use_reducer(Workbench::default);
    use_context::<WorkbenchContext>().unwrap_or(own)
}

// =============================================================================================
// Small browser helpers

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn stored_key(p: ProviderId) -> Option<String> {
    storage()?.get_item(&key_storage_name(p)).ok()?
}

fn store_key(p: ProviderId, key: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(&key_storage_name(p), key);
    }
}

fn forget_key(p: ProviderId) {
    if let Some(s) = storage() {
        let _ = s.remove_item(&key_storage_name(p));
    }
}

fn today() -> String {
    let iso: String = js_sys::Date::new_0().to_iso_string().into();
    iso.chars().take(10).collect()
}

/// An `oninput` callback that forwards to a handler written for `change` events. Text fields
/// whose state is a plain string update it on every keystroke: Yew resets a field to its
/// state whenever the component re-renders (it compares with the DOM's value), so a field
/// that updated only on `change` lost what was typed if anything re-rendered the page in
/// between, such as a streaming run or a network-log entry.
fn on_each_input(cb: &Callback<Event>) -> Callback<InputEvent> {
    let cb = cb.clone();
    Callback::from(move |e: InputEvent| cb.emit(e.into()))
}

fn input_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlInputElement>().value()
}

fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

fn checked(e: &Event) -> bool {
    e.target_unchecked_into::<HtmlInputElement>().checked()
}

fn status_of(e: &HostedError) -> u16 {
    match e {
        HostedError::BadKey { status, .. }
        | HostedError::Server { status, .. }
        | HostedError::BadRequest { status, .. } => *status,
        HostedError::UnknownModel { .. } => 404,
        HostedError::RateLimited { .. } => 429,
        _ => 0,
    }
}

// =============================================================================================
// Compare panel

/// Props of [`ComparePanel`].
#[derive(Properties, PartialEq)]
pub struct CompareProps {
    /// The prompt (the user's message in chat mode, the text to continue otherwise).
    pub prompt: String,
    /// System message (chat mode).
    #[prop_or_default]
    pub system: Option<String>,
    /// Chat mode (`/chat/completions`, Messages) or completion mode (`/completions`).
    pub chat: bool,
    /// The local pane's sampling settings, used for the APIs too.
    pub sampling: arbitre_protocol::Sampling,
    /// Token budget.
    pub max_tokens: usize,
    /// Stop strings.
    #[prop_or_default]
    pub stop: Vec<String>,
    /// When it changes to a new non-zero value, every configured API pane starts.
    pub run_token: u64,
    /// The last local run, for the comparison table and diff.
    #[prop_or_default]
    pub local: Option<LocalResult>,
    /// Receives one entry per API request, for the privacy log.
    #[prop_or_default]
    pub on_net: Callback<NetEntry>,
    /// The panes to start with (from the URL); one OpenAI pane when empty.
    #[prop_or_default]
    pub apis: Vec<ApiChoice>,
    /// Told the panes' provider/base/model whenever they change (to write the URL; never
    /// carries keys).
    #[prop_or_default]
    pub on_apis: Callback<Vec<ApiChoice>>,
}

#[derive(Clone, PartialEq)]
struct PaneConfig {
    choice: ApiChoice,
    key: String,
    remember: bool,
}

impl PaneConfig {
    fn new(choice: ApiChoice) -> Self {
        let stored = stored_key(choice.provider);
        Self { remember: stored.is_some(), key: stored.unwrap_or_default(), choice }
    }

    /// Why this pane cannot start, if it cannot.
    fn not_ready(&self) -> Option<&'static str> {
        let preset = self.choice.provider.preset();
        if self.choice.model.trim().is_empty() {
            Some("Not started: name a model.")
        } else if preset.base_url.is_empty() && self.choice.base_url.trim().is_empty() {
            Some("Not started: give the server's base URL.")
        } else if preset.key_required && self.key.trim().is_empty() {
            Some("Not started: add an API key.")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum RunStatus {
    #[default]
    Idle,
    Running,
    Done,
    Error,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Running => "running",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
struct PaneRun {
    status: RunStatus,
    generation: u64,
    provider: Option<ProviderId>,
    model: String,
    text: String,
    first_token_ms: Option<f64>,
    error: Option<String>,
    note: Option<String>,
    summary: Option<RunSummary>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Runs(Vec<PaneRun>);

enum RunAction {
    Start { pane: usize, generation: u64, provider: ProviderId, model: String },
    Delta { pane: usize, generation: u64, text: String, first_token_ms: Option<f64> },
    Finish { pane: usize, generation: u64, summary: Box<RunSummary>, note: Option<String> },
    Fail { pane: usize, generation: u64, error: String, partial: Option<Box<RunSummary>> },
    Skip { pane: usize, note: String },
    Remove(usize),
}

impl Reducible for Runs {
    type Action = RunAction;

    fn reduce(self: Rc<Self>, action: RunAction) -> Rc<Self> {
        let mut next = (*self).clone();
        let pane_of = |a: &RunAction| match a {
            RunAction::Start { pane, .. }
            | RunAction::Delta { pane, .. }
            | RunAction::Finish { pane, .. }
            | RunAction::Fail { pane, .. }
            | RunAction::Skip { pane, .. } => *pane,
            RunAction::Remove(pane) => *pane,
        };
        let idx = pane_of(&action);
        if next.0.len() <= idx {
            next.0.resize(idx + 1, PaneRun::default());
        }
        let slot = &mut next.0[idx];
        match action {
            RunAction::Start { generation, provider, model, .. } => {
                *slot = PaneRun {
                    status: RunStatus::Running,
                    generation,
                    provider: Some(provider),
                    model,
                    ..PaneRun::default()
                };
            }
            RunAction::Delta { generation, text, first_token_ms, .. } if slot.generation == generation => {
                slot.text.push_str(&text);
                if slot.first_token_ms.is_none() {
                    slot.first_token_ms = first_token_ms;
                }
            }
            RunAction::Finish { generation, summary, note, .. } if slot.generation == generation => {
                slot.status = RunStatus::Done;
                slot.text = summary.text.clone();
                slot.first_token_ms = summary.first_token_ms;
                slot.summary = Some(*summary);
                slot.note = note;
            }
            RunAction::Fail { generation, error, partial, .. } if slot.generation == generation => {
                slot.status = RunStatus::Error;
                slot.error = Some(error);
                if let Some(p) = partial {
                    slot.text = p.text.clone();
                    slot.summary = Some(*p);
                }
            }
            RunAction::Skip { note, .. } => {
                *slot = PaneRun { generation: slot.generation, note: Some(note), ..PaneRun::default() };
            }
            RunAction::Remove(pane) => {
                next.0.remove(pane);
            }
            _ => {}
        }
        Rc::new(next)
    }
}

struct StartContext {
    configs: Vec<PaneConfig>,
    prompt: arbitre_hosted::Prompt,
    sampling: arbitre_hosted::Sampling,
    runs: UseReducerDispatcher<Runs>,
    workbench: UseReducerDispatcher<Workbench>,
    on_net: Callback<NetEntry>,
    aborts: Rc<RefCell<Vec<Abort>>>,
    generation: Rc<RefCell<u64>>,
}

fn start_all(cx: StartContext) {
    for abort in cx.aborts.borrow_mut().drain(..) {
        abort.abort();
    }
    for (pane, cfg) in cx.configs.iter().enumerate() {
        if let Some(reason) = cfg.not_ready() {
            cx.runs.dispatch(RunAction::Skip { pane, note: reason.to_string() });
            continue;
        }
        let generation = {
            let mut g = cx.generation.borrow_mut();
            *g += 1;
            *g
        };
        let provider = cfg.choice.provider;
        let model = cfg.choice.model.trim().to_string();
        cx.runs.dispatch(RunAction::Start { pane, generation, provider, model: model.clone() });
        let preset = provider.preset();
        let typed_base = cfg.choice.base_url.trim();
        let spec = RequestSpec {
            provider,
            base_url: (preset.base_url_editable && !typed_base.is_empty()).then(|| typed_base.to_string()),
            model: model.clone(),
            api_key: Some(cfg.key.trim().to_string()).filter(|k| !k.is_empty()),
            prompt: cx.prompt.clone(),
            sampling: cx.sampling.clone(),
        };
        let prepared = match build_request(&spec) {
            Ok(p) => p,
            Err(e) => {
                cx.runs.dispatch(RunAction::Fail { pane, generation, error: e.to_string(), partial: None });
                continue;
            }
        };
        let abort = match Abort::new() {
            Ok(a) => a,
            Err(e) => {
                cx.runs.dispatch(RunAction::Fail { pane, generation, error: e.to_string(), partial: None });
                continue;
            }
        };
        cx.aborts.borrow_mut().push(abort.clone());
        let (runs, workbench, on_net) = (cx.runs.clone(), cx.workbench.clone(), cx.on_net.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let started = transport::now_ms();
            let runs2 = runs.clone();
            let result = transport::stream(&prepared, &abort, move |event, so_far| {
                if let StreamEvent::TextDelta { text } = event {
                    runs2.dispatch(RunAction::Delta {
                        pane,
                        generation,
                        text: text.clone(),
                        first_token_ms: so_far.first_token_ms,
                    });
                }
            })
            .await;
            let net = |status: u16, s: &RunSummary| NetEntry {
                time_ms: started,
                origin: "page".to_string(),
                method: prepared.http.method.to_string(),
                url: prepared.http.url.clone(),
                status,
                bytes_up: s.bytes_sent,
                bytes_down: s.bytes_received,
                purpose: format!("API call to {}", provider.preset().name),
            };
            match result {
                Ok(summary) => {
                    on_net.emit(net(200, &summary));
                    let (usage, estimated) = billed_usage(&summary);
                    workbench.dispatch(WorkbenchAction::ApiRun(ApiRun {
                        pane,
                        provider,
                        model: model.clone(),
                        usage,
                        estimated,
                    }));
                    runs.dispatch(RunAction::Finish { pane, generation, summary: Box::new(summary), note: None });
                }
                Err(failed) if failed.error.is_abort() => {
                    on_net.emit(net(0, &failed.partial));
                    runs.dispatch(RunAction::Finish {
                        pane,
                        generation,
                        summary: Box::new(failed.partial),
                        note: Some("Stopped.".to_string()),
                    });
                }
                Err(failed) => {
                    on_net.emit(net(status_of(&failed.error), &failed.partial));
                    runs.dispatch(RunAction::Fail {
                        pane,
                        generation,
                        error: failed.error.to_string(),
                        partial: Some(Box::new(failed.partial)),
                    });
                }
            }
        });
    }
}

fn stat(label: &str, value: String) -> Html {
    html! {
        <div class="stat"><span class="stat-label">{label.to_string()}</span><span class="stat-value num">{value}</span></div>
    }
}

/// One to three hosted-API panes on the same prompt as the local pane, started together, then
/// the comparison table and a quick diff of the answers.
#[component]
pub fn ComparePanel(props: &CompareProps) -> Html {
    let workbench = use_workbench();
    let configs = {
        let apis = props.apis.clone();
        use_state(move || {
            let choices = if apis.is_empty() { vec![ApiChoice::new(ProviderId::OpenAi)] } else { apis };
            choices.into_iter().take(MAX_API_PANES).map(PaneConfig::new).collect::<Vec<_>>()
        })
    };
    let runs = use_reducer(Runs::default);
    let aborts = use_mut_ref(Vec::<Abort>::new);
    let generation = use_mut_ref(|| 0u64);
    let last_token = use_mut_ref(|| 0u64);
    let diff_pick = use_state(|| (0usize, 1usize));

    let make_start = {
        let (configs, runs, wb, aborts, generation) =
            (configs.clone(), runs.dispatcher(), workbench.dispatcher(), aborts.clone(), generation.clone());
        let prompt = hosted_prompt(&props.prompt, props.system.as_deref(), props.chat);
        let sampling = hosted_sampling(&props.sampling, props.max_tokens, &props.stop);
        let on_net = props.on_net.clone();
        move || StartContext {
            configs: (*configs).clone(),
            prompt: prompt.clone(),
            sampling: sampling.clone(),
            runs: runs.clone(),
            workbench: wb.clone(),
            on_net: on_net.clone(),
            aborts: aborts.clone(),
            generation: generation.clone(),
        }
    };
    {
        let cx = make_start();
        let last_token = last_token.clone();
        use_effect_with(props.run_token, move |token| {
            let token = *token;
            let mut last = last_token.borrow_mut();
            if token != 0 && token != *last {
                *last = token;
                drop(last);
                start_all(cx);
            }
        });
    }
    {
        let choices: Vec<ApiChoice> = configs.iter().map(|c| c.choice.clone()).collect();
        let on_apis = props.on_apis.clone();
        use_effect_with(choices, move |choices| on_apis.emit(choices.clone()));
    }
    {
        let aborts = aborts.clone();
        use_effect_with((), move |_| {
            move || {
                for a in aborts.borrow_mut().drain(..) {
                    a.abort();
                }
            }
        });
    }

    let on_run = {
        let make_start = make_start.clone();
        Callback::from(move |_: MouseEvent| start_all(make_start()))
    };
    let on_stop = {
        let aborts = aborts.clone();
        Callback::from(move |_: MouseEvent| {
            for a in aborts.borrow_mut().drain(..) {
                a.abort();
            }
        })
    };
    let on_add = {
        let configs = configs.clone();
        Callback::from(move |_: MouseEvent| {
            if configs.len() < MAX_API_PANES {
                let mut next = (*configs).clone();
                next.push(PaneConfig::new(ApiChoice::new(ProviderId::Anthropic)));
                configs.set(next);
            }
        })
    };
    let update = |pane: usize, f: fn(&mut PaneConfig, &Event)| {
        let configs = configs.clone();
        Callback::from(move |e: Event| {
            let mut next = (*configs).clone();
            if let Some(c) = next.get_mut(pane) {
                f(c, &e);
            }
            configs.set(next);
        })
    };

    let running = runs.0.iter().any(|r| r.status == RunStatus::Running);
    let wb = &*workbench;
    let pane_views = configs
        .iter()
        .enumerate()
        .map(|(n, cfg)| {
            let run = runs.0.get(n).cloned().unwrap_or_default();
            let preset = cfg.choice.provider.preset();
            let provider_options = presets()
                .map(|p| html! { <option value={p.id} selected={p.id == preset.id}>{p.name}</option> })
                .collect::<Html>();
            let on_provider = update(n, |c, e| {
                if let Some(p) = ProviderId::parse(&select_value(e)) {
                    *c = PaneConfig::new(ApiChoice::new(p));
                }
            });
            let on_base = update(n, |c, e| c.choice.base_url = input_value(e).trim().to_string());
            let on_model = update(n, |c, e| c.choice.model = input_value(e).trim().to_string());
            let on_key = update(n, |c, e| {
                c.key = input_value(e).trim().to_string();
                if c.remember {
                    store_key(c.choice.provider, &c.key);
                }
            });
            let on_remember = update(n, |c, e| {
                c.remember = checked(e);
                if c.remember && !c.key.is_empty() {
                    store_key(c.choice.provider, &c.key);
                } else if !c.remember {
                    forget_key(c.choice.provider);
                }
            });
            let on_remove = {
                let (configs, runs) = (configs.clone(), runs.dispatcher());
                Callback::from(move |_: MouseEvent| {
                    let mut next = (*configs).clone();
                    if next.len() > 1 && n < next.len() {
                        next.remove(n);
                        configs.set(next);
                        runs.dispatch(RunAction::Remove(n));
                    }
                })
            };
            let metrics = run
                .summary
                .as_ref()
                .map(|s| api_metrics(run.provider.unwrap_or(cfg.choice.provider), &run.model, s, &wb.table));
            let cells = metrics.as_ref().map(|m| m.cells(wb.currency, wb.rate));
            let cell = |i: usize| cells.as_ref().map(|c| c[i].clone()).unwrap_or_else(|| "—".to_string());
            let ttft = match (&cells, run.first_token_ms) {
                (Some(c), _) => c[1].clone(),
                (None, Some(ms)) => format::duration_ms(ms),
                _ => "—".to_string(),
            };
            let (cost_picos, input_tokens, output_tokens, estimated) = match &metrics {
                Some(m) => (
                    match &m.cost {
                        costs::CostView::Priced { cost, .. } => cost.picos.to_string(),
                        _ => String::new(),
                    },
                    m.input.map(|t| t.count.to_string()).unwrap_or_default(),
                    m.output.map(|t| t.count.to_string()).unwrap_or_default(),
                    m.input.is_some_and(|t| t.estimated) || m.output.is_some_and(|t| t.estimated),
                ),
                None => (String::new(), String::new(), String::new(), false),
            };
            let price_line = match price_for(&wb.table, cfg.choice.provider, &cfg.choice.model) {
                Some(e) => format!(
                    "Priced as {} ({}): {} in / {} out per 1M tokens, as of {}",
                    e.name,
                    e.provider,
                    e.input.per_million(e.currency),
                    e.output.per_million(e.currency),
                    e.as_of
                ),
                None => "No price in the table for this model (add one in the price table below).".to_string(),
            };
            let browser_note = if preset.allows_browser_calls() { None } else { Some(preset.browser_note) };
            html! {
                <section class="card pane api-pane" key={n} data-testid={format!("api-pane-{n}")} data-state={run.status.as_str()}>
                    <div class="pane-head">
                        <h2>{format!("API {} · {}", n + 1, preset.name)}</h2>
                        <span class={classes!("state", run.status.as_str())}>{run.status.as_str()}</span>
                    </div>
                    <fieldset class="api-config" disabled={run.status == RunStatus::Running}>
                        <legend class="sr-only">{format!("API pane {} settings", n + 1)}</legend>
                        <label class="field">
                            <span>{"Provider"}</span>
                            <select data-testid={format!("api-provider-{n}")} onchange={on_provider}>{provider_options}</select>
                        </label>
                        if preset.base_url_editable {
                            <label class="field">
                                <span>{"Base URL"}</span>
                                <input type="url" data-testid={format!("api-base-{n}")} placeholder={preset.base_url}
                                    value={cfg.choice.base_url.clone()} oninput={on_each_input(&on_base)} onchange={on_base} />
                            </label>
                        }
                        <label class="field">
                            <span>{"Model"}</span>
                            <input type="text" data-testid={format!("api-model-{n}")} value={cfg.choice.model.clone()}
                                oninput={on_each_input(&on_model)} onchange={on_model} spellcheck="false" />
                        </label>
                        <label class="field">
                            <span>{ if preset.key_required { "API key" } else { "API key (optional)" } }</span>
                            <input type="password" autocomplete="off" spellcheck="false" data-testid={format!("api-key-{n}")}
                                value={cfg.key.clone()} oninput={on_each_input(&on_key)} onchange={on_key} />
                        </label>
                        <label class="check">
                            <input type="checkbox" data-testid={format!("api-remember-{n}")} checked={cfg.remember} onchange={on_remember} />
                            {" Remember on this device"}
                        </label>
                        <p class="muted small">{"The key stays in this tab and is sent only to "}<code>{url_host(&cfg.choice.effective_base())}</code>{"."}</p>
                        if let Some(note) = browser_note { <p class="muted small">{note}</p> }
                        <p class="muted small" data-testid={format!("api-price-{n}")}>{price_line}</p>
                    </fieldset>
                    <pre class="output" data-testid={format!("api-output-{n}")} aria-live="polite">{run.text.clone()}</pre>
                    if let Some(err) = &run.error {
                        <p class="error" role="alert" data-testid={format!("api-error-{n}")}>{err.clone()}</p>
                    }
                    if let Some(note) = &run.note {
                        <p class="muted small" data-testid={format!("api-note-{n}")}>{note.clone()}</p>
                    }
                    <div class="stats" data-testid={format!("api-stats-{n}")} data-cost-picos={cost_picos}
                        data-input-tokens={input_tokens} data-output-tokens={output_tokens} data-estimated={estimated.to_string()}>
                        {stat("TTFT", ttft)}
                        {stat("Total", cell(2))}
                        {stat("Tok/s", cell(3))}
                        {stat("Input tok", cell(4))}
                        {stat("Output tok", cell(5))}
                        {stat("Cost", cell(6))}
                    </div>
                    if n > 0 {
                        <button class="link" data-testid={format!("api-remove-{n}")} onclick={on_remove} disabled={running}>{"Remove this pane"}</button>
                    }
                </section>
            }
        })
        .collect::<Html>();

    // Comparison table.
    let mut rows: Vec<(String, Metrics)> = Vec::new();
    if let Some(l) = &props.local {
        rows.push(("compare-row-local".to_string(), local_metrics(l)));
    }
    for (n, run) in runs.0.iter().enumerate() {
        if let (Some(s), Some(p)) = (&run.summary, run.provider) {
            rows.push((format!("compare-row-{n}"), api_metrics(p, &run.model, s, &wb.table)));
        }
    }
    let table_rows = rows
        .iter()
        .map(|(id, m)| {
            let cells = m.cells(wb.currency, wb.rate);
            html! {
                <tr data-testid={id.clone()} class={classes!(m.local.then_some("local-row"))}>
                    <th scope="row">{cells[0].clone()}</th>
                    { for cells[1..].iter().map(|c| html! { <td class="num">{c.clone()}</td> }) }
                </tr>
            }
        })
        .collect::<Html>();
    let any_estimate =
        rows.iter().any(|(_, m)| m.input.is_some_and(|t| t.estimated) || m.output.is_some_and(|t| t.estimated));

    // Quick diff.
    let mut answers: Vec<(String, String)> = Vec::new();
    if let Some(l) = &props.local {
        answers.push((format!("Local · {}", l.label), l.text.clone()));
    }
    for (n, run) in runs.0.iter().enumerate() {
        if !run.text.is_empty() {
            answers.push((format!("API {} · {}", n + 1, run.model), run.text.clone()));
        }
    }
    let (pa, pb) = *diff_pick;
    let (pa, pb) = match answers.len() {
        0 | 1 => (0, 1),
        len => {
            let a = pa.min(len - 1);
            let b = if pb < len && pb != a { pb } else { usize::from(a == 0) };
            (a, b)
        }
    };
    let pick = |first: bool| {
        let diff_pick = diff_pick.clone();
        Callback::from(move |e: Event| {
            let v: usize = select_value(&e).parse().unwrap_or(0);
            let (a, b) = *diff_pick;
            diff_pick.set(if first { (v, b) } else { (a, v) });
        })
    };
    let diff_view = if answers.len() < 2 {
        html! { <p class="muted small">{"The quick diff appears once two answers (local or API) are there."}</p> }
    } else if running {
        html! { <p class="muted small">{"The quick diff appears when the runs finish."}</p> }
    } else {
        let d = quick_diff(&answers[pa].1, &answers[pb].1);
        let options = |sel: usize| {
            answers
                .iter()
                .enumerate()
                .map(|(i, (label, _))| html! { <option value={i.to_string()} selected={i == sel}>{label.clone()}</option> })
                .collect::<Html>()
        };
        let pieces = d
            .pieces
            .iter()
            .map(|p| match p.kind {
                DiffKind::Same => html! { <span class="diff-same">{format!("{} ", p.text)}</span> },
                DiffKind::Removed => html! { <><del class="diff-del">{p.text.clone()}</del>{" "}</> },
                DiffKind::Added => html! { <><ins class="diff-ins">{p.text.clone()}</ins>{" "}</> },
            })
            .collect::<Html>();
        html! {
            <>
                <div class="row wrap">
                    <label class="field inline"><span>{"Answer A"}</span><select data-testid="diff-a" onchange={pick(true)}>{options(pa)}</select></label>
                    <label class="field inline"><span>{"Answer B"}</span><select data-testid="diff-b" onchange={pick(false)}>{options(pb)}</select></label>
                </div>
                <p class="small" data-testid="diff-stats" data-jaccard={format!("{:.4}", d.jaccard)} data-length-ratio={format!("{:.4}", d.length_ratio)}>
                    {format!(
                        "Word overlap (Jaccard): {:.0}% · length ratio {:.2} · A {} words / {} chars · B {} words / {} chars{}",
                        d.jaccard * 100.0, d.length_ratio, d.words_a, d.chars_a, d.words_b, d.chars_b,
                        if d.truncated { " · long answers: only their first words are diffed" } else { "" }
                    )}
                </p>
                <p class="diff-text" data-testid="diff-text"><span class="sr-only">{"Removed from A are struck through; added in B are underlined."}</span>{pieces}</p>
            </>
        }
    };

    html! {
        <section class="compare-panel" data-testid="compare-panel" aria-label="Hosted API comparison">
            <div class="compare-toolbar row wrap">
                <button data-testid="api-add" onclick={on_add} disabled={configs.len() >= MAX_API_PANES || running}>{"Add an API pane"}</button>
                <button class="primary" data-testid="api-run" onclick={on_run} disabled={running}>{"Run the APIs"}</button>
                <button data-testid="api-stop" onclick={on_stop} disabled={!running}>{"Stop"}</button>
                <span class="muted small">{ if props.chat { "Chat mode: each provider applies its own chat template." } else { "Completion mode: raw text continuation (/completions)." } }</span>
            </div>
            <div class="api-panes">{pane_views}</div>
            <section class="card compare-card">
                <h2>{"Side by side"}</h2>
                if rows.is_empty() {
                    <p class="muted small">{"Run the local model and the APIs on the same prompt to compare them here."}</p>
                } else {
                    <div class="table-wrap">
                        <table class="data" data-testid="compare-table">
                            <thead><tr>{ for COMPARE_COLUMNS.iter().map(|c| html! { <th scope="col">{*c}</th> }) }</tr></thead>
                            <tbody>{table_rows}</tbody>
                        </table>
                    </div>
                    if any_estimate {
                        <p class="muted small">{"≈ marks token counts the API did not report: estimated at about 4 characters per token."}</p>
                    }
                }
                <h3>{"Quick diff"}</h3>
                <div data-testid="quick-diff">{diff_view}</div>
            </section>
        </section>
    }
}

// =============================================================================================
// Cost panel

/// Props of [`CostPanel`].
#[derive(Properties, PartialEq)]
pub struct CostProps {
    /// The last local run: its token counts are the default tokens per request, its timing the
    /// default device time per request.
    #[prop_or_default]
    pub local: Option<LocalResult>,
    /// Requests per month to start with (URL `volume`).
    #[prop_or_default]
    pub volume: Option<u64>,
    /// Horizon in months to start with (URL `horizon`).
    #[prop_or_default]
    pub horizon: Option<u32>,
    /// Told (volume, horizon) whenever they change (to write the URL).
    #[prop_or_default]
    pub on_projection: Callback<(u64, u32)>,
    /// Receives one entry per price-file download, for the privacy log.
    #[prop_or_default]
    pub on_net: Callback<NetEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerMode {
    Rental,
    Purchase,
}

#[derive(Debug, Clone, PartialEq)]
struct CostForm {
    search: String,
    picked: Vec<(String, String)>,
    unpicked: Vec<(String, String)>,
    volume: u64,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    horizon: u32,
    price_change: String,
    compounding: Compounding,
    growth: String,
    energy_on: bool,
    energy_watts: String,
    energy_kwh: String,
    server_on: bool,
    server_mode: ServerMode,
    server_hourly: String,
    server_price: String,
    server_amortisation: String,
    server_watts: String,
    server_kwh: String,
    server_utilisation: String,
    server_throughput: String,
    server_ops: String,
    criticality: Level,
    volume_axis: Option<Level>,
    sensitivity: Level,
    complexity: Complexity,
    quality: Option<QualityVerdict>,
    import_url: String,
    import_status: Option<(bool, String)>,
    add_provider: String,
    add_model: String,
    add_input: String,
    add_output: String,
    add_error: Option<String>,
}

impl CostForm {
    fn new(table: &PriceTable, volume: Option<u64>, horizon: Option<u32>) -> Self {
        Self {
            search: String::new(),
            picked: default_projection_apis(table),
            unpicked: Vec::new(),
            volume: volume.unwrap_or(10_000).clamp(1, costs::VOLUME_MAX * 10),
            tokens_in: None,
            tokens_out: None,
            horizon: horizon.unwrap_or(arbitre_pricing::projection::DEFAULT_HORIZON_MONTHS).clamp(1, 600),
            price_change: "0".into(),
            compounding: Compounding::Yearly,
            growth: "0".into(),
            energy_on: false,
            energy_watts: "30".into(),
            energy_kwh: "0.25".into(),
            server_on: true,
            server_mode: ServerMode::Rental,
            server_hourly: "2.00".into(),
            server_price: "25000".into(),
            server_amortisation: "36".into(),
            server_watts: "700".into(),
            server_kwh: "0.20".into(),
            server_utilisation: "50".into(),
            server_throughput: "1500".into(),
            server_ops: "0".into(),
            criticality: Level::Medium,
            volume_axis: None,
            sensitivity: Level::Medium,
            complexity: Complexity::Moderate,
            quality: None,
            import_url: arbitre_pricing::import::LLM_PRICES_URL.to_string(),
            import_status: None,
            add_provider: "llamacpp".into(),
            add_model: String::new(),
            add_input: String::new(),
            add_output: String::new(),
            add_error: None,
        }
    }
}

fn parse_level(s: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|l| l.as_str() == s)
}

fn parse_complexity(s: &str) -> Complexity {
    match s {
        "simple" => Complexity::Simple,
        "complex" => Complexity::Complex,
        _ => Complexity::Moderate,
    }
}

fn parse_quality(s: &str) -> Option<QualityVerdict> {
    match s {
        "acceptable" => Some(QualityVerdict::Acceptable),
        "not_acceptable" => Some(QualityVerdict::NotAcceptable),
        "unsure" => Some(QualityVerdict::Unsure),
        _ => None,
    }
}

/// A link only for http(s) URLs read from price data.
fn safe_link(url: &Option<String>, text: String) -> Html {
    match url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            html! { <a href={u.clone()} target="_blank" rel="noopener noreferrer">{text}</a> }
        }
        _ => html! { <span>{text}</span> },
    }
}

async fn fetch_text(url: &str) -> Result<(String, u16, u64), String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| {
        format!("could not reach {} (network down, or the server refuses browser requests)", url_host(url))
    })?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "unexpected fetch result".to_string())?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| "could not read the response".to_string())?)
        .await
        .map_err(|_| "could not read the response".to_string())?
        .as_string()
        .unwrap_or_default();
    if !resp.ok() {
        return Err(format!("{} answered HTTP {status}", url_host(url)));
    }
    let len = text.len() as u64;
    Ok((text, status, len))
}

fn apply_import(
    text: &str,
    label: &str,
    url: Option<String>,
    workbench: &UseReducerDispatcher<Workbench>,
) -> (bool, String) {
    let source = ImportSource { label: label.to_string(), url, as_of: today() };
    match costs::import_prices(text, &source) {
        Ok((imported, format)) => {
            let n = imported.table.entries.len();
            let skipped = imported.skipped.len();
            workbench.dispatch(WorkbenchAction::Merge(Box::new(imported.table)));
            (
                true,
                format!(
                    "Imported {n} prices ({}); {skipped} entries skipped (not text generation or no price).",
                    format.name()
                ),
            )
        }
        Err(e) => (false, format!("Import failed: {e}")),
    }
}

fn render_chart(chart: &Chart) -> Html {
    let f = chart.frame;
    let bottom = chart.plot_y + chart.plot_h;
    let right = chart.plot_x + chart.plot_w;
    let grid = chart
        .y_ticks
        .iter()
        .map(|t| {
            html! {
                <g class="tick">
                    <line class="grid-line" x1={chart.plot_x.to_string()} x2={right.to_string()} y1={t.pos.to_string()} y2={t.pos.to_string()} />
                    <text class="axis-label" x={(chart.plot_x - 8.0).to_string()} y={(t.pos + 4.0).to_string()} text-anchor="end">{t.label.clone()}</text>
                </g>
            }
        })
        .collect::<Html>();
    let xt = chart
        .x_ticks
        .iter()
        .map(|t| {
            html! {
                <g class="tick">
                    <line class="axis-line" x1={t.pos.to_string()} x2={t.pos.to_string()} y1={bottom.to_string()} y2={(bottom + 5.0).to_string()} />
                    <text class="axis-label" x={t.pos.to_string()} y={(bottom + 18.0).to_string()} text-anchor="middle">{t.label.clone()}</text>
                </g>
            }
        })
        .collect::<Html>();
    let lines = chart
        .series
        .iter()
        .map(|s| {
            html! {
                <polyline class={classes!("series", s.class.clone(), s.dashed.then_some("dashed"))} points={s.svg_points.clone()} fill="none">
                    <title>{format!("{}: {}", s.label, s.total)}</title>
                </polyline>
            }
        })
        .collect::<Html>();
    let markers = chart
        .markers
        .iter()
        .map(|m| {
            html! {
                <g class={classes!("marker", (!m.break_even).then_some("reverse"))}>
                    <circle cx={m.x.to_string()} cy={m.y.to_string()} r="5" />
                    <title>{m.label.clone()}</title>
                </g>
            }
        })
        .collect::<Html>();
    html! {
        <svg class="cost-chart" data-testid="cost-chart" viewBox={format!("0 0 {} {}", f.width, f.height)}
            role="img" aria-label={format!("Cumulative cost over {} months, in {}", chart.months, chart.currency.code())}
            preserveAspectRatio="xMidYMid meet">
            {grid}
            <line class="axis-line" x1={chart.plot_x.to_string()} x2={right.to_string()} y1={bottom.to_string()} y2={bottom.to_string()} />
            <line class="axis-line" x1={chart.plot_x.to_string()} x2={chart.plot_x.to_string()} y1={chart.plot_y.to_string()} y2={bottom.to_string()} />
            {xt}
            <text class="axis-title" x={(chart.plot_x + chart.plot_w / 2.0).to_string()} y={(f.height - 4.0).to_string()} text-anchor="middle">{"months"}</text>
            {lines}
            {markers}
        </svg>
    }
}

/// The price table, projections (chart and totals) and the decision grid.
#[component]
pub fn CostPanel(props: &CostProps) -> Html {
    let workbench = use_workbench();
    let form = {
        let (table, volume, horizon) = (workbench.table.clone(), props.volume, props.horizon);
        use_state(move || CostForm::new(&table, volume, horizon))
    };
    let latest = use_mut_ref(|| (*form).clone());
    let form = Latest::synced(form, latest);
    {
        let on_projection = props.on_projection.clone();
        use_effect_with((form.volume, form.horizon), move |v| on_projection.emit(*v));
    }
    let wb = &*workbench;
    let currency = wb.currency;

    let set = |f: fn(&mut CostForm, &Event)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = form.current();
            f(&mut next, &e);
            form.set(next);
        })
    };
    // For DraftFields: `f` takes the typed text and says whether it was taken.
    let commit = |f: fn(&mut CostForm, &str) -> bool| commit_to(&form, f);
    let set_input = |f: fn(&mut CostForm, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut next = form.current();
            f(&mut next, e.target_unchecked_into::<HtmlInputElement>().value());
            form.set(next);
        })
    };

    // --- currency
    let on_currency = {
        let wb = workbench.dispatcher();
        Callback::from(move |e: Event| {
            let c = Currency::parse(&select_value(&e)).unwrap_or(Currency::Usd);
            wb.dispatch(WorkbenchAction::Currency(c));
        })
    };
    let rate_error = use_state(|| None::<String>);
    let on_rate = {
        let (wb, rate_error) = (workbench.dispatcher(), rate_error.clone());
        Callback::from(move |v: String| match ExchangeRate::parse(&v) {
            Ok(r) => {
                rate_error.set(None);
                wb.dispatch(WorkbenchAction::Rate(r));
                true
            }
            Err(err) => {
                rate_error.set(Some(err.to_string()));
                false
            }
        })
    };

    // --- the APIs in the projection: picked ones plus those just compared (unless unpicked)
    let mut apis: Vec<(String, String)> = form.picked.clone();
    for run in &wb.api_runs {
        if let Some(e) = price_for(&wb.table, run.provider, &run.model) {
            let key = (e.provider.clone(), e.model.clone());
            if !apis.contains(&key) && !form.unpicked.contains(&key) {
                apis.push(key);
            }
        }
    }

    // --- price table
    let needle = form.search.trim().to_lowercase();
    let matches: Vec<&PriceEntry> = wb
        .table
        .entries
        .iter()
        .filter(|e| {
            needle.is_empty()
                || e.provider.to_lowercase().contains(&needle)
                || e.model.to_lowercase().contains(&needle)
                || e.name.to_lowercase().contains(&needle)
        })
        .collect();
    const SHOWN: usize = 40;
    let price_rows = matches
        .iter()
        .take(SHOWN)
        .map(|e| {
            let key = (e.provider.clone(), e.model.clone());
            let is_picked = apis.contains(&key);
            let on_pick = {
                let (form, key) = (form.clone(), key.clone());
                Callback::from(move |_: Event| {
                    let mut next = form.current();
                    if is_picked {
                        next.picked.retain(|k| *k != key);
                        if !next.unpicked.contains(&key) {
                            next.unpicked.push(key.clone());
                        }
                    } else {
                        next.unpicked.retain(|k| *k != key);
                        next.picked.push(key.clone());
                    }
                    form.set(next);
                })
            };
            let edit = |output: bool| {
                let (wb, key) = (workbench.dispatcher(), key.clone());
                Callback::from(move |v: String| match PricePerMTok::parse(&v) {
                    Ok(price) => {
                        wb.dispatch(WorkbenchAction::EditPrice { provider: key.0.clone(), model: key.1.clone(), output, price });
                        true
                    }
                    Err(_) => false,
                })
            };
            html! {
                <tr key={format!("{}/{}", e.provider, e.model)} data-testid="price-row" data-key={format!("{}/{}", e.provider, e.model)}>
                    <td><input type="checkbox" data-testid="price-pick" checked={is_picked} onchange={on_pick}
                        aria-label={format!("Show {} in the projection", e.name)} /></td>
                    <td>{e.provider.clone()}</td>
                    <th scope="row" title={e.model.clone()}>{e.name.clone()}</th>
                    <td><DraftField class="price-input" inputmode="decimal" testid="price-input"
                        label={format!("{} input price per million tokens", e.name)}
                        value={e.input.to_decimal_string()} oncommit={edit(false)} /></td>
                    <td class="num">{e.cached_input.map(|p| p.to_decimal_string()).unwrap_or_else(|| "—".into())}</td>
                    <td><DraftField class="price-input" inputmode="decimal" testid="price-output"
                        label={format!("{} output price per million tokens", e.name)}
                        value={e.output.to_decimal_string()} oncommit={edit(true)} /></td>
                    <td>{e.currency.code()}</td>
                    <td class="num">{e.as_of.clone()}</td>
                    <td class="small">{safe_link(&e.source_url, e.source.clone())}</td>
                </tr>
            }
        })
        .collect::<Html>();

    let on_add_price = {
        let (form, wb) = (form.clone(), workbench.dispatcher());
        Callback::from(move |_: MouseEvent| {
            let mut next = form.current();
            let parsed = (PricePerMTok::parse(&next.add_input), PricePerMTok::parse(&next.add_output));
            let (provider, model) = (next.add_provider.trim().to_string(), next.add_model.trim().to_string());
            match parsed {
                _ if provider.is_empty() || model.is_empty() => {
                    next.add_error = Some("Give a provider and a model.".into())
                }
                (Ok(input), Ok(output)) => {
                    let entry = PriceEntry {
                        provider: provider.clone(),
                        model: model.clone(),
                        name: model.clone(),
                        currency,
                        input,
                        output,
                        cached_input: None,
                        as_of: today(),
                        effective_from: None,
                        source: "typed in this page".into(),
                        source_url: None,
                        history: Vec::new(),
                    };
                    wb.dispatch(WorkbenchAction::Upsert(Box::new(entry)));
                    next.add_error = None;
                    let key = (provider, model);
                    if !next.picked.contains(&key) {
                        next.picked.push(key);
                    }
                }
                (Err(e), _) | (_, Err(e)) => next.add_error = Some(e.to_string()),
            }
            form.set(next);
        })
    };

    let on_fetch = {
        let (form, wb, on_net) = (form.clone(), workbench.dispatcher(), props.on_net.clone());
        Callback::from(move |_: MouseEvent| {
            let url = form.import_url.trim().to_string();
            let mut next = form.current();
            next.import_status = Some((true, format!("Fetching {url}…")));
            form.set(next.clone());
            let (form, wb, on_net) = (form.clone(), wb.clone(), on_net.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let started = transport::now_ms();
                let result = fetch_text(&url).await;
                let (status, down) = match &result {
                    Ok((_, s, n)) => (*s, *n),
                    Err(_) => (0, 0),
                };
                on_net.emit(NetEntry {
                    time_ms: started,
                    origin: "page".into(),
                    method: "GET".into(),
                    url: url.clone(),
                    status,
                    bytes_up: 0,
                    bytes_down: down,
                    purpose: "price list import".into(),
                });
                next.import_status = Some(match result {
                    Ok((text, _, _)) => apply_import(&text, "imported from URL", Some(url.clone()), &wb),
                    Err(e) => (false, format!("Import failed: {e}")),
                });
                form.set(next);
            });
        })
    };
    let on_file = {
        let (form, wb) = (form.clone(), workbench.dispatcher());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
            let (form, wb) = (form.clone(), wb.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut next = form.current();
                let text = JsFuture::from(file.text()).await.ok().and_then(|v| v.as_string());
                next.import_status = Some(match text {
                    Some(t) => apply_import(&t, &format!("imported file {}", file.name()), None, &wb),
                    None => (false, "Import failed: could not read the file".to_string()),
                });
                form.set(next);
            });
        })
    };
    let on_reset = {
        let wb = workbench.dispatcher();
        Callback::from(move |_: MouseEvent| wb.dispatch(WorkbenchAction::ResetTable))
    };

    // --- projection inputs
    let first_api_usage = wb.api_runs.first().map(|r| r.usage);
    let (derived, derived_from) = tokens_per_request(props.local.as_ref(), first_api_usage);
    let usage = Usage {
        input_tokens: form.tokens_in.unwrap_or(derived.input_tokens),
        cached_input_tokens: 0,
        output_tokens: form.tokens_out.unwrap_or(derived.output_tokens),
    };
    let mut problems: Vec<String> = Vec::new();
    let mut money = |label: &str, text: &str| match Money::parse(text, currency) {
        Ok(m) if m.micros >= 0 => m,
        _ => {
            problems.push(format!("{label}: {text:?} is not an amount"));
            Money::zero(currency)
        }
    };
    let price_change_bp = costs::percent_to_bp(&form.price_change).unwrap_or(0);
    let growth_bp = costs::percent_to_bp(&form.growth).unwrap_or(0);
    let local_ms = props.local.as_ref().map(|l| l.stats.total_ms).filter(|ms| *ms > 0.0).unwrap_or(2000.0);
    let energy = form.energy_on.then(|| DeviceEnergy {
        watts: form.energy_watts.trim().parse().unwrap_or(0),
        millis_per_request: local_ms.round() as u64,
        price_per_kwh: money("Electricity price", &form.energy_kwh),
    });
    let utilisation: u8 = form.server_utilisation.trim().trim_end_matches('%').parse().unwrap_or(50);
    let throughput: u32 = form.server_throughput.trim().parse().unwrap_or(0);
    let server = form.server_on.then(|| {
        let (label, cost) = match form.server_mode {
            ServerMode::Rental => (
                "Self-hosted (rented GPU)",
                ServerCost::Rental { hourly: money("Hourly price", &form.server_hourly), hours_per_month: 730 },
            ),
            ServerMode::Purchase => (
                "Self-hosted (own GPU server)",
                ServerCost::Purchase {
                    price_per_server: money("Hardware price", &form.server_price),
                    amortisation_months: form.server_amortisation.trim().parse().unwrap_or(0),
                    watts: form.server_watts.trim().parse().unwrap_or(0),
                    price_per_kwh: money("Server electricity", &form.server_kwh),
                },
            ),
        };
        SelfHosted {
            label: label.to_string(),
            cost,
            decode_tokens_per_s: throughput,
            prefill_tokens_per_s: None,
            utilisation_pct: utilisation,
            ops_per_month: money("Running cost", &form.server_ops),
        }
    });
    let settings = Settings {
        horizon_months: form.horizon,
        currency,
        rate: wb.rate,
        api_price_change: PriceChange { annual_bp: price_change_bp, compounding: form.compounding },
    };
    let workload = Workload { requests_per_month: form.volume, usage, monthly_growth_bp: growth_bp };
    let inputs = ProjectionInputs { apis: apis.clone(), workload, settings, energy, self_hosted: server.clone() };
    let projection = costs::project(&inputs, &wb.table);
    problems.extend(projection.problems.iter().cloned());
    let chart = build_chart(&projection.curves, ChartFrame::default());
    let total_rows = totals(&projection.curves);
    let break_even_volume = match (&server, apis.first().and_then(|(p, m)| wb.table.find(p, m))) {
        (Some(s), Some(api)) => match self_hosting_break_even_volume(api, s, &workload, &settings, 1_000_000_000) {
            Ok(Some(v)) => Some(format!(
                "{} costs no more than {} over {} months from about {} requests a month (at these tokens per request).",
                s.label,
                api.name,
                form.horizon,
                format_count(v)
            )),
            Ok(None) => Some(format!("{} stays cheaper than {} up to a billion requests a month.", api.name, s.label)),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        },
        _ => None,
    };
    let capacity = server.as_ref().map(|s| {
        let per = costs::seconds_per_request(&usage, s.decode_tokens_per_s, None);
        let cap = costs::server_capacity(&usage, s.decode_tokens_per_s, None, s.utilisation_pct);
        format!(
            "One request keeps a server busy about {}; one server handles about {} requests a month at {}% utilisation.",
            format::duration_ms(per * 1000.0),
            if cap.is_finite() { format_count(cap as u64) } else { "∞".into() },
            s.utilisation_pct
        )
    });

    let legend = chart
        .series
        .iter()
        .map(|s| {
            html! {
                <li><span class={classes!("swatch", s.class.clone(), s.dashed.then_some("dashed"))} aria-hidden="true"></span>
                    {s.label.clone()}<span class="muted num">{format!(" · {}", s.total)}</span></li>
            }
        })
        .collect::<Html>();
    let markers_list = chart.markers.iter().map(|m| html! { <li>{m.label.clone()}</li> }).collect::<Html>();
    let cost_rows = total_rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            html! {
                <tr data-testid={format!("cost-row-{i}")} data-total-micros={r.total.micros.to_string()} class={classes!(r.cheapest.then_some("cheapest"))}>
                    <th scope="row"><span class={classes!("swatch", r.class.clone())} aria-hidden="true"></span>{r.label.clone()}</th>
                    <td class="num">{r.first_month.to_string()}</td>
                    <td class="num">{r.last_month.to_string()}</td>
                    <td class="num"><strong>{r.total.to_string()}</strong></td>
                    <td class="num">{ if r.cheapest { "cheapest".to_string() } else { format!("+{}", r.over_cheapest) } }</td>
                    <td class="num">{r.servers.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect::<Html>();

    // --- decision grid
    let auto_volume = volume_level(form.volume);
    let decision = decide(&DecisionInput {
        criticality: form.criticality,
        volume: form.volume_axis.unwrap_or(auto_volume),
        sensitivity: form.sensitivity,
        complexity: form.complexity,
        quality: form.quality,
    });
    let rec_id = match decision.recommendation {
        Recommendation::LocalOpenModel => "local",
        Recommendation::HostedApi => "api",
        Recommendation::Hybrid => "hybrid",
    };
    let level_options = |current: Level| {
        Level::ALL
            .iter()
            .map(|l| html! { <option value={l.as_str()} selected={*l == current}>{l.as_str()}</option> })
            .collect::<Html>()
    };

    let f = &*form;
    let sym = currency.symbol();
    html! {
        <section class="card cost-panel" data-testid="cost-panel" aria-label="Costs and decision">
            <h2>{"What it costs — today, at your volume, over time"}</h2>
            <div class="row wrap">
                <label class="field inline"><span>{"Currency"}</span>
                    <select data-testid="currency" onchange={on_currency}>
                        <option value="USD" selected={currency == Currency::Usd}>{"USD ($)"}</option>
                        <option value="EUR" selected={currency == Currency::Eur}>{"EUR (€)"}</option>
                    </select>
                </label>
                <label class="field inline"><span>{"1 EUR = … USD"}</span>
                    <DraftField inputmode="decimal" testid="eur-usd-rate" value={rate_text(wb.rate)} oncommit={on_rate} />
                </label>
                if let Some(err) = &*rate_error { <p class="error small" role="alert">{err.clone()}</p> }
            </div>

            <details class="prices" open=true>
                <summary>{format!("Price table ({} models, per million tokens)", wb.table.entries.len())}</summary>
                <p class="muted small" data-testid="price-as-of">
                    {format!("Shipped table as of {}. ", wb.table.as_of.clone().unwrap_or_else(|| "—".into()))}
                    {"Prices are editable; ticked models are drawn in the projection. Each row shows its source and as-of date."}
                </p>
                <label class="field"><span>{"Search"}</span>
                    <input type="search" data-testid="price-search" placeholder="gpt, claude, mistral…" value={f.search.clone()}
                        oninput={set_input(|f, v| f.search = v)} />
                </label>
                <div class="table-wrap price-wrap">
                    <table class="data" data-testid="price-table">
                        <thead><tr>
                            <th scope="col">{"Chart"}</th><th scope="col">{"Provider"}</th><th scope="col">{"Model"}</th>
                            <th scope="col">{"Input"}</th><th scope="col">{"Cached in"}</th><th scope="col">{"Output"}</th>
                            <th scope="col">{"Cur."}</th><th scope="col">{"As of"}</th><th scope="col">{"Source"}</th>
                        </tr></thead>
                        <tbody>{price_rows}</tbody>
                    </table>
                </div>
                if matches.len() > SHOWN {
                    <p class="muted small">{format!("{} more match; refine the search.", matches.len() - SHOWN)}</p>
                }
                <fieldset class="inline-form">
                    <legend>{"Add a price (e.g. for a self-hosted server in an API pane)"}</legend>
                    <label class="field inline"><span>{"Provider id"}</span><input type="text" data-testid="price-add-provider" value={f.add_provider.clone()} oninput={set_input(|f, v| f.add_provider = v)} /></label>
                    <label class="field inline"><span>{"Model"}</span><input type="text" data-testid="price-add-model" value={f.add_model.clone()} oninput={set_input(|f, v| f.add_model = v)} /></label>
                    <label class="field inline"><span>{format!("Input {sym}/1M")}</span><input type="text" inputmode="decimal" data-testid="price-add-input" value={f.add_input.clone()} oninput={set_input(|f, v| f.add_input = v)} /></label>
                    <label class="field inline"><span>{format!("Output {sym}/1M")}</span><input type="text" inputmode="decimal" data-testid="price-add-output" value={f.add_output.clone()} oninput={set_input(|f, v| f.add_output = v)} /></label>
                    <button data-testid="price-add" onclick={on_add_price}>{"Add"}</button>
                    if let Some(err) = &f.add_error { <p class="error small" role="alert">{err.clone()}</p> }
                </fieldset>
                <fieldset class="inline-form">
                    <legend>{"Import LiteLLM or llm-prices JSON"}</legend>
                    <label class="field inline grow"><span>{"From a URL"}</span>
                        <input type="url" data-testid="price-import-url" value={f.import_url.clone()} oninput={set_input(|f, v| f.import_url = v)} />
                    </label>
                    <button data-testid="price-import-fetch" onclick={on_fetch}>{"Fetch"}</button>
                    <label class="field inline"><span>{"Or a file"}</span>
                        <input type="file" accept=".json,application/json" data-testid="price-import-file" onchange={on_file} />
                    </label>
                    <button class="link" onclick={on_reset}>{"Back to the shipped table"}</button>
                    if let Some((ok, msg)) = &f.import_status {
                        <p class={classes!("small", (!ok).then_some("error"))} data-testid="price-import-status" role="status">{msg.clone()}</p>
                    }
                </fieldset>
            </details>

            <fieldset class="projection-inputs">
                <legend>{"Projection"}</legend>
                <label class="field"><span>{format!("Requests per month: {}", format_count(f.volume))}</span>
                    <input type="range" min="0" max={SLIDER_STEPS.to_string()} step="1" data-testid="volume-slider"
                        aria-label="Requests per month (log scale)" value={slider_from_volume(f.volume).to_string()}
                        oninput={set_input(|f, v| f.volume = volume_from_slider(v.parse().unwrap_or(0)))} />
                </label>
                <div class="settings-grid">
                    <label class="field"><span>{"Requests / month"}</span><DraftField inputmode="numeric" testid="volume" value={f.volume.to_string()}
                        oncommit={commit(|f, v| costs::parse_count(v).map(|v| f.volume = v.max(1)).is_some())} /></label>
                    <label class="field"><span>{format!("Input tokens / request ({derived_from}: {})", derived.input_tokens)}</span>
                        <DraftField inputmode="numeric" testid="tokens-in" value={usage.input_tokens.to_string()}
                            oncommit={commit(|f, v| { f.tokens_in = costs::parse_count(v); true })} /></label>
                    <label class="field"><span>{format!("Output tokens / request ({derived_from}: {})", derived.output_tokens)}</span>
                        <DraftField inputmode="numeric" testid="tokens-out" value={usage.output_tokens.to_string()}
                            oncommit={commit(|f, v| { f.tokens_out = costs::parse_count(v); true })} /></label>
                    <label class="field"><span>{"Horizon (months)"}</span><DraftField kind="number" min="1" max="600" testid="horizon" value={f.horizon.to_string()}
                        oncommit={commit(|f, v| { let taken = parse_into(&mut f.horizon, v); f.horizon = f.horizon.clamp(1, 600); taken })} /></label>
                    <label class="field"><span>{"API price change / year (%)"}</span><input type="text" inputmode="decimal" data-testid="price-change" value={f.price_change.clone()}
                        oninput={set_input(|f, v| f.price_change = v)} /></label>
                    <label class="field"><span>{"Applied"}</span>
                        <select data-testid="compounding" onchange={set(|f, e| f.compounding = if select_value(e) == "monthly" { Compounding::Monthly } else { Compounding::Yearly })}>
                            <option value="yearly" selected={f.compounding == Compounding::Yearly}>{"once a year"}</option>
                            <option value="monthly" selected={f.compounding == Compounding::Monthly}>{"every month"}</option>
                        </select></label>
                    <label class="field"><span>{"Volume growth / month (%)"}</span><input type="text" inputmode="decimal" data-testid="growth" value={f.growth.clone()}
                        oninput={set_input(|f, v| f.growth = v)} /></label>
                </div>
                <fieldset class="sub">
                    <legend><label class="check"><input type="checkbox" data-testid="energy-on" checked={f.energy_on} onchange={set(|f, e| f.energy_on = checked(e))} />{" Count the device's energy for in-browser runs"}</label></legend>
                    if f.energy_on {
                        <div class="settings-grid">
                            <label class="field"><span>{"Extra power (W)"}</span><input type="number" min="0" data-testid="energy-watts" value={f.energy_watts.clone()} oninput={set_input(|f, v| f.energy_watts = v)} /></label>
                            <label class="field"><span>{format!("Electricity {sym}/kWh")}</span><input type="text" inputmode="decimal" data-testid="energy-kwh" value={f.energy_kwh.clone()} oninput={set_input(|f, v| f.energy_kwh = v)} /></label>
                            <p class="muted small">{format!("Time per request: {} (the local run's total time).", format::duration_ms(local_ms))}</p>
                        </div>
                    }
                </fieldset>
                <fieldset class="sub">
                    <legend><label class="check"><input type="checkbox" data-testid="server-on" checked={f.server_on} onchange={set(|f, e| f.server_on = checked(e))} />{" Self-hosted GPU server"}</label></legend>
                    if f.server_on {
                        <div class="settings-grid">
                            <label class="field"><span>{"Paid as"}</span>
                                <select data-testid="server-mode" onchange={set(|f, e| f.server_mode = if select_value(e) == "purchase" { ServerMode::Purchase } else { ServerMode::Rental })}>
                                    <option value="rental" selected={f.server_mode == ServerMode::Rental}>{"rented by the hour"}</option>
                                    <option value="purchase" selected={f.server_mode == ServerMode::Purchase}>{"bought hardware"}</option>
                                </select></label>
                            if f.server_mode == ServerMode::Rental {
                                <label class="field"><span>{format!("{sym} per server-hour")}</span><input type="text" inputmode="decimal" data-testid="server-hourly" value={f.server_hourly.clone()} oninput={set_input(|f, v| f.server_hourly = v)} /></label>
                            } else {
                                <label class="field"><span>{format!("{sym} per server")}</span><input type="text" inputmode="decimal" data-testid="server-price" value={f.server_price.clone()} oninput={set_input(|f, v| f.server_price = v)} /></label>
                                <label class="field"><span>{"Amortised over (months)"}</span><input type="number" min="0" data-testid="server-amortisation" value={f.server_amortisation.clone()} oninput={set_input(|f, v| f.server_amortisation = v)} /></label>
                                <label class="field"><span>{"Power (W)"}</span><input type="number" min="0" data-testid="server-watts" value={f.server_watts.clone()} oninput={set_input(|f, v| f.server_watts = v)} /></label>
                                <label class="field"><span>{format!("Electricity {sym}/kWh")}</span><input type="text" inputmode="decimal" data-testid="server-kwh" value={f.server_kwh.clone()} oninput={set_input(|f, v| f.server_kwh = v)} /></label>
                            }
                            <label class="field"><span>{"Utilisation (%)"}</span><input type="number" min="1" max="100" data-testid="server-utilisation" value={f.server_utilisation.clone()} oninput={set_input(|f, v| f.server_utilisation = v)} /></label>
                            <label class="field"><span>{"Throughput (output tok/s, all requests)"}</span><input type="number" min="1" data-testid="server-throughput" value={f.server_throughput.clone()} oninput={set_input(|f, v| f.server_throughput = v)} /></label>
                            <label class="field"><span>{format!("Running cost {sym}/month")}</span><input type="text" inputmode="decimal" data-testid="server-ops" value={f.server_ops.clone()} oninput={set_input(|f, v| f.server_ops = v)} /></label>
                        </div>
                        if let Some(c) = capacity { <p class="muted small">{c}</p> }
                    }
                </fieldset>
            </fieldset>

            <figure class="chart-figure">
                {render_chart(&chart)}
                <figcaption>
                    <ul class="legend" data-testid="chart-legend">{legend}</ul>
                </figcaption>
            </figure>
            if !chart.markers.is_empty() {
                <ul class="break-even" data-testid="break-even">{markers_list}</ul>
            }
            if let Some(line) = break_even_volume { <p class="small" data-testid="break-even-volume">{line}</p> }
            <div class="table-wrap">
                <table class="data" data-testid="cost-table">
                    <thead><tr>
                        <th scope="col">{"Option"}</th><th scope="col">{"Month 1"}</th><th scope="col">{format!("Month {}", f.horizon)}</th>
                        <th scope="col">{format!("Total over {} months", f.horizon)}</th><th scope="col">{"vs cheapest"}</th><th scope="col">{"Servers"}</th>
                    </tr></thead>
                    <tbody>{cost_rows}</tbody>
                </table>
            </div>
            if !problems.is_empty() {
                <ul class="error small" data-testid="projection-problems">{ for problems.iter().map(|p| html! { <li>{p.clone()}</li> }) }</ul>
            }

            <fieldset class="decision-grid">
                <legend>{"Decision grid"}</legend>
                <div class="settings-grid">
                    <label class="field"><span>{"Criticality of errors"}</span>
                        <select data-testid="decision-criticality" onchange={set(|f, e| f.criticality = parse_level(&select_value(e)).unwrap_or(Level::Medium))}>{level_options(f.criticality)}</select></label>
                    <label class="field"><span>{"Volume"}</span>
                        <select data-testid="decision-volume" onchange={set(|f, e| f.volume_axis = parse_level(&select_value(e)))}>
                            <option value="auto" selected={f.volume_axis.is_none()}>{format!("from the projection ({})", auto_volume.as_str())}</option>
                            { for Level::ALL.iter().map(|l| html! { <option value={l.as_str()} selected={f.volume_axis == Some(*l)}>{l.as_str()}</option> }) }
                        </select></label>
                    <label class="field"><span>{"Data sensitivity"}</span>
                        <select data-testid="decision-sensitivity" onchange={set(|f, e| f.sensitivity = parse_level(&select_value(e)).unwrap_or(Level::Medium))}>{level_options(f.sensitivity)}</select></label>
                    <label class="field"><span>{"Task complexity"}</span>
                        <select data-testid="decision-complexity" onchange={set(|f, e| f.complexity = parse_complexity(&select_value(e)))}>
                            <option value="simple" selected={f.complexity == Complexity::Simple}>{"simple (classify, extract, template)"}</option>
                            <option value="moderate" selected={f.complexity == Complexity::Moderate}>{"moderate (summarise, draft)"}</option>
                            <option value="complex" selected={f.complexity == Complexity::Complex}>{"complex (multi-step reasoning)"}</option>
                        </select></label>
                    <label class="field"><span>{"Your verdict on the local answer"}</span>
                        <select data-testid="decision-quality" onchange={set(|f, e| f.quality = parse_quality(&select_value(e)))}>
                            <option value="" selected={f.quality.is_none()}>{"not judged yet"}</option>
                            <option value="acceptable" selected={f.quality == Some(QualityVerdict::Acceptable)}>{"acceptable"}</option>
                            <option value="not_acceptable" selected={f.quality == Some(QualityVerdict::NotAcceptable)}>{"not acceptable"}</option>
                            <option value="unsure" selected={f.quality == Some(QualityVerdict::Unsure)}>{"unsure"}</option>
                        </select></label>
                </div>
                <div class="decision" data-testid="decision" data-recommendation={rec_id} role="status">
                    <p class="recommendation"><strong>{decision.recommendation.title()}</strong>
                        <span class="muted small">{format!(" · local {} / API {} points", decision.local_score, decision.api_score)}</span></p>
                    <ul data-testid="decision-reasons">{ for decision.reasons.iter().map(|r| html! { <li>{r.text.clone()}</li> }) }</ul>
                </div>
            </fieldset>
        </section>
    }
}

fn rate_text(rate: ExchangeRate) -> String {
    let ppm = rate.usd_per_eur_ppm();
    let mut frac = format!("{:06}", ppm % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{}.{frac}", ppm / 1_000_000)
}

fn format_count(n: u64) -> String {
    costs::format_tokens(Some(costs::Tokens { count: n, estimated: false }))
}

// =============================================================================================
// Privacy log

/// Props of [`PrivacyLog`].
#[derive(Properties, PartialEq)]
pub struct PrivacyProps {
    /// Requests reported by the worker and the API panes.
    pub entries: Vec<NetEntry>,
    /// (start, end) of each local run in ms on the page's `performance.now()` clock; when
    /// given, the headline counts what was sent during them.
    #[prop_or_default]
    pub local_windows: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Observed(Vec<NetEntry>);

impl Reducible for Observed {
    type Action = Vec<NetEntry>;

    fn reduce(self: Rc<Self>, more: Vec<NetEntry>) -> Rc<Self> {
        let mut next = (*self).clone();
        next.0.extend(more);
        Rc::new(next)
    }
}

fn observed_entries(list: &web_sys::PerformanceObserverEntryList) -> Vec<NetEntry> {
    list.get_entries()
        .iter()
        .filter_map(|v| v.dyn_into::<web_sys::PerformanceResourceTiming>().ok())
        .filter(|t| {
            let name = t.name();
            !name.starts_with("data:") && !name.starts_with("blob:")
        })
        .map(|t| NetEntry {
            time_ms: t.start_time(),
            origin: "page".to_string(),
            method: String::new(),
            url: t.name(),
            status: 0,
            bytes_up: 0,
            bytes_down: t.transfer_size().max(t.encoded_body_size()).max(0.0) as u64,
            purpose: format!("seen by the browser ({})", t.initiator_type()),
        })
        .collect()
}

/// A live log of every network request the page and its worker make, with the headline
/// "0 bytes sent to any host during local runs".
#[component]
pub fn PrivacyLog(props: &PrivacyProps) -> Html {
    let observed = use_reducer(Observed::default);
    {
        let dispatcher = observed.dispatcher();
        use_effect_with((), move |_| {
            let callback = Closure::<dyn FnMut(web_sys::PerformanceObserverEntryList, JsValue)>::new(
                move |list: web_sys::PerformanceObserverEntryList, _observer: JsValue| {
                    let entries = observed_entries(&list);
                    if !entries.is_empty() {
                        dispatcher.dispatch(entries);
                    }
                },
            );
            let observer = web_sys::PerformanceObserver::new(callback.as_ref().unchecked_ref()).ok();
            if let Some(obs) = &observer {
                let init = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&init, &"type".into(), &"resource".into());
                let _ = js_sys::Reflect::set(&init, &"buffered".into(), &JsValue::TRUE);
                obs.observe(init.unchecked_ref());
            }
            move || {
                if let Some(obs) = observer {
                    obs.disconnect();
                }
                drop(callback);
            }
        });
    }

    // Observed fetches of the API panes and price imports are already in `entries`.
    let reported: Vec<&str> = props.entries.iter().map(|e| e.url.as_str()).collect();
    let mut all: Vec<NetEntry> = props.entries.clone();
    all.extend(
        observed.0.iter().filter(|o| !(o.purpose.contains("(fetch)") && reported.contains(&o.url.as_str()))).cloned(),
    );
    all.sort_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    let summary = privacy_summary(&all, &props.local_windows);
    let headline = privacy_headline(&summary, !props.local_windows.is_empty());
    let rows = all
        .iter()
        .map(|e| {
            html! {
                <tr data-testid="privacy-row" class={classes!(costs::is_api_call(e).then_some("api-call"))}>
                    <td class="num">{format::duration_ms(e.time_ms)}</td>
                    <td>{e.origin.clone()}</td>
                    <td>{ if e.method.is_empty() { "—".to_string() } else { e.method.clone() } }</td>
                    <td title={e.url.clone()}><code>{url_host(&e.url)}</code></td>
                    <td class="num">{ if e.status == 0 { "—".to_string() } else { e.status.to_string() } }</td>
                    <td class="num">{format::bytes(e.bytes_up)}</td>
                    <td class="num">{format::bytes(e.bytes_down)}</td>
                    <td>{e.purpose.clone()}</td>
                </tr>
            }
        })
        .collect::<Html>();
    html! {
        <section class="card privacy-log" aria-label="Network requests">
            <h2>{"Network log"}</h2>
            <p class="privacy-headline" data-testid="privacy-headline"><strong>{headline}</strong></p>
            <p class="muted small">{format!(
                "{} requests · {} API calls · hosts: {}. Times are since the page opened; the browser hides sizes of some cross-origin responses.",
                summary.requests, summary.api_requests,
                if summary.hosts.is_empty() { "none".to_string() } else { summary.hosts.join(", ") }
            )}</p>
            <div class="table-wrap privacy-wrap">
                <table class="data" data-testid="privacy-log">
                    <thead><tr>
                        <th scope="col">{"Time"}</th><th scope="col">{"Origin"}</th><th scope="col">{"Method"}</th><th scope="col">{"Host"}</th>
                        <th scope="col">{"Status"}</th><th scope="col">{"Up"}</th><th scope="col">{"Down"}</th><th scope="col">{"Why"}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
