//! The one transformer graph (llama, Qwen2/3, Phi-3, Gemma 3), written against [`Backend`].

use arbitre_gguf::{GgufFile, GgufHeader};

use crate::backend::{AttnShape, Backend, KvSlot, Rope};
use crate::config::{FfnAct, ModelConfig};
use crate::error::{EngineError, Result};
use crate::weights::{RawTensor, WeightSource};

struct Layer<B: Backend> {
    attn_norm: B::Vector,
    wq: B::Matrix,
    wk: B::Matrix,
    wv: B::Matrix,
    /// Biases of q, k, v (Qwen2).
    bqkv: Option<[B::Vector; 3]>,
    /// RMS norms of each q and k head, before RoPE (Qwen3, Gemma 3).
    qk_norm: Option<[B::Vector; 2]>,
    wo: B::Matrix,
    /// RMS norm of the attention's output before it joins the stream (Gemma).
    post_attn_norm: Option<B::Vector>,
    ffn_norm: B::Vector,
    /// RMS norm of the feed-forward's output before it joins the stream (Gemma).
    post_ffn_norm: Option<B::Vector>,
    w_gate: B::Matrix,
    w_up: B::Matrix,
    w_down: B::Matrix,
}

/// A model's weights on a backend, plus its configuration. Immutable once loaded: per-run
/// state lives in a [`Session`].
///
/// One graph serves every supported family; they differ by data: RoPE pairing, bases and
/// factors, sliding windows, the attention scale, the embedding scale and the activation
/// (config), q/k/v biases, QK norms and post-norms (present or not), fused QKV and gate/up
/// weights (split at load).
pub struct Model<B: Backend> {
    /// Hyper-parameters.
    pub config: ModelConfig,
    backend: B,
    tok_embd: B::Matrix,
    layers: Vec<Layer<B>>,
    output_norm: B::Vector,
    /// `None` when the output projection is tied to the embedding table.
    output: Option<B::Matrix>,
    /// Per-pair RoPE frequency divisors.
    rope_factors: Vec<f32>,
}

/// The configuration of a GGUF model, from its header alone (the vocabulary size is the
/// embedding table's).
pub fn config_of(header: &GgufHeader) -> Result<ModelConfig> {
    let embd =
        header.tensor("token_embd.weight").ok_or_else(|| EngineError::MissingTensor("token_embd.weight".into()))?;
    let n_vocab = embd.dims.get(1).copied().unwrap_or(0) as usize;
    ModelConfig::from_metadata(&header.metadata, n_vocab)
}

/// Tensors read on the host for the RoPE factors, in order of preference.
pub(crate) const ROPE_FACTOR_TENSORS: [&str; 2] = ["rope_freqs.weight", "rope_factors_short.weight"];

/// A model's weights before they join their backend.
struct Parts<B: Backend> {
    tok_embd: B::Matrix,
    layers: Vec<Layer<B>>,
    output_norm: B::Vector,
    output: Option<B::Matrix>,
    rope_factors: Vec<f32>,
}

/// Per-run state: the KV cache and how many positions it holds.
pub struct Session<B: Backend> {
    cache: B::KvCache,
    pos: usize,
    n_ctx: usize,
}

impl<B: Backend> Session<B> {
    /// Positions already in the cache.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Capacity of the cache.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Forgets every position from `n` on: the next forward pass writes at `n`, and attention
    /// never reads past the positions written (the stale entries are overwritten). Keeping
    /// more than the cache holds keeps it as it is.
    pub fn truncate(&mut self, n: usize) {
        self.pos = self.pos.min(n);
    }
}

/// Where [`Model::assemble`] takes each weight from: uploaded on demand from a
/// [`WeightSource`] ([`Upload`]), or uploaded already while a file streamed in
/// ([`crate::stream::Streamed`]). The graph is assembled the same way from both.
pub(crate) trait Weights<B: Backend> {
    /// Whether the file has a tensor called `name`.
    fn has(&self, name: &str) -> bool;
    /// The matrix `name`, checked to be `[inp, out]`.
    fn matrix(&mut self, name: &str, inp: usize, out: usize) -> Result<B::Matrix>;
    /// The matrix `name` of `[inp, rows.sum()]` split into consecutive blocks of rows.
    fn split(&mut self, name: &str, inp: usize, rows: &[usize]) -> Result<Vec<B::Matrix>>;
    /// The vector `name`, checked to have `n` values.
    fn vector(&mut self, name: &str, n: usize) -> Result<B::Vector>;
    /// A small tensor read on the host (RoPE factors), if present.
    fn host(&self, name: &str) -> Option<RawTensor<'_>>;
}

