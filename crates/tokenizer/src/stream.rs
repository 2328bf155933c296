//! Incremental detokenization for streaming generated text.

use crate::Tokenizer;

/// Turns generated token ids into text as they come, emitting text only once it is
/// complete UTF-8 (a character split over several byte tokens waits for its last byte).
/// Control tokens produce nothing.
///
/// It does not borrow the tokenizer, so it can live next to an `Arc<Tokenizer>`; pass the
/// same tokenizer to every call.
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
    strip_leading_space: bool,
}

impl StreamDecoder {
    /// A decoder for a new stream. `strip_leading_space` drops the single leading space of
    /// the first non-empty piece: the SentencePiece space prefix of a text that starts
    /// right after BOS, which llama.cpp and llama2.c do not print.
    pub fn new(strip_leading_space: bool) -> Self {
        Self { pending: Vec::new(), strip_leading_space }
    }

    /// Adds token `id`; returns the text it completes (possibly empty). Ids out of range
    /// produce nothing.
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> String {
        let piece = tok.output_bytes(id);
        if piece.is_empty() {
            return String::new();
        }
        let piece = if std::mem::take(&mut self.strip_leading_space) {
            piece.strip_prefix(b" ").unwrap_or(&piece)
        } else {
            &piece[..]
        };
        self.pending.extend_from_slice(piece);
        self.take_complete()
    }

    /// Flushes whatever is left; an incomplete UTF-8 sequence becomes U+FFFD.
    pub fn finish(&mut self, _tok: &Tokenizer) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Takes the longest prefix of `pending` that can no longer change: complete UTF-8,
    /// with invalid sequences replaced by U+FFFD; an unfinished sequence at the end stays.
    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            rest = after.get(n..).unwrap_or_default();
                        }
                        None => {
                            rest = after; // incomplete: wait for more bytes
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }
}
