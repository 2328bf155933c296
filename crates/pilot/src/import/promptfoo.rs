//! promptfoo test files: the CSV form (variables as columns, `__expected`, `__expectedN`,
//! `__description`, `__metadata:key`, `__prefix`, `__suffix`) and the YAML / JSON form (a
//! `tests:` list of `{vars, assert, description, metadata}`, optional `prompts` and
//! `defaultTest`, or a bare list of tests).
//!
//! Prompts are rendered from a template with the row's variables (minijinja, which reads
//! promptfoo's Nunjucks `{{ var }}` the same way); a variable the template uses and the row lacks
//! is a row error. A rendered prompt that is a JSON list of `{role, content}` becomes chat
//! messages. Several `prompts` give one task per test and prompt (`3-p2`). A variable whose
//! value is a list is handed to the template as a list (promptfoo would make one test per item),
//! and a `file://` value is a row error: the tab cannot read other files.
//!
//! Checks map to [`Assert`]: `equals`, `contains`, `icontains`, `contains-any`,
//! `icontains-any`, `contains-all`, `icontains-all`, `starts-with`, `regex`, `is-json` (the
//! value, when given, is a JSON Schema), `contains-json` (read as `is-json`: the JSON must be
//! the whole answer or a fenced block), `levenshtein` (threshold = largest distance, 5 by
//! default), `latency` and `cost` (threshold in ms and USD), each with promptfoo's `not-`
//! prefix; arbitre's own types (`f1`, `rouge-l`, `numeric`, `word-count`, `json-field`) are
//! read in arbitre's form. Checks that need code or a model (`javascript`, `python`,
//! `llm-rubric`, `similar`, ...) are row errors naming the type: arbitre scores without
//! running code or a judge.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::csv::read_all;
use super::{ImportOptions, Rows, kind, line_of, parse_messages, scalar_text};
use crate::error::{PilotError, Result};
use crate::task::{Assert, Expected, Task, TaskInput};

/// promptfoo's assertion types that arbitre cannot run (they need code, a model or a service).
const UNSUPPORTED: &[&str] = &[
    "javascript",
    "python",
    "webhook",
    "llm-rubric",
    "model-graded-closedqa",
    "model-graded-factuality",
    "factuality",
    "similar",
    "classifier",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "g-eval",
    "moderation",
    "perplexity",
    "perplexity-score",
    "rouge-n",
    "bleu",
    "meteor",
    "gleu",
    "is-sql",
    "contains-sql",
    "is-xml",
    "contains-xml",
    "is-valid-openai-tools-call",
    "is-valid-openai-function-call",
    "is-valid-function-call",
    "select-best",
    "human",
    "assert-set",
    "is-refusal",
    "pi",
    "guardrails",
    "trace-span-count",
    "trace-span-duration",
    "finish-reason",
];

/// Types arbitre adds, read in arbitre's own serde form.
const ARBITRE_TYPES: &[&str] = &["f1", "rouge-l", "numeric", "word-count", "json-field"];

/// A template engine holding one prompt template.
struct Template {
    env: minijinja::Environment<'static>,
    source: String,
}

