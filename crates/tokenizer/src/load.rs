//! Building a [`Tokenizer`] from GGUF metadata (llama.cpp's `llama_vocab::impl::load`) or
//! from a llama2.c tokenizer file.

use std::collections::HashMap;

use arbitre_gguf::{Metadata, Value};

use crate::bpe::{Bpe, char_to_byte_map};
use crate::presets::bpe_preset;
use crate::pretok::PreTokenizer;
use crate::vocab::{TokenData, Vocab, attr};
use crate::wpm::WpmOptions;
use crate::{Kind, Tokenizer, TokenizerError};

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";
const KEY_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
const KEY_ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
const KEY_ADD_SEP: &str = "tokenizer.ggml.add_sep_token";
const KEY_ADD_PREFIX: &str = "tokenizer.ggml.add_space_prefix";
const KEY_LOWERCASE: &str = "tokenizer.ggml.normalizer.lowercase";
const KEY_STRIP_ACCENTS: &str = "tokenizer.ggml.normalizer.strip_accents";

/// Special token ids, `None` = LLAMA_TOKEN_NULL.
#[derive(Default)]
struct Specials {
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    eom: Option<u32>,
    unk: Option<u32>,
    sep: Option<u32>,
    pad: Option<u32>,
    mask: Option<u32>,
    fim_pre: Option<u32>,
    fim_suf: Option<u32>,
    fim_mid: Option<u32>,
    fim_pad: Option<u32>,
    fim_rep: Option<u32>,
    fim_sep: Option<u32>,
}

/// Where a special id lives in [`Specials`].
type Slot = fn(&mut Specials) -> &mut Option<u32>;

/// Token texts llama.cpp takes for EOT when `eot_token_id` is absent.
const EOT_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_NAMES: &[&str] = &["<|eom_id|>"];
const FIM_PRE_NAMES: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_NAMES: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_NAMES: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_NAMES: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_NAMES: &[&str] = &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
const FIM_SEP_NAMES: &[&str] = &["<|file_sep|>"];
/// Token texts that end generation (llama.cpp's list).
const EOG_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

fn invalid(key: &str, reason: impl Into<String>) -> TokenizerError {
    TokenizerError::InvalidMetadata { key: key.to_owned(), reason: reason.into() }
}

/// An optional token id: absent, negative or out of range gives `None` (llama.cpp warns
/// and keeps its default); a non-integer value is an error.
fn read_id(md: &Metadata, key: &str, n_tokens: usize) -> Result<Option<u32>, TokenizerError> {
    match md.get(key) {
        None => Ok(None),
        Some(v) => {
            if v.as_i64().is_none() && v.as_u64().is_none() {
                return Err(invalid(key, format!("expected an integer token id, found {}", v.type_name())));
            }
            Ok(v.as_u64().and_then(|x| u32::try_from(x).ok()).filter(|&x| (x as usize) < n_tokens))
        }
    }
}

