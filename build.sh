#!/usr/bin/env bash
# Every entry point a person types. Run `./build.sh help` for the list.
#
# Tools it installs when missing: the Rust toolchain pinned in rust-toolchain.toml (with the
# wasm32 target), the wasm-bindgen CLI at the version Cargo.lock records (into a cache it
# reuses), and Debian packages: binaryen (wasm-opt), brotli, and for tests chromium,
# firefox-esr, xvfb and mesa-vulkan-drivers; playwright-core (Chromium) and puppeteer-core
# (Firefox, over WebDriver BiDi) from npm for the browser tests.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

# A RUSTFLAGS variable would replace .cargo/config.toml's flags and silently drop +simd128.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="${SPARKBENCH_TOOLS:-$HOME/.cache/sparkbench/tools}"
DIST="$ROOT/dist"
# Beside each bundle: what its post-rustc steps were run on (see build_unless_current).
STAMP_FILE=.bundle-stamp
SHOTS="$ROOT/target/screenshots"
WASM_TARGET=wasm32-unknown-unknown
# wasm-opt 108 must be told every feature rustc 1.97's wasm32 output uses.
WASM_OPT_FEATURES=(--enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue)
# The threaded bundle (dist/mt/) rebuilds std with atomics (-Zbuild-std): a nightly, pinned
# by date, that only this bundle uses.
THREADS_TOOLCHAIN=nightly-2026-10-30
# Its shared memory's declared maximum (16,384 pages): see the README's threaded bundle.
THREADS_MAX_MEMORY=$((1 << 30))

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Runs a named step and prints how long it took.
TIMINGS=()
step() {
  local name="$1"; shift
  local start=$SECONDS
  log "$name"
  "$@"
  local took=$((SECONDS - start))
  TIMINGS+=("$(printf '%-28s %4dm%02ds' "$name" $((took / 60)) $((took % 60)))")
  log "$name: done in ${took}s"
}

