//! The minijinja environment configured like transformers' `_compile_jinja_template`:
//! `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` + loop controls, the
//! `raise_exception` / `strftime_now` globals, HF's `tojson`, and Python `str` methods/printing.

use minijinja::value::{Kwargs, Value, ValueKind, from_args};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use crate::py::{self, JsonOptions, is_py_space};
use crate::strftime::DateTime;

/// Upper bound on executed template instructions per render (a runaway template fails with an
/// error instead of hanging; real chat templates use a few hundred per message).
const FUEL: u64 = 20_000_000;

/// The message of a `raise_exception(...)` call, carried as the source of the minijinja error so
/// that `render` can report it verbatim.
#[derive(Debug)]
pub(crate) struct RaisedException(pub String);

impl std::fmt::Display for RaisedException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RaisedException {}

/// A fresh environment with every template-visible helper registered. No loader is installed, so
/// `{% include %}`, `{% import %}` and `{% extends %}` can never reach the file system.
pub(crate) fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    // jinja2's default `Undefined`: prints as "", iterates as empty, fails on attribute access.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    // Never HTML-escape, whatever the template name looks like.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_formatter(python_formatter);
    env.set_unknown_method_callback(python_method);
    env.add_filter("tojson", tojson);
    env.add_filter("trim", trim);
    env.add_filter("string", |v: Value| py::py_str(&v));
    env.add_filter("join", join);
    env.add_filter("int", int_filter);
    env.add_filter("float", float_filter);
    env.add_filter("indent", indent);
    env.add_filter("truncate", truncate);
    env.add_filter("wordcount", |v: Value| {
        let s = py::py_str(&v);
        s.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).count()
    });
    env.add_filter("round", round);
    env.add_filter("center", |v: Value, width: Option<usize>| {
        let s = py::py_str(&v);
        let (n, width) = (s.chars().count(), width.unwrap_or(80));
        if width <= n {
            return s;
        }
        // CPython's str.center padding split.
        let margin = width - n;
        let left = margin / 2 + (margin & width & 1);
        format!("{}{s}{}", " ".repeat(left), " ".repeat(margin - left))
    });
    env.add_test("callable", |v: Value| v.kind() == ValueKind::Plain);
    // jinja2: anything with len() and [] (so strings and dicts too).
    env.add_test("sequence", |v: Value| {
        matches!(v.kind(), ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes)
    });
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", |fmt: String| DateTime::now().format(&fmt));
    env
}

/// `{{ value }}` prints `str(value)` as Python does: `None`, `True`, `1e+20`, `['a', 1]`.
fn python_formatter(out: &mut Output<'_>, _state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::Undefined => return Ok(()),
        ValueKind::String => {
            return out.write_str(value.as_str().unwrap_or_default()).map_err(|_| Error::from(ErrorKind::WriteFailure));
        }
        ValueKind::None
        | ValueKind::Bool
        | ValueKind::Number
        | ValueKind::Seq
        | ValueKind::Map
        | ValueKind::Iterable => py::py_str(value),
        _ => value.to_string(),
    };
    out.write_str(&text).map_err(|_| Error::from(ErrorKind::WriteFailure))
}

/// `raise_exception(message)`: aborts rendering; the message reaches `ChatError::Render` verbatim.
fn raise_exception(message: Option<Value>) -> Result<Value, Error> {
    let message = message.map(|m| py::py_str(&m)).unwrap_or_default();
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(RaisedException(message)))
}

/// The `tojson` filter exactly as transformers defines it:
/// `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)` (no HTML escaping).
fn tojson(value: Value, args: minijinja::value::Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let positional = |i: usize| args.get(i).cloned();
    let arg = |i: usize, name: &str| -> Result<Option<Value>, Error> {
        Ok(match kwargs.get::<Option<Value>>(name)? {
            Some(v) => Some(v),
            None => positional(i),
        })
    };
    if args.len() > 4 {
        return Err(Error::new(ErrorKind::TooManyArguments, "tojson takes at most 4 positional arguments"));
    }
    let ensure_ascii = arg(0, "ensure_ascii")?.is_some_and(|v| v.is_true());
    let indent = match arg(1, "indent")? {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.kind() {
            ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
            ValueKind::Number if v.is_integer() => {
                let n = i64::try_from(v.clone()).unwrap_or(0).clamp(0, 1024);
                " ".repeat(usize::try_from(n).unwrap_or(0))
            }
            ValueKind::Bool => " ".repeat(usize::from(v.is_true())),
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: indent must be an int or a string, not {kind}"),
                ));
            }
        }),
    };
    let separators = match arg(2, "separators")? {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => {
            let parts: Vec<Value> = v.try_iter()?.collect();
            match parts.as_slice() {
                [item, key] if item.as_str().is_some() && key.as_str().is_some() => {
                    Some((item.as_str().unwrap_or_default().to_owned(), key.as_str().unwrap_or_default().to_owned()))
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "tojson: separators must be an (item_separator, key_separator) pair of strings",
                    ));
                }
            }
        }
    };
    let sort_keys = arg(3, "sort_keys")?.is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    py::json_dumps(&value, &JsonOptions::new(ensure_ascii, indent, separators, sort_keys))
}

