//! The one fixed step: emitters spawn into free slots, the kernel integrates every
//! particle, expired particles are swap-removed. [`advance`] is what the Bevy system and
//! the app-free [`Simulation`](super::Simulation) both run, so the two cannot drift apart.

use core::time::Duration;

use bevy::platform::time::Instant;
use bevy::prelude::*;

use super::emitter::{self, Emitter, EmitterState, SimRng};
use super::kernels::{self, Backend, Dispatcher};
use super::pool::ParticlePool;
use super::{SimClock, SimSettings};

/// What one fixed step works on and with, besides the emitters.
pub struct StepInputs<'a> {
    /// Forces, looks, seed and spawn rate.
    pub settings: &'a SimSettings,
    /// The kernels' backend.
    pub backend: Backend,
    /// Splits the kernel across threads.
    pub dispatcher: &'a Dispatcher,
    /// The step, in seconds.
    pub dt: f32,
}

/// The simulation state one step changes.
pub struct StepState<'a> {
    /// The particles.
    pub pool: &'a mut ParticlePool,
    /// The random numbers.
    pub rng: &'a mut SimRng,
    /// Steps taken.
    pub clock: &'a mut SimClock,
}

/// What the last step did, in particles, and what it cost.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Spawned by the emitters.
    pub spawned: u32,
    /// Removed because they reached their lifetime.
    pub culled: usize,
    /// Alive after the step.
    pub alive: usize,
    /// The cost of the step (zero from [`advance`] itself: the system that runs it
    /// measures).
    pub cost: Cost,
    /// When the step began, on the wall clock (`None` from [`advance`] itself).
    pub started: Option<Instant>,
    /// Every step's cost added up since start-up: what a frame's steps cost is its growth.
    pub total: Cost,
}

/// What a step or a pack cost: wall time, and allocations as the host counts them (see
/// [`SimPlugin::with_allocation_counter`](super::SimPlugin::with_allocation_counter)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Wall time.
    pub elapsed: Duration,
    /// Allocations it caused, on its own thread and the kernels' helpers.
    pub allocations: u64,
}

impl Cost {
    /// Both costs added.
    #[must_use]
    pub fn plus(self, other: Cost) -> Cost {
        Cost {
            elapsed: self.elapsed + other.elapsed,
            allocations: self.allocations + other.allocations,
        }
    }

    /// What was added to a running total since it was `earlier`.
    #[must_use]
    pub fn since(self, earlier: Cost) -> Cost {
        Cost {
            elapsed: self.elapsed.saturating_sub(earlier.elapsed),
            allocations: self.allocations.saturating_sub(earlier.allocations),
        }
    }
}

/// What [`measure`] found: the work's output, what it cost and when it began.
#[derive(Debug, Clone, Copy)]
pub struct Timed<T> {
    /// What the work returned.
    pub output: T,
    /// Its wall time and allocations.
    pub cost: Cost,
    /// When it began, on the wall clock.
    pub started: Instant,
}

/// Measures the cost of `work` with `count_allocations` (the host's counter).
pub fn measure<T>(count_allocations: fn() -> u64, work: impl FnOnce() -> T) -> Timed<T> {
    let allocations = count_allocations();
    let started = Instant::now();
    let output = work();
    let cost = Cost {
        elapsed: started.elapsed(),
        allocations: count_allocations().saturating_sub(allocations),
    };
    Timed {
        output,
        cost,
        started,
    }
}

/// Advances the simulation by one step of `inputs.dt` seconds: each emitter, in the order
/// given and placed in the world by its transform, spawns what it owes; the kernel
/// integrates every particle; the expired are swap-removed. Allocates nothing.
pub fn advance<'e>(
    state: StepState<'_>,
    emitters: impl Iterator<Item = (&'e Emitter, &'e mut EmitterState, Transform)>,
    inputs: &StepInputs<'_>,
) -> StepReport {
    let StepState { pool, rng, clock } = state;
    let mut spawned = 0;
    for (emitter, emitter_state, placement) in emitters {
        let emitter = emitter.with_rate_scaled(inputs.settings.rate_scale);
        spawned += emitter::emit(&emitter, emitter_state, &placement, pool, rng, inputs.dt);
    }
    let params = inputs
        .settings
        .step_params(inputs.dt, clock.elapsed(inputs.dt));
    kernels::step(
        inputs.backend,
        pool.columns_mut(),
        &params,
        inputs.dispatcher,
    );
    clock.steps += 1;
    let culled = pool.cull_expired();
    StepReport {
        spawned,
        culled,
        alive: pool.len(),
        cost: Cost::default(),
        started: None,
        total: Cost::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_add_and_subtract_field_by_field() {
        let cost = |ms, allocations| Cost {
            elapsed: Duration::from_millis(ms),
            allocations,
        };
        assert_eq!(cost(2, 3).plus(cost(1, 4)), cost(3, 7));
        assert_eq!(cost(3, 7).since(cost(1, 4)), cost(2, 3));
        assert_eq!(cost(1, 4).since(cost(3, 7)), cost(0, 0), "a reset total");
    }

    /// Two emitters at 600 and 1,200 particles a second over a 1/60 s step spawn 10 and 20;
    /// the clock counts each step.
    #[test]
    fn a_step_spawns_what_every_emitter_owes_and_counts_itself() {
        let settings = SimSettings::default();
        let dispatcher = Dispatcher::new(1);
        let inputs = StepInputs {
            settings: &settings,
            backend: Backend::Scalar,
            dispatcher: &dispatcher,
            dt: 1.0 / 60.0,
        };
        let mut pool = ParticlePool::with_capacity(1000);
        let mut rng = SimRng::new(1);
        let mut clock = SimClock::default();
        let emitters = [600.0, 1200.0].map(|rate| Emitter { rate, ..default() });
        let mut states = [EmitterState::default(), EmitterState::default()];
        for step in 1..=2 {
            let state = StepState {
                pool: &mut pool,
                rng: &mut rng,
                clock: &mut clock,
            };
            let placed = emitters
                .iter()
                .zip(&mut states)
                .map(|(emitter, state)| (emitter, state, Transform::default()));
            let report = advance(state, placed, &inputs);
            assert_eq!((report.spawned, report.culled), (30, 0), "step {step}");
            assert_eq!(report.alive, 30 * step);
            assert_eq!(clock.steps, step as u64);
        }
    }
}
