//! The comparison panel (wasm32 only): hosted-API panes beside the local pane, the
//! comparison table and the quick diff. Model and API text is only ever rendered as text.

use std::cell::RefCell;
use std::rc::Rc;

use arbitre_chat::reasoning;
use arbitre_hosted::transport::{self, Abort};
use arbitre_hosted::{ProviderId, RequestSpec, RunSummary, StreamEvent, build_request, presets};
use arbitre_protocol::NetEntry;
use yew::prelude::*;

use crate::chat::state::PaneId;
use crate::chat::view::ChatAction;
use crate::compare::diff::{DiffKind, quick_diff};
use crate::compare::panes::{
    self, ApiChoice, COMPARE_COLUMNS, LocalResult, MAX_API_PANES, Metrics, api_metrics, api_turn_stats, api_turn_text,
    billed_usage, conversation_prompt, hosted_prompt, hosted_sampling, local_metrics, price_for,
};
use crate::compare::workbench::{ApiRun, Workbench, WorkbenchAction, use_workbench};
use crate::dom::{checked, forget_key, input_value, on_each_input, select_value, status_of, store_key, stored_key};
use crate::format;
use crate::netlog::url_host;
use arbitre_protocol::ChatTurn;

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
    /// Each pane's conversation when a chat message was sent (a new value, from the chat view,
    /// starts every pane on its own thread); `sent` counts the messages.
    #[prop_or_default]
    pub conversation: ChatSend,
    /// Told what each pane's chat answer does (streamed text, end, failure).
    #[prop_or_default]
    pub on_conversation: Callback<ChatAction>,
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

/// A chat message to send to the API panes: each pane's conversation, by pane index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatSend {
    /// How many messages were sent so far (0: none yet).
    pub sent: u64,
    /// The conversation's system message.
    pub system: Option<String>,
    /// Each pane's turns, its own answers and the new message last.
    pub threads: Vec<Vec<ChatTurn>>,
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
    /// The prompt of each pane (the same for all outside a chat).
    prompts: Vec<arbitre_hosted::Prompt>,
    /// Where chat answers are reported, for a chat message.
    chat: Option<Callback<ChatAction>>,
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
        let chat = cx.chat.clone();
        let report = move |a: ChatAction| {
            if let Some(c) = &chat {
                c.emit(a);
            }
        };
        if let Some(reason) = cfg.not_ready() {
            cx.runs.dispatch(RunAction::Skip { pane, note: reason.to_string() });
            report(ChatAction::Fail(PaneId::Api(pane), reason.to_string()));
            continue;
        }
        let Some(prompt) = cx.prompts.get(pane).cloned() else { continue };
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
            prompt,
            sampling: cx.sampling.clone(),
        };
        let prepared = match build_request(&spec) {
            Ok(p) => p,
            Err(e) => {
                report(ChatAction::Fail(PaneId::Api(pane), e.to_string()));
                cx.runs.dispatch(RunAction::Fail { pane, generation, error: e.to_string(), partial: None });
                continue;
            }
        };
        let abort = match Abort::new() {
            Ok(a) => a,
            Err(e) => {
                report(ChatAction::Fail(PaneId::Api(pane), e.to_string()));
                cx.runs.dispatch(RunAction::Fail { pane, generation, error: e.to_string(), partial: None });
                continue;
            }
        };
        cx.aborts.borrow_mut().push(abort.clone());
        let (runs, workbench, on_net) = (cx.runs.clone(), cx.workbench.clone(), cx.on_net.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let started = transport::now_ms();
            let runs2 = runs.clone();
            let report2 = report.clone();
            let result = transport::stream(&prepared, &abort, move |event, so_far| {
                if let StreamEvent::TextDelta { text } = event {
                    report2(ChatAction::Delta(PaneId::Api(pane), text.clone()));
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
                    report(ChatAction::Done(
                        PaneId::Api(pane),
                        api_turn_stats(&summary),
                        Some(api_turn_text(&summary)),
                    ));
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
                    let stats = api_turn_stats(&failed.partial);
                    report(ChatAction::Done(PaneId::Api(pane), stats, Some(api_turn_text(&failed.partial))));
                    runs.dispatch(RunAction::Finish {
                        pane,
                        generation,
                        summary: Box::new(failed.partial),
                        note: Some("Stopped.".to_string()),
                    });
                }
                Err(failed) => {
                    on_net.emit(net(status_of(&failed.error), &failed.partial));
                    report(ChatAction::Fail(PaneId::Api(pane), failed.error.to_string()));
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
            prompts: vec![prompt.clone(); configs.len()],
            chat: None,
            configs: (*configs).clone(),
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
        // A chat message: each pane on its own conversation, with the conversation's system
        // message (fixed by its first message).
        let mut cx = make_start();
        let system = props.conversation.system.clone();
        cx.prompts = props.conversation.threads.iter().map(|t| conversation_prompt(t, system.as_deref())).collect();
        cx.chat = Some(props.on_conversation.clone());
        let last_sent = use_mut_ref(|| 0u64);
        use_effect_with(props.conversation.sent, move |sent| {
            let mut last = last_sent.borrow_mut();
            if *sent != 0 && *sent != *last {
                *last = *sent;
                drop(last);
                start_all(cx);
            }
        });
    }
    {
        let names: Vec<String> =
            configs.iter().map(|c| format!("{} {}", c.choice.provider.preset().name, c.choice.model.trim())).collect();
        let on_chat = props.on_conversation.clone();
        use_effect_with(names, move |names| on_chat.emit(ChatAction::SetApis(names.clone())));
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
                        panes::CostView::Priced { cost, .. } => cost.picos.to_string(),
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

    // Quick diff, of the answers without their reasoning.
    let mut answers: Vec<(String, String)> = Vec::new();
    if let Some(l) = &props.local {
        answers.push((format!("Local · {}", l.label), reasoning::answer(&l.text).to_string()));
    }
    for (n, run) in runs.0.iter().enumerate() {
        if !run.text.is_empty() {
            answers.push((format!("API {} · {}", n + 1, run.model), reasoning::answer(&run.text).to_string()));
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
