//! The threaded bundle's side of the page's kernel workers (wasm32 with atomics only).
//!
//! The loader calls [`prepare_workers`] once, before the app starts, posts the module and
//! the memory it returns to each Web Worker (`web/worker.js`), and each worker, once
//! instantiated on that memory, calls [`worker_run`] and stays in it. The app's
//! [`SimPlugin`](crate::sim::SimPlugin) then dispatches the kernels over them.

use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;

use bevy::platform::time::Instant;
use wasm_bindgen::prelude::*;

use super::page::set;

use crate::sim::bench::{format_thread_table, time_threads_on};
use crate::sim::determinism_scenario;
use crate::sim::kernels::Backend;
use crate::sim::kernels::dispatch::{self, Dispatcher, Split};
use crate::sim::pack::InstanceRecords;

/// `prepare_workers(count)`: makes the pool `count` workers will serve and returns the
/// module's shared memory, which each worker instantiates the module on.
///
/// # Errors
/// When the pool was already prepared.
#[wasm_bindgen]
pub fn prepare_workers(count: u32) -> Result<JsValue, JsError> {
    dispatch::prepare_workers(count as usize).map_err(|error| JsError::new(&error.to_string()))?;
    Ok(wasm_bindgen::memory())
}

/// `worker_run(index)`: worker `index`'s whole life; returns only when `index` is not one
/// of the workers [`prepare_workers`] made room for.
#[wasm_bindgen]
pub fn worker_run(index: u32) {
    dispatch::run_worker(index as usize, crate::memory::count_as_helper);
}

/// `use_workers(count)`: lets `count` of the page's workers take part in the kernels from
/// the next call on (clamped to those started), the main thread besides.
#[wasm_bindgen]
pub fn use_workers(count: u32) {
    if let Some(dispatcher) = Dispatcher::on_workers() {
        dispatcher.set_threads(count as usize + 1);
    }
}

/// Sets back, when dropped, the number of the page's workers taking part that the app had.
struct RestoreWorkers(usize);

impl Drop for RestoreWorkers {
    fn drop(&mut self) {
        if let Some(dispatcher) = Dispatcher::on_workers() {
            dispatcher.set_threads(self.0);
        }
    }
}

/// A dispatcher over the page's workers, cut as `split` says, with `workers` of them
/// taking part until the returned guard is dropped.
///
/// # Errors
/// A page without workers.
fn on_workers(workers: u32, split: Split) -> Result<(Dispatcher, RestoreWorkers), JsError> {
    let dispatcher = Dispatcher::on_workers()
        .ok_or_else(|| JsError::new("this page started no workers"))?
        .with_split(split);
    let restore = RestoreWorkers(dispatcher.threads());
    dispatcher.set_threads(workers as usize + 1);
    Ok((dispatcher, restore))
}

/// `window.sparkbench.checksumOnWorkers(steps, seed, backend, workers, chunk)`: as
/// `checksum`, with the kernels split into chunks of `chunk` particles (from any pool size)
/// across the main thread and `workers` of the page's workers, then packs the particles
/// the same way. Returns `{checksum, records, workers, worker_chunks}`: the pool's and the
/// records' checksums (16 hex digits each), the workers that took part and the chunks
/// they ran (0: none did). The workers taking part in the app are set back afterwards.
///
/// # Errors
/// An unknown backend, or a page without workers.
#[wasm_bindgen(js_name = checksumOnWorkers)]
pub fn checksum_on_workers(
    steps: u32,
    seed: u32,
    backend: &str,
    workers: u32,
    chunk: u32,
) -> Result<JsValue, JsError> {
    let backend = super::page::available_backend(backend)?;
    let (dispatcher, _restore) = on_workers(
        workers,
        Split {
            min_particles: 0,
            chunk_particles: chunk.max(1) as usize,
        },
    )?;
    let workers_used = dispatcher.threads() - 1;
    let chunks_before = dispatcher.helper_chunks();
    let mut simulation = determinism_scenario(u64::from(seed));
    simulation.dispatcher = std::sync::Arc::new(dispatcher);
    simulation.run(backend, steps);
    let mut records = InstanceRecords::default();
    let looks = simulation.settings.look_params();
    records.pack(&simulation.pool, backend, &looks, &simulation.dispatcher);
    let worker_chunks = simulation.dispatcher.helper_chunks() - chunks_before;
    let result = js_sys::Object::new();
    set(
        &result,
        "checksum",
        &format!("{:016x}", simulation.pool.checksum()).into(),
    );
    set(
        &result,
        "records",
        &format!("{:016x}", records.checksum()).into(),
    );
    set(
        &result,
        "workers",
        &u32::try_from(workers_used).unwrap_or(u32::MAX).into(),
    );
    set(&result, "worker_chunks", &(worker_chunks as f64).into());
    Ok(result.into())
}