impl Tokenizer {
    /// Builds the tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata, as
    /// llama.cpp loads it.
    ///
    /// Errors: a missing `tokenizer.ggml.model` or `tokenizer.ggml.tokens`, values of the
    /// wrong type, a model other than `llama`/`gpt2`/`bert`, an unknown
    /// `tokenizer.ggml.pre` for `gpt2`, duplicate tokens, or `add_bos_token` without a BOS.
    pub fn from_metadata(md: &Metadata) -> Result<Self, TokenizerError> {
        let model = md.str(KEY_MODEL)?.to_owned();
        let pre = md.opt(KEY_PRE, Metadata::str)?.map(str::to_owned);
        let kind = match model.as_str() {
            "llama" => Kind::Spm,
            "gpt2" => Kind::Bpe,
            "bert" => Kind::Wpm,
            _ => return Err(TokenizerError::UnsupportedModel(model)),
        };

        // llama.cpp's defaults per tokenizer type
        let preset = match kind {
            Kind::Bpe => Some(
                bpe_preset(pre.as_deref())
                    .ok_or_else(|| TokenizerError::UnsupportedPre(pre.clone().unwrap_or_default()))?,
            ),
            Kind::Spm | Kind::Wpm => None,
        };
        let mut add_bos = preset.is_none_or(|p| p.add_bos);
        let mut add_eos = false;
        let mut add_sep = kind == Kind::Wpm;
        let mut add_space_prefix = kind == Kind::Spm;
        let default_ids: &[(Slot, u32)] = match kind {
            Kind::Spm => &[(|s| &mut s.bos, 1), (|s| &mut s.eos, 2), (|s| &mut s.unk, 0)],
            Kind::Wpm => &[
                (|s| &mut s.bos, 101),
                (|s| &mut s.unk, 100),
                (|s| &mut s.sep, 102),
                (|s| &mut s.pad, 0),
                (|s| &mut s.mask, 103),
            ],
            Kind::Bpe if preset.is_some_and(|p| p.no_default_bos) => &[(|s| &mut s.eos, 11)],
            Kind::Bpe => &[(|s| &mut s.bos, 11), (|s| &mut s.eos, 11)],
        };
        if let Some(v) = md.opt(KEY_ADD_PREFIX, Metadata::bool)? {
            add_space_prefix = v;
        }

        // the vocabulary
        let texts = md.string_array(KEY_TOKENS)?;
        let n = texts.len();
        if n == 0 {
            return Err(invalid(KEY_TOKENS, "the vocabulary is empty"));
        }
        if u32::try_from(n).is_err() {
            return Err(invalid(KEY_TOKENS, format!("{n} tokens is too many")));
        }
        let scores = md.opt(KEY_SCORES, Metadata::f32_array)?;
        if let Some(s) = &scores
            && s.len() < n
        {
            return Err(invalid(KEY_SCORES, format!("{} scores for {n} tokens", s.len())));
        }
        let types = md.opt(KEY_TOKEN_TYPE, Metadata::i64_array)?;
        if let Some(t) = &types
            && t.len() < n
        {
            return Err(invalid(KEY_TOKEN_TYPE, format!("{} token types for {n} tokens", t.len())));
        }
        let mut tokens = Vec::with_capacity(n);
        let mut token_to_id: HashMap<Box<str>, u32> = HashMap::with_capacity(n);
        let mut max_token_len = 0;
        for (i, &t) in texts.iter().enumerate() {
            let id = i as u32;
            let text: Box<str> = if t.is_empty() { format!("[EMPTY_{i}]").into() } else { t.into() };
            if let Some(&first) = token_to_id.get(&text) {
                return Err(TokenizerError::DuplicateToken { text: text.into(), first, second: id });
            }
            max_token_len = max_token_len.max(text.len());
            token_to_id.insert(text.clone(), id);
            let score = scores.as_ref().and_then(|s| s.get(i)).copied().unwrap_or(0.0);
            let attr = types.as_ref().and_then(|t| t.get(i)).map_or(attr::NORMAL, |&t| attr::from_token_type(t));
            tokens.push(TokenData { text, score, attr });
        }
        let mut vocab = Vocab { tokens, token_to_id, max_token_len };

        // special token ids: defaults (dropped when out of range), then the metadata
        let mut sp = Specials::default();
        for &(slot, id) in default_ids {
            *slot(&mut sp) = Some(id).filter(|&x| (x as usize) < n);
        }
        let overrides: [(&str, Slot); 17] = [
            ("tokenizer.ggml.bos_token_id", |s| &mut s.bos),
            ("tokenizer.ggml.eos_token_id", |s| &mut s.eos),
            ("tokenizer.ggml.eot_token_id", |s| &mut s.eot),
            ("tokenizer.ggml.eom_token_id", |s| &mut s.eom),
            ("tokenizer.ggml.unknown_token_id", |s| &mut s.unk),
            ("tokenizer.ggml.seperator_token_id", |s| &mut s.sep),
            ("tokenizer.ggml.padding_token_id", |s| &mut s.pad),
            ("tokenizer.ggml.mask_token_id", |s| &mut s.mask),
            ("tokenizer.ggml.fim_pre_token_id", |s| &mut s.fim_pre),
            ("tokenizer.ggml.fim_suf_token_id", |s| &mut s.fim_suf),
            ("tokenizer.ggml.fim_mid_token_id", |s| &mut s.fim_mid),
            ("tokenizer.ggml.fim_pad_token_id", |s| &mut s.fim_pad),
            ("tokenizer.ggml.fim_rep_token_id", |s| &mut s.fim_rep),
            ("tokenizer.ggml.fim_sep_token_id", |s| &mut s.fim_sep),
            // deprecated spellings
            ("tokenizer.ggml.prefix_token_id", |s| &mut s.fim_pre),
            ("tokenizer.ggml.suffix_token_id", |s| &mut s.fim_suf),
            ("tokenizer.ggml.middle_token_id", |s| &mut s.fim_mid),
        ];
        for (key, slot) in overrides {
            if let Some(id) = read_id(md, key, n)? {
                *slot(&mut sp) = Some(id);
            }
        }
        if let Some(v) = md.opt(KEY_ADD_BOS, Metadata::bool)? {
            add_bos = v;
        }
        if let Some(v) = md.opt(KEY_ADD_EOS, Metadata::bool)? {
            add_eos = v;
        }
        if let Some(v) = md.opt(KEY_ADD_SEP, Metadata::bool)? {
            add_sep = v;
        }
        if add_bos && sp.bos.is_none() {
            return Err(TokenizerError::MissingSpecialToken("BOS (tokenizer.ggml.add_bos_token is true)"));
        }
        if add_eos && sp.eos.is_none() {
            return Err(TokenizerError::MissingSpecialToken("EOS (tokenizer.ggml.add_eos_token is true)"));
        }
        if add_sep && sp.sep.is_none() {
            return Err(TokenizerError::MissingSpecialToken("separator (tokenizer.ggml.add_sep_token is true)"));
        }
        let lowercase = md.opt(KEY_LOWERCASE, Metadata::bool)?.unwrap_or(true);
        let strip_accents = md.opt(KEY_STRIP_ACCENTS, Metadata::bool)?.unwrap_or(lowercase);

        let eog = detect_special_tokens(&mut vocab, &mut sp);
        let special_cache = special_cache(&vocab);
        model_attr_fixups(md, pre.as_deref(), &mut vocab, &special_cache);

        let bpe = match preset {
            Some(p) => {
                let merges = md.string_array(KEY_MERGES)?;
                let pretok = PreTokenizer::new(p.regexes)
                    .map_err(|message| TokenizerError::Regex { pre: pre.clone().unwrap_or_default(), message })?;
                Some(Bpe::new(&vocab.token_to_id, n, &merges, pretok, p.ignore_merges))
            }
            None => None,
        };

        Ok(Tokenizer {
            model,
            pre,
            kind,
            vocab,
            bos: sp.bos,
            eos: sp.eos,
            unk: sp.unk,
            sep: sp.sep,
            eog,
            add_bos,
            add_eos,
            add_space_prefix,
            special_cache,
            bpe,
            wpm: WpmOptions { lowercase, strip_accents },
            char_to_byte: if kind == Kind::Bpe { char_to_byte_map() } else { HashMap::new() },
        })
    }

