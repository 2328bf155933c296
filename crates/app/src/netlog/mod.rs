//! The network log ("privacy log"): every request the page and its worker make, and the
//! headline "0 bytes sent to any host during local runs".
//!
//! The pure side is here (tested natively): the summary and headline, and [`page_get`], the
//! one constructor of a log entry for a GET the page itself makes. The component
//! ([`panel`], wasm32 only) listens to the browser's resource timings too.

#[cfg(target_arch = "wasm32")]
pub mod panel;

use arbitre_protocol::NetEntry;

use crate::format;

/// The log entry of a GET made by the page (not the worker) at `time_ms`.
pub fn page_get(time_ms: f64, url: &str, status: u16, bytes_down: u64, purpose: &str) -> NetEntry {
    NetEntry {
        time_ms,
        origin: "page".into(),
        method: "GET".into(),
        url: url.to_owned(),
        status,
        bytes_up: 0,
        bytes_down,
        purpose: purpose.to_owned(),
    }
}

/// What the privacy log adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacySummary {
    /// Requests logged.
    pub requests: usize,
    /// Requests that were API calls (purpose starts with "API call").
    pub api_requests: usize,
    /// Body bytes sent by requests that were not API calls.
    pub bytes_up_outside_api: u64,
    /// Requests that started inside a local-run window.
    pub during_local: usize,
    /// Body bytes sent by requests that started inside a local-run window.
    pub bytes_up_during_local: u64,
    /// Distinct hosts contacted, sorted.
    pub hosts: Vec<String>,
}

/// The host of a URL ("api.openai.com", "127.0.0.1:8080"); the page's own origin for
/// relative URLs ("(this site)").
pub fn url_host(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            authority.rsplit('@').next().unwrap_or(authority).to_string()
        }
        None => "(this site)".to_string(),
    }
}

/// Whether a log entry is an API call made by a comparison pane.
pub fn is_api_call(entry: &NetEntry) -> bool {
    entry.purpose.starts_with("API call")
}

/// Sums the log: requests, API calls, bytes sent outside API calls and during local runs
/// (`windows` are (start, end) times in ms on the page's clock, end inclusive).
pub fn privacy_summary(entries: &[NetEntry], windows: &[(f64, f64)]) -> PrivacySummary {
    let during = |e: &NetEntry| windows.iter().any(|(s, t)| e.time_ms >= *s && e.time_ms <= *t);
    let mut hosts: Vec<String> = entries.iter().map(|e| url_host(&e.url)).collect();
    hosts.sort();
    hosts.dedup();
    PrivacySummary {
        requests: entries.len(),
        api_requests: entries.iter().filter(|e| is_api_call(e)).count(),
        bytes_up_outside_api: entries.iter().filter(|e| !is_api_call(e)).map(|e| e.bytes_up).sum(),
        during_local: entries.iter().filter(|e| during(e)).count(),
        bytes_up_during_local: entries.iter().filter(|e| during(e)).map(|e| e.bytes_up).sum(),
        hosts,
    }
}

/// The privacy headline: "0 bytes sent to any host during local runs" (with the counts), or,
/// when no local-run window is known, the bytes sent outside API calls.
pub fn privacy_headline(summary: &PrivacySummary, windows_known: bool) -> String {
    if windows_known {
        if summary.during_local == 0 {
            "0 bytes sent to any host during local runs (no request at all).".to_string()
        } else {
            format!(
                "{} sent to any host during local runs ({} request{} started while a local run was going).",
                bytes_phrase(summary.bytes_up_during_local),
                summary.during_local,
                if summary.during_local == 1 { "" } else { "s" }
            )
        }
    } else {
        format!(
            "{} sent to any host outside API calls: local runs upload nothing.",
            bytes_phrase(summary.bytes_up_outside_api)
        )
    }
}

fn bytes_phrase(n: u64) -> String {
    if n == 0 { "0 bytes".to_string() } else { format::bytes(n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(time_ms: f64, url: &str, up: u64, purpose: &str) -> NetEntry {
        NetEntry {
            time_ms,
            origin: "worker".into(),
            method: "GET".into(),
            url: url.into(),
            status: 200,
            bytes_up: up,
            bytes_down: 10,
            purpose: purpose.into(),
        }
    }

    #[test]
    fn privacy_summary_and_headline() {
        let entries = vec![
            net(10.0, "https://huggingface.co/x/resolve/main/m.gguf", 0, "model download"),
            net(500.0, "https://api.openai.com/v1/chat/completions", 321, "API call to OpenAI"),
            net(20.0, "models/m.gguf", 0, "model download"),
        ];
        let s = privacy_summary(&entries, &[(100.0, 200.0)]);
        assert_eq!(s.requests, 3);
        assert_eq!(s.api_requests, 1);
        assert_eq!(s.bytes_up_outside_api, 0);
        assert_eq!(s.during_local, 0);
        assert_eq!(s.hosts, vec!["(this site)", "api.openai.com", "huggingface.co"]);
        assert_eq!(privacy_headline(&s, true), "0 bytes sent to any host during local runs (no request at all).");
        assert_eq!(
            privacy_headline(&s, false),
            "0 bytes sent to any host outside API calls: local runs upload nothing."
        );
        let s = privacy_summary(&entries, &[(400.0, 600.0)]);
        assert_eq!((s.during_local, s.bytes_up_during_local), (1, 321));
        assert!(privacy_headline(&s, true).starts_with("321 B sent to any host during local runs (1 request "));
        assert_eq!(url_host("http://user@127.0.0.1:8080/v1/x?y"), "127.0.0.1:8080");
    }

    #[test]
    fn page_get_fills_a_get_from_the_page() {
        let e = page_get(12.5, "https://example.org/x", 206, 4, "probe");
        assert_eq!((e.origin.as_str(), e.method.as_str(), e.bytes_up), ("page", "GET", 0));
        assert_eq!(
            (e.url.as_str(), e.status, e.bytes_down, e.purpose.as_str()),
            ("https://example.org/x", 206, 4, "probe")
        );
        assert_eq!(e.time_ms, 12.5);
    }
}
