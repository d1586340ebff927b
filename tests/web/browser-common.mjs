// What the browser suites share across browsers: the dist/ server, the page's problems, the
// native checksum to compare the wasm's with, the features a browser may lack, and the
// checks of a running page and its start-up record. Used by the Chromium (Playwright) and
// Firefox (Puppeteer) suites: it needs only `page.on` and `page.evaluate`, which both
// drivers have.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '../../web/serve.mjs';

/** Whether the server makes the page cross-origin isolated (so it runs the threaded bundle). */
export const ISOLATED = process.env.SPARKBENCH_ISOLATE !== '0';

/**
 * Serves `dist` on a free loopback port, cross-origin isolated (so the page runs the
 * threaded bundle) when `isolate`; returns the server and its origin.
 */
export async function serveDist(dist = process.env.SPARKBENCH_DIST ?? 'dist', { isolate = ISOLATED } = {}) {
  const server = await serve(resolve(dist), 0, '127.0.0.1', { isolate });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** A started browser with the server it loads from: `close()` stops both. */
export function browserSession(browser, { server, origin }) {
  return {
    browser,
    origin,
    async close() {
      await browser.close();
      server.close();
    },
  };
}

/** Software WebGL2 and a cold wasm compile on a 2-core machine: minutes, not seconds. */
export const RUN_TIMEOUT_MS = 240_000;

/**
 * Collects the page's uncaught errors and console errors into the returned array; a console
 * error for which `expected(text)` is true is left out.
 */
export function recordProblems(page, expected = () => false) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected(message.text())) problems.push(`console error: ${message.text()}`);
  });
  return problems;
}

/** The native sparkbench binary, to compare the page's results with (`./build.sh test` sets it). */
export const NATIVE_BIN = process.env.SPARKBENCH_BIN;

/** The native binary's checksum after `steps` steps of seed 7 with `backend` (every backend
 * gives the same bits). */
export function nativeChecksum(steps, backend = 'simd128') {
  assert.ok(NATIVE_BIN, 'SPARKBENCH_BIN must name the native sparkbench binary (./build.sh test sets it)');
  const args = ['checksum', '--steps', `${steps}`, '--seed', '7', ...(backend === 'scalar' ? ['--backend', 'scalar'] : [])];
  const checksum = execFileSync(NATIVE_BIN, args, { encoding: 'utf8' }).trim();
  assert.match(checksum, /^[0-9a-f]{16}$/, `native checksum: ${checksum}`);
  return checksum;
}

/**
 * The browser features the page checks before it downloads the wasm, each with a script
 * that, run before the page's own, makes the browser lack it.
 */
export const MISSING_FEATURES = [
  ['WebGL2', () => {
    const getContext = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
      return kind === 'webgl2' ? null : getContext.call(this, kind, ...rest);
    };
  }],
  ['WebAssembly SIMD', () => {
    const validate = WebAssembly.validate;
    // Reject any module that uses a SIMD instruction (prefix 0xfd), as a browser without SIMD would.
    WebAssembly.validate = (bytes) => !new Uint8Array(bytes).includes(0xfd) && validate(bytes);
  }],
];

/**
 * Run before the page's own scripts: the app's canvas gets no WebGL2 context, as when one
 * cannot be created after the page's feature check passed, so the renderer panics. A
 * `capture(5)` and a `capacity()` are asked for when the loader sets
 * `window.sparkbench.threading`, once the module is instantiated and before the app
 * starts: they are waiting when it panics, and their outcomes land in
 * `window.callsBeforeThePanic`.
 */
export function failAppCanvasContext() {
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
    return this.id === 'sparkbench-canvas' ? null : getContext.call(this, kind, ...rest);
  };
  let api;
  Object.defineProperty(window, 'sparkbench', {
    configurable: true,
    get: () => api,
    set: (value) => {
      api = value;
      let threading;
      Object.defineProperty(api, 'threading', {
        configurable: true,
        enumerable: true,
        get: () => threading,
        set: (given) => {
          threading = given;
          const outcome = (promise) => promise.then(() => 'resolved', (error) => `rejected: ${error.message}`);
          window.callsBeforeThePanic ??= [outcome(api.capture(5)), outcome(api.capacity())];
        },
      });
    },
  });
}

