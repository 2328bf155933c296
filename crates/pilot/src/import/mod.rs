//! Task-set importers. Each reads a whole file given as text (the page reads it in the tab;
//! nothing here does I/O), loads the rows it can and lists the others with their line and the
//! reason, in [`Import::errors`]. Only a file that cannot be read at all (a YAML syntax error,
//! a CSV without the columns its format needs) is an `Err`.
//!
//! Formats, told apart by [`detect`] from the file name and the content:
//! - arbitre JSONL ([`jsonl`]): `{id, messages | prompt, expected?, asserts?, metadata?}`;
//! - OpenAI evals JSONL ([`evals`]): `{input: messages | string, ideal: string | [string]}`;
//! - promptfoo CSV and promptfoo YAML / JSON `tests:` lists ([`promptfoo`]);
//! - plain CSV with `input` and `expected` columns ([`csv`]).

pub mod csv;
pub mod evals;
pub mod jsonl;
pub mod promptfoo;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{PilotError, Result};
use crate::task::{Message, Task};

/// A task-set file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// arbitre's own JSONL.
    ArbitreJsonl,
    /// OpenAI evals' JSONL samples.
    EvalsJsonl,
    /// promptfoo's CSV test file (variables as columns, `__expected` ...).
    PromptfooCsv,
    /// promptfoo's YAML config or test list.
    PromptfooYaml,
    /// promptfoo's JSON config or test list.
    PromptfooJson,
    /// A CSV with `input` and `expected` columns.
    PlainCsv,
}

impl Format {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::ArbitreJsonl => "arbitre JSONL",
            Format::EvalsJsonl => "OpenAI evals JSONL",
            Format::PromptfooCsv => "promptfoo CSV",
            Format::PromptfooYaml => "promptfoo YAML",
            Format::PromptfooJson => "promptfoo JSON",
            Format::PlainCsv => "plain CSV",
        }
    }
}

/// A row that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line where the row starts in the file.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The result of an import: the tasks that loaded and the rows that did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    /// The format the file was read as.
    pub format: Format,
    /// Loaded tasks, in file order.
    pub tasks: Vec<Task>,
    /// Rows left out, in file order.
    pub errors: Vec<RowError>,
}

/// Choices a person can make about an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Read the file as this format instead of detecting it.
    pub format: Option<Format>,
    /// The prompt template for promptfoo files (`{{ var }}`, minijinja syntax); overrides the
    /// file's own `prompts`. A promptfoo CSV needs one unless a single column, or a column named
    /// `prompt`, `input` or `question`, can be the prompt.
    pub prompt_template: Option<String>,
}

/// Tells the format of a file from its name and content.
pub fn detect(file_name: &str, text: &str) -> Result<Format> {
    let text = strip_bom(text);
    let lower = file_name.to_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let unknown = |reason: &str| PilotError::UnknownFormat { file_name: file_name.into(), reason: reason.into() };
    match ext {
        "yaml" | "yml" => return Ok(Format::PromptfooYaml),
        "csv" | "tsv" => return Ok(detect_csv(text)),
        "jsonl" | "ndjson" => return detect_jsonl(text).ok_or_else(|| unknown("no JSON object on the first line")),
        _ => {}
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // One JSON document (promptfoo) or one object per line (JSONL)?
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            if v.is_array() || v.get("tests").is_some() {
                return Ok(Format::PromptfooJson);
            }
            if let Some(f) = detect_jsonl(text) {
                return Ok(f);
            }
            return Err(unknown("a JSON document with neither a `tests` list nor task fields"));
        }
        return detect_jsonl(text).ok_or_else(|| unknown("neither one JSON document nor JSON lines"));
    }
    if ext == "json" {
        return Err(unknown("a .json file that does not start with { or ["));
    }
    let first = text.lines().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).unwrap_or("");
    if text.lines().any(|l| l.starts_with("tests:")) || first.trim_start().starts_with("- ") {
        return Ok(Format::PromptfooYaml);
    }
    if first.contains(',') || first.contains(';') || first.contains('\t') {
        return Ok(detect_csv(text));
    }
    Err(unknown("not JSON, JSONL, YAML with `tests:`, nor CSV"))
}

fn detect_jsonl(text: &str) -> Option<Format> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let v: Value = serde_json::from_str(first).ok()?;
    let obj = v.as_object()?;
    if obj.contains_key("messages") || obj.contains_key("prompt") {
        Some(Format::ArbitreJsonl)
    } else if obj.contains_key("input") || obj.contains_key("ideal") {
        Some(Format::EvalsJsonl)
    } else {
        None
    }
}

