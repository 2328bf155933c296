// Peer benchmark: wllama (llama.cpp in WebAssembly), single thread, CPU only, on one GGUF file.
//
// URL parameters:
//   lib=2|3            which wllama (npm aliases wllama-2 = @wllama/wllama 2.3.1, wllama-3 = 3.8.1)
//   model=URL          the GGUF file
//   ids=1,2,3          the prompt token ids (the driver passes arbitre's synthetic prompt so every
//                      engine prefills the same tokens); without it prompt_tokens=P of a fixed text
//   text=...           wllama 3 only: the same prompt as text (see runV3)
//   max_tokens=G       tokens generated, end-of-generation ignored, greedy
//   repeat=R, warmup=W timed and untimed runs
//
// Definitions are arbitre's (crates/engine/src/generate.rs): prefill tok/s = P / time to the
// first sampled token; decode tok/s = (G - 1) / time from the first to the last token.
// wllama 2 is driven token by token through its low-level API (decode / samplingSample), the
// same loop as its own createCompletion; wllama 3 only offers the llama-server style
// createCompletion, timed by its own `timings` (llama.cpp's counters) and, as a cross-check,
// by the stream's chunk arrival times.
//
// When done, #result carries data-json = {lib, version, runs: [...], prefill_tps, decode_tps}
// (medians) and #state has data-state="done" (or "error" with the message).

const params = new URLSearchParams(location.search);
const lib = params.get('lib') || '2';
const model = params.get('model');
const maxTokens = Number(params.get('max_tokens') || 64);
const repeat = Number(params.get('repeat') || 3);
const warmup = Number(params.get('warmup') || 1);
const nCtx = Number(params.get('n_ctx') || 512);
const BENCH_TEXT =
  'The quick brown fox jumps over the lazy dog while the committee reviews the quarterly ' +
  'report on invoices, support tickets and contract data, and everyone agrees to meet again next week. ';

const stateEl = document.getElementById('state');
const logEl = document.getElementById('log');
const resultEl = document.getElementById('result');
const log = (msg) => {
  logEl.textContent += msg + '\n';
  console.log(`[wllama-bench] ${msg}`);
};
const setState = (s) => {
  stateEl.dataset.state = s;
  stateEl.textContent = s;
};
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n === 0 ? 0 : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
const quietLogger = { debug() {}, log() {}, warn: (...a) => console.warn(...a), error: (...a) => console.error(...a) };

async function promptIds(w) {
  const given = params.get('ids');
  if (given) return given.split(',').map(Number);
  const n = Number(params.get('prompt_tokens') || 64);
  const body = await w.tokenize(BENCH_TEXT, false);
  const ids = w.getBOS() >= 0 ? [w.getBOS()] : [];
  while (ids.length < n) ids.push(...body.slice(0, n - ids.length));
  return ids.slice(0, Math.max(1, n));
}

// wllama 2.3.1: kvClear, decode(prompt), then sample / accept / decode one token at a time.
async function runV2(w, ids) {
  await w.samplingInit({ temp: 0 });
  await w.kvClear();
  const t0 = performance.now();
  await w.samplingAccept(ids);
  await w.decode(ids, {});
  let { token } = await w.samplingSample();
  const tFirst = performance.now();
  for (let i = 1; i < maxTokens; i++) {
    await w.samplingAccept([token]);
    await w.decode([token], {});
    ({ token } = await w.samplingSample());
  }
  const tEnd = performance.now();
  return {
    prompt_tokens: ids.length,
    generated_tokens: maxTokens,
    ttft_ms: tFirst - t0,
    prefill_tps: ids.length / ((tFirst - t0) / 1e3),
    decode_tps: (maxTokens - 1) / ((tEnd - tFirst) / 1e3),
    total_ms: tEnd - t0,
    timing: 'js',
  };
}

