//! `ParticlePool`: every particle as structure-of-arrays columns, sized once.
//!
//! Particles are not entities. Each column holds one `f32` (or packed `u32`) per live
//! particle; indices `0..len` are alive and tightly packed, so kernels run over plain
//! slices. Capacity is fixed at start-up: spawning stops when the pool is full and culling
//! swap-removes, so neither ever allocates.

use bevy::prelude::*;

/// Bytes one particle takes across all columns: position and velocity (6 × 4), age and
/// lifetime (2 × 4). Colour and size follow from age and lifetime and are worked out when
/// the instance records are packed, so they take no room here.
pub const BYTES_PER_PARTICLE: usize = 8 * 4;

/// The largest capacity a pool may be given, in particles (128 MB of columns).
pub const MAX_CAPACITY: usize = 4_000_000;

/// The particles, as columns. Index `i` of every column is particle `i`.
#[derive(Resource, Debug, Clone, Default)]
pub struct ParticlePool {
    capacity: usize,
    len: usize,
    /// Positions in world units (metres).
    pub(crate) pos: [Vec<f32>; 3],
    /// Velocities in metres per second.
    pub(crate) vel: [Vec<f32>; 3],
    /// Time since spawn, in seconds.
    pub(crate) age: Vec<f32>,
    /// Time the particle lives, in seconds.
    pub(crate) lifetime: Vec<f32>,
}

/// What a new particle starts with; colour and size follow from its age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewParticle {
    /// Position in metres.
    pub pos: [f32; 3],
    /// Velocity in metres per second.
    pub vel: [f32; 3],
    /// Seconds the particle lives.
    pub lifetime: f32,
}

/// Mutable views of the columns of the live particles, all the same length.
pub struct Columns<'a> {
    /// Positions in metres, x, y and z.
    pub pos: [&'a mut [f32]; 3],
    /// Velocities in metres per second.
    pub vel: [&'a mut [f32]; 3],
    /// Ages in seconds.
    pub age: &'a mut [f32],
    /// Lifetimes in seconds.
    pub lifetime: &'a mut [f32],
}

impl Columns<'_> {
    /// Number of particles in the view.
    #[must_use]
    pub fn len(&self) -> usize {
        self.age.len()
    }

    /// True when the view holds no particles.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// Splits the view at particle `mid`: `[0, mid)` and `[mid, len)`.
    ///
    /// Always inlined, so a kernel that splits off whole vectors sees every column's
    /// length and its loads and stores need no bounds checks (in the browser the step was
    /// 3% slower when this was a call).
    #[must_use]
    #[inline(always)]
    #[expect(clippy::inline_always, reason = "see above")]
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        let [px, py, pz] = self.pos;
        let [vx, vy, vz] = self.vel;
        let (px0, px1) = px.split_at_mut(mid);
        let (py0, py1) = py.split_at_mut(mid);
        let (pz0, pz1) = pz.split_at_mut(mid);
        let (vx0, vx1) = vx.split_at_mut(mid);
        let (vy0, vy1) = vy.split_at_mut(mid);
        let (vz0, vz1) = vz.split_at_mut(mid);
        let (age0, age1) = self.age.split_at_mut(mid);
        let (life0, life1) = self.lifetime.split_at_mut(mid);
        (
            Columns {
                pos: [px0, py0, pz0],
                vel: [vx0, vy0, vz0],
                age: age0,
                lifetime: life0,
            },
            Columns {
                pos: [px1, py1, pz1],
                vel: [vx1, vy1, vz1],
                age: age1,
                lifetime: life1,
            },
        )
    }
}

/// The columns the pack reads, for the live particles (or a range of them), all the same
/// length.
#[derive(Debug, Clone, Copy)]
pub struct Particles<'a> {
    /// Positions in metres, x, y and z.
    pub pos: [&'a [f32]; 3],
    /// Ages in seconds.
    pub age: &'a [f32],
    /// Lifetimes in seconds.
    pub lifetime: &'a [f32],
}

impl<'a> Particles<'a> {
    /// Number of particles in the view.
    #[must_use]
    pub fn len(&self) -> usize {
        self.age.len()
    }

