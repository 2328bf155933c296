//! Step-wise generation: one token per [`Generator::step`], cancellable between steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arbitre_tokenizer::{StreamDecoder, Tokenizer};
use web_time::Instant;

use crate::backend::Backend;
use crate::error::{EngineError, Result};
use crate::model::{Model, Session};
use crate::sampler::{Sampler, SamplingParams};

/// Context window of a run when none is asked for: enough for chats, small enough that the KV
/// cache of a 1B model fits a browser tab.
pub const DEFAULT_N_CTX: usize = 4096;

/// What a run may do besides sampling.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// Stop after this many generated tokens.
    pub max_tokens: usize,
    /// Stop when the text contains one of these (the stop string is not returned).
    pub stop: Vec<String>,
    /// Keep going past end-of-generation tokens (benchmarks).
    pub ignore_eos: bool,
    /// KV cache size; `None` uses the model's training context up to [`DEFAULT_N_CTX`].
    pub n_ctx: Option<usize>,
    /// For a chat run, the template's thinking switch (`enable_thinking`, as in Qwen3's):
    /// `Some(false)` asks a thinking model to answer without reasoning, `Some(true)` to reason
    /// first; `None` leaves the template's default. Templates without the switch ignore it.
    pub thinking: Option<bool>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            sampling: SamplingParams::default(),
            max_tokens: 256,
            stop: Vec::new(),
            ignore_eos: false,
            n_ctx: None,
            thinking: None,
        }
    }
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end-of-generation token.
    Eos,
    /// `max_tokens` were generated.
    MaxTokens,
    /// A stop string appeared.
    StopString,
    /// The context window is full.
    ContextFull,
    /// [`CancelHandle::cancel`] was called.
    Cancelled,
}

/// Numbers about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenStats {
    /// Tokens in the prompt (BOS included): for a chat, the whole conversation so far.
    pub prompt_tokens: usize,
    /// Prompt tokens processed by this run's prefill: all of them from scratch, only those
    /// after the reused cache's common prefix on a follow-up ([`Generator::resume`]).
    pub prefill_tokens: usize,
    /// Tokens generated (end-of-generation tokens not counted).
    pub generated_tokens: usize,
    /// From the first `step()` call to the first sampled token, in milliseconds.
    pub ttft_ms: f64,
    /// Prefilled tokens per second during prefill.
    pub prefill_tps: f64,
    /// Generated tokens per second after the first.
    pub decode_tps: f64,
    /// Wall time of the whole run, in milliseconds.
    pub total_ms: f64,
}

/// The result of one step.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A new token, and the text it completes (possibly empty while UTF-8 is incomplete or a
    /// stop string might be starting).
    Token {
        /// The token id.
        id: u32,
        /// Newly completed text.
        text: String,
    },
    /// The run is over; `text` holds whatever was still held back.
    Done {
        /// Why.
        reason: StopReason,
        /// Remaining text.
        text: String,
    },
}

/// A clonable handle that cancels a run from another place (e.g. a Stop button).
#[derive(Clone, Debug, Default)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    /// Asks the run to stop before its next step.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether cancel was asked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A conversation's KV cache and the tokens it holds, kept between turns of a chat so that a
/// follow-up prefills only what is new ([`Generator::resume`]).
pub struct ChatCache<B: Backend> {
    session: Session<B>,
    tokens: Vec<u32>,
}

impl<B: Backend> ChatCache<B> {
    /// The tokens whose keys and values the cache holds, in order.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// The cache's capacity in tokens.
    pub fn n_ctx(&self) -> usize {
        self.session.n_ctx()
    }
}

/// Length of the common prefix of two token sequences.
pub fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Generates text one token per step.
pub struct Generator<B: Backend> {
    model: Arc<Model<B>>,
    tokenizer: Arc<Tokenizer>,
    session: Session<B>,
    sampler: Sampler,
    options: GenerateOptions,
    tokens: Vec<u32>,
    n_prompt: usize,
    /// Prompt tokens already in the cache when the run started (a reused conversation).
    n_reused: usize,
    decoder: StreamDecoder,
    held: String,
    done: Option<StopReason>,
    cancel: CancelHandle,
    stats: GenStats,
    started: Option<Instant>,
    first_token_at: Option<Instant>,
}

