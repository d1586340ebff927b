//! Frame measurements as plain resources: no UI here, the overlay and the web API read them.

use bevy::platform::time::Instant;
use bevy::prelude::*;

mod memory_stats;
mod phases;

pub use memory_stats::{LIVE_HISTORY, MemoryStats};
pub use phases::{Phase, PhaseSpan, PhaseTimes, RenderMeasurements};

/// How many recent frames the frame rate is averaged over.
pub const FPS_WINDOW: usize = 60;

/// Frame timing measured in this run, updated once per frame.
#[derive(Resource, Debug, Clone)]
pub struct FrameStats {
    /// Frames completed since start-up.
    pub frames: u64,
    /// Duration of the last frame, in milliseconds.
    pub frame_ms: f64,
    /// Frames per second, averaged over the last [`FPS_WINDOW`] frames.
    pub fps: f64,
    recent_ms: [f64; FPS_WINDOW],
}

impl Default for FrameStats {
    fn default() -> Self {
        Self {
            frames: 0,
            frame_ms: 0.0,
            fps: 0.0,
            recent_ms: [0.0; FPS_WINDOW],
        }
    }
}

impl FrameStats {
    /// Records one finished frame that took `frame_ms` milliseconds.
    pub fn record(&mut self, frame_ms: f64) {
        let slot = usize::try_from(self.frames % FPS_WINDOW as u64).unwrap_or_default();
        self.recent_ms[slot] = frame_ms;
        self.frames += 1;
        self.frame_ms = frame_ms;
        let count = usize::try_from(self.frames).map_or(FPS_WINDOW, |n| n.min(FPS_WINDOW));
        let total_ms: f64 = self.recent_ms[..count].iter().sum();
        self.fps = if total_ms > 0.0 {
            count as f64 * 1000.0 / total_ms
        } else {
            0.0
        };
    }
}

/// Frame stats and phase timers; public so headless tests and captures can add it alone.
pub fn plugin(app: &mut App) {
    app.init_resource::<FrameStats>()
        .add_plugins((phases::plugin, memory_stats::plugin))
        .add_systems(First, record_frame);
}

/// Measures from the start of one frame to the start of the next with the wall clock
/// (not `Time`, which a scripted run advances by a fixed step). The first update has no
/// previous frame to measure, so it is not counted.
fn record_frame(mut last_start: Local<Option<Instant>>, mut stats: ResMut<FrameStats>) {
    let now = Instant::now();
    if let Some(previous) = last_start.replace(now) {
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

    #[test]
    fn first_update_is_not_a_frame() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_plugins(plugin);
        app.update();
        assert_eq!(app.world().resource::<FrameStats>().frames, 0);
        std::thread::sleep(std::time::Duration::from_millis(5));
        app.update();
        let stats = app.world().resource::<FrameStats>();
        assert_eq!(stats.frames, 1);
        assert!(stats.frame_ms >= 5.0, "frame_ms {}", stats.frame_ms);
    }
}
