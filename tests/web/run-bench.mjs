// Prints the kernel table measured in headless Chromium: the shipped wasm bundle's
// `window.sparkbench.bench()`. Run by `./build.sh bench` after the web bundle is built.

import { openBrowser } from './chromium.mjs';

const seconds = Number(process.argv[2] ?? 1);
const session = await openBrowser();
try {
  const page = await session.browser.newPage();
  page.on('pageerror', (error) => { throw error; });
  await page.goto(`${session.origin}/`);
  await page.waitForFunction(() => typeof window.sparkbench?.bench === 'function', null, { timeout: 180_000 });
  const result = await page.evaluate((s) => window.sparkbench.bench(s), seconds);
  const agent = await page.evaluate(() => navigator.userAgent);
  console.log(`${result.table}(${agent})`);
} finally {
  await session.close();
}