print_timings() {
  [ ${#TIMINGS[@]} -gt 0 ] || return 0
  printf '\nstep times:\n' >&2
  printf '  %s\n' "${TIMINGS[@]}" >&2
}
trap print_timings EXIT

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
# Installs the Debian packages whose command (or file) is missing. Args: "check:package" pairs.
ensure_apt() {
  local wanted=()
  for pair in "$@"; do
    local check="${pair%%:*}" package="${pair#*:}"
    if [[ "$check" == /* ]]; then [ -e "$check" ] && continue; else command -v "$check" >/dev/null && continue; fi
    wanted+=("$package")
  done
  [ ${#wanted[@]} -gt 0 ] || return 0
  log "installing Debian packages: ${wanted[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

ensure_rust() {
  command -v rustup >/dev/null || die "rustup is needed: see https://rustup.rs"
  local channel
  channel="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
  if ! rustup run "$channel" rustc --print target-list >/dev/null 2>&1 ||
     ! rustup component list --toolchain "$channel" --installed 2>/dev/null | grep -q clippy; then
    rustup toolchain install "$channel" --profile minimal -c clippy -c rustfmt -t "$WASM_TARGET"
  fi
  rustup target list --toolchain "$channel" --installed | grep -qx "$WASM_TARGET" ||
    rustup target add --toolchain "$channel" "$WASM_TARGET"
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen() {
  local version dir
  version="$(wasm_bindgen_version)"
  [ -n "$version" ] || die "Cargo.lock names no wasm-bindgen version"
  dir="$TOOLS/wasm-bindgen-$version"
  if [ ! -x "$dir/bin/wasm-bindgen" ]; then
    log "installing wasm-bindgen-cli $version into $dir"
    # Not --locked: the CLI's own lock file names a webpki-roots release the registry lacks.
    (cd "$TOOLS" 2>/dev/null || { mkdir -p "$TOOLS" && cd "$TOOLS"; }
     env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "=$version" --root "$dir" --quiet)
  fi
  WASM_BINDGEN="$dir/bin/wasm-bindgen"
}

ensure_web_tools() {
  ensure_rust
  ensure_wasm_bindgen
  ensure_apt wasm-opt:binaryen brotli:brotli gzip:gzip node:nodejs patch:patch
}

ensure_test_tools() {
  ensure_web_tools
  ensure_apt chromium:chromium firefox-esr:firefox-esr xvfb-run:xvfb xauth:xauth valgrind:valgrind \
    /usr/share/vulkan/icd.d/lvp_icd.x86_64.json:mesa-vulkan-drivers \
    /usr/lib/x86_64-linux-gnu/libvulkan.so.1:libvulkan1 \
    /usr/lib/x86_64-linux-gnu/libxkbcommon-x11.so.0:libxkbcommon-x11-0 \
    /usr/lib/x86_64-linux-gnu/libXcursor.so.1:libxcursor1 \
    /usr/lib/x86_64-linux-gnu/libXrandr.so.2:libxrandr2 \
    /usr/lib/x86_64-linux-gnu/libXi.so.6:libxi6
  # The drivers: Playwright for Chromium, Puppeteer (WebDriver BiDi) for Firefox.
  if [ ! -d tests/web/node_modules/playwright-core ] || [ ! -d tests/web/node_modules/puppeteer-core ]; then
    log "installing playwright-core and puppeteer-core (npm)"
    (cd tests/web && npm ci --no-audit --no-fund --silent)
  fi
}

human() { awk -v b="$1" 'BEGIN { printf "%12d B  %8.2f MB", b, b / 1e6 }'; }

# The served wasm's raw and brotli limits per bundle; `./build.sh test` fails past them.
SIZE_BUDGET=web/size-budget.json
TWIGGY_VERSION=0.8.0

ensure_twiggy() {
  TWIGGY="$TOOLS/twiggy-$TWIGGY_VERSION/bin/twiggy"
  [ -x "$TWIGGY" ] && return
  log "installing twiggy $TWIGGY_VERSION into $TOOLS"
  env -u CARGO_TARGET_DIR cargo install twiggy --version "=$TWIGGY_VERSION" --locked \
    --root "$TOOLS/twiggy-$TWIGGY_VERSION" --quiet
}

# Checks each bundle's served wasm against its budget and prints both; fails naming the
# bundle and the figures when one is over.
check_size_budget() {
  local failed=0 bundle dir kind size limit
  for bundle in default threaded; do
    dir="$DIST"; [ "$bundle" = threaded ] && dir="$DIST/mt"
    for kind in raw brotli; do
      size="$(stat -c %s "$dir/sparkbench_bg.wasm$([ "$kind" = brotli ] && echo .br)")"
      limit="$(node -p "require(process.argv[1]).$bundle?.${kind}_bytes" "$(realpath "$SIZE_BUDGET")")"
      [[ "$limit" =~ ^[0-9]+$ ]] || die "$SIZE_BUDGET has no whole number at $bundle.${kind}_bytes"
      if [ "$size" -le "$limit" ]; then
        printf '  %-8s %-6s %10d B, budget %10d B: %d B under\n' "$bundle" "$kind" "$size" "$limit" $((limit - size))
      else
        printf '  %-8s %-6s %10d B, budget %10d B: %d B OVER\n' "$bundle" "$kind" "$size" "$limit" $((size - limit))
        failed=1
      fi
    done
  done
  [ "$failed" -eq 0 ] || die "a bundle grew past $SIZE_BUDGET: find the bytes with ./build.sh size"
}

# Where the default bundle's bytes go, by crate (twiggy on rustc's wasm, which still has its
# names), then both bundles against the budget.
cmd_size() {
  ensure_twiggy
  cmd_web
  "$TWIGGY" top --format json "$CARGO_TARGET_DIR/$WASM_TARGET/web-release/sparkbench.wasm" |
    node tests/web/size-by-crate.mjs "${SIZE_ROWS:-30}"
  printf '\nserved wasm against %s:\n' "$SIZE_BUDGET"
  check_size_budget
}

size_report() {
  local wasm="$DIST/sparkbench_bg.wasm"
  printf '\nsize of %s:\n' "${wasm#"$ROOT"/}"
  printf '  raw     %s\n' "$(human "$(stat -c %s "$wasm")")"
  printf '  gzip    %s\n' "$(human "$(stat -c %s "$wasm.gz")")"
  printf '  brotli  %s\n' "$(human "$(stat -c %s "$wasm.br")")"
}

# What a bundle's post-rustc steps (wasm-opt, wasm-bindgen, compression) depend on: the wasm
# rustc built, the tools' versions and settings and this script, which holds their command
# lines. Args: rustc's wasm.
bundle_stamp() {
  printf '%s\n' "$(sha256sum <"$1")" "$(sha256sum <"$ROOT/build.sh")" "$(wasm-opt --version)" \
    "$("$WASM_BINDGEN" --version)" "$(brotli --version)" "$(gzip --version | head -n 1)" \
    "$(env | grep '^WASM_BINDGEN' | sort || true)"
}

# Runs the post-rustc steps ($3...) into the folder $1 unless its stamp already says $2: then
# the bundle there is what they would write again, and serving starts at once. The stamp is
# written last, so an interrupted run leaves none and the next run rebuilds.
build_unless_current() {
  local out="$1" stamp="$2"
  shift 2
  if [ "$(cat "$out/$STAMP_FILE" 2>/dev/null)" = "$stamp" ] && has_bundle_files "$out"; then
    log "${out#"$ROOT"/}: rustc's wasm, the tools and build.sh are unchanged, keeping the bundle"
    return
  fi
  rm -rf "$out/$STAMP_FILE" "$out/snippets" "$out"/sparkbench*
  mkdir -p "$out"
  "$@"
  echo "$stamp" >"$out/$STAMP_FILE"
}

# Whether the folder $1 holds every file the post-rustc steps write.
has_bundle_files() {
  local file
  for file in build.json sparkbench_bg.wasm{,.gz,.br} sparkbench.js{,.gz,.br}; do
    [ -f "$1/$file" ] || return 1
  done
}

# Copies the page's own files ($2...) into $1, compressed as the server sends them.
copy_static() {
  local out="$1" file
  shift
  for file in "$@"; do
    cp "$file" "$out/"
    compress "$out/$(basename "$file")"
  done
}

# Writes FILE.gz and FILE.br beside each FILE.
compress() {
  local file
  for file in "$@"; do
    gzip -9 -k -f "$file"
    brotli -q 11 -f "$file"
  done
}

# Builds the browser bundle into dist/ (dist/mt/, the threaded one, is left alone).
build_web() {
  ensure_web_tools
  web_patch_config "$CARGO_TARGET_DIR/web-patches" "${WEB_PATCHED[@]}"
  cargo build --lib --profile web-release --target "$WASM_TARGET" "${PATCH_CONFIG[@]}"
  local built="$CARGO_TARGET_DIR/$WASM_TARGET/web-release/sparkbench.wasm"
  build_unless_current "$DIST" "$(bundle_stamp "$built")" bundle_web "$built"
  copy_static "$DIST" web/index.html web/loader.js
  size_report
}

# The default bundle with no threaded one beside it (a dist/mt/ left from an earlier build
# could be older code), so an isolated page runs the default bundle.
build_web_alone() {
  build_web
  rm -rf "$DIST/mt"
}

# wasm-opt, wasm-bindgen and compression of rustc's wasm ($1) into dist/.
bundle_web() {
  # wasm-opt runs on rustc's output, before wasm-bindgen: run after it, wasm-opt 108 retypes
  # wasm-bindgen's externref table and the page fails at start-up ("Table.set(): Argument 1
  # is invalid"). -O2 keeps sparkbench's opt-level 3 loops fast; --strip-debug also drops
  # the name section, about half the file.
  local optimized="$CARGO_TARGET_DIR/$WASM_TARGET/web-release/sparkbench.opt.wasm"
  wasm-opt -O2 --strip-debug --strip-producers "${WASM_OPT_FEATURES[@]}" "$1" -o "$optimized"
  "$WASM_BINDGEN" --target web --no-typescript --out-dir "$DIST" --out-name sparkbench "$optimized"
  printf '{"wasm":"sparkbench_bg.wasm","js":"sparkbench.js","wasm_bytes":%d}\n' \
    "$(stat -c %s "$DIST/sparkbench_bg.wasm")" >"$DIST/build.json"
  compress "$DIST"/sparkbench_bg.wasm "$DIST"/sparkbench.js
}

ensure_threads_toolchain() {
  rustup component list --toolchain "$THREADS_TOOLCHAIN" --installed 2>/dev/null | grep -q '^rust-src' ||
    rustup toolchain install "$THREADS_TOOLCHAIN" --profile minimal -c rust-src
}

# Makes $1/$2, a copy of the locked crate $2 with web/patches/$2.patch applied (the patch
# says why), again unless the copy is there and its stamp says the same crate version and
# patch. Sets PATCHED_DIR to its path.
patched_crate() {
  local name="$2" patch="web/patches/$2.patch" version source stamp
  PATCHED_DIR="$1/$2"
  [ -f "$patch" ] || die "no $patch"
  version="$(awk -v want="name = \"$name\"" '$0 == want { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  [ -n "$version" ] || die "$name is not in Cargo.lock"
  stamp="$version $(cksum <"$patch")"
  [ -d "$PATCHED_DIR" ] && [ "$(cat "$PATCHED_DIR.stamp" 2>/dev/null)" = "$stamp" ] && return
  cargo fetch --quiet --target "$WASM_TARGET"
  source="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" | head -n 1)"
  [ -d "$source" ] || die "$name $version is not in the cargo registry"
  rm -rf "$PATCHED_DIR" "$PATCHED_DIR.stamp" && cp -r "$source" "$PATCHED_DIR"
  patch --quiet --fuzz=0 -d "$PATCHED_DIR" -p1 <"$patch" || die "$patch does not apply to $name $version"
  echo "$stamp" >"$PATCHED_DIR.stamp"
}

# The browser bundles build against patched copies of some locked crates: each crate $2...
# gets web/patches/CRATE.patch in a copy under $1 (see patched_crate). Sets PATCH_CONFIG to
# cargo's arguments for them, with a copy of Cargo.lock under $1 that records the copies, so
# Cargo.lock itself never changes.
web_patch_config() {
  local dir="$1" name
  shift
  mkdir -p "$dir"
  cp Cargo.lock "$dir/Cargo.lock"
  PATCH_CONFIG=(--config "resolver.lockfile-path=\"$dir/Cargo.lock\"")
  for name in "$@"; do
    patched_crate "$dir" "$name"
    PATCH_CONFIG+=(--config "patch.crates-io.$name.path=\"$PATCHED_DIR\"")
  done
}

# The crates both browser bundles patch (see web/patches/).
WEB_PATCHED=(bevy_reflect bevy_egui)

# Builds the threaded bundle into dist/mt/: the same crate with atomics and shared memory,
# for the page's kernel workers (web/worker.js). It also patches egui (see
# web/patches/egui.patch).
build_web_threaded() {
  ensure_threads_toolchain
  local dir="$CARGO_TARGET_DIR/threads"
  web_patch_config "$dir" "${WEB_PATCHED[@]}" egui
  # Every crate gets the target features; only sparkbench's link gets the memory's shape:
  # shared, imported (each worker instantiates the module on the page's memory), with a
  # maximum, and the thread-local storage and heap-base symbols wasm-bindgen's thread
  # support sets up per worker.
  local link=(--shared-memory --import-memory "--max-memory=$THREADS_MAX_MEMORY"
    --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base
    --export=__heap_base)
  RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+simd128" \
    CARGO_TARGET_DIR="$dir" cargo "+$THREADS_TOOLCHAIN" rustc --lib --profile web-release \
    --target "$WASM_TARGET" -Zbuild-std=std,panic_abort "${PATCH_CONFIG[@]}" \
    -- "${link[@]/#/-Clink-arg=}"
  local built="$dir/$WASM_TARGET/web-release/sparkbench.wasm"
  build_unless_current "$DIST/mt" "$(bundle_stamp "$built")" bundle_web_threaded "$built"
  copy_static "$DIST/mt" web/worker.js
  DIST="$DIST/mt" size_report
}

# wasm-opt (with threads), wasm-bindgen and compression of the threaded wasm ($1) into dist/mt/.
bundle_web_threaded() {
  local optimized="${1%.wasm}.opt.wasm" out="$DIST/mt"
  wasm-opt -O2 --strip-debug --strip-producers "${WASM_OPT_FEATURES[@]}" --enable-threads \
    "$1" -o "$optimized"
  "$WASM_BINDGEN" --target web --no-typescript --out-dir "$out" --out-name sparkbench "$optimized"
  printf '{"wasm":"sparkbench_bg.wasm","js":"sparkbench.js","wasm_bytes":%d,"threads":true}\n' \
    "$(stat -c %s "$out/sparkbench_bg.wasm")" >"$out/build.json"
  compress "$out"/sparkbench_bg.wasm "$out"/sparkbench.js
}

# Built again with nothing changed, neither bundle's wasm-opt, wasm-bindgen or compression
# outputs are written again; and build_unless_current runs its steps exactly when the stamp
# differs or a bundle file is missing (on a stand-in bundle, so no real one is rebuilt).
check_web_kept() {
  local files=() dir before start scratch runs
  for dir in "$DIST" "$DIST/mt"; do
    files+=("$dir"/build.json "$dir"/sparkbench_bg.wasm{,.gz,.br} "$dir"/sparkbench.js{,.gz,.br})
  done
  before="$(stat -c '%n %y' "${files[@]}")"
  start=$SECONDS
  build_web
  build_web_threaded
  [ "$(stat -c '%n %y' "${files[@]}")" = "$before" ] ||
    die "built again with nothing changed, the bundles were written again"
  printf 'nothing changed: both bundles kept, %d s with the cargo checks\n' $((SECONDS - start))
  scratch="$(mktemp -d)"
  runs="$scratch/runs"
  stand_in_bundle() {
    touch "$scratch"/out/{build.json,sparkbench_bg.wasm{,.gz,.br},sparkbench.js{,.gz,.br}}
    echo run >>"$runs"
  }
  build_unless_current "$scratch/out" one stand_in_bundle
  build_unless_current "$scratch/out" one stand_in_bundle
  [ "$(wc -l <"$runs")" -eq 1 ] || die "an unchanged stamp ran the bundle steps again"
  build_unless_current "$scratch/out" two stand_in_bundle
  [ "$(wc -l <"$runs")" -eq 2 ] || die "a changed stamp kept the old bundle"
  rm "$scratch/out/sparkbench.js.br"
  build_unless_current "$scratch/out" two stand_in_bundle
  [ "$(wc -l <"$runs")" -eq 3 ] || die "a bundle missing a file was kept"
  rm -rf "$scratch"
}

cmd_web() {
  step "web bundle" build_web
  step "threaded web bundle" build_web_threaded
}

cmd_serve() {
  cmd_web
  print_timings
  TIMINGS=()
  exec node web/serve.mjs "$DIST" "${PORT:-8080}"
}

# A browser suite on one bundle: $1 is threaded (served cross-origin isolated, so the page
# runs dist/mt/ with workers) or single (served without COOP/COEP: the default bundle);
# the rest is the command that runs the suite. Screenshots go to target/screenshots/$1/.
browser_suite() {
  local bundle="$1"
  shift
  mkdir -p "$SHOTS/$bundle"
  SPARKBENCH_DIST="$DIST" SPARKBENCH_SHOTS="$SHOTS/$bundle" SPARKBENCH_BIN="$CARGO_TARGET_DIR/ci/sparkbench" \
    SPARKBENCH_ISOLATE="$([ "$bundle" = threaded ] && echo 1 || echo 0)" "$@"
}

# The Chromium suite (every tests/web/*.test.mjs) on one bundle (arg as for browser_suite).
test_browser() { browser_suite "$1" node --test tests/web/; }

# The Firefox suite on one bundle. Headed on Xvfb: headless Firefox has no WebGL2 here,
# while on an X display Mesa's llvmpipe gives it one.
test_firefox() {
  browser_suite "$1" xvfb-run -a -s "-screen 0 1280x1024x24" node --test tests/web/firefox-suite.mjs
}

cmd_test() {
  step "install tools" ensure_test_tools
  step "cargo fmt --check" cargo fmt --all --check
  step "clippy (native)" cargo clippy --profile ci --all-targets -- -D warnings
  step "clippy (wasm32)" cargo clippy --profile ci --lib --target "$WASM_TARGET" -- -D warnings
  step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --profile ci --no-deps
  # The desktop test inside runs the app in a real window under Xvfb (Mesa software Vulkan).
  step "cargo test" env SPARKBENCH_SHOTS="$SHOTS" cargo test --profile ci
  # The phase-spans feature rebuilds sparkbench alone (no dependency's features change).
  step "clippy and test (phase-spans)" phase_spans_check
  step "web bundle" build_web
  step "threaded web bundle" build_web_threaded
  step "web bundles again (nothing changed: kept)" check_web_kept
  step "bundle size budget" check_size_budget
  step "kernel instruction counts (callgrind)" callgrind_check "$CARGO_TARGET_DIR/ci/sparkbench"
  step "browser test (chromium, single-threaded)" test_browser single
  step "browser test (chromium, threaded)" test_browser threaded
  step "browser test (firefox, single-threaded)" test_firefox single
  step "browser test (firefox, threaded)" test_firefox threaded
  printf '\nscreenshots: %s\n' "${SHOTS#"$ROOT"/}"
}

# Kernel timings: criterion (native), and one table each from the native release build and
# from the wasm bundle in headless Chromium, each with its SIMD/scalar ratio.
cmd_bench() {
  step "install tools" ensure_test_tools
  step "criterion (native)" cargo bench --bench kernels
  cmd_web
  step "native table" cargo run --release --quiet -- bench --seconds "${BENCH_SECONDS:-1}"
  step "wasm tables (chromium)" env SPARKBENCH_DIST="$DIST" node tests/web/run-bench.mjs "${BENCH_SECONDS:-1}"
}

# The page's own phase timings at 1,000,000 particles (stress) in headless Chromium, for
# the single-threaded bundle and the threaded one with 0 and 1 workers: a few minutes a
# row, since SwiftShader takes about 8 s to draw each frame.
cmd_phases() {
  step "install tools" ensure_test_tools
  cmd_web
  step "phases (chromium)" env SPARKBENCH_DIST="$DIST" node tests/web/run-phases.mjs "${PARTICLES:-1000000}" "${FRAMES:-10}" "${WORKERS:-0,1}"
}

# Allocator benchmark: record an allocation trace from a real run (the release app under
# Xvfb), then replay it on the pools and on the backing allocator, natively and in wasm (Node).
cmd_alloc_bench() {
  step "install tools" ensure_test_tools
  step "web bundle" build_web_alone
  step "release build" cargo build --release --quiet
  local trace="$CARGO_TARGET_DIR/alloc-trace.bin"
  step "record trace" xvfb-run -a -s "-screen 0 1280x720x24" "$CARGO_TARGET_DIR/release/sparkbench" \
    --scenario fireworks --particles 20000 --frames "${TRACE_FRAMES:-120}" --alloc-trace "$trace"
  step "native table" "$CARGO_TARGET_DIR/release/sparkbench" alloc-bench --trace "$trace"
  step "wasm table (node)" env SPARKBENCH_DIST="$DIST" node tests/web/run-alloc-bench.mjs "$trace"
}

# Kernel instruction counts under callgrind: exact for a given binary, so they can be
# checked on a noisy shared machine where times cannot. Expected counts (and the tolerance)
# live in tests/perf-baseline/callgrind.tsv; `./build.sh perf-baseline` rewrites them.
CALLGRIND_TABLE=tests/perf-baseline/callgrind.tsv
CALLGRIND_CASES=("step scalar" "step sse2" "step avx2" "pack scalar" "pack sse2" "pack avx2")

# Instructions `kernel-runs` executes inside the kernel loop. Args: binary kernel backend.
count_instructions() {
  local out
  out="$(mktemp)"
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*repeat_kernel*' \
    "$1" kernel-runs --kernel "$2" --backend "$3" --particles 10000 --runs 10 >/dev/null 2>&1
  sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$out" | tail -n 1
  rm -f "$out"
}

# Checks every kernel's count against the table. Arg: the binary (the ci profile's).
callgrind_check() {
  local binary="$1" failed=0 kernel backend expected counted tolerance
  tolerance="$(sed -n 's/^# tolerance: *\([0-9.]*\)%.*/\1/p' "$CALLGRIND_TABLE")"
  while read -r kernel backend expected; do
    case "$kernel" in '#'* | '') continue ;; esac
    if ! "$binary" kernel-runs --kernel "$kernel" --backend "$backend" --particles 1 --runs 1 >/dev/null 2>&1; then
      printf '  %-5s %-7s skipped: not available on this CPU\n' "$kernel" "$backend"
      continue
    fi
    counted="$(count_instructions "$binary" "$kernel" "$backend")"
    if awk -v c="$counted" -v e="$expected" -v t="$tolerance" 'BEGIN { d = (c - e) / e * 100; exit !(d <= t && d >= -t) }'; then
      printf '  %-5s %-7s %12d instructions (expected %d) ok\n' "$kernel" "$backend" "$counted" "$expected"
    else
      printf '  %-5s %-7s %12d instructions, expected %d within %s%%: CHANGED\n' "$kernel" "$backend" "$counted" "$expected" "$tolerance"
      failed=1
    fi
  done <"$CALLGRIND_TABLE"
  return "$failed"
}

# The headless captures perf-check records: scenario and particles (seed 7, 300 frames).
PERF_SET=("fountain 20000" "stress 100000")

perf_capture() { # Args: binary scenario particles out
  "$1" capture --headless --scenario "$2" --particles "$3" --seed 7 --frames 300 --warmup 60 --out "$4"
}

# Records PERF_RUNS (default 3) captures of each of PERF_SET into
# FOLDER/PREFIXheadless-S-N/, emptied first.
perf_runs() { # Args: binary folder [prefix]
  local entry scenario particles run runs
  for entry in "${PERF_SET[@]}"; do
    read -r scenario particles <<<"$entry"
    runs="$2/${3:-}headless-$scenario-$particles"
    rm -rf "$runs" && mkdir -p "$runs"
    for run in $(seq 1 "${PERF_RUNS:-3}"); do
      step "capture $scenario ($run)" perf_capture "$1" "$scenario" "$particles" "$runs/run-$run.json"
    done
  done
}

# Where Cargo puts PROFILE's binaries: the dev profile's are in target/debug.
# compare judges a time only with three or more runs a side: fewer would pass unjudged.
need_three_runs() {
  [ "${PERF_RUNS:-3}" -ge 3 ] || die "PERF_RUNS=${PERF_RUNS}: compare judges times only with 3 or more runs a side"
}

profile_dir() { # Args: profile
  if [ "$1" = dev ]; then echo "$CARGO_TARGET_DIR/debug"; else echo "$CARGO_TARGET_DIR/$1"; fi
}

# Records the committed baselines again on this machine: headless captures (release build)
# and kernel instruction counts (ci build).
cmd_perf_baseline() {
  step "install tools" ensure_test_tools
  step "release build" cargo build --release --quiet --bin sparkbench
  step "ci build" cargo build --profile ci --quiet --all-targets
  need_three_runs
  perf_runs "$CARGO_TARGET_DIR/release/sparkbench" tests/perf-baseline
  {
    echo "# kernel backend instructions: sparkbench kernel-runs --particles 10000 --runs 10 (ci profile)"
    echo "# tolerance: ${CALLGRIND_TOLERANCE:-2}%"
    local case_
    for case_ in "${CALLGRIND_CASES[@]}"; do
      read -r kernel backend <<<"$case_"
      "$CARGO_TARGET_DIR/ci/sparkbench" kernel-runs --kernel "$kernel" --backend "$backend" --particles 1 --runs 1 >/dev/null 2>&1 || continue
      echo "$kernel $backend $(count_instructions "$CARGO_TARGET_DIR/ci/sparkbench" "$kernel" "$backend")"
    done
  } >"$CALLGRIND_TABLE.new"
  mv "$CALLGRIND_TABLE.new" "$CALLGRIND_TABLE"
  cat "$CALLGRIND_TABLE"
}

# Records fresh headless captures (PERF_RUNS each) and compares them with the committed
# baselines' runs (PERF_THRESHOLD, default 25%), then checks the kernels' instruction
# counts.
cmd_perf_check() {
  step "install tools" ensure_test_tools
  step "release build" cargo build --release --quiet --bin sparkbench
  step "ci build" cargo build --profile ci --quiet --all-targets
  local entry scenario particles runs failed=0 fresh="$CARGO_TARGET_DIR/perf-check"
  need_three_runs
  perf_runs "$CARGO_TARGET_DIR/release/sparkbench" "$fresh"
  for entry in "${PERF_SET[@]}"; do
    read -r scenario particles <<<"$entry"
    runs="headless-$scenario-$particles"
    if ! compgen -G "tests/perf-baseline/$runs/*.json" >/dev/null; then
      log "perf-check: no baseline runs in tests/perf-baseline/$runs/ (record them on this machine: ./build.sh perf-baseline)"
      failed=1
      continue
    fi
    # The baselines were recorded earlier, not interleaved with these runs: a change in
    # the times that the runs cannot pin on the build is inconclusive (exit 4), not a failure.
    local status=0
    "$CARGO_TARGET_DIR/release/sparkbench" compare "tests/perf-baseline/$runs" "$fresh/$runs" \
      --threshold "${PERF_THRESHOLD:-25%}" || status=$?
    case "$status" in
      0) ;;
      4) log "perf-check: $scenario's times moved, but the runs cannot say it was the build (not a failure)" ;;
      *) failed=1 ;;
    esac
  done
  step "kernel instruction counts (callgrind)" callgrind_check "$CARGO_TARGET_DIR/ci/sparkbench" || failed=1
  print_timings
  [ "$failed" -eq 0 ] || die "perf-check: a capture regressed or a kernel's instruction count changed"
}

