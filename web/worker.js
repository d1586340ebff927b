// A kernel worker of the threaded bundle. The page posts it the compiled module, the module's
// shared memory and its index; it instantiates the module on that memory, says it is ready,
// then runs kernel chunks for the page's life inside `worker_run` (parked in
// memory.atomic.wait32 between jobs). It never posts again: jobs come through the memory.

import init, { worker_run } from './sparkbench.js';

self.onmessage = async ({ data: { module, memory, index } }) => {
  try {
    await init({ module_or_path: module, memory });
  } catch (error) {
    self.postMessage({ index, error: `${error?.message ?? error}` });
    return;
  }
  self.postMessage({ index, ready: true });
  worker_run(index);
};
