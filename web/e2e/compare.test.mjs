// End-to-end: the API panes against a real OpenAI-compatible server (llama-cpp-python serving
// the same fixture as the local pane), failing APIs, and where requests and keys go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, launch, waitForState, text, fixtures, shots, typeWithoutLeaving, commitField } from './harness.mjs';

const python = process.env.PYTHON || 'python3';
const expected = fs.readFileSync(path.join(fixtures, 'stories260K', 'expected_t0_n200.txt'), 'utf8');
const stories = path.join(fixtures, 'stories260K', 'stories260K.gguf');
let server;
let browser;
let llama;
let llamaBase;

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

before(async () => {
  const check = spawnSync(python, ['-c', 'import llama_cpp.server']);
  assert.equal(check.status, 0, `llama-cpp-python[server] is needed: ${check.stderr}`);
  const port = await freePort();
  llama = spawn(python, ['-m', 'llama_cpp.server', '--model', stories, '--host', '127.0.0.1', '--port', String(port),
    '--n_ctx', '512', '--model_alias', 'stories260K'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  llama.stderr.on('data', (d) => { log += d; });
  llamaBase = `http://127.0.0.1:${port}/v1`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${llamaBase}/models`)).ok) break;
    } catch {}
    assert.ok(Date.now() < deadline, `llama-cpp-python server did not start: ${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  llama?.kill();
});

// These tests run stories260K in completion mode (chat=0) from BOS (an empty prompt) unless
// they say otherwise: the page's own default (SmolLM2 in chat mode) has its test in default.test.mjs.
const link = (params) => `${server.base}/?${new URLSearchParams({ chat: 0, prompt: '', ...params })}`;
const storiesUrl = () => `${server.base}/fixtures/stories260K/stories260K.gguf`;
const paneState = (page, n) => page.locator(`[data-testid="api-pane-${n}"]`).getAttribute('data-state');
async function waitPane(page, n, states, timeout = 120_000) {
  await page.waitForFunction(
    ([n, states]) => states.includes(document.querySelector(`[data-testid="api-pane-${n}"]`)?.getAttribute('data-state')),
    [n, states],
    { timeout, polling: 50 },
  );
  return paneState(page, n);
}
async function setField(page, id, value) {
  const el = page.locator(`[data-testid="${id}"]`);
  await el.fill(value);
  await el.dispatchEvent('change');
}

test('llama.cpp server in completion mode answers exactly what the local pane wrote, and the cost is price × usage', async () => {
  const page = await browser.context.newPage();
  const secret = 'sk-arbitre-test-0123456789';
  // allHeaders(), not headers(): the latter gives Chromium's provisional headers, which may
  // lack Authorization when the extra-info event comes late (the key check then failed now and
  // then although the key was sent).
  const seen = [];
  browser.context.on('request', (r) => {
    const entry = (headers) => ({ url: r.url(), headers, body: r.postData() || '' });
    const provisional = () => entry(r.headers());
    const late = new Promise((resolve) => setTimeout(() => resolve(provisional()), 5000).unref());
    seen.push(Promise.race([r.allHeaders().then(entry, provisional), late]));
  });
  await page.goto(link({ model: storiesUrl(), prompt: 'Once upon a time', max_tokens: 120, temperature: 0, backend: 'cpu',
    api: 'llamacpp', api_base: llamaBase, api_model: 'stories260K' }));
  await waitForState(page, ['idle']);
  await setField(page, 'api-key-0', secret);
  await setField(page, 'price-add-provider', 'llamacpp');
  await setField(page, 'price-add-model', 'stories260K');
  await setField(page, 'price-add-input', '2.5');
  await setField(page, 'price-add-output', '10');
  await page.locator('[data-testid="price-add"]').click();
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  assert.equal(await waitPane(page, 0, ['done', 'error']), 'done', await page.locator('[data-testid="api-pane-0"]').innerText());
  await page.screenshot({ path: path.join(shots, '10-compare-llamacpp.png'), fullPage: true });
  const local = await text(page, 'local-output');
  assert.ok(expected.startsWith(`Once upon a time${local}`), 'the local pane continues the reference story');
  // A prompt, not BOS alone: from an empty prompt llama-cpp-python 0.3.36 streams the first
  // token's leading space and returns one token fewer than max_tokens.
  assert.equal(await text(page, 'api-output-0'), local, 'same model, same greedy decoding, same text');

  // llama-cpp-python's server streams no usage: the counts are estimates, and say so.
  const stats = page.locator('[data-testid="api-stats-0"]');
  assert.equal(await stats.getAttribute('data-estimated'), 'true');
  const input = BigInt(await stats.getAttribute('data-input-tokens'));
  const output = BigInt(await stats.getAttribute('data-output-tokens'));
  assert.equal(BigInt(await stats.getAttribute('data-cost-picos')), input * 2_500_000n + output * 10_000_000n);
  await page.screenshot({ path: path.join(shots, '10-compare-llamacpp.png'), fullPage: true });

  const withKey = (await Promise.all(seen)).filter((r) => JSON.stringify(r).includes(secret));
  assert.ok(withKey.length > 0, 'the key was used');
  for (const r of withKey) assert.ok(r.url.startsWith(llamaBase), `the key went to ${r.url}`);
  assert.ok(!page.url().includes(secret), 'no key in the page URL');
  await page.close();
});

test('the cost of an API answer is the price times the usage the server returned', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), max_tokens: 20, temperature: 0, backend: 'cpu',
    api: 'llamacpp', api_base: `${server.base}/fake/ok/v1`, api_model: 'priced-model' }));
  await waitForState(page, ['idle']);
  await setField(page, 'price-add-provider', 'llamacpp');
  await setField(page, 'price-add-model', 'priced-model');
  await setField(page, 'price-add-input', '1.25');
  await setField(page, 'price-add-output', '7');
  await page.locator('[data-testid="price-add"]').click();
  await page.locator('[data-testid="api-run"]').click();
  assert.equal(await waitPane(page, 0, ['done', 'error']), 'done');
  assert.equal(await text(page, 'api-output-0'), 'Once upon a time');
  const stats = page.locator('[data-testid="api-stats-0"]');
  assert.equal(await stats.getAttribute('data-estimated'), 'false');
  assert.equal(await stats.getAttribute('data-input-tokens'), '5');
  assert.equal(await stats.getAttribute('data-output-tokens'), '3');
  // 5 × $1.25/M + 3 × $7/M = $0.00002725 = 27,250,000 pico-dollars.
  assert.equal(await stats.getAttribute('data-cost-picos'), '27250000');
  await page.close();
});

