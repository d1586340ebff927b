// Debian's Firefox ESR, driven over WebDriver BiDi by Puppeteer, and the dist/ server: the
// second browser engine the page is tested in.
//
// Headless Firefox gives no WebGL2 context on this machine, so Firefox runs headed on an X
// display (`./build.sh` starts it under xvfb-run), where Mesa's llvmpipe draws WebGL2.

import puppeteer from 'puppeteer-core';
import { browserSession, serveDist } from './browser-common.mjs';

export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/**
 * Serves `dist` (see `serveDist`) and starts Firefox on $DISPLAY; `close()` stops both.
 * With `options.downloads` (a folder), files the page downloads are saved there unasked.
 */
export async function openFirefox(dist, options = {}) {
  if (!process.env.DISPLAY) {
    throw new Error('Firefox needs an X display for WebGL2: run under xvfb-run (./build.sh test does)');
  }
  const served = await serveDist(dist, options);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: false,
    defaultViewport: { width: 1280, height: 720 },
    extraPrefsFirefox: options.downloads ? {
      'browser.download.folderList': 2,
      'browser.download.dir': options.downloads,
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
    } : {},
  });
  return browserSession(browser, served);
}