/// Python `str.strip(chars)` / `lstrip` / `rstrip`.
fn py_strip<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let pred = |c: char| match chars {
        Some(set) => set.contains(c),
        None => is_py_space(c),
    };
    match (left, right) {
        (true, true) => s.trim_matches(pred),
        (true, false) => s.trim_start_matches(pred),
        (false, true) => s.trim_end_matches(pred),
        (false, false) => s,
    }
}

/// The `trim` filter: jinja2's `soft_str(value).strip(chars)`.
fn trim(value: Value, chars: Option<Value>) -> String {
    let s = py::py_str(&value);
    let chars = chars.filter(|c| !c.is_none() && !c.is_undefined()).map(|c| py::py_str(&c));
    py_strip(&s, chars.as_deref(), true, true).to_owned()
}

/// The `join` filter: jinja2 joins `str(item)` (so `None` joins as "None"); `attribute=` supported.
fn join(value: Value, sep: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let attribute: Option<Value> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    if let Some(s) = value.as_str() {
        // Joining a string joins its characters.
        let sep = sep.unwrap_or_default();
        return Ok(s.chars().map(String::from).collect::<Vec<_>>().join(&sep));
    }
    let sep = sep.unwrap_or_default();
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        let item = match &attribute {
            Some(attr) => match attr.as_str() {
                Some(path) => path.split('.').try_fold(item, |v, part| match part.parse::<i64>() {
                    Ok(idx) => v.get_item(&Value::from(idx)),
                    Err(_) => v.get_attr(part),
                })?,
                None => item.get_item(attr)?,
            },
            None => item,
        };
        out.push_str(&py::py_str(&item));
    }
    Ok(out)
}

/// Python `int(text)` / `float(text)` parsing as jinja2's `int`/`float` filters use it.
fn parse_py_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_py_space).replace('_', "");
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')) {
        // Only plain decimal literals (no "inf"/"nan"/hex), like the common case of Python's float().
        return None;
    }
    t.parse::<f64>().ok()
}

/// jinja2's `int(value, default=0, base=10)`: ints pass, floats truncate, strings parse (as int,
/// then as float), anything else gives `default`.
fn int_filter(value: Value, default: Option<Value>, base: Option<u32>) -> Value {
    let default = default.unwrap_or(Value::from(0));
    match value.kind() {
        ValueKind::Number if value.is_integer() => value,
        ValueKind::Number => f64::try_from(value).map_or(default, |f| Value::from(f.trunc() as i64)),
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim_matches(is_py_space).replace('_', "");
            let base = base.unwrap_or(10);
            if (2..=36).contains(&base)
                && let Ok(i) = i64::from_str_radix(&s, base)
            {
                return Value::from(i);
            }
            if base == 10
                && let Some(f) = parse_py_number(&s)
                && f.is_finite()
            {
                return Value::from(f.trunc() as i64);
            }
            default
        }
        _ => default,
    }
}

/// jinja2's `float(value, default=0.0)`.
fn float_filter(value: Value, default: Option<Value>) -> Value {
    let default = default.unwrap_or(Value::from(0.0));
    match value.kind() {
        ValueKind::Number => f64::try_from(value).map_or(default, Value::from),
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::String => parse_py_number(value.as_str().unwrap_or_default()).map_or(default, Value::from),
        _ => default,
    }
}

/// jinja2's `round(value, precision=0, method='common')`: `common` is Python's `round()` (half to
/// even on the exact binary value), `ceil`/`floor` scale by `10**precision`.
fn round(value: Value, precision: Option<i32>, method: Option<String>) -> Result<Value, Error> {
    let precision = precision.unwrap_or(0).clamp(-308, 308);
    let method = method.unwrap_or_else(|| "common".to_owned());
    if value.is_integer() && method == "common" && precision >= 0 {
        return Ok(value);
    }
    let x = f64::try_from(value)?;
    let scale = 10f64.powi(precision);
    let rounded = match method.as_str() {
        "common" if precision >= 0 => {
            let digits = usize::try_from(precision).unwrap_or(0);
            format!("{x:.digits$}").parse::<f64>().unwrap_or(x)
        }
        "common" => (x * scale).round_ties_even() / scale,
        "ceil" => (x * scale).ceil() / scale,
        "floor" => (x * scale).floor() / scale,
        _ => return Err(Error::new(ErrorKind::InvalidOperation, "method must be common, ceil or floor")),
    };
    Ok(Value::from(rounded))
}

