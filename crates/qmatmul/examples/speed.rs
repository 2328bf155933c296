//! Throughput of one matrix product per type, decode-like (one activation row, a matrix
//! larger than the caches) or prefill-like (`--rows N`). Prints weights/s and GB/s.
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
    println!("kernels: {}, threads: rayon default, activation rows: {n}", simd_name());
    for ty in QType::ALL {
        if let Some(list) = &only {
            if !list.split(',').any(|t| t.eq_ignore_ascii_case(ty.name())) {
                continue;
            }
        }
        let row_bytes = cols / ty.block_elems() * ty.block_bytes();
        let rows = bytes_target / row_bytes;
        let m = QMatrix::new(ty, rows, cols, random_blocks(ty, rows * cols / ty.block_elems(), 1)).expect("matrix");
        let x = random_acts(n * cols, 2);
        let mut y = vec![0.0; n * rows];
        m.matmul(&x, n, &mut y).expect("warm-up");
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            m.matmul(&x, n, &mut y).expect("matmul");
            best = best.min(t.elapsed().as_secs_f64());
        }
        let weights = (rows * cols * n) as f64;
        println!(
            "{:5}  {:7.2} ms  {:6.2} G weight-products/s  {:6.2} GB/s of weights",
            ty.name(),
            best * 1e3,
            weights / best / 1e9,
            m.bytes() as f64 / best / 1e9
        );
    }
}
