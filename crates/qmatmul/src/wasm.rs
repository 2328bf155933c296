//! simd128 dot products for wasm32 (compiled in when the build enables `simd128`, which
//! arbitre's wasm builds always do).
//!
//! wasm has no byte multiply-add. For the 32-wide types the activations are widened to i16
//! once per row (`Q8Block::qs16`, even and odd values apart) and the weights' bytes are read
//! straight into i16 lanes by masks and shifts, so every product is one `i32x4.dot_i16x8`
//! lane. The K-quants multiply bytes into i16 lanes (`i16x8.extmul`), summed as far as i16
//! cannot overflow for the type's value range, and widened to i32 by `i32x4.dot_i16x8`,
//! which also applies the sub-block scales. Grouped Q4_K and Q6_K (`KStorage::Groups`; Q6_K's
//! values held as signed bytes) meet each load of activations with four rows, whose sums are
//! gathered into one vector per sub-block so that scales and mins apply to four rows per
//! instruction.

#![allow(unsafe_code)]

use core::arch::wasm32::*;

use crate::act::{Q8Block, Q8KBlock};
use crate::packed::{IQ4NL_VALUES, K4_QS, K6_Q, fifth_at, group_block_bytes, nibbles_at};
use crate::reference::{f16_at, scale_min_k4};
use crate::{Dot, QType};

/// The kernels for data held as `ty` (`k_groups`: K-quants in groups of four rows).
pub(crate) fn dot(ty: QType, k_groups: bool) -> Option<Dot> {
    Some(match ty {
        QType::Q4_0 => Dot::Group(q4_0, Some(q4_0_x2)),
        QType::Q4_1 => Dot::Group(q4_1, Some(q4_1_x2)),
        QType::Q5_1 => Dot::Group(q5_1, Some(q5_1_x2)),
        QType::IQ4NL => Dot::Group(iq4_nl, Some(iq4_nl_x2)),
        // Never a layout (see `QType::layout`).
        QType::Q2K | QType::Q3K | QType::IQ4XS => return None,
        // Q5_0 is held widened to Q8_0's layout here (`Q5Storage::Bytes`).
        QType::Q5_0 => return None,
        QType::Q8_0 => Dot::Group(q8_0, Some(q8_0_x2)),
        // Q4_K and Q6_K held in ggml's rows (`KStorage::Rows`, not this target's choice) use
        // the scalar reference.
        QType::Q4K | QType::Q6K if !k_groups => return None,
        QType::Q4K => Dot::KGroup(q4_k_groups, Some(q4_k_groups_x2)),
        QType::Q5K => Dot::K(q5_k, Some(q5_k_x2)),
        QType::Q6K => Dot::KGroup(q6_k_groups, Some(q6_k_groups_x2)),
    })
}

#[inline(always)]
fn load(b: &[u8; 16]) -> v128 {
    // SAFETY: a reference to 16 bytes; wasm loads need no alignment.
    unsafe { v128_load(b.as_ptr().cast()) }
}

#[inline(always)]
fn load_at(b: &[u8], at: usize) -> v128 {
    load(b[at..at + 16].try_into().expect("16 bytes"))
}

#[inline(always)]
fn hsum_i32(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v) + i32x4_extract_lane::<1>(v) + i32x4_extract_lane::<2>(v) + i32x4_extract_lane::<3>(v)
}

/// Four rows' i32x4 partial sums to their four totals.
#[inline(always)]
fn four_totals(s: [v128; 4]) -> v128 {
    let t0 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s[0], s[1]), i32x4_shuffle::<2, 6, 3, 7>(s[0], s[1]));
    let t1 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s[2], s[3]), i32x4_shuffle::<2, 6, 3, 7>(s[2], s[3]));
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(t0, t1), i32x4_shuffle::<2, 3, 6, 7>(t0, t1))
}

/// The four rows of a group-block as i16 lanes: per row, half 0 even, half 0 odd, half 1
/// even, half 1 odd values.
type Lanes = [[v128; 4]; 4];

