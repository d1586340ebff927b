// The page in a second engine: Debian's Firefox ESR (driven over WebDriver BiDi) runs the
// app to 60 frames without errors, reports stats and its start-up, gives the native
// checksum (on the workers too, in the threaded bundle), shows a panic, downloads a
// capture, and names a missing feature.
// `./build.sh test` runs it on each bundle under xvfb-run, after the Chromium suite; its
// screenshots land beside Chromium's with a `-firefox` suffix. Not named `*.test.mjs`, so
// the Chromium runs (`node --test tests/web/`) leave it out: it needs an X display.
//
// usage: SPARKBENCH_DIST=dist SPARKBENCH_BIN=… SPARKBENCH_ISOLATE=0|1 \
//          xvfb-run -a -s "-screen 0 1280x1024x24" node --test tests/web/firefox-suite.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ISOLATED, MISSING_FEATURES, RUN_TIMEOUT_MS, assertCapturesAtOnce, assertMissingFeaturePage,
  assertRunningStats, assertStartup, assertStoppedPage, assertThreading, describeStartup,
  drawnOrStopped, failAppCanvasContext, missingFeatureShot, nativeChecksum, readMeasures,
  recordProblems, requestCapturesAtOnce, visitPanicking, visitUnsupported,
  requestCapacity, assertCapacity, readFrameMeasures, assertFrameMeasures,
  clickCaptureButton, assertButtonCapture, TIMER_QUERY, browserHasTimerQuery, assertGpuTime,
} from './browser-common.mjs';
import { openFirefox } from './firefox.mjs';

const SHOTS = resolve(process.env.SPARKBENCH_SHOTS ?? 'target/screenshots');

// Where Firefox saves what the page downloads.
const DOWNLOADS = mkdtempSync(join(tmpdir(), 'sparkbench-firefox-downloads-'));

let session;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  session = await openFirefox(undefined, { downloads: DOWNLOADS });
});

after(async () => {
  await session?.close();
  rmSync(DOWNLOADS, { recursive: true, force: true });
});

/** Opens a page (after `setup` runs in it, if given) and records its problems. */
async function openPage(setup) {
  const page = await session.browser.newPage();
  const problems = recordProblems(page);
  if (setup) await page.evaluateOnNewDocument(setup);
  return { page, problems };
}

/** Goes to `query` and waits until the app has drawn more than `frames` frames (or stopped). */
async function run(page, query, frames) {
  await page.goto(`${session.origin}/${query}`);
  await page.waitForFunction(drawnOrStopped, { timeout: RUN_TIMEOUT_MS, polling: 500 }, frames);
}

