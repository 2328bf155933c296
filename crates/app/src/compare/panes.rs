//! The pure side of the API panes and the comparison table (tested natively): API pane
//! choices in the URL, request settings for `arbitre_hosted`, price lookup for an API pane and
//! one [`Metrics`] row per pane (the local run and each API run) with time to first token,
//! total time, tokens/s, input/output tokens (estimates flagged) and the cost from
//! `arbitre_pricing`. Money is never computed with floats here.

use arbitre_chat::reasoning;
use arbitre_hosted::{ChatMessage, Prompt as HostedPrompt, ProviderId, Role, RunSummary};
use arbitre_pricing::money::group_thousands;
use arbitre_pricing::{Currency, ExactCost, ExchangeRate, Money, PriceEntry, PriceTable, Usage};
use arbitre_protocol::RunStats;

use crate::format;

/// The result of the last local run, as the comparison and cost views need it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalResult {
    /// Name of the local model, e.g. "stories260K (Q8_0)".
    pub label: String,
    /// The generated text.
    pub text: String,
    /// The run's statistics.
    pub stats: RunStats,
}

// ---------------------------------------------------------------------------------------------
// API pane choices

/// The model an API pane starts with for each provider: a cheap, current model the provider
/// serves (empty where the visitor must name one).
pub fn default_model(provider: ProviderId) -> &'static str {
    match provider {
        ProviderId::OpenAi => "gpt-4o-mini",
        ProviderId::Anthropic => "claude-haiku-4-5",
        ProviderId::Mistral => "mistral-small-latest",
        ProviderId::OpenRouter => "openai/gpt-4o-mini",
        ProviderId::Groq => "llama-3.1-8b-instant",
        ProviderId::DeepSeek => "deepseek-chat",
        ProviderId::Together => "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ProviderId::Vllm => "",
        ProviderId::Ollama => "llama3.2",
        ProviderId::LlamaCpp => "local-model",
        ProviderId::Custom => "",
    }
}

/// What one API pane calls: provider preset, base URL and model. Never a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiChoice {
    /// The preset.
    pub provider: ProviderId,
    /// Base URL; empty uses the preset's.
    pub base_url: String,
    /// Model name as the provider spells it.
    pub model: String,
}

impl ApiChoice {
    /// The preset's defaults.
    pub fn new(provider: ProviderId) -> Self {
        Self { provider, base_url: String::new(), model: default_model(provider).to_string() }
    }

    /// The base URL to call: the typed one where the preset allows it, else the preset's.
    pub fn effective_base(&self) -> String {
        let preset = self.provider.preset();
        let typed = self.base_url.trim();
        if preset.base_url_editable && !typed.is_empty() { typed.to_string() } else { preset.base_url.to_string() }
    }
}

/// Most API panes shown side by side.
pub const MAX_API_PANES: usize = 3;

fn pane_suffix(n: usize) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

/// Reads the API panes from URL pairs: pane 0 from `api`, `api_base`, `api_model`; pane N > 0
/// from `apiN`, `api_baseN`, `api_modelN`. Unknown presets are skipped; at most
/// [`MAX_API_PANES`] panes, in pane order.
pub fn api_choices_from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Vec<ApiChoice> {
    let get = |key: &str| pairs.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v.as_ref().to_string());
    (0..MAX_API_PANES)
        .filter_map(|n| {
            let s = pane_suffix(n);
            let provider = ProviderId::parse(&get(&format!("api{s}"))?)?;
            let mut choice = ApiChoice::new(provider);
            if let Some(b) = get(&format!("api_base{s}")) {
                choice.base_url = b;
            }
            if let Some(m) = get(&format!("api_model{s}")) {
                choice.model = m;
            }
            Some(choice)
        })
        .collect()
}

/// The URL pairs of the API panes (the inverse of [`api_choices_from_pairs`]); the base URL is
/// written only when it differs from the preset's. Keys are never part of it.
pub fn api_choices_to_pairs(choices: &[ApiChoice]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (n, c) in choices.iter().take(MAX_API_PANES).enumerate() {
        let s = pane_suffix(n);
        out.push((format!("api{s}"), c.provider.as_str().to_string()));
        let base = c.base_url.trim();
        if !base.is_empty() && base != c.provider.preset().base_url {
            out.push((format!("api_base{s}"), base.to_string()));
        }
        out.push((format!("api_model{s}"), c.model.clone()));
    }
    out
}

