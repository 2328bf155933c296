//! Chat templates: turns a conversation into the prompt text a model was trained on.
//!
//! This crate owns rendering of the Hugging Face chat template stored in a GGUF
//! (`tokenizer.chat_template`), byte-for-byte like the reference implementation, transformers'
//! `apply_chat_template` (jinja2 with `trim_blocks=True, lstrip_blocks=True`, the loop-controls
//! extension, the `{% generation %}` tag, and the globals/filters HF adds: `raise_exception`,
//! `strftime_now`, a non-escaping `tojson`), using [minijinja] plus Python-compatible methods
//! (`.strip()`, `.split()`, `.items()`, ...) and Python-style printing (`None`, `True`).
//! It also ships the published templates of common model families as fallbacks
//! ([`ChatTemplate::fallback`], [`fallback_family`]) for GGUFs that carry none, and reports which
//! end-of-turn marker strings a template emits ([`ChatTemplate::end_of_turn_markers`]).
//!
//! What it must not do: tokenize (the prompt is text; special-token pieces in it are the
//! tokenizer's business), read GGUF files (callers pass the metadata strings), touch the file
//! system or network from a template (no loader is installed: `include`/`import`/`extends` fail),
//! or panic on any template or message content (errors are [`ChatError`]s; a per-render
//! instruction budget stops runaway loops). It builds for `wasm32-unknown-unknown`; the clock for
//! `strftime_now` is `web_time::SystemTime` (UTC).
//!
//! Context variables a template sees: `messages` (list of `{role, content}`),
//! `add_generation_prompt`, `bos_token`, `eos_token`, `tools` and `documents` (`none` unless
//! supplied), plus every key of [`RenderOptions::extra`] (e.g. `tools`, `date_string`,
//! `tools_in_user_message`); extra keys override everything except `messages` and
//! `add_generation_prompt`.
//!
//! ```
//! use arbitre_chat::{ChatTemplate, Message, RenderOptions};
//!
//! let template = ChatTemplate::fallback("chatml")?; // or ChatTemplate::new("gguf", &chat_template)?
//! let opts = RenderOptions { add_generation_prompt: true, ..RenderOptions::default() };
//! let prompt = template.render(&[Message::user("Hi")], &opts)?;
//! assert_eq!(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
//! assert_eq!(template.end_of_turn_markers(), ["<|im_end|>"]);
//! # Ok::<(), arbitre_chat::ChatError>(())
//! ```

mod env;
mod families;
mod py;
pub mod reasoning;
mod strftime;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::Environment;
use minijinja::value::Value;
use serde::{Deserialize, Serialize};

