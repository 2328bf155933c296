//! The cost panel component (wasm32 only): price table, projection form, chart, totals and
//! decision grid. All arithmetic and geometry comes from [`crate::costs`] and
//! `arbitre_pricing`.

use arbitre_hosted::transport::{self};
use arbitre_pricing::decision::volume_level;
use arbitre_pricing::{
    Complexity, Compounding, Currency, DecisionInput, DeviceEnergy, ExchangeRate, Level, Money, PriceChange,
    PriceEntry, PricePerMTok, QualityVerdict, Recommendation, SelfHosted, ServerCost, Settings, Usage, Workload,
    decide, self_hosting_break_even_volume,
};
use arbitre_protocol::NetEntry;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::form::{
    CostForm, ServerMode, apply_import, fetch_text, parse_complexity, parse_level, parse_quality, render_chart,
    safe_link,
};
use crate::compare::panes::{self, LocalResult, price_for};
use crate::compare::workbench::{WorkbenchAction, use_workbench};
use crate::costs::{
    self, ChartFrame, ProjectionInputs, SLIDER_STEPS, build_chart, slider_from_volume, tokens_per_request, totals,
    volume_from_slider,
};
use crate::dom::{checked, select_value, today};
use crate::field::{DraftField, commit_to, parse_into};
use crate::format;
use crate::latest::Latest;
use crate::netlog::{self};

/// Props of [`CostPanel`].
#[derive(Properties, PartialEq)]
pub struct CostProps {
    /// The verdict on the local answers from the chat's votes, with the tally (did the job,
    /// did not); used while the verdict is "not judged yet".
    #[prop_or_default]
    pub voted: Option<(QualityVerdict, (usize, usize))>,
    /// The last local run: its token counts are the default tokens per request, its timing the
    /// default device time per request.
    #[prop_or_default]
    pub local: Option<LocalResult>,
    /// Requests per month to start with (URL `volume`).
    #[prop_or_default]
    pub volume: Option<u64>,
    /// Horizon in months to start with (URL `horizon`).
    #[prop_or_default]
    pub horizon: Option<u32>,
    /// Told (volume, horizon) whenever they change (to write the URL).
    #[prop_or_default]
    pub on_projection: Callback<(u64, u32)>,
    /// Receives one entry per price-file download, for the privacy log.
    #[prop_or_default]
    pub on_net: Callback<NetEntry>,
}