/// The `localStorage` key under which a remembered API key of `provider` is kept.
pub fn key_storage_name(provider: ProviderId) -> String {
    format!("arbitre.apikey.{}", provider.as_str())
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The hosted-API sampling settings matching the local pane's: temperature (rounded to four
/// decimals so that 0.8f32 is sent as 0.8), top-p when it restricts anything, the token budget,
/// stop strings and seed.
pub fn hosted_sampling(s: &arbitre_protocol::Sampling, max_tokens: usize, stop: &[String]) -> arbitre_hosted::Sampling {
    let round = |x: f32| (f64::from(x) * 10_000.0).round() / 10_000.0;
    arbitre_hosted::Sampling {
        temperature: Some(round(s.temperature.max(0.0))),
        top_p: (s.top_p > 0.0 && s.top_p < 1.0).then(|| round(s.top_p)),
        max_tokens: Some(u32::try_from(max_tokens).unwrap_or(u32::MAX).max(1)),
        stop: stop.iter().filter(|x| !x.is_empty()).cloned().collect(),
        seed: Some(s.seed),
        top_k: Some(u32::try_from(s.top_k).unwrap_or(u32::MAX)),
        min_p: Some(round(s.min_p)),
        repeat_penalty: Some(round(s.repeat_penalty)),
    }
}

/// The hosted prompt for the same input as the local pane: chat messages (optional system, then
/// the user's text) in `chat` mode, raw text continuation otherwise.
pub fn hosted_prompt(prompt: &str, system: Option<&str>, chat: bool) -> HostedPrompt {
    if chat {
        let mut messages = Vec::new();
        if let Some(sys) = system.map(str::trim).filter(|s| !s.is_empty()) {
            messages.push(ChatMessage::new(Role::System, sys));
        }
        messages.push(ChatMessage::new(Role::User, prompt));
        HostedPrompt::Chat { messages }
    } else {
        HostedPrompt::Completion { prompt: prompt.to_string() }
    }
}

/// The hosted prompt of one pane's conversation: the optional system message, then the turns
/// (the last is the user's new message).
pub fn conversation_prompt(turns: &[arbitre_protocol::ChatTurn], system: Option<&str>) -> HostedPrompt {
    let mut messages = Vec::new();
    if let Some(sys) = system.map(str::trim).filter(|s| !s.is_empty()) {
        messages.push(ChatMessage::new(Role::System, sys));
    }
    messages.extend(turns.iter().map(|t| {
        let role = match t.role {
            arbitre_protocol::ChatRole::User => Role::User,
            arbitre_protocol::ChatRole::Assistant => Role::Assistant,
        };
        ChatMessage::new(role, t.text.as_str())
    }));
    HostedPrompt::Chat { messages }
}

/// The statistics of an API answer as the chat view keeps them (`data-json` of the turn).
/// A thinking model's reasoning tokens, which OpenAI-compatible APIs count with the output
/// without saying how many, are estimated from the share of the text
/// ([`reasoning::estimate_reasoning_tokens`]): `reasoning_estimated` says so.
pub fn api_turn_stats(summary: &RunSummary) -> String {
    let (usage, estimated) = billed_usage(summary);
    let mut stats = serde_json::json!({
        "ttft_ms": summary.first_token_ms,
        "total_ms": summary.total_ms,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "estimated": estimated,
    });
    let text = api_turn_text(summary);
    if reasoning::split(&text).reasoning.is_some() {
        stats["reasoning_tokens"] = reasoning::estimate_reasoning_tokens(&text, usage.output_tokens).into();
        stats["reasoning_estimated"] = true.into();
    }
    stats.to_string()
}

/// An API answer as its thread shows it: reasoning the provider streamed apart (DeepSeek's
/// `reasoning_content`, Anthropic's thinking blocks) put back in front as a `<think>` block, so
/// that every pane's reasoning shows, and is left out, the same way.
pub fn api_turn_text(summary: &RunSummary) -> String {
    if summary.reasoning.trim().is_empty() || reasoning::split(&summary.text).reasoning.is_some() {
        return summary.text.clone();
    }
    format!("{}{}{}\n\n{}", reasoning::OPEN, summary.reasoning.trim(), reasoning::CLOSE, summary.text)
}

// ---------------------------------------------------------------------------------------------
// Price lookup

/// Model id normalised for loose matching: lower case, `.`/`_`/`:` as `-`, date suffixes
/// (`-20251001`, `-2024-08-06`) and `-latest` dropped, tokens sorted (so `claude-haiku-4-5`
/// matches `claude-4.5-haiku`).
fn loose_model(model: &str) -> Vec<String> {
    let lower = model.to_ascii_lowercase().replace(['.', '_', ':'], "-");
    let mut tokens: Vec<String> = lower.split('-').filter(|t| !t.is_empty()).map(str::to_string).collect();
    // Drop a trailing YYYY-MM-DD date split into three tokens.
    let n = tokens.len();
    if n >= 3
        && tokens[n - 3].len() == 4
        && tokens[n - 2].len() == 2
        && tokens[n - 1].len() == 2
        && tokens[n - 3..].iter().all(|t| t.bytes().all(|b| b.is_ascii_digit()))
    {
        tokens.truncate(n - 3);
    }
    tokens.retain(|t| t != "latest" && !(t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit())));
    tokens.sort();
    tokens
}

