//! Exact money: currencies, integer micro-units, exact sub-micro costs, the EUR/USD rate and
//! exact decimal parsing.
//!
//! Rounding rule, used everywhere in this crate: **round half to even** (banker's rounding)
//! on the exact rational value, done once at the point a value is narrowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{PricingError, Result};

/// Micro-units in one currency unit (1 USD = 1,000,000 micro-USD).
pub const MICROS_PER_UNIT: i64 = 1_000_000;
/// Pico-units in one micro-unit: exact costs are kept in pico-units (1e-12 of a unit), because
/// tokens × (micro-units per million tokens) is exactly an integer number of pico-units.
pub const PICOS_PER_MICRO: i128 = 1_000_000;

/// A currency the page can show amounts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    /// United States dollar.
    #[serde(rename = "USD")]
    Usd,
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    /// ISO 4217 code: "USD" or "EUR".
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
        }
    }

    /// Symbol: "$" or "€".
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Usd => "$",
            Currency::Eur => "€",
        }
    }

    /// Parses "USD"/"EUR" (any case) or the symbols "$"/"€".
    pub fn parse(text: &str) -> Result<Currency> {
        match text.trim().to_ascii_uppercase().as_str() {
            "USD" | "$" => Ok(Currency::Usd),
            "EUR" | "€" => Ok(Currency::Eur),
            _ => Err(PricingError::UnknownCurrency { code: text.to_string() }),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Divides `n` by `d` (which must be positive) rounding half to even.
pub(crate) fn div_round_half_even(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d); // 0 <= r < d, n = q*d + r
    // Compare 2r with d without overflow: r < d, so r and d - r are both in range.
    let rest = d - r;
    if r > rest || (r == rest && q.rem_euclid(2) == 1) { q + 1 } else { q }
}

/// Parses a decimal number (optional sign, digits, optional fraction, optional exponent such
/// as `2.5e-6`) and returns `value × 10^scale` rounded half to even, exactly: no float is
/// involved.
pub fn parse_scaled(text: &str, scale: u32) -> Result<i128> {
    let bad = |reason| PricingError::BadDecimal { text: text.to_string(), reason };
    let s = text.trim();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => {
            let exp: i64 = s[i + 1..].parse().map_err(|_| bad("bad exponent"))?;
            (&s[..i], exp)
        }
        None => (s, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad("no digits"));
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("unexpected character"));
    }
    if exponent.abs() > 1000 {
        return Err(bad("exponent out of range"));
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    // value = digits × 10^(exponent - frac_len); scaled = digits × 10^shift
    let shift = exponent - frac_part.len() as i64 + i64::from(scale);
    let overflow = || PricingError::Overflow { what: "a decimal amount" };
    let magnitude: i128 = if digits.is_empty() {
        0
    } else if shift >= 0 {
        let base: i128 = digits.parse().map_err(|_| overflow())?;
        let factor = 10i128.checked_pow(u32::try_from(shift).map_err(|_| overflow())?);
        factor.and_then(|f| base.checked_mul(f)).ok_or_else(overflow)?
    } else {
        let drop = usize::try_from(-shift).map_err(|_| overflow())?;
        if drop > digits.len() {
            0 // value < 0.1 after scaling: rounds to zero
        } else {
            let (kept, dropped) = digits.split_at(digits.len() - drop);
            let kept: i128 = if kept.is_empty() { 0 } else { kept.parse().map_err(|_| overflow())? };
            let first = dropped.as_bytes().first().copied().unwrap_or(b'0');
            let rest_zero = dropped.bytes().skip(1).all(|b| b == b'0');
            let up = first > b'5' || (first == b'5' && (!rest_zero || kept % 2 == 1));
            if up { kept + 1 } else { kept }
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// Converts a JSON float to `value × 10^scale`, exactly as the shortest decimal that round
/// trips to the same float (what the file said), rounded half to even.
pub(crate) fn f64_to_scaled(value: f64, scale: u32) -> Result<i128> {
    if !value.is_finite() {
        return Err(PricingError::BadDecimal { text: value.to_string(), reason: "not a finite number" });
    }
    // Rust's Display for f64 prints the shortest decimal that round-trips, without exponent.
    parse_scaled(&value.to_string(), scale)
}

/// An amount of money in whole micro-units (1e-6 of a dollar or euro).
///
/// This is what the page shows. Costs of single requests are not whole micro-units in
/// general; see [`ExactCost`] for those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in micro-units; may be negative (a saving).
    pub micros: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

impl Money {
    /// An amount from micro-units.
    pub const fn from_micros(micros: i64, currency: Currency) -> Money {
        Money { micros, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money { micros: 0, currency }
    }

    /// Parses a decimal amount such as "0.15" or "1234.5" (units, not micro-units), rounding
    /// half to even to the micro-unit.
    pub fn parse(text: &str, currency: Currency) -> Result<Money> {
        let micros = parse_scaled(text, 6)?;
        let micros = i64::try_from(micros).map_err(|_| PricingError::Overflow { what: "an amount of money" })?;
        Ok(Money { micros, currency })
    }

    /// Sum of two amounts in the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        if self.currency != other.currency {
            return Err(PricingError::CurrencyMismatch { left: self.currency.code(), right: other.currency.code() });
        }
        let micros = self.micros.checked_add(other.micros).ok_or(PricingError::Overflow { what: "a sum" })?;
        Ok(Money { micros, currency: self.currency })
    }

    /// The amount in `to`, converted at `rate` (half-even to the micro-unit). Saturates at the
    /// `i64` range (amounts beyond nine trillion units).
    pub fn convert(self, to: Currency, rate: ExchangeRate) -> Money {
        Money { micros: clamp_i64(rate.convert_scaled(i128::from(self.micros), self.currency, to)), currency: to }
    }

    /// The amount in units as a float, for drawing charts only (never for arithmetic).
    pub fn as_f64(self) -> f64 {
        self.micros as f64 / MICROS_PER_UNIT as f64
    }

    /// Formats with exactly `decimals` decimals (0..=6), rounding half to even, with thousands
    /// separators: "$1,234.56", "1,234.56 €".
    pub fn format_fixed(self, decimals: u32) -> String {
        let decimals = decimals.min(6);
        let step = 10i128.pow(6 - decimals);
        let rounded = div_round_half_even(i128::from(self.micros), step);
        let negative = rounded < 0;
        let abs = rounded.unsigned_abs();
        let unit = 10u128.pow(decimals);
        let whole = group_thousands(abs / unit);
        let number =
            if decimals == 0 { whole } else { format!("{whole}.{:0width$}", abs % unit, width = decimals as usize) };
        let sign = if negative { "-" } else { "" };
        match self.currency {
            Currency::Usd => format!("{sign}${number}"),
            Currency::Eur => format!("{sign}{number} €"),
        }
    }
}

impl fmt::Display for Money {
    /// Two decimals from one unit up ("$1,234.56"); below one unit, up to six decimals with
    /// trailing zeros removed but at least two kept ("$0.50", "$0.000123", "0.0025 €").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.micros.unsigned_abs() >= MICROS_PER_UNIT as u64 || self.micros == 0 {
            return f.write_str(&self.format_fixed(2));
        }
        let mut decimals = 6;
        while decimals > 2 && self.micros % 10i64.pow(7 - decimals) == 0 {
            decimals -= 1;
        }
        f.write_str(&self.format_fixed(decimals))
    }
}

