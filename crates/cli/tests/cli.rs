//! The `arbitre` binary, as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    std::env::var_os("ARBITRE_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into())
}

fn arbitre(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbitre")).args(args).output().expect("runs")
}

fn path(rel: &str) -> String {
    fixtures().join(rel).to_string_lossy().into_owned()
}

#[test]
fn generate_prints_exactly_the_reference_text() {
    let out = arbitre(&[
        "generate",
        "--model",
        &path("stories260K/stories260K.gguf"),
        "--temperature",
        "0",
        "--max-tokens",
        "200",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = std::fs::read(fixtures().join("stories260K/expected_t0_n200.txt")).expect("fixture");
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&expected));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("generated 200 tok") && stderr.contains("decode"), "stats on stderr: {stderr}");
}

#[test]
fn generate_from_a_llama2c_checkpoint() {
    let out = arbitre(&[
        "generate",
        "--model",
        &path("stories260K/stories260K.bin"),
        "--tokenizer",
        &path("stories260K/tok512.bin"),
        "--temperature",
        "0",
        "--max-tokens",
        "200",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = std::fs::read(fixtures().join("stories260K/expected_t0_n200.txt")).expect("fixture");
    assert_eq!(out.stdout, expected);
}

#[test]
fn tokenize_prints_ids_with_and_without_bos() {
    let m = path("vocab/ggml-vocab-llama-spm.gguf");
    let out = arbitre(&["tokenize", "--model", &m, "--text", "Hello world"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "15043 3186");
    let out = arbitre(&["tokenize", "--model", &m, "--text", "Hello world", "--bos"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 15043 3186");
}

#[test]
fn info_describes_the_model() {
    let out = arbitre(&["info", "--model", &path("babyllama/babyllama-tok105-q8_0.gguf")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "architecture: llama",
        "n_embd 128",
        "n_layer 5",
        "Q8_0:",
        "tokenizer: llama",
        "105 tokens",
        "chat template: none",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{s}");
    }
}

#[test]
fn a_truncated_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("arbitre-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bytes = std::fs::read(fixtures().join("stories260K/stories260K.gguf")).expect("fixture");
    let cut = dir.join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let out = arbitre(&["generate", "--model", cut.to_str().expect("utf8 path"), "--max-tokens", "5"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated or corrupt"), "{err}");
    assert!(out.stdout.is_empty());
}

fn synth_model(arch: &str, vocab: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbitre-cli-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = dir.join(format!("{arch}.gguf"));
    let st = arbitre(&[
        "synth",
        "--arch",
        arch,
        "--quant",
        "q4_0",
        "--vocab",
        &path(&format!("vocab/ggml-vocab-{vocab}.gguf")),
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    out
}

#[test]
fn generate_chat_ids_prints_token_ids() {
    let m = synth_model("phi3", "phi-3");
    let out = arbitre(&[
        "generate",
        "--model",
        m.to_str().expect("utf8"),
        "--chat",
        "--prompt",
        "Hi",
        "--max-tokens",
        "6",
        "--temperature",
        "0",
        "--ignore-eos",
        "--ids",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids: Vec<u32> =
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(|s| s.parse().expect("an id")).collect();
    assert_eq!(ids.len(), 6);
}

#[test]
fn chat_answers_each_line() {
    use std::io::Write;
    let m = synth_model("qwen2", "gpt-2");
    let mut child = Command::new(env!("CARGO_BIN_EXE_arbitre"))
        .args(["chat", "--model", m.to_str().expect("utf8"), "--max-tokens", "4", "--temperature", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"Hello\n\nHow are you?\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2, "one answer per non-empty line");
}

#[test]
fn info_names_template_and_special_tokens() {
    let m = synth_model("phi3", "phi-3");
    let out = arbitre(&["info", "--model", m.to_str().expect("utf8")]);
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in ["architecture: phi3", "Q4_0:", "chat template in use", "<|end|>", "end-of-generation tokens"] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{s}");
    }
}
