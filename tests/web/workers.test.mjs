// The threaded bundle's kernel workers in headless Chromium: the same bits with and without
// workers, dispatches without errors, memory that grows while they run; and, served without
// isolation, the single-threaded fallback. Run by `./build.sh test` with the browser suite.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ISOLATED, RUN_TIMEOUT_MS, nativeChecksum, recordProblems } from './browser-common.mjs';
import { openBrowser } from './chromium.mjs';

let session;

before(async () => {
  session = await openBrowser();
});

after(async () => {
  await session?.close();
});

/** Opens `query` and waits until the app has drawn `frames` frames; records page errors. */
async function openRunning(query, frames = 5) {
  const page = await session.browser.newPage({ viewport: { width: 1280, height: 720 } });
  const problems = recordProblems(page);
  await page.goto(`${session.origin}/${query}`);
  await page.waitForFunction(
    (wanted) => (window.sparkbench?.stats?.().frames ?? 0) >= wanted
      || !document.getElementById('sparkbench-error').hidden,
    frames, { timeout: RUN_TIMEOUT_MS, polling: 250 },
  );
  return { page, problems };
}

test('with 0, 1, 2 and 4 workers the checksum after 600 steps is the native one, and so are the records', { skip: !ISOLATED, timeout: RUN_TIMEOUT_MS + 120_000 }, async (t) => {
  const { page, problems } = await openRunning('?workers=4');
  const threading = await page.evaluate(() => window.sparkbench.threading);
  // 1,024-particle chunks from the first particle: the 20,000-particle scenario splits.
  const runs = await page.evaluate(() => ['simd128', 'scalar'].flatMap((backend) => [0, 1, 2, 4].map(
    (workers) => ({ backend, ...window.sparkbench.checksumOnWorkers(600, 7, backend, workers, 1024) }))));
  await page.close();

  assert.deepEqual(problems, []);
  assert.equal(threading.workers, 4, JSON.stringify(threading));
  const native = nativeChecksum(600);
  for (const backend of ['simd128', 'scalar']) {
    const mine = runs.filter((run) => run.backend === backend);
    t.diagnostic(`${backend}: native ${native}; ${mine.map((run) => `${run.workers} workers ${run.checksum} records ${run.records} (${run.worker_chunks} chunks on workers)`).join('; ')}`);
    for (const run of mine) {
      assert.equal(run.checksum, native, `${backend} with ${run.workers} workers`);
      assert.equal(run.records, mine[0].records, `${backend} records with ${run.workers} workers`);
      if (run.workers === 0) assert.equal(run.worker_chunks, 0);
      else assert.ok(run.worker_chunks > 0, `${backend}: the ${run.workers} workers ran no chunk`);
    }
    assert.deepEqual(mine.map((run) => run.workers), [0, 1, 2, 4]);
  }
});

test('10,000 empty dispatches run on the main thread and the workers with no page error', { skip: !ISOLATED, timeout: RUN_TIMEOUT_MS }, async (t) => {
  const { page, problems } = await openRunning('?workers=2');
  const result = await page.evaluate(() => window.sparkbench.emptyDispatches(10_000, 2));
  await page.waitForFunction(() => window.sparkbench.stats().frames > 10, null, { timeout: 60_000 });
  await page.close();

  assert.deepEqual(problems, []);
  t.diagnostic(`empty dispatch round trip to 2 workers: ${result.microseconds.toFixed(2)} µs; `
    + `${result.full} of 10,000 reached both workers (${result.worker_chunks} chunks on workers)`);
  assert.equal(result.dispatches, 10_000);
  assert.ok(result.microseconds > 0 && Number.isFinite(result.microseconds), `${result.microseconds} µs`);
  // Three threads on two cores: a worker the OS leaves unscheduled for a while hands its
  // chunk to the others, so not every dispatch reaches both, but most do.
  assert.ok(result.full > 5_000 && result.worker_chunks >= 2 * result.full, JSON.stringify(result));
});

test('switching to a larger preset grows shared memory while the workers run', { skip: !ISOLATED, timeout: 2 * RUN_TIMEOUT_MS }, async () => {
  // From a small fountain (20,000 particles) to galaxy's 400,000: the new pool and its
  // staging block outgrow the headroom talc's memory keeps (a quarter of it), so memory grows.
  const { page, problems } = await openRunning('?workers=1&particles=20000', 30);
  const before = await page.evaluate(() => window.sparkbench.stats());
  await page.locator('#sparkbench-canvas').press('2');
  await page.waitForFunction(
    (frames) => window.sparkbench.stats().particles > 100_000 && window.sparkbench.stats().frames > frames + 30,
    before.frames, { timeout: RUN_TIMEOUT_MS, polling: 500 },
  );
  const afterSwitch = await page.evaluate(() => ({
    stats: window.sparkbench.stats(),
    dispatch: window.sparkbench.emptyDispatches(100, 1),
  }));
  await page.close();

  console.log(`switch to galaxy: linear memory ${before.memory.linear_memory_bytes} -> ${afterSwitch.stats.memory.linear_memory_bytes} B`);
  assert.deepEqual(problems, []);
  assert.ok(afterSwitch.stats.memory.linear_memory_bytes > before.memory.linear_memory_bytes,
    `linear memory ${before.memory.linear_memory_bytes} -> ${afterSwitch.stats.memory.linear_memory_bytes}`);
  assert.equal(afterSwitch.dispatch.worker_chunks, 100, 'the worker still runs chunks after memory grew');
});

test('served without COOP/COEP the page runs single-threaded with the native checksum and says why', { skip: ISOLATED, timeout: RUN_TIMEOUT_MS }, async () => {
  const { page, problems } = await openRunning('?workers=2');
  const seen = await page.evaluate(() => ({
    threading: window.sparkbench.threading,
    checksum: window.sparkbench.checksum(600, 7, 'simd128'),
    isolated: window.crossOriginIsolated,
  }));
  await page.close();

  assert.deepEqual(problems, []);
  assert.equal(seen.isolated, false);
  assert.equal(seen.threading.bundle, 'single-threaded');
  assert.equal(seen.threading.workers, 0);
  assert.match(seen.threading.why, /not cross-origin isolated/);
  assert.equal(seen.checksum, nativeChecksum(600));
});

test('a worker that fails to start leaves the app running on one thread with a notice', { skip: !ISOLATED, timeout: RUN_TIMEOUT_MS }, async () => {
  const page = await session.browser.newPage({ viewport: { width: 1280, height: 720 } });
  // The browser reports the refused worker script itself: that one is expected.
  const problems = recordProblems(page, (text) => /404/.test(text));
  await page.route('**/mt/worker.js', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${session.origin}/?workers=2`);
  await page.waitForFunction(() => (window.sparkbench?.stats?.().frames ?? 0) > 30, null,
    { timeout: RUN_TIMEOUT_MS, polling: 250 });
  const seen = await page.evaluate(() => ({ threading: window.sparkbench.threading, threads: window.sparkbench.stats().threads }));
  await page.close();

  assert.deepEqual(problems, []);
  assert.equal(seen.threading.bundle, 'threaded');
  assert.equal(seen.threading.workers, 0);
  assert.match(seen.threading.why, /workers could not start/);
  assert.equal(seen.threads.kernel_threads, 1, JSON.stringify(seen.threads));
});
