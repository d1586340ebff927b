//! The app's memory: one global allocator whose figures are measured, and GPU staging
//! memory lent to the pack kernel ([`mapped`]).
//!
//! ```text
//! CountingAllocator  counts allocations, frees, bytes, live and peak; records traces
//!   └ SizeClassPools   16–1024-byte classes from free lists (wasm32 only, see below)
//!       └ Backing        talc on wasm32 (unlocked in the single-threaded bundle, behind a
//!                        spin lock in the threaded one; linear memory grown with headroom,
//!                        see `headroom.rs`), the system allocator natively
//! ```
//!
//! Pools sit in front of the backing allocator only where they win on the allocation trace
//! recorded from a real run (`sparkbench alloc-bench`, and the same replay in wasm): in
//! wasm32 the pools beat talc (about 1.6x); natively they win on one thread but lose
//! (0.27x to 0.59x) when every core allocates at once, as Bevy's threads do, to the system
//! allocator's per-thread caches, so native builds count straight over the system allocator. The pools
//! themselves are compiled and tested everywhere. `perf/` reads [`totals`] and
//! [`pool_stats`] once a frame into `MemoryStats`.

#![expect(
    unsafe_code,
    reason = "the allocator and the staging memory lent to the pack are the places outside the kernels that need raw pointers"
)]

use core::alloc::{GlobalAlloc, Layout};

pub mod bench;
pub mod check;
mod counting;
#[cfg(any(target_arch = "wasm32", test))]
mod headroom;
pub mod mapped;
mod pools;
pub mod trace;

pub use counting::{
    AllocTotals, CountingAllocator, count_as_helper, helper_allocations, thread_allocations,
};
pub use pools::{CHUNK_BYTES, CLASS_SIZES, ClassStats, SizeClassPools, class_index};

/// The allocator under the pools: talc on wasm32, the system allocator natively.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backing;

/// talc over linear memory that grows with headroom (see [`headroom`]): unlocked in the
/// single-threaded bundle.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
static TALC: talc::cell::TalcSyncCell<headroom::GrowWithHeadroom, talc::wasm::WasmBinning> =
    talc::cell::TalcSyncCell::new_wasm(headroom::GrowWithHeadroom::new());

/// talc behind a spin lock in the threaded bundle, whose workers share the heap. A spin
/// lock because the browser's main thread may not block; the kernels allocate nothing, so
/// the workers rarely take it (wasm-bindgen's per-thread stack at start-up).
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
static TALC: talc::sync::TalcLock<
    spin::mutex::SpinMutex<()>,
    headroom::GrowWithHeadroom,
    talc::wasm::WasmBinning,
> = talc::sync::TalcLock::new(headroom::GrowWithHeadroom::new());

// SAFETY: every call is passed unchanged to talc (wasm32) or the system allocator.
unsafe impl GlobalAlloc for Backing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        unsafe { backing().alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        unsafe { backing().alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { backing().dealloc(block, layout) }
    }
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        unsafe { backing().realloc(block, layout, new_size) }
    }
}

#[cfg(target_arch = "wasm32")]
fn backing() -> &'static impl GlobalAlloc {
    &TALC
}

#[cfg(not(target_arch = "wasm32"))]
fn backing() -> &'static impl GlobalAlloc {
    &std::alloc::System
}

/// The app's allocator in wasm32: counting over the pools over talc.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: CountingAllocator<SizeClassPools<Backing>> =
    CountingAllocator::new(SizeClassPools::new(Backing));

/// The app's allocator natively: counting over the system allocator.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: CountingAllocator<Backing> = CountingAllocator::new(Backing);

/// True when this build's global allocator serves small blocks from the size-class pools.
pub const POOLED: bool = cfg!(target_arch = "wasm32");

/// The global allocator's running totals since start-up.
#[must_use]
pub fn totals() -> AllocTotals {
    ALLOCATOR.totals()
}

/// The global pools' counters per class, smallest first (`None` where the build has none).
#[must_use]
pub fn pool_stats() -> Option<[ClassStats; CLASS_SIZES.len()]> {
    #[cfg(target_arch = "wasm32")]
    return Some(ALLOCATOR.inner().stats());
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// Linear memory now, in bytes (wasm32; `None` elsewhere).
#[must_use]
pub fn linear_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    return Some(core::arch::wasm32::memory_size(0) as u64 * 65_536);
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// Starts recording the global allocator's calls, up to `capacity` events.
pub fn start_trace(capacity: usize) {
    ALLOCATOR.start_trace(capacity);
}

/// Stops recording and returns the events.
#[must_use]
pub fn stop_trace() -> Vec<trace::TraceEvent> {
    ALLOCATOR.stop_trace()
}
