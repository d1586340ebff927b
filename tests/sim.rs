//! Simulation tests without a window: the plugin in a headless app, determinism across
//! backends and between the app and `Simulation`. (No allocation in the steady state is
//! proved in `tests/memory.rs`, a binary of its own so other tests do not add to the count.)

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use sparkbench::sim::{
    Backend, Bounds, Emitter, EmitterShape, ParticlePool, SimPlugin, SimSettings, Spread,
    determinism_checksum, determinism_scenario, fixed_step_seconds,
};

const STEPS: u32 = 600;
const SEED: u64 = 7;

#[test]
fn simd_and_scalar_give_the_same_checksum_after_600_steps() {
    let scalar = determinism_checksum(SEED, Backend::Scalar, STEPS);
    for backend in Backend::available() {
        assert_eq!(
            determinism_checksum(SEED, backend, STEPS),
            scalar,
            "{backend} differs from scalar"
        );
    }
    assert_ne!(
        determinism_checksum(SEED + 1, Backend::Scalar, STEPS),
        scalar,
        "the seed matters"
    );
}

#[test]
fn the_scenario_keeps_thousands_of_particles_alive_inside_its_bounds() {
    let mut sim = determinism_scenario(SEED);
    sim.run(Backend::best(), STEPS);
    let pool = &sim.pool;
    assert!(pool.len() > 10_000, "{} particles", pool.len());
    let Bounds { min, max, .. } = sim.settings.forces.bounds;
    for (axis, column) in pool.positions().into_iter().enumerate() {
        assert!(
            column.iter().all(|p| (min[axis]..=max[axis]).contains(p)),
            "axis {axis}"
        );
    }
    assert!(
        pool.ages()
            .iter()
            .zip(pool.lifetimes())
            .all(|(age, life)| age < life)
    );
}

/// A headless app: `MinimalPlugins`, `SimPlugin`, and time advanced by exactly one fixed
/// step per update.
fn headless_app(settings: SimSettings) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(settings)
        .add_plugins(SimPlugin)
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f32(
            fixed_step_seconds(),
        )));
    app
}

#[test]
fn the_plugin_spawns_ages_and_culls_in_fixed_update() {
    let settings = SimSettings {
        capacity: 10_000,
        ..SimSettings::default()
    };
    let mut app = headless_app(settings);
    app.world_mut().spawn((
        Emitter {
            shape: EmitterShape::Sphere { radius: 0.5 },
            rate: 600.0,
            lifetime: Spread::new(1.0, 1.0),
            ..default()
        },
        Transform::from_xyz(0.0, 5.0, 0.0),
    ));
    app.update(); // start-up: sizes the pool
    let mut counts = Vec::new();
    for _ in 0..150 {
        app.update();
        counts.push(app.world().resource::<ParticlePool>().len());
    }
    let pool = app.world().resource::<ParticlePool>();
    assert_eq!(pool.capacity(), 10_000);
    // 600 per second for one-second lives: about 600 alive once the first ones expire.
    assert!((590..=610).contains(&pool.len()), "{} alive", pool.len());
    assert!(
        counts[30] > 250 && counts[30] < 350,
        "half a second in: {}",
        counts[30]
    );
    assert!(pool.ages().iter().all(|&age| age < 1.0));
    assert!(
        pool.positions()[1].iter().all(|&y| y >= 0.0),
        "nothing below the ground"
    );
}

#[test]
fn pausing_stops_the_simulation() {
    let mut app = headless_app(SimSettings {
        paused: true,
        ..SimSettings::default()
    });
    app.world_mut().spawn(Emitter::default());
    for _ in 0..10 {
        app.update();
    }
    assert_eq!(app.world().resource::<ParticlePool>().len(), 0);
}

#[test]
fn the_app_and_the_standalone_simulation_agree_bit_for_bit() {
    let reference = determinism_scenario(SEED);
    let mut app = headless_app(reference.settings.clone());
    for (emitter, _, transform) in &reference.emitters {
        app.world_mut().spawn((emitter.clone(), *transform));
    }
    app.update(); // start-up
    let steps_before = app.world().resource::<sparkbench::sim::SimClock>().steps;
    while app.world().resource::<sparkbench::sim::SimClock>().steps - steps_before
        < u64::from(STEPS)
    {
        app.world_mut().run_schedule(FixedUpdate);
    }
    let app_checksum = app.world().resource::<ParticlePool>().checksum();
    let backend = app.world().resource::<sparkbench::sim::SimBackend>().active;
    // The app took one fixed step in its first update too (or none): step the standalone
    // simulation to the same count.
    let total = app.world().resource::<sparkbench::sim::SimClock>().steps;
    assert_eq!(
        app_checksum,
        determinism_checksum(SEED, backend, u32::try_from(total).unwrap())
    );
}
