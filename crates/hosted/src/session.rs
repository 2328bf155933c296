//! One response, from bytes to a summary: the pure core the wasm transport drives, and what
//! native tests drive with recorded transcripts.

use crate::decode::{FinishReason, StreamDecoder, StreamEvent, Usage};
use crate::error::HostedError;
use crate::preset::ProviderId;
use crate::request::PreparedRequest;
use crate::sse::SseParser;

/// Characters per token assumed by [`estimate_tokens`]: the usual rule of thumb for English
/// with BPE tokenizers.
pub const CHARS_PER_TOKEN: usize = 4;

/// Rough token count of `text` (characters / [`CHARS_PER_TOKEN`], rounded up).
pub fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count();
    chars.div_ceil(CHARS_PER_TOKEN) as u64
}

/// A token count and whether the API reported it or it was estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCount {
    /// Number of tokens.
    pub tokens: u64,
    /// True when counted locally because the API did not report it.
    pub estimated: bool,
}

/// Input and output tokens of a run, each reported or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedUsage {
    /// All prompt tokens (see [`Usage::total_input_tokens`]).
    pub input: TokenCount,
    /// Prompt tokens read from the provider's cache (0 when not reported).
    pub cached_input: u64,
    /// Prompt tokens written to the provider's cache (0 when not reported).
    pub cache_write_input: u64,
    /// Generated tokens.
    pub output: TokenCount,
}

impl ResolvedUsage {
    /// Whether any count is an estimate.
    pub fn any_estimated(&self) -> bool {
        self.input.estimated || self.output.estimated
    }
}

/// What a finished (or failed) response amounted to.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Which preset answered.
    pub provider: ProviderId,
    /// The answer.
    pub text: String,
    /// Reasoning text streamed before the answer, if any.
    pub reasoning: String,
    /// Usage as reported (merged over the stream).
    pub usage: Usage,
    /// Why generation stopped, when reported.
    pub finish_reason: Option<FinishReason>,
    /// Milliseconds from sending the request to the first text (or reasoning) delta.
    pub first_token_ms: Option<f64>,
    /// Milliseconds from sending the request to the end of the stream.
    pub total_ms: f64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Keep-alive comments seen in the stream.
    pub keep_alives: u64,
    /// Prompt text (kept for token estimates).
    pub prompt_text: String,
}

impl RunSummary {
    /// Usage with the API's counts where reported and the ~4 characters/token estimate elsewhere.
    pub fn resolved_usage(&self) -> ResolvedUsage {
        self.resolved_usage_with(&|s: &str| estimate_tokens(s))
    }

    /// Usage with the API's counts where reported and `count` (a real tokenizer, for instance)
    /// elsewhere.
    pub fn resolved_usage_with(&self, count: &dyn Fn(&str) -> u64) -> ResolvedUsage {
        let input = match self.usage.total_input_tokens() {
            Some(tokens) => TokenCount { tokens, estimated: false },
            None => TokenCount { tokens: count(&self.prompt_text), estimated: true },
        };
        let output = match self.usage.output_tokens {
            Some(tokens) => TokenCount { tokens, estimated: false },
            None => TokenCount { tokens: count(&self.text) + count(&self.reasoning), estimated: true },
        };
        ResolvedUsage {
            input,
            cached_input: self.usage.cached_input_tokens.unwrap_or(0),
            cache_write_input: self.usage.cache_write_input_tokens.unwrap_or(0),
            output,
        }
    }

    /// Output tokens per second after the first token (`None` if under one token or no time).
    pub fn tokens_per_second(&self) -> Option<f64> {
        let output = self.resolved_usage().output.tokens;
        let start = self.first_token_ms.unwrap_or(0.0);
        let secs = (self.total_ms - start) / 1000.0;
        (output > 1 && secs > 0.0).then(|| (output - 1) as f64 / secs)
    }
}

/// Parses and decodes one streamed response, keeping the running summary.
#[derive(Debug, Clone)]
pub struct StreamSession {
    parser: SseParser,
    decoder: StreamDecoder,
    summary: RunSummary,
    started_ms: f64,
}

impl StreamSession {
    /// Starts a session for `request`, sent at `started_ms` (any monotonic millisecond clock).
    pub fn new(request: &PreparedRequest, started_ms: f64) -> Self {
        Self::for_provider(request.provider, &request.model, &request.prompt_text, started_ms)
            .with_bytes_sent(request.http.body.len() as u64)
    }