/// The shared loop of the repacked types (see `packed`) for `T` activation rows at once: each
/// group-block is read into lanes once and met with every row. Values are unsigned; `offset`
/// (8 for Q4_0, 0 for the others) times the activation sum comes off in integers, so each
/// block's sum is exact. Q4_1's and Q5_1's mins meet the activations' sum times its scale.
#[inline(always)]
fn group_rows<const T: usize>(
    g: &[u8],
    acts: [&[Q8Block]; T],
    ty: QType,
    offset: i32,
    lanes: impl Fn(&[u8]) -> Lanes,
) -> [[f32; 4]; T] {
    let gbb = group_block_bytes(ty);
    let mut acc = [[f32x4_splat(0.0); 2]; T];
    for (i, gb) in g.chunks_exact(gbb).enumerate() {
        let l = lanes(gb);
        let scales = load_at(gb, 0);
        for t in 0..T {
            let y = &acts[t][i];
            let w = wide(y);
            let s = four_totals([dot4(l[0], &w), dot4(l[1], &w), dot4(l[2], &w), dot4(l[3], &w)]);
            let s = f32x4_convert_i32x4(i32x4_sub(s, i32x4_splat(offset * y.sum)));
            acc[t][i & 1] = f32x4_add(acc[t][i & 1], f32x4_mul(f32x4_mul(scales, f32x4_splat(y.d)), s));
            if ty.has_min() {
                let m = f32x4_mul(load_at(gb, 16), f32x4_splat(y.d * y.sum as f32));
                acc[t][i & 1] = f32x4_add(acc[t][i & 1], m);
            }
        }
    }
    std::array::from_fn(|t| lanes_f32(f32x4_add(acc[t][0], acc[t][1])))
}

/// The activations widened to i16, in the even/odd order of `Q8Block::qs16`.
#[inline(always)]
fn wide(y: &Q8Block) -> [v128; 4] {
    std::array::from_fn(|i| {
        let s: &[i16; 8] = y.qs16[8 * i..8 * i + 8].try_into().expect("8 lanes");
        // SAFETY: a reference to 16 bytes; wasm loads need no alignment.
        unsafe { v128_load(s.as_ptr().cast()) }
    })
}

/// Values held one per i16 lane (half 0 even, half 0 odd, half 1 even, half 1 odd) times the
/// widened activations, as i32x4 partial sums.
#[inline(always)]
fn dot4(v: [v128; 4], y: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(v[0], y[0]), i32x4_dot_i16x8(v[1], y[1])),
        i32x4_add(i32x4_dot_i16x8(v[2], y[2]), i32x4_dot_i16x8(v[3], y[3])),
    )
}

/// Four rows of 16 nibble bytes at `at` as lanes.
#[inline(always)]
fn nibble_lanes(gb: &[u8], at: usize) -> Lanes {
    let m = u16x8_splat(0x000F);
    std::array::from_fn(|k| {
        // Each i16 lane holds two bytes: four nibbles, values j, j + 16, j + 1, j + 17.
        let v = load_at(gb, at + 16 * k);
        [v128_and(v, m), v128_and(u16x8_shr(v, 8), m), v128_and(u16x8_shr(v, 4), m), u16x8_shr(v, 12)]
    })
}

fn q4_0_lanes(gb: &[u8]) -> Lanes {
    nibble_lanes(gb, 16)
}

fn q4_1_lanes(gb: &[u8]) -> Lanes {
    nibble_lanes(gb, nibbles_at(QType::Q4_1))
}

/// Q5_1's nibbles with their fifth bits: each lane's bit of `qh` picked by a mask, as 16.
fn q5_1_lanes(gb: &[u8]) -> Lanes {
    let mut l = nibble_lanes(gb, nibbles_at(QType::Q5_1));
    let even = u16x8(1, 1 << 2, 1 << 4, 1 << 6, 1 << 8, 1 << 10, 1 << 12, 1 << 14);
    let odd = u16x8(1 << 1, 1 << 3, 1 << 5, 1 << 7, 1 << 9, 1 << 11, 1 << 13, 1 << 15);
    let (zero, sixteen) = (u16x8_splat(0), u16x8_splat(16));
    for (k, lanes) in l.iter_mut().enumerate() {
        let at = fifth_at(QType::Q5_1) + 4 * k;
        let qh = u32::from_le_bytes([gb[at], gb[at + 1], gb[at + 2], gb[at + 3]]);
        let (lo, hi) = (u16x8_splat(qh as u16), u16x8_splat((qh >> 16) as u16));
        let bit = |h: v128, mask: v128| v128_and(i16x8_ne(v128_and(h, mask), zero), sixteen);
        for (lane, (h, mask)) in lanes.iter_mut().zip([(lo, even), (lo, odd), (hi, even), (hi, odd)]) {
            *lane = v128_or(*lane, bit(h, mask));
        }
    }
    l
}

