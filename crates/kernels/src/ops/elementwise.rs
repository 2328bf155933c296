//! Element-wise ops: SwiGLU's `silu(gate) * up`, GeGLU's `gelu(gate) * up`, residual
//! `a + b`, a scale, and RoPE from a CPU-computed cos/sin table.

use super::{fits_u32, grid, params, run, run_with, storage};
use crate::{GpuContext, KernelError, shader};

const SILU: &str = "silu_mul";
const ROPE: &str = "rope";
const ADD: &str = "add";

/// `silu(gate) * up` on the GPU.
pub fn silu_mul(ctx: &GpuContext, gate: &[f32], up: &[f32]) -> Result<Vec<f32>, KernelError> {
    if gate.len() != up.len() {
        return Err(KernelError::Shape { op: SILU, message: format!("gate {} vs up {}", gate.len(), up.len()) });
    }
    let (g, u) = (storage(ctx, SILU, gate)?, storage(ctx, SILU, up)?);
    let params = (gate.len() as u32).to_le_bytes();
    run(ctx, SILU, shader(SILU), &[&g, &u], gate.len(), &params, grid(gate.len().div_ceil(256)))
}

/// The scalar reference.
pub fn silu_mul_ref(gate: &[f32], up: &[f32]) -> Vec<f32> {
    gate.iter().zip(up).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect()
}

/// `gelu(gate) * up` on the GPU (GELU's tanh approximation, f16 in and out as ggml's CPU).
pub fn gelu_mul(ctx: &GpuContext, gate: &[f32], up: &[f32]) -> Result<Vec<f32>, KernelError> {
    if gate.len() != up.len() {
        return Err(KernelError::Shape { op: SILU, message: format!("gate {} vs up {}", gate.len(), up.len()) });
    }
    let (g, u) = (storage(ctx, SILU, gate)?, storage(ctx, SILU, up)?);
    let params = (gate.len() as u32).to_le_bytes();
    let pipeline = ctx.pipeline_variant(SILU, "gelu", shader(SILU), &[("ACT", 1.0)]);
    run_with(ctx, SILU, &pipeline, &[&g, &u], gate.len(), &params, grid(gate.len().div_ceil(256)))
}

/// The scalar reference, in plain f32 (the kernel's f16 rounding stays within the tolerance).
pub fn gelu_mul_ref(gate: &[f32], up: &[f32]) -> Vec<f32> {
    let gelu = |x: f32| 0.5 * x * (1.0 + (0.797_884_6 * x * (1.0 + 0.044_715 * x * x)).tanh());
    gate.iter().zip(up).map(|(&g, u)| gelu(g) * u).collect()
}

/// `x * s` on the GPU.
pub fn scale(ctx: &GpuContext, x: &[f32], s: f32) -> Result<Vec<f32>, KernelError> {
    const OP: &str = "scale";
    let xb = storage(ctx, OP, x)?;
    let uniform = params(&[fits_u32(OP, "len", x.len())?, s.to_bits()]);
    run(ctx, OP, shader(OP), &[&xb], x.len(), &uniform, grid(x.len().div_ceil(256)))
}

/// `a + b` on the GPU.
pub fn add(ctx: &GpuContext, a: &[f32], b: &[f32]) -> Result<Vec<f32>, KernelError> {
    if a.len() != b.len() {
        return Err(KernelError::Shape { op: ADD, message: format!("a {} vs b {}", a.len(), b.len()) });
    }
    let (ab, bb) = (storage(ctx, ADD, a)?, storage(ctx, ADD, b)?);
    let len = fits_u32(ADD, "len", a.len())?;
    let uniform = params(&[len, len.max(1)]);
    run(ctx, ADD, shader(ADD), &[&ab, &bb], a.len(), &uniform, grid(a.len().div_ceil(256)))
}

/// The scalar reference.
pub fn add_ref(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Shape of a RoPE call.
#[derive(Clone, Copy, Debug)]
pub struct RopeShape {
    /// Rows (tokens).
    pub rows: usize,
    /// Heads per row.
    pub n_head: usize,
    /// Width of a head.
    pub head_dim: usize,
    /// Rotated dimensions of each head (even, at most `head_dim`).
    pub n_rot: usize,
    /// NeoX pairing (i, i + n_rot/2) instead of adjacent pairs.
    pub neox: bool,
}

/// Rotates `x` with `cos_sin` = `[rows][n_rot/2][cos, sin]`.
pub fn rope(ctx: &GpuContext, x: &[f32], cos_sin: &[f32], s: RopeShape) -> Result<Vec<f32>, KernelError> {
    let pairs = s.n_rot / 2;
    if x.len() != s.rows * s.n_head * s.head_dim
        || s.n_rot > s.head_dim
        || !s.n_rot.is_multiple_of(2)
        || cos_sin.len() != s.rows * pairs * 2
        || s.rows * s.n_head > 65_535 * 64
    {
        return Err(KernelError::Shape {
            op: ROPE,
            message: format!("{s:?} over {} values, table {}", x.len(), cos_sin.len()),
        });
    }
    let (xb, tb) = (storage(ctx, ROPE, x)?, storage(ctx, ROPE, cos_sin)?);
    let params: Vec<u8> = [s.rows, s.n_head, s.head_dim, s.n_rot, usize::from(s.neox), 0, 0, 0]
        .iter()
        .flat_map(|&v| (v as u32).to_le_bytes())
        .collect();
    let groups = (s.rows * s.n_head).div_ceil(64).max(1) as u32;
    run(ctx, ROPE, shader(ROPE), &[&xb, &tb], x.len(), &params, (groups, 1))
}

/// The scalar reference.
pub fn rope_ref(x: &[f32], cos_sin: &[f32], s: RopeShape) -> Vec<f32> {
    let pairs = s.n_rot / 2;
    let mut y = x.to_vec();
    for (idx, head) in y.chunks_exact_mut(s.head_dim).enumerate() {
        let row = idx / s.n_head;
        for i in 0..pairs {
            let (c, sn) = (cos_sin[(row * pairs + i) * 2], cos_sin[(row * pairs + i) * 2 + 1]);
            let (a, b) = if s.neox { (i, i + pairs) } else { (2 * i, 2 * i + 1) };
            let (x0, x1) = (head[a], head[b]);
            head[a] = x0 * c - x1 * sn;
            head[b] = x0 * sn + x1 * c;
        }
    }
    y
}
