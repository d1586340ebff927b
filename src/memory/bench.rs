//! Pool + backing against the backing allocator alone, on a recorded allocation trace:
//! time per allocator call (median over rounds) and the most bytes held from the backing
//! allocator at once. `sparkbench alloc-bench` prints the table.

use core::alloc::GlobalAlloc;

use bevy::platform::time::Instant;

use super::trace::{Replay, TraceEvent};
use super::{Backing, CountingAllocator, SizeClassPools};

/// One allocator's figures on the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocBenchRow {
    /// Which allocator: `backing` or `pools + backing`.
    pub allocator: &'static str,
    /// Median time per allocator call over the rounds, in nanoseconds.
    pub ns_per_call: f64,
    /// The most bytes held from the backing allocator at once during one replay.
    pub peak_backing_bytes: usize,
    /// Allocator calls per replay.
    pub calls: usize,
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Replays `replay` on `threads` threads at once on `allocator`; returns the seconds it
/// took, or an error when a call ran out of memory (the time would mean nothing).
fn timed_replay<A: GlobalAlloc + Sync>(
    replay: &Replay,
    allocator: &A,
    threads: usize,
) -> Result<f64, String> {
    let started = Instant::now();
    let failures: usize = if threads <= 1 {
        replay.run(allocator)
    } else {
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..threads)
                .map(|_| scope.spawn(|| replay.run(allocator)))
                .collect();
            runs.into_iter()
                .map(|run| run.join().unwrap_or(usize::MAX))
                .sum()
        })
    };
    let seconds = started.elapsed().as_secs_f64();
    if failures == 0 {
        Ok(seconds)
    } else {
        Err(format!("the replay ran out of memory on {failures} calls"))
    }
}

/// Replays `events` on `threads` threads at once (1 in wasm32; each thread its own copy of
/// the trace), `rounds` times (at least 3) on each allocator, alternating, then once more
/// with the backing allocator counted for the peak. Returns both rows, the backing
/// allocator alone first.
///
/// # Errors
/// When a replay ran out of memory.
pub fn compare_on_trace(
    events: &[TraceEvent],
    rounds: usize,
    threads: usize,
) -> Result<[AllocBenchRow; 2], String> {
    let replay = Replay::new(events);
    let calls = replay.calls() * threads.max(1);
    let ns_per_call = |seconds: f64| seconds * 1e9 / calls.max(1) as f64;
    let pools = SizeClassPools::new(Backing);
    let mut backing_ns = Vec::new();
    let mut pooled_ns = Vec::new();
    for _ in 0..rounds.max(3) {
        backing_ns.push(ns_per_call(timed_replay(&replay, &Backing, threads)?));
        pooled_ns.push(ns_per_call(timed_replay(&replay, &pools, threads)?));
    }
    let counted_backing = CountingAllocator::new(Backing);
    timed_replay(&replay, &counted_backing, threads)?;
    let counted_pools = SizeClassPools::new(CountingAllocator::new(Backing));
    timed_replay(&replay, &counted_pools, threads)?;
    Ok([
        AllocBenchRow {
            allocator: "backing",
            ns_per_call: median(backing_ns),
            peak_backing_bytes: counted_backing.totals().peak_live_bytes,
            calls,
        },
        AllocBenchRow {
            allocator: "pools + backing",
            ns_per_call: median(pooled_ns),
            peak_backing_bytes: counted_pools.backing().totals().peak_live_bytes,
            calls,
        },
    ])
}

/// The rows as a text table, with the pools' speed-up measured in this run.
#[must_use]
pub fn format_table(title: &str, rows: &[AllocBenchRow; 2]) -> String {
    use core::fmt::Write;
    let mut out = format!(
        "{title}\n{:<16} {:>12} {:>16} {:>10}\n",
        "allocator", "ns per call", "peak held (KB)", "calls"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<16} {:>12.1} {:>16.1} {:>10}",
            row.allocator,
            row.ns_per_call,
            row.peak_backing_bytes as f64 / 1000.0,
            row.calls
        );
    }
    let _ = writeln!(
        out,
        "pools are {:.2}x the backing allocator's speed",
        rows[0].ns_per_call / rows[1].ns_per_call
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::trace::{decode, encode};
    use core::alloc::Layout;

    fn synthetic_trace() -> Vec<TraceEvent> {
        let mut events = Vec::new();
        for round in 0..50_usize {
            for slot in 0..20_usize {
                let layout = Layout::from_size_align(16 + (slot * 37) % 900, 8).expect("valid");
                let address = core::ptr::without_provenance_mut((round * 100 + slot + 1) * 4096);
                events.push(TraceEvent::alloc(address, layout));
                events.push(TraceEvent::free(address, layout));
            }
        }
        events
    }

    #[test]
    fn a_trace_survives_the_file_format_and_both_allocators_replay_it() {
        let events = synthetic_trace();
        let decoded = decode(&encode(&events)).expect("a trace we wrote reads back");
        assert_eq!(decoded, events);
        let rows = compare_on_trace(&decoded, 3, 1).expect("the replay fits in memory");
        let threaded = compare_on_trace(&decoded, 3, 2).expect("the replay fits in memory");
        assert_eq!(
            threaded[1].calls,
            2 * events.len(),
            "each thread replays the whole trace"
        );
        assert!(
            rows.iter()
                .all(|row| row.calls == events.len() && row.ns_per_call > 0.0)
        );
        assert!(
            rows[1].peak_backing_bytes >= 64 * 1024,
            "the pools took at least a chunk"
        );
        assert!(format_table("t", &rows).contains("pools + backing"));
    }

    #[test]
    fn a_damaged_trace_file_is_refused_with_the_reason() {
        let bytes = encode(&synthetic_trace());
        assert!(
            decode(b"not a trace")
                .unwrap_err()
                .contains("not an allocation trace")
        );
        assert!(
            decode(&bytes[..bytes.len() - 3])
                .unwrap_err()
                .contains("truncated")
        );
        let mut bad_kind = bytes.clone();
        bad_kind[8] = 9;
        assert!(
            decode(&bad_kind)
                .unwrap_err()
                .contains("event 0: unknown kind 9")
        );
    }
}
