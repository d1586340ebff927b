//! The update kernels and the choice of SIMD backend.
//!
//! Two kernels: [`step`] advances every particle by one fixed time step (forces, velocity,
//! position, bounds and age) in a single pass over the columns, and [`pack`] writes the
//! renderer's instance records, evaluating colour and size over the lifetime
//! from each particle's age as it goes (the pool does not store them: they are only
//! needed once per drawn frame, not every step). Both are written once over
//! a small lane trait (`lanes::Lanes`) and compiled for each backend:
//!
//! | backend   | lanes | where                          | how                                 |
//! |-----------|-------|--------------------------------|-------------------------------------|
//! | `avx512`  | 16    | `x86_64` CPUs with AVX-512F (checked at run time) | `core::arch` intrinsics |
//! | `avx2`    | 8     | `x86_64` CPUs with AVX2 (checked at run time) | `core::arch` intrinsics |
//! | `sse2`    | 4     | every `x86_64` CPU             | `wide::f32x4`                       |
//! | `simd128` | 4     | wasm32 built with `+simd128`   | `wide::f32x4`                       |
//! | `neon`    | 4     | aarch64                        | `wide::f32x4`                       |
//! | `scalar`  | 1     | everywhere                     | the same code at `f32`              |
//!
//! "scalar" is the kernel instantiated at plain `f32`, one particle per loop iteration.
//! Its loop index goes through `black_box` (`Lanes::index`), so the compiler
//! cannot auto-vectorise it with the target's baseline vector instructions (SSE2 on
//! `x86_64`, simd128 in the wasm bundle): it is the no-vector floor, natively and in the
//! browser. All backends give bit-identical results: every operation is exactly rounded,
//! a compare-and-select or a mask, and none is fused (no FMA).
//!
//! Both kernels split large pools into chunks across the [`Dispatcher`]'s threads (each
//! particle is independent, so the bits do not change), and `*_on_this_thread` runs one
//! on the calling thread alone. The AVX2 and AVX-512 entry points take a token that only
//! run-time detection returns, so their `core::arch` code cannot run on a CPU without it.

#![expect(
    clippy::inline_always,
    reason = "the kernel and the lane operations must inline into each backend's entry point: \
              an AVX2 intrinsic only compiles to AVX2 inside a function with AVX2 enabled"
)]

use bevy::prelude::*;

/// Implements `Add`, `Sub`, `Mul` and `Div` for `$lanes`, a wrapper of one `core::arch`
/// register, each with the given intrinsic. The calling module says why its intrinsics are
/// safe to call (its `SAFETY` note).
#[cfg(target_arch = "x86_64")]
macro_rules! arithmetic_from_intrinsics {
    ($lanes:ident: $($trait:ident $method:ident $intrinsic:ident),+) => {
        $(
            impl core::ops::$trait for $lanes {
                type Output = Self;
                #[inline(always)]
                fn $method(self, rhs: Self) -> Self {
                    // SAFETY: see the note in the calling module.
                    Self(unsafe { $intrinsic(self.0, rhs.0) })
                }
            }
        )+
    };
}

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX2 chosen at run time needs `core::arch`; see the module"
)]
mod avx2;
#[cfg(target_arch = "x86_64")]
#[expect(unsafe_code, reason = "as AVX2")]
mod avx512;
pub mod dispatch;
mod lanes;
mod pack;
#[expect(
    unsafe_code,
    reason = "threads write disjoint chunks of one column; see the module"
)]
mod shared;
mod step;
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
mod wide4;

pub use lanes::RECORD_WORDS;

pub use dispatch::{Dispatcher, Split};

use crate::sim::pool::{Columns, Particles};
use shared::{SharedColumns, SharedSlice};

/// Most point attractors (or repulsors) at once.
pub const MAX_ATTRACTORS: usize = 8;
/// Most keys in a colour or size gradient.
pub const MAX_GRADIENT_KEYS: usize = 6;

/// A set of SIMD instructions the kernels can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reflect)]
pub enum Backend {
    /// One particle at a time, plain `f32` (see the module docs).
    Scalar,
    /// 4 lanes, x86_64 SSE2.
    Sse2,
    /// 8 lanes, x86_64 AVX2.
    Avx2,
    /// 16 lanes, x86_64 AVX-512F.
    Avx512,
    /// 4 lanes, WebAssembly 128-bit SIMD.
    Simd128,
    /// 4 lanes, aarch64 NEON.
    Neon,
}

impl Backend {
    /// Every backend, best last.
    pub const ALL: [Self; 6] = [
        Self::Scalar,
        Self::Sse2,
        Self::Simd128,
        Self::Neon,
        Self::Avx2,
        Self::Avx512,
    ];

    /// The backend's short name, as shown in the overlay and captures.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Sse2 => "sse2",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
            Self::Simd128 => "simd128",
            Self::Neon => "neon",
        }
    }

    /// True when this build on this CPU can run the backend.
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Self::Scalar => true,
            Self::Sse2 => cfg!(target_arch = "x86_64"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => avx2::Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => avx512::Avx512::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx2 | Self::Avx512 => false,
            Self::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
            Self::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// The widest backend this build can run on this CPU.
    #[must_use]
    pub fn best() -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|backend| backend.is_available())
            .unwrap_or(Self::Scalar)
    }

    /// Every backend available here, scalar first.
    pub fn available() -> impl Iterator<Item = Self> {
        Self::ALL
            .into_iter()
            .filter(|backend| backend.is_available())
    }

    /// The backend called `name` (as [`Backend::name`] gives it), if there is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|backend| backend.name() == name)
    }
}

