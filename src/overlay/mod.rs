//! The egui HUD: reads `perf/` and shows it; writes settings (later), nothing else.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

use crate::perf::FrameStats;
use crate::sim::{ParticlePool, SimBackend};

/// The frame budget at 60 frames per second, in milliseconds.
const BUDGET_MS: f64 = 1000.0 / 60.0;

pub(super) fn plugin(app: &mut App) {
    app.add_plugins(EguiPlugin::default())
        .add_systems(EguiPrimaryContextPass, draw_hud);
}

fn draw_hud(
    mut contexts: EguiContexts,
    stats: Res<FrameStats>,
    pool: Option<Res<ParticlePool>>,
    backend: Res<SimBackend>,
) -> Result {
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
            if let Some(pool) = pool {
                ui.label(format!("{} / {} particles", pool.len(), pool.capacity()));
            }
            ui.label(format!(
                "SIMD: {} (best here: {})",
                backend.active, backend.best
            ));
        });
    Ok(())
}
