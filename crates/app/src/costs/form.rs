//! The cost panel's form state and its small renderers (wasm32 only): the projection form,
//! field parsers, price-file import and the SVG chart drawn from [`super::chart::Chart`].

use arbitre_pricing::{Complexity, Compounding, ImportSource, Level, PriceTable, QualityVerdict};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::compare::workbench::{Workbench, WorkbenchAction};
use crate::costs::{self, Chart, default_projection_apis};
use crate::dom::today;
use crate::netlog::url_host;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerMode {
    Rental,
    Purchase,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CostForm {
    pub(crate) search: String,
    pub(crate) picked: Vec<(String, String)>,
    pub(crate) unpicked: Vec<(String, String)>,
    pub(crate) volume: u64,
    pub(crate) tokens_in: Option<u64>,
    pub(crate) tokens_out: Option<u64>,
    pub(crate) horizon: u32,
    pub(crate) price_change: String,
    pub(crate) compounding: Compounding,
    pub(crate) growth: String,
    pub(crate) energy_on: bool,
    pub(crate) energy_watts: String,
    pub(crate) energy_kwh: String,
    pub(crate) server_on: bool,
    pub(crate) server_mode: ServerMode,
    pub(crate) server_hourly: String,
    pub(crate) server_price: String,
    pub(crate) server_amortisation: String,
    pub(crate) server_watts: String,
    pub(crate) server_kwh: String,
    pub(crate) server_utilisation: String,
    pub(crate) server_throughput: String,
    pub(crate) server_ops: String,
    pub(crate) criticality: Level,
    pub(crate) volume_axis: Option<Level>,
    pub(crate) sensitivity: Level,
    pub(crate) complexity: Complexity,
    pub(crate) quality: Option<QualityVerdict>,
    pub(crate) import_url: String,
    pub(crate) import_status: Option<(bool, String)>,
    pub(crate) add_provider: String,
    pub(crate) add_model: String,
    pub(crate) add_input: String,
    pub(crate) add_output: String,
    pub(crate) add_error: Option<String>,
}

impl CostForm {
    pub(crate) fn new(table: &PriceTable, volume: Option<u64>, horizon: Option<u32>) -> Self {
        Self {
            search: String::new(),
            picked: default_projection_apis(table),
            unpicked: Vec::new(),
            volume: volume.unwrap_or(10_000).clamp(1, costs::VOLUME_MAX * 10),
            tokens_in: None,
            tokens_out: None,
            horizon: horizon.unwrap_or(arbitre_pricing::projection::DEFAULT_HORIZON_MONTHS).clamp(1, 600),
            price_change: "0".into(),
            compounding: Compounding::Yearly,
            growth: "0".into(),
            energy_on: false,
            energy_watts: "30".into(),
            energy_kwh: "0.25".into(),
            server_on: true,
            server_mode: ServerMode::Rental,
            server_hourly: "2.00".into(),
            server_price: "25000".into(),
            server_amortisation: "36".into(),
            server_watts: "700".into(),
            server_kwh: "0.20".into(),
            server_utilisation: "50".into(),
            server_throughput: "1500".into(),
            server_ops: "0".into(),
            criticality: Level::Medium,
            volume_axis: None,
            sensitivity: Level::Medium,
            complexity: Complexity::Moderate,
            quality: None,
            import_url: arbitre_pricing::import::LLM_PRICES_URL.to_string(),
            import_status: None,
            add_provider: "llamacpp".into(),
            add_model: String::new(),
            add_input: String::new(),
            add_output: String::new(),
            add_error: None,
        }
    }
}

pub(crate) fn parse_level(s: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|l| l.as_str() == s)
}

pub(crate) fn parse_complexity(s: &str) -> Complexity {
    match s {
        "simple" => Complexity::Simple,
        "complex" => Complexity::Complex,
        _ => Complexity::Moderate,
    }
}

pub(crate) fn parse_quality(s: &str) -> Option<QualityVerdict> {
    match s {
        "acceptable" => Some(QualityVerdict::Acceptable),
        "not_acceptable" => Some(QualityVerdict::NotAcceptable),
        "unsure" => Some(QualityVerdict::Unsure),
        _ => None,
    }
}