/// The price-table entry for an API pane's provider and model, if any.
///
/// Self-hosted and custom servers (vLLM, Ollama, llama.cpp, custom) only match an entry filed
/// under their own preset id (add one in the price table to price them). Hosted providers match
/// the exact (provider, model) pair, then OpenRouter's `vendor/model` names, then the same model
/// under any provider, then a loose match (case, dots, date suffixes, token order) within the
/// provider.
pub fn price_for<'a>(table: &'a PriceTable, provider: ProviderId, model: &str) -> Option<&'a PriceEntry> {
    let model = model.trim();
    let pid = provider.as_str();
    if let Some(e) = table.find(pid, model) {
        return Some(e);
    }
    if matches!(provider, ProviderId::Vllm | ProviderId::Ollama | ProviderId::LlamaCpp | ProviderId::Custom) {
        return None;
    }
    let (vendor, bare) = match model.split_once('/') {
        Some((v, m)) => (v, m),
        None => (pid, model),
    };
    if let Some(e) = table.find(vendor, bare) {
        return Some(e);
    }
    if let Some(e) = table.find_model(bare) {
        return Some(e);
    }
    let want = loose_model(bare);
    if want.is_empty() {
        return None;
    }
    table.entries.iter().find(|e| e.provider == vendor && loose_model(&e.model) == want)
}

// ---------------------------------------------------------------------------------------------
// Comparison table

/// A token count and whether it was estimated rather than reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokens {
    /// The count.
    pub count: u64,
    /// True when estimated (~4 characters per token) because the API reported none.
    pub estimated: bool,
}

/// What one pane's answer cost.
#[derive(Debug, Clone, PartialEq)]
pub enum CostView {
    /// The local run: nothing per request (the model runs on the visitor's device).
    Local,
    /// Priced from the table.
    Priced {
        /// Exact cost in the entry's currency.
        cost: ExactCost,
        /// The entry used, e.g. "GPT-4o (openai)".
        entry: String,
        /// Whether a token count behind it was estimated.
        estimated: bool,
    },
    /// No price known for this provider and model.
    NoPrice,
}

/// One row of the comparison table.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Pane label, e.g. "In this browser · stories260K" or "OpenAI · gpt-4o-mini".
    pub label: String,
    /// Whether it is the local pane.
    pub local: bool,
    /// Time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Whole run, ms.
    pub total_ms: Option<f64>,
    /// Output tokens per second after the first.
    pub tokens_per_s: Option<f64>,
    /// Input (prompt) tokens.
    pub input: Option<Tokens>,
    /// Output (generated) tokens.
    pub output: Option<Tokens>,
    /// Cost of the answer.
    pub cost: CostView,
    /// Words in the answer.
    pub words: usize,
}

/// The comparison row of the local run.
pub fn local_metrics(local: &LocalResult) -> Metrics {
    let s = &local.stats;
    let positive = |x: f64| (x.is_finite() && x > 0.0).then_some(x);
    Metrics {
        label: format!("In this browser · {}", local.label),
        local: true,
        ttft_ms: positive(s.ttft_ms),
        total_ms: positive(s.total_ms),
        tokens_per_s: positive(s.decode_tps),
        input: Some(Tokens { count: s.prompt_tokens as u64, estimated: false }),
        output: Some(Tokens { count: s.generated_tokens as u64, estimated: false }),
        cost: CostView::Local,
        words: reasoning::answer(&local.text).split_whitespace().count(),
    }
}

