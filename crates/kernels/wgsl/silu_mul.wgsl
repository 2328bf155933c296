// out = act(gate) * up, element-wise: SwiGLU (ACT = 0, silu) or GeGLU (ACT = 1, GELU's tanh
// approximation as ggml's CPU computes it: input and output rounded to f16, 0 below -10 and
// the identity above 10).

struct Params {
    n: u32,
}

override ACT: u32 = 0u;

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// Rounds to the nearest f16 (ties to even) without pack2x16float, which naga counts as an
// optional capability: x is divided by its f16 quantum (a power of two, so exactly) and
// rounded. Subnormal f16 values share the quantum 2^-24. |x| stays far below f16's maximum.
fn round_f16(x: f32) -> f32 {
    let e = max(i32((bitcast<u32>(x) >> 23u) & 0xffu) - 127, -14);
    let q = exp2(f32(e - 10));
    return round(x / q) * q;
}

fn gelu(x: f32) -> f32 {
    if (x <= -10.0) {
        return 0.0;
    }
    if (x >= 10.0) {
        return x;
    }
    let v = round_f16(x);
    let z = clamp(0.7978846 * v * (1.0 + 0.044715 * v * v), -10.0, 10.0);
    return round_f16(0.5 * v * (1.0 + tanh(z)));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < p.n) {
        let g = gate[i];
        if (ACT == 1u) {
            out[i] = gelu(g) * up[i];
        } else {
            out[i] = g / (1.0 + exp(-g)) * up[i];
        }
    }
}