    /// Reads a llama2.c tokenizer file (`tokN.bin`): an i32 max token length, then per
    /// token an f32 score, an i32 byte length and the bytes. It behaves as the SentencePiece
    /// BPE llama.cpp's `convert-llama2c-to-ggml` makes of it: `<unk>` = 0, BOS = 1, EOS = 2
    /// (stored as `"\n<s>\n"`, `"\n</s>\n"`), `<0xXX>` byte tokens, spaces as `▁`, and a
    /// space prefix.
    pub fn from_llama2c(bytes: &[u8], vocab_size: usize) -> Result<Self, TokenizerError> {
        let bad = |m: String| TokenizerError::InvalidLlama2c(m);
        let mut pos = 4usize;
        if bytes.len() < 4 {
            return Err(bad("shorter than its 4-byte header".into()));
        }
        if vocab_size == 0 {
            return Err(bad("vocab_size is 0".into()));
        }
        let mut texts = Vec::with_capacity(vocab_size.min(1 << 20));
        let mut scores = Vec::with_capacity(vocab_size.min(1 << 20));
        let mut types = Vec::with_capacity(vocab_size.min(1 << 20));
        let read4 = |pos: usize| -> Option<[u8; 4]> { bytes.get(pos..pos + 4)?.try_into().ok() };
        for i in 0..vocab_size {
            let (Some(s), Some(l)) = (read4(pos), read4(pos + 4)) else {
                return Err(bad(format!("ends inside token {i} of {vocab_size}")));
            };
            let score = f32::from_le_bytes(s);
            let len =
                usize::try_from(i32::from_le_bytes(l)).map_err(|_| bad(format!("token {i} has a negative length")))?;
            pos += 8;
            let raw = bytes
                .get(pos..pos.saturating_add(len))
                .ok_or_else(|| bad(format!("token {i} ({len} bytes) runs past the end of the file")))?;
            pos += len;
            let text = std::str::from_utf8(raw).map_err(|_| bad(format!("token {i} is not UTF-8")))?;
            let (text, ty) = match i {
                0 => (text.to_owned(), 2),
                1 | 2 => (text.trim_matches('\n').to_owned(), 3),
                _ if is_byte_token(text) => (text.to_owned(), 6),
                _ => (text.replace(' ', "\u{2581}"), 1),
            };
            texts.push(Value::String(text));
            scores.push(Value::F32(score));
            types.push(Value::I32(ty));
        }
        let mut md = Metadata::default();
        md.insert(KEY_MODEL, Value::String("llama".into()));
        md.insert(KEY_TOKENS, Value::Array(texts));
        md.insert(KEY_SCORES, Value::Array(scores));
        md.insert(KEY_TOKEN_TYPE, Value::Array(types));
        md.insert("tokenizer.ggml.unknown_token_id", Value::U32(0));
        md.insert("tokenizer.ggml.bos_token_id", Value::U32(1));
        md.insert("tokenizer.ggml.eos_token_id", Value::U32(2));
        Self::from_metadata(&md)
    }
}

