//! Model hyper-parameters, read from GGUF metadata or a llama2.c header.

use arbitre_gguf::Metadata;

use crate::error::{EngineError, Result};

/// Families whose graph the engine implements (`general.architecture` values).
pub const SUPPORTED_ARCHITECTURES: &str = "llama, qwen2, qwen3, phi3, gemma3";

/// How RoPE pairs up the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(2i, 2i+1)`: llama in GGUF and llama2.c.
    Interleaved,
    /// Halves `(i, i + d/2)`: NeoX, Qwen2, Phi-3.
    NeoX,
}

/// The gated activation of the feed-forward block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FfnAct {
    /// `silu(gate) * up` (SwiGLU): llama, Qwen, Phi-3.
    Silu,
    /// `gelu(gate) * up` with GELU's tanh approximation (GeGLU): Gemma.
    Gelu,
}

/// Everything the graph needs to know about a model's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// `general.architecture`.
    pub arch: String,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Number of query heads.
    pub n_head: usize,
    /// Number of key/value heads (GQA when smaller than `n_head`).
    pub n_head_kv: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Hidden width of the feed-forward block.
    pub n_ff: usize,
    /// Vocabulary size (rows of the embedding table).
    pub n_vocab: usize,
    /// Context length the model was trained for.
    pub n_ctx_train: usize,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// Number of dimensions of each head that RoPE rotates.
    pub rope_dim: usize,
    /// Pairing of rotated dimensions.
    pub rope_style: RopeStyle,
    /// Scale applied to RoPE's sin/cos (LongRoPE's attention factor; 1 otherwise).
    pub rope_attn_factor: f32,
    /// Context the RoPE factors were trained for: beyond it, "long" factors apply (Phi-3).
    pub n_ctx_orig: usize,
    /// Scale q before attention rather than the scores after (Phi-3 and Gemma in llama.cpp).
    pub attn_scale_q_first: bool,
    /// The attention scale: `1/sqrt(head_dim)` unless the family says otherwise.
    pub attn_scale: f32,
    /// Sliding-window attention: a layer it applies to ([`Self::is_swa_layer`]) sees only the
    /// last `n_swa` positions (its own included). 0: every layer sees the whole context.
    pub n_swa: usize,
    /// Every `swa_pattern`-th layer (the last of each group) attends globally, the others
    /// through the window (Gemma 3: 6). Meaningful only where `n_swa > 0`.
    pub swa_pattern: usize,
    /// RoPE base frequency of the sliding-window layers.
    pub rope_theta_swa: f32,
    /// Factor of the positions in RoPE on the global layers (linear scaling: `1 / factor`).
    pub rope_freq_scale: f32,
    /// Factor applied to the token embeddings (Gemma: `sqrt(n_embd)`; 1 otherwise).
    pub embd_scale: f32,
    /// The feed-forward activation.
    pub ffn_act: FfnAct,
}

