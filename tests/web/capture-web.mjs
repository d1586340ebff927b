// Records a capture in headless Chromium and writes it to a file: the page is opened with
// `?capture=N`, which records N frames after a 60-frame warm-up and downloads the same
// JSON as the desktop's `sparkbench capture`. Run by `./build.sh capture-web`.
//
// usage: node capture-web.mjs OUT.json "scenario=stress&particles=20000&seed=7" FRAMES

import { writeFileSync } from 'node:fs';
import { openBrowser } from './chromium.mjs';

const [out, query = 'scenario=stress&particles=20000&seed=7', frames = '600'] = process.argv.slice(2);
if (!out) {
  console.error('usage: node capture-web.mjs OUT.json [QUERY] [FRAMES]');
  process.exit(2);
}
const session = await openBrowser();
try {
  const page = await session.browser.newPage({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  const problems = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // Software WebGL2 renders a few frames a second: allow for it.
  const download = page.waitForEvent('download', { timeout: 590_000 });
  await page.goto(`${session.origin}/?${query}&capture=${frames}`);
  const file = await download;
  const path = await file.path();
  const { readFileSync } = await import('node:fs');
  const capture = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(out, JSON.stringify(capture, null, 2));
  const s = capture.summary;
  console.log(`${capture.samples.length} frames of ${capture.settings.scenario} in ${capture.environment.user_agent}: `
    + `p50 ${s.p50_ms.toFixed(3)} ms, p95 ${s.p95_ms.toFixed(3)} ms, checksum ${capture.checksum} -> ${out}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
} finally {
  await session.close();
}
