//! Hosted LLM API clients for arbitre's comparison panes, called straight from the visitor's
//! browser with the visitor's own key.
//!
//! This crate owns:
//! - the provider presets ([`ProviderId`], [`Preset`]): OpenAI-compatible chat completions
//!   (OpenAI, Mistral, OpenRouter, Groq, DeepSeek, Together, self-hosted vLLM, Ollama, llama.cpp
//!   server, any custom base URL) and Anthropic Messages, with what is publicly known about each
//!   one accepting browser (CORS) calls;
//! - request building ([`build_request`]): URL, headers, streaming JSON body — and the rule that a
//!   key is only ever attached to a request for the origin it belongs to;
//! - an incremental SSE parser ([`SseParser`]) and the decoding of both protocols into one
//!   [`StreamEvent`] vocabulary ([`StreamDecoder`]), driven together by [`StreamSession`];
//! - error mapping to plain messages ([`HostedError`]) and token estimates when an API reports
//!   no usage ([`estimate_tokens`], [`RunSummary::resolved_usage`]);
//! - on wasm32 only, the thin `fetch` transport (`transport` module), usable on a page and in
//!   a worker.
//!
//! It must not: store keys (the app decides whether to remember one), log keys (`Debug` of
//! requests redacts them), send any header a provider's CORS preflight might refuse, compute
//! prices (that is `arbitre-pricing`), or touch the DOM.

mod decode;
mod error;
mod preset;
mod request;
mod session;
mod sse;
mod url;

#[cfg(target_arch = "wasm32")]
pub mod transport;

pub use decode::{FinishReason, StreamDecoder, StreamEvent, Usage};
pub use error::{HostedError, parse_retry_after};
pub use preset::{BrowserAccess, Preset, Protocol, ProviderId, SeedField, presets, providers_allowing_browser_calls};
pub use request::{
    ANTHROPIC_VERSION, ChatMessage, DEFAULT_ANTHROPIC_MAX_TOKENS, HttpRequest, PreparedRequest, Prompt, RequestSpec,
    Role, Sampling, build_request,
};
pub use session::{CHARS_PER_TOKEN, ResolvedUsage, RunSummary, StreamSession, TokenCount, estimate_tokens};
pub use sse::{DEFAULT_MAX_LINE_BYTES, SseError, SseEvent, SseParser};
pub use url::{BaseUrl, Origin, UrlError, key_may_be_sent, request_origin};