/**
 * Waits until `test(arg)`, run in the page, is true, asking every 250 ms (by `evaluate`,
 * which Playwright and Puppeteer pages share); fails after `timeoutMs`.
 */
export async function waitInPage(page, test, arg, timeoutMs = RUN_TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(test, arg))) {
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms in the page for ${test}`);
    await sleep(250);
  }
}

/**
 * Opens `origin` in `page` (set up to lack a feature), waits for the unsupported page and
 * screenshots it to `shot`. Returns the missing-feature list's text and the paths the page
 * requested.
 */
export async function visitUnsupported(page, origin, shot) {
  const requested = [];
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  await page.goto(`${origin}/`);
  await waitInPage(page, () => document.body.dataset.state === 'unsupported', undefined, 30_000);
  const missing = await page.evaluate(() => document.getElementById('missing-list').innerText);
  await page.screenshot({ path: shot });
  return { missing, requested };
}

/**
 * Opens `origin` in `page` (set up with `failAppCanvasContext`), waits for the error panel
 * and screenshots it to `shot`. Returns the panel's text, what a capture asked for then
 * answers (its rejection's message) and what the calls made before the panic answered
 * (or that they still wait, 10 s on).
 */
export async function visitPanicking(page, origin, shot) {
  await page.goto(`${origin}/`);
  await waitInPage(page, () => !document.getElementById('sparkbench-error').hidden);
  const stopped = await page.evaluate(async () => {
    const pending = new Promise((settle) => setTimeout(() => settle('still pending 10 s after the panic'), 10_000));
    return {
      panel: document.getElementById('sparkbench-error').textContent,
      capture: await window.sparkbench.capture(5).then(() => 'resolved', (error) => `rejected: ${error.message}`),
      waiting: await Promise.all((window.callsBeforeThePanic ?? []).map((call) => Promise.race([call, pending]))),
    };
  });
  await page.screenshot({ path: shot });
  return stopped;
}

/**
 * The panel names the panic (the renderer's, from `failAppCanvasContext`) rather than the
 * trap that follows it; the calls that were waiting are rejected with it and the capture
 * asked for afterwards is refused with it, each naming its call; the console has the
 * panic too.
 */
export function assertStoppedPage({ panel, capture, waiting }, problems) {
  const panic = /^sparkbench stopped: panicked at .*\nFailed to create wgpu surface/;
  assert.match(panel, panic);
  assert.match(capture, /^rejected: capture\(5\): sparkbench stopped: panicked at .*Failed to create wgpu surface/s);
  assert.equal(waiting.length, 2, 'the calls made before the app started');
  assert.match(waiting[0], /^rejected: capture\(5\): sparkbench stopped: panicked at .*Failed to create wgpu surface/s);
  assert.match(waiting[1], /^rejected: capacity\(\): sparkbench stopped: panicked at .*Failed to create wgpu surface/s);
  assert.ok(problems.some((problem) => problem.includes('Failed to create wgpu surface')), problems.join('\n'));
}

/**
 * Runs in the page while another capture records (`?capture=N` warming up): asks for
 * captures of 5 and 7 frames and six of 1 frame at once, which fills the queue, then one
 * more. Resolves with the frames drawn when it asked and each call's sample count, or its
 * rejection's message.
 */
export async function requestCapturesAtOnce() {
  const { frames } = window.sparkbench.stats();
  const answers = await Promise.all([5, 7, 1, 1, 1, 1, 1, 1, 1].map((count) => window.sparkbench.capture(count)
    .then((capture) => capture.samples.length, (error) => `rejected: ${error.message}`)));
  return { frames, answers };
}

/**
 * The calls were made while `?capture=N`'s 60-frame warm-up still ran; each got its own
 * capture, in full, and the one past the queue's 8 was refused.
 */
export function assertCapturesAtOnce({ frames, answers }) {
  assert.ok(frames < 60, `the calls were made at frame ${frames}, after ?capture=N's warm-up`);
  assert.deepEqual(answers.slice(0, 8), [5, 7, 1, 1, 1, 1, 1, 1]);
  assert.match(answers[8], /^rejected: capture\(1\): 8 captures are already waiting/);
}

