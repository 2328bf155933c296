//! The pilot report: one [`ResultRow`] per task and pane, the per-pane [`PaneSummary`], the
//! paired [`Comparison`] of the local pane with each other pane, and the exports (CSV of all
//! rows, re-importable JSON, self-contained HTML).
//!
//! Costs are in US dollars as `f64`: the caller computes each request's exact cost with
//! `arbitre-pricing` and narrows it here, where only sums and means for display are made.

mod csv;
mod html;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{PilotError, Result};
use crate::score::{CheckResult, Observation, score_task};
use crate::stats::{Interval, mean, percentile, sign_test, wilson95};
use crate::task::Task;

pub use html::escape;

/// What a pane measured for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measures {
    /// Whole-request latency in milliseconds.
    pub latency_ms: Option<u64>,
    /// Time to the first token in milliseconds.
    pub ttft_ms: Option<u64>,
    /// Prompt tokens.
    pub tokens_in: Option<u64>,
    /// Generated tokens.
    pub tokens_out: Option<u64>,
    /// Cost in USD (0 for the local model, absent when unknown).
    pub cost_usd: Option<f64>,
}

/// One task's result on one pane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// The task's id.
    pub task_id: String,
    /// The pane's name (`local`, a preset name, ...).
    pub pane: String,
    /// The answer text (empty when the request failed).
    pub answer: String,
    /// Why the request failed, when it did; a failed request is a failed task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether every check passed.
    pub pass: bool,
    /// Mean check score, 0 to 1.
    pub score: f64,
    /// Each check's outcome.
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    /// Whole-request latency in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Time to the first token in milliseconds.
    #[serde(default)]
    pub ttft_ms: Option<u64>,
    /// Prompt tokens.
    #[serde(default)]
    pub tokens_in: Option<u64>,
    /// Generated tokens.
    #[serde(default)]
    pub tokens_out: Option<u64>,
    /// Cost in USD.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

impl ResultRow {
    /// Scores `answer` against `task` and records it with its measures.
    pub fn scored(task: &Task, pane: &str, answer: &str, m: Measures) -> Self {
        let s = score_task(task, &Observation { answer, latency_ms: m.latency_ms, cost_usd: m.cost_usd });
        ResultRow {
            task_id: task.id.clone(),
            pane: pane.to_string(),
            answer: answer.to_string(),
            error: None,
            pass: s.pass,
            score: s.score,
            checks: s.checks,
            latency_ms: m.latency_ms,
            ttft_ms: m.ttft_ms,
            tokens_in: m.tokens_in,
            tokens_out: m.tokens_out,
            cost_usd: m.cost_usd,
        }
    }

    /// A request that failed (network, HTTP error, engine error): it counts as a failed task.
    pub fn failed(task_id: &str, pane: &str, error: &str, m: Measures) -> Self {
        ResultRow {
            task_id: task_id.to_string(),
            pane: pane.to_string(),
            answer: String::new(),
            error: Some(error.to_string()),
            pass: false,
            score: 0.0,
            checks: Vec::new(),
            latency_ms: m.latency_ms,
            ttft_ms: m.ttft_ms,
            tokens_in: m.tokens_in,
            tokens_out: m.tokens_out,
            cost_usd: m.cost_usd,
        }
    }
}

/// One pane's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaneSummary {
    /// The pane's name.
    pub pane: String,
    /// Tasks with a result on this pane.
    pub tasks: u64,
    /// Tasks passed.
    pub passed: u64,
    /// Requests that failed (counted in `tasks`, not in `passed`).
    pub errors: u64,
    /// `passed / tasks`.
    pub pass_rate: Option<f64>,
    /// 95% Wilson interval of the pass rate.
    pub wilson: Option<Interval>,
    /// Median latency in ms.
    pub latency_p50_ms: Option<f64>,
    /// 95th-percentile latency in ms.
    pub latency_p95_ms: Option<f64>,
    /// Median time to first token in ms.
    pub ttft_p50_ms: Option<f64>,
    /// 95th-percentile time to first token in ms.
    pub ttft_p95_ms: Option<f64>,
    /// Mean prompt tokens per task.
    pub mean_tokens_in: Option<f64>,
    /// Mean generated tokens per task.
    pub mean_tokens_out: Option<f64>,
    /// Mean cost per task in USD, over the tasks whose cost is known.
    pub cost_per_task_usd: Option<f64>,
    /// `cost_per_task_usd × 1000`.
    pub cost_per_1000_usd: Option<f64>,
}

/// The local pane against another, task by task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The local pane.
    pub local: String,
    /// The pane it is compared with.
    pub other: String,
    /// Tasks with a result on both.
    pub pairs: u64,
    /// Tasks where the local pane did better: it passed and the other failed, or both
    /// passed or both failed and its score was higher.
    pub wins: u64,
    /// Tasks with the same outcome and score.
    pub ties: u64,
    /// Tasks where the other pane did better.
    pub losses: u64,
    /// Two-sided exact sign-test p-value over wins and losses (ties left out).
    pub sign_test_p: f64,
}

/// A whole pilot: the tasks, the panes and every result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    /// A title for the export.
    pub title: String,
    /// The pane the others are compared with (the local model), if any.
    #[serde(default)]
    pub local_pane: Option<String>,
    /// Pane names in display order; panes only seen in `rows` follow in order of appearance.
    #[serde(default)]
    pub panes: Vec<String>,
    /// The tasks that were run.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// One row per task and pane (a later row for the same pair replaces an earlier one).
    #[serde(default)]
    pub rows: Vec<ResultRow>,
}

