//! Simulation tests without a window: the plugin in a headless app, determinism across
//! backends and between the app and `Simulation`. (No allocation in the steady state is
//! proved in `tests/memory.rs`, a binary of its own so other tests do not add to the count.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bevy::ecs::schedule::{FixedBitSet, MultiThreadedExecutor, SystemExecutor, SystemSchedule};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_egui::{EguiGlobalSettings, EguiPlugin};
use sparkbench::sim::{
    Backend, Bounds, Emitter, EmitterShape, InstanceRecords, PackPlugin, PackSet, ParticlePool,
    STEPS_PER_SECOND, SimClock, SimPause, SimPlugin, SimSet, SimSettings, Spread, StepReport,
    determinism_checksum, determinism_scenario,
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
        .add_plugins(SimPlugin::default().with_steps_per_second(STEPS_PER_SECOND))
        .insert_resource(TimeUpdateStrategy::ManualDuration(
            Time::<Fixed>::from_hz(STEPS_PER_SECOND).timestep(),
        ));
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

/// Pause, single steps and "pause after N" are one count: paused takes no step, a single
/// step takes exactly one, a limit takes exactly that many, resuming runs freely.
#[test]
fn pause_single_step_and_pause_after_share_one_count() {
    let mut app = headless_app(SimSettings::default());
    app.world_mut().spawn(Emitter::default());
    let steps = |app: &App| app.world().resource::<SimClock>().steps;
    let run = |app: &mut App, updates: usize| (0..updates).for_each(|_| app.update());
    app.world_mut().resource_mut::<SimPause>().pause();
    run(&mut app, 10);
    assert_eq!(steps(&app), 0, "paused");
    assert_eq!(app.world().resource::<ParticlePool>().len(), 0);
    app.world_mut().resource_mut::<SimPause>().step_once();
    run(&mut app, 10);
    assert_eq!(steps(&app), 1, "one single step");
    assert!(app.world().resource::<SimPause>().is_paused());
    app.world_mut().resource_mut::<SimPause>().pause_after(5);
    run(&mut app, 20);
    assert_eq!(steps(&app), 6, "five more, then paused");
    app.world_mut().resource_mut::<SimPause>().resume();
    let before = steps(&app);
    run(&mut app, 10);
    assert!(steps(&app) >= before + 9, "running again: {}", steps(&app));
    app.world_mut().resource_mut::<SimPause>().step_once();
    assert!(
        !app.world().resource::<SimPause>().is_paused(),
        "a single step while running does nothing"
    );
}

/// The host's executor: Bevy's multi-threaded one, counting the schedule runs it executes.
struct HostExecutor {
    inner: MultiThreadedExecutor,
    runs: Arc<AtomicU32>,
}

impl SystemExecutor for HostExecutor {
    fn init(&mut self, schedule: &SystemSchedule) {
        self.inner.init(schedule);
    }
    fn run(
        &mut self,
        schedule: &mut SystemSchedule,
        world: &mut World,
        skip_systems: Option<&FixedBitSet>,
        error_handler: fn(BevyError, bevy::ecs::error::ErrorContext),
    ) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.inner.run(schedule, world, skip_systems, error_handler);
    }
    fn set_apply_final_deferred(&mut self, value: bool) {
        self.inner.set_apply_final_deferred(value);
    }
}

/// A host app with its own fixed-step system, its own timestep (50 Hz), its own
/// `FixedUpdate` executor and its own `EguiPlugin` setup keeps all four after adding
/// `SimPlugin` and `PackPlugin`, and its systems ordered around `SimSet` and `PackSet` see
/// the step's report and the fresh records in the same frame.
#[test]
fn the_plugins_leave_the_host_apps_schedule_and_timestep_alone() {
    #[derive(Resource, Default)]
    struct HostSaw {
        fixed_runs: u32,
        reported_alive: usize,
        records_after_pack: usize,
    }
    let executor_runs = Arc::new(AtomicU32::new(0));
    let host_egui = EguiGlobalSettings {
        auto_create_primary_context: false,
        enable_cursor_icon_updates: false,
        ..default()
    };
    let mut app = App::new();
    // Without a window or renderer, egui needs assets (its shader and images), input and
    // window messages to build and run.
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin::default(),
        bevy::input::InputPlugin,
        WindowPlugin {
            primary_window: None,
            exit_condition: bevy::window::ExitCondition::DontExit,
            ..default()
        },
    ))
    .init_asset::<Shader>()
    .init_asset::<Image>()
    .insert_resource(host_egui)
    .add_plugins(EguiPlugin::default())
    .insert_resource(Time::<Fixed>::from_hz(50.0))
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        20,
    )))
    .init_resource::<HostSaw>()
    .edit_schedule(FixedUpdate, |schedule| {
        schedule.set_executor(HostExecutor {
            inner: MultiThreadedExecutor::new(),
            runs: Arc::clone(&executor_runs),
        });
    })
    .add_systems(FixedUpdate, |mut saw: ResMut<HostSaw>| saw.fixed_runs += 1);
    app.add_plugins((
        SimPlugin::new(FixedUpdate).with_capacity(5_000),
        PackPlugin::default(),
    ))
    .add_systems(
        FixedUpdate,
        (|report: Res<StepReport>, mut saw: ResMut<HostSaw>| {
            saw.reported_alive = report.alive;
        })
        .after(SimSet),
    )
    .add_systems(
        PostUpdate,
        (|records: Res<InstanceRecords>, mut saw: ResMut<HostSaw>| {
            saw.records_after_pack = records.records().len();
        })
        .after(PackSet),
    );
    app.world_mut().spawn(Emitter::default());
    for _ in 0..30 {
        app.update();
    }
    assert_eq!(app.get_added_plugins::<EguiPlugin>().len(), 1);
    let world = app.world();
    let egui = world.resource::<EguiGlobalSettings>();
    assert!(
        !egui.auto_create_primary_context && !egui.enable_cursor_icon_updates,
        "the host's egui settings: {egui:?}"
    );
    assert_eq!(
        world.resource::<Time<Fixed>>().timestep(),
        Duration::from_millis(20)
    );
    let saw = world.resource::<HostSaw>();
    let pool = world.resource::<ParticlePool>();
    assert_eq!(pool.capacity(), 5_000);
    assert!(
        saw.fixed_runs >= 29,
        "the host's own system ran {} times",
        saw.fixed_runs
    );
    assert_eq!(
        executor_runs.load(Ordering::Relaxed),
        saw.fixed_runs,
        "every FixedUpdate ran on the host's executor"
    );
    assert!(pool.len() > 100, "{} alive", pool.len());
    assert_eq!(saw.reported_alive, pool.len(), "the report after the step");
    assert_eq!(
        saw.records_after_pack,
        pool.len(),
        "the records after the pack"
    );
}