impl Template {
    fn new(source: &str) -> Result<Self> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_template_owned("prompt", source.to_string())
            .map_err(|e| PilotError::Template { reason: e.to_string() })?;
        Ok(Template { env, source: source.to_string() })
    }

    fn render(&self, vars: &Map<String, Value>) -> std::result::Result<TaskInput, String> {
        let tmpl = self.env.get_template("prompt").map_err(|e| e.to_string())?;
        let text = tmpl.render(minijinja::Value::from_serialize(vars)).map_err(|e| {
            // Name the variables the row lacks (a static look at the template, so only when
            // rendering failed: `{% if x is defined %}` stays allowed).
            let globals: Vec<&str> = self.env.globals().map(|(k, _)| k).collect();
            let mut missing: Vec<String> = tmpl
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !vars.contains_key(v) && !globals.contains(&v.as_str()))
                .collect();
            if e.kind() == minijinja::ErrorKind::UndefinedError && !missing.is_empty() {
                missing.sort();
                let names: Vec<String> = missing.iter().map(|m| format!("{{{{ {m} }}}}")).collect();
                return format!("the prompt uses {}, which this test does not set", names.join(", "));
            }
            let mut msg = format!("prompt template: {}", e.kind());
            if let Some(detail) = e.detail() {
                msg.push_str(": ");
                msg.push_str(detail);
            }
            msg
        })?;
        let trimmed = text.trim();
        if trimmed.starts_with('[')
            && let Ok(v) = serde_json::from_str::<Value>(trimmed)
            && let Ok(m) = parse_messages(&v)
        {
            return Ok(TaskInput::Messages(m));
        }
        if trimmed.is_empty() {
            return Err(format!("the prompt {:?} renders to nothing", self.source));
        }
        Ok(TaskInput::Prompt(text))
    }
}

/// Guesses a template from variable names: the only variable, or one named prompt/input/question.
fn guess_template(names: &[&str]) -> Option<String> {
    let pick = match names {
        [only] => Some(*only),
        _ => ["prompt", "input", "question"].into_iter().find(|n| names.contains(n)),
    }?;
    Some(format!("{{{{ {pick} }}}}"))
}

/// Maps one promptfoo check to an [`Assert`].
fn assert_from(
    ty: &str,
    value: Option<&Value>,
    threshold: Option<f64>,
    raw: &Value,
) -> std::result::Result<Assert, String> {
    if let Some(inner) = ty.strip_prefix("not-") {
        return Ok(Assert::Not { assert: Box::new(assert_from(inner, value, threshold, raw)?) });
    }
    let text = || -> std::result::Result<String, String> {
        match value {
            Some(v) => scalar_text(v).ok_or_else(|| format!("{ty} needs a text value, got {}", kind(v))),
            None => Err(format!("{ty} needs a value")),
        }
    };
    let list = || -> std::result::Result<Vec<String>, String> {
        match value {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| scalar_text(i).ok_or_else(|| format!("{ty} values must be text, got {}", kind(i))))
                .collect(),
            Some(Value::String(s)) => {
                Ok(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
            }
            Some(other) => Err(format!("{ty} needs a list of texts, got {}", kind(other))),
            None => Err(format!("{ty} needs a value")),
        }
    };
    let need_threshold = || threshold.ok_or_else(|| format!("{ty} needs a threshold"));
    Ok(match ty {
        "equals" => match value {
            Some(v @ (Value::Object(_) | Value::Array(_))) => Assert::Equals { value: v.to_string() },
            _ => Assert::Equals { value: text()? },
        },
        "contains" => Assert::Contains { value: text()? },
        "icontains" => Assert::Icontains { value: text()? },
        "contains-any" => Assert::ContainsAny { values: list()? },
        "icontains-any" => Assert::IcontainsAny { values: list()? },
        "contains-all" => Assert::ContainsAll { values: list()? },
        "icontains-all" => Assert::IcontainsAll { values: list()? },
        "starts-with" => Assert::StartsWith { value: text()? },
        "regex" => Assert::Regex { pattern: text()? },
        "is-json" | "contains-json" => Assert::IsJson {
            schema: match value {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(
                    serde_json::from_str(s)
                        .or_else(|_| yaml_serde::from_str(s))
                        .map_err(|e| format!("{ty} schema does not parse: {e}"))?,
                ),
                Some(v) => Some(v.clone()),
            },
        },
        "levenshtein" => Assert::Levenshtein {
            value: text()?,
            min_similarity: None,
            max_distance: Some(threshold.map_or(Ok(5), |t| {
                if t >= 0.0 && t.fract() == 0.0 {
                    Ok(t as usize)
                } else {
                    Err(format!("levenshtein threshold {t} is not a whole distance"))
                }
            })?),
        },
        "latency" => {
            let t = need_threshold()?;
            if t < 0.0 || !t.is_finite() {
                return Err(format!("latency threshold {t} is not a duration"));
            }
            Assert::Latency { max_ms: t.round() as u64 }
        }
        "cost" => Assert::Cost { max_usd: need_threshold()? },
        t if ARBITRE_TYPES.contains(&t) => {
            let mut obj = raw.as_object().cloned().unwrap_or_default();
            obj.insert("type".into(), Value::String(t.into()));
            if let (Some(th), false) = (threshold, obj.contains_key("threshold")) {
                obj.insert("threshold".into(), serde_json::json!(th));
            }
            serde_json::from_value(Value::Object(obj)).map_err(|e| format!("{t}: {e}"))?
        }
        t if UNSUPPORTED.contains(&t) || t.starts_with("model-graded") => {
            return Err(format!("assert type {t:?} is not supported (arbitre scores without running code or a judge)"));
        }
        t => return Err(format!("unknown assert type {t:?}")),
    })
}

