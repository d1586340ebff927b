//! The kernels' job dispatcher: splits one kernel call into chunks and runs them on the
//! calling thread and a fixed set of helper threads, allocating nothing per call.
//!
//! Helpers are started once, when the [`Dispatcher`] is made, and park between jobs.
//! A job is a borrowed `Fn(chunk)` closure and a chunk count. [`Dispatcher::run`] publishes
//! it through atomics, wakes the helpers, then claims chunks itself from the same atomic
//! index until none are left, and spins until the chunks helpers took are done. So the
//! calling thread never sleeps on a lock: that is what lets the same scheme run on a
//! browser's main thread, which may not block, with Web Workers as helpers.
//!
//! How a helper knows which job a chunk belongs to: the claim word holds the job's
//! generation (high 32 bits) and the next chunk (low 32 bits). A job is published by
//! closing the claim word under the new generation, writing the job, then opening it at
//! chunk 0; a helper claims with a compare-and-swap that names the generation it read the
//! job under, so a claim can only succeed for the job it read, and the job outlives every
//! successful claim (the caller waits for all chunks before it returns).
//!
//! Natively the helpers are threads the dispatcher starts, parked with `thread::park`. In
//! the threaded browser bundle they are Web Workers that the page starts on the module's
//! shared memory: [`prepare_workers`] makes the one pool they serve before they start,
//! each runs [`run_worker`] for the page's life, parked in `memory.atomic.wait32` on the
//! generation counter, and [`Dispatcher::on_workers`] hands the pool to a caller.

use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bevy::prelude::Resource;

/// A job: runs chunk `i` of the current kernel call.
type Job<'a> = dyn Fn(usize) + Sync + 'a;

/// Times a helper polls for the next call before it parks (tens of microseconds).
const SPINS_BEFORE_PARKING: u32 = 4096;

/// The low 32 bits of a claim word that no chunk index reaches: the job is closed.
const CLOSED: u64 = u32::MAX as u64;

/// How a kernel call is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Below this many particles the calling thread does the whole call alone (waking
    /// helpers costs more than it saves).
    pub min_particles: usize,
    /// Particles per chunk; rounded up to a multiple of 16, the widest backend's lanes,
    /// so every chunk but the last is whole vectors.
    pub chunk_particles: usize,
}

impl Default for Split {
    fn default() -> Self {
        Self {
            min_particles: 65_536,
            chunk_particles: 32_768,
        }
    }
}

impl Split {
    /// The ranges of particles `0..len` as chunks: `None` when one thread should do it all.
    #[must_use]
    pub fn chunks(&self, len: usize) -> Option<Chunks> {
        let size = self.chunk_particles.max(1).next_multiple_of(16);
        (len >= self.min_particles && len > size).then_some(Chunks { len, size })
    }
}

/// A particle range cut into chunks of `size` (the last may be shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunks {
    len: usize,
    size: usize,
}

impl Chunks {
    /// How many chunks.
    #[must_use]
    pub fn count(&self) -> usize {
        self.len.div_ceil(self.size)
    }

    /// The particles of chunk `index`.
    #[must_use]
    pub fn range(&self, index: usize) -> Range<usize> {
        let start = index * self.size;
        start..(start + self.size).min(self.len)
    }
}

/// Whether helpers are Web Workers on shared linear memory (the threaded browser bundle).
const WEB_WORKERS: bool = cfg!(all(target_arch = "wasm32", target_feature = "atomics"));

/// What helpers and the caller share.
struct Shared {
    /// Bumped for every job; helpers park until it moves.
    generation: AtomicU32,
    /// `generation << 32 | next chunk`, or `| CLOSED` while a job is being written.
    claim: AtomicU64,
    /// Chunks in the current job.
    chunk_count: AtomicUsize,
    /// The current job: a pointer to a `&Job` on the caller's stack.
    job: AtomicPtr<&'static Job<'static>>,
    /// Chunks of the current job not yet finished.
    unfinished: AtomicUsize,
    /// Helpers with an index below this take chunks; the rest stay parked.
    active_helpers: AtomicUsize,
    /// Chunks run by helpers since the dispatcher was made.
    helper_chunks: AtomicU64,
    /// Set while a call is using the helpers; a second call made meanwhile (from another
    /// thread) runs on its own thread instead.
    busy: AtomicBool,
    /// Set when the dispatcher is dropped: helpers return.
    shutdown: AtomicBool,
}