test('Firefox: the app runs in the page and reports its frame stats', { timeout: RUN_TIMEOUT_MS + 30_000 }, async () => {
  const { page, problems } = await openPage();
  await run(page, '?particles=20000', 60);
  await page.screenshot({ path: join(SHOTS, 'web-firefox.png') });
  const seen = await page.evaluate(() => ({
    stats: window.sparkbench?.stats?.() ?? {},
    threading: window.sparkbench?.threading,
    loading: document.getElementById('loading').checkVisibility(),
    errorText: document.getElementById('sparkbench-error').textContent,
    browser: navigator.userAgent,
  }));
  const measures = await readMeasures(page);
  const frameMeasures = await readFrameMeasures(page);
  const hasTimerQuery = await browserHasTimerQuery(page);
  await page.close();

  assert.equal(seen.errorText, '', 'the error panel stays empty');
  assert.deepEqual(problems, []);
  assert.match(seen.browser, /Firefox\//);
  assert.equal(seen.loading, false, 'the progress panel is gone once the app runs');
  assertThreading(seen.threading);
  assertRunningStats(seen.stats);
  assertStartup(seen.stats.startup, measures);
  // Firefox ESR here offers no timer query: the page says GPU time is not available, and
  // why.
  assert.equal(hasTimerQuery, false, `Firefox offers no ${TIMER_QUERY} by default`);
  assertGpuTime(seen.stats.gpu, hasTimerQuery);
  const checked = assertFrameMeasures(frameMeasures);
  console.log(`profiler track in Firefox: ${JSON.stringify(checked)}`);
  console.log(`start-up in Firefox (${seen.threading.bundle}): ${describeStartup(seen.stats.startup)}`);
});

test('Firefox: the wasm simulation gives the native checksum after 600 steps, scalar and simd128', { timeout: RUN_TIMEOUT_MS + 60_000 }, async (t) => {
  const { page, problems } = await openPage();
  // One frame is enough: the checksum runs its own simulation beside the app's.
  await run(page, '?workers=2', 1);
  const seen = await page.evaluate(() => ({
    threading: window.sparkbench.threading,
    simd128: window.sparkbench.checksum(600, 7, 'simd128'),
    scalar: window.sparkbench.checksum(600, 7, 'scalar'),
  }));
  // The threaded bundle also splits the kernels across its two workers, 1,024 particles a chunk.
  const onWorkers = seen.threading.workers > 0 ? await page.evaluate(() => ['simd128', 'scalar']
    .map((backend) => ({ backend, ...window.sparkbench.checksumOnWorkers(600, 7, backend, 2, 1024) }))) : [];
  await page.close();

  const native = nativeChecksum(600);
  t.diagnostic(`native ${native}; Firefox simd128 ${seen.simd128}, scalar ${seen.scalar}; `
    + `on workers ${onWorkers.map((run) => `${run.backend} ${run.checksum} (${run.worker_chunks} chunks)`).join(', ')}`);
  assert.deepEqual(problems, []);
  assert.equal(nativeChecksum(600, 'scalar'), native, 'native SIMD and scalar agree');
  assert.equal(seen.simd128, native);
  assert.equal(seen.scalar, native);
  if (ISOLATED) {
    assert.equal(seen.threading.workers, 2, JSON.stringify(seen.threading));
    assert.deepEqual(onWorkers.map(({ backend }) => backend), ['simd128', 'scalar']);
    for (const run of onWorkers) {
      assert.equal(run.checksum, native, `${run.backend} on 2 workers`);
      assert.equal(run.workers, 2);
      assert.ok(run.worker_chunks > 0, `${run.backend}: the workers ran no chunk`);
    }
  } else {
    assertThreading(seen.threading, false);
  }
});

for (const [feature, setup] of MISSING_FEATURES) {
  test(`Firefox: a browser without ${feature} gets a page that names it`, { timeout: 60_000 }, async () => {
    const { page, problems } = await openPage(setup);
    const shot = join(SHOTS, missingFeatureShot(feature, '-firefox'));
    const { missing, requested } = await visitUnsupported(page, session.origin, shot);
    await page.close();

    assert.deepEqual(problems, []);
    assertMissingFeaturePage(feature, missing, requested);
  });
}

test('Firefox: a panic is shown in the page\'s error panel and refuses captures', { timeout: RUN_TIMEOUT_MS }, async () => {
  const { page, problems } = await openPage(failAppCanvasContext);
  const stopped = await visitPanicking(page, session.origin, join(SHOTS, 'web-panic-firefox.png'));
  await page.close();
  assertStoppedPage(stopped, problems);
});

test('Firefox: ?capture=N downloads the capture after a warm-up; capture(n) calls meanwhile each get their own', { timeout: 2 * RUN_TIMEOUT_MS + 60_000 }, async () => {
  const { page, problems } = await openPage();
  const file = join(DOWNLOADS, 'sparkbench-capture.json');
  await page.goto(`${session.origin}/?scenario=stress&particles=5000&seed=3&capture=20`);
  await page.waitForFunction(() => (window.sparkbench?.stats?.().frames ?? 0) > 0, { timeout: RUN_TIMEOUT_MS, polling: 100 });
  const answers = await page.evaluate(requestCapturesAtOnce);
  const capture = await downloaded(file);
  await page.close();

  assert.deepEqual(problems, []);
  assertCapturesAtOnce(answers);
  assert.ok(capture, `no complete ${file} within ${RUN_TIMEOUT_MS} ms`);
  assert.equal(capture.samples.length, 20);
  assert.equal(capture.settings.seed, 3);
  assert.equal(capture.settings.warmup, 60);
  assert.match(capture.environment.user_agent ?? '', /Firefox\//, JSON.stringify(capture.environment));
});

test('Firefox: the overlay\'s Capture button downloads its capture', { timeout: 2 * RUN_TIMEOUT_MS + 60_000 }, async () => {
  const { page, problems } = await openPage();
  const file = join(DOWNLOADS, 'sparkbench-capture.json');
  rmSync(file, { force: true });
  await run(page, '?particles=1000&seed=5', 10);
  await clickCaptureButton(page);
  const capture = await downloaded(file);
  await page.close();

  assert.deepEqual(problems, []);
  assert.ok(capture, `no complete ${file} within ${RUN_TIMEOUT_MS} ms`);
  assertButtonCapture(capture, 5);
});

test('Firefox: window.sparkbench.capacity() queues with capture(n) and resolves with the score', { timeout: RUN_TIMEOUT_MS + 60_000 }, async () => {
  const { page, problems } = await openPage();
  await page.goto(`${session.origin}/?scenario=stress&particles=2000&seed=3`);
  await page.waitForFunction(() => (window.sparkbench?.stats?.().frames ?? 0) > 0, { timeout: RUN_TIMEOUT_MS, polling: 100 });
  const answers = await page.evaluate(requestCapacity);
  await page.close();
  assert.deepEqual(problems, []);
  assertCapacity(answers);
});

/**
 * The JSON file Firefox saves at `file`, once it is complete (Firefox may create the file
 * empty and fill it from a `.part` file), or null after RUN_TIMEOUT_MS.
 */
async function downloaded(file) {
  for (let waited = 0; waited < RUN_TIMEOUT_MS; waited += 500) {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      await sleep(500);
    }
  }
  return null;
}
