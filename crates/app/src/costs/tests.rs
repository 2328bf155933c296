//! Tests of the cost panel's pure side: slider, projection, chart geometry, parsers, imports.

use super::chart::*;
use super::*;
use crate::compare::panes::LocalResult;
use arbitre_pricing::{Currency, PriceEntry, PricePerMTok, ServerCost};
use arbitre_protocol::RunStats;

/// A price entry for tests (also used by the comparison tests).
pub(crate) fn entry(provider: &str, model: &str, input: &str, output: &str) -> PriceEntry {
    PriceEntry {
        provider: provider.into(),
        model: model.into(),
        name: model.to_uppercase(),
        currency: Currency::Usd,
        input: PricePerMTok::parse(input).expect("input"),
        output: PricePerMTok::parse(output).expect("output"),
        cached_input: None,
        as_of: "2026-01-01".into(),
        effective_from: None,
        source: "test".into(),
        source_url: None,
        history: vec![],
    }
}
#[test]
fn volume_slider_is_logarithmic() {
    assert_eq!(volume_from_slider(0), 10);
    assert_eq!(volume_from_slider(SLIDER_STEPS), 10_000_000);
    assert_eq!(volume_from_slider(500), 10_000); // half-way in log space: 10^4
    assert_eq!(volume_from_slider(5000), 10_000_000);
    let mut prev = 0;
    for p in 0..=SLIDER_STEPS {
        let v = volume_from_slider(p);
        assert!(v >= prev, "monotone at {p}");
        prev = v;
    }
    for v in [10, 100, 1000, 30_000, 300_000, 10_000_000] {
        assert_eq!(volume_from_slider(slider_from_volume(v)), v, "{v}");
    }
    assert_eq!(slider_from_volume(1), 0);
    assert_eq!(slider_from_volume(u64::MAX), SLIDER_STEPS);
}

