//! Every setting of a local run, and its round trip through the page's URL.
//!
//! The URL is the shareable state of a run: a link reproduces the run, and `run=1` starts it
//! on load. Only settings go in the URL; API keys never do (they are not part of this type).
//!
//! A page opened with no parameters is ready for a real answer: chat mode, a sample question,
//! and (chosen by the UI from the catalog) the default instruct model.

use arbitre_protocol::{BackendChoice, Sampling};

/// The question in the prompt box of a page opened with no `prompt` parameter.
pub const SAMPLE_PROMPT: &str = "In two sentences, what are the advantages of running a language model locally?";

/// Everything that defines a local run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Catalog id or URL of a GGUF file.
    pub model: String,
    /// The prompt (empty: start from BOS alone; `SAMPLE_PROMPT` by default).
    pub prompt: String,
    /// Wrap the prompt in the model's chat template (on by default; `chat=0` turns it off).
    pub chat: bool,
    /// System message for chat mode.
    pub system: String,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Sampling settings.
    pub sampling: Sampling,
    /// Stop strings.
    pub stop: Vec<String>,
    /// Backend asked for.
    pub backend: BackendChoice,
    /// Keep generating past end-of-generation tokens.
    pub ignore_eos: bool,
    /// A thinking model's switch (`thinking=1|0`): reason before answering, or answer at once;
    /// `None` leaves the chat template's default.
    pub thinking: Option<bool>,
    /// Expected sha256 of a model given by URL (catalog models carry their own).
    pub sha256: Option<String>,
    /// Benchmark mode: a synthetic prompt of `prompt_tokens` tokens.
    pub bench: bool,
    /// Prompt length in benchmark mode.
    pub prompt_tokens: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            model: String::new(),
            prompt: SAMPLE_PROMPT.to_string(),
            chat: true,
            system: String::new(),
            max_tokens: 256,
            sampling: Sampling::default(),
            stop: Vec::new(),
            backend: BackendChoice::Auto,
            ignore_eos: false,
            thinking: None,
            sha256: None,
            bench: false,
            prompt_tokens: 64,
        }
    }
}

/// Most tokens a page run may ask for.
pub const MAX_TOKENS_LIMIT: usize = 32_768;

/// The result of reading a query string.
#[derive(Debug, Clone, PartialEq)]
pub struct FromQuery {
    /// The settings, defaults where absent or invalid.
    pub settings: RunSettings,
    /// `run=1`: start the run on load.
    pub run: bool,
    /// One message per parameter that was present but not understood.
    pub warnings: Vec<String>,
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str, warnings: &mut Vec<String>) -> Option<T> {
    match value.trim().parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            warnings.push(format!("ignored {key}={value:?}: not a number"));
            None
        }
    }
}

fn parse_bool(value: &str) -> bool {
    matches!(value, "1" | "true" | "yes" | "on")
}

