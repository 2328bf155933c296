//! Building the HTTP request of one streamed generation, with no I/O.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::error::HostedError;
use crate::preset::{Protocol, ProviderId, SeedField};
use crate::url::{BaseUrl, Origin, key_may_be_sent};

/// `max_tokens` sent to Anthropic when none is given (the Messages API requires one).
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 1024;

/// The `anthropic-version` header value used.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Header names that carry a key (matched case-insensitively).
const KEY_HEADERS: [&str; 2] = ["authorization", "x-api-key"];

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions (Anthropic: moved to the top-level `system` field).
    System,
    /// The visitor.
    User,
    /// The model.
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// `chat` mode: messages, rendered by the provider's own chat template.
    Chat {
        /// The conversation, oldest first.
        messages: Vec<ChatMessage>,
    },
    /// `completion` mode: raw text continued as is (`/completions`; OpenAI-compatible only).
    Completion {
        /// The text to continue.
        prompt: String,
    },
}

impl Prompt {
    /// All prompt text concatenated, for token estimates when the API reports no usage.
    pub fn text(&self) -> String {
        match self {
            Self::Chat { messages } => messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n"),
            Self::Completion { prompt } => prompt.clone(),
        }
    }
}

/// Sampling settings. `None` leaves the provider's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    /// Temperature (OpenAI 0–2, Anthropic 0–1; 0 is greedy on most servers).
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold.
    pub top_p: Option<f64>,
    /// Most tokens to generate (Anthropic: [`DEFAULT_ANTHROPIC_MAX_TOKENS`] when `None`).
    pub max_tokens: Option<u32>,
    /// Stop sequences (empty strings are dropped).
    pub stop: Vec<String>,
    /// Seed, where the provider has one (masked into the signed 63-bit range APIs accept).
    pub seed: Option<u64>,
    /// Top-k, sent only to servers that accept it (llama.cpp, vLLM).
    pub top_k: Option<u32>,
    /// Min-p, sent only to servers that accept it (llama.cpp, vLLM).
    pub min_p: Option<f64>,
    /// Repetition penalty (1 = none), sent only to servers that accept it: llama.cpp's
    /// `repeat_penalty`, vLLM's `repetition_penalty`. llama-cpp-python's server applies 1.1
    /// when the field is absent, so a greedy comparison with the local engine must send it.
    pub repeat_penalty: Option<f64>,
}

/// Everything needed to build a request.
#[derive(Clone, PartialEq)]
pub struct RequestSpec {
    /// Which preset.
    pub provider: ProviderId,
    /// Base URL override (`api_base` in the page URL); `None` uses the preset's. Required for
    /// [`ProviderId::Custom`].
    pub base_url: Option<String>,
    /// Model name as the provider spells it.
    pub model: String,
    /// The visitor's key, if any.
    pub api_key: Option<String>,
    /// What to send.
    pub prompt: Prompt,
    /// Sampling settings.
    pub sampling: Sampling,
}

impl fmt::Debug for RequestSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpec")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("prompt", &self.prompt)
            .field("sampling", &self.sampling)
            .finish()
    }
}

/// A plain HTTP request, ready for any client. `Debug` hides key headers.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Always `POST`.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: String,
}

impl HttpRequest {
    /// Whether a header carrying a key is present.
    pub fn carries_key(&self) -> bool {
        self.headers.iter().any(|(n, _)| is_key_header(n))
    }

    /// Value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), if is_key_header(n) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

fn is_key_header(name: &str) -> bool {
    KEY_HEADERS.iter().any(|k| name.eq_ignore_ascii_case(k))
}

/// A built request plus what the transport and decoder need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    /// The request itself.
    pub http: HttpRequest,
    /// Which preset.
    pub provider: ProviderId,
    /// Model asked for (for error messages).
    pub model: String,
    /// Host called (for error messages and the network log).
    pub host: String,
    /// The origin a key in this request belongs to, when it carries one.
    pub key_origin: Option<Origin>,
    /// Prompt text, for token estimates when the API reports no usage.
    pub prompt_text: String,
}

impl PreparedRequest {
    /// Refuses the request if it carries a key and its URL's origin is not the key's. The
    /// builder already guarantees this; the transport checks again right before sending.
    pub fn check_key_destination(&self) -> Result<(), HostedError> {
        if !self.http.carries_key() {
            return Ok(());
        }
        match &self.key_origin {
            Some(origin) if key_may_be_sent(&self.http.url, origin) => Ok(()),
            Some(origin) => Err(HostedError::KeyHostMismatch {
                provider: self.provider,
                key_origin: origin.to_string(),
                url_origin: crate::url::request_origin(&self.http.url)
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| self.http.url.clone()),
            }),
            None => Err(HostedError::KeyHostMismatch {
                provider: self.provider,
                key_origin: "(none)".to_string(),
                url_origin: self.http.url.clone(),
            }),
        }
    }
}

