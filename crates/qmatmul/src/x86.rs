//! AVX2 dot products (with FMA and F16C, which every AVX2 processor has), chosen at run time.
//!
//! Per block: the weights are unpacked to bytes in a 256-bit register, multiplied with the
//! activation bytes by `vpmaddubsw` (unsigned × signed, pairs summed to i16), widened to i32
//! pairs by `vpmaddwd` (which also applies K-quant sub-block scales), converted to f32 and
//! accumulated with the block's scale. The repacked 32-wide types go four rows at a time
//! (two rows per register for the 4- and 5-bit ones), with two accumulators alternating
//! between blocks so consecutive multiply-adds do not wait on each other. Grouped Q4_K and
//! Q6_K go four rows at a time too, their sub-block sums gathered per four rows by `vphaddd`
//! and multiplied by the four rows' scales at once.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::act::{Q8Block, Q8KBlock};
use crate::packed::{IQ4NL_VALUES, K4_QS, K6_Q, fifth_at, group_block_bytes, nibbles_at};
use crate::reference::scale_min_k4;
use crate::{Dot, QType};

pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
}

/// The kernels for data held as `ty` (`k_groups`: K-quants in groups of four rows).
pub(crate) fn dot(ty: QType, k_groups: bool) -> Option<Dot> {
    if !available() {
        return None;
    }
    Some(match ty {
        QType::Q4K if k_groups => Dot::KGroup(q4_k_groups, None),
        QType::Q6K if k_groups => Dot::KGroup(q6_k_groups, None),
        QType::Q4_0 => Dot::Group(q4_0, None),
        QType::Q4_1 => Dot::Group(q4_1, None),
        QType::Q5_0 => Dot::Group(q5_0, None),
        QType::Q5_1 => Dot::Group(q5_1, None),
        QType::Q8_0 => Dot::Group(q8_0, None),
        QType::IQ4NL => Dot::Group(iq4_nl, None),
        QType::Q4K => Dot::K(q4_k, None),
        QType::Q5K => Dot::K(q5_k, None),
        QType::Q6K => Dot::K(q6_k, None),
        // Never a layout (see `QType::layout`).
        QType::Q2K | QType::Q3K | QType::IQ4XS => return None,
    })
}

// The safe entry points: `dot` hands them out only once `available()` said yes.
macro_rules! entry {
    ($name:ident, $inner:ident, $act:ty, $out:ty) => {
        fn $name(w: &[u8], a: &[$act]) -> $out {
            debug_assert!(available());
            // SAFETY: only reachable through `dot`, which checked the CPU features; the slice
            // lengths are checked inside.
            unsafe { $inner(w, a) }
        }
    };
}
entry!(q4_0, q4_0_avx2, Q8Block, [f32; 4]);
entry!(q4_1, q4_1_avx2, Q8Block, [f32; 4]);
entry!(q5_0, q5_0_avx2, Q8Block, [f32; 4]);
entry!(q5_1, q5_1_avx2, Q8Block, [f32; 4]);
entry!(iq4_nl, iq4_nl_avx2, Q8Block, [f32; 4]);
entry!(q8_0, q8_0_avx2, Q8Block, [f32; 4]);
entry!(q4_k, q4_k_avx2, Q8KBlock, f32);
entry!(q5_k, q5_k_avx2, Q8KBlock, f32);
entry!(q6_k, q6_k_avx2, Q8KBlock, f32);
entry!(q4_k_groups, q4_k_groups_avx2, Q8KBlock, [f32; 4]);
entry!(q6_k_groups, q6_k_groups_avx2, Q8KBlock, [f32; 4]);

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn f16_to_f32(bits: u16) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(bits))))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(x: __m256) -> f32 {
    let r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    let r = _mm_add_ss(r, _mm_movehdup_ps(r));
    _mm_cvtss_f32(r)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_i32(x: __m256i) -> i32 {
    let r = _mm_add_epi32(_mm256_extracti128_si256(x, 1), _mm256_castsi256_si128(x));
    let r = _mm_add_epi32(r, _mm_unpackhi_epi64(r, r));
    let r = _mm_add_epi32(r, _mm_shuffle_epi32(r, 0b01));
    _mm_cvtsi128_si32(r)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes at `p`.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load16(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 16 readable bytes at `p`.
    unsafe { _mm_loadu_si128(p.cast()) }
}

/// Two rows' i32 lane sums (rows 0/1 in `a`'s halves, rows 2/3 in `b`'s) to four row totals.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn four_totals(a: __m256i, b: __m256i) -> __m128i {
    let h = _mm256_hadd_epi32(a, b);
    let h = _mm256_hadd_epi32(h, h);
    _mm_unpacklo_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1))
}

