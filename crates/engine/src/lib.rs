//! `arbitre-engine`: the inference engine, the same code natively and in wasm32.
//!
//! It owns model loading (GGUF through `arbitre-gguf`, llama2.c checkpoints), the one
//! transformer graph ([`model::Model`]) written against the [`backend::Backend`] trait, the
//! sampler and the step-wise [`generate::Generator`]. It must not touch the network, the DOM
//! or threads of its own: callers (CLI, web worker) feed it bytes and drive `step()`.

pub mod backend;
pub mod catalog;
pub mod config;
pub mod error;
pub mod generate;
pub mod llama2c;
pub mod model;
pub mod perplexity;
pub mod sampler;
pub mod stream;
pub mod synth;
pub mod weights;

use std::sync::Arc;

pub use arbitre_chat::Message;
use arbitre_chat::{ChatTemplate, RenderOptions, fallback_family_for_model};
use arbitre_gguf::{GgufFile, Metadata};
pub use arbitre_tokenizer::Tokenizer;

pub use backend::Backend;
pub use backend::cpu::CpuBackend;
#[cfg(feature = "webgpu")]
pub use backend::webgpu::WebGpuBackend;
pub use config::ModelConfig;
pub use error::{EngineError, Result};
pub use generate::{CancelHandle, ChatCache, GenStats, GenerateOptions, Generator, Step, StopReason};
pub use model::Model;
pub use sampler::SamplingParams;
pub use stream::StreamingLoader;

/// Text repeated to build benchmark prompts of an exact length ([`Engine::synthetic_prompt`]).
pub const BENCH_TEXT: &str = "The quick brown fox jumps over the lazy dog while the committee reviews the quarterly \
    report on invoices, support tickets and contract data, and everyone agrees to meet again next week. ";

