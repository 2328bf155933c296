//! WordPiece (`tokenizer.ggml.model = "bert"`), as llama.cpp's `llm_tokenizer_wpm_session`:
//! normalize and split into words, then greedy longest-match of `▁word` against the vocabulary.

use crate::Vocab;
use crate::unicode;

/// BERT normalizer options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WpmOptions {
    pub(crate) lowercase: bool,
    pub(crate) strip_accents: bool,
}

fn is_chinese_char(cpt: u32) -> bool {
    (0x04E00..=0x09FFF).contains(&cpt)
        || (0x03400..=0x04DBF).contains(&cpt)
        || (0x20000..=0x2A6DF).contains(&cpt)
        || (0x2A700..=0x2B73F).contains(&cpt)
        || (0x2B740..=0x2B81F).contains(&cpt)
        || (0x2B920..=0x2CEAF).contains(&cpt) // 0x2B820 in Unicode, 0x2B920 in HF and llama.cpp
        || (0x0F900..=0x0FAFF).contains(&cpt)
        || (0x2F800..=0x2FA1F).contains(&cpt)
}

/// Splits into words: whitespace separates, controls vanish, punctuation, ASCII symbols and
/// CJK ideographs stand alone.
fn preprocess(text: &str, opts: WpmOptions) -> Vec<String> {
    let mut words = vec![String::new()];
    for ch in text.chars() {
        let mut cpt = ch as u32;
        if opts.strip_accents {
            cpt = unicode::nfd_first(cpt);
        }
        let f = unicode::flags(cpt);
        if f.is_whitespace() {
            if words.last().is_some_and(|w| !w.is_empty()) {
                words.push(String::new());
            }
            continue;
        }
        if cpt == 0 || cpt == 0xFFFD || f.is_control() {
            continue;
        }
        if opts.strip_accents && f.is_accent_mark() {
            continue;
        }
        let mapped = if opts.lowercase { unicode::to_lower(cpt) } else { cpt };
        let c = char::from_u32(mapped).unwrap_or(ch);
        if f.is_punctuation() || (cpt < 0x7F && f.is_symbol()) || is_chinese_char(cpt) {
            if words.last().is_some_and(|w| !w.is_empty()) {
                words.push(String::new());
            }
            if let Some(w) = words.last_mut() {
                w.push(c);
            }
            words.push(String::new());
        } else if let Some(w) = words.last_mut() {
            w.push(c);
        }
    }
    if words.last().is_some_and(|w| w.is_empty()) {
        words.pop();
    }
    words
}

/// Tokenizes one raw-text fragment, appending to `out`.
pub(crate) fn tokenize(vocab: &Vocab, opts: WpmOptions, unk: Option<u32>, text: &str, out: &mut Vec<u32>) {
    let max_len = vocab.max_token_len;
    for word in preprocess(text, opts) {
        if word.is_empty() {
            continue;
        }
        let word1 = format!("\u{2581}{word}");
        let n = word1.len();
        let before = out.len();
        let mut i = 0usize;
        while i < n {
            let mut matched = false;
            let mut j = n.min(i + max_len + 1);
            while j > i {
                if let Some(id) = word1.get(i..j).and_then(|s| vocab.id(s)) {
                    out.push(id);
                    matched = true;
                    i = j;
                    break;
                }
                j -= 1;
            }
            if !matched {
                out.truncate(before);
                break;
            }
        }
        if out.len() == before {
            out.extend(unk);
        }
    }
}
