//! Recorded-style stream transcripts, written from each API's documented streaming format, run
//! through the whole pure pipeline (SSE parser → decoder → session) in one chunk, one byte at a
//! time, and split in two at every byte offset.

use arbitre_hosted::{FinishReason, HostedError, ProviderId, RunSummary, StreamEvent, StreamSession};

/// Feeds `chunks` and finishes; time is the chunk index (ms).
fn run_chunks(provider: ProviderId, chunks: &[&[u8]]) -> (Result<RunSummary, HostedError>, Vec<StreamEvent>) {
    let mut session = StreamSession::for_provider(provider, "test-model", "Why is the sky blue?", 0.0);
    let mut events = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        match session.feed(c, i as f64) {
            Ok(evs) => events.extend(evs),
            Err(e) => return (Err(e), events),
        }
    }
    (session.finish(chunks.len() as f64), events)
}

/// Comparable result of a run (timings depend on chunking, so they are left out).
fn outcome(
    provider: ProviderId,
    chunks: &[&[u8]],
) -> Result<(String, String, arbitre_hosted::Usage, Option<FinishReason>), HostedError> {
    let (r, _) = run_chunks(provider, chunks);
    r.map(|s| (s.text, s.reasoning, s.usage, s.finish_reason))
}

/// Asserts that every chunking of `transcript` gives the same outcome, and returns it.
fn same_under_any_split(provider: ProviderId, transcript: &str) -> Result<RunSummary, HostedError> {
    let bytes = transcript.as_bytes();
    let whole = outcome(provider, &[bytes]);
    let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(outcome(provider, &one_by_one), whole, "byte-by-byte differs");
    for i in 0..=bytes.len() {
        assert_eq!(outcome(provider, &[&bytes[..i], &bytes[i..]]), whole, "split at byte {i} differs");
    }
    run_chunks(provider, &[bytes]).0
}

const OPENAI_CHAT: &str = r#"data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":"Rayleigh"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":" scattering — é🌍"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[],"usage":{"prompt_tokens":1234,"completion_tokens":5,"total_tokens":1239,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

"#;

#[test]
fn openai_chat_with_usage() {
    let s = same_under_any_split(ProviderId::OpenAi, OPENAI_CHAT).expect("complete");
    assert_eq!(s.text, "Rayleigh scattering — é🌍");
    assert_eq!(s.finish_reason, Some(FinishReason::Stop));
    assert_eq!(s.usage.input_tokens, Some(1234));
    assert_eq!(s.usage.output_tokens, Some(5));
    assert_eq!(s.usage.cached_input_tokens, Some(1024));
    assert_eq!(s.usage.uncached_input_tokens(), Some(210));
    let u = s.resolved_usage();
    assert!(!u.any_estimated());
    assert_eq!((u.input.tokens, u.cached_input, u.output.tokens), (1234, 1024, 5));
    // Events come out in order: text, text, finish, usage, done.
    let (_, events) = run_chunks(ProviderId::OpenAi, &[OPENAI_CHAT.as_bytes()]);
    assert!(matches!(events.first(), Some(StreamEvent::TextDelta { text }) if text == "Rayleigh"));
    assert!(matches!(events.last(), Some(StreamEvent::Done)));
}

const ANTHROPIC: &str = "event: message_start
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,\"output_tokens\":2}}}

event: content_block_start
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}

event: ping
data: {\"type\": \"ping\"}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Sunlight \"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"scatters — 空\"}}

event: content_block_stop
data: {\"type\":\"content_block_stop\",\"index\":0}

event: message_delta
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}

event: message_stop
data: {\"type\":\"message_stop\"}

";

#[test]
fn anthropic_messages() {
    let s = same_under_any_split(ProviderId::Anthropic, ANTHROPIC).expect("complete");
    assert_eq!(s.text, "Sunlight scatters — 空");
    assert_eq!(s.finish_reason, Some(FinishReason::Stop));
    assert_eq!(s.usage.input_tokens, Some(472));
    assert_eq!(s.usage.cached_input_tokens, Some(2048));
    assert_eq!(s.usage.output_tokens, Some(15), "message_delta's cumulative count wins");
    assert_eq!(s.usage.total_input_tokens(), Some(2520));
    assert_eq!(s.usage.uncached_input_tokens(), Some(472));
}

#[test]
fn anthropic_with_crlf_and_thinking() {
    let t = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\r\n\r\n\
             event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think.\"}}\r\n\r\n\
             event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"abc\"}}\r\n\r\n\
             event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"42\"}}\r\n\r\n\
             event: some_future_event\r\ndata: {\"type\":\"some_future_event\"}\r\n\r\n\
             event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":64}}\r\n\r\n\
             event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
    let s = same_under_any_split(ProviderId::Anthropic, t).expect("complete");
    assert_eq!((s.reasoning.as_str(), s.text.as_str()), ("Let me think.", "42"));
    assert_eq!(s.finish_reason, Some(FinishReason::Length));
}