const JSON_FORMAT: &str = "arbitre-pilot-report";
const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonOut<'a> {
    format: &'static str,
    version: u32,
    #[serde(flatten)]
    report: &'a Report,
    summaries: Vec<PaneSummary>,
    comparisons: Vec<Comparison>,
}

#[derive(Deserialize)]
struct JsonIn {
    format: String,
    version: u32,
    #[serde(flatten)]
    report: Report,
}

impl Report {
    /// Every pane, in display order.
    pub fn pane_names(&self) -> Vec<String> {
        let mut names = self.panes.clone();
        for r in &self.rows {
            if !names.contains(&r.pane) {
                names.push(r.pane.clone());
            }
        }
        names
    }

    /// The rows of one pane, one per task (the last one recorded wins), in task order.
    pub fn rows_of(&self, pane: &str) -> Vec<&ResultRow> {
        let mut latest: HashMap<&str, &ResultRow> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for r in self.rows.iter().filter(|r| r.pane == pane) {
            if latest.insert(&r.task_id, r).is_none() {
                order.push(&r.task_id);
            }
        }
        let task_pos: HashMap<&str, usize> = self.tasks.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
        order.sort_by_key(|id| task_pos.get(id).copied().unwrap_or(usize::MAX));
        order.into_iter().filter_map(|id| latest.get(id).copied()).collect()
    }

    /// The summary of every pane.
    pub fn summaries(&self) -> Vec<PaneSummary> {
        self.pane_names().iter().map(|p| self.summary(p)).collect()
    }

    /// The summary of one pane.
    pub fn summary(&self, pane: &str) -> PaneSummary {
        let rows = self.rows_of(pane);
        let tasks = rows.len() as u64;
        let passed = rows.iter().filter(|r| r.pass).count() as u64;
        let collect = |f: fn(&ResultRow) -> Option<f64>| rows.iter().filter_map(|r| f(r)).collect::<Vec<f64>>();
        let latency = collect(|r| r.latency_ms.map(|x| x as f64));
        let ttft = collect(|r| r.ttft_ms.map(|x| x as f64));
        let cost_per_task = mean(&collect(|r| r.cost_usd));
        PaneSummary {
            pane: pane.to_string(),
            tasks,
            passed,
            errors: rows.iter().filter(|r| r.error.is_some()).count() as u64,
            pass_rate: (tasks > 0).then(|| passed as f64 / tasks as f64),
            wilson: wilson95(passed, tasks),
            latency_p50_ms: percentile(&latency, 50.0),
            latency_p95_ms: percentile(&latency, 95.0),
            ttft_p50_ms: percentile(&ttft, 50.0),
            ttft_p95_ms: percentile(&ttft, 95.0),
            mean_tokens_in: mean(&collect(|r| r.tokens_in.map(|x| x as f64))),
            mean_tokens_out: mean(&collect(|r| r.tokens_out.map(|x| x as f64))),
            cost_per_task_usd: cost_per_task,
            cost_per_1000_usd: cost_per_task.map(|c| c * 1000.0),
        }
    }

    /// The local pane against each other pane (empty without a local pane).
    pub fn comparisons(&self) -> Vec<Comparison> {
        let Some(local) = &self.local_pane else { return Vec::new() };
        let mine: HashMap<&str, &ResultRow> =
            self.rows_of(local).into_iter().map(|r| (r.task_id.as_str(), r)).collect();
        self.pane_names()
            .into_iter()
            .filter(|p| p != local)
            .map(|other| {
                let (mut wins, mut ties, mut losses) = (0, 0, 0);
                for theirs in self.rows_of(&other) {
                    let Some(m) = mine.get(theirs.task_id.as_str()) else { continue };
                    match (m.pass, theirs.pass) {
                        (true, false) => wins += 1,
                        (false, true) => losses += 1,
                        _ if m.score > theirs.score + 1e-9 => wins += 1,
                        _ if theirs.score > m.score + 1e-9 => losses += 1,
                        _ => ties += 1,
                    }
                }
                Comparison {
                    local: local.clone(),
                    other,
                    pairs: wins + ties + losses,
                    wins,
                    ties,
                    losses,
                    sign_test_p: sign_test(wins, losses),
                }
            })
            .collect()
    }

    /// The JSON export: the report itself plus the computed summaries and comparisons (which
    /// [`Report::from_json`] ignores and recomputes).
    pub fn to_json(&self) -> Result<String> {
        let out = JsonOut {
            format: JSON_FORMAT,
            version: JSON_VERSION,
            report: self,
            summaries: self.summaries(),
            comparisons: self.comparisons(),
        };
        serde_json::to_string_pretty(&out).map_err(|e| PilotError::Report { what: "json", reason: e.to_string() })
    }

    /// Reads a JSON export back.
    pub fn from_json(text: &str) -> Result<Report> {
        let bad = |reason: String| PilotError::Report { what: "json", reason };
        let parsed: JsonIn = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if parsed.format != JSON_FORMAT {
            return Err(bad(format!("not an arbitre pilot report (format {:?})", parsed.format)));
        }
        if parsed.version != JSON_VERSION {
            return Err(bad(format!(
                "report version {} is not supported (this build reads {JSON_VERSION})",
                parsed.version
            )));
        }
        Ok(parsed.report)
    }

    /// The CSV export: one line per row, with the task's input and reference.
    pub fn to_csv(&self) -> Result<String> {
        csv::render(self)
    }

    /// The HTML export: one self-contained page, inline CSS, no script.
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}
