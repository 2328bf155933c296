//! Causal grouped-query attention over a KV cache that lives in GPU f32 buffers, and the
//! kernel that writes new key/value rows into it.

use super::{dispatch, fits_u32, grid, output, read_back, run, storage};
use crate::{GpuContext, KernelError, shader};

const OP: &str = "attention";
const WRITE: &str = "kv_write";
/// The widest head the attention kernel handles.
pub const MAX_HEAD_DIM: usize = 256;

/// Keys and values of one layer, `[n_ctx][n_head_kv][head_dim]` f32 each, on the GPU.
pub struct KvCache {
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    /// Positions the cache holds.
    pub n_ctx: usize,
    /// Key/value heads.
    pub n_head_kv: usize,
    /// Width of a head.
    pub head_dim: usize,
}

impl KvCache {
    /// A zeroed cache of `n_ctx` positions.
    pub fn new(ctx: &GpuContext, n_ctx: usize, n_head_kv: usize, head_dim: usize) -> Result<Self, KernelError> {
        let bytes = n_ctx
            .checked_mul(n_head_kv * head_dim * 4)
            .ok_or(KernelError::Shape { op: WRITE, message: format!("a cache of {n_ctx} positions overflows") })?;
        fits_u32(WRITE, "cache values", bytes / 4)?;
        Ok(Self { k: output(ctx, WRITE, bytes)?, v: output(ctx, WRITE, bytes)?, n_ctx, n_head_kv, head_dim })
    }

    /// The same buffers seen as `n_head_kv` heads of `head_dim` (one position's row must keep
    /// its width).
    pub fn with_heads(&self, n_head_kv: usize, head_dim: usize) -> Result<Self, KernelError> {
        if n_head_kv * head_dim != self.row_len() {
            return Err(KernelError::Shape {
                op: WRITE,
                message: format!("{n_head_kv} heads of {head_dim} in rows of {}", self.row_len()),
            });
        }
        Ok(Self { k: self.k.clone(), v: self.v.clone(), n_ctx: self.n_ctx, n_head_kv, head_dim })
    }

    /// Values in one position's row (`n_head_kv * head_dim`).
    pub fn row_len(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// The key buffer.
    pub fn k(&self) -> &wgpu::Buffer {
        &self.k
    }

    /// The value buffer.
    pub fn v(&self) -> &wgpu::Buffer {
        &self.v
    }

    /// Writes whole rows of keys and values (`k.len() / row_len()` positions) at `pos`, through
    /// the `kv_write` kernel.
    pub fn write(&self, ctx: &GpuContext, pos: usize, k: &[f32], v: &[f32]) -> Result<(), KernelError> {
        if k.len() != v.len() || !k.len().is_multiple_of(self.row_len()) {
            return Err(KernelError::Shape {
                op: WRITE,
                message: format!("k {} and v {} values are not whole rows of {}", k.len(), v.len(), self.row_len()),
            });
        }
        let (kb, vb) = (storage(ctx, WRITE, k)?, storage(ctx, WRITE, v)?);
        self.write_buffers(ctx, pos, &kb, &vb, k.len() / self.row_len())
    }

    /// Writes `n_rows` rows of keys and values held in GPU buffers (f32, storage usage) at
    /// `pos`, without a round trip through the CPU.
    pub fn write_buffers(
        &self,
        ctx: &GpuContext,
        pos: usize,
        k: &wgpu::Buffer,
        v: &wgpu::Buffer,
        n_rows: usize,
    ) -> Result<(), KernelError> {
        let n = n_rows * self.row_len();
        if pos.saturating_add(n_rows) > self.n_ctx || (n as u64) * 4 > k.size().min(v.size()) {
            return Err(KernelError::Shape {
                op: WRITE,
                message: format!(
                    "{n_rows} rows at {pos} in a cache of {} positions, buffers of {} and {} bytes",
                    self.n_ctx,
                    k.size(),
                    v.size()
                ),
            });
        }
        if n == 0 {
            return Ok(());
        }
        let uniform = super::params(&[fits_u32(WRITE, "values", n)?, fits_u32(WRITE, "offset", pos * self.row_len())?]);
        let pipeline = ctx.pipeline(WRITE, shader(WRITE));
        dispatch(ctx, WRITE, &pipeline, &[k, v, &self.k, &self.v], &uniform, grid(n.div_ceil(256)));
        Ok(())
    }

    /// Reads keys and values back (tests, debugging).
    pub fn read(&self, ctx: &GpuContext) -> Result<(Vec<f32>, Vec<f32>), KernelError> {
        let floats = |b: Vec<u8>| -> Vec<f32> {
            let mut v: Vec<f32> = b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            v.truncate(self.n_ctx * self.row_len());
            v
        };
        Ok((floats(read_back(ctx, &self.k)?), floats(read_back(ctx, &self.v)?)))
    }
}

/// The reference of [`KvCache::write`] on CPU copies of the caches.
pub fn kv_write_ref(k_cache: &mut [f32], v_cache: &mut [f32], row_len: usize, pos: usize, k: &[f32], v: &[f32]) {
    k_cache[pos * row_len..pos * row_len + k.len()].copy_from_slice(k);
    v_cache[pos * row_len..pos * row_len + v.len()].copy_from_slice(v);
}

/// Shape of an attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    /// Query rows (tokens), at positions `pos0 .. pos0 + n_q`.
    pub n_q: usize,
    /// Query heads (a multiple of the cache's `n_head_kv`).
    pub n_head: usize,
    /// Position of the first query row.
    pub pos0: usize,
    /// Score scale, usually `1 / sqrt(head_dim)`.
    pub scale: f32,
    /// Sliding window: row `i` sees only the last `window` positions up to `pos0 + i`
    /// (0: all of them).
    pub window: usize,
}