/// The price table, projections (chart and totals) and the decision grid.
#[component]
pub fn CostPanel(props: &CostProps) -> Html {
    let workbench = use_workbench();
    let form = {
        let (table, volume, horizon) = (workbench.table.clone(), props.volume, props.horizon);
        use_state(move || CostForm::new(&table, volume, horizon))
    };
    let latest = use_mut_ref(|| (*form).clone());
    let form = Latest::synced(form, latest);
    {
        let on_projection = props.on_projection.clone();
        use_effect_with((form.volume, form.horizon), move |v| on_projection.emit(*v));
    }
    let wb = &*workbench;
    let currency = wb.currency;

    let set = |f: fn(&mut CostForm, &Event)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = form.current();
            f(&mut next, &e);
            form.set(next);
        })
    };
    // For DraftFields: `f` takes the typed text and says whether it was taken.
    let commit = |f: fn(&mut CostForm, &str) -> bool| commit_to(&form, f);
    let set_input = |f: fn(&mut CostForm, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut next = form.current();
            f(&mut next, e.target_unchecked_into::<HtmlInputElement>().value());
            form.set(next);
        })
    };

    // --- currency
    let on_currency = {
        let wb = workbench.dispatcher();
        Callback::from(move |e: Event| {
            let c = Currency::parse(&select_value(&e)).unwrap_or(Currency::Usd);
            wb.dispatch(WorkbenchAction::Currency(c));
        })
    };
    let rate_error = use_state(|| None::<String>);
    let on_rate = {
        let (wb, rate_error) = (workbench.dispatcher(), rate_error.clone());
        Callback::from(move |v: String| match ExchangeRate::parse(&v) {
            Ok(r) => {
                rate_error.set(None);
                wb.dispatch(WorkbenchAction::Rate(r));
                true
            }
            Err(err) => {
                rate_error.set(Some(err.to_string()));
                false
            }
        })
    };

    // --- the APIs in the projection: picked ones plus those just compared (unless unpicked)
    let mut apis: Vec<(String, String)> = form.picked.clone();
    for run in &wb.api_runs {
        if let Some(e) = price_for(&wb.table, run.provider, &run.model) {
            let key = (e.provider.clone(), e.model.clone());
            if !apis.contains(&key) && !form.unpicked.contains(&key) {
                apis.push(key);
            }
        }
    }

    // --- price table
    let needle = form.search.trim().to_lowercase();
    let matches: Vec<&PriceEntry> = wb
        .table
        .entries
        .iter()
        .filter(|e| {
            needle.is_empty()
                || e.provider.to_lowercase().contains(&needle)
                || e.model.to_lowercase().contains(&needle)
                || e.name.to_lowercase().contains(&needle)
        })
        .collect();
    const SHOWN: usize = 40;
    let price_rows = matches
        .iter()
        .take(SHOWN)
        .map(|e| {
            let key = (e.provider.clone(), e.model.clone());
            let is_picked = apis.contains(&key);
            let on_pick = {
                let (form, key) = (form.clone(), key.clone());
                Callback::from(move |_: Event| {
                    let mut next = form.current();
                    if is_picked {
                        next.picked.retain(|k| *k != key);
                        if !next.unpicked.contains(&key) {
                            next.unpicked.push(key.clone());
                        }
                    } else {
                        next.unpicked.retain(|k| *k != key);
                        next.picked.push(key.clone());
                    }
                    form.set(next);
                })
            };
            let edit = |output: bool| {
                let (wb, key) = (workbench.dispatcher(), key.clone());
                Callback::from(move |v: String| match PricePerMTok::parse(&v) {
                    Ok(price) => {
                        wb.dispatch(WorkbenchAction::EditPrice { provider: key.0.clone(), model: key.1.clone(), output, price });
                        true
                    }
                    Err(_) => false,
                })
            };
            html! {
                <tr key={format!("{}/{}", e.provider, e.model)} data-testid="price-row" data-key={format!("{}/{}", e.provider, e.model)}>
                    <td><input type="checkbox" data-testid="price-pick" checked={is_picked} onchange={on_pick}
                        aria-label={format!("Show {} in the projection", e.name)} /></td>
                    <td>{e.provider.clone()}</td>
                    <th scope="row" title={e.model.clone()}>{e.name.clone()}</th>
                    <td><DraftField class="price-input" inputmode="decimal" testid="price-input"
                        label={format!("{} input price per million tokens", e.name)}
                        value={e.input.to_decimal_string()} oncommit={edit(false)} /></td>
                    <td class="num">{e.cached_input.map(|p| p.to_decimal_string()).unwrap_or_else(|| "—".into())}</td>
                    <td><DraftField class="price-input" inputmode="decimal" testid="price-output"
                        label={format!("{} output price per million tokens", e.name)}
                        value={e.output.to_decimal_string()} oncommit={edit(true)} /></td>
                    <td>{e.currency.code()}</td>
                    <td class="num">{e.as_of.clone()}</td>
                    <td class="small">{safe_link(&e.source_url, e.source.clone())}</td>
                </tr>
            }
        })
        .collect::<Html>();

    let on_add_price = {
        let (form, wb) = (form.clone(), workbench.dispatcher());
        Callback::from(move |_: MouseEvent| {
            let mut next = form.current();
            let parsed = (PricePerMTok::parse(&next.add_input), PricePerMTok::parse(&next.add_output));
            let (provider, model) = (next.add_provider.trim().to_string(), next.add_model.trim().to_string());
            match parsed {
                _ if provider.is_empty() || model.is_empty() => {
                    next.add_error = Some("Give a provider and a model.".into())
                }
                (Ok(input), Ok(output)) => {
                    let entry = PriceEntry {
                        provider: provider.clone(),
                        model: model.clone(),
                        name: model.clone(),
                        currency,
                        input,
                        output,
                        cached_input: None,
                        as_of: today(),
                        effective_from: None,
                        source: "typed in this page".into(),
                        source_url: None,
                        history: Vec::new(),
                    };
                    wb.dispatch(WorkbenchAction::Upsert(Box::new(entry)));
                    next.add_error = None;
                    let key = (provider, model);
                    if !next.picked.contains(&key) {
                        next.picked.push(key);
                    }
                }
                (Err(e), _) | (_, Err(e)) => next.add_error = Some(e.to_string()),
            }
            form.set(next);
        })
    };

    let on_fetch = {
        let (form, wb, on_net) = (form.clone(), workbench.dispatcher(), props.on_net.clone());
        Callback::from(move |_: MouseEvent| {
            let url = form.import_url.trim().to_string();
            let mut next = form.current();
            next.import_status = Some((true, format!("Fetching {url}…")));
            form.set(next.clone());
            let (form, wb, on_net) = (form.clone(), wb.clone(), on_net.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let started = transport::now_ms();
                let result = fetch_text(&url).await;
                let (status, down) = match &result {
                    Ok((_, s, n)) => (*s, *n),
                    Err(_) => (0, 0),
                };
                on_net.emit(netlog::page_get(started, &url, status, down, "price list import"));
                next.import_status = Some(match result {
                    Ok((text, _, _)) => apply_import(&text, "imported from URL", Some(url.clone()), &wb),
                    Err(e) => (false, format!("Import failed: {e}")),
                });
                form.set(next);
            });
        })
    };
    let on_file = {
        let (form, wb) = (form.clone(), workbench.dispatcher());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
            let (form, wb) = (form.clone(), wb.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut next = form.current();
                let text = JsFuture::from(file.text()).await.ok().and_then(|v| v.as_string());
                next.import_status = Some(match text {
                    Some(t) => apply_import(&t, &format!("imported file {}", file.name()), None, &wb),
                    None => (false, "Import failed: could not read the file".to_string()),
                });
                form.set(next);
            });
        })
    };
    let on_reset = {
        let wb = workbench.dispatcher();
        Callback::from(move |_: MouseEvent| wb.dispatch(WorkbenchAction::ResetTable))
    };

    // --- projection inputs
    let first_api_usage = wb.api_runs.first().map(|r| r.usage);
    let (derived, derived_from) = tokens_per_request(props.local.as_ref(), first_api_usage);
    let usage = Usage {
        input_tokens: form.tokens_in.unwrap_or(derived.input_tokens),
        cached_input_tokens: 0,
        output_tokens: form.tokens_out.unwrap_or(derived.output_tokens),
    };
    let mut problems: Vec<String> = Vec::new();
    let mut money = |label: &str, text: &str| match Money::parse(text, currency) {
        Ok(m) if m.micros >= 0 => m,
        _ => {
            problems.push(format!("{label}: {text:?} is not an amount"));
            Money::zero(currency)
        }
    };
    let price_change_bp = costs::percent_to_bp(&form.price_change).unwrap_or(0);
    let growth_bp = costs::percent_to_bp(&form.growth).unwrap_or(0);
    let local_ms = props.local.as_ref().map(|l| l.stats.total_ms).filter(|ms| *ms > 0.0).unwrap_or(2000.0);
    let energy = form.energy_on.then(|| DeviceEnergy {
        watts: form.energy_watts.trim().parse().unwrap_or(0),
        millis_per_request: local_ms.round() as u64,
        price_per_kwh: money("Electricity price", &form.energy_kwh),
    });
    let utilisation: u8 = form.server_utilisation.trim().trim_end_matches('%').parse().unwrap_or(50);
    let throughput: u32 = form.server_throughput.trim().parse().unwrap_or(0);
    let server = form.server_on.then(|| {
        let (label, cost) = match form.server_mode {
            ServerMode::Rental => (
                "Self-hosted (rented GPU)",
                ServerCost::Rental { hourly: money("Hourly price", &form.server_hourly), hours_per_month: 730 },
            ),
            ServerMode::Purchase => (
                "Self-hosted (own GPU server)",
                ServerCost::Purchase {
                    price_per_server: money("Hardware price", &form.server_price),
                    amortisation_months: form.server_amortisation.trim().parse().unwrap_or(0),
                    watts: form.server_watts.trim().parse().unwrap_or(0),
                    price_per_kwh: money("Server electricity", &form.server_kwh),
                },
            ),
        };
        SelfHosted {
            label: label.to_string(),
            cost,
            decode_tokens_per_s: throughput,
            prefill_tokens_per_s: None,
            utilisation_pct: utilisation,
            ops_per_month: money("Running cost", &form.server_ops),
        }
    });
    let settings = Settings {
        horizon_months: form.horizon,
        currency,
        rate: wb.rate,
        api_price_change: PriceChange { annual_bp: price_change_bp, compounding: form.compounding },
    };
    let workload = Workload { requests_per_month: form.volume, usage, monthly_growth_bp: growth_bp };
    let inputs = ProjectionInputs { apis: apis.clone(), workload, settings, energy, self_hosted: server.clone() };
    let projection = costs::project(&inputs, &wb.table);
    problems.extend(projection.problems.iter().cloned());
    let chart = build_chart(&projection.curves, ChartFrame::default());
    let total_rows = totals(&projection.curves);
    let break_even_volume = match (&server, apis.first().and_then(|(p, m)| wb.table.find(p, m))) {
        (Some(s), Some(api)) => match self_hosting_break_even_volume(api, s, &workload, &settings, 1_000_000_000) {
            Ok(Some(v)) => Some(format!(
                "{} costs no more than {} over {} months from about {} requests a month (at these tokens per request).",
                s.label,
                api.name,
                form.horizon,
                format_count(v)
            )),
            Ok(None) => Some(format!("{} stays cheaper than {} up to a billion requests a month.", api.name, s.label)),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        },
        _ => None,
    };
    let capacity = server.as_ref().map(|s| {
        let per = costs::seconds_per_request(&usage, s.decode_tokens_per_s, None);
        let cap = costs::server_capacity(&usage, s.decode_tokens_per_s, None, s.utilisation_pct);
        format!(
            "One request keeps a server busy about {}; one server handles about {} requests a month at {}% utilisation.",
            format::duration_ms(per * 1000.0),
            if cap.is_finite() { format_count(cap as u64) } else { "∞".into() },
            s.utilisation_pct
        )
    });

    let legend = chart
        .series
        .iter()
        .map(|s| {
            html! {
                <li><span class={classes!("swatch", s.class.clone(), s.dashed.then_some("dashed"))} aria-hidden="true"></span>
                    {s.label.clone()}<span class="muted num">{format!(" · {}", s.total)}</span></li>
            }
        })
        .collect::<Html>();
    let markers_list = chart.markers.iter().map(|m| html! { <li>{m.label.clone()}</li> }).collect::<Html>();
    let cost_rows = total_rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            html! {
                <tr data-testid={format!("cost-row-{i}")} data-total-micros={r.total.micros.to_string()} class={classes!(r.cheapest.then_some("cheapest"))}>
                    <th scope="row"><span class={classes!("swatch", r.class.clone())} aria-hidden="true"></span>{r.label.clone()}</th>
                    <td class="num">{r.first_month.to_string()}</td>
                    <td class="num">{r.last_month.to_string()}</td>
                    <td class="num"><strong>{r.total.to_string()}</strong></td>
                    <td class="num">{ if r.cheapest { "cheapest".to_string() } else { format!("+{}", r.over_cheapest) } }</td>
                    <td class="num">{r.servers.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect::<Html>();

    // --- decision grid
    let auto_volume = volume_level(form.volume);
    let decision = decide(&DecisionInput {
        criticality: form.criticality,
        volume: form.volume_axis.unwrap_or(auto_volume),
        sensitivity: form.sensitivity,
        complexity: form.complexity,
        // The verdict picked here, else the one the chat's votes give.
        quality: form.quality.or(props.voted.map(|(v, _)| v)),
    });
    let rec_id = match decision.recommendation {
        Recommendation::LocalOpenModel => "local",
        Recommendation::HostedApi => "api",
        Recommendation::Hybrid => "hybrid",
    };
    let level_options = |current: Level| {
        Level::ALL
            .iter()
            .map(|l| html! { <option value={l.as_str()} selected={*l == current}>{l.as_str()}</option> })
            .collect::<Html>()
    };

    let f = &*form;
    let sym = currency.symbol();
    html! {
        <section class="card cost-panel" data-testid="cost-panel" aria-label="Costs and decision">
            <h2>{"What it costs — today, at your volume, over time"}</h2>
            <div class="row wrap">
                <label class="field inline"><span>{"Currency"}</span>
                    <select data-testid="currency" onchange={on_currency}>
                        <option value="USD" selected={currency == Currency::Usd}>{"USD ($)"}</option>
                        <option value="EUR" selected={currency == Currency::Eur}>{"EUR (€)"}</option>
                    </select>
                </label>
                <label class="field inline"><span>{"1 EUR = … USD"}</span>
                    <DraftField inputmode="decimal" testid="eur-usd-rate" value={rate_text(wb.rate)} oncommit={on_rate} />
                </label>
                if let Some(err) = &*rate_error { <p class="error small" role="alert">{err.clone()}</p> }
            </div>

            <details class="prices" open=true>
                <summary>{format!("Price table ({} models, per million tokens)", wb.table.entries.len())}</summary>
                <p class="muted small" data-testid="price-as-of">
                    {format!("Shipped table as of {}. ", wb.table.as_of.clone().unwrap_or_else(|| "—".into()))}
                    {"Prices are editable; ticked models are drawn in the projection. Each row shows its source and as-of date."}
                </p>
                <label class="field"><span>{"Search"}</span>
                    <input type="search" data-testid="price-search" placeholder="gpt, claude, mistral…" value={f.search.clone()}
                        oninput={set_input(|f, v| f.search = v)} />
                </label>
                <div class="table-wrap price-wrap">
                    <table class="data" data-testid="price-table">
                        <thead><tr>
                            <th scope="col">{"Chart"}</th><th scope="col">{"Provider"}</th><th scope="col">{"Model"}</th>
                            <th scope="col">{"Input"}</th><th scope="col">{"Cached in"}</th><th scope="col">{"Output"}</th>
                            <th scope="col">{"Cur."}</th><th scope="col">{"As of"}</th><th scope="col">{"Source"}</th>
                        </tr></thead>
                        <tbody>{price_rows}</tbody>
                    </table>
                </div>
                if matches.len() > SHOWN {
                    <p class="muted small">{format!("{} more match; refine the search.", matches.len() - SHOWN)}</p>
                }
                <fieldset class="inline-form">
                    <legend>{"Add a price (e.g. for a self-hosted server in an API pane)"}</legend>
                    <label class="field inline"><span>{"Provider id"}</span><input type="text" data-testid="price-add-provider" value={f.add_provider.clone()} oninput={set_input(|f, v| f.add_provider = v)} /></label>
                    <label class="field inline"><span>{"Model"}</span><input type="text" data-testid="price-add-model" value={f.add_model.clone()} oninput={set_input(|f, v| f.add_model = v)} /></label>
                    <label class="field inline"><span>{format!("Input {sym}/1M")}</span><input type="text" inputmode="decimal" data-testid="price-add-input" value={f.add_input.clone()} oninput={set_input(|f, v| f.add_input = v)} /></label>
                    <label class="field inline"><span>{format!("Output {sym}/1M")}</span><input type="text" inputmode="decimal" data-testid="price-add-output" value={f.add_output.clone()} oninput={set_input(|f, v| f.add_output = v)} /></label>
                    <button data-testid="price-add" onclick={on_add_price}>{"Add"}</button>
                    if let Some(err) = &f.add_error { <p class="error small" role="alert">{err.clone()}</p> }
                </fieldset>
                <fieldset class="inline-form">
                    <legend>{"Import LiteLLM or llm-prices JSON"}</legend>
                    <label class="field inline grow"><span>{"From a URL"}</span>
                        <input type="url" data-testid="price-import-url" value={f.import_url.clone()} oninput={set_input(|f, v| f.import_url = v)} />
                    </label>
                    <button data-testid="price-import-fetch" onclick={on_fetch}>{"Fetch"}</button>
                    <label class="field inline"><span>{"Or a file"}</span>
                        <input type="file" accept=".json,application/json" data-testid="price-import-file" onchange={on_file} />
                    </label>
                    <button class="link" onclick={on_reset}>{"Back to the shipped table"}</button>
                    if let Some((ok, msg)) = &f.import_status {
                        <p class={classes!("small", (!ok).then_some("error"))} data-testid="price-import-status" role="status">{msg.clone()}</p>
                    }
                </fieldset>
            </details>

            <fieldset class="projection-inputs">
                <legend>{"Projection"}</legend>
                <label class="field"><span>{format!("Requests per month: {}", format_count(f.volume))}</span>
                    <input type="range" min="0" max={SLIDER_STEPS.to_string()} step="1" data-testid="volume-slider"
                        aria-label="Requests per month (log scale)" value={slider_from_volume(f.volume).to_string()}
                        oninput={set_input(|f, v| f.volume = volume_from_slider(v.parse().unwrap_or(0)))} />
                </label>
                <div class="settings-grid">
                    <label class="field"><span>{"Requests / month"}</span><DraftField inputmode="numeric" testid="volume" value={f.volume.to_string()}
                        oncommit={commit(|f, v| costs::parse_count(v).map(|v| f.volume = v.max(1)).is_some())} /></label>
                    <label class="field"><span>{format!("Input tokens / request ({derived_from}: {})", derived.input_tokens)}</span>
                        <DraftField inputmode="numeric" testid="tokens-in" value={usage.input_tokens.to_string()}
                            oncommit={commit(|f, v| { f.tokens_in = costs::parse_count(v); true })} /></label>
                    <label class="field"><span>{format!("Output tokens / request ({derived_from}: {})", derived.output_tokens)}</span>
                        <DraftField inputmode="numeric" testid="tokens-out" value={usage.output_tokens.to_string()}
                            oncommit={commit(|f, v| { f.tokens_out = costs::parse_count(v); true })} /></label>
                    <label class="field"><span>{"Horizon (months)"}</span><DraftField kind="number" min="1" max="600" testid="horizon" value={f.horizon.to_string()}
                        oncommit={commit(|f, v| { let taken = parse_into(&mut f.horizon, v); f.horizon = f.horizon.clamp(1, 600); taken })} /></label>
                    <label class="field"><span>{"API price change / year (%)"}</span><input type="text" inputmode="decimal" data-testid="price-change" value={f.price_change.clone()}
                        oninput={set_input(|f, v| f.price_change = v)} /></label>
                    <label class="field"><span>{"Applied"}</span>
                        <select data-testid="compounding" onchange={set(|f, e| f.compounding = if select_value(e) == "monthly" { Compounding::Monthly } else { Compounding::Yearly })}>
                            <option value="yearly" selected={f.compounding == Compounding::Yearly}>{"once a year"}</option>
                            <option value="monthly" selected={f.compounding == Compounding::Monthly}>{"every month"}</option>
                        </select></label>
                    <label class="field"><span>{"Volume growth / month (%)"}</span><input type="text" inputmode="decimal" data-testid="growth" value={f.growth.clone()}
                        oninput={set_input(|f, v| f.growth = v)} /></label>
                </div>
                <fieldset class="sub">
                    <legend><label class="check"><input type="checkbox" data-testid="energy-on" checked={f.energy_on} onchange={set(|f, e| f.energy_on = checked(e))} />{" Count the device's energy for in-browser runs"}</label></legend>
                    if f.energy_on {
                        <div class="settings-grid">
                            <label class="field"><span>{"Extra power (W)"}</span><input type="number" min="0" data-testid="energy-watts" value={f.energy_watts.clone()} oninput={set_input(|f, v| f.energy_watts = v)} /></label>
                            <label class="field"><span>{format!("Electricity {sym}/kWh")}</span><input type="text" inputmode="decimal" data-testid="energy-kwh" value={f.energy_kwh.clone()} oninput={set_input(|f, v| f.energy_kwh = v)} /></label>
                            <p class="muted small">{format!("Time per request: {} (the local run's total time).", format::duration_ms(local_ms))}</p>
                        </div>
                    }
                </fieldset>
                <fieldset class="sub">
                    <legend><label class="check"><input type="checkbox" data-testid="server-on" checked={f.server_on} onchange={set(|f, e| f.server_on = checked(e))} />{" Self-hosted GPU server"}</label></legend>
                    if f.server_on {
                        <div class="settings-grid">
                            <label class="field"><span>{"Paid as"}</span>
                                <select data-testid="server-mode" onchange={set(|f, e| f.server_mode = if select_value(e) == "purchase" { ServerMode::Purchase } else { ServerMode::Rental })}>
                                    <option value="rental" selected={f.server_mode == ServerMode::Rental}>{"rented by the hour"}</option>
                                    <option value="purchase" selected={f.server_mode == ServerMode::Purchase}>{"bought hardware"}</option>
                                </select></label>
                            if f.server_mode == ServerMode::Rental {
                                <label class="field"><span>{format!("{sym} per server-hour")}</span><input type="text" inputmode="decimal" data-testid="server-hourly" value={f.server_hourly.clone()} oninput={set_input(|f, v| f.server_hourly = v)} /></label>
                            } else {
                                <label class="field"><span>{format!("{sym} per server")}</span><input type="text" inputmode="decimal" data-testid="server-price" value={f.server_price.clone()} oninput={set_input(|f, v| f.server_price = v)} /></label>
                                <label class="field"><span>{"Amortised over (months)"}</span><input type="number" min="0" data-testid="server-amortisation" value={f.server_amortisation.clone()} oninput={set_input(|f, v| f.server_amortisation = v)} /></label>
                                <label class="field"><span>{"Power (W)"}</span><input type="number" min="0" data-testid="server-watts" value={f.server_watts.clone()} oninput={set_input(|f, v| f.server_watts = v)} /></label>
                                <label class="field"><span>{format!("Electricity {sym}/kWh")}</span><input type="text" inputmode="decimal" data-testid="server-kwh" value={f.server_kwh.clone()} oninput={set_input(|f, v| f.server_kwh = v)} /></label>
                            }
                            <label class="field"><span>{"Utilisation (%)"}</span><input type="number" min="1" max="100" data-testid="server-utilisation" value={f.server_utilisation.clone()} oninput={set_input(|f, v| f.server_utilisation = v)} /></label>
                            <label class="field"><span>{"Throughput (output tok/s, all requests)"}</span><input type="number" min="1" data-testid="server-throughput" value={f.server_throughput.clone()} oninput={set_input(|f, v| f.server_throughput = v)} /></label>
                            <label class="field"><span>{format!("Running cost {sym}/month")}</span><input type="text" inputmode="decimal" data-testid="server-ops" value={f.server_ops.clone()} oninput={set_input(|f, v| f.server_ops = v)} /></label>
                        </div>
                        if let Some(c) = capacity { <p class="muted small">{c}</p> }
                    }
                </fieldset>
            </fieldset>

            <figure class="chart-figure">
                {render_chart(&chart)}
                <figcaption>
                    <ul class="legend" data-testid="chart-legend">{legend}</ul>
                </figcaption>
            </figure>
            if !chart.markers.is_empty() {
                <ul class="break-even" data-testid="break-even">{markers_list}</ul>
            }
            if let Some(line) = break_even_volume { <p class="small" data-testid="break-even-volume">{line}</p> }
            <div class="table-wrap">
                <table class="data" data-testid="cost-table">
                    <thead><tr>
                        <th scope="col">{"Option"}</th><th scope="col">{"Month 1"}</th><th scope="col">{format!("Month {}", f.horizon)}</th>
                        <th scope="col">{format!("Total over {} months", f.horizon)}</th><th scope="col">{"vs cheapest"}</th><th scope="col">{"Servers"}</th>
                    </tr></thead>
                    <tbody>{cost_rows}</tbody>
                </table>
            </div>
            if !problems.is_empty() {
                <ul class="error small" data-testid="projection-problems">{ for problems.iter().map(|p| html! { <li>{p.clone()}</li> }) }</ul>
            }

            <fieldset class="decision-grid">
                <legend>{"Decision grid"}</legend>
                <div class="settings-grid">
                    <label class="field"><span>{"Criticality of errors"}</span>
                        <select data-testid="decision-criticality" onchange={set(|f, e| f.criticality = parse_level(&select_value(e)).unwrap_or(Level::Medium))}>{level_options(f.criticality)}</select></label>
                    <label class="field"><span>{"Volume"}</span>
                        <select data-testid="decision-volume" onchange={set(|f, e| f.volume_axis = parse_level(&select_value(e)))}>
                            <option value="auto" selected={f.volume_axis.is_none()}>{format!("from the projection ({})", auto_volume.as_str())}</option>
                            { for Level::ALL.iter().map(|l| html! { <option value={l.as_str()} selected={f.volume_axis == Some(*l)}>{l.as_str()}</option> }) }
                        </select></label>
                    <label class="field"><span>{"Data sensitivity"}</span>
                        <select data-testid="decision-sensitivity" onchange={set(|f, e| f.sensitivity = parse_level(&select_value(e)).unwrap_or(Level::Medium))}>{level_options(f.sensitivity)}</select></label>
                    <label class="field"><span>{"Task complexity"}</span>
                        <select data-testid="decision-complexity" onchange={set(|f, e| f.complexity = parse_complexity(&select_value(e)))}>
                            <option value="simple" selected={f.complexity == Complexity::Simple}>{"simple (classify, extract, template)"}</option>
                            <option value="moderate" selected={f.complexity == Complexity::Moderate}>{"moderate (summarise, draft)"}</option>
                            <option value="complex" selected={f.complexity == Complexity::Complex}>{"complex (multi-step reasoning)"}</option>
                        </select></label>
                    <label class="field"><span>{"Your verdict on the local answer"}</span>
                        <select data-testid="decision-quality" onchange={set(|f, e| f.quality = parse_quality(&select_value(e)))}>
                            <option value="" selected={f.quality.is_none()}>{"not judged yet"}</option>
                            <option value="acceptable" selected={f.quality == Some(QualityVerdict::Acceptable)}>{"acceptable"}</option>
                            <option value="not_acceptable" selected={f.quality == Some(QualityVerdict::NotAcceptable)}>{"not acceptable"}</option>
                            <option value="unsure" selected={f.quality == Some(QualityVerdict::Unsure)}>{"unsure"}</option>
                        </select>
                        if let (None, Some((v, (ok, not_ok)))) = (f.quality, props.voted) {
                            <span class="muted small" data-testid="decision-quality-votes">{format!("from the chat's votes: {} (local did the job {ok} times, not {not_ok})", match v {
                                QualityVerdict::Acceptable => "acceptable",
                                QualityVerdict::NotAcceptable => "not acceptable",
                                QualityVerdict::Unsure => "unsure",
                            })}</span>
                        }
                        </label>
                </div>
                <div class="decision" data-testid="decision" data-recommendation={rec_id} role="status">
                    <p class="recommendation"><strong>{decision.recommendation.title()}</strong>
                        <span class="muted small">{format!(" · local {} / API {} points", decision.local_score, decision.api_score)}</span></p>
                    <ul data-testid="decision-reasons">{ for decision.reasons.iter().map(|r| html! { <li>{r.text.clone()}</li> }) }</ul>
                </div>
            </fieldset>
        </section>
    }
}

fn rate_text(rate: ExchangeRate) -> String {
    let ppm = rate.usd_per_eur_ppm();
    let mut frac = format!("{:06}", ppm % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{}.{frac}", ppm / 1_000_000)
}

fn format_count(n: u64) -> String {
    panes::format_tokens(Some(panes::Tokens { count: n, estimated: false }))
}