/**
 * In the page: a capture and a capacity search asked for at once (they queue), the search
 * against a 0.5 ms budget from 1,000 particles with 5-frame windows (so it ends at its
 * first window, the fewest particles over the budget), and a search with a setting out of
 * range.
 */
export async function requestCapacity() {
  const [capture, search] = await Promise.all([
    window.sparkbench.capture(3),
    window.sparkbench.capacity({ budget_ms: 0.5, start: 1000, window: 5, repeats: 2 }),
  ]);
  const refused = await window.sparkbench.capacity({ window: 1 })
    .then(() => 'accepted', (error) => `rejected: ${error.message}`);
  return { captured: capture.samples.length, search, refused };
}

/** What `requestCapacity` got: both answered, the score at the limit, the bad call refused. */
export function assertCapacity({ captured, search, refused }) {
  assert.equal(captured, 3);
  const { capacity } = search;
  assert.ok(capacity, `a capacity capture: ${JSON.stringify(search).slice(0, 300)}`);
  assert.equal(capacity.budget_ms, 0.5);
  assert.equal(capacity.particles, 1000);
  assert.match(capacity.note, /even the fewest particles \(1000\) are over the budget/);
  assert.equal(capacity.curve.length, 1);
  assert.equal(capacity.curve[0].particles, 1000);
  assert.ok(capacity.curve[0].p95_ms > 0.5, JSON.stringify(capacity.curve));
  // Frames here follow the display: the loader measured its refresh period while the
  // module compiled, and the search's limit is the budget plus half a period.
  assert.equal(capacity.pacing?.kind, 'display_paced', JSON.stringify(capacity.pacing));
  const period = capacity.pacing.refresh_ms;
  const limit = capacity.limit_ms;
  assert.ok(period >= 2 && period <= 200, `refresh period ${period} ms`);
  assert.ok(Math.abs(limit - (0.5 + period / 2)) < 1e-9, `limit ${limit} ms for a period of ${period}`);
  console.log(`capacity search: display-paced at ${period} ms a refresh, limit ${limit} ms`);
  // The share of frames over that limit: all of a window that was over the budget.
  assert.ok(capacity.curve[0].missed > 0.05 && capacity.curve[0].missed <= 1, JSON.stringify(capacity.curve));
  assert.equal(capacity.frames_measured, 5);
  assert.ok(capacity.frames_run >= 15, `10 settling frames first: ${capacity.frames_run}`);
  assert.equal(search.samples.length, 5, 'the last window\'s frames');
  assert.equal(search.settings.particles, 1000);
  assert.equal(refused, 'rejected: capacity(): window 1 is not a whole number in 5..=600');
}

/** The screenshot file name for the page shown when `feature` is missing. */
export function missingFeatureShot(feature, suffix = '') {
  return `web-without-${feature.replace(/\W+/g, '-').toLowerCase()}${suffix}.png`;
}

/**
 * The unsupported page names `feature` and nothing else, and the browser did not download
 * the wasm (`requested` holds the paths it asked for).
 */
export function assertMissingFeaturePage(feature, missing, requested) {
  assert.match(missing, new RegExp(feature));
  for (const [other] of MISSING_FEATURES.filter(([name]) => name !== feature)) {
    assert.doesNotMatch(missing, new RegExp(other), 'only the missing feature is named');
  }
  assert.ok(!requested.some((path) => path.endsWith('.wasm')), `the wasm is not downloaded: ${requested}`);
}

/**
 * `window.sparkbench.threading` fits the bundle the server chose: isolated, the threaded
 * one with at least one worker; otherwise the single-threaded one, saying why.
 */
export function assertThreading(threading, isolated = ISOLATED) {
  if (isolated) {
    assert.equal(threading.bundle, 'threaded', JSON.stringify(threading));
    assert.ok(threading.workers >= 1, JSON.stringify(threading));
  } else {
    assert.equal(threading.bundle, 'single-threaded', JSON.stringify(threading));
    assert.equal(threading.workers, 0);
    assert.match(threading.why, /not cross-origin isolated/);
  }
}