/// Shared loop of the repacked types: `sums` gives the four rows' integer products with the
/// activation block, with values taken unsigned; `offset` (8 for Q4_0, 16 for Q5_0, 0 for
/// the others) times the activation sum comes off in integers, so each block's sum is exact.
/// Q4_1's and Q5_1's mins (after the scales) meet the activations' sum times their scale.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_group(
    g: &[u8],
    a: &[Q8Block],
    ty: QType,
    offset: i32,
    sums: impl Fn(*const u8, &Q8Block) -> __m128i,
) -> [f32; 4] {
    let gbb = group_block_bytes(ty);
    assert!(g.len() >= a.len() * gbb, "weight group shorter than the activations");
    let p = g.as_ptr();
    let mut acc = [_mm_setzero_ps(); 2];
    for (i, y) in a.iter().enumerate() {
        // SAFETY: group-block i lies within `g` (asserted above) and starts with 4 f32 scales.
        let (gb, scales) = unsafe {
            let gb = p.add(i * gbb);
            (gb, _mm_loadu_ps(gb.cast()))
        };
        let s = _mm_cvtepi32_ps(_mm_sub_epi32(sums(gb, y), _mm_set1_epi32(offset * y.sum)));
        acc[i & 1] = _mm_fmadd_ps(_mm_mul_ps(scales, _mm_set1_ps(y.d)), s, acc[i & 1]);
        if ty.has_min() {
            // SAFETY: types with a min hold 4 f32 of them after the scales.
            let mins = unsafe { _mm_loadu_ps(gb.add(16).cast()) };
            acc[i & 1] = _mm_fmadd_ps(mins, _mm_set1_ps(y.d * y.sum as f32), acc[i & 1]);
        }
    }
    let mut out = [0.0f32; 4];
    // SAFETY: `out` holds four f32.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), _mm_add_ps(acc[0], acc[1])) };
    out
}

/// Two rows' 16 nibble bytes (one per 128-bit half) times the activations, unsigned values
/// 0..15 (or 0..31 with `fifth` bits OR-ed in), summed to i32 lanes per row.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn two_rows(q: __m256i, fifth_lo: __m256i, fifth_hi: __m256i, y_lo: __m256i, y_hi: __m256i) -> __m256i {
    let m4 = _mm256_set1_epi8(0x0F);
    let lo = _mm256_or_si256(_mm256_and_si256(q, m4), fifth_lo);
    let hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), fifth_hi);
    let p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, y_lo), _mm256_maddubs_epi16(hi, y_hi));
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn halves(y: &Q8Block) -> (__m256i, __m256i) {
    // SAFETY: `y.qs` holds 32 bytes.
    unsafe {
        (
            _mm256_broadcastsi128_si256(load16(y.qs.as_ptr().cast())),
            _mm256_broadcastsi128_si256(load16(y.qs[16..].as_ptr().cast())),
        )
    }
}

