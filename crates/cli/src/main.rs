//! `arbitre`: the native command line on the same engine as the page.
//!
//! It only parses arguments, reads files and prints; all model logic lives in
//! `arbitre-engine`. Generated text goes to stdout, everything else to stderr.

mod bench;
mod gpubench;
mod perplexity;
mod pilot;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arbitre_engine::synth::{SynthQuant, SynthShape, synth_gguf, synth_scripted_gguf};
use arbitre_engine::{
    Backend, CpuBackend, Engine, GenerateOptions, Generator, Message, SamplingParams, Step, StopReason, Tokenizer,
    WebGpuBackend,
};
use arbitre_gguf::{GgufFile, GgufHeader};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "arbitre", version, about = "Run small open-weight LLMs locally (GGUF, llama2.c)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate text; only the generated text is printed on stdout, stats on stderr.
    Generate(GenerateArgs),
    /// Print the token ids of a text, space-separated.
    Tokenize(TokenizeArgs),
    /// Describe a model file: architecture, sizes, quant types, tokenizer, template.
    Info(ModelArg),
    /// Chat interactively: one user turn per line of standard input.
    Chat(ChatArgs),
    /// Write a synthetic model (random weights, fixed seed, a real vocabulary) for tests.
    Synth(SynthArgs),
    /// Measure prefill and decode speed (median of repeated runs) and peak memory.
    Bench(bench::BenchArgs),
    /// Measure the WGSL kernels and models on the GPU: bandwidth, tokens/s, dispatches, bytes.
    Gpubench(gpubench::GpuBenchArgs),
    /// Score a text like llama.cpp's llama-perplexity: perplexity, and per position the argmax.
    Perplexity(perplexity::PerplexityArgs),
    /// Run a task set on the local model and on API panes, score it and write a report.
    Pilot(Box<pilot::PilotArgs>),
}

#[derive(Args)]
struct ChatArgs {
    #[command(flatten)]
    model: ModelArg,
    /// System message.
    #[arg(long)]
    system: Option<String>,
    /// Maximum tokens of each answer.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
struct SynthArgs {
    /// Architecture: llama, qwen2, qwen3, phi3 or gemma3.
    #[arg(long, default_value = "llama")]
    arch: String,
    /// Shape: test (tiny, for golden tests), test6 (six layers), smol135 (SmolLM2-135M), tiny1b (TinyLlama-1.1B),
    /// llama7b (Llama-2-7B).
    #[arg(long, default_value = "test")]
    shape: String,
    /// Weight type of the matrices: f32, q8_0, q4_0, q4_k, q4_k_m (llama.cpp's mix).
    #[arg(long, default_value = "f32")]
    quant: String,
    /// A GGUF whose tokenizer (tokenizer.* metadata) the model takes, e.g. a vocab-only file.
    #[arg(long)]
    vocab: PathBuf,
    /// Seed of the weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A scripted model instead of random weights: it answers any prompt with this text
    /// (f32; `<think>` and `</think>` are added to the vocabulary), e.g.
    /// `--script '<think>Two and two make four.</think>Four!'`.
    #[arg(long)]
    script: Option<String>,
    /// A file whose text becomes the model's chat template (`tokenizer.chat_template`).
    #[arg(long)]
    chat_template: Option<PathBuf>,
    /// Output path.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ModelArg {
    /// A GGUF file, or a llama2.c checkpoint (then also give --tokenizer).
    #[arg(long)]
    model: PathBuf,
    /// llama2.c tokenizer file (tokN.bin), for llama2.c checkpoints.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

/// Where the model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    /// The CPU (SIMD quantized kernels).
    Cpu,
    /// The GPU through wgpu (Vulkan/Metal/DX12 natively) and arbitre's WGSL kernels.
    Webgpu,
    /// WebGPU when an adapter exists, else the CPU (the reason goes to stderr).
    Auto,
}

#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    backend: BackendChoice,
    /// Prompt text; without it generation starts from BOS alone.
    #[arg(long, default_value = "")]
    prompt: String,
    /// Maximum number of generated tokens.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the K most likely tokens (0 = off).
    #[arg(long, default_value_t = 40)]
    top_k: usize,
    /// Nucleus sampling threshold (1 = off).
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// Min-p threshold (0 = off).
    #[arg(long, default_value_t = 0.05)]
    min_p: f32,
    /// Repetition penalty (1 = off).
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    /// Stop when this string appears (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// Do not stop at end-of-generation tokens.
    #[arg(long)]
    ignore_eos: bool,
    /// Print the generated token ids, space-separated, instead of the text.
    #[arg(long)]
    ids: bool,
    /// Wrap the prompt in the model's chat template as a user turn.
    #[arg(long)]
    chat: bool,
    /// System message for --chat.
    #[arg(long)]
    system: Option<String>,
    /// For --chat with a thinking model whose template has the switch (Qwen3's
    /// `enable_thinking`): `on` to reason first, `off` to answer at once. Default: the template's.
    #[arg(long, value_parser = parse_on_off)]
    thinking: Option<bool>,
}

