//! Synthetic GGUF models: real architectures and real vocabularies with random weights from a
//! fixed seed, written with arbitre's own GGUF writer. They let the engine be compared with
//! llama.cpp on architectures whose trained weights are not available offline.

use arbitre_gguf::{GgmlType, GgufWriter, Metadata, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::error::{EngineError, Result};
use crate::sampler::Rng;

/// The shape of a synthetic model.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthShape {
    /// Residual width.
    pub n_embd: usize,
    /// Blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_head_kv: usize,
    /// Feed-forward width.
    pub n_ff: usize,
    /// Context length written in the metadata.
    pub n_ctx: usize,
}

impl SynthShape {
    /// Small enough for tests, with rows that are multiples of 256 so every quant type applies.
    pub fn test() -> Self {
        Self { n_embd: 256, n_layer: 2, n_head: 8, n_head_kv: 2, n_ff: 512, n_ctx: 512 }
    }

    /// [`Self::test`] with six layers: Gemma 3's pattern of five sliding-window layers and one
    /// global layer, whole.
    pub fn test6() -> Self {
        Self { n_layer: 6, ..Self::test() }
    }

    /// The shape of SmolLM2-135M (with a 32000-token vocabulary from the caller).
    pub fn smol135() -> Self {
        Self { n_embd: 576, n_layer: 30, n_head: 9, n_head_kv: 3, n_ff: 1536, n_ctx: 2048 }
    }

    /// The shape of TinyLlama-1.1B.
    pub fn tiny1b() -> Self {
        Self { n_embd: 2048, n_layer: 22, n_head: 32, n_head_kv: 4, n_ff: 5632, n_ctx: 2048 }
    }

    /// The shape of Llama-2-7B (multi-head attention: as many KV heads as query heads).
    pub fn llama7b() -> Self {
        Self { n_embd: 4096, n_layer: 32, n_head: 32, n_head_kv: 32, n_ff: 11008, n_ctx: 4096 }
    }

    /// `test`, `test6`, `smol135`, `tiny1b` or `llama7b`.
    pub fn named(name: &str) -> Result<Self> {
        match name {
            "test" => Ok(Self::test()),
            "test6" => Ok(Self::test6()),
            "smol135" => Ok(Self::smol135()),
            "tiny1b" => Ok(Self::tiny1b()),
            "llama7b" => Ok(Self::llama7b()),
            _ => Err(EngineError::BadConfig(format!(
                "unknown synthetic shape {name:?} (test, test6, smol135, tiny1b, llama7b)"
            ))),
        }
    }
}

/// Weight encodings a synthetic model can use for its matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthQuant {
    /// Plain f32.
    F32,
    /// 8-bit blocks of 32.
    Q8_0,
    /// 4-bit blocks of 32.
    Q4_0,
    /// 4-bit k-quant super-blocks of 256.
    Q4K,
    /// llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output and for `attn_v`/`ffn_down`
    /// of the layers llama.cpp gives more bits; rows that are not a multiple of 256 fall back
    /// to Q5_0 (for Q4_K) and Q8_0 (for Q6_K), as llama.cpp's quantizer does.
    Q4KM,
}

impl SynthQuant {
    /// Parses `f32`, `q8_0`, `q4_0`, `q4_k`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "f32" => Self::F32,
            "q8_0" => Self::Q8_0,
            "q4_0" => Self::Q4_0,
            "q4_k" => Self::Q4K,
            "q4_k_m" => Self::Q4KM,
            _ => {
                return Err(EngineError::BadConfig(format!(
                    "unknown synthetic quant {s:?} (f32, q8_0, q4_0, q4_k, q4_k_m)"
                )));
            }
        })
    }

    /// The type of one matrix: `name` is its GGUF name, `layer` its block (if any), `cols`
    /// its row length.
    fn ggml(self, name: &str, layer: Option<usize>, n_layer: usize, cols: usize) -> (GgmlType, GgmlDType) {
        let k_ok = cols.is_multiple_of(256);
        match self {
            Self::F32 => (GgmlType::F32, GgmlDType::F32),
            Self::Q8_0 => (GgmlType::Q8_0, GgmlDType::Q8_0),
            Self::Q4_0 => (GgmlType::Q4_0, GgmlDType::Q4_0),
            Self::Q4K => (GgmlType::Q4K, GgmlDType::Q4K),
            Self::Q4KM => {
                let more_bits = |i: usize| i < n_layer / 8 || i >= 7 * n_layer / 8 || (i - n_layer / 8) % 3 == 2;
                let six = name == "output.weight"
                    || ((name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight"))
                        && layer.is_some_and(more_bits));
                match (six, k_ok) {
                    (true, true) => (GgmlType::Q6K, GgmlDType::Q6K),
                    (true, false) => (GgmlType::Q8_0, GgmlDType::Q8_0),
                    (false, true) => (GgmlType::Q4K, GgmlDType::Q4K),
                    (false, false) => (GgmlType::Q5_0, GgmlDType::Q5_0),
                }
            }
        }
    }
}

