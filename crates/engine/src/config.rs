//! Model hyper-parameters, read from GGUF metadata or a llama2.c header.

use arbitre_gguf::Metadata;

use crate::error::{EngineError, Result};

/// Families whose graph the engine implements (`general.architecture` values).
pub const SUPPORTED_ARCHITECTURES: &str = "llama, qwen2, phi3";

/// How RoPE pairs up the dimensions of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(2i, 2i+1)`: llama in GGUF and llama2.c.
    Interleaved,
    /// Halves `(i, i + d/2)`: NeoX, Qwen2, Phi-3.
    NeoX,
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
    /// Scale q before attention rather than the scores after (Phi-3 in llama.cpp).
    pub attn_scale_q_first: bool,
}

impl ModelConfig {
    /// Reads the hyper-parameters of a GGUF model. `n_vocab` comes from the embedding table.
    pub fn from_metadata(md: &Metadata, n_vocab: usize) -> Result<Self> {
        let arch = md.str("general.architecture")?.to_owned();
        let rope_style = match arch.as_str() {
            "llama" => RopeStyle::Interleaved,
            "qwen2" | "phi3" => RopeStyle::NeoX,
            _ => return Err(EngineError::UnknownArchitecture { arch, supported: SUPPORTED_ARCHITECTURES }),
        };
        let k = |name: &str| format!("{arch}.{name}");
        let n_embd = md.usize(&k("embedding_length"))?;
        let n_head = md.usize(&k("attention.head_count"))?;
        let n_head_kv = md.opt(&k("attention.head_count_kv"), Metadata::usize)?.unwrap_or(n_head);
        if n_head == 0 || n_embd % n_head != 0 {
            return Err(EngineError::BadConfig(format!(
                "embedding length {n_embd} is not divisible by {n_head} heads"
            )));
        }
        let head_dim = n_embd / n_head;
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
            attn_scale_q_first: arch == "phi3",
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
}