impl Shared {
    /// State for `helpers` helpers, all active, before any job.
    fn new(helpers: usize) -> Self {
        Self {
            generation: AtomicU32::new(0),
            claim: AtomicU64::new(CLOSED),
            chunk_count: AtomicUsize::new(0),
            job: AtomicPtr::new(core::ptr::null_mut()),
            unfinished: AtomicUsize::new(0),
            active_helpers: AtomicUsize::new(helpers),
            helper_chunks: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        }
    }
}

/// Where a dispatcher's helpers run.
enum Helpers {
    /// Threads this dispatcher started and stops when it is dropped.
    Threads(Vec<std::thread::JoinHandle<()>>),
    /// This many Web Workers, started by the page and serving the page's one pool for its
    /// whole life (see [`prepare_workers`]).
    Workers(usize),
}

impl Helpers {
    fn count(&self) -> usize {
        match self {
            Self::Threads(threads) => threads.len(),
            Self::Workers(count) => *count,
        }
    }
}

/// Runs kernel calls split into chunks across the calling thread and helper threads.
///
/// Made once (it starts its threads then); [`Dispatcher::run`] allocates nothing. The
/// number of threads taking part can be lowered and raised again at run time with
/// [`Dispatcher::set_threads`], up to the number it was made with. Calls from several
/// threads at once are safe: while one call uses the helpers, another runs on its caller.
#[derive(Resource)]
pub struct Dispatcher {
    shared: Arc<Shared>,
    helpers: Helpers,
    split: Split,
}

