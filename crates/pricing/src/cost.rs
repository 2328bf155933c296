//! The exact cost of one request from the usage counts an API returned.

use serde::{Deserialize, Serialize};

use crate::error::{PricingError, Result};
use crate::money::{Currency, ExactCost, ExchangeRate, Money, parse_scaled};

/// Token counts of one request, as billed.
///
/// `input_tokens` are the *uncached* input tokens. OpenAI-style APIs report `prompt_tokens`
/// including the cached ones; use [`Usage::from_openai`] to split them. Anthropic reports
/// `input_tokens` already without cache reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the input price.
    pub input_tokens: u64,
    /// Input tokens read from the provider's prompt cache, billed at the cached-input price.
    pub cached_input_tokens: u64,
    /// Output (completion) tokens, reasoning tokens included.
    pub output_tokens: u64,
}

impl Usage {
    /// Usage from OpenAI-compatible counts, where `prompt_tokens` includes `cached_tokens`
    /// (`usage.prompt_tokens_details.cached_tokens`). A cached count larger than the prompt
    /// count is capped at the prompt count.
    pub fn from_openai(prompt_tokens: u64, cached_tokens: u64, completion_tokens: u64) -> Usage {
        let cached = cached_tokens.min(prompt_tokens);
        Usage { input_tokens: prompt_tokens - cached, cached_input_tokens: cached, output_tokens: completion_tokens }
    }

    /// All input tokens, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens.saturating_add(self.cached_input_tokens)
    }
}

/// A price per million tokens, exactly, in micro-units of the entry's currency
/// (2.50 USD per 1M tokens → 2,500,000).
///
/// In JSON it is written as a decimal string of units per million tokens ("2.5"); a JSON
/// number is accepted too (read as the shortest decimal that round-trips).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PricePerMTok {
    /// Micro-units per one million tokens; never negative.
    pub micros: i64,
}

impl PricePerMTok {
    /// A price from micro-units per million tokens; refuses negative prices.
    pub fn from_micros(micros: i64) -> Result<PricePerMTok> {
        if micros < 0 {
            return Err(PricingError::Negative { what: "a price per million tokens", text: micros.to_string() });
        }
        Ok(PricePerMTok { micros })
    }

    /// Parses a decimal price in units per million tokens, e.g. "2.50" → 2,500,000 micro-units.
    /// Digits beyond the micro-unit are rounded half to even.
    pub fn parse(text: &str) -> Result<PricePerMTok> {
        let v = parse_scaled(text, 6)?;
        let micros = i64::try_from(v).map_err(|_| PricingError::OutOfRange {
            what: "a price per million tokens",
            reason: format!("{text} is far too large"),
        })?;
        if micros < 0 {
            return Err(PricingError::Negative { what: "a price per million tokens", text: text.to_string() });
        }
        Ok(PricePerMTok { micros })
    }

    /// The price as a decimal string of units per million tokens, without trailing zeros
    /// ("2.5", "10", "0.075").
    pub fn to_decimal_string(self) -> String {
        let whole = self.micros / 1_000_000;
        let frac = self.micros % 1_000_000;
        if frac == 0 {
            return whole.to_string();
        }
        let mut f = format!("{frac:06}");
        while f.ends_with('0') {
            f.pop();
        }
        format!("{whole}.{f}")
    }

    /// The price as [`Money`] per million tokens in `currency`.
    pub fn per_million(self, currency: Currency) -> Money {
        Money::from_micros(self.micros, currency)
    }

    /// The same price in another currency (half-even to the micro-unit per million tokens).
    pub fn convert(self, from: Currency, to: Currency, rate: ExchangeRate) -> PricePerMTok {
        let v = rate.convert_scaled(i128::from(self.micros), from, to);
        PricePerMTok { micros: crate::money::clamp_i64(v).max(0) }
    }
}

impl Serialize for PricePerMTok {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_decimal_string())
    }
}