const OLLAMA_NO_USAGE: &str = r#"data: {"id":"chatcmpl-455","object":"chat.completion.chunk","created":1731234567,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"The"},"finish_reason":null}]}

data: {"id":"chatcmpl-455","object":"chat.completion.chunk","created":1731234567,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":" sky"},"finish_reason":null}]}

data: {"id":"chatcmpl-455","object":"chat.completion.chunk","created":1731234567,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}

data: [DONE]

"#;

#[test]
fn ollama_without_usage_is_estimated() {
    let s = same_under_any_split(ProviderId::Ollama, OLLAMA_NO_USAGE).expect("complete");
    assert_eq!(s.text, "The sky");
    assert!(s.usage.is_empty());
    let u = s.resolved_usage();
    assert!(u.input.estimated && u.output.estimated && u.any_estimated());
    assert_eq!(u.input.tokens, 5, "\"Why is the sky blue?\" is 20 chars → 5");
    assert_eq!(u.output.tokens, 2);
    // A real tokenizer can be plugged in.
    let words = s.resolved_usage_with(&|t: &str| t.split_whitespace().count() as u64);
    assert_eq!((words.input.tokens, words.output.tokens), (5, 2));
}

// llama-cpp-python / llama-server `/v1/completions` (raw text), ending on the token budget,
// without a final blank line after [DONE] and with a final usage-less chunk.
const LLAMACPP_COMPLETION: &str = "data: {\"id\":\"cmpl-8b1c\",\"object\":\"text_completion\",\"created\":1718000000,\"model\":\"stories260K.gguf\",\"choices\":[{\"text\":\" there\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\r\n\r\n\
data: {\"id\":\"cmpl-8b1c\",\"object\":\"text_completion\",\"created\":1718000000,\"model\":\"stories260K.gguf\",\"choices\":[{\"text\":\" was a little girl\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\r\n\r\n\
data: {\"id\":\"cmpl-8b1c\",\"object\":\"text_completion\",\"created\":1718000000,\"model\":\"stories260K.gguf\",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"length\"}]}\r\n\r\n\
data: [DONE]";

#[test]
fn llamacpp_completion_mode() {
    let s = same_under_any_split(ProviderId::LlamaCpp, LLAMACPP_COMPLETION).expect("complete");
    assert_eq!(s.text, " there was a little girl");
    assert_eq!(s.finish_reason, Some(FinishReason::Length));
    assert!(s.resolved_usage().output.estimated);
}

#[test]
fn llama_server_usage_and_timings() {
    let t = "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"created\":1,\"id\":\"chatcmpl-x\",\"model\":\"m\",\"object\":\"chat.completion.chunk\"}\n\n\
             data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1,\"id\":\"chatcmpl-x\",\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":9,\"total_tokens\":11},\"timings\":{\"prompt_n\":9,\"prompt_ms\":12.5,\"predicted_n\":2,\"predicted_ms\":20.1}}\n\n\
             data: [DONE]\n\n";
    let s = same_under_any_split(ProviderId::LlamaCpp, t).expect("complete");
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens), (Some(9), Some(2)));
}

const OPENROUTER_KEEPALIVE: &str = ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n\
data: {\"id\":\"gen-1\",\"provider\":\"Google\",\"model\":\"google/gemini-2.5-flash\",\"object\":\"chat.completion.chunk\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Blue\"},\"finish_reason\":null,\"native_finish_reason\":null,\"logprobs\":null}]}\n\n\
: OPENROUTER PROCESSING\n\n\
data: {\"id\":\"gen-1\",\"provider\":\"Google\",\"model\":\"google/gemini-2.5-flash\",\"object\":\"chat.completion.chunk\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\",\"native_finish_reason\":\"STOP\",\"logprobs\":null}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8,\"cost\":0.0000046,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n\
data: [DONE]\n\n";

#[test]
fn openrouter_keep_alives() {
    let s = same_under_any_split(ProviderId::OpenRouter, OPENROUTER_KEEPALIVE).expect("complete");
    assert_eq!(s.text, "Blue");
    assert_eq!(s.keep_alives, 3);
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens, s.usage.cached_input_tokens), (Some(7), Some(1), Some(0)));
}