fn is_byte_token(t: &str) -> bool {
    t.len() == 6 && t.starts_with("<0x") && t.ends_with('>') && t.as_bytes()[3..5].iter().all(u8::is_ascii_hexdigit)
}

/// llama.cpp's detection of EOT/EOM/FIM/EOG tokens by their text, which also forces the
/// control attribute on them, and its end-of-generation list. Returns the sorted EOG ids.
fn detect_special_tokens(vocab: &mut Vocab, sp: &mut Specials) -> Vec<u32> {
    // llama.cpp walks an unordered_map here; walking ids in order makes the choice among
    // several candidates (which only matters for EOT, which is EOG anyway) deterministic.
    let n = vocab.tokens.len();
    let name_slots: [(&[&str], Slot); 8] = [
        (EOT_NAMES, |s| &mut s.eot),
        (EOM_NAMES, |s| &mut s.eom),
        (FIM_PRE_NAMES, |s| &mut s.fim_pre),
        (FIM_SUF_NAMES, |s| &mut s.fim_suf),
        (FIM_MID_NAMES, |s| &mut s.fim_mid),
        (FIM_PAD_NAMES, |s| &mut s.fim_pad),
        (FIM_REP_NAMES, |s| &mut s.fim_rep),
        (FIM_SEP_NAMES, |s| &mut s.fim_sep),
    ];
    for (names, slot) in name_slots {
        if slot(sp).is_some() {
            continue;
        }
        for (id, tok) in vocab.tokens.iter_mut().enumerate() {
            if names.contains(&&*tok.text) {
                *slot(sp) = Some(id as u32);
                tok.attr |= attr::CONTROL;
                break;
            }
        }
    }

    let mut eog: Vec<u32> = [sp.fim_pad, sp.fim_rep, sp.fim_sep].into_iter().flatten().collect();
    for (id, tok) in vocab.tokens.iter_mut().enumerate() {
        if EOG_NAMES.contains(&&*tok.text) {
            eog.push(id as u32);
            tok.attr |= attr::CONTROL;
        }
    }
    // gpt-oss: always render these
    for tok in vocab.tokens.iter_mut() {
        if ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"].contains(&&*tok.text) {
            tok.attr = attr::USER_DEFINED;
        }
    }
    eog.extend([sp.eos, sp.eot, sp.eom].into_iter().flatten());
    eog.retain(|&id| (id as usize) < n);
    eog.sort_unstable();
    eog.dedup();

    let text_of = |vocab: &Vocab, id: u32| vocab.get(id).map(|t| t.text.to_string()).unwrap_or_default();
    // o200k_harmony / solar-open: "<|end|>" is not EOG when "<|return|>"+"<|call|>" or
    // "<|calls|>"+"<|flush|>" are.
    let texts: Vec<String> = eog.iter().map(|&id| text_of(vocab, id)).collect();
    let has = |t: &str| texts.iter().any(|x| x == t);
    let has_call = has("<|call|>") || has("<|calls|>");
    if has("<|end|>")
        && has_call
        && (has("<|return|>") || has("<|flush|>"))
        && let Some(end_id) = eog.iter().copied().find(|&id| text_of(vocab, id) == "<|end|>")
    {
        eog.retain(|&id| id != end_id);
        if let Some(t) = vocab.tokens.get_mut(end_id as usize) {
            t.attr = attr::USER_DEFINED;
        }
    }
    // gemma4 / paddleocr: "</s>" is not EOG when "<|tool_response>" is.
    if has("<|tool_response>")
        && let Some(s_id) = eog.iter().copied().find(|&id| text_of(vocab, id) == "</s>")
    {
        eog.retain(|&id| id != s_id);
        if let Some(t) = vocab.tokens.get_mut(s_id as usize) {
            t.attr = attr::NORMAL;
        }
    }
    eog
}

