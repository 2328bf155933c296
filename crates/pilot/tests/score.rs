//! The deterministic scorers, with their edge cases: unicode, empty answers, JSON in code
//! fences, number formats, articles in two languages.

use arbitre_pilot::score::schema;
use arbitre_pilot::score::text::{
    equals_normalised, levenshtein, levenshtein_similarity, normalise, numbers, rouge_l, token_f1, word_count,
};
use arbitre_pilot::{Assert, CheckResult, Expected, Observation, Task, evaluate, score_task};
use serde_json::json;

fn check(a: &Assert, answer: &str) -> CheckResult {
    evaluate(a, &Observation::answer(answer))
}

fn passes(a: &Assert, answer: &str) -> bool {
    check(a, answer).pass
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn normalisation_drops_case_punctuation_articles_and_spacing() {
    assert_eq!(normalise("  The   Eiffel Tower!! "), "eiffel tower");
    assert_eq!(normalise("L'avion, la gare et les trains."), "avion gare et trains");
    assert_eq!(normalise("Un chat; une souris; des oiseaux"), "chat souris oiseaux");
    assert_eq!(normalise("An apple a day"), "apple day");
    assert_eq!(normalise("ÉTÉ à Paris"), "été à paris");
    assert_eq!(normalise("«Bonjour» — dit-il…"), "bonjour dit il");
    assert_eq!(normalise(""), "");
    assert_eq!(normalise("?!…"), "");
}

#[test]
fn numbers_are_written_one_way() {
    assert_eq!(normalise("1,000"), "1000");
    assert_eq!(normalise("1000.0"), "1000");
    assert_eq!(normalise("1000"), "1000");
    assert_eq!(normalise("1\u{a0}000,50 €"), "1000.5");
    assert_eq!(normalise("$1,234,567.890"), "1234567.89");
    assert_eq!(normalise("3,5"), "3.5");
    assert_eq!(normalise("1.000.000"), "1000000");
    assert_eq!(normalise("-0.0"), "0");
    assert_eq!(normalise("007"), "7");
    assert_eq!(normalise("-12.50"), "-12.5");
    assert_eq!(normalise("pages 2-3"), "pages 2 3");
    assert_eq!(normalise("the 4th"), "4th");
    assert_eq!(numbers("Total: 1,500.00 EUR, TVA 20 %"), vec![1500.0, 20.0]);
    assert!(equals_normalised("The answer is 1,000.", "answer is 1000.0"));
    assert!(!equals_normalised("1,001", "1000"));
}

#[test]
fn equals_after_normalisation() {
    let a = Assert::Equals { value: "Paris".into() };
    assert!(passes(&a, "paris."));
    assert!(passes(&a, "  PARIS\n"));
    assert!(!passes(&a, "Paris, France"));
    assert!(!passes(&a, ""));
    let fr = Assert::Equals { value: "la facturation".into() };
    assert!(passes(&fr, "Facturation"));
    // A reference that is only an article must not match an empty answer.
    let the = Assert::Equals { value: "The".into() };
    assert!(!passes(&the, ""));
    assert!(passes(&the, " the "));
    let r = check(&a, "Lyon");
    assert_eq!(r.score, 0.0);
    assert!(r.reason.contains("lyon"), "{}", r.reason);
}

#[test]
fn contains_family() {
    let c = Assert::Contains { value: "Billing".into() };
    assert!(passes(&c, "Category: Billing"));
    assert!(!passes(&c, "category: billing"));
    let ic = Assert::Icontains { value: "ÉTÉ".into() };
    assert!(passes(&ic, "un bel été"));
    assert!(!passes(&ic, ""));
    let any = Assert::IcontainsAny { values: vec!["30 jours".into(), "trente jours".into()] };
    assert!(passes(&any, "Vous avez TRENTE JOURS."));
    assert!(!passes(&any, "Vous avez 14 jours."));
    let case_any = Assert::ContainsAny { values: vec!["A".into(), "B".into()] };
    assert!(!passes(&case_any, "a b"));
    let all = Assert::ContainsAll { values: vec!["red".into(), "green".into(), "blue".into()] };
    let r = check(&all, "red and blue");
    assert!(!r.pass);
    assert!(close(r.score, 2.0 / 3.0));
    assert!(r.reason.contains("green"));
    assert!(passes(&Assert::IcontainsAll { values: vec!["RED".into(), "blue".into()] }, "Red, Blue"));
}

#[test]
fn starts_with_and_regex() {
    let s = Assert::StartsWith { value: "Bonjour".into() };
    assert!(passes(&s, "\n  Bonjour Marie"));
    assert!(!passes(&s, "Hello, Bonjour"));
    assert!(!passes(&s, ""));
    let re = Assert::Regex { pattern: r"(?i)^\s*(billing|technical)\s*$".into() };
    assert!(passes(&re, " Technical \n"));
    assert!(!passes(&re, "technical issue"));
    let uni = Assert::Regex { pattern: r"\p{Greek}+".into() };
    assert!(passes(&uni, "the word λόγος"));
    let bad = Assert::Regex { pattern: "(".into() };
    let r = check(&bad, "anything");
    assert!(!r.pass);
    assert!(r.reason.contains("invalid regex"));
    assert!(bad.validate().is_err());
}

#[test]
fn is_json_whole_or_fenced() {
    let j = Assert::IsJson { schema: None };
    assert!(passes(&j, r#" {"a": 1} "#));
    assert!(passes(&j, "Here you go:\n```json\n{\"a\": [1, 2]}\n```\nAnything else?"));
    assert!(passes(&j, "```\n[1, 2, 3]\n```"));
    assert!(passes(&j, "```JSON\n{\"é\": \"ü\"}\n```"));
    assert!(!passes(&j, ""));
    assert!(!passes(&j, "{a: 1}"));
    assert!(!passes(&j, "```json\n{broken\n```"));
    // The second fence parses when the first does not.
    assert!(passes(&j, "```python\nprint(1)\n```\nthen\n```json\n{\"ok\": true}\n```"));
    let r = check(&j, "```json\n{\"a\":\n");
    assert!(!r.pass);
}

#[test]
fn json_schema_subset() {
    let s = json!({
        "type": "object",
        "required": ["name", "total"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "total": {"type": "number", "minimum": 0},
            "currency": {"enum": ["EUR", "USD"]},
            "lines": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
            "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}
        },
        "additionalProperties": false
    });
    assert!(schema::validate(&json!({"name": "Ana", "total": 3.5, "currency": "EUR", "lines": [1, 2]}), &s).is_empty());
    let errs = schema::validate(&json!({"name": "", "total": -1, "currency": "GBP", "lines": [1.5, 2, 3], "x": 1}), &s);
    for expected in ["/name", "/total", "/currency", "/lines/0", "/lines: 3 items", "property \"x\""] {
        assert!(errs.iter().any(|e| e.contains(expected)), "{expected} not in {errs:?}");
    }
    assert!(
        schema::validate(&json!({"name": "A"}), &s).iter().any(|e| e.contains("missing required property \"total\""))
    );
    assert!(!schema::validate(&json!({"name": "A", "total": 1, "date": "14/03/2024"}), &s).is_empty());
    assert!(schema::validate(&json!(5), &json!({"type": ["string", "integer"]})).is_empty());
    assert!(!schema::validate(&json!(5.5), &json!({"type": "integer"})).is_empty());
    assert!(schema::validate(&json!("x"), &json!({"anyOf": [{"type": "number"}, {"const": "x"}]})).is_empty());
    assert!(!schema::validate(&json!(1), &json!({"oneOf": [{"type": "number"}, {"type": "integer"}]})).is_empty());
    assert!(!schema::validate(&json!(1), &json!(false)).is_empty());
    assert!(
        schema::validate(&json!({"extra": {"deep": 1}}), &json!({"additionalProperties": {"type": "object"}}))
            .is_empty()
    );

    assert_eq!(schema::unsupported_keywords(&s), Vec::<String>::new());
    let refd = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {}}});
    assert_eq!(schema::unsupported_keywords(&refd), vec!["/properties/a/$ref".to_string()]);
    assert!(Assert::IsJson { schema: Some(refd) }.validate().is_err());

    let a = Assert::IsJson { schema: Some(s) };
    assert!(passes(&a, "```json\n{\"name\": \"Zoé\", \"total\": 12}\n```"));
    let r = check(&a, "{\"name\": \"Zoé\"}");
    assert!(!r.pass);
    assert!(r.reason.contains("total"), "{}", r.reason);
}

