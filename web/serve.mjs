// Static server for the built page (dist/) and, in development and tests, the shared fixtures.
//
//   node web/serve.mjs [--port 8080] [--dist dist] [--fixtures ../shared/fixtures] [--models DIR]
//
// `--models DIR` (or $ARBITRE_MODELS_DIR) serves the files of DIR at /models/ beside the page,
// after those of dist/models/: the embedded default model (SmolLM2-135M-Instruct Q4_1, which
// scripts/real-models.sh --default puts in $HOME/.cache/arbitre/models) is served from there
// and never copied into dist/.
//
// It also serves web/bench/ (the peer benchmark page) and web/node_modules/wllama-*/ at /web/.
//
// It speaks HTTP Range (the page resumes cut downloads with it) and, for the end-to-end tests
// only, can misbehave on request: `?cut=N` sends N bytes of the first full response for that
// URL and then drops the connection; `?truncate=N` serves the file as if it were N bytes long;
// `?throttle=B` sends B bytes per second.
// /fake/<ok|401|429|500|malformed|evil|think>/v1/... imitates an OpenAI-compatible API (`evil`: a
// chat answer full of HTML, script and image URLs pointing at /leak/).
// GET /__requests returns how many requests each path received (the tests assert a second
// visit reads the model from the browser cache, with no request).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const port = Number(opt('port', process.env.PORT || 8080));
const host = opt('host', '127.0.0.1');
const dist = path.resolve(opt('dist', path.join(repo, 'dist')));
const fixtures = path.resolve(opt('fixtures', process.env.ARBITRE_FIXTURES || path.join(repo, '..', 'shared', 'fixtures')));
// Generated models (e.g. `arbitre synth` output for benchmarks and tests), served at /synth/.
const synth = path.resolve(opt('synth', process.env.ARBITRE_SYNTH_DIR || path.join(repo, 'target', 'synth')));
// Models served beside the page at /models/ when dist/models/ does not have them.
const modelsOpt = opt('models', process.env.ARBITRE_MODELS_DIR || '');
const models = modelsOpt ? path.resolve(modelsOpt) : null;

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8',
};
const counts = new Map();
const cutDone = new Set();

function resolve(urlPath) {
  if (models && urlPath.startsWith('/models/')) {
    return within(dist, urlPath) || within(models, urlPath.slice('/models'.length));
  }
  let root = dist;
  let rel = urlPath;
  if (urlPath.startsWith('/fixtures/')) {
    root = fixtures;
    rel = urlPath.slice('/fixtures'.length);
  } else if (urlPath.startsWith('/synth/')) {
    root = synth;
    rel = urlPath.slice('/synth'.length);
  } else if (urlPath.startsWith('/web/bench/') || urlPath.startsWith('/web/node_modules/wllama-')) {
    // The peer benchmark page (web/bench/) and the wllama packages it loads.
    root = path.join(repo, 'web');
    rel = urlPath.slice('/web'.length);
  }
  return within(root, rel);
}