/// Spins a chunk of a round-trip dispatch may spend waiting for the others to start
/// (about a second): a thread that never comes cannot hang the page.
const ROUND_TRIP_SPINS: u32 = 100_000_000;

/// `window.sparkbench.emptyDispatches(count, workers)`: `count` dispatches that do no work
/// but meet: one chunk per thread taking part (the main thread and `workers` of the page's
/// workers), each waiting until every chunk has started, so each dispatch is a full round
/// trip to every worker (publish, wake, claim, finish). Returns `{dispatches,
/// microseconds, worker_chunks, full}`: the mean round trip in microseconds, the chunks
/// the workers ran, and the dispatches in which every worker ran a chunk (a worker that
/// the OS does not schedule within about a second leaves its chunk to the others). The
/// workers taking part in the app are set back afterwards.
///
/// # Errors
/// A page without workers.
#[wasm_bindgen(js_name = emptyDispatches)]
pub fn empty_dispatches(count: u32, workers: u32) -> Result<JsValue, JsError> {
    let (dispatcher, _restore) = on_workers(workers, Split::default())?;
    let trips = round_trips(&dispatcher, count, Duration::ZERO);
    let result = js_sys::Object::new();
    set(&result, "dispatches", &count.into());
    set(&result, "microseconds", &trips.microseconds.into());
    set(
        &result,
        "worker_chunks",
        &(trips.worker_chunks as f64).into(),
    );
    set(&result, "full", &trips.full.into());
    Ok(result.into())
}

/// What [`round_trips`] measured.
struct RoundTrips {
    /// The mean round trip, in microseconds.
    microseconds: f64,
    /// Chunks the workers ran.
    worker_chunks: u64,
    /// Dispatches in which every worker ran a chunk.
    full: u32,
}

/// Runs `count` empty dispatches on `dispatcher`, one chunk per thread, each chunk waiting
/// until every chunk of its dispatch has started (see [`empty_dispatches`]), with `rest`
/// between one dispatch's end and the next one's start (the main thread spins meanwhile;
/// a rest longer than the workers' spin before parking makes every trip wake them). With
/// a rest, each dispatch is timed alone; without, only the whole run is, since the page's
/// clock is coarser (5 µs in an isolated Chromium page) than a trip to a spinning worker,
/// and reading it costs time of its own.
fn round_trips(dispatcher: &Dispatcher, count: u32, rest: Duration) -> RoundTrips {
    let chunks = dispatcher.threads();
    let chunks_before = dispatcher.helper_chunks();
    let started = AtomicUsize::new(0);
    let mut full = 0_u32;
    let mut trip = |round: usize| {
        let worker_chunks = dispatcher.helper_chunks();
        dispatcher.run(chunks, &|_| {
            let everyone = round * chunks;
            started.fetch_add(1, Ordering::AcqRel);
            let mut spins = 0;
            while started.load(Ordering::Acquire) < everyone && spins < ROUND_TRIP_SPINS {
                spins += 1;
                core::hint::spin_loop();
            }
        });
        if dispatcher.helper_chunks() - worker_chunks == (chunks - 1) as u64 {
            full += 1;
        }
    };
    let rounds = 1..=count as usize;
    let timed = if rest.is_zero() {
        let began = Instant::now();
        rounds.for_each(&mut trip);
        began.elapsed()
    } else {
        let mut dispatching = Duration::ZERO;
        for round in rounds {
            let rested = Instant::now();
            while rested.elapsed() < rest {
                core::hint::spin_loop();
            }
            let began = Instant::now();
            trip(round);
            dispatching += began.elapsed();
        }
        dispatching
    };
    RoundTrips {
        microseconds: timed.as_secs_f64() * 1.0e6 / f64::from(count.max(1)),
        worker_chunks: dispatcher.helper_chunks() - chunks_before,
        full,
    }
}

