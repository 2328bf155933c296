//! `arbitre bench`: prefill and decode speed of one model file, the way the page's bench mode
//! measures it (same synthetic prompt, greedy, end-of-generation ignored), repeated, with the
//! median and the spread, and the peak resident memory of the process.
//!
//! Thread count: candle's CPU kernels size their pool once, from `CANDLE_NUM_THREADS` (else
//! `RAYON_NUM_THREADS`, else the physical core count), on first use. Changing the environment
//! of a running process is `unsafe` in Rust 2024, so `--threads N` re-runs this same command in
//! a child process with both variables set to N.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use arbitre_engine::{Backend, CpuBackend, Engine, GenStats, GenerateOptions, SamplingParams, WebGpuBackend};
use clap::{Args, ValueEnum};
use serde_json::json;

/// The environment variables candle reads for its thread pool, in the order it reads them.
const THREAD_VARS: [&str; 2] = ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"];

/// Where the benchmark runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchBackend {
    /// The CPU (SIMD quantized kernels).
    Cpu,
    /// The GPU through wgpu and arbitre's WGSL kernels.
    Webgpu,
}

/// Arguments of `arbitre bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// A GGUF file.
    #[arg(long)]
    model: PathBuf,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BenchBackend::Cpu)]
    backend: BenchBackend,
    /// CPU threads (default: candle's choice, the physical core count).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    runs: RunArgs,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// How a model is run for timing (shared with `arbitre gpubench`).
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Prompt length in tokens (BOS included), prefilled in one pass.
    #[arg(long, default_value_t = 64)]
    pub prompt_tokens: usize,
    /// Tokens generated after the prompt.
    #[arg(long, default_value_t = 64)]
    pub gen_tokens: usize,
    /// Timed runs; the report gives their median, minimum and maximum.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Untimed runs first (page faults, caches, pipeline compilation).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// KV cache size (default: the engine's, as in the page).
    #[arg(long)]
    pub n_ctx: Option<usize>,
}

/// Median, minimum and maximum of some runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

/// What the timed runs of one model gave.
pub struct Measured {
    /// The prompt's token ids.
    pub prompt: Vec<u32>,
    /// Prefill tokens/s of each timed run.
    pub prefill: Vec<f64>,
    /// Decode tokens/s of each timed run (after the first generated token).
    pub decode: Vec<f64>,
    /// Time to first token of each timed run, in ms.
    pub ttft_ms: Vec<f64>,
}

impl Measured {
    /// Prefill tokens/s over the runs.
    pub fn prefill_spread(&self) -> Spread {
        spread(&self.prefill)
    }

    /// Decode tokens/s over the runs.
    pub fn decode_spread(&self) -> Spread {
        spread(&self.decode)
    }
}

/// The warm-up runs, then the timed runs of `engine` on the synthetic prompt.
pub fn measure<B: Backend>(engine: &Engine<B>, a: &RunArgs) -> Result<Measured> {
    if a.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if a.gen_tokens < 2 {
        bail!("--gen-tokens must be at least 2 (decode speed is measured after the first token)");
    }
    let prompt = engine.synthetic_prompt(a.prompt_tokens)?;
    for _ in 0..a.warmup {
        one_run(engine, &prompt, a)?;
    }
    let runs = (0..a.repeat).map(|_| one_run(engine, &prompt, a)).collect::<Result<Vec<_>>>()?;
    Ok(Measured {
        prompt,
        prefill: runs.iter().map(|s| s.prefill_tps).collect(),
        decode: runs.iter().map(|s| s.decode_tps).collect(),
        ttft_ms: runs.iter().map(|s| s.ttft_ms).collect(),
    })
}

/// Runs `arbitre bench`.
pub fn bench(a: BenchArgs) -> Result<()> {
    if let Some(n) = a.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        let wanted = n.to_string();
        if THREAD_VARS.iter().any(|v| std::env::var(v).ok().as_deref() != Some(wanted.as_str())) {
            return rerun_with_threads(&wanted);
        }
    }
    let file_bytes =
        std::fs::metadata(&a.model).with_context(|| format!("cannot read {}", a.model.display()))?.len() as usize;
    let load_start = std::time::Instant::now();
    // Streamed from disk, as the page streams a download: peak memory is the weights held.
    match a.backend {
        BenchBackend::Cpu => {
            let engine =
                Engine::from_path(CpuBackend, &a.model).with_context(|| format!("loading {}", a.model.display()))?;
            report(&engine, &a, file_bytes, load_start)
        }
        BenchBackend::Webgpu => {
            let gpu = WebGpuBackend::request_blocking().context("--backend webgpu")?;
            let engine = Engine::from_path(gpu, &a.model).with_context(|| format!("loading {}", a.model.display()))?;
            report(&engine, &a, file_bytes, load_start)
        }
    }
}

