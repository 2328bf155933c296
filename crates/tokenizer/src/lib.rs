//! `arbitre-tokenizer` turns text into token ids and back for the models arbitre runs,
//! built from a GGUF file's `tokenizer.*` metadata alone (or a llama2.c `tokN.bin`).
//!
//! It owns the tokenizer algorithms and reproduces llama.cpp's (`src/llama-vocab.cpp`,
//! `src/unicode.cpp`) exactly, quirks included, so that the same prompt gives the same ids
//! as llama.cpp: SentencePiece BPE (`llama`), byte-level BPE (`gpt2`, with the
//! pre-tokenizer regexes of every `tokenizer.ggml.pre` it knows) and WordPiece (`bert`).
//! Special and user-defined tokens, their detection by name (end-of-generation, FIM) and
//! the per-model attribute fix-ups follow llama.cpp too.
//!
//! It must not: read files or know model architectures (callers hand it the parsed
//! [`Metadata`] or the bytes of a tokenizer file), guess a pre-tokenizer it does not know
//! (an unknown `tokenizer.ggml.pre` is an error, never a silent fallback), panic on any
//! input, or depend on C code (it also builds for `wasm32-unknown-unknown`).

mod bpe;
mod load;
mod presets;
mod pretok;
mod spm;
mod stream;
mod unicode;
mod unicode_data;
mod vocab;
mod wpm;

use std::collections::HashMap;
use std::fmt;

pub use arbitre_gguf::Metadata;
pub use stream::StreamDecoder;

use bpe::Bpe;
use vocab::{Vocab, attr};
use wpm::WpmOptions;

/// Everything that can go wrong building a tokenizer or encoding with it.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A required metadata key is absent.
    #[error("missing tokenizer metadata {key:?}")]
    MissingMetadata {
        /// The key.
        key: String,
    },
    /// A metadata key with a value of the wrong type or an impossible value.
    #[error("invalid tokenizer metadata {key:?}: {reason}")]
    InvalidMetadata {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `tokenizer.ggml.model` arbitre does not implement.
    #[error("unsupported tokenizer model {0:?} (arbitre supports \"llama\", \"gpt2\" and \"bert\")")]
    UnsupportedModel(String),
    /// A `tokenizer.ggml.pre` (byte-level BPE pre-tokenizer) arbitre does not implement.
    #[error(
        "unsupported pre-tokenizer {0:?} (tokenizer.ggml.pre); arbitre knows the ones llama.cpp had for regex-based BPE, e.g. llama-bpe, qwen2, gpt-2, deepseek-llm"
    )]
    UnsupportedPre(String),
    /// The same token text appears twice in the vocabulary.
    #[error("duplicate token {text:?} in the vocabulary (ids {first} and {second})")]
    DuplicateToken {
        /// The token text.
        text: String,
        /// Its first id.
        first: u32,
        /// The repeated id.
        second: u32,
    },
    /// A special token the metadata asks for (e.g. `add_bos_token`) or the caller needs
    /// does not exist.
    #[error("the vocabulary has no {0} token")]
    MissingSpecialToken(&'static str),
    /// A malformed llama2.c tokenizer file.
    #[error("invalid llama2.c tokenizer file: {0}")]
    InvalidLlama2c(String),
    /// A pre-tokenizer regex that could not be compiled or run.
    #[error("pre-tokenizer {pre:?}: {message}")]
    Regex {
        /// The `tokenizer.ggml.pre` value.
        pre: String,
        /// What failed.
        message: String,
    },
}

impl From<arbitre_gguf::GgufError> for TokenizerError {
    fn from(e: arbitre_gguf::GgufError) -> Self {
        use arbitre_gguf::GgufError as G;
        match e {
            G::MissingMetadata { key } => Self::MissingMetadata { key },
            G::WrongMetadataType { key, expected, found } => {
                Self::InvalidMetadata { key, reason: format!("expected {expected}, found {found}") }
            }
            G::TooLarge { what, value } => {
                Self::InvalidMetadata { key: what, reason: format!("value {value} is too large") }
            }
            other => Self::InvalidMetadata { key: String::new(), reason: other.to_string() },
        }
    }
}

/// Which algorithm a tokenizer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// SentencePiece BPE (`llama`).
    Spm,
    /// Byte-level BPE (`gpt2`).
    Bpe,
    /// WordPiece (`bert`).
    Wpm,
}

