//! The instance pack kernel, written once over [`Lanes`]: interleaves the position, size
//! and colour columns into the records the renderer uploads, `[x, y, z, size, colour]`.

use super::lanes::Lanes;
use crate::sim::pool::ParticlePool;

/// Packs every live particle of `pool` into `out[..pool.len() * RECORD_WORDS]`: whole
/// vectors of `L`, then the tail one at a time with the scalar twin. Packing only moves
/// bits, so every width writes the same words.
#[inline(always)]
pub(super) fn run<L: Lanes>(pool: &ParticlePool, out: &mut [u32]) {
    let [x, y, z] = pool.positions();
    let (sizes, colors) = (pool.sizes(), pool.colors());
    let len = pool.len();
    let vector_end = len - len % L::WIDTH;
    let mut i = 0;
    while i < vector_end {
        let columns = [x, y, z, sizes].map(|column| L::load(column, i));
        L::store_records(columns, colors, i, out);
        i += L::WIDTH;
    }
    while i < len {
        let columns = [x, y, z, sizes].map(|column| f32::load(column, i));
        f32::store_records(columns, colors, i, out);
        i += 1;
    }
}
