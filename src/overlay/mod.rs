//! The egui overlay: frame time and memory against the budget, where the time goes, and the
//! controls. Reads `perf/` and `sim/`, writes settings; H hides it.

use bevy::prelude::*;
use bevy_egui::input::egui_wants_any_keyboard_input;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

use crate::capture::capacity::LastCapacity;
use crate::capture::{CapacityConfig, CapacityRun, CaptureRecorder};
use crate::perf::{
    FPS_WINDOW, FrameBudget, FrameStats, GpuTime, GpuTimeSource, HISTORY_FRAMES, LIVE_HISTORY,
    MemoryStats, Phase, PhaseSpan, PhaseTimes, RenderMeasurements, StartupTimes,
};
use crate::scenario::{RestartScenario, ScenarioChoice};
use crate::sim::{Dispatcher, KernelThreadsNote, ParticlePool, SimBackend, SimPause, SimSettings};

mod control_panel;
mod fonts;
mod graphs;

use graphs::{AMBER, GREEN, Segment};

/// Whether the overlay is shown ([`OverlayPlugin::toggle_key`] switches it).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayVisible(pub bool);

impl Default for OverlayVisible {
    fn default() -> Self {
        Self(true)
    }
}

/// Where the overlay's windows were drawn this frame, in egui points (`None` while hidden),
/// and egui's physical pixels per point, so a host can keep its own elements off them (the
/// page's notice, checked by the browser test).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct OverlayRects {
    /// The readings window (frame time, phases, memory), top left.
    pub readings: Option<egui::Rect>,
    /// The controls window, top right.
    pub controls: Option<egui::Rect>,
    /// The controls' Capture button, while it is shown.
    pub capture_button: Option<egui::Rect>,
    /// Physical pixels per egui point.
    pub pixels_per_point: f32,
}

/// The egui HUD: frame time, phases and memory against the budget, and the controls. Uses
/// the app's `EguiPlugin` if it has one.
#[derive(Debug, Clone, Copy)]
pub struct OverlayPlugin {
    /// Keys and what they do, listed in the overlay's help.
    pub help: &'static [(&'static str, &'static str)],
    /// The key that hides and shows the overlay, if any.
    pub toggle_key: Option<KeyCode>,
}

impl Plugin for OverlayPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        app.add_plugins(fonts::plugin)
            .init_resource::<OverlayVisible>()
            .init_resource::<OverlayRects>()
            .insert_resource(Help(self.help))
            .add_systems(
                EguiPrimaryContextPass,
                draw_overlay.run_if(|visible: Res<OverlayVisible>| visible.0),
            )
            // After Update, where the toggle key runs, so a hidden overlay covers nothing
            // from the frame it is hidden.
            .add_systems(
                PostUpdate,
                forget_rects.run_if(|visible: Res<OverlayVisible>| !visible.0),
            );
        if let Some(key) = self.toggle_key {
            app.add_systems(
                Update,
                (move |keys: Res<ButtonInput<KeyCode>>, mut visible: ResMut<OverlayVisible>| {
                    if keys.just_pressed(key) {
                        visible.0 = !visible.0;
                    }
                })
                .run_if(not(egui_wants_any_keyboard_input)),
            );
        }
    }
}

/// The help the overlay lists.
#[derive(Resource, Debug, Clone, Copy)]
struct Help(&'static [(&'static str, &'static str)]);

/// What the overlay reads, measured in this run.
#[derive(bevy::ecs::system::SystemParam)]
struct Readings<'w> {
    stats: Res<'w, FrameStats>,
    memory: Res<'w, MemoryStats>,
    pool: Res<'w, ParticlePool>,
    backend: Res<'w, SimBackend>,
    render: Res<'w, RenderMeasurements>,
    gpu: Res<'w, GpuTime>,
    help: Res<'w, Help>,
    dispatcher: Res<'w, Dispatcher>,
    threads_note: Res<'w, KernelThreadsNote>,
    startup: Option<Res<'w, StartupTimes>>,
}