impl<B: Backend> Generator<B> {
    /// Prepares a run over prompt token ids (BOS already included if wanted).
    pub fn new(
        model: Arc<Model<B>>,
        tokenizer: Arc<Tokenizer>,
        prompt: Vec<u32>,
        options: GenerateOptions,
    ) -> Result<Self> {
        let session = model.session(options.n_ctx.unwrap_or(DEFAULT_N_CTX))?;
        Self::with_session(model, tokenizer, session, 0, prompt, options)
    }

    /// Prepares a follow-up run over `prompt` reusing a conversation's cache: the common
    /// prefix of `prompt` and the cache's tokens stays, the cache is cut there, and only the
    /// rest of the prompt is prefilled (at least its last token, whose logits start the
    /// answer). A cache of another size than `options.n_ctx` asks for is dropped. The text is
    /// the same as [`Self::new`] over the same prompt would give.
    pub fn resume(
        model: Arc<Model<B>>,
        tokenizer: Arc<Tokenizer>,
        cache: Option<ChatCache<B>>,
        prompt: Vec<u32>,
        options: GenerateOptions,
    ) -> Result<Self> {
        let n_ctx = model.session_n_ctx(options.n_ctx.unwrap_or(DEFAULT_N_CTX));
        match cache {
            Some(ChatCache { mut session, tokens }) if session.n_ctx() == n_ctx && !prompt.is_empty() => {
                let keep = common_prefix(&tokens, &prompt).min(prompt.len() - 1).min(session.pos());
                session.truncate(keep);
                Self::with_session(model, tokenizer, session, keep, prompt, options)
            }
            _ => Self::new(model, tokenizer, prompt, options),
        }
    }

    fn with_session(
        model: Arc<Model<B>>,
        tokenizer: Arc<Tokenizer>,
        session: Session<B>,
        n_reused: usize,
        prompt: Vec<u32>,
        options: GenerateOptions,
    ) -> Result<Self> {
        if prompt.is_empty() {
            return Err(EngineError::BadConfig("empty prompt: the model has no BOS token to start from".into()));
        }
        let sampler = Sampler::new(options.sampling.clone())?;
        if prompt.len() >= session.n_ctx() {
            return Err(EngineError::PromptTooLong { tokens: prompt.len(), n_ctx: session.n_ctx() });
        }
        // Like llama.cpp and llama2.c, drop the SentencePiece space prefix of the first piece
        // generated right after BOS.
        let strip = tokenizer.add_space_prefix() && prompt.last() == tokenizer.bos().as_ref();
        let stats =
            GenStats { prompt_tokens: prompt.len(), prefill_tokens: prompt.len() - n_reused, ..GenStats::default() };
        Ok(Self {
            model,
            tokenizer,
            session,
            sampler,
            options,
            n_prompt: prompt.len(),
            n_reused,
            tokens: prompt,
            decoder: StreamDecoder::new(strip),
            held: String::new(),
            done: None,
            cancel: CancelHandle::default(),
            stats,
            started: None,
            first_token_at: None,
        })
    }

    /// A handle to cancel this run between steps.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Statistics so far (complete once a step returned [`Step::Done`]).
    pub fn stats(&self) -> &GenStats {
        &self.stats
    }

    /// Generated token ids so far.
    pub fn generated(&self) -> &[u32] {
        &self.tokens[self.n_prompt..]
    }

    /// The conversation's cache as this run leaves it (prompt and answer, less the last
    /// sampled token, which was never fed back), for [`Self::resume`] on the next turn.
    pub fn into_cache(self) -> ChatCache<B> {
        let mut tokens = self.tokens;
        tokens.truncate(self.session.pos());
        ChatCache { session: self.session, tokens }
    }

    /// Whether the run is over.
    pub fn is_done(&self) -> bool {
        self.done.is_some()
    }

    /// Runs one step: the prompt prefill on the first call, then one token per call.
    pub fn step(&mut self) -> Result<Step> {
        let n_input = match self.begin_step() {
            Ok(n) => n,
            Err(done) => return Ok(done),
        };
        let input = &self.tokens[self.tokens.len() - n_input..];
        let logits = self.model.forward(&mut self.session, input)?;
        self.end_step(logits)
    }