/** The page's `performance.measure` entries that sparkbench made, oldest first. */
export function readMeasures(page) {
  return page.evaluate(() => performance.getEntriesByType('measure')
    .filter(({ name }) => name.startsWith('sparkbench: '))
    .map(({ name, startTime, duration }) => ({ name, startTime, duration })));
}

/** The frame and phase measures on sparkbench's track group, oldest first. */
export function readFrameMeasures(page) {
  return page.evaluate(() => performance.getEntriesByType('measure')
    .filter(({ detail }) => detail?.devtools?.trackGroup === 'sparkbench')
    .map(({ name, startTime, duration, detail }) => ({
      name, startTime, duration, track: detail.devtools.track,
      properties: Object.fromEntries(detail.devtools.properties),
    })));
}

// How far a measure may stray from where the wall clock put it: the page places every
// measure from the same clock readings, so only floating-point rounding is allowed.
const ROUNDING_MS = 0.01;

/**
 * Each frame is a `sparkbench frame` measure on the `frames` track, numbered one after the
 * other and end to end with the one before, holding its memory as properties; each phase
 * that ran is a measure on its own track naming its frame, inside that frame, once, with
 * the step before the pack and upload. Returns how many frames and phase measures it checked.
 */
export function assertFrameMeasures(entries) {
  const frames = entries.filter(({ name }) => name === 'sparkbench frame');
  assert.ok(frames.length >= 30, `${frames.length} frame measures`);
  for (const [index, frame] of frames.entries()) {
    const { properties } = frame;
    assert.equal(frame.track, 'frames');
    assert.ok(frame.duration > 0 && frame.duration < 10_000, `frame ${properties.frame} lasts ${frame.duration} ms`);
    // Two decimals are within 0.005 ms, and floating point within a little more.
    assert.ok(Math.abs(Number(properties.ms) - frame.duration) <= 0.006, `${JSON.stringify(properties)} for ${frame.duration} ms`);
    assert.match(properties['live heap MB'], /^\d+\.\d\d$/);
    assert.match(properties.particles, /^\d+$/);
    assert.match(properties.allocations, /^\d+$/);
    const next = frames[index + 1];
    if (next) {
      assert.equal(Number(next.properties.frame), Number(properties.frame) + 1, 'frames numbered in order');
      const gap = next.startTime - (frame.startTime + frame.duration);
      assert.ok(Math.abs(gap) < ROUNDING_MS, `frame ${next.properties.frame} starts where the one before ended (gap ${gap} ms)`);
    }
  }
  const frameByNumber = new Map(frames.map((frame) => [frame.properties.frame, { frame, phases: new Map() }]));
  const phases = entries.filter(({ name }) => name !== 'sparkbench frame');
  for (const phase of phases) {
    const name = phase.name.replace(/^sparkbench /, '');
    assert.ok(['simulate', 'pack', 'upload', 'overlay'].includes(name), `a phase's measure: ${phase.name}`);
    assert.equal(phase.track, name);
    const measured = frameByNumber.get(phase.properties.frame);
    assert.ok(measured, `${name} names frame ${phase.properties.frame}, which has its own measure`);
    const { frame } = measured;
    assert.ok(phase.startTime >= frame.startTime - ROUNDING_MS && phase.duration >= 0
      && phase.startTime + phase.duration <= frame.startTime + frame.duration + ROUNDING_MS,
      `${name} (${phase.startTime}+${phase.duration} ms) inside frame ${phase.properties.frame} (${frame.startTime}+${frame.duration} ms)`);
    assert.ok(!measured.phases.has(name), `one ${name} measure in frame ${phase.properties.frame}`);
    measured.phases.set(name, phase);
  }
  const perFrame = [...frameByNumber.values()].map(({ phases }) => phases);
  const stepped = perFrame.filter((frame) => frame.has('simulate') && frame.has('pack') && frame.has('upload'));
  // Every frame here lasts over a step, so most frames have all three. (Firefox on the
  // single-threaded bundle once had a pack measure in only 12 of 64 frames: its page is
  // not cross-origin isolated, so its clock gives whole milliseconds, and a pack measured
  // at 0 ms was taken for no pack. A pack now counts when it ran.) The message and the
  // returned counts say which phases the frames had.
  const having = (name) => perFrame.filter((frame) => frame.has(name)).length;
  assert.ok(stepped.length >= frames.length / 2,
    `${stepped.length} of ${frames.length} frames stepped, packed and uploaded (simulate in ${having('simulate')}, pack in ${having('pack')}, upload in ${having('upload')})`);
  for (const frame of stepped) {
    const [simulate, pack, upload] = ['simulate', 'pack', 'upload'].map((name) => frame.get(name));
    assert.ok(simulate.startTime + simulate.duration <= pack.startTime + ROUNDING_MS, 'the step before the pack');
    assert.ok(simulate.startTime + simulate.duration <= upload.startTime + ROUNDING_MS, 'the step before the upload');
  }
  assert.ok(perFrame.some((frame) => frame.has('overlay')), 'the overlay is measured');
  return {
    frames: frames.length, phases: phases.length, stepped: stepped.length,
    simulate: having('simulate'), pack: having('pack'), upload: having('upload'),
  };
}

