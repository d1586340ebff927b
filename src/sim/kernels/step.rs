//! The per-step kernel, written once over [`Lanes`]: forces, velocity, position, bounds and
//! age, in one pass over the columns.
//!
//! No closures or `array::map` here or in the pack: the AVX2 kernels are only AVX2 where
//! everything is inlined into them, and whether the compiler inlines those depended on how
//! the crate happened to be split into codegen units (a release build that did not was 3x
//! slower). Plain functions marked `#[inline(always)]` and loops are inlined every time.

use super::lanes::Lanes;
use super::{AttractorParams, MAX_ATTRACTORS, NoiseParams, StepParams};
use crate::sim::pool::Columns;

/// The step's numbers with the time step folded in: gravity, attractor and noise strengths
/// as velocity changes per step (m/s) rather than accelerations (m/s²), which saves a
/// multiply per axis per particle. Worked out once per call in `f32`, so every backend and
/// platform folds to the same bits.
struct PerStep {
    /// The step, in seconds.
    dt: f32,
    /// Velocity kept per step after drag (0 to 1).
    damping: f32,
    /// Gravity × dt, in m/s.
    gravity: [f32; 3],
    /// The attractors with `strength` × dt (m/s at 1 m).
    attractors: [AttractorParams; MAX_ATTRACTORS],
    /// The noise field with `strength` × dt (m/s).
    noise: NoiseParams,
    /// Lowest corner of the bounds, in metres.
    low: [f32; 3],
    /// Highest corner of the bounds, in metres.
    high: [f32; 3],
    /// `1 + restitution`: an outward velocity `v` becomes `v - (1 + restitution) v`.
    bounce_loss: f32,
}

impl PerStep {
    /// `params` with `dt` folded in.
    #[inline(always)]
    fn new(params: &StepParams) -> Self {
        let dt = params.dt;
        let mut attractors = params.attractors;
        for attractor in &mut attractors {
            attractor.strength *= dt;
        }
        let mut noise = params.noise;
        noise.strength *= dt;
        Self {
            dt,
            damping: params.damping,
            gravity: [
                params.gravity[0] * dt,
                params.gravity[1] * dt,
                params.gravity[2] * dt,
            ],
            attractors,
            noise,
            low: params.bounds.min,
            high: params.bounds.max,
            bounce_loss: 1.0 + params.bounds.restitution,
        }
    }
}

/// Steps every particle in `columns`.
///
/// Whether the noise field is on and how many attractors there are become constants, so
/// each combination gets its own copy of the loop, with the attractors unrolled and no
/// noise test per particle. In the browser the unrolling saved about 9% of the step at
/// 1 M particles (V8 does not hoist the inner loop's overhead out of the particle loop);
/// natively, with the test inside the loop, LLVM worked out the noise for every scalar
/// particle whether the field was on or not and kept the result only when it was (scalar
/// step 8x slower, in `floorf`).
#[inline(always)]
pub(super) fn run<L: Lanes>(columns: Columns<'_>, params: &StepParams) {
    let step = PerStep::new(params);
    if step.noise.strength == 0.0 {
        run_by_count::<L, false>(columns, &step, params.attractor_count);
    } else {
        run_by_count::<L, true>(columns, &step, params.attractor_count);
    }
}

/// [`run_with`] for `attractors` attractors.
#[inline(always)]
fn run_by_count<L: Lanes, const NOISE: bool>(
    columns: Columns<'_>,
    step: &PerStep,
    attractors: usize,
) {
    match attractors {
        0 => run_with::<L, 0, NOISE>(columns, step),
        1 => run_with::<L, 1, NOISE>(columns, step),
        2 => run_with::<L, 2, NOISE>(columns, step),
        3 => run_with::<L, 3, NOISE>(columns, step),
        4 => run_with::<L, 4, NOISE>(columns, step),
        5 => run_with::<L, 5, NOISE>(columns, step),
        6 => run_with::<L, 6, NOISE>(columns, step),
        7 => run_with::<L, 7, NOISE>(columns, step),
        _ => run_with::<L, MAX_ATTRACTORS, NOISE>(columns, step),
    }
}

/// Steps every particle in `columns` under the first `N` attractors and, if `NOISE`, the
/// noise field: whole vectors of `L`, then the tail one at a time with the scalar twin (the
/// same operations at `f32`, so the tail's bits match too).
///
/// In wasm each copy is a function of its own: V8 compiled the loop to slower code when all
/// the copies were inlined into one large function. Natively it must inline into the
/// backend's `#[target_feature]` function.
#[cfg_attr(target_arch = "wasm32", inline(never))]
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn run_with<L: Lanes, const N: usize, const NOISE: bool>(columns: Columns<'_>, step: &PerStep) {
    let vectors = columns.len() / L::WIDTH;
    // Every column of `body` is exactly `vectors * WIDTH` long, which lets the compiler
    // drop the bounds checks on each load and store.
    let (mut body, mut tail) = columns.split_at(vectors * L::WIDTH);
    for vector in 0..vectors {
        particles::<L, N, NOISE>(&mut body, L::index(vector * L::WIDTH), step);
    }
    for i in 0..tail.len() {
        particles::<f32, N, NOISE>(&mut tail, i, step);
    }
}

