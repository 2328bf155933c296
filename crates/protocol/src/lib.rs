//! The messages the page and its inference worker exchange.
//!
//! The UI thread never runs a model: it sends a [`Request`] to the worker and reacts to the
//! [`Event`]s that come back. Both travel over `postMessage` as JSON text made by
//! [`encode_request`] / [`encode_event`], so that neither side depends on how the other lays
//! out memory. Weights never cross this channel: the worker downloads and caches them itself;
//! a visitor's local file travels as a `File` handle beside the message, not as bytes.
//!
//! This crate holds types only: no wasm, no engine, no I/O.

use serde::{Deserialize, Serialize};

/// Identifies one request so that late events from a cancelled run can be told apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSource {
    /// Download over HTTP(S), trying each URL in turn until one answers (a copy served beside
    /// the page first, then the Hub). The first URL is the cache key.
    Url {
        /// Candidate URLs, most local first.
        urls: Vec<String>,
        /// The catalog's sha256 (lower-case hex) when it pins one; checked after download.
        sha256: Option<String>,
        /// The catalog's size in bytes when known, used to refuse a model that cannot fit
        /// before any byte is fetched.
        size_bytes: Option<u64>,
        /// Name shown to the visitor.
        label: String,
    },
    /// A file the visitor picked or dropped; the `File` object is posted beside the message.
    LocalFile {
        /// File name shown to the visitor.
        name: String,
        /// Its size in bytes.
        size_bytes: u64,
    },
}

/// Which compute backend the visitor asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// WebGPU when usable, else CPU with the reason.
    #[default]
    Auto,
    /// WebGPU only; falls back to CPU with a reason if it cannot run.
    Webgpu,
    /// WASM SIMD on the CPU.
    Cpu,
}

impl BackendChoice {
    /// The spelling used in URLs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Webgpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }

    /// Parses `auto`, `webgpu` or `cpu`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "webgpu" | "gpu" => Some(Self::Webgpu),
            "cpu" => Some(Self::Cpu),
            _ => None,
        }
    }
}

/// Sampling settings of one run (mirrors the engine's `SamplingParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: usize,
    /// 1 disables nucleus sampling.
    pub top_p: f32,
    /// 0 disables min-p.
    pub min_p: f32,
    /// 1 disables the repetition penalty.
    pub repeat_penalty: f32,
    /// Seed of the sampler's random numbers.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1.0, seed: 42 }
    }
}

/// How the prompt is turned into tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prompt {
    /// Raw text, tokenized as is (BOS added when the model wants one).
    Text {
        /// The prompt.
        text: String,
    },
    /// A single user turn wrapped in the model's chat template.
    Chat {
        /// Optional system message.
        system: Option<String>,
        /// The user's message.
        user: String,
    },
    /// A whole conversation in the model's chat template, ending with the user's new message.
    /// The worker keeps the KV cache of the last conversation it ran and prefills only the
    /// tokens after the common prefix (a follow-up prefills just the new turn).
    Conversation {
        /// Optional system message.
        system: Option<String>,
        /// The turns so far, oldest first; the last one is the user's.
        turns: Vec<ChatTurn>,
        /// Reuse the last conversation's KV cache (the default); `false` prefills everything
        /// (tests compare both; the page's `chat_cache=0`).
        #[serde(default = "yes")]
        reuse_cache: bool,
    },
    /// A synthetic prompt of exactly `tokens` tokens, for benchmarks.
    Synthetic {
        /// Number of prompt tokens.
        tokens: usize,
    },
}

/// Who wrote a turn of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    /// Who wrote it.
    pub role: ChatRole,
    /// What was written.
    pub text: String,
}

/// A message from the page to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Download (or read from cache) and load a model, replacing any loaded one.
    Load {
        /// Request id.
        id: RequestId,
        /// Where the weights come from.
        source: ModelSource,
        /// Backend asked for.
        backend: BackendChoice,
    },
    /// Generate with the loaded model.
    Generate {
        /// Request id.
        id: RequestId,
        /// The prompt.
        prompt: Prompt,
        /// Sampling settings.
        sampling: Sampling,
        /// Most tokens to generate.
        max_tokens: usize,
        /// Stop strings.
        stop: Vec<String>,
        /// Keep going past end-of-generation tokens (benchmarks).
        ignore_eos: bool,
        /// The chat template's thinking switch (`enable_thinking`); `None`: its default.
        #[serde(default)]
        thinking: Option<bool>,
    },
    /// Stop the run or download with this id (ends it as done, keeping partial text).
    Stop {
        /// The run to stop.
        id: RequestId,
    },
    /// List the models stored in the browser.
    ListCache,
    /// Delete one stored model.
    DeleteCache {
        /// Its cache key (URL).
        url: String,
    },
}

