//! The live particles as the GPU reads them: [`InstanceRecords`], packed by the SIMD pack
//! kernel in [`PackSet`] whenever the pool or the looks changed. The renderer takes them
//! from here, the headless capture times the same pack, and nothing else packs.

use bevy::ecs::intern::Interned;
use bevy::ecs::schedule::ScheduleLabel;
use bevy::prelude::*;
use bytemuck::{Pod, Zeroable};

use super::kernels::{self, Dispatcher, RECORD_WORDS};
use super::step::{Cost, measure};
use super::{AllocationCounter, ParticlePool, SimBackend, SimSettings};

/// One particle as the GPU reads it: 20 bytes, written by the pack kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
#[repr(C)]
pub struct InstanceRecord {
    /// Position in metres.
    pub position: [f32; 3],
    /// Sprite size in metres.
    pub size: f32,
    /// sRGB colour, RGBA8 packed little-endian (red in the low byte).
    pub color: u32,
}

const _: () = assert!(size_of::<InstanceRecord>() == RECORD_WORDS * size_of::<u32>());

/// The live particles packed for drawing, refilled (without reallocating) whenever the
/// pool or the looks changed.
#[derive(Resource, Debug, Default)]
pub struct InstanceRecords {
    records: Vec<InstanceRecord>,
    fresh: bool,
    packs: u64,
}

impl InstanceRecords {
    /// The records of the last pack, one per live particle, until a renderer takes them
    /// ([`InstanceRecords::take_fresh`]); `None` after that, until the next pack.
    #[must_use]
    pub fn fresh(&self) -> Option<&[InstanceRecord]> {
        self.fresh.then_some(&self.records)
    }

    /// Packs since start-up.
    #[must_use]
    pub fn packs(&self) -> u64 {
        self.packs
    }

    /// A 64-bit FNV-1a hash of the last pack's record count and words: equal checksums
    /// mean the same bits for the GPU.
    #[must_use]
    pub fn checksum(&self) -> u64 {
        let mut hash = super::pool::Fnv1a::default();
        hash.feed(u32::try_from(self.records.len()).unwrap_or(u32::MAX));
        for &word in bytemuck::cast_slice::<InstanceRecord, u32>(&self.records) {
            hash.feed(word);
        }
        hash.finish()
    }

    /// Swaps freshly packed records into `buffer` and takes `buffer`'s old contents as the
    /// storage to pack into next time (no copy, no allocation). Returns false, and leaves
    /// both alone, when nothing was packed since the last take.
    pub fn take_fresh(&mut self, buffer: &mut Vec<InstanceRecord>) -> bool {
        if !self.fresh {
            return false;
        }
        core::mem::swap(&mut self.records, buffer);
        self.fresh = false;
        true
    }

    /// Packs `pool` with `backend` and `looks`, split by `dispatcher`, keeping storage for
    /// the pool's whole capacity so that later packs do not allocate.
    pub fn pack(
        &mut self,
        pool: &ParticlePool,
        backend: kernels::Backend,
        looks: &kernels::LookParams,
        dispatcher: &Dispatcher,
    ) {
        let records = &mut self.records;
        if records.capacity() < pool.capacity() {
            records.reserve_exact(pool.capacity() - records.len());
        }
        // Growing writes zeros; the kernel overwrites every record up to `len`.
        records.resize(pool.len(), InstanceRecord::zeroed());
        kernels::pack(
            backend,
            pool.particles(),
            looks,
            bytemuck::cast_slice_mut(records),
            dispatcher,
        );
        self.fresh = true;
        self.packs += 1;
    }
}

/// What the last pack did and cost.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackReport {
    /// Records written, one per live particle.
    pub records: usize,
    /// The pack's cost.
    pub cost: Cost,
    /// Every pack's cost added up since start-up.
    pub total: Cost,
}

/// The pack: after the simulation, in [`PackPlugin::schedule`]. Order systems that read
/// [`InstanceRecords`] after it.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackSet;

/// Packs the live particles into [`InstanceRecords`] in [`PackSet`]. Needs
/// [`SimPlugin`](super::SimPlugin).
pub struct PackPlugin {
    /// The schedule the pack runs in, once per frame: `PostUpdate` by default.
    pub schedule: Interned<dyn ScheduleLabel>,
}

impl Default for PackPlugin {
    fn default() -> Self {
        Self {
            schedule: PostUpdate.intern(),
        }
    }
}

impl Plugin for PackPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<InstanceRecords>()
            .init_resource::<PackReport>()
            .add_systems(self.schedule, pack_records.in_set(PackSet));
    }
}