/// A tokenizer: encodes text to token ids and decodes ids back to text, as llama.cpp does
/// for the same GGUF metadata. Cheap to share (`Send + Sync`); clone it if you must.
#[derive(Clone)]
pub struct Tokenizer {
    model: String,
    pre: Option<String>,
    kind: Kind,
    vocab: Vocab,
    bos: Option<u32>,
    eos: Option<u32>,
    unk: Option<u32>,
    sep: Option<u32>,
    eog: Vec<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
    /// Control, user-defined and unknown tokens, longest text first: what
    /// `tokenizer_st_partition` looks for in the text.
    special_cache: Vec<u32>,
    bpe: Option<Bpe>,
    wpm: WpmOptions,
    /// GPT-2's printable codepoint -> byte, for decoding byte-level BPE.
    char_to_byte: HashMap<char, u8>,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("model", &self.model)
            .field("pre", &self.pre)
            .field("vocab_size", &self.vocab.tokens.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("eog", &self.eog)
            .field("add_bos", &self.add_bos)
            .field("add_space_prefix", &self.add_space_prefix)
            .finish_non_exhaustive()
    }
}

/// A piece of the input after special tokens are split out.
enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

/// C's `isspace` in the "C" locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

impl Tokenizer {
    /// Encodes `text`. `add_bos` prepends the BOS token (for WordPiece it also appends the
    /// separator, as llama.cpp's `add_special` does); use [`Tokenizer::add_bos_default`]
    /// for what the model expects. With `parse_special`, control-token texts found in
    /// `text` (e.g. `<|im_start|>`) become those tokens; user-defined tokens are always
    /// matched, as in llama.cpp.
    ///
    /// Never panics. Fails only when `add_bos` is asked of a vocabulary without BOS, or
    /// when a pre-tokenizer regex gives up on pathological input.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Result<Vec<u32>, TokenizerError> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos {
            out.push(self.bos.ok_or(TokenizerError::MissingSpecialToken("BOS"))?);
        }
        let fragments = if text.is_empty() { Vec::new() } else { self.partition(text, parse_special) };
        match self.kind {
            Kind::Spm => {
                // llama.cpp adds the space prefix to the first fragment and after every
                // special token.
                let mut prev_special = true;
                let mut buf = String::new();
                for f in fragments {
                    match f {
                        Fragment::Text(t) => {
                            buf.clear();
                            if self.add_space_prefix && prev_special {
                                buf.push(' ');
                            }
                            buf.push_str(t);
                            let escaped = buf.replace(' ', "\u{2581}");
                            spm::tokenize(&self.vocab, self.unk, &escaped, &mut out);
                            prev_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            prev_special = true;
                        }
                    }
                }
            }
            Kind::Bpe => {
                let Some(bpe) = &self.bpe else { return Ok(out) };
                for f in fragments {
                    match f {
                        Fragment::Text(t) => {
                            bpe.tokenize(&self.vocab.token_to_id, self.vocab.tokens.len(), t, &mut out).map_err(
                                |message| TokenizerError::Regex { pre: self.pre.clone().unwrap_or_default(), message },
                            )?
                        }
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
            Kind::Wpm => {
                for f in fragments {
                    match f {
                        Fragment::Text(t) => wpm::tokenize(&self.vocab, self.wpm, self.unk, t, &mut out),
                        Fragment::Token(id) => out.push(id),
                    }
                }
                if add_bos {
                    out.push(self.sep.ok_or(TokenizerError::MissingSpecialToken("separator"))?);
                }
            }
        }
        Ok(out)
    }

    /// llama.cpp's `tokenizer_st_partition`: split out every special token found in the
    /// text, longest token first.
    fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let mut frags = vec![Fragment::Text(text)];
        for &id in &self.special_cache {
            let Some(tok) = self.vocab.get(id) else {
                continue;
            };
            if !parse_special && tok.attr & (attr::CONTROL | attr::UNKNOWN) != 0 {
                continue;
            }
            let needle: &str = &tok.text;
            if needle.is_empty() || !frags.iter().any(|f| matches!(f, Fragment::Text(t) if t.contains(needle))) {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                let Fragment::Text(mut rest) = f else {
                    next.push(f);
                    continue;
                };
                while let Some(pos) = rest.find(needle) {
                    let (left, right) = (&rest[..pos], &rest[pos + needle.len()..]);
                    let left = if tok.attr & attr::LSTRIP != 0 { left.trim_end_matches(is_c_space) } else { left };
                    if !left.is_empty() {
                        next.push(Fragment::Text(left));
                    }
                    next.push(Fragment::Token(id));
                    rest = if tok.attr & attr::RSTRIP != 0 { right.trim_start_matches(is_c_space) } else { right };
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            frags = next;
        }
        frags
    }

    /// The bytes token `id` stands for (llama.cpp's `token_to_piece`); `special` says
    /// whether control and unknown tokens render as their text or as nothing.
    fn piece(&self, id: u32, special: bool) -> Vec<u8> {
        let Some(tok) = self.vocab.get(id) else {
            return Vec::new();
        };
        let a = tok.attr;
        if !special && a & (attr::UNKNOWN | attr::CONTROL) != 0 {
            return Vec::new();
        }
        if a & (attr::UNKNOWN | attr::CONTROL | attr::USER_DEFINED) != 0 {
            return tok.text.as_bytes().to_vec();
        }
        if a & attr::NORMAL != 0 {
            return match self.kind {
                Kind::Spm | Kind::Wpm => tok.text.replace('\u{2581}', " ").into_bytes(),
                Kind::Bpe => self.decode_byte_level(&tok.text),
            };
        }
        if a & attr::BYTE != 0 {
            // like strtol on the two hex digits of "<0xXX>": 0 when they are not hex
            let hex = tok.text.get(3..5).unwrap_or("");
            return vec![u8::from_str_radix(hex, 16).unwrap_or(0)];
        }
        Vec::new()
    }

    /// llama.cpp's `llama_decode_text`: GPT-2 printable codepoints back to bytes.
    fn decode_byte_level(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            match self.char_to_byte.get(&c) {
                Some(&b) => out.push(b),
                None => {
                    // llama.cpp's marker for a codepoint outside the byte map
                    out.extend_from_slice(b"[UNK_BYTE_0x");
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.extend_from_slice(format!("{b:02x}").as_bytes());
                    }
                    out.extend_from_slice(text.as_bytes());
                    out.push(b']');
                }
            }
        }
        out
    }

    /// Decodes ids to text (invalid UTF-8 becomes U+FFFD), as llama.cpp's `detokenize`
    /// with `remove_special = !unparse_special = skip_special`. With `skip_special`, control
    /// and unknown tokens vanish (user-defined ones stay) and a leading BOS is dropped;
    /// without, they appear as their text. SentencePiece's space prefix is removed from the
    /// first token, except after a BOS that `skip_special` dropped, where llama.cpp keeps it.
    ///
    /// Unlike `llama_detokenize`, spaces before punctuation are never "cleaned up"
    /// (`clean_up_tokenization_spaces`), so decoding is lossless for byte-level BPE.
    /// Out-of-range ids decode to nothing.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut ids = ids;
        let mut remove_space = self.add_space_prefix;
        if skip_special && self.add_bos && self.bos.is_some() && ids.first() == self.bos.as_ref() {
            remove_space = false;
            ids = &ids[1..];
        }
        if skip_special && self.add_eos && self.eos.is_some() && ids.last() == self.eos.as_ref() {
            ids = &ids[..ids.len() - 1];
        }
        let mut bytes = Vec::new();
        for &id in ids {
            let piece = self.piece(id, !skip_special);
            let piece = if remove_space { piece.strip_prefix(b" ").unwrap_or(&piece) } else { &piece[..] };
            bytes.extend_from_slice(piece);
            remove_space = false;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes token `id` stands for when decoded with special tokens shown: `▁` is a
    /// space, `<0x0A>` is a newline byte, byte-level BPE characters are mapped back to
    /// bytes, control tokens are their text. `None` for an id out of range.
    pub fn token_bytes(&self, id: u32) -> Option<Vec<u8>> {
        self.vocab.get(id).map(|_| self.piece(id, true))
    }

    /// The bytes token `id` adds to generated text: like [`Tokenizer::token_bytes`], but
    /// control and unknown tokens give nothing.
    pub(crate) fn output_bytes(&self, id: u32) -> Vec<u8> {
        self.piece(id, false)
    }

    /// Number of tokens.
    pub fn vocab_size(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The beginning-of-sequence token.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Every token that ends generation, sorted: EOS, EOT, EOM, FIM pad/repo/separator
    /// tokens and tokens named like `<|im_end|>`, `<|eot_id|>`, `<|end|>`,
    /// `<|endoftext|>`, `</s>`, `<end_of_turn>`... (llama.cpp's `special_eog_ids`).
    pub fn eog_tokens(&self) -> &[u32] {
        &self.eog
    }

    /// Whether the model expects a BOS token in front of a prompt
    /// (`tokenizer.ggml.add_bos_token`, else llama.cpp's default for the tokenizer).
    pub fn add_bos_default(&self) -> bool {
        self.add_bos
    }

    /// Whether SentencePiece text gets a leading space (`tokenizer.ggml.add_space_prefix`).
    pub fn add_space_prefix(&self) -> bool {
        self.add_space_prefix
    }

    /// `tokenizer.ggml.model`: `"llama"`, `"gpt2"` or `"bert"`.
    pub fn model_kind(&self) -> &str {
        &self.model
    }

    /// `tokenizer.ggml.pre`, when present.
    pub fn pre(&self) -> Option<&str> {
        self.pre.as_deref()
    }

    /// The id of the token whose text is exactly `piece` (as stored: `▁` for spaces in
    /// SentencePiece, `Ġ` in byte-level BPE).
    pub fn token_to_id(&self, piece: &str) -> Option<u32> {
        self.vocab.id(piece)
    }

    /// The stored text of token `id`.
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.vocab.get(id).map(|t| &*t.text)
    }

    /// Whether `id` is a control token (BOS, EOS, chat markers...).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.attr(id) & attr::CONTROL != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_is_send_sync_clone_debug() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<Tokenizer>();
        check::<StreamDecoder>();
    }
}
