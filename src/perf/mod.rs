//! Frame measurements as plain resources: no UI here, the overlay and the web API read them.

use bevy::platform::time::Instant;
use bevy::prelude::*;

#[cfg(target_arch = "wasm32")]
mod browser_track;
pub mod diagnostics;
mod gpu_time;
mod memory_stats;
mod phases;
mod startup;

pub use gpu_time::{GpuTime, GpuTimeSource};
pub use memory_stats::{LIVE_HISTORY, MemoryStats};
pub use phases::{Phase, PhaseSpan, PhaseTimes, RenderMeasurements};
pub use startup::StartupTimes;

/// The simulation as sparkbench runs and measures it: 60 fixed steps a second, the kernels
/// on every core, and their helper threads' allocations counted with the phase that
/// handed them work.
#[must_use]
pub fn measured_sim_plugin() -> crate::sim::SimPlugin {
    crate::sim::SimPlugin::new(FixedUpdate)
        .with_steps_per_second(crate::sim::STEPS_PER_SECOND)
        .with_thread_start(crate::memory::count_as_helper)
        .with_allocation_counter(phases::caused_allocations)
}

/// How many recent frames the frame rate is averaged over.
pub const FPS_WINDOW: usize = 60;

/// How many recent frames the frame-time graph, the percentiles and the hitch count cover.
pub const HISTORY_FRAMES: usize = 300;

/// The time one frame may take, in milliseconds: 16.67 (60 fps) unless the person picks
/// another of [`FrameBudget::CHOICES`].
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct FrameBudget {
    /// Milliseconds per frame.
    pub ms: f64,
}

impl FrameBudget {
    /// The budgets offered: 120, 60 and 30 frames per second, in milliseconds.
    pub const CHOICES: [f64; 3] = [1000.0 / 120.0, 1000.0 / 60.0, 1000.0 / 30.0];
}

impl Default for FrameBudget {
    fn default() -> Self {
        Self { ms: 1000.0 / 60.0 }
    }
}

/// Frame timing measured in this run, updated once per frame.
#[derive(Resource, Debug, Clone)]
pub struct FrameStats {
    /// Frames completed since start-up.
    pub frames: u64,
    /// Duration of the last frame, in milliseconds.
    pub frame_ms: f64,
    /// When the frame in progress began, on the wall clock (at its `First`).
    pub started: Option<Instant>,
    /// Frames per second, averaged over the last [`FPS_WINDOW`] frames.
    pub fps: f64,
    /// The last [`HISTORY_FRAMES`] frame times in milliseconds, a ring written at
    /// `frames % HISTORY_FRAMES`.
    history_ms: [f64; HISTORY_FRAMES],
}

impl Default for FrameStats {
    fn default() -> Self {
        Self {
            frames: 0,
            frame_ms: 0.0,
            started: None,
            fps: 0.0,
            history_ms: [0.0; HISTORY_FRAMES],
        }
    }
}

impl FrameStats {
    /// Records one finished frame that took `frame_ms` milliseconds.
    pub fn record(&mut self, frame_ms: f64) {
        self.history_ms[Self::slot(self.frames)] = frame_ms;
        self.frames += 1;
        self.frame_ms = frame_ms;
        let total_ms: f64 = self.recent(FPS_WINDOW).sum();
        let count = self.recent(FPS_WINDOW).len();
        self.fps = if total_ms > 0.0 {
            count as f64 * 1000.0 / total_ms
        } else {
            0.0
        };
    }

    /// The last `count` frame times (at most [`HISTORY_FRAMES`], fewer early on), oldest
    /// first, in milliseconds.
    #[must_use]
    #[cfg_attr(
        target_feature = "atomics",
        expect(
            clippy::double_must_use,
            reason = "the threaded bundle's newer clippy counts `impl Iterator` as must-use; the pinned stable one asks for the attribute"
        )
    )]
    pub fn recent(&self, count: usize) -> impl ExactSizeIterator<Item = f64> + '_ {
        let seen = usize::try_from(self.frames).unwrap_or(usize::MAX);
        let count = count.min(seen).min(HISTORY_FRAMES);
        let first = self.frames - count as u64;
        (0..count).map(move |i| self.history_ms[Self::slot(first + i as u64)])
    }

    /// Percentiles, 1% low and hitches over the last [`HISTORY_FRAMES`] frames against a
    /// budget of `budget_ms` milliseconds. Sorts a copy on the stack: no allocation.
    #[must_use]
    pub fn summary(&self, budget_ms: f64) -> FrameSummary {
        let mut sorted = [0.0; HISTORY_FRAMES];
        let count = self.recent(HISTORY_FRAMES).len();
        for (slot, ms) in sorted.iter_mut().zip(self.recent(HISTORY_FRAMES)) {
            *slot = ms;
        }
        FrameSummary::of(&mut sorted[..count], budget_ms)
    }

    fn slot(frame: u64) -> usize {
        usize::try_from(frame % HISTORY_FRAMES as u64).unwrap_or_default()
    }
}

