// End-to-end tests of the built page (dist/) in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, waitForState, text, fixtures, shots, typeWithoutLeaving, commitField } from './harness.mjs';

const expected = fs.readFileSync(path.join(fixtures, 'stories260K', 'expected_t0_n200.txt'), 'utf8');
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

test('the page opens idle with the default model offered', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${server.base}/`);
  assert.equal(await waitForState(page, ['idle']), 'idle');
  const option = await page.locator('[data-testid="model-select"] option:checked').textContent();
  assert.match(option, /SmolLM2 135M Instruct · Q4_1/);
  assert.ok(await page.getByLabel("Chat (use the model's template)").isChecked(), 'chat mode');
  assert.match(await page.locator('[data-testid="prompt"]').inputValue(), /^In two sentences, .+\?$/);
  await page.screenshot({ path: path.join(shots, '01-idle.png'), fullPage: true });
  await page.close();
});

test('run=1 on CPU prints the reference text byte for byte', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'cpu');
  assert.equal(stats.prompt_tokens, 1);
  assert.ok(stats.generated_tokens > 0 && stats.generated_tokens <= 200, JSON.stringify(stats));
  assert.ok(stats.decode_tps > 0);
  await page.screenshot({ path: path.join(shots, '02-done-cpu.png'), fullPage: true });
  await page.close();
});

test('backend=webgpu runs our WGSL kernels on the browser adapter and prints the same text', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'webgpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error'], 300_000), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'webgpu', await text(page, 'local-backend'));
  assert.match(await text(page, 'local-backend'), /WebGPU/);
  await page.screenshot({ path: path.join(shots, '03-done-webgpu.png'), fullPage: true });
  await page.close();
});

test('backend=auto with only a software WebGPU adapter runs on the CPU and says why', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'auto', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  assert.equal(await text(page, 'local-output'), expected);
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'cpu');
  assert.match(await text(page, 'local-backend'), /software renderer/);
  await page.close();
});

test('a truncated GGUF ends in error with a specific message', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: `${storiesUrl()}?truncate=600000`, max_tokens: 10, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'error');
  const message = await text(page, 'local-error');
  assert.match(message, /truncat|too short|ends before|out of range/i, message);
  await page.screenshot({ path: path.join(shots, '04-error-truncated.png'), fullPage: true });
  await page.close();
});

test('a download cut mid-way resumes with a Range request and still gives the reference text', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  const url = `${storiesUrl()}?cut=400000`;
  await page.goto(link({ model: url, max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  const counts = await server.requests();
  assert.equal(counts['/fixtures/stories260K/stories260K.gguf'], 2, 'one cut request, one resumed request');
  await page.close();
});

test('a second visit reads the model from the browser cache with no network request', async () => {
  const page = await browser.context.newPage();
  const params = { model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 };
  await page.goto(link(params));
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  await page.close();
  await server.reset();
  const again = await browser.context.newPage();
  await again.goto(link(params));
  assert.equal(await waitForState(again, ['done', 'error']), 'done');
  assert.equal(await text(again, 'local-output'), expected);
  const counts = await server.requests();
  assert.equal(counts['/fixtures/stories260K/stories260K.gguf'], undefined, JSON.stringify(counts));
  assert.match(await text(again, 'local-model'), /from browser cache/);
  await again.close();
});

test('a download shows its progress: bytes, percent, speed and time left', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: `${storiesUrl()}?throttle=300000`, max_tokens: 20, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['downloading']), 'downloading');
  const progress = page.locator('[data-testid="load-progress"]');
  await page.waitForFunction(() => /left/.test(document.querySelector('[data-testid="load-progress"]')?.textContent || ''), null, { timeout: 20_000 });
  const label = await progress.textContent();
  assert.match(label, /Downloading/);
  assert.match(label, /of 1\.2 MB/);
  assert.match(label, /\d+%/);
  assert.match(label, /\/s/);
  await page.screenshot({ path: path.join(shots, '05-downloading.png'), fullPage: true });
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  await page.close();
});

test('a local file runs without being uploaded', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  await page.goto(link({ model: 'stories260k', max_tokens: 200, temperature: 0, backend: 'cpu' }));
  await waitForState(page, ['idle']);
  await page.locator('[data-testid="model-file"]').setInputFiles(path.join(fixtures, 'stories260K', 'stories260K.gguf'));
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error']), 'done', await page.locator('body').innerText());
  assert.equal(await text(page, 'local-output'), expected);
  const counts = await server.requests();
  const modelRequests = Object.keys(counts).filter((p) => p.endsWith('.gguf'));
  assert.deepEqual(modelRequests, [], JSON.stringify(counts));
  await page.close();
});

test('dark mode and a phone-sized screen keep the page readable', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), 'dark');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a phone`);
  await page.screenshot({ path: path.join(shots, '06-phone-dark.png'), fullPage: true });
  await page.close();
});

