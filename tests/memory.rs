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
use sparkbench::sim::bench::{bench_settings, filled_pool};
use sparkbench::sim::kernels::{self, RECORD_WORDS, pack_on_this_thread};
use sparkbench::sim::{
    Backend, Dispatcher, PackPlugin, PackReport, ParticlePool, determinism_scenario,
    fixed_step_seconds,
};

static SERIAL: Mutex<()> = Mutex::new(());

const FRAMES: u32 = 600;

/// A headless app running `scenario` at `particles` with one fixed step per update, the
/// pack after it, and the kernels on at least two threads.
fn headless_scenario(scenario: Scenario, particles: u32) -> App {
    let (settings, emitters) = scenario.build(particles, 7);
    let threads = Dispatcher::available_threads().max(2);
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(settings)
        .add_plugins((
            sparkbench::perf::measured_sim_plugin().with_threads(threads),
            PackPlugin::default(),
            sparkbench::perf::PerfPlugin::default(),
        ))
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

    let pool = filled_pool(50_000);
    let mut records = vec![0_u32; pool.capacity() * RECORD_WORDS];
    let looks = bench_settings().look_params();
    for backend in [Backend::best(), Backend::Scalar] {
        let counted = allocations_during(|| {
            for _ in 0..FRAMES {
                pack_on_this_thread(backend, pool.particles(), &looks, &mut records);
            }
        });
        assert_eq!(counted, 0, "{backend}: allocations while packing");
    }
}

/// The parallel kernels at a million particles: 600 steps and packs split across two or
/// more threads allocate nothing on any thread (the counters are process-wide), and the
/// helper threads did take chunks.
#[test]
fn a_million_particles_step_and_pack_on_two_threads_with_no_allocation() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dispatcher = Dispatcher::new(Dispatcher::available_threads().max(2));
    let mut pool = filled_pool(1_000_000);
    let mut records = vec![0_u32; pool.capacity() * RECORD_WORDS];
    let settings = bench_settings();
    let params = settings.step_params(fixed_step_seconds(), 0.0);
    let looks = settings.look_params();
    let backend = Backend::best();
    let mut frame = || {
        kernels::step(backend, pool.columns_mut(), &params, &dispatcher);
        kernels::pack(backend, pool.particles(), &looks, &mut records, &dispatcher);
    };
    frame();
    let counted = allocations_during(|| (0..FRAMES).for_each(|_| frame()));
    assert_eq!(counted, 0, "allocations in {FRAMES} split steps and packs");
    assert!(
        dispatcher.helper_chunks() > 0,
        "no helper thread took a chunk in {FRAMES} frames"
    );
}

/// Every preset at its default size, in a headless app with the kernels on two or more
/// threads: the simulate and pack phases (which count their helper threads' allocations
/// too) allocate nothing over 600 frames.
#[test]
fn the_step_and_pack_systems_allocate_nothing_at_every_presets_default_size() {
    let _turn = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for scenario in Scenario::ALL {
        let mut app = headless_scenario(scenario, scenario.default_particles());
        for _ in 0..300 {
            app.update();
        }
        // The phases' own counts: allocations while the step and the pack ran (Bevy's
        // scheduler around them is not the app's hot path and is not counted).
        let mut counted = [0; 2];
        let mut timed_ms = [0.0; 2];
        let helper_chunks = app.world().resource::<Dispatcher>().helper_chunks();
        for _ in 0..FRAMES {
            app.update();
            let phases = app.world().resource::<PhaseTimes>();
            for (index, phase) in [Phase::Simulate, Phase::Pack].into_iter().enumerate() {
                counted[index] += phases.last_allocations(phase);
                timed_ms[index] += phases.last_ms(phase);
            }
        }
        let world = app.world();
        let live = world.resource::<ParticlePool>().len();
        assert!(live > 1000, "{}: {live} alive", scenario.name());
        assert!(world.resource::<PackReport>().packs >= u64::from(FRAMES));
        assert!(
            timed_ms[0] > 0.0 && timed_ms[1] > 0.0,
            "{}: the phases were measured: {timed_ms:?} ms",
            scenario.name()
        );
        assert!(
            world.resource::<Dispatcher>().helper_chunks() > helper_chunks,
            "{}: the kernels were split across threads",
            scenario.name()
        );
        assert_eq!(
            counted,
            [0, 0],
            "{}: allocations while simulating and packing {FRAMES} frames",
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
