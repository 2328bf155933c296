//! simd128 dot products for wasm32 (compiled in when the build enables `simd128`, which
//! arbitre's wasm builds always do).
//!
//! wasm has no byte multiply-add. For the 32-wide types the activations are widened to i16
//! once per row (`Q8Block::qs16`, even and odd values apart) and the weights' bytes are read
//! straight into i16 lanes by masks and shifts, so every product is one `i32x4.dot_i16x8`
//! lane. The K-quants multiply bytes into i16 lanes (`i16x8.extmul`), summed as far as i16
//! cannot overflow for the type's value range, and widened to i32 by `i32x4.dot_i16x8`,
//! which also applies the sub-block scales.

#![allow(unsafe_code)]

use core::arch::wasm32::*;

use crate::act::{Q8Block, Q8KBlock};
use crate::packed::group_block_bytes;
use crate::reference::{f16_at, scale_min_k4};
use crate::{Dot, QType};

pub(crate) fn dot(ty: QType) -> Option<Dot> {
    Some(match ty {
        QType::Q4_0 => Dot::Group(q4_0, Some(q4_0_x2)),
        // Q5_0 is held widened to Q8_0's layout here (`Q5Storage::Bytes`).
        QType::Q5_0 => return None,
        QType::Q8_0 => Dot::Group(q8_0, Some(q8_0_x2)),
        QType::Q4K => Dot::K(q4_k, Some(q4_k_x2)),
        QType::Q5K => Dot::K(q5_k, Some(q5_k_x2)),
        QType::Q6K => Dot::K(q6_k, Some(q6_k_x2)),
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
/// (8 for Q4_0, 0 for Q8_0) times the activation sum comes off in integers, so
/// each block's sum is exact.
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
        }
    }
    std::array::from_fn(|t| {
        let v = f32x4_add(acc[t][0], acc[t][1]);
        [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)]
    })
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

fn q4_0_lanes(gb: &[u8]) -> Lanes {
    let m = u16x8_splat(0x000F);
    std::array::from_fn(|k| {
        // Each i16 lane holds two bytes: four nibbles, values j, j + 16, j + 1, j + 17.
        let v = load_at(gb, 16 + 16 * k);
        [v128_and(v, m), v128_and(u16x8_shr(v, 8), m), v128_and(u16x8_shr(v, 4), m), u16x8_shr(v, 12)]
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

/// Q4_K (`bits5` false) and Q5_K rows against `T` activation rows at once: each 16 bytes of
/// weights are read into i16 lanes once and met with every activation row.
#[inline(always)]
fn k4_rows<const T: usize>(w: &[u8], acts: [&[Q8KBlock]; T], bits5: bool) -> [f32; T] {
    let bytes = if bits5 { 176 } else { 144 };
    let (m4, one) = (u16x8_splat(0x000F), u16x8_splat(1));
    let mut sum = [0.0f32; T];
    for (i, blk) in w.chunks_exact(bytes).enumerate() {
        let scales = &blk[4..16];
        let qs = if bits5 { &blk[48..176] } else { &blk[16..144] };
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
                let (mut le, mut lo, mut he, mut ho) =
                    (v128_and(v, m4), v128_and(u16x8_shr(v, 8), m4), v128_and(u16x8_shr(v, 4), m4), u16x8_shr(v, 12));
                if bits5 {
                    let qh = load_at(blk, 16 + 16 * h);
                    let bit = |shift: u32| i16x8_shl(v128_and(u16x8_shr(qh, shift), one), 4);
                    let s = 2 * c as u32;
                    le = v128_or(le, bit(s));
                    lo = v128_or(lo, bit(s + 8));
                    he = v128_or(he, bit(s + 1));
                    ho = v128_or(ho, bit(s + 9));
                }
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

fn q4_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    k4_rows(w, [a], false)[0]
}

fn q4_k_x2(w: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [f32; 2] {
    k4_rows(w, [a, b], false)
}

fn q5_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    k4_rows(w, [a], true)[0]
}

fn q5_k_x2(w: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [f32; 2] {
    k4_rows(w, [a, b], true)
}

/// Q6_K rows against `T` activation rows at once, with unsigned 6-bit values in i16 lanes;
/// the offset of 32 comes off through the block sums.
#[inline(always)]
fn q6_k_rows<const T: usize>(w: &[u8], acts: [&[Q8KBlock]; T]) -> [f32; T] {
    let (m4, m3) = (u16x8_splat(0x000F), u16x8_splat(3));
    let mut sum = [0.0f32; T];
    for (i, blk) in w.chunks_exact(210).enumerate() {
        let sc = |g: usize| i32::from(blk[192 + g] as i8);
        let mut sumi = [i32x4_splat(0); T];
        for n in 0..2 {
            for h in 0..2 {
                let l0 = load_at(blk, 64 * n + 16 * h);
                let l1 = load_at(blk, 64 * n + 32 + 16 * h);
                let qh = load_at(blk, 128 + 32 * n + 16 * h);
                let high = |shift: u32| i16x8_shl(v128_and(u16x8_shr(qh, shift), m3), 4);
                // Parts k = 0..3 hold values 32k + 16h + j of this 128; even lanes j = 2i.
                let nib = [
                    (v128_and(l0, m4), v128_and(u16x8_shr(l0, 8), m4)),
                    (v128_and(l1, m4), v128_and(u16x8_shr(l1, 8), m4)),
                    (v128_and(u16x8_shr(l0, 4), m4), u16x8_shr(l0, 12)),
                    (v128_and(u16x8_shr(l1, 4), m4), u16x8_shr(l1, 12)),
                ];
                for (k, (e, o)) in nib.into_iter().enumerate() {
                    let at = 128 * n + 32 * k + 16 * h;
                    let e = v128_or(e, high(2 * k as u32));
                    let o = v128_or(o, high(2 * k as u32 + 8));
                    let scale = i32x4_splat(sc(at / 16));
                    for t in 0..T {
                        let p = dot2(e, o, wide16(&acts[t][i].qs16, at));
                        sumi[t] = i32x4_add(sumi[t], i32x4_mul(p, scale));
                    }
                }
            }
        }
        let d = f16_at(blk, 208);
        for t in 0..T {
            let y = &acts[t][i];
            let offset: i32 = (0..16).map(|g| sc(g) * i32::from(y.bsums[g])).sum();
            sum[t] += d * y.d * (hsum_i32(sumi[t]) - 32 * offset) as f32;
        }
    }
    sum
}

fn q6_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    q6_k_rows(w, [a])[0]
}

fn q6_k_x2(w: &[u8], a: &[Q8KBlock], b: &[Q8KBlock]) -> [f32; 2] {
    q6_k_rows(w, [a, b])
}
