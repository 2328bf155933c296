//! The API panes: which preset, model, key and price each --api has, and a small blocking
//! transport (ureq) driving `arbitre-hosted`'s request building and stream decoding, with
//! bounded retries on 429 (honouring Retry-After) and 5xx.

use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arbitre_hosted::{
    ChatMessage, HostedError, PreparedRequest, Prompt, ProviderId, RequestSpec, Role, RunSummary, Sampling,
    StreamSession, build_request,
};
use arbitre_pilot::{Measures, ResultRow, Task};
use arbitre_pricing::{Currency, ExchangeRate, PricePerMTok, PriceTable, TokenPrices};
use clap::ArgMatches;

use super::{PilotArgs, Progress, RunSettings};

/// Longest Retry-After honoured, in seconds (a longer one is waited this long).
const MAX_RETRY_AFTER_SECS: u64 = 120;
/// Largest error body read, in bytes.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// One API pane as given on the command line.
pub(crate) struct ApiPane {
    /// Name in the report: `preset:model`.
    pub name: String,
    provider: ProviderId,
    base_url: Option<String>,
    model: String,
    /// The key, read from the environment; never printed (`Debug` is not derived).
    key: Option<String>,
    prices: Option<(TokenPrices, String)>,
}

impl ApiPane {
    /// Where the pane's price comes from, for the summary.
    pub fn price_note(&self) -> String {
        match &self.prices {
            Some((_, source)) => source.clone(),
            None => "no price known: give --price-in and --price-out".into(),
        }
    }
}

/// How requests are sent.
pub(crate) struct Transport {
    pub concurrency: usize,
    pub max_retries: u32,
    pub timeout: Duration,
}

/// What a pane's run gave.
pub(crate) struct PaneOutcome {
    pub rows: Vec<ResultRow>,
    /// Requests sent again after a 429 or a 5xx.
    pub retries: u64,
}

/// The values of a repeatable option, each with the index of the --api it follows.
fn owned_values(m: &ArgMatches, id: &str, api_indices: &[usize], flag: &str) -> Result<Vec<Option<String>>> {
    let mut out = vec![None; api_indices.len()];
    let (Some(values), Some(indices)) = (m.get_many::<String>(id), m.indices_of(id)) else { return Ok(out) };
    for (value, index) in values.zip(indices) {
        let Some(owner) = api_indices.iter().rposition(|&a| a < index) else {
            bail!("{flag} {value:?} comes before any --api: put it after the --api it belongs to");
        };
        if out[owner].replace(value.clone()).is_some() {
            bail!("{flag} is given twice for --api number {}", owner + 1);
        }
    }
    Ok(out)
}

/// The API panes of the command line, keys read and prices found.
pub(crate) fn panes(a: &PilotArgs, matches: Option<&ArgMatches>) -> Result<Vec<ApiPane>> {
    if a.apis.is_empty() {
        let stray = [&a.api_base, &a.api_model, &a.api_key_env, &a.price_in, &a.price_out];
        if stray.iter().any(|v| !v.is_empty()) {
            bail!("--api-* and --price-* options need an --api before them");
        }
        return Ok(Vec::new());
    }
    let Some(m) = matches else { bail!("internal: no argument positions for --api") };
    let api_indices: Vec<usize> = m.indices_of("apis").map(Iterator::collect).unwrap_or_default();
    let bases = owned_values(m, "api_base", &api_indices, "--api-base")?;
    let models = owned_values(m, "api_model", &api_indices, "--api-model")?;
    let key_envs = owned_values(m, "api_key_env", &api_indices, "--api-key-env")?;
    let price_ins = owned_values(m, "price_in", &api_indices, "--price-in")?;
    let price_outs = owned_values(m, "price_out", &api_indices, "--price-out")?;
    let table = PriceTable::builtin().context("the built-in price table")?;

    let mut panes: Vec<ApiPane> = Vec::new();
    for (i, preset_name) in a.apis.iter().enumerate() {
        let n = i + 1;
        let Some(provider) = ProviderId::parse(preset_name) else {
            let known: Vec<&str> = ProviderId::ALL.iter().map(|p| p.as_str()).collect();
            bail!("--api {preset_name:?} is not a preset; use one of {}", known.join(", "));
        };
        let Some(model) = models[i].clone() else { bail!("--api number {n} ({preset_name}) needs --api-model") };
        let key = match &key_envs[i] {
            Some(var) => match std::env::var(var) {
                Ok(k) if !k.trim().is_empty() => Some(k),
                _ => bail!("--api-key-env {var}: that environment variable is not set or empty"),
            },
            None => None,
        };
        let prices = match (&price_ins[i], &price_outs[i]) {
            (Some(pin), Some(pout)) => {
                let p = |s: &str, flag: &str| PricePerMTok::parse(s).with_context(|| format!("{flag} {s:?}"));
                let prices = TokenPrices {
                    input: p(pin, "--price-in")?,
                    cached_input: None,
                    output: p(pout, "--price-out")?,
                    currency: Currency::Usd,
                };
                Some((prices, format!("price given: {pin} in / {pout} out USD per 1M tokens")))
            }
            (None, None) if !provider.preset().base_url_editable => {
                table.find(provider.as_str(), &model).or_else(|| table.find_model(&model)).map(|e| {
                    let prices = e.token_prices().convert(Currency::Usd, ExchangeRate::DEFAULT);
                    (prices, format!("price table: {} ({}, as of {})", e.name, e.provider, e.as_of))
                })
            }
            (None, None) => None,
            _ => bail!("--api number {n} ({preset_name}): give both --price-in and --price-out, or neither"),
        };
        let mut name = format!("{}:{model}", provider.as_str());
        if panes.iter().any(|p| p.name == name) {
            name = format!("{name}#{n}");
        }
        let pane = ApiPane { name, provider, base_url: bases[i].clone(), model, key, prices };
        // Refuse a pane that cannot build its request (no base URL, missing key...) before
        // anything runs.
        build_request(&pane.spec(vec![ChatMessage::new(Role::User, "check")], &Sampling::default())).map_err(|e| {
            match e {
                HostedError::MissingKey { .. } => {
                    anyhow::anyhow!("--api number {n} ({preset_name}) needs a key: --api-key-env VAR")
                }
                e => anyhow::anyhow!("--api number {n} ({preset_name}): {e}"),
            }
        })?;
        panes.push(pane);
    }
    Ok(panes)
}

