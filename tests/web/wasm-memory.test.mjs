// The allocator in wasm32, in Node: the self-test against the model (pools and the app's
// global allocator: talc under the pools under the counting layer), and a replay of an
// allocation trace recorded from a real native run. Run by `./build.sh test`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle } from './wasm-node.mjs';

const bindings = await loadBundle();

test('the allocator passes its self-test in wasm32 for several seeds', () => {
  for (const seed of [1, 7, 2026]) {
    assert.equal(bindings.memory_check(seed, 3000), 'ok', `seed ${seed}`);
  }
});

test('a trace recorded natively replays on the pools and on talc in wasm32', { timeout: 180_000 }, () => {
  const bin = process.env.SPARKBENCH_BIN;
  assert.ok(bin, 'SPARKBENCH_BIN names the native binary that records the trace');
  const trace = join(mkdtempSync(join(tmpdir(), 'sparkbench-')), 'trace.bin');
  execFileSync('xvfb-run', ['-a', '-s', '-screen 0 1280x720x24', bin,
    '--scenario', 'fireworks', '--particles', '20000', '--frames', '30', '--alloc-trace', trace],
  { stdio: ['ignore', 'ignore', 'pipe'], timeout: 150_000 });
  const result = bindings.alloc_bench(readFileSync(trace), 3);
  assert.deepEqual(result.rows.map((row) => row.allocator), ['backing', 'pools + backing']);
  for (const row of result.rows) {
    assert.ok(row.calls > 1000, `${row.allocator}: ${row.calls} calls`);
    assert.ok(row.ns_per_call > 0 && Number.isFinite(row.ns_per_call), `${row.allocator}: ${row.ns_per_call} ns`);
    assert.ok(row.peak_backing_bytes > 0, `${row.allocator}: peak ${row.peak_backing_bytes}`);
  }
  assert.match(result.table, /pools are [\d.]+x the backing allocator's speed/);
  assert.throws(() => bindings.alloc_bench(new Uint8Array([1, 2, 3]), 3), /not an allocation trace/);
});
