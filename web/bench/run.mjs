// Browser half of scripts/bench.sh: in one headless Chromium (the e2e suite's flags), for each
// model file, runs
//   - arbitre's page in bench mode on the CPU (wasm simd128, 1 thread): one warm-up run, then
//     `repeat` runs by pressing Run again on the same page;
//   - wllama 2.3.1 and 3.8.1, single thread, through web/bench/index.html;
//   - last, arbitre's page with backend=webgpu (informational: one run, what the page says it
//     used).
// Writes one JSON object: { chromium, results: { "<file>": { arbitre_cpu, arbitre_webgpu,
// wllama2, wllama3 } } }.
//
//   node web/bench/run.mjs --models target/synth/a.gguf,target/synth/b.gguf --ids 1,2,3 \
//     [--text-file prompt.txt] [--prompt-tokens 64] [--gen-tokens 64] [--repeat 3] [--out target/bench/browser.json]
//     [--skip webgpu,wllama3]
import fs from 'node:fs';
import path from 'node:path';
import { launch, startServer } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const models = opt('models', '').split(',').filter(Boolean);
const ids = opt('ids', '');
// The same prompt as text, for wllama 3 (which cannot take token ids); from --text-file.
const promptText = opt('text-file', '') ? fs.readFileSync(opt('text-file', ''), 'utf8') : '';
const P = Number(opt('prompt-tokens', 64));
const G = Number(opt('gen-tokens', 64));
const R = Number(opt('repeat', 3));
const out = opt('out', '');
const skip = new Set(opt('skip', '').split(',').filter(Boolean));
const TIMEOUT = Number(opt('timeout-s', 600)) * 1000;
// The WebGPU run is informational (SwiftShader here: a GPU emulated on the CPU, very slow).
const WEBGPU_TIMEOUT = Number(opt('webgpu-timeout-s', 90)) * 1000;
if (models.length === 0) {
  console.error('usage: node web/bench/run.mjs --models a.gguf[,b.gguf] --ids 1,2,3 [...]');
  process.exit(2);
}
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n === 0 ? 0 : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
const say = (msg) => console.error(`[bench-browser] ${msg}`);

/** Counts the local pane's transitions to "done"/"error", so that repeated runs can be awaited. */
async function watchPane(page) {
  await page.evaluate(() => {
    window.__benchDone = 0;
    const el = document.querySelector('[data-testid="local-pane"]');
    const seen = () => {
      const s = el.getAttribute('data-state');
      if (s === 'done' || s === 'error') window.__benchDone += 1;
    };
    new MutationObserver(seen).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  });
}

async function paneResult(page) {
  const state = await page.getAttribute('[data-testid="local-pane"]', 'data-state');
  const backend = ((await page.innerText('[data-testid="local-backend"]').catch(() => '')) || '')
    .split('\n').map((l) => l.trim()).filter(Boolean).join(' — ');
  if (state !== 'done') {
    const error = ((await page.textContent('[data-testid="local-error"]').catch(() => '')) || '').trim();
    return { state, backend_line: backend, error };
  }
  const json = await page.getAttribute('[data-testid="local-stats"]', 'data-json');
  return { state, backend_line: backend, stats: JSON.parse(json) };
}

/** A page whose navigations and clicks wait up to 3 minutes: loading a 1B model can keep both
 * cores of a small machine busy longer than Playwright's default 30 s. */
async function benchPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(Math.min(TIMEOUT, 180_000));
  return page;
}

