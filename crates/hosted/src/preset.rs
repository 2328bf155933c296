//! The providers arbitre knows how to call, and what is publicly known about calling each one
//! straight from a browser.

/// Which wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OpenAI-compatible `POST {base}/chat/completions` (and `/completions`), SSE `data:` chunks
    /// ending with `data: [DONE]`.
    OpenAiCompatible,
    /// Anthropic Messages `POST {base}/messages`, named SSE events (`message_start`, …).
    AnthropicMessages,
}

/// Whether a provider answers cross-origin (CORS) requests made by a web page, as far as
/// publicly known. A page cannot tell a CORS refusal from a network failure (both surface as a
/// `TypeError` from `fetch`), so this is what the error message leans on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrowserAccess {
    /// The API sends CORS headers for any origin; the standard `Authorization` and
    /// `Content-Type` headers pass the preflight.
    Allowed,
    /// The API answers browsers only when the request carries an opt-in header, which
    /// [`crate::build_request`] always adds.
    AllowedWithOptInHeader,
    /// A server the visitor runs: it depends on how it was started (the note says which flag).
    DependsOnServer,
    /// Reports disagree or nothing authoritative was found.
    Unverified,
}

/// Which request field carries the sampling seed, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedField {
    /// The provider has no seed parameter; a seed is not sent.
    Unsupported,
    /// `"seed"` (OpenAI and most compatible servers).
    Seed,
    /// `"random_seed"` (Mistral).
    RandomSeed,
}

/// Identifies a provider preset. Its [`ProviderId::as_str`] spelling is the one used in the
/// page's URL state (`api=openai`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderId {
    /// OpenAI.
    OpenAi,
    /// Anthropic (Messages API).
    Anthropic,
    /// Mistral AI ("La Plateforme").
    Mistral,
    /// OpenRouter.
    OpenRouter,
    /// Groq.
    Groq,
    /// DeepSeek.
    DeepSeek,
    /// Together AI.
    Together,
    /// A self-hosted vLLM server.
    Vllm,
    /// A local Ollama, through its OpenAI-compatible `/v1`.
    Ollama,
    /// A llama.cpp `llama-server` (or llama-cpp-python's server).
    LlamaCpp,
    /// Any other OpenAI-compatible server; the base URL must be given.
    Custom,
}

impl ProviderId {
    /// Every preset, in the order a picker shows them.
    pub const ALL: [ProviderId; 11] = [
        Self::OpenAi,
        Self::Anthropic,
        Self::Mistral,
        Self::OpenRouter,
        Self::Groq,
        Self::DeepSeek,
        Self::Together,
        Self::Vllm,
        Self::Ollama,
        Self::LlamaCpp,
        Self::Custom,
    ];

    /// The spelling used in URLs: `openai`, `anthropic`, `mistral`, `openrouter`, `groq`,
    /// `deepseek`, `together`, `vllm`, `ollama`, `llamacpp`, `custom`.
    pub fn as_str(self) -> &'static str {
        self.preset().id
    }

    /// Parses the URL spelling (case-insensitive; `llama.cpp` and `llama-cpp` accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let s = match s.as_str() {
            "llama.cpp" | "llama-cpp" | "llama_cpp" => "llamacpp",
            other => other,
        };
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The preset's static description.
    pub fn preset(self) -> &'static Preset {
        match self {
            Self::OpenAi => &OPENAI,
            Self::Anthropic => &ANTHROPIC,
            Self::Mistral => &MISTRAL,
            Self::OpenRouter => &OPENROUTER,
            Self::Groq => &GROQ,
            Self::DeepSeek => &DEEPSEEK,
            Self::Together => &TOGETHER,
            Self::Vllm => &VLLM,
            Self::Ollama => &OLLAMA,
            Self::LlamaCpp => &LLAMACPP,
            Self::Custom => &CUSTOM,
        }
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.preset().name)
    }
}

