//! How a person plays: the orbit camera (drag to turn, wheel or pinch to zoom), dragging
//! the active attractor or emitter, and the keys, turned into camera components, simulation
//! resources and scenario messages. Input the overlay is using is left to it, and the
//! overlay's own key (H) is the overlay's. While a capture or capacity search runs, the
//! keys and dragging leave the simulation alone (the camera still turns).
//!
//! | input | does |
//! |---|---|
//! | left drag, one-finger drag | orbit the camera |
//! | wheel, two-finger pinch | zoom |
//! | right drag, Shift + left drag | move the active attractor (or emitter) |
//! | Space | pause / resume |
//! | `.` | one step while paused |
//! | R | restart the scenario with the same seed |
//! | S | switch SIMD / scalar |
//! | H | hide / show the overlay |
//! | 1 to 5 | fountain, galaxy, fireworks, snow, stress |

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::input::touch::{TouchInput, Touches};
use bevy::prelude::*;
use bevy::transform::helper::TransformHelper;
use bevy::window::PrimaryWindow;
use bevy_egui::input::{egui_wants_any_keyboard_input, egui_wants_any_pointer_input};

use crate::capture::nothing_measuring;
use crate::scenario::{RestartScenario, Scenario, ScenarioChoice};
use crate::sim::{Emitter, SimPause, SimSettings};

/// The keys (the overlay's H among them), for the overlay's help and the README.
pub const HELP: [(&str, &str); 10] = [
    ("drag", "orbit the camera (one finger on touch)"),
    ("wheel", "zoom (pinch on touch)"),
    (
        "right drag",
        "move the attractor or emitter (or Shift + drag)",
    ),
    ("Space", "pause / resume"),
    (".", "one step while paused"),
    ("R", "restart with the same seed"),
    ("S", "switch SIMD / scalar"),
    ("H", "hide / show this overlay"),
    ("1-5", "fountain, galaxy, fireworks, snow, stress"),
    ("?scenario=", "URL: scenario, particles, seed, backend"),
];

/// A camera circling `target` at `distance` metres, turned by `yaw` and `pitch` radians.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    /// The point looked at, in metres.
    pub target: Vec3,
    /// Turn about the vertical, in radians.
    pub yaw: f32,
    /// Tilt above the horizon, in radians.
    pub pitch: f32,
    /// Distance from the target, in metres.
    pub distance: f32,
}

impl OrbitCamera {
    /// The camera a scenario starts with.
    #[must_use]
    pub fn framing(scenario: Scenario) -> Self {
        let (target, distance, pitch) = match scenario {
            Scenario::Fountain => (Vec3::new(0.0, 3.5, 0.0), 17.0, 0.2),
            Scenario::Galaxy => (Vec3::new(0.0, 4.0, 0.0), 24.0, 0.55),
            Scenario::Fireworks => (Vec3::new(0.0, 8.0, -2.0), 26.0, 0.1),
            Scenario::Snow => (Vec3::new(0.0, 5.0, 0.0), 22.0, 0.15),
            Scenario::Stress => (Vec3::new(0.0, 5.0, 0.0), 28.0, 0.3),
        };
        Self {
            target,
            yaw: 0.0,
            pitch,
            distance,
        }
    }

    fn transform(&self) -> Transform {
        let rotation = Quat::from_euler(EulerRot::YXZ, self.yaw, -self.pitch, 0.0);
        let eye = self.target + rotation * Vec3::new(0.0, 0.0, self.distance);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }
}

/// Radians of orbit per pixel dragged.
const ORBIT_PER_PIXEL: f32 = 0.006;
/// Zoom factor per wheel line.
const ZOOM_PER_LINE: f32 = 0.9;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, spawn_camera).add_systems(
        Update,
        (
            (
                orbit_with_mouse,
                orbit_with_touch,
                drag_object.run_if(nothing_measuring),
            )
                .run_if(not(egui_wants_any_pointer_input)),
            keys.run_if(not(egui_wants_any_keyboard_input))
                .run_if(nothing_measuring),
            reframe_on_scenario_change,
            apply_orbit,
        )
            .chain(),
    );
}

