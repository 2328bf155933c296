// End-to-end: a thinking model's reasoning shown apart (issue 18). The local model is a scripted
// qwen3 (`arbitre synth --script`, written by scripts/test-e2e.sh: it answers any prompt with
// "<think>Two and two make four.</think>Four!"); the API pane is the test server's fake
// OpenAI-compatible API whose content holds a reasoning block its template opened. Each pane
// shows its reasoning collapsed, counted apart from the answer; the quick diff compares the
// answers alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { serverAndBrowser, waitForState, shots, repo, turn, waitAnswers, send } from './harness.mjs';

const modelFile = path.join(repo, 'target', 'synth', 'qwen3-think.gguf');
const env = serverAndBrowser([[modelFile, 'scripts/test-e2e.sh writes it']]);

/** What a thread's `n`-th answer shows: the reasoning's title, whether it is open, its text,
 * the answer as rendered, and the statistics line. */
async function shown(page, thread, n) {
  return page.evaluate(([thread, n]) => {
    const t = document.querySelectorAll(`[data-testid="${thread}"] [data-testid="turn"][data-role="assistant"]`)[n];
    const q = (id) => t.querySelector(`[data-testid="${id}"]`);
    return {
      summary: q('reasoning-summary')?.textContent ?? null,
      open: q('reasoning')?.open ?? null,
      reasoning: t.querySelector('.reasoning-text')?.textContent ?? null,
      answer: q('answer-md')?.textContent ?? null,
      stats: t.querySelector('.turn-stats')?.textContent ?? null,
    };
  }, [thread, n]);
}

test('reasoning shows collapsed and apart, is counted apart, and is left out of the comparison', async () => {
  const page = await env.browser.context.newPage();
  const params = new URLSearchParams({
    model: `${env.server.base}/synth/qwen3-think.gguf`, temperature: 0, max_tokens: 40, backend: 'cpu',
    api: 'llamacpp', api_base: `${env.server.base}/fake/think/v1`, api_model: 'thinker',
  });
  await page.goto(`${env.server.base}/?${params}`);
  await waitForState(page, ['idle']);
  await send(page, 'What is two and two?');
  const threads = ['thread-local', 'thread-api-0'];
  assert.deepEqual(await waitAnswers(page, threads, 0, 300_000), ['done', 'done']);

  const local = await turn(page, 'thread-local', 'assistant', 0);
  assert.equal(local.raw, '<think>Two and two make four.</think>Four!', 'the scripted model said its script');
  const stats = JSON.parse(local.json);
  // <think> Two ␣and ␣two ␣make ␣four . </think> | Four !
  assert.equal(stats.generated_tokens, 10, local.json);
  assert.equal(stats.reasoning_tokens, 8, local.json);

  const l = await shown(page, 'thread-local', 0);
  assert.deepEqual(l, { summary: 'Reasoning · 8 tokens', open: false, reasoning: 'Two and two make four.', answer: 'Four!', stats: l.stats });
  assert.match(l.stats, /10 tok out \(8 reasoning\)/);

  const a = await shown(page, 'thread-api-0', 0);
  // 46 of the content's 51 characters come before the answer: ~18 of its 20 tokens.
  assert.deepEqual(a, { summary: 'Reasoning · ~18 tokens', open: false, reasoning: 'Two and two make four, said plainly.', answer: 'Four!', stats: a.stats });
  assert.match(a.stats, /20 tok out \(~18 reasoning\)/);
  const apiStats = JSON.parse((await turn(page, 'thread-api-0', 'assistant', 0)).json);
  assert.equal(apiStats.reasoning_tokens, 18);
  assert.equal(apiStats.reasoning_estimated, true);

  // The quick diff compares the answers without their reasoning: the same answer.
  const diff = page.locator('[data-testid="diff-stats"]');
  await diff.waitFor({ timeout: 30_000 });
  assert.equal(await diff.getAttribute('data-jaccard'), '1.0000', await diff.textContent());

  // Opened, the reasoning reads as text; the raw toggle shows the text as generated.
  const localTurn = page.locator('[data-testid="thread-local"] [data-testid="turn"][data-role="assistant"]');
  await localTurn.locator('[data-testid="reasoning-summary"]').click();
  assert.equal(await localTurn.locator('[data-testid="reasoning"]').evaluate((d) => d.open), true);
  await page.locator('[data-testid="chat-panel"]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, '22-reasoning.png') });
  await localTurn.locator('[data-testid="answer-raw-toggle"]').click();
  assert.equal(await localTurn.locator('[data-testid="reasoning"]').count(), 0, 'raw shows no reasoning box');
  assert.equal(await localTurn.locator('[data-testid="answer-raw"]').isVisible(), true);
  await page.close();
});

test('thinking=0 sets the template\'s thinking switch: the prompt holds an empty reasoning block', async () => {
  const prompts = {};
  for (const thinking of [null, '0']) {
    const page = await env.browser.context.newPage();
    const params = new URLSearchParams({ model: `${env.server.base}/synth/qwen3-think.gguf`, temperature: 0, max_tokens: 40, backend: 'cpu' });
    if (thinking !== null) params.set('thinking', thinking);
    await page.goto(`${env.server.base}/?${params}`);
    await waitForState(page, ['idle']);
    await send(page, 'What is two and two?');
    assert.deepEqual(await waitAnswers(page, ['thread-local'], 0, 300_000), ['done']);
    prompts[thinking ?? 'default'] = JSON.parse((await turn(page, 'thread-local', 'assistant', 0)).json).prompt_tokens;
    assert.equal(new URL(page.url()).searchParams.get('thinking'), thinking, 'the link keeps the switch');
    await page.close();
  }
  // "<think>\n\n</think>\n\n" after the assistant's header: a few more prompt tokens.
  assert.ok(prompts['0'] > prompts.default, JSON.stringify(prompts));
});

