//! The counting layer: every allocation, free and byte that passes through the app's
//! global allocator, and (while recording) a trace of them to replay in the benchmark.
//!
//! The counters are relaxed atomics, each on its own cache line so threads that allocate
//! at once do not fight over one line; `perf/` reads them once a frame and turns the
//! running totals into per-frame figures. On wasm32 the same layer counts how often the
//! backing allocator grew linear memory.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::trace::{TraceEvent, TraceRecorder};

thread_local! {
    // Const-initialised and without `Drop`, so using them never allocates and never fails,
    // even while a thread is being torn down.
    static THREAD_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static HELPER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Allocations made on helper threads (see [`count_as_helper`]) since start-up, by every
/// counting layer: a single counter, as helpers share one counter like one thread.
static HELPER_ALLOCATIONS: Padded<AtomicU64> = Padded(AtomicU64::new(0));

/// Marks the calling thread as a helper: a thread that only runs work handed to it by a
/// measured phase (the kernels' dispatcher threads). Its allocations are then also counted
/// in [`helper_allocations`], so the phase that handed it work can count them as its own.
pub fn count_as_helper() {
    HELPER_THREAD.set(true);
}

/// Allocations made on helper threads since start-up (see [`count_as_helper`]).
#[must_use]
pub fn helper_allocations() -> u64 {
    HELPER_ALLOCATIONS.0.load(Ordering::Relaxed)
}

/// Allocations made by the calling thread since it started (through any counting layer):
/// what a span on one thread subtracts to count its own allocations, whatever other
/// threads do meanwhile.
#[must_use]
pub fn thread_allocations() -> u64 {
    THREAD_ALLOCATIONS.get()
}

/// An atomic counter alone on a 64-byte cache line.
#[repr(align(64))]
struct Padded<T>(T);

/// Running totals since start-up, read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocTotals {
    /// Allocations (including the new block of each moving reallocation).
    pub allocations: u64,
    /// Frees (including the old block of each moving reallocation).
    pub frees: u64,
    /// Bytes requested by those allocations.
    pub bytes_allocated: u64,
    /// Bytes allocated and not yet freed.
    pub live_bytes: usize,
    /// The most `live_bytes` has been.
    pub peak_live_bytes: usize,
    /// Times linear memory grew (wasm32; 0 elsewhere).
    pub memory_grows: u64,
    /// Bytes asked for by the allocation that last grew linear memory (0 before any did):
    /// what to look at when memory grows after warm-up.
    pub last_grow_request_bytes: usize,
}

/// Counts what passes through to the allocator `A`.
pub struct CountingAllocator<A> {
    inner: A,
    allocations: Padded<AtomicU64>,
    frees: Padded<AtomicU64>,
    bytes_allocated: Padded<AtomicU64>,
    live_bytes: Padded<AtomicUsize>,
    peak_live_bytes: Padded<AtomicUsize>,
    memory_grows: Padded<AtomicU64>,
    last_grow_request_bytes: AtomicUsize,
    tracing: AtomicBool,
    trace: TraceRecorder,
}

