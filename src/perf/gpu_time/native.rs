//! GPU time natively: Bevy's render diagnostics write wgpu timestamps around each render
//! pass (the particles' pass among them) when the adapter has timestamp queries; a frame's
//! GPU time is its top-level passes' times added up.

use bevy::diagnostic::{Diagnostic, DiagnosticsStore};
use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy::render::diagnostic::RenderDiagnosticsPlugin;
use bevy::render::renderer::RenderDevice;
use bevy::render::settings::WgpuFeatures;

use super::{GpuTime, GpuTimeSource};
use crate::perf::FrameStats;

/// Why a native run has no GPU time: wgpu's adapter lacks the features Bevy's render
/// diagnostics need to time passes.
pub const NO_TIMESTAMP_QUERIES: &str = "the adapter has no timestamp queries in passes";
/// Where native GPU times come from.
pub const WGPU_TIMESTAMPS: &str = "wgpu timestamp queries";

pub(super) fn plugin(app: &mut App) {
    if !app.is_plugin_added::<RenderDiagnosticsPlugin>() {
        app.add_plugins(RenderDiagnosticsPlugin);
    }
}

/// Whether the adapter times passes (decided once it is known), and the GPU time Bevy's
/// render diagnostics delivered since the last frame.
pub(super) fn read_gpu_time(
    mut gpu: ResMut<GpuTime>,
    device: Res<RenderDevice>,
    store: Res<DiagnosticsStore>,
    stats: Res<FrameStats>,
    mut last_batch: Local<Option<Instant>>,
) {
    if gpu.source == GpuTimeSource::Pending {
        gpu.source = timestamp_source(device.features());
    }
    if gpu.source != GpuTimeSource::Measured(WGPU_TIMESTAMPS) {
        return;
    }
    if let Some((time, ms)) = latest_frame_gpu_ms(&store)
        && Some(time) != *last_batch
    {
        *last_batch = Some(time);
        gpu.arrived(ms, stats.frames);
    }
}

/// Whether an adapter with `features` gives Bevy's render diagnostics GPU times: it
/// writes timestamps inside encoders and inside render passes.
fn timestamp_source(features: WgpuFeatures) -> GpuTimeSource {
    let needed = WgpuFeatures::TIMESTAMP_QUERY
        | WgpuFeatures::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | WgpuFeatures::TIMESTAMP_QUERY_INSIDE_PASSES;
    if features.contains(needed) {
        GpuTimeSource::Measured(WGPU_TIMESTAMPS)
    } else {
        GpuTimeSource::NotAvailable(NO_TIMESTAMP_QUERIES)
    }
}

/// The newest batch of render diagnostics' GPU times (Bevy stores a frame's together, at
/// one instant): that instant, and the sum of its top-level spans
/// (`render/<span>/elapsed_gpu`; a nested span's time is inside its parent's), in
/// milliseconds. `None` before the first.
fn latest_frame_gpu_ms(store: &DiagnosticsStore) -> Option<(Instant, f64)> {
    let spans = store
        .iter()
        .filter(|diagnostic| is_top_level_gpu_span(diagnostic))
        .filter_map(Diagnostic::measurement);
    spans.fold(None, |newest, span| match newest {
        Some((time, ms)) if span.time == time => Some((time, ms + span.value)),
        Some((time, _)) if span.time < time => newest,
        _ => Some((span.time, span.value)),
    })
}

/// Whether `diagnostic` is `render/<span>/elapsed_gpu`.
fn is_top_level_gpu_span(diagnostic: &Diagnostic) -> bool {
    let mut components = diagnostic.path().components();
    components.next() == Some("render")
        && components.next().is_some()
        && components.next() == Some("elapsed_gpu")
        && components.next().is_none()
}

#[cfg(test)]
mod tests {
    use bevy::diagnostic::{DiagnosticMeasurement, DiagnosticPath};

    use super::*;

    fn store_with(measurements: &[(&'static str, Instant, f64)]) -> DiagnosticsStore {
        let mut store = DiagnosticsStore::default();
        for &(path, time, value) in measurements {
            let path = DiagnosticPath::const_new(path);
            if store.get(&path).is_none() {
                store.add(Diagnostic::new(path.clone()));
            }
            store
                .get_mut(&path)
                .unwrap()
                .add_measurement(DiagnosticMeasurement { time, value });
        }
        store
    }

    /// The newest frame's top-level passes add up; nested spans, CPU times and the older
    /// frame's values do not count.
    #[test]
    fn a_frames_gpu_time_is_its_top_level_passes_added_up() {
        let older = Instant::now();
        let newer = older + core::time::Duration::from_millis(16);
        let store = store_with(&[
            ("render/main_opaque_pass_3d/elapsed_gpu", older, 9.0),
            ("render/main_opaque_pass_3d/elapsed_gpu", newer, 1.5),
            ("render/upscaling/elapsed_gpu", newer, 0.25),
            ("render/tonemapping/elapsed_gpu", older, 7.0),
            ("render/auxiliary_views/shadow/elapsed_gpu", newer, 100.0),
            ("render/main_opaque_pass_3d/elapsed_cpu", newer, 200.0),
            ("sparkbench/phase/simulate_ms", newer, 300.0),
        ]);
        assert_eq!(latest_frame_gpu_ms(&store), Some((newer, 1.75)));
        assert_eq!(latest_frame_gpu_ms(&DiagnosticsStore::default()), None);
    }

    #[test]
    fn only_an_adapter_with_timestamps_in_passes_is_measured() {
        let all = WgpuFeatures::TIMESTAMP_QUERY
            | WgpuFeatures::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | WgpuFeatures::TIMESTAMP_QUERY_INSIDE_PASSES;
        assert_eq!(
            timestamp_source(all | WgpuFeatures::DEPTH_CLIP_CONTROL),
            GpuTimeSource::Measured(WGPU_TIMESTAMPS)
        );
        for missing in [
            WgpuFeatures::TIMESTAMP_QUERY,
            WgpuFeatures::TIMESTAMP_QUERY_INSIDE_ENCODERS,
            WgpuFeatures::TIMESTAMP_QUERY_INSIDE_PASSES,
        ] {
            assert_eq!(
                timestamp_source(all - missing),
                GpuTimeSource::NotAvailable(NO_TIMESTAMP_QUERIES),
                "{missing:?}"
            );
        }
    }
}