impl AttentionShape {
    /// The first position query row `i` attends to.
    pub fn first_visible(&self, i: usize) -> usize {
        if self.window == 0 { 0 } else { (self.pos0 + i + 1).saturating_sub(self.window) }
    }
}

/// Causal attention of `q` (`[n_q][n_head][head_dim]`) over `cache`: row `i` attends to
/// positions `0..=pos0 + i`, which must already be written. Returns `[n_q][n_head][head_dim]`.
pub fn attention(ctx: &GpuContext, q: &[f32], cache: &KvCache, s: AttentionShape) -> Result<Vec<f32>, KernelError> {
    let hd = cache.head_dim;
    if s.n_head == 0
        || cache.n_head_kv == 0
        || !s.n_head.is_multiple_of(cache.n_head_kv)
        || hd == 0
        || hd > MAX_HEAD_DIM
        || q.len() != s.n_q * s.n_head * hd
        || s.pos0 + s.n_q > cache.n_ctx
    {
        return Err(KernelError::Shape {
            op: OP,
            message: format!(
                "{s:?} with {} query values over a cache of {} positions x {} kv heads x {hd} (head_dim <= {MAX_HEAD_DIM})",
                q.len(),
                cache.n_ctx,
                cache.n_head_kv
            ),
        });
    }
    let qb = storage(ctx, OP, q)?;
    let uniform = super::params(&[
        fits_u32(OP, "n_q", s.n_q)?,
        fits_u32(OP, "n_head", s.n_head)?,
        fits_u32(OP, "n_head_kv", cache.n_head_kv)?,
        fits_u32(OP, "head_dim", hd)?,
        fits_u32(OP, "pos0", s.pos0)?,
        s.scale.to_bits(),
        fits_u32(OP, "window", s.window)?,
        0,
    ]);
    run(ctx, OP, shader(OP), &[&qb, &cache.k, &cache.v], q.len(), &uniform, grid(s.n_q * s.n_head))
}

/// The scalar reference over CPU copies of the caches (`[n_ctx][n_head_kv][head_dim]`).
pub fn attention_ref(
    q: &[f32],
    k_cache: &[f32],
    v_cache: &[f32],
    n_head_kv: usize,
    head_dim: usize,
    s: AttentionShape,
) -> Vec<f32> {
    let group = s.n_head / n_head_kv;
    let row = n_head_kv * head_dim;
    let mut out = vec![0.0; q.len()];
    for i in 0..s.n_q {
        for h in 0..s.n_head {
            let qh = &q[(i * s.n_head + h) * head_dim..][..head_dim];
            let kvh = h / group;
            let first = s.first_visible(i);
            let scores: Vec<f32> = (first..=s.pos0 + i)
                .map(|j| {
                    qh.iter().zip(&k_cache[j * row + kvh * head_dim..][..head_dim]).map(|(a, b)| a * b).sum::<f32>()
                        * s.scale
                })
                .collect();
            let mx = scores.iter().copied().fold(f32::MIN, f32::max);
            let e: Vec<f32> = scores.iter().map(|v| (v - mx).exp()).collect();
            let sum: f32 = e.iter().sum();
            let o = &mut out[(i * s.n_head + h) * head_dim..][..head_dim];
            for (j, p) in (first..).zip(&e) {
                for (d, od) in o.iter_mut().enumerate() {
                    *od += p / sum * v_cache[j * row + kvh * head_dim + d];
                }
            }
        }
    }
    out
}
