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

fn round_f16(x: f32) -> f32 {
    return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x;
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