# Adds this checkout's headless captures (PERF_SET, PERF_RUNS runs each, default 3, from
# the PERF_PROFILE build, default release) to PERF_HISTORY (default perf-history/), one
# folder per revision, then draws PERF_HISTORY/history.html from every capture there.
cmd_perf_history() {
  local profile="${PERF_PROFILE:-release}" folder="${PERF_HISTORY:-$ROOT/perf-history}"
  step "$profile build" cargo build --profile "$profile" --quiet --bin sparkbench
  local bin revision
  bin="$(profile_dir "$profile")/sparkbench"
  revision="$(git rev-parse --short=12 HEAD)"
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then revision="$revision-dirty"; fi
  perf_runs "$bin" "$folder/$revision" "$(hostname)-$(date +%Y%m%dT%H%M%S)-"
  step "history" "$bin" history "$folder" -o "$folder/history.html"
  print_timings
}

# A capture in headless Chromium, written to OUT (default target/capture-web.json):
# CAPTURE_QUERY (default scenario=stress&particles=20000&seed=7), CAPTURE_FRAMES (600).
cmd_capture_web() {
  step "install tools" ensure_test_tools
  step "web bundle" build_web_alone
  step "capture (chromium)" env SPARKBENCH_DIST="$DIST" node tests/web/capture-web.mjs \
    "${1:-$ROOT/target/capture-web.json}" "${CAPTURE_QUERY:-scenario=stress&particles=20000&seed=7}" \
    "${CAPTURE_FRAMES:-600}"
}