/// What the overlay's controls write.
#[derive(bevy::ecs::system::SystemParam)]
struct Writes<'w, 's> {
    settings: ResMut<'w, SimSettings>,
    choice: ResMut<'w, ScenarioChoice>,
    pause: ResMut<'w, SimPause>,
    budget: ResMut<'w, FrameBudget>,
    restart: MessageWriter<'w, RestartScenario>,
    capture: Option<Res<'w, CaptureRecorder>>,
    capacity: Option<Res<'w, CapacityRun>>,
    last_capacity: Res<'w, LastCapacity>,
    commands: Commands<'w, 's>,
}

/// Both windows: the readings on the left, the controls on the right. Its own time and
/// allocations are the overlay phase.
fn draw_overlay(
    mut contexts: EguiContexts,
    readings: Readings,
    mut writes: Writes,
    mut phases: ResMut<PhaseTimes>,
    mut rects: ResMut<OverlayRects>,
    mut particle_draft: Local<Option<u32>>,
) -> Result {
    let span = PhaseSpan::start(Phase::Overlay);
    let ctx = contexts.ctx_mut()?;
    let readings_window = egui::Window::new(crate::TITLE)
        .anchor(egui::Align2::LEFT_TOP, egui::vec2(8.0, 8.0))
        .resizable(false)
        .show(ctx, |ui| {
            frame_section(ui, &readings.stats, &readings.gpu, writes.budget.ms);
            phase_section(ui, &phases, &readings.stats, writes.budget.ms);
            ui.separator();
            state_section(ui, &readings, writes.pause.is_paused(), &writes.choice);
            ui.separator();
            memory_section(ui, &readings.memory, &phases, &readings.render);
        });
    let mut capture_button = None;
    let controls_window = egui::Window::new("Controls")
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 8.0))
        .resizable(false)
        .default_width(260.0)
        .show(ctx, |ui| {
            let mut controlled = control_panel::Controlled {
                settings: writes.settings.bypass_change_detection(),
                choice: writes.choice.bypass_change_detection(),
                pause: &mut writes.pause,
                budget: writes.budget.bypass_change_detection(),
                backend: *readings.backend,
                dispatcher: &readings.dispatcher,
                capture_progress: writes.capture.as_ref().map(|recorder| recorder.progress()),
                capacity_progress: writes.capacity.as_ref().map(|run| run.progress()),
                last_capacity: writes.last_capacity.0.as_ref(),
            };
            let edits = control_panel::show(ui, &mut controlled, &mut particle_draft);
            capture_button = edits.capture_button;
            if edits.settings {
                writes.settings.set_changed();
            }
            if edits.budget {
                writes.budget.set_changed();
            }
            if edits.capture {
                writes.commands.insert_resource(CaptureRecorder::new(
                    control_panel::CAPTURE_FRAMES,
                    0,
                    false,
                ));
            }
            if edits.capacity {
                writes.commands.insert_resource(CapacityRun::new(
                    CapacityConfig::new(writes.budget.ms),
                    false,
                ));
            }
            if edits.restart {
                writes.choice.set_changed();
                writes.restart.write(RestartScenario);
            }
            ui.collapsing("Help", |ui| help_grid(ui, &readings.help));
        });
    rects.set_if_neq(OverlayRects {
        readings: readings_window.map(|window| window.response.rect),
        controls: controls_window.map(|window| window.response.rect),
        capture_button,
        pixels_per_point: ctx.pixels_per_point(),
    });
    phases.finish(Phase::Overlay, span);
    Ok(())
}

/// A hidden overlay covers nothing.
fn forget_rects(mut rects: ResMut<OverlayRects>) {
    rects.set_if_neq(OverlayRects::default());
}