impl<A> CountingAllocator<A> {
    /// Counters at zero in front of `inner`.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            allocations: Padded(AtomicU64::new(0)),
            frees: Padded(AtomicU64::new(0)),
            bytes_allocated: Padded(AtomicU64::new(0)),
            live_bytes: Padded(AtomicUsize::new(0)),
            peak_live_bytes: Padded(AtomicUsize::new(0)),
            memory_grows: Padded(AtomicU64::new(0)),
            last_grow_request_bytes: AtomicUsize::new(0),
            tracing: AtomicBool::new(false),
            trace: TraceRecorder::new(),
        }
    }

    /// The allocator the counts pass through to.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The running totals now.
    pub fn totals(&self) -> AllocTotals {
        AllocTotals {
            allocations: self.allocations.0.load(Ordering::Relaxed),
            frees: self.frees.0.load(Ordering::Relaxed),
            bytes_allocated: self.bytes_allocated.0.load(Ordering::Relaxed),
            live_bytes: self.live_bytes.0.load(Ordering::Relaxed),
            peak_live_bytes: self.peak_live_bytes.0.load(Ordering::Relaxed),
            memory_grows: self.memory_grows.0.load(Ordering::Relaxed),
            last_grow_request_bytes: self.last_grow_request_bytes.load(Ordering::Relaxed),
        }
    }

    /// Starts recording every allocation, free and reallocation, up to `capacity` events
    /// (the buffer is taken now, before recording starts). Replaces a trace in progress.
    pub fn start_trace(&self, capacity: usize) {
        self.tracing.store(false, Ordering::SeqCst);
        let buffer = Vec::with_capacity(capacity);
        let previous = self.trace.install(buffer);
        self.tracing.store(true, Ordering::SeqCst);
        drop(previous);
    }

    /// Stops recording and returns the events recorded (empty when none was started).
    pub fn stop_trace(&self) -> Vec<TraceEvent> {
        self.tracing.store(false, Ordering::SeqCst);
        self.trace.take()
    }

    fn count_alloc(&self, size: usize) {
        THREAD_ALLOCATIONS.set(THREAD_ALLOCATIONS.get() + 1);
        if HELPER_THREAD.get() {
            HELPER_ALLOCATIONS.0.fetch_add(1, Ordering::Relaxed);
        }
        self.allocations.0.fetch_add(1, Ordering::Relaxed);
        self.bytes_allocated
            .0
            .fetch_add(size as u64, Ordering::Relaxed);
        let live = self.live_bytes.0.fetch_add(size, Ordering::Relaxed) + size;
        self.peak_live_bytes.0.fetch_max(live, Ordering::Relaxed);
    }

    fn count_free(&self, size: usize) {
        self.frees.0.fetch_add(1, Ordering::Relaxed);
        self.live_bytes.0.fetch_sub(size, Ordering::Relaxed);
    }

    fn record(&self, event: TraceEvent) {
        if self.tracing.load(Ordering::Relaxed) {
            self.trace.push(event);
        }
    }

    /// Runs `allocate`, a request for `size` bytes, and counts a growth of linear memory
    /// if it caused one.
    #[inline]
    #[cfg_attr(
        not(target_arch = "wasm32"),
        expect(
            clippy::unused_self,
            unused_variables,
            reason = "only wasm32 has linear memory to watch"
        )
    )]
    fn watching_memory<T>(&self, size: usize, allocate: impl FnOnce() -> T) -> T {
        #[cfg(target_arch = "wasm32")]
        {
            let before = core::arch::wasm32::memory_size(0);
            let result = allocate();
            if core::arch::wasm32::memory_size(0) > before {
                self.memory_grows.0.fetch_add(1, Ordering::Relaxed);
                self.last_grow_request_bytes.store(size, Ordering::Relaxed);
            }
            result
        }
        #[cfg(not(target_arch = "wasm32"))]
        allocate()
    }
}

// SAFETY: every call passes straight to `inner` with the caller's arguments; the layer
// only adds counting and recording, neither of which allocates (the trace buffer is taken
// before recording starts and never grows).
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is passed on.
        let block = self.watching_memory(layout.size(), || unsafe { self.inner.alloc(layout) });
        if !block.is_null() {
            self.count_alloc(layout.size());
            self.record(TraceEvent::alloc(block, layout));
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block =
            self.watching_memory(layout.size(), || unsafe { self.inner.alloc_zeroed(layout) });
        if !block.is_null() {
            self.count_alloc(layout.size());
            self.record(TraceEvent::alloc(block, layout));
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        self.count_free(layout.size());
        self.record(TraceEvent::free(block, layout));
        // SAFETY: the caller's contract for `block` and `layout` is passed on.
        unsafe { self.inner.dealloc(block, layout) };
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        let moved = self.watching_memory(new_size, || unsafe {
            self.inner.realloc(block, layout, new_size)
        });
        if !moved.is_null() {
            self.count_free(layout.size());
            self.count_alloc(new_size);
            self.record(TraceEvent::realloc(block, layout, moved, new_size));
        }
        moved
    }
}
