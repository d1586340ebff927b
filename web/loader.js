// sparkbench loader: checks the browser, downloads and compiles the wasm with a progress bar,
// then starts the app and exposes `window.sparkbench`.

// The smallest module that uses SIMD: one function returning `v128.const 0`.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, // code: no locals, v128.const
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0x0b, // end
]);

const $ = (id) => document.getElementById(id);

function showError(message) {
  const panel = $('sparkbench-error');
  if (panel.hidden) {
    panel.textContent = message;
    panel.hidden = false;
  }
}

window.addEventListener('error', (event) => showError(`sparkbench stopped: ${event.message}`));
window.addEventListener('unhandledrejection', (event) =>
  showError(`sparkbench stopped: ${event.reason?.message ?? event.reason}`));

/** Names of the features this browser lacks, with why sparkbench needs each. */
function missingFeatures() {
  const missing = [];
  if (!document.createElement('canvas').getContext('webgl2')) {
    missing.push(['WebGL2', 'the particles are drawn with WebGL2']);
  }
  if (typeof WebAssembly !== 'object' || !WebAssembly.validate(SIMD_PROBE)) {
    missing.push(['WebAssembly SIMD', 'the simulation runs on 128-bit SIMD']);
  }
  return missing;
}

function showMissing(missing) {
  $('loading').hidden = true;
  const list = $('missing-list');
  for (const [name, why] of missing) {
    const item = document.createElement('li');
    const strong = document.createElement('strong');
    strong.textContent = name;
    item.append(strong, ` (${why})`);
    list.append(item);
  }
  $('missing').hidden = false;
  document.body.dataset.state = 'unsupported';
}

function setProgress(fraction, text) {
  $('progress').value = fraction;
  $('status').textContent = text;
}

const mb = (bytes) => (bytes / 1e6).toFixed(1);

/**
 * Fetches the wasm and compiles it while it streams in. The progress bar counts the
 * uncompressed bytes against `build.json`'s size (Content-Length would be the compressed size).
 */
async function compileWithProgress(url, totalBytes) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  let received = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      received += chunk.byteLength;
      setProgress(Math.min(received / totalBytes, 1) * 0.9,
        `Downloading ${mb(received)} of ${mb(totalBytes)} MB…`);
      controller.enqueue(chunk);
    },
    flush() {
      setProgress(0.95, 'Compiling…');
    },
  }));
  const streamed = new Response(counted, { headers: { 'Content-Type': 'application/wasm' } });
  return WebAssembly.compileStreaming(streamed);
}

async function main() {
  const missing = missingFeatures();
  if (missing.length > 0) {
    showMissing(missing);
    return;
  }
  document.body.dataset.state = 'loading';
  const build = await (await fetch('./build.json')).json();
  const module = await compileWithProgress(`./${build.wasm}`, build.wasm_bytes);
  setProgress(1, 'Starting…');
  const bindings = await import(`./${build.js}`);
  const { stats, checksum, bench, memory_check, alloc_bench, capture } = bindings;
  window.sparkbench = { stats, checksum, bench, memory_check, alloc_bench, capture };
  await bindings.default({ module_or_path: module });
  // The Rust `start` function starts the app in the canvas.
  bindings.start();
  $('loading').hidden = true;
  $('sparkbench-canvas').focus();
  document.body.dataset.state = 'running';
}

main().catch((error) => showError(`sparkbench could not start: ${error?.message ?? error}`));
