// Prints the page's own phase timings (simulate, pack, upload) for the stress scenario at a
// particle count, as `window.sparkbench.stats()` reports them frame by frame, for the
// single-threaded bundle and the threaded one with each worker count asked for. Run by
// `./build.sh bench` after the web bundles are built.
//
// Headless Chromium draws with SwiftShader on the CPU: at 1,000,000 particles a frame takes
// about 8 s here whatever the viewport (the 6 million vertices, not the pixels), so Bevy's
// clock, which advances at most 250 ms a frame, runs 15 fixed steps per frame. The table
// gives simulate per step (what a 60 fps frame runs), pack and upload per frame (medians),
// and frames are sampled from the stress burst while the pool is still full (the lowest
// count seen is printed), so a run takes a few minutes per row.
//
// Usage: node run-phases.mjs [particles] [frames] [workers,...]

import { openBrowser } from './chromium.mjs';

const particles = Number(process.argv[2] ?? 1_000_000);
const frames = Number(process.argv[3] ?? 10);
if (!(frames >= 2)) throw new Error(`frames must be at least 2, not ${process.argv[3]}`);
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
        rows.push({ ...stats.phases, frame_ms: stats.frame_ms, steps: stats.steps, frames: stats.frames, particles: stats.particles });
      }
      if (rows.length >= count) done(rows); else requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  }), frames);
  const threading = await page.evaluate(() => window.sparkbench.threading ?? null);
  await page.close();
  if (problems.length) throw new Error(`${query}: ${problems.join('; ')}`);
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    return sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  // Steps and simulate time over pairs of samples one frame apart (a frame the sampler
  // missed would add steps without their time).
  const pairs = samples.slice(1).map((after, index) => [samples[index], after])
    .filter(([before, after]) => after.frames === before.frames + 1);
  if (pairs.length === 0) throw new Error(`${query}: no two samples one frame apart`);
  const steps = pairs.reduce((sum, [before, after]) => sum + after.steps - before.steps, 0);
  const simulated = pairs.reduce((sum, [, after]) => sum + after.simulate, 0);
  const row = Object.fromEntries(['pack', 'upload', 'frame_ms']
    .map((name) => [name, median(samples.map((sample) => sample[name]))]));
  const fewest = Math.min(...samples.map((sample) => sample.particles));
  return { ...row, step: simulated / steps, steps: steps / pairs.length, fewest, threading };
}

const format = (ms) => ms.toFixed(2).padStart(8);
console.log(`# stress at ${particles} particles, ${frames} frames from the first with a full pool (ms; pack and upload medians per frame)`);
console.log('| bundle | workers | steps/frame | simulate per step | pack | upload | step+pack+upload | frame | fewest particles |');
console.log('|---|---|---|---|---|---|---|---|---|');
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
      console.log(`| ${label} | ${row.threading?.workers ?? 0} | ${row.steps.toFixed(1)} | ${format(row.step)} | ${format(row.pack)} | ${format(row.upload)} | ${format(sum)} | ${format(row.frame_ms)} | ${row.fewest} |`);
    }
  } finally {
    await session.close();
  }
}
