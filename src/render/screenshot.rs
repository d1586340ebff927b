//! A scripted run: render a fixed number of frames, save a screenshot of the window, exit.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use crate::perf::{FrameBudget, FrameStats, Phase, PhaseTimes, RenderMeasurements};
use crate::sim::ParticlePool;

/// Render `frames` frames, then save the window to `screenshot` (if set) and exit.
#[derive(Resource, Debug, Clone)]
pub struct ScriptedRun {
    /// Frames to render before stopping (at least 1).
    pub frames: u64,
    /// Where to write a PNG of the window after the last frame.
    pub screenshot: Option<PathBuf>,
}

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Last,
        finish_scripted_run.run_if(resource_exists::<ScriptedRun>),
    );
}

/// Once enough frames are done, asks for the screenshot (the app exits when it is saved)
/// or exits straight away when none was asked for.
fn finish_scripted_run(
    mut commands: Commands,
    run: Res<ScriptedRun>,
    stats: Res<FrameStats>,
    pool: Res<ParticlePool>,
    phases: Res<PhaseTimes>,
    budget: Res<FrameBudget>,
    render: Res<RenderMeasurements>,
    mut at_half: Local<Option<([u64; Phase::ALL.len()], u64)>>,
    mut exit: MessageWriter<AppExit>,
) {
    let totals = || Phase::ALL.map(|phase| phases.total_allocations(phase));
    if stats.frames < run.frames {
        if stats.frames >= run.frames / 2 && at_half.is_none() {
            *at_half = Some((totals(), render.own_upload_allocations()));
        }
        return;
    }
    // The second half of the run is past start-up: its allocations per phase are the
    // steady state's.
    let (since_half, own_uploads_at_half) = at_half.unwrap_or_default();
    let counts: Vec<String> = Phase::ALL
        .iter()
        .zip(totals().iter().zip(since_half))
        .map(|(phase, (now, then))| format!("{} {}", phase.name(), now - then))
        .collect();
    info!(
        "allocations in the second half of the run by phase: {}; the upload's own, outside wgpu's calls: {}",
        counts.join(", "),
        render.own_upload_allocations() - own_uploads_at_half
    );
    let summary = stats.summary(budget.ms);
    info!(
        "overlay figures: {:.1} fps, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, 1% low {:.1} fps, {} of {} frames over the {:.2} ms budget",
        stats.fps,
        summary.p50_ms,
        summary.p95_ms,
        summary.p99_ms,
        summary.low_1pct_fps,
        summary.hitches,
        summary.frames,
        budget.ms
    );
    commands.remove_resource::<ScriptedRun>();
    let live = pool.len();
    info!(
        "scripted run done: frame {}, {live} live particles",
        stats.frames
    );
    match &run.screenshot {
        Some(path) => {
            info!(
                "frame {}: saving screenshot to {}",
                stats.frames,
                path.display()
            );
            let path = path.clone();
            commands.spawn(Screenshot::primary_window()).observe(
                move |captured: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                    match save_png(&captured.image, &path) {
                        Ok(()) => {
                            info!("screenshot saved to {}", path.display());
                            exit.write(AppExit::Success);
                        }
                        Err(message) => {
                            error!("{message}");
                            exit.write(AppExit::error());
                        }
                    }
                },
            );
        }
        None => {
            exit.write(AppExit::Success);
        }
    }
}

/// Writes `image` as an 8-bit RGB PNG at `path`, creating its folder if needed.
fn save_png(image: &Image, path: &Path) -> Result<(), String> {
    let rgb = image
        .clone()
        .try_into_dynamic()
        .map_err(|err| format!("screenshot has an unsupported pixel format: {err}"))?
        .to_rgb8();
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    rgb.save(path)
        .map_err(|err| format!("cannot write screenshot {}: {err}", path.display()))
}
