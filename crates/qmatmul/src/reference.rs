//! Portable scalar dot products and dequantization, written from ggml's block layouts. Each
//! block's integer sum is exact; the SIMD versions must agree with these up to f32 rounding.

use half::f16;

use crate::act::{Q8Block, Q8KBlock};
use crate::packed::{Q2_MINS, block_min, block_values, group_block_bytes, k4_block, k6_block};
use crate::{Dot, QType};

/// The scalar kernels for data held as `ty` (`k_groups`: K-quants in groups of four rows).
pub(crate) fn dot(ty: QType, k_groups: bool) -> Dot {
    match (ty, k_groups) {
        (QType::Q4_0, _) => Dot::Group(dot_q4_0, None),
        (QType::Q4_1, _) => Dot::Group(dot_q4_1, None),
        (QType::Q5_0, _) => Dot::Group(dot_q5_0, None),
        (QType::Q5_1, _) => Dot::Group(dot_q5_1, None),
        (QType::Q8_0, _) => Dot::Group(dot_q8_0, None),
        (QType::IQ4NL | QType::IQ4XS, _) => Dot::Group(dot_iq4_nl, None),
        // Held as Q6_K (see `QType::layout`).
        (QType::Q2K | QType::Q3K, _) => Dot::KGroup(dot_q6_k_groups, None),
        (QType::Q4K, false) => Dot::K(dot_q4_k, None),
        (QType::Q4K, true) => Dot::KGroup(dot_q4_k_groups, None),
        (QType::Q5K, _) => Dot::K(dot_q5_k, None),
        (QType::Q6K, false) => Dot::K(dot_q6_k, None),
        (QType::Q6K, true) => Dot::KGroup(dot_q6_k_groups, None),
    }
}

pub(crate) fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// The 32 values of a Q4_0 block's 16 nibble bytes, offset removed.
pub fn q4_0_values(qs: &[u8]) -> [i8; 32] {
    let mut v = [0i8; 32];
    for j in 0..16 {
        v[j] = (qs[j] & 0x0F) as i8 - 8;
        v[j + 16] = (qs[j] >> 4) as i8 - 8;
    }
    v
}

/// The 32 values of a Q5_0 block (fifth bits `qh`, 16 nibble bytes), offset removed.
pub fn q5_0_values(qh: u32, qs: &[u8]) -> [i8; 32] {
    let mut v = [0i8; 32];
    for j in 0..16 {
        let h0 = ((qh >> j) << 4) & 0x10;
        let h1 = (qh >> (j + 12)) & 0x10;
        v[j] = ((u32::from(qs[j]) & 0x0F) | h0) as i8 - 16;
        v[j + 16] = ((u32::from(qs[j]) >> 4) | h1) as i8 - 16;
    }
    v
}

/// Scale and min of sub-block `j` of a Q4_K/Q5_K block's 12 packed scale bytes.
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

/// The 256 unsigned values of a Q4_K (`bits5 = false`) or Q5_K block, in order.
pub fn k_values(b: &[u8], bits5: bool) -> [u8; 256] {
    if !bits5 {
        return nibble_values(&b[16..144]);
    }
    let (qh, mut v) = (&b[16..48], nibble_values(&b[48..176]));
    for c in 0..4 {
        for l in 0..32 {
            v[64 * c + l] |= ((qh[l] >> (2 * c)) & 1) << 4;
            v[64 * c + 32 + l] |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
        }
    }
    v
}

/// The 256 values of Q4_K's 128 nibble bytes: each 32 bytes hold 32 values in their low
/// nibbles, then the next 32 in their high ones.
fn nibble_values(qs: &[u8]) -> [u8; 256] {
    let mut v = [0u8; 256];
    for c in 0..4 {
        for l in 0..32 {
            v[64 * c + l] = qs[32 * c + l] & 0x0F;
            v[64 * c + 32 + l] = qs[32 * c + l] >> 4;
        }
    }
    v
}

/// The 256 values of a Q6_K block, offset removed, in order.
pub fn q6_k_values(b: &[u8]) -> [i8; 256] {
    let mut v = [0i8; 256];
    for n in 0..2 {
        let (ql, qh) = (&b[64 * n..64 * n + 64], &b[128 + 32 * n..128 + 32 * n + 32]);
        for l in 0..32 {
            let at = 128 * n + l;
            v[at] = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i8 - 32;
            v[at + 32] = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            v[at + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            v[at + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
        }
    }
    v
}

fn idot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
}

/// Four rows of a repacked 32-wide type against one row of activations (the min of Q4_1 and
/// Q5_1 meets the activations' sum).
fn dot_group(ty: QType, g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    let gbb = group_block_bytes(ty);
    std::array::from_fn(|k| {
        g.chunks_exact(gbb)
            .zip(a)
            .map(|(gb, y)| {
                let (d, v) = block_values(ty, gb, k);
                let dot = d * y.d * idot(&v, &y.qs) as f32;
                if ty.has_min() { dot + block_min(ty, gb, k) * (y.d * y.sum as f32) } else { dot }
            })
            .sum()
    })
}

fn dot_q4_1(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::Q4_1, g, a)
}

