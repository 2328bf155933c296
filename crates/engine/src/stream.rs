//! Loading a GGUF file as its bytes arrive ([`StreamingLoader`]), so that a model can go from
//! a download (or the browser's cache, or a local file) to its backend without the file ever
//! being whole in memory.
//!
//! The header is gathered first (metadata, tokenizer, tensor index; a few MB at most). Then
//! each tensor is handed to the backend as its bytes go by, in file order: weight matrices
//! piece by piece through [`Backend::begin_matrix`] (the WebGPU backend writes each piece into
//! its GPU buffer), fused ones split by rows on the way; norm vectors and biases, which are
//! small, are gathered and uploaded whole. Host memory then holds the header, the small
//! tensors and whatever the backend keeps, never the largest tensor.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use arbitre_gguf::{GgmlType, GgufError, GgufHeader, TensorInfo};
use arbitre_tokenizer::Tokenizer;

use crate::Engine;
use crate::backend::{Backend, MatrixUpload};
use crate::config::ModelConfig;
use crate::error::{EngineError, Result};
use crate::model::{Model, ROPE_FACTOR_TENSORS, Weights, config_of};
use crate::weights::RawTensor;

/// Largest header the loader gathers before giving up (real ones take a few MB, mostly the
/// vocabulary): a corrupt count cannot make it hold the whole file.
pub const MAX_HEADER_BYTES: usize = 64 << 20;

/// What becomes of one tensor of the file.
#[derive(Clone, Debug, PartialEq)]
enum Plan {
    /// A weight matrix, uploaded piece by piece.
    Matrix,
    /// A fused matrix uploaded as consecutive blocks of these many rows.
    Split(Vec<usize>),
    /// A vector (norm weights, biases), gathered then uploaded.
    Vector,
    /// Kept on the host (RoPE factors).
    Host,
    /// Not used by the graph.
    Skip,
}

/// Where each tensor goes, from its name and the file's other tensors.
fn plan(t: &TensorInfo, header: &GgufHeader, c: &ModelConfig) -> Plan {
    let name = t.name.as_str();
    if name == "token_embd.weight" || name == "output.weight" {
        return Plan::Matrix;
    }
    if ROPE_FACTOR_TENSORS.contains(&name) {
        return Plan::Host;
    }
    if name.ends_with("_norm.weight") || name.ends_with(".bias") {
        return Plan::Vector;
    }
    let Some(rest) = name.strip_prefix("blk.") else { return Plan::Skip };
    let Some((layer, kind)) = rest.split_once('.') else { return Plan::Skip };
    match kind {
        "attn_qkv.weight" => Plan::Split(vec![c.n_head * c.head_dim, c.kv_dim(), c.kv_dim()]),
        "ffn_up.weight" if header.tensor(&format!("blk.{layer}.ffn_gate.weight")).is_none() => {
            Plan::Split(vec![c.n_ff, c.n_ff])
        }
        "attn_q.weight" | "attn_k.weight" | "attn_v.weight" | "attn_output.weight" | "ffn_gate.weight"
        | "ffn_up.weight" | "ffn_down.weight" => Plan::Matrix,
        _ => Plan::Skip,
    }
}

/// Weights uploaded while the file streamed in, taken by [`Model::from_weights`].
pub(crate) struct Streamed<B: Backend> {
    names: HashSet<String>,
    matrices: HashMap<String, (Vec<u64>, Vec<B::Matrix>)>,
    vectors: HashMap<String, (Vec<u64>, B::Vector)>,
    host: HashMap<String, RawTensor<'static>>,
}

impl<B: Backend> Streamed<B> {
    fn take_matrices(&mut self, name: &str) -> Result<(Vec<u64>, Vec<B::Matrix>)> {
        self.matrices.remove(name).ok_or_else(|| EngineError::MissingTensor(name.to_owned()))
    }
}

fn mismatch(name: &str, expected: &[usize], found: &[u64]) -> EngineError {
    EngineError::ShapeMismatch {
        tensor: name.to_owned(),
        expected: expected.iter().map(|&d| d as u64).collect(),
        found: found.to_vec(),
    }
}

