//! Scoring a text the way llama.cpp's `llama-perplexity` does, so the two can be compared
//! number for number: the tokens are cut into consecutive windows of `n_ctx` (a tail shorter
//! than a window is left out), the first token of each window becomes BOS where the
//! vocabulary adds one, each window is evaluated from an empty cache, and only the second half
//! of each window is scored (the positions that have at least `n_ctx / 2` tokens of context):
//! the logits at position `j` predict token `j + 1`, for `j` from `n_ctx / 2` to `n_ctx - 2`.
//!
//! The pure parts ([`windows`], [`score_window`], [`Scores`], [`top1_agreement`]) serve the
//! CLI, the native conformance tests and the wasm build alike; [`perplexity`] and
//! [`perplexity_async`] drive a [`Model`] over them.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{EngineError, Result};
use crate::model::Model;

/// The scores of one window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowScores {
    /// The most likely next token at each scored position (the lowest id on a tie).
    pub argmax: Vec<u32>,
    /// Negative log-likelihood (natural log) of the actual next token at each scored position.
    pub nll: Vec<f64>,
}

/// The scores of a whole text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Window size in tokens.
    pub n_ctx: usize,
    /// Per window, in order.
    pub windows: Vec<WindowScores>,
}

impl Scores {
    /// Positions scored.
    pub fn scored(&self) -> usize {
        self.windows.iter().map(|w| w.nll.len()).sum()
    }

    /// Sum of the negative log-likelihoods.
    pub fn nll_sum(&self) -> f64 {
        self.windows.iter().flat_map(|w| &w.nll).sum()
    }

    /// The perplexity: `exp(mean NLL)`; NaN when nothing was scored.
    pub fn perplexity(&self) -> f64 {
        (self.nll_sum() / self.scored() as f64).exp()
    }

    /// Every scored position's argmax, windows one after the other.
    pub fn argmax(&self) -> Vec<u32> {
        self.windows.iter().flat_map(|w| w.argmax.iter().copied()).collect()
    }
}

/// The windows of `tokens` for a context of `n_ctx`, with BOS put first in each where given.
pub fn windows(tokens: &[u32], n_ctx: usize, bos: Option<u32>) -> Result<Vec<Vec<u32>>> {
    if n_ctx < 4 {
        return Err(EngineError::BadConfig(format!("perplexity needs windows of at least 4 tokens, not {n_ctx}")));
    }
    if tokens.len() < n_ctx {
        return Err(EngineError::BadConfig(format!(
            "the text has {} tokens: at least one window of {n_ctx} is needed",
            tokens.len()
        )));
    }
    Ok(tokens
        .chunks_exact(n_ctx)
        .map(|c| {
            let mut w = c.to_vec();
            if let Some(b) = bos {
                w[0] = b;
            }
            w
        })
        .collect())
}

/// The index of the first scored position of a window of `n_ctx`.
pub fn first_scored(n_ctx: usize) -> usize {
    n_ctx / 2
}

/// How many positions of a window of `n_ctx` are scored (and how many logit rows
/// [`score_window`] wants: those of positions `first_scored .. n_ctx - 1`).
pub fn n_scored(n_ctx: usize) -> usize {
    n_ctx - 1 - first_scored(n_ctx)
}

/// Scores one window from the logits of its scored positions (`n_scored(window.len())` rows
/// of `n_vocab`). Log-softmax in f64, as llama-perplexity does.
pub fn score_window(window: &[u32], logits: &[f32], n_vocab: usize) -> Result<WindowScores> {
    let first = first_scored(window.len());
    let n = n_scored(window.len());
    if n_vocab == 0 || logits.len() != n * n_vocab {
        return Err(EngineError::BadConfig(format!("{} logits for {n} positions of {n_vocab} tokens", logits.len())));
    }
    let mut out = WindowScores { argmax: Vec::with_capacity(n), nll: Vec::with_capacity(n) };
    for (i, row) in logits.chunks_exact(n_vocab).enumerate() {
        let next = window[first + i + 1] as usize;
        if next >= n_vocab {
            return Err(EngineError::BadConfig(format!("token {next} is outside the vocabulary of {n_vocab}")));
        }
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = j;
            }
        }
        let max = row[best] as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        out.argmax.push(best as u32);
        out.nll.push(sum.ln() - (row[next] as f64 - max));
    }
    Ok(out)
}

