//! Phase timers: how long each measured part of a frame took, in milliseconds, and where in
//! the frame it first began.
//!
//! Each phase is timed around its own systems with the wall clock ([`Instant`]: the
//! monotonic clock natively, `performance.now()` in the browser) and summed over the
//! frame (a frame may run several fixed simulation steps, or none); the frame keeps the
//! earliest start of each. At the start of the next frame the sums become
//! [`PhaseTimes::last_ms`], which the overlay shows, and the starts
//! [`PhaseTimes::last_start_ms`], which traces and the browser's profiler place them by.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use bevy::platform::sync::{Arc, Mutex, PoisonError};
use bevy::platform::time::Instant;
use bevy::prelude::*;

use super::FPS_WINDOW;
use crate::memory;
use crate::sim::{Cost, PackReport, StepReport};

/// A part of the frame that is timed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The simulation's fixed steps: spawn, integrate and cull.
    Simulate,
    /// Packing the live particles into instance records for the GPU.
    Pack,
    /// Getting the packed records to the GPU vertex buffer (render world): growing it,
    /// wgpu's staging memory the pack writes into, and queueing wgpu's copy.
    Upload,
    /// Building the overlay's UI.
    Overlay,
}

impl Phase {
    /// Every phase, in frame order.
    pub const ALL: [Self; 4] = [Self::Simulate, Self::Pack, Self::Upload, Self::Overlay];

    /// The phase's name in the overlay and in captures.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Simulate => "simulate",
            Self::Pack => "pack",
            Self::Upload => "upload",
            Self::Overlay => "overlay",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The measured phases of the last complete frame and of the frame in progress: time,
/// allocations the phase's own thread made while it ran (from the counting allocator), and
/// where in its frame the phase first began.
#[derive(Resource, Debug, Clone)]
pub struct PhaseTimes {
    last_ms: [f64; Phase::ALL.len()],
    current_ms: [f64; Phase::ALL.len()],
    /// Where each phase first began in the last complete frame, in milliseconds from the
    /// frame's start.
    last_start_ms: [Option<f64>; Phase::ALL.len()],
    /// When each phase first began in the frame in progress.
    current_started: [Option<Instant>; Phase::ALL.len()],
    /// When the frame in progress began; `None` before the first [`PhaseTimes::finish_frame`].
    frame_started: Option<Instant>,
    last_allocations: [u64; Phase::ALL.len()],
    current_allocations: [u64; Phase::ALL.len()],
    total_allocations: [u64; Phase::ALL.len()],
    /// The last [`FPS_WINDOW`] frames' times, a ring written at `frames % FPS_WINDOW`.
    recent_ms: [[f64; Phase::ALL.len()]; FPS_WINDOW],
    frames: u64,
}

impl Default for PhaseTimes {
    fn default() -> Self {
        Self {
            last_ms: [0.0; Phase::ALL.len()],
            current_ms: [0.0; Phase::ALL.len()],
            last_start_ms: [None; Phase::ALL.len()],
            current_started: [None; Phase::ALL.len()],
            frame_started: None,
            last_allocations: [0; Phase::ALL.len()],
            current_allocations: [0; Phase::ALL.len()],
            total_allocations: [0; Phase::ALL.len()],
            recent_ms: [[0.0; Phase::ALL.len()]; FPS_WINDOW],
            frames: 0,
        }
    }
}

/// A phase being timed: started with [`PhaseSpan::start`], ended with [`PhaseTimes::finish`]
/// or [`RenderMeasurements::record_upload`]. With the `phase-spans` feature it is also a
/// tracing span named after the phase, entered while it lives.
#[derive(Debug)]
pub struct PhaseSpan {
    started: Instant,
    allocations: u64,
    #[cfg(feature = "phase-spans")]
    _span: bevy::log::tracing::span::EnteredSpan,
}

impl PhaseSpan {
    /// Starts timing `phase` now.
    #[must_use]
    pub fn start(phase: Phase) -> Self {
        #[cfg(not(feature = "phase-spans"))]
        let _ = phase;
        Self {
            #[cfg(feature = "phase-spans")]
            _span: match phase {
                Phase::Simulate => bevy::log::info_span!("simulate"),
                Phase::Pack => bevy::log::info_span!("pack"),
                Phase::Upload => bevy::log::info_span!("upload"),
                Phase::Overlay => bevy::log::info_span!("overlay"),
            }
            .entered(),
            started: Instant::now(),
            allocations: caused_allocations(),
        }
    }

