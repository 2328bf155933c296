//! Monthly cost projections over a horizon (24 months by default): cumulative cost curves for
//! hosted APIs, in-browser local inference and a self-hosted GPU server; break-even months
//! between curves; and the volume above which self-hosting beats an API.
//!
//! Conventions:
//! - Month 1 is the first month; curves hold one value per month.
//! - A month is 730 hours (8,760 / 12), i.e. [`SECONDS_PER_MONTH`] seconds.
//! - Requests in month `k` are `requests_per_month × (1 + g)^(k−1)` for a monthly growth `g`,
//!   the multiplier carried in parts per billion and rounded half to even each month; the
//!   request count of each month is then rounded half to even to a whole request.
//! - The API price change scenario applies to API curves only (the dependence risk: the
//!   vendor sets its prices). With [`Compounding::Yearly`] prices step by the annual rate at
//!   months 13, 25, …; with [`Compounding::Monthly`] they move every month by the nominal rate
//!   `annual / 12` (so +12 %/year compounds to about +12.7 % over twelve months).
//! - Everything is integer: each month's cost is computed exactly in pico-units and rounded
//!   half to even once; the cumulative curve is the running sum of the exact monthly costs,
//!   rounded for display. Comparisons (break-even) use the exact values.

use crate::cost::Usage;
use crate::error::{PricingError, Result};
use crate::money::{Currency, ExchangeRate, Money, PICOS_PER_MICRO, div_round_half_even};
use crate::table::PriceEntry;

/// Hours in the accounting month.
pub const HOURS_PER_MONTH: u32 = 730;
/// Seconds in the accounting month (730 h).
pub const SECONDS_PER_MONTH: u64 = 730 * 3600;
/// The horizon the articles argue about.
pub const DEFAULT_HORIZON_MONTHS: u32 = 24;
/// The longest horizon accepted (50 years).
pub const MAX_HORIZON_MONTHS: u32 = 600;

const PPB: i128 = 1_000_000_000;
const BP: i128 = 10_000;

/// How an annual price change is applied month by month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compounding {
    /// The price changes by the full annual rate once a year, at months 13, 25, …
    #[default]
    Yearly,
    /// The price changes every month by `annual / 12` (nominal rate).
    Monthly,
}

/// A scenario for how API prices move over the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PriceChange {
    /// Annual change in basis points: +1000 = +10 % a year, −2000 = −20 % a year. At least
    /// −10000 (prices cannot go below zero).
    pub annual_bp: i32,
    /// How the change is applied.
    pub compounding: Compounding,
}

impl PriceChange {
    /// Prices stay as they are.
    pub const NONE: PriceChange = PriceChange { annual_bp: 0, compounding: Compounding::Yearly };

    /// The price multiplier of each month (parts per billion; month 1 is 1,000,000,000).
    pub fn multipliers_ppb(&self, months: u32) -> Result<Vec<i128>> {
        if self.annual_bp < -10_000 || self.annual_bp > 1_000_000 {
            return Err(PricingError::OutOfRange {
                what: "annual price change",
                reason: format!("must be between -100% and +10000% (got {} bp)", self.annual_bp),
            });
        }
        let a = i128::from(self.annual_bp);
        let mut out = Vec::with_capacity(months as usize);
        let mut m = PPB;
        for k in 1..=months {
            if k > 1 {
                m = match self.compounding {
                    Compounding::Yearly if (k - 1) % 12 == 0 => mul_div(m, BP + a, BP, "a price multiplier")?,
                    Compounding::Yearly => m,
                    Compounding::Monthly => mul_div(m, 12 * BP + a, 12 * BP, "a price multiplier")?,
                };
            }
            out.push(m);
        }
        Ok(out)
    }
}

/// What is being projected: volume and the tokens of a typical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Workload {
    /// Requests in month 1.
    pub requests_per_month: u64,
    /// Tokens of one request (typically those of the run just made).
    pub usage: Usage,
    /// Monthly volume growth in basis points (+500 = +5 % a month); 0 for a flat volume.
    /// Between −10000 and +100000.
    pub monthly_growth_bp: i32,
}

impl Workload {
    /// Requests in each month of the horizon, growth applied (see the module docs).
    pub fn monthly_requests(&self, months: u32) -> Result<Vec<u64>> {
        if self.monthly_growth_bp < -10_000 || self.monthly_growth_bp > 100_000 {
            return Err(PricingError::OutOfRange {
                what: "monthly volume growth",
                reason: format!("must be between -100% and +1000% (got {} bp)", self.monthly_growth_bp),
            });
        }
        let g = i128::from(self.monthly_growth_bp);
        let base = i128::from(self.requests_per_month);
        let mut out = Vec::with_capacity(months as usize);
        let mut m = PPB;
        for k in 1..=months {
            if k > 1 {
                m = mul_div(m, BP + g, BP, "the volume growth")?;
            }
            let v = mul_div(base, m, PPB, "a monthly volume")?;
            out.push(u64::try_from(v).map_err(|_| PricingError::Overflow { what: "a monthly volume" })?);
        }
        Ok(out)
    }
}

