//! Performance captures: record a run's frames into a [`CaptureFile`], compare two, report
//! any number. The recorder reads the same `perf/` resources the overlay shows.
//!
//! `history` follows captures across commits.
//!
//! A capture starts when a [`CaptureRecorder`] resource is inserted (by the command line,
//! the overlay's Capture button, `?capture=N` or `window.sparkbench.capture(n)`). After
//! its warm-up frames it takes one [`FrameSample`] per frame; when it has them all it
//! puts the finished file in [`FinishedCapture`] for whoever asked to take.

use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::time::TimeUpdateStrategy;

use crate::perf::{
    FrameBudget, FrameStats, GpuTime, MemoryStats, PerfSystems, Phase, PhaseTimes, StartupTimes,
};
use crate::scenario::ScenarioChoice;
use crate::sim::{self, Dispatcher, ParticlePool, SimBackend, SimClock, SimSettings};

pub mod capacity;
pub mod compare;
mod environment;
pub mod file;
pub mod formats;
pub mod history;
pub mod report;

pub use capacity::{Capacity, CapacityConfig, CapacityRun, DisplayPaced, Pacing};
pub use file::{CaptureFile, CaptureSettings, CaptureSummary, Environment, FrameSample};

/// A capture in progress: frames still to skip, and the samples so far.
#[derive(Resource, Debug, Clone)]
pub struct CaptureRecorder {
    frames: u32,
    warmup: u32,
    headless: bool,
    /// Frames seen since the recorder started (warm-up included).
    seen: u32,
    /// `FrameStats::frames` when the last sample was taken.
    last_frame: Option<u64>,
    samples: Vec<FrameSample>,
    /// The clock ran on wall time before the capture fixed it to one step a frame, so
    /// it goes back to wall time afterwards.
    restore_wall_clock: bool,
}

impl CaptureRecorder {
    /// Records `frames` frames after `warmup` frames. `headless` is written in the file
    /// (the app without window or GPU).
    #[must_use]
    pub fn new(frames: u32, warmup: u32, headless: bool) -> Self {
        Self {
            frames: frames.max(1),
            warmup,
            headless,
            seen: 0,
            last_frame: None,
            // Taken before the run, so recording does not allocate per frame.
            samples: Vec::with_capacity(frames.max(1) as usize),
            restore_wall_clock: false,
        }
    }

    /// Frames seen so far (warm-up included) and the frames the capture takes in all.
    #[must_use]
    pub fn progress(&self) -> (u32, u32) {
        (self.seen, self.warmup + self.frames)
    }
}

/// The capture just finished, left for whoever asked for it to take.
#[derive(Resource, Debug, Clone)]
pub struct FinishedCapture(pub CaptureFile);

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        First,
        (
            fix_the_step.run_if(resource_added::<CaptureRecorder>),
            record_frame.run_if(resource_exists::<CaptureRecorder>),
        )
            .chain()
            .after(PerfSystems),
    )
    .add_plugins(capacity::plugin);
}

/// Run condition: true while no capture records and no capacity search runs. What a
/// person does to the simulation (the keys, dragging an attractor, the overlay's controls)
/// waits for it, so a capture or a search measures the run it started on.
#[must_use]
pub fn nothing_measuring(
    recorder: Option<Res<CaptureRecorder>>,
    search: Option<Res<CapacityRun>>,
) -> bool {
    recorder.is_none() && search.is_none()
}

/// A capture started in a running app (the overlay's button, the page's API) runs one
/// fixed step a frame, like every other capture, so the work per frame is the same.
fn fix_the_step(mut recorder: ResMut<CaptureRecorder>, mut strategy: ResMut<TimeUpdateStrategy>) {
    recorder.restore_wall_clock = fix_one_step_a_frame(&mut strategy);
}

/// Sets the clock to [`one_step_a_frame`]; returns whether it ran on wall time before, so
/// whoever fixed it sets it back with [`restore_wall_clock`] when done.
fn fix_one_step_a_frame(strategy: &mut TimeUpdateStrategy) -> bool {
    let was_wall_clock = matches!(*strategy, TimeUpdateStrategy::Automatic);
    if was_wall_clock {
        *strategy = one_step_a_frame();
    }
    was_wall_clock
}