/// Control, user-defined and unknown tokens, longest text first (ties by id).
fn special_cache(vocab: &Vocab) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..vocab.tokens.len() as u32)
        .filter(|&id| vocab.attr(id) & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0)
        .collect();
    ids.sort_by_key(|&id| std::cmp::Reverse(vocab.get(id).map_or(0, |t| t.text.len())));
    ids
}

/// llama.cpp's per-model attribute fix-ups (by `general.name`, `tokenizer.ggml.pre`,
/// `general.architecture`): strip whitespace around some special tokens.
fn model_attr_fixups(md: &Metadata, pre: Option<&str>, vocab: &mut Vocab, special_cache: &[u32]) {
    let name = md.get("general.name").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let arch = md.get("general.architecture").and_then(Value::as_str).unwrap_or("");
    let pre = pre.unwrap_or("");
    let set = |vocab: &mut Vocab, text: &str, bit: u16, on: bool| {
        if let Some(t) = vocab.id(text).and_then(|id| vocab.tokens.get_mut(id as usize)) {
            if on { t.attr |= bit } else { t.attr &= !bit }
        }
    };
    let any = |s: &str, subs: &[&str]| subs.iter().any(|x| s.contains(x));
    if any(pre, &["jina-v2-de", "jina-v2-es", "jina-v2-code"]) || any(arch, &["nomic-bert-moe", "jina-bert-v3"]) {
        set(vocab, "<mask>", attr::LSTRIP, true);
    } else if any(&name, &["phi-3", "phi3"]) {
        for &id in special_cache {
            if let Some(t) = vocab.tokens.get_mut(id as usize) {
                t.attr |= attr::RSTRIP;
            }
        }
        set(vocab, "</s>", attr::RSTRIP, true);
        for t in ["<unk>", "<s>", "<|endoftext|>"] {
            set(vocab, t, attr::RSTRIP, false);
        }
    } else if any(&name, &["modern-bert"]) {
        set(vocab, "[MASK]", attr::LSTRIP, true);
    }
}
