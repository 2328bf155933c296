//! The cost panel: projections of API, in-browser and self-hosted costs over a horizon, the
//! price table and its imports, and the decision grid.
//!
//! The pure side is here and in [`chart`] (tested natively): the log-scale volume slider,
//! [`project`] (the cumulative cost curves and their [`totals`]), small form parsers, price
//! imports and projection defaults. The component ([`panel`], wasm32 only) only wires and
//! renders. Money is never computed with floats here: floats only place points on the chart.

pub mod chart;
#[cfg(target_arch = "wasm32")]
pub mod form;
#[cfg(target_arch = "wasm32")]
pub mod panel;
#[cfg(test)]
pub(crate) mod tests;

use arbitre_pricing::projection::SECONDS_PER_MONTH;
use arbitre_pricing::{
    Curve, DeviceEnergy, ExactCost, Money, PriceTable, SelfHosted, Settings, Usage, Workload, project_api,
    project_local, project_self_hosted,
};

use crate::compare::panes::LocalResult;
use chart::series_classes;
pub use chart::{Chart, ChartFrame, build_chart};

/// Smallest volume on the slider (requests per month).
pub const VOLUME_MIN: u64 = 10;
/// Largest volume on the slider (requests per month).
pub const VOLUME_MAX: u64 = 10_000_000;
/// Slider positions: 0..=SLIDER_STEPS.
pub const SLIDER_STEPS: u32 = 1000;

/// The volume at a slider position on a log scale from [`VOLUME_MIN`] to [`VOLUME_MAX`],
/// rounded to two significant digits.
pub fn volume_from_slider(pos: u32) -> u64 {
    let pos = pos.min(SLIDER_STEPS);
    let decades = (VOLUME_MAX as f64 / VOLUME_MIN as f64).log10();
    let v = VOLUME_MIN as f64 * 10f64.powf(decades * f64::from(pos) / f64::from(SLIDER_STEPS));
    round_significant(v, 2).clamp(VOLUME_MIN, VOLUME_MAX)
}

/// The slider position closest to a volume (the inverse of [`volume_from_slider`]).
pub fn slider_from_volume(volume: u64) -> u32 {
    let v = volume.clamp(VOLUME_MIN, VOLUME_MAX) as f64;
    let decades = (VOLUME_MAX as f64 / VOLUME_MIN as f64).log10();
    let pos = (v / VOLUME_MIN as f64).log10() / decades * f64::from(SLIDER_STEPS);
    (pos.round() as u32).min(SLIDER_STEPS)
}

fn round_significant(v: f64, digits: i32) -> u64 {
    if v <= 0.0 || !v.is_finite() {
        return 0;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - digits + 1);
    ((v / scale).round() * scale).round() as u64
}

// ---------------------------------------------------------------------------------------------
// Projection

/// Everything a projection needs besides the price table.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionInputs {
    /// The APIs to project, as (provider, model) keys of the price table.
    pub apis: Vec<(String, String)>,
    /// Volume, tokens per request and growth.
    pub workload: Workload,
    /// Horizon, currency, rate and API price scenario.
    pub settings: Settings,
    /// Device energy of in-browser inference, when counted.
    pub energy: Option<DeviceEnergy>,
    /// The self-hosted server, when shown.
    pub self_hosted: Option<SelfHosted>,
}

/// The curves of one projection, and what could not be projected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// One curve per API (in the order asked), then local, then self-hosted.
    pub curves: Vec<Curve>,
    /// Plain messages for curves that could not be computed.
    pub problems: Vec<String>,
}

/// Projects every curve; one that fails (unknown entry, overflow, bad input) is left out with a
/// message instead of failing the others.
pub fn project(inputs: &ProjectionInputs, table: &PriceTable) -> Projection {
    let mut curves = Vec::new();
    let mut problems = Vec::new();
    for (provider, model) in &inputs.apis {
        match table.find(provider, model) {
            Some(entry) => match project_api(entry, &inputs.workload, &inputs.settings) {
                Ok(c) => curves.push(c),
                Err(e) => problems.push(format!("{}: {e}", entry.name)),
            },
            None => problems.push(format!("{provider}/{model}: not in the price table")),
        }
    }
    match project_local(inputs.energy.as_ref(), &inputs.workload, &inputs.settings) {
        Ok(c) => curves.push(c),
        Err(e) => problems.push(format!("In-browser: {e}")),
    }
    if let Some(server) = &inputs.self_hosted {
        match project_self_hosted(server, &inputs.workload, &inputs.settings) {
            Ok(c) => curves.push(c),
            Err(e) => problems.push(format!("{}: {e}", server.label)),
        }
    }
    Projection { curves, problems }
}

/// Seconds one server spends on one request at these throughputs (for display: "a request
/// keeps a server busy 0.4 s").
pub fn seconds_per_request(usage: &Usage, decode_tps: u32, prefill_tps: Option<u32>) -> f64 {
    if decode_tps == 0 {
        return f64::INFINITY;
    }
    let mut s = usage.output_tokens as f64 / f64::from(decode_tps);
    if let Some(p) = prefill_tps.filter(|p| *p > 0) {
        s += usage.total_input() as f64 / f64::from(p);
    }
    s
}

/// Requests one server can serve in a month at `utilisation_pct`.
pub fn server_capacity(usage: &Usage, decode_tps: u32, prefill_tps: Option<u32>, utilisation_pct: u8) -> f64 {
    let per = seconds_per_request(usage, decode_tps, prefill_tps);
    if per <= 0.0 {
        return f64::INFINITY;
    }
    SECONDS_PER_MONTH as f64 * f64::from(utilisation_pct.min(100)) / 100.0 / per
}