/// Particle counts [`bench_workers`] times.
const BENCH_PARTICLES: [usize; 2] = [100_000, 1_000_000];

/// Empty dispatches [`bench_workers`] times the round trip over, back to back.
const BENCH_ROUND_TRIPS: u32 = 10_000;

/// Empty dispatches [`bench_workers`] times the round trip over after a rest of
/// [`BENCH_REST`], each waking the worker.
const BENCH_COLD_TRIPS: u32 = 200;

/// The rest before each of [`BENCH_COLD_TRIPS`]: well past the workers' spin before parking.
const BENCH_REST: Duration = Duration::from_millis(2);

/// `window.sparkbench.benchWorkers(seconds)`: the step and the pack of 100,000 and
/// 1,000,000 particles with the best backend, on the main thread alone and with every
/// number of the page's workers up to all of them, in this page load (about `seconds` per
/// kernel and count; runs alternate between counts), and the round trip of an empty
/// dispatch to one worker, back to back over 10,000 dispatches and woken from parking over
/// 200. Returns `{table, round_trip_us, woken_round_trip_us, rows:
/// [{particles, workers, step_ms, pack_ms, speedup}]}`, `speedup` being step plus pack on
/// the main thread alone over step plus pack with the workers. The workers taking part in
/// the app are set back afterwards.
///
/// # Errors
/// A page without workers.
#[wasm_bindgen(js_name = benchWorkers)]
pub fn bench_workers(seconds: f64) -> Result<JsValue, JsError> {
    let (dispatcher, _restore) = on_workers(0, Split::default())?;
    let backend = Backend::best();
    let threads: Vec<usize> = (1..=dispatcher.max_threads()).collect();
    let budget = seconds.clamp(0.05, 60.0);
    let rows = js_sys::Array::new();
    let mut table = String::new();
    for particles in BENCH_PARTICLES {
        let timings = time_threads_on(particles, backend, &threads, budget, |index| {
            dispatcher.set_threads(threads[index]);
            &dispatcher
        });
        table += &format_thread_table(particles, backend, &timings);
        let alone = timings.first().map_or(f64::NAN, |t| t.step_ms + t.pack_ms);
        for timing in &timings {
            let row = js_sys::Object::new();
            set(&row, "particles", &(particles as f64).into());
            set(&row, "workers", &((timing.threads - 1) as f64).into());
            set(&row, "step_ms", &timing.step_ms.into());
            set(&row, "pack_ms", &timing.pack_ms.into());
            set(
                &row,
                "speedup",
                &(alone / (timing.step_ms + timing.pack_ms)).into(),
            );
            rows.push(&row);
        }
    }
    dispatcher.set_threads(2);
    let hot = round_trips(&dispatcher, BENCH_ROUND_TRIPS, Duration::ZERO);
    let cold = round_trips(&dispatcher, BENCH_COLD_TRIPS, BENCH_REST);
    for (trips, count, how) in [
        (&hot, BENCH_ROUND_TRIPS, "back to back"),
        (&cold, BENCH_COLD_TRIPS, "each after 2 ms, waking it"),
    ] {
        let _ = writeln!(
            table,
            "empty dispatch to 1 worker and back, {how}: {:.1} us (mean of {count}; the worker ran its chunk in {} of them)",
            trips.microseconds, trips.full
        );
    }
    table += "(threads = the main thread + workers)\n";
    let result = js_sys::Object::new();
    set(&result, "table", &table.into());
    set(&result, "round_trip_us", &hot.microseconds.into());
    set(&result, "woken_round_trip_us", &cold.microseconds.into());
    set(&result, "rows", &rows);
    Ok(result.into())
}
