//! The local pane's state machine: what the page shows for the in-browser model, driven only
//! by the worker's events. Pure, so it is tested without a browser.

use arbitre_protocol::{BackendInfo, Event, LoadPhase, ModelInfo, RequestId, RunStats};

use crate::format::Meter;

/// The states exposed as `data-state` on `data-testid="local-pane"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaneStatus {
    /// Nothing happening.
    #[default]
    Idle,
    /// Bytes arriving from the network.
    Downloading,
    /// Reading the cache, verifying, or preparing weights.
    Loading,
    /// Generating.
    Running,
    /// The last run finished (or was stopped).
    Done,
    /// The last request failed.
    Error,
}

impl PaneStatus {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Downloading => "downloading",
            Self::Loading => "loading",
            Self::Running => "running",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}

/// Progress of a load.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadProgress {
    /// Phase.
    pub phase: Option<LoadPhase>,
    /// Bytes done.
    pub loaded: u64,
    /// Bytes expected.
    pub total: Option<u64>,
    /// URL being read.
    pub url: String,
    /// Speed and time left.
    pub meter: Meter,
}

impl LoadProgress {
    /// Fraction done in 0..=1, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        self.total.filter(|t| *t > 0).map(|t| (self.loaded as f64 / t as f64).clamp(0.0, 1.0))
    }
}

/// Everything the local pane shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalPane {
    /// Current state.
    pub status: PaneStatus,
    /// The request the pane is following; events of other requests are ignored.
    pub current: Option<RequestId>,
    /// Generated text of the current or last run.
    pub output: String,
    /// Error of the last failed request.
    pub error: Option<String>,
    /// Load progress.
    pub progress: LoadProgress,
    /// The loaded model.
    pub model: Option<ModelInfo>,
    /// The backend running it.
    pub backend: Option<BackendInfo>,
    /// Prompt tokens of the current run.
    pub prompt_tokens: usize,
    /// Generated tokens received in the current run.
    pub tokens_seen: usize,
    /// When the first and the latest token of the current run arrived (ms).
    pub token_times: Option<(f64, f64)>,
    /// Statistics of the last finished run.
    pub stats: Option<RunStats>,
    /// Why the last run stopped.
    pub stop_reason: Option<String>,
}

impl LocalPane {
    /// Starts following a load request.
    pub fn begin_load(&mut self, id: RequestId) {
        self.current = Some(id);
        self.status = PaneStatus::Loading;
        self.error = None;
        self.progress = LoadProgress::default();
    }

    /// Starts following a generation request; the previous text is cleared.
    pub fn begin_run(&mut self, id: RequestId) {
        self.current = Some(id);
        self.status = PaneStatus::Running;
        self.error = None;
        self.output.clear();
        self.stats = None;
        self.stop_reason = None;
        self.prompt_tokens = 0;
        self.tokens_seen = 0;
        self.token_times = None;
    }

    /// Decode speed while the run streams (tokens after the first over the time since it).
    pub fn live_decode_tps(&self) -> Option<f64> {
        let (first, last) = self.token_times?;
        (self.tokens_seen > 1 && last > first).then(|| (self.tokens_seen - 1) as f64 * 1000.0 / (last - first))
    }

    /// Shows an error that did not come from the worker (e.g. the worker failed to start).
    pub fn fail(&mut self, message: String) {
        self.status = PaneStatus::Error;
        self.error = Some(message);
    }