test('a local-only run makes no network request once the model is cached', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'cpu', run: 1 }));
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  const requests = [];
  const listener = (r) => requests.push(r.url());
  browser.context.on('request', listener);
  await server.reset();
  await page.locator('[data-testid="run"]').click();
  await waitForState(page, ['running', 'done']);
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  browser.context.off('request', listener);
  assert.deepEqual(requests, []);
  assert.deepEqual(await server.requests(), { '/__requests': 1 }, 'nothing but this query reached the server');
  assert.match(await text(page, 'privacy-headline'), /0 bytes/);
  await page.close();
});

test('unreachable, 401, 429 and malformed APIs each say what happened; the local pane is unaffected', async () => {
  const closed = await freePort();
  const cases = [
    { base: `http://127.0.0.1:${closed}/v1`, message: /CORS|network|reach/i },
    { base: `${server.base}/fake/401/v1`, message: /key/i },
    { base: `${server.base}/fake/429/v1`, message: /rate.limit[\s\S]*7/i },
  ];
  const params = { model: storiesUrl(), max_tokens: 200, temperature: 0, backend: 'cpu' };
  cases.forEach((c, n) => {
    const s = n === 0 ? '' : String(n);
    Object.assign(params, { [`api${s}`]: 'llamacpp', [`api_base${s}`]: c.base, [`api_model${s}`]: 'x' });
  });
  const page = await browser.context.newPage();
  await page.goto(link(params));
  await waitForState(page, ['idle']);
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error']), 'done');
  assert.equal(await text(page, 'local-output'), expected);
  for (const [n, c] of cases.entries()) {
    assert.equal(await waitPane(page, n, ['done', 'error']), 'error');
    assert.match(await text(page, `api-error-${n}`), c.message);
  }
  await page.screenshot({ path: path.join(shots, '11-api-errors.png'), fullPage: true });
  await page.close();

  const bad = await browser.context.newPage();
  await bad.goto(link({ ...{ model: storiesUrl(), max_tokens: 20, backend: 'cpu' }, api: 'llamacpp', api_base: `${server.base}/fake/malformed/v1`, api_model: 'x' }));
  await waitForState(bad, ['idle']);
  await bad.locator('[data-testid="run"]').click();
  assert.equal(await waitPane(bad, 0, ['done', 'error']), 'error');
  assert.match(await text(bad, 'api-error-0'), /could not read[\s\S]*invalid JSON/i);
  assert.equal(await waitForState(bad, ['done', 'error']), 'done');
  await bad.close();
});