/// `n` with commas between groups of three digits (`1,234,567`).
pub fn group_thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// An exact cost in pico-units (1e-12 of a currency unit): what one request costs before any
/// rounding. Narrow it with [`ExactCost::to_money`] (half to even) only to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExactCost {
    /// Amount in pico-units.
    pub picos: i128,
    /// Currency of the amount.
    pub currency: Currency,
}

impl ExactCost {
    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> ExactCost {
        ExactCost { picos: 0, currency }
    }

    /// Rounded to whole micro-units, half to even (saturating beyond nine trillion units).
    pub fn to_money(self) -> Money {
        Money { micros: clamp_i64(div_round_half_even(self.picos, PICOS_PER_MICRO)), currency: self.currency }
    }

    /// Sum of two exact costs in the same currency.
    pub fn checked_add(self, other: ExactCost) -> Result<ExactCost> {
        if self.currency != other.currency {
            return Err(PricingError::CurrencyMismatch { left: self.currency.code(), right: other.currency.code() });
        }
        let picos = self.picos.checked_add(other.picos).ok_or(PricingError::Overflow { what: "a sum" })?;
        Ok(ExactCost { picos, currency: self.currency })
    }

    /// The cost of `n` such requests, exactly.
    pub fn times(self, n: u64) -> Result<ExactCost> {
        let picos = self.picos.checked_mul(i128::from(n)).ok_or(PricingError::Overflow { what: "a product" })?;
        Ok(ExactCost { picos, currency: self.currency })
    }
}

