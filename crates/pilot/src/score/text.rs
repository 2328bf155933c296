//! Text normalisation and the text-similarity metrics: normalised equality, token F1,
//! ROUGE-L and Levenshtein similarity.
//!
//! Normalisation (used by equality, F1 and ROUGE-L): lower case (Unicode), punctuation and
//! symbols become separators, whitespace collapses, the articles `a an the` and `le la les l'
//! un une des` are dropped, and numbers are written one way: `1,000`, `1000.0`, `1 000` (with a
//! no-break space) and `1000` all become `1000`; `3,5` (a French decimal comma) becomes `3.5`.

use std::collections::HashMap;

/// Articles dropped by normalisation (English and French; `l'` arrives as `l` once the
/// apostrophe has split it from its noun).
const ARTICLES: &[&str] = &["a", "an", "the", "le", "la", "les", "l", "un", "une", "des"];

/// One normalised token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A run of letters and digits, lower-cased.
    Word(String),
    /// A number in canonical form, with its value.
    Number(String, f64),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Word(w) => w,
            Token::Number(n, _) => n,
        }
    }
}

fn is_word_char(c: char) -> bool {
    // Combining marks (U+0300–U+036F) stay inside words, so a decomposed "é" is not split.
    c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c)
}

fn is_group_space(c: char) -> bool {
    // No-break and narrow no-break spaces: French thousands separators.
    c == '\u{a0}' || c == '\u{202f}'
}

/// Splits `text` into tokens, numbers recognised with their separators. Articles are kept.
pub(crate) fn raw_tokens(text: &str) -> Vec<Token> {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_is_word = i > 0 && is_word_char(chars[i - 1]);
        let signed =
            (c == '-' || c == '\u{2212}') && !prev_is_word && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
        if (c.is_ascii_digit() && !prev_is_word) || signed {
            let start = i;
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if d.is_ascii_digit() || ((d == ',' || d == '.' || is_group_space(d)) && next_digit) {
                    i += 1;
                } else {
                    break;
                }
            }
            if i < chars.len() && is_word_char(chars[i]) {
                // "4th", "12b": a word that starts with digits, not a number.
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().filter(|c| is_word_char(**c)).collect();
                out.push(Token::Word(word));
                continue;
            }
            let raw: String = chars[start..i].iter().collect();
            match canonical_number(&raw) {
                Some(tok) => out.push(tok),
                None => {
                    // Separators that fit no number format: keep the digit runs as numbers.
                    for part in raw.split(|c: char| !c.is_ascii_digit() && c != '-' && c != '\u{2212}') {
                        if let Some(tok) = canonical_number(part) {
                            out.push(tok);
                        }
                    }
                }
            }
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a number written with `,` / `.` / no-break-space separators and returns its canonical
/// form: no grouping, `.` as decimal point, no leading zeros, no trailing fractional zeros.
fn canonical_number(raw: &str) -> Option<Token> {
    let (negative, body) = match raw.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let body: String = body.chars().filter(|c| !is_group_space(*c)).collect();
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let commas = body.matches(',').count();
    let dots = body.matches('.').count();
    let groups_of_three = |s: &str, sep: char| s.split(sep).skip(1).all(|g| g.len() == 3);
    let (int_part, frac_part): (String, String) = match (commas, dots) {
        (0, 0) => (body.clone(), String::new()),
        (0, 1) => split_once(&body, '.'),
        (1, 0) if groups_of_three(&body, ',') => (body.replace(',', ""), String::new()),
        (1, 0) => split_once(&body, ','),
        (_, 0) if groups_of_three(&body, ',') => (body.replace(',', ""), String::new()),
        (0, _) if groups_of_three(&body, '.') => (body.replace('.', ""), String::new()),
        (_, _) if commas > 0 && dots > 0 => {
            // Both: the last one is the decimal point, the other groups thousands.
            let (dec, group) = if body.rfind('.') > body.rfind(',') { ('.', ',') } else { (',', '.') };
            if body.matches(dec).count() != 1 {
                return None;
            }
            let (i, f) = split_once(&body, dec);
            if !groups_of_three(&i, group) {
                return None;
            }
            (i.replace(group, ""), f)
        }
        _ => return None,
    };
    let int_trimmed = int_part.trim_start_matches('0');
    let frac_trimmed = frac_part.trim_end_matches('0');
    let int_text = if int_trimmed.is_empty() { "0" } else { int_trimmed };
    let mut text = int_text.to_string();
    if !frac_trimmed.is_empty() {
        text.push('.');
        text.push_str(frac_trimmed);
    }
    let is_zero = text == "0";
    if negative && !is_zero {
        text.insert(0, '-');
    }
    let value: f64 = text.parse().ok()?;
    Some(Token::Number(text, value))
}

fn split_once(s: &str, sep: char) -> (String, String) {
    match s.split_once(sep) {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// Normalised tokens: [`raw_tokens`] without the articles.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    raw_tokens(text)
        .into_iter()
        .filter(|t| !matches!(t, Token::Word(w) if ARTICLES.contains(&w.as_str())))
        .map(|t| t.text().to_string())
        .collect()
}

/// The normalised form of `text`: its normalised tokens joined by single spaces.
pub fn normalise(text: &str) -> String {
    tokens(text).join(" ")
}

/// Whether `answer` equals `expected` after normalisation. When the reference normalises to
/// nothing (it was only punctuation or an article), trimmed case-insensitive text is compared
/// instead, so that an empty answer never matches a non-empty reference.
pub fn equals_normalised(answer: &str, expected: &str) -> bool {
    let (a, e) = (normalise(answer), normalise(expected));
    if e.is_empty() {
        return answer.trim().to_lowercase() == expected.trim().to_lowercase();
    }
    a == e
}

/// Every number in `text`, in order (canonical values).
pub fn numbers(text: &str) -> Vec<f64> {
    raw_tokens(text)
        .into_iter()
        .filter_map(|t| match t {
            Token::Number(_, v) => Some(v),
            Token::Word(_) => None,
        })
        .collect()
}

/// SQuAD-style token F1 between normalised tokens of `answer` and `reference`: 1 when both are
/// empty, 0 when only one is.
pub fn token_f1(answer: &str, reference: &str) -> f64 {
    let (a, r) = (tokens(answer), tokens(reference));
    if a.is_empty() || r.is_empty() {
        return if a.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &r {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &a {
        if let Some(c) = counts.get_mut(t.as_str())
            && *c > 0
        {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / a.len() as f64;
    let recall = common as f64 / r.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Length of the longest common subsequence of two token lists (two rows of the table).
fn lcs_len(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { cur[j].max(prev[j + 1]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L F-measure (β = 1) on the LCS of normalised tokens: 1 when both are empty, 0 when
/// only one is.
pub fn rouge_l(answer: &str, reference: &str) -> f64 {
    let (a, r) = (tokens(answer), tokens(reference));
    if a.is_empty() || r.is_empty() {
        return if a.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    let lcs = lcs_len(&a, &r);
    if lcs == 0 {
        return 0.0;
    }
    let precision = lcs as f64 / a.len() as f64;
    let recall = lcs as f64 / r.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Levenshtein distance between two texts, counted in Unicode scalar values.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb { diag } else { 1 + diag.min(above).min(row[j]) };
            diag = above;
        }
    }
    row[b.len()]
}

/// `1 - distance / length of the longer text` on trimmed texts; 1 for two empty texts.
pub fn levenshtein_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (a.trim(), b.trim());
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

/// Words in `text`: whitespace-separated pieces holding at least one letter or digit.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}
