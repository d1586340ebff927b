// Prints the kernel tables measured in headless Chromium: the shipped single-threaded
// bundle's `window.sparkbench.bench()`, then, from one load of the threaded bundle (served
// cross-origin isolated, with its Web Workers), `window.sparkbench.benchWorkers()`: step
// and pack with each number of workers and the empty dispatch's round trip. Run by
// `./build.sh bench` after the web bundles are built.

import { openBrowser } from './chromium.mjs';

const seconds = Number(process.argv[2] ?? 1);
const LOAD_TIMEOUT_MS = 180_000;

/** Opens the page (isolated or not) and returns what `measure` evaluates to there. */
async function measureOn(isolate, measure) {
  const session = await openBrowser(undefined, { isolate });
  try {
    const page = await session.browser.newPage();
    const failed = new Promise((_, reject) => page.on('pageerror', reject));
    // A light scenario, so the app's own frames take little from the kernels' cores.
    await page.goto(`${session.origin}/?scenario=fountain&particles=1000`);
    // The app's first frame: its workers, if any, have started.
    await Promise.race([
      failed,
      page.waitForFunction(() => (window.sparkbench?.stats?.().frames ?? 0) >= 1, null, { timeout: LOAD_TIMEOUT_MS }),
    ]);
    const result = await Promise.race([failed, page.evaluate(measure, seconds)]);
    const agent = await page.evaluate(() => navigator.userAgent);
    return { ...result, agent };
  } finally {
    await session.close();
  }
}

const single = await measureOn(false, (s) => window.sparkbench.bench(s));
console.log(`${single.table}(${single.agent})`);
const threaded = await measureOn(true, (s) => {
  const { threading } = window.sparkbench;
  // Timings over workers that never started would spin on chunks nobody takes.
  if (threading.bundle !== 'threaded' || threading.workers === 0) return { threading };
  return { threading, ...window.sparkbench.benchWorkers(s) };
});
if (!threaded.table) {
  throw new Error(`no workers to measure: the page ran ${JSON.stringify(threaded.threading)}`);
}
console.log(`\nwasm32 threaded bundle, ${threaded.threading.workers} workers started:\n${threaded.table}(${threaded.agent})`);
