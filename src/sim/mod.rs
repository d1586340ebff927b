//! The particle simulation as a library: pure Rust and `bevy_ecs`, no window or render
//! types, so a host app, the tests and the benchmarks use it without a GPU.
//!
//! [`SimPlugin`] runs one fixed step per run of its schedule (`FixedUpdate` by default) in
//! [`SimSet`]: emitters spawn into free slots of the [`ParticlePool`], the SIMD kernel
//! integrates every particle (split across threads by the [`Dispatcher`]), and expired
//! particles are swap-removed, all in [`step::advance`], which the app-free [`Simulation`]
//! runs too. [`PackPlugin`] packs the live particles into [`InstanceRecords`] for the GPU
//! in [`PackSet`], or, for a renderer that asks with [`PacksForRenderer`], into memory the
//! renderer hands [`pack_for_renderer`]. Colour and size are not simulated state: the pack
//! evaluates them from age and lifetime.

use bevy::ecs::intern::Interned;
use bevy::ecs::schedule::ScheduleLabel;
use bevy::prelude::*;
use bevy::transform::helper::TransformHelper;

pub mod bench;
pub mod emitter;
pub mod forces;
pub mod kernels;
pub mod looks;
pub mod pack;
pub mod pool;
pub mod step;

pub use emitter::{Burst, Emitter, EmitterShape, EmitterState, SimRng, Spread};
pub use forces::{Attractor, Bounds, Forces, NoiseField};
pub use kernels::{Backend, Dispatcher, Split};
pub use looks::{ColorKey, Looks, SizeKey};
pub use pack::{
    InstanceRecord, InstanceRecords, PackPlugin, PackReport, PackSet, PacksForRenderer,
    pack_for_renderer,
};
pub use pool::ParticlePool;
pub use step::{Cost, StepReport};

use kernels::{LookParams, StepParams};
use step::{StepInputs, StepState};

/// The fixed simulation rate, in steps per second.
pub const STEPS_PER_SECOND: f64 = 60.0;

/// What the simulation does, set by the scenario and the overlay.
#[derive(Resource, Debug, Clone, PartialEq, Reflect)]
pub struct SimSettings {
    /// Pool capacity, in particles: the pool takes this size at the next step (so a
    /// scenario sets it once; changing it reallocates).
    pub capacity: usize,
    /// Seed for the simulation's random numbers.
    pub seed: u64,
    /// Use the best SIMD backend (true) or the scalar twin (false).
    pub use_simd: bool,
    /// Multiplies every emitter's steady rate (the overlay's spawn rate control): 1 keeps
    /// the scenario's rates.
    pub rate_scale: f32,
    /// Forces on the particles.
    pub forces: Forces,
    /// Colour and size over the lifetime.
    pub looks: Looks,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            capacity: 200_000,
            seed: 1,
            use_simd: true,
            rate_scale: 1.0,
            forces: Forces::default(),
            looks: Looks::default(),
        }
    }
}

impl SimSettings {
    /// The backend these settings ask for on this machine.
    #[must_use]
    pub fn backend(&self) -> Backend {
        if self.use_simd {
            Backend::best()
        } else {
            Backend::Scalar
        }
    }

    /// The kernel's numbers for a step of `dt` seconds, `elapsed` seconds into the run.
    #[must_use]
    pub fn step_params(&self, dt: f32, elapsed: f64) -> StepParams {
        let (attractors, attractor_count) = self.forces.attractor_params();
        StepParams {
            dt,
            gravity: self.forces.gravity.to_array(),
            damping: self.forces.damping(dt),
            attractors,
            attractor_count,
            noise: self.forces.noise_params(elapsed),
            bounds: self.forces.bounds_params(),
        }
    }

    /// The pack kernel's numbers: colour and size over the lifetime.
    #[must_use]
    pub fn look_params(&self) -> LookParams {
        LookParams {
            color: self.looks.color_gradient(),
            size: self.looks.size_gradient(),
        }
    }
}

/// Why the kernels run on one thread where the host expected more (the page, when it cannot
/// start its Web Workers), for the person to read; `None` when nothing held them back.
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelThreadsNote(pub Option<String>);