    /// [`Self::step`] reading the logits back without blocking: what a browser worker calls
    /// (the WebGPU backend cannot wait on the GPU there). Same checks, sampling and stops.
    pub async fn step_async(&mut self) -> Result<Step> {
        let n_input = match self.begin_step() {
            Ok(n) => n,
            Err(done) => return Ok(done),
        };
        let input = &self.tokens[self.tokens.len() - n_input..];
        let logits = self.model.forward_async(&mut self.session, input).await?;
        self.end_step(logits)
    }

    /// The checks before a forward pass: `Err` holds the step that ends the run, `Ok` how many
    /// of the last tokens the pass takes (the whole prompt first, then one).
    fn begin_step(&mut self) -> std::result::Result<usize, Step> {
        if let Some(reason) = self.done {
            return Err(Step::Done { reason, text: String::new() });
        }
        let now = Instant::now();
        self.started.get_or_insert(now);
        if self.cancel.is_cancelled() {
            return Err(self.finish(StopReason::Cancelled));
        }
        let n_generated = self.tokens.len() - self.n_prompt;
        if n_generated >= self.options.max_tokens {
            return Err(self.finish(StopReason::MaxTokens));
        }
        // The whole sequence, prompt included, must fit the context window.
        if self.tokens.len() >= self.session.n_ctx() {
            return Err(self.finish(StopReason::ContextFull));
        }
        Ok(if n_generated == 0 { self.tokens.len() - self.n_reused } else { 1 })
    }

    /// Sampling, stop checks and text after a forward pass gave `logits`.
    fn end_step(&mut self, mut logits: Vec<f32>) -> Result<Step> {
        let id = self.sampler.sample(&mut logits, &self.tokens);

        if self.first_token_at.is_none() {
            let t = Instant::now();
            self.first_token_at = Some(t);
            let started = self.started.unwrap_or(t);
            let ms = (t - started).as_secs_f64() * 1e3;
            self.stats.ttft_ms = ms;
            self.stats.prefill_tps = (self.n_prompt - self.n_reused) as f64 / (ms / 1e3).max(1e-9);
        }
        if !self.options.ignore_eos && self.tokenizer.eog_tokens().contains(&id) {
            return Ok(self.finish(StopReason::Eos));
        }
        self.tokens.push(id);
        self.stats.generated_tokens += 1;
        self.held.push_str(&self.decoder.push(&self.tokenizer, id));
        if let Some(cut) = self.options.stop.iter().filter_map(|s| self.held.find(s.as_str())).min() {
            self.held.truncate(cut);
            return Ok(self.finish(StopReason::StopString));
        }
        let keep = self.held.len() - held_back(&self.held, &self.options.stop);
        let text = self.held[..keep].to_owned();
        self.held.drain(..keep);
        Ok(Step::Token { id, text })
    }

    /// Steps until the run ends; returns the whole text and why it ended.
    pub fn run_to_end(&mut self) -> Result<(String, StopReason)> {
        let mut all = String::new();
        loop {
            match self.step()? {
                Step::Token { text, .. } => all.push_str(&text),
                Step::Done { reason, text } => {
                    all.push_str(&text);
                    return Ok((all, reason));
                }
            }
        }
    }

    fn finish(&mut self, reason: StopReason) -> Step {
        self.done = Some(reason);
        let mut text = std::mem::take(&mut self.held);
        if reason != StopReason::StopString {
            text.push_str(&self.decoder.finish(&self.tokenizer));
        }
        let end = Instant::now();
        if let Some(start) = self.started {
            self.stats.total_ms = (end - start).as_secs_f64() * 1e3;
        }
        if let Some(first) = self.first_token_at {
            let decoded = self.stats.generated_tokens.saturating_sub(1);
            let secs = (end - first).as_secs_f64();
            self.stats.decode_tps = if decoded > 0 && secs > 0.0 { decoded as f64 / secs } else { 0.0 };
        }
        Step::Done { reason, text }
    }
}

/// Bytes at the end of `text` that could be the start of a stop string.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut n = 0;
    for s in stops {
        for (i, _) in s.char_indices().skip(1) {
            if i > n && text.ends_with(&s[..i]) {
                n = i;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::held_back;

    #[test]
    fn holds_back_possible_stop_prefixes() {
        let stops = vec!["\nUser:".to_string(), "END".to_string()];
        assert_eq!(held_back("hello\nUs", &stops), 3);
        assert_eq!(held_back("hello E", &stops), 1);
        assert_eq!(held_back("hello", &stops), 0);
        assert_eq!(held_back("héllo EN", &[]), 0);
    }
}
