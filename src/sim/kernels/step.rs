//! The per-step kernel, written once over [`Lanes`]: forces, velocity, position, bounds and
//! age, in one pass over the columns.
//!
//! No closures or `array::map` here or in the pack: the AVX2 kernels are only AVX2 where
//! everything is inlined into them, and whether the compiler inlines those depended on how
//! the crate happened to be split into codegen units (a release build that did not was 3x
//! slower). Plain functions marked `#[inline(always)]` and loops are inlined every time.

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
    let mut pos = [L::splat(0.0); 3];
    let mut vel = pos;
    for axis in 0..3 {
        pos[axis] = L::load(columns.pos[axis], i);
        vel[axis] = L::load(columns.vel[axis], i);
    }

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
    let gravity = params.gravity;
    let mut accel = [
        L::splat(gravity[0]),
        L::splat(gravity[1]),
        L::splat(gravity[2]),
    ];
    for attractor in &params.attractors[..params.attractor_count] {
        let d = [
            L::splat(attractor.pos[0]) - pos[0],
            L::splat(attractor.pos[1]) - pos[1],
            L::splat(attractor.pos[2]) - pos[2],
        ];
        let dist2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + L::splat(attractor.softening2);
        // strength / |d|^2 along d / |d|: inverse-square falloff, softened near the centre.
        let scale = L::splat(attractor.strength) / (dist2 * dist2.sqrt());
        for axis in 0..3 {
            accel[axis] = accel[axis] + d[axis] * scale;
        }
    }
    if params.noise.strength != 0.0 {
        let frequency = L::splat(params.noise.frequency);
        let offset = params.noise.offset;
        let at = [
            pos[0] * frequency + L::splat(offset[0]),
            pos[1] * frequency + L::splat(offset[1]),
            pos[2] * frequency + L::splat(offset[2]),
        ];
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
