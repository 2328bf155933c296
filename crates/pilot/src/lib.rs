//! Pilot mode's pure core: a visitor's own task set, scored the same way for the local model
//! and every API pane, summarised with honest statistics and exported.
//!
//! This crate owns:
//! - **the task model** ([`task`]): [`Task`] with its input, reference answer, checks and
//!   metadata;
//! - **importers** ([`import`]): arbitre JSONL, promptfoo CSV / YAML / JSON, OpenAI evals JSONL
//!   and plain CSV, with format detection; unreadable rows are listed by line, the rest load;
//! - **scorers** ([`score`]): deterministic checks (normalised equality, contains, regex,
//!   JSON and JSON Schema, numbers, token F1, ROUGE-L, Levenshtein, word count, latency, cost),
//!   each giving pass/fail, a score and a reason;
//! - **statistics** ([`stats`]): Wilson intervals, the exact sign test, percentiles;
//! - **the report** ([`report`]): per-task rows, per-pane summaries, paired comparisons, and
//!   the CSV, JSON (re-importable) and self-contained HTML exports;
//! - **samples** ([`samples`]): three built-in task sets in French and English.
//!
//! It must stay pure: no I/O, no clock, no network, no model calls, no `cfg(target_arch)`. It
//! runs nothing: the page and the CLI run the tasks and hand the answers, timings, token counts
//! and costs (computed with `arbitre-pricing`) to [`score`] and [`report`]. The page and the CLI
//! must not keep a copy of any of this logic.

pub mod error;
pub mod import;
pub mod report;
pub mod samples;
pub mod score;
pub mod stats;
pub mod task;

pub use error::{PilotError, Result};
pub use import::{Format, Import, ImportOptions, RowError, detect, import};
pub use report::{Comparison, Measures, PaneSummary, Report, ResultRow};
pub use score::{CheckResult, Observation, TaskScore, evaluate, score_task};
pub use stats::{Interval, percentile, sign_test, wilson95};
pub use task::{Assert, Expected, Message, Task, TaskInput};
