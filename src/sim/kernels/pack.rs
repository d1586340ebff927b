//! The instance pack kernel, written once over [`Lanes`]: evaluates colour and size over the
//! lifetime from each particle's age and writes the records the renderer uploads,
//! `[x, y, z, size, colour]`.

use super::lanes::{Lanes, MAX_WIDTH, RECORD_WORDS};
use super::{Gradient, LookParams};
use crate::sim::pool::Particles;

/// Packs every particle of `pool` into `out[..pool.len() * RECORD_WORDS]`: whole vectors
/// of `L`, then the tail one at a time with the scalar twin (the same operations at `f32`,
/// so every width writes the same words).
#[inline(always)]
pub(super) fn run<L: Lanes>(pool: Particles<'_>, looks: &LookParams, out: &mut [u32]) {
    run_with::<L>(pool, looks, out, L::store_records);
}

/// As [`run`], writing each whole vector's records with `store`, which has the contract of
/// [`Lanes::store_records`] (a backend passes a store of its own, such as one that writes
/// past the cache).
#[inline(always)]
pub(super) fn run_with<L: Lanes>(
    pool: Particles<'_>,
    looks: &LookParams,
    out: &mut [u32],
    store: impl Fn([L; 4], &[u32], &mut [u32]) + Copy,
) {
    let len = pool.len();
    let vector_end = len - len % L::WIDTH;
    // Every column of `body` is exactly `vector_end` long, so the compiler checks the
    // bounds once for all five, not per column (the AVX2 pack ran 17% more instructions
    // with the columns' lengths left independent).
    let body = pool.range(0..vector_end);
    let mut i = 0;
    while i < vector_end {
        particles::<L>(body, looks, L::index(i), out, store);
        i += L::WIDTH;
    }
    while i < len {
        particles::<f32>(pool, looks, i, out, f32::store_records);
        i += 1;
    }
}

/// Packs the `L::WIDTH` particles starting at index `i`, writing them with `store`.
#[inline(always)]
fn particles<L: Lanes>(
    pool: Particles<'_>,
    looks: &LookParams,
    i: usize,
    out: &mut [u32],
    store: impl Fn([L; 4], &[u32], &mut [u32]),
) {
    let [x, y, z] = pool.pos;
    let [x, y, z] = [L::load(x, i), L::load(y, i), L::load(z, i)];
    let life = (L::load(pool.age, i) / L::load(pool.lifetime, i))
        .max(L::splat(0.0))
        .min(L::splat(1.0));
    let [red, green, blue, alpha] = channels::<L, 4>(&looks.color, life);
    let [size] = channels::<L, 1>(&looks.size, life);
    // The colours stay on the stack.
    let mut colors = [0_u32; MAX_WIDTH];
    L::store_rgba8(red, green, blue, alpha, &mut colors);
    store([x, y, z, size], &colors, &mut out[i * RECORD_WORDS..]);
}

/// A gradient's channels at `life` (0 at birth, 1 at death): the first key's values plus
/// each segment's changes, weighted by how far through that segment `life` is (worked out
/// once per segment for all channels).
#[inline(always)]
fn channels<L: Lanes, const N: usize>(gradient: &Gradient<N>, life: L) -> [L; N] {
    // A loop rather than `array::map`, which is not always inlined (see `step.rs`).
    let mut value = [L::splat(0.0); N];
    for (channel, start) in value.iter_mut().zip(gradient.start) {
        *channel = L::splat(start);
    }
    for segment in &gradient.segments[..gradient.segment_count] {
        let through = ((life - L::splat(segment.from)) * L::splat(segment.inv_span))
            .max(L::splat(0.0))
            .min(L::splat(1.0));
        for (channel, change) in value.iter_mut().zip(segment.change) {
            *channel = *channel + L::splat(change) * through;
        }
    }
    value
}