/// Phases of bringing a model in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPhase {
    /// Bytes arriving from the network.
    Downloading,
    /// Bytes read from the browser's cache.
    ReadingCache,
    /// Bytes read from a file the visitor chose.
    ReadingFile,
    /// Checking the sha256.
    Verifying,
    /// Parsing and preparing the weights.
    Loading,
}

/// What is known about a loaded model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Display name.
    pub label: String,
    /// GGUF architecture (`llama`, `qwen2`, `phi3`).
    pub architecture: String,
    /// File size in bytes.
    pub size_bytes: u64,
    /// Most common tensor type (e.g. `Q4_K`).
    pub quant: String,
    /// Context window of a session.
    pub n_ctx: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Chat template in use, or why there is none.
    pub chat_template: String,
    /// Whether the bytes came from the browser's cache.
    pub from_cache: bool,
    /// Whether the weights went from the stream straight into GPU buffers, tensor by tensor
    /// (never whole in wasm memory).
    #[serde(default)]
    pub streamed: bool,
    /// Size of the worker's wasm memory once the model is loaded: wasm memory never
    /// shrinks, so this is the peak the load needed (0 when unknown).
    #[serde(default)]
    pub wasm_memory_bytes: u64,
}

/// Which backend actually runs, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// `webgpu` or `cpu`.
    pub kind: String,
    /// Human-readable name: the WebGPU adapter, or "CPU SIMD (wasm simd128)".
    pub name: String,
    /// Why this backend and not the one asked for, if they differ.
    pub reason: Option<String>,
}

/// Statistics of one run, as the page shows them and the bench mode exports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Backend that ran (`cpu`/`webgpu`).
    pub backend: String,
    /// Tokens in the prompt (for a conversation, the whole conversation so far).
    pub prompt_tokens: usize,
    /// Prompt tokens processed this run: all of them, or only those after the cached prefix
    /// of a conversation. Absent (0) from senders that do not say.
    #[serde(default)]
    pub prefill_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Of the generated tokens, those of a `<think>` reasoning block (0 for a model that does
    /// not think). Absent (0) from senders that do not say.
    #[serde(default)]
    pub reasoning_tokens: usize,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Prompt tokens per second.
    pub prefill_tps: f64,
    /// Generated tokens per second after the first.
    pub decode_tps: f64,
    /// Whole run, ms.
    pub total_ms: f64,
}

/// Kinds of failure, so the page can react without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Network failure, HTTP error or cut that could not be resumed.
    Network,
    /// sha256 differs from the catalog's.
    Checksum,
    /// The file is not a GGUF the engine can run (truncated, corrupt, unsupported).
    Model,
    /// The model cannot fit in this browser/device.
    TooBig,
    /// Browser storage failed.
    Storage,
    /// Generation failed.
    Generation,
    /// The GPU device was lost mid-run; the model must be loaded again.
    DeviceLost,
    /// The request made no sense in the worker's state (e.g. generate before load).
    State,
}

/// An error as it crosses the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// Its kind.
    pub kind: ErrorKind,
    /// A specific, human-readable message.
    pub message: String,
}

/// One stored model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// Cache key (URL or `local:` name).
    pub url: String,
    /// Stored size.
    pub size_bytes: u64,
}

/// One network request, for the page's privacy log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetEntry {
    /// When it started, ms since the page's time origin (`performance.now()` of the sender).
    pub time_ms: f64,
    /// Who made it: `page` or `worker`.
    pub origin: String,
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// HTTP status (0 when the request failed before a response).
    pub status: u16,
    /// Bytes sent in the body.
    pub bytes_up: u64,
    /// Bytes received in the body.
    pub bytes_down: u64,
    /// Why the request was made, in a few words.
    pub purpose: String,
}

/// `true`, for fields that default to on.
fn yes() -> bool {
    true
}

/// The token count of a [`Event::Token`] from a sender that does not say.
fn one() -> usize {
    1
}

/// A message from the worker to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The worker started and can take requests.
    Ready,
    /// Progress while loading.
    Progress {
        /// Request id.
        id: RequestId,
        /// Current phase.
        phase: LoadPhase,
        /// Bytes done.
        loaded: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
        /// Which URL is being read.
        url: String,
    },
    /// A model is loaded and ready.
    Loaded {
        /// Request id.
        id: RequestId,
        /// The model.
        info: ModelInfo,
        /// The backend that will run it.
        backend: BackendInfo,
    },
    /// Generated text: the worker sends the first token at once, then gathers tokens for up
    /// to a tenth of a second per event, so a fast model does not re-render the page for every
    /// token.
    Token {
        /// Request id.
        id: RequestId,
        /// Text to append (may be empty while a multi-byte character forms).
        text: String,
        /// How many generated tokens the text covers.
        #[serde(default = "one")]
        tokens: usize,
    },
    /// The prompt was encoded; sent once before the first token.
    Started {
        /// Request id.
        id: RequestId,
        /// Number of prompt tokens.
        prompt_tokens: usize,
    },
    /// The run or load finished normally (`reason` says why it stopped).
    Done {
        /// Request id.
        id: RequestId,
        /// Statistics.
        stats: RunStats,
        /// `eos`, `stop_string`, `max_tokens`, `context_full`, `cancelled`.
        reason: String,
    },
    /// The request failed.
    Failed {
        /// Request id (0 when no request was involved).
        id: RequestId,
        /// What went wrong.
        error: WireError,
    },
    /// The worker made a network request (model downloads; it makes no other kind).
    Net {
        /// The request.
        entry: NetEntry,
    },
    /// Contents of the browser's model store.
    Cache {
        /// Stored models.
        entries: Vec<CacheEntry>,
        /// Bytes used by this origin, if the browser says.
        usage: Option<u64>,
        /// Bytes this origin may use, if the browser says.
        quota: Option<u64>,
    },
}

