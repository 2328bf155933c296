// The page as a person first meets it: no parameters but greedy decoding and a short answer,
// the default model (SmolLM2-135M-Instruct Q4_1, served beside the page from
// scripts/real-models.sh's cache) in chat mode with the sample question, and Run pressed. And
// where the embedded copy is absent, the page's default falls back to the Hub's Q8_0, or
// stories260K when the Hub cannot be reached either.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launch, waitForState, text, shots, modelsDir, cli } from './harness.mjs';

const modelFile = path.join(modelsDir, 'SmolLM2-135M-Instruct.Q4_1.gguf');
const MAX_TOKENS = 48;
let server;
let browser;

before(async () => {
  assert.ok(fs.existsSync(modelFile), `${modelFile} is missing: run scripts/real-models.sh --default`);
  assert.ok(fs.existsSync(cli), `${cli} is missing: cargo build -p arbitre-cli`);
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** The native CLI's greedy chat answer to `prompt` on the same file. */
function nativeAnswer(prompt) {
  const r = spawnSync(cli, ['generate', '--model', modelFile, '--chat', '--temperature', '0',
    '--max-tokens', String(MAX_TOKENS), '--prompt', prompt], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `arbitre generate failed: ${r.stderr}`);
  return r.stdout;
}

test('the default page answers its sample question with SmolLM2 in chat mode, as the native CLI does', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${server.base}/?temperature=0&max_tokens=${MAX_TOKENS}`);
  await waitForState(page, ['idle']);
  const option = await page.locator('[data-testid="model-select"] option:checked').textContent();
  assert.match(option, /SmolLM2 135M Instruct · Q4_1/);
  assert.ok(await page.getByLabel("Chat (use the model's template)").isChecked(), 'chat mode');
  const prompt = await page.locator('[data-testid="prompt"]').inputValue();
  assert.match(prompt, /^In two sentences, .+\?$/);
  const expected = nativeAnswer(prompt);
  assert.ok(expected.trim().length > 0, 'the CLI answered');

  await page.locator('[data-testid="run"]').click();
  assert.equal(await waitForState(page, ['done', 'error'], 600_000), 'done', await page.locator('body').innerText());
  const output = await text(page, 'local-output');
  assert.ok(output.trim().length > 0, 'an answer');
  assert.doesNotMatch(output, /<\|im_(start|end)\|>/, 'no chat markers in the answer');
  const model = await text(page, 'local-model');
  assert.match(model, /SmolLM2 135M Instruct · llama · Q4_1/, model);
  assert.doesNotMatch(model, /template none/, model);
  const stats = JSON.parse(await page.locator('[data-testid="local-stats"]').getAttribute('data-json'));
  assert.equal(stats.backend, 'cpu', 'no hardware WebGPU here, and the WGSL has no Q4_1');
  assert.ok(stats.prompt_tokens > 20, `the question inside the chat template: ${JSON.stringify(stats)}`);
  assert.ok(stats.generated_tokens > 0 && stats.generated_tokens <= MAX_TOKENS, JSON.stringify(stats));
  await page.screenshot({ path: path.join(shots, '00-default-answer.png'), fullPage: true });
  await page.screenshot({ path: path.join(shots, '00-default-answer-top.png') });
  assert.equal(output, expected, 'the page gives the native CLI\'s greedy answer');
  await page.close();
});

test('without the embedded copy the default is SmolLM2 Q8_0 from the Hub, and stories260K when the Hub is out of reach', async () => {
  const bare = await startServer({ embedded: false });
  try {
    for (const [hub, id, name] of [['up', 'smollm2-135m-instruct-q8_0', /SmolLM2 135M Instruct · Q8_0/], ['down', 'stories260k', /stories260K/]]) {
      const page = await browser.context.newPage();
      // The Hub is never reached from the tests: it answers the page's 4-byte check here.
      await page.route('https://huggingface.co/**', (route) => hub === 'up'
        ? route.fulfill({ status: 206, body: 'GGUF', headers: { 'content-range': 'bytes 0-3/144811360', 'access-control-allow-origin': '*' } })
        : route.abort('internetdisconnected'));
      await page.goto(`${bare.base}/`);
      await page.waitForFunction((id) => new URL(location.href).searchParams.get('model') === id, id, { timeout: 30_000 });
      assert.match(await page.locator('[data-testid="model-select"] option:checked').textContent(), name);
      // stories260K, a base model, runs as before SmolLM2 was the default: completion from BOS.
      assert.equal(await page.getByLabel("Chat (use the model's template)").isChecked(), hub === 'up');
      assert.equal(await page.locator('[data-testid="prompt"]').inputValue() === '', hub === 'down');
      const q41 = page.locator('[data-testid="model-select"] option[value="smollm2-135m-instruct-q4_1"]');
      assert.match(await q41.textContent(), /not served by this site/);
      assert.ok(await q41.evaluate((o) => o.disabled), 'the embedded-only entry cannot be picked here');
      assert.match(await page.locator('body').textContent(), /which default model this site serves/, 'the check is in the network log');
      await page.close();
    }
  } finally {
    bare.stop();
  }
});