/// Frame rate, the frame-time graph and what the last [`HISTORY_FRAMES`] frames add up to.
fn frame_section(ui: &mut egui::Ui, stats: &FrameStats, gpu: &GpuTime, budget_ms: f64) {
    ui.label(format!(
        "{:.1} fps · frame {:.2} ms of {budget_ms:.2} ms budget",
        stats.fps, stats.frame_ms
    ));
    gpu_line(ui, gpu);
    let summary = stats.summary(budget_ms);
    graphs::frame_graph(
        ui,
        stats.recent(HISTORY_FRAMES),
        summary.max_ms,
        HISTORY_FRAMES,
        budget_ms,
    );
    ui.label(format!(
        "p50 {:.2} · p95 {:.2} · p99 {:.2} ms · 1% low {:.1} fps",
        summary.p50_ms, summary.p95_ms, summary.p99_ms, summary.low_1pct_fps
    ));
    let hitch_colour = if summary.hitches == 0 { GREEN } else { AMBER };
    ui.colored_label(
        hitch_colour,
        format!(
            "hitches: {} of the last {} frames over budget",
            summary.hitches, summary.frames
        ),
    );
}

/// The GPU's time for a recent frame (its source on hover), or why there is none.
fn gpu_line(ui: &mut egui::Ui, gpu: &GpuTime) {
    let (line, reason) = gpu_lines(gpu);
    let shown = ui.label(line);
    if let GpuTimeSource::Measured(how) = gpu.source {
        shown.on_hover_text(how);
    }
    if let Some(reason) = reason {
        ui.weak(reason);
    }
}

/// The GPU line's text and, where there is no figure, the reason for a line under it (its
/// own line, so the window keeps its width): never a made-up figure.
fn gpu_lines(gpu: &GpuTime) -> (String, Option<&'static str>) {
    match (gpu.source, gpu.last_ms) {
        (GpuTimeSource::Measured(_), Some(ms)) => (format!("GPU {ms:.2} ms a frame"), None),
        (GpuTimeSource::Measured(_), None) => ("GPU time: waiting for a result".to_owned(), None),
        (GpuTimeSource::NotAvailable(why), _) => ("GPU time: not available".to_owned(), Some(why)),
        (GpuTimeSource::Pending, _) => ("GPU time: waiting for the renderer".to_owned(), None),
    }
}

/// The measured phases and the rest of the frame, averaged over the last [`FPS_WINDOW`]
/// frames, as a stacked bar against the budget and a table.
fn phase_section(ui: &mut egui::Ui, phases: &PhaseTimes, stats: &FrameStats, budget_ms: f64) {
    const COLOURS: [egui::Color32; 4] = [
        egui::Color32::from_rgb(80, 150, 230),
        egui::Color32::from_rgb(170, 110, 220),
        egui::Color32::from_rgb(60, 190, 190),
        egui::Color32::from_rgb(220, 120, 170),
    ];
    let frame_ms = if stats.fps > 0.0 {
        1000.0 / stats.fps
    } else {
        0.0
    };
    let mut segments = [Segment {
        name: "rest of frame",
        ms: 0.0,
        colour: egui::Color32::from_rgb(110, 110, 110),
    }; Phase::ALL.len() + 1];
    for ((segment, phase), colour) in segments.iter_mut().zip(Phase::ALL).zip(COLOURS) {
        *segment = Segment {
            name: phase.name(),
            ms: phases.mean_ms(phase),
            colour,
        };
    }
    let measured_ms: f64 = segments[..Phase::ALL.len()].iter().map(|s| s.ms).sum();
    segments[Phase::ALL.len()].ms = (frame_ms - measured_ms).max(0.0);
    ui.label(format!("where the time goes (mean of {FPS_WINDOW} frames)"));
    graphs::phase_bar(ui, &segments, budget_ms);
    egui::Grid::new("phases").num_columns(5).show(ui, |ui| {
        for (index, segment) in segments.iter().enumerate() {
            graphs::swatch(ui, segment.colour);
            ui.label(segment.name);
            ui.label(format!("{:.2} ms", segment.ms));
            ui.label(format!("{:.1}%", segment.ms / budget_ms * 100.0));
            match Phase::ALL.get(index) {
                Some(&phase) => {
                    let allocations = phases.last_allocations(phase);
                    let colour = if allocations == 0 { GREEN } else { AMBER };
                    ui.colored_label(colour, format!("{allocations} alloc"));
                }
                None => {
                    ui.label("");
                }
            }
            ui.end_row();
        }
    });
}