    /// Applies one worker event observed at `now_ms`.
    pub fn apply(&mut self, event: &Event, now_ms: f64) {
        let mine = |id: &RequestId| self.current == Some(*id);
        match event {
            Event::Progress { id, phase, loaded, total, url } if mine(id) => {
                self.status = match phase {
                    LoadPhase::Downloading => PaneStatus::Downloading,
                    _ => PaneStatus::Loading,
                };
                if self.progress.phase != Some(*phase) || self.progress.url != *url {
                    self.progress.meter = Meter::default();
                }
                self.progress.phase = Some(*phase);
                self.progress.loaded = *loaded;
                self.progress.total = *total;
                self.progress.url.clone_from(url);
                self.progress.meter.observe(now_ms, *loaded);
            }
            Event::Loaded { id, info, backend } if mine(id) => {
                self.model = Some(info.clone());
                self.backend = Some(backend.clone());
                self.status = PaneStatus::Idle;
            }
            Event::Started { id, prompt_tokens } if mine(id) => {
                self.prompt_tokens = *prompt_tokens;
            }
            Event::Token { id, text, tokens } if mine(id) => {
                self.output.push_str(text);
                self.tokens_seen += tokens;
                self.token_times = Some(match self.token_times {
                    Some((first, _)) => (first, now_ms),
                    None => (now_ms, now_ms),
                });
            }
            Event::Done { id, stats, reason } if mine(id) => {
                self.stats = Some(stats.clone());
                self.stop_reason = Some(reason.clone());
                self.status = PaneStatus::Done;
            }
            Event::Failed { id, error } if mine(id) || id.0 == 0 => {
                self.error = Some(error.message.clone());
                self.status = PaneStatus::Error;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitre_protocol::{ErrorKind, WireError};

    #[test]
    fn a_token_event_may_carry_several_tokens() {
        let mut p = LocalPane::default();
        p.begin_run(RequestId(4));
        p.apply(&Event::Started { id: RequestId(4), prompt_tokens: 2 }, 0.0);
        p.apply(&Event::Token { id: RequestId(4), text: "a".into(), tokens: 1 }, 10.0);
        p.apply(&Event::Token { id: RequestId(4), text: "bcd".into(), tokens: 3 }, 40.0);
        assert_eq!(p.tokens_seen, 4);
        assert_eq!(p.output, "abcd");
        // Three tokens after the first in 30 ms.
        assert_eq!(p.live_decode_tps(), Some(100.0));
    }

    #[test]
    fn a_run_streams_text_then_finishes() {
        let mut p = LocalPane::default();
        p.begin_run(RequestId(3));
        assert_eq!(p.status, PaneStatus::Running);
        p.apply(&Event::Started { id: RequestId(3), prompt_tokens: 5 }, 0.0);
        p.apply(&Event::Token { id: RequestId(3), text: "Once".into(), tokens: 1 }, 1.0);
        p.apply(&Event::Token { id: RequestId(2), text: "stale".into(), tokens: 1 }, 1.0);
        p.apply(&Event::Token { id: RequestId(3), text: " upon".into(), tokens: 1 }, 2.0);
        assert_eq!(p.output, "Once upon");
        assert_eq!(p.tokens_seen, 2);
        assert_eq!(p.live_decode_tps(), Some(1000.0));
        p.apply(&Event::Done { id: RequestId(3), stats: RunStats::default(), reason: "cancelled".into() }, 3.0);
        assert_eq!(p.status, PaneStatus::Done);
        assert_eq!(p.output, "Once upon", "a stopped run keeps its partial text");
    }

    #[test]
    fn loading_goes_through_download_and_can_fail() {
        let mut p = LocalPane::default();
        p.begin_load(RequestId(1));
        let prog = |loaded| Event::Progress {
            id: RequestId(1),
            phase: LoadPhase::Downloading,
            loaded,
            total: Some(1000),
            url: "u".into(),
        };
        p.apply(&prog(0), 0.0);
        assert_eq!(p.status, PaneStatus::Downloading);
        p.apply(&prog(500), 1000.0);
        assert_eq!(p.progress.fraction(), Some(0.5));
        assert_eq!(p.progress.meter.eta_ms(500, 1000), Some(1000.0));
        let err = WireError { kind: ErrorKind::Model, message: "truncated GGUF".into() };
        p.apply(&Event::Failed { id: RequestId(1), error: err }, 2.0);
        assert_eq!(p.status, PaneStatus::Error);
        assert_eq!(p.error.as_deref(), Some("truncated GGUF"));
        assert_eq!(p.status.as_str(), "error");
    }
}
