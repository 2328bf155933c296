//! The importers: every format loads its good rows and lists the bad ones with their line and
//! reason; format detection from the file name and the content.

use arbitre_pilot::import::Import;
use arbitre_pilot::{Assert, Expected, Format, ImportOptions, Message, PilotError, TaskInput, detect, import};
use serde_json::json;

fn load(name: &str, text: &str) -> Import {
    import(name, text, &ImportOptions::default()).expect("file loads")
}

fn with_template(name: &str, text: &str, template: &str) -> Import {
    let options = ImportOptions { prompt_template: Some(template.into()), ..ImportOptions::default() };
    import(name, text, &options).expect("file loads")
}

/// The (line, reason) pairs of an import's errors.
fn errors(i: &Import) -> Vec<(usize, String)> {
    i.errors.iter().map(|e| (e.line, e.reason.clone())).collect()
}

fn error_on(i: &Import, line: usize, needle: &str) {
    assert!(
        i.errors.iter().any(|e| e.line == line && e.reason.contains(needle)),
        "no error on line {line} containing {needle:?}: {:?}",
        errors(i)
    );
}

fn ids(i: &Import) -> Vec<&str> {
    i.tasks.iter().map(|t| t.id.as_str()).collect()
}

#[test]
fn arbitre_jsonl_loads_good_rows_and_reports_bad_ones() {
    let text = [
        r#"{"id": "a", "prompt": "Capitale de la France ?", "expected": "Paris", "metadata": {"lang": "fr"}}"#,
        r#"{"id": "b", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}], "asserts": [{"type": "icontains", "value": "hello"}]}"#,
        "",
        r#"{"id": "c", "prompt": "broken""#,
        r#"{"id": "d"}"#,
        r#"{"id": "e", "prompt": "x", "asserts": [{"type": "javascript", "value": "output.length > 3"}]}"#,
        r#"{"id": "f", "prompt": "x", "asserts": [{"type": "regex", "pattern": "(unclosed"}]}"#,
        r#"{"id": "a", "prompt": "duplicate"}"#,
        r#"["not", "an", "object"]"#,
        r#"{"prompt": "no id", "expected": ["1", 1.5], "assert": [{"type": "numeric", "value": 1.5}], "source": "quiz"}"#,
        r#"{"id": "g", "prompt": "x", "messages": [{"role": "user", "content": "y"}]}"#,
        r#"{"id": "h", "prompt": "x", "asserts": [{"type": "contains"}]}"#,
    ]
    .join("\n");
    let i = load("tasks.jsonl", &text);
    assert_eq!(i.format, Format::ArbitreJsonl);
    assert_eq!(ids(&i), vec!["a", "b", "line-10"]);
    assert_eq!(i.tasks[0].input, TaskInput::Prompt("Capitale de la France ?".into()));
    assert_eq!(i.tasks[0].metadata.get("lang"), Some(&json!("fr")));
    assert_eq!(
        i.tasks[1].input,
        TaskInput::Messages(vec![
            Message { role: "system".into(), content: "Be brief.".into() },
            Message { role: "user".into(), content: "Hi there".into() },
        ])
    );
    assert_eq!(i.tasks[2].expected, Some(Expected::AnyOf(vec!["1".into(), "1.5".into()])));
    assert_eq!(i.tasks[2].asserts, vec![Assert::Numeric { value: 1.5, tolerance: 0.0 }]);
    assert_eq!(i.tasks[2].metadata.get("source"), Some(&json!("quiz")));
    error_on(&i, 4, "not JSON");
    error_on(&i, 5, "no `messages` and no `prompt`");
    error_on(&i, 6, "unsupported assert type \"javascript\"");
    error_on(&i, 7, "invalid regex");
    error_on(&i, 8, "duplicate id \"a\" (first on line 1)");
    error_on(&i, 9, "expected a JSON object");
    error_on(&i, 11, "both `messages` and `prompt`");
    error_on(&i, 12, "contains");
    assert_eq!(i.errors.len(), 8, "{:?}", errors(&i));
}