/// One row of the totals table under the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalRow {
    /// Curve label.
    pub label: String,
    /// CSS class of its series (matches the chart's line).
    pub class: String,
    /// Cost of month 1.
    pub first_month: Money,
    /// Cost of the last month.
    pub last_month: Money,
    /// Total over the horizon.
    pub total: Money,
    /// How much more than the cheapest curve it costs over the horizon (zero for the
    /// cheapest).
    pub over_cheapest: Money,
    /// Whether it is (one of) the cheapest.
    pub cheapest: bool,
    /// Servers in the last month (self-hosted only).
    pub servers: Option<u32>,
}

/// The totals table of a projection, in curve order.
pub fn totals(curves: &[Curve]) -> Vec<TotalRow> {
    let min = curves.iter().map(Curve::total_picos).min().unwrap_or(0);
    let classes = series_classes(curves);
    curves
        .iter()
        .zip(classes)
        .map(|(c, class)| {
            let over = ExactCost { picos: c.total_picos() - min, currency: c.currency }.to_money();
            TotalRow {
                label: c.label.clone(),
                class,
                first_month: c.monthly.first().copied().unwrap_or(Money::zero(c.currency)),
                last_month: c.monthly.last().copied().unwrap_or(Money::zero(c.currency)),
                total: c.total(),
                over_cheapest: over,
                cheapest: c.total_picos() == min,
                servers: c.servers.last().copied(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Small parsers for the form fields

/// A percentage typed by a person ("12", "-20.5", "+3 %") as basis points, rounded half to even.
pub fn percent_to_bp(text: &str) -> Option<i32> {
    let t = text.trim().trim_end_matches('%').trim();
    let bp = arbitre_pricing::money::parse_scaled(t, 2).ok()?;
    i32::try_from(bp).ok()
}

/// A whole positive count typed by a person, with optional thousands separators ("1,000",
/// "25 000", "1_000").
pub fn parse_count(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| !matches!(c, ',' | '_' | ' ' | '\u{a0}' | '\u{202f}')).collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Price imports and projection defaults

/// Which format [`import_prices`] recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceFormat {
    /// arbitre's own table (`"format": "arbitre-prices/1"`).
    Arbitre,
    /// llm-prices.com JSON (current, historical or a vendor file).
    LlmPrices,
    /// LiteLLM's `model_prices_and_context_window.json`.
    LiteLlm,
}

impl PriceFormat {
    /// Name shown to the visitor.
    pub fn name(self) -> &'static str {
        match self {
            Self::Arbitre => "arbitre price table",
            Self::LlmPrices => "llm-prices JSON",
            Self::LiteLlm => "LiteLLM prices",
        }
    }
}

/// Imports a price file of any known format, told apart by its top-level keys: `format`
/// (arbitre), `prices` or `vendor` + `models` (llm-prices), anything else as LiteLLM.
pub fn import_prices(
    text: &str,
    source: &arbitre_pricing::ImportSource,
) -> arbitre_pricing::Result<(arbitre_pricing::Imported, PriceFormat)> {
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| arbitre_pricing::PricingError::Json {
        format: "price file",
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let has = |k: &str| root.get(k).is_some();
    if root.get("format").and_then(serde_json::Value::as_str) == Some(arbitre_pricing::table::TABLE_FORMAT) {
        let table = PriceTable::from_json(text)?;
        return Ok((arbitre_pricing::Imported { table, skipped: Vec::new() }, PriceFormat::Arbitre));
    }
    if has("prices") || (has("vendor") && has("models")) {
        return Ok((arbitre_pricing::import_llm_prices(text, source)?, PriceFormat::LlmPrices));
    }
    Ok((arbitre_pricing::import_litellm(text, source)?, PriceFormat::LiteLlm))
}

/// The APIs a projection shows before the visitor picks any: the articles' "high-end" closed
/// API (about 1.75/14 per million tokens), the "most capable" one (about 5/25) and a European
/// vendor's large model, where the table has them.
pub const DEFAULT_PROJECTION_APIS: [(&str, &str); 3] =
    [("openai", "gpt-5.2"), ("anthropic", "claude-opus-4-5"), ("mistral", "mistral-large-latest")];

/// [`DEFAULT_PROJECTION_APIS`] that are in `table`.
pub fn default_projection_apis(table: &PriceTable) -> Vec<(String, String)> {
    DEFAULT_PROJECTION_APIS
        .iter()
        .filter(|(p, m)| table.find(p, m).is_some())
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect()
}

/// Tokens of a typical request when the visitor has typed none: those of the local run just
/// made, else those of the first API run, else 500 in / 300 out. Returns where they came from.
pub fn tokens_per_request(local: Option<&LocalResult>, api: Option<Usage>) -> (Usage, &'static str) {
    if let Some(l) = local.filter(|l| l.stats.prompt_tokens + l.stats.generated_tokens > 0) {
        let usage = Usage {
            input_tokens: l.stats.prompt_tokens as u64,
            cached_input_tokens: 0,
            output_tokens: l.stats.generated_tokens as u64,
        };
        return (usage, "from the local run");
    }
    if let Some(u) = api {
        let usage = Usage { input_tokens: u.total_input(), cached_input_tokens: 0, output_tokens: u.output_tokens };
        return (usage, "from the API run");
    }
    (Usage { input_tokens: 500, cached_input_tokens: 0, output_tokens: 300 }, "a typical request")
}