/// The billed usage of an API run: reported counts where the API gave them (cache writes billed
/// as input), estimates otherwise; and whether any count is an estimate.
pub fn billed_usage(summary: &RunSummary) -> (Usage, bool) {
    let resolved = summary.resolved_usage();
    let input_tokens = if resolved.input.estimated {
        resolved.input.tokens
    } else {
        summary.usage.uncached_input_tokens().unwrap_or(resolved.input.tokens) + resolved.cache_write_input
    };
    let usage = Usage {
        input_tokens,
        cached_input_tokens: if resolved.input.estimated { 0 } else { resolved.cached_input },
        output_tokens: resolved.output.tokens,
    };
    (usage, resolved.any_estimated())
}

/// The comparison row of an API run (finished, or partial after a failure).
pub fn api_metrics(provider: ProviderId, model: &str, summary: &RunSummary, table: &PriceTable) -> Metrics {
    let resolved = summary.resolved_usage();
    let (usage, estimated) = billed_usage(summary);
    let cost = match price_for(table, provider, model).map(|e| (e, e.cost(&usage))) {
        Some((e, Ok(cost))) => CostView::Priced { cost, entry: format!("{} ({})", e.name, e.provider), estimated },
        _ => CostView::NoPrice,
    };
    Metrics {
        label: format!("{} · {}", provider.preset().name, model.trim()),
        local: false,
        ttft_ms: summary.first_token_ms,
        total_ms: (summary.total_ms > 0.0).then_some(summary.total_ms),
        tokens_per_s: summary.tokens_per_second(),
        input: Some(Tokens { count: resolved.input.tokens, estimated: resolved.input.estimated }),
        output: Some(Tokens { count: resolved.output.tokens, estimated: resolved.output.estimated }),
        cost,
        words: reasoning::answer(&summary.text).split_whitespace().count(),
    }
}

/// An exact cost in `to`, converted at `rate` without rounding to the micro-unit.
pub fn convert_exact(cost: ExactCost, to: Currency, rate: ExchangeRate) -> ExactCost {
    ExactCost { picos: rate.convert_scaled(cost.picos, cost.currency, to), currency: to }
}

/// A cost as shown: rounded half to even to the micro-unit, or "< $0.000001" for a non-zero
/// cost below one micro-unit.
pub fn format_exact(cost: ExactCost) -> String {
    let m = cost.to_money();
    if m.micros == 0 && cost.picos > 0 { format!("< {}", Money::from_micros(1, cost.currency)) } else { m.to_string() }
}

/// A token count as shown: "1,234", "≈ 57" when estimated, "—" when unknown.
pub fn format_tokens(t: Option<Tokens>) -> String {
    match t {
        Some(t) if t.estimated => format!("≈ {}", group_thousands(u128::from(t.count))),
        Some(t) => group_thousands(u128::from(t.count)),
        None => "—".to_string(),
    }
}

impl Metrics {
    /// The row's cells as shown, in column order: pane, TTFT, total, tok/s, input, output, cost
    /// (in `currency` at `rate`), words.
    pub fn cells(&self, currency: Currency, rate: ExchangeRate) -> [String; 8] {
        let ms = |v: Option<f64>| v.map(format::duration_ms).unwrap_or_else(|| "—".to_string());
        let cost = match &self.cost {
            CostView::Local => format!("{} (runs here)", Money::zero(currency)),
            CostView::Priced { cost, estimated, .. } => {
                let shown = format_exact(convert_exact(*cost, currency, rate));
                if *estimated { format!("≈ {shown}") } else { shown }
            }
            CostView::NoPrice => "no price".to_string(),
        };
        [
            self.label.clone(),
            ms(self.ttft_ms),
            ms(self.total_ms),
            self.tokens_per_s.map(format::rate).unwrap_or_else(|| "—".to_string()),
            format_tokens(self.input),
            format_tokens(self.output),
            cost,
            self.words.to_string(),
        ]
    }
}

