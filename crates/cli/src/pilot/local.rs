//! The local pane: every task through the engine, one after the other, with the model's chat
//! template.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use arbitre_chat::ChatTemplate;
use arbitre_engine::{Backend, Engine, GenerateOptions, Message, SamplingParams, Step};
use arbitre_pilot::{Measures, ResultRow, Task};

use super::{Progress, RunSettings};

/// Runs every task on `engine` and scores the answers.
pub(crate) fn run_pane<B: Backend>(
    mut engine: Engine<B>,
    chat_template: Option<&str>,
    pane: &str,
    tasks: &[Task],
    settings: &RunSettings,
) -> Result<Vec<ResultRow>> {
    if let Some(name) = chat_template {
        engine.chat_template = Ok(ChatTemplate::fallback(name).with_context(|| format!("--chat-template {name}"))?);
    }
    if let Err(e) = &engine.chat_template {
        bail!("the local model's chat template cannot be used ({e}); pick one with --chat-template");
    }
    let options = GenerateOptions {
        // Temperature 0 is greedy; the other knobs stay at the engine's defaults.
        sampling: SamplingParams {
            temperature: settings.temperature,
            seed: settings.seed,
            ..SamplingParams::default()
        },
        max_tokens: settings.max_tokens,
        ..GenerateOptions::default()
    };
    let progress = Progress::new(pane, tasks.len());
    let mut rows = Vec::with_capacity(tasks.len());
    for task in tasks {
        let row = match run_task(&engine, task, settings, options.clone()) {
            Ok((answer, m)) => ResultRow::scored(task, pane, &answer, m),
            Err((e, m)) => ResultRow::failed(&task.id, pane, &format!("{e:#}"), m),
        };
        progress.record(&row);
        rows.push(row);
    }
    Ok(rows)
}

type Failure = (anyhow::Error, Measures);

fn run_task<B: Backend>(
    engine: &Engine<B>,
    task: &Task,
    settings: &RunSettings,
    options: GenerateOptions,
) -> std::result::Result<(String, Measures), Failure> {
    let messages: Vec<Message> = settings.messages(task).into_iter().map(|m| Message::new(m.role, m.content)).collect();
    let started = Instant::now();
    let mut run = engine.generate_chat(&messages, options).map_err(|e| (e.into(), Measures::default()))?;
    let mut answer = String::new();
    loop {
        match run.step() {
            Ok(Step::Token { text, .. }) => answer.push_str(&text),
            Ok(Step::Done { text, .. }) => {
                answer.push_str(&text);
                break;
            }
            Err(e) => return Err((e.into(), measures(run.stats(), started))),
        }
    }
    Ok((answer, measures(run.stats(), started)))
}

fn measures(s: &arbitre_engine::GenStats, started: Instant) -> Measures {
    Measures {
        latency_ms: Some(started.elapsed().as_millis() as u64),
        ttft_ms: (s.generated_tokens > 0 || s.ttft_ms > 0.0).then(|| s.ttft_ms.round() as u64),
        tokens_in: Some(s.prompt_tokens as u64),
        tokens_out: Some(s.generated_tokens as u64),
        // The local model costs nothing per request.
        cost_usd: Some(0.0),
    }
}