/// Settings shared by all curves of one projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Months projected, 1..=[`MAX_HORIZON_MONTHS`].
    pub horizon_months: u32,
    /// Currency the curves are drawn in; prices in another currency are converted first.
    pub currency: Currency,
    /// EUR/USD rate for those conversions.
    pub rate: ExchangeRate,
    /// The API price scenario.
    pub api_price_change: PriceChange,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            horizon_months: DEFAULT_HORIZON_MONTHS,
            currency: Currency::Usd,
            rate: ExchangeRate::DEFAULT,
            api_price_change: PriceChange::NONE,
        }
    }
}

impl Settings {
    fn check(&self) -> Result<()> {
        if self.horizon_months == 0 || self.horizon_months > MAX_HORIZON_MONTHS {
            return Err(PricingError::OutOfRange {
                what: "horizon",
                reason: format!("must be 1 to {MAX_HORIZON_MONTHS} months (got {})", self.horizon_months),
            });
        }
        Ok(())
    }

    fn micros(&self, m: Money) -> i128 {
        i128::from(m.convert(self.currency, self.rate).micros)
    }
}

/// What a curve stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CurveKind {
    /// A hosted API at a price-table entry.
    Api {
        /// Provider of the entry.
        provider: String,
        /// Model id of the entry.
        model: String,
    },
    /// The open model running in the visitor's browser.
    Local,
    /// Open model on self-hosted GPU servers.
    SelfHosted,
}

/// One cost curve over the horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Curve {
    /// Legend label, e.g. "GPT-4o (openai)".
    pub label: String,
    /// What the curve stands for.
    pub kind: CurveKind,
    /// Currency of every amount.
    pub currency: Currency,
    /// Requests in each month.
    pub requests: Vec<u64>,
    /// Cost of each month, rounded half to even.
    pub monthly: Vec<Money>,
    /// Cumulative cost at the end of each month (exact running sum, rounded once).
    pub cumulative: Vec<Money>,
    /// Cumulative cost at the end of each month, exact, in pico-units.
    pub cumulative_picos: Vec<i128>,
    /// Servers in use each month (self-hosted curves only; empty otherwise).
    pub servers: Vec<u32>,
}

impl Curve {
    fn from_monthly_picos(
        label: String,
        kind: CurveKind,
        currency: Currency,
        requests: Vec<u64>,
        monthly_picos: Vec<i128>,
        servers: Vec<u32>,
    ) -> Result<Curve> {
        let mut sum: i128 = 0;
        let mut cumulative_picos = Vec::with_capacity(monthly_picos.len());
        for p in &monthly_picos {
            sum = sum.checked_add(*p).ok_or(PricingError::Overflow { what: "a cumulative cost" })?;
            cumulative_picos.push(sum);
        }
        let money = |p: &i128| -> Result<Money> {
            let micros = i64::try_from(div_round_half_even(*p, PICOS_PER_MICRO))
                .map_err(|_| PricingError::Overflow { what: "an amount beyond 9 trillion" })?;
            Ok(Money::from_micros(micros, currency))
        };
        Ok(Curve {
            label,
            kind,
            currency,
            requests,
            monthly: monthly_picos.iter().map(money).collect::<Result<_>>()?,
            cumulative: cumulative_picos.iter().map(money).collect::<Result<_>>()?,
            cumulative_picos,
            servers,
        })
    }

    /// Total over the horizon (the last cumulative value; zero for an empty curve).
    pub fn total(&self) -> Money {
        self.cumulative.last().copied().unwrap_or(Money::zero(self.currency))
    }

    /// Exact total over the horizon in pico-units.
    pub fn total_picos(&self) -> i128 {
        self.cumulative_picos.last().copied().unwrap_or(0)
    }
}

fn mul_div(a: i128, b: i128, d: i128, what: &'static str) -> Result<i128> {
    a.checked_mul(b).map(|p| div_round_half_even(p, d)).ok_or(PricingError::Overflow { what })
}

fn mul(a: i128, b: i128, what: &'static str) -> Result<i128> {
    a.checked_mul(b).ok_or(PricingError::Overflow { what })
}

