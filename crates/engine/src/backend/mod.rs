//! The compute interface the model graph is written against.
//!
//! The graph in [`crate::model`] only calls these operations, so a second backend (WebGPU)
//! plugs in without a second model implementation. Activations are row-major `[rows, cols]`
//! f32 matrices, one row per token.

pub mod cpu;
#[cfg(feature = "webgpu")]
pub mod webgpu;

use std::borrow::Cow;
use std::future::Future;

use arbitre_gguf::GgmlType;

use crate::config::RopeStyle;
use crate::error::{EngineError, Result};
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
    /// Scale q by [`Self::scale`] before it meets the keys, rather than the scores after
    /// (Phi-3 and Gemma in llama.cpp; it changes how q rounds to f16).
    pub scale_q_first: bool,
    /// The attention scale (`1/sqrt(head_dim)` for most families).
    pub scale: f32,
    /// Sliding window: a query at position `p` sees positions `p - window + 1 ..= p` only.
    /// 0: the whole past.
    pub window: usize,
}

impl AttnShape {
    /// The first cache position a query at position `p` attends to.
    pub fn first_visible(&self, p: usize) -> usize {
        if self.window == 0 { 0 } else { (p + 1).saturating_sub(self.window) }
    }
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
/// turns by `freq_scale * (p * theta_scale^i / freq_factors[i])` (the power taken by repeated
/// products).
#[derive(Clone, Debug)]
pub struct Rope<'a> {
    /// Ratio between successive pair frequencies (`base^(-2/n_rot)`).
    pub theta_scale: f32,
    /// Per-pair divisors (Llama 3 scaling, LongRoPE); `n_rot / 2` of them.
    pub freq_factors: &'a [f32],
    /// Scale of sin and cos (1 unless LongRoPE).
    pub mscale: f32,
    /// Factor of the angles (linear RoPE scaling: `1 / factor`; 1 otherwise).
    pub freq_scale: f32,
    /// How pairs are formed.
    pub style: RopeStyle,
}

impl Rope<'_> {
    /// `(sin, cos)` of every pair of a row at position `p`, scaled by `mscale`, into `out`
    /// (`freq_factors.len()` of them): the one place both backends compute their angles.
    pub fn sin_cos(&self, p: usize, out: &mut [(f32, f32)]) {
        let mut theta = p as f32;
        for (slot, ff) in out.iter_mut().zip(self.freq_factors) {
            let (sin, cos) = (self.freq_scale * (theta / ff)).sin_cos();
            *slot = (sin * self.mscale, cos * self.mscale);
            theta *= self.theta_scale;
        }
    }
}

/// A weight matrix being uploaded piece by piece ([`Backend::begin_matrix`]).
pub trait MatrixUpload<B: Backend> {
    /// Takes the next bytes of the matrix, in file order.
    fn write(&mut self, backend: &B, bytes: &[u8]) -> Result<()>;
    /// The uploaded matrix; fails unless exactly the matrix's bytes were written.
    fn finish(self: Box<Self>, backend: &B) -> Result<B::Matrix>;
}

/// Bytes of a tensor of type `dtype` and dims `dims`, or why it has no size.
pub fn tensor_bytes(name: &str, dtype: GgmlType, dims: &[u64]) -> Result<usize> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .and_then(|n| dtype.bytes_for(n))
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| {
            EngineError::BadConfig(format!("tensor {name:?} of {dtype} {dims:?} has no size this machine can hold"))
        })
}

/// [`Backend::begin_matrix`]'s default: the pieces gathered in memory.
struct Assembled {
    t: RawTensor<'static>,
    expected: usize,
}

impl Assembled {
    fn check(&self, len: usize) -> Result<()> {
        if len != self.expected {
            return Err(EngineError::BadConfig(format!(
                "{len} bytes written to tensor {:?} of {} bytes",
                self.t.name, self.expected
            )));
        }
        Ok(())
    }
}

impl<B: Backend> MatrixUpload<B> for Assembled {
    fn write(&mut self, _backend: &B, bytes: &[u8]) -> Result<()> {
        let len = self.t.data.len() + bytes.len();
        if len > self.expected {
            return self.check(len);
        }
        self.t.data.to_mut().extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self: Box<Self>, backend: &B) -> Result<B::Matrix> {
        self.check(self.t.data.len())?;
        backend.matrix(&self.t)
    }
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
    /// Starts uploading a weight matrix (dims `[in, out]` in ggml order) whose bytes will
    /// arrive in pieces ([`MatrixUpload`]): a file streamed from the network reaches the
    /// backend tensor by tensor, piece by piece. By default the pieces are assembled in memory
    /// and handed to [`Self::matrix`]; a backend with memory of its own (WebGPU) writes each
    /// piece straight there, so the matrix is never whole in host memory.
    fn begin_matrix(&self, name: &str, dtype: GgmlType, dims: &[u64]) -> Result<Box<dyn MatrixUpload<Self>>>
    where
        Self: Sized,
    {
        let n_bytes = tensor_bytes(name, dtype, dims)?;
        let mut data = Vec::new();
        data.try_reserve_exact(n_bytes).map_err(|_| {
            EngineError::BadConfig(format!("not enough memory for the {n_bytes} bytes of tensor {name:?}"))
        })?;
        let t = RawTensor { name: name.to_owned(), dtype, dims: dims.to_vec(), data: Cow::Owned(data) };
        Ok(Box::new(Assembled { t, expected: n_bytes }))
    }
    /// Checks, before any byte is uploaded, that this backend can multiply by a matrix of
    /// type `dtype` (a streaming load asks for every matrix of a file as soon as its header is
    /// read). By default every type the file format allows.
    fn check_matrix_type(&self, name: &str, dtype: GgmlType) -> Result<()> {
        let _ = (name, dtype);
        Ok(())
    }
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
    /// RMSNorm times a weight vector, over each group of `w`'s length in a row: the whole row
    /// when `w` is as long as a row, each head when it is as long as a head (QK norms).
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
    /// `gelu(gate) * up`, element-wise, GELU's tanh approximation as ggml's CPU computes it
    /// (through an f16 table: see [`cpu::gelu_ggml`]).
    fn gelu_mul(&self, gate: &Self::Tensor, up: &Self::Tensor) -> Result<Self::Tensor>;
    /// `x *= s`, element-wise.
    fn scale(&self, x: &mut Self::Tensor, s: f32) -> Result<()>;
    /// `a += b`, element-wise.
    fn add_assign(&self, a: &mut Self::Tensor, b: &Self::Tensor) -> Result<()>;
    /// Adds a bias vector to every row.
    fn add_bias(&self, x: &mut Self::Tensor, b: &Self::Vector) -> Result<()>;
    /// The last `n` rows (at least one, at most all of them).
    fn last_rows(&self, x: &Self::Tensor, n: usize) -> Result<Self::Tensor>;
    /// Copies a tensor back to the host, rows one after the other. A backend that defers work runs it here;
    /// one whose results arrive asynchronously (WebGPU in a browser) may fail here and only
    /// answer [`Self::read_row_async`].
    fn read_row(&self, x: &Self::Tensor) -> Result<Vec<f32>>;
    /// [`Self::read_row`] without blocking: what a browser, which cannot wait on the GPU,
    /// must call. By default, the blocking read.
    fn read_row_async(&self, x: &Self::Tensor) -> impl Future<Output = Result<Vec<f32>>> {
        std::future::ready(self.read_row(x))
    }
}