fn state_section(ui: &mut egui::Ui, readings: &Readings, paused: bool, choice: &ScenarioChoice) {
    ui.label(format!(
        "particles {} live / {} target / {} capacity",
        readings.pool.len(),
        choice.particles,
        readings.pool.capacity()
    ));
    ui.label(format!(
        "{} · seed {}{}",
        choice.scenario.name(),
        choice.seed,
        if paused { " · paused" } else { "" }
    ));
    let dispatcher = &readings.dispatcher;
    let threads = if dispatcher.on_web_workers() {
        format!(
            "main thread + {} of {} Web Workers",
            dispatcher.threads() - 1,
            dispatcher.max_threads() - 1
        )
    } else {
        format!(
            "{} of {} kernel threads",
            dispatcher.threads(),
            dispatcher.max_threads()
        )
    };
    ui.label(format!(
        "SIMD: {} (best here: {}) · {threads}",
        readings.backend.active, readings.backend.best,
    ));
    if let Some(note) = &readings.threads_note.0 {
        ui.colored_label(AMBER, format!("One thread: {note}."));
    }
    if let Some(startup) = &readings.startup {
        let [total, split @ ..] = startup_lines(startup);
        ui.label(total);
        for line in split {
            ui.small(line);
        }
    }
}

/// "loaded in X s" and where the time went, three steps a line (the page's start-up marks).
fn startup_lines(startup: &StartupTimes) -> [String; 3] {
    let steps = startup.steps();
    let line = |steps: &[(&str, f64)]| {
        let parts: Vec<String> = steps
            .iter()
            .map(|(step, ms)| format!("{step} {:.2}", ms / 1000.0))
            .collect();
        format!("{} s", parts.join(" · "))
    };
    [
        format!(
            "loaded in {:.2} s (navigation to first frame):",
            startup.total_ms() / 1000.0
        ),
        line(&steps[..3]),
        line(&steps[3..]),
    ]
}

fn help_grid(ui: &mut egui::Ui, help: &Help) {
    egui::Grid::new("keys").striped(true).show(ui, |ui| {
        for &(key, what) in help.0 {
            ui.strong(key);
            ui.label(what);
            ui.end_row();
        }
    });
}

/// Megabytes (10^6 bytes) for display.
fn megabytes(bytes: f64) -> f64 {
    bytes / 1.0e6
}