/// What arbitre knows about one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// URL spelling (see [`ProviderId::as_str`]).
    pub id: &'static str,
    /// Name shown to the visitor.
    pub name: &'static str,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Base URL the paths are appended to (`{base}/chat/completions`). For hosted providers the
    /// API key is only ever sent to this URL's origin. Empty for [`ProviderId::Custom`].
    pub base_url: &'static str,
    /// Whether the visitor may point the preset at another base URL (self-hosted servers).
    /// When false, a different origin is refused if a key is attached.
    pub base_url_editable: bool,
    /// Whether the provider refuses requests without a key.
    pub key_required: bool,
    /// Whether the provider answers direct browser calls.
    pub browser_access: BrowserAccess,
    /// One or two sentences on browser access, shown when a call is blocked.
    pub browser_note: &'static str,
    /// Whether to ask for usage in the stream with `stream_options: {include_usage: true}`.
    /// Off where the server is known to reject unknown fields or reports usage anyway.
    pub stream_usage_option: bool,
    /// Which field carries the seed.
    pub seed_field: SeedField,
    /// Name of the output-length field in chat requests (`max_tokens`, or OpenAI's
    /// `max_completion_tokens`, which its newer models require).
    pub max_tokens_field: &'static str,
    /// Whether the OpenAI-style raw-text `/completions` endpoint is served.
    pub supports_completions: bool,
}

impl Preset {
    /// Whether browser calls are known to work without server-side configuration.
    pub fn allows_browser_calls(&self) -> bool {
        matches!(self.browser_access, BrowserAccess::Allowed | BrowserAccess::AllowedWithOptInHeader)
    }
}

/// Every preset, in picker order.
pub fn presets() -> impl Iterator<Item = &'static Preset> {
    ProviderId::ALL.into_iter().map(ProviderId::preset)
}

/// The names of the hosted providers known to accept browser calls, joined for a sentence
/// ("OpenAI, Anthropic, …").
pub fn providers_allowing_browser_calls() -> String {
    let names: Vec<&str> = presets().filter(|p| p.allows_browser_calls()).map(|p| p.name).collect();
    names.join(", ")
}

const OPENAI: Preset = Preset {
    id: "openai",
    name: "OpenAI",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://api.openai.com/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Allowed,
    browser_note: "OpenAI's API answers browser (CORS) requests; its own JavaScript SDK only asks for \
                   `dangerouslyAllowBrowser` as a reminder that the key is visible to the page.",
    stream_usage_option: true,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_completion_tokens",
    supports_completions: true,
};

const ANTHROPIC: Preset = Preset {
    id: "anthropic",
    name: "Anthropic",
    protocol: Protocol::AnthropicMessages,
    base_url: "https://api.anthropic.com/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::AllowedWithOptInHeader,
    browser_note: "Anthropic answers browser requests only with the header \
                   `anthropic-dangerous-direct-browser-access: true` (sent by arbitre); without it the \
                   API answers 401 \"CORS requests must set 'anthropic-dangerous-direct-browser-access' header\".",
    stream_usage_option: false,
    seed_field: SeedField::Unsupported,
    max_tokens_field: "max_tokens",
    supports_completions: false,
};

const MISTRAL: Preset = Preset {
    id: "mistral",
    name: "Mistral",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://api.mistral.ai/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Allowed,
    browser_note: "Mistral enabled CORS on its API in December 2023; its preflight refuses extra \
                   headers (such as SDK telemetry headers), so arbitre sends only Authorization and Content-Type.",
    stream_usage_option: false,
    seed_field: SeedField::RandomSeed,
    max_tokens_field: "max_tokens",
    supports_completions: false,
};