#[test]
fn the_app_and_the_standalone_simulation_agree_bit_for_bit() {
    let reference = determinism_scenario(SEED);
    let mut app = headless_app(reference.settings.clone());
    for (emitter, _, transform) in &reference.emitters {
        app.world_mut().spawn((emitter.clone(), *transform));
    }
    // Each update advances the clock by exactly one fixed timestep: one step, the system's
    // dt the same f32 as the standalone simulation's.
    while app.world().resource::<SimClock>().steps < u64::from(STEPS) {
        app.update();
    }
    let app_checksum = app.world().resource::<ParticlePool>().checksum();
    let backend = app.world().resource::<sparkbench::sim::SimBackend>().active;
    let total = app.world().resource::<SimClock>().steps;
    assert_eq!(total, u64::from(STEPS));
    assert_eq!(
        app_checksum,
        determinism_checksum(SEED, backend, u32::try_from(total).unwrap())
    );
}

/// Every particle's position, as `[x, y, z]`.
fn positions(app: &App) -> Vec<[f32; 3]> {
    let [x, y, z] = app.world().resource::<ParticlePool>().positions();
    (0..x.len()).map(|i| [x[i], y[i], z[i]]).collect()
}

/// An emitter parented to a moved and turned entity spawns where the parent puts it, at the
/// parent's rotation of its own offset plus the parent's translation: from its first step
/// (spawned mid-run, before any transform propagation), and at the parent's new place in
/// the very step after the parent moves.
#[test]
fn a_child_emitter_spawns_where_its_parent_places_it() {
    let mut settings = SimSettings::default();
    settings.forces.gravity = Vec3::ZERO;
    settings.forces.drag = 0.0;
    let mut app = headless_app(settings);
    app.add_plugins(TransformPlugin);
    for _ in 0..5 {
        app.update();
    }
    let parent = app
        .world_mut()
        .spawn(
            Transform::from_xyz(10.0, 20.0, 5.0)
                .with_rotation(Quat::from_rotation_y(core::f32::consts::FRAC_PI_2)),
        )
        .id();
    app.world_mut().spawn((
        Emitter {
            shape: EmitterShape::Point,
            speed: Spread::new(0.0, 0.0),
            rate: 600.0,
            ..Emitter::default()
        },
        Transform::from_xyz(2.0, 0.0, 0.0),
        ChildOf(parent),
    ));
    let near = |position: [f32; 3], expected: [f32; 3]| {
        position
            .iter()
            .zip(expected)
            .all(|(got, want)| (got - want).abs() < 1e-4)
    };
    app.update();
    let first = positions(&app);
    assert_eq!(first.len(), 10, "600 a second, one 1/60 s step");
    // A quarter turn about y takes +x to -z: (2, 0, 0) becomes (0, 0, -2).
    assert!(
        first.iter().all(|&p| near(p, [10.0, 20.0, 3.0])),
        "{first:?}"
    );
    app.world_mut()
        .entity_mut(parent)
        .get_mut::<Transform>()
        .expect("the parent has a transform")
        .translation = Vec3::new(-4.0, 1.0, 0.0);
    app.update();
    let moved = positions(&app);
    assert_eq!(moved.len(), 20);
    let at_new_place = moved
        .iter()
        .filter(|&&p| near(p, [-4.0, 1.0, -2.0]))
        .count();
    assert_eq!(
        at_new_place, 10,
        "the next step spawns at the parent's new place: {moved:?}"
    );
}