impl<'de> Deserialize<'de> for PricePerMTok {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PricePerMTok;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a non-negative price per million tokens, as a decimal string or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<PricePerMTok, E> {
                PricePerMTok::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<PricePerMTok, E> {
                PricePerMTok::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<PricePerMTok, E> {
                PricePerMTok::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<PricePerMTok, E> {
                let micros = crate::money::f64_to_scaled(v, 6).map_err(E::custom)?;
                let micros = i64::try_from(micros).map_err(|_| E::custom("price far too large"))?;
                PricePerMTok::from_micros(micros).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The three prices that decide what a request costs, in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenPrices {
    /// Price of uncached input tokens.
    pub input: PricePerMTok,
    /// Price of cached input tokens; `None` bills them at the input price.
    pub cached_input: Option<PricePerMTok>,
    /// Price of output tokens.
    pub output: PricePerMTok,
    /// Currency of the three prices.
    pub currency: Currency,
}

impl TokenPrices {
    /// The exact cost of one request:
    /// `input × price_in + cached × price_cached + output × price_out`, over one million,
    /// kept in pico-units so nothing is rounded.
    pub fn cost(&self, usage: &Usage) -> Result<ExactCost> {
        let cached_price = self.cached_input.unwrap_or(self.input);
        // tokens × micro-units per 1M tokens = pico-units, exactly.
        let parts = [
            (usage.input_tokens, self.input.micros),
            (usage.cached_input_tokens, cached_price.micros),
            (usage.output_tokens, self.output.micros),
        ];
        let mut picos: i128 = 0;
        for (tokens, price) in parts {
            let p = i128::from(tokens)
                .checked_mul(i128::from(price))
                .ok_or(PricingError::Overflow { what: "the cost of a request" })?;
            picos = picos.checked_add(p).ok_or(PricingError::Overflow { what: "the cost of a request" })?;
        }
        Ok(ExactCost { picos, currency: self.currency })
    }

    /// The same prices converted to `to` at `rate`.
    pub fn convert(&self, to: Currency, rate: ExchangeRate) -> TokenPrices {
        let c = |p: PricePerMTok| p.convert(self.currency, to, rate);
        TokenPrices {
            input: c(self.input),
            cached_input: self.cached_input.map(c),
            output: c(self.output),
            currency: to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(i: &str, c: Option<&str>, o: &str) -> TokenPrices {
        TokenPrices {
            input: PricePerMTok::parse(i).expect("input"),
            cached_input: c.map(|c| PricePerMTok::parse(c).expect("cached")),
            output: PricePerMTok::parse(o).expect("output"),
            currency: Currency::Usd,
        }
    }

    #[test]
    fn cost_of_a_request_is_exact() {
        // GPT-4o-like: 2.5 / 1.25 / 10 per 1M.
        let p = prices("2.5", Some("1.25"), "10");
        let u = Usage { input_tokens: 1000, cached_input_tokens: 2000, output_tokens: 500 };
        // 1000*2.5e-6 + 2000*1.25e-6 + 500*10e-6 = 0.0025 + 0.0025 + 0.005 = 0.01 USD
        let c = p.cost(&u).expect("cost");
        assert_eq!(c.picos, 10_000_000_000);
        assert_eq!(c.to_money().to_string(), "$0.01");
        // One token at 0.075/M is 0.075 micro-USD: exact in picos, rounds to 0 micro.
        let one = prices("0.075", None, "0.3").cost(&Usage { input_tokens: 1, ..Usage::default() });
        assert_eq!(one.map(|c| c.picos), Ok(75_000));
    }

    #[test]
    fn cached_tokens_fall_back_to_input_price() {
        let p = prices("3", None, "15");
        let u = Usage { input_tokens: 0, cached_input_tokens: 1_000_000, output_tokens: 0 };
        assert_eq!(p.cost(&u).map(|c| c.to_money().micros), Ok(3_000_000));
    }

    #[test]
    fn openai_usage_split() {
        let u = Usage::from_openai(1200, 1000, 50);
        assert_eq!(u, Usage { input_tokens: 200, cached_input_tokens: 1000, output_tokens: 50 });
        assert_eq!(Usage::from_openai(10, 99, 0).input_tokens, 0);
    }

    #[test]
    fn price_text() {
        assert_eq!(PricePerMTok::parse("2.50").map(|p| p.micros), Ok(2_500_000));
        assert_eq!(PricePerMTok::parse("0.075").map(|p| p.to_decimal_string()), Ok("0.075".to_string()));
        assert_eq!(PricePerMTok { micros: 10_000_000 }.to_decimal_string(), "10");
        assert!(PricePerMTok::parse("-1").is_err());
        assert!(PricePerMTok::from_micros(-1).is_err());
        let json: PricePerMTok = serde_json::from_str("0.15").expect("number");
        assert_eq!(json.micros, 150_000);
        let json: PricePerMTok = serde_json::from_str("\"37.5\"").expect("string");
        assert_eq!(json.micros, 37_500_000);
        assert!(serde_json::from_str::<PricePerMTok>("\"-3\"").is_err());
        assert!(serde_json::from_str::<PricePerMTok>("true").is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn any_prices() -> impl Strategy<Value = TokenPrices> {
            (0i64..1_000_000_000, proptest::option::of(0i64..1_000_000_000), 0i64..1_000_000_000).prop_map(
                |(i, c, o)| TokenPrices {
                    input: PricePerMTok { micros: i },
                    cached_input: c.map(|micros| PricePerMTok { micros }),
                    output: PricePerMTok { micros: o },
                    currency: Currency::Usd,
                },
            )
        }

        fn any_usage() -> impl Strategy<Value = Usage> {
            (0u64..10_000_000, 0u64..10_000_000, 0u64..10_000_000).prop_map(|(i, c, o)| Usage {
                input_tokens: i,
                cached_input_tokens: c,
                output_tokens: o,
            })
        }

        proptest! {
            #[test]
            fn cost_is_additive(p in any_prices(), a in any_usage(), b in any_usage()) {
                let sum = Usage {
                    input_tokens: a.input_tokens + b.input_tokens,
                    cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
                    output_tokens: a.output_tokens + b.output_tokens,
                };
                let ca = p.cost(&a).expect("a");
                let cb = p.cost(&b).expect("b");
                prop_assert_eq!(p.cost(&sum).expect("sum"), ca.checked_add(cb).expect("add"));
            }

            #[test]
            fn cost_is_monotone(p in any_prices(), a in any_usage(), extra in any_usage()) {
                let more = Usage {
                    input_tokens: a.input_tokens + extra.input_tokens,
                    cached_input_tokens: a.cached_input_tokens + extra.cached_input_tokens,
                    output_tokens: a.output_tokens + extra.output_tokens,
                };
                prop_assert!(p.cost(&more).expect("more").picos >= p.cost(&a).expect("a").picos);
            }

            #[test]
            fn cost_matches_rational_definition(p in any_prices(), u in any_usage()) {
                // Independent check through micro-units: cost × 1e6 (in picos) equals the sum of
                // tokens × price, and the rounded money is within half a micro-unit of it.
                let c = p.cost(&u).expect("cost");
                let cached = p.cached_input.unwrap_or(p.input).micros as i128;
                let expect = u.input_tokens as i128 * p.input.micros as i128
                    + u.cached_input_tokens as i128 * cached
                    + u.output_tokens as i128 * p.output.micros as i128;
                prop_assert_eq!(c.picos, expect);
                let m = c.to_money().micros as i128;
                prop_assert!((m * 1_000_000 - expect).abs() <= 500_000);
            }

            #[test]
            fn price_text_round_trips(micros in 0i64..1_000_000_000_000) {
                let p = PricePerMTok { micros };
                prop_assert_eq!(PricePerMTok::parse(&p.to_decimal_string()), Ok(p));
            }
        }
    }
}