const OPENROUTER: Preset = Preset {
    id: "openrouter",
    name: "OpenRouter",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://openrouter.ai/api/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Allowed,
    browser_note: "OpenRouter answers browser requests, but its preflight refuses non-standard headers \
                   (for example `OpenAI-Beta`); arbitre sends only Authorization and Content-Type.",
    stream_usage_option: true,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

const GROQ: Preset = Preset {
    id: "groq",
    name: "Groq",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://api.groq.com/openai/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Allowed,
    browser_note: "Groq's OpenAI-compatible API is reported to answer browser requests.",
    stream_usage_option: true,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: false,
};

const DEEPSEEK: Preset = Preset {
    id: "deepseek",
    name: "DeepSeek",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://api.deepseek.com",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Unverified,
    browser_note: "Reports disagree on whether DeepSeek's API answers browser requests (some apps see \
                   CORS errors, others none); if it is blocked, call it through your own proxy as a custom endpoint.",
    stream_usage_option: true,
    seed_field: SeedField::Unsupported,
    max_tokens_field: "max_tokens",
    supports_completions: false,
};

const TOGETHER: Preset = Preset {
    id: "together",
    name: "Together AI",
    protocol: Protocol::OpenAiCompatible,
    base_url: "https://api.together.xyz/v1",
    base_url_editable: false,
    key_required: true,
    browser_access: BrowserAccess::Allowed,
    browser_note: "Together AI's API is reported to answer browser requests.",
    stream_usage_option: false,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

const VLLM: Preset = Preset {
    id: "vllm",
    name: "vLLM (self-hosted)",
    protocol: Protocol::OpenAiCompatible,
    base_url: "http://localhost:8000/v1",
    base_url_editable: true,
    key_required: false,
    browser_access: BrowserAccess::DependsOnServer,
    browser_note: "vLLM's server allows every origin by default (`--allowed-origins`, default `*`); \
                   a server started with a narrower list must include this page's origin.",
    stream_usage_option: true,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

const OLLAMA: Preset = Preset {
    id: "ollama",
    name: "Ollama (local)",
    protocol: Protocol::OpenAiCompatible,
    base_url: "http://localhost:11434/v1",
    base_url_editable: true,
    key_required: false,
    browser_access: BrowserAccess::DependsOnServer,
    browser_note: "Ollama answers only the origins it trusts (localhost by default); start it with \
                   OLLAMA_ORIGINS set to this page's origin, e.g. `OLLAMA_ORIGINS=https://example.org ollama serve`.",
    stream_usage_option: true,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

const LLAMACPP: Preset = Preset {
    id: "llamacpp",
    name: "llama.cpp server",
    protocol: Protocol::OpenAiCompatible,
    base_url: "http://localhost:8080/v1",
    base_url_editable: true,
    key_required: false,
    browser_access: BrowserAccess::DependsOnServer,
    browser_note: "llama.cpp's llama-server reflects any origin by default (newer builds can narrow it \
                   with `--cors-origins`); llama-cpp-python's server allows every origin by default.",
    stream_usage_option: false,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

const CUSTOM: Preset = Preset {
    id: "custom",
    name: "Custom OpenAI-compatible",
    protocol: Protocol::OpenAiCompatible,
    base_url: "",
    base_url_editable: true,
    key_required: false,
    browser_access: BrowserAccess::DependsOnServer,
    browser_note: "The server must send CORS headers (Access-Control-Allow-Origin for this page, and allow \
                   the Authorization and Content-Type headers) for a page to call it.",
    stream_usage_option: false,
    seed_field: SeedField::Seed,
    max_tokens_field: "max_tokens",
    supports_completions: true,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in ProviderId::ALL {
            assert_eq!(ProviderId::parse(id.as_str()), Some(id));
            assert!(seen.insert(id.as_str()));
        }
        assert_eq!(ProviderId::parse("LLAMA.CPP"), Some(ProviderId::LlamaCpp));
        assert_eq!(ProviderId::parse("nope"), None);
    }

    #[test]
    fn hosted_presets_have_https_fixed_bases() {
        for p in presets() {
            if !p.base_url_editable {
                assert!(p.base_url.starts_with("https://"), "{}", p.id);
                assert!(p.key_required, "{}", p.id);
                assert!(crate::BaseUrl::parse(p.base_url).is_ok(), "{}", p.id);
            }
            assert!(!p.browser_note.is_empty());
        }
    }

    #[test]
    fn browser_list_names_the_open_ones() {
        let list = providers_allowing_browser_calls();
        assert!(list.contains("OpenAI") && list.contains("Anthropic") && list.contains("Mistral"));
        assert!(!list.contains("DeepSeek"));
    }
}