#[test]
fn json_field_compares_numbers_and_normalised_text() {
    let answer =
        "```json\n{\"supplier\": \"Atelier Boisvert SARL\", \"total\": 1500, \"lines\": [{\"qty\": \"2\"}]}\n```";
    let f = |path: &str, value: serde_json::Value| Assert::JsonField { path: path.into(), value };
    assert!(passes(&f("supplier", json!("atelier boisvert sarl")), answer));
    assert!(passes(&f("total", json!(1500.0)), answer));
    assert!(passes(&f("total", json!("1 500,00 €".replace(' ', "\u{a0}"))), answer));
    assert!(passes(&f("lines.0.qty", json!(2)), answer));
    assert!(!passes(&f("total", json!(1499.99)), answer));
    let r = check(&f("missing.path", json!(1)), answer);
    assert!(!r.pass && r.reason.contains("no field"));
    assert!(!passes(&f("lines.5.qty", json!(2)), answer));
    assert!(!passes(&f("total", json!(1500)), "not json"));
}

#[test]
fn numeric_with_tolerance() {
    let n = Assert::Numeric { value: 42.0, tolerance: 0.5 };
    assert!(passes(&n, "42"));
    assert!(passes(&n, "The answer is 42.4."));
    assert!(passes(&n, "3 apples and 4 pears make 7... no wait: 42"));
    assert!(!passes(&n, "43"));
    assert!(!passes(&n, ""));
    assert!(!passes(&n, "quarante-deux"));
    assert!(passes(&Assert::Numeric { value: 1000.0, tolerance: 0.0 }, "1,000.00"));
    assert!(passes(&Assert::Numeric { value: -3.5, tolerance: 0.0 }, "−3,5"));
    assert!(Assert::Numeric { value: 1.0, tolerance: -1.0 }.validate().is_err());
}