/// The share of positions (0..=1) where two runs' argmax agree; 0 when either is empty.
/// Positions past the shorter run count as disagreements.
pub fn top1_agreement(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().max(b.len());
    if n == 0 {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n as f64
}

/// llama.cpp's scores of one file (`tests/golden/real/ppl-<type>.json`, written by
/// `scripts/real_reference.py`): what [`compare`] sets a run against.
#[derive(Clone, Debug, Deserialize)]
pub struct Reference {
    /// The file type, as llama.cpp names it (`Q4_K_M`).
    #[serde(rename = "type")]
    pub ty: String,
    /// The file's name in the real-models folder.
    pub file: String,
    /// The file's sha256.
    pub sha256: String,
    /// Window size.
    pub n_ctx: usize,
    /// BOS put first in each window, if the vocabulary adds one.
    pub bos: Option<u32>,
    /// llama.cpp's perplexity, each window evaluated in one batch.
    pub perplexity: f64,
    /// Share of positions where llama.cpp's token-by-token run has the same argmax as its
    /// batched run on the same file.
    pub self_top1_agreement: f64,
    /// The batched run's argmax at every scored position.
    pub argmax: Vec<u32>,
}

/// How a run's scores compare with llama.cpp's.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The run's perplexity.
    pub perplexity: f64,
    /// llama.cpp's.
    pub reference: f64,
    /// Share of scored positions with llama.cpp's argmax.
    pub top1_agreement: f64,
    /// llama.cpp's agreement with itself (token by token against batched).
    pub self_agreement: f64,
}

impl Comparison {
    /// Relative difference of the perplexities (`0.01` is 1%).
    pub fn perplexity_gap(&self) -> f64 {
        self.perplexity / self.reference - 1.0
    }

