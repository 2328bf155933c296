//! Byte-for-byte comparison with the reference implementation (jinja2 configured as transformers'
//! `apply_chat_template`): every case of `cases.json` is rendered and compared with
//! `expected/<case>.txt` (or, for a failing render, `expected/<case>.err`; for a template jinja2
//! does not compile, `expected/<case>.syntax`), which `gen_expected.py` produced with jinja2.

#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

use arbitre_chat::{ChatError, ChatTemplate, Message, RenderOptions};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn spec() -> Value {
    serde_json::from_str(&read(&dir().join("cases.json"))).expect("cases.json parses")
}

/// Renders one case of cases.json with this crate.
fn render_case(spec: &Value, case: &Value) -> Result<String, ChatError> {
    let template = match case.get("source").and_then(Value::as_str) {
        Some(source) => ChatTemplate::new(case["name"].as_str().expect("name"), source)?,
        None => {
            let template_name = case["template"].as_str().expect("template");
            ChatTemplate::new(template_name, &read(&dir().join("templates").join(format!("{template_name}.jinja"))))?
        }
    };
    let messages: Vec<Message> =
        serde_json::from_value(spec["conversations"][case["conversation"].as_str().expect("conversation")].clone())
            .expect("conversation parses");
    let mut extra = case.get("extra").cloned().unwrap_or_else(|| serde_json::json!({}));
    if case.get("tools").and_then(Value::as_bool) == Some(true) {
        extra["tools"] = spec["tools"].clone();
    }
    let opts = RenderOptions {
        add_generation_prompt: case["add_generation_prompt"].as_bool().expect("add_generation_prompt"),
        bos_token: case.get("bos_token").and_then(Value::as_str).unwrap_or_default().to_owned(),
        eos_token: case.get("eos_token").and_then(Value::as_str).unwrap_or_default().to_owned(),
        extra: Some(extra),
    };
    template.render(&messages, &opts)
}

/// Compares one case with its expected file; returns a description of the mismatch.
fn check_case(spec: &Value, case: &Value) -> Option<String> {
    let name = case["name"].as_str().expect("name");
    if case.get("known_difference").is_some() {
        // Documented divergence from jinja2 (see the case's `known_difference`): it only has to
        // fail or succeed cleanly.
        let got = render_case(spec, case);
        let want = fs::read_to_string(dir().join("expected").join(format!("{name}.txt")));
        eprintln!("{name} (known difference): jinja2 {want:?}, arbitre-chat {got:?}");
        return None;
    }
    let expected_dir = dir().join("expected");
    let txt = expected_dir.join(format!("{name}.txt"));
    let err = expected_dir.join(format!("{name}.err"));
    let syntax = expected_dir.join(format!("{name}.syntax"));
    if syntax.exists() {
        // jinja2 rejects it at compile time; minijinja may only notice when rendering (e.g. an
        // unknown filter is looked up at render time). Either failure is fine.
        return match render_case(spec, case) {
            Err(ChatError::Syntax { .. } | ChatError::Render { .. }) => None,
            other => Some(format!("{name}: expected a syntax error ({}), got {other:?}", read(&syntax))),
        };
    }
    match (render_case(spec, case), txt.exists()) {
        (Ok(got), true) => {
            let want = read(&txt);
            (got != want).then(|| format!("{name}: output differs\n--- want\n{want:?}\n--- got\n{got:?}"))
        }
        (Ok(got), false) => Some(format!("{name}: expected an error ({}), got {got:?}", read(&err))),
        (Err(e), true) => Some(format!("{name}: expected output, got error {e}")),
        (Err(ChatError::Render { message, .. }), false) => {
            let want = read(&err);
            if want.starts_with("<non-template error>") || message == want {
                None
            } else {
                Some(format!("{name}: error message differs\n--- want\n{want:?}\n--- got\n{message:?}"))
            }
        }
        (Err(e), false) => Some(format!("{name}: expected a render error, got {e:?}")),
    }
}

/// Checks the cases whose template file name (`inline` for inline sources) passes `filter`,
/// known differences excluded.
fn check_cases(filter: impl Fn(&str) -> bool) {
    check_cases_where(|case| case.get("known_difference").is_none() && filter(template_key(case)));
}

fn template_key(case: &Value) -> &str {
    case.get("template").and_then(Value::as_str).unwrap_or("inline")
}

fn check_cases_where(filter: impl Fn(&Value) -> bool) {
    let spec = spec();
    let cases = spec["cases"].as_array().expect("cases");
    let mut ran = 0;
    let failures: Vec<String> =
        cases.iter().filter(|c| filter(c)).inspect(|_| ran += 1).filter_map(|c| check_case(&spec, c)).collect();
    assert!(ran > 0, "no case matched");
    assert!(failures.is_empty(), "{} of {ran} cases differ from jinja2:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn qwen2_5_instruct_matches_jinja2() {
    check_cases(|t| t == "qwen2.5-instruct");
}

#[test]
fn smollm2_instruct_matches_jinja2() {
    check_cases(|t| t == "smollm2-instruct");
}

#[test]
fn chatml_matches_jinja2() {
    check_cases(|t| t == "chatml");
}

#[test]
fn llama3_2_instruct_matches_jinja2() {
    check_cases(|t| t == "llama3.2-instruct");
}

#[test]
fn tinyllama_chat_matches_jinja2() {
    check_cases(|t| t == "tinyllama-chat");
}

#[test]
fn phi3_5_mini_instruct_matches_jinja2() {
    check_cases(|t| t == "phi3.5-mini-instruct");
}

#[test]
fn llama2_chat_matches_jinja2() {
    check_cases(|t| t == "llama2-chat");
}

#[test]
fn gemma2_it_matches_jinja2() {
    check_cases(|t| t == "gemma2-it");
}

#[test]
fn qwen3_style_template_matches_jinja2() {
    check_cases(|t| t == "qwen3-like");
}

#[test]
fn python_features_match_jinja2() {
    check_cases(|t| t.starts_with("feature-"));
}

#[test]
fn inline_templates_match_jinja2() {
    check_cases(|t| t == "inline");
}

#[test]
fn known_differences_render_without_panicking() {
    check_cases_where(|case| case.get("known_difference").is_some());
}

#[test]
fn every_case_has_an_expected_file() {
    let spec = spec();
    for case in spec["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let expected = dir().join("expected");
        assert!(
            ["txt", "err", "syntax"].iter().any(|ext| expected.join(format!("{name}.{ext}")).exists()),
            "{name}: run tests/gen_expected.py"
        );
    }
}