/// Sliding window of synthetic Gemma 3 models: shorter than a test's prompt and answer, so the
/// window layers really forget.
pub const SYNTH_GEMMA3_WINDOW: usize = 16;

/// Head width of synthetic Qwen 3 and Gemma 3 models: q is twice as wide as the stream in the
/// test shapes, as in the real models (Qwen3-0.6B: 16 x 128 over 1024; Gemma 3 270M: 4 x 256
/// over 640).
pub const SYNTH_WIDE_HEAD: usize = 64;

/// Writes a synthetic model of architecture `arch` (`llama`, `qwen2`, `qwen3`, `phi3`, `gemma3`) with the
/// tokenizer of `vocab` (the `tokenizer.*` metadata of a real GGUF). Same inputs, same bytes,
/// whatever the number of threads: large matrices are drawn and quantized on every core
/// ([`Draws`]): a 7B Q4_0 (3.8 GB) took 66 s on two busy cores.
pub fn synth_gguf(arch: &str, shape: &SynthShape, quant: SynthQuant, vocab: &Metadata, seed: u64) -> Result<Vec<u8>> {
    synth_inner(arch, shape, quant, vocab, seed, None)
}

/// Tokens added to the vocabulary of a scripted model (as user-defined tokens, which every
/// tokenizer keeps whole), so that a script can hold a thinking model's reasoning block.
pub const SCRIPT_ADDED_TOKENS: [&str; 2] = [arbitre_chat::reasoning::OPEN, arbitre_chat::reasoning::CLOSE];

/// Writes a synthetic model of `arch` that answers any prompt with `script`, then its end of
/// text: for tests of what the page does with an output it knows in advance (a `<think>`
/// block, Markdown). `vocab`'s tokenizer gains [`SCRIPT_ADDED_TOKENS`]; `script` is encoded
/// with it, and each of its tokens must be there once only, after a prompt whose last token is
/// not one of them.
///
/// How it answers: attention and feed-forward write nothing (their output matrices are
/// zero), so the residual stream is the embedding of the last token. A token of the script at
/// position i embeds as the unit vector e(i+1), any other token as e(0); the output matrix
/// (written even where the architecture ties it) maps e(0) to the script's first token, e(i+1)
/// to token i+1, and e(n) to the end of text. Greedy decoding then follows the script.
pub fn synth_scripted_gguf(
    arch: &str,
    shape: &SynthShape,
    vocab: &Metadata,
    script: &str,
    seed: u64,
) -> Result<Vec<u8>> {
    let vocab = add_user_tokens(vocab, &SCRIPT_ADDED_TOKENS)?;
    let tokenizer = arbitre_tokenizer::Tokenizer::from_metadata(&vocab)
        .map_err(|e| EngineError::BadConfig(format!("scripted model vocabulary: {e}")))?;
    let ids = tokenizer
        .encode(script, false, true)
        .map_err(|e| EngineError::BadConfig(format!("scripted model script: {e}")))?;
    let end =
        tokenizer.eos().ok_or_else(|| EngineError::BadConfig("the vocabulary has no end-of-text token".into()))?;
    if ids.is_empty() || ids.len() >= shape.n_embd {
        return Err(EngineError::BadConfig(format!(
            "a script must have 1 to {} tokens for a width of {}; this one has {}",
            shape.n_embd - 1,
            shape.n_embd,
            ids.len()
        )));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) || *id == end {
            let piece = tokenizer.decode(&[*id], false);
            return Err(EngineError::BadConfig(format!(
                "token {id} ({piece:?}) comes twice in the script (or is its end of text): a scripted model answers each token one way"
            )));
        }
    }
    synth_inner(arch, shape, SynthQuant::F32, &vocab, seed, Some(Script { ids, end }))
}