#[test]
fn groq_x_groq_usage() {
    let t = "data: {\"id\":\"chatcmpl-g\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama-3.1-8b-instant\",\"system_fingerprint\":\"fp_a\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"x_groq\":{\"id\":\"req_01\"}}\n\n\
             data: {\"id\":\"chatcmpl-g\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama-3.1-8b-instant\",\"system_fingerprint\":\"fp_a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Fast.\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"chatcmpl-g\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama-3.1-8b-instant\",\"system_fingerprint\":\"fp_a\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_01\",\"usage\":{\"queue_time\":0.02,\"prompt_tokens\":40,\"prompt_time\":0.002,\"completion_tokens\":3,\"completion_time\":0.004,\"total_tokens\":43,\"total_time\":0.006}}}\n\n\
             data: [DONE]\n\n";
    let s = same_under_any_split(ProviderId::Groq, t).expect("complete");
    assert_eq!(s.text, "Fast.");
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens), (Some(40), Some(3)));
}

#[test]
fn deepseek_reasoning_and_cache_hits() {
    let t = "data: {\"id\":\"d\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Hmm\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"d\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Yes\",\"reasoning_content\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"d\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":30,\"total_tokens\":50,\"prompt_tokens_details\":{\"cached_tokens\":16},\"prompt_cache_hit_tokens\":16,\"prompt_cache_miss_tokens\":4,\"completion_tokens_details\":{\"reasoning_tokens\":28}}}\n\n\
             : keep-alive\n\n\
             data: [DONE]\n\n";
    let s = same_under_any_split(ProviderId::DeepSeek, t).expect("complete");
    assert_eq!((s.reasoning.as_str(), s.text.as_str()), ("Hmm", "Yes"));
    assert_eq!(s.usage.cached_input_tokens, Some(16));
    assert_eq!(s.keep_alives, 1);
}

#[test]
fn mistral_usage_in_last_chunk() {
    let t = "data: {\"id\":\"m1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-latest\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"m1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-latest\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Bonjour\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":8,\"total_tokens\":10,\"completion_tokens\":2}}\n\n\
             data: [DONE]\n\n";
    let s = same_under_any_split(ProviderId::Mistral, t).expect("complete");
    assert_eq!(s.text, "Bonjour");
    assert_eq!((s.usage.input_tokens, s.usage.output_tokens), (Some(8), Some(2)));
}

#[test]
fn openai_error_in_stream() {
    let t = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Par\"},\"finish_reason\":null}]}\n\n\
             data: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
    let e = same_under_any_split(ProviderId::OpenAi, t).expect_err("fails");
    assert!(matches!(e, HostedError::Server { .. }), "{e:?}");
    assert!(e.to_string().contains("Sorry about that"));
    // The partial text is kept when the caller uses `end`.
    let mut s = StreamSession::for_provider(ProviderId::OpenAi, "m", "", 0.0);
    assert!(s.feed(t.as_bytes(), 1.0).is_err());
    let (partial, _) = s.end(2.0);
    assert_eq!(partial.text, "Par");
}

#[test]
fn anthropic_error_event() {
    let t = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
             event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
             event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let e = same_under_any_split(ProviderId::Anthropic, t).expect_err("fails");
    assert!(matches!(e, HostedError::Server { provider: ProviderId::Anthropic, .. }));
    assert!(e.to_string().contains("Overloaded"));
}

#[test]
fn openai_compatible_error_event_name() {
    let t = "event: error\ndata: {\"error\":{\"message\":\"rate limited upstream\",\"type\":\"rate_limit_error\"}}\n\n";
    let e = same_under_any_split(ProviderId::Custom, t).expect_err("fails");
    assert!(matches!(e, HostedError::RateLimited { .. }));
}

#[test]
fn malformed_stream() {
    let t = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\n\n";
    let e = same_under_any_split(ProviderId::Vllm, t).expect_err("fails");
    match e {
        HostedError::MalformedStream { provider: ProviderId::Vllm, detail } => {
            assert!(detail.contains("invalid JSON"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_stream() {
    let t = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The answer is\"}}]}\n\n";
    let e = same_under_any_split(ProviderId::Together, t).expect_err("fails");
    assert!(e.to_string().contains("ended before the answer was complete"), "{e}");
    let t = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel";
    let e = same_under_any_split(ProviderId::Anthropic, t).expect_err("fails");
    assert!(matches!(e, HostedError::MalformedStream { .. }));
}

#[test]
fn nothing_after_done_is_read() {
    let t = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\ndata: garbage\n\n";
    let s = same_under_any_split(ProviderId::Vllm, t).expect("complete");
    assert_eq!(s.text, "A");
}
