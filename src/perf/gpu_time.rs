//! GPU time per frame, where the platform measures it: natively from wgpu's timestamp
//! queries (Bevy's render diagnostics, which time each render pass), in the browser from
//! WebGL2's `EXT_disjoint_timer_query_webgl2` (one query around each frame's GL commands).
//! Where neither exists the figure is absent and [`GpuTimeSource::NotAvailable`] says why:
//! no number is ever made up. Results arrive one to a few frames after the frame they time.

use bevy::prelude::*;
use bevy::render::RenderApp;
use bevy::render::renderer::RenderDevice;

use super::PerfSystems;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as backend;
#[cfg(target_arch = "wasm32")]
mod webgl;
#[cfg(target_arch = "wasm32")]
use webgl as backend;

/// Why a run has no GPU time: it draws nothing.
pub const HEADLESS: &str = "headless: nothing is drawn";

/// Where a frame's GPU time comes from, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuTimeSource {
    /// The renderer has not started yet, so whether it can time frames is not known.
    #[default]
    Pending,
    /// Measured by the named mechanism.
    Measured(&'static str),
    /// Not measured, for the named reason.
    NotAvailable(&'static str),
}

impl GpuTimeSource {
    /// How captures record it: the mechanism, `not available: <reason>`, or `pending`.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::Pending => "pending: the renderer has not started".to_owned(),
            Self::Measured(how) => how.to_owned(),
            Self::NotAvailable(why) => format!("not available: {why}"),
        }
    }
}

/// The GPU's time for recent frames, as far as the platform measures it.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuTime {
    /// Where the figures come from, or why there are none.
    pub source: GpuTimeSource,
    /// The GPU time of the latest frame whose result has arrived, in milliseconds.
    pub last_ms: Option<f64>,
    /// [`FrameStats::frames`](super::FrameStats::frames) when that result arrived: a
    /// capture takes it as its frame's GPU time only if it arrived during that frame.
    pub arrived_at_frame: u64,
    /// Results thrown away because the GPU reported a disjoint period (a clock change or
    /// a context loss, in the browser), which makes their times meaningless.
    pub dropped: u64,
}

impl GpuTime {
    /// A result of `ms` milliseconds arrived during frame `frame`.
    fn arrived(&mut self, ms: f64, frame: u64) {
        self.last_ms = Some(ms);
        self.arrived_at_frame = frame;
    }

    /// The GPU time that arrived during frame `frame`, in milliseconds, if one did.
    #[must_use]
    pub fn arrived_during(&self, frame: u64) -> Option<f64> {
        self.last_ms.filter(|_| self.arrived_at_frame == frame)
    }
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<GpuTime>();
    if app.get_sub_app(RenderApp).is_none() {
        app.insert_resource(GpuTime {
            source: GpuTimeSource::NotAvailable(HEADLESS),
            ..default()
        });
        return;
    }
    // Each frame, once the renderer is up, the platform's timer hands on what came back.
    app.add_plugins(backend::plugin).add_systems(
        First,
        backend::read_gpu_time
            .in_set(PerfSystems)
            .after(super::record_frame)
            .run_if(resource_exists::<RenderDevice>),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_belongs_to_the_frame_it_arrived_in() {
        let mut gpu = GpuTime::default();
        assert_eq!(gpu.arrived_during(0), None);
        gpu.arrived(2.5, 7);
        assert_eq!(gpu.arrived_during(7), Some(2.5));
        assert_eq!(gpu.arrived_during(8), None);
    }

    #[test]
    fn captures_name_the_source_or_the_reason() {
        assert_eq!(
            GpuTimeSource::NotAvailable(HEADLESS).describe(),
            "not available: headless: nothing is drawn"
        );
        assert_eq!(GpuTimeSource::Measured("a timer").describe(), "a timer");
        assert_eq!(
            GpuTimeSource::Pending.describe(),
            "pending: the renderer has not started"
        );
    }

    /// A run without a renderer says why it has no GPU time.
    #[test]
    fn a_headless_app_says_it_draws_nothing() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_plugins(plugin);
        app.update();
        let gpu = app.world().resource::<GpuTime>();
        assert_eq!(gpu.source, GpuTimeSource::NotAvailable(HEADLESS));
        assert_eq!(gpu.last_ms, None);
    }
}
