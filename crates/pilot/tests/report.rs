//! Statistics against known values, the report's summaries and comparisons, its three exports,
//! and the built-in samples.

use arbitre_pilot::report::escape;
use arbitre_pilot::samples::{SAMPLES, sample};
use arbitre_pilot::stats::{mean, wilson};
use arbitre_pilot::{
    Assert, Expected, Measures, Observation, Report, ResultRow, Task, TaskInput, percentile, score_task, sign_test,
    wilson95,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn wilson_known_values() {
    let w = wilson95(8, 10).expect("interval");
    assert!(close(w.low, 0.490_162, 1e-6) && close(w.high, 0.943_318, 1e-6), "{w:?}");
    let w = wilson95(0, 10).expect("interval");
    assert_eq!(w.low, 0.0);
    assert!(close(w.high, 0.277_533, 1e-6), "{w:?}");
    let w = wilson95(10, 10).expect("interval");
    assert!(close(w.low, 0.722_467, 1e-6), "{w:?}");
    assert_eq!(w.high, 1.0);
    let w = wilson95(50, 100).expect("interval");
    assert!(close(w.low, 0.403_831, 1e-6) && close(w.high, 0.596_169, 1e-6), "{w:?}");
    // z = 1 gives a narrower interval.
    let narrow = wilson(8, 10, 1.0).expect("interval");
    assert!(narrow.low > 0.490_162 && narrow.high < 0.943_318);
    assert_eq!(wilson95(0, 0), None);
    assert_eq!(wilson95(11, 10), None);
}

#[test]
fn sign_test_known_values() {
    assert!(close(sign_test(9, 1), 0.021_484_375, 1e-12));
    assert!(close(sign_test(1, 9), 0.021_484_375, 1e-12));
    assert!(close(sign_test(10, 0), 0.001_953_125, 1e-12));
    assert!(close(sign_test(6, 2), 0.289_062_5, 1e-12));
    assert!(close(sign_test(60, 40), 0.056_887, 1e-6));
    assert_eq!(sign_test(5, 5), 1.0);
    assert_eq!(sign_test(0, 0), 1.0);
    assert_eq!(sign_test(1, 0), 1.0);
    let big = sign_test(6000, 4000);
    assert!(big.is_finite() && big > 0.0 && big < 1e-80, "{big}");
}

#[test]
fn percentiles_and_mean() {
    let v: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&v, 50.0), Some(5.5));
    assert!(close(percentile(&v, 95.0).expect("p95"), 9.55, 1e-12));
    assert_eq!(percentile(&v, 0.0), Some(1.0));
    assert_eq!(percentile(&v, 100.0), Some(10.0));
    assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
    assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
    assert_eq!(percentile(&[], 50.0), None);
    assert_eq!(percentile(&[f64::NAN, 4.0], 50.0), Some(4.0));
    assert_eq!(percentile(&v, 101.0), None);
    assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    assert_eq!(mean(&[]), None);
}

fn task(id: &str, expected: &str) -> Task {
    let mut t = Task::prompt(id, format!("Question {id}?"));
    t.expected = Some(Expected::One(expected.into()));
    t
}

fn m(latency: u64, ttft: u64, tin: u64, tout: u64, cost: f64) -> Measures {
    Measures {
        latency_ms: Some(latency),
        ttft_ms: Some(ttft),
        tokens_in: Some(tin),
        tokens_out: Some(tout),
        cost_usd: Some(cost),
    }
}