    /// When the span started, time since, and allocations the phase caused since: those
    /// of this thread and of the helper threads it handed work to.
    #[must_use]
    pub fn end(self) -> (Instant, Duration, u64) {
        (
            self.started,
            self.started.elapsed(),
            caused_allocations().saturating_sub(self.allocations),
        )
    }
}

/// `at` less `since`, in milliseconds: negative when `at` came first.
pub(super) fn signed_ms(at: Instant, since: Instant) -> f64 {
    if at >= since {
        (at - since).as_secs_f64() * 1000.0
    } else {
        -(since - at).as_secs_f64() * 1000.0
    }
}

/// Allocations this thread and every helper thread (the kernels' dispatcher threads, which
/// only run work a phase hands them while it waits) have made since start-up: what the
/// simulation counts its step's and pack's allocations with.
pub(super) fn caused_allocations() -> u64 {
    memory::thread_allocations() + memory::helper_allocations()
}

impl PhaseTimes {
    /// Adds the time and allocations since `span` started to `phase`, which began when the
    /// span did.
    pub fn finish(&mut self, phase: Phase, span: PhaseSpan) {
        let (started, elapsed, allocations) = span.end();
        self.note_start(phase, started);
        self.add(phase, elapsed, allocations);
    }

    /// Adds a step's or a pack's measured cost to `phase` in the frame in progress.
    pub fn add_cost(&mut self, phase: Phase, cost: Cost) {
        self.add(phase, cost.elapsed, cost.allocations);
    }

    /// Notes that `phase` began `at`: the frame in progress keeps the earliest.
    pub fn note_start(&mut self, phase: Phase, at: Instant) {
        let first = &mut self.current_started[phase.index()];
        if first.is_none_or(|earlier| at < earlier) {
            *first = Some(at);
        }
    }

    /// Where `phase` first began in the last complete frame, in milliseconds from the
    /// frame's start (negative only for a phase noted before its frame began, which
    /// sparkbench's own phases are not: the upload runs in the render world's extract, which
    /// ends the main world's frame); `None` where it did not run or the frame's start is not
    /// known (the first frame).
    #[must_use]
    pub fn last_start_ms(&self, phase: Phase) -> Option<f64> {
        self.last_start_ms[phase.index()]
    }

    /// Adds `elapsed` and `allocations` to `phase` in the frame in progress.
    pub fn add(&mut self, phase: Phase, elapsed: Duration, allocations: u64) {
        self.current_ms[phase.index()] += elapsed.as_secs_f64() * 1000.0;
        self.current_allocations[phase.index()] += allocations;
        self.total_allocations[phase.index()] += allocations;
    }

    /// Allocations made during `phase` since start-up.
    #[must_use]
    pub fn total_allocations(&self, phase: Phase) -> u64 {
        self.total_allocations[phase.index()]
    }

    /// Allocations made while `phase` ran in the last complete frame.
    #[must_use]
    pub fn last_allocations(&self, phase: Phase) -> u64 {
        self.last_allocations[phase.index()]
    }

    /// Milliseconds `phase` took in the last complete frame.
    #[must_use]
    pub fn last_ms(&self, phase: Phase) -> f64 {
        self.last_ms[phase.index()]
    }

    /// Milliseconds `phase` took per frame, averaged over the last [`FPS_WINDOW`] frames
    /// (steadier to read than one frame; the same window as the frame rate).
    #[must_use]
    pub fn mean_ms(&self, phase: Phase) -> f64 {
        let frames = usize::try_from(self.frames).map_or(FPS_WINDOW, |n| n.min(FPS_WINDOW));
        if frames == 0 {
            return 0.0;
        }
        let total: f64 = self.recent_ms[..frames]
            .iter()
            .map(|frame| frame[phase.index()])
            .sum();
        total / frames as f64
    }

