// Weight decoding shared by matvec, matmul and get_rows: their sources are this file followed
// by the op's own file. The weights are raw GGUF bytes bound as u32 words at binding 0;
// `WTYPE` (a pipeline override, the ggml type id) picks the layout:
//   0 F32, 1 F16, 2 Q4_0 (18-byte blocks of 32), 6 Q5_0 (22-byte blocks of 32),
//   8 Q8_0 (34-byte blocks of 32),
//   12 Q4_K (144-byte super-blocks of 256), 13 Q5_K (176), 14 Q6_K (210).
// Every f16 is decoded with integer ops (no shader-f16) and every product is f32, in the
// order ggml's dequantize_row_* uses.

override WTYPE: u32 = 0u;

@group(0) @binding(0) var<storage, read> w: array<u32>;

fn byte_at(off: u32) -> u32 {
    return (w[off >> 2u] >> ((off & 3u) * 8u)) & 0xffu;
}

// The f16 at an even byte offset (both bytes lie in one word), exactly, by assembling the
// f32 bit pattern; subnormals are m * 2^-24.
fn f16_at(off: u32) -> f32 {
    let h = (w[off >> 2u] >> ((off & 3u) * 8u)) & 0xffffu;
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn block_elems() -> u32 {
    if (WTYPE <= 1u) {
        return 1u;
    }
    if (WTYPE <= 8u) {
        return 32u;
    }
    return 256u;
}

fn block_bytes() -> u32 {
    switch WTYPE {
        case 0u: { return 4u; }
        case 1u: { return 2u; }
        case 2u: { return 18u; }
        case 6u: { return 22u; }
        case 8u: { return 34u; }
        case 12u: { return 144u; }
        case 13u: { return 176u; }
        default: { return 210u; }
    }
}

// Bytes of one row of `cols` weights.
fn row_bytes(cols: u32) -> u32 {
    return cols / block_elems() * block_bytes();
}

// ggml's get_scale_min_k4: (scale, min) of sub-block j from the 12 bytes at `sb`.
fn scale_min_k4(sb: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(byte_at(sb + j) & 63u), f32(byte_at(sb + j + 4u) & 63u));
    }
    let a = byte_at(sb + j + 4u);
    let lo = byte_at(sb + j - 4u);
    let hi = byte_at(sb + j);
    return vec2<f32>(f32((a & 0xfu) | ((lo >> 6u) << 4u)), f32((a >> 4u) | ((hi >> 6u) << 4u)));
}

// The weights [32c, 32c + 32) of the row that starts at byte `base`; zeros past `cols`
// (only F32 and F16 rows may end inside a chunk).
fn chunk(base: u32, c: u32, cols: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    if (WTYPE == 0u) {
        for (var i = 0u; i < 32u; i++) {
            let k = c * 32u + i;
            if (k < cols) {
                out[i] = bitcast<f32>(w[(base >> 2u) + k]);
            }
        }
    } else if (WTYPE == 1u) {
        for (var i = 0u; i < 32u; i++) {
            let k = c * 32u + i;
            if (k < cols) {
                out[i] = f16_at(base + 2u * k);
            }
        }
    } else if (WTYPE == 2u) {
        let bb = base + c * 18u;
        let d = f16_at(bb);
        for (var j = 0u; j < 16u; j++) {
            let q = byte_at(bb + 2u + j);
            out[j] = f32(i32(q & 0xfu) - 8) * d;
            out[j + 16u] = f32(i32(q >> 4u) - 8) * d;
        }
    } else if (WTYPE == 6u) {
        // Q5_0: the fifth bit of weight j is bit j of the 32-bit qh (bytes 2..6, unaligned).
        let bb = base + c * 22u;
        let d = f16_at(bb);
        let qh = byte_at(bb + 2u) | (byte_at(bb + 3u) << 8u) | (byte_at(bb + 4u) << 16u) | (byte_at(bb + 5u) << 24u);
        for (var j = 0u; j < 16u; j++) {
            let q = byte_at(bb + 6u + j);
            let x0 = (q & 0xfu) | (((qh >> j) << 4u) & 0x10u);
            let x1 = (q >> 4u) | ((qh >> (j + 12u)) & 0x10u);
            out[j] = f32(i32(x0) - 16) * d;
            out[j + 16u] = f32(i32(x1) - 16) * d;
        }
    } else if (WTYPE == 8u) {
        let bb = base + c * 34u;
        let d = f16_at(bb);
        for (var i = 0u; i < 32u; i++) {
            let q = byte_at(bb + 2u + i);
            out[i] = f32(i32(q) - select(0, 256, q >= 128u)) * d;
        }
    } else if (WTYPE == 12u || WTYPE == 13u) {
        // Sub-block s of super-block c / 8: nibbles of the 32 bytes of group s / 2, low for even
        // s, high for odd; Q5_K adds bit s of qh[l] as 16.
        let s = c % 8u;
        let bb = base + (c / 8u) * block_bytes();
        let d = f16_at(bb);
        let dmin = f16_at(bb + 2u);
        let sm = scale_min_k4(bb + 4u, s);
        let d1 = d * sm.x;
        let m1 = dmin * sm.y;
        var qs = bb + 16u;
        if (WTYPE == 13u) {
            qs = bb + 48u;
        }
        let q0 = qs + 32u * (s / 2u);
        let shift = 4u * (s & 1u);
        for (var l = 0u; l < 32u; l++) {
            var q = (byte_at(q0 + l) >> shift) & 0xfu;
            if (WTYPE == 13u) {
                q += ((byte_at(bb + 16u + l) >> s) & 1u) * 16u;
            }
            out[l] = d1 * f32(q) - m1;
        }
    } else {
        // Q6_K: sub-block s = 4n + r of super-block c / 8 holds y[128n + 32r + l]: the low
        // nibble (r < 2) or high nibble of ql[64n + 32(r & 1) + l], bits 2r..2r+2 of
        // qh[32n + l], scale sc[8n + l / 16 + 2r].
        let s = c % 8u;
        let n = s / 4u;
        let r = s % 4u;
        let bb = base + (c / 8u) * 210u;
        let d = f16_at(bb + 208u);
        let ql = bb + 64u * n + 32u * (r & 1u);
        let qh = bb + 128u + 32u * n;
        let shift = 4u * (r / 2u);
        for (var l = 0u; l < 32u; l++) {
            let lo = (byte_at(ql + l) >> shift) & 0xfu;
            let hi = (byte_at(qh + l) >> (2u * r)) & 3u;
            let sb = byte_at(bb + 192u + 8u * n + l / 16u + 2u * r);
            let sc = f32(i32(sb) - select(0, 256, sb >= 128u));
            out[l] = d * sc * f32(i32(lo | (hi << 4u)) - 32);
        }
    }
    return out;
}