/// Q4_0 and Q4_1: four rows of nibbles, values taken unsigned.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles4(g: &[u8], a: &[Q8Block], ty: QType, offset: i32) -> [f32; 4] {
    let (zero, at) = (_mm256_setzero_si256(), nibbles_at(ty));
    let sums = |gb: *const u8, y: &Q8Block| {
        // SAFETY: the group-block holds 4 × 16 bytes of nibbles at `at`.
        let (r01, r23, (y_lo, y_hi)) = unsafe { (load32(gb.add(at)), load32(gb.add(at + 32)), halves(y)) };
        four_totals(two_rows(r01, zero, zero, y_lo, y_hi), two_rows(r23, zero, zero, y_lo, y_hi))
    };
    unsafe { dot_group(g, a, ty, offset, sums) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_0_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    unsafe { nibbles4(g, a, QType::Q4_0, 8) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    unsafe { nibbles4(g, a, QType::Q4_1, 0) }
}

/// IQ4_NL (and IQ4_XS, held as it): two rows' nibbles per register become the table's signed
/// values by `vpshufb`, met with the activations on absolute values and moved signs.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn iq4_nl_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    // SAFETY: the table is 16 bytes.
    let table = _mm256_broadcastsi128_si256(unsafe { load16(IQ4NL_VALUES.as_ptr().cast()) });
    let (m4, ones) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi16(1));
    // Pairs of products reach 2 × 127 × 127: widened to i32 before they are added.
    let signed = |v: __m256i, y: __m256i| {
        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(y, v)), ones)
    };
    let two = |q: __m256i, y_lo: __m256i, y_hi: __m256i| {
        let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(q, m4));
        let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
        _mm256_add_epi32(signed(lo, y_lo), signed(hi, y_hi))
    };
    let sums = |gb: *const u8, y: &Q8Block| {
        // SAFETY: an IQ4_NL group-block is 16 bytes of scales then 4 × 16 bytes of nibbles.
        let (r01, r23, (y_lo, y_hi)) = unsafe { (load32(gb.add(16)), load32(gb.add(48)), halves(y)) };
        four_totals(two(r01, y_lo, y_hi), two(r23, y_lo, y_hi))
    };
    unsafe { dot_group(g, a, QType::IQ4NL, 0, sums) }
}

/// Fifth bits of two rows (`bits` = row a's u32 | row b's u32 << 32) as 0x10 bytes, laid out
/// like their nibbles: values 0..15 (`high` false) or 16..31.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn fifth_bits(bits: u64, high: bool) -> __m256i {
    let spread = if high {
        _mm256_set_epi64x(0x0707070707070707, 0x0606060606060606, 0x0303030303030303, 0x0202020202020202)
    } else {
        _mm256_set_epi64x(0x0505050505050505, 0x0404040404040404, 0x0101010101010101, 0)
    };
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi64x(bits as i64), spread);
    let set = _mm256_cmpeq_epi8(_mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)), _mm256_set1_epi64x(-1));
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