/// What a series of frame times says, in milliseconds unless named otherwise. Shared by
/// the overlay (the last [`HISTORY_FRAMES`] frames) and captures (every recorded frame).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameSummary {
    /// Frames in the series.
    pub frames: usize,
    /// Mean frame time.
    pub mean_ms: f64,
    /// Median frame time (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile frame time (nearest rank).
    pub p95_ms: f64,
    /// 99th percentile frame time (nearest rank).
    pub p99_ms: f64,
    /// The slowest frame.
    pub max_ms: f64,
    /// "1% low": the frame rate over the slowest 1% of frames (at least one frame), in
    /// frames per second.
    pub low_1pct_fps: f64,
    /// Frames that took longer than the budget.
    pub hitches: usize,
}

impl FrameSummary {
    /// Summarises `frame_ms` (sorted in place) against a budget of `budget_ms`.
    #[must_use]
    pub fn of(frame_ms: &mut [f64], budget_ms: f64) -> Self {
        if frame_ms.is_empty() {
            return Self::default();
        }
        frame_ms.sort_unstable_by(f64::total_cmp);
        let frames = frame_ms.len();
        let slowest = &frame_ms[frames - frames.div_ceil(100)..];
        let slowest_mean = slowest.iter().sum::<f64>() / slowest.len() as f64;
        Self {
            frames,
            mean_ms: frame_ms.iter().sum::<f64>() / frames as f64,
            p50_ms: percentile(frame_ms, 50.0),
            p95_ms: percentile(frame_ms, 95.0),
            p99_ms: percentile(frame_ms, 99.0),
            max_ms: frame_ms[frames - 1],
            low_1pct_fps: if slowest_mean > 0.0 {
                1000.0 / slowest_mean
            } else {
                0.0
            },
            hitches: frame_ms.iter().filter(|&&ms| ms > budget_ms).count(),
        }
    }
}

/// The `p`th percentile (0 to 100) of `sorted` by nearest rank: the smallest value with at
/// least `p`% of the series at or below it. `sorted` must be ascending and not empty.
#[must_use]
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank between 0 and the series' length"
    )]
    let rank = (p * sorted.len() as f64 / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The systems in `First` that close the last frame's measurements: after them,
/// [`FrameStats`], [`PhaseTimes`] and [`MemoryStats`] describe the frame just finished.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct PerfSystems;

/// Frame stats, phase timers and memory readings as plain resources, also published to
/// Bevy's `DiagnosticsStore` ([`diagnostics`]). The simulate and pack phases are the costs
/// the simulation's [`StepReport`](crate::sim::StepReport) and
/// [`PackReport`](crate::sim::PackReport) add up, whichever schedules they run in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerfPlugin {
    /// The frame budget the figures are judged against, unless the app has its own.
    pub budget: FrameBudget,
    /// Publish the figures to `DiagnosticsStore` too.
    pub diagnostics: bool,
}

impl Default for PerfPlugin {
    fn default() -> Self {
        Self {
            budget: FrameBudget::default(),
            diagnostics: true,
        }
    }
}

impl Plugin for PerfPlugin {
    fn build(&self, app: &mut App) {
        if !app.world().contains_resource::<FrameBudget>() {
            app.insert_resource(self.budget);
        }
        app.init_resource::<FrameStats>()
            .add_plugins((
                phases::plugin,
                memory_stats::plugin,
                startup::plugin,
                gpu_time::plugin,
            ))
            .add_systems(First, record_frame.in_set(PerfSystems));
        if self.diagnostics {
            app.add_plugins(diagnostics::plugin);
        }
        #[cfg(target_arch = "wasm32")]
        app.add_plugins(browser_track::plugin);
    }
}