fn spawn_camera(mut commands: Commands, choice: Res<ScenarioChoice>) {
    let orbit = OrbitCamera::framing(choice.scenario);
    commands.spawn((
        Name::new("Camera"),
        Camera3d::default(),
        // The particle shader writes final colours; the default tonemapper would also need
        // lookup tables that are not built in.
        bevy::core_pipeline::tonemapping::Tonemapping::None,
        orbit.transform(),
        orbit,
    ));
}

fn reframe_on_scenario_change(choice: Res<ScenarioChoice>, mut cameras: Query<&mut OrbitCamera>) {
    if choice.is_changed() {
        for mut orbit in &mut cameras {
            *orbit = OrbitCamera::framing(choice.scenario);
        }
    }
}

fn apply_orbit(mut cameras: Query<(&OrbitCamera, &mut Transform), Changed<OrbitCamera>>) {
    for (orbit, mut transform) in &mut cameras {
        *transform = orbit.transform();
    }
}

fn turn(orbit: &mut OrbitCamera, pixels: Vec2) {
    orbit.yaw -= pixels.x * ORBIT_PER_PIXEL;
    orbit.pitch = (orbit.pitch + pixels.y * ORBIT_PER_PIXEL).clamp(-1.5, 1.5);
}

fn zoom(orbit: &mut OrbitCamera, factor: f32) {
    orbit.distance = (orbit.distance * factor).clamp(2.0, 200.0);
}

fn orbit_with_mouse(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut cameras: Query<&mut OrbitCamera>,
) {
    let shifted = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    let orbiting = buttons.pressed(MouseButton::Left) && !shifted && motion.delta != Vec2::ZERO;
    let lines = match scroll.unit {
        MouseScrollUnit::Line => scroll.delta.y,
        MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
    };
    if !orbiting && lines == 0.0 {
        return;
    }
    for mut orbit in &mut cameras {
        if orbiting {
            turn(&mut orbit, motion.delta);
        }
        if lines != 0.0 {
            zoom(&mut orbit, ZOOM_PER_LINE.powf(lines));
        }
    }
}

/// One finger turns the camera, two pinch to zoom; a third and more are ignored. Acts only
/// in frames with touch input: `Touches` keeps the last movement as each touch's delta until
/// the next event, so a finger held still would otherwise keep turning the camera. Reads
/// the touches without collecting them (no allocation per frame).
fn orbit_with_touch(
    touches: Res<Touches>,
    mut events: MessageReader<TouchInput>,
    mut cameras: Query<&mut OrbitCamera>,
) {
    if events.read().count() == 0 {
        return;
    }
    let mut active = touches.iter();
    let first_two = [active.next(), active.next()];
    match first_two {
        [Some(one), None] if one.delta() != Vec2::ZERO => {
            for mut orbit in &mut cameras {
                turn(&mut orbit, one.delta());
            }
        }
        [Some(a), Some(b)] => {
            let before = a.previous_position().distance(b.previous_position());
            let now = a.position().distance(b.position());
            if before > 1.0 && now > 1.0 && (before - now).abs() > 0.5 {
                for mut orbit in &mut cameras {
                    zoom(&mut orbit, before / now);
                }
            }
        }
        _ => {}
    }
}

