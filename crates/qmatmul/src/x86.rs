//! AVX2 dot products (with FMA and F16C, which every AVX2 processor has), chosen at run time.
//!
//! Per block: the weights are unpacked to bytes in a 256-bit register, multiplied with the
//! activation bytes by `vpmaddubsw` (unsigned × signed, pairs summed to i16), widened to i32
//! pairs by `vpmaddwd` (which also applies K-quant sub-block scales), converted to f32 and
//! accumulated with the block's scale. Two accumulators alternate between blocks so
//! consecutive blocks' multiply-adds do not wait on each other.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::act::{Q8Block, Q8KBlock};
use crate::reference::scale_min_k4;
use crate::{Dot, QType};

pub(crate) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
}

pub(crate) fn dot(ty: QType) -> Option<Dot> {
    if !available() {
        return None;
    }
    Some(match ty {
        QType::Q4_0 => Dot::Q8(q4_0),
        QType::Q5_0 => Dot::Q8(q5_0),
        QType::Q8_0 => Dot::Q8(q8_0),
        QType::Q4K => Dot::K(q4_k),
        QType::Q5K => Dot::K(q5_k),
        QType::Q6K => Dot::K(q6_k),
    })
}

// The safe entry points: `dot` hands them out only once `available()` said yes.
macro_rules! entry {
    ($name:ident, $inner:ident, $act:ty) => {
        fn $name(w: &[u8], a: &[$act]) -> f32 {
            debug_assert!(available());
            // SAFETY: only reachable through `dot`, which checked the CPU features; the slice
            // lengths are checked inside.
            unsafe { $inner(w, a) }
        }
    };
}
entry!(q4_0, q4_0_avx2, Q8Block);
entry!(q5_0, q5_0_avx2, Q8Block);
entry!(q8_0, q8_0_avx2, Q8Block);
entry!(q4_k, q4_k_avx2, Q8KBlock);
entry!(q5_k, q5_k_avx2, Q8KBlock);
entry!(q6_k, q6_k_avx2, Q8KBlock);

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

/// Signed × signed bytes, summed to eight f32 lanes (ggml's `mul_sum_i8_pairs_float`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256 {
    let dot = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)))
}

/// 16 bytes of packed nibbles to 32 bytes: low nibbles first, then high.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes at `p`.
    let lo = unsafe { _mm_loadu_si128(p.cast()) };
    let both = _mm256_set_m128i(_mm_srli_epi16(lo, 4), lo);
    _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
}

/// 32 bits to 32 bytes, 0xFF where the bit is set.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bits_to_bytes(bits: u32) -> __m256i {
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0),
    );
    let mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(spread, mask), _mm256_set1_epi64x(-1))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes at `p`.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Shared loop of the 32-value types: `values` unpacks a block's signed values.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_32(w: &[u8], a: &[Q8Block], bytes: usize, values: impl Fn(*const u8) -> __m256i) -> f32 {
    assert!(w.len() >= a.len() * bytes, "weight row shorter than the activations");
    let p = w.as_ptr();
    let mut acc = [_mm256_setzero_ps(); 2];
    for (i, y) in a.iter().enumerate() {
        // SAFETY: block i lies within `w` (asserted above); `y.qs` holds 32 bytes.
        let (b, qy) = unsafe { (p.add(i * bytes), load32(y.qs.as_ptr().cast())) };
        // SAFETY: a block starts with its 2-byte f16 scale.
        let dw = f16_to_f32(u16::from_le_bytes(unsafe { [*b, *b.add(1)] }));
        let q = mul_sum_i8(values(b), qy);
        acc[i & 1] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), q, acc[i & 1]);
    }
    hsum(_mm256_add_ps(acc[0], acc[1]))
}

/// Q4_0 with the nibbles taken unsigned (0..15) by `vpmaddubsw`, so no sign fix-ups; the
/// offset of 8 comes off at the end as 8 × Σ d·(activation sum), from the Q8 blocks.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_0_avx2(w: &[u8], a: &[Q8Block]) -> f32 {
    assert!(w.len() >= a.len() * 18, "weight row shorter than the activations");
    let p = w.as_ptr();
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut offsets = [0.0f32; 4];
    for (i, y) in a.iter().enumerate() {
        // SAFETY: block i (18 bytes: scale, 16 bytes of nibbles) lies within `w`; `y.qs` holds 32 bytes.
        let (b, qx, qy) = unsafe {
            let b = p.add(i * 18);
            (b, nibbles(b.add(2)), load32(y.qs.as_ptr().cast()))
        };
        // SAFETY: a block starts with its 2-byte f16 scale.
        let dw = f16_to_f32(u16::from_le_bytes(unsafe { [*b, *b.add(1)] }));
        let q = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(qx, qy), ones));
        acc[i & 1] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y.d), q, acc[i & 1]);
        offsets[i & 3] += dw * y.dsum;
    }
    hsum(_mm256_add_ps(acc[0], acc[1])) - 8.0 * ((offsets[0] + offsets[1]) + (offsets[2] + offsets[3]))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_avx2(w: &[u8], a: &[Q8Block]) -> f32 {
    let values = |b: *const u8| {
        // SAFETY: each block is 22 bytes: scale, 4 bytes of fifth bits, 16 of nibbles.
        let (qh, lo) = unsafe { ([*b.add(2), *b.add(3), *b.add(4), *b.add(5)], nibbles(b.add(6))) };
        // A clear fifth bit means value - 16: the byte's high nibble set makes it negative.
        let hi = _mm256_andnot_si256(bits_to_bytes(u32::from_le_bytes(qh)), _mm256_set1_epi8(0xF0u8 as i8));
        _mm256_or_si256(lo, hi)
    };
    unsafe { dot_32(w, a, 22, values) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_avx2(w: &[u8], a: &[Q8Block]) -> f32 {
    // SAFETY: each block is 34 bytes: scale then 32 signed bytes.
    let values = |b: *const u8| unsafe { load32(b.add(2)) };
    unsafe { dot_32(w, a, 34, values) }
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
            let (q, y_lo, y_hi) =
                unsafe { (load32(qs[32 * c..].as_ptr()), load32(y.qs[64 * c..].as_ptr().cast()), load32(y.qs[64 * c + 32..].as_ptr().cast())) };
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
        let (d, dmin) = (f16_to_f32(u16::from_le_bytes([blk[0], blk[1]])), f16_to_f32(u16::from_le_bytes([blk[2], blk[3]])));
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
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4)),
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