    /// True when the view holds no particles.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// Particles `range` of the view.
    ///
    /// Always inlined, so a kernel that cuts off whole vectors sees every column's length
    /// (as [`Columns::split_at`]).
    ///
    /// # Panics
    /// If `range` is not inside the view.
    #[must_use]
    #[inline(always)]
    #[expect(clippy::inline_always, reason = "see above")]
    pub fn range(&self, range: core::ops::Range<usize>) -> Particles<'a> {
        let [x, y, z] = self.pos;
        Particles {
            pos: [&x[range.clone()], &y[range.clone()], &z[range.clone()]],
            age: &self.age[range.clone()],
            lifetime: &self.lifetime[range],
        }
    }
}

impl ParticlePool {
    /// A pool for up to `capacity` particles (clamped to [`MAX_CAPACITY`]); all memory is
    /// taken here, once.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        let column = || vec![0.0_f32; capacity];
        Self {
            capacity,
            len: 0,
            pos: [column(), column(), column()],
            vel: [column(), column(), column()],
            age: column(),
            lifetime: column(),
        }
    }

    /// Live particles.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no particle is alive.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most particles the pool holds.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Free slots left, in particles.
    #[must_use]
    pub fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// Bytes the columns take (capacity × [`BYTES_PER_PARTICLE`]).
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.capacity * BYTES_PER_PARTICLE
    }

    /// Adds a particle in the next free slot; returns false (and drops it) when full.
    pub fn push(&mut self, particle: NewParticle) -> bool {
        if self.len == self.capacity {
            return false;
        }
        let i = self.len;
        for axis in 0..3 {
            self.pos[axis][i] = particle.pos[axis];
            self.vel[axis][i] = particle.vel[axis];
        }
        self.age[i] = 0.0;
        self.lifetime[i] = particle.lifetime;
        self.len += 1;
        true
    }

    /// Removes every particle whose age has reached its lifetime, moving the last live
    /// particle into each hole. Returns how many were removed.
    pub fn cull_expired(&mut self) -> usize {
        let before = self.len;
        let mut i = 0;
        while i < self.len {
            if self.age[i] >= self.lifetime[i] {
                self.swap_remove(i);
            } else {
                i += 1;
            }
        }
        before - self.len
    }

    fn swap_remove(&mut self, i: usize) {
        let last = self.len - 1;
        for axis in 0..3 {
            self.pos[axis][i] = self.pos[axis][last];
            self.vel[axis][i] = self.vel[axis][last];
        }
        self.age[i] = self.age[last];
        self.lifetime[i] = self.lifetime[last];
        self.len = last;
    }

    /// Removes every particle (capacity and memory stay).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Mutable views of the live particles' columns.
    pub fn columns_mut(&mut self) -> Columns<'_> {
        let n = self.len;
        let [px, py, pz] = &mut self.pos;
        let [vx, vy, vz] = &mut self.vel;
        Columns {
            pos: [&mut px[..n], &mut py[..n], &mut pz[..n]],
            vel: [&mut vx[..n], &mut vy[..n], &mut vz[..n]],
            age: &mut self.age[..n],
            lifetime: &mut self.lifetime[..n],
        }
    }

    /// The live particles' positions, ages and lifetimes: what the pack reads.
    #[must_use]
    pub fn particles(&self) -> Particles<'_> {
        let [x, y, z] = self.positions();
        Particles {
            pos: [x, y, z],
            age: self.ages(),
            lifetime: self.lifetimes(),
        }
    }

    /// Positions of the live particles, in metres.
    #[must_use]
    pub fn positions(&self) -> [&[f32]; 3] {
        let n = self.len;
        [&self.pos[0][..n], &self.pos[1][..n], &self.pos[2][..n]]
    }

    /// Velocities of the live particles, in metres per second.
    #[must_use]
    pub fn velocities(&self) -> [&[f32]; 3] {
        let n = self.len;
        [&self.vel[0][..n], &self.vel[1][..n], &self.vel[2][..n]]
    }

    /// Ages of the live particles, in seconds.
    #[must_use]
    pub fn ages(&self) -> &[f32] {
        &self.age[..self.len]
    }

    /// Lifetimes of the live particles, in seconds.
    #[must_use]
    pub fn lifetimes(&self) -> &[f32] {
        &self.lifetime[..self.len]
    }

    /// A 64-bit FNV-1a hash of every live particle's bits, column by column: equal
    /// checksums mean bit-identical state.
    #[must_use]
    pub fn checksum(&self) -> u64 {
        let mut hash = Fnv1a::default();
        hash.feed(u32::try_from(self.len).unwrap_or(u32::MAX));
        let n = self.len;
        let columns = self
            .pos
            .iter()
            .chain(&self.vel)
            .chain([&self.age, &self.lifetime]);
        for column in columns {
            column[..n]
                .iter()
                .for_each(|value| hash.feed(value.to_bits()));
        }
        hash.finish()
    }
}