/// A CSV `__expected` cell: `[not-]type[(threshold)][:value]` for a known type, else the whole
/// cell is an `equals` value. Empty cells give no check.
fn assert_from_cell(cell: &str) -> std::result::Result<Option<Assert>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    for code in ["fn:", "eval:", "file://", "grade:"] {
        if cell.starts_with(code) {
            let what = if code == "grade:" { "llm-rubric" } else { "javascript" };
            return Err(format!("`{code}` ({what}) is not supported (arbitre scores without running code or a judge)"));
        }
    }
    let body = cell.strip_prefix("not-").unwrap_or(cell);
    let name_len =
        body.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')).unwrap_or(body.len());
    let name = &body[..name_len];
    let rest = &body[name_len..];
    let known = UNSUPPORTED.contains(&name)
        || ARBITRE_TYPES.contains(&name)
        || matches!(
            name,
            "equals"
                | "contains"
                | "icontains"
                | "contains-any"
                | "icontains-any"
                | "contains-all"
                | "icontains-all"
                | "starts-with"
                | "regex"
                | "is-json"
                | "contains-json"
                | "levenshtein"
                | "latency"
                | "cost"
        );
    if !known {
        return Ok(Some(Assert::Equals { value: cell.to_string() }));
    }
    // `type(0.8):value`, `type:value` or a bare `type`; anything else is a plain value.
    let (threshold, value) = match rest.strip_prefix('(') {
        Some(r) => match r.split_once(')') {
            Some((t, after)) if after.is_empty() || after.starts_with(':') => match t.trim().parse::<f64>() {
                Ok(t) => (Some(t), after.strip_prefix(':')),
                Err(_) => return Ok(Some(Assert::Equals { value: cell.to_string() })),
            },
            _ => return Ok(Some(Assert::Equals { value: cell.to_string() })),
        },
        None if rest.is_empty() => (None, None),
        None => match rest.strip_prefix(':') {
            Some(v) => (None, Some(v)),
            None => return Ok(Some(Assert::Equals { value: cell.to_string() })),
        },
    };
    if value.is_none() && threshold.is_none() && !name.starts_with("is-") && name != "contains-json" {
        // "contains" or "python" alone is a plain value to compare, not a check without its
        // argument; only the `is-*` checks stand alone.
        return Ok(Some(Assert::Equals { value: cell.to_string() }));
    }
    if UNSUPPORTED.contains(&name) {
        return Err(format!("assert type {name:?} is not supported (arbitre scores without running code or a judge)"));
    }
    let ty = if cell.starts_with("not-") { format!("not-{name}") } else { name.to_string() };
    let raw = match (name, value) {
        (t, Some(v)) if ARBITRE_TYPES.contains(&t) => serde_json::from_str(v).map_err(|e| format!("{t}: {e}"))?,
        _ => Value::Null,
    };
    let value = value.map(|v| Value::String(v.to_string()));
    assert_from(&ty, value.as_ref(), threshold, &raw).map(Some)
}