/// Steps the `L::WIDTH` particles starting at index `i`.
#[inline(always)]
fn particles<L: Lanes, const N: usize, const NOISE: bool>(
    columns: &mut Columns<'_>,
    i: usize,
    step: &PerStep,
) {
    let mut pos = [L::splat(0.0); 3];
    let mut vel = pos;
    for axis in 0..3 {
        pos[axis] = L::load(columns.pos[axis], i);
        vel[axis] = L::load(columns.vel[axis], i);
    }

    let dv = velocity_change::<L, N, NOISE>(pos, step);
    let dt = L::splat(step.dt);
    let damping = L::splat(step.damping);
    for axis in 0..3 {
        vel[axis] = (vel[axis] + dv[axis]) * damping;
        pos[axis] = pos[axis] + vel[axis] * dt;
        bounce::<L>(&mut pos[axis], &mut vel[axis], axis, step);
    }
    for axis in 0..3 {
        pos[axis].store(columns.pos[axis], i);
        vel[axis].store(columns.vel[axis], i);
    }

    let age = L::load(columns.age, i) + dt;
    age.store(columns.age, i);
}

/// The velocity change over one step from gravity, the first `N` attractors and, if
/// `NOISE`, the noise flow field at `pos`, in m/s.
#[inline(always)]
fn velocity_change<L: Lanes, const N: usize, const NOISE: bool>(
    pos: [L; 3],
    step: &PerStep,
) -> [L; 3] {
    let gravity = step.gravity;
    let mut dv = [
        L::splat(gravity[0]),
        L::splat(gravity[1]),
        L::splat(gravity[2]),
    ];
    for attractor in &step.attractors[..N] {
        let d = [
            L::splat(attractor.pos[0]) - pos[0],
            L::splat(attractor.pos[1]) - pos[1],
            L::splat(attractor.pos[2]) - pos[2],
        ];
        let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + L::splat(attractor.softening2);
        // strength / |d|^2 along d / |d|: inverse-square falloff, softened near the centre.
        let scale = L::splat(attractor.strength) / (dist2 * dist2.sqrt());
        for axis in 0..3 {
            dv[axis] = dv[axis] + d[axis] * scale;
        }
    }
    if NOISE {
        let noise = &step.noise;
        let frequency = L::splat(noise.frequency);
        let at = [
            pos[0] * frequency + L::splat(noise.offset[0]),
            pos[1] * frequency + L::splat(noise.offset[1]),
            pos[2] * frequency + L::splat(noise.offset[2]),
        ];
        let flow = value_noise::<L>(at);
        let strength = L::splat(noise.strength);
        for axis in 0..3 {
            dv[axis] = dv[axis] + flow[axis] * strength;
        }
    }
    dv
}

/// Keeps one axis inside the bounds: a particle past a wall is put on it and, if it is
/// still moving outwards (its overshoot and velocity have the same sign), bounced back
/// with the restitution: `v - (1 + restitution) v`, a masked subtract, which V8 runs
/// faster than a select between `v` and `-restitution v`.
#[inline(always)]
fn bounce<L: Lanes>(pos: &mut L, vel: &mut L, axis: usize, step: &PerStep) {
    let inside = pos
        .max(L::splat(step.low[axis]))
        .min(L::splat(step.high[axis]));
    let outwards = ((*pos - inside) * *vel).gt(L::splat(0.0));
    *vel = *vel - L::keep(outwards, *vel * L::splat(step.bounce_loss));
    *pos = inside;
}

/// A smooth random vector field with components in `[-1, 1)`: value noise on the unit
/// lattice, hashed with arithmetic alone (no libm), smoothly interpolated between corners.
#[inline(always)]
fn value_noise<L: Lanes>(at: [L; 3]) -> [L; 3] {
    let one = L::splat(1.0);
    let cell = [at[0].floor(), at[1].floor(), at[2].floor()];
    let weight = [
        smoothstep(at[0] - cell[0]),
        smoothstep(at[1] - cell[1]),
        smoothstep(at[2] - cell[2]),
    ];
    let x00 = lerp3(
        corner(cell, [false, false, false]),
        corner(cell, [true, false, false]),
        weight[0],
    );
    let x10 = lerp3(
        corner(cell, [false, true, false]),
        corner(cell, [true, true, false]),
        weight[0],
    );
    let x01 = lerp3(
        corner(cell, [false, false, true]),
        corner(cell, [true, false, true]),
        weight[0],
    );
    let x11 = lerp3(
        corner(cell, [false, true, true]),
        corner(cell, [true, true, true]),
        weight[0],
    );
    let y0 = lerp3(x00, x10, weight[1]);
    let y1 = lerp3(x01, x11, weight[1]);
    let [x, y, z] = lerp3(y0, y1, weight[2]);
    let two = L::splat(2.0);
    [x * two - one, y * two - one, z * two - one]
}

