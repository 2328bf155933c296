//! Greedy sampling's reduction: the index of the largest logit.

use super::{dispatch, fits_u32, output, params, read_back, storage};
use crate::{GpuContext, KernelError, shader};

const OP: &str = "argmax";

/// The index of the largest of `x`, the lowest such index on ties (as a CPU scan keeping the
/// first maximum). `x` must be non-empty and free of NaN.
pub fn argmax(ctx: &GpuContext, x: &[f32]) -> Result<usize, KernelError> {
    if x.is_empty() {
        return Err(KernelError::Shape { op: OP, message: "argmax of no values".into() });
    }
    let xb = storage(ctx, OP, x)?;
    let out = output(ctx, OP, 4)?;
    let pipeline = ctx.pipeline(OP, shader(OP));
    dispatch(ctx, OP, &pipeline, &[&xb, &out], &params(&[fits_u32(OP, "len", x.len())?]), (1, 1));
    let bytes = read_back(ctx, &out)?;
    let index = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if index >= x.len() {
        return Err(KernelError::Readback(format!("argmax returned {index} for {} values", x.len())));
    }
    Ok(index)
}

/// The scalar reference (`None` for no values).
pub fn argmax_ref(x: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in x.iter().enumerate() {
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}