/// Weights uploaded from a [`WeightSource`] as the graph asks for them.
struct Upload<'a, B> {
    backend: &'a B,
    source: &'a dyn WeightSource,
}

impl<B: Backend> Weights<B> for Upload<'_, B> {
    fn has(&self, name: &str) -> bool {
        self.source.get(name).is_some()
    }

    fn matrix(&mut self, name: &str, inp: usize, out: usize) -> Result<B::Matrix> {
        let t = self.source.require(name)?;
        t.expect_dims(&[inp, out])?;
        self.backend.matrix(&t)
    }

    fn split(&mut self, name: &str, inp: usize, rows: &[usize]) -> Result<Vec<B::Matrix>> {
        let fused = self.source.require(name)?;
        let parts = fused.split_rows(rows)?;
        parts
            .iter()
            .zip(rows)
            .map(|(p, &n)| {
                p.expect_dims(&[inp, n])?;
                self.backend.matrix(p)
            })
            .collect()
    }

    fn vector(&mut self, name: &str, n: usize) -> Result<B::Vector> {
        let t = self.source.require(name)?;
        t.expect_dims(&[n])?;
        self.backend.vector(&t)
    }

    fn host(&self, name: &str) -> Option<RawTensor<'_>> {
        self.source.get(name)
    }
}

impl<B: Backend> Model<B> {
    /// Uploads the weights of `source` to `backend`, checking every shape against `config`.
    pub fn load(backend: B, config: ModelConfig, source: &dyn WeightSource) -> Result<Self> {
        config.validate()?;
        let mut weights = Upload { backend: &backend, source };
        let parts = Self::assemble(&config, &mut weights)?;
        Ok(Self::from_parts(backend, config, parts))
    }

    /// The model from weights already on `backend` (a streamed load), checking every shape
    /// against `config`.
    pub(crate) fn from_weights(backend: B, config: ModelConfig, weights: &mut dyn Weights<B>) -> Result<Self> {
        config.validate()?;
        let parts = Self::assemble(&config, weights)?;
        Ok(Self::from_parts(backend, config, parts))
    }

    fn from_parts(backend: B, config: ModelConfig, p: Parts<B>) -> Self {
        let Parts { tok_embd, layers, output_norm, output, rope_factors } = p;
        Self { config, backend, tok_embd, layers, output_norm, output, rope_factors }
    }