#[test]
fn evals_jsonl_chat_or_string_input_and_ideal_lists() {
    let text = [
        r#"{"input": [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "2+2?"}], "ideal": "4"}"#,
        r#"{"input": "Color of the sky?", "ideal": ["blue", "bleu"]}"#,
        r#"{"ideal": "orphan"}"#,
        r#"{"input": [{"content": "no role"}], "ideal": "x"}"#,
        r#"{"input": "x", "ideal": {"a": 1}}"#,
        r#"{"input": "   ", "ideal": "x"}"#,
        r#"{"id": 7, "input": "Q", "ideal": 12, "tags": ["math"]}"#,
    ]
    .join("\n");
    let i = load("samples.jsonl", &text);
    assert_eq!(i.format, Format::EvalsJsonl);
    assert_eq!(ids(&i), vec!["line-1", "line-2", "7"]);
    assert!(matches!(&i.tasks[0].input, TaskInput::Messages(m) if m.len() == 2 && m[1].content == "2+2?"));
    assert_eq!(i.tasks[1].expected, Some(Expected::AnyOf(vec!["blue".into(), "bleu".into()])));
    assert_eq!(i.tasks[2].expected, Some(Expected::One("12".into())));
    assert_eq!(i.tasks[2].metadata.get("tags"), Some(&json!(["math"])));
    error_on(&i, 3, "no `input`");
    error_on(&i, 4, "role");
    error_on(&i, 5, "ideal must be text");
    error_on(&i, 6, "input is empty");
    assert_eq!(i.errors.len(), 4);
}

#[test]
fn promptfoo_csv_expected_prefixes_metadata_and_bad_rows() {
    let text = "\u{feff}question,lang,__expected,__expected2,__description,__metadata:team\n\
        Capital of France?,en,Paris,,capital,geo\n\
        Capitale de l'Italie ?,fr,equals:Rome,icontains:rome,capitale,geo\n\
        Say hi,en,contains:hi,starts-with:Hi,,\n\
        Pick colors,en,\"contains-any:red,green\",\"contains-all:red, blue\",,\n\
        JSON please,en,is-json,not-contains:error,,\n\
        Run code,en,javascript:output.length > 3,,,\n\
        Too,many,cells,here,x,y,z\n\
        Pattern,en,regex:^\\d+$,,,\n\
        \"Multi\nline\",en,\"icontains:a\nb\",,,\n\
        Thresholds,en,levenshtein(2):kitten,latency(1500),,\n\
        Grade,en,llm-rubric:is polite,,,\n";
    let i = with_template("tests.csv", text, "[{{ lang }}] {{ question }}");
    assert_eq!(i.format, Format::PromptfooCsv);
    assert_eq!(ids(&i), vec!["1", "2", "3", "4", "5", "8", "9", "10"]);
    let t1 = &i.tasks[0];
    assert_eq!(t1.input, TaskInput::Prompt("[en] Capital of France?".into()));
    assert_eq!(t1.asserts, vec![Assert::Equals { value: "Paris".into() }]);
    assert_eq!(t1.expected, Some(Expected::One("Paris".into())));
    assert_eq!(t1.metadata.get("description"), Some(&json!("capital")));
    assert_eq!(t1.metadata.get("team"), Some(&json!("geo")));
    assert_eq!(t1.metadata.get("vars"), Some(&json!({"question": "Capital of France?", "lang": "en"})));
    assert_eq!(
        i.tasks[1].asserts,
        vec![Assert::Equals { value: "Rome".into() }, Assert::Icontains { value: "rome".into() }]
    );
    assert_eq!(
        i.tasks[2].asserts,
        vec![Assert::Contains { value: "hi".into() }, Assert::StartsWith { value: "Hi".into() }]
    );
    assert_eq!(
        i.tasks[3].asserts,
        vec![
            Assert::ContainsAny { values: vec!["red".into(), "green".into()] },
            Assert::ContainsAll { values: vec!["red".into(), "blue".into()] },
        ]
    );
    assert_eq!(
        i.tasks[4].asserts,
        vec![
            Assert::IsJson { schema: None },
            Assert::Not { assert: Box::new(Assert::Contains { value: "error".into() }) },
        ]
    );
    assert_eq!(i.tasks[5].asserts, vec![Assert::Regex { pattern: r"^\d+$".into() }]);
    assert_eq!(i.tasks[6].input, TaskInput::Prompt("[en] Multi\nline".into()));
    assert_eq!(i.tasks[6].asserts, vec![Assert::Icontains { value: "a\nb".into() }]);
    assert_eq!(
        i.tasks[7].asserts,
        vec![
            Assert::Levenshtein { value: "kitten".into(), min_similarity: None, max_distance: Some(2) },
            Assert::Latency { max_ms: 1500 },
        ]
    );
    // Lines count from the file's first line (the header is line 1; the quoted cells span three).
    error_on(&i, 7, "javascript");
    error_on(&i, 8, "7 cells where the header has 6");
    error_on(&i, 14, "llm-rubric");
    assert_eq!(i.errors.len(), 3, "{:?}", errors(&i));
}