test('text typed into the API and price fields survives a re-render before the field loses focus', async () => {
  // Yew resets a field to its state whenever the component re-renders; fields that updated
  // their state only on `change` lost what was typed if anything re-rendered first (this made
  // the first test above fail now and then, with a lost key or a lost price model).
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), backend: 'cpu', api: 'llamacpp', api_base: llamaBase, api_model: 'stories260K' }));
  await waitForState(page, ['idle']);
  const typed = {
    'api-key-0': 'sk-typed-not-yet-committed',
    'api-model-0': 'typed-model',
    'price-add-provider': 'acme',
    'price-add-model': 'acme-small',
    'price-add-input': '1.25',
    'price-add-output': '5',
    'price-import-url': 'https://example.invalid/prices.json',
  };
  // fill() types (input events) without a change event, as a user does before leaving a field.
  for (const [id, value] of Object.entries(typed)) await page.locator(`[data-testid="${id}"]`).fill(value);
  // Re-render both panels: a second API pane, and the price search (which filters the table
  // on every keystroke).
  await page.locator('[data-testid="api-add"]').click();
  await page.locator('[data-testid="api-pane-1"]').waitFor();
  await page.locator('[data-testid="price-search"]').fill('claude');
  await page.locator('[data-testid="price-search"]').fill('');
  for (const [id, value] of Object.entries(typed)) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).inputValue(), value, `${id} kept what was typed`);
  }
  await page.locator('[data-testid="price-add"]').click();
  await page.locator('[data-testid="price-search"]').fill('acme-small');
  assert.match(await page.locator('[data-testid="price-table"]').innerText(), /acme-small/, 'the typed price was added');
  await page.close();
});

test('numbers typed into the cost panel survive a re-render; one that does not parse stays, marked, and changes nothing', async () => {
  const page = await browser.context.newPage();
  await page.goto(link({ model: storiesUrl(), backend: 'cpu' }));
  await waitForState(page, ['idle']);
  const field = (id) => page.locator(`[data-testid="${id}"]`).first();
  const typeOnly = (id, value) => typeWithoutLeaving(field(id), value);
  const commit = (id) => commitField(field(id));
  const typed = { volume: '12345', 'price-input': '9.5', 'eur-usd-rate': '1.2' };
  for (const [id, value] of Object.entries(typed)) await typeOnly(id, value);
  // Re-render the cost panel without moving focus: tick "energy" by a dispatched click.
  await field('energy-on').dispatchEvent('click');
  await field('energy-kwh').waitFor();
  for (const [id, value] of Object.entries(typed)) {
    assert.equal(await field(id).inputValue(), value, `${id} kept what was typed`);
  }
  for (const id of Object.keys(typed)) await commit(id);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('volume') === '12345');
  assert.equal(await field('price-input').inputValue(), '9.5');
  // Not a count: refused, kept in the field and marked; the volume in force is unchanged.
  await typeOnly('volume', 'lots');
  await commit('volume');
  assert.equal(await field('volume').getAttribute('aria-invalid'), 'true');
  assert.equal(await field('volume').inputValue(), 'lots');
  assert.equal(new URL(page.url()).searchParams.get('volume'), '12345');
  await page.close();
});
