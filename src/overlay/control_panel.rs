//! The overlay's control panel: scenario, particle target, spawn rate, forces, SIMD or
//! scalar, pause / step / reset and the frame budget. It writes settings; the simulation
//! and the scenario module act on them.

use bevy::prelude::*;
use bevy_egui::egui;

use crate::capture::Capacity;
use crate::perf::FrameBudget;
use crate::scenario::{MAX_PARTICLES, MIN_PARTICLES, Scenario, ScenarioChoice};
use crate::sim::{Dispatcher, SimBackend, SimPause, SimSettings};

/// What the panel changes, borrowed from the world for one frame.
pub struct Controlled<'a> {
    /// Forces, rate, backend and pause.
    pub settings: &'a mut SimSettings,
    /// Scenario, particle target and seed.
    pub choice: &'a mut ScenarioChoice,
    /// Pause, resume and single steps.
    pub pause: &'a mut SimPause,
    /// The budget the overlay measures against.
    pub budget: &'a mut FrameBudget,
    /// The backend in use, for the SIMD switch's label.
    pub backend: SimBackend,
    /// The kernels' threads: how many take part is set here, live.
    pub dispatcher: &'a Dispatcher,
    /// Frames seen and frames in all of the capture in progress, if one is.
    pub capture_progress: Option<(u32, u32)>,
    /// Frames run, the most it may take and the count probed, of the capacity search in
    /// progress, if one is.
    pub capacity_progress: Option<(u32, u32, u32)>,
    /// The last capacity score found, if any.
    pub last_capacity: Option<&'a Capacity>,
}

/// What the person asked for this frame: independent yes/no answers.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent yes/no answers, not a state"
)]
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Edits {
    /// Settings changed (so the simulation should see them as changed).
    pub settings: bool,
    /// Restart the scenario in `ScenarioChoice`.
    pub restart: bool,
    /// The budget changed.
    pub budget: bool,
    /// Start a capture of [`CAPTURE_FRAMES`] frames.
    pub capture: bool,
    /// Start a capacity search against the budget.
    pub capacity: bool,
    /// Where the Capture button was drawn, in egui points (`None` while a capture or a
    /// search runs in its place): the page's `stats()` tells tests where to click.
    pub capture_button: Option<egui::Rect>,
}

/// Frames the Capture button records.
pub const CAPTURE_FRAMES: u32 = 600;

/// Draws the panel's widgets into `ui`. `particle_draft` holds the particle slider's value
/// while it is dragged, so the scenario restarts once, when it is let go. While a capture
/// or capacity search runs, the settings are shown but locked: it measures the run it
/// started on.
pub fn show(
    ui: &mut egui::Ui,
    controlled: &mut Controlled,
    particle_draft: &mut Option<u32>,
) -> Edits {
    let mut edits = Edits::default();
    let measuring = controlled.capture_progress.is_some() || controlled.capacity_progress.is_some();
    ui.add_enabled_ui(!measuring, |ui| {
        settings_rows(ui, controlled, particle_draft, &mut edits);
    })
    .response
    .on_disabled_hover_text("locked until the capture or capacity search ends");
    measuring_row(ui, controlled, &mut edits);
    edits
}

/// Scenario, particles, spawn rate, forces, SIMD, kernel threads, pause / step / reset
/// and the budget.
fn settings_rows(
    ui: &mut egui::Ui,
    controlled: &mut Controlled,
    particle_draft: &mut Option<u32>,
    edits: &mut Edits,
) {
    scenario_row(ui, controlled, edits);
    particle_slider(ui, controlled, particle_draft, edits);
    let settings = &mut *controlled.settings;
    edits.settings |= ui
        .add(egui::Slider::new(&mut settings.rate_scale, 0.0..=4.0).text("× spawn rate"))
        .changed();
    ui.separator();
    edits.settings |= forces(ui, settings);
    ui.separator();
    edits.settings |= ui
        .checkbox(
            &mut settings.use_simd,
            format!(
                "SIMD ({}); off runs the scalar twin",
                controlled.backend.best
            ),
        )
        .changed();
    kernel_threads(ui, controlled.dispatcher);
    ui.horizontal(|ui| {
        let paused = controlled.pause.is_paused();
        if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
            controlled.pause.toggle();
        }
        if ui.add_enabled(paused, egui::Button::new("Step")).clicked() {
            controlled.pause.step_once();
        }
        if ui.button("Reset").clicked() {
            edits.restart = true;
        }
    });
    ui.horizontal(|ui| {
        ui.label("budget");
        for ms in FrameBudget::CHOICES {
            edits.budget |= ui
                .radio_value(&mut controlled.budget.ms, ms, format!("{ms:.2} ms"))
                .changed();
        }
    });
}

