//! KV cache reuse across the turns of a chat: a follow-up prefills only what is new, and gives
//! exactly the text a run from scratch over the whole conversation gives (same file, same
//! backend, greedy).

mod common;

use std::path::PathBuf;

use arbitre_engine::{ChatCache, CpuBackend, Engine, Generator, Message, generate::common_prefix};
use common::*;

/// Runs to the end: (text, generated ids, stats.prompt_tokens, stats.prefill_tokens, cache).
fn finish(mut g: Generator<CpuBackend>) -> (String, Vec<u32>, usize, usize, ChatCache<CpuBackend>) {
    let (text, _) = g.run_to_end().expect("run");
    let ids = g.generated().to_vec();
    let (p, f) = (g.stats().prompt_tokens, g.stats().prefill_tokens);
    (text, ids, p, f, g.into_cache())
}

fn two_turns_on_ids(engine: &Engine<CpuBackend>) {
    let opts = greedy(24);
    let first = engine.encode_prompt("Once upon a time").expect("encode");
    let g = Generator::new(engine.model.clone(), engine.tokenizer.clone(), first.clone(), opts.clone()).expect("gen");
    let (_, ids1, p1, f1, cache) = finish(g);
    assert_eq!((p1, f1), (first.len(), first.len()), "a first turn prefills everything");
    assert!(!ids1.is_empty());
    assert_eq!(cache.tokens()[..first.len()], first[..]);

    // Turn 2 extends turn 1 (prompt, answer, then new text).
    let mut second = cache.tokens().to_vec();
    second.extend(engine.tokenizer.encode(" Then the cat said", false, false).expect("encode"));
    let n_cached = cache.tokens().len();
    let g =
        Generator::resume(engine.model.clone(), engine.tokenizer.clone(), Some(cache), second.clone(), opts.clone())
            .expect("resume");
    let (text_reused, ids_reused, p2, f2, cache2) = finish(g);
    let g = Generator::new(engine.model.clone(), engine.tokenizer.clone(), second.clone(), opts.clone()).expect("new");
    let (text_scratch, ids_scratch, p2s, f2s, _) = finish(g);
    assert_eq!(ids_reused, ids_scratch, "reused cache changed the answer");
    assert_eq!(text_reused, text_scratch);
    assert_eq!((p2, p2s, f2s), (second.len(), second.len(), second.len()));
    assert_eq!(f2, second.len() - n_cached, "only the new tokens are prefilled");
    assert!(f2 < p2);

    // Turn 3 diverges inside turn 2's prompt: the cache is cut at the common prefix.
    let mut third = second[..n_cached + 1].to_vec();
    third.extend(engine.tokenizer.encode(" and the dog", false, false).expect("encode"));
    let keep = common_prefix(cache2.tokens(), &third);
    assert!(keep < cache2.tokens().len() && keep < third.len());
    let g =
        Generator::resume(engine.model.clone(), engine.tokenizer.clone(), Some(cache2), third.clone(), opts.clone())
            .expect("resume");
    let (text3, ids3, p3, f3, cache3) = finish(g);
    let g = Generator::new(engine.model.clone(), engine.tokenizer.clone(), third.clone(), opts.clone()).expect("new");
    let (text3s, ids3s, _, _, _) = finish(g);
    assert_eq!((ids3, text3), (ids3s, text3s));
    assert_eq!((p3, f3), (third.len(), third.len() - keep));

    // The same prompt again: everything is cached but the last token is prefilled again.
    let again = third.clone();
    let g = Generator::resume(engine.model.clone(), engine.tokenizer.clone(), Some(cache3), again, opts.clone())
        .expect("resume");
    let (_, ids4, _, f4, _) = finish(g);
    assert_eq!(f4, 1);
    assert_eq!(ids4, ids3s_again(engine, &third, &opts));
}

fn ids3s_again(engine: &Engine<CpuBackend>, prompt: &[u32], opts: &arbitre_engine::GenerateOptions) -> Vec<u32> {
    let g = Generator::new(engine.model.clone(), engine.tokenizer.clone(), prompt.to_vec(), opts.clone()).expect("new");
    finish(g).1
}

#[test]
fn stories260k_follow_ups_reuse_the_cache_and_match_a_fresh_run() {
    two_turns_on_ids(&gguf("stories260K/stories260K.gguf"));
}

#[test]
fn quantized_follow_ups_reuse_the_cache_and_match_a_fresh_run() {
    two_turns_on_ids(&gguf("babyllama/babyllama-tok105-q4_0.gguf"));
    two_turns_on_ids(&gguf("babyllama/babyllama-tok105-q8_0.gguf"));
}

#[test]
fn a_cache_of_another_size_is_dropped() {
    let engine = gguf("stories260K/stories260K.gguf");
    let prompt = engine.encode_prompt("Once upon a time").expect("encode");
    let mut small = greedy(4);
    small.n_ctx = Some(64);
    let g = Generator::new(engine.model.clone(), engine.tokenizer.clone(), prompt.clone(), small).expect("gen");
    let (_, _, _, _, cache) = finish(g);
    let g = Generator::resume(engine.model.clone(), engine.tokenizer.clone(), Some(cache), prompt.clone(), greedy(4))
        .expect("resume");
    let (_, _, p, f, cache) = finish(g);
    assert_eq!((p, f), (prompt.len(), prompt.len()));
    assert_ne!(cache.n_ctx(), 64, "the run made a cache of its own size");
}

/// The page's default model and chat template: two turns of a real conversation.
#[test]
fn smollm2_chat_second_turn_prefills_only_the_new_turn() {
    let dir = std::env::var_os("ARBITRE_MODELS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME or ARBITRE_MODELS")).join(".cache/arbitre/models")
    });
    let path = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `bash scripts/real-models.sh --default` first)", path.display()));
    let engine = Engine::from_gguf_bytes(CpuBackend, bytes).expect("loads");
    let opts = greedy(40);
    let mut messages =
        vec![Message::system("You are a helpful assistant."), Message::user("What is the capital of France?")];
    let (answer1, ids1, p1, f1, cache) = finish(engine.resume_chat(&messages, None, opts.clone()).expect("turn 1"));
    assert_eq!(p1, f1);
    assert!(ids1.len() < 40, "turn 1 ends on its own: {answer1:?}");
    messages.push(Message::assistant(answer1.trim()));
    messages.push(Message::user("And of Italy?"));
    let n_cached = cache.tokens().len();
    let (text2, ids2, p2, f2, _) = finish(engine.resume_chat(&messages, Some(cache), opts.clone()).expect("turn 2"));
    let (text2s, ids2s, p2s, f2s, _) = finish(engine.resume_chat(&messages, None, opts.clone()).expect("scratch"));
    assert_eq!((&text2, &ids2), (&text2s, &ids2s), "turn 2 with the cache differs from scratch");
    assert_eq!((p2, f2s), (p2s, p2s));
    // The whole first turn (prompt and answer) comes from the cache: the answer re-tokenizes
    // to the tokens generated, and only the new turn is prefilled.
    assert_eq!(n_cached, p1 + ids1.len());
    assert_eq!(f2, p2 - n_cached, "prefill {f2} of {p2}, first prompt {p1}, cached {n_cached}");
    assert!(!text2.trim().is_empty());
}