    /// Closes the frame in progress, which ends (and the next begins) `now`: its sums and
    /// its phases' starts become the last frame's.
    pub fn finish_frame(&mut self, now: Instant) {
        let slot = usize::try_from(self.frames % FPS_WINDOW as u64).unwrap_or_default();
        self.recent_ms[slot] = self.current_ms;
        self.frames += 1;
        self.last_ms = self.current_ms;
        self.current_ms = [0.0; Phase::ALL.len()];
        let frame_started = self.frame_started.replace(now);
        self.last_start_ms = core::mem::take(&mut self.current_started)
            .map(|started| Some(signed_ms(started?, frame_started?)));
        self.last_allocations = self.current_allocations;
        self.current_allocations = [0; Phase::ALL.len()];
    }
}

/// What the render world measures, handed to the main world: a clone lives in each.
#[derive(Resource, Debug, Clone, Default)]
pub struct RenderMeasurements(Arc<RenderCounters>);

#[derive(Debug, Default)]
struct RenderCounters {
    /// When the first upload not yet collected began.
    upload_started: Mutex<Option<Instant>>,
    upload_nanos: AtomicU64,
    upload_allocations: AtomicU64,
    instance_buffer_bytes: AtomicU64,
    own_upload_allocations: AtomicU64,
    drawn: AtomicBool,
}

impl RenderMeasurements {
    /// Records one upload, timed by `span` (added to any not yet collected), of which
    /// `inside_wgpu` allocations were made inside wgpu's calls (`Queue::write_buffer_with`
    /// makes staging memory for every write; `Device::create_buffer` runs when the buffer
    /// grows).
    pub fn record_upload(&self, span: PhaseSpan, inside_wgpu: u64) {
        let (started, elapsed, allocations) = span.end();
        self.0
            .upload_started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(started);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.0.upload_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.0
            .upload_allocations
            .fetch_add(allocations, Ordering::Relaxed);
        self.0
            .own_upload_allocations
            .fetch_add(allocations.saturating_sub(inside_wgpu), Ordering::Relaxed);
    }

    /// Records that a frame drew particles. The first one marks the end of the page's
    /// start-up in the browser (`perf::startup`).
    pub fn record_draw(&self) {
        if !self.0.drawn.swap(true, Ordering::Relaxed) {
            #[cfg(target_arch = "wasm32")]
            super::startup::mark_first_frame();
        }
    }

    /// Whether a frame has drawn particles yet.
    #[must_use]
    pub fn drawn(&self) -> bool {
        self.0.drawn.load(Ordering::Relaxed)
    }

    /// Allocations the uploads made outside wgpu's calls since start-up: sparkbench's own.
    #[must_use]
    pub fn own_upload_allocations(&self) -> u64 {
        self.0.own_upload_allocations.load(Ordering::Relaxed)
    }

    /// Records the size of the GPU instance buffer now, in bytes.
    pub fn set_instance_buffer_bytes(&self, bytes: u64) {
        self.0.instance_buffer_bytes.store(bytes, Ordering::Relaxed);
    }

    /// The size of the GPU instance buffer, in bytes (0 before the first upload).
    #[must_use]
    pub fn instance_buffer_bytes(&self) -> u64 {
        self.0.instance_buffer_bytes.load(Ordering::Relaxed)
    }

