//! `MemoryStats`: the allocator's figures and the big buffers' sizes, read once a frame.

use bevy::prelude::*;

use super::RenderMeasurements;
use crate::memory::{self, AllocTotals, CLASS_SIZES, ClassStats};
use crate::sim::ParticlePool;
use crate::sim::pool::BYTES_PER_PARTICLE;

/// How many frames of live heap bytes the history keeps.
pub const LIVE_HISTORY: usize = 300;

/// Memory as measured in this run, updated at the start of every frame.
#[derive(Resource, Debug, Clone)]
pub struct MemoryStats {
    /// Heap bytes allocated and not freed.
    pub live_bytes: usize,
    /// The most heap bytes ever live at once.
    pub peak_live_bytes: usize,
    /// Allocations in the last frame (reallocations that move count once).
    pub allocations_per_frame: u64,
    /// Frees in the last frame.
    pub frees_per_frame: u64,
    /// Bytes allocated in the last frame.
    pub bytes_allocated_per_frame: u64,
    /// The size-class pools' counters (`None` where this build does not pool).
    pub pools: Option<[ClassStats; CLASS_SIZES.len()]>,
    /// Bytes of the particle pool's columns.
    pub particle_pool_bytes: usize,
    /// Bytes each particle takes in the pool.
    pub bytes_per_particle: usize,
    /// Bytes of the GPU instance buffer (0 without a renderer).
    pub instance_buffer_bytes: u64,
    /// Linear memory in bytes (wasm32 only).
    pub linear_memory_bytes: Option<u64>,
    /// Times linear memory grew since start-up (wasm32; 0 elsewhere).
    pub memory_grows: u64,
    /// The frame (counted from start-up) in which linear memory last grew, if it has.
    pub last_grow_frame: Option<u64>,
    /// Bytes asked for by the allocation that last grew linear memory.
    pub last_grow_request_bytes: usize,
    /// Frames read so far (what `last_grow_frame` counts in).
    frames: u64,
    /// Live heap bytes at the end of each recent frame, oldest first.
    pub live_history: Vec<usize>,
    previous: AllocTotals,
}

impl Default for MemoryStats {
    fn default() -> Self {
        Self {
            live_bytes: 0,
            peak_live_bytes: 0,
            allocations_per_frame: 0,
            frees_per_frame: 0,
            bytes_allocated_per_frame: 0,
            pools: None,
            particle_pool_bytes: 0,
            bytes_per_particle: BYTES_PER_PARTICLE,
            instance_buffer_bytes: 0,
            linear_memory_bytes: None,
            memory_grows: 0,
            last_grow_frame: None,
            last_grow_request_bytes: 0,
            frames: 0,
            // Sized once, so keeping the history never allocates.
            live_history: Vec::with_capacity(LIVE_HISTORY),
            previous: memory::totals(),
        }
    }
}

impl MemoryStats {
    /// The pools' hit rate over every class, 0 to 1 (`None` without pools).
    #[must_use]
    pub fn pool_hit_rate(&self) -> Option<f64> {
        self.pools.map(|classes| {
            let hits: u64 = classes.iter().map(|class| class.hits).sum();
            let refills: u64 = classes.iter().map(|class| class.refills).sum();
            if hits + refills == 0 {
                1.0
            } else {
                hits as f64 / (hits + refills) as f64
            }
        })
    }

    /// Takes this frame's readings: `totals` from the allocator, and the buffers' sizes.
    pub fn update(
        &mut self,
        totals: AllocTotals,
        particle_pool_bytes: usize,
        instance_buffer_bytes: u64,
    ) {
        self.allocations_per_frame = totals.allocations - self.previous.allocations;
        self.frees_per_frame = totals.frees - self.previous.frees;
        self.bytes_allocated_per_frame = totals.bytes_allocated - self.previous.bytes_allocated;
        self.live_bytes = totals.live_bytes;
        self.peak_live_bytes = totals.peak_live_bytes;
        if totals.memory_grows > self.previous.memory_grows {
            self.last_grow_frame = Some(self.frames);
        }
        self.frames += 1;
        self.memory_grows = totals.memory_grows;
        self.last_grow_request_bytes = totals.last_grow_request_bytes;
        self.previous = totals;
        self.pools = memory::pool_stats();
        self.linear_memory_bytes = memory::linear_memory_bytes();
        self.particle_pool_bytes = particle_pool_bytes;
        self.instance_buffer_bytes = instance_buffer_bytes;
        if self.live_history.len() == LIVE_HISTORY {
            self.live_history.remove(0);
        }
        self.live_history.push(totals.live_bytes);
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<MemoryStats>()
        .add_systems(First, read_memory.in_set(super::PerfSystems));
}

fn read_memory(
    mut stats: ResMut<MemoryStats>,
    pool: Option<Res<ParticlePool>>,
    render: Res<RenderMeasurements>,
) {
    let pool_bytes = pool.map_or(0, |pool| pool.bytes());
    stats.update(memory::totals(), pool_bytes, render.instance_buffer_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_frame_figures_are_differences_of_the_running_totals() {
        let mut stats = MemoryStats {
            previous: AllocTotals::default(),
            ..MemoryStats::default()
        };
        let mut totals = AllocTotals {
            allocations: 10,
            frees: 4,
            bytes_allocated: 1000,
            live_bytes: 600,
            peak_live_bytes: 800,
            memory_grows: 0,
            last_grow_request_bytes: 0,
        };
        stats.update(totals, 4000, 8192);
        assert_eq!(stats.last_grow_frame, None, "memory has not grown");
        assert_eq!(
            (stats.allocations_per_frame, stats.frees_per_frame),
            (10, 4)
        );
        totals.allocations = 10;
        totals.frees = 6;
        totals.live_bytes = 400;
        totals.memory_grows = 1;
        totals.last_grow_request_bytes = 70_000;
        stats.update(totals, 4000, 8192);
        assert_eq!(
            (stats.last_grow_frame, stats.last_grow_request_bytes),
            (Some(1), 70_000),
            "the second frame read saw memory grow for a 70,000-byte request"
        );
        assert_eq!(
            stats.allocations_per_frame, 0,
            "no new allocations this frame"
        );
        assert_eq!(stats.frees_per_frame, 2);
        assert_eq!(stats.bytes_allocated_per_frame, 0);
        assert_eq!(stats.live_history, vec![600, 400]);
        assert_eq!(stats.peak_live_bytes, 800);
        stats.update(totals, 4000, 8192);
        assert_eq!(
            stats.last_grow_frame,
            Some(1),
            "no growth in the third frame"
        );
    }

    #[test]
    fn the_history_keeps_the_last_frames_without_growing() {
        let mut stats = MemoryStats::default();
        let capacity = stats.live_history.capacity();
        for live in 0..LIVE_HISTORY + 10 {
            stats.update(
                AllocTotals {
                    live_bytes: live,
                    ..stats.previous
                },
                0,
                0,
            );
        }
        assert_eq!(stats.live_history.len(), LIVE_HISTORY);
        assert_eq!(stats.live_history[0], 10);
        assert_eq!(stats.live_history.capacity(), capacity);
    }
}
