//! The live particles as the GPU reads them, packed by the SIMD pack kernel whenever the
//! pool or the looks changed: into [`InstanceRecords`] in [`PackSet`], or, where a renderer
//! asked for them with [`PacksForRenderer`], straight into memory the renderer hands over
//! ([`pack_for_renderer`]: wgpu's staging memory for the instance buffer, one copy fewer).
//! The headless capture times the first, the rendered app the second; the same kernel and
//! the same [`PackReport`] serve both.

use bevy::ecs::intern::Interned;
use bevy::ecs::schedule::ScheduleLabel;
use bevy::platform::time::Instant;
use bevy::prelude::*;
use bytemuck::{Pod, Zeroable};

use super::kernels::{self, Dispatcher, RECORD_WORDS};
use super::step::{Cost, Timed, measure};
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
/// pool or the looks changed. Left empty where a renderer packs for itself
/// ([`PacksForRenderer`]).
#[derive(Resource, Debug, Default)]
pub struct InstanceRecords {
    records: Vec<InstanceRecord>,
}

impl InstanceRecords {
    /// The records of the last pack, one per live particle (none before the first).
    #[must_use]
    pub fn records(&self) -> &[InstanceRecord] {
        &self.records
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
    }
}

/// What the last pack did and cost.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackReport {
    /// Records written, one per live particle.
    pub records: usize,
    /// The pack's cost.
    pub cost: Cost,
    /// When the pack began, on the wall clock (`None` before the first).
    pub started: Option<Instant>,
    /// Every pack's cost added up since start-up.
    pub total: Cost,
    /// Packs since start-up.
    pub packs: u64,
}

impl PackReport {
    /// Reports one more pack, of `records` records, as measured.
    fn add(&mut self, records: usize, measured: Timed<()>) {
        let cost = measured.cost;
        *self = Self {
            records,
            cost,
            started: Some(measured.started),
            total: self.total.plus(cost),
            packs: self.packs + 1,
        };
    }
}

/// Present in the main world, it tells [`PackPlugin`] to leave each pack to a renderer,
/// which runs it with [`pack_for_renderer`] into memory of its own (such as the staging
/// memory of a GPU buffer write) instead of into [`InstanceRecords`].
#[derive(Resource, Debug, Default)]
pub struct PacksForRenderer {
    /// Whether the pool or the looks changed since the renderer's last pack.
    wanted: bool,
}

/// A renderer's pack, run in `world` (the main world) where [`PacksForRenderer`] is:
/// when the pool or the looks changed since the last pack, calls `write` with the number
/// of records to pack and a packer, which packs them into the words it is given (at least
/// [`RECORD_WORDS`] per record: fewer panic) and reports its cost in [`PackReport`], as
/// [`PackPlugin`]'s own packs do. `write` chooses where the words live; if it does not
/// call the packer (it had nowhere to write), the pack is still wanted next time. Does
/// nothing where no pack is wanted.
pub fn pack_for_renderer(world: &mut World, write: impl FnOnce(usize, &mut dyn FnMut(&mut [u32]))) {
    if !world
        .get_resource::<PacksForRenderer>()
        .is_some_and(|packs| packs.wanted)
    {
        return;
    }
    let pool = world.resource::<ParticlePool>();
    let records = pool.len();
    let backend = world.resource::<SimBackend>().active;
    let looks = world.resource::<SimSettings>().look_params();
    let dispatcher = world.resource::<Dispatcher>();
    let counter = world.resource::<AllocationCounter>().0;
    let mut spent = None;
    write(records, &mut |out: &mut [u32]| {
        phase_span!("pack");
        spent = Some(measure(counter, || {
            kernels::pack(backend, pool.particles(), &looks, out, dispatcher);
        }));
    });
    if let Some(measured) = spent {
        world.resource_mut::<PackReport>().add(records, measured);
        world.resource_mut::<PacksForRenderer>().wanted = false;
    }
}

/// The pack: after the simulation, in [`PackPlugin::schedule`]. Order systems that read
/// [`InstanceRecords`] after it (where a renderer packs for itself, the pack waits for the
/// renderer's extract instead, and the records stay empty).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackSet;

/// Packs the live particles into [`InstanceRecords`] in [`PackSet`], or, where
/// [`PacksForRenderer`] is, leaves each pack to the renderer. Needs
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