/// Q5_0 and Q5_1: four rows of nibbles with their fifth bits, values taken unsigned.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn fifths4(g: &[u8], a: &[Q8Block], ty: QType, offset: i32) -> [f32; 4] {
    let (at, qh_at) = (nibbles_at(ty), fifth_at(ty));
    let sums = |gb: *const u8, y: &Q8Block| {
        // SAFETY: the group-block holds 4 × u32 of fifth bits at `qh_at` and 4 × 16 bytes of
        // nibbles at `at`.
        let (bits01, bits23, r01, r23, (y_lo, y_hi)) = unsafe {
            let qh = std::slice::from_raw_parts(gb.add(qh_at), 16);
            (
                u64::from_le_bytes(qh[0..8].try_into().expect("8 bytes")),
                u64::from_le_bytes(qh[8..16].try_into().expect("8 bytes")),
                load32(gb.add(at)),
                load32(gb.add(at + 32)),
                halves(y),
            )
        };
        four_totals(
            two_rows(r01, fifth_bits(bits01, false), fifth_bits(bits01, true), y_lo, y_hi),
            two_rows(r23, fifth_bits(bits23, false), fifth_bits(bits23, true), y_lo, y_hi),
        )
    };
    unsafe { dot_group(g, a, ty, offset, sums) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    unsafe { fifths4(g, a, QType::Q5_0, 16) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_1_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    unsafe { fifths4(g, a, QType::Q5_1, 0) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_avx2(g: &[u8], a: &[Q8Block]) -> [f32; 4] {
    let ones = _mm256_set1_epi16(1);
    let sums = |gb: *const u8, y: &Q8Block| {
        // SAFETY: a Q8_0 group-block is 16 bytes of scales then 4 × 32 signed bytes.
        let qy = unsafe { load32(y.qs.as_ptr().cast()) };
        let row = |k: usize| {
            let x = unsafe { load32(gb.add(16 + 32 * k)) };
            _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(qy, x)), ones)
        };
        row_totals([row(0), row(1), row(2), row(3)])
    };
    unsafe { dot_group(g, a, QType::Q8_0, 0, sums) }
}

/// Q4_K and Q5_K: per 64 values, two sub-blocks whose scales multiply inside `vpmaddwd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_k4(w: &[u8], a: &[Q8KBlock], bits5: bool) -> f32 {
    let bytes = if bits5 { 176 } else { 144 };
    assert!(w.len() >= a.len() * bytes, "weight row shorter than the activations");
    let m4 = _mm256_set1_epi8(0x0F);
    let one = _mm256_set1_epi8(1);
    let mut acc = _mm256_setzero_ps();
    let mut mins_acc = 0.0f32;
    for (i, y) in a.iter().enumerate() {
        let blk = &w[i * bytes..(i + 1) * bytes];
        let scales = &blk[4..16];
        let qs = if bits5 { &blk[48..176] } else { &blk[16..144] };
        let mut mins = 0i32;
        let mut sumi = _mm256_setzero_si256();
        // SAFETY: Q5_K blocks hold 32 bytes of fifth bits at 16..48.
        let qh = if bits5 { unsafe { load32(blk[16..48].as_ptr()) } } else { _mm256_setzero_si256() };
        for c in 0..4 {
            let (sc_lo, m_lo) = scale_min_k4(2 * c, scales);
            let (sc_hi, m_hi) = scale_min_k4(2 * c + 1, scales);
            mins += i32::from(m_lo) * (i32::from(y.bsums[4 * c]) + i32::from(y.bsums[4 * c + 1]))
                + i32::from(m_hi) * (i32::from(y.bsums[4 * c + 2]) + i32::from(y.bsums[4 * c + 3]));
            // SAFETY: 32 bytes of nibbles per 64 values; 64 activation bytes per 64 values.
            let (q, y_lo, y_hi) = unsafe {
                (
                    load32(qs[32 * c..].as_ptr()),
                    load32(y.qs[64 * c..].as_ptr().cast()),
                    load32(y.qs[64 * c + 32..].as_ptr().cast()),
                )
            };
            let mut lo = _mm256_and_si256(q, m4);
            let mut hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if bits5 {
                let b_lo = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c as i32)), one);
                let b_hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c as i32 + 1)), one);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(b_lo, 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(b_hi, 4));
            }
            let p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y_lo), _mm256_set1_epi16(i16::from(sc_lo)));
            let p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y_hi), _mm256_set1_epi16(i16::from(sc_hi)));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p_lo, p_hi));
        }
        let (d, dmin) =
            (f16_to_f32(u16::from_le_bytes([blk[0], blk[1]])), f16_to_f32(u16::from_le_bytes([blk[2], blk[3]])));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(sumi), acc);
        mins_acc += dmin * y.d * mins as f32;
    }
    hsum(acc) - mins_acc
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k_avx2(w: &[u8], a: &[Q8KBlock]) -> f32 {
    unsafe { dot_k4(w, a, false) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_k_avx2(w: &[u8], a: &[Q8KBlock]) -> f32 {
    unsafe { dot_k4(w, a, true) }
}

/// Q6_K: 6-bit values taken unsigned (0..63) by `vpmaddubsw`; the offset of 32 comes off as
/// 32 × Σ scale × (sum of the 16 activations), from the Q8_K block sums.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_avx2(w: &[u8], a: &[Q8KBlock]) -> f32 {
    assert!(w.len() >= a.len() * 210, "weight row shorter than the activations");
    let m4 = _mm256_set1_epi8(0x0F);
    let m3 = _mm256_set1_epi8(3);
    let mut acc = 0.0f32;
    for (i, y) in a.iter().enumerate() {
        let blk = &w[i * 210..(i + 1) * 210];
        let sc: [i16; 16] = std::array::from_fn(|g| i16::from(blk[192 + g] as i8));
        let offset: i32 = (0..16).map(|g| i32::from(sc[g]) * i32::from(y.bsums[g])).sum();
        let mut sumi = _mm256_setzero_si256();
        for n in 0..2 {
            let (ql, qh) = (&blk[64 * n..64 * n + 64], &blk[128 + 32 * n..160 + 32 * n]);
            // SAFETY: 64 bytes of low bits and 32 of high bits per 128 values.
            let (l0, l1, h) = unsafe { (load32(ql.as_ptr()), load32(ql[32..].as_ptr()), load32(qh.as_ptr())) };
            let parts = [
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4)),
                _mm256_or_si256(
                    _mm256_and_si256(l1, m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4),
                ),
            ];
            for (k, q) in parts.into_iter().enumerate() {
                let at = 128 * n + 32 * k;
                let g = at / 16;
                // SAFETY: 32 activation bytes at `at`.
                let qy = unsafe { load32(y.qs[at..].as_ptr().cast()) };
                let scale = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q, qy), scale));
            }
        }
        let total = hsum_i32(sumi) - 32 * offset;
        let d = f16_to_f32(u16::from_le_bytes([blk[208], blk[209]])) * y.d;
        acc += d * total as f32;
    }
    acc
}

