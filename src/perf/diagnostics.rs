//! The measurements published to Bevy's `DiagnosticsStore`, so `LogDiagnosticsPlugin` or any
//! Bevy overlay shows them beside Bevy's own. The paths are stable: tools may key on them.

use bevy::diagnostic::{Diagnostic, DiagnosticPath, Diagnostics, RegisterDiagnostic};
use bevy::prelude::*;

use super::{MemoryStats, PerfSystems, Phase, PhaseTimes};
use crate::sim::ParticlePool;

/// Milliseconds the last frame spent in the simulation's fixed steps.
pub const SIMULATE_MS: DiagnosticPath = DiagnosticPath::const_new("sparkbench/phase/simulate_ms");
/// Milliseconds the last frame spent packing the instance records.
pub const PACK_MS: DiagnosticPath = DiagnosticPath::const_new("sparkbench/phase/pack_ms");
/// Milliseconds the last frame spent uploading the records to the GPU (render world).
pub const UPLOAD_MS: DiagnosticPath = DiagnosticPath::const_new("sparkbench/phase/upload_ms");
/// Milliseconds the last frame spent building the overlay.
pub const OVERLAY_MS: DiagnosticPath = DiagnosticPath::const_new("sparkbench/phase/overlay_ms");
/// Live particles at the end of the last frame.
pub const PARTICLES: DiagnosticPath = DiagnosticPath::const_new("sparkbench/particles");
/// Heap bytes allocated and not freed.
pub const LIVE_BYTES: DiagnosticPath = DiagnosticPath::const_new("sparkbench/memory/live_bytes");
/// Allocations in the last frame.
pub const ALLOCATIONS: DiagnosticPath =
    DiagnosticPath::const_new("sparkbench/memory/allocations_per_frame");

/// Each phase's path, in [`Phase::ALL`] order.
pub const PHASE_PATHS: [DiagnosticPath; 4] = [SIMULATE_MS, PACK_MS, UPLOAD_MS, OVERLAY_MS];

pub(super) fn plugin(app: &mut App) {
    for path in PHASE_PATHS {
        app.register_diagnostic(Diagnostic::new(path).with_suffix(" ms"));
    }
    app.register_diagnostic(Diagnostic::new(PARTICLES))
        .register_diagnostic(Diagnostic::new(LIVE_BYTES).with_suffix(" B"))
        .register_diagnostic(Diagnostic::new(ALLOCATIONS))
        .add_systems(First, publish.after(PerfSystems));
}

/// Copies the frame just closed into the store.
fn publish(
    mut diagnostics: Diagnostics,
    phases: Res<PhaseTimes>,
    memory: Res<MemoryStats>,
    pool: Option<Res<ParticlePool>>,
) {
    for (phase, path) in Phase::ALL.into_iter().zip(&PHASE_PATHS) {
        diagnostics.add_measurement(path, || phases.last_ms(phase));
    }
    if let Some(pool) = pool {
        diagnostics.add_measurement(&PARTICLES, || pool.len() as f64);
    }
    diagnostics.add_measurement(&LIVE_BYTES, || memory.live_bytes as f64);
    diagnostics.add_measurement(&ALLOCATIONS, || memory.allocations_per_frame as f64);
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the store holds copies of the same values"
)]
mod tests {
    use bevy::diagnostic::DiagnosticsStore;

    use super::*;
    use crate::perf::PerfPlugin;

    /// A headless app with the simulation: every path holds this run's figures, the same
    /// ones the plain resources hold.
    #[test]
    fn the_store_holds_the_phases_particles_and_memory_under_stable_paths() {
        let mut app = crate::sim::headless_test_app(20_000, 30_000.0);
        app.add_plugins(PerfPlugin::default());
        for _ in 0..20 {
            app.update();
        }
        // One more frame without a step, so the pool is as the last published frame left it.
        app.world_mut()
            .resource_mut::<crate::sim::SimPause>()
            .pause();
        app.update();
        let world = app.world();
        let store = world.resource::<DiagnosticsStore>();
        let latest = |path: &DiagnosticPath| {
            store
                .get(path)
                .and_then(Diagnostic::value)
                .unwrap_or_else(|| panic!("no value at {path}"))
        };
        assert_eq!(SIMULATE_MS.as_str(), "sparkbench/phase/simulate_ms");
        let phases = world.resource::<PhaseTimes>();
        for (phase, path) in Phase::ALL.into_iter().zip(&PHASE_PATHS) {
            assert_eq!(latest(path), phases.last_ms(phase), "{path}");
        }
        assert!(latest(&SIMULATE_MS) > 0.0);
        assert!(latest(&PACK_MS) > 0.0);
        let pool = world.resource::<ParticlePool>();
        assert!(!pool.is_empty());
        assert_eq!(latest(&PARTICLES), pool.len() as f64);
        let memory = world.resource::<MemoryStats>();
        assert_eq!(latest(&LIVE_BYTES), memory.live_bytes as f64);
        assert_eq!(latest(&ALLOCATIONS), memory.allocations_per_frame as f64);
    }
}
