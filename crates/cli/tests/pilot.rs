//! `arbitre pilot` as a user runs it: on the stories260K fixture and on a tiny
//! OpenAI-compatible server started by the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use arbitre_pilot::{Observation, Report, score_task};

fn fixtures() -> PathBuf {
    std::env::var_os("ARBITRE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into())
}

fn model() -> String {
    fixtures().join("stories260K/stories260K.gguf").to_string_lossy().into_owned()
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbitre-pilot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn arbitre(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arbitre"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every row's recorded scores are what `arbitre-pilot`'s scorers give for its answer.
fn assert_rescored(report: &Report) {
    for row in &report.rows {
        let task = report.tasks.iter().find(|t| t.id == row.task_id).expect("row of a known task");
        if row.error.is_some() {
            assert!(!row.pass);
            continue;
        }
        let again =
            score_task(task, &Observation { answer: &row.answer, latency_ms: row.latency_ms, cost_usd: row.cost_usd });
        assert_eq!((row.pass, row.score, &row.checks), (again.pass, again.score, &again.checks), "{}", row.task_id);
    }
}

#[test]
fn local_pane_writes_html_csv_and_json_with_the_shared_scores() {
    let dir = scratch("local");
    let tasks = dir.join("tasks.jsonl");
    std::fs::write(
        &tasks,
        concat!(
            r#"{"id":"a","prompt":"Once upon a time","asserts":[{"type":"word-count","min":1}]}"#,
            "\n",
            r#"{"id":"b","prompt":"The cat","expected":"an answer no story model writes"}"#,
            "\n",
            r#"{"id":"c","messages":[{"role":"user","content":"Lily went"}],"asserts":[{"type":"icontains","value":"the"}]}"#,
            "\n",
        ),
    )
    .expect("write tasks");
    let (html, csv, json) = (dir.join("r.html"), dir.join("r.csv"), dir.join("r.json"));
    let m = model();
    let out = arbitre(
        &[
            "pilot",
            "--tasks",
            s(&tasks),
            "--model",
            &m,
            "--temperature",
            "0",
            "--max-tokens",
            "24",
            "--out",
            s(&html),
            "--csv",
            s(&csv),
            "--json",
            s(&json),
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("local") && stdout.contains("/3"), "summary: {stdout}");

    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains("<html") && !page.contains("<script"), "self-contained, no script");
    assert!(std::fs::read_to_string(&csv).expect("csv written").lines().count() >= 4);

    let json_text = std::fs::read_to_string(&json).expect("json written");
    let report = Report::from_json(&json_text).expect("re-importable JSON");
    assert_eq!(report.local_pane.as_deref(), Some("local"));
    let rows = report.rows_of("local");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.error.is_none() && r.latency_ms.is_some() && r.tokens_in.unwrap_or(0) > 0));
    assert!(rows.iter().any(|r| !r.answer.trim().is_empty()), "the model answered something");
    let b = rows.iter().find(|r| r.task_id == "b").expect("row b");
    assert!(!b.pass, "task b cannot pass: {:?}", b.answer);
    assert_rescored(&report);

    // The summary in the JSON is the shared one.
    let v: serde_json::Value = serde_json::from_str(&json_text).expect("json");
    let local = &v["summaries"][0];
    assert_eq!(local["pane"], "local");
    assert_eq!(local["tasks"], 3);
    assert_eq!(local["passed"], rows.iter().filter(|r| r.pass).count());
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the test server saw.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    rate_limited: usize,
}

/// Reads one HTTP request (head and body) from `stream`.
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

/// An OpenAI-compatible chat-completions server on 127.0.0.1 answering every request with
/// `answer` as a stream with usage, except the first, which gets a 429 with `Retry-After: 0`.
fn serve(answer: &'static str) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = shared.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else { return };
                let first = {
                    let mut s = seen.lock().expect("lock");
                    s.requests.push(request);
                    let first = s.requests.len() == 1;
                    if first {
                        s.rate_limited += 1;
                    }
                    first
                };
                let reply = if first {
                    let body = r#"{"error":{"message":"slow down","type":"rate_limit_exceeded"}}"#;
                    format!(
                        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    let chunk = |c: &str| format!("data: {c}\n\n");
                    let mut body =
                        String::from("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
                    body += &chunk(&format!(
                        r#"{{"id":"c1","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"role":"assistant","content":"{answer}"}}}}]}}"#
                    ));
                    body += &chunk(r#"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#);
                    body += &chunk(
                        r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
                    );
                    body += "data: [DONE]\n\n";
                    body
                };
                let _ = stream.write_all(reply.as_bytes());
                let _ = stream.flush();
            });
        }
    });
    (base, seen)
}