/// A loaded model with its tokenizer, ready to start runs.
pub struct Engine<B: Backend> {
    /// The weights and graph.
    pub model: Arc<Model<B>>,
    /// The tokenizer.
    pub tokenizer: Arc<Tokenizer>,
    /// The chat template: the file's own, else the named fallback of its family; `Err` holds
    /// why the file's template could not be compiled.
    pub chat_template: std::result::Result<ChatTemplate, String>,
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
        Self::from_model(model, tokenizer, file.metadata())
    }

    /// Joins a model and its tokenizer with the chat template its metadata names.
    pub(crate) fn from_model(model: Model<B>, tokenizer: Tokenizer, md: &Metadata) -> Result<Self> {
        let chat_template = match md.str("tokenizer.chat_template") {
            Ok(source) => ChatTemplate::new("tokenizer.chat_template", source).map_err(|e| e.to_string()),
            Err(_) => {
                let name = md.str("general.name").unwrap_or_default();
                let family =
                    fallback_family_for_model(&model.config.arch, name, |t| tokenizer.token_to_id(t).is_some());
                ChatTemplate::fallback(family).map_err(|e| e.to_string())
            }
        };
        Self::assemble(model, tokenizer, chat_template)
    }

    /// Loads a GGUF file from disk as [`StreamingLoader`] does a download: 1 MiB at a time,
    /// each tensor handed to the backend as it goes by, so the file is never whole in memory
    /// beside the weights the backend keeps (natively only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_path(backend: B, path: &std::path::Path) -> Result<Self>
    where
        B: 'static,
    {
        use std::io::Read;
        let io = |e: std::io::Error| {
            EngineError::Gguf(arbitre_gguf::GgufError::Io(format!("cannot read {}: {e}", path.display())))
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut loader = StreamingLoader::new(backend);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            loader.push(&buf[..n])?;
        }
        loader.finish()
    }

    /// Loads a llama2.c checkpoint and its tokenizer file (`tokN.bin`).
    pub fn from_llama2c(backend: B, checkpoint: &[u8], tokenizer: &[u8]) -> Result<Self> {
        let (config, weights) = llama2c::read_checkpoint(checkpoint)?;
        let tokenizer = Tokenizer::from_llama2c(tokenizer, config.n_vocab)?;
        let model = Model::load(backend, config, &weights)?;
        let chat_template = ChatTemplate::fallback("llama2").map_err(|e| e.to_string());
        Self::assemble(model, tokenizer, chat_template)
    }

    fn assemble(
        model: Model<B>,
        tokenizer: Tokenizer,
        chat_template: std::result::Result<ChatTemplate, String>,
    ) -> Result<Self> {
        if tokenizer.vocab_size() > model.config.n_vocab {
            return Err(EngineError::BadConfig(format!(
                "the tokenizer has {} tokens but the model only {}",
                tokenizer.vocab_size(),
                model.config.n_vocab
            )));
        }
        Ok(Self { model: Arc::new(model), tokenizer: Arc::new(tokenizer), chat_template })
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

    /// The conversation rendered with the chat template, ready for the assistant's turn.
    pub fn render_chat(&self, messages: &[Message]) -> Result<String> {
        self.render_chat_with(messages, None)
    }

    /// [`Self::render_chat`] with the template's thinking switch set (see
    /// [`GenerateOptions::thinking`]).
    pub fn render_chat_with(&self, messages: &[Message], thinking: Option<bool>) -> Result<String> {
        let template =
            self.chat_template.as_ref().map_err(|e| EngineError::BadConfig(format!("chat template: {e}")))?;
        let piece = |id: Option<u32>| id.and_then(|i| self.tokenizer.id_to_token(i)).unwrap_or_default().to_owned();
        let opts = RenderOptions {
            add_generation_prompt: true,
            bos_token: piece(self.tokenizer.bos()),
            eos_token: piece(self.tokenizer.eos()),
            extra: thinking.map(|on| serde_json::json!({ "enable_thinking": on })),
        };
        Ok(template.render(messages, &opts)?)
    }

    /// Token ids of a conversation: the rendered template with its special tokens, and BOS when
    /// the model wants one and the template did not write it.
    pub fn encode_chat(&self, messages: &[Message]) -> Result<Vec<u32>> {
        self.encode_chat_with(messages, None)
    }

    /// [`Self::encode_chat`] with the template's thinking switch set.
    pub fn encode_chat_with(&self, messages: &[Message], thinking: Option<bool>) -> Result<Vec<u32>> {
        let text = self.render_chat_with(messages, thinking)?;
        let bos_text = self.tokenizer.bos().and_then(|b| self.tokenizer.id_to_token(b)).unwrap_or_default();
        let add_bos = self.tokenizer.add_bos_default() && (bos_text.is_empty() || !text.starts_with(bos_text));
        Ok(self.tokenizer.encode(&text, add_bos, true)?)
    }

    /// Starts the assistant's turn of a conversation; the template's end-of-turn markers stop it.
    pub fn generate_chat(&self, messages: &[Message], mut options: GenerateOptions) -> Result<Generator<B>> {
        let ids = self.encode_chat_with(messages, options.thinking)?;
        if let Ok(t) = &self.chat_template {
            options.stop.extend(t.end_of_turn_markers().into_iter().map(str::to_owned));
        }
        self.generate_ids(ids, options)
    }

    /// The assistant's next turn of a conversation, reusing the cache the previous turn left
    /// (see [`Generator::resume`]): only the tokens after the common prefix of the rendered
    /// conversation and the cache are prefilled. `cache: None` starts from scratch.
    pub fn resume_chat(
        &self,
        messages: &[Message],
        cache: Option<ChatCache<B>>,
        mut options: GenerateOptions,
    ) -> Result<Generator<B>> {
        let ids = self.encode_chat_with(messages, options.thinking)?;
        if let Ok(t) = &self.chat_template {
            options.stop.extend(t.end_of_turn_markers().into_iter().map(str::to_owned));
        }
        Generator::resume(self.model.clone(), self.tokenizer.clone(), cache, ids, options)
    }

    /// A benchmark prompt of exactly `n` tokens (at least one): BOS, then the tokens of
    /// [`BENCH_TEXT`] repeated. The page's bench mode and `arbitre bench` both use it, so every
    /// engine they are compared with sees the same ids.
    pub fn synthetic_prompt(&self, n: usize) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self.tokenizer.bos().into_iter().collect();
        let body = self.tokenizer.encode(BENCH_TEXT, false, false)?;
        if body.is_empty() {
            return Err(EngineError::BadConfig("the tokenizer produced no tokens for the benchmark text".into()));
        }
        while ids.len() < n {
            let need = n - ids.len();
            ids.extend(body.iter().take(need));
        }
        ids.truncate(n.max(1));
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
