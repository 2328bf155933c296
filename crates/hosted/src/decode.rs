//! Turns SSE events of either protocol into one common [`StreamEvent`] vocabulary.

use serde_json::Value;

use crate::error::HostedError;
use crate::preset::{Protocol, ProviderId};
use crate::sse::SseEvent;

/// Token counts as the API reported them. Every field is optional: servers report some, all or
/// none, and a later report replaces an earlier one field by field ([`Usage::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens as reported: OpenAI-style `prompt_tokens` (which *includes* cached tokens)
    /// or Anthropic `input_tokens` (which *excludes* cache reads and writes); see
    /// [`Usage::input_includes_cached`].
    pub input_tokens: Option<u64>,
    /// Generated tokens (`completion_tokens` / `output_tokens`).
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from the provider's prompt cache (`prompt_tokens_details.cached_tokens`,
    /// DeepSeek `prompt_cache_hit_tokens`, Anthropic `cache_read_input_tokens`).
    pub cached_input_tokens: Option<u64>,
    /// Prompt tokens written to the cache (Anthropic `cache_creation_input_tokens`).
    pub cache_write_input_tokens: Option<u64>,
    /// Whether `input_tokens` already counts the cached (and cache-written) tokens: true for
    /// OpenAI-compatible APIs, false for Anthropic.
    pub input_includes_cached: bool,
}

impl Usage {
    /// Overwrites the fields `later` reports, keeping the others.
    pub fn merge(&mut self, later: &Usage) {
        fn take(slot: &mut Option<u64>, v: Option<u64>) {
            if v.is_some() {
                *slot = v;
            }
        }
        take(&mut self.input_tokens, later.input_tokens);
        take(&mut self.output_tokens, later.output_tokens);
        take(&mut self.cached_input_tokens, later.cached_input_tokens);
        take(&mut self.cache_write_input_tokens, later.cache_write_input_tokens);
        self.input_includes_cached = later.input_includes_cached;
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.input_tokens.is_none()
            && self.output_tokens.is_none()
            && self.cached_input_tokens.is_none()
            && self.cache_write_input_tokens.is_none()
    }

    /// All prompt tokens (uncached + cache reads + cache writes), whatever the convention.
    pub fn total_input_tokens(&self) -> Option<u64> {
        let input = self.input_tokens?;
        if self.input_includes_cached {
            Some(input)
        } else {
            Some(input + self.cached_input_tokens.unwrap_or(0) + self.cache_write_input_tokens.unwrap_or(0))
        }
    }

    /// Prompt tokens billed at the full input price (neither read from nor written to cache).
    pub fn uncached_input_tokens(&self) -> Option<u64> {
        let input = self.input_tokens?;
        if self.input_includes_cached {
            let cached = self.cached_input_tokens.unwrap_or(0) + self.cache_write_input_tokens.unwrap_or(0);
            Some(input.saturating_sub(cached))
        } else {
            Some(input)
        }
    }
}

/// Why generation stopped, normalised across providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end (`stop`, `end_turn`).
    Stop,
    /// A stop sequence matched (Anthropic `stop_sequence`; OpenAI reports `stop`).
    StopSequence,
    /// The token budget ran out (`length`, `max_tokens`).
    Length,
    /// Filtered or refused (`content_filter`, `refusal`).
    ContentFilter,
    /// The model called a tool (`tool_calls`, `function_call`, `tool_use`).
    ToolUse,
    /// Anything else, as sent.
    Other(String),
}

impl FinishReason {
    /// Maps a provider's spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "stop" | "end_turn" | "eos" => Self::Stop,
            "stop_sequence" => Self::StopSequence,
            "length" | "max_tokens" | "model_context_window_exceeded" => Self::Length,
            "content_filter" | "refusal" => Self::ContentFilter,
            "tool_calls" | "function_call" | "tool_use" => Self::ToolUse,
            other => Self::Other(other.to_string()),
        }
    }

    /// Whether the answer was cut by the token budget.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Self::Length)
    }
}

/// One decoded piece of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Answer text to append.
    TextDelta {
        /// The new text.
        text: String,
    },
    /// Reasoning ("thinking") text some models stream before the answer (DeepSeek
    /// `reasoning_content`, OpenRouter `reasoning`, Anthropic `thinking_delta`).
    ReasoningDelta {
        /// The new text.
        text: String,
    },
    /// Token counts reported by the API (merge them; later reports win field by field).
    Usage {
        /// The counts in this report.
        usage: Usage,
    },
    /// Why the model stopped.
    Finish {
        /// The reason.
        reason: FinishReason,
    },
    /// The provider reported an error inside the stream; the run has failed.
    Error {
        /// The mapped error.
        error: HostedError,
    },
    /// The stream's explicit end (`data: [DONE]`, Anthropic `message_stop`).
    Done,
}

