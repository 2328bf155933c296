// Causal grouped-query attention over an f32 KV cache, for n_q query rows at positions
// pos0 .. pos0 + n_q: query row i attends to cache positions 0..=pos0 + i, or with a sliding
// window w > 0 to the last w of them only. q and out are
// [n_q][n_head][head_dim]; the caches are [n_ctx][n_head_kv][head_dim]; query head h reads
// kv head h / (n_head / n_head_kv). One workgroup per (query row, head), rows past 65535
// wrapping onto the y dimension. The 64 lanes walk the positions 64 at a time with an
// online softmax (running max and sum, rescaling the accumulators), so nothing grows with
// the context: each lane scores one position per step, then owns head dimensions
// t, t + 64, t + 128, t + 192 of the output (head_dim <= 256).

struct Params {
    n_q: u32,
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    pos0: u32,
    scale: f32,
    window: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const LANES: u32 = 64u;
const LOWEST: f32 = -3.4028234663852886e38;
var<workgroup> qv: array<f32, 256>;
var<workgroup> scores: array<f32, 64>;
var<workgroup> probs: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let idx = wg.x + wg.y * nwg.x;
    if (idx >= p.n_q * p.n_head) {
        return;
    }
    let t = lid.x;
    let hd = p.head_dim;
    let h = idx % p.n_head;
    let kvh = h / (p.n_head / p.n_head_kv);
    let last = p.pos0 + idx / p.n_head;
    let kv_stride = p.n_head_kv * hd;
    for (var d = t; d < hd; d += LANES) {
        qv[d] = q[idx * hd + d];
    }
    workgroupBarrier();

    var m = LOWEST;
    var l = 0.0;
    var acc = vec4<f32>(0.0);
    var first = 0u;
    if (p.window > 0u && last + 1u > p.window) {
        first = last + 1u - p.window;
    }
    for (var c0 = first; c0 <= last; c0 += LANES) {
        let j = c0 + t;
        var s = LOWEST;
        if (j <= last) {
            let kb = j * kv_stride + kvh * hd;
            var dot = 0.0;
            for (var d = 0u; d < hd; d++) {
                dot += qv[d] * k_cache[kb + d];
            }
            s = dot * p.scale;
        }
        scores[t] = s;
        workgroupBarrier();
        var mx = m;
        for (var i = 0u; i < LANES; i++) {
            mx = max(mx, scores[i]);
        }
        var pr = 0.0;
        if (j <= last) {
            pr = exp(s - mx);
        }
        probs[t] = pr;
        workgroupBarrier();
        let alpha = exp(m - mx);
        var psum = 0.0;
        var pv = vec4<f32>(0.0);
        let n = min(LANES, last + 1u - c0);
        for (var i = 0u; i < n; i++) {
            let pi = probs[i];
            psum += pi;
            let vb = (c0 + i) * kv_stride + kvh * hd;
            for (var r = 0u; r < 4u; r++) {
                let d = t + r * LANES;
                if (d < hd) {
                    pv[r] += pi * v_cache[vb + d];
                }
            }
        }
        l = l * alpha + psum;
        acc = acc * alpha + pv;
        m = mx;
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let d = t + r * LANES;
        if (d < hd) {
            out[idx * hd + d] = acc[r] / l;
        }
    }
}