/// Smoothstep weight `3f² - 2f³` of a fraction `f` in `[0, 1)`, so the field's slope is
/// continuous across cells.
#[inline(always)]
fn smoothstep<L: Lanes>(f: L) -> L {
    f * f * (L::splat(3.0) - L::splat(2.0) * f)
}

/// The hashed values at one corner of the cell: `cell` moved by 1 along each axis in `offset`.
#[inline(always)]
fn corner<L: Lanes>(cell: [L; 3], offset: [bool; 3]) -> [L; 3] {
    hash3::<L>(
        next_if(cell[0], offset[0]),
        next_if(cell[1], offset[1]),
        next_if(cell[2], offset[2]),
    )
}

/// `coordinate + 1` when `on`, else `coordinate`.
#[inline(always)]
fn next_if<L: Lanes>(coordinate: L, on: bool) -> L {
    if on {
        coordinate + L::splat(1.0)
    } else {
        coordinate
    }
}

/// `a + (b - a) × t` for each of three vectors.
#[inline(always)]
fn lerp3<L: Lanes>(a: [L; 3], b: [L; 3], t: L) -> [L; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Three pseudo-random values in `[0, 1)` for a lattice point, from multiplies, adds and
/// fractional parts only (a "hash without sine"), so every platform agrees bit for bit.
#[inline(always)]
fn hash3<L: Lanes>(x: L, y: L, z: L) -> [L; 3] {
    let mut px = (x * L::splat(0.1031)).fract();
    let mut py = (y * L::splat(0.1030)).fract();
    let mut pz = (z * L::splat(0.0973)).fract();
    let k = L::splat(33.33);
    let dot = px * (py + k) + py * (px + k) + pz * (pz + k);
    px = px + dot;
    py = py + dot;
    pz = pz + dot;
    [
        ((px + py) * pz).fract(),
        ((px + px) * py).fract(),
        ((py + px) * px).fract(),
    ]
}

#[cfg(test)]
mod tests {
    use super::value_noise;

    /// Points on a 7 × 7 grid of a cell wall's face, in cells.
    fn wall_points() -> impl Iterator<Item = (f32, f32)> {
        (0..7).flat_map(|a| (0..7).map(move |b| (a as f32 * 0.61 - 2.1, b as f32 * 0.37 + 0.4)))
    }

    /// The field is continuous and flat across cell walls: smoothstep's slope is 0 at a
    /// wall, so within `SIDE` of it a component (corners up to 2 apart) moves by at most
    /// 2 × 3 × SIDE², 6e-6 per side. Checked on either side of four walls along each axis.
    #[test]
    fn the_field_is_continuous_across_cell_walls() {
        const SIDE: f32 = 1.0e-3;
        const MOST: f32 = 2.0 * 2.0 * 3.0 * SIDE * SIDE + 1.0e-6;
        for wall in [-3.0_f32, 0.0, 1.0, 4.0] {
            for (a, b) in wall_points() {
                for axis in 0..3 {
                    let at = |x: f32| match axis {
                        0 => [x, a, b],
                        1 => [a, x, b],
                        _ => [a, b, x],
                    };
                    let (before, after) =
                        (value_noise(at(wall - SIDE)), value_noise(at(wall + SIDE)));
                    for (u, v) in before.into_iter().zip(after) {
                        assert!(
                            (u - v).abs() <= MOST,
                            "a jump across {wall} on axis {axis} at ({a}, {b}): {before:?} -> {after:?}"
                        );
                    }
                }
            }
        }
    }

    /// Every component lies in [-1, 1), at the lattice points of a 12-cell cube and
    /// between them, and it reaches both ends of that range (the corners' hashes spread
    /// over [0, 1)) and averages near 0.
    #[test]
    fn the_field_spans_minus_one_to_one_around_zero() {
        let (mut low, mut high, mut sum, mut count) = (f32::MAX, f32::MIN, 0.0_f64, 0.0_f64);
        let cells =
            (-6..6).flat_map(|x| (-6..6).flat_map(move |y| (-6..6).map(move |z| [x, y, z])));
        // Each lattice point, and a point 0.37 of a cell on along every axis.
        let points = cells.flat_map(|cell| [0.0, 0.37].map(|into| cell.map(|c| c as f32 + into)));
        for at in points {
            for value in value_noise(at) {
                assert!((-1.0..1.0).contains(&value), "{at:?}: {value}");
                low = low.min(value);
                high = high.max(value);
                sum += f64::from(value);
                count += 1.0;
            }
        }
        assert!(low < -0.9 && high > 0.9, "the field spans {low} to {high}");
        assert!((sum / count).abs() < 0.1, "mean {}", sum / count);
    }
}