/// The short name; width and alignment apply (`{:>8}`), as they do for `str`.
impl core::fmt::Display for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(self.name())
    }
}

/// One point attractor (positive strength) or repulsor (negative), ready for the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AttractorParams {
    /// Centre, in metres.
    pub pos: [f32; 3],
    /// Acceleration at 1 m, in m/s² (falls off with the square of distance).
    pub strength: f32,
    /// Softening radius squared, in m²: keeps the pull finite at the centre.
    pub softening2: f32,
}

/// The noise flow field, ready for the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NoiseParams {
    /// Peak acceleration, in m/s²; 0 turns the field off.
    pub strength: f32,
    /// Lattice cells per metre.
    pub frequency: f32,
    /// Where the field is sampled from, in cells (moves over time so the field drifts).
    pub offset: [f32; 3],
}

/// The box particles stay in, ready for the kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundsParams {
    /// Lowest corner, in metres.
    pub min: [f32; 3],
    /// Highest corner, in metres.
    pub max: [f32; 3],
    /// Share of the speed kept on a bounce, 0 to 1.
    pub restitution: f32,
}

/// One segment of a gradient: from `from`, over `1 / inv_span` of the lifetime, each of
/// the `N` channels changes by `change`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientSegment<const N: usize> {
    /// Where the segment starts, as a share of the lifetime (0 to 1).
    pub from: f32,
    /// One over the segment's length as a share of the lifetime.
    pub inv_span: f32,
    /// How much each channel changes across the segment.
    pub change: [f32; N],
}

/// `N` piecewise-linear channels over the lifetime sharing their keys (RGBA colour has 4,
/// size 1), ready for the kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gradient<const N: usize> {
    /// The channels at birth.
    pub start: [f32; N],
    /// The segments in order; only the first `segment_count` are used.
    pub segments: [GradientSegment<N>; MAX_GRADIENT_KEYS - 1],
    /// How many segments are used.
    pub segment_count: usize,
}

impl<const N: usize> Gradient<N> {
    /// A gradient through `keys` of (share of lifetime, channels), sorted by share; before
    /// the first key the channels are the first key's and after the last the last key's.
    #[must_use]
    pub fn from_keys(keys: &[(f32, [f32; N])]) -> Self {
        let keys = &keys[..keys.len().min(MAX_GRADIENT_KEYS)];
        let unused = GradientSegment {
            from: 0.0,
            inv_span: 0.0,
            change: [0.0; N],
        };
        let mut gradient = Self {
            start: keys.first().map_or([0.0; N], |key| key.1),
            segments: [unused; MAX_GRADIENT_KEYS - 1],
            segment_count: 0,
        };
        for pair in keys.windows(2) {
            let [(from, a), (to, b)] = [pair[0], pair[1]];
            let span = to - from;
            if span <= 0.0 {
                continue;
            }
            let mut change = b;
            for (delta, before) in change.iter_mut().zip(a) {
                *delta -= before;
            }
            gradient.segments[gradient.segment_count] = GradientSegment {
                from,
                inv_span: 1.0 / span,
                change,
            };
            gradient.segment_count += 1;
        }
        gradient
    }
}

/// Everything one step of the kernel needs, as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepParams {
    /// The step, in seconds.
    pub dt: f32,
    /// Gravity, in m/s².
    pub gravity: [f32; 3],
    /// Velocity kept per step after drag, `1 - drag × dt` (0 to 1).
    pub damping: f32,
    /// Attractors; the first `attractor_count` are used.
    pub attractors: [AttractorParams; MAX_ATTRACTORS],
    /// How many attractors are used.
    pub attractor_count: usize,
    /// The noise flow field.
    pub noise: NoiseParams,
    /// The box particles bounce inside.
    pub bounds: BoundsParams,
}

/// How particles look at each age, ready for the pack kernel: colour and size are worked
/// out from age and lifetime when the instance records are written, not stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookParams {
    /// Red, green, blue and alpha over the lifetime, each 0 to 255.
    pub color: Gradient<4>,
    /// Sprite size over the lifetime, in metres.
    pub size: Gradient<1>,
}

/// Advances every particle in `columns` by one step with `backend`, split into chunks
/// across `dispatcher`'s threads when the pool is large enough (its [`Split`]). Each
/// particle is independent, so the result is bit-identical to one thread. Allocates nothing.
pub fn step(backend: Backend, columns: Columns<'_>, params: &StepParams, dispatcher: &Dispatcher) {
    let Some(chunks) = dispatcher.chunks(columns.len()) else {
        step_on_this_thread(backend, columns, params);
        return;
    };
    let shared = SharedColumns::new(columns);
    dispatcher.run(chunks.count(), &|chunk| {
        #[expect(unsafe_code, reason = "each thread writes its own chunk")]
        // SAFETY: the dispatcher runs each chunk index once, and chunks' ranges are disjoint.
        let part = unsafe { shared.range(chunks.range(chunk)) };
        step_on_this_thread(backend, part, params);
    });
}

