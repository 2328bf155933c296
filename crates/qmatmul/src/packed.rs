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
//!
//! Q4_K and Q6_K are grouped too ([`crate::KStorage::Groups`], every target's choice), with their
//! sub-block scales decoded once at load, so a kernel vectorizes the scale arithmetic over the
//! four rows instead of unpacking 6-bit fields per row and block:
//! - Q4_K: `[4 × f32 d] [4 × f32 dmin] [8 sub-blocks × 4 rows u8 scale] [8 × 4 u8 min]`
//!   `[4 × (4 rows × 32 nibble bytes)]` (608 bytes for 4 × 256 values; ggml's rows take 576);
//! - Q6_K: `[4 × f32 d] [16 sub-blocks × 4 rows i8 scale] [8 × (4 rows × 32 values)]`, the
//!   values offset removed as signed bytes (1104 bytes; ggml's rows take 840): simd128 spent
//!   twice Q4_K's instructions per value rebuilding 6-bit values, and bytes need three.
//!
//! The rows' bytes alternate every 32 bytes, so a kernel reads each group-block front to
//! back: with the rows 256 bytes apart, the AVX2 Q6_K kernel ran at 18 G weight products/s
//! from memory against 50 in cache.

use crate::reference::f16_at;

use crate::QType;

/// Rows per group.
pub(crate) const G: usize = 4;

/// Bytes of one group-block.
pub(crate) const fn group_block_bytes(ty: QType) -> usize {
    match ty {
        QType::Q4_0 => 16 + 64,
        QType::Q5_0 => 16 + 16 + 64,
        QType::Q8_0 => 16 + 128,
        QType::Q4K => K4_QS + 4 * 128,
        QType::Q6K => K6_Q + 4 * 256,
        QType::Q5K => 0,
    }
}

/// Where a grouped Q4_K block's mins and nibbles start.
const K4_MINS: usize = 32 + 32;
pub(crate) const K4_QS: usize = K4_MINS + 32;
/// Where a grouped Q6_K block's values start (after d and the scales).
pub(crate) const K6_Q: usize = 16 + 64;

/// Whether a type can be held in groups of four rows (Q5_K cannot).
pub(crate) const fn can_group(ty: QType) -> bool {
    group_block_bytes(ty) != 0
}

/// The group layout's frame: for each of `rows` rows of `nb` ggml blocks of `ty`, calls
/// `fill(src, dst, k)` with the source block, its group-block of `gbb` bytes and the row's
/// place `k` in its group. Missing rows of the last group stay zero.
fn regroup(
    ty: QType,
    gbb: usize,
    rows: usize,
    nb: usize,
    data: &[u8],
    fill: impl Fn(&[u8], &mut [u8], usize),
) -> Vec<u8> {
    let bb = ty.block_bytes();
    let mut out = vec![0u8; rows.div_ceil(G) * nb * gbb];
    for r in 0..rows {
        let (g, k) = (r / G, r % G);
        for b in 0..nb {
            let src = &data[(r * nb + b) * bb..(r * nb + b + 1) * bb];
            fill(src, &mut out[(g * nb + b) * gbb..(g * nb + b + 1) * gbb], k);
        }
    }
    out
}