#[test]
fn token_f1_values() {
    assert!(close(token_f1("the cat sat", "The cat sat."), 1.0));
    // answer tokens: cat sat mat; reference: cat sat → P = 2/3, R = 1, F1 = 0.8
    assert!(close(token_f1("cat sat mat", "cat sat"), 0.8));
    assert!(close(token_f1("", ""), 1.0));
    assert!(close(token_f1("", "cat"), 0.0));
    assert!(close(token_f1("dog", "cat"), 0.0));
    // Repeated tokens count once per occurrence: P = 1/3, R = 1 → 0.5
    assert!(close(token_f1("cat cat cat", "cat"), 0.5));
    let a = Assert::F1 { value: "livraison gratuite dès 50 €".into(), threshold: 0.6 };
    assert!(passes(&a, "La livraison est gratuite dès 50 €."));
    assert!(!passes(&a, "Non."));
}

#[test]
fn rouge_l_values() {
    assert!(close(rouge_l("a b c d", "a b c d"), 1.0));
    // candidate: police killed gunman; reference: police kill gunman → LCS 2 of 3 → 2/3
    assert!(close(rouge_l("police killed the gunman", "the police kill the gunman"), 2.0 / 3.0));
    // LCS is a subsequence, not a substring: x p y q z vs p q → LCS 2, P = 2/5, R = 1 → 4/7
    assert!(close(rouge_l("x p y q z", "p q"), 4.0 / 7.0));
    // Articles are dropped first: "x a y" is x y.
    assert!(close(rouge_l("x a y", "x y"), 1.0));
    assert!(close(rouge_l("", ""), 1.0));
    assert!(close(rouge_l("anything", ""), 0.0));
    assert!(close(rouge_l("été chaud", "ÉTÉ CHAUD"), 1.0));
    let r = check(&Assert::RougeL { value: "q p".into(), threshold: 0.9 }, "p q");
    assert!(!r.pass);
    assert!(close(r.score, 0.5));
}

#[test]
fn levenshtein_values() {
    assert_eq!(levenshtein("kitten", "sitting"), 3);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(levenshtein("été", "ete"), 2);
    assert_eq!(levenshtein("日本語", "日本"), 1);
    assert!(close(levenshtein_similarity("", ""), 1.0));
    assert!(close(levenshtein_similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0));
    let sim = Assert::Levenshtein { value: "Bonjour".into(), min_similarity: Some(0.8), max_distance: None };
    assert!(passes(&sim, " Bonjour! "));
    assert!(!passes(&sim, "Bonsoir"));
    let dist = Assert::Levenshtein { value: "kitten".into(), min_similarity: None, max_distance: Some(3) };
    assert!(passes(&dist, "sitting"));
    assert!(!passes(&dist, "sittings"));
}

