//! Everything that can go wrong with a hosted call, as plain messages a visitor can act on, and
//! the mapping from HTTP statuses, error bodies and in-stream error events to them.

use crate::preset::{BrowserAccess, ProviderId, providers_allowing_browser_calls};
use crate::url::UrlError;

/// Longest provider message kept (in characters); error bodies can be whole HTML pages.
const MAX_DETAIL_CHARS: usize = 300;

/// A failed hosted call. `Display` is the message shown in the pane.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostedError {
    /// The provider needs a key and none was given.
    #[error("{provider} needs an API key: paste yours in the key field (it stays in this browser)")]
    MissingKey {
        /// Provider.
        provider: ProviderId,
    },
    /// HTTP 401/403, or an authentication/permission error event.
    #[error("{provider} refused the API key (HTTP {status}): check that it is correct, active and allowed to use this model{}", detail_suffix(.detail))]
    BadKey {
        /// Provider.
        provider: ProviderId,
        /// 401 or 403 (0 when reported inside the stream).
        status: u16,
        /// The provider's own message, if any.
        detail: Option<String>,
    },
    /// HTTP 404: unknown model (or a base URL that does not serve this path).
    #[error("{provider} does not know the model \"{model}\" (HTTP 404): check its exact name, or the base URL{}", detail_suffix(.detail))]
    UnknownModel {
        /// Provider.
        provider: ProviderId,
        /// The model asked for.
        model: String,
        /// The provider's own message, if any.
        detail: Option<String>,
    },
    /// HTTP 429 or a rate-limit error event.
    #[error("{provider} is rate limiting this key{}{}", retry_suffix(*.retry_after_secs), detail_suffix(.detail))]
    RateLimited {
        /// Provider.
        provider: ProviderId,
        /// Seconds to wait, from `Retry-After` when the provider sent it (and CORS exposed it).
        retry_after_secs: Option<u64>,
        /// The provider's own message, if any.
        detail: Option<String>,
    },
    /// HTTP 402, or a 429 whose code says the account has no credit left.
    #[error("{provider} says the account has no credit or quota left{}", detail_suffix(.detail))]
    QuotaExceeded {
        /// Provider.
        provider: ProviderId,
        /// The provider's own message, if any.
        detail: Option<String>,
    },
    /// HTTP 5xx (Anthropic's 529 "overloaded" included) or a server/overloaded error event.
    #[error("{provider} had a server error (HTTP {status}); try again in a moment{}", detail_suffix(.detail))]
    Server {
        /// Provider.
        provider: ProviderId,
        /// The status (0 when reported inside the stream).
        status: u16,
        /// The provider's own message, if any.
        detail: Option<String>,
    },
    /// HTTP 400/422 (or another 4xx), with the provider's explanation.
    #[error("{provider} rejected the request (HTTP {status}): {message}")]
    BadRequest {
        /// Provider.
        provider: ProviderId,
        /// The status (0 when reported inside the stream).
        status: u16,
        /// The provider's message, extracted from its JSON error body.
        message: String,
    },
    /// `fetch` failed before any response: the browser hides whether CORS refused it or the
    /// network is down.
    #[error("could not reach {provider} at {host}: the request was blocked by CORS or the network is down. {advice}")]
    Unreachable {
        /// Provider.
        provider: ProviderId,
        /// Host that was called.
        host: String,
        /// What is known about this provider and browsers, and which providers allow them.
        advice: String,
    },
    /// The visitor pressed Stop.
    #[error("stopped")]
    Aborted,
    /// The stream could not be understood (bad JSON, cut off before its end, oversized line).
    #[error("{provider} sent a stream arbitre could not read: {detail}")]
    MalformedStream {
        /// Provider.
        provider: ProviderId,
        /// What was wrong.
        detail: String,
    },
    /// The base URL was refused.
    #[error("the base URL \"{url}\" is not usable: {reason}")]
    InvalidBaseUrl {
        /// The URL as typed.
        url: String,
        /// Why.
        reason: UrlError,
    },
    /// A key was about to be attached to a request for a host other than the one it belongs to.
    #[error(
        "refused to send the {provider} key to {url_origin}: it is only ever sent to {key_origin}; use the `custom` preset for another server"
    )]
    KeyHostMismatch {
        /// Provider whose key it is.
        provider: ProviderId,
        /// The origin the key belongs to.
        key_origin: String,
        /// The origin the request would have gone to.
        url_origin: String,
    },
    /// No base URL for a preset that has none ([`ProviderId::Custom`]).
    #[error("{provider} needs a base URL, such as http://localhost:8080/v1")]
    MissingBaseUrl {
        /// Provider.
        provider: ProviderId,
    },
    /// The key contains characters an HTTP header cannot carry.
    #[error("the {provider} API key contains spaces, line breaks or non-ASCII characters: paste it again")]
    InvalidKey {
        /// Provider.
        provider: ProviderId,
    },
    /// The model name is empty.
    #[error("choose a model for {provider}")]
    MissingModel {
        /// Provider.
        provider: ProviderId,
    },
    /// Raw-text completion asked of a provider without a `/completions` endpoint.
    #[error("{provider} has no raw-text completion endpoint; use chat mode")]
    CompletionUnsupported {
        /// Provider.
        provider: ProviderId,
    },
    /// An error event of a kind not mapped above.
    #[error("{provider} reported an error{}: {message}", kind_suffix(.kind))]
    Provider {
        /// Provider.
        provider: ProviderId,
        /// The provider's error type or code, if given.
        kind: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The browser environment refused something (no `fetch`, a JS exception).
    #[error("the browser could not run the request: {detail}")]
    Browser {
        /// What the browser said.
        detail: String,
    },
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!(" — the provider says: {d}"),
        _ => String::new(),
    }
}