test('a model too big for this browser is refused before any byte is fetched, with the numbers', async () => {
  const page = await browser.context.newPage();
  page.on('request', (r) => assert.ok(!r.url().includes('huggingface.co'), `unexpected request ${r.url()}`));
  await page.goto(link({ model: 'phi-3.5-mini-instruct-q4_k_m', backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'error');
  const message = await text(page, 'local-error');
  assert.match(message, /2\.4 GB/, message);
  assert.match(message, /at most 1\.9 GB/, message);
  await page.screenshot({ path: path.join(shots, '07-too-big.png'), fullPage: true });
  await page.close();
});

test('Stop mid-run ends in done with the partial text', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: `${server.base}/synth/smol135-q4_0.gguf`, max_tokens: 1500, ignore_eos: 1, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['running', 'error'], 180_000), 'running', await page.locator('body').innerText());
  await page.waitForFunction(() => (document.querySelector('[data-testid="local-output"]')?.textContent || '').length > 20, null, { timeout: 120_000 });
  await page.screenshot({ path: path.join(shots, '08-running.png'), fullPage: true });
  await page.locator('[data-testid="stop"]').click();
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  const partial = await text(page, 'local-output');
  assert.ok(partial.length > 20, 'the partial text stays');
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.ok(stats.generated_tokens > 0 && stats.generated_tokens < 1500, JSON.stringify(stats));
  assert.match(await page.locator('[data-testid="local-stats"]').textContent(), /cancelled/);
  await page.close();
});

test('a download whose sha256 differs from the pinned one is refused and not stored', async () => {
  await server.reset();
  const page = await browser.context.newPage();
  const url = `${storiesUrl()}?variant=bad-sha`;
  await page.goto(link({ model: url, sha256: '0'.repeat(64), max_tokens: 10, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'error');
  const message = await text(page, 'local-error');
  assert.match(message, /sha256 mismatch/, message);
  assert.match(message, /270cba1b/, 'the actual digest is shown');
  await page.close();
  // Not cached: a second try downloads again.
  const again = await browser.context.newPage();
  await again.goto(link({ model: url, sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d', max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(again, ['done', 'error']), 'done', await text(again, 'local-pane'));
  assert.equal(await text(again, 'local-output'), expected);
  assert.equal((await server.requests())['/fixtures/stories260K/stories260K.gguf'], 2);
  await again.close();
});

test('a setting being typed survives a re-render; on commit it applies, and one that does not parse stays, marked', async () => {
  // Yew resets an input to its state on every re-render: a setting that reached the state only
  // on `change` lost what was typed whenever anything re-rendered first (a streaming run does,
  // ten times a second).
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), backend: 'cpu' }));
  await waitForState(page, ['idle']);
  await page.locator('details.settings summary').click();
  const field = (label) => page.getByLabel(label, { exact: true });
  const typeOnly = (label, value) => typeWithoutLeaving(field(label), value);
  const commit = (label) => commitField(field(label));
  const typed = { Temperature: '0.35', 'Max tokens': '17', 'Stop strings (comma-separated)': 'The end,' };
  for (const [label, value] of Object.entries(typed)) await typeOnly(label, value);
  // Re-render the page without moving focus: tick "Chat" by a dispatched click.
  await page.getByLabel("Chat (use the model's template)").dispatchEvent('click');
  await page.getByPlaceholder('System message (optional)').waitFor();
  for (const [label, value] of Object.entries(typed)) {
    assert.equal(await field(label).inputValue(), value, `${label} kept what was typed`);
  }
  for (const label of Object.keys(typed)) await commit(label);
  const query = () => new URL(page.url()).searchParams;
  await page.waitForFunction(() => new URL(location.href).searchParams.get('temperature') === '0.35');
  assert.equal(query().get('max_tokens'), '17');
  assert.deepEqual(query().getAll('stop'), ['The end']);
  assert.equal(await field('Stop strings (comma-separated)').inputValue(), 'The end', 'the committed list is shown as parsed');
  // A value that does not parse is refused: it stays in the field, marked, and the old one applies.
  await typeOnly('Seed', '-3');
  await commit('Seed');
  assert.equal(await field('Seed').getAttribute('aria-invalid'), 'true');
  assert.equal(await field('Seed').inputValue(), '-3');
  assert.equal(query().get('seed'), null, 'the seed stayed the default');
  await typeOnly('Seed', '7');
  await commit('Seed');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('seed') === '7');
  assert.equal(await field('Seed').getAttribute('aria-invalid'), null, 'the mark goes once a value is taken');
  await page.close();
});
