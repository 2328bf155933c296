//! The layout the 32-wide types (Q4_0, Q5_0, Q8_0) are repacked to when a matrix is built:
//! rows in groups of four, block by block, each group-block holding the four rows' scales as
//! f32 (converted from f16 once, not per product) and then their quantized bytes side by
//! side. A kernel then computes four outputs per pass over a block of activations: one load
//! of the activations and one vector of scales serve four rows, and two rows' 16 bytes of
//! nibbles fill one 256-bit register. Missing rows of the last group are zero.
//!
//! Group-block layout (bytes): `[4 × f32 scale]` then
//! - Q4_0: `[4 × 16 nibble bytes]` (ggml's `qs`);
//! - Q5_0: `[4 × u32 fifth bits]` (ggml's `qh`) `[4 × 16 nibble bytes]`;
//! - Q8_0: `[4 × 32 signed bytes]`.
//!
//! Q5_0 may instead be held widened ([`crate::Q5Storage::Bytes`]): its values, offset removed,
//! as signed bytes in Q8_0's layout, so Q8_0's kernels serve it.

use half::f16;

use crate::QType;

/// Rows per group.
pub(crate) const G: usize = 4;

/// Bytes of one group-block.
pub(crate) const fn group_block_bytes(ty: QType) -> usize {
    match ty {
        QType::Q4_0 => 16 + 64,
        QType::Q5_0 => 16 + 16 + 64,
        QType::Q8_0 => 16 + 128,
        QType::Q4K | QType::Q5K | QType::Q6K => 0,
    }
}

/// Whether a type is stored repacked.
pub(crate) const fn is_packed(ty: QType) -> bool {
    group_block_bytes(ty) != 0
}

/// Repacks `rows` rows of ggml `ty` blocks (`nb` blocks each) into the group layout of
/// `layout` (`ty` itself, or Q8_0 for widened Q5_0).
pub(crate) fn pack(ty: QType, layout: QType, rows: usize, nb: usize, data: &[u8]) -> Vec<u8> {
    let (bb, gbb) = (ty.block_bytes(), group_block_bytes(layout));
    let mut out = vec![0u8; rows.div_ceil(G) * nb * gbb];
    for r in 0..rows {
        let (g, k) = (r / G, r % G);
        for b in 0..nb {
            let src = &data[(r * nb + b) * bb..(r * nb + b + 1) * bb];
            let dst = &mut out[(g * nb + b) * gbb..(g * nb + b + 1) * gbb];
            let d = f16::from_le_bytes([src[0], src[1]]).to_f32();
            dst[4 * k..4 * k + 4].copy_from_slice(&d.to_le_bytes());
            match (ty, layout) {
                (QType::Q5_0, QType::Q8_0) => {
                    let v = crate::reference::q5_0_values(
                        u32::from_le_bytes([src[2], src[3], src[4], src[5]]),
                        &src[6..22],
                    );
                    dst[16 + 32 * k..48 + 32 * k].iter_mut().zip(v).for_each(|(d, v)| *d = v as u8);
                }
                (QType::Q4_0, _) => dst[16 + 16 * k..32 + 16 * k].copy_from_slice(&src[2..18]),
                (QType::Q5_0, _) => {
                    dst[16 + 4 * k..20 + 4 * k].copy_from_slice(&src[2..6]);
                    dst[32 + 16 * k..48 + 16 * k].copy_from_slice(&src[6..22]);
                }
                (QType::Q8_0, _) => dst[16 + 32 * k..48 + 32 * k].copy_from_slice(&src[2..34]),
                (QType::Q4K | QType::Q5K | QType::Q6K, _) => unreachable!("K-quants are not repacked"),
            }
        }
    }
    out
}

/// Scale and values (offset removed) of row `k` of a group-block.
pub(crate) fn block_values(ty: QType, gb: &[u8], k: usize) -> (f32, [i8; 32]) {
    let d = f32::from_le_bytes([gb[4 * k], gb[4 * k + 1], gb[4 * k + 2], gb[4 * k + 3]]);
    let v = match ty {
        QType::Q4_0 => crate::reference::q4_0_values(&gb[16 + 16 * k..32 + 16 * k]),
        QType::Q5_0 => {
            let qh = u32::from_le_bytes([gb[16 + 4 * k], gb[17 + 4 * k], gb[18 + 4 * k], gb[19 + 4 * k]]);
            crate::reference::q5_0_values(qh, &gb[32 + 16 * k..48 + 16 * k])
        }
        _ => std::array::from_fn(|j| gb[16 + 32 * k + j] as i8),
    };
    (d, v)
}