impl core::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("threads", &self.threads())
            .field("max_threads", &self.max_threads())
            .field("split", &self.split)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// The threads this process may run at once (at least 1).
    #[must_use]
    pub fn available_threads() -> usize {
        std::thread::available_parallelism().map_or(1, core::num::NonZero::get)
    }

    /// A dispatcher over `threads` threads in all: the caller and `threads - 1` helpers.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self::with_thread_start(threads, || {})
    }

    /// As [`Dispatcher::new`], with `on_start` run first on each helper thread (to mark it
    /// for the allocation counters, say).
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    #[must_use]
    pub fn with_thread_start(threads: usize, on_start: fn()) -> Self {
        let helper_count = threads.max(1) - 1;
        let shared = Arc::new(Shared::new(helper_count));
        let helpers = (0..helper_count)
            .map(|index| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("sparkbench-kernel-{}", index + 1))
                    .spawn(move || helper_loop(&shared, index, on_start))
                    .expect("start a kernel helper thread")
            })
            .collect();
        Self {
            shared,
            helpers: Helpers::Threads(helpers),
            split: Split::default(),
        }
    }

    /// A dispatcher over the page's Web Workers (see [`prepare_workers`]): `None` where
    /// none were prepared. Every such dispatcher shares the one pool, including the number
    /// of workers taking part ([`Dispatcher::set_threads`]); each keeps its own [`Split`].
    #[must_use]
    pub fn on_workers() -> Option<Self> {
        let shared = WORKER_POOL.get()?;
        Some(Self {
            helpers: Helpers::Workers(shared.workers),
            shared: Arc::clone(&shared.shared),
            split: Split::default(),
        })
    }

    /// Cuts calls as `split` says.
    #[must_use]
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = split;
        self
    }

    /// How a call over `len` particles is cut into chunks: `None` when the calling thread
    /// does it alone (too few particles, or no helper taking part).
    #[must_use]
    pub fn chunks(&self, len: usize) -> Option<Chunks> {
        if self.threads() < 2 {
            return None;
        }
        self.split.chunks(len)
    }

    /// Threads taking part in each call now, the caller's included.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.shared.active_helpers.load(Ordering::Relaxed) + 1
    }

    /// Whether the helpers are the page's Web Workers rather than threads.
    #[must_use]
    pub fn on_web_workers(&self) -> bool {
        matches!(self.helpers, Helpers::Workers(_))
    }

    /// The most threads that can take part (the caller and every helper).
    #[must_use]
    pub fn max_threads(&self) -> usize {
        self.helpers.count() + 1
    }

    /// Lets `threads` threads take part from the next call on (clamped to
    /// `1..=max_threads`); the others stay parked.
    pub fn set_threads(&self, threads: usize) {
        let helpers = threads.clamp(1, self.max_threads()) - 1;
        self.shared.active_helpers.store(helpers, Ordering::Relaxed);
    }

    /// Chunks that helper threads have run since the dispatcher was made: 0 means every
    /// chunk ran on the calling thread.
    #[must_use]
    pub fn helper_chunks(&self) -> u64 {
        self.shared.helper_chunks.load(Ordering::Relaxed)
    }

    /// Runs `job(i)` for every chunk `i` in `0..chunks`, each exactly once, on this thread
    /// and the active helpers; returns when all have finished. Allocates nothing.
    ///
    /// A chunk that panics while helpers take part aborts the process: helpers may still be
    /// running chunks of the job that the panic would unwind.
    ///
    /// # Panics
    /// If `chunks` does not fit in 32 bits (the claim word holds the next chunk there).
    pub fn run(&self, chunks: usize, job: &(dyn Fn(usize) + Sync)) {
        if chunks == 0 {
            return;
        }
        assert!(
            u64::try_from(chunks).is_ok_and(|chunks| chunks < CLOSED),
            "{chunks} chunks: at most {} in one call",
            CLOSED - 1
        );
        let shared = &*self.shared;
        if chunks == 1
            || shared.active_helpers.load(Ordering::Relaxed) == 0
            || shared.busy.swap(true, Ordering::Acquire)
        {
            (0..chunks).for_each(job);
            return;
        }
        // Helpers may be running chunks of `job` while a panic unwinds this frame: abort.
        let abort_on_panic = AbortOnPanic;
        let generation = shared.generation.load(Ordering::Relaxed).wrapping_add(1);
        let tag = u64::from(generation) << 32;
        // Close the claim word under the new generation before writing the job, so a
        // helper that reads the new job cannot claim a chunk under the old generation.
        shared.claim.store(tag | CLOSED, Ordering::Release);
        // The pointer erases the job's lifetime; the wait below keeps `job` alive until no
        // helper can use it (see `claim_and_run`).
        let erased: *const &Job<'_> = &raw const job;
        shared.job.store(
            erased.cast::<&'static Job<'static>>().cast_mut(),
            Ordering::Release,
        );
        shared.chunk_count.store(chunks, Ordering::Release);
        shared.unfinished.store(chunks, Ordering::Release);
        shared.claim.store(tag, Ordering::Release);
        shared.generation.store(generation, Ordering::Release);
        self.wake_helpers();
        claim_and_run(shared, |_| {});
        // The chunks helpers took may still be running: spin (and, natively, yield) until
        // they finish. The calling thread never parks.
        let mut spins = 0_u32;
        while shared.unfinished.load(Ordering::Acquire) != 0 {
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                core::hint::spin_loop();
            }
        }
        shared.busy.store(false, Ordering::Release);
        core::mem::forget(abort_on_panic);
    }

    /// Wakes the active helpers for the generation just published.
    fn wake_helpers(&self) {
        match &self.helpers {
            Helpers::Threads(threads) => {
                let active = self.shared.active_helpers.load(Ordering::Relaxed);
                for helper in &threads[..active.min(threads.len())] {
                    helper.thread().unpark();
                }
            }
            Helpers::Workers(_) => wake_waiters(&self.shared.generation),
        }
    }
}