fn retry_suffix(secs: Option<u64>) -> String {
    match secs {
        Some(s) => format!("; retry in {s} s"),
        None => "; wait a little and retry".to_string(),
    }
}

fn kind_suffix(kind: &Option<String>) -> String {
    kind.as_ref().map(|k| format!(" ({k})")).unwrap_or_default()
}

impl HostedError {
    /// Whether this ends the run because the visitor asked it to (not worth an error style).
    pub fn is_abort(&self) -> bool {
        matches!(self, Self::Aborted)
    }

    /// The error for a `fetch` that rejected with a `TypeError` (CORS refusal or network
    /// failure — a page cannot tell which).
    pub fn unreachable(provider: ProviderId, host: &str) -> Self {
        let preset = provider.preset();
        let tail = match preset.browser_access {
            BrowserAccess::Allowed | BrowserAccess::AllowedWithOptInHeader => {
                "This provider normally allows browser calls, so the network (or an extension or firewall) is the likelier cause."
            }
            BrowserAccess::DependsOnServer => "Check that the server is running and allows this page's origin.",
            BrowserAccess::Unverified => "If the network is fine, this provider probably refuses browser calls.",
        };
        let advice = format!(
            "{} {tail} Providers known to allow browser calls: {}.",
            preset.browser_note,
            providers_allowing_browser_calls()
        );
        Self::Unreachable { provider, host: host.to_string(), advice }
    }

    /// Maps a non-2xx HTTP response to an error. `retry_after` is the `Retry-After` header if it
    /// could be read; `body` the response text (JSON error body or anything else).
    pub fn from_http(provider: ProviderId, model: &str, status: u16, retry_after: Option<&str>, body: &str) -> Self {
        let info = ErrorBody::parse(body);
        let detail = info.message.clone();
        let quota = info.is_quota();
        match status {
            401 | 403 => Self::BadKey { provider, status, detail },
            404 => Self::UnknownModel { provider, model: model.to_string(), detail },
            402 => Self::QuotaExceeded { provider, detail },
            429 if quota => Self::QuotaExceeded { provider, detail },
            429 => Self::RateLimited { provider, retry_after_secs: retry_after.and_then(parse_retry_after), detail },
            500..=599 => Self::Server { provider, status, detail },
            _ => Self::BadRequest {
                provider,
                status,
                message: detail.unwrap_or_else(|| format!("HTTP {status} with no explanation")),
            },
        }
    }

    /// Maps an error reported inside the stream (OpenAI-style `{"error": …}` chunk or
    /// Anthropic `event: error`) from its JSON text.
    pub fn from_stream_error(provider: ProviderId, model: &str, json: &str) -> Self {
        let info = ErrorBody::parse(json);
        let message = info.message.clone().unwrap_or_else(|| "no message".to_string());
        let kind = info.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        let status = info.status.unwrap_or(0);
        if status >= 400 && kind.is_empty() {
            return Self::from_http(provider, model, status, None, json);
        }
        let detail = Some(message.clone());
        match kind.as_str() {
            "authentication_error" | "permission_error" | "invalid_api_key" | "unauthorized" => {
                Self::BadKey { provider, status, detail }
            }
            "not_found_error" | "model_not_found" | "notfounderror" => {
                Self::UnknownModel { provider, model: model.to_string(), detail }
            }
            "insufficient_quota" | "billing_error" => Self::QuotaExceeded { provider, detail },
            "rate_limit_error" | "rate_limit_exceeded" | "tokens" | "requests" => {
                Self::RateLimited { provider, retry_after_secs: None, detail }
            }
            "overloaded_error" | "api_error" | "server_error" | "internal_server_error" | "service_unavailable" => {
                Self::Server { provider, status, detail }
            }
            "invalid_request_error" | "request_too_large" | "badrequesterror" => {
                Self::BadRequest { provider, status, message }
            }
            _ => Self::Provider { provider, kind: info.kind, message },
        }
    }
}