fn memory_section(
    ui: &mut egui::Ui,
    memory: &MemoryStats,
    phases: &PhaseTimes,
    render: &RenderMeasurements,
) {
    ui.label(format!(
        "heap {:.1} MB live, {:.1} MB peak",
        megabytes(memory.live_bytes as f64),
        megabytes(memory.peak_live_bytes as f64)
    ));
    graphs::live_graph(ui, &memory.live_history, LIVE_HISTORY);
    let colour = if memory.allocations_per_frame == 0 {
        GREEN
    } else {
        AMBER
    };
    ui.colored_label(
        colour,
        format!("{} allocations this frame", memory.allocations_per_frame),
    );
    // wgpu allocates the staging memory the pack writes into for every upload: counted in
    // the upload phase, but wgpu's, so shown apart from sparkbench's own.
    ui.label(format!(
        "upload {} alloc (wgpu's staging memory); ours since start {}",
        phases.last_allocations(Phase::Upload),
        render.own_upload_allocations()
    ));
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
        if let Some(frame) = memory.last_grow_frame {
            ui.label(format!(
                "last grew in frame {frame}, for {:.1} KB",
                memory.last_grow_request_bytes as f64 / 1000.0
            ));
        }
    }
    if let Some(classes) = memory.pools {
        ui.collapsing("pool classes", |ui| {
            egui::Grid::new("classes").striped(true).show(ui, |ui| {
                for heading in ["block", "hit rate", "in use", "occupancy"] {
                    ui.strong(heading);
                }
                ui.end_row();
                for class in classes {
                    ui.label(format!("{} B", class.block_bytes));
                    ui.label(format!("{:.1}%", class.hit_rate() * 100.0));
                    ui.label(format!("{} of {}", class.in_use, class.carved));
                    ui.label(format!("{:.0}%", class.occupancy() * 100.0));
                    ui.end_row();
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use bevy::asset::AssetPlugin;
    use bevy::shader::Shader;
    use bevy_egui::EguiGlobalSettings;

    use super::*;

    /// A window-less app with what egui's plugin needs to build (assets, for its shader).
    fn headless_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Shader>();
        app
    }

    fn overlay() -> OverlayPlugin {
        OverlayPlugin {
            help: &[("H", "hide / show this overlay")],
            toggle_key: Some(KeyCode::KeyH),
        }
    }

    #[test]
    fn the_start_up_reads_as_a_total_and_a_split_in_seconds() {
        let startup = StartupTimes::from_marks([90.0, 400.0, 460.0, 530.0, 610.0, 990.0]).unwrap();
        assert_eq!(
            startup_lines(&startup),
            [
                "loaded in 0.99 s (navigation to first frame):".to_owned(),
                "page 0.09 · download 0.31 · compile 0.06 s".to_owned(),
                "instantiate 0.07 · app start 0.08 · first frame 0.38 s".to_owned(),
            ]
        );
    }

    #[test]
    fn the_gpu_line_shows_a_measured_figure_or_why_there_is_none() {
        let measured = GpuTime {
            source: GpuTimeSource::Measured("a timer"),
            last_ms: Some(1.234),
            ..default()
        };
        assert_eq!(
            gpu_lines(&measured),
            ("GPU 1.23 ms a frame".to_owned(), None)
        );
        let waiting = GpuTime {
            last_ms: None,
            ..measured
        };
        assert_eq!(
            gpu_lines(&waiting),
            ("GPU time: waiting for a result".to_owned(), None)
        );
        // A figure left from before cannot show once the source says there is none.
        let unavailable = GpuTime {
            source: GpuTimeSource::NotAvailable("no timer here"),
            ..measured
        };
        assert_eq!(
            gpu_lines(&unavailable),
            ("GPU time: not available".to_owned(), Some("no timer here"))
        );
    }

    /// A host that set up egui itself keeps its `EguiPlugin` and settings: the overlay adds
    /// no second one (which Bevy would refuse) and changes nothing.
    #[test]
    fn the_overlay_uses_the_hosts_egui_setup() {
        let mut app = headless_app();
        app.insert_resource(EguiGlobalSettings {
            enable_cursor_icon_updates: false,
            ..default()
        })
        .add_plugins(EguiPlugin::default())
        .add_plugins(overlay());
        assert_eq!(app.get_added_plugins::<EguiPlugin>().len(), 1);
        assert!(
            !app.world()
                .resource::<EguiGlobalSettings>()
                .enable_cursor_icon_updates
        );
        assert_eq!(app.world().resource::<Help>().0.len(), 1);
    }

    /// Without egui, the overlay brings it.
    #[test]
    fn the_overlay_adds_egui_where_the_host_has_none() {
        let mut app = headless_app();
        app.add_plugins(overlay());
        assert_eq!(app.get_added_plugins::<EguiPlugin>().len(), 1);
        assert!(app.world().resource::<OverlayVisible>().0);
    }
}
