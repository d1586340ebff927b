//! Forces on particles: gravity, drag, point attractors, a noise flow field and the bounds
//! they bounce inside. Plain settings here;
//! [`SimSettings::step_params`](super::SimSettings::step_params) turns them into the numbers
//! the kernel reads.

use bevy::prelude::*;

use super::kernels::{AttractorParams, BoundsParams, MAX_ATTRACTORS, NoiseParams};

/// A point that pulls (positive strength) or pushes (negative) particles.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct Attractor {
    /// Centre, in metres.
    pub position: Vec3,
    /// Acceleration at 1 m from the centre, in m/s²; falls off with distance squared.
    pub strength: f32,
    /// Below about this distance, in metres, the pull stops growing (avoids a singularity).
    pub softening: f32,
}

/// A smooth, drifting random flow field (value noise) that stirs particles.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct NoiseField {
    /// Peak acceleration, in m/s²; 0 turns the field off.
    pub strength: f32,
    /// Size of the field's features: 1 / (metres per cell).
    pub frequency: f32,
    /// How fast the field moves through space, in cells per second.
    pub drift: Vec3,
}

/// An axis-aligned box particles bounce inside; a ground plane is a box with a low floor
/// and distant walls.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct Bounds {
    /// Lowest corner, in metres.
    pub min: Vec3,
    /// Highest corner, in metres.
    pub max: Vec3,
    /// Share of the speed kept on a bounce, 0 to 1.
    pub restitution: f32,
}

/// Every force acting on the particles.
#[derive(Debug, Clone, PartialEq, Reflect)]
pub struct Forces {
    /// Gravity, in m/s².
    pub gravity: Vec3,
    /// Linear drag: share of velocity lost per second (1/s).
    pub drag: f32,
    /// Up to [`MAX_ATTRACTORS`] attractors; more are ignored.
    pub attractors: Vec<Attractor>,
    /// The noise flow field.
    pub noise: NoiseField,
    /// The box particles stay in.
    pub bounds: Bounds,
}

impl Default for Forces {
    fn default() -> Self {
        Self {
            gravity: Vec3::new(0.0, -9.81, 0.0),
            drag: 0.1,
            attractors: Vec::new(),
            noise: NoiseField {
                strength: 0.0,
                frequency: 0.5,
                drift: Vec3::ZERO,
            },
            bounds: Bounds {
                min: Vec3::new(-1000.0, 0.0, -1000.0),
                max: Vec3::splat(1000.0),
                restitution: 0.5,
            },
        }
    }
}

impl Forces {
    /// The attractors the kernel gets (the first [`MAX_ATTRACTORS`]) and how many.
    #[must_use]
    pub fn attractor_params(&self) -> ([AttractorParams; MAX_ATTRACTORS], usize) {
        let mut params = [AttractorParams::default(); MAX_ATTRACTORS];
        let count = self.attractors.len().min(MAX_ATTRACTORS);
        for (slot, attractor) in params.iter_mut().zip(&self.attractors) {
            *slot = AttractorParams {
                pos: attractor.position.to_array(),
                strength: attractor.strength,
                softening2: attractor.softening * attractor.softening,
            };
        }
        (params, count)
    }

    /// The noise field after `elapsed` seconds of drift.
    #[must_use]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the drift is worked out in f64 and handed to the kernel in f32"
    )]
    pub fn noise_params(&self, elapsed: f64) -> NoiseParams {
        let noise = &self.noise;
        NoiseParams {
            strength: noise.strength,
            frequency: noise.frequency,
            // f64 then rounded once, so the offset is the same on every platform.
            offset: noise
                .drift
                .to_array()
                .map(|speed| (f64::from(speed) * elapsed) as f32),
        }
    }

    /// The bounds as the kernel reads them.
    #[must_use]
    pub fn bounds_params(&self) -> BoundsParams {
        BoundsParams {
            min: self.bounds.min.to_array(),
            max: self.bounds.max.to_array(),
            restitution: self.bounds.restitution.clamp(0.0, 1.0),
        }
    }

    /// Velocity kept per step of `dt` seconds after drag, `1 - drag × dt`, kept in 0 to 1.
    #[must_use]
    pub fn damping(&self, dt: f32) -> f32 {
        (1.0 - self.drag * dt).clamp(0.0, 1.0)
    }
}