/// Reads a promptfoo CSV.
pub(crate) fn read_csv(text: &str, options: &ImportOptions, rows: &mut Rows) -> Result<()> {
    const FORMAT: &str = "promptfoo CSV";
    let (header, records) = read_all(text, FORMAT)?;
    let vars: Vec<&str> = header.iter().map(String::as_str).filter(|h| !h.starts_with("__") && !h.is_empty()).collect();
    let source = match &options.prompt_template {
        Some(t) => t.clone(),
        None => guess_template(&vars).ok_or_else(|| PilotError::NeedsTemplate {
            format: FORMAT,
            reason: format!("no single column, nor one named prompt, input or question, among {}", vars.join(", ")),
        })?,
    };
    let template = Template::new(&source)?;
    for (n, row) in records.into_iter().enumerate() {
        match row.cells {
            Ok(cells) => rows.push_result(row.line, csv_task(&header, &cells, n + 1, &template)),
            Err(e) => rows.error(row.line, e),
        }
    }
    Ok(())
}

fn csv_task(header: &[String], cells: &[String], n: usize, template: &Template) -> std::result::Result<Task, String> {
    let mut vars = Map::new();
    let mut asserts = Vec::new();
    let mut metadata = BTreeMap::new();
    let (mut prefix, mut suffix) = (String::new(), String::new());
    for (h, cell) in header.iter().zip(cells) {
        if h == "__expected" || h.strip_prefix("__expected").is_some_and(|d| d.parse::<u32>().is_ok()) {
            if let Some(a) = assert_from_cell(cell).map_err(|e| format!("{h}: {e}"))? {
                asserts.push(a);
            }
        } else if h == "__description" {
            if !cell.trim().is_empty() {
                metadata.insert("description".into(), Value::String(cell.clone()));
            }
        } else if let Some(key) = h.strip_prefix("__metadata:") {
            metadata.insert(key.to_string(), Value::String(cell.clone()));
        } else if h == "__prefix" {
            prefix = cell.clone();
        } else if h == "__suffix" {
            suffix = cell.clone();
        } else if let Some(other) = h.strip_prefix("__") {
            metadata.insert(other.to_string(), Value::String(cell.clone()));
        } else if !h.is_empty() {
            vars.insert(h.clone(), Value::String(cell.clone()));
        }
    }
    no_file_vars(&vars)?;
    let input = match template.render(&vars)? {
        TaskInput::Prompt(p) => TaskInput::Prompt(format!("{prefix}{p}{suffix}")),
        messages => messages,
    };
    metadata.insert("vars".into(), Value::Object(vars));
    Ok(Task { id: n.to_string(), input, expected: expected_of(&asserts), asserts, metadata })
}

/// The reference shown in reports: the value of the first `equals` check.
fn expected_of(asserts: &[Assert]) -> Option<Expected> {
    asserts.iter().find_map(|a| match a {
        Assert::Equals { value } => Some(Expected::One(value.clone())),
        _ => None,
    })
}

/// Reads a promptfoo YAML config or test list.
pub(crate) fn read_yaml(text: &str, options: &ImportOptions, rows: &mut Rows) -> Result<()> {
    let doc: Value = yaml_serde::from_str(text).map_err(|e| PilotError::Malformed {
        format: "promptfoo YAML",
        line: e.location().map_or(0, |l| l.line()),
        reason: e.to_string(),
    })?;
    let lines = yaml_item_lines(text, doc.is_array());
    read_doc(doc, &lines, "promptfoo YAML", options, rows)
}

