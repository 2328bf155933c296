//! The four-axis decision grid: criticality, volume, data sensitivity and task complexity,
//! plus the visitor's verdict on the local answer, give a recommendation with its reasons.
//!
//! The rule, in the spirit of subsidiarity (use the simplest model that does the task):
//! 1. Highly sensitive data stays on infrastructure the organisation controls. The answer is
//!    the local open model, or a hybrid when the local answer was not good enough or the task
//!    is both critical and complex (keep sensitive data local, send only what may leave).
//! 2. Otherwise, when the visitor judged the local answer not acceptable, the hosted API —
//!    or a hybrid at high volume, where paying the API for everything is what costs most.
//! 3. Otherwise each axis scores for one side, and the difference decides: two points or more
//!    for one side recommends it, anything closer a hybrid.
//!
//! Scores: simple task +2 local, complex task +2 API; high criticality +1 API (+1 more if the
//! task is also complex), low criticality +1 local; high volume +2 local, low volume +1 API;
//! medium sensitivity +1 local; an acceptable local answer +2 local.

use serde::{Deserialize, Serialize};

/// A level on one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Level {
    /// Every level, low to high (for drop-downs).
    pub const ALL: [Level; 3] = [Level::Low, Level::Medium, Level::High];

    /// "low", "medium" or "high".
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }
}

/// Requests per month below which volume counts as low.
pub const LOW_VOLUME_BELOW: u64 = 10_000;
/// Requests per month from which volume counts as high ("above a few hundred thousand
/// requests a month, the economics lean toward self-hosting").
pub const HIGH_VOLUME_FROM: u64 = 300_000;

/// The volume level of a monthly request count: low below [`LOW_VOLUME_BELOW`], high from
/// [`HIGH_VOLUME_FROM`], medium in between.
pub fn volume_level(requests_per_month: u64) -> Level {
    if requests_per_month < LOW_VOLUME_BELOW {
        Level::Low
    } else if requests_per_month >= HIGH_VOLUME_FROM {
        Level::High
    } else {
        Level::Medium
    }
}

/// How complex the task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Complexity {
    /// Classification, extraction, triage, templated answers.
    Simple,
    /// Summaries, drafting, domain assistance with some judgement.
    Moderate,
    /// Multi-step reasoning, strategy, open problems.
    Complex,
}

/// The visitor's verdict on the local model's answer, compared with the API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityVerdict {
    /// The local answer does the job.
    Acceptable,
    /// The local answer does not do the job.
    NotAcceptable,
    /// Cannot tell yet.
    Unsure,
}

/// The four axes and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecisionInput {
    /// How serious a model error is.
    pub criticality: Level,
    /// How many requests a month (see [`volume_level`]).
    pub volume: Level,
    /// How sensitive the data sent to the model is.
    pub sensitivity: Level,
    /// How complex the task is.
    pub complexity: Complexity,
    /// The visitor's verdict on the compared answers, if given.
    pub quality: Option<QualityVerdict>,
}

/// What to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Recommendation {
    /// An open-weight model run locally (in the browser or on your own servers).
    LocalOpenModel,
    /// A hosted (closed) model through its API.
    HostedApi,
    /// Both, routed by task: the open model for what it does well, the API for the rest.
    Hybrid,
}

impl Recommendation {
    /// A short title: "Local open model", "Hosted API", "Hybrid".
    pub fn title(self) -> &'static str {
        match self {
            Recommendation::LocalOpenModel => "Local open model",
            Recommendation::HostedApi => "Hosted API",
            Recommendation::Hybrid => "Hybrid",
        }
    }
}

/// Which input a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Axis {
    /// Criticality.
    Criticality,
    /// Volume.
    Volume,
    /// Data sensitivity.
    Sensitivity,
    /// Task complexity.
    Complexity,
    /// The quality verdict.
    Quality,
    /// The overall rule.
    Overall,
}

/// One sentence explaining the recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// The input it is about (for highlighting).
    pub axis: Axis,
    /// The sentence.
    pub text: String,
}

/// A recommendation with its reasons and the scores behind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// What to use.
    pub recommendation: Recommendation,
    /// Why, one sentence per axis and a closing one (never empty).
    pub reasons: Vec<Reason>,
    /// Points for the local open model.
    pub local_score: i32,
    /// Points for the hosted API.
    pub api_score: i32,
}