// wllama 3.8.1: one llama-server style completion on the token ids, streamed.
async function runV3(w, ids) {
  let tFirst = null;
  let tLast = null;
  let chunks = 0;
  let timings = null;
  // wllama 3.8.1's createCompletion fails on a token-id prompt (a worker RangeError), so it
  // takes the prompt as text: the driver passes the detokenized ids (`text=`), which llama.cpp
  // tokenizes back to the same ids (checked by the driver; prompt_n is reported).
  const prompt = params.get('text') ?? BENCH_TEXT;
  const t0 = performance.now();
  await w.createCompletion({
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    temp: 0,
    ignore_eos: true,
    cache_prompt: false,
    stream: true,
    onData: (chunk) => {
      const now = performance.now();
      if (chunk.timings) timings = chunk.timings;
      if (chunk.prompt_progress || !chunk.choices || chunk.choices.length === 0) return;
      chunks += 1;
      if (tFirst === null) tFirst = now;
      tLast = now;
    },
  });
  const tEnd = performance.now();
  const js = {
    ttft_ms: tFirst - t0,
    prefill_tps: ids.length / ((tFirst - t0) / 1e3),
    decode_tps: chunks > 1 ? (chunks - 1) / ((tLast - tFirst) / 1e3) : 0,
    chunks,
  };
  const out = { prompt_tokens: timings ? timings.prompt_n : ids.length, generated_tokens: timings ? timings.predicted_n : chunks, total_ms: tEnd - t0, js };
  if (timings) {
    // llama.cpp's own counters: prompt_ms covers the prompt pass; predicted_ms the generation
    // after it, over predicted_n tokens (the first of which came from the prompt pass's logits).
    out.timings = timings;
    out.ttft_ms = timings.prompt_ms;
    out.prefill_tps = timings.prompt_n / (timings.prompt_ms / 1e3);
    out.decode_tps = timings.predicted_n > 1 ? (timings.predicted_n - 1) / (timings.predicted_ms / 1e3) : 0;
    out.timing = 'llama.cpp timings';
  } else {
    Object.assign(out, js, { timing: 'js' });
  }
  return out;
}

async function main() {
  if (!model) throw new Error('missing ?model=URL');
  const base = new URL(`../node_modules/wllama-${lib}/esm/`, import.meta.url).href;
  const mod = await import(base + 'index.js');
  const paths =
    lib === '2'
      ? { 'single-thread/wllama.wasm': base + 'single-thread/wllama.wasm' }
      : { default: base + 'wasm/wllama.wasm' };
  const w = new mod.Wllama(paths, { suppressNativeLog: true, logger: quietLogger });
  if (lib !== '2' && typeof w.setCompat === 'function') w.setCompat(null);
  log(`wllama ${lib}: fetching ${model}`);
  const blob = await (await fetch(model)).blob();
  const loadStart = performance.now();
  const config = { n_ctx: nCtx, n_batch: 512, n_threads: 1 };
  if (lib !== '2') Object.assign(config, { n_gpu_layers: 0, n_parallel: 1 });
  await w.loadModel([blob], config);
  const loadMs = performance.now() - loadStart;
  const threads = typeof w.getNumThreads === 'function' ? w.getNumThreads() : 1;
  const multi = typeof w.isMultithread === 'function' ? w.isMultithread() : false;
  log(`loaded in ${loadMs.toFixed(0)} ms; threads ${threads}, multithread build ${multi}`);
  const ids = await promptIds(w);
  const once = lib === '2' ? runV2 : runV3;
  for (let i = 0; i < warmup; i++) {
    const r = await once(w, ids);
    log(`warm-up: prefill ${r.prefill_tps.toFixed(1)} tok/s, decode ${r.decode_tps.toFixed(1)} tok/s`);
  }
  const runs = [];
  for (let i = 0; i < repeat; i++) {
    const r = await once(w, ids);
    runs.push(r);
    log(`run ${i + 1}: prefill ${r.prefill_tps.toFixed(1)} tok/s, decode ${r.decode_tps.toFixed(1)} tok/s (${r.timing})`);
  }
  const version = lib === '2' ? '2.3.1' : '3.8.1';
  const result = {
    lib: `wllama ${version}`,
    version,
    model,
    threads,
    multithread: multi,
    load_ms: loadMs,
    prompt_tokens: ids.length,
    generated_tokens: maxTokens,
    prefill_tps: median(runs.map((r) => r.prefill_tps)),
    decode_tps: median(runs.map((r) => r.decode_tps)),
    prefill_min: Math.min(...runs.map((r) => r.prefill_tps)),
    prefill_max: Math.max(...runs.map((r) => r.prefill_tps)),
    decode_min: Math.min(...runs.map((r) => r.decode_tps)),
    decode_max: Math.max(...runs.map((r) => r.decode_tps)),
    runs,
  };
  await w.exit();
  resultEl.dataset.json = JSON.stringify(result);
  resultEl.textContent = JSON.stringify(result, null, 1);
  setState('done');
}

setState('running');
main().catch((e) => {
  log(`error: ${e && e.stack ? e.stack : e}`);
  resultEl.dataset.error = String(e && e.message ? e.message : e);
  setState('error');
});