/// A scripted model's tokens and its end of text.
struct Script {
    ids: Vec<u32>,
    end: u32,
}

impl Script {
    /// The designed matrix `name` (`out` rows of `inp` values), or `None` for a random one.
    fn matrix(&self, name: &str, inp: usize, out: usize) -> Option<Vec<f32>> {
        let mut m = vec![0.0f32; inp * out];
        let mut set = |row: u32, col: usize| {
            if let Some(v) = m.get_mut(row as usize * inp + col) {
                *v = 1.0;
            }
        };
        if name == "token_embd.weight" {
            for row in 0..out as u32 {
                set(row, self.ids.iter().position(|&t| t == row).map_or(0, |i| i + 1));
            }
        } else if name == "output.weight" {
            for (i, &id) in self.ids.iter().enumerate() {
                set(id, i);
            }
            set(self.end, self.ids.len());
        } else if !(name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight")) {
            return None;
        }
        Some(m)
    }
}

/// `vocab` with `tokens` appended as user-defined tokens (GGUF token type 4), each with the
/// lowest score.
pub fn add_user_tokens(vocab: &Metadata, tokens: &[&str]) -> Result<Metadata> {
    let mut md = vocab.clone();
    let list = |key: &str| -> Result<Vec<Value>> { Ok(vocab.array(key)?.to_vec()) };
    let mut texts = list("tokenizer.ggml.tokens")?;
    let n = texts.len();
    if let Some(t) = tokens.iter().find(|t| texts.iter().any(|v| v.as_str() == Some(t))) {
        return Err(EngineError::BadConfig(format!("the vocabulary already has the token {t:?}")));
    }
    texts.extend(tokens.iter().map(|t| Value::String((*t).into())));
    md.insert("tokenizer.ggml.tokens", Value::Array(texts));
    if vocab.get("tokenizer.ggml.token_type").is_some() {
        let mut types = list("tokenizer.ggml.token_type")?;
        types.resize(n, Value::I32(1));
        types.extend(tokens.iter().map(|_| Value::I32(4)));
        md.insert("tokenizer.ggml.token_type", Value::Array(types));
    }
    if vocab.get("tokenizer.ggml.scores").is_some() {
        let mut scores = list("tokenizer.ggml.scores")?;
        let low = scores.iter().filter_map(Value::as_f64).fold(0.0f64, f64::min) - 1.0;
        scores.resize(n, Value::F32(0.0));
        scores.extend(tokens.iter().map(|_| Value::F32(low as f32)));
        md.insert("tokenizer.ggml.scores", Value::Array(scores));
    }
    Ok(md)
}