/// Four tasks; local passes 1, 2, 4; the API passes 1 and 3 (its task 2 request fails, its task
/// 4 answer is more than the city).
fn sample_report() -> Report {
    let tasks = vec![task("1", "Paris"), task("2", "Rome"), task("3", "Berlin"), task("4", "Madrid")];
    let local = [("1", "Paris"), ("2", "Rome"), ("3", "Munich"), ("4", "madrid.")];
    let mut rows = Vec::new();
    for (i, (id, answer)) in local.iter().enumerate() {
        let t = tasks.iter().find(|t| t.id == *id).expect("task");
        rows.push(ResultRow::scored(t, "local", answer, m(100 * (i as u64 + 1), 10, 20, 5, 0.0)));
    }
    rows.push(ResultRow::scored(&tasks[0], "api", "Paris", m(400, 50, 30, 4, 0.002)));
    rows.push(ResultRow::failed("2", "api", "HTTP 429: rate limited", Measures::default()));
    rows.push(ResultRow::scored(&tasks[2], "api", "Lyon", m(300, 40, 30, 4, 0.001)));
    // A retry replaces the first result for task 3.
    rows.push(ResultRow::scored(&tasks[2], "api", "Berlin", m(200, 30, 30, 4, 0.001)));
    rows.push(ResultRow::scored(
        &tasks[3],
        "api",
        "<script>alert('x')</script> Madrid, \"Spain\"\nline 2",
        m(100, 20, 30, 6, 0.003),
    ));
    Report {
        title: "Pilot <triage> & co".into(),
        local_pane: Some("local".into()),
        panes: vec!["local".into(), "api".into()],
        tasks,
        rows,
    }
}

#[test]
fn summaries_per_pane() {
    let r = sample_report();
    let s = r.summaries();
    assert_eq!(s.len(), 2);
    let local = &s[0];
    assert_eq!((local.pane.as_str(), local.tasks, local.passed, local.errors), ("local", 4, 3, 0));
    assert_eq!(local.pass_rate, Some(0.75));
    assert_eq!(local.latency_p50_ms, Some(250.0));
    assert!(close(local.latency_p95_ms.expect("p95"), 385.0, 1e-9));
    assert_eq!(local.cost_per_1000_usd, Some(0.0));
    assert_eq!(local.mean_tokens_out, Some(5.0));
    let api = &s[1];
    assert_eq!((api.tasks, api.passed, api.errors), (4, 2, 1));
    assert_eq!(api.pass_rate, Some(0.5));
    assert_eq!(api.wilson, wilson95(2, 4));
    // The failed request has no measures; the retried task counts its last result only.
    assert_eq!(api.latency_p50_ms, Some(200.0));
    assert_eq!(api.ttft_p50_ms, Some(30.0));
    assert!(close(api.cost_per_task_usd.expect("cost"), 0.002, 1e-12));
    assert!(close(api.cost_per_1000_usd.expect("cost"), 2.0, 1e-9));
    assert_eq!(api.mean_tokens_out, Some(14.0 / 3.0));
}

#[test]
fn paired_comparison() {
    let r = sample_report();
    let c = r.comparisons();
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!((c.local.as_str(), c.other.as_str()), ("local", "api"));
    // Task 1: both pass (tie); 2 and 4: local wins; 3: API wins.
    assert_eq!((c.pairs, c.wins, c.ties, c.losses), (4, 2, 1, 1));
    assert_eq!(c.sign_test_p, 1.0);
    let mut no_local = r.clone();
    no_local.local_pane = None;
    assert!(no_local.comparisons().is_empty());
}

#[test]
fn ties_are_broken_by_score() {
    let mut t = Task::prompt("1", "Colors?");
    t.asserts = vec![Assert::IcontainsAll { values: vec!["red".into(), "green".into(), "blue".into()] }];
    let rows = vec![
        ResultRow::scored(&t, "local", "red green", Measures::default()),
        ResultRow::scored(&t, "api", "red", Measures::default()),
    ];
    let r = Report { title: "t".into(), local_pane: Some("local".into()), panes: vec![], tasks: vec![t], rows };
    let c = &r.comparisons()[0];
    assert_eq!((c.wins, c.ties, c.losses), (1, 0, 0), "both fail, local found more");
}

