// Shared set-up of the end-to-end tests: the static server on a free port and headless
// Chromium from the system (flags from DEVELOPERS.md), one fresh profile per browser.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const fixtures = path.resolve(process.env.ARBITRE_FIXTURES || path.join(repo, '..', 'shared', 'fixtures'));
export const shots = path.resolve(process.env.ARBITRE_SCREENSHOTS || path.join(repo, 'target', 'e2e-screenshots'));
fs.mkdirSync(shots, { recursive: true });

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu',
  '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader',
];

// The page's default model (SmolLM2-135M-Instruct Q4_1) lives here, outside the clone:
// scripts/test-e2e.sh sets it from `scripts/real-models.sh --default`.
export const modelsDir = process.env.ARBITRE_MODELS_DIR || path.join(os.homedir(), '.cache', 'arbitre', 'models');
// The native CLI that scripts/test-e2e.sh built (the page must answer as it does).
export const cli = process.env.ARBITRE_CLI
  || path.join(process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'arbitre', 'target'), 'debug', 'arbitre');

/** Starts web/serve.mjs on a free port; resolves to { base, stop, requests, reset }. With
 * `embedded: false` the server has no /models/ folder beside dist/models/: a deployment of
 * dist/ alone, without the default model's embedded copy. */
export async function startServer({ embedded = true } = {}) {
  const args = [path.join(repo, 'web', 'serve.mjs'), '--port', '0', '--fixtures', fixtures, '--synth', path.join(repo, 'target', 'synth')];
  if (embedded) args.push('--models', modelsDir);
  const env = { ...process.env };
  delete env.ARBITRE_MODELS_DIR;
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {
    base,
    stop: () => child.kill(),
    requests: async () => (await fetch(`${base}/__requests`)).json(),
    reset: async () => fetch(`${base}/__reset`),
  };
}

/** Launches headless Chromium with a fresh profile; resolves to { context, close }. */
export async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'arbitre-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // CHROMIUM_EXTRA_FLAGS: space-separated switches added for a run, e.g. `--js-flags=--prof`
    // to profile the page and its worker (see BENCHMARKS.md).
    args: [...CHROMIUM_FLAGS, ...(process.env.CHROMIUM_EXTRA_FLAGS || '').split(' ').filter(Boolean)],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the local pane reaches one of `states`; returns the state. */
export async function waitForState(page, states, timeout = 120_000) {
  const handle = await page.waitForFunction(
    (wanted) => {
      const el = document.querySelector('[data-testid="local-pane"]');
      const s = el && el.getAttribute('data-state');
      return wanted.includes(s) ? s : null;
    },
    states,
    { timeout, polling: 50 },
  );
  return handle.jsonValue();
}

export const text = (page, id) => page.locator(`[data-testid="${id}"]`).textContent();

/** Sets a field's text as typing does (input events, no change event), focus untouched: what a
 * user has typed before leaving the field. */
export async function typeWithoutLeaving(locator, value) {
  await locator.evaluate((el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

/** Commits a field as leaving it or pressing Enter does (a change event). */
export async function commitField(locator) {
  await locator.evaluate((el) => el.dispatchEvent(new Event('change', { bubbles: true })));
}

/** The `n`-th (0-based) turn of `role` in a chat thread (`thread-local`, `thread-api-0`...), as
 * { state, json, raw }. */
export async function turn(page, thread, role, n) {
  return page.evaluate(([thread, role, n]) => {
    const turns = [...document.querySelectorAll(`[data-testid="${thread}"] [data-testid="turn"][data-role="${role}"]`)];
    const t = turns[n];
    if (!t) return null;
    const raw = t.querySelector('[data-testid="answer-raw"]');
    return { state: t.getAttribute('data-state'), json: t.getAttribute('data-json'), raw: raw ? raw.textContent : t.textContent };
  }, [thread, role, n]);
}

/** Waits until answer `n` of each thread is done or failed; returns their states. */
export async function waitAnswers(page, threads, n, timeout = 600_000) {
  await page.waitForFunction(([threads, n]) => threads.every((id) => {
    const t = document.querySelectorAll(`[data-testid="${id}"] [data-testid="turn"][data-role="assistant"]`)[n];
    return t && ['done', 'error'].includes(t.getAttribute('data-state'));
  }), [threads, n], { timeout, polling: 100 });
  return Promise.all(threads.map(async (id) => (await turn(page, id, 'assistant', n)).state));
}

/** Sends `message` to every pane once the Send button allows it. */
export async function send(page, message) {
  await page.locator('[data-testid="chat-input"]').fill(message);
  const button = page.locator('[data-testid="chat-send"]');
  await page.waitForFunction(() => !document.querySelector('[data-testid="chat-send"]')?.disabled, null, { timeout: 600_000 });
  await button.click();
}

/** Registers node:test hooks that check the `needed` files ([path, how to make it] pairs), then
 * start the server and the browser, and stop them at the end; returns an object whose `server`
 * and `browser` are set once started. */
export function serverAndBrowser(needed = []) {
  const env = {};
  before(async () => {
    for (const [file, hint] of needed) assert.ok(fs.existsSync(file), `${file} is missing: ${hint}`);
    env.server = await startServer();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.stop();
  });
  return env;
}
