//! `arbitre-engine`: the inference engine, the same code natively and in wasm32.
//!
//! It owns model loading (GGUF through `arbitre-gguf`, llama2.c checkpoints), the one
//! transformer graph ([`model::Model`]) written against the [`backend::Backend`] trait, the
//! sampler and the step-wise [`generate::Generator`]. It must not touch the network, the DOM
//! or threads of its own: callers (CLI, web worker) feed it bytes and drive `step()`.

pub mod backend;
pub mod config;
pub mod error;
pub mod generate;
pub mod llama2c;
pub mod model;
pub mod sampler;
pub mod synth;
pub mod weights;

use std::sync::Arc;

use arbitre_gguf::GgufFile;
pub use arbitre_tokenizer::Tokenizer;

pub use backend::Backend;
pub use backend::cpu::CpuBackend;
pub use config::ModelConfig;
pub use error::{EngineError, Result};
pub use generate::{CancelHandle, GenStats, GenerateOptions, Generator, Step, StopReason};
pub use model::Model;
pub use sampler::SamplingParams;

/// A loaded model with its tokenizer, ready to start runs.
pub struct Engine<B: Backend> {
    /// The weights and graph.
    pub model: Arc<Model<B>>,
    /// The tokenizer.
    pub tokenizer: Arc<Tokenizer>,
}

impl<B: Backend> Engine<B> {
    /// Loads a GGUF file held in memory.
    pub fn from_gguf_bytes(backend: B, bytes: Vec<u8>) -> Result<Self> {
        Self::from_gguf(backend, &GgufFile::from_bytes(bytes)?)
    }

    /// Loads a parsed GGUF file.
    pub fn from_gguf(backend: B, file: &GgufFile) -> Result<Self> {
        let tokenizer = Tokenizer::from_metadata(file.metadata())?;
        let model = Model::from_gguf(backend, file)?;
        Self::assemble(model, tokenizer)
    }

    /// Loads a llama2.c checkpoint and its tokenizer file (`tokN.bin`).
    pub fn from_llama2c(backend: B, checkpoint: &[u8], tokenizer: &[u8]) -> Result<Self> {
        let (config, weights) = llama2c::read_checkpoint(checkpoint)?;
        let tokenizer = Tokenizer::from_llama2c(tokenizer, config.n_vocab)?;
        let model = Model::load(backend, config, &weights)?;
        Self::assemble(model, tokenizer)
    }

    fn assemble(model: Model<B>, tokenizer: Tokenizer) -> Result<Self> {
        if tokenizer.vocab_size() > model.config.n_vocab {
            return Err(EngineError::BadConfig(format!(
                "the tokenizer has {} tokens but the model only {}",
                tokenizer.vocab_size(),
                model.config.n_vocab
            )));
        }
        Ok(Self { model: Arc::new(model), tokenizer: Arc::new(tokenizer) })
    }

    /// Token ids of a prompt: BOS (when the model wants one) then the text. An empty prompt is
    /// BOS alone.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let add_bos = self.tokenizer.add_bos_default() || text.is_empty();
        let ids = self.tokenizer.encode(text, add_bos, true)?;
        if ids.is_empty() {
            return Err(EngineError::BadConfig("empty prompt and the model has no BOS token".into()));
        }
        Ok(ids)
    }

    /// Starts a run on a text prompt.
    pub fn generate(&self, prompt: &str, options: GenerateOptions) -> Result<Generator<B>> {
        let ids = self.encode_prompt(prompt)?;
        self.generate_ids(ids, options)
    }

    /// Starts a run on prompt token ids.
    pub fn generate_ids(&self, prompt: Vec<u32>, options: GenerateOptions) -> Result<Generator<B>> {
        Generator::new(self.model.clone(), self.tokenizer.clone(), prompt, options)
    }
}