/// Advances every particle in `columns` by one step with `backend`, on the calling thread.
/// A backend this CPU cannot run falls back to the best one it can.
pub fn step_on_this_thread(backend: Backend, columns: Columns<'_>, params: &StepParams) {
    match runnable(backend) {
        #[cfg(target_arch = "x86_64")]
        Runnable::Avx2(cpu) => avx2::step(cpu, columns, params),
        #[cfg(target_arch = "x86_64")]
        Runnable::Avx512(cpu) => avx512::step(cpu, columns, params),
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ))]
        Runnable::Wide4 => step::run::<wide::f32x4>(columns, params),
        Runnable::Scalar => step::run::<f32>(columns, params),
    }
}

/// A backend this CPU can run, with the proof its instructions were detected where they
/// need one.
enum Runnable {
    Scalar,
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    Wide4,
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2),
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512),
}

/// `backend` when this CPU can run it, else the best one it can.
fn runnable(backend: Backend) -> Runnable {
    let backend = if backend.is_available() {
        backend
    } else {
        Backend::best()
    };
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::Avx2::detect().map_or(Runnable::Scalar, Runnable::Avx2),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::Avx512::detect().map_or(Runnable::Scalar, Runnable::Avx512),
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ))]
        Backend::Sse2 | Backend::Simd128 | Backend::Neon => Runnable::Wide4,
        _ => Runnable::Scalar,
    }
}

/// Packs `particles` into instance records for the renderer with `backend`, split into
/// chunks across `dispatcher`'s threads when there are enough (its [`Split`]): particle `i`
/// becomes `out[i * RECORD_WORDS..]`, holding the bits of x, y, z (metres) and size
/// (metres), then the RGBA8 colour, the size and colour evaluated from `looks` at the
/// particle's share of its lifetime. Allocates nothing.
///
/// # Panics
/// If `out` is shorter than `particles.len() * RECORD_WORDS` words.
pub fn pack(
    backend: Backend,
    particles: Particles<'_>,
    looks: &LookParams,
    out: &mut [u32],
    dispatcher: &Dispatcher,
) {
    assert!(
        out.len() >= particles.len() * RECORD_WORDS,
        "pack: {} words cannot hold {} particles",
        out.len(),
        particles.len()
    );
    let stream = streams_records(particles.len());
    let Some(chunks) = dispatcher.chunks(particles.len()) else {
        pack_part(backend, particles, looks, out, stream);
        return;
    };
    let records = SharedSlice::new(out);
    dispatcher.run(chunks.count(), &|chunk| {
        let range = chunks.range(chunk);
        let words = range.start * RECORD_WORDS..range.end * RECORD_WORDS;
        #[expect(unsafe_code, reason = "each thread writes its own chunk")]
        // SAFETY: the dispatcher runs each chunk index once, and chunks' ranges (so their
        // records) are disjoint.
        let out = unsafe { records.range(words) };
        pack_part(backend, particles.range(range), looks, out, stream);
    });
}

/// Packs of at least this many particles write their records past the cache where the
/// backend can (AVX-512). At 750,000 the pack's reads and writes (40 bytes per particle,
/// 30 MB) fill a 32 MB last-level cache, on top of the step's columns, so reading each
/// record's line before writing it mostly costs memory traffic; smaller packs keep their
/// records cached for the upload. Measured at 1,000,000 (streamed: faster with the upload's
/// copy included) and 100,000 (not streamed), when the upload still copied our own records;
/// since the renderer packs straight into wgpu's staging memory it has not been timed
/// again. Sizes between are not timed. It sits between the presets' defaults (galaxy
/// 400,000, stress 1,000,000), so no preset's full pool sits at it, where its live count
/// would flip the choice from frame to frame.
const STREAM_RECORDS_FROM: usize = 750_000;

/// Whether a pack of `particles` writes its records past the cache.
fn streams_records(particles: usize) -> bool {
    particles >= STREAM_RECORDS_FROM
}

/// As [`pack`], on the calling thread.
///
/// # Panics
/// If `out` is shorter than `particles.len() * RECORD_WORDS` words.
pub fn pack_on_this_thread(
    backend: Backend,
    particles: Particles<'_>,
    looks: &LookParams,
    out: &mut [u32],
) {
    assert!(
        out.len() >= particles.len() * RECORD_WORDS,
        "pack: {} words cannot hold {} particles",
        out.len(),
        particles.len()
    );
    pack_part(
        backend,
        particles,
        looks,
        out,
        streams_records(particles.len()),
    );
}