/// jinja2's `indent(s, width=4, first=False, blank=False)` (width may be a string).
fn indent(value: Value, width: Option<Value>, first: Option<bool>, blank: Option<bool>) -> String {
    let indention = match &width {
        None => "    ".to_owned(),
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_owned(),
        Some(w) => " ".repeat(usize::try_from(i64::try_from(w.clone()).unwrap_or(4).clamp(0, 1024)).unwrap_or(0)),
    };
    let text = py::py_str(&value) + "\n";
    let lines = py_splitlines(&text, false);
    let mut out = if blank.unwrap_or(false) {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut iter = lines.into_iter();
        let mut out = iter.next().unwrap_or_default();
        let rest: Vec<String> =
            iter.map(|line| if line.is_empty() { line } else { format!("{indention}{line}") }).collect();
        if !rest.is_empty() {
            out.push('\n');
            out.push_str(&rest.join("\n"));
        }
        out
    };
    if first.unwrap_or(false) {
        out.insert_str(0, &indention);
    }
    out
}

/// jinja2's `truncate(s, length=255, killwords=False, end='...', leeway=5)`, counting characters.
fn truncate(
    value: Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    leeway: Option<usize>,
) -> Result<String, Error> {
    let s = py::py_str(&value);
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".to_owned());
    let end_len = end.chars().count();
    if length < end_len {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("expected length >= {end_len}, got {length}")));
    }
    if s.chars().count() <= length.saturating_add(leeway.unwrap_or(5)) {
        return Ok(s);
    }
    let head: String = s.chars().take(length - end_len).collect();
    if killwords.unwrap_or(false) {
        return Ok(head + &end);
    }
    let head = match head.rsplit_once(' ') {
        Some((before, _)) => before.to_owned(),
        None => head,
    };
    Ok(head + &end)
}

/// Python `str.split(sep=None, maxsplit=-1)`.
fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    match sep {
        Some("") => return Err(Error::new(ErrorKind::InvalidOperation, "empty separator")),
        Some(sep) => {
            let mut rest = s;
            let mut splits = 0i64;
            while maxsplit < 0 || splits < maxsplit {
                match rest.find(sep) {
                    Some(pos) => {
                        parts.push(rest[..pos].to_owned());
                        rest = &rest[pos + sep.len()..];
                        splits += 1;
                    }
                    None => break,
                }
            }
            parts.push(rest.to_owned());
        }
        None => {
            let mut rest = s.trim_start_matches(is_py_space);
            let mut splits = 0i64;
            while !rest.is_empty() {
                if maxsplit >= 0 && splits >= maxsplit {
                    parts.push(rest.to_owned());
                    break;
                }
                let end = rest.find(is_py_space).unwrap_or(rest.len());
                parts.push(rest[..end].to_owned());
                rest = rest[end..].trim_start_matches(is_py_space);
                splits += 1;
            }
        }
    }
    Ok(parts)
}

/// Python `str.splitlines(keepends=False)`.
fn py_splitlines(s: &str, keepends: bool) -> Vec<String> {
    let is_break = |c: char| {
        matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}')
    };
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if !is_break(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' && iter.peek().map(|&(_, n)| n) == Some('\n') {
            iter.next();
            end += 1;
        }
        lines.push(s[start..if keepends { end } else { i }].to_owned());
        start = end;
    }
    if start < s.len() {
        lines.push(s[start..].to_owned());
    }
    lines
}

/// Character index of a byte offset (Python indexes strings by code point).
fn char_index(s: &str, byte: usize) -> i64 {
    i64::try_from(s[..byte].chars().count()).unwrap_or(i64::MAX)
}

