//! CSV reading shared by the CSV formats (quoted fields, multi-line cells, `,` `;` or tab
//! delimiters), and the plain CSV format: an `input` column (or `prompt`), an optional
//! `expected` column, an optional `id`; every other column goes to the metadata.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Rows;
use crate::error::{PilotError, Result};
use crate::task::{Expected, Task, TaskInput};

/// The delimiter of the header line: the most frequent of `,` `;` and tab outside quotes.
fn delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in text.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == c) {
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).map_or(b',', |(d, n)| if *n == 0 { b',' } else { *d })
}

fn reader(text: &str) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new().delimiter(delimiter(text)).flexible(false).from_reader(text.as_bytes())
}

/// The header row, when the text has one.
pub(crate) fn headers(text: &str) -> Option<Vec<String>> {
    let mut r = reader(text);
    let h = r.headers().ok()?;
    if h.is_empty() { None } else { Some(h.iter().map(|s| s.trim().to_string()).collect()) }
}

/// One data row: its 1-based starting line and its cells (trimmed of a trailing `\r`), or why
/// it could not be split into as many cells as the header has.
pub(crate) struct Row {
    pub(crate) line: usize,
    pub(crate) cells: std::result::Result<Vec<String>, String>,
}

/// The header and every data row. `format` names the format in errors.
pub(crate) fn read_all(text: &str, format: &'static str) -> Result<(Vec<String>, Vec<Row>)> {
    let mut r = reader(text);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| PilotError::Malformed { format, line: 1, reason: e.to_string() })?
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(PilotError::Malformed { format, line: 1, reason: "no header row".into() });
    }
    let mut rows = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                rows.push(Row { line, cells: Ok(record.iter().map(str::to_string).collect()) });
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let reason = match e.kind() {
                    ::csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} cells where the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                // A broken record that the reader cannot step past ends the file.
                let fatal = !matches!(e.kind(), ::csv::ErrorKind::UnequalLengths { .. });
                rows.push(Row { line, cells: Err(reason) });
                if fatal {
                    break;
                }
            }
        }
    }
    Ok((header, rows))
}

/// The index of the first column named one of `names` (case-insensitive).
pub(crate) fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

pub(crate) fn read(text: &str, rows: &mut Rows) -> Result<()> {
    const FORMAT: &str = "plain CSV";
    let (header, records) = read_all(text, FORMAT)?;
    let input = column(&header, &["input", "prompt"]).ok_or_else(|| PilotError::Malformed {
        format: FORMAT,
        line: 1,
        reason: format!("no `input` column (columns: {})", header.join(", ")),
    })?;
    let expected = column(&header, &["expected"]);
    let id = column(&header, &["id"]);
    for (n, row) in records.into_iter().enumerate() {
        let cells = match row.cells {
            Ok(c) => c,
            Err(e) => {
                rows.error(row.line, e);
                continue;
            }
        };
        let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
        let prompt = cell(input);
        if prompt.trim().is_empty() {
            rows.error(row.line, "empty input".into());
            continue;
        }
        let id_text = id.map(|i| cell(i).trim().to_string()).filter(|s| !s.is_empty());
        let metadata: BTreeMap<String, Value> = header
            .iter()
            .enumerate()
            .filter(|(i, h)| Some(*i) != Some(input) && Some(*i) != expected && Some(*i) != id && !h.is_empty())
            .map(|(i, h)| (h.clone(), Value::String(cell(i))))
            .collect();
        let task = Task {
            id: id_text.unwrap_or_else(|| (n + 1).to_string()),
            input: TaskInput::Prompt(prompt),
            expected: expected.map(cell).filter(|s| !s.trim().is_empty()).map(Expected::One),
            asserts: Vec::new(),
            metadata,
        };
        rows.push(row.line, task);
    }
    Ok(())
}