impl ApiPane {
    fn spec(&self, messages: Vec<ChatMessage>, sampling: &Sampling) -> RequestSpec {
        RequestSpec {
            provider: self.provider,
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key: self.key.clone(),
            prompt: Prompt::Chat { messages },
            sampling: sampling.clone(),
        }
    }

    /// The cost of one response in USD, from its usage (reported, or estimated where the API
    /// reported none).
    fn cost_usd(&self, summary: &RunSummary) -> Option<f64> {
        let (prices, _) = self.prices.as_ref()?;
        let u = summary.resolved_usage();
        let cached = u.cached_input.min(u.input.tokens);
        let usage = arbitre_pricing::Usage {
            input_tokens: u.input.tokens - cached,
            cached_input_tokens: cached,
            output_tokens: u.output.tokens,
        };
        let cost = prices.cost(&usage).ok()?;
        Some(cost.picos as f64 / 1e12)
    }
}

fn role(r: &str) -> Role {
    match r {
        "system" | "developer" => Role::System,
        "assistant" => Role::Assistant,
        _ => Role::User,
    }
}

/// Runs every task on one API pane with `transport.concurrency` threads.
pub(crate) fn run_pane(pane: &ApiPane, tasks: &[Task], settings: &RunSettings, transport: &Transport) -> PaneOutcome {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(transport.timeout))
        .user_agent(concat!("arbitre/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let sampling = Sampling {
        temperature: Some(f64::from(settings.temperature)),
        max_tokens: Some(u32::try_from(settings.max_tokens).unwrap_or(u32::MAX)),
        seed: Some(settings.seed),
        // Sent only where the server takes it; llama-cpp-python would otherwise apply 1.1.
        repeat_penalty: Some(1.0),
        ..Sampling::default()
    };
    let progress = Progress::new(&pane.name, tasks.len());
    let next = AtomicUsize::new(0);
    let retries = AtomicUsize::new(0);
    let rows: Mutex<Vec<(usize, ResultRow)>> = Mutex::new(Vec::with_capacity(tasks.len()));
    let epoch = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..transport.concurrency.min(tasks.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(task) = tasks.get(i) else { break };
                    let messages = settings
                        .messages(task)
                        .into_iter()
                        .map(|m| ChatMessage::new(role(&m.role), m.content))
                        .collect();
                    let (row, retried) = run_task(&agent, pane, task, pane.spec(messages, &sampling), transport, epoch);
                    retries.fetch_add(retried as usize, Ordering::Relaxed);
                    progress.record(&row);
                    rows.lock().unwrap_or_else(|e| e.into_inner()).push((i, row));
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by_key(|(i, _)| *i);
    PaneOutcome { rows: rows.into_iter().map(|(_, r)| r).collect(), retries: retries.into_inner() as u64 }
}

/// One task, retried after 429 and 5xx; returns its row and how many retries it took.
fn run_task(
    agent: &ureq::Agent,
    pane: &ApiPane,
    task: &Task,
    spec: RequestSpec,
    transport: &Transport,
    epoch: Instant,
) -> (ResultRow, u32) {
    let prepared = match build_request(&spec) {
        Ok(p) => p,
        Err(e) => return (ResultRow::failed(&task.id, &pane.name, &e.to_string(), Measures::default()), 0),
    };
    let mut attempt = 0;
    loop {
        match send(agent, &prepared, epoch) {
            Ok(summary) => {
                let usage = summary.resolved_usage();
                let m = Measures {
                    latency_ms: Some(summary.total_ms.max(0.0).round() as u64),
                    ttft_ms: summary.first_token_ms.map(|t| t.max(0.0).round() as u64),
                    tokens_in: Some(usage.input.tokens),
                    tokens_out: Some(usage.output.tokens),
                    cost_usd: pane.cost_usd(&summary),
                };
                return (ResultRow::scored(task, &pane.name, &summary.text, m), attempt);
            }
            Err(failure) => {
                let wait = retry_wait(&failure.error, attempt);
                if let Some(wait) = wait.filter(|_| attempt < transport.max_retries) {
                    attempt += 1;
                    std::thread::sleep(wait);
                    continue;
                }
                let m = failure.partial.map_or_else(Measures::default, |s| Measures {
                    latency_ms: Some(s.total_ms.max(0.0).round() as u64),
                    ttft_ms: s.first_token_ms.map(|t| t.max(0.0).round() as u64),
                    ..Measures::default()
                });
                let error = if attempt > 0 {
                    format!("{} (after {attempt} retries)", failure.error)
                } else {
                    failure.error.to_string()
                };
                return (ResultRow::failed(&task.id, &pane.name, &error, m), attempt);
            }
        }
    }
}

/// How long to wait before sending again, or `None` when retrying would not help.
fn retry_wait(error: &SendError, attempt: u32) -> Option<Duration> {
    let backoff = Duration::from_secs(1u64 << attempt.min(5));
    match error {
        SendError::Hosted(HostedError::RateLimited { retry_after_secs: Some(s), .. }) => {
            Some(Duration::from_secs((*s).min(MAX_RETRY_AFTER_SECS)))
        }
        SendError::Hosted(HostedError::RateLimited { retry_after_secs: None, .. } | HostedError::Server { .. }) => {
            Some(backoff)
        }
        _ => None,
    }
}

/// Why one request failed.
#[derive(Debug)]
enum SendError {
    /// An HTTP or stream error, as `arbitre-hosted` maps it.
    Hosted(HostedError),
    /// The connection itself (DNS, TCP, TLS, timeout).
    Network(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Hosted(e) => e.fmt(f),
            SendError::Network(e) => f.write_str(e),
        }
    }
}