/// Puts the clock back on wall time if [`fix_one_step_a_frame`] took it off.
fn restore_wall_clock(strategy: &mut TimeUpdateStrategy, was_wall_clock: bool) {
    if was_wall_clock {
        *strategy = TimeUpdateStrategy::Automatic;
    }
}

/// The app without window, renderer or overlay: simulation, the pack (into
/// `InstanceRecords`: the same kernel the renderer runs into wgpu's staging memory),
/// measurements and the recorder. One fixed step a frame.
pub fn headless_app(choice: ScenarioChoice, use_simd: bool) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        crate::perf::measured_sim_plugin(),
        sim::PackPlugin::default(),
        crate::scenario::plugin,
        crate::perf::PerfPlugin::default(),
        plugin,
    ))
    .insert_resource(one_step_a_frame())
    .insert_resource(choice);
    app.world_mut().resource_mut::<SimSettings>().use_simd = use_simd;
    app
}

/// Frames advance the clock by exactly one fixed step, so every run does the same work.
#[must_use]
pub fn one_step_a_frame() -> TimeUpdateStrategy {
    TimeUpdateStrategy::ManualDuration(Time::<Fixed>::from_hz(sim::STEPS_PER_SECOND).timestep())
}

/// Runs `app` (from [`headless_app`]) with `measure` inserted (a [`CaptureRecorder`] or a
/// [`CapacityRun`]) until its capture is finished, calling `on_frame` with the world after
/// every frame before that (for progress); returns the capture.
pub fn run_headless(
    app: &mut App,
    measure: impl Resource,
    mut on_frame: impl FnMut(&World),
) -> CaptureFile {
    app.insert_resource(measure);
    loop {
        app.update();
        if let Some(finished) = app.world_mut().remove_resource::<FinishedCapture>() {
            return finished.0;
        }
        on_frame(app.world());
    }
}

/// Where the overlay's Capture button leaves its file natively: the working directory,
/// named by the time it finished (`sparkbench-capture-<unix seconds>.json`).
#[cfg(not(target_arch = "wasm32"))]
pub fn save_in_working_directory(mut commands: Commands, finished: Option<Res<FinishedCapture>>) {
    let Some(finished) = finished else {
        return;
    };
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let path = format!("sparkbench-capture-{seconds}.json");
    match std::fs::write(&path, finished.0.to_json()) {
        Ok(()) => info!(
            "capture of {} frames saved to {path}",
            finished.0.samples.len()
        ),
        Err(error) => error!("cannot write {path}: {error}"),
    }
    commands.remove_resource::<FinishedCapture>();
}

/// What the recorder reads each frame.
#[derive(bevy::ecs::system::SystemParam)]
pub(crate) struct Measured<'w> {
    stats: Res<'w, FrameStats>,
    phases: Res<'w, PhaseTimes>,
    memory: Res<'w, MemoryStats>,
    pool: Res<'w, ParticlePool>,
    budget: Res<'w, FrameBudget>,
    gpu: Res<'w, GpuTime>,
}

impl Measured<'_> {
    /// Whether a frame has finished since `last_frame` (`FrameStats::frames` when the
    /// last was taken; the first update measures no frame), noting it as taken.
    fn take_new_frame(&self, last_frame: &mut Option<u64>) -> bool {
        let frames = self.stats.frames;
        if frames == 0 || *last_frame == Some(frames) {
            return false;
        }
        *last_frame = Some(frames);
        true
    }

    /// The frame just finished, as a capture records it.
    fn sample(&self) -> FrameSample {
        FrameSample {
            frame_ms: self.stats.frame_ms,
            phase_ms: Phase::ALL.map(|phase| self.phases.last_ms(phase)),
            phase_start_ms: Phase::ALL.map(|phase| self.phases.last_start_ms(phase)),
            allocations: self.memory.allocations_per_frame,
            live_bytes: self.memory.live_bytes as u64,
            particles: self.pool.len() as u64,
            gpu_ms: self.gpu.arrived_during(self.stats.frames),
        }
    }
}

