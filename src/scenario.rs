//! Scenario presets: each sets emitters, forces, looks, a particle target and a seed.
//!
//! The desktop picks one with `--scenario`, `--particles`, `--seed` and `--backend`; the
//! browser with the same names as URL parameters (`?scenario=galaxy&particles=500000`).
//! Keys 1 to 5 switch while playing and R restarts with the same seed. Starting a scenario
//! sizes the pool to its particle target, which is the only time the pool is reallocated.

use bevy::prelude::*;

use crate::sim::{
    Attractor, Bounds, Burst, ColorKey, Emitter, EmitterShape, Forces, Looks, NoiseField,
    ParticlePool, SimClock, SimRng, SimSettings, SizeKey, Spread,
};

/// Fewest particles a scenario may target.
pub const MIN_PARTICLES: u32 = 1_000;
/// Most particles a scenario may target (the pool's maximum).
pub const MAX_PARTICLES: u32 = 4_000_000;

/// A preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reflect)]
pub enum Scenario {
    /// A cone of sparks under gravity, bouncing on the ground.
    Fountain,
    /// Four streams orbiting a central attractor.
    Galaxy,
    /// Bursts that bloom and fade in colour, falling under gravity and drag.
    Fireworks,
    /// Flakes drifting down through a noise flow field, settling on the ground.
    Snow,
    /// A million particles held by attractors, all there from the first step: for
    /// counting throughput.
    Stress,
}

impl Scenario {
    /// Every preset, in key order (1 to 5).
    pub const ALL: [Self; 5] = [
        Self::Fountain,
        Self::Galaxy,
        Self::Fireworks,
        Self::Snow,
        Self::Stress,
    ];

    /// The name used on the command line, in URLs and in the overlay.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Fountain => "fountain",
            Self::Galaxy => "galaxy",
            Self::Fireworks => "fireworks",
            Self::Snow => "snow",
            Self::Stress => "stress",
        }
    }

    /// The preset called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
    }

    /// All names, comma-separated, for messages.
    #[must_use]
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// The particle target when none is given.
    #[must_use]
    pub fn default_particles(self) -> u32 {
        match self {
            Self::Fountain => 200_000,
            Self::Galaxy => 400_000,
            Self::Fireworks => 300_000,
            Self::Snow => 150_000,
            Self::Stress => 1_000_000,
        }
    }

    /// Settings and emitters for `particles` target particles and `seed`.
    #[must_use]
    pub fn build(self, particles: u32, seed: u64) -> (SimSettings, Vec<(Emitter, Transform)>) {
        let particles = particles.clamp(MIN_PARTICLES, MAX_PARTICLES);
        let target = particles as f32;
        let (forces, looks, emitters) = match self {
            Self::Fountain => fountain(target),
            Self::Galaxy => galaxy(target),
            Self::Fireworks => fireworks(target),
            Self::Snow => snow(target),
            Self::Stress => stress(target),
        };
        let settings = SimSettings {
            capacity: particles as usize,
            seed,
            forces,
            looks,
            ..SimSettings::default()
        };
        (settings, emitters)
    }
}

/// Emission rate, in particles per second, that keeps `target` alive at `mean_life` seconds each.
fn rate_for(target: f32, mean_life: f32) -> f32 {
    target / mean_life
}

fn ground(restitution: f32) -> Bounds {
    Bounds {
        min: Vec3::new(-200.0, 0.0, -200.0),
        max: Vec3::splat(200.0),
        restitution,
    }
}

fn key(at: f32, rgba: [f32; 4]) -> ColorKey {
    ColorKey { at, rgba }
}

fn sizes(keys: &[(f32, f32)]) -> Vec<SizeKey> {
    keys.iter()
        .map(|&(at, size)| SizeKey { at, size })
        .collect()
}

type Preset = (Forces, Looks, Vec<(Emitter, Transform)>);

fn fountain(target: f32) -> Preset {
    let forces = Forces {
        gravity: Vec3::new(0.0, -9.81, 0.0),
        drag: 0.1,
        bounds: ground(0.45),
        ..Forces::default()
    };
    let looks = Looks {
        color: vec![
            key(0.0, [1.0, 0.95, 0.75, 1.0]),
            key(0.35, [1.0, 0.6, 0.2, 0.9]),
            key(1.0, [0.7, 0.12, 0.05, 0.0]),
        ],
        size: sizes(&[(0.0, 0.10), (1.0, 0.05)]),
    };
    let emitter = Emitter {
        shape: EmitterShape::Cone {
            radius: 0.3,
            slope: 0.35,
        },
        rate: rate_for(target, 3.25),
        scatter: 0.08,
        speed: Spread::new(9.0, 12.0),
        lifetime: Spread::new(2.5, 4.0),
        ..default()
    };
    (
        forces,
        looks,
        vec![(emitter, Transform::from_xyz(0.0, 0.2, 0.0))],
    )
}