/// Packs when the pool or the looks changed since the last pack, and reports the cost; or,
/// where a renderer packs for itself, tells it a pack is wanted.
#[expect(
    clippy::too_many_arguments,
    reason = "a system's parameters: each resource the pack reads or writes"
)]
fn pack_records(
    pool: Res<ParticlePool>,
    backend: Res<SimBackend>,
    settings: Res<SimSettings>,
    dispatcher: Res<Dispatcher>,
    counter: Res<AllocationCounter>,
    mut records: ResMut<InstanceRecords>,
    mut report: ResMut<PackReport>,
    for_renderer: Option<ResMut<PacksForRenderer>>,
) {
    if !pool.is_changed() && !settings.is_changed() {
        return;
    }
    if let Some(mut packs) = for_renderer {
        packs.wanted = true;
        return;
    }
    phase_span!("pack");
    let measured = measure(counter.0, || {
        records.pack(&pool, backend.active, &settings.look_params(), &dispatcher);
    });
    report.add(pool.len(), measured);
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
    fn a_pack_writes_one_record_per_particle() {
        let mut records = InstanceRecords::default();
        assert!(records.records().is_empty());
        pack(&mut records, &pool_of(&[1.0, 2.0, 3.0], 100));
        let positions: Vec<[f32; 3]> = records
            .records()
            .iter()
            .map(|record| record.position)
            .collect();
        assert_eq!(
            positions,
            [[1.0, 1.0, 2.0], [2.0, 1.0, 2.0], [3.0, 1.0, 2.0]]
        );
        pack(&mut records, &pool_of(&[4.0], 100));
        assert_eq!(records.records().len(), 1);
        assert_eq!(records.records()[0].position, [4.0, 1.0, 2.0]);
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
        assert_eq!(
            (records.records.len(), records.records.capacity()),
            (150, 200)
        );
    }

    fn packs(app: &App) -> u64 {
        app.world().resource::<PackReport>().packs
    }

    /// In an app: a pack after every step, none while paused, one when only the looks
    /// change.
    #[test]
    fn the_pack_system_runs_when_the_pool_or_the_looks_changed() {
        let mut app = crate::sim::headless_test_app(10_000, 6_000.0);
        for _ in 0..10 {
            app.update();
        }
        let packed = packs(&app);
        assert!(packed >= 9, "{packed} packs in 10 frames of steps");
        let live = app.world().resource::<ParticlePool>().len();
        assert!(live > 0);
        assert_eq!(app.world().resource::<PackReport>().records, live);
        assert_eq!(
            app.world().resource::<InstanceRecords>().records().len(),
            live
        );
        app.world_mut().resource_mut::<SimPause>().pause();
        app.update();
        app.update();
        assert_eq!(packs(&app), packed, "paused: nothing changed");
        app.world_mut().resource_mut::<SimSettings>().looks = default();
        app.update();
        assert_eq!(packs(&app), packed + 1, "the looks changed");
    }

    /// With [`PacksForRenderer`], the pack system leaves [`InstanceRecords`] alone and the
    /// renderer's pack writes the same words into the memory it hands over, once per
    /// change, reported as the pack system reports its own.
    #[test]
    fn a_renderers_pack_writes_the_records_the_pack_system_would() {
        let mut own = crate::sim::headless_test_app(10_000, 6_000.0);
        let mut for_renderer = crate::sim::headless_test_app(10_000, 6_000.0);
        for_renderer.init_resource::<PacksForRenderer>();
        for _ in 0..5 {
            own.update();
            for_renderer.update();
        }
        assert!(
            for_renderer
                .world()
                .resource::<InstanceRecords>()
                .records()
                .is_empty()
        );
        assert_eq!(
            packs(&for_renderer),
            0,
            "nothing packed until the renderer asks"
        );
        let mut words = Vec::new();
        let mut asked = None;
        pack_for_renderer(for_renderer.world_mut(), |records, pack| {
            asked = Some(records);
            words = vec![0; records * RECORD_WORDS];
            pack(&mut words);
        });
        let expected = own.world().resource::<InstanceRecords>().records();
        assert_eq!(asked, Some(expected.len()));
        assert!(!expected.is_empty());
        assert_eq!(words, bytemuck::cast_slice::<_, u32>(expected));
        let report = *for_renderer.world().resource::<PackReport>();
        assert_eq!((report.records, report.packs), (expected.len(), 1));
        assert_eq!(report.total, report.cost);
        pack_for_renderer(for_renderer.world_mut(), |_, _| {
            panic!("no pack is wanted: nothing changed since the last");
        });
        for_renderer.update();
        pack_for_renderer(for_renderer.world_mut(), |_, _| {});
        assert_eq!(packs(&for_renderer), 1, "a skipped pack is not reported");
        let mut asked_again = false;
        pack_for_renderer(for_renderer.world_mut(), |records, pack| {
            asked_again = true;
            words = vec![0; records * RECORD_WORDS];
            pack(&mut words);
        });
        assert!(asked_again, "a skipped pack is still wanted");
        assert_eq!(packs(&for_renderer), 2);
    }
}