/// Four rows' i32x8 sums to their four totals (rows in order).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn row_totals(r: [__m256i; 4]) -> __m128i {
    let h = _mm256_hadd_epi32(_mm256_hadd_epi32(r[0], r[1]), _mm256_hadd_epi32(r[2], r[3]));
    _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1))
}

/// Four u8 at `p` (four rows' scales or mins of one sub-block) as i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn four_u8(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 4 readable bytes at `p`.
    _mm_cvtepu8_epi32(_mm_cvtsi32_si128(i32::from_le_bytes(unsafe { p.cast::<[u8; 4]>().read_unaligned() })))
}

/// Grouped Q4_K (see `packed`), four rows at once: per 64 values each row's 32 nibble bytes
/// meet the activations by `vpmaddubsw`; the four rows' sums of each sub-block are gathered
/// into one vector and multiplied by the four rows' scales, decoded at load.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k_groups_avx2(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    let gbb = group_block_bytes(QType::Q4K);
    assert!(g.len() >= a.len() * gbb, "weight group shorter than the activations");
    let (m4, ones) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi16(1));
    let mut acc = _mm_setzero_ps();
    for (i, y) in a.iter().enumerate() {
        // SAFETY: group-block i lies within `g` (asserted above).
        let gb = unsafe { g.as_ptr().add(i * gbb) };
        let (mut sumi, mut mins) = (_mm_setzero_si128(), _mm_setzero_si128());
        for c in 0..4 {
            // SAFETY: 64 activation bytes per 64 values; 32 nibble bytes per row and 64 values;
            // scales and mins of sub-blocks 2c, 2c + 1 at 32 + 8c and 64 + 8c.
            let (y_lo, y_hi, sc_lo, sc_hi, m_lo, m_hi) = unsafe {
                (
                    load32(y.qs[64 * c..].as_ptr().cast()),
                    load32(y.qs[64 * c + 32..].as_ptr().cast()),
                    four_u8(gb.add(32 + 8 * c)),
                    four_u8(gb.add(36 + 8 * c)),
                    four_u8(gb.add(64 + 8 * c)),
                    four_u8(gb.add(68 + 8 * c)),
                )
            };
            let (mut lo, mut hi) = ([_mm256_setzero_si256(); 4], [_mm256_setzero_si256(); 4]);
            for k in 0..4 {
                // SAFETY: row k's nibbles of these 64 values.
                let q = unsafe { load32(gb.add(K4_QS + 128 * c + 32 * k)) };
                let (l, h) = (_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
                lo[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(l, y_lo), ones);
                hi[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(h, y_hi), ones);
            }
            sumi = _mm_add_epi32(sumi, _mm_mullo_epi32(row_totals(lo), sc_lo));
            sumi = _mm_add_epi32(sumi, _mm_mullo_epi32(row_totals(hi), sc_hi));
            let bs = |s: usize| _mm_set1_epi32(i32::from(y.bsums[2 * s]) + i32::from(y.bsums[2 * s + 1]));
            mins = _mm_add_epi32(mins, _mm_mullo_epi32(m_lo, bs(2 * c)));
            mins = _mm_add_epi32(mins, _mm_mullo_epi32(m_hi, bs(2 * c + 1)));
        }
        // SAFETY: the block starts with 4 f32 d and 4 f32 dmin.
        let (d, dmin) = unsafe { (_mm_loadu_ps(gb.cast()), _mm_loadu_ps(gb.add(16).cast())) };
        let yd = _mm_set1_ps(y.d);
        let s = _mm_mul_ps(_mm_mul_ps(d, yd), _mm_cvtepi32_ps(sumi));
        let m = _mm_mul_ps(_mm_mul_ps(dmin, yd), _mm_cvtepi32_ps(mins));
        acc = _mm_add_ps(acc, _mm_sub_ps(s, m));
    }
    let mut out = [0.0f32; 4];
    // SAFETY: `out` holds four f32.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), acc) };
    out
}