#[test]
fn json_export_round_trips() {
    let r = sample_report();
    let json = r.to_json().expect("json");
    assert!(json.contains("\"format\": \"arbitre-pilot-report\""));
    assert!(json.contains("\"summaries\"") && json.contains("\"sign_test_p\""));
    let back = Report::from_json(&json).expect("re-import");
    assert_eq!(back, r);
    assert_eq!(back.summaries(), r.summaries());
    assert!(Report::from_json("{\"format\": \"other\", \"version\": 1, \"title\": \"x\"}").is_err());
    assert!(Report::from_json(&json.replace("\"version\": 1", "\"version\": 99")).is_err());
    assert!(Report::from_json("not json").is_err());
}

#[test]
fn csv_export_has_every_row() {
    let r = sample_report();
    let text = r.to_csv().expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    assert_eq!(header[..4], ["task_id", "pane", "pass", "score"]);
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(records.len(), 8, "4 tasks × 2 panes, the retry replacing its first try");
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let api4 = records.iter().find(|r| &r[0] == "4" && &r[1] == "api").expect("row");
    assert_eq!(&api4[col("answer")], "<script>alert('x')</script> Madrid, \"Spain\"\nline 2");
    assert_eq!(&api4[col("expected")], "Madrid");
    assert_eq!(&api4[col("cost_usd")], "0.003");
    let api2 = records.iter().find(|r| &r[0] == "2" && &r[1] == "api").expect("row");
    assert_eq!(&api2[col("error")], "HTTP 429: rate limited");
    assert_eq!(&api2[col("pass")], "false");
    assert_eq!(&api2[col("latency_ms")], "");
}

#[test]
fn html_export_is_self_contained_and_escaped() {
    let r = sample_report();
    let html = r.to_html();
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.to_lowercase().contains("<script"), "an answer's script tag must be escaped");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Madrid, &quot;Spain&quot;"));
    assert!(html.contains("<title>Pilot &lt;triage&gt; &amp; co</title>"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"), "no external resource");
    assert!(html.contains("<style>"));
    // The numbers shown are the summary's.
    assert!(html.contains("75.0%") && html.contains("50.0%"));
    assert!(html.contains("HTTP 429: rate limited"));
    assert!(html.contains("Failing tasks (3)"), "tasks 2, 3 and 4 have a failure");
    assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

#[test]
fn samples_load_without_errors_and_their_references_pass() {
    assert_eq!(SAMPLES.len(), 3);
    for s in SAMPLES {
        let i = s.load().expect("sample loads");
        assert!(i.errors.is_empty(), "{}: {:?}", s.id, i.errors);
        assert!((10..=20).contains(&i.tasks.len()), "{}: {} tasks", s.id, i.tasks.len());
        let langs: Vec<&str> = i.tasks.iter().filter_map(|t| t.metadata.get("lang").and_then(|l| l.as_str())).collect();
        assert!(langs.contains(&"fr") && langs.contains(&"en"), "{}: both languages", s.id);
        for t in &i.tasks {
            assert!(matches!(&t.input, TaskInput::Messages(m) if m.len() == 2), "{}/{}", s.id, t.id);
            let reference = t.expected.as_ref().map(Expected::display_text).expect("every sample task has a reference");
            let good = score_task(t, &Observation::answer(&reference));
            assert!(good.pass, "{}/{}: its own reference fails: {:?}", s.id, t.id, good.checks);
            let bad = score_task(t, &Observation::answer("Je ne sais pas."));
            assert!(!bad.pass, "{}/{}: a non-answer passes", s.id, t.id);
        }
    }
    let invoices = sample("invoices").expect("sample").load().expect("loads");
    assert!(invoices.tasks.iter().all(|t| t.asserts.iter().any(|a| matches!(a, Assert::IsJson { schema: Some(_) }))));
    let fenced = format!("```json\n{}\n```", invoices.tasks[0].expected.as_ref().expect("reference").display_text());
    assert!(score_task(&invoices.tasks[0], &Observation::answer(&fenced)).pass);
    assert!(sample("nope").is_none());
}