impl<B: Backend> Weights<B> for Streamed<B> {
    fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    fn matrix(&mut self, name: &str, inp: usize, out: usize) -> Result<B::Matrix> {
        let (dims, mut parts) = self.take_matrices(name)?;
        if dims != [inp as u64, out as u64] || parts.len() != 1 {
            return Err(mismatch(name, &[inp, out], &dims));
        }
        parts.pop().ok_or_else(|| EngineError::MissingTensor(name.to_owned()))
    }

    fn split(&mut self, name: &str, inp: usize, rows: &[usize]) -> Result<Vec<B::Matrix>> {
        let (dims, parts) = self.take_matrices(name)?;
        let out: usize = rows.iter().sum();
        if dims != [inp as u64, out as u64] || parts.len() != rows.len() {
            return Err(mismatch(name, &[inp, out], &dims));
        }
        Ok(parts)
    }

    fn vector(&mut self, name: &str, n: usize) -> Result<B::Vector> {
        let (dims, v) = self.vectors.remove(name).ok_or_else(|| EngineError::MissingTensor(name.to_owned()))?;
        if dims != [n as u64] {
            return Err(mismatch(name, &[n], &dims));
        }
        Ok(v)
    }

    fn host(&self, name: &str) -> Option<RawTensor<'_>> {
        self.host.get(name).map(|t| RawTensor {
            name: t.name.clone(),
            dtype: t.dtype,
            dims: t.dims.clone(),
            data: Cow::Borrowed(&t.data[..]),
        })
    }
}

/// The tensor whose bytes are arriving.
enum Current<B: Backend> {
    /// Matrix pieces: the uploads still open, each with the bytes it still takes.
    Matrix { uploads: Vec<(usize, Box<dyn MatrixUpload<B>>)>, done: Vec<B::Matrix> },
    /// Bytes gathered for a vector or a host tensor.
    Gather(Vec<u8>),
    /// Bytes to pass over.
    Skip,
}

/// The header is known: tensors are arriving.
struct Body<B: Backend> {
    header: GgufHeader,
    config: ModelConfig,
    tokenizer: Tokenizer,
    /// Tensor indices in file order, with their plans.
    order: Vec<(usize, Plan)>,
    /// Position in `order` of the tensor arriving (or next to arrive).
    next: usize,
    /// That tensor, once its first byte arrived, with the bytes it still needs.
    current: Option<(Current<B>, u64)>,
    weights: Streamed<B>,
}

enum Stage<B: Backend> {
    /// Gathering the header; parse again once `want` bytes are in.
    Header {
        buf: Vec<u8>,
        want: usize,
    },
    Body(Box<Body<B>>),
    /// A previous error; the loader takes no more bytes.
    Failed,
}

/// Loads a GGUF model from consecutive chunks of its bytes: [`Self::push`] each chunk as it
/// arrives, then [`Self::finish`]. Chunks may have any size, down to one byte.
pub struct StreamingLoader<B: Backend + 'static> {
    backend: B,
    /// Bytes of the file taken so far.
    received: u64,
    stage: Stage<B>,
}