fn synth_inner(
    arch: &str,
    shape: &SynthShape,
    quant: SynthQuant,
    vocab: &Metadata,
    seed: u64,
    script: Option<Script>,
) -> Result<Vec<u8>> {
    let s = shape;
    if !s.n_embd.is_multiple_of(s.n_head) || !s.n_head.is_multiple_of(s.n_head_kv) {
        return Err(EngineError::BadConfig(format!(
            "{} heads / {} kv heads do not divide {}",
            s.n_head, s.n_head_kv, s.n_embd
        )));
    }
    let n_vocab = vocab.array("tokenizer.ggml.tokens")?.len();
    // Qwen 3 and Gemma 3 give their heads a width of their own.
    let wide_heads = matches!(arch, "qwen3" | "gemma3");
    let head_dim = if wide_heads { SYNTH_WIDE_HEAD } else { s.n_embd / s.n_head };
    let (q_dim, kv) = (s.n_head * head_dim, s.n_head_kv * head_dim);
    let mut w = GgufWriter::new();
    let mut rng = Draws { seed, drawn: 0 };
    let key = |k: &str| format!("{arch}.{k}");
    w.meta("general.architecture", Value::String(arch.into()))
        .meta(
            "general.name",
            Value::String(format!("arbitre {} {arch}", if script.is_some() { "scripted" } else { "synthetic" })),
        )
        .meta(key("context_length"), Value::U32(s.n_ctx as u32))
        .meta(key("embedding_length"), Value::U32(s.n_embd as u32))
        .meta(key("feed_forward_length"), Value::U32(s.n_ff as u32))
        .meta(key("block_count"), Value::U32(s.n_layer as u32))
        .meta(key("attention.head_count"), Value::U32(s.n_head as u32))
        .meta(key("attention.head_count_kv"), Value::U32(s.n_head_kv as u32))
        .meta(key("attention.layer_norm_rms_epsilon"), Value::F32(if arch == "gemma3" { 1e-6 } else { 1e-5 }))
        .meta(key("rope.dimension_count"), Value::U32(head_dim as u32));
    if wide_heads {
        w.meta(key("attention.key_length"), Value::U32(head_dim as u32))
            .meta(key("attention.value_length"), Value::U32(head_dim as u32));
    }
    if arch == "gemma3" {
        w.meta(key("attention.sliding_window"), Value::U32(SYNTH_GEMMA3_WINDOW as u32));
    }
    let (rope_base, rope_factors) = match arch {
        "llama" => (500_000.0, Some("rope_freqs.weight")),
        "qwen2" | "qwen3" | "gemma3" => (1_000_000.0, None),
        "phi3" => (10_000.0, Some("rope_factors_short.weight")),
        other => {
            return Err(EngineError::UnknownArchitecture {
                arch: other.into(),
                supported: crate::config::SUPPORTED_ARCHITECTURES,
            });
        }
    };
    w.meta(key("rope.freq_base"), Value::F32(rope_base));
    if arch == "phi3" {
        w.meta(key("rope.scaling.attn_factor"), Value::F32(1.1902381))
            .meta(key("rope.scaling.original_context_length"), Value::U32(s.n_ctx as u32));
    }
    for (k, v) in vocab.iter().filter(|(k, _)| k.starts_with("tokenizer.")) {
        w.meta(k.clone(), v.clone());
    }

    let matrix = |w: &mut GgufWriter, rng: &mut Draws, name: String, inp: usize, out: usize| -> Result<()> {
        let layer = name.strip_prefix("blk.").and_then(|r| r.split('.').next()).and_then(|i| i.parse().ok());
        let (gty, cty) = quant.ggml(&name, layer, s.n_layer, inp);
        let ty = (gty != GgmlType::F32).then_some(cty);
        let data = rng.matrix(out, inp, (3.0 / inp as f64).sqrt(), ty)?;
        let designed = script.as_ref().and_then(|sc| sc.matrix(&name, inp, out));
        let data = designed.map_or(data, |m| m.iter().flat_map(|v| v.to_le_bytes()).collect());
        w.tensor(name, &[inp as u64, out as u64], gty, data);
        Ok(())
    };
    let vector = |w: &mut GgufWriter, rng: &mut Draws, name: String, n: usize, center: f64, spread: f64| {
        w.tensor_f32(name, &[n as u64], &rng.uniform(n, center, spread));
    };

    matrix(&mut w, &mut rng, "token_embd.weight".into(), s.n_embd, n_vocab)?;
    for i in 0..s.n_layer {
        let n = |t: &str| format!("blk.{i}.{t}");
        vector(&mut w, &mut rng, n("attn_norm.weight"), s.n_embd, 1.0, 0.2);
        if arch == "phi3" {
            matrix(&mut w, &mut rng, n("attn_qkv.weight"), s.n_embd, s.n_embd + 2 * kv)?;
        } else {
            matrix(&mut w, &mut rng, n("attn_q.weight"), s.n_embd, q_dim)?;
            matrix(&mut w, &mut rng, n("attn_k.weight"), s.n_embd, kv)?;
            matrix(&mut w, &mut rng, n("attn_v.weight"), s.n_embd, kv)?;
        }
        if arch == "qwen2" {
            vector(&mut w, &mut rng, n("attn_q.bias"), s.n_embd, 0.0, 0.5);
            vector(&mut w, &mut rng, n("attn_k.bias"), kv, 0.0, 0.5);
            vector(&mut w, &mut rng, n("attn_v.bias"), kv, 0.0, 0.5);
        }
        if wide_heads {
            vector(&mut w, &mut rng, n("attn_q_norm.weight"), head_dim, 1.0, 0.2);
            vector(&mut w, &mut rng, n("attn_k_norm.weight"), head_dim, 1.0, 0.2);
        }
        matrix(&mut w, &mut rng, n("attn_output.weight"), q_dim, s.n_embd)?;
        if arch == "gemma3" {
            vector(&mut w, &mut rng, n("post_attention_norm.weight"), s.n_embd, 1.0, 0.2);
        }
        vector(&mut w, &mut rng, n("ffn_norm.weight"), s.n_embd, 1.0, 0.2);
        if arch == "phi3" {
            matrix(&mut w, &mut rng, n("ffn_up.weight"), s.n_embd, 2 * s.n_ff)?;
        } else {
            matrix(&mut w, &mut rng, n("ffn_gate.weight"), s.n_embd, s.n_ff)?;
            matrix(&mut w, &mut rng, n("ffn_up.weight"), s.n_embd, s.n_ff)?;
        }
        matrix(&mut w, &mut rng, n("ffn_down.weight"), s.n_ff, s.n_embd)?;
        if arch == "gemma3" {
            vector(&mut w, &mut rng, n("post_ffw_norm.weight"), s.n_embd, 1.0, 0.2);
        }
    }
    vector(&mut w, &mut rng, "output_norm.weight".into(), s.n_embd, 1.0, 0.2);
    // Qwen and Gemma tie their output to the embeddings (as Qwen2.5-0.5B, Qwen3-0.6B and
    // Gemma 3 270M do); the others do not.
    if !matches!(arch, "qwen2" | "qwen3" | "gemma3") || script.is_some() {
        matrix(&mut w, &mut rng, "output.weight".into(), s.n_embd, n_vocab)?;
    }
    if let Some(name) = rope_factors {
        vector(&mut w, &mut rng, name.into(), head_dim / 2, 1.5, 0.5);
        if arch == "phi3" {
            vector(&mut w, &mut rng, "rope_factors_long.weight".into(), head_dim / 2, 4.0, 1.0);
        }
    }
    Ok(w.to_bytes())
}