/// Grouped Q6_K, four rows at once, values held as signed bytes (offset removed): per 32
/// values (two sub-blocks of 16) each row meets the activations by `vpmaddubsw` on absolute
/// values and moved signs; one `vphaddd` tree gathers both sub-blocks' four row sums, which
/// meet the eight scales in one multiply.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_groups_avx2(g: &[u8], a: &[Q8KBlock]) -> [f32; 4] {
    let gbb = group_block_bytes(QType::Q6K);
    assert!(g.len() >= a.len() * gbb, "weight group shorter than the activations");
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm_setzero_ps();
    for (i, y) in a.iter().enumerate() {
        // SAFETY: group-block i lies within `g` (asserted above).
        let gb = unsafe { g.as_ptr().add(i * gbb) };
        let mut sumi = _mm256_setzero_si256();
        for j in 0..8 {
            // SAFETY: 32 activation bytes at 32j; scales of sub-blocks 2j, 2j + 1 (four rows
            // each) at 16 + 8j; row k's values at K6_Q + 128j + 32k.
            let (qy, sc) = unsafe {
                (
                    load32(y.qs[32 * j..].as_ptr().cast()),
                    _mm256_cvtepi8_epi32(_mm_loadl_epi64(gb.add(16 + 8 * j).cast())),
                )
            };
            let row = |k: usize| {
                let x = unsafe { load32(gb.add(K6_Q + 128 * j + 32 * k)) };
                _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(qy, x)), ones)
            };
            // Low half: sub-block 2j's four row totals; high half: sub-block 2j + 1's.
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(row(0), row(1)), _mm256_hadd_epi32(row(2), row(3)));
            sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(h, sc));
        }
        let total = _mm_add_epi32(_mm256_castsi256_si128(sumi), _mm256_extracti128_si256(sumi, 1));
        // SAFETY: the block starts with 4 f32 d.
        let d = unsafe { _mm_loadu_ps(gb.cast()) };
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_mul_ps(d, _mm_set1_ps(y.d)), _mm_cvtepi32_ps(total)));
    }
    let mut out = [0.0f32; 4];
    // SAFETY: `out` holds four f32.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), acc) };
    out
}