/// Python methods on strings, dicts and lists (`.strip()`, `.split()`, `.items()`, `.get()`, ...):
/// the ones whose minijinja-contrib version differs from CPython are implemented here, the rest
/// come from `minijinja_contrib::pycompat`.
fn python_method(state: &State<'_, '_>, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        match method {
            "strip" | "lstrip" | "rstrip" => {
                let (chars,): (Option<Value>,) = from_args(args)?;
                let chars = chars.filter(|c| !c.is_none()).map(|c| py::py_str(&c));
                let (left, right) = (method != "rstrip", method != "lstrip");
                return Ok(Value::from(py_strip(s, chars.as_deref(), left, right)));
            }
            "split" | "rsplit" if method == "split" || args.is_empty() => {
                let (sep, maxsplit): (Option<Value>, Option<i64>) = from_args(args)?;
                let sep = sep.filter(|v| !v.is_none()).map(|v| py::py_str(&v));
                return Ok(Value::from(py_split(s, sep.as_deref(), maxsplit.unwrap_or(-1))?));
            }
            "splitlines" => {
                let (keepends,): (Option<bool>,) = from_args(args)?;
                return Ok(Value::from(py_splitlines(s, keepends.unwrap_or(false))));
            }
            "isspace" => {
                let () = from_args(args)?;
                return Ok(Value::from(!s.is_empty() && s.chars().all(is_py_space)));
            }
            "find" | "rfind" | "index" | "rindex" => {
                let (needle,): (String,) = from_args(args)?;
                let pos = if method.starts_with('r') { s.rfind(&needle) } else { s.find(&needle) };
                return match pos {
                    Some(pos) => Ok(Value::from(char_index(s, pos))),
                    None if method.ends_with("find") => Ok(Value::from(-1)),
                    None => Err(Error::new(ErrorKind::InvalidOperation, "substring not found")),
                };
            }
            "count" => {
                let (needle,): (String,) = from_args(args)?;
                let n = if needle.is_empty() { s.chars().count() + 1 } else { s.matches(&needle).count() };
                return Ok(Value::from(n));
            }
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Rewrites transformers' `{% generation %}` / `{% endgeneration %}` tags (its `AssistantTracker`
/// extension, used by templates that support `return_assistant_tokens_mask`) into the equivalent
/// `{% if true %}` / `{% endif %}`, keeping whitespace-control modifiers. Rendering is identical to
/// the reference implementation, which just emits the body.
pub(crate) fn rewrite_generation_tags(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("generation") {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(pos) = rest.find("{%") {
        out.push_str(&rest[..pos]);
        let tag = &rest[pos..];
        match match_generation_tag(tag) {
            Some((kw_start, kw_end, replacement)) => {
                out.push_str(&tag[..kw_start]);
                out.push_str(replacement);
                let close = tag[kw_end..].find("%}").map_or(tag.len(), |i| kw_end + i + 2);
                out.push_str(&tag[kw_end..close]);
                rest = &tag[close..];
            }
            None => {
                out.push_str("{%");
                rest = &tag[2..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// For a `tag` starting with `{%`: the keyword's byte range and replacement when it is exactly a
/// `generation` / `endgeneration` tag.
fn match_generation_tag(tag: &str) -> Option<(usize, usize, &'static str)> {
    let bytes = tag.as_bytes();
    let mut i = 2;
    if matches!(bytes.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let (keyword, replacement) = if tag[i..].starts_with("endgeneration") {
        ("endgeneration", "endif")
    } else if tag[i..].starts_with("generation") {
        ("generation", "if true")
    } else {
        return None;
    };
    let kw_end = i + keyword.len();
    let mut j = kw_end;
    while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
        j += 1;
    }
    if matches!(bytes.get(j), Some(b'-' | b'+')) {
        j += 1;
    }
    tag[j..].starts_with("%}").then_some((i, kw_end, replacement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_tags_become_if_blocks() {
        assert_eq!(
            rewrite_generation_tags("a{%- generation -%}b{% endgeneration %}c{% generations %}{%generation%}"),
            "a{%- if true -%}b{% endif %}c{% generations %}{%if true%}"
        );
        assert_eq!(rewrite_generation_tags("no tags {% if x %}"), "no tags {% if x %}");
        assert_eq!(rewrite_generation_tags("{% generation"), "{% generation");
    }

    #[test]
    fn split_matches_python() {
        let split = |s: &str, sep: Option<&str>, n: i64| py_split(s, sep, n).unwrap_or_default();
        assert_eq!(split("  a  b c ", None, -1), ["a", "b", "c"]);
        assert_eq!(split("  a  b c ", None, 1), ["a", "b c "]);
        assert_eq!(split("", None, -1), Vec::<String>::new());
        assert_eq!(split("a,b,,c", Some(","), -1), ["a", "b", "", "c"]);
        assert_eq!(split("a,b,,c", Some(","), 2), ["a", "b", ",c"]);
        assert_eq!(split("", Some(","), -1), [""]);
        assert!(py_split("x", Some(""), -1).is_err());
    }

    #[test]
    fn splitlines_matches_python() {
        assert_eq!(py_splitlines("a\r\nb\rc\n\nd\u{2028}e\n", false), ["a", "b", "c", "", "d", "e"]);
        assert_eq!(py_splitlines("a\r\nb\n", true), ["a\r\n", "b\n"]);
        assert_eq!(py_splitlines("", false), Vec::<String>::new());
    }
}
