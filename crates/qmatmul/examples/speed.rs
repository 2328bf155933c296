//! Throughput of matrix products per type. Decode-like (`--n 1`, the default): one
//! activation row against a matrix larger than the caches. Prefill-like (`--n 64`): 64 rows
//! against 30 matrices of 1536 × 576 in turn (a SmolLM2-135M FFN projection per layer).
//! Prints weight products per second.
//!
//! `cargo run --release -p arbitre-qmatmul --example speed -- [--n N] [--types q4_0,q8_0]`

use std::time::Instant;

use arbitre_qmatmul::testing::{random_acts, random_blocks};
use arbitre_qmatmul::{QMatrix, QType, simd_name};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let n: usize = arg("--n").and_then(|v| v.parse().ok()).unwrap_or(1);
    let only = arg("--types");
    let (cols, bytes_target) = (1536usize, 48usize << 20);
    // A decode-shaped matrix outgrows the caches; prefill-shaped ones are per-layer sized.
    println!("kernels: {}, threads: rayon default, activation rows: {n}", simd_name());
    for ty in QType::ALL {
        if let Some(list) = &only
            && !list.split(',').any(|t| t.eq_ignore_ascii_case(ty.name()))
        {
            continue;
        }
        let (rows, cols, count) = if n == 1 {
            (bytes_target / (cols / ty.block_elems() * ty.block_bytes()), cols, 1)
        } else {
            // 576 is not whole K-quant blocks of 256: those get 512.
            (1536, 576 / ty.block_elems() * ty.block_elems(), 30)
        };
        let ms: Vec<QMatrix> = (0..count)
            .map(|i| {
                QMatrix::new(ty, rows, cols, random_blocks(ty, rows * cols / ty.block_elems(), i as u64))
                    .expect("matrix")
            })
            .collect();
        let x = random_acts(n * cols, 2);
        let mut y = vec![0.0; n * rows];
        let mut best = f64::MAX;
        for _ in 0..8 {
            let t = Instant::now();
            for m in &ms {
                m.matmul(&x, n, &mut y).expect("matmul");
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let weights = (rows * cols * n * count) as f64;
        println!("{:5}  {:7.2} ms  {:6.2} G weight-products/s", ty.name(), best * 1e3, weights / best / 1e9);
    }
}
