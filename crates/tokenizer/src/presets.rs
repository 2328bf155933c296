//! `tokenizer.ggml.pre` values for byte-level BPE: the regex list and flags llama.cpp uses
//! for each (`llama_vocab::impl::load` and `llm_tokenizer_bpe`'s constructor).

use crate::pretok::{GPT2_REGEX, LLAMA3_REGEX};

/// What a pre-tokenizer name selects.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Preset {
    pub(crate) regexes: &'static [&'static str],
    /// Whether llama.cpp's detokenizer cleans spaces before punctuation (recorded, unused:
    /// see `Tokenizer::decode`).
    pub(crate) clean_spaces: bool,
    /// Emit a word that is a whole token as is, without merges (Llama 3).
    pub(crate) ignore_merges: bool,
    /// Default of `add_bos_token`.
    pub(crate) add_bos: bool,
    /// The default BOS id (11 for BPE) is cleared.
    pub(crate) no_default_bos: bool,
}

const DEFAULT: &[&str] = &[r"[\p{P}\$\+<=>\^~\|]+", GPT2_REGEX, r"\p{N}+", "[0-9][0-9][0-9]"];
const LLAMA3: &[&str] = &[LLAMA3_REGEX];
const JAIS2: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}",
];
const DEEPSEEK_LLM: &[&str] = &[
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
];
const DEEPSEEK3: &[&str] = &[
    r"\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];
const DEEPSEEK_CODER: &[&str] = &["[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", r"\p{N}"];
const FALCON: &[&str] = &[r"[\p{P}\$\+<=>\^~\|`]+", GPT2_REGEX, "[0-9][0-9][0-9]"];
const STARCODER: &[&str] = &[r"\p{N}", GPT2_REGEX];
const GPT2: &[&str] = &[GPT2_REGEX];
const QWEN2: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const QWEN35: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const UFAKZEKA: &[&str] = &[r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"];
const LAGUNA: &[&str] = &[
    r"[^\n]+|[\n]+",
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const PORO: &[&str] = &[" ?[^(\\s|.,!?…。，、।۔،)]+"];
const VIKING: &[&str] = &[" ?[^(\\s|.,!?…。，、।۔،)]+", r"\p{N}"];
const TEKKEN: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const CHAMELEON: &[&str] = &[
    "<sentinel:[0-9]+>",
    "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
    "([\\t\\n]|    |  )",
    r"\p{N}",
    r"[\p{P}!-/:-@\[-`{-~]",
    GPT2_REGEX,
];
const GPT4O: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const BAILINGMOE: &[&str] = &[
    r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+",
];
const SEED_CODER: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+",
];
const EXAONE_MOE: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+",
];
const MINICPM5: &[&str] = &[
    r"\p{N}{1,3}",
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

/// The preset for a `tokenizer.ggml.pre` value (`None` = absent, llama.cpp's "default"),
/// or `None` when llama.cpp does not know the name or arbitre cannot reproduce it.
pub(crate) fn bpe_preset(pre: Option<&str>) -> Option<Preset> {
    let p = |regexes, clean_spaces| Preset { regexes, clean_spaces, ignore_merges: false, add_bos: false, no_default_bos: false };
    let Some(pre) = pre else { return Some(p(DEFAULT, true)) };
    Some(match pre {
        "default" => p(DEFAULT, true),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2" | "jina-v5-nano" => {
            Preset { ignore_merges: true, add_bos: true, ..p(LLAMA3, true) }
        }
        "minicpm5" => Preset { ignore_merges: true, ..p(MINICPM5, true) },
        "deepseek-llm" => p(DEEPSEEK_LLM, false),
        "deepseek-coder" => p(DEEPSEEK_CODER, false),
        "deepseek-v3" | "hunyuan-dense" | "hy_v4" | "joyai-llm" => p(DEEPSEEK3, false),
        "falcon" => p(FALCON, true),
        "mpt" | "olmo" | "jais" | "exaone4" => p(GPT2, true),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0" | "mellum"
        | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe" => p(GPT2, true),
        "trillion" | "granite-docling" => p(GPT2, false),
        "jais-2" => p(JAIS2, true),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => p(STARCODER, true),
        "command-r" | "smollm" => p(STARCODER, false),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open" | "grok-2" => p(QWEN2, false),
        "ufakzeka" => p(UFAKZEKA, false),
        "laguna" => p(LAGUNA, false),
        "stablelm2" | "megrez" => p(QWEN2, true),
        "qwen35" => p(QWEN35, false),
        "dbrx" | "smaug-bpe" => p(LLAMA3, true),
        "glm4" | "chatglm-bpe" => Preset { no_default_bos: true, ..p(LLAMA3, true) },
        "poro-chat" => p(PORO, false),
        "bloom" | "gpt3-finnish" => p(PORO, true),
        "viking" => p(VIKING, false),
        "tekken" => Preset { ignore_merges: true, add_bos: true, ..p(TEKKEN, false) },
        "chameleon" => Preset { add_bos: true, ..p(CHAMELEON, false) },
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => p(GPT4O, false),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => p(BAILINGMOE, false),
        "seed-coder" => p(SEED_CODER, false),
        "exaone-moe" => p(EXAONE_MOE, true),
        _ => return None,
    })
}

/// Every name [`bpe_preset`] accepts, for tests and error messages.
pub(crate) const SUPPORTED_PRES: &[&str] = &[
    "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
    "minicpm5", "deepseek-llm", "deepseek-coder", "deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm", "falcon", "mpt",
    "olmo", "jais", "exaone4", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
    "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "trillion", "granite-docling", "jais-2",
    "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2", "command-r", "smollm", "qwen2",
    "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2", "ufakzeka", "laguna", "stablelm2", "megrez", "qwen35", "dbrx", "smaug-bpe",
    "glm4", "chatglm-bpe", "poro-chat", "bloom", "gpt3-finnish", "viking", "tekken", "chameleon", "gpt-4o", "llama4",
    "kanana2", "talkie", "minimax-m2", "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder", "exaone-moe",
];