struct Failure {
    error: SendError,
    /// What arrived before the failure, when the stream had started.
    partial: Option<RunSummary>,
}

fn hosted(error: HostedError) -> Box<Failure> {
    Box::new(Failure { error: SendError::Hosted(error), partial: None })
}

fn ms_since(epoch: Instant) -> f64 {
    epoch.elapsed().as_secs_f64() * 1000.0
}

/// Sends one request and reads its stream to the end.
fn send(agent: &ureq::Agent, request: &PreparedRequest, epoch: Instant) -> Result<RunSummary, Box<Failure>> {
    request.check_key_destination().map_err(hosted)?;
    let mut builder = agent.post(&request.http.url);
    for (name, value) in &request.http.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut session = StreamSession::new(request, ms_since(epoch));
    let network = |e: ureq::Error| {
        Box::new(Failure {
            error: SendError::Network(format!("{} at {}: {e}", request.provider, request.host)),
            partial: None,
        })
    };
    let response = builder.send(request.http.body.as_str()).map_err(network)?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.into_body().into_with_config().limit(MAX_ERROR_BODY).lossy_utf8(true).read_to_string();
        let body = body.unwrap_or_default();
        return Err(hosted(HostedError::from_http(
            request.provider,
            &request.model,
            status,
            retry_after.as_deref(),
            &body,
        )));
    }
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let partial = session.into_partial(ms_since(epoch));
                return Err(Box::new(Failure {
                    error: SendError::Network(format!(
                        "{} at {}: reading the stream: {e}",
                        request.provider, request.host
                    )),
                    partial: Some(partial),
                }));
            }
        };
        if n == 0 {
            break;
        }
        if let Err(e) = session.feed(&buf[..n], ms_since(epoch)) {
            return Err(Box::new(Failure {
                error: SendError::Hosted(e),
                partial: Some(session.into_partial(ms_since(epoch))),
            }));
        }
        if session.is_done() {
            break;
        }
    }
    match session.end(ms_since(epoch)) {
        (summary, None) => Ok(summary),
        (partial, Some(e)) => Err(Box::new(Failure { error: SendError::Hosted(e), partial: Some(partial) })),
    }
}
