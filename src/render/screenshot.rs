//! A scripted run: render a fixed number of frames, save a screenshot of the window, exit.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use crate::perf::FrameStats;
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
    mut exit: MessageWriter<AppExit>,
) {
    if stats.frames < run.frames {
        return;
    }
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