/// The cumulative cost curve of a hosted API at `entry`'s price (converted to the settings'
/// currency), with the price scenario applied.
pub fn project_api(entry: &PriceEntry, workload: &Workload, settings: &Settings) -> Result<Curve> {
    settings.check()?;
    let months = settings.horizon_months;
    let prices = entry.token_prices().convert(settings.currency, settings.rate);
    let per_request = prices.cost(&workload.usage)?.picos;
    let requests = workload.monthly_requests(months)?;
    let multipliers = settings.api_price_change.multipliers_ppb(months)?;
    let monthly = requests
        .iter()
        .zip(&multipliers)
        .map(|(&v, &m)| mul_div(mul(i128::from(v), per_request, "an API month")?, m, PPB, "an API month"))
        .collect::<Result<Vec<_>>>()?;
    Curve::from_monthly_picos(
        format!("{} ({})", entry.name, entry.provider),
        CurveKind::Api { provider: entry.provider.clone(), model: entry.model.clone() },
        settings.currency,
        requests,
        monthly,
        Vec::new(),
    )
}

/// Energy drawn by the visitor's device for in-browser inference (optional in the projection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceEnergy {
    /// Extra power drawn while generating, in watts.
    pub watts: u32,
    /// Time one request takes, in milliseconds (the measured total time of the local run).
    pub millis_per_request: u64,
    /// Electricity price per kWh.
    pub price_per_kwh: Money,
}

/// The cumulative cost curve of in-browser local inference: zero marginal cost, plus the
/// device's electricity when `energy` is given (watts × time × price per kWh, per request).
pub fn project_local(energy: Option<&DeviceEnergy>, workload: &Workload, settings: &Settings) -> Result<Curve> {
    settings.check()?;
    let requests = workload.monthly_requests(settings.horizon_months)?;
    // W × ms × (micro per kWh) / 3.6e9 kWh-per-W·ms = micro; × 1e6 picos ⇒ / 3600.
    let per_request_num = match energy {
        Some(e) => mul(
            mul(i128::from(e.watts), i128::from(e.millis_per_request), "device energy")?,
            settings.micros(e.price_per_kwh),
            "device energy",
        )?,
        None => 0,
    };
    let monthly = requests
        .iter()
        .map(|&v| mul_div(i128::from(v), per_request_num, 3600, "a local month"))
        .collect::<Result<Vec<_>>>()?;
    let label = if energy.is_some() { "In-browser (device energy)" } else { "In-browser (no marginal cost)" };
    Curve::from_monthly_picos(label.to_string(), CurveKind::Local, settings.currency, requests, monthly, Vec::new())
}

/// How a self-hosted server is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerCost {
    /// Bought hardware. Servers are bought in the first month they are needed and kept.
    Purchase {
        /// Price of one server.
        price_per_server: Money,
        /// Months over which the price is spread, in equal parts starting the month of
        /// purchase (the remainder of the division goes to the first months, so the parts add
        /// up exactly); 0 charges the whole price in the month of purchase.
        amortisation_months: u32,
        /// Power drawn by one server, in watts; owned servers run around the clock.
        watts: u32,
        /// Electricity price per kWh.
        price_per_kwh: Money,
    },
    /// Rented servers (cloud GPU), billed by the hour; each month rents as many as needed.
    Rental {
        /// Price of one server-hour.
        hourly: Money,
        /// Hours billed per server and month (730 for always-on).
        hours_per_month: u32,
    },
}

/// A self-hosted GPU server setup for the open model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SelfHosted {
    /// Legend label, e.g. "Self-hosted (1× L40S)".
    pub label: String,
    /// How servers are paid for.
    pub cost: ServerCost,
    /// Measured generation throughput of one server, output tokens per second (all
    /// concurrent requests together).
    pub decode_tokens_per_s: u32,
    /// Prompt-processing throughput, input tokens per second; `None` counts output time only.
    pub prefill_tokens_per_s: Option<u32>,
    /// Share of the month a server does useful work, 1..=100 %.
    pub utilisation_pct: u8,
    /// Fixed running cost per month (hosting, maintenance, people); may be zero.
    pub ops_per_month: Money,
}

impl SelfHosted {
    fn check(&self) -> Result<()> {
        let bad = |what, reason: &str| Err(PricingError::OutOfRange { what, reason: reason.to_string() });
        if self.decode_tokens_per_s == 0 {
            return bad("server throughput", "must be above 0 tokens/s");
        }
        if self.prefill_tokens_per_s == Some(0) {
            return bad("server prefill throughput", "must be above 0 tokens/s");
        }
        if self.utilisation_pct == 0 || self.utilisation_pct > 100 {
            return bad("server utilisation", "must be 1 to 100 %");
        }
        if let ServerCost::Rental { hours_per_month, .. } = self.cost
            && (hours_per_month == 0 || hours_per_month > 744)
        {
            return bad("rented hours per month", "must be 1 to 744");
        }
        Ok(())
    }

