//! The engine's error type.

use arbitre_gguf::{GgmlType, GgufError};
use arbitre_tokenizer::TokenizerError;

/// Everything that can go wrong while loading a model or generating.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The GGUF file itself is malformed.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The tokenizer could not be built or used.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// A chat template could not be compiled or rendered.
    #[error(transparent)]
    Chat(#[from] arbitre_chat::ChatError),
    /// `general.architecture` names a family the engine does not implement.
    #[error("unsupported model architecture {arch:?} (arbitre runs: {supported})")]
    UnknownArchitecture {
        /// The architecture found.
        arch: String,
        /// Comma-separated list of supported ones.
        supported: &'static str,
    },
    /// A tensor whose type a backend cannot compute with for a given op.
    #[error("unsupported quant type {dtype} for {op} on the {backend} backend (tensor {tensor:?})")]
    UnsupportedQuant {
        /// The tensor.
        tensor: String,
        /// Its type.
        dtype: GgmlType,
        /// The operation.
        op: &'static str,
        /// The backend name.
        backend: &'static str,
    },
    /// A tensor the architecture needs is absent.
    #[error("model file lacks tensor {0:?}")]
    MissingTensor(String),
    /// A tensor whose shape disagrees with the hyper-parameters.
    #[error("tensor {tensor:?} has shape {found:?}, expected {expected:?} from the model's metadata")]
    ShapeMismatch {
        /// The tensor.
        tensor: String,
        /// Expected dims, ggml order.
        expected: Vec<u64>,
        /// Found dims, ggml order.
        found: Vec<u64>,
    },
    /// Hyper-parameters that make no sense together.
    #[error("invalid model configuration: {0}")]
    BadConfig(String),
    /// A malformed llama2.c checkpoint or tokenizer file.
    #[error("invalid llama2.c file: {0}")]
    Llama2c(String),
    /// The prompt does not fit in the context window.
    #[error("prompt of {tokens} tokens does not fit the context of {n_ctx} tokens")]
    PromptTooLong {
        /// Prompt length in tokens.
        tokens: usize,
        /// Context window.
        n_ctx: usize,
    },
    /// Invalid sampling settings.
    #[error("invalid sampling settings: {0}")]
    BadSampling(String),
    /// The GPU device went away (driver reset, browser reclaiming it, `destroy()`): the run
    /// ends, and the model must be loaded again.
    #[error("the {backend} device was lost ({reason}); load the model again to run it")]
    DeviceLost {
        /// Backend name.
        backend: &'static str,
        /// Why, as the driver or browser said.
        reason: String,
    },
    /// A failure inside a compute backend.
    #[error("{backend} backend error: {message}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// What happened.
        message: String,
    },
}

/// Result alias for the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