/// A link only for http(s) URLs read from price data.
pub(crate) fn safe_link(url: &Option<String>, text: String) -> Html {
    match url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            html! { <a href={u.clone()} target="_blank" rel="noopener noreferrer">{text}</a> }
        }
        _ => html! { <span>{text}</span> },
    }
}

pub(crate) async fn fetch_text(url: &str) -> Result<(String, u16, u64), String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| {
        format!("could not reach {} (network down, or the server refuses browser requests)", url_host(url))
    })?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "unexpected fetch result".to_string())?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| "could not read the response".to_string())?)
        .await
        .map_err(|_| "could not read the response".to_string())?
        .as_string()
        .unwrap_or_default();
    if !resp.ok() {
        return Err(format!("{} answered HTTP {status}", url_host(url)));
    }
    let len = text.len() as u64;
    Ok((text, status, len))
}

pub(crate) fn apply_import(
    text: &str,
    label: &str,
    url: Option<String>,
    workbench: &UseReducerDispatcher<Workbench>,
) -> (bool, String) {
    let source = ImportSource { label: label.to_string(), url, as_of: today() };
    match costs::import_prices(text, &source) {
        Ok((imported, format)) => {
            let n = imported.table.entries.len();
            let skipped = imported.skipped.len();
            workbench.dispatch(WorkbenchAction::Merge(Box::new(imported.table)));
            (
                true,
                format!(
                    "Imported {n} prices ({}); {skipped} entries skipped (not text generation or no price).",
                    format.name()
                ),
            )
        }
        Err(e) => (false, format!("Import failed: {e}")),
    }
}

pub(crate) fn render_chart(chart: &Chart) -> Html {
    let f = chart.frame;
    let bottom = chart.plot_y + chart.plot_h;
    let right = chart.plot_x + chart.plot_w;
    let grid = chart
        .y_ticks
        .iter()
        .map(|t| {
            html! {
                <g class="tick">
                    <line class="grid-line" x1={chart.plot_x.to_string()} x2={right.to_string()} y1={t.pos.to_string()} y2={t.pos.to_string()} />
                    <text class="axis-label" x={(chart.plot_x - 8.0).to_string()} y={(t.pos + 4.0).to_string()} text-anchor="end">{t.label.clone()}</text>
                </g>
            }
        })
        .collect::<Html>();
    let xt = chart
        .x_ticks
        .iter()
        .map(|t| {
            html! {
                <g class="tick">
                    <line class="axis-line" x1={t.pos.to_string()} x2={t.pos.to_string()} y1={bottom.to_string()} y2={(bottom + 5.0).to_string()} />
                    <text class="axis-label" x={t.pos.to_string()} y={(bottom + 18.0).to_string()} text-anchor="middle">{t.label.clone()}</text>
                </g>
            }
        })
        .collect::<Html>();
    let lines = chart
        .series
        .iter()
        .map(|s| {
            html! {
                <polyline class={classes!("series", s.class.clone(), s.dashed.then_some("dashed"))} points={s.svg_points.clone()} fill="none">
                    <title>{format!("{}: {}", s.label, s.total)}</title>
                </polyline>
            }
        })
        .collect::<Html>();
    let markers = chart
        .markers
        .iter()
        .map(|m| {
            html! {
                <g class={classes!("marker", (!m.break_even).then_some("reverse"))}>
                    <circle cx={m.x.to_string()} cy={m.y.to_string()} r="5" />
                    <title>{m.label.clone()}</title>
                </g>
            }
        })
        .collect::<Html>();
    html! {
        <svg class="cost-chart" data-testid="cost-chart" viewBox={format!("0 0 {} {}", f.width, f.height)}
            role="img" aria-label={format!("Cumulative cost over {} months, in {}", chart.months, chart.currency.code())}
            preserveAspectRatio="xMidYMid meet">
            {grid}
            <line class="axis-line" x1={chart.plot_x.to_string()} x2={right.to_string()} y1={bottom.to_string()} y2={bottom.to_string()} />
            <line class="axis-line" x1={chart.plot_x.to_string()} x2={chart.plot_x.to_string()} y1={chart.plot_y.to_string()} y2={bottom.to_string()} />
            {xt}
            <text class="axis-title" x={(chart.plot_x + chart.plot_w / 2.0).to_string()} y={(f.height - 4.0).to_string()} text-anchor="middle">{"months"}</text>
            {lines}
            {markers}
        </svg>
    }
}