/// Applies the grid (see the module docs). Deterministic: the same input always gives the
/// same decision and the same sentences.
pub fn decide(input: &DecisionInput) -> Decision {
    let mut reasons = Vec::new();
    let mut say = |axis, text: &str| reasons.push(Reason { axis, text: text.to_string() });
    let (mut local, mut api) = (0, 0);

    match input.sensitivity {
        Level::High => say(
            Axis::Sensitivity,
            "The data is sensitive: with a local open model it never leaves the browser or your own servers, while a hosted API receives every prompt.",
        ),
        Level::Medium => {
            local += 1;
            say(
                Axis::Sensitivity,
                "The data is internal: keeping it off third-party APIs avoids depending on a vendor's terms for its protection.",
            )
        }
        Level::Low => say(Axis::Sensitivity, "The data is not sensitive, so sending it to a hosted API is acceptable."),
    }
    match input.complexity {
        Complexity::Simple => {
            local += 2;
            say(
                Axis::Complexity,
                "The task is simple (classification, extraction, templated answers): the first candidate for a small open model, the simplest model that does the task.",
            )
        }
        Complexity::Moderate => say(
            Axis::Complexity,
            "The task is of moderate complexity: a small open model may do it; measure on real prompts.",
        ),
        Complexity::Complex => {
            api += 2;
            say(
                Axis::Complexity,
                "The task needs multi-step reasoning, where closed frontier models keep a measurable lead.",
            )
        }
    }
    match input.criticality {
        Level::High => {
            api += 1;
            if input.complexity == Complexity::Complex {
                api += 1;
                say(
                    Axis::Criticality,
                    "Errors are costly and the task is complex: use the most capable model available, open or not.",
                )
            } else {
                say(
                    Axis::Criticality,
                    "Errors are costly: whichever model is used must be validated on the real cases before it is relied on.",
                )
            }
        }
        Level::Medium => {
            say(Axis::Criticality, "Errors matter but can be caught: a pilot with human review keeps the risk bounded.")
        }
        Level::Low => {
            local += 1;
            say(Axis::Criticality, "Errors are not serious: a good use case for a pilot of an open model.")
        }
    }
    match input.volume {
        Level::High => {
            local += 2;
            say(
                Axis::Volume,
                "The volume is high: API cost grows with every request, while local inference costs nothing more per request and a self-hosted server is a fixed cost.",
            )
        }
        Level::Medium => {
            say(Axis::Volume, "The volume is moderate: compare the cumulative costs over 24 months before deciding.")
        }
        Level::Low => {
            api += 1;
            say(
                Axis::Volume,
                "The volume is low: paying per request to an API is likely cheaper in total than running servers.",
            )
        }
    }
    match input.quality {
        Some(QualityVerdict::Acceptable) => {
            local += 2;
            say(Axis::Quality, "You judged the local model's answer acceptable: it does the task.")
        }
        Some(QualityVerdict::NotAcceptable) => say(
            Axis::Quality,
            "You judged the local model's answer not acceptable: this small model does not do the task as it is.",
        ),
        Some(QualityVerdict::Unsure) => {
            say(Axis::Quality, "You are not sure about the local answer: compare more prompts from the real use case.")
        }
        None => {
            say(Axis::Quality, "No verdict on the answers yet: compare the local and API answers on your own prompts.")
        }
    }

    let not_acceptable = input.quality == Some(QualityVerdict::NotAcceptable);
    let critical_and_complex = input.criticality == Level::High && input.complexity == Complexity::Complex;
    let (recommendation, closing) = if input.sensitivity == Level::High {
        if not_acceptable || critical_and_complex {
            (
                Recommendation::Hybrid,
                "Keep the sensitive data on an open model you control (a larger one on your own server if this one falls short) and send a hosted API only what may leave.",
            )
        } else {
            (Recommendation::LocalOpenModel, "Sensitive data decides it: run an open model where the data already is.")
        }
    } else if not_acceptable {
        if input.volume == Level::High {
            (
                Recommendation::Hybrid,
                "Use the API where the small model fails, and try a larger open model for the bulk of the volume, where the API bill grows fastest.",
            )
        } else {
            (
                Recommendation::HostedApi,
                "Quality decides it: use the hosted API, and re-test open models as they improve.",
            )
        }
    } else if local - api >= 2 {
        (
            Recommendation::LocalOpenModel,
            "On balance the open model does the task at lower cost and under your control.",
        )
    } else if api - local >= 2 {
        (Recommendation::HostedApi, "On balance the hosted API's capability is worth its price here.")
    } else {
        (
            Recommendation::Hybrid,
            "The axes pull both ways: route the simple, high-volume requests to the open model and the hard ones to the API, and measure as you go.",
        )
    };
    say(Axis::Overall, closing);
    Decision { recommendation, reasons, local_score: local, api_score: api }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Complexity::{Complex, Moderate, Simple};
    use Level::{High, Low, Medium};
    use QualityVerdict::{Acceptable, NotAcceptable, Unsure};
    use Recommendation::{HostedApi, Hybrid, LocalOpenModel};

    fn input(
        criticality: Level,
        volume: Level,
        sensitivity: Level,
        complexity: Complexity,
        quality: Option<QualityVerdict>,
    ) -> DecisionInput {
        DecisionInput { criticality, volume, sensitivity, complexity, quality }
    }

    #[test]
    fn decision_table() {
        let table: &[(DecisionInput, Recommendation)] = &[
            // Invoice extraction, high volume, internal data, answer fine: local.
            (input(Low, High, Medium, Simple, Some(Acceptable)), LocalOpenModel),
            // Patient records triage: sensitive data stays local.
            (input(Medium, Medium, High, Simple, None), LocalOpenModel),
            // Sensitive but the small model fails: hybrid.
            (input(Medium, Low, High, Moderate, Some(NotAcceptable)), Hybrid),
            // Sensitive, critical and complex: hybrid.
            (input(High, Low, High, Complex, Some(Acceptable)), Hybrid),
            // Strategy analysis, critical, low volume, public data: API.
            (input(High, Low, Low, Complex, None), HostedApi),
            // Small org, modest volume, answer not acceptable: API.
            (input(Low, Low, Low, Simple, Some(NotAcceptable)), HostedApi),
            // High volume but the small model fails: hybrid.
            (input(Low, High, Low, Simple, Some(NotAcceptable)), Hybrid),
            // FAQ assistant, medium volume, public data, unsure: local 2+1 vs 0.
            (input(Low, Medium, Low, Simple, Some(Unsure)), LocalOpenModel),
            // Moderate task, medium everything, no verdict: 1 vs 0: hybrid.
            (input(Medium, Medium, Medium, Moderate, None), Hybrid),
            // Complex but high volume: 2 vs 2: hybrid.
            (input(Medium, High, Low, Complex, None), Hybrid),
            // Complex, low volume, public data: 0 vs 3: API.
            (input(Low, Low, Low, Complex, None), HostedApi),
            // Complex, low criticality, acceptable local answer, low volume: 3 vs 3: hybrid.
            (input(Low, Low, Low, Complex, Some(Acceptable)), Hybrid),
        ];
        for (i, (inp, want)) in table.iter().enumerate() {
            let d = decide(inp);
            assert_eq!(d.recommendation, *want, "row {i}: {inp:?} → {d:?}");
        }
    }

    #[test]
    fn reasons_cite_every_axis() {
        let d = decide(&input(High, High, High, Complex, Some(Unsure)));
        for axis in [Axis::Criticality, Axis::Volume, Axis::Sensitivity, Axis::Complexity, Axis::Quality, Axis::Overall]
        {
            assert_eq!(d.reasons.iter().filter(|r| r.axis == axis).count(), 1, "{axis:?}");
        }
        assert!(d.reasons.iter().any(|r| r.text.contains("never leaves")));
        assert!(d.reasons.iter().any(|r| r.text.contains("most capable model")));
        let d = decide(&input(Low, High, Low, Simple, None));
        assert!(d.reasons.iter().any(|r| r.text.contains("API cost grows")));
        assert!(d.reasons.iter().any(|r| r.text.contains("simplest model")));
    }

    #[test]
    fn volume_levels() {
        assert_eq!(volume_level(0), Low);
        assert_eq!(volume_level(9_999), Low);
        assert_eq!(volume_level(10_000), Medium);
        assert_eq!(volume_level(299_999), Medium);
        assert_eq!(volume_level(300_000), High);
    }

    #[test]
    fn every_combination_is_decided_sensibly() {
        let qualities = [None, Some(Acceptable), Some(NotAcceptable), Some(Unsure)];
        for c in Level::ALL {
            for v in Level::ALL {
                for s in Level::ALL {
                    for x in [Simple, Moderate, Complex] {
                        for q in qualities {
                            let inp = input(c, v, s, x, q);
                            let d = decide(&inp);
                            assert_eq!(d, decide(&inp), "deterministic");
                            assert_eq!(d.reasons.len(), 6);
                            // Sensitive data is never sent wholesale to an API.
                            if s == High {
                                assert_ne!(d.recommendation, HostedApi, "{inp:?}");
                            }
                            // A rejected local answer never yields local-only.
                            if q == Some(NotAcceptable) {
                                assert_ne!(d.recommendation, LocalOpenModel, "{inp:?}");
                            }
                            // Improving the verdict never moves the decision toward the API.
                            if q == Some(Unsure) {
                                let better = decide(&input(c, v, s, x, Some(Acceptable)));
                                let rank = |r| match r {
                                    HostedApi => 0,
                                    Hybrid => 1,
                                    LocalOpenModel => 2,
                                };
                                assert!(rank(better.recommendation) >= rank(d.recommendation), "{inp:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}
