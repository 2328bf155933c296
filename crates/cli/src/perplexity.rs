//! `arbitre perplexity`: scores a text file the way llama.cpp's `llama-perplexity` does
//! (windows of `--ctx` tokens, BOS first where the vocabulary adds one, the second half of each
//! window scored; see `arbitre_engine::perplexity`), prints the perplexity, and with `--json`
//! writes every scored position's argmax and negative log-likelihood, so that a run can be set
//! against llama.cpp's position by position.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use arbitre_engine::perplexity::{Scores, perplexity};
use arbitre_engine::{Backend, Engine, WebGpuBackend};
use clap::Args;
use serde_json::json;

use crate::{BackendChoice, ModelArg, load, load_on};

/// Arguments of `arbitre perplexity`.
#[derive(Args)]
pub struct PerplexityArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The text to score (UTF-8).
    #[arg(long)]
    file: PathBuf,
    /// Window size in tokens.
    #[arg(long, default_value_t = 512)]
    ctx: usize,
    /// Compute backend (auto is not offered: a score should say where it was computed).
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    backend: BackendChoice,
    /// Write the scores as JSON here: tokens, perplexity, and per window the argmax and
    /// negative log-likelihood of each scored position.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs `arbitre perplexity`.
pub fn run(a: PerplexityArgs) -> Result<()> {
    match a.backend {
        BackendChoice::Webgpu => {
            let gpu = WebGpuBackend::request_blocking().context("--backend webgpu")?;
            score(load_on(gpu, &a.model)?, &a)
        }
        _ => score(load(&a.model)?, &a),
    }
}

fn score<B: Backend>(engine: Engine<B>, a: &PerplexityArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let t = &engine.tokenizer;
    let bos = if t.add_bos_default() { t.bos() } else { None };
    let tokens = t.encode(&text, bos.is_some(), false)?;
    let started = Instant::now();
    let scores = perplexity(&engine.model, &tokens, a.ctx, bos, |done, total| {
        eprint!("\r[{}] window {done}/{total}", engine.model.backend().name());
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!();
    let ppl = scores.perplexity();
    println!("{ppl:.6}");
    eprintln!(
        "{} tokens, {} windows of {}, {} positions scored, perplexity {ppl:.4}, {:.1} tok/s",
        tokens.len(),
        scores.windows.len(),
        a.ctx,
        scores.scored(),
        (scores.windows.len() * (a.ctx - 1)) as f64 / secs
    );
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string(&report(&tokens, &scores))?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn report(tokens: &[u32], scores: &Scores) -> serde_json::Value {
    json!({
        "n_tokens": tokens.len(),
        "n_ctx": scores.n_ctx,
        "scored": scores.scored(),
        "nll_sum": scores.nll_sum(),
        "perplexity": scores.perplexity(),
        "windows": scores.windows,
    })
}