/// Repacks `rows` rows of Q4_K or Q6_K blocks (`nb` each) into groups of four rows.
pub(crate) fn pack_k(ty: QType, rows: usize, nb: usize, data: &[u8]) -> Vec<u8> {
    regroup(ty, group_block_bytes(ty), rows, nb, data, |src, dst, k| match ty {
        QType::Q4K => {
            let (d, dmin) = (f16_at(src, 0), f16_at(src, 2));
            dst[4 * k..4 * k + 4].copy_from_slice(&d.to_le_bytes());
            dst[16 + 4 * k..20 + 4 * k].copy_from_slice(&dmin.to_le_bytes());
            for s in 0..8 {
                let (sc, m) = crate::reference::scale_min_k4(s, &src[4..16]);
                dst[32 + 4 * s + k] = sc;
                dst[K4_MINS + 4 * s + k] = m;
            }
            for c in 0..4 {
                let at = K4_QS + 128 * c + 32 * k;
                dst[at..at + 32].copy_from_slice(&src[16 + 32 * c..48 + 32 * c]);
            }
        }
        QType::Q6K => {
            dst[4 * k..4 * k + 4].copy_from_slice(&f16_at(src, 208).to_le_bytes());
            for s in 0..16 {
                dst[16 + 4 * s + k] = src[192 + s];
            }
            let v = crate::reference::q6_k_values(src);
            for (j, v) in v.chunks_exact(32).enumerate() {
                let at = K6_Q + 128 * j + 32 * k;
                dst[at..at + 32].iter_mut().zip(v).for_each(|(d, &v)| *d = v as u8);
            }
        }
        _ => unreachable!("only Q4_K and Q6_K are grouped"),
    })
}

/// The f32 stored at `at` of a group-block (scales are held as f32).
fn f32_at(gb: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([gb[at], gb[at + 1], gb[at + 2], gb[at + 3]])
}

/// Row `k` of a grouped Q4_K block: d, dmin, the 8 scales and mins, the 128 nibble bytes.
pub(crate) fn k4_block(gb: &[u8], k: usize) -> (f32, f32, [u8; 8], [u8; 8], [u8; 128]) {
    (
        f32_at(gb, 4 * k),
        f32_at(gb, 16 + 4 * k),
        std::array::from_fn(|s| gb[32 + 4 * s + k]),
        std::array::from_fn(|s| gb[K4_MINS + 4 * s + k]),
        std::array::from_fn(|b| gb[K4_QS + 128 * (b / 32) + 32 * k + b % 32]),
    )
}

/// Row `k` of a grouped Q6_K block: d, the 16 scales, the 256 values (offset removed).
pub(crate) fn k6_block(gb: &[u8], k: usize) -> (f32, [i8; 16], [i8; 256]) {
    let v = std::array::from_fn(|j| gb[K6_Q + 128 * (j / 32) + 32 * k + j % 32] as i8);
    (f32_at(gb, 4 * k), std::array::from_fn(|s| gb[16 + 4 * s + k] as i8), v)
}

/// Repacks `rows` rows of ggml `ty` blocks (`nb` blocks each) into the group layout of
/// `layout` (`ty` itself, or Q8_0 for widened Q5_0).
pub(crate) fn pack(ty: QType, layout: QType, rows: usize, nb: usize, data: &[u8]) -> Vec<u8> {
    regroup(ty, group_block_bytes(layout), rows, nb, data, |src, dst, k| {
        let d = f16_at(src, 0);
        dst[4 * k..4 * k + 4].copy_from_slice(&d.to_le_bytes());
        match (ty, layout) {
            (QType::Q5_0, QType::Q8_0) => {
                let v =
                    crate::reference::q5_0_values(u32::from_le_bytes([src[2], src[3], src[4], src[5]]), &src[6..22]);
                dst[16 + 32 * k..48 + 32 * k].iter_mut().zip(v).for_each(|(d, v)| *d = v as u8);
            }
            (QType::Q4_0, _) => dst[16 + 16 * k..32 + 16 * k].copy_from_slice(&src[2..18]),
            (QType::Q5_0, _) => {
                dst[16 + 4 * k..20 + 4 * k].copy_from_slice(&src[2..6]);
                dst[32 + 16 * k..48 + 16 * k].copy_from_slice(&src[6..22]);
            }
            (QType::Q8_0, _) => dst[16 + 32 * k..48 + 32 * k].copy_from_slice(&src[2..34]),
            (QType::Q4K | QType::Q5K | QType::Q6K, _) => unreachable!("K-quants are grouped by `pack_k`"),
        }
    })
}

/// Scale and values (offset removed) of row `k` of a group-block.
pub(crate) fn block_values(ty: QType, gb: &[u8], k: usize) -> (f32, [i8; 32]) {
    let d = f32_at(gb, 4 * k);
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