fn dot_q5_1(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::Q5_1, g, a)
}

fn dot_iq4_nl(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::IQ4NL, g, a)
}

/// The 16 sub-block scales (less 32) and 256 values (less 4) of a Q3_K block, in order.
pub fn q3_k_scales_values(b: &[u8]) -> ([i8; 16], [i8; 256]) {
    let (hmask, qs, packed) = (&b[0..32], &b[32..96], &b[96..108]);
    // 16 six-bit scales: low four bits from bytes 0..8, high two bits from bytes 8..12.
    let sc = std::array::from_fn(|j| {
        let low = if j < 8 { packed[j] & 0x0F } else { packed[j - 8] >> 4 };
        let high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        (low | (high << 4)) as i8 - 32
    });
    let mut v = [0i8; 256];
    for (i, v) in v.iter_mut().enumerate() {
        // Values 128n + 32j + l: bits 2j of qs[32n + l], high bit j + 4n of hmask[l].
        let (n, j, l) = (i / 128, (i % 128) / 32, i % 32);
        let low = (qs[32 * n + l] >> (2 * j)) & 3;
        let high = (hmask[l] >> (4 * n + j)) & 1;
        *v = low as i8 - if high == 1 { 0 } else { 4 };
    }
    (sc, v)
}

/// The 256 two-bit values of a Q2_K block, in order.
pub fn q2_k_values(b: &[u8]) -> [i8; 256] {
    let qs = &b[16..80];
    std::array::from_fn(|i| {
        let (n, j, l) = (i / 128, (i % 128) / 32, i % 32);
        ((qs[32 * n + l] >> (2 * j)) & 3) as i8
    })
}

/// One row's Q2_K mins (per block: f32 `dmin`, 16 mins) against its activations: what the
/// mins take off the product of the values.
pub(crate) fn q2_mins_dot(mins: &[u8], a: &[Q8KBlock]) -> f32 {
    mins.chunks_exact(Q2_MINS)
        .zip(a)
        .map(|(m, y)| {
            let dmin = f32::from_le_bytes([m[0], m[1], m[2], m[3]]);
            let s: i32 = m[4..].iter().zip(&y.bsums).map(|(&m, &b)| i32::from(m) * i32::from(b)).sum();
            dmin * y.d * s as f32
        })
        .sum()
}

/// Takes one row's Q2_K mins off its values decoded as Q6_K's (ggml's `dl * q - ml`).
pub(crate) fn subtract_q2_mins(mins: &[u8], out: &mut [f32]) {
    for (m, o) in mins.chunks_exact(Q2_MINS).zip(out.chunks_exact_mut(256)) {
        let dmin = f32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        for (g, o) in o.chunks_exact_mut(16).enumerate() {
            let ml = dmin * f32::from(m[4 + g]);
            o.iter_mut().for_each(|o| *o -= ml);
        }
    }
}

fn dot_q4_0(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::Q4_0, g, a)
}

fn dot_q5_0(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::Q5_0, g, a)
}

fn dot_q8_0(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    dot_group(QType::Q8_0, g, a)
}

/// A Q4_K/Q5_K block's integer sums against activations: values times scales, and mins
/// times the activation sums.
fn k4_sums(v: &[u8; 256], sc: &[u8; 8], m: &[u8; 8], y: &Q8KBlock) -> (i32, i32) {
    let (mut sumi, mut mins) = (0i32, 0i32);
    for j in 0..8 {
        let s: i32 = (0..32).map(|l| i32::from(v[32 * j + l]) * i32::from(y.qs[32 * j + l])).sum();
        sumi += i32::from(sc[j]) * s;
        mins += i32::from(m[j]) * (i32::from(y.bsums[2 * j]) + i32::from(y.bsums[2 * j + 1]));
    }
    (sumi, mins)
}

fn dot_k4(w: &[u8], a: &[Q8KBlock], bits5: bool) -> f32 {
    let bytes = if bits5 { 176 } else { 144 };
    let mut sum = 0.0f32;
    for (b, y) in w.chunks_exact(bytes).zip(a) {
        let sm: [(u8, u8); 8] = std::array::from_fn(|j| scale_min_k4(j, &b[4..16]));
        let (sumi, mins) = k4_sums(&k_values(b, bits5), &sm.map(|p| p.0), &sm.map(|p| p.1), y);
        sum += f16_at(b, 0) * y.d * sumi as f32 - f16_at(b, 2) * y.d * mins as f32;
    }
    sum
}

