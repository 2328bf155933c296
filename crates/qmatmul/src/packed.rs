//! The layout the 32-wide types (Q4_0, Q5_0, Q8_0) are repacked to when a matrix is built:
//! rows in groups of four, block by block, each group-block holding the four rows' scales as
//! f32 (converted from f16 once, not per product) and then their quantized bytes side by
//! side. A kernel then computes four outputs per pass over a block of activations: one load
//! of the activations and one vector of scales serve four rows, and two rows' 16 bytes of
//! nibbles fill one 256-bit register. Missing rows of the last group are zero.
//!
//! Group-block layout (bytes): `[4 × f32 scale]` then
//! - Q4_0 and IQ4_NL: `[4 × 16 nibble bytes]` (ggml's `qs`);
//! - Q4_1: `[4 × f32 min] [4 × 16 nibble bytes]`;
//! - Q5_0: `[4 × u32 fifth bits]` (ggml's `qh`) `[4 × 16 nibble bytes]`;
//! - Q5_1: `[4 × f32 min] [4 × u32 fifth bits] [4 × 16 nibble bytes]`;
//! - Q8_0: `[4 × 32 signed bytes]`.
//!
//! IQ4_XS is held as IQ4_NL: each 256-value block becomes eight group-blocks of 32 whose f32
//! scale is the block's f16 scale times the sub-block's 6-bit scale less 32 (exact in f32).
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
//! Q3_K and Q2_K are held in Q6_K's grouped layout (their values are small signed bytes, their
//! 16 sub-block scales fit an i8): Q3_K's values less 4 and scales less 32, Q2_K's 2-bit
//! values and 4-bit scales, its 4-bit mins apart ([`q2_mins`]), taken off after the product.
//! That spends bytes (1104 per four blocks against 440 and 336 in the file) for kernels
//! already tuned.
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
        QType::Q4_0 | QType::IQ4NL => 16 + 64,
        QType::Q4_1 => 16 + 16 + 64,
        QType::Q5_0 => 16 + 16 + 64,
        QType::Q5_1 => 16 + 16 + 16 + 64,
        QType::Q8_0 => 16 + 128,
        QType::Q4K => K4_QS + 4 * 128,
        QType::Q6K => K6_Q + 4 * 256,
        QType::Q5K | QType::Q2K | QType::Q3K | QType::IQ4XS => 0,
    }
}

/// Where a group-block's nibble bytes start (the 4- and 5-bit 32-wide layouts).
pub(crate) const fn nibbles_at(ty: QType) -> usize {
    match ty {
        QType::Q4_1 | QType::Q5_0 => 32,
        QType::Q5_1 => 48,
        _ => 16,
    }
}

/// Where a group-block's fifth bits start (Q5_0, Q5_1).
pub(crate) const fn fifth_at(ty: QType) -> usize {
    if matches!(ty, QType::Q5_1) { 32 } else { 16 }
}

/// Bytes of Q2_K's mins per row and block: f32 `dmin`, 16 mins.
pub(crate) const Q2_MINS: usize = 4 + 16;

/// IQ4_NL's (and IQ4_XS's) 16 values, indexed by the 4-bit codes.
pub const IQ4NL_VALUES: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

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
/// `gbb` may be the bytes of several group-blocks that one source block fills (IQ4_XS).
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

/// Q2_K's mins of `rows` rows of `nb` blocks, as the kernels take them off (see
/// [`Q2_MINS`]): per row and block, `dmin` as f32 then the 16 mins.
pub(crate) fn q2_mins(rows: usize, nb: usize, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * nb * Q2_MINS);
    for b in data.chunks_exact(QType::Q2K.block_bytes()).take(rows * nb) {
        out.extend_from_slice(&f16_at(b, 82).to_le_bytes());
        out.extend(b[..16].iter().map(|s| s >> 4));
    }
    out
}

/// Writes row `k`'s Q6_K-layout block (scale `d`, 16 sub-block scales, 256 signed values) into
/// its group-block.
fn put_k6(dst: &mut [u8], k: usize, d: f32, sc: &[i8; 16], v: &[i8; 256]) {
    dst[4 * k..4 * k + 4].copy_from_slice(&d.to_le_bytes());
    for (s, &sc) in sc.iter().enumerate() {
        dst[16 + 4 * s + k] = sc as u8;
    }
    for (j, v) in v.chunks_exact(32).enumerate() {
        let at = K6_Q + 128 * j + 32 * k;
        dst[at..at + 32].iter_mut().zip(v).for_each(|(d, &v)| *d = v as u8);
    }
}

