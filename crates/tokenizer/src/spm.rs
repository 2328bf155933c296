//! SentencePiece BPE (`tokenizer.ggml.model = "llama"`), as llama.cpp's
//! `llm_tokenizer_spm_session`: start from UTF-8 characters, repeatedly merge the adjacent
//! pair whose concatenation is a token with the highest score (ties: leftmost), then spell
//! every leftover character that is not a token as byte tokens.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::Vocab;

#[derive(Clone, Copy, Debug)]
struct Symbol {
    start: usize,
    len: usize,
    prev: isize,
    next: isize,
}

#[derive(Clone, Copy, Debug)]
struct Bigram {
    /// Score with -0.0 folded into 0.0 and NaN into -inf, so `total_cmp` agrees with `<`.
    score: f32,
    left: isize,
    right: isize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

impl Ord for Bigram {
    /// Max-heap order: the highest score first, then the leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn score_key(s: f32) -> f32 {
    if s.is_nan() { f32::NEG_INFINITY } else { s + 0.0 }
}

/// Tokenizes `text` (already escaped: spaces are U+2581), appending to `out`.
pub(crate) fn tokenize(vocab: &Vocab, unk: Option<u32>, text: &str, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (start, ch) in text.char_indices() {
        let idx = symbols.len() as isize;
        symbols.push(Symbol { start, len: ch.len_utf8(), prev: idx - 1, next: idx + 1 });
    }
    let Some(last) = symbols.last_mut() else {
        return;
    };
    last.next = -1;

    let mut heap = BinaryHeap::new();
    for i in 1..symbols.len() {
        try_add_bigram(vocab, text, &symbols, i as isize - 1, i as isize, &mut heap);
    }
    while let Some(bg) = heap.pop() {
        let (l, r) = (bg.left as usize, bg.right as usize);
        let (Some(ls), Some(rs)) = (symbols.get(l), symbols.get(r)) else {
            continue;
        };
        if ls.len == 0 || rs.len == 0 || ls.len + rs.len != bg.size {
            continue; // one side was merged already
        }
        let (r_len, r_next) = (rs.len, rs.next);
        if let Some(rs) = symbols.get_mut(r) {
            rs.len = 0;
        }
        if let Some(ls) = symbols.get_mut(l) {
            ls.len += r_len;
            ls.next = r_next;
        }
        if let Some(n) = usize::try_from(r_next).ok().and_then(|n| symbols.get_mut(n)) {
            n.prev = bg.left;
        }
        let prev = symbols.get(l).map_or(-1, |s| s.prev);
        try_add_bigram(vocab, text, &symbols, prev, bg.left, &mut heap);
        try_add_bigram(vocab, text, &symbols, bg.left, r_next, &mut heap);
    }

    let mut i: isize = 0;
    while let Some(s) = usize::try_from(i).ok().and_then(|i| symbols.get(i)) {
        let piece = text.get(s.start..s.start + s.len).unwrap_or_default();
        if let Some(id) = vocab.id(piece) {
            out.push(id);
        } else {
            // Merged symbols are always tokens, so this is a single character: spell it
            // as byte tokens.
            for b in piece.bytes() {
                if let Some(id) = vocab.byte_token(b).or(unk) {
                    out.push(id);
                }
            }
        }
        i = s.next;
    }
}

fn try_add_bigram(
    vocab: &Vocab,
    text: &str,
    symbols: &[Symbol],
    left: isize,
    right: isize,
    heap: &mut BinaryHeap<Bigram>,
) {
    if left < 0 || right < 0 {
        return;
    }
    let (Some(l), Some(r)) = (symbols.get(left as usize), symbols.get(right as usize)) else {
        return;
    };
    let size = l.len + r.len;
    let Some(joined) = text.get(l.start..l.start + size) else {
        return;
    };
    let Some(id) = vocab.id(joined) else { return };
    let score = vocab.tokens.get(id as usize).map_or(f32::NEG_INFINITY, |t| t.score);
    heap.push(Bigram { score: score_key(score), left, right, size });
}