/// The backend the kernels run on now, and the best this machine has.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimBackend {
    /// In use: the best, or scalar when `SimSettings::use_simd` is off.
    pub active: Backend,
    /// The widest this build can run on this CPU.
    pub best: Backend,
}

/// Steps taken since the start, for the noise field's drift.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimClock {
    /// Fixed steps completed.
    pub steps: u64,
}

impl SimClock {
    /// Seconds simulated after `steps` steps of `dt` seconds (computed in f64, so exact
    /// enough for days and the same on every platform).
    #[must_use]
    pub fn elapsed(self, dt: f32) -> f64 {
        let steps = self.steps as f64;
        steps * f64::from(dt)
    }
}

/// Whether the simulation steps: freely, or only a given number of steps more. Pausing,
/// single steps and "pause at step N" are all this one count.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimPause {
    /// Steps still allowed; `None` runs freely.
    steps_left: Option<u64>,
}

impl SimPause {
    /// True when no step is allowed.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.steps_left == Some(0)
    }

    /// Stops stepping (the pool keeps its state).
    pub fn pause(&mut self) {
        self.steps_left = Some(0);
    }

    /// Steps freely again.
    pub fn resume(&mut self) {
        self.steps_left = None;
    }

    /// Pauses when running, resumes when paused.
    pub fn toggle(&mut self) {
        if self.is_paused() {
            self.resume();
        } else {
            self.pause();
        }
    }

    /// Allows `steps` more steps, then pauses (0 pauses now).
    pub fn pause_after(&mut self, steps: u64) {
        self.steps_left = Some(steps);
    }

    /// While paused, allows exactly one more step; running, does nothing.
    pub fn step_once(&mut self) {
        if self.is_paused() {
            self.pause_after(1);
        }
    }

    /// Counts one step taken.
    fn count_step(&mut self) {
        if let Some(left) = &mut self.steps_left {
            *left = left.saturating_sub(1);
        }
    }
}

/// The simulation's fixed step, in [`SimPlugin::schedule`]. Skipped while [`SimPause`] is
/// paused; order a host's systems before or after it.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimSet;

/// The host's allocation counter (see [`SimPlugin::allocation_counter`]).
#[derive(Resource, Debug, Clone, Copy)]
pub struct AllocationCounter(pub fn() -> u64);

/// Adds the simulation: pool, settings, backend, pause, the kernels' dispatcher and the
/// step in [`SimSet`]. Keeps whatever `SimSettings` the app already has, and changes nothing
/// else of the app's: not the schedule's executor, and the fixed timestep only when
/// [`SimPlugin::steps_per_second`] asks.
///
/// ```
/// use bevy::prelude::*;
/// use sparkbench::sim::SimPlugin;
/// let mut app = App::new();
/// app.add_plugins((MinimalPlugins, SimPlugin::new(FixedUpdate).with_steps_per_second(60.0)));
/// ```
#[derive(Debug, Clone)]
pub struct SimPlugin {
    /// The schedule each step runs in, once per run; the step is that schedule's
    /// `Time` delta (in `FixedUpdate`, the fixed timestep).
    pub schedule: Interned<dyn ScheduleLabel>,
    /// Sets `Time<Fixed>` to this many steps per second; `None` leaves the app's timestep.
    pub steps_per_second: Option<f64>,
    /// The pool's capacity in particles, when the app has no `SimSettings` of its own.
    pub capacity: Option<usize>,
    /// Threads the kernels use, the calling one included; `None` uses the page's Web
    /// Workers where it prepared them (see [`kernels::dispatch::prepare_workers`]), else
    /// every core.
    pub threads: Option<usize>,
    /// Runs first on each of the kernels' helper threads (to mark them for the allocation
    /// counters, say).
    pub on_thread_start: fn(),
    /// Allocations made so far by the calling thread and the kernels' helper threads, as the
    /// host counts them: the step and the pack report the difference across themselves in
    /// their [`Cost`]. Counts nothing by default.
    pub allocation_counter: fn() -> u64,
}