#[test]
fn nice_ticks_and_labels() {
    assert_eq!(nice_step(0.0), 1.0);
    assert_eq!(nice_step(3.0), 5.0);
    assert_eq!(nice_step(0.13), 0.2);
    assert_eq!(nice_step(7000.0), 10_000.0);
    assert_eq!(nice_ticks(0.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
    assert_eq!(nice_ticks(930.0, 5), vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
    assert_eq!(nice_ticks(1000.0, 5), vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
    let t = nice_ticks(12_345.0, 5);
    assert_eq!(t.first(), Some(&0.0));
    assert!(*t.last().expect("ticks") >= 12_345.0);
    assert!(t.len() >= 3 && t.len() <= 8);
    assert_eq!(month_ticks(24), vec![0, 3, 6, 9, 12, 15, 18, 21, 24]);
    assert_eq!(month_ticks(36), vec![0, 6, 12, 18, 24, 30, 36]);
    assert_eq!(month_ticks(5), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(month_ticks(600), vec![0, 120, 240, 360, 480, 600]);
    assert_eq!(compact_money(0.0, Currency::Usd), "$0");
    assert_eq!(compact_money(250.0, Currency::Usd), "$250");
    assert_eq!(compact_money(1500.0, Currency::Usd), "$1.5k");
    assert_eq!(compact_money(2_000_000.0, Currency::Usd), "$2M");
    assert_eq!(compact_money(0.25, Currency::Usd), "$0.25");
    assert_eq!(compact_money(3500.0, Currency::Eur), "3.5k €");
    assert_eq!(compact_money(-1500.0, Currency::Usd), "-$1.5k");
}

fn inputs(requests: u64, server: Option<SelfHosted>) -> ProjectionInputs {
    ProjectionInputs {
        apis: vec![("vendor".into(), "big".into()), ("vendor".into(), "missing".into())],
        workload: Workload {
            requests_per_month: requests,
            usage: Usage { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 500 },
            monthly_growth_bp: 0,
        },
        settings: Settings::default(),
        energy: None,
        self_hosted: server,
    }
}

fn bought_server() -> SelfHosted {
    SelfHosted {
        label: "Self-hosted".into(),
        cost: ServerCost::Purchase {
            price_per_server: Money::parse("10000", Currency::Usd).expect("price"),
            amortisation_months: 0,
            watts: 0,
            price_per_kwh: Money::zero(Currency::Usd),
        },
        decode_tokens_per_s: 1000,
        prefill_tokens_per_s: None,
        utilisation_pct: 50,
        ops_per_month: Money::parse("100", Currency::Usd).expect("ops"),
    }
}

#[test]
fn projection_collects_curves_and_problems() {
    let table = PriceTable::new(vec![entry("vendor", "big", "2", "10")]);
    let p = project(&inputs(100_000, Some(bought_server())), &table);
    assert_eq!(p.curves.len(), 3);
    assert_eq!(p.problems, vec!["vendor/missing: not in the price table".to_string()]);
    // $0.007 × 100,000 = $700 a month; × 24 = $16,800.
    assert_eq!(p.curves[0].total().micros, 16_800_000_000);
    assert_eq!(p.curves[1].total().micros, 0);
    // One server: $10,000 in month 1, then $100 a month of running cost.
    assert_eq!(p.curves[2].total().micros, 12_400_000_000);

    let rows = totals(&p.curves);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].class, "series-api-0");
    assert_eq!(rows[1].class, "series-local");
    assert!(rows[1].cheapest);
    assert_eq!(rows[0].over_cheapest.micros, 16_800_000_000);
    assert_eq!(rows[2].servers, Some(1));
    assert_eq!(rows[0].first_month.micros, 700_000_000);

    let bad = ProjectionInputs { settings: Settings { horizon_months: 0, ..Settings::default() }, ..inputs(10, None) };
    let p = project(&bad, &table);
    assert!(p.curves.is_empty());
    assert!(p.problems.iter().any(|m| m.contains("horizon")), "{:?}", p.problems);
}

#[test]
fn chart_geometry_and_break_even_marker() {
    let table = PriceTable::new(vec![entry("vendor", "big", "2", "10")]);
    let p = project(&inputs(100_000, Some(bought_server())), &table);
    let frame = ChartFrame::default();
    let chart = build_chart(&p.curves, frame);
    assert_eq!(chart.months, 24);
    assert_eq!(chart.series.len(), 3);
    // y axis from $0 to a nice top above $16,800.
    assert_eq!(chart.y_ticks.first().map(|t| t.label.as_str()), Some("$0"));
    assert_eq!(chart.y_max, 20_000.0);
    assert_eq!(chart.y_ticks.last().map(|t| t.label.as_str()), Some("$20k"));
    let bottom = frame.top + chart.plot_h;
    assert_eq!(chart.y_ticks[0].pos, bottom);
    assert_eq!(chart.x_ticks[0].pos, frame.left);
    assert_eq!(chart.x_ticks.last().map(|t| t.pos), Some(frame.width - frame.right));
    // Each line starts at (month 0, 0) and has one point per month after it.
    for s in &chart.series {
        assert_eq!(s.points.len(), 25);
        assert_eq!(s.points[0], (frame.left, bottom));
        assert_eq!(s.svg_points.split(' ').count(), 25);
    }
    assert!(!chart.series[0].dashed);
    assert!(chart.series[1].dashed && chart.series[2].dashed);
    assert_eq!(chart.series[0].total, "$16,800.00");
    // API: 700k/month; self-hosted: 10,100 then +100/month. 700k ≥ 10,000 + 100k → k = 15.
    // 10,000 + 100·15 = 11,500 ≤ 700·15 = 10,500? no; k=17: 11,700 ≤ 11,900 yes; k=16: 11,600 vs 11,200 no.
    assert_eq!(chart.markers.len(), 1, "{:?}", chart.markers);
    let m = &chart.markers[0];
    assert_eq!(m.month, 17);
    assert!(m.break_even);
    assert_eq!(m.label, "Self-hosted cheaper than BIG (vendor) from month 17");
    // The marker lies between months 16 and 17 on the x axis, on the self-hosted line.
    let x16 = frame.left + 16.0 / 24.0 * chart.plot_w;
    let x17 = frame.left + 17.0 / 24.0 * chart.plot_w;
    assert!(m.x > x16 && m.x <= x17, "{} in ({x16}, {x17}]", m.x);
    let sy = |v: f64| bottom - v / chart.y_max * chart.plot_h;
    assert!(m.y <= sy(11_600.0) && m.y >= sy(11_700.0));
    // Local is cheapest from month 1: no marker for it.
    assert!(chart.markers.iter().all(|m| !m.label.starts_with("In-browser")));

    let empty = build_chart(&[], frame);
    assert!(empty.series.is_empty());
    assert_eq!(empty.y_max, 1.0);
}

#[test]
fn server_capacity_numbers() {
    let usage = Usage { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 500 };
    assert_eq!(seconds_per_request(&usage, 1000, None), 0.5);
    assert_eq!(seconds_per_request(&usage, 1000, Some(10_000)), 0.6);
    let cap = server_capacity(&usage, 1000, None, 50);
    assert!((cap - 2_628_000.0).abs() < 1e-6, "{cap}");
    assert!(seconds_per_request(&usage, 0, None).is_infinite());
}
#[test]
fn form_parsers() {
    assert_eq!(percent_to_bp("12"), Some(1200));
    assert_eq!(percent_to_bp("-20.5 %"), Some(-2050));
    assert_eq!(percent_to_bp("+3%"), Some(300));
    assert_eq!(percent_to_bp("x"), None);
    assert_eq!(parse_count("1,000"), Some(1000));
    assert_eq!(parse_count("25 000"), Some(25_000));
    assert_eq!(parse_count("-3"), None);
}

#[test]
fn imports_any_known_price_format() {
    let source = arbitre_pricing::ImportSource { label: "test".into(), url: None, as_of: "2026-01-02".into() };
    let litellm = r#"{"sample_spec": {}, "gpt-x": {"input_cost_per_token": 2e-06, "output_cost_per_token": 1e-05,
        "litellm_provider": "openai", "mode": "chat"}}"#;
    let (imported, format) = import_prices(litellm, &source).expect("litellm");
    assert_eq!(format, PriceFormat::LiteLlm);
    assert_eq!(imported.table.find("openai", "gpt-x").map(|e| e.input.micros), Some(2_000_000));
    let llm = r#"{"updated_at": "2026-01-01", "prices": [{"id": "m1", "vendor": "v", "name": "M1",
        "input": 1.5, "output": 3, "input_cached": null}]}"#;
    let (imported, format) = import_prices(llm, &source).expect("llm-prices");
    assert_eq!(format, PriceFormat::LlmPrices);
    assert_eq!(imported.table.find("v", "m1").map(|e| e.output.micros), Some(3_000_000));
    let own = PriceTable::new(vec![entry("a", "b", "1", "2")]).to_json().expect("json");
    let (imported, format) = import_prices(&own, &source).expect("own");
    assert_eq!(format, PriceFormat::Arbitre);
    assert_eq!(imported.table.entries.len(), 1);
    assert!(import_prices("not json", &source).is_err());
    assert!(import_prices("[1, 2]", &source).is_err());
}

#[test]
fn projection_defaults() {
    let builtin = PriceTable::builtin().expect("builtin");
    assert_eq!(default_projection_apis(&builtin).len(), 3);
    let gpt = builtin.find("openai", "gpt-5.2").expect("gpt-5.2");
    assert_eq!((gpt.input.micros, gpt.output.micros), (1_750_000, 14_000_000));
    let (u, from) = tokens_per_request(None, None);
    assert_eq!((u.input_tokens, u.output_tokens, from), (500, 300, "a typical request"));
    let api = Usage { input_tokens: 10, cached_input_tokens: 5, output_tokens: 7 };
    let (u, from) = tokens_per_request(None, Some(api));
    assert_eq!((u.input_tokens, u.output_tokens, from), (15, 7, "from the API run"));
    let local = LocalResult {
        label: "m".into(),
        text: String::new(),
        stats: RunStats { prompt_tokens: 12, generated_tokens: 64, ..RunStats::default() },
    };
    let (u, from) = tokens_per_request(Some(&local), Some(api));
    assert_eq!((u.input_tokens, u.output_tokens, from), (12, 64, "from the local run"));
}