fn galaxy(target: f32) -> Preset {
    let forces = Forces {
        gravity: Vec3::ZERO,
        drag: 0.02,
        attractors: vec![Attractor {
            position: Vec3::new(0.0, 4.0, 0.0),
            strength: 220.0,
            softening: 1.0,
        }],
        noise: NoiseField {
            strength: 0.6,
            frequency: 0.25,
            drift: Vec3::new(0.0, 0.05, 0.0),
        },
        bounds: Bounds {
            min: Vec3::splat(-60.0),
            max: Vec3::splat(60.0),
            restitution: 0.2,
        },
    };
    let looks = Looks {
        color: vec![
            key(0.0, [0.85, 0.9, 1.0, 1.0]),
            key(0.3, [0.45, 0.55, 1.0, 0.8]),
            key(0.7, [0.75, 0.3, 0.9, 0.5]),
            key(1.0, [0.3, 0.1, 0.5, 0.0]),
        ],
        size: sizes(&[(0.0, 0.07), (1.0, 0.04)]),
    };
    // Four streams on a ring of radius 7 m, each launched along the ring (counter-clockwise
    // seen from above) at about orbital speed, sqrt(strength / r) ≈ 5.6 m/s.
    let ring = [
        (Vec3::X, Vec3::NEG_Z),
        (Vec3::NEG_Z, Vec3::NEG_X),
        (Vec3::NEG_X, Vec3::Z),
        (Vec3::Z, Vec3::X),
    ];
    let emitters = ring
        .into_iter()
        .map(|(at, along)| {
            let emitter = Emitter {
                shape: EmitterShape::Sphere { radius: 0.6 },
                rate: rate_for(target, 9.0) / 4.0,
                direction: along,
                scatter: 0.25,
                speed: Spread::new(4.5, 6.5),
                lifetime: Spread::new(6.0, 12.0),
                ..default()
            };
            (
                emitter,
                Transform::from_translation(at * 7.0 + Vec3::new(0.0, 4.0, 0.0)),
            )
        })
        .collect();
    (forces, looks, emitters)
}

fn fireworks(target: f32) -> Preset {
    let forces = Forces {
        gravity: Vec3::new(0.0, -4.0, 0.0),
        drag: 0.9,
        bounds: ground(0.1),
        ..Forces::default()
    };
    let looks = Looks {
        color: vec![
            key(0.0, [1.0, 1.0, 1.0, 1.0]),
            key(0.15, [1.0, 0.85, 0.35, 1.0]),
            key(0.5, [1.0, 0.25, 0.45, 0.8]),
            key(0.8, [0.4, 0.3, 1.0, 0.45]),
            key(1.0, [0.1, 0.05, 0.3, 0.0]),
        ],
        size: sizes(&[(0.0, 0.14), (0.5, 0.09), (1.0, 0.03)]),
    };
    // Five shells at staggered heights and times; each burst is a fifth of the target over
    // the 2.5 s it lives.
    let shells = [
        (-6.0, 9.0, 0.2),
        (5.0, 11.0, 0.7),
        (0.0, 13.0, 1.2),
        (-3.0, 7.0, 1.7),
        (7.0, 8.0, 2.2),
    ];
    // The target is 1000 to 4 million, so a fifth of it fits a u32 exactly.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "see the line above"
    )]
    let per_burst = (target / 5.0) as u32;
    let emitters = shells
        .into_iter()
        .map(|(x, y, first_at)| {
            let emitter = Emitter {
                shape: EmitterShape::Sphere { radius: 0.2 },
                rate: 0.0,
                burst: Some(Burst {
                    count: per_burst,
                    first_at,
                    every: 2.5,
                }),
                scatter: 2.0,
                speed: Spread::new(2.0, 9.0),
                lifetime: Spread::new(1.5, 2.5),
                ..default()
            };
            (emitter, Transform::from_xyz(x, y, -2.0))
        })
        .collect();
    (forces, looks, emitters)
}

fn snow(target: f32) -> Preset {
    let forces = Forces {
        gravity: Vec3::new(0.0, -1.2, 0.0),
        drag: 0.8,
        noise: NoiseField {
            strength: 2.5,
            frequency: 0.3,
            drift: Vec3::new(0.15, 0.0, 0.05),
        },
        bounds: ground(0.0),
        ..Forces::default()
    };
    let looks = Looks {
        color: vec![
            key(0.0, [0.8, 0.9, 1.0, 0.0]),
            key(0.1, [0.9, 0.95, 1.0, 0.9]),
            key(0.85, [0.85, 0.9, 1.0, 0.8]),
            key(1.0, [0.8, 0.85, 1.0, 0.0]),
        ],
        size: sizes(&[(0.0, 0.08), (1.0, 0.08)]),
    };
    let emitter = Emitter {
        shape: EmitterShape::Box {
            half_extents: Vec3::new(14.0, 0.5, 8.0),
        },
        rate: rate_for(target, 10.0),
        direction: Vec3::NEG_Y,
        scatter: 0.5,
        speed: Spread::new(0.5, 1.5),
        lifetime: Spread::new(8.0, 12.0),
        ..default()
    };
    (
        forces,
        looks,
        vec![(emitter, Transform::from_xyz(0.0, 14.0, 0.0))],
    )
}

