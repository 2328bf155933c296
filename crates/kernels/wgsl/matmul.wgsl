// Y = X · Wᵀ for prompt prefill: X is [m tokens × k] f32, W is n rows of k weights of any
// WTYPE (see dequant.wgsl, which this file follows), Y is [m × n]. Each workgroup computes a
// 32 × 32 tile of Y; per 32-wide step of k, lanes 0..31 decode one weight row chunk each into
// shared memory while all 64 lanes stage the activations, then every lane accumulates a
// 4 × 4 block in registers, summing over k in order.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Stride between rows of Y (n, or the full width when W is one part of a split matrix
    // and Y is bound at that part's first column).
    ldy: u32,
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TILE: u32 = 32u;
var<workgroup> xs: array<f32, 1024>; // [token][k] of the tile
var<workgroup> ws: array<f32, 1024>; // [weight row][k] of the tile

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    let n0 = wg.x * TILE;
    let m0 = wg.y * TILE;
    let tn = (t % 8u) * 4u;
    let tm = (t / 8u) * 4u;
    let rb = row_bytes(p.k);
    let steps = (p.k + TILE - 1u) / TILE;
    var acc: array<f32, 16>;
    for (var kc = 0u; kc < steps; kc++) {
        if (t < TILE) {
            var v: array<f32, 32>;
            let n = n0 + t;
            if (n < p.n) {
                v = chunk(n * rb, kc, p.k);
            }
            for (var i = 0u; i < TILE; i++) {
                ws[t * TILE + i] = v[i];
            }
        }
        for (var r = 0u; r < 16u; r++) {
            let idx = t + 64u * r;
            let mi = m0 + idx / TILE;
            let ki = kc * TILE + idx % TILE;
            var v = 0.0;
            if (mi < p.m && ki < p.k) {
                v = x[mi * p.k + ki];
            }
            xs[idx] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = xs[(tm + i) * TILE + kk];
                b[i] = ws[(tn + i) * TILE + kk];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] += a[i] * b[j];
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            let mi = m0 + tm + i;
            let ni = n0 + tn + j;
            if (mi < p.m && ni < p.n) {
                y[mi * p.ldy + ni] = acc[i * 4u + j];
            }
        }
    }
}