/// The Capture and Find capacity buttons, or the progress of the one running, and the
/// last capacity score.
fn measuring_row(ui: &mut egui::Ui, controlled: &Controlled, edits: &mut Edits) {
    if let Some((seen, total)) = controlled.capture_progress {
        ui.label(format!("capturing: frame {seen} of {total}"));
    } else if let Some((frames, most, count)) = controlled.capacity_progress {
        ui.label(format!(
            "finding capacity: {count} particles, frame {frames} of at most {most}"
        ));
    } else {
        let where_to = if cfg!(target_arch = "wasm32") {
            "downloads the JSON"
        } else {
            "saves JSON in the working directory"
        };
        ui.horizontal(|ui| {
            let capture = ui
                .button(format!("Capture {CAPTURE_FRAMES} frames"))
                .on_hover_text(where_to);
            edits.capture = capture.clicked();
            edits.capture_button = Some(capture.rect);
            edits.capacity = ui
                .button("Find capacity")
                .on_hover_text(format!(
                    "how many particles the budget holds at p95; {where_to}"
                ))
                .clicked();
        });
    }
    if let Some(capacity) = controlled.last_capacity {
        ui.label(format!("capacity: {}", capacity.describe()));
    }
}

fn scenario_row(ui: &mut egui::Ui, controlled: &mut Controlled, edits: &mut Edits) {
    let mut picked = controlled.choice.scenario;
    egui::ComboBox::from_label("scenario")
        .selected_text(picked.name())
        .show_ui(ui, |ui| {
            for scenario in Scenario::ALL {
                ui.selectable_value(&mut picked, scenario, scenario.name());
            }
        });
    if picked != controlled.choice.scenario {
        *controlled.choice = ScenarioChoice {
            scenario: picked,
            particles: picked.default_particles(),
            seed: controlled.choice.seed,
        };
        edits.restart = true;
    }
}

fn particle_slider(
    ui: &mut egui::Ui,
    controlled: &mut Controlled,
    draft: &mut Option<u32>,
    edits: &mut Edits,
) {
    let mut particles = draft.unwrap_or(controlled.choice.particles);
    let response = ui.add(
        egui::Slider::new(&mut particles, MIN_PARTICLES..=MAX_PARTICLES)
            .logarithmic(true)
            .text("particle target"),
    );
    if response.dragged() {
        *draft = Some(particles);
        return;
    }
    *draft = None;
    if particles != controlled.choice.particles && (response.changed() || response.drag_stopped()) {
        controlled.choice.particles = particles;
        edits.restart = true;
    }
}

/// Gravity, drag, noise and each attractor's strength. Returns whether any changed.
fn forces(ui: &mut egui::Ui, settings: &mut SimSettings) -> bool {
    let forces = &mut settings.forces;
    let mut changed = ui
        .add(egui::Slider::new(&mut forces.gravity.y, -20.0..=5.0).text("gravity m/s²"))
        .changed();
    changed |= ui
        .add(egui::Slider::new(&mut forces.drag, 0.0..=3.0).text("drag 1/s"))
        .changed();
    changed |= ui
        .add(egui::Slider::new(&mut forces.noise.strength, 0.0..=20.0).text("noise m/s²"))
        .changed();
    for (index, attractor) in forces.attractors.iter_mut().enumerate() {
        changed |= ui
            .add(
                egui::Slider::new(&mut attractor.strength, -100.0..=100.0)
                    .text(format!("attractor {}", index + 1)),
            )
            .changed();
    }
    changed
}

/// The number of threads the step and pack kernels split across, 1 to every core; in the
/// threaded browser bundle, the Web Workers beside the main thread, 0 to all started.
fn kernel_threads(ui: &mut egui::Ui, dispatcher: &Dispatcher) {
    let (offset, label) = if dispatcher.on_web_workers() {
        (1, "Web Workers")
    } else {
        (0, "kernel threads")
    };
    let mut shown = dispatcher.threads() - offset;
    let most = dispatcher.max_threads() - offset;
    if ui
        .add_enabled(
            dispatcher.max_threads() > 1,
            egui::Slider::new(&mut shown, 1 - offset..=most).text(label),
        )
        .changed()
    {
        dispatcher.set_threads(shown + offset);
    }
}
