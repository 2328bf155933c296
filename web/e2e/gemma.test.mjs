// End-to-end: Gemma 3 270M (the real Q4_K_M file from scripts/real-models.sh --gemma, served
// beside the page at /models/) in chat mode on the CPU, with its own template (the file has
// none: the gemma3 fallback), answering as the native CLI does on the same file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, waitForState, text, shots, modelsDir, cli } from './harness.mjs';

const FILE = 'gemma-3-270m-q4_k_m.gguf';
const modelFile = path.join(modelsDir, FILE);
const MAX_TOKENS = 24;
const PROMPT = 'What is the capital of France?';
let server;
let browser;

before(async () => {
  assert.ok(fs.existsSync(modelFile), `${modelFile} is missing: run scripts/real-models.sh --gemma`);
  assert.ok(fs.existsSync(cli), `${cli} is missing: cargo build -p arbitre-cli`);
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test('Gemma 3 270M answers in chat mode in the page as the native CLI does', async () => {
  const r = spawnSync(cli, ['generate', '--model', modelFile, '--chat', '--temperature', '0',
    '--max-tokens', String(MAX_TOKENS), '--prompt', PROMPT], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `arbitre generate failed: ${r.stderr}`);
  const expected = r.stdout;
  assert.match(expected, /Paris/, 'the native answer');

  const page = await browser.context.newPage();
  const params = new URLSearchParams({ model: `${server.base}/models/${FILE}`, chat: 1, prompt: PROMPT,
    temperature: 0, max_tokens: MAX_TOKENS, backend: 'cpu' });
  await page.goto(`${server.base}/?${params}`);
  await waitForState(page, ['idle'], 300_000);
  const model = await text(page, 'local-model');
  assert.match(model, /gemma3/, model);
  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error'], 600_000), 'done', await page.locator('body').innerText());
  const output = await text(page, 'local-output');
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'cpu');
  assert.doesNotMatch(output, /<(start|end)_of_turn>/, 'no chat markers in the answer');
  await page.screenshot({ path: path.join(shots, '23-gemma-chat.png') });
  assert.equal(output, expected, 'the page gives the native CLI\'s greedy answer');
  await page.close();
});