/// Reads a promptfoo JSON config or test list.
pub(crate) fn read_json(text: &str, options: &ImportOptions, rows: &mut Rows) -> Result<()> {
    let malformed = |e: serde_json::Error| PilotError::Malformed {
        format: "promptfoo JSON",
        line: e.line(),
        reason: e.to_string(),
    };
    let doc: Value = serde_json::from_str(text).map_err(malformed)?;
    // Where each test starts, from the raw text of the `tests` items.
    #[derive(serde::Deserialize)]
    struct Config<'a> {
        #[serde(borrow, default)]
        tests: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    let raw: Vec<&serde_json::value::RawValue> = if doc.is_array() {
        serde_json::from_str(text).map_err(malformed)?
    } else {
        serde_json::from_str::<Config<'_>>(text).ok().and_then(|c| c.tests).unwrap_or_default()
    };
    let base = text.as_ptr() as usize;
    let lines: Vec<usize> =
        raw.iter().map(|r| line_of(text, (r.get().as_ptr() as usize).saturating_sub(base))).collect();
    read_doc(doc, &lines, "promptfoo JSON", options, rows)
}

/// The line of each top-level item of the `tests:` list in a block-style YAML file (empty when
/// the layout is not the usual one; errors then fall back to the `tests:` line).
fn yaml_item_lines(text: &str, root_list: bool) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start =
        if root_list { 0 } else { lines.iter().position(|l| l.starts_with("tests:")).map_or(lines.len(), |i| i + 1) };
    let mut out = Vec::new();
    let mut indent = None;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') || t == "---" {
            continue;
        }
        let ind = l.len() - t.len();
        let is_item = t == "-" || t.starts_with("- ");
        match indent {
            None if is_item => {
                indent = Some(ind);
                out.push(i + 1);
            }
            None => break,
            Some(d) if ind == d && is_item => out.push(i + 1),
            Some(d) if ind < d || (ind == d && !is_item) => break,
            Some(_) => {}
        }
    }
    out
}

fn read_doc(doc: Value, lines: &[usize], format: &'static str, options: &ImportOptions, rows: &mut Rows) -> Result<()> {
    let malformed = |reason: String| PilotError::Malformed { format, line: 1, reason };
    let (tests, prompts, default_test) = match doc {
        Value::Array(tests) => (tests, None, None),
        Value::Object(mut obj) => {
            let tests = match obj.remove("tests") {
                Some(Value::Array(t)) => t,
                Some(Value::String(s)) => {
                    return Err(malformed(format!("tests refer to {s:?}: load that file instead")));
                }
                Some(other) => return Err(malformed(format!("tests must be a list, got {}", kind(&other)))),
                None => return Err(malformed("no `tests` list".into())),
            };
            (tests, obj.remove("prompts"), obj.remove("defaultTest"))
        }
        other => return Err(malformed(format!("expected a tests list or a config object, got {}", kind(&other)))),
    };
    let templates: Vec<Template> = match (&options.prompt_template, prompts) {
        (Some(t), _) => vec![Template::new(t)?],
        (None, Some(p)) => {
            prompt_sources(&p).map_err(malformed)?.iter().map(|s| Template::new(s)).collect::<Result<_>>()?
        }
        (None, None) => Vec::new(),
    };
    let (default_vars, default_asserts) = match &default_test {
        Some(Value::Object(d)) => (
            d.get("vars").and_then(Value::as_object).cloned().unwrap_or_default(),
            d.get("assert").cloned().unwrap_or(Value::Array(Vec::new())),
        ),
        _ => (Map::new(), Value::Array(Vec::new())),
    };
    let fallback_line = lines.first().map_or(1, |l| l.saturating_sub(1).max(1));
    for (i, test) in tests.into_iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(fallback_line);
        let made = yaml_test(&test, &default_vars, &default_asserts);
        let (vars, asserts, metadata) = match made {
            Ok(parts) => parts,
            Err(e) => {
                rows.error(line, format!("test {}: {e}", i + 1));
                continue;
            }
        };
        let guessed;
        let used: Vec<&Template> = if templates.is_empty() {
            let names: Vec<&str> = vars.keys().map(String::as_str).collect();
            match guess_template(&names).map(|s| Template::new(&s)) {
                Some(Ok(t)) => {
                    guessed = t;
                    vec![&guessed]
                }
                _ => {
                    rows.error(
                        line,
                        format!("test {}: no prompt template, and no single variable to use as the prompt", i + 1),
                    );
                    continue;
                }
            }
        } else {
            templates.iter().collect()
        };
        for (k, template) in used.iter().enumerate() {
            let id = if used.len() > 1 { format!("{}-p{}", i + 1, k + 1) } else { (i + 1).to_string() };
            let task = template.render(&vars).map(|input| {
                let mut metadata = metadata.clone();
                metadata.insert("vars".into(), Value::Object(vars.clone()));
                Task { id, input, expected: expected_of(&asserts), asserts: asserts.clone(), metadata }
            });
            rows.push_result(line, task.map_err(|e| format!("test {}: {e}", i + 1)));
        }
    }
    Ok(())
}