pub use families::{FALLBACK_FAMILIES, fallback_family, fallback_family_for_model};

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` (templates may accept others, e.g. `tool`).
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

impl Message {
    /// A message with an arbitrary role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message { role: role.into(), content: content.into() }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// Errors of compiling or rendering a chat template.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The template source does not parse.
    #[error("chat template `{name}`: {message}")]
    Syntax {
        /// The template's name.
        name: String,
        /// minijinja's description, with the line.
        message: String,
    },
    /// Rendering failed. When the template called `raise_exception(msg)`, `message` is exactly
    /// `msg` (e.g. "Conversation roles must alternate user/assistant/user/assistant/...");
    /// otherwise it is minijinja's description of the failure, with the line.
    #[error("chat template `{name}`: {message}")]
    Render {
        /// The template's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// [`ChatTemplate::fallback`] was given a family it does not know.
    #[error(
        "unknown chat template family `{0}` (known: chatml, qwen2.5, smollm2, llama3, llama2, phi3, zephyr, gemma, gemma3)"
    )]
    UnknownFamily(String),
    /// [`RenderOptions::extra`] is neither a JSON object nor null.
    #[error("chat template render options: {0}")]
    InvalidOptions(String),
}

/// Options of one [`ChatTemplate::render`] call (the arguments of `apply_chat_template`).
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Append the header that opens the assistant's turn (e.g. `<|im_start|>assistant\n`).
    pub add_generation_prompt: bool,
    /// The tokenizer's BOS piece (e.g. `<|begin_of_text|>`), exposed as `bos_token`; "" if none.
    pub bos_token: String,
    /// The tokenizer's EOS piece (e.g. `</s>`), exposed as `eos_token`; "" if none.
    pub eos_token: String,
    /// Extra context variables: a JSON object whose keys become template variables (`tools`,
    /// `documents`, `date_string`, `tools_in_user_message`, `enable_thinking`, ...). Key order is
    /// kept (it shows in `tojson` output of tool schemas).
    pub extra: Option<serde_json::Value>,
}

/// A compiled chat template. Cheap to clone (the compiled form is shared).
#[derive(Clone)]
pub struct ChatTemplate {
    name: String,
    source: String,
    env: Arc<Environment<'static>>,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate").field("name", &self.name).field("source_len", &self.source.len()).finish()
    }
}

/// End-of-turn marker strings recognised by [`ChatTemplate::end_of_turn_markers`], in the order
/// they are reported.
const END_OF_TURN_MARKERS: [&str; 6] =
    ["<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<|endoftext|>", "<end_of_turn>"];

impl ChatTemplate {
    /// Compiles `source` (a Jinja chat template) once; `name` appears in error messages.
    ///
    /// # Errors
    /// [`ChatError::Syntax`] when the source does not parse.
    pub fn new(name: &str, source: &str) -> Result<Self, ChatError> {
        let mut env = env::build();
        let compiled = env::rewrite_generation_tags(source).into_owned();
        env.add_template_owned(name.to_owned(), compiled)
            .map_err(|e| ChatError::Syntax { name: name.to_owned(), message: e.to_string() })?;
        Ok(ChatTemplate { name: name.to_owned(), source: source.to_owned(), env: Arc::new(env) })
    }

    /// The published template of a model family (see [`FALLBACK_FAMILIES`] for names and aliases),
    /// for GGUFs without `tokenizer.chat_template`. Its [`name`](Self::name) is the canonical family.
    ///
    /// # Errors
    /// [`ChatError::UnknownFamily`] for an unknown name.
    pub fn fallback(family: &str) -> Result<Self, ChatError> {
        let (name, source) =
            families::fallback_source(family).ok_or_else(|| ChatError::UnknownFamily(family.to_owned()))?;
        Self::new(name, source)
    }

    /// The name given at construction (the family for fallbacks).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template source, as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages` into the prompt text, exactly as `apply_chat_template(messages,
    /// tokenize=False, add_generation_prompt=..., **extra)` does with jinja2.
    ///
    /// # Errors
    /// [`ChatError::Render`] when the template fails (including its own `raise_exception`, whose
    /// message is reported verbatim), [`ChatError::InvalidOptions`] for a non-object `extra`.
    pub fn render(&self, messages: &[Message], opts: &RenderOptions) -> Result<String, ChatError> {
        let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
        ctx.insert("bos_token".into(), Value::from(opts.bos_token.as_str()));
        ctx.insert("eos_token".into(), Value::from(opts.eos_token.as_str()));
        ctx.insert("tools".into(), Value::from(()));
        ctx.insert("documents".into(), Value::from(()));
        match &opts.extra {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(map)) => {
                for (key, value) in map {
                    ctx.insert(key.clone(), Value::from_serialize(value));
                }
            }
            Some(other) => {
                return Err(ChatError::InvalidOptions(format!(
                    "`extra` must be a JSON object of template variables, got {}",
                    json_type_name(other)
                )));
            }
        }
        ctx.insert("messages".into(), Value::from_serialize(messages));
        ctx.insert("add_generation_prompt".into(), Value::from(opts.add_generation_prompt));

        let render_error = |message: String| ChatError::Render { name: self.name.clone(), message };
        let template = self.env.get_template(&self.name).map_err(|e| render_error(e.to_string()))?;
        // minijinja does not panic on template input; this is a last line of defence on targets
        // that unwind (wasm32 aborts instead).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| template.render(&ctx)))
            .map_err(|_| render_error("internal error in the template engine".to_owned()))?;
        result.map_err(|e| render_error(error_message(&e)))
    }

    /// End-of-turn marker strings this template writes literally, detected from its source, among
    /// `<|im_end|>`, `<|eot_id|>`, `<|end|>`, `</s>`, `<|endoftext|>`, `<end_of_turn>` (in that
    /// order). Markers a template only emits through `eos_token` are not listed: that is the
    /// tokenizer's EOS token, which callers stop on anyway.
    pub fn end_of_turn_markers(&self) -> Vec<&'static str> {
        END_OF_TURN_MARKERS.iter().copied().filter(|m| self.source.contains(m)).collect()
    }
}

/// The `raise_exception` message when the failure is one, else minijinja's description.
fn error_message(err: &minijinja::Error) -> String {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(raised) = e.downcast_ref::<env::RaisedException>() {
            return raised.0.clone();
        }
        current = e.source();
    }
    err.to_string()
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