async function arbitrePage(context, base, file, backend, runs, timeout = TIMEOUT) {
  const page = await benchPage(context);
  const url =
    `${base}/?model=${encodeURIComponent('/synth/' + path.basename(file))}&bench=1&prompt_tokens=${P}` +
    `&max_tokens=${G}&ignore_eos=1&temperature=0&backend=${backend}&run=1`;
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  try {
    await page.goto(url);
    // The first run (run=1 starts it): warm-up for the CPU, the measurement for WebGPU.
    const ended = await page
      .waitForFunction(
        () => ['done', 'error'].includes(document.querySelector('[data-testid="local-pane"]')?.getAttribute('data-state')),
        null,
        { timeout, polling: 100 },
      )
      .then(() => true, () => false);
    if (!ended) {
      // Still running: say how far it got (tokens so far in the output) and what backend it used.
      const r = await paneResult(page);
      const out = ((await page.textContent('[data-testid="local-output"]').catch(() => '')) || '').length;
      return { url, ...r, state: 'timeout', error: `not done after ${timeout / 1000} s (state ${r.state}, ${out} chars of output)`, runs: [] };
    }
    const first = await paneResult(page);
    if (runs === 0 || first.state !== 'done') return { url, ...first, runs: first.stats ? [first.stats] : [] };
    await watchPane(page);
    const all = [];
    for (let i = 0; i < runs; i++) {
      await page.click('[data-testid="run"]');
      await page.waitForFunction((n) => window.__benchDone > n, i, { timeout: TIMEOUT, polling: 50 });
      const r = await paneResult(page);
      if (r.state !== 'done') return { url, ...r, runs: all };
      all.push(r.stats);
      say(`  run ${i + 1}: prefill ${r.stats.prefill_tps.toFixed(1)} tok/s, decode ${r.stats.decode_tps.toFixed(1)} tok/s`);
    }
    return {
      url,
      state: 'done',
      backend_line: first.backend_line,
      warmup: first.stats,
      runs: all,
      prefill_tps: median(all.map((s) => s.prefill_tps)),
      decode_tps: median(all.map((s) => s.decode_tps)),
      prefill_min: Math.min(...all.map((s) => s.prefill_tps)),
      prefill_max: Math.max(...all.map((s) => s.prefill_tps)),
      decode_min: Math.min(...all.map((s) => s.decode_tps)),
      decode_max: Math.max(...all.map((s) => s.decode_tps)),
    };
  } catch (e) {
    return { url, state: 'failed', error: String(e.message || e), console: consoleLines.slice(-20) };
  } finally {
    await page.close();
  }
}

async function wllama(context, base, file, lib) {
  const page = await benchPage(context);
  const url =
    `${base}/web/bench/?lib=${lib}&model=${encodeURIComponent('/synth/' + path.basename(file))}` +
    `&ids=${ids}&prompt_tokens=${P}&max_tokens=${G}&repeat=${R}&warmup=1` +
    (lib === '3' && promptText ? `&text=${encodeURIComponent(promptText)}` : '');
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  try {
    await page.goto(url);
    await page.waitForFunction(
      () => ['done', 'error'].includes(document.getElementById('state')?.dataset.state),
      null,
      { timeout: TIMEOUT, polling: 100 },
    );
    const state = await page.getAttribute('#state', 'data-state');
    if (state !== 'done') {
      return { url, state, error: await page.getAttribute('#result', 'data-error'), console: consoleLines.slice(-20) };
    }
    const r = JSON.parse(await page.getAttribute('#result', 'data-json'));
    return { url, state, ...r };
  } catch (e) {
    return { url, state: 'failed', error: String(e.message || e), console: consoleLines.slice(-20) };
  } finally {
    await page.close();
  }
}

const server = await startServer();
const browser = await launch();
const result = { results: {} };
try {
  const probe = await browser.context.newPage();
  result.chromium = await probe.evaluate(() => navigator.userAgent);
  result.webgpu_adapter = await probe.evaluate(async () => {
    if (!navigator.gpu) return null;
    const a = await navigator.gpu.requestAdapter();
    if (!a) return null;
    const i = a.info || {};
    return `${i.vendor || ''} ${i.architecture || ''} ${i.device || ''} ${i.description || ''}`.trim() || 'adapter';
  }).catch(() => null);
  await probe.close();
  for (const file of models) {
    const name = path.basename(file);
    const r = {};
    say(`${name}: arbitre page, CPU`);
    r.arbitre_cpu = await arbitrePage(browser.context, server.base, file, 'cpu', R);
    for (const lib of ['2', '3']) {
      if (skip.has(`wllama${lib}`)) continue;
      say(`${name}: wllama ${lib}`);
      r[`wllama${lib}`] = await wllama(browser.context, server.base, file, lib);
      const w = r[`wllama${lib}`];
      say(w.state === 'done' ? `  prefill ${w.prefill_tps.toFixed(1)} tok/s, decode ${w.decode_tps.toFixed(1)} tok/s` : `  ${w.state}: ${w.error}`);
    }
    // The informational WebGPU run goes last: when it times out, the emulated GPU keeps both
    // cores busy for a while after its page is closed, and a 1B model's queue took the
    // following wllama page past its navigation timeout.
    if (!skip.has('webgpu')) {
      say(`${name}: arbitre page, backend=webgpu`);
      r.arbitre_webgpu = await arbitrePage(browser.context, server.base, file, 'webgpu', 0, WEBGPU_TIMEOUT);
      await new Promise((res) => setTimeout(res, 15000)); // let the emulated GPU's queue drain
      say(`  -> ${r.arbitre_webgpu.state}: ${r.arbitre_webgpu.backend_line} ${r.arbitre_webgpu.error || ''}`);
    }
    result.results[name] = r;
  }
} finally {
  await browser.close();
  server.stop();
}
const text = JSON.stringify(result, null, 1);
if (out) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text + '\n');
  say(`wrote ${out}`);
} else {
  console.log(text);
}