fn dot_q4_k_groups(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    std::array::from_fn(|k| {
        let mut sum = 0.0f32;
        for (gb, y) in g.chunks_exact(group_block_bytes(QType::Q4K)).zip(a) {
            let (d, dmin, sc, m, qs) = k4_block(gb, k);
            let (sumi, mins) = k4_sums(&nibble_values(&qs), &sc, &m, y);
            sum += d * y.d * sumi as f32 - dmin * y.d * mins as f32;
        }
        sum
    })
}

fn dot_q4_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    dot_k4(w, a, false)
}

fn dot_q5_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    dot_k4(w, a, true)
}

/// A Q6_K block's integer sum (values `v`, offset removed) against activations.
fn q6_sumi(v: &[i8; 256], sc: &[i8; 16], y: &Q8KBlock) -> i32 {
    (0..16).map(|g| i32::from(sc[g]) * idot(&v[16 * g..16 * g + 16], &y.qs[16 * g..16 * g + 16])).sum()
}

fn dot_q6_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    let mut sum = 0.0f32;
    for (b, y) in w.chunks_exact(210).zip(a) {
        let sc = std::array::from_fn(|g| b[192 + g] as i8);
        sum += f16_at(b, 208) * y.d * q6_sumi(&q6_k_values(b), &sc, y) as f32;
    }
    sum
}

fn dot_q6_k_groups(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    std::array::from_fn(|k| {
        let mut sum = 0.0f32;
        for (gb, y) in g.chunks_exact(group_block_bytes(QType::Q6K)).zip(a) {
            let (d, sc, v) = k6_block(gb, k);
            sum += d * y.d * q6_sumi(&v, &sc, y) as f32;
        }
        sum
    })
}

/// Decodes row `k` of a group of repacked 32-wide blocks to f32 (ggml's arithmetic: value
/// times scale).
pub(crate) fn dequantize_packed(ty: QType, group: &[u8], k: usize, out: &mut [f32]) {
    for (gb, o) in group.chunks_exact(group_block_bytes(ty)).zip(out.chunks_exact_mut(32)) {
        let (d, v) = block_values(ty, gb, k);
        if ty.has_min() {
            let m = block_min(ty, gb, k);
            o.iter_mut().zip(v).for_each(|(o, q)| *o = f32::from(q) * d + m);
        } else {
            o.iter_mut().zip(v).for_each(|(o, q)| *o = f32::from(q) * d);
        }
    }
}

/// Decodes row `k` of a group of grouped Q4_K or Q6_K blocks to f32 (ggml's arithmetic, as
/// [`dequantize_k`]).
pub(crate) fn dequantize_k_groups(ty: QType, group: &[u8], k: usize, out: &mut [f32]) {
    for (gb, o) in group.chunks_exact(group_block_bytes(ty)).zip(out.chunks_exact_mut(256)) {
        if ty == QType::Q6K {
            let (d, sc, v) = k6_block(gb, k);
            for (i, (o, q)) in o.iter_mut().zip(v).enumerate() {
                *o = d * f32::from(sc[i / 16]) * f32::from(q);
            }
        } else {
            let (d, dmin, sc, m, qs) = k4_block(gb, k);
            let v = nibble_values(&qs);
            for j in 0..8 {
                let (d1, m1) = (d * f32::from(sc[j]), dmin * f32::from(m[j]));
                for l in 0..32 {
                    o[32 * j + l] = d1 * f32::from(v[32 * j + l]) - m1;
                }
            }
        }
    }
}

/// Decodes one row of K-quant blocks to f32 with ggml's `dequantize_row_*` arithmetic.
pub(crate) fn dequantize_k(ty: QType, row: &[u8], out: &mut [f32]) {
    for (b, o) in row.chunks_exact(ty.block_bytes()).zip(out.chunks_exact_mut(256)) {
        if ty == QType::Q6K {
            let d = f16_at(b, 208);
            let v = q6_k_values(b);
            for (i, (o, q)) in o.iter_mut().zip(v).enumerate() {
                *o = d * f32::from(b[192 + i / 16] as i8) * f32::from(q);
            }
        } else {
            let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
            let v = k_values(b, ty == QType::Q5K);
            for j in 0..8 {
                let (sc, m) = scale_min_k4(j, &b[4..16]);
                let (d1, m1) = (d * f32::from(sc), dmin * f32::from(m));
                for l in 0..32 {
                    o[32 * j + l] = d1 * f32::from(v[32 * j + l]) - m1;
                }
            }
        }
    }
}