fn detect_csv(text: &str) -> Format {
    match csv::headers(text) {
        Some(h) if h.iter().any(|c| c.starts_with("__")) => Format::PromptfooCsv,
        Some(h) if h.iter().any(|c| c.trim().eq_ignore_ascii_case("input")) => Format::PlainCsv,
        _ => Format::PromptfooCsv,
    }
}

/// Imports a task-set file given as text. `file_name` only helps detection.
pub fn import(file_name: &str, text: &str, options: &ImportOptions) -> Result<Import> {
    let format = match options.format {
        Some(f) => f,
        None => detect(file_name, text)?,
    };
    let text = strip_bom(text);
    let mut rows = Rows::default();
    match format {
        Format::ArbitreJsonl => jsonl::read(text, &mut rows),
        Format::EvalsJsonl => evals::read(text, &mut rows),
        Format::PromptfooCsv => promptfoo::read_csv(text, options, &mut rows)?,
        Format::PromptfooYaml => promptfoo::read_yaml(text, options, &mut rows)?,
        Format::PromptfooJson => promptfoo::read_json(text, options, &mut rows)?,
        Format::PlainCsv => csv::read(text, &mut rows)?,
    }
    Ok(Import { format, tasks: rows.tasks, errors: rows.errors })
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Collects tasks and row errors; refuses duplicate ids and invalid asserts.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    tasks: Vec<Task>,
    errors: Vec<RowError>,
    ids: HashMap<String, usize>,
}

impl Rows {
    /// Adds a task read at `line`, or a row error when it cannot be used as it is.
    pub(crate) fn push(&mut self, line: usize, task: Task) {
        if task.id.trim().is_empty() {
            return self.error(line, "empty id".into());
        }
        if let Some(first) = self.ids.get(&task.id) {
            return self.error(line, format!("duplicate id {:?} (first on line {first})", task.id));
        }
        for (i, a) in task.asserts.iter().enumerate() {
            if let Err(reason) = a.validate() {
                return self.error(line, format!("assert {} ({}): {reason}", i + 1, a.type_name()));
            }
        }
        self.ids.insert(task.id.clone(), line);
        self.tasks.push(task);
    }

    /// Lists a row that could not be read.
    pub(crate) fn error(&mut self, line: usize, reason: String) {
        self.errors.push(RowError { line, reason });
    }

    /// Adds the outcome of reading one row.
    pub(crate) fn push_result(&mut self, line: usize, row: std::result::Result<Task, String>) {
        match row {
            Ok(t) => self.push(line, t),
            Err(e) => self.error(line, e),
        }
    }
}

/// Chat messages from JSON: `[{role, content}]` where `content` is a string or a list of
/// `{type: "text", text}` parts.
pub(crate) fn parse_messages(v: &Value) -> std::result::Result<Vec<Message>, String> {
    let Value::Array(items) = v else { return Err(format!("messages must be a list, got {}", kind(v))) };
    if items.is_empty() {
        return Err("messages is an empty list".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role =
                m.get("role").and_then(Value::as_str).ok_or_else(|| format!("message {}: no string `role`", i + 1))?;
            let content = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .map(|p| match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                        (Some("text") | None, Some(t)) => Ok(t.to_string()),
                        (t, _) => Err(format!("message {}: content part of type {:?} is not text", i + 1, t)),
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?
                    .join(""),
                Some(other) => return Err(format!("message {}: content must be text, got {}", i + 1, kind(other))),
                None => return Err(format!("message {}: no `content`", i + 1)),
            };
            Ok(Message { role: role.to_string(), content })
        })
        .collect()
}

/// A JSON value's kind, for messages.
/// Reads one JSON object per non-blank line of `text` into a task with `task` (given the
/// object and its 1-based line), reporting lines that are not objects.
pub(crate) fn json_lines(
    text: &str,
    rows: &mut Rows,
    task: fn(serde_json::Map<String, Value>, usize) -> std::result::Result<Task, String>,
) {
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let row = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => task(obj, n),
            Ok(other) => Err(format!("expected a JSON object, got {}", kind(&other))),
            Err(e) => Err(format!("not JSON: {e}")),
        };
        rows.push_result(n, row);
    }
}

/// The `id` taken out of a JSONL object, or `line-N` where it has none.
pub(crate) fn task_id(obj: &mut serde_json::Map<String, Value>, line: usize) -> std::result::Result<String, String> {
    match obj.remove("id") {
        None | Some(Value::Null) => Ok(format!("line-{line}")),
        Some(v) => scalar_text(&v).ok_or_else(|| format!("id must be a string or a number, got {}", kind(&v))),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A scalar JSON value as text (strings unquoted, numbers as written).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1
}