/// Runs this same command again with candle's thread variables set, and exits with its status.
fn rerun_with_threads(n: &str) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the arbitre executable to set the thread count")?;
    let mut cmd = Command::new(exe);
    cmd.args(std::env::args_os().skip(1));
    for v in THREAD_VARS {
        cmd.env(v, n);
    }
    let status = cmd.status().context("re-running with the thread count set")?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// The threads candle's pool will use: the variables it reads, else its default.
fn effective_threads() -> (usize, &'static str) {
    for v in THREAD_VARS {
        if let Some(n) = std::env::var(v).ok().and_then(|s| s.parse::<usize>().ok()).filter(|&n| n > 0) {
            return (n, v);
        }
    }
    (std::thread::available_parallelism().map(usize::from).unwrap_or(1), "default")
}

/// Options of a greedy run of `gen_tokens` that ignores end-of-generation.
pub fn run_options(a: &RunArgs) -> GenerateOptions {
    GenerateOptions {
        sampling: SamplingParams { temperature: 0.0, ..SamplingParams::default() },
        max_tokens: a.gen_tokens,
        stop: Vec::new(),
        ignore_eos: true,
        n_ctx: a.n_ctx,
        thinking: None,
    }
}

fn one_run<B: Backend>(engine: &Engine<B>, prompt: &[u32], a: &RunArgs) -> Result<GenStats> {
    let mut run = engine.generate_ids(prompt.to_vec(), run_options(a))?;
    run.run_to_end()?;
    let s = run.stats().clone();
    if s.generated_tokens != a.gen_tokens {
        bail!("generated {} tokens instead of {} (context window too small?)", s.generated_tokens, a.gen_tokens);
    }
    Ok(s)
}

/// Median, minimum and maximum.
pub fn spread(values: &[f64]) -> Spread {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Spread { median, min: v.first().copied().unwrap_or(0.0), max: v.last().copied().unwrap_or(0.0) }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if known.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn report<B: Backend>(
    engine: &Engine<B>,
    a: &BenchArgs,
    file_bytes: usize,
    load_start: std::time::Instant,
) -> Result<()> {
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let m = measure(engine, &a.runs)?;
    let (prompt, prefill, decode) = (&m.prompt, &m.prefill, &m.decode);
    let Spread { median: p_med, min: p_min, max: p_max } = spread(prefill);
    let Spread { median: d_med, min: d_min, max: d_max } = spread(decode);
    let t_med = spread(&m.ttft_ms).median;
    let (threads, threads_from) = effective_threads();
    let backend = engine.model.backend().name();
    let rss = peak_rss_bytes();
    if a.json {
        let out = json!({
            "model": a.model.display().to_string(),
            "backend": backend,
            "threads": threads,
            "threads_from": threads_from,
            "prompt_tokens": prompt.len(),
            "prompt_ids": prompt,
            "generated_tokens": a.runs.gen_tokens,
            "repeat": a.runs.repeat,
            "warmup": a.runs.warmup,
            "file_bytes": file_bytes,
            "weight_bytes": engine.model.weight_bytes(),
            "load_ms": load_ms,
            "ttft_ms_median": t_med,
            "prefill_tps": { "median": p_med, "min": p_min, "max": p_max, "runs": prefill },
            "decode_tps": { "median": d_med, "min": d_min, "max": d_max, "runs": decode },
            "peak_rss_bytes": rss,
        });
        println!("{out}");
    } else {
        println!(
            "{} on {backend}, {threads} thread(s) ({threads_from}); prompt {} tok, generated {} tok, {} run(s) after {} warm-up",
            a.model.display(),
            prompt.len(),
            a.runs.gen_tokens,
            a.runs.repeat,
            a.runs.warmup
        );
        println!("  load     {load_ms:9.1} ms ({file_bytes} bytes)");
        println!("  prefill  {p_med:9.1} tok/s  (min {p_min:.1}, max {p_max:.1}); ttft median {t_med:.1} ms");
        println!("  decode   {d_med:9.1} tok/s  (min {d_min:.1}, max {d_max:.1})");
        match rss {
            Some(b) => println!("  peak RSS {:9.1} MiB", b as f64 / (1024.0 * 1024.0)),
            None => println!("  peak RSS unknown (no /proc/self/status)"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Spread, spread};

    #[test]
    fn spread_gives_median_min_max() {
        let s = |median, min, max| Spread { median, min, max };
        assert_eq!(spread(&[3.0, 1.0, 2.0]), s(2.0, 1.0, 3.0));
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]), s(2.5, 1.0, 4.0));
        assert_eq!(spread(&[]), s(0.0, 0.0, 0.0));
    }
}