# The overlay's one font: the Ubuntu Light that egui ships (epaint_default_fonts, pinned by
# the crate's checksum), cut to the glyphs sparkbench draws and renamed as the Ubuntu Font
# Licence asks of a modified font. egui's four default fonts were 1.41 MB of the bundle.
# Run again to add glyphs; overlay::fonts' test names any character the app's strings use
# that the cut lacks.
OVERLAY_FONT=assets/fonts/ubuntu-light-derivative-sparkbench.ttf
OVERLAY_FONT_GLYPHS="U+0020-007E,U+00A0-00FF,U+2013-2014,U+2022,U+2026,U+2190-2193,U+2212"
EGUI_FONTS_CRATE=epaint_default_fonts-0.36.2
EGUI_FONTS_SHA256=773fa9c96dd0dbef887e39d0ed6177f141cce4d68e6041df77570aa3702dfa13
FONTTOOLS_VERSION=4.68.0

cmd_fonts() {
  local venv="$TOOLS/fonttools-$FONTTOOLS_VERSION" scratch
  if [ ! -x "$venv/bin/pyftsubset" ]; then
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet "fonttools==$FONTTOOLS_VERSION"
  fi
  scratch="$(mktemp -d)"
  curl -fsSL "https://static.crates.io/crates/${EGUI_FONTS_CRATE%-*}/$EGUI_FONTS_CRATE.crate" -o "$scratch/fonts.crate"
  echo "$EGUI_FONTS_SHA256  $scratch/fonts.crate" | sha256sum --check --quiet ||
    die "$EGUI_FONTS_CRATE.crate does not have the checksum build.sh pins"
  tar -xzf "$scratch/fonts.crate" -C "$scratch"
  mkdir -p "$(dirname "$OVERLAY_FONT")"
  "$venv/bin/pyftsubset" "$scratch/$EGUI_FONTS_CRATE/fonts/Ubuntu-Light.ttf" --unicodes="$OVERLAY_FONT_GLYPHS" \
    --layout-features='*' --name-IDs='*' --no-hinting --desubroutinize --output-file="$scratch/cut.ttf"
  "$venv/bin/python" - "$scratch/cut.ttf" "$OVERLAY_FONT" <<'PY'
import sys
from fontTools.ttLib import TTFont
font = TTFont(sys.argv[1])
# Family, unique id, full name, PostScript name and typographic family, with "derivative
# sparkbench" appended.
for record in font["name"].names:
    if record.nameID in (1, 3, 4, 6, 16):
        suffix = "-derivative-sparkbench" if record.nameID == 6 else " derivative sparkbench"
        record.string = record.toUnicode() + suffix
font.save(sys.argv[2])
PY
  cp "$scratch/$EGUI_FONTS_CRATE/fonts/UFL.txt" "$(dirname "$OVERLAY_FONT")/UFL.txt"
  rm -rf "$scratch"
  printf '%s: %d bytes\n' "$OVERLAY_FONT" "$(stat -c %s "$OVERLAY_FONT")"
}