fn parse_on_off(v: &str) -> std::result::Result<bool, String> {
    match v {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        _ => Err(format!("{v:?}: expected on or off")),
    }
}

#[derive(Args)]
struct TokenizeArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Text to tokenize.
    #[arg(long)]
    text: String,
    /// Prepend the BOS token.
    #[arg(long)]
    bos: bool,
}

fn main() {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(e) = run(cli, &matches) {
        eprintln!("arbitre: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli, matches: &ArgMatches) -> Result<()> {
    match cli.command {
        Command::Generate(a) => generate(a),
        Command::Tokenize(a) => tokenize(a),
        Command::Info(a) => info(&a),
        Command::Synth(a) => synth(a),
        Command::Chat(a) => chat(a),
        Command::Bench(a) => bench::bench(a),
        Command::Gpubench(a) => gpubench::gpubench(a),
        Command::Perplexity(a) => perplexity::run(a),
        // The subcommand's own matches tell which --api each --api-* option follows.
        Command::Pilot(a) => pilot::run(a, matches.subcommand_matches("pilot")),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Whether the file at `path` starts with GGUF's magic.
pub(crate) fn is_gguf(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let n = f.read(&mut magic).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(n == 4 && magic == arbitre_gguf::MAGIC)
}

fn load(m: &ModelArg) -> Result<Engine<CpuBackend>> {
    load_on(CpuBackend, m)
}

fn load_on<B: Backend + 'static>(backend: B, m: &ModelArg) -> Result<Engine<B>> {
    if is_gguf(&m.model)? {
        // Streamed from disk: the file is never whole in memory beside the weights.
        return Engine::from_path(backend, &m.model).with_context(|| format!("loading {}", m.model.display()));
    }
    let bytes = read(&m.model)?;
    let Some(tok) = &m.tokenizer else {
        bail!("{} is not a GGUF file; for a llama2.c checkpoint pass --tokenizer tokN.bin", m.model.display());
    };
    Engine::from_llama2c(backend, &bytes, &read(tok)?).with_context(|| format!("loading {}", m.model.display()))
}

fn generate(a: GenerateArgs) -> Result<()> {
    match a.backend {
        BackendChoice::Cpu => generate_on(load(&a.model)?, a),
        BackendChoice::Webgpu => {
            let gpu = WebGpuBackend::request_blocking().context("--backend webgpu")?;
            generate_on(load_on(gpu, &a.model)?, a)
        }
        BackendChoice::Auto => match WebGpuBackend::request_blocking() {
            Ok(gpu) => generate_on(load_on(gpu, &a.model)?, a),
            Err(e) => {
                eprintln!("arbitre: WebGPU unavailable, running on the CPU: {e}");
                generate_on(load(&a.model)?, a)
            }
        },
    }
}

fn generate_on<B: Backend>(engine: Engine<B>, a: GenerateArgs) -> Result<()> {
    let options = GenerateOptions {
        sampling: SamplingParams {
            temperature: a.temperature,
            top_k: a.top_k,
            top_p: a.top_p,
            min_p: a.min_p,
            repeat_penalty: a.repeat_penalty,
            seed: a.seed,
            ..SamplingParams::default()
        },
        max_tokens: a.max_tokens,
        stop: a.stop,
        ignore_eos: a.ignore_eos,
        n_ctx: None,
        thinking: a.thinking,
    };
    let mut run = if a.chat {
        let mut messages: Vec<Message> = a.system.iter().map(Message::system).collect();
        messages.push(Message::user(&a.prompt));
        engine.generate_chat(&messages, options)?
    } else {
        engine.generate(&a.prompt, options)?
    };
    let mut out = std::io::stdout().lock();
    let (_, reason) = stream(&mut run, &mut out, !a.ids)?;
    if a.ids {
        let ids: Vec<String> = run.generated().iter().map(u32::to_string).collect();
        writeln!(out, "{}", ids.join(" "))?;
    }
    let s = run.stats();
    eprintln!(
        "\n[{}] prompt {} tok, generated {} tok, stop {:?}; ttft {:.1} ms, prefill {:.1} tok/s, decode {:.1} tok/s",
        engine.model.backend().name(),
        s.prompt_tokens,
        s.generated_tokens,
        reason,
        s.ttft_ms,
        s.prefill_tps,
        s.decode_tps
    );
    Ok(())
}

/// The tokenizer alone, so that vocab-only GGUFs can be tokenized with.
fn load_tokenizer(m: &ModelArg) -> Result<Tokenizer> {
    let bytes = read(&m.model)?;
    if bytes.starts_with(&arbitre_gguf::MAGIC) {
        let header = GgufHeader::parse(&bytes).with_context(|| format!("reading {}", m.model.display()))?;
        return Ok(Tokenizer::from_metadata(&header.metadata)?);
    }
    Ok(Arc::unwrap_or_clone(load(m)?.tokenizer))
}

/// Runs a generator to its end, printing text as it comes when `print` is set.
fn stream<B: Backend>(run: &mut Generator<B>, out: &mut impl Write, print: bool) -> Result<(String, StopReason)> {
    let mut all = String::new();
    loop {
        let (text, done) = match run.step()? {
            Step::Token { text, .. } => (text, None),
            Step::Done { reason, text } => (text, Some(reason)),
        };
        if print {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        all.push_str(&text);
        if let Some(reason) = done {
            return Ok((all, reason));
        }
    }
}

fn chat(a: ChatArgs) -> Result<()> {
    let engine = load(&a.model)?;
    if let Err(e) = &engine.chat_template {
        bail!("this model's chat template cannot be used: {e}");
    }
    let mut messages: Vec<Message> = a.system.iter().map(Message::system).collect();
    let options = GenerateOptions {
        sampling: SamplingParams { temperature: a.temperature, seed: a.seed, ..SamplingParams::default() },
        max_tokens: a.max_tokens,
        ..GenerateOptions::default()
    };
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        messages.push(Message::user(line));
        let mut run = engine.generate_chat(&messages, options.clone())?;
        let (answer, _) = stream(&mut run, &mut out, true)?;
        writeln!(out)?;
        messages.push(Message::assistant(answer.trim()));
    }
    Ok(())
}

fn synth(a: SynthArgs) -> Result<()> {
    let mut vocab = GgufHeader::parse(&read(&a.vocab)?).with_context(|| format!("reading {}", a.vocab.display()))?;
    if let Some(path) = &a.chat_template {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        vocab.metadata.insert("tokenizer.chat_template", arbitre_gguf::Value::String(text));
    }
    let quant = SynthQuant::parse(&a.quant)?;
    let shape = SynthShape::named(&a.shape)?;
    let bytes = match &a.script {
        Some(script) => synth_scripted_gguf(&a.arch, &shape, &vocab.metadata, script, a.seed)?,
        None => synth_gguf(&a.arch, &shape, quant, &vocab.metadata, a.seed)?,
    };
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("wrote {} ({} bytes)", a.out.display(), bytes.len());
    Ok(())
}

fn tokenize(a: TokenizeArgs) -> Result<()> {
    let tokenizer = load_tokenizer(&a.model)?;
    let ids = tokenizer.encode(&a.text, a.bos, true)?;
    let line: Vec<String> = ids.iter().map(u32::to_string).collect();
    println!("{}", line.join(" "));
    Ok(())
}

fn info(m: &ModelArg) -> Result<()> {
    let bytes = read(&m.model)?;
    if !bytes.starts_with(&arbitre_gguf::MAGIC) {
        let engine = load(m)?;
        println!("format: llama2.c checkpoint");
        print_config(&engine.model.config);
        println!("tokenizer: llama2.c SentencePiece BPE, {} tokens", engine.tokenizer.vocab_size());
        return Ok(());
    }
    let header = GgufHeader::parse(&bytes)?;
    let md = &header.metadata;
    println!(
        "format: GGUF v{} ({} bytes, {} tensors, {} metadata keys)",
        header.version,
        bytes.len(),
        header.tensors.len(),
        md.len()
    );
    if let Ok(name) = md.str("general.name") {
        println!("name: {name}");
    }
    let mut types: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
    let mut params = 0u64;
    for t in &header.tensors {
        let e = types.entry(t.dtype.to_string()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes;
        params += t.n_elements();
    }
    println!("parameters: {params}");
    for (ty, (n, b)) in &types {
        println!("  {ty}: {n} tensors, {b} bytes");
    }
    match GgufFile::from_bytes(bytes)
        .map_err(anyhow::Error::from)
        .and_then(|f| Engine::from_gguf(CpuBackend, &f).map_err(anyhow::Error::from))
    {
        Ok(engine) => {
            print_config(&engine.model.config);
            match &engine.chat_template {
                Ok(t) => println!("chat template in use: {} (ends turns with {:?})", t.name(), t.end_of_turn_markers()),
                Err(e) => println!("chat template unusable: {e}"),
            }
            let special: Vec<String> = engine
                .tokenizer
                .eog_tokens()
                .iter()
                .map(|&id| format!("{id}={:?}", engine.tokenizer.id_to_token(id).unwrap_or("?")))
                .collect();
            println!("end-of-generation tokens: {}", special.join(", "));
            let t = &engine.tokenizer;
            println!(
                "tokenizer: {} (pre {:?}), {} tokens, bos {:?}, eos {:?}, add_bos {}",
                t.model_kind(),
                t.pre(),
                t.vocab_size(),
                t.bos(),
                t.eos(),
                t.add_bos_default()
            );
        }
        Err(e) => println!("not loadable: {e:#}"),
    }
    match md.str("tokenizer.chat_template") {
        Ok(t) => println!("chat template: from the file, {} chars\n{t}", t.len()),
        Err(_) => println!("chat template: none in the file"),
    }
    Ok(())
}

fn print_config(c: &arbitre_engine::ModelConfig) {
    println!(
        "architecture: {}\n  n_embd {}, n_layer {}, n_head {}, n_head_kv {}, head_dim {}, n_ff {}, n_vocab {}, n_ctx_train {}\n  rms_eps {}, rope_theta {}, rope_dim {}",
        c.arch,
        c.n_embd,
        c.n_layer,
        c.n_head,
        c.n_head_kv,
        c.head_dim,
        c.n_ff,
        c.n_vocab,
        c.n_ctx_train,
        c.rms_eps,
        c.rope_theta,
        c.rope_dim
    );
}