/// 64-bit FNV-1a over 32-bit words, little-endian: the state checksums' hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Mixes in `word`'s four bytes, low byte first.
    pub(crate) fn feed(&mut self, word: u32) {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        for byte in word.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }

    /// The hash of every word fed so far.
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact values are expected here")]
mod tests {
    use super::*;

    fn particle(x: f32, lifetime: f32) -> NewParticle {
        NewParticle {
            pos: [x, 0.0, 0.0],
            vel: [0.0; 3],
            lifetime,
        }
    }

    #[test]
    fn views_are_empty_only_without_particles() {
        let mut pool = ParticlePool::with_capacity(4);
        assert!(pool.is_empty());
        assert!(pool.particles().is_empty() && pool.columns_mut().is_empty());
        pool.push(particle(1.0, 1.0));
        assert!(!pool.is_empty());
        assert!(!pool.particles().is_empty() && !pool.columns_mut().is_empty());
        assert!(pool.particles().range(1..1).is_empty());
    }

    #[test]
    fn clear_empties_the_pool_and_keeps_its_room() {
        let mut pool = ParticlePool::with_capacity(3);
        pool.push(particle(1.0, 1.0));
        pool.push(particle(2.0, 1.0));
        pool.clear();
        assert_eq!((pool.len(), pool.free(), pool.capacity()), (0, 3, 3));
        assert!(pool.push(particle(3.0, 1.0)));
        assert_eq!(pool.positions()[0], &[3.0]);
    }

    #[test]
    fn push_stops_at_capacity() {
        let mut pool = ParticlePool::with_capacity(2);
        assert_eq!((pool.capacity(), pool.free()), (2, 2));
        assert!(pool.push(particle(1.0, 1.0)));
        assert!(pool.push(particle(2.0, 1.0)));
        assert!(!pool.push(particle(3.0, 1.0)));
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.free(), 0);
        assert_eq!(pool.bytes(), 2 * BYTES_PER_PARTICLE);
    }

    #[test]
    fn cull_swap_removes_expired_and_keeps_the_rest_packed() {
        let mut pool = ParticlePool::with_capacity(8);
        for (x, lifetime) in [(0.0, 0.0), (1.0, 5.0), (2.0, 0.0), (3.0, 5.0), (4.0, 0.0)] {
            pool.push(particle(x, lifetime));
        }
        assert_eq!(pool.cull_expired(), 3);
        let mut xs = pool.positions()[0].to_vec();
        xs.sort_by(f32::total_cmp);
        assert_eq!(xs, vec![1.0, 3.0]);
        assert!(pool.lifetimes().iter().all(|&l| l == 5.0));
    }

    /// The hash is standard 64-bit FNV-1a: the bytes of "sparkben" fed as two
    /// little-endian words hash to what a separate implementation (Python) gives for them.
    #[test]
    fn the_checksum_hash_is_fnv1a_over_little_endian_words() {
        let mut hash = Fnv1a::default();
        hash.feed(0x7261_7073);
        hash.feed(0x6e65_626b);
        assert_eq!(hash.finish(), 0xe6fb_4f99_fb1e_612b);
        assert_eq!(
            Fnv1a::default().finish(),
            0xcbf2_9ce4_8422_2325,
            "the offset basis"
        );
    }

    #[test]
    fn checksum_sees_a_single_bit() {
        let mut pool = ParticlePool::with_capacity(4);
        pool.push(particle(1.0, 1.0));
        let before = pool.checksum();
        pool.pos[1][0] = f32::from_bits(pool.pos[1][0].to_bits() ^ 1);
        assert_ne!(before, pool.checksum());
    }

    /// `bytes` reports what the columns really hold: 32 bytes a particle (eight `f32`
    /// columns), counted from the columns' own allocations.
    #[test]
    fn bytes_are_what_the_columns_hold() {
        let pool = ParticlePool::with_capacity(1000);
        let held: usize = pool
            .pos
            .iter()
            .chain(&pool.vel)
            .chain([&pool.age, &pool.lifetime])
            .map(|column| column.capacity() * size_of::<f32>())
            .sum();
        assert_eq!(held, 32_000);
        assert_eq!(pool.bytes(), held);
        assert_eq!(BYTES_PER_PARTICLE, 32);
    }
}