/// Right drag (or Shift + left drag) moves the first attractor, or the first emitter when
/// the scenario has no attractor, across the plane facing the camera.
fn drag_object(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    windows: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    mut settings: ResMut<SimSettings>,
    emitters: Query<(Entity, Option<&ChildOf>), With<Emitter>>,
    mut transforms: ParamSet<(TransformHelper, Query<&mut Transform>)>,
) {
    let shifted = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    let dragging =
        buttons.pressed(MouseButton::Right) || (shifted && buttons.pressed(MouseButton::Left));
    if !dragging {
        return;
    }
    let Some(cursor) = windows.single().ok().and_then(Window::cursor_position) else {
        return;
    };
    let Some((camera, camera_transform)) = cameras.iter().next() else {
        return;
    };
    let Ok(ray) = camera.viewport_to_world(camera_transform, cursor) else {
        return;
    };
    let facing = camera_transform.forward().as_vec3();
    let onto_plane = |through: Vec3| {
        let along = ray.direction.dot(facing);
        (along.abs() > 1e-4)
            .then(|| ray.origin + *ray.direction * ((through - ray.origin).dot(facing) / along))
    };
    if let Some(attractor) = settings
        .bypass_change_detection()
        .forces
        .attractors
        .first()
        .copied()
    {
        if let Some(point) = onto_plane(attractor.position) {
            settings.forces.attractors[0].position = point;
        }
    } else if let Some((emitter, child_of)) = emitters.iter().next() {
        let parent = child_of.and_then(|child_of| {
            transforms
                .p0()
                .compute_global_transform(child_of.parent())
                .ok()
        });
        let mut locals = transforms.p1();
        let Ok(mut transform) = locals.get_mut(emitter) else {
            return;
        };
        if let Some(point) = onto_plane(to_world(transform.translation, parent.as_ref())) {
            transform.translation = to_local(point, parent.as_ref());
        }
    }
}

/// A point given in `parent`'s space (an emitter's translation), in world space, in metres.
fn to_world(local: Vec3, parent: Option<&GlobalTransform>) -> Vec3 {
    parent.map_or(local, |parent| parent.transform_point(local))
}

/// A world point, in metres, in `parent`'s space: the translation that places a child there.
fn to_local(world: Vec3, parent: Option<&GlobalTransform>) -> Vec3 {
    parent.map_or(world, |parent| {
        parent.affine().inverse().transform_point3(world)
    })
}

fn keys(
    keys: Res<ButtonInput<KeyCode>>,
    mut settings: ResMut<SimSettings>,
    mut pause: ResMut<SimPause>,
    mut choice: ResMut<ScenarioChoice>,
    mut restart: MessageWriter<RestartScenario>,
) {
    if keys.just_pressed(KeyCode::Space) {
        pause.toggle();
    }
    if keys.just_pressed(KeyCode::Period) {
        pause.step_once();
    }
    if keys.just_pressed(KeyCode::KeyS) {
        settings.use_simd = !settings.use_simd;
    }
    if keys.just_pressed(KeyCode::KeyR) {
        restart.write(RestartScenario);
    }
    let digits = [
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
        KeyCode::Digit5,
    ];
    for (digit, scenario) in digits.into_iter().zip(Scenario::ALL) {
        if keys.just_pressed(digit) {
            *choice = ScenarioChoice {
                scenario,
                particles: scenario.default_particles(),
                seed: choice.seed,
            };
            restart.write(RestartScenario);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parent 10 m along x, scaled 2x and turned a quarter turn about y.
    fn parent() -> GlobalTransform {
        GlobalTransform::from(
            Transform::from_xyz(10.0, 0.0, 0.0)
                .with_scale(Vec3::splat(2.0))
                .with_rotation(Quat::from_rotation_y(std::f32::consts::FRAC_PI_2)),
        )
    }

    #[test]
    fn a_parented_emitter_is_dragged_in_world_space() {
        let parent = parent();
        // Local (1, 2, 0): scaled to (2, 4, 0), turned to (0, 4, -2), moved to (10, 4, -2).
        let world = to_world(Vec3::new(1.0, 2.0, 0.0), Some(&parent));
        assert!(
            world.abs_diff_eq(Vec3::new(10.0, 4.0, -2.0), 1e-5),
            "{world}"
        );
        let local = to_local(Vec3::new(10.0, 4.0, -2.0), Some(&parent));
        assert!(local.abs_diff_eq(Vec3::new(1.0, 2.0, 0.0), 1e-5), "{local}");
    }

    #[test]
    fn an_unparented_emitter_is_dragged_where_the_point_is() {
        let point = Vec3::new(3.0, -1.0, 7.5);
        assert_eq!(to_world(point, None), point);
        assert_eq!(to_local(point, None), point);
    }
}
