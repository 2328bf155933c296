// Rotary position embedding over rows of `n_head` heads. The caller computes the (cos, sin)
// of every (row, pair) on the CPU, as ggml does: WGSL's sin/cos are only specified to 2^-11
// inside [-pi, pi], and positions reach thousands of radians. `neox` pairs (i, i + n_rot/2)
// instead of (2i, 2i + 1).

struct Params {
    rows: u32,
    n_head: u32,
    head_dim: u32,
    n_rot: u32,
    neox: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cos_sin: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    // One invocation per (row, head).
    let idx = gid.x;
    if (idx >= p.rows * p.n_head) {
        return;
    }
    let row = idx / p.n_head;
    let base = idx * p.head_dim;
    for (var d = 0u; d < p.head_dim; d++) {
        y[base + d] = x[base + d];
    }
    let half = p.n_rot / 2u;
    for (var i = 0u; i < half; i++) {
        let c = cos_sin[(row * half + i) * 2u];
        let s = cos_sin[(row * half + i) * 2u + 1u];
        var a = 2u * i;
        var b = 2u * i + 1u;
        if (p.neox != 0u) {
            a = i;
            b = i + half;
        }
        let x0 = x[base + a];
        let x1 = x[base + b];
        y[base + a] = x0 * c - x1 * s;
        y[base + b] = x0 * s + x1 * c;
    }
}