/// What the finished file says about the run.
#[derive(bevy::ecs::system::SystemParam)]
pub(crate) struct RunFacts<'w> {
    choice: Res<'w, ScenarioChoice>,
    settings: Res<'w, SimSettings>,
    backend: Res<'w, SimBackend>,
    clock: Res<'w, SimClock>,
    dispatcher: Res<'w, Dispatcher>,
    adapter: Option<Res<'w, RenderAdapterInfo>>,
    startup: Option<Res<'w, StartupTimes>>,
}

/// Takes one sample per finished frame once the warm-up is over; finishes the file after
/// the last.
fn record_frame(
    mut commands: Commands,
    mut recorder: ResMut<CaptureRecorder>,
    measured: Measured,
    facts: RunFacts,
    mut strategy: ResMut<TimeUpdateStrategy>,
) {
    if !measured.take_new_frame(&mut recorder.last_frame) {
        return;
    }
    recorder.seen += 1;
    if recorder.seen <= recorder.warmup {
        return;
    }
    let sample = measured.sample();
    recorder.samples.push(sample);
    if recorder.samples.len() < recorder.frames as usize {
        return;
    }
    let run = Recorded {
        frames: recorder.frames,
        warmup: recorder.warmup,
        headless: recorder.headless,
        budget_ms: measured.budget.ms,
        particles: facts.choice.particles,
        // The recorder is removed below: its samples move into the file.
        samples: std::mem::take(&mut recorder.samples),
    };
    let file = capture_file(run, &measured, &facts);
    restore_wall_clock(&mut strategy, recorder.restore_wall_clock);
    commands.remove_resource::<CaptureRecorder>();
    commands.insert_resource(FinishedCapture(file));
}

/// What a run recorded, for [`capture_file`].
pub(crate) struct Recorded {
    frames: u32,
    warmup: u32,
    headless: bool,
    /// The budget the samples are judged against, in milliseconds.
    budget_ms: f64,
    /// The particle target the samples ran at.
    particles: u32,
    samples: Vec<FrameSample>,
}

/// The capture file of `recorder`, with the run's facts and its state now.
fn capture_file(recorder: Recorded, measured: &Measured, facts: &RunFacts) -> CaptureFile {
    let budget_ms = recorder.budget_ms;
    CaptureFile {
        schema_version: file::SCHEMA_VERSION,
        environment: environment::here(
            facts.backend.active,
            facts.dispatcher.threads(),
            if facts.dispatcher.on_web_workers() {
                facts.dispatcher.threads() - 1
            } else {
                0
            },
            facts.adapter.as_deref().map(|info| info.name.clone()),
            measured.gpu.source,
            facts.startup.as_deref().copied(),
        ),
        settings: CaptureSettings {
            scenario: facts.choice.scenario.name().to_owned(),
            particles: recorder.particles,
            seed: facts.choice.seed,
            backend: if facts.settings.use_simd {
                "simd"
            } else {
                "scalar"
            }
            .to_owned(),
            frames: recorder.frames,
            warmup: recorder.warmup,
            headless: recorder.headless,
            budget_ms,
            steps: facts.clock.steps,
        },
        summary: CaptureSummary::of(&recorder.samples, budget_ms),
        samples: recorder.samples,
        checksum: format!("{:016x}", measured.pool.checksum()),
        capacity: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys, dragging and the overlay's controls wait while either kind of
    /// measurement runs.
    #[test]
    fn nothing_measuring_is_false_while_a_capture_or_a_search_runs() {
        let mut world = World::new();
        let check = |world: &mut World| {
            world
                .run_system_cached(nothing_measuring)
                .expect("the condition runs")
        };
        assert!(check(&mut world));
        world.insert_resource(CaptureRecorder::new(5, 0, true));
        assert!(!check(&mut world));
        world.remove_resource::<CaptureRecorder>();
        world.insert_resource(CapacityRun::new(CapacityConfig::new(16.0), true));
        assert!(!check(&mut world));
        world.remove_resource::<CapacityRun>();
        assert!(check(&mut world));
    }
}