/**
 * Clicks the overlay's Capture button as a person does, over several frames: the pointer
 * goes to where `stats().overlay.capture_button` says the button is, stays until the page
 * has drawn two frames (egui sees the hover, and the button is found again should the
 * overlay's layout have moved it), and the press and the release land in frames of their
 * own. Fails, naming the rectangle and the frame, unless a capture then runs.
 */
export async function clickCaptureButton(page) {
  const frames = () => page.evaluate(() => window.sparkbench.stats().frames);
  const framesPast = async (frame) => waitInPage(page, (f) => window.sparkbench.stats().frames > f, frame, 60_000);
  const button = () => page.evaluate(() => window.sparkbench.stats().overlay.capture_button);
  let rect = await button();
  for (let look = 0; look < 2; look += 1) {
    assert.ok(rect.right > rect.left && rect.bottom > rect.top, `the Capture button is drawn: ${JSON.stringify(rect)}`);
    await page.mouse.move((rect.left + rect.right) / 2, (rect.top + rect.bottom) / 2);
    await framesPast((await frames()) + 1);
    rect = await button();
  }
  await page.mouse.down();
  await framesPast(await frames());
  await page.mouse.up();
  const clicked = await frames();
  // While a capture runs, the button's place shows its progress: its rectangle is NaN.
  await waitInPage(page, () => Number.isNaN(window.sparkbench.stats().overlay.capture_button.left), undefined, 60_000)
    .catch(() => assert.fail(`clicking ${JSON.stringify(rect)} in frame ${clicked} started no capture`));
}

/** A capture the Capture button made: its 600 frames of the page's scenario and seed. */
export function assertButtonCapture(capture, seed) {
  assert.equal(capture.samples.length, 600);
  assert.equal(capture.settings.seed, seed);
  assert.equal(capture.settings.warmup, 0);
  assert.ok(capture.samples.every((sample) => sample.frame_ms > 0), 'every frame timed');
}

/** The start-up steps as the overlay lists them, in milliseconds. */
export function describeStartup(startup) {
  const steps = Object.entries(startup.steps).map(([step, ms]) => `${step} ${ms.toFixed(0)}`);
  return `first frame ${startup.total_ms.toFixed(0)} ms after navigation (${steps.join(', ')} ms)`;
}

