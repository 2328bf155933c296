//! Ops chained on GPU-resident buffers in one submit give exactly what the same ops give one
//! at a time through host slices, weights split by rows included.

use arbitre_kernels::graph::{GpuTensor, GpuWeights, Recorder};
use arbitre_kernels::ops::attention::{self, AttentionShape, KvCache};
use arbitre_kernels::ops::elementwise::{self, RopeShape};
use arbitre_kernels::ops::{get_rows, matmul, matvec, rms_norm};
use arbitre_kernels::{GpuContext, WeightType};

fn ctx() -> GpuContext {
    static CTX: std::sync::OnceLock<GpuContext> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        GpuContext::new_blocking().unwrap_or_else(|e| {
            panic!("{e}: install a Vulkan driver (Debian: mesa-vulkan-drivers) to run the GPU tests")
        })
    })
    .clone()
}

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Valid blocks of `ty`: f16 scales kept small and finite, everything else random.
fn weights(ty: WeightType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let v = values(rows * cols, seed);
    match ty {
        WeightType::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        WeightType::Q8_0 => v
            .chunks_exact(32)
            .flat_map(|b| {
                let mut blk = vec![0x00, 0x20]; // f16 0.0078125
                blk.extend(b.iter().map(|x| (x * 127.0) as i8 as u8));
                blk
            })
            .collect(),
        WeightType::Q4_0 => v
            .chunks_exact(32)
            .flat_map(|b| {
                let mut blk = vec![0x00, 0x2c]; // f16 0.0625
                blk.extend(
                    (0..16).map(|j| (((b[j] + 1.0) * 7.9) as u8 & 15) | ((((b[j + 16] + 1.0) * 7.9) as u8 & 15) << 4)),
                );
                blk
            })
            .collect(),
        _ => unreachable!("only F32, Q8_0, Q4_0 here"),
    }
}

const VOCAB: usize = 300;
const D: usize = 64;
const FF: usize = 96;
const HEADS: usize = 4;
const HD: usize = D / HEADS;

struct Model {
    table: Vec<u8>,
    g: Vec<f32>,
    w_up: Vec<u8>,
    w_down: Vec<u8>,
}

fn model() -> Model {
    Model {
        table: weights(WeightType::Q4_0, VOCAB, D, 1),
        g: values(D, 2),
        w_up: weights(WeightType::Q8_0, FF, D, 3),
        w_down: weights(WeightType::F32, D, FF, 4),
    }
}

fn rope_table(rows: usize, pos: usize) -> Vec<f32> {
    (0..rows)
        .flat_map(|r| {
            (0..HD / 2).flat_map(move |i| {
                let theta = (pos + r) as f32 * 10000f32.powf(-2.0 * i as f32 / HD as f32);
                [theta.cos(), theta.sin()]
            })
        })
        .collect()
}

fn rope_shape(rows: usize) -> RopeShape {
    RopeShape { rows, n_head: HEADS, head_dim: HD, n_rot: HD, neox: false }
}

/// One block (embed, norm, up, silu, down, residual, rope, cache, attention, logits of the last
/// row) op by op through host slices.
fn per_op(c: &GpuContext, m: &Model, cache: &KvCache, ids: &[u32], pos: usize) -> Vec<f32> {
    let n = ids.len();
    let x = get_rows::get_rows(c, WeightType::Q4_0, &m.table, VOCAB, D, ids).expect("get_rows");
    let h = rms_norm::rms_norm(c, &x, &m.g, n, D, 1e-5).expect("rms_norm");
    // The recorder picks matvec for one row and the tiled matmul for more, as here.
    let lin = |ty, w: &[u8], x: &[f32], rows, cols| {
        if n == 1 { matvec::matvec(c, ty, w, x, rows, cols) } else { matmul::matmul(c, ty, w, x, n, rows, cols) }
    };
    let up = lin(WeightType::Q8_0, &m.w_up, &h, FF, D).expect("up");
    let act = elementwise::silu_mul(c, &up, &up).expect("silu");
    let down = lin(WeightType::F32, &m.w_down, &act, D, FF).expect("down");
    let r = elementwise::add(c, &x, &down).expect("add");
    let q = elementwise::rope(c, &r, &rope_table(n, pos), rope_shape(n)).expect("rope");
    cache.write(c, pos, &q, &r).expect("kv write");
    let s = AttentionShape { n_q: n, n_head: HEADS, pos0: pos, scale: 0.25, window: 0 };
    let att = attention::attention(c, &q, cache, s).expect("attention");
    let last = &att[(n - 1) * D..];
    matvec::matvec(c, WeightType::Q4_0, &m.table, last, VOCAB, D).expect("logits")
}

