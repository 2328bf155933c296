//! Byte-level BPE (`tokenizer.ggml.model = "gpt2"`), as llama.cpp's `llm_tokenizer_bpe_session`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::pretok::PreTokenizer;

/// GPT-2's byte -> printable codepoint map (`bytes_to_unicode`).
pub(crate) fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for (b, slot) in table.iter_mut().enumerate() {
        let b32 = b as u32;
        let printable = (0x21..=0x7E).contains(&b32) || (0xA1..=0xAC).contains(&b32) || (0xAE..=0xFF).contains(&b32);
        let cp = if printable {
            b32
        } else {
            n += 1;
            256 + n - 1
        };
        *slot = char::from_u32(cp).unwrap_or('\0');
    }
    table
}

/// The inverse of [`byte_to_char_table`].
pub(crate) fn char_to_byte_map() -> HashMap<char, u8> {
    byte_to_char_table().iter().enumerate().map(|(b, &c)| (c, b as u8)).collect()
}

/// Interned strings: vocabulary tokens keep their ids, other merge operands and results
/// get ids from `n_vocab` up.
const NONE: u32 = u32::MAX;

/// The merge table and pre-tokenizer of a byte-level BPE vocabulary.
#[derive(Clone, Debug)]
pub(crate) struct Bpe {
    /// Strings that are not tokens but take part in merges.
    extra: HashMap<Box<str>, u32>,
    /// `(left, right)` -> `(rank, merged)`, all interned ids.
    merges: HashMap<(u32, u32), (u32, u32)>,
    pub(crate) pretok: PreTokenizer,
    pub(crate) ignore_merges: bool,
    byte_chars: [char; 256],
}

impl Bpe {
    /// Builds the merge table from `tokenizer.ggml.merges`.
    pub(crate) fn new(
        token_to_id: &HashMap<Box<str>, u32>,
        n_vocab: usize,
        merges: &[&str],
        pretok: PreTokenizer,
        ignore_merges: bool,
    ) -> Self {
        let mut extra: HashMap<Box<str>, u32> = HashMap::new();
        let mut next_id = u32::try_from(n_vocab).unwrap_or(u32::MAX - 1);
        let mut intern = |s: &str, extra: &mut HashMap<Box<str>, u32>| -> u32 {
            if let Some(&id) = token_to_id.get(s) {
                return id;
            }
            if let Some(&id) = extra.get(s) {
                return id;
            }
            let id = next_id;
            next_id = next_id.saturating_add(1).min(NONE - 1);
            extra.insert(s.into(), id);
            id
        };
        let mut table = HashMap::with_capacity(merges.len());
        let mut joined = String::new();
        for (rank, m) in merges.iter().enumerate() {
            // llama.cpp splits at the first space after the first byte.
            let Some(pos) = m.as_bytes().iter().skip(1).position(|&b| b == b' ').map(|p| p + 1) else {
                continue;
            };
            let (first, second) = (&m[..pos], &m[pos + 1..]);
            if first.is_empty() || second.is_empty() {
                continue;
            }
            let l = intern(first, &mut extra);
            let r = intern(second, &mut extra);
            joined.clear();
            joined.push_str(first);
            joined.push_str(second);
            let merged = intern(&joined, &mut extra);
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            // like std::unordered_map::emplace, the first rank wins
            table.entry((l, r)).or_insert((rank, merged));
        }
        Self { extra, merges: table, pretok, ignore_merges, byte_chars: byte_to_char_table() }
    }

    fn lookup(&self, token_to_id: &HashMap<Box<str>, u32>, s: &str) -> u32 {
        token_to_id.get(s).or_else(|| self.extra.get(s)).copied().unwrap_or(NONE)
    }

