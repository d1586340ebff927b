// Debian's Chromium, headless with SwiftShader WebGL2, and the dist/ server: shared by the
// browser test and the scripts that drive the page (bench).

import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../web/serve.mjs';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];

/**
 * Whether the server makes the page cross-origin isolated, so that it runs the threaded
 * bundle: yes unless SPARKBENCH_ISOLATE=0 (then the single-threaded one runs).
 */
export const ISOLATED = process.env.SPARKBENCH_ISOLATE !== '0';

/** Serves `dist` on a free loopback port and starts Chromium; `close()` stops both. */
export async function openBrowser(dist = process.env.SPARKBENCH_DIST ?? 'dist', { isolate = ISOLATED } = {}) {
  const server = await serve(resolve(dist), 0, '127.0.0.1', { isolate });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return {
    browser,
    origin,
    async close() {
      await browser.close();
      server.close();
    },
  };
}