/// Builds the streamed request for `spec`.
///
/// The key rule: a key is attached only to a URL whose origin (scheme, host, port) equals the
/// origin the key belongs to — the preset's fixed base for hosted providers, the configured base
/// for self-hosted ones. A hosted preset pointed at another origin with a key is refused with
/// [`HostedError::KeyHostMismatch`]; use [`ProviderId::Custom`] for other servers.
pub fn build_request(spec: &RequestSpec) -> Result<PreparedRequest, HostedError> {
    let provider = spec.provider;
    let preset = provider.preset();
    let model = spec.model.trim();
    if model.is_empty() {
        return Err(HostedError::MissingModel { provider });
    }
    let base_text = spec.base_url.as_deref().map(str::trim).filter(|b| !b.is_empty()).unwrap_or(preset.base_url);
    if base_text.is_empty() {
        return Err(HostedError::MissingBaseUrl { provider });
    }
    let base = BaseUrl::parse(base_text)
        .map_err(|reason| HostedError::InvalidBaseUrl { url: base_text.to_string(), reason })?;

    let key = spec.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    if let Some(k) = key
        && !k.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(HostedError::InvalidKey { provider });
    }
    if key.is_none() && preset.key_required {
        return Err(HostedError::MissingKey { provider });
    }

    let key_origin = if preset.base_url_editable {
        base.origin()
    } else {
        BaseUrl::parse(preset.base_url)
            .map_err(|reason| HostedError::InvalidBaseUrl { url: preset.base_url.to_string(), reason })?
            .origin()
    };

    let (path, body) = match (&spec.prompt, preset.protocol) {
        (Prompt::Chat { messages }, Protocol::OpenAiCompatible) => {
            ("chat/completions", openai_chat_body(spec.provider, model, messages, &spec.sampling))
        }
        (Prompt::Completion { prompt }, Protocol::OpenAiCompatible) => {
            if !preset.supports_completions {
                return Err(HostedError::CompletionUnsupported { provider });
            }
            ("completions", openai_completion_body(spec.provider, model, prompt, &spec.sampling))
        }
        (Prompt::Chat { messages }, Protocol::AnthropicMessages) => {
            ("messages", anthropic_body(model, messages, &spec.sampling))
        }
        (Prompt::Completion { .. }, Protocol::AnthropicMessages) => {
            return Err(HostedError::CompletionUnsupported { provider });
        }
    };
    let url = base.join(path);

    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(k) = key {
        if !key_may_be_sent(&url, &key_origin) {
            return Err(HostedError::KeyHostMismatch {
                provider,
                key_origin: key_origin.to_string(),
                url_origin: base.origin().to_string(),
            });
        }
        match preset.protocol {
            Protocol::OpenAiCompatible => headers.push(("Authorization".to_string(), format!("Bearer {k}"))),
            Protocol::AnthropicMessages => headers.push(("x-api-key".to_string(), k.to_string())),
        }
    }
    if preset.protocol == Protocol::AnthropicMessages {
        headers.push(("anthropic-version".to_string(), ANTHROPIC_VERSION.to_string()));
        headers.push(("anthropic-dangerous-direct-browser-access".to_string(), "true".to_string()));
    }

    Ok(PreparedRequest {
        http: HttpRequest { method: "POST", url, headers, body: body.to_string() },
        provider,
        model: model.to_string(),
        host: base.host().to_string(),
        key_origin: key.map(|_| key_origin),
        prompt_text: spec.prompt.text(),
    })
}

/// `f64` rounded to 6 decimals, so that a value converted from `f32` (0.7f32 is
/// 0.699999988…) is sent as typed.
fn tidy(x: f64) -> Value {
    let r = (x * 1e6).round() / 1e6;
    serde_json::Number::from_f64(r).map(Value::Number).unwrap_or(Value::Null)
}

fn stops(sampling: &Sampling) -> Vec<&str> {
    sampling.stop.iter().map(String::as_str).filter(|s| !s.is_empty()).collect()
}