    /// Tokenizes one raw-text fragment, appending to `out`.
    pub(crate) fn tokenize(
        &self,
        token_to_id: &HashMap<Box<str>, u32>,
        n_vocab: usize,
        text: &str,
        out: &mut Vec<u32>,
    ) -> Result<(), String> {
        let is_token = |id: u32| (id as usize) < n_vocab;
        let mut word = String::new();
        let mut symbols: Vec<Symbol> = Vec::new();
        let mut heap: BinaryHeap<Bigram> = BinaryHeap::new();
        for range in self.pretok.split(text)? {
            let raw = text.get(range).unwrap_or_default();
            word.clear();
            for &b in raw.as_bytes() {
                word.push(self.byte_chars[usize::from(b)]);
            }
            symbols.clear();
            heap.clear();

            if self.ignore_merges
                && let Some(&id) = token_to_id.get(word.as_str())
            {
                out.push(id);
                continue;
            }
            let mut buf = [0u8; 4];
            for (start, ch) in word.char_indices() {
                let id = self.lookup(token_to_id, ch.encode_utf8(&mut buf));
                let idx = symbols.len() as isize;
                symbols.push(Symbol { start, len: ch.len_utf8(), prev: idx - 1, next: idx + 1, id });
            }
            if let Some(last) = symbols.last_mut() {
                last.next = -1;
            }
            for i in 1..symbols.len() {
                self.add_bigram(&symbols, i as isize - 1, i as isize, &mut heap);
            }
            while let Some(bg) = heap.pop() {
                let (l, r) = (bg.left as usize, bg.right as usize);
                let (Some(ls), Some(rs)) = (symbols.get(l), symbols.get(r)) else {
                    continue;
                };
                if ls.len == 0 || rs.len == 0 || ls.id != bg.left_id || rs.id != bg.right_id {
                    continue; // outdated
                }
                let (r_len, r_next) = (rs.len, rs.next);
                if let Some(rs) = symbols.get_mut(r) {
                    rs.len = 0;
                }
                if let Some(ls) = symbols.get_mut(l) {
                    ls.len += r_len;
                    ls.next = r_next;
                    ls.id = bg.merged;
                }
                if let Some(n) = usize::try_from(r_next).ok().and_then(|n| symbols.get_mut(n)) {
                    n.prev = bg.left;
                }
                let prev = symbols.get(l).map_or(-1, |s| s.prev);
                self.add_bigram(&symbols, prev, bg.left, &mut heap);
                self.add_bigram(&symbols, bg.left, r_next, &mut heap);
            }
            for s in symbols.iter().filter(|s| s.len > 0) {
                if is_token(s.id) {
                    out.push(s.id);
                    continue;
                }
                // Not a token: each byte of the (byte-encoded) text as a one-byte token.
                let piece = word.get(s.start..s.start + s.len).unwrap_or_default();
                for b in piece.bytes() {
                    let one = [b];
                    if let Some(&id) = std::str::from_utf8(&one).ok().and_then(|t| token_to_id.get(t)) {
                        out.push(id);
                    }
                }
            }
        }
        Ok(())
    }

    fn add_bigram(&self, symbols: &[Symbol], left: isize, right: isize, heap: &mut BinaryHeap<Bigram>) {
        if left < 0 || right < 0 {
            return;
        }
        let (Some(l), Some(r)) = (symbols.get(left as usize), symbols.get(right as usize)) else {
            return;
        };
        if l.id == NONE || r.id == NONE {
            return;
        }
        if let Some(&(rank, merged)) = self.merges.get(&(l.id, r.id)) {
            heap.push(Bigram { rank, left, right, left_id: l.id, right_id: r.id, merged });
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Symbol {
    start: usize,
    len: usize,
    prev: isize,
    next: isize,
    id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bigram {
    rank: u32,
    left: isize,
    right: isize,
    left_id: u32,
    right_id: u32,
    merged: u32,
}

impl Ord for Bigram {
    /// Max-heap order: the lowest rank first, then the leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        other.rank.cmp(&self.rank).then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_matches_gpt2() {
        let t = byte_to_char_table();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'!' as usize], '!');
        assert_eq!(t[0xAD], 'Ń');
        let inv = char_to_byte_map();
        assert_eq!(inv.len(), 256);
        assert!((0..=255u8).all(|b| inv.get(&t[b as usize]) == Some(&b)));
    }
}
