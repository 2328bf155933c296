//! The compute interface the model graph is written against.
//!
//! The graph in [`crate::model`] only calls these operations, so a second backend (WebGPU)
//! plugs in without a second model implementation. Activations are row-major `[rows, cols]`
//! f32 matrices, one row per token.

pub mod cpu;
#[cfg(feature = "webgpu")]
pub mod webgpu;

use std::future::Future;

use crate::config::RopeStyle;
use crate::error::Result;
use crate::weights::RawTensor;

/// Attention geometry of one layer.
#[derive(Clone, Copy, Debug)]
pub struct AttnShape {
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_head_kv: usize,
    /// Width of each head.
    pub head_dim: usize,
    /// Scale q by `1/sqrt(head_dim)` before it meets the keys, rather than the scores after
    /// (Phi-3 in llama.cpp; it changes how q rounds to f16).
    pub scale_q_first: bool,
}

/// Where new keys and values go in the cache.
#[derive(Clone, Copy, Debug)]
pub struct KvSlot {
    /// Layer index.
    pub layer: usize,
    /// Position of the first new row.
    pub pos: usize,
}

/// Rotary position embedding parameters, in ggml's terms: pair `i` of a row at position `p`
/// turns by `p * theta_scale^i / freq_factors[i]` (the power taken by repeated products).
#[derive(Clone, Debug)]
pub struct Rope<'a> {
    /// Ratio between successive pair frequencies (`base^(-2/n_rot)`).
    pub theta_scale: f32,
    /// Per-pair divisors (Llama 3 scaling, LongRoPE); `n_rot / 2` of them.
    pub freq_factors: &'a [f32],
    /// Scale of sin and cos (1 unless LongRoPE).
    pub mscale: f32,
    /// How pairs are formed.
    pub style: RopeStyle,
}

/// A compute backend: owns weights and activations in its own memory.
pub trait Backend {
    /// An activation matrix `[rows, cols]`.
    type Tensor;
    /// A weight matrix `[out, in]`, possibly quantized; multiplied as `x · Wᵀ`.
    type Matrix;
    /// An f32 vector (norm weights, biases).
    type Vector;
    /// Keys and values of past positions for every layer.
    type KvCache;

    /// Human-readable name, e.g. "CPU SIMD".
    fn name(&self) -> String;

    /// Uploads a weight matrix (dims `[in, out]` in ggml order).
    fn matrix(&self, t: &RawTensor<'_>) -> Result<Self::Matrix>;
    /// Bytes a weight matrix occupies on the backend.
    fn matrix_bytes(&self, m: &Self::Matrix) -> usize;
    /// Uploads a vector (F32/F16/BF16 data).
    fn vector(&self, t: &RawTensor<'_>) -> Result<Self::Vector>;
    /// Allocates a KV cache.
    fn kv_cache(&self, n_layer: usize, n_ctx: usize, kv_dim: usize) -> Result<Self::KvCache>;

    /// Looks rows of an embedding table up: one output row per token.
    fn embed(&self, table: &Self::Matrix, tokens: &[u32]) -> Result<Self::Tensor>;
    /// `x · Wᵀ`: `[rows, in]` → `[rows, out]`.
    fn matmul(&self, x: &Self::Tensor, w: &Self::Matrix) -> Result<Self::Tensor>;
    /// Row-wise RMSNorm times a weight vector.
    fn rms_norm(&self, x: &Self::Tensor, w: &Self::Vector, eps: f32) -> Result<Self::Tensor>;
    /// Rotates each head of each row; row `i` is at position `pos + i`.
    fn rope(&self, x: &mut Self::Tensor, n_head: usize, head_dim: usize, pos: usize, rope: &Rope<'_>) -> Result<()>;
    /// Stores `k`, `v` at `slot` and returns the causal attention of `q` over the cache.
    fn attention(
        &self,
        cache: &mut Self::KvCache,
        slot: KvSlot,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        shape: AttnShape,
    ) -> Result<Self::Tensor>;
    /// `silu(gate) * up`, element-wise.
    fn silu_mul(&self, gate: &Self::Tensor, up: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a += b`, element-wise.
    fn add_assign(&self, a: &mut Self::Tensor, b: &Self::Tensor) -> Result<()>;
    /// Adds a bias vector to every row.
    fn add_bias(&self, x: &mut Self::Tensor, b: &Self::Vector) -> Result<()>;
    /// The last row alone.
    fn last_row(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// Copies a one-row tensor back to the host. A backend that defers work runs it here;
    /// one whose results arrive asynchronously (WebGPU in a browser) may fail here and only
    /// answer [`Self::read_row_async`].
    fn read_row(&self, x: &Self::Tensor) -> Result<Vec<f32>>;
    /// [`Self::read_row`] without blocking: what a browser, which cannot wait on the GPU,
    /// must call. By default, the blocking read.
    fn read_row_async(&self, x: &Self::Tensor) -> impl Future<Output = Result<Vec<f32>>> {
        std::future::ready(self.read_row(x))
    }
}