/// Repacks `rows` rows of Q4_K, Q6_K, Q3_K or Q2_K blocks (`nb` each) into groups of four rows
/// (the last two in Q6_K's layout).
pub(crate) fn pack_k(ty: QType, rows: usize, nb: usize, data: &[u8]) -> Vec<u8> {
    let gbb = group_block_bytes(if matches!(ty, QType::Q2K | QType::Q3K) { QType::Q6K } else { ty });
    regroup(ty, gbb, rows, nb, data, |src, dst, k| match ty {
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
            let sc = std::array::from_fn(|s| src[192 + s] as i8);
            put_k6(dst, k, f16_at(src, 208), &sc, &crate::reference::q6_k_values(src));
        }
        QType::Q3K => {
            let (sc, v) = crate::reference::q3_k_scales_values(src);
            put_k6(dst, k, f16_at(src, 108), &sc, &v);
        }
        QType::Q2K => {
            let sc = std::array::from_fn(|s| (src[s] & 0x0F) as i8);
            put_k6(dst, k, f16_at(src, 80), &sc, &crate::reference::q2_k_values(src));
        }
        _ => unreachable!("only K-quants are grouped by `pack_k`"),
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
    if ty == QType::IQ4XS {
        let gbb = group_block_bytes(QType::IQ4NL);
        return regroup(ty, 8 * gbb, rows, nb, data, |src, dst, k| {
            let d = f16_at(src, 0);
            let (sh, sl) = (u16::from_le_bytes([src[2], src[3]]), &src[4..8]);
            for (ib, dst) in dst.chunks_exact_mut(gbb).enumerate() {
                let ls = ((sl[ib / 2] >> (4 * (ib % 2))) & 0x0F) | ((((sh >> (2 * ib)) & 3) as u8) << 4);
                let dl = d * f32::from(i16::from(ls) - 32);
                dst[4 * k..4 * k + 4].copy_from_slice(&dl.to_le_bytes());
                dst[16 + 16 * k..32 + 16 * k].copy_from_slice(&src[8 + 16 * ib..24 + 16 * ib]);
            }
        });
    }
    regroup(ty, group_block_bytes(layout), rows, nb, data, |src, dst, k| {
        let d = f16_at(src, 0);
        dst[4 * k..4 * k + 4].copy_from_slice(&d.to_le_bytes());
        if ty.has_min() {
            dst[16 + 4 * k..20 + 4 * k].copy_from_slice(&f16_at(src, 2).to_le_bytes());
        }
        match (ty, layout) {
            (QType::Q5_0, QType::Q8_0) => {
                let v =
                    crate::reference::q5_0_values(u32::from_le_bytes([src[2], src[3], src[4], src[5]]), &src[6..22]);
                dst[16 + 32 * k..48 + 32 * k].iter_mut().zip(v).for_each(|(d, v)| *d = v as u8);
            }
            (QType::Q4_0 | QType::IQ4NL, _) => dst[16 + 16 * k..32 + 16 * k].copy_from_slice(&src[2..18]),
            (QType::Q4_1, _) => dst[32 + 16 * k..48 + 16 * k].copy_from_slice(&src[4..20]),
            (QType::Q5_0, _) => {
                dst[16 + 4 * k..20 + 4 * k].copy_from_slice(&src[2..6]);
                dst[32 + 16 * k..48 + 16 * k].copy_from_slice(&src[6..22]);
            }
            (QType::Q5_1, _) => {
                dst[32 + 4 * k..36 + 4 * k].copy_from_slice(&src[4..8]);
                dst[48 + 16 * k..64 + 16 * k].copy_from_slice(&src[8..24]);
            }
            (QType::Q8_0, _) => dst[16 + 32 * k..48 + 32 * k].copy_from_slice(&src[2..34]),
            _ => unreachable!("K-quants are grouped by `pack_k`, IQ4_XS above"),
        }
    })
}

/// Scale and values (offset removed; Q4_1's and Q5_1's unsigned, their min apart) of row `k`
/// of a group-block.
pub(crate) fn block_values(ty: QType, gb: &[u8], k: usize) -> (f32, [i8; 32]) {
    let d = f32_at(gb, 4 * k);
    let nib = &gb[nibbles_at(ty) + 16 * k..nibbles_at(ty) + 16 * k + 16];
    let qh = || {
        let at = fifth_at(ty) + 4 * k;
        u32::from_le_bytes([gb[at], gb[at + 1], gb[at + 2], gb[at + 3]])
    };
    let v = match ty {
        QType::Q4_0 => crate::reference::q4_0_values(nib),
        QType::Q4_1 => crate::reference::q4_0_values(nib).map(|v| v + 8),
        QType::IQ4NL => crate::reference::q4_0_values(nib).map(|v| IQ4NL_VALUES[(v + 8) as usize]),
        QType::Q5_0 => crate::reference::q5_0_values(qh(), nib),
        QType::Q5_1 => crate::reference::q5_0_values(qh(), nib).map(|v| v + 16),
        _ => std::array::from_fn(|j| gb[16 + 32 * k + j] as i8),
    };
    (d, v)
}

/// The min of row `k` of a group-block (0 for types without one).
pub(crate) fn block_min(ty: QType, gb: &[u8], k: usize) -> f32 {
    if ty.has_min() { f32_at(gb, 16 + 4 * k) } else { 0.0 }
}
