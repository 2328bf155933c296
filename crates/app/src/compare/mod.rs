//! The comparison and cost views of the page: hosted-API panes beside the local
//! pane, the comparison table and quick diff, the price table, projections and decision grid,
//! and the privacy log. All arithmetic and geometry comes from [`panes`], [`diff`],
//! [`crate::costs`] and `arbitre_pricing`; model and API text is only ever rendered as text nodes.
//!
//! Mount [`WorkbenchProvider`] around the panels so that they share the price table, the
//! currency and the API runs; without it each panel keeps its own.
//!
//! Test hooks (`data-testid`), with `N` the 0-based API pane index:
//! - `compare-panel`; `api-pane-N` (attribute `data-state`: idle/running/done/error),
//!   `api-provider-N` (select), `api-base-N`, `api-model-N`, `api-key-N` (password),
//!   `api-remember-N` (checkbox), `api-output-N` (`<pre>`), `api-error-N`, `api-note-N`,
//!   `api-stats-N` (with `data-cost-picos`, `data-input-tokens`, `data-output-tokens`,
//!   `data-estimated` once finished), `api-remove-N`;
//!   `api-add`, `api-run`, `api-stop`;
//!   `compare-table` (rows `compare-row-local`, `compare-row-N`);
//!   `quick-diff`, `diff-a`, `diff-b` (selects), `diff-stats`, `diff-text`.
//! - `cost-panel`; `currency` (select USD/EUR), `eur-usd-rate`; `price-search`,
//!   `price-table` (rows `price-row` with `data-key="provider/model"`), `price-pick`
//!   (checkbox per row), `price-input`, `price-output` (inputs per row); `price-add-provider`,
//!   `price-add-model`, `price-add-input`, `price-add-output`, `price-add`; `price-import-url`,
//!   `price-import-fetch`, `price-import-file`, `price-import-status`, `price-as-of`;
//!   `volume-slider`, `volume`, `tokens-in`, `tokens-out`, `horizon`, `price-change`,
//!   `compounding`, `growth`; `energy-on`, `energy-watts`, `energy-kwh`; `server-on`,
//!   `server-mode`, `server-hourly`, `server-price`, `server-amortisation`, `server-watts`,
//!   `server-kwh`, `server-utilisation`, `server-throughput`, `server-ops`;
//!   `cost-chart` (SVG), `chart-legend`, `break-even` (list), `break-even-volume`,
//!   `cost-table` (rows `cost-row-I` with `data-total-micros`), `projection-problems`;
//!   `decision-criticality`, `decision-volume`, `decision-sensitivity`,
//!   `decision-complexity`, `decision-quality`, `decision` (with `data-recommendation`),
//!   `decision-reasons`.
//! - `privacy-log` (table), `privacy-row`, `privacy-headline`.
//!
//! Layout: [`panes`] and [`diff`] are pure and tested natively; [`workbench`] (shared state) and
//! [`panel`] (the component) are wasm32 only. The cost panel is [`crate::costs`], the privacy
//! log [`crate::netlog`].

pub mod diff;
#[cfg(target_arch = "wasm32")]
pub mod panel;
pub mod panes;
#[cfg(target_arch = "wasm32")]
pub mod workbench;
