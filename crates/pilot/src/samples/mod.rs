//! Three small task sets written for arbitre, in French and English, after the use cases the
//! pilot advice names: support-ticket triage (classification), invoice field extraction
//! (JSON), and standard answers to customer questions. They are arbitre JSONL, embedded in the
//! binary, and load through the same importer as a visitor's file.

use crate::error::Result;
use crate::import::{Format, Import, ImportOptions, import};

/// A built-in task set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Stable identifier (`triage`, `invoices`, `answers`).
    pub id: &'static str,
    /// Title for the page.
    pub title: &'static str,
    /// One sentence on what it measures.
    pub description: &'static str,
    /// The file name it is offered under.
    pub file_name: &'static str,
    /// The JSONL text.
    pub text: &'static str,
}

/// Every built-in set.
pub const SAMPLES: &[Sample] = &[
    Sample {
        id: "triage",
        title: "Support-ticket triage",
        description: "Classify customer tickets (French and English) into billing, technical, account, delivery or other.",
        file_name: "triage.jsonl",
        text: include_str!("triage.jsonl"),
    },
    Sample {
        id: "invoices",
        title: "Invoice field extraction",
        description: "Extract supplier, number, date, totals and currency from invoice text as JSON.",
        file_name: "invoices.jsonl",
        text: include_str!("invoices.jsonl"),
    },
    Sample {
        id: "answers",
        title: "Standard answers to customer questions",
        description: "Answer frequent customer questions with the company's standard answer.",
        file_name: "answers.jsonl",
        text: include_str!("answers.jsonl"),
    },
];

/// The sample with this id.
pub fn sample(id: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.id == id)
}

impl Sample {
    /// Loads the set through the arbitre JSONL importer.
    pub fn load(&self) -> Result<Import> {
        import(self.file_name, self.text, &ImportOptions { format: Some(Format::ArbitreJsonl), prompt_template: None })
    }
}