    /// Servers needed for `requests` requests of `usage` in one month: the busy time
    /// (output tokens / decode speed + input tokens / prefill speed, per request) divided by
    /// the useful time of one server (a month × utilisation), rounded up; at least one.
    pub fn servers_needed(&self, requests: u64, usage: &Usage) -> Result<u32> {
        self.check()?;
        let d = i128::from(self.decode_tokens_per_s);
        let out = i128::from(usage.output_tokens);
        // seconds per request = num / den
        let (num, den) = match self.prefill_tokens_per_s {
            Some(p) => {
                let p = i128::from(p);
                let input = i128::from(usage.total_input());
                (mul(out, p, "servers")?.checked_add(mul(input, d, "servers")?), mul(d, p, "servers")?)
            }
            None => (Some(out), d),
        };
        let num = num.ok_or(PricingError::Overflow { what: "servers" })?;
        let need = mul(mul(i128::from(requests), num, "servers")?, 100, "servers")?;
        let capacity =
            mul(mul(den, i128::from(SECONDS_PER_MONTH), "servers")?, i128::from(self.utilisation_pct), "servers")?;
        let n = (need + capacity - 1) / capacity; // ceil, both non-negative
        u32::try_from(n.max(1)).map_err(|_| PricingError::Overflow { what: "servers" })
    }
}

/// The cumulative cost curve of self-hosting: servers sized to each month's volume, hardware
/// (bought or rented), electricity for owned servers, and the fixed monthly running cost.
pub fn project_self_hosted(server: &SelfHosted, workload: &Workload, settings: &Settings) -> Result<Curve> {
    settings.check()?;
    server.check()?;
    let months = settings.horizon_months as usize;
    let requests = workload.monthly_requests(settings.horizon_months)?;
    let needed = requests.iter().map(|&v| server.servers_needed(v, &workload.usage)).collect::<Result<Vec<u32>>>()?;
    let ops = mul(settings.micros(server.ops_per_month), PICOS_PER_MICRO, "running cost")?;
    let mut monthly = vec![ops; months];
    let servers = match server.cost {
        ServerCost::Rental { hourly, hours_per_month } => {
            let per_server =
                mul(mul(settings.micros(hourly), i128::from(hours_per_month), "rent")?, PICOS_PER_MICRO, "rent")?;
            for (cost, &n) in monthly.iter_mut().zip(&needed) {
                *cost += mul(per_server, i128::from(n), "rent")?;
            }
            needed
        }
        ServerCost::Purchase { price_per_server, amortisation_months, watts, price_per_kwh } => {
            let price = mul(settings.micros(price_per_server), PICOS_PER_MICRO, "hardware")?;
            // W × 730 h = Wh; / 1000 → kWh; × micro per kWh → micro; × 1e6 → picos.
            let power_per_server = mul(
                mul(i128::from(watts), i128::from(HOURS_PER_MONTH), "power")?,
                mul(settings.micros(price_per_kwh), 1000, "power")?,
                "power",
            )?;
            let mut owned: u32 = 0;
            let mut owned_by_month = Vec::with_capacity(months);
            for k in 0..months {
                let bought = needed[k].saturating_sub(owned);
                owned = owned.max(needed[k]);
                owned_by_month.push(owned);
                monthly[k] += mul(power_per_server, i128::from(owned), "power")?;
                if bought == 0 {
                    continue;
                }
                let spend = mul(price, i128::from(bought), "hardware")?;
                if amortisation_months == 0 {
                    monthly[k] += spend;
                } else {
                    let parts = i128::from(amortisation_months);
                    let (share, rem) = (spend / parts, spend % parts);
                    for (t, cost) in monthly.iter_mut().skip(k).take(amortisation_months as usize).enumerate() {
                        *cost += share + i128::from(i128::try_from(t).unwrap_or(i128::MAX) < rem);
                    }
                }
            }
            owned_by_month
        }
    };
    Curve::from_monthly_picos(
        server.label.clone(),
        CurveKind::SelfHosted,
        settings.currency,
        requests,
        monthly,
        servers,
    )
}

/// The first month (1-based) at the end of which curve `a`'s cumulative cost is no more than
/// `b`'s, compared exactly; `None` if that never happens within the horizon (or the curves are
/// of different currencies or lengths).
pub fn break_even_month(a: &Curve, b: &Curve) -> Option<u32> {
    if a.currency != b.currency || a.cumulative_picos.len() != b.cumulative_picos.len() {
        return None;
    }
    a.cumulative_picos.iter().zip(&b.cumulative_picos).position(|(x, y)| x <= y).map(|i| i as u32 + 1)
}

