//! Deterministic scorers: each [`Assert`] applied to one answer gives a [`CheckResult`]
//! (pass or fail, a score between 0 and 1, and a reason a person can read).

pub mod json;
pub mod schema;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::task::{Assert, Task};

/// What a pane produced for one task, as far as the checks need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    /// The answer text.
    pub answer: &'a str,
    /// Whole-request latency in milliseconds, when measured.
    pub latency_ms: Option<u64>,
    /// Cost of the request in USD, when known.
    pub cost_usd: Option<f64>,
}

impl<'a> Observation<'a> {
    /// An answer with no timing or cost.
    pub fn answer(answer: &'a str) -> Self {
        Observation { answer, latency_ms: None, cost_usd: None }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's type tag (`equals`, `not-contains`, ...).
    pub check: String,
    /// Whether it passed.
    pub pass: bool,
    /// 0 to 1: the metric for similarity checks, the fraction found for `*-all`, else 0 or 1.
    pub score: f64,
    /// Why, in words.
    pub reason: String,
}

/// The outcome of all checks of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    /// True when every check passed (also when there was none, as in promptfoo).
    pub pass: bool,
    /// Mean of the check scores (1 when there was none).
    pub score: f64,
    /// One result per check.
    pub checks: Vec<CheckResult>,
}

fn result(check: &Assert, pass: bool, score: f64, reason: String) -> CheckResult {
    CheckResult { check: check.type_name(), pass, score, reason }
}

fn binary(check: &Assert, pass: bool, reason: String) -> CheckResult {
    result(check, pass, if pass { 1.0 } else { 0.0 }, reason)
}

/// A short, one-line excerpt of a text for reasons.
fn excerpt(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{:?}…", one_line.chars().take(60).collect::<String>())
    } else {
        format!("{one_line:?}")
    }
}

fn contains_set(check: &Assert, answer: &str, values: &[String], ignore_case: bool, all: bool) -> CheckResult {
    let hay = if ignore_case { answer.to_lowercase() } else { answer.to_string() };
    let found: Vec<&String> =
        values.iter().filter(|v| hay.contains(&if ignore_case { v.to_lowercase() } else { (*v).clone() })).collect();
    if all {
        let missing: Vec<&String> = values.iter().filter(|v| !found.contains(v)).collect();
        let score = if values.is_empty() { 1.0 } else { found.len() as f64 / values.len() as f64 };
        let reason = if missing.is_empty() {
            format!("contains all {} values", values.len())
        } else {
            format!("missing {missing:?}")
        };
        result(check, missing.is_empty(), score, reason)
    } else {
        let reason = match found.first() {
            Some(v) => format!("contains {v:?}"),
            None => format!("contains none of {values:?}"),
        };
        binary(check, !found.is_empty(), reason)
    }
}

fn threshold_check(check: &Assert, metric: &str, score: f64, threshold: f64) -> CheckResult {
    let pass = score >= threshold;
    let cmp = if pass { ">=" } else { "<" };
    result(check, pass, score, format!("{metric} {score:.3} {cmp} {threshold}"))
}

