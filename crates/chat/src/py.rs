//! Python semantics the reference implementation (jinja2 on CPython) exposes to templates:
//! `json.dumps` (HF's `tojson` filter), `repr`/`str` of values, float repr, `str.isspace`.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// Maximum nesting depth `tojson` and `repr` walk before giving up (CPython raises RecursionError
/// somewhere around 1000 frames; we stay well below any native stack limit).
const MAX_DEPTH: usize = 256;

/// Python's `str.isspace()` for one character (`str.strip()` with no argument strips these).
///
/// Rust's `char::is_whitespace` (Unicode White_Space) plus the ASCII information separators
/// U+001C..U+001F, which CPython also treats as whitespace.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// CPython's `float.__repr__`: shortest round-trip digits, scientific notation when the decimal
/// exponent is < -4 or >= 16, exponent with a sign and at least two digits.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.2345e-5", "1e20".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        let decpt = exp + 1;
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let decpt = decpt as usize;
            if decpt >= digits.len() {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', decpt - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..decpt]);
                out.push('.');
                out.push_str(&digits[decpt..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
    out
}

/// The f64 of a non-integer number value (None for integers and non-numbers).
fn as_float(v: &Value) -> Option<f64> {
    if v.is_number() && !v.is_integer() { f64::try_from(v.clone()).ok() } else { None }
}

/// Python `str(value)`: what jinja2 prints for `{{ value }}`, `| string` and `| join`.
pub(crate) fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        _ => py_repr(v),
    }
}

/// Python `repr(value)` (lists, dicts, strings in containers, None, True/False, floats).
///
/// Tuples cannot be told apart from lists once inside minijinja, so they print as lists.
pub(crate) fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    repr_into(&mut out, v, 0);
    out
}