#[test]
fn word_count_bounds() {
    assert_eq!(word_count("Bonjour, comment allez-vous ?"), 3);
    assert_eq!(word_count("  — … "), 0);
    assert_eq!(word_count("日本語 テキスト"), 2);
    let w = Assert::WordCount { min: Some(2), max: Some(3) };
    assert!(passes(&w, "two words"));
    assert!(!passes(&w, "one"));
    assert!(!passes(&w, "far too many words here"));
    assert!(!passes(&w, ""));
    assert!(passes(&Assert::WordCount { min: None, max: Some(0) }, ""));
    assert!(Assert::WordCount { min: Some(4), max: Some(2) }.validate().is_err());
}

#[test]
fn latency_and_cost_thresholds() {
    let lat = Assert::Latency { max_ms: 1500 };
    let cost = Assert::Cost { max_usd: 0.002 };
    let obs = Observation { answer: "ok", latency_ms: Some(1200), cost_usd: Some(0.0025) };
    assert!(evaluate(&lat, &obs).pass);
    assert!(!evaluate(&cost, &obs).pass);
    let slow = Observation { latency_ms: Some(1501), ..obs };
    assert!(!evaluate(&lat, &slow).pass);
    let unknown = Observation::answer("ok");
    let r = evaluate(&lat, &unknown);
    assert!(!r.pass && r.reason.contains("no latency"));
    assert!(!evaluate(&cost, &unknown).pass);
    assert!(evaluate(&cost, &Observation { cost_usd: Some(0.0), ..unknown }).pass);
}

#[test]
fn not_inverts_pass_and_score() {
    let n = Assert::Not { assert: Box::new(Assert::Icontains { value: "désolé".into() }) };
    assert_eq!(n.type_name(), "not-icontains");
    assert!(passes(&n, "Voici la réponse."));
    let r = check(&n, "DÉSOLÉ, je ne peux pas.");
    assert!(!r.pass);
    assert_eq!(r.score, 0.0);
}

#[test]
fn task_scoring_uses_asserts_or_the_reference() {
    let mut t = Task::prompt("1", "Capital of France?");
    t.expected = Some(Expected::AnyOf(vec!["Paris".into(), "Paris, France".into()]));
    assert!(score_task(&t, &Observation::answer("Paris, France.")).pass);
    let miss = score_task(&t, &Observation::answer("Lyon"));
    assert!(!miss.pass);
    assert_eq!(miss.checks.len(), 1);
    assert!(miss.checks[0].reason.contains("none of 2"));

    t.asserts = vec![Assert::Icontains { value: "paris".into() }, Assert::WordCount { min: None, max: Some(2) }];
    let s = score_task(&t, &Observation::answer("It is Paris"));
    assert!(!s.pass, "word count fails");
    assert_eq!(s.checks.len(), 2, "the reference is not checked when there are asserts");
    assert!(close(s.score, 0.5));

    let empty = Task::prompt("2", "Say anything");
    let s = score_task(&empty, &Observation::answer(""));
    assert!(s.pass && s.checks.is_empty() && close(s.score, 1.0));
}

#[test]
fn reasoning_is_not_scored() {
    let mut t = Task::prompt("1", "Capital of France?");
    t.expected = Some(Expected::AnyOf(vec!["Paris".into()]));
    assert!(score_task(&t, &Observation::answer("<think>France, so Paris.</think>\n\nParis")).pass);
    // The reference named only in the reasoning is not an answer.
    assert!(!score_task(&t, &Observation::answer("<think>Paris? No.</think>Lyon")).pass);
    t.asserts = vec![Assert::WordCount { min: None, max: Some(1) }];
    assert!(score_task(&t, &Observation::answer("<think>a long chain of thought</think>Paris")).pass);
}

#[test]
fn assert_serde_uses_promptfoo_style_tags() {
    let a: Assert = serde_json::from_value(json!({"type": "icontains-any", "values": ["a"]})).expect("parses");
    assert_eq!(a, Assert::IcontainsAny { values: vec!["a".into()] });
    let r: Assert = serde_json::from_value(json!({"type": "rouge-l", "value": "x"})).expect("parses");
    assert_eq!(r, Assert::RougeL { value: "x".into(), threshold: 0.5 });
    let n: Assert = serde_json::from_value(json!({"type": "not", "assert": {"type": "is-json"}})).expect("parses");
    assert_eq!(n, Assert::Not { assert: Box::new(Assert::IsJson { schema: None }) });
    assert_eq!(serde_json::to_value(&n).expect("serialises"), json!({"type": "not", "assert": {"type": "is-json"}}));
}