impl Default for SimPlugin {
    fn default() -> Self {
        Self::new(FixedUpdate)
    }
}

impl SimPlugin {
    /// The simulation stepping once per run of `schedule`.
    #[must_use]
    pub fn new(schedule: impl ScheduleLabel) -> Self {
        Self {
            schedule: schedule.intern(),
            steps_per_second: None,
            capacity: None,
            threads: None,
            on_thread_start: || {},
            allocation_counter: || 0,
        }
    }

    /// Sets the fixed timestep to `hz` steps per second.
    #[must_use]
    pub fn with_steps_per_second(mut self, hz: f64) -> Self {
        self.steps_per_second = Some(hz);
        self
    }

    /// Sizes the pool for `capacity` particles (unless the app has its own settings).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Runs the kernels on `threads` threads (started by the plugin, even where the page
    /// has Web Workers).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Runs `on_start` first on each of the kernels' helper threads.
    #[must_use]
    pub fn with_thread_start(mut self, on_start: fn()) -> Self {
        self.on_thread_start = on_start;
        self
    }

    /// Counts allocations with `counter` (see [`SimPlugin::allocation_counter`]).
    #[must_use]
    pub fn with_allocation_counter(mut self, counter: fn() -> u64) -> Self {
        self.allocation_counter = counter;
        self
    }
}

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        if !app.world().contains_resource::<SimSettings>() {
            let mut settings = SimSettings::default();
            if let Some(capacity) = self.capacity {
                settings.capacity = capacity;
            }
            app.insert_resource(settings);
        }
        if let Some(hz) = self.steps_per_second {
            match app.world_mut().get_resource_mut::<Time<Fixed>>() {
                Some(mut time) => time.set_timestep_hz(hz),
                None => {
                    app.insert_resource(Time::<Fixed>::from_hz(hz));
                }
            }
        }
        // Unless told a thread count: the page's Web Workers where it prepared them (the
        // threaded browser bundle), else a thread per core.
        let dispatcher = match self.threads {
            Some(threads) => Dispatcher::with_thread_start(threads, self.on_thread_start),
            None => Dispatcher::on_workers().unwrap_or_else(|| {
                Dispatcher::with_thread_start(Dispatcher::available_threads(), self.on_thread_start)
            }),
        };
        let settings = app.world().resource::<SimSettings>();
        let backend = SimBackend {
            active: settings.backend(),
            best: Backend::best(),
        };
        let rng = SimRng::new(settings.seed);
        app.insert_resource(backend)
            .insert_resource(rng)
            .insert_resource(dispatcher)
            .insert_resource(AllocationCounter(self.allocation_counter))
            .init_resource::<SimClock>()
            .init_resource::<SimPause>()
            .init_resource::<KernelThreadsNote>()
            .init_resource::<StepReport>()
            // Empty until the first step sizes it, so it is allocated once, at the size the
            // scenario asks for.
            .init_resource::<ParticlePool>()
            .configure_sets(
                self.schedule,
                SimSet.run_if(|pause: Res<SimPause>| !pause.is_paused()),
            )
            .add_systems(PreUpdate, select_backend)
            .add_systems(self.schedule, step_simulation.in_set(SimSet));
    }
}

/// Gives the pool the capacity the settings ask for. This is the only place the app
/// allocates particle memory: once at the first step, and again only when a scenario
/// changes the capacity.
fn fit_pool(settings: &SimSettings, pool: &mut ParticlePool) {
    let capacity = settings.capacity.min(pool::MAX_CAPACITY);
    if pool.capacity() != capacity {
        *pool = ParticlePool::with_capacity(capacity);
        info!(
            "particle pool: {capacity} particles, {} bytes; SIMD backend {}",
            pool.bytes(),
            settings.backend()
        );
    }
}

fn select_backend(settings: Res<SimSettings>, mut backend: ResMut<SimBackend>) {
    if settings.is_changed() {
        backend.active = settings.backend();
    }
}