/// The same block recorded on GPU-resident tensors and read back once.
fn chained(
    c: &GpuContext,
    rec: &mut Recorder,
    w: &[GpuWeights; 3],
    g: &GpuTensor,
    cache: &KvCache,
    ids: &[u32],
    pos: usize,
) -> Vec<f32> {
    let n = ids.len();
    let t = |cols| GpuTensor::zeros(c, n, cols).expect("tensor");
    let (x, h, up, act, down, r, q, att) = (t(D), t(D), t(FF), t(FF), t(D), t(D), t(D), t(D));
    let last = GpuTensor::zeros(c, 1, D).expect("tensor");
    let logits = GpuTensor::zeros(c, 1, VOCAB).expect("tensor");
    rec.get_rows(c, &w[0], ids, &x).expect("get_rows");
    rec.rms_norm(c, &x, g, 1e-5, &h).expect("rms_norm");
    rec.linear(c, &w[1], &h, &up).expect("up");
    rec.silu_mul(c, &up, &up, &act).expect("silu");
    rec.linear(c, &w[2], &act, &down).expect("down");
    rec.add(c, &x, &down, &r).expect("add");
    rec.rope(c, &r, &rope_table(n, pos), rope_shape(n), &q).expect("rope");
    rec.kv_write(c, cache, pos, &q, &r).expect("kv write");
    let s = AttentionShape { n_q: n, n_head: HEADS, pos0: pos, scale: 0.25, window: 0 };
    rec.attention(c, &q, cache, s, &att).expect("attention");
    rec.copy_rows(&att, n - 1, &last, 0, 1).expect("last row");
    rec.linear(c, &w[0], &last, &logits).expect("logits");
    rec.read(c, &logits).expect("read")
}

/// The model's weights, in parts of `part_rows` rows when given.
fn upload(c: &GpuContext, m: &Model, part_rows: Option<usize>) -> [GpuWeights; 3] {
    let up = |ty: WeightType, b: &[u8], rows, cols| match part_rows {
        Some(p) => {
            let limit = (ty.row_bytes(cols).expect("whole blocks") * p) as u64;
            GpuWeights::upload_with_limit(c, ty, b, rows, cols, limit).expect("weights")
        }
        None => GpuWeights::upload(c, ty, b, rows, cols).expect("weights"),
    };
    [
        up(WeightType::Q4_0, &m.table, VOCAB, D),
        up(WeightType::Q8_0, &m.w_up, FF, D),
        up(WeightType::F32, &m.w_down, D, FF),
    ]
}

#[test]
fn a_chained_block_equals_the_ops_one_by_one() {
    let c = ctx();
    let m = model();
    let g = GpuTensor::upload(&c, &m.g, 1, D).expect("g");
    // Whole weights, and weights split into parts of 64 rows (a multiple of any storage
    // offset alignment up to 256 bytes).
    for limit in [None, Some(64)] {
        let w = upload(&c, &m, limit);
        if limit.is_some() {
            assert_eq!((w[0].parts(), w[1].parts(), w[2].parts()), (5, 2, 1));
        }
        let (cache_a, cache_b) =
            (KvCache::new(&c, 16, HEADS, HD).expect("cache"), KvCache::new(&c, 16, HEADS, HD).expect("cache"));
        let mut rec = Recorder::new();
        // A prefill of 5 tokens (matmul kernels), then two decode steps (matvec kernels).
        let mut pos = 0;
        for ids in [&[1u32, 299, 7, 64, 200][..], &[128], &[3]] {
            let want = per_op(&c, &m, &cache_a, ids, pos);
            let got = chained(&c, &mut rec, &w, &g, &cache_b, ids, pos);
            assert_eq!(got, want, "limit {limit:?}, position {pos}");
            pos += ids.len();
        }
        assert_eq!(cache_a.read(&c).expect("read"), cache_b.read(&c).expect("read"));
        assert_eq!(rec.stats().submits, 3, "one submit per step");
    }
}

#[test]
fn repeated_steps_allocate_nothing_and_async_reads_agree() {
    let c = ctx();
    let m = model();
    let g = GpuTensor::upload(&c, &m.g, 1, D).expect("g");
    let w = upload(&c, &m, None);
    let cache = KvCache::new(&c, 16, HEADS, HD).expect("cache");
    let mut rec = Recorder::new();
    let first = chained(&c, &mut rec, &w, &g, &cache, &[5], 0);
    let created = rec.stats().buffers_created;
    let again = chained(&c, &mut rec, &w, &g, &cache, &[5], 0);
    assert_eq!(first, again);
    assert_eq!(rec.stats().buffers_created, created, "the recorder's arenas are reused");

    let x = GpuTensor::upload(&c, &values(D, 9), 1, D).expect("x");
    let y = GpuTensor::zeros(&c, 1, VOCAB).expect("y");
    rec.linear(&c, &w[0], &x, &y).expect("linear");
    let future = rec.read_async(&c, &y).expect("read");
    let got = pollster::block_on(future).expect("async read");
    let want = matvec::matvec(&c, WeightType::Q4_0, &m.table, &values(D, 9), VOCAB, D).expect("matvec");
    assert_eq!(got, want);

    // The same dispatch in a later submit reuses its bind group.
    let groups = rec.stats().bind_groups_created;
    rec.linear(&c, &w[0], &x, &y).expect("linear");
    assert_eq!(rec.read(&c, &y).expect("read"), want);
    assert_eq!(rec.stats().bind_groups_created, groups, "the same dispatch reuses its bind group");
}

