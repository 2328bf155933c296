//! The one-screen summary printed at the end of a pilot: the numbers come from
//! `arbitre-pilot`'s report; this only lays them out as text.

use std::fmt::Write;

use arbitre_pilot::{Report, RowError};

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.0} ms"))
}

fn tokens(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.0}"))
}

/// The summary text. `retries` is per API pane; `prices` says where each API pane's price
/// came from.
pub(crate) fn render(
    report: &Report,
    row_errors: &[RowError],
    retries: &[(String, u64)],
    prices: &[(String, String)],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", report.title);
    let _ = writeln!(
        s,
        "{} tasks{}",
        report.tasks.len(),
        if row_errors.is_empty() { String::new() } else { format!(", {} rows left out", row_errors.len()) }
    );
    let summaries = report.summaries();
    let width = summaries.iter().map(|p| p.pane.chars().count()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:<width$}  {:>9}  {:>7}  {:>13}  {:>6}  {:>9}  {:>9}  {:>9}  {:>7}  {:>7}  {:>12}",
        "pane",
        "passed",
        "rate",
        "95% Wilson",
        "errors",
        "lat p50",
        "lat p95",
        "ttft p50",
        "tok in",
        "tok out",
        "$/1000 tasks"
    );
    for p in &summaries {
        let rate = p.pass_rate.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0));
        let wilson = p.wilson.map_or_else(|| "-".into(), |w| format!("{:.1}–{:.1}%", w.low * 100.0, w.high * 100.0));
        let cost = p.cost_per_1000_usd.map_or_else(|| "n/a".into(), |c| format!("${c:.4}"));
        let _ = writeln!(
            s,
            "{:<width$}  {:>9}  {:>7}  {:>13}  {:>6}  {:>9}  {:>9}  {:>9}  {:>7}  {:>7}  {:>12}",
            p.pane,
            format!("{}/{}", p.passed, p.tasks),
            rate,
            wilson,
            p.errors,
            ms(p.latency_p50_ms),
            ms(p.latency_p95_ms),
            ms(p.ttft_p50_ms),
            tokens(p.mean_tokens_in),
            tokens(p.mean_tokens_out),
            cost,
        );
    }
    for c in report.comparisons() {
        let _ = writeln!(
            s,
            "{} vs {}: {} wins, {} ties, {} losses over {} tasks (sign test p = {:.3})",
            c.local, c.other, c.wins, c.ties, c.losses, c.pairs, c.sign_test_p
        );
    }
    for (pane, n) in retries.iter().filter(|(_, n)| *n > 0) {
        let _ = writeln!(s, "{pane}: {n} requests sent again after HTTP 429 or 5xx");
    }
    for (pane, note) in prices {
        let _ = writeln!(s, "{pane}: {note}");
    }
    s
}