fn common_openai(body: &mut Map<String, Value>, provider: ProviderId, sampling: &Sampling, max_field: &str) {
    let preset = provider.preset();
    body.insert("stream".into(), Value::Bool(true));
    if preset.stream_usage_option {
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    if let Some(t) = sampling.temperature {
        body.insert("temperature".into(), tidy(t));
    }
    if let Some(p) = sampling.top_p {
        body.insert("top_p".into(), tidy(p));
    }
    if let Some(n) = sampling.max_tokens {
        body.insert(max_field.into(), json!(n));
    }
    let stop = stops(sampling);
    if !stop.is_empty() {
        body.insert("stop".into(), json!(stop));
    }
    let penalty_field = match provider {
        ProviderId::LlamaCpp => Some("repeat_penalty"),
        ProviderId::Vllm => Some("repetition_penalty"),
        _ => None,
    };
    if let Some(field) = penalty_field {
        if let Some(k) = sampling.top_k {
            body.insert("top_k".into(), json!(k));
        }
        if let Some(p) = sampling.min_p {
            body.insert("min_p".into(), tidy(p));
        }
        if let Some(r) = sampling.repeat_penalty {
            body.insert(field.into(), tidy(r));
        }
    }
    if let Some(seed) = sampling.seed {
        let seed = seed & (i64::MAX as u64);
        match preset.seed_field {
            SeedField::Seed => {
                body.insert("seed".into(), json!(seed));
            }
            SeedField::RandomSeed => {
                body.insert("random_seed".into(), json!(seed));
            }
            SeedField::Unsupported => {}
        }
    }
}

fn openai_chat_body(provider: ProviderId, model: &str, messages: &[ChatMessage], sampling: &Sampling) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let msgs: Vec<Value> = messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })).collect();
    body.insert("messages".into(), Value::Array(msgs));
    common_openai(&mut body, provider, sampling, provider.preset().max_tokens_field);
    Value::Object(body)
}

fn openai_completion_body(provider: ProviderId, model: &str, prompt: &str, sampling: &Sampling) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("prompt".into(), json!(prompt));
    // The legacy completions endpoint takes `max_tokens` everywhere.
    common_openai(&mut body, provider, sampling, "max_tokens");
    Value::Object(body)
}

