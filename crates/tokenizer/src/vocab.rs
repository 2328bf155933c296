//! The token table shared by every tokenizer kind.

use std::collections::HashMap;

/// Token attribute bits, as llama.cpp's `llama_token_attr`.
pub(crate) mod attr {
    pub(crate) const UNKNOWN: u16 = 1 << 0;
    pub(crate) const UNUSED: u16 = 1 << 1;
    pub(crate) const NORMAL: u16 = 1 << 2;
    pub(crate) const CONTROL: u16 = 1 << 3;
    pub(crate) const USER_DEFINED: u16 = 1 << 4;
    pub(crate) const BYTE: u16 = 1 << 5;
    pub(crate) const LSTRIP: u16 = 1 << 7;
    pub(crate) const RSTRIP: u16 = 1 << 8;

    /// The attribute of a GGUF `tokenizer.ggml.token_type` value.
    pub(crate) fn from_token_type(t: i64) -> u16 {
        match t {
            1 => NORMAL,
            2 => UNKNOWN,
            3 => CONTROL,
            4 => USER_DEFINED,
            5 => UNUSED,
            6 => BYTE,
            _ => 0, // undefined
        }
    }
}

/// One vocabulary entry.
#[derive(Clone, Debug)]
pub(crate) struct TokenData {
    pub(crate) text: Box<str>,
    pub(crate) score: f32,
    pub(crate) attr: u16,
}

/// Tokens by id and by text.
#[derive(Clone, Debug)]
pub(crate) struct Vocab {
    pub(crate) tokens: Vec<TokenData>,
    pub(crate) token_to_id: HashMap<Box<str>, u32>,
    /// Longest token text in bytes.
    pub(crate) max_token_len: usize,
}

impl Vocab {
    /// The id of the token spelled `text`.
    pub(crate) fn id(&self, text: &str) -> Option<u32> {
        self.token_to_id.get(text).copied()
    }

    /// The data of token `id`.
    pub(crate) fn get(&self, id: u32) -> Option<&TokenData> {
        self.tokens.get(id as usize)
    }

    /// Attributes of `id` (0 when out of range).
    pub(crate) fn attr(&self, id: u32) -> u16 {
        self.get(id).map_or(0, |t| t.attr)
    }

    /// SentencePiece's byte token for `b`: `<0xXX>`, else the one-byte token itself
    /// (llama.cpp's `byte_to_token`).
    pub(crate) fn byte_token(&self, b: u8) -> Option<u32> {
        self.id(&format!("<0x{b:02X}>")).or_else(|| std::str::from_utf8(&[b]).ok().and_then(|s| self.id(s)))
    }
}
