//! No input makes the importers or the scorers panic, and every score stays between 0 and 1.

use arbitre_pilot::score::text::normalise;
use arbitre_pilot::{Assert, Format, ImportOptions, Observation, evaluate, import};
use proptest::prelude::*;

/// Text made of the characters that matter to the parsers.
fn messy() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r#"[a-zA-Zéà0-9 ,;.:'"\-_{}\[\]()\n\t#|>`*€\u{a0}\u{202f}\u{2212}\u{301}日本]{0,80}"#,
    )
    .expect("valid regex")
}

const FORMATS: [Format; 6] = [
    Format::ArbitreJsonl,
    Format::EvalsJsonl,
    Format::PromptfooCsv,
    Format::PromptfooYaml,
    Format::PromptfooJson,
    Format::PlainCsv,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn importers_never_panic(text in messy(), name in "[a-z]{0,5}\\.(csv|yaml|json|jsonl|txt)") {
        let _ = import(&name, &text, &ImportOptions::default());
        for format in FORMATS {
            let options = ImportOptions { format: Some(format), prompt_template: Some("{{ input }}".into()) };
            if let Ok(i) = import(&name, &text, &options) {
                for e in &i.errors {
                    prop_assert!(e.line >= 1, "{format:?}: line {} for {:?}", e.line, e.reason);
                }
            }
        }
    }

    #[test]
    fn scores_stay_in_range(answer in messy(), reference in messy()) {
        let checks = [
            Assert::Equals { value: reference.clone() },
            Assert::IcontainsAll { values: vec![reference.clone(), "a".into()] },
            Assert::IsJson { schema: Some(serde_json::json!({"type": "object"})) },
            Assert::JsonField { path: "a.0".into(), value: serde_json::json!(reference.clone()) },
            Assert::Numeric { value: 1.0, tolerance: 0.5 },
            Assert::F1 { value: reference.clone(), threshold: 0.5 },
            Assert::RougeL { value: reference.clone(), threshold: 0.5 },
            Assert::Levenshtein { value: reference.clone(), min_similarity: Some(0.5), max_distance: None },
            Assert::WordCount { min: Some(1), max: Some(5) },
            Assert::Not { assert: Box::new(Assert::StartsWith { value: reference.clone() }) },
        ];
        for c in &checks {
            let r = evaluate(c, &Observation::answer(&answer));
            prop_assert!((0.0..=1.0).contains(&r.score), "{}: {}", r.check, r.score);
            prop_assert!(!r.pass || r.score > 0.0, "{} passes with score 0", r.check);
        }
        // Normalising is idempotent and text always equals itself.
        let n = normalise(&answer);
        prop_assert_eq!(normalise(&n), n.clone());
        let same = Assert::Equals { value: answer.clone() };
        prop_assert!(evaluate(&same, &Observation::answer(&answer)).pass, "text differs from itself");
    }
}
