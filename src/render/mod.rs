//! Drawing: every particle in one instanced draw, and the scripted-run screenshot hook.

use bevy::prelude::*;

mod particles;
mod screenshot;

pub use screenshot::{ScriptedReport, ScriptedRun};

/// The background colour, a deep blue-black that lets additive particles glow.
const BACKGROUND: Color = Color::srgb(0.02, 0.02, 0.05);

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(ClearColor(BACKGROUND))
        .add_plugins((particles::plugin, screenshot::plugin));
}