#[test]
fn promptfoo_csv_template_guessing_and_missing_variables() {
    // One variable column: it is the prompt.
    let i = load("t.csv", "topic,__expected\nBonjour,contains:jour\n");
    assert_eq!(i.tasks[0].input, TaskInput::Prompt("Bonjour".into()));
    // No template and nothing to guess from: the whole file is refused, naming the columns.
    let err =
        import("t.csv", "topic,tone,__expected\na,b,c\n", &ImportOptions::default()).expect_err("needs a template");
    assert!(matches!(&err, PilotError::NeedsTemplate { reason, .. } if reason.contains("topic, tone")), "{err}");
    // A template variable that a row lacks is a row error; a bad template is refused.
    let i = with_template("t.csv", "topic,__expected\nx,y\n", "Write about {{ topic }} in {{ tone }}");
    error_on(&i, 2, "uses {{ tone }}, which this test does not set");
    assert!(i.tasks.is_empty());
    let err = import(
        "t.csv",
        "topic\nx\n",
        &ImportOptions { prompt_template: Some("{{ topic".into()), ..ImportOptions::default() },
    )
    .expect_err("bad template");
    assert!(matches!(err, PilotError::Template { .. }));
    // Globals and optional variables are fine.
    let i = with_template(
        "t.csv",
        "q\nHi\n",
        "{% for n in range(2) %}{{ q }}{% endfor %}{% if extra is defined %}{{ extra }}{% endif %}",
    );
    assert_eq!(errors(&i), vec![]);
    assert_eq!(i.tasks[0].input, TaskInput::Prompt("HiHi".into()));
    // A template that renders a JSON list of messages gives a chat input.
    let i = with_template(
        "t.csv",
        "q\nHello\n",
        r#"[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "{{ q }}"}]"#,
    );
    assert!(matches!(&i.tasks[0].input, TaskInput::Messages(m) if m[1].content == "Hello"));
}

const YAML: &str = r#"# promptfoo config
description: Triage
prompts:
  - "Classify: {{ ticket }}"
defaultTest:
  assert:
    - type: word-count
      max: 3
tests:
  - description: billing
    vars:
      ticket: I was charged twice
    assert:
      - type: equals
        value: billing
  - vars:
      ticket: "L'application plante"
    assert:
      - type: icontains-any
        value: [technical, technique]
      - type: not-contains
        value: sorry
  - vars:
      ticket: Be nice
    assert:
      - type: llm-rubric
        value: is polite
  - vars:
      ticket: Need JSON
    assert:
      - type: is-json
        value:
          type: object
          required: [label]
      - type: latency
        threshold: 2000
      - type: f1
        value: billing issue
        threshold: 0.4
  - vars: [not, a, map]
  - vars:
      other: no ticket variable