/// The step, as a system: one [`step::advance`] of the schedule's `Time` delta, measured.
fn step_simulation(
    time: Res<Time>,
    settings: Res<SimSettings>,
    backend: Res<SimBackend>,
    dispatcher: Res<Dispatcher>,
    mut pool: ResMut<ParticlePool>,
    mut rng: ResMut<SimRng>,
    mut clock: ResMut<SimClock>,
    mut pause: ResMut<SimPause>,
    mut report: ResMut<StepReport>,
    counter: Res<AllocationCounter>,
    mut emitters: Query<(
        Entity,
        &Emitter,
        &mut EmitterState,
        &Transform,
        Has<ChildOf>,
    )>,
    hierarchy: TransformHelper,
) {
    phase_span!("simulate");
    let measured = step::measure(counter.0, || {
        fit_pool(&settings, &mut pool);
        let inputs = StepInputs {
            settings: &settings,
            backend: backend.active,
            dispatcher: &dispatcher,
            dt: time.delta_secs(),
        };
        let state = StepState {
            pool: &mut pool,
            rng: &mut rng,
            clock: &mut clock,
        };
        let emitters = emitters
            .iter_mut()
            .map(|(entity, emitter, state, local, parented)| {
                let placement = if parented {
                    world_placement(&hierarchy, entity, local)
                } else {
                    *local
                };
                (emitter, state.into_inner(), placement)
            });
        step::advance(state, emitters, &inputs)
    });
    *report = StepReport {
        cost: measured.cost,
        started: Some(measured.started),
        total: report.total.plus(measured.cost),
        ..measured.output
    };
    pause.count_step();
}

/// Where a child emitter is in the world now: its global transform worked out from its and
/// its ancestors' `Transform`s at this step (the `GlobalTransform` component is from the
/// last frame's propagation, and identity for an emitter spawned since). An emitter without
/// a parent is placed by its `Transform` as it is: the same place, but taking a global
/// affine apart again rounds differently, and the app-free [`Simulation`] places emitters by
/// `Transform`, so the two stay bit-identical on every platform. A hierarchy that cannot be
/// resolved (an ancestor without a `Transform`) falls back to the local transform.
fn world_placement(hierarchy: &TransformHelper, entity: Entity, local: &Transform) -> Transform {
    hierarchy
        .compute_global_transform(entity)
        .map_or(*local, |global| global.compute_transform())
}

/// The simulation without an `App`: the same [`step::advance`] as [`SimPlugin`]'s system,
/// for tests, benchmarks and the determinism checksum.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The particles.
    pub pool: ParticlePool,
    /// Forces, looks and seed.
    pub settings: SimSettings,
    /// Emitters with their state and placement, in spawn order.
    pub emitters: Vec<(Emitter, EmitterState, Transform)>,
    /// The random numbers.
    pub rng: SimRng,
    /// Steps taken.
    pub clock: SimClock,
    /// Splits the kernels across threads (one thread unless given another).
    pub dispatcher: std::sync::Arc<Dispatcher>,
}

impl Simulation {
    /// A simulation of `settings` with `emitters` (placed by their transforms), on one
    /// thread.
    #[must_use]
    pub fn new(settings: SimSettings, emitters: Vec<(Emitter, Transform)>) -> Self {
        Self {
            pool: ParticlePool::with_capacity(settings.capacity),
            rng: SimRng::new(settings.seed),
            emitters: emitters
                .into_iter()
                .map(|(emitter, transform)| (emitter, EmitterState::default(), transform))
                .collect(),
            settings,
            clock: SimClock::default(),
            dispatcher: std::sync::Arc::new(Dispatcher::new(1)),
        }
    }

    /// One step of `dt` seconds on `backend`: spawn, integrate, cull.
    pub fn step(&mut self, backend: Backend, dt: f32) -> StepReport {
        let inputs = StepInputs {
            settings: &self.settings,
            backend,
            dispatcher: &self.dispatcher,
            dt,
        };
        let state = StepState {
            pool: &mut self.pool,
            rng: &mut self.rng,
            clock: &mut self.clock,
        };
        let emitters = self
            .emitters
            .iter_mut()
            .map(|(emitter, state, transform)| (&*emitter, state, *transform));
        step::advance(state, emitters, &inputs)
    }