/// Packs when the pool or the looks changed since the last pack, and reports the cost.
fn pack_records(
    pool: Res<ParticlePool>,
    backend: Res<SimBackend>,
    settings: Res<SimSettings>,
    dispatcher: Res<Dispatcher>,
    counter: Res<AllocationCounter>,
    mut records: ResMut<InstanceRecords>,
    mut report: ResMut<PackReport>,
) {
    if !pool.is_changed() && !settings.is_changed() {
        return;
    }
    let ((), cost) = measure(counter.0, || {
        records.pack(&pool, backend.active, &settings.look_params(), &dispatcher);
    });
    *report = PackReport {
        records: pool.len(),
        cost,
        total: report.total.plus(cost),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimPause;
    use crate::sim::pool::NewParticle;

    /// A pool with room for `capacity` holding one particle at `(x, 1, 2)` m per `xs`.
    fn pool_of(xs: &[f32], capacity: usize) -> ParticlePool {
        let mut pool = ParticlePool::with_capacity(capacity);
        for &x in xs {
            pool.push(NewParticle {
                pos: [x, 1.0, 2.0],
                vel: [0.0; 3],
                lifetime: 1.0,
            });
        }
        pool
    }

    fn pack(records: &mut InstanceRecords, pool: &ParticlePool) {
        let looks = SimSettings::default().look_params();
        records.pack(pool, kernels::Backend::Scalar, &looks, &Dispatcher::new(1));
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "the pack copies positions bit for bit")]
    fn a_pack_writes_one_record_per_particle_taken_once() {
        let mut records = InstanceRecords::default();
        assert_eq!((records.fresh(), records.packs()), (None, 0));
        pack(&mut records, &pool_of(&[1.0, 2.0, 3.0], 100));
        let positions: Vec<[f32; 3]> = records
            .fresh()
            .expect("packed")
            .iter()
            .map(|record| record.position)
            .collect();
        assert_eq!(
            positions,
            [[1.0, 1.0, 2.0], [2.0, 1.0, 2.0], [3.0, 1.0, 2.0]]
        );
        assert_eq!(records.packs(), 1);
        let mut taken = Vec::new();
        assert!(records.take_fresh(&mut taken));
        assert_eq!(taken.len(), 3);
        assert_eq!(taken[2].position, [3.0, 1.0, 2.0]);
        assert_eq!(records.fresh(), None, "taken");
        assert!(!records.take_fresh(&mut taken), "nothing packed since");
        assert_eq!(taken.len(), 3, "left alone");
        pack(&mut records, &pool_of(&[4.0], 100));
        assert_eq!(records.packs(), 2);
        assert_eq!(records.fresh().map(<[_]>::len), Some(1));
    }

    /// The records' checksum follows their bits and their count, not the pack that made
    /// them: a second pack of the same pool gives the same checksum, one moved particle or
    /// one particle fewer a different one.
    #[test]
    fn the_records_checksum_follows_the_packed_bits_and_count() {
        let checksum_of = |positions: &[f32]| {
            let mut records = InstanceRecords::default();
            pack(&mut records, &pool_of(positions, 100));
            records.checksum()
        };
        let base = checksum_of(&[1.0, 2.0, 3.0]);
        assert_eq!(base, checksum_of(&[1.0, 2.0, 3.0]));
        assert_ne!(base, checksum_of(&[1.0, 2.0, 3.5]), "a moved particle");
        assert_ne!(base, checksum_of(&[1.0, 2.0]), "a particle fewer");
        assert_ne!(
            checksum_of(&[]),
            0xcbf2_9ce4_8422_2325,
            "the count is hashed too"
        );
    }

    /// The records keep room for the pool's whole capacity, grown once when the pool grows.
    #[test]
    fn records_hold_room_for_the_pools_capacity() {
        let mut records = InstanceRecords::default();
        pack(&mut records, &pool_of(&[1.0; 3], 100));
        pack(&mut records, &pool_of(&[1.0; 150], 200));
        let mut taken = Vec::new();
        assert!(records.take_fresh(&mut taken));
        assert_eq!((taken.len(), taken.capacity()), (150, 200));
    }

    /// In an app: a pack after every step, none while paused, one when only the looks
    /// change.
    #[test]
    fn the_pack_system_runs_when_the_pool_or_the_looks_changed() {
        let mut app = crate::sim::headless_test_app(10_000, 6_000.0);
        for _ in 0..10 {
            app.update();
        }
        let packs = |app: &App| app.world().resource::<InstanceRecords>().packs();
        let packed = packs(&app);
        assert!(packed >= 9, "{packed} packs in 10 frames of steps");
        let live = app.world().resource::<ParticlePool>().len();
        assert!(live > 0);
        assert_eq!(app.world().resource::<PackReport>().records, live);
        app.world_mut().resource_mut::<SimPause>().pause();
        app.update();
        app.update();
        assert_eq!(packs(&app), packed, "paused: nothing changed");
        app.world_mut().resource_mut::<SimSettings>().looks = default();
        app.update();
        assert_eq!(packs(&app), packed + 1, "the looks changed");
    }
}