impl RunSettings {
    /// Reads settings from decoded query pairs (as `URLSearchParams` yields them).
    pub fn from_pairs<I, K, V>(pairs: I) -> FromQuery
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut s = RunSettings::default();
        let mut run = false;
        let mut warnings = Vec::new();
        let mut stops = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            let w = &mut warnings;
            match k {
                "model" => s.model = v.to_string(),
                "prompt" => s.prompt = v.to_string(),
                "system" => s.system = v.to_string(),
                "chat" => s.chat = parse_bool(v),
                "max_tokens" => {
                    if let Some(n) = parse_num::<usize>(k, v, w) {
                        if (1..=MAX_TOKENS_LIMIT).contains(&n) {
                            s.max_tokens = n;
                        } else {
                            w.push(format!("ignored max_tokens={n}: must be 1..={MAX_TOKENS_LIMIT}"));
                        }
                    }
                }
                "temperature" => {
                    if let Some(t) = parse_num::<f32>(k, v, w) {
                        if t.is_finite() && t >= 0.0 {
                            s.sampling.temperature = t;
                        } else {
                            w.push(format!("ignored temperature={v}: must be ≥ 0"));
                        }
                    }
                }
                "top_k" => {
                    if let Some(n) = parse_num(k, v, w) {
                        s.sampling.top_k = n;
                    }
                }
                "top_p" => {
                    if let Some(p) = parse_num::<f32>(k, v, w).filter(|p| (0.0..=1.0).contains(p)) {
                        s.sampling.top_p = p;
                    }
                }
                "min_p" => {
                    if let Some(p) = parse_num::<f32>(k, v, w).filter(|p| (0.0..=1.0).contains(p)) {
                        s.sampling.min_p = p;
                    }
                }
                "repeat_penalty" => {
                    if let Some(p) = parse_num::<f32>(k, v, w).filter(|p| p.is_finite() && *p > 0.0) {
                        s.sampling.repeat_penalty = p;
                    }
                }
                "seed" => {
                    if let Some(n) = parse_num(k, v, w) {
                        s.sampling.seed = n;
                    }
                }
                "stop" if !v.is_empty() => stops.push(v.to_string()),
                "stop" => {}
                "backend" => match BackendChoice::parse(v) {
                    Some(b) => s.backend = b,
                    None => w.push(format!("ignored backend={v:?}: expected auto, webgpu or cpu")),
                },
                "ignore_eos" => s.ignore_eos = parse_bool(v),
                "thinking" => s.thinking = Some(parse_bool(v)),
                "sha256" => {
                    let hex = v.trim().to_ascii_lowercase();
                    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        s.sha256 = Some(hex);
                    } else {
                        w.push(format!("ignored sha256={v:?}: expected 64 hex digits"));
                    }
                }
                "bench" => s.bench = parse_bool(v),
                "prompt_tokens" => {
                    if let Some(n) = parse_num::<usize>(k, v, w)
                        && (1..=MAX_TOKENS_LIMIT).contains(&n)
                    {
                        s.prompt_tokens = n;
                    }
                }
                "run" => run = parse_bool(v),
                // Parameters of other parts of the page (comparison, costs) are theirs to read.
                _ => {}
            }
        }
        s.stop = stops;
        FromQuery { settings: s, run, warnings }
    }

    /// The query pairs that reproduce these settings; defaults are left out to keep links short.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let d = RunSettings::default();
        let mut out = Vec::new();
        if !self.model.is_empty() {
            out.push(("model", self.model.clone()));
        }
        if self.prompt != d.prompt {
            out.push(("prompt", self.prompt.clone()));
        }
        if self.chat != d.chat {
            out.push(("chat", if self.chat { "1" } else { "0" }.into()));
        }
        if !self.system.is_empty() {
            out.push(("system", self.system.clone()));
        }
        if self.max_tokens != d.max_tokens {
            out.push(("max_tokens", self.max_tokens.to_string()));
        }
        let (a, b) = (&self.sampling, &d.sampling);
        if a.temperature != b.temperature {
            out.push(("temperature", a.temperature.to_string()));
        }
        if a.top_k != b.top_k {
            out.push(("top_k", a.top_k.to_string()));
        }
        if a.top_p != b.top_p {
            out.push(("top_p", a.top_p.to_string()));
        }
        if a.min_p != b.min_p {
            out.push(("min_p", a.min_p.to_string()));
        }
        if a.repeat_penalty != b.repeat_penalty {
            out.push(("repeat_penalty", a.repeat_penalty.to_string()));
        }
        if a.seed != b.seed {
            out.push(("seed", a.seed.to_string()));
        }
        for s in &self.stop {
            out.push(("stop", s.clone()));
        }
        if self.backend != d.backend {
            out.push(("backend", self.backend.as_str().into()));
        }
        if self.ignore_eos {
            out.push(("ignore_eos", "1".into()));
        }
        if let Some(on) = self.thinking {
            out.push(("thinking", if on { "1" } else { "0" }.into()));
        }
        if let Some(h) = &self.sha256 {
            out.push(("sha256", h.clone()));
        }
        if self.bench {
            out.push(("bench", "1".into()));
            out.push(("prompt_tokens", self.prompt_tokens.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_e2e_link_is_understood() {
        let q = RunSettings::from_pairs([
            ("model", "http://127.0.0.1:8080/fixtures/stories260K/stories260K.gguf"),
            ("max_tokens", "200"),
            ("temperature", "0"),
            ("backend", "cpu"),
            ("run", "1"),
        ]);
        assert!(q.run);
        assert!(q.warnings.is_empty());
        assert_eq!(q.settings.max_tokens, 200);
        assert_eq!(q.settings.sampling.temperature, 0.0);
        assert_eq!(q.settings.backend, BackendChoice::Cpu);
        // What the link does not say stays the page's default: chat, the sample question.
        assert!(q.settings.chat);
        assert_eq!(q.settings.prompt, SAMPLE_PROMPT);
        // The completion tests' links say chat=0 and an empty prompt (BOS alone).
        let q = RunSettings::from_pairs([("model", "stories260k"), ("chat", "0"), ("prompt", "")]);
        assert!(!q.settings.chat);
        assert_eq!(q.settings.prompt, "");
    }

    #[test]
    fn a_page_opened_bare_asks_the_sample_question_in_chat_mode() {
        let q = RunSettings::from_pairs(std::iter::empty::<(&str, &str)>());
        assert!(q.settings.chat);
        assert!(q.settings.prompt.starts_with("In two sentences") && q.settings.prompt.ends_with('?'));
        assert!(q.settings.model.is_empty(), "the UI puts the catalog's default model in");
        assert!(!q.run);
        assert!(RunSettings::default().to_pairs().is_empty(), "the bare page's link has no parameters");
    }

    #[test]
    fn completion_mode_and_an_empty_prompt_survive_a_round_trip() {
        let s =
            RunSettings { model: "stories260k".into(), prompt: String::new(), chat: false, ..RunSettings::default() };
        let pairs = s.to_pairs();
        assert!(pairs.contains(&("chat", "0".into())), "{pairs:?}");
        assert!(pairs.contains(&("prompt", String::new())), "{pairs:?}");
        assert_eq!(RunSettings::from_pairs(pairs).settings, s);
    }

    #[test]
    fn settings_survive_a_round_trip() {
        let s = RunSettings {
            model: "smollm2-135m-instruct-q8_0".into(),
            prompt: "Écris & résume: \"a=b?\"".into(),
            chat: true,
            system: "brief".into(),
            max_tokens: 77,
            sampling: Sampling { temperature: 0.3, top_k: 5, top_p: 0.5, min_p: 0.0, repeat_penalty: 1.1, seed: 99 },
            stop: vec!["\n\n".into(), "END".into()],
            backend: BackendChoice::Webgpu,
            ignore_eos: true,
            thinking: Some(false),
            sha256: Some("ab".repeat(32)),
            bench: true,
            prompt_tokens: 128,
        };
        let back = RunSettings::from_pairs(s.to_pairs());
        assert_eq!(back.settings, s);
        assert!(!back.run);
        assert_eq!(RunSettings::from_pairs(RunSettings::default().to_pairs()).settings, RunSettings::default());
    }

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let q = RunSettings::from_pairs([
            ("max_tokens", "lots"),
            ("temperature", "-1"),
            ("backend", "cuda"),
            ("max_tokens", "0"),
        ]);
        assert_eq!(q.settings, RunSettings::default());
        assert_eq!(q.warnings.len(), 4, "{:?}", q.warnings);
        assert!(q.warnings.iter().any(|w| w.contains("cuda")));
    }
}