/// Packs `particles` (the whole pool or one chunk of it) with `backend`, writing the
/// records past the cache when `stream` is set and the backend can.
fn pack_part(
    backend: Backend,
    particles: Particles<'_>,
    looks: &LookParams,
    out: &mut [u32],
    #[cfg_attr(
        not(target_arch = "x86_64"),
        expect(unused_variables, reason = "only the AVX-512 pack streams")
    )]
    stream: bool,
) {
    match runnable(backend) {
        #[cfg(target_arch = "x86_64")]
        Runnable::Avx2(cpu) => avx2::pack(cpu, particles, looks, out),
        #[cfg(target_arch = "x86_64")]
        Runnable::Avx512(cpu) => avx512::pack(cpu, particles, looks, out, stream),
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ))]
        Runnable::Wide4 => pack::run::<wide::f32x4>(particles, looks, out),
        Runnable::Scalar => pack::run::<f32>(particles, looks, out),
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "exact results are the point of these tests"
)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sim::pool::{NewParticle, ParticlePool};
    use crate::sim::{Attractor, Bounds, Forces, NoiseField, SimSettings};

    /// A pool holding `particles` at `ages` (0 for those past the end of `ages`).
    fn pool_of(particles: &[NewParticle], ages: &[f32]) -> ParticlePool {
        let mut pool = ParticlePool::with_capacity(particles.len());
        for particle in particles {
            pool.push(*particle);
        }
        pool.age[..ages.len()].copy_from_slice(ages);
        pool
    }

    /// The scalar twin and the four lanes keep the trait's contract: comparisons, min and
    /// max on special values (the backends use the platforms' own instructions where those
    /// match exactly) and where the colours land. AVX2 and AVX-512 check theirs in their
    /// own modules.
    #[test]
    fn the_lane_types_keep_the_trait_contract() {
        lanes::assert_lane_contract::<f32>("f32");
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        lanes::assert_lane_contract::<wide::f32x4>("f32x4");
    }

    #[test]
    fn fract_is_the_part_above_the_floor() {
        for (x, part) in [(2.75_f32, 0.75), (-1.25, 0.75), (3.0, 0.0)] {
            assert_eq!(lanes::Lanes::fract(x), part, "fract({x})");
        }
    }

    fn gravity_only() -> SimSettings {
        SimSettings {
            forces: Forces {
                gravity: Vec3::new(0.0, -10.0, 0.0),
                drag: 0.0,
                ..Forces::default()
            },
            ..SimSettings::default()
        }
    }

    #[test]
    fn a_falling_particle_follows_semi_implicit_euler() {
        let settings = gravity_only();
        let particle = NewParticle {
            pos: [0.0, 10.0, 0.0],
            vel: [1.0, 0.0, 0.0],
            lifetime: 2.0,
        };
        let mut pool = pool_of(&[particle], &[]);
        step_on_this_thread(
            Backend::Scalar,
            pool.columns_mut(),
            &settings.step_params(0.5, 0.0),
        );
        assert_eq!(pool.velocities()[1], &[-5.0]);
        assert_eq!(pool.positions()[1], &[7.5]);
        assert_eq!(pool.positions()[0], &[0.5]);
        assert_eq!(pool.ages(), &[0.5]);
    }

    #[test]
    fn the_floor_bounces_with_restitution() {
        let mut settings = gravity_only();
        settings.forces.gravity = Vec3::ZERO;
        settings.forces.bounds.restitution = 0.5;
        let particle = NewParticle {
            pos: [0.0, 0.5, 0.0],
            vel: [0.0, -2.0, 0.0],
            lifetime: 2.0,
        };
        let mut pool = pool_of(&[particle], &[]);
        step_on_this_thread(
            Backend::best(),
            pool.columns_mut(),
            &settings.step_params(0.5, 0.0),
        );
        assert_eq!(pool.positions()[1], &[0.0]);
        assert_eq!(pool.velocities()[1], &[1.0]);
    }

    #[test]
    fn an_attractor_pulls_and_a_repulsor_pushes() {
        for (strength, sign) in [(10.0, 1.0_f32), (-10.0, -1.0)] {
            let mut settings = gravity_only();
            settings.forces.gravity = Vec3::ZERO;
            settings.forces.attractors = vec![Attractor {
                position: Vec3::new(0.0, 5.0, 0.0),
                strength,
                softening: 0.1,
            }];
            let particle = NewParticle {
                pos: [2.0, 5.0, 0.0],
                vel: [0.0; 3],
                lifetime: 2.0,
            };
            let mut pool = pool_of(&[particle], &[]);
            step_on_this_thread(
                Backend::best(),
                pool.columns_mut(),
                &settings.step_params(0.1, 0.0),
            );
            let vx = pool.velocities()[0][0];
            // Towards the centre (−x) for an attractor; about strength / d² = 2.5 m/s² × 0.1 s.
            assert!(
                (vx * -sign - 0.25).abs() < 0.01,
                "strength {strength}: vx {vx}"
            );
        }
    }

    /// A step of `dt` seconds with no force, no drag and walls far away; tests add one
    /// force at a time.
    fn still_params(dt: f32) -> StepParams {
        StepParams {
            dt,
            gravity: [0.0; 3],
            damping: 1.0,
            attractors: [AttractorParams::default(); MAX_ATTRACTORS],
            attractor_count: 0,
            noise: NoiseParams::default(),
            bounds: BoundsParams {
                min: [-1000.0; 3],
                max: [1000.0; 3],
                restitution: 1.0,
            },
        }
    }

    /// One particle at `pos` with velocity `vel`, stepped once by every backend; returns
    /// each backend's new velocity and position.
    fn step_one(
        pos: [f32; 3],
        vel: [f32; 3],
        params: &StepParams,
    ) -> Vec<(Backend, [f32; 3], [f32; 3])> {
        Backend::available()
            .map(|backend| {
                let mut pool = pool_of(
                    &[NewParticle {
                        pos,
                        vel,
                        lifetime: 9.0,
                    }],
                    &[],
                );
                step_on_this_thread(backend, pool.columns_mut(), params);
                let [vx, vy, vz] = pool.velocities();
                let [x, y, z] = pool.positions();
                (backend, [vx[0], vy[0], vz[0]], [x[0], y[0], z[0]])
            })
            .collect()
    }

    /// The pull is strength / (|d|² + softening²) along d / sqrt(|d|² + softening²): a
    /// particle at d = (-2, -4, -4) from the centre (|d| = 6) under strength × dt = 216
    /// gains exactly d per step; with softening² 28 (|d|² + 28 = 64) it takes 512. Only the
    /// first `attractor_count` of the eight slots pull, so k copies give k × d.
    #[test]
    fn attractors_pull_by_the_inverse_square_of_the_softened_distance() {
        let centre = [1.0, -2.0, 3.0];
        let pos = [3.0, 2.0, 7.0];
        for (softening2, strength_dt) in [(0.0, 216.0), (28.0, 512.0)] {
            for count in 0..=MAX_ATTRACTORS {
                let mut params = still_params(0.5);
                params.attractors = [AttractorParams {
                    pos: centre,
                    strength: strength_dt / 0.5,
                    softening2,
                }; MAX_ATTRACTORS];
                params.attractor_count = count;
                let k = count as f32;
                for (backend, vel, at) in step_one(pos, [0.0; 3], &params) {
                    let what = format!("{backend}, softening² {softening2}, {count} attractors");
                    assert_eq!(vel, [-2.0 * k, -4.0 * k, -4.0 * k], "{what}");
                    assert_eq!(at, [3.0 - k, 2.0 - 2.0 * k, 7.0 - 2.0 * k], "{what}");
                }
            }
        }
    }

    /// Drag scales the velocity after the step's forces are added: (v + g dt) × damping.
    #[test]
    fn damping_scales_the_velocity_after_the_forces() {
        let mut params = still_params(0.5);
        params.gravity = [2.0, -4.0, 6.0];
        params.damping = 0.5;
        for (backend, vel, at) in step_one([0.0; 3], [4.0, -8.0, 2.0], &params) {
            assert_eq!(vel, [2.5, -5.0, 2.5], "{backend}");
            assert_eq!(at, [1.25, -2.5, 1.25], "{backend}");
        }
    }

    /// The noise field adds `strength × dt × flow` with each flow component in [-1, 1)
    /// (so within ±0.5 m/s at strength × dt = 0.5), and nothing at strength 0.
    #[test]
    fn the_noise_field_pushes_only_when_it_is_on() {
        let spots = [[0.3, 1.7, -2.2], [5.5, -0.25, 0.9], [-3.1, 2.6, 4.4]];
        for strength in [0.0, 2.0] {
            let mut params = still_params(0.25);
            params.noise = NoiseParams {
                strength,
                frequency: 0.7,
                offset: [0.1, 0.2, 0.3],
            };
            let mut pushed = 0;
            for spot in spots {
                for (backend, vel, _) in step_one(spot, [0.0; 3], &params) {
                    for v in vel {
                        assert!((-0.5..0.5).contains(&v), "{backend} at {spot:?}: {vel:?}");
                        pushed += usize::from(v != 0.0);
                    }
                }
            }
            if strength == 0.0 {
                assert_eq!(pushed, 0, "no field, no push");
            } else {
                assert!(pushed > 0, "the field pushed nothing");
            }
        }
    }

    /// The noise field's values are part of what a run computes: every checksum (native,
    /// wasm, a capture's) depends on them, and `compare` calls a changed checksum a
    /// correctness change. At strength × dt = 1 a particle at rest gains exactly the
    /// field's value at its position; these are the values at four points as this code
    /// first computed them (bits), so a change to the hash, the interpolation or how the
    /// push is added shows here first.
    #[test]
    fn the_noise_push_keeps_its_values() {
        let mut params = still_params(0.25);
        params.noise = NoiseParams {
            strength: 4.0,
            frequency: 1.0,
            offset: [0.0; 3],
        };
        for (pos, bits) in [
            ([1.0, 2.0, 3.0], [0x3f39_5800, 0xbee4_d000, 0xbf1d_e800]),
            ([-7.0, 5.0, 11.0], [0x3f6d_f000, 0xbf27_6000, 0xbf0c_c000]),
            ([0.25, -1.5, 2.75], [0xbe88_f730, 0xbd1b_12c0, 0xbe3e_9ce0]),
            ([13.3, -4.6, 0.9], [0x3ef8_2b60, 0x3f04_4ebc, 0xbedd_7488]),
        ] {
            for (backend, vel, _) in step_one(pos, [0.0; 3], &params) {
                assert_eq!(vel.map(f32::to_bits), bits, "{backend} at {pos:?}: {vel:?}");
            }
        }
    }

    /// The field is sampled at `pos × frequency + offset` (in cells): two particles whose
    /// sample points are the same get the same push, and one whose point differs does not.
    #[test]
    fn the_noise_field_is_sampled_at_position_times_frequency_plus_offset() {
        let field = |frequency: f32, offset: [f32; 3], pos: [f32; 3]| {
            let mut params = still_params(1.0);
            params.noise = NoiseParams {
                strength: 1.0,
                frequency,
                offset,
            };
            step_one(pos, [0.0; 3], &params)
        };
        // Both sample the point (3.5, 4.75, -0.5).
        let scaled = field(2.0, [0.5, 0.25, 1.0], [1.5, 2.25, -0.75]);
        let plain = field(1.0, [0.0; 3], [3.5, 4.75, -0.5]);
        let elsewhere = field(1.0, [0.0; 3], [3.75, 4.5, -0.25]);
        for ((a, b), c) in scaled.iter().zip(&plain).zip(&elsewhere) {
            assert_eq!(a.1, b.1, "{}", a.0);
            assert_ne!(a.1, c.1, "{}", a.0);
        }
    }

    #[test]
    fn colour_and_size_follow_the_gradients_over_life() {
        let settings = gravity_only();
        let looks = &settings.looks;
        let particle = NewParticle {
            pos: [0.0, 5.0, 0.0],
            vel: [0.0; 3],
            lifetime: 1.0,
        };
        // Ages just before the step; after it they are 0 and 1 (birth and death).
        let mut pool = pool_of(&[particle, particle], &[-0.25, 0.75]);
        step_on_this_thread(
            Backend::Scalar,
            pool.columns_mut(),
            &settings.step_params(0.25, 0.0),
        );
        let mut records = [0_u32; 2 * RECORD_WORDS];
        pack_on_this_thread(
            Backend::Scalar,
            pool.particles(),
            &settings.look_params(),
            &mut records,
        );
        let color = |i: usize| records[i * RECORD_WORDS + 4];
        let size = |i: usize| f32::from_bits(records[i * RECORD_WORDS + 3]);
        let expect = |rgba: [f32; 4]| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "0 to 255 after rounding"
            )]
            let bytes = rgba.map(|c| (c * 255.0 + 0.5) as u8);
            u32::from_le_bytes(bytes)
        };
        let first = looks.color.first().unwrap();
        let last = looks.color.last().unwrap();
        let [birth, death] = [color(0), color(1)];
        for (got, want) in [(birth, expect(first.rgba)), (death, expect(last.rgba))] {
            for (g, w) in got.to_le_bytes().into_iter().zip(want.to_le_bytes()) {
                assert!(g.abs_diff(w) <= 1, "{got:08x} vs {want:08x}");
            }
        }
        assert!((size(0) - looks.size[0].size).abs() < 1e-6);
        assert!((size(1) - looks.size.last().unwrap().size).abs() < 1e-6);
    }

    /// The pack kernel, on every backend, writes a size gradient through keys 10 m at
    /// birth, 30 m at half its life and 0 at death exactly at the keys, and halfway between
    /// them halfway (20 m at a quarter of its life, 15 m at three quarters).
    #[test]
    fn packed_sizes_hit_every_gradient_key() {
        let mut settings = gravity_only();
        settings.looks.size = [(0.0, 10.0), (0.5, 30.0), (1.0, 0.0)]
            .map(|(at, size)| crate::sim::SizeKey { at, size })
            .to_vec();
        let particle = NewParticle {
            pos: [0.0; 3],
            vel: [0.0; 3],
            lifetime: 4.0,
        };
        let ages = [0.0, 1.0, 2.0, 3.0, 4.0, 8.0];
        // Enough particles for a whole vector on every width, at the ages in turn.
        let count = 16 * ages.len();
        let all_ages: Vec<f32> = (0..count).map(|i| ages[i % ages.len()]).collect();
        let pool = pool_of(&vec![particle; count], &all_ages);
        let expected = [10.0, 20.0, 30.0, 15.0, 0.0, 0.0];
        for backend in Backend::available() {
            let mut records = vec![0_u32; count * RECORD_WORDS];
            pack_on_this_thread(
                backend,
                pool.particles(),
                &settings.look_params(),
                &mut records,
            );
            for (i, record) in records.chunks(RECORD_WORDS).enumerate() {
                let size = f32::from_bits(record[3]);
                assert_eq!(
                    size,
                    expected[i % ages.len()],
                    "{backend}: age {}",
                    all_ages[i]
                );
            }
        }
    }

    #[test]
    fn backend_names_round_trip_and_the_best_is_available() {
        for backend in Backend::ALL {
            assert_eq!(Backend::from_name(backend.name()), Some(backend));
        }
        assert!(Backend::best().is_available());
        assert!(Backend::available().any(|b| b == Backend::Scalar));
        #[cfg(target_arch = "x86_64")]
        {
            assert_ne!(Backend::best(), Backend::Scalar);
            assert!(Backend::Sse2.is_available(), "every x86_64 CPU has SSE2");
            assert!(!Backend::Neon.is_available() && !Backend::Simd128.is_available());
        }
        assert_eq!(Backend::Avx512.to_string(), "avx512");
        assert_eq!(format!("{:>8}|", Backend::Simd128), " simd128|");
    }

    /// What detection finds agrees with the flags the operating system lists for the CPU.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn detection_agrees_with_the_cpu_flags_linux_lists() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("read /proc/cpuinfo");
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find(|line| line.starts_with("flags"))
            .expect("a flags line")
            .split_whitespace()
            .collect();
        let has = |flag| flags.contains(&flag);
        assert_eq!(Backend::Avx2.is_available(), has("avx2"));
        assert_eq!(
            Backend::Avx512.is_available(),
            has("avx512f") && has("avx2")
        );
    }

    /// Which kernels [`runnable`] picks for `backend`.
    fn kernels_for(backend: Backend) -> &'static str {
        match runnable(backend) {
            Runnable::Scalar => "scalar",
            #[cfg(any(
                target_arch = "x86_64",
                target_arch = "aarch64",
                all(target_arch = "wasm32", target_feature = "simd128")
            ))]
            Runnable::Wide4 => "four lanes",
            #[cfg(target_arch = "x86_64")]
            Runnable::Avx2(_) => "avx2",
            #[cfg(target_arch = "x86_64")]
            Runnable::Avx512(_) => "avx512",
        }
    }

    /// Each backend this CPU has runs its own kernels (the scalar twin would give the
    /// same bits, so only this shows which ran); one it lacks runs the best it has.
    #[test]
    fn each_available_backend_runs_its_own_kernels() {
        assert_eq!(kernels_for(Backend::Scalar), "scalar");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(kernels_for(Backend::Sse2), "four lanes");
            if Backend::Avx2.is_available() {
                assert_eq!(kernels_for(Backend::Avx2), "avx2");
            }
            if Backend::Avx512.is_available() {
                assert_eq!(kernels_for(Backend::Avx512), "avx512");
            }
            assert_eq!(kernels_for(Backend::Neon), kernels_for(Backend::best()));
        }
    }

    /// A pool of `len` particles: copies of a running scenario's particles, each moved a
    /// little so that no two are equal.
    fn scenario_pool(len: usize) -> ParticlePool {
        let mut sim = crate::sim::determinism_scenario(5);
        sim.run(Backend::Scalar, 30);
        let mut big = ParticlePool::with_capacity(len);
        let n = sim.pool.len();
        for i in 0..len {
            let j = i % n;
            big.push(NewParticle {
                pos: [0, 1, 2].map(|a| sim.pool.positions()[a][j] + i as f32 * 1e-3),
                vel: [0, 1, 2].map(|a| sim.pool.velocities()[a][j]),
                lifetime: sim.pool.lifetimes()[j],
            });
        }
        big
    }

    /// Step and pack split across a dispatcher of two threads, with chunks small enough
    /// that every call has 17, give the bits of one thread, and the helper took chunks.
    #[test]
    fn splitting_across_threads_gives_the_same_bits() {
        let split = Split {
            min_particles: 1,
            chunk_particles: 1000,
        };
        let dispatcher = Dispatcher::new(2).with_split(split);
        let one_thread = Dispatcher::new(1).with_split(split);
        let pool = scenario_pool(16 * 1008 + 13);
        assert_eq!(dispatcher.chunks(pool.len()).map(|c| c.count()), Some(17));
        assert_eq!(one_thread.chunks(pool.len()), None);
        let settings = crate::sim::determinism_scenario(5).settings;
        let looks = settings.look_params();
        for backend in Backend::available() {
            let (mut split_pool, mut whole_pool) = (pool.clone(), pool.clone());
            for steps in 0..20 {
                let params =
                    settings.step_params(crate::sim::fixed_step_seconds(), f64::from(steps));
                step(backend, split_pool.columns_mut(), &params, &dispatcher);
                step_on_this_thread(backend, whole_pool.columns_mut(), &params);
            }
            assert_eq!(
                split_pool.checksum(),
                whole_pool.checksum(),
                "{backend} step"
            );
            let mut split_records = vec![u32::MAX; (pool.len() + 1) * RECORD_WORDS];
            let mut whole_records = split_records.clone();
            pack(
                backend,
                split_pool.particles(),
                &looks,
                &mut split_records,
                &dispatcher,
            );
            pack_on_this_thread(backend, whole_pool.particles(), &looks, &mut whole_records);
            assert!(split_records == whole_records, "{backend} pack");
        }
        assert!(
            dispatcher.helper_chunks() > 0,
            "the helper thread ran no chunk in {} calls",
            2 * Backend::available().count()
        );
    }

    /// A pack large enough to write past the cache gives the scalar twin's words, split
    /// across two threads or not. (Chunks are whole multiples of 16 records, 320 bytes, so
    /// they share the buffer's alignment; the proptest below covers every alignment.)
    #[test]
    fn a_pack_written_past_the_cache_gives_the_scalar_words() {
        let pool = scenario_pool(STREAM_RECORDS_FROM + 13);
        assert!(streams_records(pool.len()));
        let looks = crate::sim::determinism_scenario(5).settings.look_params();
        let words = (pool.len() + 1) * RECORD_WORDS;
        let mut expected = vec![u32::MAX; words];
        pack_part(
            Backend::Scalar,
            pool.particles(),
            &looks,
            &mut expected,
            false,
        );
        let dispatcher = Dispatcher::new(2);
        for backend in Backend::available() {
            let mut split = vec![u32::MAX; words];
            pack(backend, pool.particles(), &looks, &mut split, &dispatcher);
            assert!(split == expected, "{backend} split");
            let mut whole = vec![u32::MAX; words];
            pack_on_this_thread(backend, pool.particles(), &looks, &mut whole);
            assert!(whole == expected, "{backend} on one thread");
        }
    }

    fn coordinate() -> impl Strategy<Value = f32> {
        -30.0_f32..30.0
    }

    prop_compose! {
        fn particle()(pos in [coordinate(), coordinate(), coordinate()],
                      vel in [coordinate(), coordinate(), coordinate()],
                      age in 0.0_f32..4.0, lifetime in 0.01_f32..4.0) -> (NewParticle, f32) {
            (NewParticle { pos, vel, lifetime }, age)
        }
    }

    prop_compose! {
        fn attractor()(position in [coordinate(), coordinate(), coordinate()],
                       strength in -80.0_f32..80.0, softening in 0.01_f32..2.0) -> Attractor {
            Attractor { position: Vec3::from_array(position), strength, softening }
        }
    }

    prop_compose! {
        fn settings()(gravity in [coordinate(), coordinate(), coordinate()],
                      drag in 0.0_f32..3.0,
                      attractors in prop::collection::vec(attractor(), 0..=MAX_ATTRACTORS),
                      noise_strength in prop_oneof![Just(0.0_f32), 0.1_f32..20.0],
                      frequency in 0.01_f32..3.0,
                      drift in [coordinate(), coordinate(), coordinate()],
                      restitution in 0.0_f32..1.0,
                      half_size in 5.0_f32..40.0) -> SimSettings {
            SimSettings {
                forces: Forces {
                    gravity: Vec3::from_array(gravity),
                    drag,
                    attractors,
                    noise: NoiseField { strength: noise_strength, frequency, drift: Vec3::from_array(drift) },
                    bounds: Bounds { min: Vec3::splat(-half_size), max: Vec3::splat(half_size), restitution },
                },
                ..SimSettings::default()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Every SIMD backend gives the scalar twin's bits, for lengths that are not
        /// multiples of the lane width and random forces.
        #[test]
        fn every_backend_matches_scalar_bit_for_bit(
            particles in prop::collection::vec(particle(), 0..70),
            settings in settings(),
            dt in 0.001_f32..0.05,
            elapsed in 0.0_f64..100.0,
        ) {
            let (new, ages): (Vec<_>, Vec<_>) = particles.into_iter().unzip();
            let params = settings.step_params(dt, elapsed);
            let mut reference = pool_of(&new, &ages);
            step_on_this_thread(Backend::Scalar, reference.columns_mut(), &params);
            for backend in Backend::available() {
                let mut pool = pool_of(&new, &ages);
                step_on_this_thread(backend, pool.columns_mut(), &params);
                for axis in 0..3 {
                    prop_assert_eq!(bits(pool.positions()[axis]), bits(reference.positions()[axis]), "{} pos", backend);
                    prop_assert_eq!(bits(pool.velocities()[axis]), bits(reference.velocities()[axis]), "{} vel", backend);
                }
                prop_assert_eq!(bits(pool.ages()), bits(reference.ages()));
            }
        }

        /// Every backend packs record `i` from particle `i` (its position, and the colour
        /// and size the scalar twin evaluates for its age, bit for bit) and leaves the words
        /// past the live particles alone, for lengths that are not multiples of the width.
        #[test]
        fn every_backend_packs_each_particle_into_its_record(
            particles in prop::collection::vec(particle(), 0..70),
        ) {
            let (new, ages): (Vec<_>, Vec<_>) = particles.into_iter().unzip();
            let pool = pool_of(&new, &ages);
            let looks = SimSettings::default().look_params();
            let mut expected = vec![u32::MAX; (pool.len() + 1) * RECORD_WORDS];
            pack_on_this_thread(Backend::Scalar, pool.particles(), &looks, &mut expected);
            let [x, y, z] = pool.positions();
            for (i, record) in expected.chunks(RECORD_WORDS).take(pool.len()).enumerate() {
                prop_assert_eq!(&record[..3], &[x[i].to_bits(), y[i].to_bits(), z[i].to_bits()]);
            }
            prop_assert_eq!(&expected[pool.len() * RECORD_WORDS..], &[u32::MAX; RECORD_WORDS]);
            for backend in Backend::available() {
                let mut out = vec![u32::MAX; (pool.len() + 1) * RECORD_WORDS];
                pack_on_this_thread(backend, pool.particles(), &looks, &mut out);
                prop_assert_eq!(&out, &expected, "{}", backend);
            }
        }

        /// Written past the cache, every backend's records are the scalar twin's wherever
        /// `out` starts against a 64-byte line (`shift` words into a buffer), and the words
        /// around them are left alone.
        #[test]
        fn records_written_past_the_cache_match_at_every_alignment(
            particles in prop::collection::vec(particle(), 0..70),
            shift in 0_usize..16,
        ) {
            let (new, ages): (Vec<_>, Vec<_>) = particles.into_iter().unzip();
            let pool = pool_of(&new, &ages);
            let looks = SimSettings::default().look_params();
            let words = pool.len() * RECORD_WORDS + 32;
            let mut expected = vec![u32::MAX; words];
            pack_part(Backend::Scalar, pool.particles(), &looks, &mut expected[shift..], false);
            for backend in Backend::available() {
                let mut out = vec![u32::MAX; words];
                pack_part(backend, pool.particles(), &looks, &mut out[shift..], true);
                prop_assert_eq!(&out, &expected, "{}", backend);
            }
        }
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }
}
