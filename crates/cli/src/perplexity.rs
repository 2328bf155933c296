//! `arbitre perplexity`: scores a text file the way llama.cpp's `llama-perplexity` does
//! (windows of `--ctx` tokens, BOS first where the vocabulary adds one, the second half of each
//! window scored; see `arbitre_engine::perplexity`), prints the perplexity, and with `--json`
//! writes every scored position's argmax and negative log-likelihood, so that a run can be set
//! against llama.cpp's position by position.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arbitre_engine::perplexity::{Reference, Scores, compare, perplexity};
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
    /// llama.cpp's scores of the same file and text (`tests/golden/real/ppl-<type>.json`):
    /// prints the comparison and fails when the conformance rule does not hold (perplexity
    /// within 1%, top-1 agreement at least llama.cpp's own token-by-token agreement minus one
    /// point).
    #[arg(long)]
    reference: Option<PathBuf>,
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
    let comparison = match &a.reference {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let r: Reference = serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
            let c = compare(&scores, &r)?;
            eprintln!("against llama.cpp ({}): {c}", r.ty);
            Some(c)
        }
        None => None,
    };
    if let Some(path) = &a.json {
        let mut out = report(&tokens, &scores, secs);
        if let Some(c) = &comparison {
            out["llama_cpp"] = json!({
                "perplexity": c.reference,
                "top1_agreement": c.top1_agreement,
                "self_top1_agreement": c.self_agreement,
                "passes": c.check().is_ok(),
            });
        }
        std::fs::write(path, serde_json::to_string(&out)?).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(Err(e)) = comparison.map(|c| c.check()) {
        bail!("not within the conformance rule: {e}");
    }
    Ok(())
}

fn report(tokens: &[u32], scores: &Scores, secs: f64) -> serde_json::Value {
    json!({
        "seconds": secs,
        "n_tokens": tokens.len(),
        "n_ctx": scores.n_ctx,
        "scored": scores.scored(),
        "nll_sum": scores.nll_sum(),
        "perplexity": scores.perplexity(),
        "windows": scores.windows,
    })
}