"#;

#[test]
fn promptfoo_yaml_tests_with_lines_for_bad_tests() {
    let i = load("promptfooconfig.yaml", YAML);
    assert_eq!(i.format, Format::PromptfooYaml);
    assert_eq!(ids(&i), vec!["1", "2", "4"]);
    let t1 = &i.tasks[0];
    assert_eq!(t1.input, TaskInput::Prompt("Classify: I was charged twice".into()));
    assert_eq!(
        t1.asserts,
        vec![Assert::WordCount { min: None, max: Some(3) }, Assert::Equals { value: "billing".into() }]
    );
    assert_eq!(t1.metadata.get("description"), Some(&json!("billing")));
    assert_eq!(
        i.tasks[1].asserts[1..],
        [
            Assert::IcontainsAny { values: vec!["technical".into(), "technique".into()] },
            Assert::Not { assert: Box::new(Assert::Contains { value: "sorry".into() }) },
        ]
    );
    assert_eq!(
        i.tasks[2].asserts[1..],
        [
            Assert::IsJson { schema: Some(json!({"type": "object", "required": ["label"]})) },
            Assert::Latency { max_ms: 2000 },
            Assert::F1 { value: "billing issue".into(), threshold: 0.4 },
        ]
    );
    error_on(&i, 23, "\"llm-rubric\" is not supported");
    error_on(&i, 40, "vars must be a mapping");
    error_on(&i, 41, "uses {{ ticket }}, which this test does not set");
    assert_eq!(i.errors.len(), 3, "{:?}", errors(&i));
}

