//! Emitters: where particles are born, how many, how fast and for how long.
//!
//! Each emitter is an entity with a [`Transform`] (its position and orientation) and an
//! [`Emitter`]. Randomness comes from [`SimRng`], a seeded PCG32 that gives the same
//! numbers on every platform; every sample is built from its integers with plain
//! arithmetic and `sqrt` (no trigonometry), so a seed gives the same particles everywhere.

use bevy::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

use super::pool::{NewParticle, ParticlePool};

/// The region new particles appear in, in the emitter's local space (its `Transform`
/// moves and turns it). "Up" is local +Y.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub enum EmitterShape {
    /// All at the emitter's origin.
    Point,
    /// Anywhere inside a ball, `radius` in metres.
    Sphere {
        /// Radius in metres.
        radius: f32,
    },
    /// Anywhere inside a box, `half_extents` in metres.
    Box {
        /// Half the box's size along each axis, in metres.
        half_extents: Vec3,
    },
    /// Anywhere on a flat disk in the local XZ plane, `radius` in metres.
    Disk {
        /// Radius in metres.
        radius: f32,
    },
    /// From a disk of `radius` metres, launched up and outwards: at the rim the direction
    /// leans out by `slope` metres sideways per metre up (a cone's opening).
    Cone {
        /// Radius of the base disk, in metres.
        radius: f32,
        /// Outward lean at the rim, sideways metres per metre up.
        slope: f32,
    },
}

/// A repeating burst: `count` particles at `first_at` seconds and then every `every` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct Burst {
    /// Particles per burst.
    pub count: u32,
    /// Seconds from the emitter's start to the first burst.
    pub first_at: f32,
    /// Seconds between bursts; 0 or less means only one.
    pub every: f32,
}

/// A range of values drawn uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct Spread {
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
}

impl Spread {
    /// A range from `min` to `max`.
    #[must_use]
    pub const fn new(min: f32, max: f32) -> Self {
        Self { min, max }
    }
}

/// A source of particles. Needs a [`Transform`]; keeps its own [`EmitterState`].
#[derive(Component, Debug, Clone, PartialEq, Reflect)]
#[require(Transform, EmitterState)]
pub struct Emitter {
    /// Where particles appear.
    pub shape: EmitterShape,
    /// Steady emission, in particles per second.
    pub rate: f32,
    /// Bursts on top of the steady rate.
    pub burst: Option<Burst>,
    /// Launch direction in local space (normalised when used).
    pub direction: Vec3,
    /// How far directions scatter around `direction`: 0 none, 1 about 90 degrees.
    pub scatter: f32,
    /// Launch speed, in metres per second.
    pub speed: Spread,
    /// Lifetime, in seconds.
    pub lifetime: Spread,
}

impl Default for Emitter {
    fn default() -> Self {
        Self {
            shape: EmitterShape::Point,
            rate: 1000.0,
            burst: None,
            direction: Vec3::Y,
            scatter: 0.2,
            speed: Spread::new(4.0, 6.0),
            lifetime: Spread::new(2.0, 3.0),
        }
    }
}

/// What an emitter carries from step to step.
#[derive(Component, Debug, Clone, Default, PartialEq, Reflect)]
pub struct EmitterState {
    /// Seconds since the emitter started.
    pub elapsed: f32,
    /// Fraction of a particle owed by the steady rate.
    pub owed: f32,
    /// Bursts already fired.
    pub bursts_fired: u32,
}

/// The simulation's random numbers: PCG32, seeded, the same sequence on every platform.
#[derive(Resource, Debug, Clone)]
pub struct SimRng(Pcg32);

