//! The CSV export: every row of every pane, with the task's input and reference.

use std::collections::HashMap;

use super::Report;
use crate::error::{PilotError, Result};
use crate::task::Task;

const HEADER: &[&str] = &[
    "task_id",
    "pane",
    "pass",
    "score",
    "latency_ms",
    "ttft_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "answer",
    "error",
    "checks",
    "input",
    "expected",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub(super) fn render(report: &Report) -> Result<String> {
    let bad = |e: ::csv::Error| PilotError::Report { what: "csv", reason: e.to_string() };
    let tasks: HashMap<&str, &Task> = report.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).map_err(bad)?;
    for pane in report.pane_names() {
        for r in report.rows_of(&pane) {
            let task = tasks.get(r.task_id.as_str());
            let checks = r
                .checks
                .iter()
                .map(|c| format!("{} {}: {}", c.check, if c.pass { "pass" } else { "fail" }, c.reason))
                .collect::<Vec<_>>()
                .join("; ");
            w.write_record([
                r.task_id.clone(),
                r.pane.clone(),
                r.pass.to_string(),
                format!("{:.4}", r.score),
                opt(r.latency_ms),
                opt(r.ttft_ms),
                opt(r.tokens_in),
                opt(r.tokens_out),
                opt(r.cost_usd),
                r.answer.clone(),
                r.error.clone().unwrap_or_default(),
                checks,
                task.map(|t| t.input.display_text()).unwrap_or_default(),
                task.and_then(|t| t.expected.as_ref()).map(|e| e.display_text()).unwrap_or_default(),
            ])
            .map_err(bad)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| PilotError::Report { what: "csv", reason: e.to_string() })?;
    String::from_utf8(bytes).map_err(|e| PilotError::Report { what: "csv", reason: e.to_string() })
}