    /// When the first of the uploads recorded since the last call began, their time and
    /// their allocations; resets all three.
    fn collect_uploads(&self) -> (Option<Instant>, Duration, u64) {
        (
            self.0
                .upload_started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
            Duration::from_nanos(self.0.upload_nanos.swap(0, Ordering::Relaxed)),
            self.0.upload_allocations.swap(0, Ordering::Relaxed),
        )
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<PhaseTimes>()
        .init_resource::<RenderMeasurements>()
        .add_systems(
            First,
            finish_frame
                .in_set(super::PerfSystems)
                .after(super::record_frame),
        )
        .add_systems(FixedLast, note_step_start);
}

/// Notes when each fixed step began (the frame keeps the first): runs after every fixed
/// step, wherever in the fixed schedules the host put the simulation. A step from before
/// the frame (a host that steps outside the fixed schedules) is left to [`finish_frame`].
fn note_step_start(mut phases: ResMut<PhaseTimes>, step: Option<Res<StepReport>>) {
    let started = step
        .filter(DetectChanges::is_changed)
        .and_then(|step| step.started);
    if let Some(started) = started
        && phases.frame_started.is_some_and(|frame| frame <= started)
    {
        phases.note_start(Phase::Simulate, started);
    }
}

/// The simulation's running cost totals and last starts when the last frame closed: step,
/// then pack.
#[derive(Default)]
struct CountedSoFar([(Cost, Option<Instant>); 2]);

/// Adds what the last frame's steps and pack cost (the growth of the simulation's running
/// totals, with the last step's and pack's starts: a fixed schedule's first step was
/// noted already, and the earliest is kept) and the render world's uploads to the frame in
/// progress, then closes it at this frame's start. A step or pack ran in the frame when
/// its report's start moved: its cost can be zero where the browser's clock is coarse
/// (Firefox gives whole milliseconds to a page that is not cross-origin isolated, and a
/// pack of 20,000 particles takes a fraction of one), and it still ran there.
fn finish_frame(
    mut phases: ResMut<PhaseTimes>,
    frames: Res<super::FrameStats>,
    uploads: Res<RenderMeasurements>,
    step: Option<Res<StepReport>>,
    pack: Option<Res<PackReport>>,
    mut counted: Local<CountedSoFar>,
) {
    let reports = [
        step.map(|report| (report.total, report.started)),
        pack.map(|report| (report.total, report.started)),
    ];
    for ((phase, report), before) in [Phase::Simulate, Phase::Pack]
        .into_iter()
        .zip(reports)
        .zip(&mut counted.0)
    {
        let (total, started) = report.unwrap_or_default();
        let (total_before, started_before) = *before;
        if started != started_before
            && let Some(started) = started
        {
            phases.note_start(phase, started);
        }
        phases.add_cost(phase, total.since(total_before));
        *before = (total, started);
    }
    let (started, elapsed, allocations) = uploads.collect_uploads();
    if let Some(started) = started {
        phases.note_start(Phase::Upload, started);
    }
    phases.add(Phase::Upload, elapsed, allocations);
    phases.finish_frame(frames.started.unwrap_or_else(Instant::now));
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "a phase that never ran is exactly zero")]
mod tests {
    use super::*;
    use crate::sim::{SimPlugin, SimSettings};

    #[test]
    fn a_frame_sums_its_phases_and_the_next_frame_shows_them() {
        let mut phases = PhaseTimes::default();
        phases.add(Phase::Pack, Duration::from_micros(1500), 2);
        phases.add(Phase::Pack, Duration::from_micros(500), 1);
        phases.add(Phase::Upload, Duration::from_millis(3), 0);
        assert_eq!(phases.last_ms(Phase::Pack), 0.0);
        phases.finish_frame(Instant::now());
        let measured_ms = |phases: &PhaseTimes| -> f64 {
            Phase::ALL.iter().map(|&phase| phases.last_ms(phase)).sum()
        };
        assert!((phases.last_ms(Phase::Pack) - 2.0).abs() < 1e-9);
        assert!((measured_ms(&phases) - 5.0).abs() < 1e-9);
        assert_eq!(phases.last_allocations(Phase::Pack), 3);
        phases.finish_frame(Instant::now());
        assert_eq!(measured_ms(&phases), 0.0);
        assert_eq!(phases.last_allocations(Phase::Pack), 0);
        assert_eq!(
            phases.total_allocations(Phase::Pack),
            3,
            "totals outlive the frame"
        );
        assert!(
            (phases.mean_ms(Phase::Pack) - 1.0).abs() < 1e-9,
            "2 ms, then 0 ms"
        );
    }

    #[test]
    fn a_phase_starts_where_it_first_began_in_its_frame() {
        let frame = Instant::now();
        let mut phases = PhaseTimes::default();
        phases.finish_frame(frame);
        let at = |ms| frame + Duration::from_millis(ms);
        phases.note_start(Phase::Simulate, at(3));
        phases.note_start(Phase::Simulate, at(1));
        phases.note_start(Phase::Simulate, at(5));
        phases.note_start(Phase::Pack, at(7));
        phases.finish_frame(at(10));
        assert_eq!(
            phases.last_start_ms(Phase::Simulate),
            Some(1.0),
            "the earliest"
        );
        assert_eq!(phases.last_start_ms(Phase::Pack), Some(7.0));
        assert_eq!(phases.last_start_ms(Phase::Overlay), None, "it never ran");
        phases.note_start(Phase::Upload, at(8));
        phases.finish_frame(at(20));
        assert_eq!(
            phases.last_start_ms(Phase::Upload),
            Some(-2.0),
            "noted before its frame began: a negative offset, not a clamped one"
        );
        assert_eq!(
            phases.last_start_ms(Phase::Simulate),
            None,
            "starts do not outlive their frame"
        );
    }

