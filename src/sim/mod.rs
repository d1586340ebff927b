//! The particle simulation: pure Rust and `bevy_ecs`, no window or render types, so it is
//! tested and benchmarked without a GPU.
//!
//! Each fixed step (60 Hz) runs [`SimSystems`] in `FixedUpdate`: emitters spawn into free
//! slots of the [`ParticlePool`], the SIMD kernel integrates every particle, and expired
//! particles are swap-removed. Colour and size are not simulated state: the pack kernel
//! evaluates them from age and lifetime when a frame is drawn. [`Simulation`] runs the
//! same steps without an `App`, for tests, benchmarks and the determinism checksum.

use bevy::prelude::*;

pub mod bench;
pub mod emitter;
pub mod forces;
pub mod kernels;
pub mod looks;
pub mod pool;

pub use emitter::{Burst, Emitter, EmitterShape, EmitterState, SimRng, Spread};
pub use forces::{Attractor, Bounds, Forces, NoiseField};
pub use kernels::Backend;
pub use looks::{ColorKey, Looks, SizeKey};
pub use pool::ParticlePool;

use kernels::{LookParams, StepParams};

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
    /// Stop stepping (the pool keeps its state).
    pub paused: bool,
    /// Pause once this many steps have been taken (for screenshots of an exact state).
    pub pause_at: Option<u64>,
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
            paused: false,
            pause_at: None,
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
        #[allow(clippy::cast_precision_loss)]
        let steps = self.steps as f64;
        steps * f64::from(dt)
    }
}

/// While paused, set to take exactly one more step (cleared when it is taken).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOnce(pub bool);

/// The simulation's systems, in `FixedUpdate`: spawn, then integrate, then cull.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Emitters fill free slots.
    Spawn,
    /// The kernel advances every particle.
    Integrate,
    /// Expired particles are removed.
    Cull,
}

/// Adds the simulation: pool, settings, backend and the fixed-step systems.
/// Uses `SimSettings` if the app already has one.
pub struct SimPlugin;

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SimSettings>()
            .init_resource::<SimClock>()
            .init_resource::<StepOnce>()
            .insert_resource(Time::<Fixed>::from_hz(STEPS_PER_SECOND))
            // The step is one chain of systems, so a multi-threaded executor could only add
            // a task (and its allocations) per system; the kernels split work themselves.
            .edit_schedule(FixedUpdate, |schedule| {
                schedule.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
            })
            .configure_sets(
                FixedUpdate,
                (SimSystems::Spawn, SimSystems::Integrate, SimSystems::Cull)
                    .chain()
                    .run_if(|settings: Res<SimSettings>, once: Res<StepOnce>| {
                        !settings.paused || once.0
                    }),
            )
            // Empty until the first step sizes it, so it is allocated once, at the size the
            // scenario asks for.
            .init_resource::<ParticlePool>()
            .add_systems(PreUpdate, select_backend)
            .add_systems(
                FixedUpdate,
                (
                    (fit_pool, spawn_particles)
                        .chain()
                        .in_set(SimSystems::Spawn),
                    integrate_particles.in_set(SimSystems::Integrate),
                    cull_particles.in_set(SimSystems::Cull),
                ),
            );
        let settings = app.world().resource::<SimSettings>();
        let backend = SimBackend {
            active: settings.backend(),
            best: Backend::best(),
        };
        let rng = SimRng::new(settings.seed);
        app.insert_resource(backend).insert_resource(rng);
    }
}

/// Gives the pool the capacity the settings ask for. This is the only place the app
/// allocates particle memory: once at the first step, and again only when a scenario
/// changes the capacity.
fn fit_pool(settings: Res<SimSettings>, mut pool: ResMut<ParticlePool>) {
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

/// The fixed step, in seconds, as every system reads it.
fn fixed_dt(time: &Time<Fixed>) -> f32 {
    time.timestep().as_secs_f32()
}

fn spawn_particles(
    time: Res<Time<Fixed>>,
    settings: Res<SimSettings>,
    mut emitters: Query<(&Emitter, &mut EmitterState, &Transform)>,
    mut pool: ResMut<ParticlePool>,
    mut rng: ResMut<SimRng>,
) {
    let dt = fixed_dt(&time);
    for (emitter, mut state, transform) in &mut emitters {
        let emitter = emitter.with_rate_scaled(settings.rate_scale);
        emitter::emit(&emitter, &mut state, transform, &mut pool, &mut rng, dt);
    }
}

fn integrate_particles(
    time: Res<Time<Fixed>>,
    settings: Res<SimSettings>,
    backend: Res<SimBackend>,
    mut clock: ResMut<SimClock>,
    mut pool: ResMut<ParticlePool>,
) {
    let dt = fixed_dt(&time);
    let params = settings.step_params(dt, clock.elapsed(dt));
    kernels::step(backend.active, pool.columns_mut(), &params);
    clock.steps += 1;
}

fn cull_particles(
    mut pool: ResMut<ParticlePool>,
    mut once: ResMut<StepOnce>,
    clock: Res<SimClock>,
    mut settings: ResMut<SimSettings>,
) {
    pool.cull_expired();
    once.0 = false;
    if settings.pause_at.is_some_and(|step| clock.steps >= step) {
        settings.pause_at = None;
        settings.paused = true;
    }
}

/// The simulation without an `App`: the same steps as [`SimPlugin`]'s systems, in the same
/// order, for tests, benchmarks and the determinism checksum.
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
}

impl Simulation {
    /// A simulation of `settings` with `emitters` (placed by their transforms).
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
        }
    }

    /// One step of `dt` seconds on `backend`: spawn, integrate, cull.
    pub fn step(&mut self, backend: Backend, dt: f32) {
        for (emitter, state, transform) in &mut self.emitters {
            let emitter = emitter.with_rate_scaled(self.settings.rate_scale);
            emitter::emit(
                &emitter,
                state,
                transform,
                &mut self.pool,
                &mut self.rng,
                dt,
            );
        }
        let params = self.settings.step_params(dt, self.clock.elapsed(dt));
        kernels::step(backend, self.pool.columns_mut(), &params);
        self.clock.steps += 1;
        self.pool.cull_expired();
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