impl ModelConfig {
    /// Reads the hyper-parameters of a GGUF model. `n_vocab` comes from the embedding table.
    pub fn from_metadata(md: &Metadata, n_vocab: usize) -> Result<Self> {
        let arch = md.str("general.architecture")?.to_owned();
        let rope_style = match arch.as_str() {
            "llama" => RopeStyle::Interleaved,
            "qwen2" | "qwen3" | "phi3" | "gemma3" => RopeStyle::NeoX,
            _ => return Err(EngineError::UnknownArchitecture { arch, supported: SUPPORTED_ARCHITECTURES }),
        };
        let k = |name: &str| format!("{arch}.{name}");
        let n_embd = md.usize(&k("embedding_length"))?;
        let n_head = md.usize(&k("attention.head_count"))?;
        let n_head_kv = md.opt(&k("attention.head_count_kv"), Metadata::usize)?.unwrap_or(n_head);
        // Qwen3 and Gemma 3 give their heads a width of their own (q may be wider than the
        // stream); otherwise the heads share the stream's width.
        let head_dim = match md.opt(&k("attention.key_length"), Metadata::usize)? {
            Some(d) => d,
            None if n_head > 0 && n_embd % n_head == 0 => n_embd / n_head,
            None => {
                return Err(EngineError::BadConfig(format!(
                    "embedding length {n_embd} is not divisible by {n_head} heads"
                )));
            }
        };
        if n_head == 0 || head_dim == 0 {
            return Err(EngineError::BadConfig(format!("{n_head} heads of width {head_dim}")));
        }
        let value_dim = md.opt(&k("attention.value_length"), Metadata::usize)?.unwrap_or(head_dim);
        if value_dim != head_dim {
            return Err(EngineError::BadConfig(format!(
                "key heads of {head_dim} and value heads of {value_dim} differ"
            )));
        }
        let gemma = arch == "gemma3";
        // Gemma 3 alternates five sliding-window layers with one global layer; the window
        // layers keep RoPE's classic base (llama.cpp's hparams for LLM_ARCH_GEMMA3).
        let n_swa = if gemma { md.opt(&k("attention.sliding_window"), Metadata::usize)?.unwrap_or(0) } else { 0 };
        if gemma && n_swa == 0 {
            return Err(EngineError::BadConfig(
                "gemma3 without a sliding window (final logit soft-capping) is not supported".into(),
            ));
        }
        let rope_freq_scale = match md.opt(&k("rope.scaling.type"), Metadata::str)? {
            Some("linear") => {
                let f = md.opt(&k("rope.scaling.factor"), Metadata::f64)?.unwrap_or(1.0) as f32;
                if !(f.is_finite() && f > 0.0) {
                    return Err(EngineError::BadConfig(format!("rope scaling factor {f} must be positive")));
                }
                1.0 / f
            }
            Some("none") | None => 1.0,
            // Phi-3's LongRoPE factors are read as tensors; other schemes keep the base rope.
            Some(_) => 1.0,
        };
        let rope_dim = md.opt(&k("rope.dimension_count"), Metadata::usize)?.unwrap_or(head_dim);
        let n_ctx_train = md.usize(&k("context_length"))?;
        let cfg = Self {
            n_layer: md.usize(&k("block_count"))?,
            n_ff: md.usize(&k("feed_forward_length"))?,
            n_ctx_train,
            n_ctx_orig: md.opt(&k("rope.scaling.original_context_length"), Metadata::usize)?.unwrap_or(n_ctx_train),
            rope_attn_factor: md.opt(&k("rope.scaling.attn_factor"), Metadata::f64)?.unwrap_or(1.0) as f32,
            rms_eps: md.opt(&k("attention.layer_norm_rms_epsilon"), Metadata::f64)?.unwrap_or(1e-5) as f32,
            rope_theta: md.opt(&k("rope.freq_base"), Metadata::f64)?.unwrap_or(10_000.0) as f32,
            rope_style,
            attn_scale_q_first: arch == "phi3" || gemma,
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            n_swa,
            swa_pattern: if gemma { 6 } else { 0 },
            rope_theta_swa: 10_000.0,
            rope_freq_scale,
            embd_scale: if gemma { (n_embd as f32).sqrt() } else { 1.0 },
            ffn_act: if gemma { FfnAct::Gelu } else { FfnAct::Silu },
            arch,
            n_embd,
            n_head,
            n_head_kv,
            head_dim,
            n_vocab,
            rope_dim,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that the numbers fit together.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EngineError::BadConfig(m));
        if self.n_layer == 0 || self.n_embd == 0 || self.n_ff == 0 || self.n_vocab == 0 {
            return bad(format!(
                "zero-sized model (layers {}, embedding {}, ffn {}, vocab {})",
                self.n_layer, self.n_embd, self.n_ff, self.n_vocab
            ));
        }
        if self.n_head_kv == 0 || !self.n_head.is_multiple_of(self.n_head_kv) {
            return bad(format!("{} heads cannot be grouped over {} kv heads", self.n_head, self.n_head_kv));
        }
        if self.rope_dim > self.head_dim || !self.rope_dim.is_multiple_of(2) {
            return bad(format!("rope dimension {} does not fit head dimension {}", self.rope_dim, self.head_dim));
        }
        if self.n_ctx_train == 0 {
            return bad("context length is zero".into());
        }
        if !(self.rope_attn_factor.is_finite() && self.rope_attn_factor > 0.0) {
            return bad(format!("rope attention factor {} must be positive", self.rope_attn_factor));
        }
        if self.n_swa > 0 && self.swa_pattern == 0 {
            return bad(format!("a sliding window of {} with no layer pattern", self.n_swa));
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        let all_positive = positive(self.attn_scale)
            && self.embd_scale.is_finite()
            && positive(self.rope_freq_scale)
            && positive(self.rope_theta_swa);
        if !all_positive {
            return bad(format!(
                "attention scale {}, embedding scale {}, rope scale {} and window base {} must be finite and positive",
                self.attn_scale, self.embd_scale, self.rope_freq_scale, self.rope_theta_swa
            ));
        }
        if !(self.rms_eps.is_finite() && self.rms_eps > 0.0 && self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return bad(format!("rms epsilon {} / rope base {} must be positive", self.rms_eps, self.rope_theta));
        }
        Ok(())
    }

    /// Width of all key (or value) heads together.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// Ratio between the frequencies of successive rotated pairs, computed as ggml does.
    pub fn rope_theta_scale(&self) -> f32 {
        self.rope_theta.powf(-2.0 / self.rope_dim as f32)
    }

    /// Whether layer `il` attends through the sliding window (llama.cpp's `set_swa_pattern`:
    /// all but the last layer of each group of `swa_pattern`).
    pub fn is_swa_layer(&self, il: usize) -> bool {
        self.n_swa > 0 && il % self.swa_pattern < self.swa_pattern - 1
    }

    /// [`Self::rope_theta_scale`] of the sliding-window layers.
    pub fn rope_theta_scale_swa(&self) -> f32 {
        self.rope_theta_swa.powf(-2.0 / self.rope_dim as f32)
    }
}