#[test]
fn bias_rows_and_shape_errors() {
    let c = ctx();
    let mut rec = Recorder::new();
    let a = GpuTensor::upload(&c, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).expect("a");
    let b = GpuTensor::upload(&c, &[10.0, 20.0, 30.0], 1, 3).expect("b");
    let out = GpuTensor::zeros(&c, 2, 3).expect("out");
    rec.add(&c, &a, &b, &out).expect("bias");
    assert_eq!(rec.read(&c, &out).expect("read"), [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    let wrong = GpuTensor::zeros(&c, 1, 2).expect("wrong");
    assert!(rec.add(&c, &a, &wrong, &out).is_err());
    assert!(rec.silu_mul(&c, &a, &wrong, &out).is_err());
    let idx = GpuTensor::zeros(&c, 1, 1).expect("idx");
    rec.argmax(&c, &a, &idx).expect("argmax");
    let bits = rec.read(&c, &idx).expect("read")[0].to_bits();
    assert_eq!(bits, 5);
    assert_eq!(rec.pending(), 0);
}

#[test]
fn weights_written_in_odd_pieces_equal_one_upload() {
    let c = ctx();
    // 18-byte rows (one Q4_0 block): parts of 64 rows, the last of 45 rows ends mid-word.
    let (rows, cols) = (301, 32);
    let bytes = weights(WeightType::Q4_0, rows, cols, 11);
    let limit = 18 * 64;
    let whole = GpuWeights::upload_with_limit(&c, WeightType::Q4_0, &bytes, rows, cols, limit).expect("whole");
    let mut up = GpuWeights::begin(&c, WeightType::Q4_0, rows, cols, limit).expect("begin");
    assert_eq!(up.expected_bytes(), bytes.len());
    let mut rest = &bytes[..];
    for size in [1, 2, 3, 5, 7, 1000, 4, 1].into_iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        up.write(&c, piece).expect("write");
        rest = tail;
    }
    assert!(up.write(&c, &[0]).is_err(), "a byte past the end is refused");
    let streamed = up.finish().expect("finish");
    assert_eq!((streamed.parts(), whole.parts()), (5, 5));

    let x = GpuTensor::upload(&c, &values(cols, 3), 1, cols).expect("x");
    let (a, b) = (GpuTensor::zeros(&c, 1, rows).expect("a"), GpuTensor::zeros(&c, 1, rows).expect("b"));
    let mut rec = Recorder::new();
    rec.linear(&c, &whole, &x, &a).expect("linear");
    rec.linear(&c, &streamed, &x, &b).expect("linear");
    let (a, b) = (rec.read(&c, &a).expect("read"), rec.read(&c, &b).expect("read"));
    assert_eq!(a, b);
    assert!(a.iter().any(|v| *v != 0.0));

    let mut short = GpuWeights::begin(&c, WeightType::Q4_0, rows, cols, limit).expect("begin");
    short.write(&c, &bytes[..100]).expect("write");
    let e = short.finish().expect_err("a matrix missing bytes is refused").to_string();
    assert!(e.contains("100 bytes"), "{e}");
}

#[test]
fn grouped_rms_norm_gelu_and_scale_on_the_recorder() {
    let c = ctx();
    let mut rec = Recorder::new();
    // Three rows of four heads of 16: a norm weight of 16 normalizes each head apart, as the
    // one-shot op does over rows of 16.
    let (rows, heads, hd) = (3, 4, 16);
    let xv = values(rows * heads * hd, 21);
    let gv = values(hd, 22);
    let x = GpuTensor::upload(&c, &xv, rows, heads * hd).expect("x");
    let g = GpuTensor::upload(&c, &gv, 1, hd).expect("g");
    let out = GpuTensor::zeros(&c, rows, heads * hd).expect("out");
    rec.rms_norm(&c, &x, &g, 1e-6, &out).expect("grouped rms_norm");
    let want = rms_norm::rms_norm(&c, &xv, &gv, rows * heads, hd, 1e-6).expect("per head");
    assert_eq!(rec.read(&c, &out).expect("read"), want);
    let odd = GpuTensor::upload(&c, &values(5, 23), 1, 5).expect("odd");
    assert!(rec.rms_norm(&c, &x, &odd, 1e-6, &out).is_err(), "5 does not divide 64");

    rec.gelu_mul(&c, &x, &x, &out).expect("gelu");
    assert_eq!(rec.read(&c, &out).expect("read"), elementwise::gelu_mul(&c, &xv, &xv).expect("gelu"));
    rec.scale(&c, &x, 25.3, &out).expect("scale");
    assert_eq!(rec.read(&c, &out).expect("read"), xv.iter().map(|v| v * 25.3).collect::<Vec<_>>());
}
