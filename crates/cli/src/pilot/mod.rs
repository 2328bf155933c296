//! `arbitre pilot`: a task set run on the local model and on API panes, scored and reported.
//!
//! Only the running lives here: reading the task file, driving the engine, sending the API
//! requests and timing them. Importing, scoring, statistics and the exports are
//! `arbitre-pilot`'s (the page uses the same code), request building and stream decoding are
//! `arbitre-hosted`'s, prices are `arbitre-pricing`'s.

mod api;
mod local;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arbitre_engine::{CpuBackend, WebGpuBackend};
use arbitre_pilot::{Import, ImportOptions, Report, ResultRow, Task};
use clap::{ArgMatches, Args};

use crate::{BackendChoice, ModelArg, load, load_on};

/// The local pane's default name.
const LOCAL_PANE: &str = "local";

#[derive(Args)]
pub(crate) struct PilotArgs {
    /// Task file: arbitre JSONL, promptfoo CSV / YAML / JSON, OpenAI evals JSONL or plain CSV
    /// (told apart by name and content); or a built-in set: sample:triage, sample:invoices,
    /// sample:answers.
    #[arg(long)]
    tasks: String,
    /// Prompt template for promptfoo files (`{{ var }}`), overriding the file's own prompts.
    #[arg(long)]
    template: Option<String>,
    /// The local model: a GGUF file, or a llama2.c checkpoint with --tokenizer. Optional when
    /// at least one --api is given.
    #[arg(long)]
    model: Option<PathBuf>,
    /// llama2.c tokenizer file (tokN.bin), for llama2.c checkpoints.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Chat template of the local model: a named family (chatml, llama3, llama2, phi3, ...)
    /// instead of the file's own.
    #[arg(long)]
    chat_template: Option<String>,
    /// Where the local model runs.
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    backend: BackendChoice,
    /// Name of the local pane in the report.
    #[arg(long, default_value = LOCAL_PANE)]
    local_name: String,
    /// An API pane: a preset (openai, anthropic, mistral, openrouter, groq, deepseek, together,
    /// vllm, ollama, llamacpp, custom). Repeatable; the --api-* and --price-* options after it
    /// belong to it.
    #[arg(long = "api")]
    apis: Vec<String>,
    /// Base URL of the preceding --api (required for custom; e.g. http://localhost:8080/v1).
    #[arg(long)]
    api_base: Vec<String>,
    /// Model name of the preceding --api, as the provider spells it (required).
    #[arg(long)]
    api_model: Vec<String>,
    /// Environment variable holding the preceding --api's key (the key is never printed).
    #[arg(long)]
    api_key_env: Vec<String>,
    /// Input price of the preceding --api, USD per million tokens (else the built-in table).
    #[arg(long)]
    price_in: Vec<String>,
    /// Output price of the preceding --api, USD per million tokens (else the built-in table).
    #[arg(long)]
    price_out: Vec<String>,
    /// System message, put before each task's messages unless the task has its own.
    #[arg(long)]
    system: Option<String>,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Maximum tokens of each answer.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Seed of the local sampler (and of APIs that take one).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Requests in flight at once per API pane.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Retries of one request after HTTP 429 (honouring Retry-After) or a 5xx.
    #[arg(long, default_value_t = 4)]
    max_retries: u32,
    /// Longest wait for one API request, in seconds.
    #[arg(long, default_value_t = 300)]
    request_timeout: u64,
    /// Title of the report.
    #[arg(long)]
    title: Option<String>,
    /// The HTML report (self-contained, no script).
    #[arg(long)]
    out: PathBuf,
    /// CSV of every row.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// JSON report (re-importable into the page).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Run settings shared by every pane.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub system: Option<String>,
    pub temperature: f32,
    pub max_tokens: usize,
    pub seed: u64,
}

impl RunSettings {
    /// The task's messages, with the run's system message first unless the task has one.
    pub fn messages(&self, task: &Task) -> Vec<arbitre_pilot::Message> {
        let mut messages = task.input.to_messages();
        if let Some(system) = &self.system
            && messages.first().is_none_or(|m| m.role != "system")
        {
            messages.insert(0, arbitre_pilot::Message { role: "system".into(), content: system.clone() });
        }
        messages
    }
}

/// Tasks done and failed on one pane, printed on stderr as they come.
pub(crate) struct Progress {
    pane: String,
    total: usize,
    started: Instant,
    state: Mutex<(usize, usize, usize)>, // done, failed, errors printed
}

/// Request errors printed per pane before the rest are left to the report.
const MAX_PRINTED_ERRORS: usize = 5;

impl Progress {
    pub fn new(pane: &str, total: usize) -> Self {
        Progress { pane: pane.to_string(), total, started: Instant::now(), state: Mutex::new((0, 0, 0)) }
    }

    /// Records one finished task.
    pub fn record(&self, row: &ResultRow) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        if !row.pass {
            s.1 += 1;
        }
        if let Some(e) = &row.error {
            s.2 += 1;
            if s.2 <= MAX_PRINTED_ERRORS {
                eprintln!("[{}] task {}: {e}", self.pane, row.task_id);
            } else if s.2 == MAX_PRINTED_ERRORS + 1 {
                eprintln!("[{}] more request errors: see the report", self.pane);
            }
        }
        let (done, failed) = (s.0, s.1);
        let step = self.total.div_ceil(10).max(1);
        if done % step == 0 || done == self.total {
            let elapsed = self.started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (self.total - done) as f64;
            eprintln!(
                "[{}] {done}/{} done, {failed} failed, {elapsed:.1} s elapsed, ~{left:.0} s left",
                self.pane, self.total
            );
        }
    }
}