/// Measures from the start of one frame to the start of the next with the wall clock
/// (not `Time`, which a scripted run advances by a fixed step). The first update has no
/// previous frame to measure, so it is not counted.
fn record_frame(mut stats: ResMut<FrameStats>) {
    let now = Instant::now();
    if let Some(previous) = stats.started.replace(now) {
        stats.record(now.duration_since(previous).as_secs_f64() * 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_averages_the_frames_seen_so_far() {
        let mut stats = FrameStats::default();
        stats.record(10.0);
        stats.record(30.0);
        assert_eq!(stats.frames, 2);
        assert!((stats.frame_ms - 30.0).abs() < 1e-12);
        assert!((stats.fps - 50.0).abs() < 1e-9, "fps {}", stats.fps);
    }

    #[test]
    fn fps_forgets_frames_older_than_the_window() {
        let mut stats = FrameStats::default();
        for _ in 0..FPS_WINDOW {
            stats.record(100.0);
        }
        for _ in 0..FPS_WINDOW {
            stats.record(20.0);
        }
        assert_eq!(stats.frames, 2 * FPS_WINDOW as u64);
        assert!((stats.fps - 50.0).abs() < 1e-9, "fps {}", stats.fps);
    }

    /// Frame times 1, 2, ... 300 ms: every rank is known.
    #[test]
    fn percentiles_of_a_ramp_are_its_ranks() {
        let mut stats = FrameStats::default();
        for ms in 1..=HISTORY_FRAMES {
            stats.record(ms as f64);
        }
        let summary = stats.summary(1000.0 / 60.0);
        assert_eq!(summary.frames, 300);
        assert_eq!(
            (
                summary.p50_ms,
                summary.p95_ms,
                summary.p99_ms,
                summary.max_ms
            ),
            (150.0, 285.0, 297.0, 300.0)
        );
        assert!((summary.mean_ms - 150.5).abs() < 1e-9);
        assert_eq!(summary.hitches, 300 - 16, "frames of 17 ms and more");
        assert!((summary.low_1pct_fps - 1000.0 / 299.0).abs() < 1e-9);
    }

    /// 290 smooth frames and 10 spikes: the median and p95 stay smooth, p99 and the 1% low
    /// see the spikes, and each spike is a hitch.
    #[test]
    fn spikes_show_in_p99_low_and_hitches() {
        let mut stats = FrameStats::default();
        for frame in 0..HISTORY_FRAMES {
            stats.record(if frame % 30 == 7 { 40.0 } else { 10.0 });
        }
        let summary = stats.summary(1000.0 / 60.0);
        assert_eq!((summary.p50_ms, summary.p95_ms), (10.0, 10.0));
        assert_eq!((summary.p99_ms, summary.max_ms), (40.0, 40.0));
        assert!((summary.low_1pct_fps - 25.0).abs() < 1e-9);
        assert_eq!(summary.hitches, 10);
        assert_eq!(stats.summary(50.0).hitches, 0, "a looser budget has none");
    }

    #[test]
    fn the_summary_forgets_frames_older_than_the_history() {
        let mut stats = FrameStats::default();
        for _ in 0..HISTORY_FRAMES {
            stats.record(100.0);
        }
        for _ in 0..HISTORY_FRAMES {
            stats.record(5.0);
        }
        let summary = stats.summary(1000.0 / 60.0);
        assert_eq!((summary.max_ms, summary.hitches), (5.0, 0));
        assert_eq!(stats.recent(3).collect::<Vec<_>>(), [5.0; 3]);
    }

    #[test]
    fn an_empty_or_short_series_summarises_what_it_has() {
        let stats = FrameStats::default();
        assert_eq!(stats.summary(16.0), FrameSummary::default());
        let mut two = FrameStats::default();
        two.record(4.0);
        two.record(20.0);
        let summary = two.summary(16.0);
        assert_eq!(
            (summary.frames, summary.p50_ms, summary.p99_ms),
            (2, 4.0, 20.0)
        );
        assert_eq!(summary.hitches, 1);
        assert!(
            (summary.low_1pct_fps - 50.0).abs() < 1e-9,
            "the slowest one frame"
        );
    }

    #[test]
    fn first_update_is_not_a_frame() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(PerfPlugin::default());
        app.update();
        assert_eq!(app.world().resource::<FrameStats>().frames, 0);
        std::thread::sleep(std::time::Duration::from_millis(5));
        app.update();
        let stats = app.world().resource::<FrameStats>();
        assert_eq!(stats.frames, 1);
        assert!(stats.frame_ms >= 5.0, "frame_ms {}", stats.frame_ms);
    }
}