/// Claims chunks of the current job until none are left, running each; `after_chunk` runs
/// after each chunk this thread ran.
fn claim_and_run(shared: &Shared, mut after_chunk: impl FnMut(&Shared)) {
    loop {
        let claim = shared.claim.load(Ordering::Acquire);
        let next = claim & CLOSED;
        // Read under the generation in `claim`; checked by the compare-and-swap below.
        let chunks = shared.chunk_count.load(Ordering::Acquire) as u64;
        let job = shared.job.load(Ordering::Acquire);
        if next >= chunks {
            return;
        }
        if shared
            .claim
            .compare_exchange_weak(claim, claim + 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        // The claim word still held the generation this job was read under, so `job` is
        // that generation's, and its caller is waiting for this chunk: the job is alive.
        #[expect(unsafe_code, reason = "the job is borrowed across threads; see below")]
        // SAFETY: `job` was written (Release) before the claim word was opened under this
        // generation, and read (Acquire) after it; the successful compare-and-swap proves
        // the generation had not moved on, and `Dispatcher::run` does not return (so the
        // `&Job` it points to stays on its stack) until `unfinished` reaches zero, which
        // needs this chunk to finish first.
        let job: &Job<'_> = unsafe { *job };
        job(usize::try_from(next).unwrap_or(usize::MAX));
        after_chunk(shared);
        shared.unfinished.fetch_sub(1, Ordering::Release);
    }
}

/// A helper thread: run `on_start`, then park until a new generation, take chunks if
/// active, repeat.
fn helper_loop(shared: &Shared, index: usize, on_start: fn()) {
    // A panic here would leave `Dispatcher::run` spinning forever: abort instead.
    let abort_on_panic = AbortOnPanic;
    on_start();
    let mut seen = 0;
    loop {
        let mut spins = 0;
        let generation = loop {
            if shared.shutdown.load(Ordering::Acquire) {
                core::mem::forget(abort_on_panic);
                return;
            }
            let generation = shared.generation.load(Ordering::Acquire);
            if generation != seen {
                break generation;
            }
            // Calls often come in pairs (the step, then the pack) or steps in a row: a
            // short spin catches the next one without waiting to be woken.
            if spins < SPINS_BEFORE_PARKING {
                spins += 1;
                core::hint::spin_loop();
            } else {
                park_until_moved(&shared.generation, seen);
            }
        };
        seen = generation;
        if index < shared.active_helpers.load(Ordering::Relaxed) {
            claim_and_run(shared, |shared| {
                shared.helper_chunks.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
}

/// Aborts the process when dropped during a panic's unwinding.
struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::process::abort();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        // Workers serve the page's pool for its whole life; only threads are stopped.
        let Helpers::Threads(threads) = &mut self.helpers else {
            return;
        };
        self.shared.shutdown.store(true, Ordering::Release);
        for helper in threads.drain(..) {
            helper.thread().unpark();
            // A helper that panicked aborted the process (`AbortOnPanic`), so none is
            // left to report an error here.
            let _ = helper.join();
        }
    }
}

/// Parks the calling helper until `generation` may have moved past `seen`; it may also
/// return early (a spurious wake-up), so the caller checks again.
#[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
fn park_until_moved(_generation: &AtomicU32, _seen: u32) {
    std::thread::park();
}

/// Parks the calling worker in `memory.atomic.wait32` until `generation` is no longer `seen`
/// (it returns at once if it has already moved) and [`wake_waiters`] is called.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
fn park_until_moved(generation: &AtomicU32, seen: u32) {
    #[expect(unsafe_code, reason = "the wasm wait instruction takes a raw address")]
    // SAFETY: the address is that of a live, 4-byte-aligned `AtomicU32` in the shared linear
    // memory (the pool's `Shared`, which is never freed); the wait only reads it atomically.
    // Workers may block (only the page's main thread may not, and it never parks here).
    unsafe {
        core::arch::wasm32::memory_atomic_wait32(
            generation.as_ptr().cast::<i32>(),
            seen.cast_signed(),
            -1,
        );
    }
}

/// Wakes every worker parked on `generation`.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
fn wake_waiters(generation: &AtomicU32) {
    #[expect(
        unsafe_code,
        reason = "the wasm notify instruction takes a raw address"
    )]
    // SAFETY: the address is that of a live, 4-byte-aligned `AtomicU32` in linear memory;
    // notify writes nothing.
    unsafe {
        core::arch::wasm32::memory_atomic_notify(generation.as_ptr().cast::<i32>(), u32::MAX);
    }
}

/// Workers exist only in the threaded browser bundle.
#[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
fn wake_waiters(_generation: &AtomicU32) {
    unreachable!("Web Workers only serve the threaded browser bundle");
}

/// The page's one pool of Web Workers.
struct WorkerPool {
    shared: Arc<Shared>,
    /// How many workers the page starts for it.
    workers: usize,
}

/// Made once by [`prepare_workers`], before any worker starts; lives as long as the page.
static WORKER_POOL: std::sync::OnceLock<WorkerPool> = std::sync::OnceLock::new();

/// Why the page's workers cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerPoolError {
    /// This build's memory is not shared, so workers could not run its kernels.
    NotThreaded,
    /// The pool was already prepared, for this many workers.
    AlreadyPrepared(usize),
}

