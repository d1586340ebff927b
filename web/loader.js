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

/** Most kernel workers the page starts: with the main thread, eight cores. */
const MAX_WORKERS = 7;
/** How long the workers may take to instantiate the module before the page goes on without. */
const WORKERS_START_MS = 20000;

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

// The notice for unusable URL parameters (filled in by the app) closes with its button.
$('sparkbench-notice-close').addEventListener('click', () => { $('sparkbench-notice').hidden = true; });

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

/** Records a start-up mark (the app reads them at its first frame: perf/startup.rs). */
const mark = (name) => performance.mark(`sparkbench:${name}`);

/**
 * Fetches the wasm and compiles it while it streams in. The module compiles from the fetch's
 * own response, so the browser can cache the compiled code with it and a later visit skips
 * most of the compile; a clone of the body counts the progress, against `build.json`'s
 * uncompressed size (Content-Length would be the compressed size).
 */
async function compileWithProgress(url, totalBytes) {
  mark('download-start');
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  const [module] = await Promise.all([
    WebAssembly.compileStreaming(response),
    countDownload(response.clone().body, totalBytes),
  ]);
  mark('compiled');
  return module;
}

/** Reads `body` to its end, showing the bytes received; marks when the last one arrives. */
async function countDownload(body, totalBytes) {
  const reader = body.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    setProgress(Math.min(received / totalBytes, 1) * 0.9,
      `Downloading ${mb(received)} of ${mb(totalBytes)} MB…`);
  }
  mark('downloaded');
  setProgress(0.95, 'Compiling…');
}

/**
 * Measures the display's refresh period from animation frames while the module downloads
 * and compiles; the function returned stops and gives the lower decile of the gaps between
 * frames in milliseconds (undefined with fewer than 5). Frames start on the display's
 * refreshes, so a gap is a whole number of periods; a main thread busy with the load skips
 * some, and the median gap was two periods (33.3 ms at 60 Hz) once in the Chromium suite.
 * A capacity search takes the period into its limit (src/capture/capacity.rs).
 */
function watchRefresh() {
  const gaps = [];
  let last;
  let frame = requestAnimationFrame(function tick(now) {
    if (last !== undefined && gaps.length < 240) gaps.push(now - last);
    last = now;
    frame = requestAnimationFrame(tick);
  });
  return () => {
    cancelAnimationFrame(frame);
    if (gaps.length < 5) return undefined;
    gaps.sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 10)];
  };
}

/**
 * Which bundle to run, with how many kernel workers, and why it runs on one thread if it
 * does: the threaded bundle (mt/) where the page is cross-origin isolated and the machine
 * has more than one core, with min(cores - 1, 7) workers, or `?workers=N` (0 to 7; 0 runs
 * the threaded bundle with none).
 */
async function chooseBundle() {
  const asked = Number.parseInt(new URLSearchParams(location.search).get('workers') ?? '', 10);
  const cores = navigator.hardwareConcurrency ?? 1;
  const chosen = asked >= 0 && asked <= MAX_WORKERS; // NaN (absent) and out of range: the default
  const workers = chosen ? asked : Math.min(Math.max(cores - 1, 0), MAX_WORKERS);
  const single = (why) => ({ dir: '.', workers: 0, why });
  if (!globalThis.crossOriginIsolated) {
    return single('the page is not cross-origin isolated (the server sent no COOP/COEP headers), so workers cannot share its memory');
  }
  if (cores < 2 && !chosen) return single('this browser reports a single core');
  const response = await fetch('./mt/build.json');
  if (!response.ok) return single('this server has no threaded bundle (mt/)');
  return { dir: './mt', workers, build: await response.json(), why: workers === 0 ? 'the URL asked for no workers' : null };
}

/**
 * Starts `count` kernel workers on the module and its shared memory; resolves when all say
 * they are ready, rejects when one fails or they take longer than WORKERS_START_MS.
 */
function startWorkers(dir, module, memory, count) {
  return new Promise((ready, fail) => {
    let waiting = count;
    const timer = setTimeout(() => fail(new Error(`the workers did not start within ${WORKERS_START_MS / 1000} s`)), WORKERS_START_MS);
    for (let index = 0; index < count; index += 1) {
      const worker = new Worker(`${dir}/worker.js`, { type: 'module', name: `sparkbench-kernel-${index + 1}` });
      worker.onerror = (event) => { clearTimeout(timer); fail(new Error(`worker ${index + 1}: ${event.message ?? 'failed to load'}`)); };
      worker.onmessage = ({ data }) => {
        if (data.error) {
          clearTimeout(timer);
          fail(new Error(`worker ${index + 1}: ${data.error}`));
        } else if (data.ready && (waiting -= 1) === 0) {
          clearTimeout(timer);
          ready();
        }
      };
      worker.postMessage({ module, memory, index });
    }
  });
}

async function main() {
  const missing = missingFeatures();
  if (missing.length > 0) {
    showMissing(missing);
    return;
  }
  document.body.dataset.state = 'loading';
  const refreshPeriod = watchRefresh();
  const bundle = await chooseBundle();
  const build = bundle.build ?? await (await fetch('./build.json')).json();
  const module = await compileWithProgress(`${bundle.dir}/${build.wasm}`, build.wasm_bytes);
  setProgress(1, 'Starting…');
  const bindings = await import(`${bundle.dir}/${build.js}`);
  const { stats, checksum, bench, memory_check, alloc_bench, capture, capacity } = bindings;
  window.sparkbench = { stats, checksum, bench, memory_check, alloc_bench, capture, capacity };
  if (build.threads) {
    Object.assign(window.sparkbench, {
      checksumOnWorkers: bindings.checksumOnWorkers,
      emptyDispatches: bindings.emptyDispatches,
      benchWorkers: bindings.benchWorkers,
      useWorkers: bindings.use_workers,
    });
  }
  await bindings.default({ module_or_path: module });
  const threading = { bundle: build.threads ? 'threaded' : 'single-threaded', workers: 0, why: bundle.why };
  if (bundle.workers > 0) {
    setProgress(1, `Starting ${bundle.workers} workers…`);
    const memory = bindings.prepare_workers(bundle.workers);
    try {
      await startWorkers(bundle.dir, module, memory, bundle.workers);
      threading.workers = bundle.workers;
    } catch (error) {
      // Workers that did start keep waiting for jobs; none is given any.
      bindings.use_workers(0);
      threading.why = `the workers could not start (${error.message})`;
    }
  }
  window.sparkbench.threading = threading;
  mark('instantiated');
  // The Rust `start` function starts the app in the canvas.
  bindings.start(threading.workers > 0 ? undefined : threading.why ?? undefined, refreshPeriod());
  mark('app-started');
  $('loading').hidden = true;
  $('sparkbench-canvas').focus();
  document.body.dataset.state = 'running';
}

main().catch((error) => showError(`sparkbench could not start: ${error?.message ?? error}`));