    #[test]
    fn the_first_frame_has_no_start_to_measure_from() {
        let mut phases = PhaseTimes::default();
        phases.note_start(Phase::Pack, Instant::now());
        phases.finish_frame(Instant::now());
        assert_eq!(phases.last_start_ms(Phase::Pack), None);
    }

    #[test]
    fn the_mean_covers_only_the_last_window_of_frames() {
        let mut phases = PhaseTimes::default();
        assert_eq!(phases.mean_ms(Phase::Simulate), 0.0);
        for _ in 0..FPS_WINDOW {
            phases.add(Phase::Simulate, Duration::from_millis(9), 0);
            phases.finish_frame(Instant::now());
        }
        for _ in 0..FPS_WINDOW {
            phases.add(Phase::Simulate, Duration::from_millis(3), 0);
            phases.finish_frame(Instant::now());
        }
        assert!((phases.mean_ms(Phase::Simulate) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn uploads_recorded_elsewhere_are_collected_once() {
        let main_side = RenderMeasurements::default();
        let render_side = main_side.clone();
        let before = Instant::now();
        let span = PhaseSpan::start(Phase::Upload);
        let held: Vec<u64> = Vec::with_capacity(8);
        render_side.record_upload(span, 0);
        let second = PhaseSpan::start(Phase::Upload);
        let second_started = Instant::now();
        render_side.record_upload(second, 0);
        render_side.set_instance_buffer_bytes(4096);
        let (started, elapsed, allocations) = main_side.collect_uploads();
        let started = started.unwrap();
        assert!(
            before <= started && started <= second_started,
            "the first upload's start"
        );
        assert!(elapsed > Duration::ZERO);
        assert_eq!(
            allocations, 1,
            "this thread's one allocation inside the first span"
        );
        assert_eq!(main_side.collect_uploads(), (None, Duration::ZERO, 0));
        assert_eq!(
            main_side.own_upload_allocations(),
            1,
            "none was inside wgpu"
        );
        drop(held);
        assert_eq!(main_side.instance_buffer_bytes(), 4096);
    }

    /// With the `phase-spans` feature, the step, the pack and a timed phase are tracing
    /// spans named after their phases, as a subscriber (Bevy's `trace_chrome` layer, here a
    /// layer that notes each closed span's name) sees them.
    #[cfg(feature = "phase-spans")]
    #[test]
    fn the_phases_are_tracing_spans() {
        use bevy::log::tracing_subscriber::layer::{Context, SubscriberExt as _};
        use bevy::log::tracing_subscriber::registry::LookupSpan;
        use bevy::log::tracing_subscriber::{Layer, registry};

        /// The names of the spans closed so far.
        #[derive(Clone, Default)]
        struct ClosedSpans(Arc<Mutex<Vec<&'static str>>>);
        impl<S> Layer<S> for ClosedSpans
        where
            S: bevy::log::tracing::Subscriber + for<'a> LookupSpan<'a>,
        {
            fn on_close(&self, id: bevy::log::tracing::span::Id, ctx: Context<'_, S>) {
                if let Some(span) = ctx.span(&id) {
                    self.0.lock().unwrap().push(span.name());
                }
            }
        }

        let closed = ClosedSpans::default();
        bevy::log::tracing::subscriber::set_global_default(registry().with(closed.clone()))
            .expect("the only subscriber in this test binary");
        let mut app = cost_measured_app();
        for _ in 0..3 {
            app.update();
        }
        PhaseTimes::default().finish(Phase::Upload, PhaseSpan::start(Phase::Upload));
        let names = closed.0.lock().unwrap().clone();
        for phase in ["simulate", "pack", "upload"] {
            assert!(names.contains(&phase), "no {phase} span in {names:?}");
        }
    }

    /// An app with the simulation, a pack and the measurements, one fixed step an update,
    /// its emitter spawning 60,000 particles a second.
    fn cost_measured_app() -> App {
        let mut app = App::new();
        app.insert_resource(SimSettings {
            capacity: 50_000,
            ..SimSettings::default()
        });
        app.add_plugins((MinimalPlugins, SimPlugin::default()));
        app.world_mut().spawn(crate::sim::Emitter {
            rate: 60_000.0,
            ..default()
        });
        app.add_plugins((
            crate::sim::PackPlugin::default(),
            crate::perf::PerfPlugin::default(),
        ));
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            Time::<Fixed>::from_hz(crate::sim::STEPS_PER_SECOND).timestep(),
        ));
        app
    }

    /// A paused frame neither steps nor packs: it has no start for either.
    #[test]
    fn a_frame_that_did_not_step_has_no_simulate_or_pack_start() {
        let mut app = cost_measured_app();
        for _ in 0..3 {
            app.update();
        }
        app.world_mut()
            .resource_mut::<crate::sim::SimPause>()
            .pause();
        for _ in 0..2 {
            app.update();
        }
        let phases = app.world().resource::<PhaseTimes>();
        for phase in [Phase::Simulate, Phase::Pack] {
            assert_eq!(phases.last_start_ms(phase), None, "{phase:?}");
            assert_eq!(phases.last_ms(phase), 0.0, "{phase:?}");
        }
    }

    /// A pack the clock saw take no time (Firefox gives a page that is not cross-origin
    /// isolated whole milliseconds) still ran: its frame gets its start, with no time;
    /// a frame whose report did not move gets none.
    #[test]
    fn a_pack_too_short_for_the_clock_still_starts_in_its_frame() {
        let mut app = App::new();
        app.init_resource::<PhaseTimes>()
            .init_resource::<crate::perf::FrameStats>()
            .init_resource::<RenderMeasurements>()
            .init_resource::<PackReport>()
            .add_systems(Update, finish_frame);
        let pack_at = |app: &mut App| {
            *app.world_mut().resource_mut::<PackReport>() = PackReport {
                started: Some(Instant::now()),
                packs: 1,
                ..PackReport::default()
            };
        };
        pack_at(&mut app);
        app.update(); // the first frame: its start is not known
        pack_at(&mut app);
        app.update();
        let phases = app.world().resource::<PhaseTimes>();
        let start = phases.last_start_ms(Phase::Pack);
        assert!(start.is_some_and(|ms| ms >= 0.0), "{start:?}");
        assert_eq!(phases.last_ms(Phase::Pack), 0.0);
        app.update();
        let phases = app.world().resource::<PhaseTimes>();
        assert_eq!(
            phases.last_start_ms(Phase::Pack),
            None,
            "no pack in this frame"
        );
    }

    #[test]
    fn the_simulation_and_pack_phases_are_timed_around_their_sets() {
        let mut app = cost_measured_app();
        for _ in 0..3 {
            app.update();
        }
        let phases = app.world().resource::<PhaseTimes>();
        assert!(phases.last_ms(Phase::Simulate) > 0.0);
        assert!(phases.last_ms(Phase::Pack) > 0.0);
        let frame_ms = app.world().resource::<crate::perf::FrameStats>().frame_ms;
        let starts = [Phase::Simulate, Phase::Pack].map(|phase| {
            let start = phases.last_start_ms(phase).unwrap();
            (start, start + phases.last_ms(phase))
        });
        println!("frame {frame_ms:.3} ms: simulate and pack from, to {starts:.3?} ms");
        let [(simulate_start, simulate_end), (pack_start, pack_end)] = starts;
        assert!(0.0 < simulate_start, "{starts:?}");
        assert!(
            simulate_end <= pack_start,
            "the pack follows the step: {starts:?}"
        );
        assert!(
            pack_end <= frame_ms,
            "inside its frame of {frame_ms} ms: {starts:?}"
        );
        assert_eq!(
            phases.last_ms(Phase::Upload),
            0.0,
            "nothing uploads without a renderer"
        );
    }
}