fn stress(target: f32) -> Preset {
    let forces = Forces {
        gravity: Vec3::ZERO,
        drag: 0.3,
        attractors: vec![
            Attractor {
                position: Vec3::new(-4.0, 5.0, 0.0),
                strength: 60.0,
                softening: 1.5,
            },
            Attractor {
                position: Vec3::new(4.0, 5.0, 0.0),
                strength: 60.0,
                softening: 1.5,
            },
        ],
        bounds: Bounds {
            min: Vec3::new(-30.0, 0.0, -30.0),
            max: Vec3::splat(30.0),
            restitution: 0.5,
        },
        ..Forces::default()
    };
    let looks = Looks {
        color: vec![
            key(0.0, [0.3, 1.0, 0.8, 0.6]),
            key(1.0, [0.2, 0.4, 1.0, 0.0]),
        ],
        size: sizes(&[(0.0, 0.05), (1.0, 0.03)]),
    };
    // The whole target at once, then a steady stream replacing those that expire.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "the target is 1000 to 4 million"
    )]
    let everyone = target as u32;
    let emitter = Emitter {
        shape: EmitterShape::Sphere { radius: 6.0 },
        rate: rate_for(target, 5.0),
        burst: Some(Burst {
            count: everyone,
            first_at: 0.0,
            every: 0.0,
        }),
        scatter: 1.0,
        speed: Spread::new(0.5, 3.0),
        lifetime: Spread::new(4.0, 6.0),
        ..default()
    };
    (
        forces,
        looks,
        vec![(emitter, Transform::from_xyz(0.0, 5.0, 0.0))],
    )
}

/// The scenario playing (or to play), with its particle target and seed.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Reflect)]
pub struct ScenarioChoice {
    /// The preset.
    pub scenario: Scenario,
    /// Particles to aim for (the pool's capacity).
    pub particles: u32,
    /// Seed for the simulation's random numbers.
    pub seed: u64,
}

impl Default for ScenarioChoice {
    fn default() -> Self {
        Self {
            scenario: Scenario::Fountain,
            particles: Scenario::Fountain.default_particles(),
            seed: 1,
        }
    }
}

/// Ask for the scenario in [`ScenarioChoice`] to (re)start from its seed.
#[derive(Message, Debug, Clone, Copy, Default)]
pub struct RestartScenario;

/// Marks what a scenario spawned, so a restart removes it.
#[derive(Component)]
struct FromScenario;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ScenarioChoice>()
        .add_message::<RestartScenario>()
        .add_systems(Startup, |mut restart: MessageWriter<RestartScenario>| {
            restart.write(RestartScenario);
        })
        .add_systems(
            PreUpdate,
            start_scenario.run_if(on_message::<RestartScenario>),
        );
}

/// Replaces emitters, settings and particles with the chosen scenario's, from its seed.
fn start_scenario(
    mut commands: Commands,
    mut restart: MessageReader<RestartScenario>,
    choice: Res<ScenarioChoice>,
    old: Query<Entity, With<FromScenario>>,
    mut settings: ResMut<SimSettings>,
    mut pool: ResMut<ParticlePool>,
) {
    restart.clear();
    let (fresh, emitters) = choice.scenario.build(choice.particles, choice.seed);
    for entity in &old {
        commands.entity(entity).despawn();
    }
    for (emitter, transform) in emitters {
        commands.spawn((
            Name::new(choice.scenario.name()),
            FromScenario,
            emitter,
            transform,
        ));
    }
    // The next step resizes the pool if the capacity changed (see `SimSettings::capacity`).
    pool.clear();
    commands.insert_resource(SimRng::new(fresh.seed));
    commands.insert_resource(SimClock::default());
    // Keep the person's choices that are not part of a scenario.
    *settings = SimSettings {
        use_simd: settings.use_simd,
        rate_scale: settings.rate_scale,
        ..fresh
    };
    info!(
        "scenario {} with {} particles, seed {}",
        choice.scenario.name(),
        choice.particles,
        choice.seed
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Backend, Simulation};

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::from_name(scenario.name()), Some(scenario));
        }
        assert_eq!(Scenario::from_name("nebula"), None);
    }

    #[test]
    fn every_scenario_fills_towards_its_target_within_its_bounds() {
        for scenario in Scenario::ALL {
            let (settings, emitters) = scenario.build(20_000, 3);
            let bounds = settings.forces.bounds;
            let mut sim = Simulation::new(settings, emitters);
            sim.run(Backend::best(), 240);
            let alive = sim.pool.len();
            assert!(
                alive > 2_000,
                "{}: only {alive} particles after 4 s",
                scenario.name()
            );
            assert!(alive <= 20_000);
            for (axis, column) in sim.pool.positions().into_iter().enumerate() {
                assert!(
                    column
                        .iter()
                        .all(|p| (bounds.min[axis]..=bounds.max[axis]).contains(p)),
                    "{}",
                    scenario.name()
                );
            }
        }
    }
}