/// The step SplitMix64 (the sampler's [`Rng`]) adds to its state at each draw.
const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Values smaller than this are drawn or quantized on the calling thread alone.
const PARALLEL_MIN: usize = 1 << 20;

/// The weights' random stream: one [`Rng`] seeded once, each value one draw. SplitMix64's
/// state after `k` draws is `seed + k·γ`, so any stretch of the stream can be drawn on its
/// own: large matrices are drawn and quantized by bands of rows on every core, with the
/// values and the bytes one thread would make (quantized blocks never cross rows).
struct Draws {
    seed: u64,
    drawn: u64,
}

impl Draws {
    /// A generator whose next draw is draw `k` from now.
    fn at(&self, k: usize) -> Rng {
        Rng::new(self.seed.wrapping_add(self.drawn.wrapping_add(k as u64).wrapping_mul(SPLITMIX_GAMMA)))
    }

    /// The next `n` values of the stream, uniform in `center ± spread`.
    fn uniform(&mut self, n: usize, center: f64, spread: f64) -> Vec<f32> {
        let mut rng = self.at(0);
        self.drawn += n as u64;
        (0..n).map(|_| (center + (rng.next_f64() * 2.0 - 1.0) * spread) as f32).collect()
    }

    /// A `rows x cols` matrix of the next values, uniform in `±spread`, as little-endian f32
    /// (`ty` `None`) or quantized to `ty`.
    fn matrix(&mut self, rows: usize, cols: usize, spread: f64, ty: Option<GgmlDType>) -> Result<Vec<u8>> {
        let n = rows * cols;
        let t = if n < PARALLEL_MIN { 1 } else { threads().min(rows.max(1)) };
        let per = rows.div_ceil(t.max(1)).max(1);
        let band = |first: usize| -> Result<Vec<u8>> {
            let last = (first + per).min(rows);
            let row_bytes = ty.map_or(cols * 4, |ty| cols / ty.block_size() * ty.type_size());
            let mut out = Vec::with_capacity((last - first) * row_bytes);
            // A few hundred thousand values at a time: the f32s never exist whole.
            let step = (SUB_VALUES / cols.max(1)).max(1);
            let mut rng = self.at(first * cols);
            let mut values = Vec::with_capacity(step * cols);
            for r in (first..last).step_by(step) {
                let k = step.min(last - r);
                values.clear();
                values.extend((0..k * cols).map(|_| ((rng.next_f64() * 2.0 - 1.0) * spread) as f32));
                match ty {
                    None => out.extend(values.iter().flat_map(|v| v.to_le_bytes())),
                    Some(ty) => {
                        let t = Tensor::from_slice(&values, (k, cols), &Device::Cpu).map_err(candle)?;
                        let q = QTensor::quantize(&t, ty).map_err(candle)?;
                        out.extend_from_slice(&q.data().map_err(candle)?);
                    }
                }
            }
            Ok(out)
        };
        let bands: Vec<Result<Vec<u8>>> = if t == 1 {
            vec![band(0)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..rows).step_by(per).map(|first| scope.spawn(move || band(first))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(panicked()))).collect()
            })
        };
        self.drawn += n as u64;
        let mut bands = bands.into_iter();
        let mut out = bands.next().unwrap_or(Ok(Vec::new()))?;
        for b in bands {
            out.extend_from_slice(&b?);
        }
        Ok(out)
    }
}