/// Column headers matching [`Metrics::cells`].
pub const COMPARE_COLUMNS: [&str; 8] = ["Pane", "TTFT", "Total", "Tok/s", "Input tok", "Output tok", "Cost", "Words"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::costs::tests::entry;
    use arbitre_hosted::Usage as HostedUsage;
    use arbitre_pricing::PricePerMTok;

    fn summary(provider: ProviderId, text: &str, usage: HostedUsage) -> RunSummary {
        RunSummary {
            provider,
            text: text.into(),
            reasoning: String::new(),
            usage,
            finish_reason: None,
            first_token_ms: Some(120.0),
            total_ms: 1120.0,
            bytes_sent: 100,
            bytes_received: 2000,
            keep_alives: 0,
            prompt_text: "Say hello to the world please".into(),
        }
    }

    #[test]
    fn api_choices_round_trip_through_url_pairs() {
        let pairs = [
            ("api", "llamacpp"),
            ("api_base", "http://127.0.0.1:8081/v1"),
            ("api_model", "stories"),
            ("api1", "openai"),
            ("api2", "nope"),
            ("volume", "1000"),
        ];
        let choices = api_choices_from_pairs(&pairs);
        assert_eq!(choices.len(), 2);
        assert_eq!(choices[0].provider, ProviderId::LlamaCpp);
        assert_eq!(choices[0].effective_base(), "http://127.0.0.1:8081/v1");
        assert_eq!(choices[0].model, "stories");
        assert_eq!(choices[1], ApiChoice::new(ProviderId::OpenAi));
        // A hosted preset ignores a typed base.
        let mut fixed = ApiChoice::new(ProviderId::OpenAi);
        fixed.base_url = "https://evil.example/v1".into();
        assert_eq!(fixed.effective_base(), "https://api.openai.com/v1");
        let back = api_choices_to_pairs(&choices);
        assert_eq!(
            back,
            vec![
                ("api".to_string(), "llamacpp".to_string()),
                ("api_base".into(), "http://127.0.0.1:8081/v1".into()),
                ("api_model".into(), "stories".into()),
                ("api1".into(), "openai".into()),
                ("api_model1".into(), "gpt-4o-mini".into()),
            ]
        );
        assert_eq!(api_choices_from_pairs(&back), choices);
        assert!(back.iter().all(|(k, _)| !k.contains("key")));
        assert_eq!(key_storage_name(ProviderId::Anthropic), "arbitre.apikey.anthropic");
    }

    #[test]
    fn sampling_and_prompt_for_hosted_requests() {
        let s = arbitre_protocol::Sampling { temperature: 0.8, top_p: 1.0, seed: 7, ..Default::default() };
        let h = hosted_sampling(&s, 64, &["\n\n".to_string(), String::new()]);
        assert_eq!(h.temperature, Some(0.8));
        assert_eq!(h.top_p, None);
        assert_eq!(h.max_tokens, Some(64));
        assert_eq!(h.stop, vec!["\n\n".to_string()]);
        assert_eq!(h.seed, Some(7));
        let s = arbitre_protocol::Sampling { temperature: 0.0, top_p: 0.95, ..Default::default() };
        let h = hosted_sampling(&s, 0, &[]);
        assert_eq!((h.temperature, h.top_p, h.max_tokens), (Some(0.0), Some(0.95), Some(1)));

        match hosted_prompt("Hi", Some("  Be brief "), true) {
            HostedPrompt::Chat { messages } => {
                assert_eq!(messages.len(), 2);
                assert_eq!(messages[0], ChatMessage::new(Role::System, "Be brief"));
                assert_eq!(messages[1], ChatMessage::new(Role::User, "Hi"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(hosted_prompt("Hi", Some(""), true), HostedPrompt::Chat { messages } if messages.len() == 1));
        assert_eq!(hosted_prompt("Once", Some("x"), false), HostedPrompt::Completion { prompt: "Once".into() });
    }

    #[test]
    fn conversation_prompts_carry_every_turn_in_order() {
        use arbitre_protocol::{ChatRole, ChatTurn};
        let turns = [
            ChatTurn { role: ChatRole::User, text: "Hi".into() },
            ChatTurn { role: ChatRole::Assistant, text: "Hello".into() },
            ChatTurn { role: ChatRole::User, text: "More?".into() },
        ];
        let HostedPrompt::Chat { messages } = conversation_prompt(&turns, Some(" Be brief. ")) else {
            panic!("a conversation is a chat prompt")
        };
        let got: Vec<_> = messages.iter().map(|m| (m.role, m.content.as_str())).collect();
        assert_eq!(
            got,
            [(Role::System, "Be brief."), (Role::User, "Hi"), (Role::Assistant, "Hello"), (Role::User, "More?")]
        );
        let HostedPrompt::Chat { messages } = conversation_prompt(&turns[2..], Some("")) else { panic!() };
        assert_eq!(messages.len(), 1);
    }

    #[test]
    fn price_lookup_by_provider_and_model() {
        let table = PriceTable::new(vec![
            entry("openai", "gpt-4o-mini", "0.15", "0.6"),
            entry("anthropic", "claude-4.5-haiku", "1", "5"),
            entry("anthropic", "claude-sonnet-4.5-200k", "6", "22.5"),
            entry("llamacpp", "local-model", "1", "2"),
        ]);
        let found = |p, m| price_for(&table, p, m).map(|e| e.model.clone());
        assert_eq!(found(ProviderId::OpenAi, "gpt-4o-mini"), Some("gpt-4o-mini".into()));
        assert_eq!(found(ProviderId::OpenRouter, "openai/gpt-4o-mini"), Some("gpt-4o-mini".into()));
        assert_eq!(found(ProviderId::OpenAi, "gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini".into()));
        assert_eq!(found(ProviderId::Anthropic, "claude-haiku-4-5"), Some("claude-4.5-haiku".into()));
        assert_eq!(found(ProviderId::Anthropic, "claude-haiku-4-5-20251001"), Some("claude-4.5-haiku".into()));
        assert_eq!(found(ProviderId::Anthropic, "claude-sonnet-4-5"), None, "the >200k tier is another model");
        assert_eq!(found(ProviderId::LlamaCpp, "local-model"), Some("local-model".into()));
        // Self-hosted servers never borrow a vendor's price by model name.
        assert_eq!(found(ProviderId::Ollama, "gpt-4o-mini"), None);
        assert_eq!(found(ProviderId::Groq, "llama-3.1-8b-instant"), None);
        // The builtin table prices the default models of the main providers.
        let builtin = PriceTable::builtin().expect("builtin");
        for p in [ProviderId::OpenAi, ProviderId::Anthropic, ProviderId::Mistral, ProviderId::DeepSeek] {
            assert!(price_for(&builtin, p, default_model(p)).is_some(), "{p}");
        }
    }

    #[test]
    fn api_cost_is_price_times_reported_usage() {
        let table = PriceTable::new(vec![entry("llamacpp", "m", "2", "10")]);
        let usage = HostedUsage {
            input_tokens: Some(1000),
            output_tokens: Some(500),
            input_includes_cached: true,
            ..Default::default()
        };
        let m = api_metrics(ProviderId::LlamaCpp, "m", &summary(ProviderId::LlamaCpp, "Hello world", usage), &table);
        // 1000 × 2 + 500 × 10 = 7000 micro-USD-per-M-token × tokens → $0.007 exactly.
        match &m.cost {
            CostView::Priced { cost, estimated, .. } => {
                assert_eq!(cost.picos, 7_000_000_000);
                assert!(!estimated);
            }
            other => panic!("{other:?}"),
        }
        let cells = m.cells(Currency::Usd, ExchangeRate::DEFAULT);
        assert_eq!(cells[0], "llama.cpp server · m");
        assert_eq!(cells[1], "120 ms");
        assert_eq!(cells[2], "1.1 s");
        assert_eq!(cells[4], "1,000");
        assert_eq!(cells[5], "500");
        assert_eq!(cells[6], "$0.007");
        assert_eq!(cells[7], "2");
        let eur = m.cells(Currency::Eur, ExchangeRate::parse("1.25").expect("rate"));
        assert_eq!(eur[6], "0.0056 €");
    }

    #[test]
    fn api_cost_estimates_are_flagged_and_cache_is_split() {
        let table = PriceTable::new(vec![PriceEntry {
            cached_input: Some(PricePerMTok::parse("0.5").expect("cached")),
            ..entry("openai", "gpt-x", "2", "10")
        }]);
        let m = api_metrics(
            ProviderId::OpenAi,
            "gpt-x",
            &summary(ProviderId::OpenAi, "abcdefgh", HostedUsage::default()),
            &table,
        );
        assert_eq!(m.input, Some(Tokens { count: 8, estimated: true })); // 29 chars → 8
        assert_eq!(m.output, Some(Tokens { count: 2, estimated: true }));
        assert!(matches!(m.cost, CostView::Priced { estimated: true, .. }));
        assert!(m.cells(Currency::Usd, ExchangeRate::DEFAULT)[6].starts_with("≈ $"));
        assert_eq!(m.cells(Currency::Usd, ExchangeRate::DEFAULT)[4], "≈ 8");

        let cached = HostedUsage {
            input_tokens: Some(1200),
            cached_input_tokens: Some(1000),
            output_tokens: Some(10),
            input_includes_cached: true,
            ..Default::default()
        };
        let (usage, est) = billed_usage(&summary(ProviderId::OpenAi, "x", cached));
        assert_eq!(usage, Usage { input_tokens: 200, cached_input_tokens: 1000, output_tokens: 10 });
        assert!(!est);
        let anthropic = HostedUsage {
            input_tokens: Some(50),
            cached_input_tokens: Some(1000),
            cache_write_input_tokens: Some(30),
            output_tokens: Some(10),
            input_includes_cached: false,
        };
        let (usage, _) = billed_usage(&summary(ProviderId::Anthropic, "x", anthropic));
        assert_eq!(usage, Usage { input_tokens: 80, cached_input_tokens: 1000, output_tokens: 10 });

        let none =
            api_metrics(ProviderId::Vllm, "qwen", &summary(ProviderId::Vllm, "x", HostedUsage::default()), &table);
        assert_eq!(none.cost, CostView::NoPrice);
        assert_eq!(none.cells(Currency::Usd, ExchangeRate::DEFAULT)[6], "no price");
    }

    #[test]
    fn local_row() {
        let local = LocalResult {
            label: "tiny".into(),
            text: "one two three".into(),
            stats: RunStats {
                backend: "cpu".into(),
                prompt_tokens: 5,
                prefill_tokens: 5,
                generated_tokens: 30,
                reasoning_tokens: 0,
                ttft_ms: 40.0,
                prefill_tps: 100.0,
                decode_tps: 250.0,
                total_ms: 160.0,
            },
        };
        let m = local_metrics(&local);
        let cells = m.cells(Currency::Eur, ExchangeRate::DEFAULT);
        assert_eq!(cells[0], "In this browser · tiny");
        assert_eq!(cells[3], "250");
        assert_eq!(cells[4], "5");
        assert_eq!(cells[5], "30");
        assert_eq!(cells[6], "0.00 € (runs here)");
        assert_eq!(cells[7], "3");
        assert_eq!(format_exact(ExactCost { picos: 75_000, currency: Currency::Usd }), "< $0.000001");
        assert_eq!(format_tokens(None), "—");
    }

    #[test]
    fn reasoning_is_shown_apart_counted_and_left_out_of_words() {
        let usage = HostedUsage { output_tokens: Some(26), ..HostedUsage::default() };
        // Reasoning in the content, as a self-hosted server sends a thinking model's output.
        let inline = summary(ProviderId::LlamaCpp, "<think>abcde</think>Four, said plainly", usage.clone());
        assert_eq!(api_turn_text(&inline), inline.text);
        let stats: serde_json::Value = serde_json::from_str(&api_turn_stats(&inline)).expect("json");
        // 20 of the 38 characters are the reasoning and its tags: 26 × 20 / 38 ≈ 14.
        assert_eq!(stats["reasoning_tokens"], 14);
        assert_eq!(stats["reasoning_estimated"], true);
        let table = PriceTable::default();
        assert_eq!(api_metrics(ProviderId::LlamaCpp, "m", &inline, &table).words, 3);

        // Reasoning streamed apart is put back in front of the answer.
        let mut apart = summary(ProviderId::DeepSeek, "Four", usage);
        apart.reasoning = " Two and two.\n".into();
        assert_eq!(api_turn_text(&apart), "<think>Two and two.</think>\n\nFour");
        let stats: serde_json::Value = serde_json::from_str(&api_turn_stats(&apart)).expect("json");
        assert!(stats["reasoning_tokens"].as_u64().expect("a count") > 0, "{stats}");

        let plain = summary(ProviderId::OpenAi, "Four", HostedUsage::default());
        let stats: serde_json::Value = serde_json::from_str(&api_turn_stats(&plain)).expect("json");
        assert!(stats.get("reasoning_tokens").is_none(), "{stats}");
    }
}
