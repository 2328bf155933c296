//! Activations quantized to 8 bits, once per row, with ggml's reference rounding.

use half::f16;

/// 32 activations as ggml's Q8_0 block (scale rounded through f16), plus the sum of the
/// quantized values, which the offset types (Q4_0, Q5_0) subtract.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Q8Block {
    /// Quantized values.
    pub qs: [i8; 32],
    /// Scale (an f16 value).
    pub d: f32,
    /// Sum of `qs`: what an offset of 1 in every weight adds to the block's integer product.
    pub sum: i32,
    /// `qs` widened to i16 for wasm's i16 dot product, each half of 16 as its 8 even-indexed
    /// values then its 8 odd-indexed ones: the order in which i16 lanes read packed bytes.
    #[cfg(target_arch = "wasm32")]
    pub qs16: [i16; 32],
}

/// 256 activations as ggml's Q8_K block: f32 scale and the sums of each 16 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Q8KBlock {
    /// Quantized values.
    pub qs: [i8; 256],
    /// Scale.
    pub d: f32,
    /// Sums of `qs` by 16.
    pub bsums: [i16; 16],
    /// `qs` widened to i16 for wasm, each 16 as 8 even-indexed then 8 odd-indexed values (see
    /// [`Q8Block::qs16`]).
    #[cfg(target_arch = "wasm32")]
    pub qs16: [i16; 256],
}

/// Appends the Q8_0 blocks of `x` (its length a multiple of 32) to `out`, as ggml's
/// `quantize_row_q8_0_ref`: scale `max|x| / 127`, values rounded half away from zero.
pub fn quantize_q8_0(x: &[f32], out: &mut Vec<Q8Block>) {
    for chunk in x.chunks_exact(32) {
        // A compare, as ggml's MAX macro (`f32::max` is a library call in wasm32).
        let amax = chunk.iter().fold(0.0f32, |m, v| if v.abs() > m { v.abs() } else { m });
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0i8; 32];
        let mut sum = 0i32;
        for (q, v) in qs.iter_mut().zip(chunk) {
            *q = round_half_away(v * id) as i8;
            sum += i32::from(*q);
        }
        let d = f16::from_f32(d).to_f32();
        out.push(Q8Block {
            qs,
            d,
            sum,
            #[cfg(target_arch = "wasm32")]
            qs16: widen(&qs),
        });
    }
}

/// `x.round()` (half away from zero, like C's `roundf`) for |x| < 2^23, without the library
/// call that `f32::round` becomes on baseline x86-64 and wasm32.
#[inline]
fn round_half_away(x: f32) -> i32 {
    let t = x as i32;
    // Exact: x and its integer part are within 2^23 of each other.
    let frac = x - t as f32;
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// Appends the Q8_K blocks of `x` (its length a multiple of 256) to `out`, as ggml's
/// `quantize_row_q8_K_ref`: the value of largest magnitude maps to -127, others round to
/// nearest even.
pub fn quantize_q8_k(x: &[f32], out: &mut Vec<Q8KBlock>) {
    for chunk in x.chunks_exact(256) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in chunk {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        let mut block = Q8KBlock {
            qs: [0; 256],
            d: 0.0,
            bsums: [0; 16],
            #[cfg(target_arch = "wasm32")]
            qs16: [0; 256],
        };
        if amax != 0.0 {
            let iscale = -127.0 / max;
            for (q, v) in block.qs.iter_mut().zip(chunk) {
                *q = ((iscale * v).round_ties_even() as i32).min(127) as i8;
            }
            for (s, g) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
                *s = g.iter().map(|&q| i16::from(q)).sum();
            }
            block.d = 1.0 / iscale;
            #[cfg(target_arch = "wasm32")]
            {
                block.qs16 = widen(&block.qs);
            }
        }
        out.push(block);
    }
}

/// Widens to i16, each 16 values reordered as their 8 even-indexed then 8 odd-indexed ones.
#[cfg(target_arch = "wasm32")]
fn widen<const N: usize>(qs: &[i8; N]) -> [i16; N] {
    std::array::from_fn(|i| {
        let (group, k) = (i / 16, i % 16);
        i16::from(qs[16 * group + if k < 8 { 2 * k } else { 2 * (k - 8) + 1 }])
    })
}

#[cfg(test)]
mod tests {
    use super::round_half_away;

    #[test]
    fn rounding_is_roundf() {
        let mut x = -130.0f32;
        while x <= 130.0 {
            for v in
                [x, x + 0.5, x - 0.5, f32::from_bits(x.to_bits() + 1), f32::from_bits(x.to_bits().saturating_sub(1))]
            {
                assert_eq!(round_half_away(v), v.round() as i32, "{v}");
            }
            x += 0.123;
        }
        for v in [0.49999997f32, -0.49999997, 0.5, -0.5, 1.5, -2.5, 126.5, -126.5] {
            assert_eq!(round_half_away(v), v.round() as i32, "{v}");
        }
    }
}
