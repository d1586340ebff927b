// Prints where a wasm module's bytes go, by crate, from twiggy's item list (`twiggy top
// --format json`, read on stdin). Run by `./build.sh size` on rustc's output, the build that
// still has its names section (wasm-opt strips it from the served bundle).
//
// An item is counted to the crate its name begins with; generic code from core, alloc or std
// (a `drop_in_place` or an iterator, say) goes to the first other crate its type arguments
// name, since that crate's types are why it is there. Custom sections (the names,
// wasm-bindgen's own section) are left out: they are not served.
//
// usage: twiggy top --format json rustc.wasm | node size-by-crate.mjs [ROWS]

const rows = Number(process.argv[2] ?? 30);
const STD_CRATES = new Set(['core', 'alloc', 'std']);

let input = '';
for await (const chunk of process.stdin) input += chunk;
const items = JSON.parse(input);

/** The crate an item's bytes are counted to, or a label for what has no crate. */
function owner(name) {
  const crates = [...name.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\[[0-9a-f]+\]::/g)].map((m) => m[1]);
  if (crates.length > 0) return crates.find((crate) => !STD_CRATES.has(crate)) ?? crates[0];
  if (name.startsWith('data segment')) return '(data: strings, tables, shaders, fonts)';
  // The names and wasm-bindgen's own custom section: wasm-opt and wasm-bindgen remove them.
  if (name.includes(' subsection') || name.startsWith('custom section')) return null;
  return '(no crate: runtime, intrinsics, tables, types)';
}

const byOwner = new Map();
let total = 0;
for (const { name, shallow_size: size } of items) {
  const key = owner(name);
  if (key === null) continue;
  byOwner.set(key, (byOwner.get(key) ?? 0) + size);
  total += size;
}

const sorted = [...byOwner].sort((a, b) => b[1] - a[1]);
const width = Math.max(...sorted.slice(0, rows).map(([key]) => key.length));
const line = (label, bytes) =>
  `  ${label.padEnd(width)}  ${bytes.toLocaleString('en-US').padStart(11)} B  ${((bytes / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`by crate (rustc's wasm before wasm-opt, custom sections left out: ${total.toLocaleString('en-US')} B):`);
for (const [key, bytes] of sorted.slice(0, rows)) console.log(line(key, bytes));
const rest = sorted.slice(rows);
if (rest.length > 0) {
  console.log(line(`${rest.length} more`, rest.reduce((sum, [, bytes]) => sum + bytes, 0)));
}
