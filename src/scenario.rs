//! What plays when the app starts: emitters and forces. A single fountain for now.

use bevy::prelude::*;

use crate::sim::{Emitter, EmitterShape, SimSettings, Spread};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, spawn_fountain);
}

fn spawn_fountain(mut commands: Commands, mut settings: ResMut<SimSettings>) {
    settings.forces.bounds.restitution = 0.45;
    commands.spawn((
        Name::new("Fountain"),
        Emitter {
            shape: EmitterShape::Cone {
                radius: 0.3,
                slope: 0.35,
            },
            rate: 12_000.0,
            scatter: 0.08,
            speed: Spread::new(9.0, 12.0),
            lifetime: Spread::new(2.5, 4.0),
            ..default()
        },
        Transform::from_xyz(0.0, 0.2, 0.0),
    ));
}