impl fmt::Display for ExactCost {
    /// Shown as the rounded [`Money`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_money().fmt(f)
    }
}

/// The EUR/USD exchange rate as quoted on markets: how many US dollars one euro buys, stored
/// exactly in parts per million (1.16 → 1,160,000). Editable by the visitor.
///
/// Conversions round half to even to the target scale. For rates between 1/3 and 3, a
/// USD → EUR → USD (or EUR → USD → EUR) round trip of micro-units is within one micro-unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExchangeRate {
    usd_per_eur_ppm: i64,
}

impl ExchangeRate {
    /// The rate the page starts with: 1 EUR = 1.16 USD, an approximate late-2025 market level.
    /// Not a live quote; the visitor edits it.
    pub const DEFAULT: ExchangeRate = ExchangeRate { usd_per_eur_ppm: 1_160_000 };

    /// A rate from US dollars per euro in parts per million; must be positive and at most
    /// 1,000 USD per EUR.
    pub fn from_ppm(usd_per_eur_ppm: i64) -> Result<ExchangeRate> {
        if usd_per_eur_ppm <= 0 || usd_per_eur_ppm > 1_000_000_000 {
            return Err(PricingError::OutOfRange {
                what: "EUR/USD rate",
                reason: format!("must be above 0 and at most 1000 USD per EUR (got {usd_per_eur_ppm} ppm)"),
            });
        }
        Ok(ExchangeRate { usd_per_eur_ppm })
    }

    /// Parses a rate typed as a decimal, e.g. "1.0850" (USD per EUR), half-even to the ppm.
    pub fn parse(text: &str) -> Result<ExchangeRate> {
        let ppm = parse_scaled(text, 6)?;
        let ppm = i64::try_from(ppm).map_err(|_| PricingError::OutOfRange {
            what: "EUR/USD rate",
            reason: format!("{text} is far too large"),
        })?;
        ExchangeRate::from_ppm(ppm)
    }

    /// US dollars per euro, in parts per million.
    pub fn usd_per_eur_ppm(self) -> i64 {
        self.usd_per_eur_ppm
    }

    /// Converts an integer amount at any scale (micro-units, pico-units, micro-units per
    /// million tokens) from `from` to `to`, rounding half to even.
    pub fn convert_scaled(self, amount: i128, from: Currency, to: Currency) -> i128 {
        let rate = i128::from(self.usd_per_eur_ppm);
        match (from, to) {
            (Currency::Usd, Currency::Usd) | (Currency::Eur, Currency::Eur) => amount,
            (Currency::Eur, Currency::Usd) => mul_div_half_even(amount, rate, 1_000_000),
            (Currency::Usd, Currency::Eur) => mul_div_half_even(amount, 1_000_000, rate),
        }
    }
}

