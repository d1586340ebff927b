//! Drawing: the camera and the scripted-run screenshot hook. Particles join in a later step.

use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::prelude::*;

mod particles;
mod screenshot;

pub use screenshot::ScriptedRun;

/// The background colour, a deep blue-black that lets additive particles glow.
const BACKGROUND: Color = Color::srgb(0.02, 0.02, 0.05);

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_systems(Startup, spawn_camera)
        .add_plugins((particles::plugin, screenshot::plugin));
}

fn spawn_camera(mut commands: Commands) {
    commands.spawn((
        Name::new("Camera"),
        Camera3d::default(),
        // The particle shader writes final colours; the default tonemapper would also need
        // lookup tables that are not built in.
        Tonemapping::None,
        Transform::from_xyz(0.0, 6.0, 18.0).looking_at(Vec3::new(0.0, 3.0, 0.0), Vec3::Y),
    ));
}