/// Serializes a request for `postMessage`.
pub fn encode_request(r: &Request) -> String {
    serde_json::to_string(r).unwrap_or_else(|e| format!("{{\"type\":\"invalid\",\"error\":\"{e}\"}}"))
}

/// Parses a request received by the worker.
pub fn decode_request(s: &str) -> Result<Request, String> {
    serde_json::from_str(s).map_err(|e| format!("bad request from the page: {e}"))
}

/// Serializes an event for `postMessage`.
pub fn encode_event(e: &Event) -> String {
    serde_json::to_string(e).unwrap_or_else(|err| format!("{{\"type\":\"invalid\",\"error\":\"{err}\"}}"))
}

/// Parses an event received by the page.
pub fn decode_event(s: &str) -> Result<Event, String> {
    serde_json::from_str(s).map_err(|e| format!("bad event from the worker: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_json() {
        let reqs = vec![
            Request::Load {
                id: RequestId(1),
                source: ModelSource::Url {
                    urls: vec!["models/a.gguf".into(), "https://huggingface.co/x/resolve/main/a.gguf".into()],
                    sha256: Some("ab".repeat(32)),
                    size_bytes: Some(123),
                    label: "A".into(),
                },
                backend: BackendChoice::Webgpu,
            },
            Request::Generate {
                id: RequestId(2),
                prompt: Prompt::Chat { system: Some("be brief".into()), user: "hi \"there\"\n".into() },
                sampling: Sampling::default(),
                max_tokens: 7,
                stop: vec!["\n\n".into()],
                ignore_eos: true,
                thinking: Some(false),
            },
            Request::Stop { id: RequestId(2) },
            Request::ListCache,
            Request::DeleteCache { url: "u".into() },
        ];
        for r in reqs {
            let s = encode_request(&r);
            assert_eq!(decode_request(&s), Ok(r), "{s}");
        }
    }

    #[test]
    fn events_round_trip_and_have_a_type_tag() {
        let e = Event::Done {
            id: RequestId(9),
            stats: RunStats { backend: "cpu".into(), prompt_tokens: 3, generated_tokens: 4, ..Default::default() },
            reason: "eos".into(),
        };
        let s = encode_event(&e);
        assert!(s.starts_with("{\"type\":\"done\""), "{s}");
        assert_eq!(decode_event(&s), Ok(e));
        assert!(decode_event("{\"type\":\"nonsense\"}").is_err());
    }

    #[test]
    fn conversations_round_trip_and_reuse_the_cache_unless_told() {
        let turns = vec![
            ChatTurn { role: ChatRole::User, text: "Hi".into() },
            ChatTurn { role: ChatRole::Assistant, text: "Hello".into() },
            ChatTurn { role: ChatRole::User, text: "More".into() },
        ];
        let p = Prompt::Conversation { system: Some("Be brief.".into()), turns, reuse_cache: false };
        let json = serde_json::to_string(&p).expect("json");
        assert!(json.contains(r#""kind":"conversation""#) && json.contains(r#""role":"assistant""#), "{json}");
        assert_eq!(serde_json::from_str::<Prompt>(&json).expect("back"), p);
        let old = r#"{"kind":"conversation","system":null,"turns":[{"role":"user","text":"Hi"}]}"#;
        let Prompt::Conversation { reuse_cache, .. } = serde_json::from_str(old).expect("no flag") else { panic!() };
        assert!(reuse_cache);
        let stats: RunStats = serde_json::from_str(r#"{"backend":"cpu","prompt_tokens":3,"generated_tokens":1,"ttft_ms":1,"prefill_tps":1,"decode_tps":1,"total_ms":1}"#).expect("stats");
        assert_eq!(stats.prefill_tokens, 0, "absent from old senders");
    }

    #[test]
    fn backend_choice_parses_its_own_spelling_only() {
        for b in [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu] {
            assert_eq!(BackendChoice::parse(b.as_str()), Some(b));
        }
        assert_eq!(BackendChoice::parse("cuda"), None);
    }
}