impl Default for ExchangeRate {
    fn default() -> Self {
        ExchangeRate::DEFAULT
    }
}

impl fmt::Display for ExchangeRate {
    /// "1 EUR = 1.16 USD" style, with up to six decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.usd_per_eur_ppm / 1_000_000;
        let mut frac = format!("{:06}", self.usd_per_eur_ppm % 1_000_000);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "1 EUR = {whole}.{frac} USD")
    }
}

/// `a × b / d` rounded half to even, d > 0; saturates instead of overflowing (only reachable
/// with amounts beyond 10^20 units).
pub(crate) fn mul_div_half_even(a: i128, b: i128, d: i128) -> i128 {
    match a.checked_mul(b) {
        Some(p) => div_round_half_even(p, d),
        None => {
            // Split a = q*d + r so that a*b/d = q*b + r*b/d.
            let q = a.div_euclid(d);
            let r = a.rem_euclid(d);
            let whole = q.saturating_mul(b);
            whole.saturating_add(div_round_half_even(r.saturating_mul(b), d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_even_division() {
        assert_eq!(div_round_half_even(5, 2), 2);
        assert_eq!(div_round_half_even(7, 2), 4);
        assert_eq!(div_round_half_even(-5, 2), -2);
        assert_eq!(div_round_half_even(-7, 2), -4);
        assert_eq!(div_round_half_even(10, 3), 3);
        assert_eq!(div_round_half_even(11, 3), 4);
        assert_eq!(div_round_half_even(-11, 3), -4);
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_scaled("2.5", 6), Ok(2_500_000));
        assert_eq!(parse_scaled("0.075", 6), Ok(75_000));
        assert_eq!(parse_scaled("2.5e-6", 12), Ok(2_500_000));
        assert_eq!(parse_scaled("1.5E-05", 12), Ok(15_000_000));
        assert_eq!(parse_scaled("10", 6), Ok(10_000_000));
        assert_eq!(parse_scaled(".5", 1), Ok(5));
        assert_eq!(parse_scaled("-1.25", 2), Ok(-125));
        // half-even at the last kept digit
        assert_eq!(parse_scaled("0.0000025", 6), Ok(2));
        assert_eq!(parse_scaled("0.0000035", 6), Ok(4));
        assert_eq!(parse_scaled("0.00000250001", 6), Ok(3));
        assert_eq!(parse_scaled("0.0000004", 6), Ok(0));
        assert_eq!(parse_scaled("0.00000001", 6), Ok(0));
        assert!(parse_scaled("abc", 6).is_err());
        assert!(parse_scaled("", 6).is_err());
        assert!(parse_scaled("1.2.3", 6).is_err());
        assert!(parse_scaled("1e", 6).is_err());
        assert!(parse_scaled("99999999999999999999999999999999999999999", 6).is_err());
    }

    #[test]
    fn floats_from_json_become_their_decimal() {
        // 3e-6 is not exactly representable; the shortest round-trip decimal is.
        assert_eq!(f64_to_scaled(3e-6, 12), Ok(3_000_000));
        assert_eq!(f64_to_scaled(0.1 + 0.2, 6), Ok(300_000));
        assert_eq!(f64_to_scaled(1.25e-7, 12), Ok(125_000));
        assert!(f64_to_scaled(f64::NAN, 6).is_err());
    }

    #[test]
    fn display() {
        let usd = |m| Money::from_micros(m, Currency::Usd);
        let eur = |m| Money::from_micros(m, Currency::Eur);
        assert_eq!(usd(123).to_string(), "$0.000123");
        assert_eq!(usd(500_000).to_string(), "$0.50");
        assert_eq!(usd(2_500).to_string(), "$0.0025");
        assert_eq!(usd(0).to_string(), "$0.00");
        assert_eq!(usd(1_234_560_000).to_string(), "$1,234.56");
        assert_eq!(usd(1_234_565_000).to_string(), "$1,234.56"); // half-even
        assert_eq!(usd(1_234_575_000).to_string(), "$1,234.58");
        assert_eq!(eur(1_234_560_000).to_string(), "1,234.56 €");
        assert_eq!(eur(-2_000_000).to_string(), "-2.00 €");
        assert_eq!(usd(-123).to_string(), "-$0.000123");
        assert_eq!(usd(1_000_000_000_000).to_string(), "$1,000,000.00");
        assert_eq!(usd(1_234_567).format_fixed(0), "$1");
        assert_eq!(usd(1_234_567).format_fixed(6), "$1.234567");
        assert_eq!(ExchangeRate::DEFAULT.to_string(), "1 EUR = 1.16 USD");
    }

    #[test]
    fn conversion() {
        let rate = ExchangeRate::parse("1.25").expect("rate");
        let usd = Money::from_micros(10_000_000, Currency::Usd);
        assert_eq!(usd.convert(Currency::Eur, rate).micros, 8_000_000);
        let eur = Money::from_micros(8_000_000, Currency::Eur);
        assert_eq!(eur.convert(Currency::Usd, rate).micros, 10_000_000);
        // 1 micro-USD at 1.25 = 0.8 micro-EUR → 1
        assert_eq!(Money::from_micros(1, Currency::Usd).convert(Currency::Eur, rate).micros, 1);
        assert!(ExchangeRate::parse("0").is_err());
        assert!(ExchangeRate::parse("-1.1").is_err());
        assert!(ExchangeRate::parse("x").is_err());
    }

    #[test]
    fn money_sums_check_currency() {
        let a = Money::from_micros(1, Currency::Usd);
        let b = Money::from_micros(1, Currency::Eur);
        assert!(matches!(a.checked_add(b), Err(PricingError::CurrencyMismatch { .. })));
        assert_eq!(a.checked_add(a).map(|m| m.micros), Ok(2));
        assert_eq!(Money::parse("0.15", Currency::Usd).map(|m| m.micros), Ok(150_000));
    }

    #[test]
    fn exact_cost_rounds_once() {
        let c = ExactCost { picos: 2_500_000, currency: Currency::Usd };
        assert_eq!(c.to_money().micros, 2);
        assert_eq!(c.times(3).map(|c| c.to_money().micros), Ok(8)); // 7.5 → 8
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn round_trip_within_one_micro(micros in -1_000_000_000_000i64..1_000_000_000_000i64,
                                           ppm in 340_000i64..2_990_000i64) {
                let rate = ExchangeRate::from_ppm(ppm).expect("rate");
                for from in [Currency::Usd, Currency::Eur] {
                    let other = if from == Currency::Usd { Currency::Eur } else { Currency::Usd };
                    let m = Money::from_micros(micros, from);
                    let back = m.convert(other, rate).convert(from, rate);
                    prop_assert!((back.micros - micros).abs() <= 1,
                        "{micros} -> {} at {ppm}", back.micros);
                }
            }

            #[test]
            fn decimal_text_round_trips(micros in -1_000_000_000_000_000i64..1_000_000_000_000_000i64) {
                let m = Money::from_micros(micros, Currency::Usd);
                let text = m.format_fixed(6).replace(['$', ','], "");
                prop_assert_eq!(Money::parse(&text, Currency::Usd), Ok(m));
            }

            #[test]
            fn half_even_matches_definition(n in -1_000_000i128..1_000_000, d in 1i128..1000) {
                let q = div_round_half_even(n, d);
                // |n - q d| <= d/2, and on an exact tie q is even
                let err = (n - q * d).abs() * 2;
                prop_assert!(err <= d);
                if err == d { prop_assert_eq!(q % 2, 0); }
            }
        }
    }
}