impl core::fmt::Display for WorkerPoolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotThreaded => f.write_str("this build has no shared memory (single-threaded)"),
            Self::AlreadyPrepared(workers) => {
                write!(
                    f,
                    "the worker pool was already prepared for {workers} workers"
                )
            }
        }
    }
}

impl std::error::Error for WorkerPoolError {}

/// Makes the pool that `workers` Web Workers will serve, all taking part. Call it once, on
/// the page's main thread, before starting the workers (each then calls [`run_worker`]).
///
/// # Errors
/// [`WorkerPoolError::NotThreaded`] outside the threaded bundle, and
/// [`WorkerPoolError::AlreadyPrepared`] on a second call.
pub fn prepare_workers(workers: usize) -> Result<(), WorkerPoolError> {
    if !WEB_WORKERS {
        return Err(WorkerPoolError::NotThreaded);
    }
    let mut made = false;
    let pool = WORKER_POOL.get_or_init(|| {
        made = true;
        WorkerPool {
            shared: Arc::new(Shared::new(workers)),
            workers,
        }
    });
    if made {
        Ok(())
    } else {
        Err(WorkerPoolError::AlreadyPrepared(pool.workers))
    }
}

/// A Web Worker's whole life: after `on_start`, wait for jobs of the page's pool and run
/// their chunks, as worker `index` of those [`prepare_workers`] made room for. Returns only
/// if no pool was prepared or `index` is not one of its workers.
pub fn run_worker(index: usize, on_start: fn()) {
    let Some(pool) = WORKER_POOL.get() else {
        return;
    };
    if index < pool.workers {
        helper_loop(&pool.shared, index, on_start);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::thread::ThreadId;
    use std::time::{Duration, Instant};

    use super::*;

    /// Spins until `ready()` or ten seconds have passed; returns whether it was ready.
    fn wait_for(ready: impl Fn() -> bool) -> bool {
        let started = Instant::now();
        while !ready() {
            if started.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    #[test]
    fn every_chunk_runs_exactly_once_per_call() {
        let dispatcher = Dispatcher::new(4);
        let runs: Vec<AtomicU32> = (0..1000).map(|_| AtomicU32::new(0)).collect();
        for _ in 0..50 {
            dispatcher.run(runs.len(), &|chunk| {
                runs[chunk].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(runs.iter().all(|count| count.load(Ordering::Relaxed) == 50));
    }

    /// Two chunks on two threads, each chunk holding its thread until the other chunk has
    /// started: they can only finish if the helper runs one while the caller runs the
    /// other, so the split is proven, not left to timing.
    #[test]
    fn the_helper_runs_a_chunk_while_the_caller_runs_the_other() {
        let dispatcher = Dispatcher::new(2);
        let started = AtomicU32::new(0);
        let threads: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());
        let both_started = AtomicBool::new(true);
        dispatcher.run(2, &|_| {
            threads
                .lock()
                .expect("no panic holds the lock")
                .push(std::thread::current().id());
            started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(|| started.load(Ordering::SeqCst) == 2) {
                both_started.store(false, Ordering::SeqCst);
            }
        });
        assert!(both_started.load(Ordering::SeqCst), "a chunk waited alone");
        let threads = threads.into_inner().expect("no panic holds the lock");
        assert_eq!(threads.len(), 2);
        assert_ne!(threads[0], threads[1], "both chunks ran on one thread");
        assert!(
            threads.contains(&std::thread::current().id()),
            "the caller took one"
        );
        assert_eq!(dispatcher.helper_chunks(), 1);
    }

    #[test]
    fn calls_from_two_threads_at_once_each_run_every_chunk() {
        let dispatcher = Dispatcher::new(3);
        let runs: [Vec<AtomicU32>; 2] =
            [0, 1].map(|_| (0..64).map(|_| AtomicU32::new(0)).collect());
        std::thread::scope(|scope| {
            for counts in &runs {
                let dispatcher = &dispatcher;
                scope.spawn(move || {
                    for _ in 0..200 {
                        dispatcher.run(counts.len(), &|chunk| {
                            counts[chunk].fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        for counts in &runs {
            assert!(
                counts
                    .iter()
                    .all(|count| count.load(Ordering::Relaxed) == 200)
            );
        }
    }

    /// While one call holds the helpers (both its chunks wait), a second call from another
    /// thread runs every chunk on its own thread, and the first call still finishes.
    #[test]
    fn a_second_caller_runs_alone_while_the_first_holds_the_helpers() {
        let dispatcher = Dispatcher::new(2);
        let started = AtomicU32::new(0);
        let release = AtomicBool::new(false);
        let first_finished = AtomicBool::new(false);
        let second_threads: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                dispatcher.run(2, &|_| {
                    started.fetch_add(1, Ordering::SeqCst);
                    wait_for(|| release.load(Ordering::SeqCst));
                });
                first_finished.store(true, Ordering::SeqCst);
            });
            assert!(
                wait_for(|| started.load(Ordering::SeqCst) == 2),
                "the first call began"
            );
            dispatcher.run(8, &|_| {
                second_threads
                    .lock()
                    .expect("no panic holds the lock")
                    .push(std::thread::current().id());
            });
            release.store(true, Ordering::SeqCst);
        });
        assert!(first_finished.load(Ordering::SeqCst));
        let second_threads = second_threads
            .into_inner()
            .expect("no panic holds the lock");
        assert_eq!(second_threads.len(), 8);
        assert!(
            second_threads
                .iter()
                .all(|&id| id == std::thread::current().id())
        );
        assert_eq!(dispatcher.helper_chunks(), 1, "only the first call's chunk");
    }

    #[test]
    fn fewer_threads_take_part_after_set_threads_and_more_again_after() {
        let dispatcher = Dispatcher::new(3).with_split(Split {
            min_particles: 1,
            chunk_particles: 16,
        });
        assert_eq!((dispatcher.threads(), dispatcher.max_threads()), (3, 3));
        assert_eq!(dispatcher.chunks(100).map(|c| c.count()), Some(7));
        dispatcher.set_threads(1);
        assert_eq!(dispatcher.threads(), 1);
        assert_eq!(dispatcher.chunks(100), None, "one thread does it alone");
        let callers = AtomicU32::new(0);
        dispatcher.run(40, &|_| {
            callers.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(callers.load(Ordering::Relaxed), 40);
        assert_eq!(dispatcher.helper_chunks(), 0, "no helper took part");
        dispatcher.set_threads(10);
        assert_eq!(dispatcher.threads(), 3, "clamped to the threads it has");
        dispatcher.set_threads(0);
        assert_eq!(dispatcher.threads(), 1, "at least the caller");
    }

    /// The threads this process may run, at least one (two or more on this project's
    /// machines), and what a dispatcher made with them shows in its debug form.
    #[test]
    fn a_dispatcher_over_every_core_says_how_many_threads_it_runs() {
        let cores = Dispatcher::available_threads();
        assert!(cores >= 1);
        let dispatcher = Dispatcher::new(cores);
        assert_eq!(dispatcher.max_threads(), cores);
        let shown = format!("{dispatcher:?}");
        assert!(
            shown.contains(&format!("threads: {cores}, max_threads: {cores}")),
            "{shown}"
        );
    }

    /// Threads left out by `set_threads` stay out: on three threads lowered to two, the
    /// second helper runs no chunk even when chunks are slow enough for every thread to
    /// take some.
    #[test]
    fn a_helper_left_out_by_set_threads_takes_no_chunk() {
        let dispatcher = Dispatcher::new(3);
        dispatcher.set_threads(2);
        let names: Mutex<Vec<String>> = Mutex::new(Vec::new());
        for _ in 0..20 {
            dispatcher.run(16, &|_| {
                std::thread::sleep(Duration::from_micros(200));
                let name = std::thread::current().name().unwrap_or("caller").to_owned();
                names.lock().unwrap().push(name);
            });
        }
        let names = names.into_inner().unwrap();
        assert_eq!(names.len(), 320);
        assert!(
            names.iter().any(|name| name == "sparkbench-kernel-1"),
            "the first helper took part"
        );
        assert!(
            !names.iter().any(|name| name == "sparkbench-kernel-2"),
            "the second stayed out"
        );
    }

    /// The helper's thread id, as Linux numbers it (`/proc/thread-self` is `PID/task/TID`).
    #[cfg(target_os = "linux")]
    static HELPER_TID: AtomicU64 = AtomicU64::new(0);

    #[cfg(target_os = "linux")]
    fn record_helper_tid() {
        let link = std::fs::read_link("/proc/thread-self").expect("read /proc/thread-self");
        let tid = link
            .file_name()
            .and_then(|name| name.to_str()?.parse().ok())
            .expect("a thread id");
        HELPER_TID.store(tid, Ordering::Relaxed);
    }

    /// An idle helper sleeps (Linux shows its state as `S`) instead of spinning, and
    /// dropping the dispatcher ends its thread.
    #[test]
    #[cfg(target_os = "linux")]
    fn an_idle_helper_sleeps_and_exits_with_its_dispatcher() {
        let dispatcher = Dispatcher::with_thread_start(2, record_helper_tid);
        assert!(wait_for(|| HELPER_TID.load(Ordering::Relaxed) != 0));
        dispatcher.run(8, &|_| {});
        let stat = format!(
            "/proc/self/task/{}/stat",
            HELPER_TID.load(Ordering::Relaxed)
        );
        // The state is the first field after the thread's name, which ends at the last ')'.
        let state = || {
            let text = std::fs::read_to_string(&stat).ok()?;
            let (_, rest) = text.rsplit_once(')')?;
            rest.split_whitespace().next().map(str::to_owned)
        };
        assert!(
            wait_for(|| state().as_deref() == Some("S")),
            "idle: {:?}",
            state()
        );
        drop(dispatcher);
        assert!(
            wait_for(|| std::fs::metadata(&stat).is_err()),
            "the helper exited"
        );
    }

    #[test]
    fn chunks_cover_the_particles_in_whole_vectors() {
        let split = Split {
            min_particles: 100,
            chunk_particles: 1000,
        };
        assert_eq!(split.chunks(99), None, "below the minimum");
        assert_eq!(split.chunks(1008), None, "one chunk is no split");
        let chunks = split.chunks(5000).expect("split");
        assert_eq!(chunks.count(), 5);
        assert_eq!(chunks.range(0), 0..1008, "rounded up to 16 lanes");
        assert_eq!(chunks.range(4), 4032..5000, "the last is shorter");
    }
}
