// Models streamed into GPU buffers (issue 4): on the WebGPU backend the worker hands each
// tensor to the GPU as its bytes arrive, so the file is never whole in wasm memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, waitForState, text, fixtures, shots, repo } from './harness.mjs';

const expected = fs.readFileSync(path.join(fixtures, 'stories260K', 'expected_t0_n200.txt'), 'utf8');
// A TinyLlama-1.1B-shaped Q4_0 model with random weights (scripts/test-e2e.sh writes it).
const bigFile = path.join(repo, 'target', 'synth', 'tiny1b-q4_0.gguf');
let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const storiesUrl = () => `${server.base}/fixtures/stories260K/stories260K.gguf`;
// These tests run stories260K in completion mode (chat=0) from BOS (an empty prompt) unless
// they say otherwise: the page's own default (SmolLM2 in chat mode) has its test in default.test.mjs.
const link = (params) => `${server.base}/?${new URLSearchParams({ chat: 0, prompt: '', ...params })}`;
const wasmMemory = async (page) => Number(await page.locator('[data-testid="local-stats"]').getAttribute('data-wasm-memory'));

test('a 600 MB model streams into GPU buffers: peak wasm memory stays under 25% of the file, from the network and from the cache', async () => {
  const size = fs.statSync(bigFile).size;
  assert.ok(size > 500e6, `the synthetic model has ${size} bytes`);
  const params = { model: `${server.base}/synth/tiny1b-q4_0.gguf`, backend: 'webgpu', max_tokens: 2, ignore_eos: 1, temperature: 0, run: 1 };
  for (const visit of ['network', 'cache']) {
    const page = await browser.context.newPage();
    const warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') warnings.push(m.text()); });
    await page.goto(link(params));
    assert.equal(await waitForState(page, ['done', 'error'], 900_000), 'done', await page.locator('body').innerText());
    const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
    assert.equal(stats.backend, 'webgpu', await text(page, 'local-backend'));
    assert.equal(stats.generated_tokens, 2, JSON.stringify(stats));
    const model = await text(page, 'local-model');
    assert.match(model, /streamed into GPU buffers/, model);
    if (visit === 'cache') assert.match(model, /from browser cache/, `${model}; console: ${warnings.join(' | ')}`);
    const peak = await wasmMemory(page);
    console.log(`${visit}: peak wasm memory ${peak} bytes for a ${size}-byte file (${(100 * peak / size).toFixed(1)}%)`);
    assert.ok(peak > 0, 'the worker reports its wasm memory');
    assert.ok(peak < 0.25 * size, `peak wasm memory ${peak} is not under 25% of ${size}`);
    assert.match(await page.locator('[data-testid="local-stats"]').textContent(), /Wasm memory\s*\d+(\.\d+)? MB/);
    await page.screenshot({ path: path.join(shots, `09-streamed-${visit}.png`), fullPage: true });
    await page.locator('[data-testid="local-pane"]').screenshot({ path: path.join(shots, `09-streamed-${visit}-pane.png`) });
    await page.close();
  }
});

test('a local file streams into GPU buffers and gives the reference text', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  await page.goto(link({ model: 'stories260k', max_tokens: 200, temperature: 0, backend: 'webgpu' }));
  await waitForState(page, ['idle']);
  await page.locator('[data-testid="model-file"]').setInputFiles(path.join(fixtures, 'stories260K', 'stories260K.gguf'));
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  assert.match(await text(page, 'local-model'), /streamed into GPU buffers/);
  await page.close();
});

test('a truncated GGUF streamed to the GPU ends in error with a specific message', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: `${storiesUrl()}?truncate=600000`, max_tokens: 10, backend: 'webgpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error'], 120_000), 'error');
  const message = await text(page, 'local-error');
  assert.match(message, /truncated/i, message);
  await page.close();
});

test('a download cut mid-way resumes into the stream and still gives the reference text', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  await page.goto(link({ model: `${storiesUrl()}?cut=400000&variant=gpu`, max_tokens: 200, temperature: 0, backend: 'webgpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  assert.equal((await server.requests())['/fixtures/stories260K/stories260K.gguf'], 2, 'one cut request, one resumed request');
  await page.close();
});

test('a streamed download whose sha256 differs is refused and not stored', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  const url = `${storiesUrl()}?variant=gpu-bad-sha`;
  await page.goto(link({ model: url, sha256: '0'.repeat(64), max_tokens: 10, backend: 'webgpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error'], 120_000), 'error');
  const message = await text(page, 'local-error');
  assert.match(message, /sha256 mismatch/, message);
  assert.match(message, /270cba1b/, 'the actual digest is shown');
  await page.close();
  const again = await browser.context.newPage();
  await again.goto(link({ model: url, sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d', max_tokens: 200, temperature: 0, backend: 'webgpu', run: 1 }));
  assert.equal(await waitForState(again, ['done', 'error'], 300_000), 'done', await text(again, 'local-pane'));
  assert.equal(await text(again, 'local-output'), expected);
  assert.equal((await server.requests())['/fixtures/stories260K/stories260K.gguf'], 2, 'not stored: downloaded again');
  await again.close();
});

test('a WebGPU device lost mid-run ends the run with an error; the page stays usable and a CPU run works', async () => {
  const page = await browser.context.newPage();
  // debug_lose_device_after=N is a test-only hook: the worker destroys its GPU device after N tokens.
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'webgpu', run: 1, debug_lose_device_after: 5 }));
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'error', await page.locator('body').innerText());
  const message = await text(page, 'local-error');
  assert.match(message, /device was lost/, message);
  const partial = await text(page, 'local-output');
  assert.ok(expected.startsWith(partial) && partial.length > 0, `the tokens before the loss stay: ${JSON.stringify(partial)}`);
  await page.screenshot({ path: path.join(shots, '10-device-lost.png'), fullPage: true });

  // Auto now picks the CPU and says why.
  await page.locator('[data-testid="backend-select"]').selectOption('auto');
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'cpu');
  assert.match(await text(page, 'local-backend'), /device was lost/);

  // An explicit CPU run works too.
  await page.locator('[data-testid="backend-select"]').selectOption('cpu');
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  await page.close();
});