/// Applies one check to one answer.
pub fn evaluate(check: &Assert, obs: &Observation<'_>) -> CheckResult {
    let answer = obs.answer;
    match check {
        Assert::Equals { value } => {
            let pass = text::equals_normalised(answer, value);
            let reason = if pass {
                format!("equals {} after normalisation", excerpt(value))
            } else {
                format!("{} is not {}", excerpt(&text::normalise(answer)), excerpt(&text::normalise(value)))
            };
            binary(check, pass, reason)
        }
        Assert::Contains { value } => contains_set(check, answer, std::slice::from_ref(value), false, false),
        Assert::Icontains { value } => contains_set(check, answer, std::slice::from_ref(value), true, false),
        Assert::ContainsAny { values } => contains_set(check, answer, values, false, false),
        Assert::IcontainsAny { values } => contains_set(check, answer, values, true, false),
        Assert::ContainsAll { values } => contains_set(check, answer, values, false, true),
        Assert::IcontainsAll { values } => contains_set(check, answer, values, true, true),
        Assert::StartsWith { value } => {
            let pass = answer.trim_start().starts_with(value.as_str());
            let reason = if pass {
                format!("starts with {}", excerpt(value))
            } else {
                format!(
                    "starts with {}, not {}",
                    excerpt(&answer.trim_start().chars().take(40).collect::<String>()),
                    excerpt(value)
                )
            };
            binary(check, pass, reason)
        }
        Assert::Regex { pattern } => match regex::Regex::new(pattern) {
            Ok(re) => match re.find(answer) {
                Some(m) => binary(check, true, format!("matches {pattern:?} at {}", excerpt(m.as_str()))),
                None => binary(check, false, format!("no match for {pattern:?}")),
            },
            Err(e) => binary(check, false, format!("invalid regex {pattern:?}: {e}")),
        },
        Assert::IsJson { schema } => match json::extract_json(answer) {
            Err(e) => binary(check, false, e),
            Ok(v) => match schema {
                None => binary(check, true, "valid JSON".into()),
                Some(s) => {
                    let errors = schema::validate(&v, s);
                    if errors.is_empty() {
                        binary(check, true, "valid JSON, matches the schema".into())
                    } else {
                        let shown: Vec<&str> = errors.iter().take(3).map(String::as_str).collect();
                        let more =
                            if errors.len() > 3 { format!(" (+{} more)", errors.len() - 3) } else { String::new() };
                        binary(check, false, format!("schema: {}{more}", shown.join("; ")))
                    }
                }
            },
        },
        Assert::JsonField { path, value } => match json::extract_json(answer) {
            Err(e) => binary(check, false, e),
            Ok(v) => match json::field(&v, path) {
                None => binary(check, false, format!("no field {path:?}")),
                Some(actual) if json::values_match(actual, value) => binary(check, true, format!("{path} = {actual}")),
                Some(actual) => binary(check, false, format!("{path} = {actual}, expected {value}")),
            },
        },
        Assert::Numeric { value, tolerance } => {
            let found = text::numbers(answer);
            // The whole answer when it is one number, else the last number (as in GSM8K-style
            // grading, where the answer comes after the working).
            match found.last() {
                None => binary(check, false, "no number in the answer".into()),
                Some(x) => {
                    let pass = (x - value).abs() <= *tolerance;
                    binary(check, pass, format!("{x} vs {value} (tolerance {tolerance})"))
                }
            }
        }
        Assert::F1 { value, threshold } => {
            threshold_check(check, "token F1", text::token_f1(answer, value), *threshold)
        }
        Assert::RougeL { value, threshold } => {
            threshold_check(check, "ROUGE-L", text::rouge_l(answer, value), *threshold)
        }
        Assert::Levenshtein { value, min_similarity, max_distance } => {
            let distance = text::levenshtein(answer.trim(), value.trim());
            let similarity = text::levenshtein_similarity(answer, value);
            let pass = min_similarity.is_none_or(|t| similarity >= t) && max_distance.is_none_or(|d| distance <= d);
            result(check, pass, similarity, format!("distance {distance}, similarity {similarity:.3}"))
        }
        Assert::WordCount { min, max } => {
            let n = text::word_count(answer);
            let pass = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "any number of".into(),
            };
            binary(check, pass, format!("{n} words, {range} wanted"))
        }
        Assert::Latency { max_ms } => match obs.latency_ms {
            None => binary(check, false, "no latency measured".into()),
            Some(ms) => binary(check, ms <= *max_ms, format!("{ms} ms, at most {max_ms} ms wanted")),
        },
        Assert::Cost { max_usd } => match obs.cost_usd {
            None => binary(check, false, "no cost known".into()),
            Some(c) => binary(check, c <= *max_usd, format!("${c:.6}, at most ${max_usd} wanted")),
        },
        Assert::Not { assert } => {
            let inner = evaluate(assert, obs);
            CheckResult {
                check: check.type_name(),
                pass: !inner.pass,
                score: 1.0 - inner.score,
                reason: format!("not ({})", inner.reason),
            }
        }
    }
}

/// Scores a task's answer: every assert, or when there are none and the task has a reference
/// answer, normalised equality with any of its acceptable answers. A thinking model's
/// `<think>` reasoning is not part of the answer: it is cut off before scoring.
pub fn score_task(task: &Task, obs: &Observation<'_>) -> TaskScore {
    let obs = &Observation { answer: arbitre_chat::reasoning::answer(obs.answer), ..*obs };
    let mut checks: Vec<CheckResult> = task.asserts.iter().map(|a| evaluate(a, obs)).collect();
    if task.asserts.is_empty()
        && let Some(expected) = &task.expected
    {
        let answers = expected.answers();
        let hit = answers.iter().find(|e| text::equals_normalised(obs.answer, e));
        let reason = match hit {
            Some(e) => format!("equals the reference {} after normalisation", excerpt(e)),
            None if answers.len() == 1 => {
                format!("{} is not the reference {}", excerpt(&text::normalise(obs.answer)), excerpt(answers[0]))
            }
            None => format!("{} is none of {} references", excerpt(&text::normalise(obs.answer)), answers.len()),
        };
        checks.push(CheckResult {
            check: "equals".into(),
            pass: hit.is_some(),
            score: if hit.is_some() { 1.0 } else { 0.0 },
            reason,
        });
    }
    let pass = checks.iter().all(|c| c.pass);
    let score = if checks.is_empty() { 1.0 } else { checks.iter().map(|c| c.score).sum::<f64>() / checks.len() as f64 };
    TaskScore { pass, score, checks }
}
