//! The HTML export: one self-contained page (inline CSS, no script, no external resource)
//! that opens offline. Every piece of text goes through [`escape`]; the rest is plain string
//! building.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Comparison, PaneSummary, Report, ResultRow};
use crate::task::Task;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.pass{color:#11632a;font-weight:600}.fail{color:#a51d1d;font-weight:600}\
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5rem;margin:.2rem 0;max-height:20rem;overflow:auto}\
.task{border:1px solid #ddd;padding:.5rem 1rem;margin:1rem 0}.muted{color:#666}";

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.decimals$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{:.1}%", x * 100.0))
}

fn usd(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x != 0.0 && x.abs() < 0.01 => format!("${x:.6}"),
        Some(x) => format!("${x:.2}"),
    }
}

fn pass_cell(pass: bool) -> &'static str {
    if pass { "<span class=\"pass\">pass</span>" } else { "<span class=\"fail\">fail</span>" }
}

fn summary_table(out: &mut String, summaries: &[PaneSummary]) {
    out.push_str(
        "<table><thead><tr><th>Pane</th><th>Tasks</th><th>Passed</th><th>Pass rate</th><th>95% interval</th>\
<th>Latency p50 / p95 (ms)</th><th>TTFT p50 / p95 (ms)</th><th>Tokens in / out</th><th>Cost per task</th>\
<th>Cost per 1,000 tasks</th></tr></thead><tbody>",
    );
    for s in summaries {
        let ci = s.wilson.map_or_else(|| "–".into(), |w| format!("{} – {}", pct(Some(w.low)), pct(Some(w.high))));
        let errors = if s.errors > 0 {
            format!(" <span class=\"muted\">({} failed requests)</span>", s.errors)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{} / {}</td><td class=\"num\">{} / {}</td><td class=\"num\">{} / {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&s.pane),
            s.tasks,
            s.passed,
            errors,
            pct(s.pass_rate),
            escape(&ci),
            num(s.latency_p50_ms, 0),
            num(s.latency_p95_ms, 0),
            num(s.ttft_p50_ms, 0),
            num(s.ttft_p95_ms, 0),
            num(s.mean_tokens_in, 1),
            num(s.mean_tokens_out, 1),
            usd(s.cost_per_task_usd),
            usd(s.cost_per_1000_usd),
        );
    }
    out.push_str("</tbody></table>");
}

fn comparison_table(out: &mut String, comparisons: &[Comparison]) {
    if comparisons.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Paired comparison</h2><p class=\"muted\">Task by task: a win is a task the local pane passed and the \
other failed, or, with the same outcome, scored higher on. Sign test: two-sided, exact, ties left out.</p>\
<table><thead><tr><th>Local</th><th>Against</th><th>Pairs</th><th>Wins</th><th>Ties</th><th>Losses</th>\
<th>Sign test p</th></tr></thead><tbody>",
    );
    for c in comparisons {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{}</td><td class=\"num\">{:.4}</td></tr>",
            escape(&c.local),
            escape(&c.other),
            c.pairs,
            c.wins,
            c.ties,
            c.losses,
            c.sign_test_p
        );
    }
    out.push_str("</tbody></table>");
}

fn row_block(out: &mut String, r: &ResultRow) {
    let _ = write!(out, "<h4>{} — {}", escape(&r.pane), pass_cell(r.pass));
    if let Some(ms) = r.latency_ms {
        let _ = write!(out, " <span class=\"muted\">{ms} ms</span>");
    }
    out.push_str("</h4>");
    match &r.error {
        Some(e) => {
            let _ = write!(out, "<p class=\"fail\">Request failed: {}</p>", escape(e));
        }
        None => {
            let _ = write!(out, "<pre>{}</pre>", escape(&r.answer));
        }
    }
    if !r.checks.is_empty() {
        out.push_str("<ul>");
        for c in &r.checks {
            let _ = write!(out, "<li>{} {}: {}</li>", pass_cell(c.pass), escape(&c.check), escape(&c.reason));
        }
        out.push_str("</ul>");
    }
}

fn task_block(out: &mut String, id: &str, task: Option<&Task>, rows: &[&ResultRow]) {
    let _ = write!(out, "<div class=\"task\"><h3>Task {}</h3>", escape(id));
    if let Some(t) = task {
        if let Some(d) = t.metadata.get("description").and_then(|d| d.as_str()) {
            let _ = write!(out, "<p>{}</p>", escape(d));
        }
        let _ = write!(out, "<p class=\"muted\">Input</p><pre>{}</pre>", escape(&t.input.display_text()));
        if let Some(e) = &t.expected {
            let _ = write!(out, "<p class=\"muted\">Expected</p><pre>{}</pre>", escape(&e.display_text()));
        }
    }
    for r in rows {
        row_block(out, r);
    }
    out.push_str("</div>");
}

pub(super) fn render(report: &Report) -> String {
    let summaries = report.summaries();
    let panes = report.pane_names();
    let by_pane: Vec<Vec<&ResultRow>> = panes.iter().map(|p| report.rows_of(p)).collect();
    let tasks: HashMap<&str, &Task> = report.tasks.iter().map(|t| (t.id.as_str(), t)).collect();

    // Task ids in task order, then ids only seen in results.
    let mut ids: Vec<&str> = report.tasks.iter().map(|t| t.id.as_str()).collect();
    for r in by_pane.iter().flatten() {
        if !ids.contains(&r.task_id.as_str()) {
            ids.push(&r.task_id);
        }
    }
    let rows_for =
        |id: &str| -> Vec<&ResultRow> { by_pane.iter().flatten().copied().filter(|r| r.task_id == id).collect() };

    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><p class=\"muted\">{} tasks, {} panes. Produced by arbitre's pilot mode; scores are deterministic checks, no judge.</p>",
        escape(&report.title),
        escape(&report.title),
        ids.len(),
        panes.len(),
    );
    out.push_str("<h2>Summary</h2>");
    summary_table(&mut out, &summaries);
    comparison_table(&mut out, &report.comparisons());

    let failing: Vec<&str> = ids.iter().copied().filter(|id| rows_for(id).iter().any(|r| !r.pass)).collect();
    let _ = write!(out, "<h2>Failing tasks ({})</h2>", failing.len());
    if failing.is_empty() {
        out.push_str("<p>Every task passed on every pane.</p>");
    }
    for id in &failing {
        task_block(&mut out, id, tasks.get(id).copied(), &rows_for(id));
    }

    out.push_str("<h2>All results</h2><table><thead><tr><th>Task</th>");
    for p in &panes {
        let _ = write!(out, "<th>{}</th>", escape(p));
    }
    out.push_str("</tr></thead><tbody>");
    for id in &ids {
        let _ = write!(out, "<tr><td>{}</td>", escape(id));
        for rows in &by_pane {
            match rows.iter().find(|r| r.task_id == *id) {
                Some(r) => {
                    let _ = write!(out, "<td>{} <span class=\"muted\">{:.2}</span></td>", pass_cell(r.pass), r.score);
                }
                None => out.push_str("<td class=\"muted\">–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}
