//! The egui HUD: reads `perf/` and `sim/`, shows them with the keys' help; H hides it.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

use crate::controls::HELP;
use crate::perf::{FrameStats, MemoryStats, Phase, PhaseSpan, PhaseTimes};
use crate::scenario::ScenarioChoice;
use crate::sim::{ParticlePool, SimBackend, SimSettings};

/// The frame budget at 60 frames per second, in milliseconds.
const BUDGET_MS: f64 = 1000.0 / 60.0;

/// Whether the overlay is shown (H switches it).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayVisible(pub bool);

impl Default for OverlayVisible {
    fn default() -> Self {
        Self(true)
    }
}

pub(super) fn plugin(app: &mut App) {
    app.add_plugins(EguiPlugin::default())
        .init_resource::<OverlayVisible>()
        .add_systems(
            EguiPrimaryContextPass,
            draw_hud.run_if(|visible: Res<OverlayVisible>| visible.0),
        );
}

fn draw_hud(
    mut contexts: EguiContexts,
    stats: Res<FrameStats>,
    pool: Res<ParticlePool>,
    backend: Res<SimBackend>,
    settings: Res<SimSettings>,
    choice: Res<ScenarioChoice>,
    mut phases: ResMut<PhaseTimes>,
    memory: Res<MemoryStats>,
) -> Result {
    let span = PhaseSpan::start();
    egui::Window::new(crate::TITLE)
        .anchor(egui::Align2::LEFT_TOP, egui::vec2(8.0, 8.0))
        .resizable(false)
        .show(contexts.ctx_mut()?, |ui| {
            ui.label(format!("{:.1} fps", stats.fps));
            ui.label(format!(
                "frame {:.2} ms of {BUDGET_MS:.2} ms budget",
                stats.frame_ms
            ));
            ui.label(format!("{} frames", stats.frames));
            for phase in Phase::ALL {
                ui.label(format!(
                    "{} {:.2} ms, {} allocations",
                    phase.name(),
                    phases.last_ms(phase),
                    phases.last_allocations(phase)
                ));
            }
            ui.label(format!("{} / {} particles", pool.len(), pool.capacity()));
            ui.label(format!(
                "{} · seed {}{}",
                choice.scenario.name(),
                choice.seed,
                if settings.paused { " · paused" } else { "" }
            ));
            ui.label(format!(
                "SIMD: {} (best here: {})",
                backend.active, backend.best
            ));
            memory_lines(ui, &memory);
            ui.collapsing("Help", |ui| {
                egui::Grid::new("keys").striped(true).show(ui, |ui| {
                    for (key, what) in HELP {
                        ui.strong(key);
                        ui.label(what);
                        ui.end_row();
                    }
                });
            });
        });
    phases.finish(Phase::Overlay, span);
    Ok(())
}

/// Megabytes (10^6 bytes) for display.
fn megabytes(bytes: f64) -> f64 {
    bytes / 1.0e6
}

fn memory_lines(ui: &mut egui::Ui, memory: &MemoryStats) {
    ui.label(format!(
        "heap {:.1} MB live, {:.1} MB peak",
        megabytes(memory.live_bytes as f64),
        megabytes(memory.peak_live_bytes as f64)
    ));
    let colour = if memory.allocations_per_frame == 0 {
        egui::Color32::from_rgb(90, 200, 110)
    } else {
        egui::Color32::from_rgb(230, 170, 60)
    };
    ui.colored_label(
        colour,
        format!("{} allocations this frame", memory.allocations_per_frame),
    );
    match memory.pool_hit_rate() {
        Some(rate) => ui.label(format!("pool hit rate {:.1}%", rate * 100.0)),
        None => ui.label("pools off in this build"),
    };
    ui.label(format!(
        "particles {:.1} MB ({} B each) · GPU {:.1} MB",
        megabytes(memory.particle_pool_bytes as f64),
        memory.bytes_per_particle,
        megabytes(memory.instance_buffer_bytes as f64)
    ));
    if let Some(linear) = memory.linear_memory_bytes {
        ui.label(format!(
            "wasm memory {:.1} MB, grew {} times",
            megabytes(linear as f64),
            memory.memory_grows
        ));
    }
}
