// Prints the allocation-trace table measured in wasm (Node): pools + talc against talc alone.
// Run by `./build.sh alloc-bench` with the trace the native run recorded.

import { readFileSync } from 'node:fs';
import { loadBundle } from './wasm-node.mjs';

const [tracePath, rounds = '20'] = process.argv.slice(2);
const bindings = await loadBundle();
const result = bindings.alloc_bench(readFileSync(tracePath), Number(rounds));
console.log(`${result.table}(Node ${process.version})`);