/// IQ4_NL's (and IQ4_XS's) nibbles looked up in the table as signed bytes, then split into
/// even and odd i16 lanes.
fn iq4_nl_lanes(gb: &[u8]) -> Lanes {
    let table = load(&IQ4NL_VALUES.map(|v| v as u8));
    let (m, even) = (u8x16_splat(0x0F), |x: v128| i16x8_shr(i16x8_shl(x, 8), 8));
    std::array::from_fn(|k| {
        let v = load_at(gb, 16 + 16 * k);
        let (lo, hi) = (i8x16_swizzle(table, v128_and(v, m)), i8x16_swizzle(table, u8x16_shr(v, 4)));
        [even(lo), i16x8_shr(lo, 8), even(hi), i16x8_shr(hi, 8)]
    })
}

fn q8_0_lanes(gb: &[u8]) -> Lanes {
    // Signed bytes to i16 lanes: even bytes by shifting up and back, odd ones down.
    let even = |x: v128| i16x8_shr(i16x8_shl(x, 8), 8);
    std::array::from_fn(|k| {
        let (x0, x1) = (load_at(gb, 16 + 32 * k), load_at(gb, 32 + 32 * k));
        [even(x0), i16x8_shr(x0, 8), even(x1), i16x8_shr(x1, 8)]
    })
}

fn q4_0(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    group_rows(g, [a], QType::Q4_0, 8, q4_0_lanes)[0]
}

fn q4_0_x2(g: &[u8], a: &[Q8Block], b: &[Q8Block]) -> [[f32; 4]; 2] {
    group_rows(g, [a, b], QType::Q4_0, 8, q4_0_lanes)
}

fn q4_1(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    group_rows(g, [a], QType::Q4_1, 0, q4_1_lanes)[0]
}

fn q4_1_x2(g: &[u8], a: &[Q8Block], b: &[Q8Block]) -> [[f32; 4]; 2] {
    group_rows(g, [a, b], QType::Q4_1, 0, q4_1_lanes)
}

fn q5_1(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    group_rows(g, [a], QType::Q5_1, 0, q5_1_lanes)[0]
}

fn q5_1_x2(g: &[u8], a: &[Q8Block], b: &[Q8Block]) -> [[f32; 4]; 2] {
    group_rows(g, [a, b], QType::Q5_1, 0, q5_1_lanes)
}

fn iq4_nl(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    group_rows(g, [a], QType::IQ4NL, 0, iq4_nl_lanes)[0]
}

fn iq4_nl_x2(g: &[u8], a: &[Q8Block], b: &[Q8Block]) -> [[f32; 4]; 2] {
    group_rows(g, [a, b], QType::IQ4NL, 0, iq4_nl_lanes)
}

fn q8_0(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    group_rows(g, [a], QType::Q8_0, 0, q8_0_lanes)[0]
}

fn q8_0_x2(g: &[u8], a: &[Q8Block], b: &[Q8Block]) -> [[f32; 4]; 2] {
    group_rows(g, [a, b], QType::Q8_0, 0, q8_0_lanes)
}

/// The widened activations of one 16-value group starting at `at`: even then odd values.
#[inline(always)]
fn wide16(qs16: &[i16], at: usize) -> (v128, v128) {
    let s: &[i16; 16] = qs16[at..at + 16].try_into().expect("16 lanes");
    // SAFETY: a reference to 32 bytes; wasm loads need no alignment.
    unsafe { (v128_load(s.as_ptr().cast()), v128_load(s[8..].as_ptr().cast())) }
}

/// Even and odd i16 lanes of one group against its widened activations, as i32x4.
#[inline(always)]
fn dot2(even: v128, odd: v128, (ye, yo): (v128, v128)) -> v128 {
    i32x4_add(i32x4_dot_i16x8(even, ye), i32x4_dot_i16x8(odd, yo))
}