impl<B: Backend + 'static> StreamingLoader<B> {
    /// A loader that will put the model on `backend`.
    pub fn new(backend: B) -> Self {
        Self { backend, received: 0, stage: Stage::Header { buf: Vec::new(), want: 4 } }
    }

    /// The file's header, once its bytes have arrived.
    pub fn header(&self) -> Option<&GgufHeader> {
        match &self.stage {
            Stage::Body(b) => Some(&b.header),
            _ => None,
        }
    }

    /// Bytes of the file taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The backend the model goes to.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Takes the next bytes of the file. After an error the loader is spent: every later call
    /// fails.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        let result = self.push_inner(chunk);
        if result.is_err() {
            self.stage = Stage::Failed;
        }
        result
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<()> {
        match &mut self.stage {
            Stage::Failed => Err(EngineError::BadConfig("the streamed load already failed".into())),
            Stage::Header { buf, want } => {
                buf.extend_from_slice(chunk);
                self.received = buf.len() as u64;
                if buf.len() < *want {
                    return Ok(());
                }
                match GgufHeader::parse(buf) {
                    Ok(header) => {
                        let buf = std::mem::take(buf);
                        let body = self.start_body(header)?;
                        self.stage = Stage::Body(Box::new(body));
                        // The bytes past the header start the tensor data.
                        self.received = 0;
                        self.feed(&buf)
                    }
                    Err(GgufError::Truncated { needed, .. }) => {
                        // Ask for at least half as much again, so that a header arriving in
                        // tiny chunks is parsed a logarithmic number of times.
                        let next = (needed as usize).max(buf.len() + buf.len() / 2);
                        if next > MAX_HEADER_BYTES {
                            return Err(EngineError::BadConfig(format!(
                                "the GGUF header claims more than {} MiB (it needs bytes up to {needed}): the file is corrupt",
                                MAX_HEADER_BYTES >> 20
                            )));
                        }
                        *want = next;
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Stage::Body(_) => self.feed(chunk),
        }
    }

    /// Reads what the graph needs from the header and checks every matrix's type against the
    /// backend, before any tensor byte is uploaded.
    fn start_body(&self, header: GgufHeader) -> Result<Body<B>> {
        let config = config_of(&header)?;
        config.validate()?;
        let tokenizer = Tokenizer::from_metadata(&header.metadata)?;
        let mut order: Vec<(usize, Plan)> =
            header.tensors.iter().enumerate().map(|(i, t)| (i, plan(t, &header, &config))).collect();
        order.sort_by_key(|(i, _)| header.tensors[*i].offset);
        for pair in order.windows(2) {
            let (a, b) = (&header.tensors[pair[0].0], &header.tensors[pair[1].0]);
            if a.offset.saturating_add(a.n_bytes) > b.offset {
                return Err(EngineError::BadConfig(format!(
                    "tensors {:?} and {:?} overlap in the file, which a streamed load cannot read",
                    a.name, b.name
                )));
            }
        }
        for (i, p) in &order {
            if matches!(p, Plan::Matrix | Plan::Split(_)) {
                let t = &header.tensors[*i];
                self.backend.check_matrix_type(&t.name, t.dtype)?;
            }
        }
        let weights = Streamed {
            names: header.tensors.iter().map(|t| t.name.clone()).collect(),
            matrices: HashMap::new(),
            vectors: HashMap::new(),
            host: HashMap::new(),
        };
        Ok(Body { header, config, tokenizer, order, next: 0, current: None, weights })
    }

    /// Hands tensor bytes to where they go.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        let Stage::Body(body) = &mut self.stage else { return Ok(()) };
        let backend = &self.backend;
        while !bytes.is_empty() {
            if body.current.is_none() {
                let Some((i, plan)) = body.order.get(body.next) else {
                    // Past the last tensor: nothing more to read.
                    self.received += bytes.len() as u64;
                    return Ok(());
                };
                let t = &body.header.tensors[*i];
                let (start, _) = body.header.data_range(t);
                if self.received < start {
                    // Padding before the tensor.
                    let skip = ((start - self.received) as usize).min(bytes.len());
                    self.received += skip as u64;
                    bytes = &bytes[skip..];
                    continue;
                }
                body.current = Some((begin(backend, t, plan)?, t.n_bytes));
                if t.n_bytes == 0 {
                    body.finish_current(backend)?;
                    continue;
                }
            }
            let Some((current, left)) = &mut body.current else { continue };
            let take = (*left).min(bytes.len() as u64) as usize;
            let (piece, rest) = bytes.split_at(take);
            write(backend, current, piece)?;
            *left -= take as u64;
            self.received += take as u64;
            bytes = rest;
            if *left == 0 {
                body.finish_current(backend)?;
            }
        }
        Ok(())
    }

    /// The engine, once every byte of the file was pushed; a stream that ended early gives an
    /// error naming what is missing.
    pub fn finish(mut self) -> Result<Engine<B>> {
        if let Stage::Header { want, .. } = &mut self.stage {
            // The stream ended: parse what arrived, however short of the last ask.
            *want = 0;
            self.push(&[])?;
        }
        let body = match self.stage {
            Stage::Body(body) => body,
            Stage::Failed => return Err(EngineError::BadConfig("the streamed load already failed".into())),
            Stage::Header { buf, .. } => {
                return Err(match GgufHeader::parse(&buf) {
                    Err(e) => e.into(),
                    Ok(_) => EngineError::BadConfig("the GGUF header was read but not taken".into()),
                });
            }
        };
        let Body { header, config, tokenizer, order, next, mut weights, .. } = *body;
        if let Some((i, _)) = order.get(next) {
            let t = &header.tensors[*i];
            let (start, end) = header.data_range(t);
            return Err(GgufError::TensorOutOfRange { tensor: t.name.clone(), start, end, len: self.received }.into());
        }
        let model = Model::from_weights(self.backend, config, &mut weights)?;
        Engine::from_model(model, tokenizer, &header.metadata)
    }
}

/// Opens the destination of tensor `t`.
fn begin<B: Backend + 'static>(backend: &B, t: &TensorInfo, plan: &Plan) -> Result<Current<B>> {
    let gather = || -> Result<Current<B>> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(t.n_bytes as usize).map_err(|_| {
            EngineError::BadConfig(format!("not enough memory for the {} bytes of tensor {:?}", t.n_bytes, t.name))
        })?;
        Ok(Current::Gather(buf))
    };
    Ok(match plan {
        Plan::Matrix => {
            let up = backend.begin_matrix(&t.name, t.dtype, &t.dims)?;
            Current::Matrix { uploads: vec![(t.n_bytes as usize, up)], done: Vec::new() }
        }
        Plan::Split(rows) => {
            let bad =
                || mismatch(&t.name, &[t.dims.first().copied().unwrap_or(0) as usize, rows.iter().sum()], &t.dims);
            let [inp, out] = t.dims[..] else { return Err(bad()) };
            if out != rows.iter().sum::<usize>() as u64 {
                return Err(bad());
            }
            let row_bytes = t.dtype.bytes_for(inp).ok_or_else(bad)? as usize;
            let mut uploads = Vec::with_capacity(rows.len());
            for (k, &n) in rows.iter().enumerate() {
                let name = format!("{}[part {k}]", t.name);
                uploads.push((n * row_bytes, backend.begin_matrix(&name, t.dtype, &[inp, n as u64])?));
            }
            Current::Matrix { uploads, done: Vec::new() }
        }
        Plan::Vector | Plan::Host => gather()?,
        Plan::Skip => Current::Skip,
    })
}