    /// `steps` fixed steps of 1/60 s on `backend`.
    pub fn run(&mut self, backend: Backend, steps: u32) {
        let dt = fixed_step_seconds();
        for _ in 0..steps {
            self.step(backend, dt);
        }
    }
}

/// The fixed step in seconds, exactly as `Time<Fixed>` at [`STEPS_PER_SECOND`] reports it.
#[must_use]
pub fn fixed_step_seconds() -> f32 {
    Time::<Fixed>::from_hz(STEPS_PER_SECOND)
        .timestep()
        .as_secs_f32()
}

/// The scenario the determinism checks run: every emitter shape, bursts, gravity, drag,
/// an attractor and a repulsor, the noise field and bounce, with colour and size.
#[must_use]
pub fn determinism_scenario(seed: u64) -> Simulation {
    let settings = SimSettings {
        capacity: 20_000,
        seed,
        forces: Forces {
            gravity: Vec3::new(0.0, -9.81, 0.0),
            drag: 0.3,
            attractors: vec![
                Attractor {
                    position: Vec3::new(0.0, 4.0, 0.0),
                    strength: 40.0,
                    softening: 0.5,
                },
                Attractor {
                    position: Vec3::new(3.0, 1.0, -2.0),
                    strength: -15.0,
                    softening: 0.3,
                },
            ],
            noise: NoiseField {
                strength: 6.0,
                frequency: 0.7,
                drift: Vec3::new(0.1, 0.3, 0.0),
            },
            bounds: Bounds {
                min: Vec3::new(-8.0, 0.0, -8.0),
                max: Vec3::new(8.0, 12.0, 8.0),
                restitution: 0.6,
            },
        },
        ..SimSettings::default()
    };
    let emitters = vec![
        (
            Emitter {
                shape: EmitterShape::Point,
                rate: 3000.0,
                ..default()
            },
            Transform::default(),
        ),
        (
            Emitter {
                shape: EmitterShape::Sphere { radius: 1.0 },
                rate: 2000.0,
                scatter: 1.0,
                ..default()
            },
            Transform::from_xyz(-3.0, 3.0, 0.0),
        ),
        (
            Emitter {
                shape: EmitterShape::Box {
                    half_extents: Vec3::new(1.0, 0.2, 1.0),
                },
                rate: 1500.0,
                ..default()
            },
            Transform::from_xyz(3.0, 6.0, 2.0),
        ),
        (
            Emitter {
                shape: EmitterShape::Disk { radius: 2.0 },
                rate: 0.0,
                burst: Some(Burst {
                    count: 800,
                    first_at: 0.25,
                    every: 1.5,
                }),
                speed: Spread::new(1.0, 8.0),
                ..default()
            },
            Transform::from_xyz(0.0, 8.0, -3.0).with_rotation(Quat::from_xyzw(0.6, 0.0, 0.0, 0.8)),
        ),
        (
            Emitter {
                shape: EmitterShape::Cone {
                    radius: 0.5,
                    slope: 0.8,
                },
                rate: 2500.0,
                ..default()
            },
            Transform::from_xyz(0.0, 0.5, 4.0),
        ),
    ];
    Simulation::new(settings, emitters)
}

/// The pool checksum after `steps` fixed steps of [`determinism_scenario`] on `backend`.
#[must_use]
pub fn determinism_checksum(seed: u64, backend: Backend, steps: u32) -> u64 {
    let mut simulation = determinism_scenario(seed);
    simulation.run(backend, steps);
    simulation.pool.checksum()
}

/// A headless test app: `MinimalPlugins`, [`SimPlugin`] with room for `capacity`
/// particles, [`PackPlugin`], one fixed step per update, and one emitter at `rate`
/// particles a second.
#[cfg(test)]
pub(crate) fn headless_test_app(capacity: usize, rate: f32) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).add_plugins((
        SimPlugin::default().with_capacity(capacity),
        PackPlugin::default(),
    ));
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        app.world().resource::<Time<Fixed>>().timestep(),
    ));
    app.world_mut().spawn(Emitter { rate, ..default() });
    app
}
