//! Seeded random blocks and activations for tests and benchmarks (native and wasm32).

use half::f16;

use crate::QType;

/// Random block bytes (seeded xorshift) with finite, modest f16 scales where the layout keeps them.
pub fn random_blocks(ty: QType, n_blocks: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut data: Vec<u8> = (0..n_blocks * ty.block_bytes()).map(|_| next() as u8).collect();
    let scale = |next: &mut dyn FnMut() -> u64| {
        let v = (next() % 2000) as f32 / 1000.0 * 0.05 + 0.001;
        f16::from_f32(v).to_le_bytes()
    };
    for b in data.chunks_exact_mut(ty.block_bytes()) {
        match ty {
            QType::Q4_0 | QType::Q5_0 | QType::Q8_0 | QType::IQ4NL | QType::IQ4XS => {
                b[0..2].copy_from_slice(&scale(&mut next))
            }
            QType::Q4_1 | QType::Q5_1 | QType::Q4K | QType::Q5K => {
                b[0..2].copy_from_slice(&scale(&mut next));
                b[2..4].copy_from_slice(&scale(&mut next));
            }
            QType::Q2K => {
                b[80..82].copy_from_slice(&scale(&mut next));
                b[82..84].copy_from_slice(&scale(&mut next));
            }
            QType::Q3K => b[108..110].copy_from_slice(&scale(&mut next)),
            QType::Q6K => b[208..210].copy_from_slice(&scale(&mut next)),
        }
    }
    data
}

/// Seeded activations in [-1, 1].
pub fn random_acts(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed as u32 | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 20001) as f32 / 10000.0 - 1.0
        })
        .collect()
}