/** The file at `rel` under `root` (a directory's index.html), or null; never outside `root`. */
function within(root, rel) {
  const file = path.resolve(root, '.' + decodeURIComponent(rel));
  if (!file.startsWith(root + path.sep) && file !== root) return null;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      const index = path.join(file, 'index.html');
      return fs.existsSync(index) ? index : null;
    }
    return file;
  } catch {
    return null;
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${req.headers.host || 'localhost'}`);
  counts.set(url.pathname, (counts.get(url.pathname) || 0) + 1);
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'content-length, content-range, accept-ranges');
  res.setHeader('cache-control', 'no-store');
  if (url.pathname === '/__requests') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(Object.fromEntries(counts)));
    return;
  }
  if (url.pathname === '/__reset') {
    counts.clear();
    cutDone.clear();
    res.end('ok');
    return;
  }
  if (url.pathname.startsWith('/fake/')) {
    fakeApi(req, res, url.pathname.split('/')[2]);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  const file = resolve(url.pathname);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
    return;
  }
  let size = fs.statSync(file).size;
  const truncate = url.searchParams.get('truncate');
  if (truncate !== null) size = Math.min(size, Number(truncate));
  const headers = { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'accept-ranges': 'bytes' };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range && /^bytes=(\d*)-(\d*)$/.exec(req.headers.range);
  if (range) {
    start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
    end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size || start > end) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['content-length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const cut = url.searchParams.get('cut');
  const key = url.pathname + url.search;
  if (cut !== null && !range && !cutDone.has(key)) {
    cutDone.add(key);
    const stream = fs.createReadStream(file, { start, end: Math.min(end, start + Number(cut) - 1) });
    stream.on('data', (chunk) => res.write(chunk));
    stream.on('end', () => setTimeout(() => res.socket && res.socket.destroy(), 50));
    return;
  }
  const throttle = Number(url.searchParams.get('throttle') || 0);
  if (throttle > 0) {
    // Bytes per second, in 10 chunks a second: lets tests watch a download progress.
    const stream = fs.createReadStream(file, { start, end, highWaterMark: Math.max(1, Math.floor(throttle / 10)) });
    stream.on('data', (chunk) => {
      stream.pause();
      res.write(chunk);
      setTimeout(() => stream.resume(), 100);
    });
    stream.on('end', () => res.end());
    res.on('close', () => stream.destroy());
    return;
  }
  fs.createReadStream(file, { start, end }).pipe(res);
});

// A misbehaving OpenAI-compatible API for the error tests: /fake/<mode>/v1/... answers every
// call with HTTP 401, 429 (Retry-After: 7), 500, or a malformed event stream; `ok`, `evil`
// (HTML and script in Markdown) and `think` (a reasoning block before the answer) stream a
// fixed answer.
function fakeApi(req, res, mode) {
  res.setHeader('access-control-allow-headers', 'authorization, content-type, x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access');
  res.setHeader('access-control-allow-methods', 'POST, GET, OPTIONS');
  res.setHeader('access-control-expose-headers', 'retry-after');
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  req.resume();
  const error = (status, message, extra = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify({ error: { message, type: 'fake', code: status } }));
  };
  if (mode === '401') error(401, 'Incorrect API key provided.');
  else if (mode === '429') error(429, 'Rate limit reached for requests.', { 'retry-after': '7' });
  else if (mode === '500') error(500, 'The server had an error while processing your request.');
  else if (mode === 'ok') {
    // A well-behaved stream that reports its usage in the last chunk, like OpenAI's.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of ['Once', ' upon', ' a time']) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: piece, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: '', finish_reason: 'length' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  } else if (mode === 'evil') {
    // A chat answer trying to load and run things (the Markdown safety test): every URL points
    // back here under /leak/, so a request for one would show in /__requests.
    const leak = `http://${req.headers.host}/leak`;
    const answer = [
      'Here you go.\n\n',
      `<img src="${leak}/img-onerror.png" onerror="window.__pwned = 'img'">\n\n`,
      "<script>window.__pwned = 'script'</script>\n\n",
      `<iframe src="${leak}/iframe.html"></iframe>\n\n`,
      `![tracking pixel](${leak}/md-image.png)\n\n`,
      "[click me](javascript:window.__pwned='link')\n\n",
      '```js\nconsole.log("<b>code</b>")\n```\n',
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of answer) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 60, total_tokens: 72 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  } else if (mode === 'think') {
    // A thinking model behind an OpenAI-compatible server whose chat template opened the
    // reasoning block: the content holds the reasoning, then `</think>`, then the answer.
    const answer = ['Two and two', ' make four, said plainly.', '</think>', '\n\nFour!'];
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of answer) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  } else if (mode === 'malformed') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"text":"Once"}]}\n\n');
    res.end('data: {"choices": [ this is not json\n\n');
  } else error(404, `unknown fake mode ${mode}`);
}

server.listen(port, host, () => {
  const shown = fs.existsSync(fixtures) ? `, fixtures from ${fixtures} at /fixtures/` : '';
  const beside = models ? `, models from ${models} at /models/` : '';
  console.log(`arbitre: serving ${dist} at http://${host}:${server.address().port}/${shown}${beside}`);
});