#[test]
fn promptfoo_yaml_bare_list_several_prompts_and_syntax_errors() {
    let bare = "- vars: {q: Bonjour}\n  assert: [{type: contains, value: jour}]\n- vars: {q: Salut}\n";
    let i = load("tests.yml", bare);
    assert_eq!(ids(&i), vec!["1", "2"], "the only variable is the prompt");
    assert_eq!(i.tasks[1].input, TaskInput::Prompt("Salut".into()));

    let two = "prompts: ['Q: {{q}}', 'Question : {{q}}']\ntests:\n  - vars: {q: x}\n";
    let i = load("c.yaml", two);
    assert_eq!(ids(&i), vec!["1-p1", "1-p2"]);
    assert_eq!(i.tasks[1].input, TaskInput::Prompt("Question : x".into()));

    let file_prompt = "prompts: ['file://prompt.txt']\ntests:\n  - vars: {q: x}\n";
    let err = import("c.yaml", file_prompt, &ImportOptions::default()).expect_err("prompt in another file");
    assert!(err.to_string().contains("paste its text"), "{err}");
    // A template given by the person replaces the file's prompts.
    let i = with_template("c.yaml", file_prompt, "{{ q }}!");
    assert_eq!(i.tasks[0].input, TaskInput::Prompt("x!".into()));

    let broken = "tests:\n  - vars: {q: x}\n  - vars: [unclosed\n";
    match import("c.yaml", broken, &ImportOptions::default()) {
        Err(PilotError::Malformed { line, .. }) => assert!(line >= 3, "line {line}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let i = load("c.yaml", "tests:\n  - vars: {q: 'file://q.txt'}\n  - vars: {q: ok}\n");
    assert_eq!(ids(&i), vec!["2"]);
    error_on(&i, 2, "paste that file's text instead");
    let err = import("c.yaml", "tests: file://tests.csv\n", &ImportOptions::default()).expect_err("external tests");
    assert!(err.to_string().contains("load that file instead"));
}

#[test]
fn promptfoo_json_config_reports_test_lines() {
    let text = r#"{
  "prompts": ["Translate to French: {{text}}"],
  "tests": [
    {"vars": {"text": "Good morning"}, "assert": [{"type": "icontains", "value": "bonjour"}]},
    {"vars": {"text": "Hello"},
     "assert": [{"type": "python", "value": "file://check.py"}]},
    {"vars": {"text": "Thanks"}, "assert": [{"type": "levenshtein", "value": "Merci"}]},
    "not a test"
  ]
}"#;
    let i = load("config.json", text);
    assert_eq!(i.format, Format::PromptfooJson);
    assert_eq!(ids(&i), vec!["1", "3"]);
    assert_eq!(
        i.tasks[1].asserts,
        vec![Assert::Levenshtein { value: "Merci".into(), min_similarity: None, max_distance: Some(5) }]
    );
    error_on(&i, 5, "python");
    error_on(&i, 8, "a test must be an object");
    assert_eq!(i.errors.len(), 2);
}

#[test]
fn plain_csv_input_expected_and_delimiters() {
    let text = "id;input;expected;category\nq1;\"Combien font 2 + 2 ?\";4;math\nq2;;x;empty\nq3;Capital of Japan?;;geo\nq4;only;two\n";
    let i = load("plain.csv", text);
    assert_eq!(i.format, Format::PlainCsv);
    assert_eq!(ids(&i), vec!["q1", "q3"]);
    assert_eq!(i.tasks[0].input, TaskInput::Prompt("Combien font 2 + 2 ?".into()));
    assert_eq!(i.tasks[0].expected, Some(Expected::One("4".into())));
    assert_eq!(i.tasks[0].metadata.get("category"), Some(&json!("math")));
    assert_eq!(i.tasks[1].expected, None);
    error_on(&i, 3, "empty input");
    error_on(&i, 5, "3 cells where the header has 4");
    assert_eq!(i.errors.len(), 2);

    let tsv = load("plain.tsv", "input\texpected\nHello, world\tbonjour\n");
    assert_eq!(tsv.tasks[0].input, TaskInput::Prompt("Hello, world".into()));
    assert_eq!(tsv.tasks[0].id, "1");

    let err = import(
        "p.csv",
        "question,answer\nx,y\n",
        &ImportOptions { format: Some(Format::PlainCsv), prompt_template: None },
    )
    .expect_err("no input column");
    assert!(err.to_string().contains("no `input` column"));
}

#[test]
fn format_detection() {
    assert_eq!(detect("x.jsonl", "{\"id\": 1, \"prompt\": \"p\"}\n"), Ok(Format::ArbitreJsonl));
    assert_eq!(detect("x.jsonl", "{\"input\": \"p\", \"ideal\": \"q\"}\n"), Ok(Format::EvalsJsonl));
    assert_eq!(detect("x.json", "{\"tests\": []}"), Ok(Format::PromptfooJson));
    assert_eq!(detect("x.json", "[{\"vars\": {}}]"), Ok(Format::PromptfooJson));
    assert_eq!(
        detect("x.json", "{\"id\": 1, \"prompt\": \"p\"}\n{\"id\": 2, \"prompt\": \"q\"}"),
        Ok(Format::ArbitreJsonl)
    );
    assert_eq!(detect("X.YAML", "tests: []"), Ok(Format::PromptfooYaml));
    assert_eq!(detect("x.csv", "input,expected\na,b\n"), Ok(Format::PlainCsv));
    assert_eq!(detect("x.csv", "question,__expected\na,b\n"), Ok(Format::PromptfooCsv));
    assert_eq!(detect("x.csv", "topic,tone\na,b\n"), Ok(Format::PromptfooCsv));
    // Pasted text, no file name.
    assert_eq!(detect("", "{\"input\": [], \"ideal\": \"x\"}"), Ok(Format::EvalsJsonl));
    assert_eq!(detect("", "prompts: [x]\ntests:\n  - vars: {}\n"), Ok(Format::PromptfooYaml));
    assert_eq!(detect("", "input;expected\nx;y\n"), Ok(Format::PlainCsv));
    assert!(matches!(detect("notes.txt", "just some words"), Err(PilotError::UnknownFormat { .. })));
    assert!(matches!(detect("x.json", "{\"hello\": 1}"), Err(PilotError::UnknownFormat { .. })));
}
