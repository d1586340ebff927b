//! The per-step kernel, written once over [`Lanes`]: forces, velocity, position, bounds and
//! age, in one pass over the columns.

use super::StepParams;
use super::lanes::Lanes;
use crate::sim::pool::Columns;

/// Steps every particle in `columns`: whole vectors of `L`, then the tail one at a time with
/// the scalar twin (the same operations at `f32`, so the tail's bits match too).
#[inline(always)]
pub(super) fn run<L: Lanes>(mut columns: Columns<'_>, params: &StepParams) {
    let len = columns.len();
    let vector_end = len - len % L::WIDTH;
    let mut i = 0;
    while i < vector_end {
        particles::<L>(&mut columns, i, params);
        i += L::WIDTH;
    }
    while i < len {
        particles::<f32>(&mut columns, i, params);
        i += 1;
    }
}

/// Steps the `L::WIDTH` particles starting at index `i`.
#[inline(always)]
fn particles<L: Lanes>(columns: &mut Columns<'_>, i: usize, params: &StepParams) {
    let mut pos = columns.pos.each_ref().map(|column| L::load(column, i));
    let mut vel = columns.vel.each_ref().map(|column| L::load(column, i));

    let accel = acceleration::<L>(pos, params);
    let dt = L::splat(params.dt);
    let damping = L::splat(params.damping);
    for axis in 0..3 {
        vel[axis] = (vel[axis] + accel[axis] * dt) * damping;
        pos[axis] = pos[axis] + vel[axis] * dt;
        bounce::<L>(&mut pos[axis], &mut vel[axis], axis, params);
    }
    for axis in 0..3 {
        pos[axis].store(columns.pos[axis], i);
        vel[axis].store(columns.vel[axis], i);
    }

    let age = L::load(columns.age, i) + dt;
    age.store(columns.age, i);
}

/// Gravity, attractors and the noise flow field at `pos`, in metres per second squared.
#[inline(always)]
fn acceleration<L: Lanes>(pos: [L; 3], params: &StepParams) -> [L; 3] {
    let mut accel = params.gravity.map(L::splat);
    for attractor in &params.attractors[..params.attractor_count] {
        let d = [0, 1, 2].map(|axis| L::splat(attractor.pos[axis]) - pos[axis]);
        let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + L::splat(attractor.softening2);
        // strength / |d|^2 along d / |d|: inverse-square falloff, softened near the centre.
        let scale = L::splat(attractor.strength) / (dist2 * dist2.sqrt());
        for axis in 0..3 {
            accel[axis] = accel[axis] + d[axis] * scale;
        }
    }
    if params.noise.strength != 0.0 {
        let frequency = L::splat(params.noise.frequency);
        let at = [0, 1, 2].map(|axis| pos[axis] * frequency + L::splat(params.noise.offset[axis]));
        let flow = value_noise::<L>(at);
        let strength = L::splat(params.noise.strength);
        for axis in 0..3 {
            accel[axis] = accel[axis] + flow[axis] * strength;
        }
    }
    accel
}

/// Keeps one axis inside the bounds: a particle past a wall is put on it and, if it is
/// still moving outwards (its overshoot and velocity have the same sign), bounced back
/// with the restitution.
#[inline(always)]
fn bounce<L: Lanes>(pos: &mut L, vel: &mut L, axis: usize, params: &StepParams) {
    let low = L::splat(params.bounds.min[axis]);
    let high = L::splat(params.bounds.max[axis]);
    let inside = pos.max(low).min(high);
    let outwards = ((*pos - inside) * *vel).gt(L::splat(0.0));
    *vel = L::select(outwards, *vel * L::splat(-params.bounds.restitution), *vel);
    *pos = inside;
}

/// A smooth random vector field with components in `[-1, 1)`: value noise on the unit
/// lattice, hashed with arithmetic alone (no libm), smoothly interpolated between corners.
#[inline(always)]
fn value_noise<L: Lanes>(at: [L; 3]) -> [L; 3] {
    let one = L::splat(1.0);
    let cell = at.map(L::floor);
    let frac = [0, 1, 2].map(|axis| at[axis] - cell[axis]);
    // Smoothstep weights, 3f² - 2f³, so the field's slope is continuous across cells.
    let weight = frac.map(|f| f * f * (L::splat(3.0) - L::splat(2.0) * f));
    let corner = |dx: bool, dy: bool, dz: bool| {
        let step = |on: bool, value: L| if on { value + one } else { value };
        hash3::<L>(step(dx, cell[0]), step(dy, cell[1]), step(dz, cell[2]))
    };
    let lerp = |a: [L; 3], b: [L; 3], t: L| [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * t);
    let x00 = lerp(
        corner(false, false, false),
        corner(true, false, false),
        weight[0],
    );
    let x10 = lerp(
        corner(false, true, false),
        corner(true, true, false),
        weight[0],
    );
    let x01 = lerp(
        corner(false, false, true),
        corner(true, false, true),
        weight[0],
    );
    let x11 = lerp(
        corner(false, true, true),
        corner(true, true, true),
        weight[0],
    );
    let y0 = lerp(x00, x10, weight[1]);
    let y1 = lerp(x01, x11, weight[1]);
    lerp(y0, y1, weight[2]).map(|v| v * L::splat(2.0) - one)
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
