// Prints the page's own phase timings (simulate, pack, upload) for the stress scenario at a
// particle count, as `window.sparkbench.stats()` reports them frame by frame, for the
// single-threaded bundle and the threaded one with each worker count asked for. Run by
// `./build.sh bench` after the web bundles are built.
//
// Headless Chromium draws with SwiftShader on the CPU: at 1,000,000 particles a frame takes
// about 8 s here whatever the viewport (the 6 million vertices, not the pixels), so the
// fixed clock runs about 15 steps per frame. The table gives simulate per step (what a
// 60 fps frame runs), pack and upload per frame (medians), and frames are sampled from the
// stress burst while the pool is still full, so a run takes a few minutes per row.
//
// Usage: node run-phases.mjs [particles] [frames] [workers,...]

import { openBrowser } from './chromium.mjs';

const particles = Number(process.argv[2] ?? 1_000_000);
const frames = Number(process.argv[3] ?? 10);
const workerCounts = (process.argv[4] ?? '0,1').split(',').map(Number);
const FILL_TIMEOUT_MS = 600_000;

/** The phases over `frames` frames of `query` from the first with a full pool. */
async function phasesOf(session, query) {
  const page = await session.browser.newPage({ viewport: { width: 320, height: 180 } });
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${session.origin}/${query}`);
  await page.waitForFunction(
    (wanted) => (window.sparkbench?.stats?.().particles ?? 0) >= wanted,
    particles, { timeout: FILL_TIMEOUT_MS, polling: 500 },
  );
  const samples = await page.evaluate((count) => new Promise((done) => {
    const rows = [];
    let last = window.sparkbench.stats().frames;
    const sample = () => {
      const stats = window.sparkbench.stats();
      if (stats.frames !== last) {
        last = stats.frames;
        rows.push({ ...stats.phases, frame_ms: stats.frame_ms, steps: stats.steps });
      }
      if (rows.length >= count) done(rows); else requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  }), frames);
  const threading = await page.evaluate(() => window.sparkbench.threading ?? null);
  await page.close();
  if (problems.length) throw new Error(`${query}: ${problems.join('; ')}`);
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  // Each sample's phases are those of the frame before its step count: pair them over the
  // window's span, not frame by frame.
  const steps = samples.at(-1).steps - samples[0].steps;
  const simulated = samples.slice(1).reduce((sum, sample) => sum + sample.simulate, 0);
  const row = Object.fromEntries(['pack', 'upload', 'frame_ms']
    .map((name) => [name, median(samples.map((sample) => sample[name]))]));
  return { ...row, step: simulated / steps, steps: steps / (samples.length - 1), threading };
}

const format = (ms) => ms.toFixed(2).padStart(8);
console.log(`# stress at ${particles} particles, ${frames} frames from the first with a full pool (ms; pack and upload medians per frame)`);
console.log('| bundle | workers | steps/frame | simulate per step | pack | upload | step+pack+upload | frame |');
console.log('|---|---|---|---|---|---|---|---|');
const runs = [
  { isolate: false, label: 'single-threaded', counts: [null] },
  { isolate: true, label: 'threaded', counts: workerCounts },
];
for (const { isolate, label, counts } of runs) {
  const session = await openBrowser(undefined, { isolate });
  try {
    for (const workers of counts) {
      const query = `?scenario=stress&particles=${particles}${workers === null ? '' : `&workers=${workers}`}`;
      const row = await phasesOf(session, query);
      const sum = row.step + row.pack + row.upload;
      console.log(`| ${label} | ${row.threading?.workers ?? 0} | ${row.steps.toFixed(1)} | ${format(row.step)} | ${format(row.pack)} | ${format(row.upload)} | ${format(sum)} | ${format(row.frame_ms)} |`);
    }
  } finally {
    await session.close();
  }
}