impl SimRng {
    /// A generator for `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(Pcg32::seed_from_u64(seed))
    }

    /// Uniform in `[0, 1)`, from the top 24 bits of the next number (exact in `f32`).
    pub fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in `[-1, 1)`.
    pub fn signed(&mut self) -> f32 {
        self.unit() * 2.0 - 1.0
    }

    /// Uniform between `spread.min` and `spread.max`.
    pub fn within(&mut self, spread: Spread) -> f32 {
        spread.min + (spread.max - spread.min) * self.unit()
    }

    /// Uniform inside the unit ball (rejection sampling: no trigonometry).
    pub fn in_ball(&mut self) -> Vec3 {
        loop {
            let v = Vec3::new(self.signed(), self.signed(), self.signed());
            if v.dot(v) <= 1.0 {
                return v;
            }
        }
    }

    /// Uniform inside the unit disk in the XZ plane.
    pub fn in_disk(&mut self) -> Vec3 {
        loop {
            let (x, z) = (self.signed(), self.signed());
            if x * x + z * z <= 1.0 {
                return Vec3::new(x, 0.0, z);
            }
        }
    }
}

/// `v` scaled to length 1, or `fallback` when `v` is (nearly) zero.
fn normalized_or(v: Vec3, fallback: Vec3) -> Vec3 {
    let length = v.dot(v).sqrt();
    if length > 1e-12 { v / length } else { fallback }
}

/// Rotates `v` by the unit quaternion `q`, written out so the operation order is fixed
/// on every platform: `v + 2w(q × v) + 2 q × (q × v)`.
fn rotate(q: Quat, v: Vec3) -> Vec3 {
    let axis = Vec3::new(q.x, q.y, q.z);
    let t = axis.cross(v) * 2.0;
    v + t * q.w + axis.cross(t)
}

/// How many particles `emitter` owes after `dt` more seconds; advances its state.
fn due(emitter: &Emitter, state: &mut EmitterState, dt: f32) -> u32 {
    state.elapsed += dt;
    state.owed += emitter.rate.max(0.0) * dt;
    let whole = state.owed.floor();
    state.owed -= whole;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a whole, non-negative count of particles owed for one step"
    )]
    let mut count = whole as u32;
    if let Some(burst) = emitter.burst {
        loop {
            let next = burst.first_at + burst.every.max(0.0) * state.bursts_fired as f32;
            let repeats = burst.every > 0.0 || state.bursts_fired == 0;
            if !repeats || next > state.elapsed {
                break;
            }
            count = count.saturating_add(burst.count);
            state.bursts_fired += 1;
        }
    }
    count
}

/// One new particle from `emitter` placed by `transform`.
fn sample(emitter: &Emitter, transform: &Transform, rng: &mut SimRng) -> NewParticle {
    let up = Vec3::Y;
    let base = normalized_or(emitter.direction, up);
    let (offset, launch) = match emitter.shape {
        EmitterShape::Point => (Vec3::ZERO, base),
        EmitterShape::Sphere { radius } => (rng.in_ball() * radius, base),
        EmitterShape::Box { half_extents } => {
            let unit = Vec3::new(rng.signed(), rng.signed(), rng.signed());
            (unit * half_extents, base)
        }
        EmitterShape::Disk { radius } => (rng.in_disk() * radius, base),
        EmitterShape::Cone { radius, slope } => {
            let unit = rng.in_disk();
            (unit * radius, normalized_or(up + unit * slope, up))
        }
    };
    let direction = normalized_or(launch + rng.in_ball() * emitter.scatter, launch);
    let speed = rng.within(emitter.speed);
    let lifetime = rng.within(emitter.lifetime).max(1e-3);
    let pos = transform.translation + rotate(transform.rotation, offset * transform.scale);
    let vel = rotate(transform.rotation, direction) * speed;
    NewParticle {
        pos: pos.to_array(),
        vel: vel.to_array(),
        lifetime,
    }
}

impl Emitter {
    /// This emitter with its steady rate multiplied by `rate_scale` (bursts unchanged).
    #[must_use]
    pub fn with_rate_scaled(&self, rate_scale: f32) -> Self {
        Self {
            rate: self.rate * rate_scale,
            ..self.clone()
        }
    }
}

