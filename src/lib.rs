//! sparkbench: a Bevy real-time particle demo that is also a performance instrument.
//!
//! [`app`] builds the Bevy [`App`] from one plugin per module; the native binary
//! (`main.rs`) and the browser entry point (`web/page.rs`) both start from it.

// The threaded browser bundle (built on a pinned nightly) parks its kernel workers with
// wasm's wait instruction, whose intrinsic is not stable yet.
#![cfg_attr(
    all(target_arch = "wasm32", target_feature = "atomics"),
    feature(stdarch_wasm_atomic_wait)
)]

/// Enters a tracing span named `$name` (a literal) for the rest of the enclosing block when
/// the `phase-spans` feature is on, so Bevy's `trace_chrome` and `trace_tracy` features show
/// sparkbench's phases beside its systems; expands to nothing otherwise. Defined at the
/// crate's root, not in `perf`, because `sim`, which uses no other module of sparkbench's,
/// times its step and pack with it.
macro_rules! phase_span {
    ($name:literal) => {
        #[cfg(feature = "phase-spans")]
        let _phase_span = bevy::log::info_span!($name).entered();
    };
}

use bevy::asset::AssetMetaCheck;
use bevy::prelude::*;
use bevy::window::WindowResolution;

pub mod capture;
mod input;
pub mod memory;
mod overlay;
pub mod perf;
mod render;
pub mod scenario;
pub mod sim;
#[cfg(any(target_arch = "wasm32", test))]
mod web;

pub use render::{ScriptedReport, ScriptedRun};

/// The window title, also shown in the browser tab.
pub const TITLE: &str = "sparkbench";

/// How an entry point runs the app.
#[derive(Debug, Clone, Default)]
pub enum AppMode {
    /// Run until the person closes the window or the page.
    #[default]
    Interactive,
    /// Render a fixed number of frames, one simulation step each, optionally save a
    /// screenshot, then exit. The hook that the desktop test and captures use.
    Scripted(ScriptedRun),
    /// One simulation step per frame with no end of its own: a capture ends the run.
    FixedStep,
}

/// Builds the sparkbench app for `mode`: window, renderer, measurements and overlay.
pub fn app(mode: AppMode) -> App {
    let mut app = App::new();
    let plugins = DefaultPlugins
        .set(WindowPlugin {
            primary_window: Some(primary_window()),
            ..default()
        })
        .set(AssetPlugin {
            // Assets are embedded or bundled without `.meta` files; asking for them
            // would only produce 404s in the browser.
            meta_check: AssetMetaCheck::Never,
            ..default()
        });
    // The page installs its own panic hook (the console's, then the page's error panel and
    // the waiting captures); Bevy's would replace it with the console's alone.
    #[cfg(target_arch = "wasm32")]
    let plugins = plugins.disable::<bevy::app::PanicHandlerPlugin>();
    app.add_plugins(plugins);
    app.add_plugins((
        perf::measured_sim_plugin(),
        sim::PackPlugin::default(),
        scenario::plugin,
        input::plugin,
        perf::PerfPlugin::default(),
        render::plugin,
        overlay::OverlayPlugin {
            help: &input::HELP,
            toggle_key: Some(KeyCode::KeyH),
        },
        capture::plugin,
    ));
    match mode {
        AppMode::Interactive => {
            #[cfg(not(target_arch = "wasm32"))]
            app.add_systems(Last, capture::save_in_working_directory);
        }
        AppMode::Scripted(run) => {
            // One fixed step per frame, so frame N always shows simulation step N.
            app.insert_resource(capture::one_step_a_frame());
            app.insert_resource(run);
        }
        AppMode::FixedStep => {
            app.insert_resource(capture::one_step_a_frame());
        }
    }
    #[cfg(target_arch = "wasm32")]
    app.add_plugins(web::plugin);
    app
}

fn primary_window() -> Window {
    Window {
        title: TITLE.to_owned(),
        resolution: WindowResolution::new(1280, 720),
        // In the browser the app draws into the page's canvas and follows its size.
        canvas: Some("#sparkbench-canvas".to_owned()),
        fit_canvas_to_parent: true,
        ..default()
    }
}