/// Prompt texts from `prompts`: a string, or a list of strings or `{raw | id, label}` objects.
fn prompt_sources(p: &Value) -> std::result::Result<Vec<String>, String> {
    let one = |v: &Value| -> std::result::Result<String, String> {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Object(o) => match (o.get("raw"), o.get("id")) {
                (Some(Value::String(r)), _) => r.clone(),
                (_, Some(Value::String(id))) => id.clone(),
                _ => return Err("a prompt object needs `raw` text".into()),
            },
            // A chat prompt written as YAML messages.
            Value::Array(_) => {
                parse_messages(v)?;
                v.to_string()
            }
            other => return Err(format!("a prompt must be text, got {}", kind(other))),
        };
        if s.starts_with("file://") {
            return Err(format!("prompt {s:?} is in another file: paste its text as the prompt template"));
        }
        Ok(s)
    };
    match p {
        Value::Array(items) if items.first().is_some_and(|f| f.get("role").is_some()) => Ok(vec![one(p)?]),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// Refuses variables that point at another file, which promptfoo would read.
fn no_file_vars(vars: &Map<String, Value>) -> std::result::Result<(), String> {
    match vars.iter().find(|(_, v)| v.as_str().is_some_and(|s| s.trim_start().starts_with("file://"))) {
        Some((k, v)) => Err(format!("variable {k:?} refers to {v}: paste that file's text instead")),
        None => Ok(()),
    }
}

type TestParts = (Map<String, Value>, Vec<Assert>, BTreeMap<String, Value>);

fn yaml_test(
    test: &Value,
    default_vars: &Map<String, Value>,
    default_asserts: &Value,
) -> std::result::Result<TestParts, String> {
    let Value::Object(t) = test else { return Err(format!("a test must be an object, got {}", kind(test))) };
    let mut vars = default_vars.clone();
    match t.get("vars") {
        None | Some(Value::Null) => {}
        Some(Value::Object(v)) => vars.extend(v.clone()),
        Some(other) => return Err(format!("vars must be a mapping, got {}", kind(other))),
    }
    no_file_vars(&vars)?;
    if t.contains_key("transform") || t.get("options").and_then(|o| o.get("transform")).is_some() {
        return Err("`transform` is not supported (it runs code)".into());
    }
    let mut asserts = Vec::new();
    for list in [default_asserts, t.get("assert").unwrap_or(&Value::Null)] {
        match list {
            Value::Null => {}
            Value::Array(items) => {
                for (j, a) in items.iter().enumerate() {
                    let ty =
                        a.get("type").and_then(Value::as_str).ok_or_else(|| format!("assert {}: no `type`", j + 1))?;
                    let threshold = a.get("threshold").and_then(Value::as_f64);
                    asserts.push(
                        assert_from(ty, a.get("value"), threshold, a).map_err(|e| format!("assert {}: {e}", j + 1))?,
                    );
                }
            }
            other => return Err(format!("assert must be a list, got {}", kind(other))),
        }
    }
    let mut metadata: BTreeMap<String, Value> = match t.get("metadata") {
        Some(Value::Object(m)) => m.clone().into_iter().collect(),
        _ => BTreeMap::new(),
    };
    if let Some(Value::String(d)) = t.get("description") {
        metadata.insert("description".into(), Value::String(d.clone()));
    }
    Ok((vars, asserts, metadata))
}