/// Spawns what `emitter` owes for a step of `dt` seconds into the free slots of `pool`.
/// Particles that do not fit are not made. Returns how many were spawned.
pub fn emit(
    emitter: &Emitter,
    state: &mut EmitterState,
    transform: &Transform,
    pool: &mut ParticlePool,
    rng: &mut SimRng,
    dt: f32,
) -> u32 {
    let wanted = due(emitter, state, dt);
    let mut spawned = 0;
    for _ in 0..wanted {
        if pool.free() == 0 {
            break;
        }
        pool.push(sample(emitter, transform, rng));
        spawned += 1;
    }
    spawned
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact values are expected here")]
mod tests {
    use super::*;

    fn step_many(emitter: &Emitter, steps: usize, dt: f32) -> (ParticlePool, u32) {
        let mut pool = ParticlePool::with_capacity(100_000);
        let mut state = EmitterState::default();
        let mut rng = SimRng::new(1);
        let mut total = 0;
        for _ in 0..steps {
            total += emit(
                emitter,
                &mut state,
                &Transform::default(),
                &mut pool,
                &mut rng,
                dt,
            );
        }
        (pool, total)
    }

    #[test]
    fn rate_spawns_that_many_per_second() {
        let emitter = Emitter {
            rate: 600.0,
            ..default()
        };
        let (pool, total) = step_many(&emitter, 60, 1.0 / 60.0);
        assert!((599..=600).contains(&total), "{total}");
        assert_eq!(pool.len(), total as usize);
    }

    #[test]
    fn bursts_fire_on_schedule() {
        let burst = Burst {
            count: 100,
            first_at: 0.5,
            every: 1.0,
        };
        let emitter = Emitter {
            rate: 0.0,
            burst: Some(burst),
            ..default()
        };
        // 2.6 s: bursts at 0.5, 1.5 and 2.5 s.
        let (_, total) = step_many(&emitter, 156, 1.0 / 60.0);
        assert_eq!(total, 300);
        let once = Emitter {
            burst: Some(Burst {
                every: 0.0,
                ..burst
            }),
            ..emitter
        };
        assert_eq!(step_many(&once, 156, 1.0 / 60.0).1, 100);
        // Steps of 0.25 s (exact in binary) reach 0.5 s on the second: the burst fires then.
        assert_eq!(step_many(&once, 1, 0.25).1, 0);
        assert_eq!(step_many(&once, 2, 0.25).1, 100, "fires at exactly 0.5 s");
    }

    #[test]
    fn a_rate_scale_scales_the_steady_rate_and_not_the_bursts() {
        let burst = Some(Burst {
            count: 10,
            first_at: 0.0,
            every: 1.0,
        });
        let emitter = Emitter {
            rate: 600.0,
            burst,
            ..default()
        };
        let halved = emitter.with_rate_scaled(0.5);
        assert_eq!((halved.rate, halved.burst), (300.0, burst));
        assert_eq!(emitter.with_rate_scaled(3.0).rate, 1800.0);
    }

    /// A cone launches each particle tilted outward through its own spawn point: away from
    /// the axis by `atan(slope * r / radius)` for a particle `r` from the centre.
    #[test]
    fn a_cone_launches_outward_through_each_spawn_point() {
        let (radius, slope) = (0.5, 2.0);
        let emitter = Emitter {
            shape: EmitterShape::Cone { radius, slope },
            scatter: 0.0,
            speed: Spread::new(1.0, 1.0),
            rate: 6000.0,
            ..default()
        };
        let (pool, _) = step_many(&emitter, 1, 1.0 / 60.0);
        let ([x, _, z], [vx, vy, vz]) = (pool.positions(), pool.velocities());
        for i in 0..pool.len() {
            let outward = Vec2::new(x[i], z[i]);
            let sideways = Vec2::new(vx[i], vz[i]);
            assert!(outward.perp_dot(sideways).abs() < 1e-5, "along its spoke");
            assert!(outward.dot(sideways) >= 0.0, "outward");
            let tilt = sideways.length() / vy[i];
            let expected = slope * outward.length() / radius;
            assert!(
                (tilt - expected).abs() < 1e-4,
                "tilt {tilt}, expected {expected}"
            );
        }
    }

    /// An emitter scaled 4x spreads a 1 m sphere over 4 m.
    #[test]
    fn the_transforms_scale_spreads_the_shape() {
        let emitter = Emitter {
            shape: EmitterShape::Sphere { radius: 1.0 },
            rate: 6000.0,
            ..default()
        };
        let mut pool = ParticlePool::with_capacity(100);
        emit(
            &emitter,
            &mut EmitterState::default(),
            &Transform::from_scale(Vec3::splat(4.0)),
            &mut pool,
            &mut SimRng::new(5),
            1.0 / 60.0,
        );
        let [x, y, z] = pool.positions();
        let reach: Vec<f32> = (0..pool.len())
            .map(|i| Vec3::new(x[i], y[i], z[i]).length())
            .collect();
        assert!(reach.iter().all(|&r| r <= 4.0 + 1e-4), "{reach:?}");
        assert!(reach.iter().any(|&r| r > 2.0), "{reach:?}");
    }

    /// Each shape's particles stay within its reach (flat shapes at y = 0) and fill it:
    /// they pass half its extent on both sides of every axis it spans (100 particles: a
    /// miss by chance is below one in ten million).
    #[test]
    fn shapes_keep_particles_inside_their_region_and_fill_it() {
        let cases = [
            (EmitterShape::Point, 0.0, [0.0; 3]),
            (EmitterShape::Sphere { radius: 2.0 }, 2.0, [2.0; 3]),
            (
                EmitterShape::Box {
                    half_extents: Vec3::new(1.0, 2.0, 3.0),
                },
                14.0_f32.sqrt(),
                [1.0, 2.0, 3.0],
            ),
            (EmitterShape::Disk { radius: 1.5 }, 1.5, [1.5, 0.0, 1.5]),
            (
                EmitterShape::Cone {
                    radius: 0.5,
                    slope: 1.0,
                },
                0.5,
                [0.5, 0.0, 0.5],
            ),
        ];
        for (shape, reach, extents) in cases {
            let emitter = Emitter {
                shape,
                rate: 6000.0,
                ..default()
            };
            let (pool, _) = step_many(&emitter, 1, 1.0 / 60.0);
            assert_eq!(pool.len(), 100);
            let [x, y, z] = pool.positions();
            for i in 0..pool.len() {
                let r = (x[i] * x[i] + y[i] * y[i] + z[i] * z[i]).sqrt();
                assert!(r <= reach + 1e-5, "{shape:?}: {r}");
                if matches!(shape, EmitterShape::Disk { .. } | EmitterShape::Cone { .. }) {
                    assert_eq!(y[i], 0.0, "{shape:?} is flat");
                }
            }
            for (axis, (column, extent)) in pool.positions().iter().zip(extents).enumerate() {
                if extent == 0.0 {
                    continue;
                }
                let (lowest, highest) = column
                    .iter()
                    .fold((0.0_f32, 0.0_f32), |(lo, hi), &c| (lo.min(c), hi.max(c)));
                assert!(
                    lowest < -extent / 2.0 && highest > extent / 2.0,
                    "{shape:?} axis {axis}: {lowest}..{highest}"
                );
            }
        }
    }

    /// A scatter of 0.5 tilts each launch by up to 30 degrees (asin 0.5) from the emitter's
    /// direction, and by more than 10 degrees often; the speed stays the drawn one.
    #[test]
    fn scatter_tilts_launches_around_the_direction() {
        let emitter = Emitter {
            direction: Vec3::new(0.0, 0.0, 2.0),
            scatter: 0.5,
            speed: Spread::new(4.0, 4.0),
            rate: 6000.0,
            ..default()
        };
        let (pool, _) = step_many(&emitter, 1, 1.0 / 60.0);
        let [vx, vy, vz] = pool.velocities();
        let mut tilted = 0;
        for i in 0..pool.len() {
            let velocity = Vec3::new(vx[i], vy[i], vz[i]);
            assert!((velocity.length() - 4.0).abs() < 1e-4, "{velocity}");
            let degrees = velocity.angle_between(Vec3::Z).to_degrees();
            assert!(degrees <= 30.0 + 1e-3, "{degrees} degrees");
            tilted += usize::from(degrees > 10.0);
        }
        assert!(
            tilted > pool.len() / 4,
            "{tilted} of {} tilted past 10 degrees",
            pool.len()
        );
    }

    #[test]
    fn speed_and_lifetime_stay_in_range() {
        let emitter = Emitter {
            rate: 60_000.0,
            speed: Spread::new(3.0, 5.0),
            lifetime: Spread::new(1.0, 2.0),
            ..default()
        };
        let (pool, _) = step_many(&emitter, 1, 1.0 / 60.0);
        let [vx, vy, vz] = pool.velocities();
        for i in 0..pool.len() {
            let speed = (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]).sqrt();
            assert!((3.0 - 1e-4..=5.0 + 1e-4).contains(&speed), "{speed}");
        }
        assert!(pool.lifetimes().iter().all(|l| (1.0..=2.0).contains(l)));
        // 1,000 uniform draws: the mean is within 3 standard errors (0.027 s) of 1.5 s,
        // and both ends of the spread are reached.
        let lifetimes = pool.lifetimes();
        let mean = lifetimes.iter().sum::<f32>() / lifetimes.len() as f32;
        assert!((mean - 1.5).abs() < 0.027, "mean lifetime {mean} s");
        let (shortest, longest) = lifetimes
            .iter()
            .fold((2.0_f32, 1.0_f32), |(lo, hi), &l| (lo.min(l), hi.max(l)));
        assert!(shortest < 1.05 && longest > 1.95, "{shortest}..{longest} s");
    }

    /// 100,000 draws in ten equal bins: each bin holds 10% give or take 0.6% (six standard
    /// deviations of a uniform draw), and none falls outside `[0, 1)`.
    #[test]
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "each draw is checked to be in [0, 1) first, so its bin is 0 to 9"
    )]
    fn unit_draws_are_uniform_in_zero_to_one() {
        let mut rng = SimRng::new(3);
        let mut bins = [0_u32; 10];
        for _ in 0..100_000 {
            let draw = rng.unit();
            assert!((0.0..1.0).contains(&draw), "{draw}");
            bins[(draw * 10.0) as usize] += 1;
        }
        assert!(
            bins.iter().all(|&n| (9_400..=10_600).contains(&n)),
            "{bins:?}"
        );
    }

    #[test]
    fn transform_moves_and_turns_the_emitter() {
        let emitter = Emitter {
            rate: 60.0,
            scatter: 0.0,
            speed: Spread::new(2.0, 2.0),
            ..default()
        };
        let mut pool = ParticlePool::with_capacity(4);
        let transform = Transform::from_xyz(5.0, 1.0, 0.0)
            .with_rotation(Quat::from_rotation_z(-core::f32::consts::FRAC_PI_2));
        emit(
            &emitter,
            &mut EmitterState::default(),
            &transform,
            &mut pool,
            &mut SimRng::new(3),
            1.0 / 60.0,
        );
        assert_eq!(pool.positions()[0], &[5.0]);
        // Up (+Y) turned a quarter turn clockwise about Z points along +X.
        let [vx, vy, _] = pool.velocities();
        assert!(
            (vx[0] - 2.0).abs() < 1e-5 && vy[0].abs() < 1e-5,
            "{vx:?} {vy:?}"
        );
    }

    #[test]
    fn a_full_pool_takes_no_more() {
        let emitter = Emitter {
            rate: 6000.0,
            ..default()
        };
        let mut pool = ParticlePool::with_capacity(10);
        let spawned = emit(
            &emitter,
            &mut EmitterState::default(),
            &Transform::default(),
            &mut pool,
            &mut SimRng::new(1),
            1.0 / 60.0,
        );
        assert_eq!(spawned, 10);
        assert_eq!(pool.len(), 10);
    }

    #[test]
    fn the_same_seed_gives_the_same_particles() {
        let emitter = Emitter {
            shape: EmitterShape::Sphere { radius: 1.0 },
            ..default()
        };
        let a = step_many(&emitter, 10, 1.0 / 60.0).0;
        let b = step_many(&emitter, 10, 1.0 / 60.0).0;
        assert_eq!(a.checksum(), b.checksum());
    }
}
