// Debian's Chromium, headless with SwiftShader WebGL2, and the dist/ server: shared by the
// browser test and the scripts that drive the page (bench).

import { chromium } from 'playwright-core';
import { browserSession, serveDist } from './browser-common.mjs';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];

/** Serves `dist` (see `serveDist`) and starts Chromium; `close()` stops both. */
export async function openBrowser(dist, options) {
  const served = await serveDist(dist, options);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return browserSession(browser, served);
}