/// Passes `piece` on to the tensor arriving.
fn write<B: Backend>(backend: &B, current: &mut Current<B>, mut piece: &[u8]) -> Result<()> {
    match current {
        Current::Matrix { uploads, done } => {
            while !piece.is_empty() {
                let Some((left, up)) = uploads.first_mut() else {
                    return Err(EngineError::BadConfig("more bytes than the matrix takes".into()));
                };
                let take = (*left).min(piece.len());
                up.write(backend, &piece[..take])?;
                *left -= take;
                piece = &piece[take..];
                if *left == 0 {
                    let (_, up) = uploads.remove(0);
                    done.push(up.finish(backend)?);
                }
            }
        }
        Current::Gather(buf) => buf.extend_from_slice(piece),
        Current::Skip => {}
    }
    Ok(())
}

impl<B: Backend> Body<B> {
    /// Files the tensor whose last byte arrived.
    fn finish_current(&mut self, backend: &B) -> Result<()> {
        let Some((current, _)) = self.current.take() else { return Ok(()) };
        let Some((i, plan)) = self.order.get(self.next) else { return Ok(()) };
        let t = &self.header.tensors[*i];
        self.next += 1;
        match current {
            Current::Matrix { uploads, mut done } => {
                // A zero-byte part (a split of zero rows) is finished here.
                for (_, up) in uploads {
                    done.push(up.finish(backend)?);
                }
                self.weights.matrices.insert(t.name.clone(), (t.dims.clone(), done));
            }
            Current::Gather(data) => {
                let raw =
                    RawTensor { name: t.name.clone(), dtype: t.dtype, dims: t.dims.clone(), data: Cow::Owned(data) };
                if *plan == Plan::Host {
                    self.weights.host.insert(t.name.clone(), raw);
                } else {
                    let v = backend.vector(&raw)?;
                    self.weights.vectors.insert(t.name.clone(), (t.dims.clone(), v));
                }
            }
            Current::Skip => {}
        }
        Ok(())
    }
}

/// The quant type of the tensors holding most of the file's bytes.
pub fn main_quant(header: &GgufHeader) -> Option<GgmlType> {
    let mut by_type: Vec<(GgmlType, u64)> = Vec::new();
    for t in &header.tensors {
        match by_type.iter_mut().find(|(d, _)| *d == t.dtype) {
            Some((_, b)) => *b += t.n_bytes,
            None => by_type.push((t.dtype, t.n_bytes)),
        }
    }
    by_type.into_iter().max_by_key(|(_, b)| *b).map(|(d, _)| d)
}