/// Decodes the SSE events of one response.
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    provider: ProviderId,
    protocol: Protocol,
    model: String,
    done: bool,
    finished: bool,
}

impl StreamDecoder {
    /// A decoder for a response from `provider` to a request for `model`.
    pub fn new(provider: ProviderId, model: &str) -> Self {
        Self { provider, protocol: provider.preset().protocol, model: model.to_string(), done: false, finished: false }
    }

    /// Whether the explicit end of stream was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes one SSE event. Unknown event types are ignored; data that is not the expected
    /// JSON is an [`HostedError::MalformedStream`].
    pub fn decode(&mut self, ev: &SseEvent) -> Result<Vec<StreamEvent>, HostedError> {
        let out = match self.protocol {
            Protocol::OpenAiCompatible => self.decode_openai(ev)?,
            Protocol::AnthropicMessages => self.decode_anthropic(ev)?,
        };
        for e in &out {
            match e {
                StreamEvent::Done => self.done = true,
                StreamEvent::Finish { .. } => self.finished = true,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Checks, at end of input, that the stream ended properly (an explicit end or a finish
    /// reason was seen).
    pub fn finish(&self) -> Result<(), HostedError> {
        if self.done || self.finished {
            Ok(())
        } else {
            Err(self.malformed("the stream ended before the answer was complete (no finish reason, no end marker)"))
        }
    }

    fn malformed(&self, detail: impl Into<String>) -> HostedError {
        HostedError::MalformedStream { provider: self.provider, detail: detail.into() }
    }

    fn parse_json(&self, data: &str) -> Result<Value, HostedError> {
        serde_json::from_str(data).map_err(|e| {
            let shown: String = data.chars().take(80).collect();
            let more = if data.chars().count() > 80 { "…" } else { "" };
            self.malformed(format!("invalid JSON ({e}) in event data `{shown}{more}`"))
        })
    }

    fn decode_openai(&self, ev: &SseEvent) -> Result<Vec<StreamEvent>, HostedError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        if data == "[DONE]" {
            return Ok(vec![StreamEvent::Done]);
        }
        let v = self.parse_json(data)?;
        if ev.event.as_deref() == Some("error") || v.get("error").is_some_and(|e| !e.is_null()) {
            let error = HostedError::from_stream_error(self.provider, &self.model, data);
            return Ok(vec![StreamEvent::Error { error }]);
        }
        if !v.is_object() {
            return Err(self.malformed(format!("expected a JSON object, got `{}`", clip(data))));
        }
        let mut out = Vec::new();
        if let Some(choices) = v.get("choices") {
            let Some(choices) = choices.as_array() else {
                return Err(self.malformed("`choices` is not an array"));
            };
            // Only the first choice is shown (arbitre never asks for n > 1).
            if let Some(choice) = choices.iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0) {
                let delta = choice.get("delta");
                let field = |name: &str| delta.and_then(|d| d.get(name)).and_then(Value::as_str);
                if let Some(t) = field("reasoning_content").or_else(|| field("reasoning")).filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta { text: t.to_string() });
                }
                // Chat chunks carry `delta.content`; raw completions carry `text`.
                let text = field("content").or_else(|| choice.get("text").and_then(Value::as_str));
                if let Some(t) = text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text: t.to_string() });
                }
                if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                    out.push(StreamEvent::Finish { reason: FinishReason::parse(reason) });
                }
            }
        }
        let usage = v
            .get("usage")
            .filter(|u| u.is_object())
            .or_else(|| v.get("x_groq").and_then(|x| x.get("usage")).filter(|u| u.is_object()));
        if let Some(u) = usage {
            let usage = usage_from_json(u, true);
            if !usage.is_empty() {
                // Usage comes last in the chunk that carries both.
                let at = out.iter().position(|e| matches!(e, StreamEvent::Finish { .. })).unwrap_or(out.len());
                out.insert(at, StreamEvent::Usage { usage });
            }
        }
        Ok(out)
    }

    fn decode_anthropic(&self, ev: &SseEvent) -> Result<Vec<StreamEvent>, HostedError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let v = self.parse_json(data)?;
        let kind = ev.event.as_deref().or_else(|| v.get("type").and_then(Value::as_str)).unwrap_or("");
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")).filter(|u| u.is_object()) {
                    out.push(StreamEvent::Usage { usage: usage_from_json(u, false) });
                }
            }
            "content_block_start" => {
                let block = v.get("content_block");
                let text = block.and_then(|b| b.get("text")).and_then(Value::as_str);
                if let Some(t) = text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta { text: t.to_string() });
                }
            }
            "content_block_delta" => {
                let Some(delta) = v.get("delta") else {
                    return Err(self.malformed("content_block_delta without `delta`"));
                };
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let Some(t) = delta.get("text").and_then(Value::as_str) else {
                            return Err(self.malformed("text_delta without `text`"));
                        };
                        if !t.is_empty() {
                            out.push(StreamEvent::TextDelta { text: t.to_string() });
                        }
                    }
                    Some("thinking_delta") => {
                        if let Some(t) = delta.get("thinking").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::ReasoningDelta { text: t.to_string() });
                        }
                    }
                    _ => {} // input_json_delta, signature_delta, citations: not shown.
                }
            }
            "message_delta" => {
                if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                    out.push(StreamEvent::Usage { usage: usage_from_json(u, false) });
                }
                if let Some(r) = v.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str) {
                    out.push(StreamEvent::Finish { reason: FinishReason::parse(r) });
                }
            }
            "message_stop" => out.push(StreamEvent::Done),
            "error" => {
                let error = HostedError::from_stream_error(self.provider, &self.model, data);
                out.push(StreamEvent::Error { error });
            }
            _ => {} // ping, content_block_stop and future event types.
        }
        Ok(out)
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Reads either naming convention (`prompt_tokens`/`completion_tokens` or
/// `input_tokens`/`output_tokens`).
fn usage_from_json(u: &Value, openai: bool) -> Usage {
    let num = |v: Option<&Value>| v.and_then(Value::as_u64);
    let input = num(u.get("prompt_tokens")).or_else(|| num(u.get("input_tokens")));
    let output = num(u.get("completion_tokens")).or_else(|| num(u.get("output_tokens")));
    let cached = num(u.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens")))
        .or_else(|| num(u.get("input_tokens_details").and_then(|d| d.get("cached_tokens"))))
        .or_else(|| num(u.get("prompt_cache_hit_tokens")))
        .or_else(|| num(u.get("cache_read_input_tokens")));
    let write = num(u.get("cache_creation_input_tokens"));
    Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_write_input_tokens: write,
        input_includes_cached: openai,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sse(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent { event: event.map(str::to_string), data: data.to_string(), id: None }
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        let mut d = StreamDecoder::new(ProviderId::OpenAi, "m");
        for bad in ["{\"choices\":[", "not json", "[1,2]", "{\"choices\":{}}"] {
            let e = d.decode(&sse(None, bad)).expect_err(bad);
            assert!(matches!(e, HostedError::MalformedStream { .. }), "{bad}: {e:?}");
        }
        let mut d = StreamDecoder::new(ProviderId::Anthropic, "m");
        assert!(d.decode(&sse(Some("content_block_delta"), "{oops")).is_err());
        assert!(d.decode(&sse(Some("content_block_delta"), r#"{"type":"content_block_delta","index":0}"#)).is_err());
    }

    #[test]
    fn usage_conventions() {
        let openai = Usage {
            input_tokens: Some(100),
            output_tokens: Some(5),
            cached_input_tokens: Some(60),
            cache_write_input_tokens: None,
            input_includes_cached: true,
        };
        assert_eq!(openai.total_input_tokens(), Some(100));
        assert_eq!(openai.uncached_input_tokens(), Some(40));
        let anthropic = Usage {
            input_tokens: Some(40),
            output_tokens: Some(5),
            cached_input_tokens: Some(60),
            cache_write_input_tokens: Some(10),
            input_includes_cached: false,
        };
        assert_eq!(anthropic.total_input_tokens(), Some(110));
        assert_eq!(anthropic.uncached_input_tokens(), Some(40));
        let mut m = anthropic.clone();
        m.merge(&Usage { output_tokens: Some(9), ..Usage::default() });
        assert_eq!((m.input_tokens, m.output_tokens), (Some(40), Some(9)));
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(FinishReason::parse("end_turn"), FinishReason::Stop);
        assert!(FinishReason::parse("max_tokens").is_truncated());
        assert_eq!(FinishReason::parse("pause_turn"), FinishReason::Other("pause_turn".into()));
    }
}