/// Q5_K rows (the one K-quant kept in ggml's rows) against `T` activation rows at once: each
/// 16 bytes of weights are read into i16 lanes once and met with every activation row.
#[inline(always)]
fn q5_k_rows<const T: usize>(w: &[u8], acts: [&[Q8KBlock]; T]) -> [f32; T] {
    let (m4, one) = (u16x8_splat(0x000F), u16x8_splat(1));
    let mut sum = [0.0f32; T];
    for (i, blk) in w.chunks_exact(QType::Q5K.block_bytes()).enumerate() {
        let (scales, qs) = (&blk[4..16], &blk[48..176]);
        let (mut sumi, mut mins) = ([i32x4_splat(0); T], [0i32; T]);
        for c in 0..4 {
            let (sc_lo, m_lo) = scale_min_k4(2 * c, scales);
            let (sc_hi, m_hi) = scale_min_k4(2 * c + 1, scales);
            for (t, m) in mins.iter_mut().enumerate() {
                let b = &acts[t][i].bsums;
                *m += i32::from(m_lo) * (i32::from(b[4 * c]) + i32::from(b[4 * c + 1]))
                    + i32::from(m_hi) * (i32::from(b[4 * c + 2]) + i32::from(b[4 * c + 3]));
            }
            let (mut p_lo, mut p_hi) = ([i32x4_splat(0); T], [i32x4_splat(0); T]);
            for h in 0..2 {
                // Each i16 lane holds two bytes: values j, j + 1 (low nibbles) and j + 32,
                // j + 33 (high nibbles) of this 64.
                let v = load_at(qs, 32 * c + 16 * h);
                // The fifth bits of these values, from `qh`, OR-ed in as 16.
                let qh = load_at(blk, 16 + 16 * h);
                let bit = |shift: u32| i16x8_shl(v128_and(u16x8_shr(qh, shift), one), 4);
                let s = 2 * c as u32;
                let le = v128_or(v128_and(v, m4), bit(s));
                let lo = v128_or(v128_and(u16x8_shr(v, 8), m4), bit(s + 8));
                let he = v128_or(v128_and(u16x8_shr(v, 4), m4), bit(s + 1));
                let ho = v128_or(u16x8_shr(v, 12), bit(s + 9));
                for t in 0..T {
                    let q = &acts[t][i].qs16;
                    p_lo[t] = i32x4_add(p_lo[t], dot2(le, lo, wide16(q, 64 * c + 16 * h)));
                    p_hi[t] = i32x4_add(p_hi[t], dot2(he, ho, wide16(q, 64 * c + 32 + 16 * h)));
                }
            }
            for t in 0..T {
                sumi[t] = i32x4_add(sumi[t], i32x4_mul(p_lo[t], i32x4_splat(i32::from(sc_lo))));
                sumi[t] = i32x4_add(sumi[t], i32x4_mul(p_hi[t], i32x4_splat(i32::from(sc_hi))));
            }
        }
        let (d, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
        for t in 0..T {
            let yd = acts[t][i].d;
            sum[t] += d * yd * hsum_i32(sumi[t]) as f32 - dmin * yd * mins[t] as f32;
        }
    }
    sum
}

fn q5_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    q5_k_rows(w, [a])[0]
}

fn q5_k_x2(w: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [f32; 2] {
    q5_k_rows(w, [a, b])
}

#[inline(always)]
fn lanes_f32(v: v128) -> [f32; 4] {
    [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)]
}

/// Grouped Q4_K: four rows against `T` activation rows at once. Per 64 values (two sub-blocks)
/// each row's 32 nibble bytes become i16 lanes, meet the widened activations, and the four
/// rows' sums of each sub-block are gathered into one vector, times the four rows' scales.
#[inline(always)]
fn q4_k_group_rows<const T: usize>(g: &[u8], acts: [&[Q8KBlock]; T]) -> [[f32; 4]; T] {
    let m4 = u16x8_splat(0x000F);
    let mut acc = [f32x4_splat(0.0); T];
    for (i, gb) in g.chunks_exact(group_block_bytes(QType::Q4K)).enumerate() {
        let (mut sumi, mut mins) = ([i32x4_splat(0); T], [i32x4_splat(0); T]);
        for c in 0..4 {
            // Sub-blocks 2c and 2c + 1: their scales and mins, four rows each, as i32 lanes.
            let (sc, m) = (load_at(gb, 32 + 16 * (c / 2)), load_at(gb, 64 + 16 * (c / 2)));
            let (sc, m) = if c % 2 == 0 {
                (u16x8_extend_low_u8x16(sc), u16x8_extend_low_u8x16(m))
            } else {
                (u16x8_extend_high_u8x16(sc), u16x8_extend_high_u8x16(m))
            };
            let (sc_lo, sc_hi) = (u32x4_extend_low_u16x8(sc), u32x4_extend_high_u16x8(sc));
            let (m_lo, m_hi) = (u32x4_extend_low_u16x8(m), u32x4_extend_high_u16x8(m));
            let (mut p_lo, mut p_hi) = ([[i32x4_splat(0); 4]; T], [[i32x4_splat(0); 4]; T]);
            for h in 0..2 {
                let y: [_; T] = std::array::from_fn(|t| {
                    let q = &acts[t][i].qs16;
                    (wide16(q, 64 * c + 16 * h), wide16(q, 64 * c + 32 + 16 * h))
                });
                for k in 0..4 {
                    // Each i16 lane holds two bytes: values j, j + 1 (low nibbles) and j + 32,
                    // j + 33 (high nibbles) of this 64.
                    let v = load_at(gb, K4_QS + 128 * c + 32 * k + 16 * h);
                    let (le, lo) = (v128_and(v, m4), v128_and(u16x8_shr(v, 8), m4));
                    let (he, ho) = (v128_and(u16x8_shr(v, 4), m4), u16x8_shr(v, 12));
                    for t in 0..T {
                        p_lo[t][k] = i32x4_add(p_lo[t][k], dot2(le, lo, y[t].0));
                        p_hi[t][k] = i32x4_add(p_hi[t][k], dot2(he, ho, y[t].1));
                    }
                }
            }
            for t in 0..T {
                let b = &acts[t][i].bsums;
                let (bs_lo, bs_hi) =
                    (i32::from(b[4 * c]) + i32::from(b[4 * c + 1]), i32::from(b[4 * c + 2]) + i32::from(b[4 * c + 3]));
                sumi[t] = i32x4_add(sumi[t], i32x4_mul(four_totals(p_lo[t]), sc_lo));
                sumi[t] = i32x4_add(sumi[t], i32x4_mul(four_totals(p_hi[t]), sc_hi));
                mins[t] = i32x4_add(mins[t], i32x4_mul(m_lo, i32x4_splat(bs_lo)));
                mins[t] = i32x4_add(mins[t], i32x4_mul(m_hi, i32x4_splat(bs_hi)));
            }
        }
        let (d, dmin) = (load_at(gb, 0), load_at(gb, 16));
        for t in 0..T {
            let yd = f32x4_splat(acts[t][i].d);
            let s = f32x4_mul(f32x4_mul(d, yd), f32x4_convert_i32x4(sumi[t]));
            let m = f32x4_mul(f32x4_mul(dmin, yd), f32x4_convert_i32x4(mins[t]));
            acc[t] = f32x4_add(acc[t], f32x4_sub(s, m));
        }
    }
    std::array::from_fn(|t| lanes_f32(acc[t]))
}