/// Seconds from a `Retry-After` value. HTTP-date values need a clock and are not parsed.
pub fn parse_retry_after(value: &str) -> Option<u64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    // Some providers send fractional seconds ("1.5"); round up.
    v.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f.ceil() as u64)
}

/// What was found in an error body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ErrorBody {
    message: Option<String>,
    kind: Option<String>,
    code: Option<String>,
    status: Option<u16>,
}

impl ErrorBody {
    /// Understands the shapes providers use:
    /// OpenAI/Groq/llama.cpp `{"error":{"message","type","code"}}`,
    /// Anthropic `{"type":"error","error":{"type","message"}}`,
    /// Mistral/vLLM `{"object":"error","message","type","code"}` (Mistral's message may be an
    /// object of validation details), Ollama `{"error":"…"}`, FastAPI `{"detail": …}`.
    /// Anything else keeps its first characters as the message.
    fn parse(body: &str) -> Self {
        let trimmed = body.trim();
        let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) else {
            let text = if trimmed.starts_with('<') { strip_tags(trimmed) } else { trimmed.to_string() };
            return Self { message: clip(&text), ..Self::default() };
        };
        let inner = match value.get("error") {
            Some(e @ serde_json::Value::Object(_)) => e,
            Some(serde_json::Value::String(s)) => {
                return Self { message: clip(s), ..Self::default() };
            }
            _ => &value,
        };
        let message = inner
            .get("message")
            .or_else(|| inner.get("detail"))
            .or_else(|| inner.get("msg"))
            .and_then(text_of)
            .or_else(|| value.get("detail").and_then(text_of))
            .or_else(|| value.get("message").and_then(text_of));
        let kind = inner.get("type").and_then(|t| t.as_str()).filter(|t| *t != "error").map(str::to_string);
        let code = inner.get("code").and_then(|c| match c {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let status = inner.get("code").and_then(|c| c.as_u64()).and_then(|c| u16::try_from(c).ok());
        let kind = kind.or_else(|| code.clone().filter(|c| !c.bytes().all(|b| b.is_ascii_digit())));
        Self { message: message.as_deref().and_then(clip), kind, code, status }
    }

    fn is_quota(&self) -> bool {
        let hit = |s: &Option<String>| {
            s.as_deref().is_some_and(|s| s.contains("insufficient_quota") || s.contains("billing"))
        };
        hit(&self.code) || hit(&self.kind)
    }
}

/// The text of a JSON message field: a string, or validation details flattened.
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| {
                    let msg = i.get("msg").and_then(|m| m.as_str())?;
                    let loc = i
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .map(|l| {
                            l.iter()
                                .map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()))
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    Some(if loc.is_empty() { msg.to_string() } else { format!("{loc}: {msg}") })
                })
                .collect();
            if parts.is_empty() { Some(v.to_string()) } else { Some(parts.join("; ")) }
        }
        serde_json::Value::Object(o) => o.get("detail").and_then(text_of).or_else(|| Some(v.to_string())),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars().count() <= MAX_DETAIL_CHARS {
        Some(s.to_string())
    } else {
        Some(format!("{}…", s.chars().take(MAX_DETAIL_CHARS).collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderId::*;

    #[test]
    fn statuses_map_to_plain_messages() {
        let e = HostedError::from_http(
            OpenAi,
            "gpt-x",
            401,
            None,
            r#"{"error":{"message":"Incorrect API key provided: sk-abc***. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert!(matches!(e, HostedError::BadKey { status: 401, .. }));
        assert!(e.to_string().contains("refused the API key"));
        assert!(e.to_string().contains("Incorrect API key"));

        let e = HostedError::from_http(
            Anthropic,
            "m",
            403,
            None,
            r#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission"}}"#,
        );
        assert!(matches!(e, HostedError::BadKey { status: 403, .. }));

        let e = HostedError::from_http(
            OpenAi,
            "gpt-9",
            404,
            None,
            r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
        );
        assert_eq!(
            e.to_string(),
            "OpenAI does not know the model \"gpt-9\" (HTTP 404): check its exact name, or the base URL — the provider says: The model `gpt-9` does not exist or you do not have access to it."
        );

        let e = HostedError::from_http(
            Groq,
            "m",
            429,
            Some("7"),
            r#"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(
            e,
            HostedError::RateLimited {
                provider: Groq,
                retry_after_secs: Some(7),
                detail: Some("Rate limit reached".into())
            }
        );
        assert!(e.to_string().contains("retry in 7 s"));
        let e = HostedError::from_http(Groq, "m", 429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), "");
        assert!(matches!(e, HostedError::RateLimited { retry_after_secs: None, detail: None, .. }));
        assert!(e.to_string().contains("wait a little"));

        let e = HostedError::from_http(
            OpenAi,
            "m",
            429,
            None,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert!(matches!(e, HostedError::QuotaExceeded { .. }));
        let e = HostedError::from_http(
            OpenRouter,
            "m",
            402,
            None,
            r#"{"error":{"message":"Insufficient credits","code":402}}"#,
        );
        assert!(matches!(e, HostedError::QuotaExceeded { .. }));

        for status in [500, 502, 503, 529] {
            let e = HostedError::from_http(
                Anthropic,
                "m",
                status,
                None,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            );
            assert!(matches!(e, HostedError::Server { .. }), "{status}");
            assert!(e.to_string().contains(&format!("HTTP {status}")));
        }
        let e = HostedError::from_http(Vllm, "m", 502, None, "<html><body><h1>502 Bad Gateway</h1></body></html>");
        assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
    }

    #[test]
    fn bad_request_messages_are_extracted() {
        let cases = [
            (
                OpenAi,
                r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
                "Unsupported parameter: 'max_tokens'",
            ),
            (
                Anthropic,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#,
                "max_tokens: Field required",
            ),
            (
                Mistral,
                r#"{"object":"error","message":"Prompt contains 40000 tokens, too large for model","type":"invalid_request_error","param":null,"code":null}"#,
                "too large for model",
            ),
            (
                Mistral,
                r#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted","input":{}}]},"type":"invalid_request_error","param":null,"code":null}"#,
                "body.stream_options: Extra inputs are not permitted",
            ),
            (Ollama, r#"{"error":"invalid temperature"}"#, "invalid temperature"),
            (
                LlamaCpp,
                r#"{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}"#,
                "exceeds the available context",
            ),
            (
                Custom,
                r#"{"detail":[{"loc":["body","messages",0,"role"],"msg":"field required","type":"value_error.missing"}]}"#,
                "body.messages.0.role: field required",
            ),
            (Custom, "plain text failure", "plain text failure"),
        ];
        for (provider, body, expected) in cases {
            let e = HostedError::from_http(provider, "m", 400, None, body);
            match &e {
                HostedError::BadRequest { message, status: 400, .. } => {
                    assert!(message.contains(expected), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
        let e = HostedError::from_http(Custom, "m", 422, None, "");
        assert!(e.to_string().contains("HTTP 422 with no explanation"));
        let long = "x".repeat(5000);
        let e = HostedError::from_http(Custom, "m", 400, None, &long);
        assert!(e.to_string().chars().count() < 400);
    }

    #[test]
    fn stream_errors_map_by_type() {
        let e = HostedError::from_stream_error(
            Anthropic,
            "m",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert!(matches!(e, HostedError::Server { status: 0, .. }));
        let e = HostedError::from_stream_error(
            Anthropic,
            "m",
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        );
        assert!(matches!(e, HostedError::RateLimited { .. }));
        let e = HostedError::from_stream_error(
            OpenAi,
            "m",
            r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"#,
        );
        assert!(matches!(e, HostedError::Server { .. }));
        let e = HostedError::from_stream_error(
            OpenRouter,
            "m",
            r#"{"error":{"code":502,"message":"Provider returned error"}}"#,
        );
        assert!(matches!(e, HostedError::Server { status: 502, .. }), "{e:?}");
        let e = HostedError::from_stream_error(Vllm, "m", r#"{"error":{"message":"weird","type":"SomethingElse"}}"#);
        assert_eq!(e.to_string(), "vLLM (self-hosted) reported an error (SomethingElse): weird");
    }

    #[test]
    fn unreachable_explains_browser_access() {
        let e = HostedError::unreachable(DeepSeek, "api.deepseek.com");
        let s = e.to_string();
        assert!(s.contains("blocked by CORS or the network is down"), "{s}");
        assert!(s.contains("probably refuses browser calls"));
        assert!(s.contains("Providers known to allow browser calls: OpenAI, Anthropic"));
        let s = HostedError::unreachable(Ollama, "localhost").to_string();
        assert!(s.contains("OLLAMA_ORIGINS"));
        assert_eq!(HostedError::Aborted.to_string(), "stopped");
        assert!(HostedError::Aborted.is_abort());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 30 "), Some(30));
        assert_eq!(parse_retry_after("1.2"), Some(2));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }
}
