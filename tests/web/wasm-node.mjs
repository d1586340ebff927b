// Loads the built wasm bundle (dist/) in Node, without a page: the module's exported
// functions work, the app itself (which needs a canvas) is never started.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function loadBundle(dist = resolve(process.env.SPARKBENCH_DIST ?? 'dist')) {
  const build = JSON.parse(readFileSync(join(dist, 'build.json'), 'utf8'));
  const bindings = await import(pathToFileURL(join(dist, build.js)).href);
  await bindings.default({ module_or_path: readFileSync(join(dist, build.wasm)) });
  return bindings;
}
