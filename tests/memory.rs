//! Memory proofs with the app's own global allocator (the counting layer): nothing on the
//! hot path allocates in the steady state, and a long headless run holds a steady level.
//!
//! The counters are process-wide, so the tests in this binary take turns (`SERIAL`).

use std::sync::Mutex;
use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use sparkbench::memory;
use sparkbench::perf::{Phase, PhaseTimes};
use sparkbench::scenario::Scenario;
use sparkbench::sim::kernels::{RECORD_WORDS, pack_instances};
use sparkbench::sim::{Backend, ParticlePool, SimPlugin, determinism_scenario, fixed_step_seconds};

static SERIAL: Mutex<()> = Mutex::new(());

const FRAMES: u32 = 600;

/// A headless app running `scenario` at `particles` with one fixed step per update.
fn headless_scenario(scenario: Scenario, particles: u32) -> App {
    let (settings, emitters) = scenario.build(particles, 7);
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(settings)
        .add_plugins((SimPlugin, sparkbench::perf::plugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f32(
            fixed_step_seconds(),
        )));
    for emitter in emitters {
        app.world_mut().spawn(emitter);
    }
    app
}

fn allocations_during(run: impl FnOnce()) -> u64 {
    let before = memory::totals().allocations;
    run();
    memory::totals().allocations - before
}

#[test]
fn simulation_and_pack_allocate_nothing_in_600_steady_state_frames() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut sim = determinism_scenario(7);
    // Warm up past the longest lifetime, so spawning and culling are in balance.
    sim.run(Backend::best(), 300);
    for backend in [Backend::best(), Backend::Scalar] {
        let counted = allocations_during(|| sim.run(backend, FRAMES));
        assert_eq!(counted, 0, "{backend}: allocations while stepping");
    }

    let pool = sparkbench::sim::bench::filled_pool(50_000);
    let mut records = vec![0_u32; pool.capacity() * RECORD_WORDS];
    let looks = sparkbench::sim::bench::bench_settings().look_params();
    for backend in [Backend::best(), Backend::Scalar] {
        let counted = allocations_during(|| {
            for _ in 0..FRAMES {
                pack_instances(backend, &pool, &looks, &mut records);
            }
        });
        assert_eq!(counted, 0, "{backend}: allocations while packing");
    }
}

#[test]
fn the_sim_systems_allocate_nothing_per_frame_in_a_headless_app() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for scenario in Scenario::ALL {
        let mut app = headless_scenario(scenario, 20_000);
        for _ in 0..300 {
            app.update();
        }
        // The simulate phase's own count: allocations while spawn, integrate and cull ran
        // (Bevy's scheduler around them is not the app's hot path and is not counted).
        let mut simulate = 0;
        for _ in 0..FRAMES {
            app.update();
            simulate += app
                .world()
                .resource::<PhaseTimes>()
                .last_allocations(Phase::Simulate);
        }
        assert!(app.world().resource::<ParticlePool>().len() > 1000);
        assert_eq!(
            simulate,
            0,
            "{}: allocations while simulating {FRAMES} frames",
            scenario.name()
        );
    }
}

#[test]
fn a_20000_frame_soak_of_the_stress_scenario_holds_a_steady_live_level() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut app = headless_scenario(Scenario::Stress, 20_000);
    let live_after = |app: &mut App, frames: u32| {
        for _ in 0..frames {
            app.update();
        }
        memory::totals().live_bytes
    };
    let warmed = live_after(&mut app, 1000);
    let mut levels = Vec::new();
    for _ in 0..19 {
        levels.push(live_after(&mut app, 1000));
    }
    let pool = app.world().resource::<ParticlePool>();
    assert!(
        pool.len() * 10 >= pool.capacity() * 9,
        "the stress preset stays nearly full"
    );
    for (index, level) in levels.iter().enumerate() {
        assert!(
            level.abs_diff(warmed) <= 64 * 1024,
            "live bytes after {} frames: {level}, after warm-up {warmed}",
            (index + 2) * 1000
        );
    }
}