fn anthropic_body(model: &str, messages: &[ChatMessage], sampling: &Sampling) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let system: Vec<&str> = messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    let msgs: Vec<Value> = messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({ "role": m.role.as_str(), "content": m.content }))
        .collect();
    body.insert("messages".into(), Value::Array(msgs));
    body.insert("max_tokens".into(), json!(sampling.max_tokens.unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS)));
    body.insert("stream".into(), Value::Bool(true));
    if let Some(t) = sampling.temperature {
        body.insert("temperature".into(), tidy(t));
    }
    if let Some(p) = sampling.top_p {
        body.insert("top_p".into(), tidy(p));
    }
    let stop = stops(sampling);
    if !stop.is_empty() {
        body.insert("stop_sequences".into(), json!(stop));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Prompt {
        Prompt::Chat {
            messages: vec![
                ChatMessage::new(Role::System, "Be brief."),
                ChatMessage::new(Role::User, "Hi"),
                ChatMessage::new(Role::Assistant, "Hello."),
                ChatMessage::new(Role::User, "Why is the sky blue?"),
            ],
        }
    }

    fn spec(provider: ProviderId, base: Option<&str>, key: Option<&str>) -> RequestSpec {
        RequestSpec {
            provider,
            base_url: base.map(str::to_string),
            model: "some-model".into(),
            api_key: key.map(str::to_string),
            prompt: chat(),
            sampling: Sampling {
                temperature: Some(f64::from(0.7f32)),
                top_p: Some(0.9),
                max_tokens: Some(64),
                stop: vec!["\n\n".into(), String::new()],
                seed: Some(42),
                top_k: Some(40),
                min_p: Some(0.05),
                repeat_penalty: Some(1.0),
            },
        }
    }

    #[test]
    fn llama_cpp_extensions_go_only_to_servers_that_take_them() {
        let llama =
            build_request(&spec(ProviderId::LlamaCpp, Some("http://127.0.0.1:8080/v1"), None)).expect("request");
        let b = body(&llama);
        assert_eq!(
            (b["top_k"].clone(), b["min_p"].clone(), b["repeat_penalty"].clone()),
            (json!(40), json!(0.05), json!(1.0))
        );
        let vllm = build_request(&spec(ProviderId::Vllm, Some("http://127.0.0.1:8000/v1"), None)).expect("request");
        assert_eq!(body(&vllm)["repetition_penalty"], json!(1.0));
        let openai = build_request(&spec(ProviderId::OpenAi, None, Some("sk-x"))).expect("request");
        let b = body(&openai);
        assert!(b.get("top_k").is_none() && b.get("min_p").is_none() && b.get("repeat_penalty").is_none());
    }

    fn body(r: &PreparedRequest) -> Value {
        serde_json::from_str(&r.http.body).expect("JSON body")
    }

    #[test]
    fn openai_request() {
        let r = build_request(&spec(ProviderId::OpenAi, None, Some(" sk-test "))).expect("builds");
        assert_eq!(r.http.method, "POST");
        assert_eq!(r.http.url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(r.http.header("authorization"), Some("Bearer sk-test"));
        assert_eq!(r.http.header("content-type"), Some("application/json"));
        assert_eq!(r.http.headers.len(), 2, "no extra headers: they break CORS preflights");
        let b = body(&r);
        assert_eq!(
            b,
            json!({
                "model": "some-model",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Why is the sky blue?"}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.7,
                "top_p": 0.9,
                "max_completion_tokens": 64,
                "stop": ["\n\n"],
                "seed": 42
            })
        );
        assert!(!format!("{r:?}").contains("sk-test"), "Debug must not show the key");
        assert!(!format!("{:?}", spec(ProviderId::OpenAi, None, Some("sk-test"))).contains("sk-test"));
    }

    #[test]
    fn provider_quirks() {
        let b = body(&build_request(&spec(ProviderId::Mistral, None, Some("k"))).expect("builds"));
        assert_eq!(b["random_seed"], json!(42));
        assert!(b.get("seed").is_none() && b.get("stream_options").is_none());
        assert_eq!(b["max_tokens"], json!(64));

        let r = build_request(&spec(ProviderId::DeepSeek, None, Some("k"))).expect("builds");
        assert_eq!(r.http.url, "https://api.deepseek.com/chat/completions");
        assert!(body(&r).get("seed").is_none());

        let r = build_request(&spec(ProviderId::Groq, None, Some("k"))).expect("builds");
        assert_eq!(r.http.url, "https://api.groq.com/openai/v1/chat/completions");
        let r = build_request(&spec(ProviderId::OpenRouter, None, Some("k"))).expect("builds");
        assert_eq!(r.http.url, "https://openrouter.ai/api/v1/chat/completions");
        let r = build_request(&spec(ProviderId::Together, None, Some("k"))).expect("builds");
        assert_eq!(r.http.url, "https://api.together.xyz/v1/chat/completions");
    }

    #[test]
    fn anthropic_request() {
        let r = build_request(&spec(ProviderId::Anthropic, None, Some("sk-ant-x"))).expect("builds");
        assert_eq!(r.http.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(r.http.header("x-api-key"), Some("sk-ant-x"));
        assert_eq!(r.http.header("anthropic-version"), Some(ANTHROPIC_VERSION));
        assert_eq!(r.http.header("anthropic-dangerous-direct-browser-access"), Some("true"));
        assert_eq!(r.http.header("authorization"), None);
        assert_eq!(
            body(&r),
            json!({
                "model": "some-model",
                "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Why is the sky blue?"}
                ],
                "max_tokens": 64,
                "stream": true,
                "temperature": 0.7,
                "top_p": 0.9,
                "stop_sequences": ["\n\n"]
            })
        );
        let mut s = spec(ProviderId::Anthropic, None, Some("k"));
        s.sampling = Sampling::default();
        assert_eq!(body(&build_request(&s).expect("builds"))["max_tokens"], json!(DEFAULT_ANTHROPIC_MAX_TOKENS));
        s.prompt = Prompt::Completion { prompt: "x".into() };
        assert!(matches!(build_request(&s), Err(HostedError::CompletionUnsupported { .. })));
    }

    #[test]
    fn self_hosted_and_completion_mode() {
        let mut s = spec(ProviderId::LlamaCpp, Some("http://127.0.0.1:8765/v1/"), None);
        s.prompt = Prompt::Completion { prompt: "Once upon a time".into() };
        s.sampling = Sampling { temperature: Some(0.0), max_tokens: Some(32), ..Sampling::default() };
        let r = build_request(&s).expect("builds");
        assert_eq!(r.http.url, "http://127.0.0.1:8765/v1/completions");
        assert!(!r.http.carries_key());
        assert_eq!(
            body(&r),
            json!({"model": "some-model", "prompt": "Once upon a time", "stream": true, "temperature": 0.0, "max_tokens": 32})
        );
        assert_eq!(r.prompt_text, "Once upon a time");

        let r = build_request(&spec(ProviderId::Ollama, None, None)).expect("builds");
        assert_eq!(r.http.url, "http://localhost:11434/v1/chat/completions");
        assert_eq!(body(&r)["stream_options"], json!({"include_usage": true}));

        let r = build_request(&spec(ProviderId::Vllm, Some("https://gpu.example.org:8443/v1"), Some("tok")))
            .expect("builds");
        assert_eq!(r.http.url, "https://gpu.example.org:8443/v1/chat/completions");
        assert_eq!(r.http.header("Authorization"), Some("Bearer tok"));
        assert!(r.check_key_destination().is_ok());

        let mut s = spec(ProviderId::Mistral, None, Some("k"));
        s.prompt = Prompt::Completion { prompt: "x".into() };
        assert!(matches!(build_request(&s), Err(HostedError::CompletionUnsupported { .. })));
    }

    #[test]
    fn key_is_never_sent_to_another_host() {
        // A hosted preset pointed elsewhere: the key is refused, whatever the trick.
        for base in [
            "https://evil.example/v1",
            "https://api.openai.com.evil.example/v1",
            "http://api.openai.com/v1",
            "https://api.openai.com:444/v1",
        ] {
            let r = build_request(&spec(ProviderId::OpenAi, Some(base), Some("sk-secret")));
            assert!(matches!(r, Err(HostedError::KeyHostMismatch { .. })), "{base}: {r:?}");
        }
        for base in ["https://api.openai.com@evil.example/v1", "https://evil.example\\@api.openai.com/v1"] {
            let r = build_request(&spec(ProviderId::OpenAi, Some(base), Some("sk-secret")));
            assert!(matches!(r, Err(HostedError::InvalidBaseUrl { .. })), "{base}: {r:?}");
        }
        // Same origin with another path is fine (e.g. a typed trailing slash).
        let r = build_request(&spec(ProviderId::OpenAi, Some("https://API.openai.com/v1/"), Some("k"))).expect("ok");
        assert!(r.check_key_destination().is_ok());

        // Tampering after the build is caught by the transport's check.
        let mut r = build_request(&spec(ProviderId::Anthropic, None, Some("k"))).expect("ok");
        r.http.url = "https://evil.example/v1/messages".into();
        assert!(matches!(r.check_key_destination(), Err(HostedError::KeyHostMismatch { .. })));
        let mut r = build_request(&spec(ProviderId::Ollama, None, None)).expect("ok");
        r.http.url = "https://evil.example/v1/chat/completions".into();
        assert!(r.check_key_destination().is_ok(), "no key, nothing to leak");
        r.http.headers.push(("authorization".into(), "Bearer x".into()));
        assert!(r.check_key_destination().is_err(), "a key without a known origin is refused");

        // Self-hosted: the key goes to the configured server only.
        let r = build_request(&spec(ProviderId::Custom, Some("http://10.0.0.5:8000/v1"), Some("k"))).expect("ok");
        assert_eq!(r.key_origin.as_ref().map(|o| o.to_string()).as_deref(), Some("http://10.0.0.5:8000"));
    }

    #[test]
    fn input_problems() {
        assert!(matches!(build_request(&spec(ProviderId::OpenAi, None, None)), Err(HostedError::MissingKey { .. })));
        assert!(matches!(
            build_request(&spec(ProviderId::OpenAi, None, Some("  "))),
            Err(HostedError::MissingKey { .. })
        ));
        assert!(matches!(
            build_request(&spec(ProviderId::OpenAi, None, Some("sk-a\nb"))),
            Err(HostedError::InvalidKey { .. })
        ));
        assert!(matches!(
            build_request(&spec(ProviderId::OpenAi, None, Some("clé"))),
            Err(HostedError::InvalidKey { .. })
        ));
        assert!(matches!(
            build_request(&spec(ProviderId::Custom, None, None)),
            Err(HostedError::MissingBaseUrl { .. })
        ));
        assert!(matches!(
            build_request(&spec(ProviderId::Custom, Some("localhost:8080"), None)),
            Err(HostedError::InvalidBaseUrl { .. })
        ));
        let mut s = spec(ProviderId::Vllm, None, None);
        s.model = " ".into();
        assert!(matches!(build_request(&s), Err(HostedError::MissingModel { .. })));
    }
}