#[test]
fn api_pane_retries_after_429_and_scores_the_answers() {
    let dir = scratch("api");
    let tasks = dir.join("tasks.jsonl");
    std::fs::write(
        &tasks,
        concat!(
            r#"{"id":"t1","prompt":"Ticket: charged twice","expected":"billing"}"#,
            "\n",
            r#"{"id":"t2","prompt":"Ticket: refund please","expected":"Billing."}"#,
            "\n",
            r#"{"id":"t3","prompt":"Ticket: app crashes","expected":"technical"}"#,
            "\n",
            r#"{"id":"t4","messages":[{"role":"user","content":"Ticket: invoice wrong"}],"asserts":[{"type":"icontains","value":"BILL"}]}"#,
            "\n",
        ),
    )
    .expect("write tasks");
    let (base, seen) = serve("billing");
    let (html, json) = (dir.join("r.html"), dir.join("r.json"));
    let key = "sk-test-0123456789-secret";
    let m = model();
    let out = arbitre(
        &[
            "pilot",
            "--tasks",
            s(&tasks),
            "--model",
            &m,
            "--max-tokens",
            "8",
            "--api",
            "custom",
            "--api-base",
            &base,
            "--api-model",
            "tiny",
            "--api-key-env",
            "PILOT_TEST_KEY",
            "--price-in",
            "1",
            "--price-out",
            "2",
            "--concurrency",
            "2",
            "--system",
            "Answer with one word.",
            "--out",
            s(&html),
            "--json",
            s(&json),
        ],
        &[("PILOT_TEST_KEY", key)],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");

    let seen = seen.lock().expect("lock");
    assert_eq!(seen.rate_limited, 1);
    assert_eq!(seen.requests.len(), 5, "four tasks and one retry");
    for r in &seen.requests {
        assert!(r.starts_with("POST /v1/chat/completions "), "{r}");
        assert!(r.to_ascii_lowercase().contains(&format!("authorization: bearer {key}")), "key sent: {r}");
        assert!(r.contains(r#""model":"tiny""#) && r.contains(r#""stream":true"#), "{r}");
        assert!(r.contains("Answer with one word."), "system message sent: {r}");
    }
    drop(seen);

    let json_text = std::fs::read_to_string(&json).expect("json written");
    let page = std::fs::read_to_string(&html).expect("html written");
    for written in [&stdout, &stderr, &json_text, &page] {
        assert!(!written.contains(key), "the key must never be written out");
    }
    assert!(stdout.contains("custom:tiny") && stdout.contains("3/4"), "summary: {stdout}");
    assert!(stdout.contains("1 requests sent again"), "retry reported: {stdout}");

    let report = Report::from_json(&json_text).expect("re-importable JSON");
    assert_eq!(report.local_pane.as_deref(), Some("local"));
    assert_eq!(report.rows_of("local").len(), 4);
    assert!(stdout.contains("local vs custom:tiny:"), "paired comparison: {stdout}");
    let rows = report.rows_of("custom:tiny");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows.iter().filter(|r| r.pass).count(), 3);
    assert!(rows.iter().all(|r| r.error.is_none() && r.answer == "billing"));
    assert!(rows.iter().all(|r| r.tokens_in == Some(12) && r.tokens_out == Some(3)));
    assert_rescored(&report);

    // 12 tokens in at $1/M and 3 out at $2/M: $0.000018 a task, $0.018 per 1,000.
    let v: serde_json::Value = serde_json::from_str(&json_text).expect("json");
    assert_eq!(v["summaries"][1]["pane"], "custom:tiny");
    let per_1000 = v["summaries"][1]["cost_per_1000_usd"].as_f64().expect("a cost");
    assert!((per_1000 - 0.018).abs() < 1e-12, "{per_1000}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_rows_are_reported_by_line_and_the_rest_runs() {
    let dir = scratch("rows");
    let tasks = dir.join("tasks.jsonl");
    std::fs::write(
        &tasks,
        concat!(
            r#"{"id":"a","prompt":"Once upon a time"}"#,
            "\n",
            "{not json\n",
            r#"{"id":"a","prompt":"a second a"}"#,
            "\n",
            r#"{"id":"r","prompt":"x","asserts":[{"type":"regex","pattern":"("}]}"#,
            "\n",
            r#"{"id":"b","prompt":"The dog","expected":"woof"}"#,
            "\n",
        ),
    )
    .expect("write tasks");
    let (html, json) = (dir.join("r.html"), dir.join("r.json"));
    let m = model();
    let out = arbitre(
        &["pilot", "--tasks", s(&tasks), "--model", &m, "--max-tokens", "4", "--out", s(&html), "--json", s(&json)],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in ["line 2:", "line 3:", "line 4:"] {
        assert!(stderr.contains(line), "{line} missing from:\n{stderr}");
    }
    assert!(stderr.contains("duplicate id"), "{stderr}");
    assert!(stdout.contains("3 rows left out"), "{stdout}");
    let report = Report::from_json(&std::fs::read_to_string(&json).expect("json")).expect("report");
    let ids: Vec<&str> = report.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(report.rows_of("local").len(), 2);
    assert!(html.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn api_options_must_follow_their_api() {
    let out = arbitre(
        &["pilot", "--tasks", "sample:triage", "--api-model", "m", "--api", "llamacpp", "--out", "/dev/null"],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("comes before any --api"), "{}", text(&out).1);
    let out = arbitre(&["pilot", "--tasks", "sample:nope", "--api", "llamacpp", "--api-model", "m", "--out", "x"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("triage"), "lists the samples: {}", text(&out).1);
}