    /// Takes every weight of the graph from `w`: the one place that knows which tensors a
    /// family has and how they are shaped.
    fn assemble(c: &ModelConfig, w: &mut dyn Weights<B>) -> Result<Parts<B>> {
        let (d, kv, ff, q_dim) = (c.n_embd, c.kv_dim(), c.n_ff, c.n_head * c.head_dim);
        let tok_embd = w.matrix("token_embd.weight", d, c.n_vocab)?;
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let (wq, wk, wv) = if w.has(&n("attn_qkv.weight")) {
                let mut p = w.split(&n("attn_qkv.weight"), d, &[q_dim, kv, kv])?.into_iter();
                match (p.next(), p.next(), p.next()) {
                    (Some(q), Some(k), Some(v)) => (q, k, v),
                    _ => {
                        return Err(EngineError::BadConfig(format!("{} did not split in three", n("attn_qkv.weight"))));
                    }
                }
            } else {
                (
                    w.matrix(&n("attn_q.weight"), d, q_dim)?,
                    w.matrix(&n("attn_k.weight"), d, kv)?,
                    w.matrix(&n("attn_v.weight"), d, kv)?,
                )
            };
            let bqkv = if w.has(&n("attn_q.bias")) {
                Some([
                    w.vector(&n("attn_q.bias"), q_dim)?,
                    w.vector(&n("attn_k.bias"), kv)?,
                    w.vector(&n("attn_v.bias"), kv)?,
                ])
            } else {
                None
            };
            let (w_gate, w_up) = if w.has(&n("ffn_gate.weight")) {
                (w.matrix(&n("ffn_gate.weight"), d, ff)?, w.matrix(&n("ffn_up.weight"), d, ff)?)
            } else {
                // Phi-3 fuses gate and up into one `ffn_up` of 2 * n_ff rows, gate first.
                let mut p = w.split(&n("ffn_up.weight"), d, &[ff, ff])?.into_iter();
                match (p.next(), p.next()) {
                    (Some(g), Some(u)) => (g, u),
                    _ => return Err(EngineError::BadConfig(format!("{} did not split in two", n("ffn_up.weight")))),
                }
            };
            let qk_norm = if w.has(&n("attn_q_norm.weight")) {
                Some([w.vector(&n("attn_q_norm.weight"), c.head_dim)?, w.vector(&n("attn_k_norm.weight"), c.head_dim)?])
            } else {
                None
            };
            let mut optional = |name: &str| if w.has(&n(name)) { w.vector(&n(name), d).map(Some) } else { Ok(None) };
            let post_attn_norm = optional("post_attention_norm.weight")?;
            let post_ffn_norm = optional("post_ffw_norm.weight")?;
            layers.push(Layer {
                attn_norm: w.vector(&n("attn_norm.weight"), d)?,
                wq,
                wk,
                wv,
                bqkv,
                qk_norm,
                wo: w.matrix(&n("attn_output.weight"), q_dim, d)?,
                post_attn_norm,
                ffn_norm: w.vector(&n("ffn_norm.weight"), d)?,
                post_ffn_norm,
                w_gate,
                w_up,
                w_down: w.matrix(&n("ffn_down.weight"), ff, d)?,
            });
        }
        let output_norm = w.vector("output_norm.weight", d)?;
        let output = if w.has("output.weight") { Some(w.matrix("output.weight", d, c.n_vocab)?) } else { None };
        let rope_factors = Self::rope_factors(c, &*w)?;
        Ok(Parts { tok_embd, layers, output_norm, output, rope_factors })
    }

    /// RoPE frequency divisors: Llama 3's `rope_freqs`, or Phi-3's LongRoPE short factors
    /// (arbitre's contexts stay within the original context, where llama.cpp uses them too).
    fn rope_factors(c: &ModelConfig, w: &dyn Weights<B>) -> Result<Vec<f32>> {
        let n = c.rope_dim / 2;
        for name in ROPE_FACTOR_TENSORS {
            if let Some(t) = w.host(name) {
                t.expect_dims(&[n])?;
                return crate::backend::cpu::f32_values(&t);
            }
        }
        Ok(vec![1.0; n])
    }

    /// Loads a GGUF model: reads its configuration, then its weights.
    pub fn from_gguf(backend: B, file: &GgufFile) -> Result<Self> {
        Self::load(backend, config_of(&file.header)?, file)
    }

    /// Bytes taken by the weight matrices on the backend.
    pub fn weight_bytes(&self) -> usize {
        let b = &self.backend;
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down]
                    .iter()
                    .map(|m| b.matrix_bytes(m))
                    .sum::<usize>()
            })
            .sum();
        layers + b.matrix_bytes(&self.tok_embd) + self.output.as_ref().map_or(0, |m| b.matrix_bytes(m))
    }

    /// The backend the weights live on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The cache size [`Self::session`] gives for `n_ctx` asked for.
    pub fn session_n_ctx(&self, n_ctx: usize) -> usize {
        n_ctx.clamp(1, self.config.n_ctx_train.min(self.config.n_ctx_orig))
    }

    /// A fresh session with a cache of `n_ctx` positions, capped at the context the RoPE
    /// frequencies were trained for (LongRoPE's "long" factors are not applied).
    pub fn session(&self, n_ctx: usize) -> Result<Session<B>> {
        let n_ctx = self.session_n_ctx(n_ctx);
        let cache = self.backend.kv_cache(self.config.n_layer, n_ctx, self.config.kv_dim())?;
        Ok(Session { cache, pos: 0, n_ctx })
    }

    /// Runs `tokens` through the model at the session's next positions and returns the logits
    /// of the last one.
    pub fn forward(&self, session: &mut Session<B>, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward_last(session, tokens, 1)
    }

    /// [`Self::forward`] reading the logits back without blocking (the browser's way).
    pub async fn forward_async(&self, session: &mut Session<B>, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward_last_async(session, tokens, 1).await
    }

    /// Runs `tokens` and returns the logits of the last `n_out` of them, row after row
    /// (`n_out * n_vocab` values): what scoring a text needs (perplexity), where
    /// [`Self::forward`] computes the output projection for the last position only.
    pub fn forward_last(&self, session: &mut Session<B>, tokens: &[u32], n_out: usize) -> Result<Vec<f32>> {
        let logits = self.forward_tensor(session, tokens, n_out)?;
        self.backend.read_row(&logits)
    }

    /// [`Self::forward_last`] reading the logits back without blocking.
    pub async fn forward_last_async(&self, session: &mut Session<B>, tokens: &[u32], n_out: usize) -> Result<Vec<f32>> {
        let logits = self.forward_tensor(session, tokens, n_out)?;
        self.backend.read_row_async(&logits).await
    }

    /// The graph of a forward pass, up to the logits of the last `n_out` tokens left on the
    /// backend.
    fn forward_tensor(&self, session: &mut Session<B>, tokens: &[u32], n_out: usize) -> Result<B::Tensor> {
        if tokens.is_empty() {
            return Err(EngineError::BadConfig("forward pass over zero tokens".into()));
        }
        if n_out == 0 || n_out > tokens.len() {
            return Err(EngineError::BadConfig(format!("logits of {n_out} positions out of {}", tokens.len())));
        }
        if session.pos + tokens.len() > session.n_ctx {
            return Err(EngineError::PromptTooLong { tokens: session.pos + tokens.len(), n_ctx: session.n_ctx });
        }
        let b = &self.backend;
        let c = &self.config;
        let pos = session.pos;
        let global_rope = Rope {
            theta_scale: c.rope_theta_scale(),
            freq_factors: &self.rope_factors,
            mscale: c.rope_attn_factor,
            freq_scale: c.rope_freq_scale,
            style: c.rope_style,
        };
        // Sliding-window layers turn with their own base and no scaling (Gemma 3).
        let swa_rope = Rope { theta_scale: c.rope_theta_scale_swa(), freq_scale: 1.0, ..global_rope.clone() };
        let global = AttnShape {
            n_head: c.n_head,
            n_head_kv: c.n_head_kv,
            head_dim: c.head_dim,
            scale_q_first: c.attn_scale_q_first,
            scale: c.attn_scale,
            window: 0,
        };
        let mut x = b.embed(&self.tok_embd, tokens)?;
        if c.embd_scale != 1.0 {
            b.scale(&mut x, c.embd_scale)?;
        }
        for (i, l) in self.layers.iter().enumerate() {
            let (rope, shape) = if c.is_swa_layer(i) {
                (&swa_rope, AttnShape { window: c.n_swa, ..global })
            } else {
                (&global_rope, global)
            };
            let h = b.rms_norm(&x, &l.attn_norm, c.rms_eps)?;
            let mut q = b.matmul(&h, &l.wq)?;
            let mut k = b.matmul(&h, &l.wk)?;
            let mut v = b.matmul(&h, &l.wv)?;
            if let Some([bq, bk, bv]) = &l.bqkv {
                b.add_bias(&mut q, bq)?;
                b.add_bias(&mut k, bk)?;
                b.add_bias(&mut v, bv)?;
            }
            if let Some([qn, kn]) = &l.qk_norm {
                q = b.rms_norm(&q, qn, c.rms_eps)?;
                k = b.rms_norm(&k, kn, c.rms_eps)?;
            }
            b.rope(&mut q, c.n_head, c.head_dim, pos, rope)?;
            b.rope(&mut k, c.n_head_kv, c.head_dim, pos, rope)?;
            let att = b.attention(&mut session.cache, KvSlot { layer: i, pos }, &q, &k, &v, shape)?;
            let mut o = b.matmul(&att, &l.wo)?;
            if let Some(pn) = &l.post_attn_norm {
                o = b.rms_norm(&o, pn, c.rms_eps)?;
            }
            b.add_assign(&mut x, &o)?;

            let h = b.rms_norm(&x, &l.ffn_norm, c.rms_eps)?;
            let (gate, up) = (b.matmul(&h, &l.w_gate)?, b.matmul(&h, &l.w_up)?);
            let act = match c.ffn_act {
                FfnAct::Silu => b.silu_mul(&gate, &up)?,
                FfnAct::Gelu => b.gelu_mul(&gate, &up)?,
            };
            let mut f = b.matmul(&act, &l.w_down)?;
            if let Some(pn) = &l.post_ffn_norm {
                f = b.rms_norm(&f, pn, c.rms_eps)?;
            }
            b.add_assign(&mut x, &f)?;
        }
        session.pos += tokens.len();
        let last = b.last_rows(&x, n_out)?;
        let h = b.rms_norm(&last, &self.output_norm, c.rms_eps)?;
        b.matmul(&h, self.output.as_ref().unwrap_or(&self.tok_embd))
    }
}