/// Runs `arbitre pilot`. `matches` are the subcommand's own, to tell which --api each
/// --api-* option follows.
pub(crate) fn run(a: Box<PilotArgs>, matches: Option<&ArgMatches>) -> Result<()> {
    let panes = api::panes(&a, matches)?;
    if a.model.is_none() && panes.is_empty() {
        bail!("nothing to run: give --model, at least one --api, or both");
    }
    // Checked before the API panes start spending.
    if let Some(model) = &a.model {
        std::fs::metadata(model).with_context(|| format!("cannot read {}", model.display()))?;
    }
    let (source, import) = load_tasks(&a)?;
    if import.tasks.is_empty() {
        bail!("{source}: no task could be read");
    }
    let tasks = import.tasks;
    eprintln!(
        "pilot: {} tasks from {source} ({}), {} rows left out; panes: {}",
        tasks.len(),
        import.format.name(),
        import.errors.len(),
        a.model
            .iter()
            .map(|_| a.local_name.clone())
            .chain(panes.iter().map(|p| p.name.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let settings =
        RunSettings { system: a.system.clone(), temperature: a.temperature, max_tokens: a.max_tokens, seed: a.seed };
    let transport = api::Transport {
        concurrency: a.concurrency.max(1),
        max_retries: a.max_retries,
        timeout: std::time::Duration::from_secs(a.request_timeout.max(1)),
    };

    // The API panes run on their own threads while the local model runs here.
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut retries = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = panes
            .iter()
            .map(|pane| {
                let (tasks, settings, transport) = (&tasks, &settings, &transport);
                scope.spawn(move || api::run_pane(pane, tasks, settings, transport))
            })
            .collect();
        let local = match &a.model {
            Some(model) => run_local(&a, model, &tasks, &settings),
            None => Ok(Vec::new()),
        };
        for (pane, h) in panes.iter().zip(handles) {
            match h.join() {
                Ok(out) => {
                    rows.extend(out.rows);
                    retries.push((pane.name.clone(), out.retries));
                }
                Err(_) => bail!("the thread of pane {} panicked", pane.name),
            }
        }
        rows.splice(0..0, local?);
        Ok(())
    })?;

    let mut pane_names: Vec<String> = a.model.iter().map(|_| a.local_name.clone()).collect();
    pane_names.extend(panes.iter().map(|p| p.name.clone()));
    let report = Report {
        title: a.title.clone().unwrap_or_else(|| format!("arbitre pilot: {source}")),
        local_pane: a.model.as_ref().map(|_| a.local_name.clone()),
        panes: pane_names,
        tasks,
        rows,
    };
    write(&a.out, &report.to_html())?;
    let mut written = vec![a.out.display().to_string()];
    if let Some(p) = &a.csv {
        write(p, &report.to_csv()?)?;
        written.push(p.display().to_string());
    }
    if let Some(p) = &a.json {
        write(p, &report.to_json()?)?;
        written.push(p.display().to_string());
    }
    let priced: Vec<(String, String)> = panes.iter().map(|p| (p.name.clone(), p.price_note())).collect();
    print!("{}", summary::render(&report, &import.errors, &retries, &priced));
    println!("wrote {}", written.join(", "));
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Reads the task file (or a built-in sample) and prints its unreadable rows on stderr.
fn load_tasks(a: &PilotArgs) -> Result<(String, Import)> {
    let (source, import) = if let Some(id) = a.tasks.strip_prefix("sample:") {
        let Some(sample) = arbitre_pilot::samples::sample(id) else {
            let ids: Vec<&str> = arbitre_pilot::samples::SAMPLES.iter().map(|s| s.id).collect();
            bail!("no built-in task set {id:?}; there are: {}", ids.join(", "));
        };
        (format!("sample:{id}"), sample.load()?)
    } else {
        let path = Path::new(&a.tasks);
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| a.tasks.clone());
        let options = ImportOptions { format: None, prompt_template: a.template.clone() };
        let import =
            arbitre_pilot::import(&name, &text, &options).with_context(|| format!("reading {}", path.display()))?;
        (a.tasks.clone(), import)
    };
    for e in &import.errors {
        eprintln!("arbitre: {source}: line {}: {} (row left out)", e.line, e.reason);
    }
    Ok((source, import))
}

fn run_local(a: &PilotArgs, model: &Path, tasks: &[Task], settings: &RunSettings) -> Result<Vec<ResultRow>> {
    let m = ModelArg { model: model.to_path_buf(), tokenizer: a.tokenizer.clone() };
    let template = a.chat_template.as_deref();
    let pane = a.local_name.as_str();
    match a.backend {
        BackendChoice::Cpu => local::run_pane(load(&m)?, template, pane, tasks, settings),
        BackendChoice::Webgpu => {
            let gpu = WebGpuBackend::request_blocking().context("--backend webgpu")?;
            local::run_pane(load_on(gpu, &m)?, template, pane, tasks, settings)
        }
        BackendChoice::Auto => match WebGpuBackend::request_blocking() {
            Ok(gpu) => local::run_pane(load_on(gpu, &m)?, template, pane, tasks, settings),
            Err(e) => {
                eprintln!("arbitre: WebGPU unavailable, running on the CPU: {e}");
                local::run_pane(load_on(CpuBackend, &m)?, template, pane, tasks, settings)
            }
        },
    }
}
