//! A scripted run: render a fixed number of frames, save a screenshot of the window and a
//! report of what was measured, exit.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use serde::{Deserialize, Serialize};

use crate::perf::{FrameBudget, FrameStats, Phase, PhaseTimes, RenderMeasurements};
use crate::sim::ParticlePool;

/// Render `frames` frames, then save the window to `screenshot` and the measurements to
/// `report` (each if set) and exit.
#[derive(Resource, Debug, Clone)]
pub struct ScriptedRun {
    /// Frames to render before stopping (at least 1).
    pub frames: u64,
    /// Where to write a PNG of the window after the last frame.
    pub screenshot: Option<PathBuf>,
    /// Where to write a [`ScriptedReport`] as JSON after the last frame.
    pub report: Option<PathBuf>,
}

/// What a scripted run measured, as the overlay showed it at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedReport {
    /// Frames rendered.
    pub frames: u64,
    /// Particles alive at the end.
    pub live_particles: usize,
    /// Allocations in the second half of the run (past start-up) by phase, named as in
    /// captures: `simulate`, `pack`, `upload`, `overlay`.
    pub second_half_allocations: Vec<(String, u64)>,
    /// Of the upload's allocations in the second half, those outside wgpu's calls
    /// (sparkbench's own; wgpu's staging memory for each upload is counted apart).
    pub second_half_own_upload_allocations: u64,
    /// Frames per second over the last second of frames.
    pub fps: f64,
    /// Median frame time over the overlay's history, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile frame time, in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile frame time, in milliseconds.
    pub p99_ms: f64,
    /// Frame rate over the slowest 1% of frames, in frames per second.
    pub low_1pct_fps: f64,
    /// Frames over the budget.
    pub hitches: usize,
    /// Frames the summary covers.
    pub summary_frames: usize,
    /// The frame budget, in milliseconds.
    pub budget_ms: f64,
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
    let summary = stats.summary(budget.ms);
    let report = ScriptedReport {
        frames: stats.frames,
        live_particles: pool.len(),
        second_half_allocations: Phase::ALL
            .iter()
            .zip(totals().iter().zip(since_half))
            .map(|(phase, (now, then))| (phase.name().to_owned(), now - then))
            .collect(),
        second_half_own_upload_allocations: render.own_upload_allocations() - own_uploads_at_half,
        fps: stats.fps,
        p50_ms: summary.p50_ms,
        p95_ms: summary.p95_ms,
        p99_ms: summary.p99_ms,
        low_1pct_fps: summary.low_1pct_fps,
        hitches: summary.hitches,
        summary_frames: summary.frames,
        budget_ms: budget.ms,
    };
    info!("scripted run done: {report:?}");
    if let Some(path) = &run.report
        && let Err(error) = serde_json::to_string_pretty(&report)
            .map_err(|error| error.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|error| error.to_string()))
    {
        error!("cannot write the run's report {}: {error}", path.display());
        exit.write(AppExit::error());
        return;
    }
    commands.remove_resource::<ScriptedRun>();
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