/// Every month (1-based) at which the cheaper of the two curves changes: the months where
/// `a ≤ b` starts or stops holding, compared with the month before (month 1 counts when `a`
/// starts out no more expensive). Empty for curves of different currencies or lengths.
pub fn crossings(a: &Curve, b: &Curve) -> Vec<u32> {
    if a.currency != b.currency || a.cumulative_picos.len() != b.cumulative_picos.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut prev = false;
    for (i, (x, y)) in a.cumulative_picos.iter().zip(&b.cumulative_picos).enumerate() {
        let now = x <= y;
        if now != prev {
            out.push(i as u32 + 1);
        }
        prev = now;
    }
    out
}

/// The monthly volume (requests in month 1, growth as in `workload`) above which
/// self-hosting costs no more than the API over the whole horizon.
///
/// Solved by bisection on whole request counts in `[0, max_requests_per_month]`. The answer
/// `v` satisfies: at `v` requests self-hosting's total is ≤ the API's, at `v − 1` it is not.
/// `Some(0)` if self-hosting is never more expensive (e.g. free servers); `None` if even at
/// the maximum the API is cheaper. Self-hosting's cost is a step function of volume (whole
/// servers), so just above a volume where another server is needed the API can briefly be
/// cheaper again; check a chosen volume with [`project_self_hosted`].
pub fn self_hosting_break_even_volume(
    api: &PriceEntry,
    server: &SelfHosted,
    workload: &Workload,
    settings: &Settings,
    max_requests_per_month: u64,
) -> Result<Option<u64>> {
    let wins = |v: u64| -> Result<bool> {
        let w = Workload { requests_per_month: v, ..*workload };
        Ok(project_self_hosted(server, &w, settings)?.total_picos() <= project_api(api, &w, settings)?.total_picos())
    };
    if wins(0)? {
        return Ok(Some(0));
    }
    if !wins(max_requests_per_month)? {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0u64, max_requests_per_month); // !wins(lo), wins(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wins(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::PricePerMTok;

    fn entry(input: &str, output: &str) -> PriceEntry {
        PriceEntry {
            provider: "vendor".into(),
            model: "m".into(),
            name: "Model".into(),
            currency: Currency::Usd,
            input: PricePerMTok::parse(input).expect("input"),
            output: PricePerMTok::parse(output).expect("output"),
            cached_input: None,
            as_of: "2026-11-23".into(),
            effective_from: None,
            source: "test".into(),
            source_url: None,
            history: vec![],
        }
    }

    fn usd(text: &str) -> Money {
        Money::parse(text, Currency::Usd).expect("amount")
    }

    fn workload(requests: u64) -> Workload {
        Workload {
            requests_per_month: requests,
            usage: Usage { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 500 },
            monthly_growth_bp: 0,
        }
    }

    #[test]
    fn api_curve_flat() {
        // 1000 in × $2/M + 500 out × $10/M = $0.002 + $0.005 = $0.007 per request.
        let c = project_api(&entry("2", "10"), &workload(100_000), &Settings::default()).expect("curve");
        assert_eq!(c.monthly.len(), 24);
        assert_eq!(c.monthly[0], usd("700"));
        assert_eq!(c.cumulative[23], usd("16800"));
        assert_eq!(c.label, "Model (vendor)");
    }

    #[test]
    fn api_curve_in_euros() {
        let settings = Settings {
            currency: Currency::Eur,
            rate: ExchangeRate::parse("1.25").expect("rate"),
            ..Settings::default()
        };
        let c = project_api(&entry("2", "10"), &workload(100_000), &settings).expect("curve");
        // $2 → 1.6 €, $10 → 8 € per M: 1000 × 1.6e-6 + 500 × 8e-6 = 0.0056 € × 100k = 560 €.
        assert_eq!(c.monthly[0], Money::parse("560", Currency::Eur).expect("eur"));
    }

    #[test]
    fn price_change_yearly_and_monthly() {
        let yearly = PriceChange { annual_bp: 1000, compounding: Compounding::Yearly };
        let m = yearly.multipliers_ppb(25).expect("multipliers");
        assert_eq!(m[0], PPB);
        assert_eq!(m[11], PPB);
        assert_eq!(m[12], 1_100_000_000);
        assert_eq!(m[23], 1_100_000_000);
        assert_eq!(m[24], 1_210_000_000);
        let monthly = PriceChange { annual_bp: 1200, compounding: Compounding::Monthly };
        let m = monthly.multipliers_ppb(13).expect("multipliers");
        assert_eq!(m[1], 1_010_000_000);
        // 1.01^12 = 1.12682503...
        assert!((m[12] - 1_126_825_030).abs() <= 12, "{}", m[12]);
        let s = Settings { api_price_change: yearly, ..Settings::default() };
        let c = project_api(&entry("2", "10"), &workload(100_000), &s).expect("curve");
        assert_eq!(c.monthly[12], usd("770"));
        assert_eq!(c.total(), usd("17640")); // 12 × 700 + 12 × 770
        assert!(PriceChange { annual_bp: -10_001, ..yearly }.multipliers_ppb(3).is_err());
    }

    #[test]
    fn growth_rounds_each_month() {
        let w = Workload { monthly_growth_bp: 1000, ..workload(1000) };
        let v = w.monthly_requests(4).expect("volumes");
        assert_eq!(v, vec![1000, 1100, 1210, 1331]);
        let w = Workload { monthly_growth_bp: -5000, ..workload(3) };
        assert_eq!(w.monthly_requests(3).expect("volumes"), vec![3, 2, 1]); // 1.5 → 2, 0.75 → 1
        assert!(Workload { monthly_growth_bp: -10_001, ..w }.monthly_requests(2).is_err());
    }

    #[test]
    fn local_curve() {
        let zero = project_local(None, &workload(1_000_000), &Settings::default()).expect("local");
        assert_eq!(zero.total(), Money::zero(Currency::Usd));
        // 30 W × 2 s = 60 J = 1/60,000 kWh; at $0.30/kWh = $0.000005 per request; 1M → $5.
        let e = DeviceEnergy { watts: 30, millis_per_request: 2000, price_per_kwh: usd("0.30") };
        let c = project_local(Some(&e), &workload(1_000_000), &Settings::default()).expect("local");
        assert_eq!(c.monthly[0], usd("5"));
        assert_eq!(c.cumulative[23], usd("120"));
    }

    fn rented(hourly: &str) -> SelfHosted {
        SelfHosted {
            label: "Rented GPU".into(),
            cost: ServerCost::Rental { hourly: usd(hourly), hours_per_month: HOURS_PER_MONTH },
            decode_tokens_per_s: 1000,
            prefill_tokens_per_s: None,
            utilisation_pct: 50,
            ops_per_month: Money::zero(Currency::Usd),
        }
    }

    #[test]
    fn servers_needed() {
        let s = rented("1");
        let u = Usage { input_tokens: 0, cached_input_tokens: 0, output_tokens: 500 };
        // One server at 50 %: 1000 tok/s × 2,628,000 s × 0.5 = 1.314e9 tokens = 2,628,000 requests.
        assert_eq!(s.servers_needed(0, &u), Ok(1));
        assert_eq!(s.servers_needed(2_628_000, &u), Ok(1));
        assert_eq!(s.servers_needed(2_628_001, &u), Ok(2));
        // With prefill at 10k tok/s, 1000 input tokens add 0.1 s to 0.5 s per request.
        let s = SelfHosted { prefill_tokens_per_s: Some(10_000), ..s };
        let u = Usage { input_tokens: 1000, ..u };
        assert_eq!(s.servers_needed(2_190_000, &u), Ok(1));
        assert_eq!(s.servers_needed(2_190_001, &u), Ok(2));
        assert!(SelfHosted { utilisation_pct: 0, ..s.clone() }.servers_needed(1, &u).is_err());
        assert!(SelfHosted { decode_tokens_per_s: 0, ..s }.servers_needed(1, &u).is_err());
    }

    #[test]
    fn rental_curve() {
        let s = SelfHosted { ops_per_month: usd("100"), ..rented("2") };
        let c = project_self_hosted(&s, &workload(10_000), &Settings::default()).expect("curve");
        // one server: 730 h × $2 = $1460 + $100 ops
        assert_eq!(c.monthly[0], usd("1560"));
        assert_eq!(c.servers, vec![1; 24]);
        let c = project_self_hosted(&s, &workload(6_000_000), &Settings::default()).expect("curve");
        assert_eq!(c.servers[0], 3);
        assert_eq!(c.monthly[0], usd("4480"));
    }

    #[test]
    fn purchase_curve_upfront_and_amortised() {
        let buy = |months| SelfHosted {
            cost: ServerCost::Purchase {
                price_per_server: usd("10000"),
                amortisation_months: months,
                watts: 500,
                price_per_kwh: usd("0.20"),
            },
            ..rented("0")
        };
        // power: 500 W × 730 h = 365 kWh × $0.20 = $73 per month
        let up = project_self_hosted(&buy(0), &workload(1000), &Settings::default()).expect("curve");
        assert_eq!(up.monthly[0], usd("10073"));
        assert_eq!(up.monthly[1], usd("73"));
        let am = project_self_hosted(&buy(3), &workload(1000), &Settings::default()).expect("curve");
        // 10000 / 3 = 3333.333333…: exact parts in picos, the remainder on the first month.
        assert_eq!(am.monthly[0], usd("3406.333333"));
        assert_eq!(am.monthly[3], usd("73"));
        assert_eq!(am.total(), up.total());
        // Growing volume buys a second server when needed and keeps it.
        let w = Workload { monthly_growth_bp: 10_000, ..workload(1_000_000) }; // doubles monthly
        let g = project_self_hosted(&buy(0), &w, &Settings::default()).expect("curve");
        assert_eq!(&g.servers[..4], &[1, 1, 2, 4]);
        assert_eq!(g.monthly[2], usd("10146"));
    }

    #[test]
    fn break_even_between_self_hosted_and_api() {
        let server = SelfHosted {
            cost: ServerCost::Purchase {
                price_per_server: usd("20000"),
                amortisation_months: 0,
                watts: 0,
                price_per_kwh: usd("0"),
            },
            ..rented("0")
        };
        let api = project_api(&entry("2", "10"), &workload(1_000_000), &Settings::default()).expect("api");
        // API: $7000 a month; self-hosting: $20000 in month 1 then nothing.
        let sh = project_self_hosted(&server, &workload(1_000_000), &Settings::default()).expect("sh");
        assert_eq!(break_even_month(&sh, &api), Some(3)); // 20000 vs 7000, 14000, 21000
        assert_eq!(break_even_month(&api, &sh), Some(1));
        assert_eq!(crossings(&sh, &api), vec![3]);
        assert_eq!(crossings(&api, &sh), vec![1, 3]);
        let local = project_local(None, &workload(1_000_000), &Settings::default()).expect("local");
        assert_eq!(break_even_month(&local, &api), Some(1));
        assert_eq!(break_even_month(&api, &local), None);
    }

    #[test]
    fn volume_threshold() {
        // Rent one server for $1/h = $730/month, 24 months = $17520. API: $0.007 per request,
        // 24 months. Self-hosting wins from 17520 / 24 / 0.007 = 104,285.7 → 104,286 requests.
        let s = rented("1");
        let e = entry("2", "10");
        let v = self_hosting_break_even_volume(&e, &s, &workload(0), &Settings::default(), 1_000_000).expect("solve");
        assert_eq!(v, Some(104_286));
        // Capped below the answer: none.
        let none = self_hosting_break_even_volume(&e, &s, &workload(0), &Settings::default(), 100_000).expect("solve");
        assert_eq!(none, None);
        // A free server always wins.
        let free =
            self_hosting_break_even_volume(&e, &rented("0"), &workload(0), &Settings::default(), 10).expect("solve");
        assert_eq!(free, Some(0));
    }

    #[test]
    fn bad_settings() {
        let s = Settings { horizon_months: 0, ..Settings::default() };
        assert!(project_api(&entry("1", "1"), &workload(1), &s).is_err());
        let s = Settings { horizon_months: MAX_HORIZON_MONTHS + 1, ..Settings::default() };
        assert!(project_local(None, &workload(1), &s).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_workload() -> impl Strategy<Value = Workload> {
            (0u64..10_000_000, 0u64..20_000, 0u64..20_000, 0u64..5_000, -2000i32..1500).prop_map(|(r, i, c, o, g)| {
                Workload {
                    requests_per_month: r,
                    usage: Usage { input_tokens: i, cached_input_tokens: c, output_tokens: o },
                    monthly_growth_bp: g,
                }
            })
        }

        fn any_settings() -> impl Strategy<Value = Settings> {
            (1u32..60, any::<bool>(), -5000i32..5000, any::<bool>()).prop_map(|(h, eur, a, monthly)| Settings {
                horizon_months: h,
                currency: if eur { Currency::Eur } else { Currency::Usd },
                rate: ExchangeRate::DEFAULT,
                api_price_change: PriceChange {
                    annual_bp: a,
                    compounding: if monthly { Compounding::Monthly } else { Compounding::Yearly },
                },
            })
        }

        fn any_server() -> impl Strategy<Value = SelfHosted> {
            (0i64..5_000_000, 0u32..36, 1u32..5000, proptest::option::of(1u32..50_000), 1u8..=100, any::<bool>())
                .prop_map(|(price, am, tps, pre, util, rent)| SelfHosted {
                    label: "s".into(),
                    cost: if rent {
                        ServerCost::Rental { hourly: Money::from_micros(price, Currency::Usd), hours_per_month: 730 }
                    } else {
                        ServerCost::Purchase {
                            price_per_server: Money::from_micros(price * 10_000, Currency::Usd),
                            amortisation_months: am,
                            watts: 400,
                            price_per_kwh: Money::from_micros(250_000, Currency::Eur),
                        }
                    },
                    decode_tokens_per_s: tps,
                    prefill_tokens_per_s: pre,
                    utilisation_pct: util,
                    ops_per_month: Money::from_micros(price, Currency::Usd),
                })
        }

        /// Unwraps a projection, turning an overflow on absurd random inputs into a skipped case.
        fn ok(r: Result<Curve>) -> std::result::Result<Curve, TestCaseError> {
            match r {
                Ok(c) => Ok(c),
                Err(PricingError::Overflow { .. }) => Err(TestCaseError::reject("overflow")),
                Err(e) => Err(TestCaseError::fail(e.to_string())),
            }
        }

        fn non_decreasing(c: &Curve) -> bool {
            c.cumulative_picos.windows(2).all(|w| w[0] <= w[1])
                && c.cumulative.windows(2).all(|w| w[0].micros <= w[1].micros)
        }

        proptest! {
            #[test]
            fn cumulative_never_decreases(w in any_workload(), s in any_settings(), server in any_server(),
                                          i in 0i64..100_000_000, o in 0i64..100_000_000) {
                let e = PriceEntry { input: PricePerMTok { micros: i }, output: PricePerMTok { micros: o }, ..entry("1", "1") };
                let api = ok(project_api(&e, &w, &s))?;
                prop_assert!(non_decreasing(&api));
                prop_assert_eq!(api.cumulative.len(), s.horizon_months as usize);
                let sh = ok(project_self_hosted(&server, &w, &s))?;
                prop_assert!(non_decreasing(&sh));
                let energy = DeviceEnergy { watts: 25, millis_per_request: 1500, price_per_kwh: Money::from_micros(300_000, Currency::Eur) };
                let local = ok(project_local(Some(&energy), &w, &s))?;
                prop_assert!(non_decreasing(&local));
                // the cumulative curve is the running sum of the monthly costs, to within the
                // rounding of each month
                let monthly_sum: i128 = api.monthly.iter().map(|m| i128::from(m.micros)).sum();
                prop_assert!((monthly_sum - i128::from(api.total().micros)).abs() <= i128::from(s.horizon_months));
            }

            #[test]
            fn break_even_is_consistent(w in any_workload(), s in any_settings(), server in any_server(),
                                        i in 0i64..100_000_000, o in 0i64..100_000_000) {
                let e = PriceEntry { input: PricePerMTok { micros: i }, output: PricePerMTok { micros: o }, ..entry("1", "1") };
                let api = ok(project_api(&e, &w, &s))?;
                let sh = ok(project_self_hosted(&server, &w, &s))?;
                match break_even_month(&sh, &api) {
                    Some(m) => {
                        let k = m as usize - 1;
                        prop_assert!(sh.cumulative_picos[k] <= api.cumulative_picos[k]);
                        for j in 0..k { prop_assert!(sh.cumulative_picos[j] > api.cumulative_picos[j]); }
                        prop_assert_eq!(crossings(&sh, &api).first().copied(), Some(m));
                    }
                    None => {
                        for j in 0..sh.cumulative_picos.len() { prop_assert!(sh.cumulative_picos[j] > api.cumulative_picos[j]); }
                        prop_assert!(crossings(&sh, &api).is_empty());
                    }
                }
            }

            #[test]
            fn volume_threshold_is_a_transition(server in any_server(), i in 1i64..20_000_000, o in 1i64..60_000_000,
                                                w in any_workload(), max in 1u64..50_000_000) {
                let s = Settings { horizon_months: 24, ..Settings::default() };
                let e = PriceEntry { input: PricePerMTok { micros: i }, output: PricePerMTok { micros: o }, ..entry("1", "1") };
                let total = |v: u64| {
                    let w = Workload { requests_per_month: v, ..w };
                    (project_self_hosted(&server, &w, &s).expect("sh").total_picos(), project_api(&e, &w, &s).expect("api").total_picos())
                };
                match self_hosting_break_even_volume(&e, &server, &w, &s, max).expect("solve") {
                    Some(0) => { let (a, b) = total(0); prop_assert!(a <= b); }
                    Some(v) => {
                        prop_assert!(v <= max);
                        let (a, b) = total(v);
                        prop_assert!(a <= b);
                        let (a, b) = total(v - 1);
                        prop_assert!(a > b);
                    }
                    None => { let (a, b) = total(max); prop_assert!(a > b); }
                }
            }
        }
    }
}