/** `stats().startup` holds the page's marks in order, and the profiler has a measure per step. */
export function assertStartup(startup, measures) {
  assert.ok(startup, 'stats().startup once the first frame is drawn');
  const marks = ['download_start_ms', 'downloaded_ms', 'compiled_ms', 'instantiated_ms', 'app_started_ms', 'first_frame_ms']
    .map((name) => startup[name]);
  assert.ok(marks[0] > 0, `the download starts after navigation: ${JSON.stringify(startup)}`);
  for (let index = 1; index < marks.length; index += 1) {
    assert.ok(marks[index] >= marks[index - 1], `marks in order: ${JSON.stringify(startup)}`);
  }
  assert.equal(startup.total_ms, startup.first_frame_ms);
  assert.deepEqual(Object.keys(startup.steps), ['page', 'download', 'compile', 'instantiate', 'app start', 'first frame']);
  assert.equal(startup.steps.download, startup.downloaded_ms - startup.download_start_ms);
  assert.equal(startup.steps['first frame'], startup.first_frame_ms - startup.app_started_ms);
  assert.deepEqual(measures.map(({ name }) => name),
    ['sparkbench: download', 'sparkbench: compile', 'sparkbench: instantiate', 'sparkbench: app start', 'sparkbench: first frame']);
  for (const { name, startTime, duration } of measures) {
    const step = name.slice('sparkbench: '.length);
    assert.ok(Math.abs(duration - startup.steps[step]) < 1e-6, `${name} lasts ${duration} ms, the step ${startup.steps[step]} ms`);
    assert.ok(startTime >= startup.download_start_ms && startTime + duration <= startup.first_frame_ms + 1e-6, name);
  }
}

/**
 * Runs in the page: true once the app has drawn more than `frames` frames, or has stopped on
 * its error panel or the unsupported page (the caller's asserts then say why).
 */
export function drawnOrStopped(frames) {
  return (window.sparkbench?.stats?.().frames ?? 0) > frames
    || !document.getElementById('sparkbench-error').hidden
    || document.body.dataset.state === 'unsupported';
}

/** The extension the page times the GPU with. */
export const TIMER_QUERY = 'EXT_disjoint_timer_query_webgl2';

/** Whether this browser's WebGL2 offers the timer query extension, asked on a fresh canvas. */
export function browserHasTimerQuery(page) {
  return page.evaluate((name) => document.createElement('canvas').getContext('webgl2')
    ?.getSupportedExtensions()?.includes(name) ?? false, TIMER_QUERY);
}

/**
 * `stats().gpu` of a page that has drawn for a while: a measured GPU time from the timer
 * query exactly when the browser has the extension (`hasTimerQuery`), else no figure and
 * the reason. Returns the figure (or null).
 */
export function assertGpuTime(gpu, hasTimerQuery) {
  if (hasTimerQuery) {
    assert.equal(gpu.source, TIMER_QUERY, JSON.stringify(gpu));
    assert.equal(gpu.not_available, null, JSON.stringify(gpu));
    assert.ok(Number.isFinite(gpu.ms) && gpu.ms > 0, `a measured GPU time: ${JSON.stringify(gpu)}`);
  } else {
    assert.equal(gpu.source, null, JSON.stringify(gpu));
    assert.equal(gpu.not_available, `no ${TIMER_QUERY} in this WebGL2`, JSON.stringify(gpu));
    assert.equal(gpu.ms, null, `no figure without the extension: ${JSON.stringify(gpu)}`);
  }
  assert.ok(Number.isInteger(gpu.dropped) && gpu.dropped >= 0, JSON.stringify(gpu));
  return gpu.ms;
}

/** The stats every running page reports: frames, a finite frame rate and its memory. */
export function assertRunningStats(stats) {
  assert.ok(stats.frames > 60, `frames ${stats.frames}`);
  assert.ok(stats.fps > 0 && Number.isFinite(stats.fps), `fps ${stats.fps}`);
  assert.ok(stats.frame_ms > 0 && Number.isFinite(stats.frame_ms), `frame_ms ${stats.frame_ms}`);
  // Memory as the counting allocator and the pools measured it in this page.
  const memory = stats.memory;
  assert.ok(memory.live_bytes > 0 && memory.peak_live_bytes >= memory.live_bytes, JSON.stringify(memory));
  assert.ok(memory.linear_memory_bytes >= memory.peak_live_bytes, 'linear memory holds the heap');
  assert.ok(memory.linear_memory_bytes % 65536 === 0, 'linear memory is whole 64 KiB pages');
  assert.ok(memory.memory_grows > 0, 'talc grew linear memory as the app started');
  assert.ok(memory.pool_hit_rate > 0.5 && memory.pool_hit_rate <= 1, `pool hit rate ${memory.pool_hit_rate}`);
  assert.ok(memory.instance_buffer_bytes >= 20 * stats.particles, 'the GPU buffer holds every particle');
}