fn repr_into(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v.kind() {
        ValueKind::Undefined => out.push_str("Undefined"),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => match as_float(v) {
            Some(f) => out.push_str(&float_repr(f)),
            None => out.push_str(&v.to_string()),
        },
        ValueKind::String => str_repr_into(out, v.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(iter) = v.try_iter() {
                for (i, item) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_into(out, &item, depth + 1);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(iter) = v.try_iter() {
                for (i, key) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_into(out, &key, depth + 1);
                    out.push_str(": ");
                    let item = v.get_item(&key).unwrap_or_default();
                    repr_into(out, &item, depth + 1);
                }
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

/// Characters `str.isprintable()` rejects (approximation of categories Cc, Cf, Zl, Zp, Zs, Cs, Co, Cn
/// for the characters that realistically occur: controls, format characters, separators).
fn is_unprintable(c: char) -> bool {
    if c == ' ' {
        return false;
    }
    c.is_control()
        || matches!(c,
            '\u{a0}' | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{1680}'
            | '\u{180e}' | '\u{2000}'..='\u{200f}' | '\u{2028}'..='\u{202f}' | '\u{205f}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}' | '\u{3000}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
            | '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// Python `repr(str)`: single quotes unless the text has `'` and no `"`.
fn str_repr_into(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_unprintable(c) => {
                let n = u32::from(c);
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Options of Python's `json.dumps` as HF's `tojson` filter exposes them.
pub(crate) struct JsonOptions {
    pub ensure_ascii: bool,
    /// `None`: single line. `Some(s)`: one item per line, `s` repeated per nesting level.
    pub indent: Option<String>,
    pub item_separator: String,
    pub key_separator: String,
    pub sort_keys: bool,
}

impl JsonOptions {
    /// `json.dumps` defaults for the given indent and optional `(item_sep, key_sep)`.
    pub fn new(
        ensure_ascii: bool,
        indent: Option<String>,
        separators: Option<(String, String)>,
        sort_keys: bool,
    ) -> Self {
        let (item_separator, key_separator) = separators.unwrap_or_else(|| {
            let item = if indent.is_some() { "," } else { ", " };
            (item.to_owned(), ": ".to_owned())
        });
        JsonOptions { ensure_ascii, indent, item_separator, key_separator, sort_keys }
    }
}

fn not_serializable(v: &Value) -> Error {
    let type_name = match v.kind() {
        ValueKind::Undefined => "Undefined".to_owned(),
        ValueKind::Bytes => "bytes".to_owned(),
        kind => kind.to_string(),
    };
    Error::new(ErrorKind::InvalidOperation, format!("Object of type {type_name} is not JSON serializable"))
}

/// Python `json.dumps(value, ...)`.
pub(crate) fn json_dumps(v: &Value, opts: &JsonOptions) -> Result<String, Error> {
    let mut out = String::new();
    json_into(&mut out, v, opts, 0)?;
    Ok(out)
}

fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(f)
    }
}

/// A dict key as `json.dumps` converts it (str, int, float, bool and None keys are allowed).
fn json_key(k: &Value) -> Result<String, Error> {
    match k.kind() {
        ValueKind::String => Ok(k.as_str().unwrap_or_default().to_owned()),
        ValueKind::Number => Ok(match as_float(k) {
            Some(f) => json_float(f),
            None => k.to_string(),
        }),
        ValueKind::Bool => Ok(if k.is_true() { "true" } else { "false" }.to_owned()),
        ValueKind::None => Ok("null".to_owned()),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("keys must be str, int, float, bool or None, not {kind}"),
        )),
    }
}

fn newline_indent(out: &mut String, opts: &JsonOptions, level: usize) {
    if let Some(indent) = &opts.indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(indent);
        }
    }
}

fn json_into(out: &mut String, v: &Value, opts: &JsonOptions, level: usize) -> Result<(), Error> {
    if level > MAX_DEPTH {
        return Err(Error::new(ErrorKind::InvalidOperation, "maximum recursion depth exceeded in tojson"));
    }
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => match as_float(v) {
            Some(f) => out.push_str(&json_float(f)),
            None => out.push_str(&v.to_string()),
        },
        ValueKind::String => json_str_into(out, v.as_str().unwrap_or_default(), opts.ensure_ascii),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter().map_err(|_| not_serializable(v))?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            newline_indent(out, opts, level + 1);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_separator);
                    newline_indent(out, opts, level + 1);
                }
                json_into(out, item, opts, level + 1)?;
            }
            newline_indent(out, opts, level);
            out.push(']');
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter().map_err(|_| not_serializable(v))?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if opts.sort_keys {
                let all_str = keys.iter().all(|k| k.kind() == ValueKind::String);
                let all_num = keys.iter().all(|k| matches!(k.kind(), ValueKind::Number | ValueKind::Bool));
                if !all_str && !all_num {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "'<' not supported between instances of mixed key types",
                    ));
                }
                keys.sort();
            }
            out.push('{');
            newline_indent(out, opts, level + 1);
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_separator);
                    newline_indent(out, opts, level + 1);
                }
                json_str_into(out, &json_key(key)?, opts.ensure_ascii);
                out.push_str(&opts.key_separator);
                let item = v.get_item(key)?;
                json_into(out, &item, opts, level + 1)?;
            }
            newline_indent(out, opts, level);
            out.push('}');
        }
        _ => return Err(not_serializable(v)),
    }
    Ok(())
}

/// Python's JSON string encoder (`ensure_ascii` escapes everything outside `' '..='~'`).
fn json_str_into(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_cpython() {
        let cases = [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f:?}");
        }
    }

    #[test]
    fn repr_of_strings_picks_quotes_like_python() {
        assert_eq!(py_repr(&Value::from("a")), "'a'");
        assert_eq!(py_repr(&Value::from("it's")), "\"it's\"");
        assert_eq!(py_repr(&Value::from("'\"")), "'\\'\"'");
        assert_eq!(py_repr(&Value::from("a\nb\u{1}é")), "'a\\nb\\x01é'");
    }

    #[test]
    fn json_ensure_ascii_uses_surrogate_pairs() {
        let opts = JsonOptions::new(true, None, None, false);
        assert_eq!(json_dumps(&Value::from("é😀"), &opts).ok().as_deref(), Some("\"\\u00e9\\ud83d\\ude00\""));
    }
}