cmd_help() {
  cat <<'USAGE'
usage: ./build.sh COMMAND

  serve   build the browser bundles into dist/ and serve them on http://127.0.0.1:8080 (PORT= to
          change), cross-origin isolated so the page runs the threaded bundle with workers;
          a bundle whose wasm, tools and build.sh are unchanged is served as it is
  web     build the browser bundles into dist/ (single-threaded) and dist/mt/ (threaded) and
          print their sizes
  size    build the bundles, print where the default one's bytes go by crate (twiggy; SIZE_ROWS
          rows) and both bundles' raw and brotli sizes against web/size-budget.json
  test    everything CI runs: fmt, clippy (native + wasm32), cargo doc, cargo test (with the desktop
          window test), both web bundles and their size budget, and the browser tests on
          each: the full suite in headless Chromium, then a shorter one in Firefox ESR (on
          Xvfb) with screenshots beside Chromium's
  bench   kernel benchmarks: criterion, then ns-per-particle tables natively and in
          headless Chromium (wasm), each with the SIMD/scalar ratio; BENCH_SECONDS per cell;
          then the threaded bundle's step and pack with 0..all workers and its dispatch
          round trip
  phases  the page's own simulate, pack and upload timings at 1,000,000 particles in
          headless Chromium, single-threaded and with 0 and 1 workers (PARTICLES, FRAMES,
          WORKERS to change)
  alloc-bench  record an allocation trace from a real run (TRACE_FRAMES, default 120) and
          replay it on the size-class pools and on the backing allocator, natively and in wasm
  capture-web [OUT.json]  record a capture in headless Chromium (CAPTURE_QUERY,
          CAPTURE_FRAMES) and write it to OUT; compare it with a desktop capture:
          cargo run --release -- compare desktop.json OUT.json
  perf-check  record headless captures and compare them with tests/perf-baseline/
          (PERF_THRESHOLD, default 25%), then check kernel instruction counts (callgrind)
  perf-baseline  record those baselines and instruction counts again on this machine
  perf-history  add this checkout's headless captures (PERF_RUNS each) to PERF_HISTORY
          (default perf-history/) and draw its history.html across revisions and machines
  fonts   cut the overlay's font (assets/fonts/) again from the Ubuntu Light egui ships
  setup   install the tools the other commands need
USAGE
}

# The phase-spans feature: clippy on every target, and the phases' tests, spans included.
phase_spans_check() {
  cargo clippy --profile ci --all-targets --features phase-spans -- -D warnings
  cargo test --profile ci --features phase-spans --lib -- perf::phases
}

case "${1:-help}" in
  serve) cmd_serve ;;
  web) cmd_web ;;
  size) cmd_size ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  phases) cmd_phases ;;
  alloc-bench) cmd_alloc_bench ;;
  capture-web) cmd_capture_web "${2:-}" ;;
  perf-check) cmd_perf_check ;;
  perf-baseline) cmd_perf_baseline ;;
  perf-history) cmd_perf_history ;;
  fonts) cmd_fonts ;;
  setup) step "install tools" ensure_test_tools ;;
  help | -h | --help) cmd_help ;;
  *) cmd_help >&2; die "unknown command '$1'" ;;
esac
