//! Drawing: the camera and the scripted-run screenshot hook. Particles join in a later step.

use bevy::prelude::*;

mod screenshot;

pub use screenshot::ScriptedRun;

/// The background colour, a deep blue-black that lets additive particles glow.
const BACKGROUND: Color = Color::srgb(0.02, 0.02, 0.05);

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(Startup, spawn_camera)
        .add_plugins(screenshot::plugin);
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn((
        Name::new("Camera"),
        Camera3d::default(),
        Transform::from_xyz(0.0, 6.0, 18.0).looking_at(Vec3::new(0.0, 3.0, 0.0), Vec3::Y),
    ));
}