    /// Starts a session without a [`PreparedRequest`] (tests, replays).
    pub fn for_provider(provider: ProviderId, model: &str, prompt_text: &str, started_ms: f64) -> Self {
        Self {
            parser: SseParser::new(),
            decoder: StreamDecoder::new(provider, model),
            summary: RunSummary {
                provider,
                text: String::new(),
                reasoning: String::new(),
                usage: Usage::default(),
                finish_reason: None,
                first_token_ms: None,
                total_ms: 0.0,
                bytes_sent: 0,
                bytes_received: 0,
                keep_alives: 0,
                prompt_text: prompt_text.to_string(),
            },
            started_ms,
        }
    }

    fn with_bytes_sent(mut self, n: u64) -> Self {
        self.summary.bytes_sent = n;
        self
    }

    /// The summary so far.
    pub fn summary(&self) -> &RunSummary {
        &self.summary
    }

    /// Whether the stream's explicit end was seen (the caller may stop reading).
    pub fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// Feeds received bytes at time `now_ms`; returns the decoded events (never
    /// [`StreamEvent::Error`]: a provider error ends the session as `Err`).
    pub fn feed(&mut self, bytes: &[u8], now_ms: f64) -> Result<Vec<StreamEvent>, HostedError> {
        self.summary.bytes_received += bytes.len() as u64;
        let provider = self.summary.provider;
        let events =
            self.parser.push(bytes).map_err(|e| HostedError::MalformedStream { provider, detail: e.to_string() })?;
        self.summary.keep_alives = self.parser.comments_seen();
        self.apply(&events, now_ms)
    }

    /// Ends the input at `now_ms`: flushes the parser, checks the stream ended properly and
    /// returns the summary.
    pub fn finish(self, now_ms: f64) -> Result<RunSummary, HostedError> {
        match self.end(now_ms) {
            (summary, None) => Ok(summary),
            (_, Some(error)) => Err(error),
        }
    }

    /// Like [`StreamSession::finish`], but keeps the summary when the ending is an error (so a
    /// pane can show the partial answer beside the message).
    pub fn end(mut self, now_ms: f64) -> (RunSummary, Option<HostedError>) {
        let events = self.parser.finish();
        let result = self.apply(&events, now_ms).and_then(|_| self.decoder.finish());
        self.summary.total_ms = now_ms - self.started_ms;
        (self.summary, result.err())
    }

    /// Ends a session cut short (stop button, error) at `now_ms`, keeping what arrived.
    pub fn into_partial(mut self, now_ms: f64) -> RunSummary {
        self.summary.total_ms = now_ms - self.started_ms;
        self.summary
    }

    fn apply(&mut self, events: &[crate::sse::SseEvent], now_ms: f64) -> Result<Vec<StreamEvent>, HostedError> {
        let mut out = Vec::new();
        for ev in events {
            if self.decoder.is_done() {
                break;
            }
            for e in self.decoder.decode(ev)? {
                match &e {
                    StreamEvent::TextDelta { text } => {
                        self.first_token(now_ms);
                        self.summary.text.push_str(text);
                    }
                    StreamEvent::ReasoningDelta { text } => {
                        self.first_token(now_ms);
                        self.summary.reasoning.push_str(text);
                    }
                    StreamEvent::Usage { usage } => self.summary.usage.merge(usage),
                    StreamEvent::Finish { reason } => self.summary.finish_reason = Some(reason.clone()),
                    StreamEvent::Error { error } => return Err(error.clone()),
                    StreamEvent::Done => {}
                }
                out.push(e);
            }
        }
        Ok(out)
    }

    fn first_token(&mut self, now_ms: f64) {
        if self.summary.first_token_ms.is_none() {
            self.summary.first_token_ms = Some(now_ms - self.started_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("日本語です"), 2);
    }

    #[test]
    fn timing_and_rate() {
        let mut s = StreamSession::for_provider(ProviderId::Vllm, "m", "prompt", 1000.0);
        s.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n", 1250.0).expect("ok");
        s.feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":11}}\n\ndata: [DONE]\n\n", 3250.0).expect("ok");
        let sum = s.finish(3250.0).expect("complete");
        assert_eq!(sum.first_token_ms, Some(250.0));
        assert_eq!(sum.total_ms, 2250.0);
        assert_eq!(sum.tokens_per_second(), Some(5.0));
        assert!(!sum.resolved_usage().any_estimated());
    }
}