fn q4_k_groups(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    q4_k_group_rows(g, [a])[0]
}

fn q4_k_groups_x2(g: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [[f32; 4]; 2] {
    q4_k_group_rows(g, [a, b])
}

/// Grouped Q6_K: four rows against `T` activation rows at once. The values are held as signed
/// bytes; each 16 become even and odd i16 lanes, and each sub-block's four row sums are
/// gathered into one vector times the four rows' scales.
#[inline(always)]
fn q6_k_group_rows<const T: usize>(g: &[u8], acts: [&[Q8KBlock]; T]) -> [[f32; 4]; T] {
    let even = |x: v128| i16x8_shr(i16x8_shl(x, 8), 8);
    let mut acc = [f32x4_splat(0.0); T];
    for (i, gb) in g.chunks_exact(group_block_bytes(QType::Q6K)).enumerate() {
        let mut sumi = [i32x4_splat(0); T];
        for s4 in 0..4 {
            // Scales of sub-blocks 4 * s4 .. 4 * s4 + 3, four rows each.
            let b = load_at(gb, 16 + 16 * s4);
            let (lo, hi) = (i16x8_extend_low_i8x16(b), i16x8_extend_high_i8x16(b));
            let sc = [
                i32x4_extend_low_i16x8(lo),
                i32x4_extend_high_i16x8(lo),
                i32x4_extend_low_i16x8(hi),
                i32x4_extend_high_i16x8(hi),
            ];
            for (j, sc) in sc.into_iter().enumerate() {
                let s = 4 * s4 + j;
                let mut p = [[i32x4_splat(0); 4]; T];
                for r in 0..4 {
                    let x = load_at(gb, K6_Q + 128 * (s / 2) + 32 * r + 16 * (s % 2));
                    let (e, o) = (even(x), i16x8_shr(x, 8));
                    for t in 0..T {
                        p[t][r] = dot2(e, o, wide16(&acts[t][i].qs16, 16 * s));
                    }
                }
                for t in 0..T {
                    sumi[t] = i32x4_add(sumi[t], i32x4_mul(four_totals(p[t]), sc));
                }
            }
        }
        let d = load_at(gb, 0);
        for t in 0..T {
            let v = f32x4_convert_i32x4(sumi[t]);
            acc[t] = f32x4_add(acc[t], f32x4_mul(f32x4_mul(d, f32x4_splat(acts[t][i].d)), v));
        }
    }
    std::array::from_fn(|t| lanes_f32(acc[t]))
}

fn q6_k_groups(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    q6_k_group_rows(g, [a])[0]
}

fn q6_k_groups_x2(g: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [[f32; 4]; 2] {
    q6_k_group_rows(g, [a, b])
}