    /// The conformance rule for quantized files: perplexity within 1% of llama.cpp's, and top-1
    /// agreement with llama.cpp's batched run no lower than llama.cpp's own token-by-token
    /// agreement minus one point. `Err` says which part failed.
    pub fn check(&self) -> std::result::Result<(), String> {
        // A NaN gap (a broken run) fails too.
        if self.perplexity_gap().abs().is_nan() || self.perplexity_gap().abs() > 0.01 {
            return Err(format!(
                "perplexity {:.4} is not within 1% of llama.cpp's {:.4} ({:+.3}%)",
                self.perplexity,
                self.reference,
                100.0 * self.perplexity_gap()
            ));
        }
        if self.top1_agreement < self.self_agreement - 0.01 {
            return Err(format!(
                "top-1 agreement {:.2}% with llama.cpp is below llama.cpp's own {:.2}% minus one point",
                100.0 * self.top1_agreement,
                100.0 * self.self_agreement
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "perplexity {:.4} (llama.cpp {:.4}, {:+.3}%), top-1 agreement {:.2}% (llama.cpp with itself {:.2}%)",
            self.perplexity,
            self.reference,
            100.0 * self.perplexity_gap(),
            100.0 * self.top1_agreement,
            100.0 * self.self_agreement
        )
    }
}

/// Sets `scores` against llama.cpp's `reference` on the same file and tokens.
pub fn compare(scores: &Scores, reference: &Reference) -> Result<Comparison> {
    if scores.scored() != reference.argmax.len() || scores.n_ctx != reference.n_ctx {
        return Err(EngineError::BadConfig(format!(
            "{} positions scored in windows of {}, the reference has {} in windows of {}",
            scores.scored(),
            scores.n_ctx,
            reference.argmax.len(),
            reference.n_ctx
        )));
    }
    Ok(Comparison {
        perplexity: scores.perplexity(),
        reference: reference.perplexity,
        top1_agreement: top1_agreement(&scores.argmax(), &reference.argmax),
        self_agreement: reference.self_top1_agreement,
    })
}

/// Scores `tokens` with `model`; `progress(done, total)` is called after each window.
pub fn perplexity<B: Backend>(
    model: &Model<B>,
    tokens: &[u32],
    n_ctx: usize,
    bos: Option<u32>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Scores> {
    let wins = windows(tokens, n_ctx, bos)?;
    let mut scores = Scores { n_ctx, windows: Vec::with_capacity(wins.len()) };
    for (i, w) in wins.iter().enumerate() {
        let mut session = model.session(n_ctx)?;
        check_ctx(&session, n_ctx)?;
        let logits = model.forward_last(&mut session, &w[..n_ctx - 1], n_scored(n_ctx))?;
        scores.windows.push(score_window(w, &logits, model.config.n_vocab)?);
        progress(i + 1, wins.len());
    }
    Ok(scores)
}

/// [`perplexity`] reading the logits back without blocking (the browser's way).
pub async fn perplexity_async<B: Backend>(
    model: &Model<B>,
    tokens: &[u32],
    n_ctx: usize,
    bos: Option<u32>,
) -> Result<Scores> {
    let wins = windows(tokens, n_ctx, bos)?;
    let mut scores = Scores { n_ctx, windows: Vec::with_capacity(wins.len()) };
    for w in &wins {
        let mut session = model.session(n_ctx)?;
        check_ctx(&session, n_ctx)?;
        let logits = model.forward_last_async(&mut session, &w[..n_ctx - 1], n_scored(n_ctx)).await?;
        scores.windows.push(score_window(w, &logits, model.config.n_vocab)?);
    }
    Ok(scores)
}

fn check_ctx<B: Backend>(session: &crate::model::Session<B>, n_ctx: usize) -> Result<()> {
    if session.n_ctx() < n_ctx {
        return Err(EngineError::BadConfig(format!(
            "windows of {n_ctx} tokens exceed the model's context of {}",
            session.n_ctx()
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_drop_the_tail_and_put_bos_first() {
        let t: Vec<u32> = (10..21).collect();
        let w = windows(&t, 4, Some(1)).unwrap();
        assert_eq!(w, vec![vec![1, 11, 12, 13], vec![1, 15, 16, 17]]);
        assert_eq!(windows(&t, 4, None).unwrap()[1], vec![14, 15, 16, 17]);
        assert!(windows(&t[..3], 4, None).is_err());
        assert!(windows(&t, 2, None).is_err());
    }

    #[test]
    fn a_window_scores_its_second_half_against_the_next_tokens() {
        // n_ctx 6: positions 3 and 4 are scored, predicting tokens 4 and 5.
        let window = [0u32, 1, 2, 0, 2, 1];
        assert_eq!(n_scored(6), 2);
        let logits = [
            0.0f32, 0.0, 3.0, // position 3 predicts window[4] = 2, the argmax
            1.0, 0.0, 0.0, // position 4 predicts window[5] = 1, not the argmax
        ];
        let s = score_window(&window, &logits, 3).unwrap();
        assert_eq!(s.argmax, vec![2, 0]);
        let lse = |r: [f64; 3]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        assert!((s.nll[0] - (lse([0.0, 0.0, 3.0]) - 3.0)).abs() < 1e-12);
        assert!((s.nll[1] - (lse([1.0, 0.0, 0.0]) - 0.0)).abs() < 1e-12);
        let all = Scores { n_ctx: 6, windows: vec![s.clone(), s] };
        assert_eq!(all.scored(), 4);
        assert!((all.perplexity() - (all.nll_sum() / 4.0).exp()).abs() < 1e-12);
        assert!(score_window(&window, &logits[..5], 3).is_err());
    }

    #[test]
    fn the_rule_allows_one_percent_and_one_point() {
        let c = |perplexity: f64, top1_agreement: f64| Comparison {
            perplexity,
            reference: 20.0,
            top1_agreement,
            self_agreement: 0.95,
        };
        assert!(c(20.19, 0.94).check().is_ok());
        assert!(c(19.81, 0.99).check().is_ok());
        assert!(c(20.21, 0.99).check().unwrap_err().contains("within 1%"));
        assert!(c(19.79, 0.99).check().is_err());
        assert!(c(20.0, 0.939).check().unwrap_err().contains("minus one point"));
        assert!(c(f64::NAN, 1.0).check().is_err());
    }

    #[test]
    fn agreement_counts_equal_positions() {
        assert_eq!(top1_agreement(&[1, 2, 3, 4], &[1, 2, 0, 4]), 0.75);
        assert_eq!(top1_agreement(&[1, 2], &[1, 2, 3, 4]), 0.5);
        assert_eq!(top1_agreement(&[], &[]), 0.0);
    }
}
