// y = W · x for a Q8_0 weight matrix: per block of 32 weights, an f16 scale then 32 signed
// bytes (34 bytes, so blocks are not 4-byte aligned and are read from u32 words by hand).
// Activations stay f32; the f16 scale is decoded with integer ops (no shader-f16 needed).

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const LANES: u32 = 64u;
const BLOCK_BYTES: u32 = 34u;
var<workgroup> partial: array<f32, 64>;

fn byte_at(offset: u32) -> u32 {
    return (w[offset / 4u] >> ((offset % 4u) * 8u)) & 0xffu;
}

fn i8_at(offset: u32) -> f32 {
    let b = byte_at(offset);
    return f32(i32(b) - select(0, 256, b >= 128u));
}

fn scale_at(offset: u32) -> f32 {
    // offset is even: both bytes of the f16 lie in one u32 word.
    let h = (w[offset / 4u] >> ((offset % 4u) * 8u)) & 0xffffu;
    let sign = select(1.0, -1.0, (h & 0x8000u) != 0u);
    let e = (h >> 10u) & 0x1fu;
    let m = f32(h & 0x3ffu);
    if (e == 0u) {
        return sign * m * exp2(-24.0);
    }
    return sign * (1.0 + m / 1024.0) * exp2(f32(e) - 15.0);
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row = wg.x + wg.y * nwg.x;
    let t = lid.x;
    let blocks = p.cols / 32u;
    var sum = 0.0;
    if (row < p.rows) {
        for (var b = t; b < blocks; b += LANES) {
            let base = (row * blocks + b) * BLOCK_BYTES;
            var acc = 0.0;
            for (var i = 0u; i < 32u; i++) {
                acc += i8_at(base + 2u + i) * x[b * 32u + i];
            }
            sum += scale_at(base) * acc;
        }
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            partial[t] += partial[t + s];
        }
        workgroupBarrier();
    }
    if (t == 0u && row < p.rows) {
        y[row] = partial[0];
    }
}