/// Values a band quantizes at a time.
const SUB_VALUES: usize = 1 << 18;

fn panicked() -> EngineError {
    EngineError::BadConfig("a thread writing the synthetic weights panicked".into())
}

/// Threads for large matrices: all of them natively, one in a browser.
fn threads() -> usize {
    if cfg!(target_arch = "wasm32") { 1 } else { std::thread::available_parallelism().map_or(1, usize::from) }
}

fn candle(e: candle_core::Error) -> EngineError {
    EngineError::Backend { backend: "CPU", message: e.to_string() }
}

#[cfg(test)]
mod mix_tests {
    use super::*;

    #[test]
    fn q4_k_m_follows_llama_cpp_type_choices() {
        let q = SynthQuant::Q4KM;
        // 576-wide rows (SmolLM2-135M) cannot hold 256-element super-blocks.
        assert_eq!(q.ggml("blk.5.attn_q.weight", Some(5), 30, 576).0, GgmlType::Q5_0);
        assert_eq!(q.ggml("output.weight", None, 30, 576).0, GgmlType::Q8_0);
        assert_eq!(q.ggml("output.weight", None, 22, 2048).0, GgmlType::Q6K);
        assert_eq!(q.ggml("blk.10.ffn_down.weight", Some(10), 30, 1536).0, GgmlType::Q4K);
        // First eighth, last eighth and every third layer in between get more bits.
        assert_eq!(q.ggml("blk.0.ffn_down.weight", Some(0), 30, 1536).0, GgmlType::Q6K);
        assert_eq!(q.ggml("blk.29.ffn_down.weight", Some(29), 30, 1536).0, GgmlType::Q6K);
        assert_eq!(q.ggml("blk.5.ffn_down.weight", Some(5), 30, 1536).0, GgmlType::Q6K);
        assert_eq!(q.ggml("blk.0.ffn_up.weight", Some(0), 30, 576).0, GgmlType::Q5_0);
        assert!(SynthShape::named("tiny1b").is_ok() && SynthShape::named("7b").is_err());
        assert_eq!(SynthShape::named("llama7b").map(|s| (s.n_embd, s.n_ff)).ok(), Some((4096, 11008)));
    }

    #[test]
    fn parallel_draws_and_quantization_match_one_thread() {
        // More than PARALLEL_MIN values, after an offset: the bands start mid-stream.
        let (rows, cols) = (PARALLEL_MIN / 256 + 9, 256);
        let mut rng = Rng::new(7);
        let one = |rng: &mut Rng, c: f64, s: f64| (c + (rng.next_f64() * 2.0 - 1.0) * s) as f32;
        let mut draws = Draws { seed: 7, drawn: 0 };
        let head = draws.uniform(5, 1.0, 0.2);
        assert!(head.iter().all(|&v| v == one(&mut rng, 1.0, 0.2)));
        let values: Vec<f32> = (0..rows * cols).map(|_| one(&mut rng, 0.0, 0.5)).collect();
        let start = draws.drawn;
        for ty in [None, Some(GgmlDType::Q4_0), Some(GgmlDType::Q4K), Some(GgmlDType::Q6K)] {
            draws.drawn = start;
            let bytes = draws.matrix(rows, cols, 0.5, ty).expect("test");
            let expected = match ty {
                None => values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
                Some(ty) => {
                    let t = Tensor::from_slice(&values, (rows, cols), &Device::Cpu).expect("test");
                    QTensor::quantize(&t, ty).expect("test").data().expect("test").into_owned()
                }
            };
            assert!(bytes == expected, "{ty:?}");
        }
        assert_eq!(draws.uniform(1, 0.0, 1.0)[0], one(&mut rng, 0.0, 1.0));
    }
}
