// Serves dist/ on loopback with the right types, the precompressed .br/.gz files, validators
// (ETag, Last-Modified: an unchanged file is a 304) and the headers that make the page
// cross-origin isolated (COOP/COEP), which the threaded bundle's shared memory needs.
// Usage: node web/serve.mjs [--no-isolation] [DIR] [PORT]   (defaults: dist, 8080).
// Also imported by the browser test.

import { createServer } from 'node:http';
import { stat, readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.wgsl': 'text/plain; charset=utf-8',
};

// Best first: brotli, then gzip, as the browser accepts them.
const ENCODINGS = [['br', '.br'], ['gzip', '.gz']];

async function isFile(path) {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The file for a request path inside `root`, or null when it would leave `root`. */
function fileFor(root, urlPath) {
  const path = decodeURIComponent(urlPath.split('?')[0]);
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
  return file === root || file.startsWith(root + sep) ? file : null;
}

/** The headers that let the page share memory with its workers (`crossOriginIsolated`). */
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * A validator for one variant of a file: its size and modification time, and the encoding,
 * since the .br and .gz files are other bytes.
 */
function entityTag(info, encoding) {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`;
}

/** Whether the browser's copy, named by the request's validators, is still current. */
function stillFresh(request, tag, modified) {
  const tags = request.headers['if-none-match'];
  if (tags !== undefined) {
    return tags.split(',').some((each) => ['*', tag].includes(each.trim().replace(/^W\//, '')));
  }
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  return Number.isFinite(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since;
}

async function handle(root, isolate, request, response) {
  const file = fileFor(root, request.url ?? '/');
  if (!file || !(await isFile(file))) {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  // Every file may be kept but is checked again on each load (its name does not change
  // with its content): an unchanged one costs a 304, and the browser keeps what it built
  // from it, the wasm's compiled code included.
  const headers = {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': 'no-cache',
    Vary: 'Accept-Encoding',
    ...(isolate ? ISOLATION : {}),
  };
  const accepted = request.headers['accept-encoding'] ?? '';
  let served = file;
  for (const [encoding, suffix] of ENCODINGS) {
    if (accepted.includes(encoding) && (await isFile(file + suffix))) {
      served = file + suffix;
      headers['Content-Encoding'] = encoding;
      break;
    }
  }
  const info = await stat(served);
  headers.ETag = entityTag(info, headers['Content-Encoding']);
  headers['Last-Modified'] = info.mtime.toUTCString();
  if (stillFresh(request, headers.ETag, info.mtime)) {
    response.writeHead(304, headers).end();
    return;
  }
  const body = await readFile(served);
  headers['Content-Length'] = body.byteLength;
  response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : body);
}

/**
 * Starts serving `dir`; resolves to the server once it listens (port 0 picks a free one).
 * `isolate: false` leaves out COOP/COEP, so the page runs the single-threaded bundle.
 */
export function serve(dir, port = 8080, host = '127.0.0.1', { isolate = true } = {}) {
  const root = resolve(dir);
  const server = createServer((request, response) => {
    handle(root, isolate, request, response).catch((error) => {
      response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${error}\n`);
    });
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => done(server));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const isolate = !args.includes('--no-isolation');
  const [dir = 'dist', port = '8080'] = args.filter((arg) => arg !== '--no-isolation');
  const server = await serve(dir, Number(port), '127.0.0.1', { isolate });
  const { port: bound } = server.address();
  const mode = isolate ? 'cross-origin isolated' : 'not isolated: single-threaded';
  console.log(`sparkbench: serving ${resolve(dir)} on http://127.0.0.1:${bound}/ (${mode}; Ctrl-C stops)`);
}
