//! `Lanes` over eight `f32`s in an AVX2 register, for `x86_64` CPUs that have it.
//!
//! `wide` picks its instructions when it is compiled, and the `x86_64` baseline is SSE2, so
//! AVX2 chosen at run time needs `core::arch`. Soundness rests on one fact this file
//! guarantees: a value of [`F32x8`] only exists on a CPU with AVX2. The type is private to
//! this file (so `Lanes::splat` and `load`, safe functions, can only be called on it here),
//! and this file makes values only on paths that hold an [`Avx2`] token, which only
//! [`Avx2::detect`] returns after the CPU said it has AVX2: the kernels behind [`step`] and
//! [`pack`], [`store_records_x8`] (whose caller promises AVX2) and the tests, after
//! `detect`. Every method and the generic kernels are `#[inline(always)]`, so they compile
//! as part of the AVX2-enabled entry points.

use core::arch::x86_64::{
    __m256, _CMP_GT_OQ, _CMP_LT_OQ, _mm_storeu_ps, _mm256_add_ps, _mm256_and_ps, _mm256_blendv_ps,
    _mm256_castps256_ps128, _mm256_cmp_ps, _mm256_cvttps_epi32, _mm256_div_ps,
    _mm256_extractf128_ps, _mm256_floor_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps,
    _mm256_mul_ps, _mm256_or_si256, _mm256_set1_ps, _mm256_shuffle_ps, _mm256_slli_epi32,
    _mm256_sqrt_ps, _mm256_storeu_ps, _mm256_storeu_si256, _mm256_sub_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps,
};

use super::lanes::{Lanes, RECORD_WORDS};
use super::{LookParams, StepParams};
use crate::sim::pool::{Columns, Particles};

/// Proof that this CPU runs AVX2 (and so AVX): only [`Avx2::detect`] makes one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx2(());

impl Avx2 {
    /// The token, if this CPU has AVX2 (the answer is cached by the standard library).
    pub(super) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Self(()))
    }
}

/// Eight `f32` lanes in a 256-bit AVX register; only exists on a CPU with AVX2.
#[derive(Clone, Copy)]
struct F32x8(__m256);

/// The step kernel compiled for AVX2.
pub(super) fn step(_cpu: Avx2, columns: Columns<'_>, params: &StepParams) {
    // SAFETY: an `Avx2` token exists, so this CPU has AVX2.
    unsafe { step_avx2(columns, params) }
}

/// The instance pack kernel compiled for AVX2.
pub(super) fn pack(_cpu: Avx2, particles: Particles<'_>, looks: &LookParams, out: &mut [u32]) {
    // SAFETY: an `Avx2` token exists, so this CPU has AVX2.
    unsafe { pack_avx2(particles, looks, out) }
}

#[target_feature(enable = "avx2")]
fn step_avx2(columns: Columns<'_>, params: &StepParams) {
    super::step::run::<F32x8>(columns, params);
}

#[target_feature(enable = "avx2")]
fn pack_avx2(particles: Particles<'_>, looks: &LookParams, out: &mut [u32]) {
    super::pack::run::<F32x8>(particles, looks, out);
}

/// Writes eight particles' records from four registers of x, y, z and size (the AVX2
/// transpose), for the AVX-512 kernel's halves.
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
pub(super) unsafe fn store_records_x8(columns: [__m256; 4], colors: &[u32], out: &mut [u32]) {
    let [x, y, z, size] = columns;
    F32x8::store_records([F32x8(x), F32x8(y), F32x8(z), F32x8(size)], colors, out);
}

// SAFETY (for every `unsafe` block below): the intrinsics need AVX or AVX2, and an
// `F32x8` value only exists on a CPU with AVX2 (see the module docs); loads and stores go
// through slices that were bounds-checked for eight lanes first.

arithmetic_from_intrinsics!(F32x8:
    Add add _mm256_add_ps,
    Sub sub _mm256_sub_ps,
    Mul mul _mm256_mul_ps,
    Div div _mm256_div_ps
);

impl Lanes for F32x8 {
    type Mask = __m256;
    const WIDTH: usize = 8;

    #[inline(always)]
    fn splat(value: f32) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_set1_ps(value) })
    }
    #[inline(always)]
    fn load(column: &[f32], i: usize) -> Self {
        let lanes = &column[i..i + 8];
        // SAFETY: see the note above; `lanes` holds exactly eight f32s.
        Self(unsafe { _mm256_loadu_ps(lanes.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, column: &mut [f32], i: usize) {
        let lanes = &mut column[i..i + 8];
        // SAFETY: see the note above; `lanes` holds exactly eight f32s.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn floor(self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_floor_ps(self.0) })
    }
    #[inline(always)]
    fn lt(self, other: Self) -> __m256 {
        // SAFETY: see the note above.
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn gt(self, other: Self) -> __m256 {
        // SAFETY: see the note above.
        unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, other.0) }
    }
    /// `vminps` returns its first operand exactly when it is less than the second, and
    /// the second otherwise (NaN and signed zeros included): the trait's semantics.
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_min_ps(self.0, other.0) })
    }
    /// `vmaxps` is `if self > other { self } else { other }`, as the trait asks.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn select(mask: __m256, if_true: Self, if_false: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_blendv_ps(if_false.0, if_true.0, mask) })
    }
    /// A mask lane is all ones or all zeros, so `and` keeps the value or gives `+0.0`.
    #[inline(always)]
    fn keep(mask: __m256, value: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm256_and_ps(mask, value.0) })
    }
    #[inline(always)]
    fn store_rgba8(red: Self, green: Self, blue: Self, alpha: Self, column: &mut [u32]) {
        let lanes = &mut column[..8];
        // SAFETY: see the note above; `lanes` holds exactly eight u32s.
        unsafe {
            let packed = _mm256_or_si256(
                _mm256_or_si256(
                    _mm256_cvttps_epi32(red.0),
                    _mm256_slli_epi32::<8>(_mm256_cvttps_epi32(green.0)),
                ),
                _mm256_or_si256(
                    _mm256_slli_epi32::<16>(_mm256_cvttps_epi32(blue.0)),
                    _mm256_slli_epi32::<24>(_mm256_cvttps_epi32(alpha.0)),
                ),
            );
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), packed);
        }
    }
    /// Two 4×4 transposes, one per 128-bit half: half 0 holds particles 0–3, half 1
    /// particles 4–7, and each output register holds particle `k` and `k + 4`.
    #[inline(always)]
    fn store_records(columns: [Self; 4], colors: &[u32], out: &mut [u32]) {
        let [F32x8(x), F32x8(y), F32x8(z), F32x8(size)] = columns;
        let out = &mut out[..8 * RECORD_WORDS];
        let colors = &colors[..8];
        // SAFETY: see the note above; every store goes to a four-word slice of `out`.
        unsafe {
            let xy_low = _mm256_unpacklo_ps(x, y);
            let xy_high = _mm256_unpackhi_ps(x, y);
            let zs_low = _mm256_unpacklo_ps(z, size);
            let zs_high = _mm256_unpackhi_ps(z, size);
            let pairs = [
                _mm256_shuffle_ps::<0x44>(xy_low, zs_low),
                _mm256_shuffle_ps::<0xEE>(xy_low, zs_low),
                _mm256_shuffle_ps::<0x44>(xy_high, zs_high),
                _mm256_shuffle_ps::<0xEE>(xy_high, zs_high),
            ];
            for (k, pair) in pairs.into_iter().enumerate() {
                for (particle, half) in [
                    (k, _mm256_castps256_ps128(pair)),
                    (k + 4, _mm256_extractf128_ps::<1>(pair)),
                ] {
                    let record = &mut out[particle * RECORD_WORDS..(particle + 1) * RECORD_WORDS];
                    _mm_storeu_ps(record[..4].as_mut_ptr().cast(), half);
                    record[4] = colors[particle];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vcmpps`, `vminps` and `vmaxps` give the trait's semantics on zeros and NaN, and
    /// the colours fill their eight lanes (on a CPU that has the instructions; elsewhere
    /// there is nothing to check).
    #[test]
    fn the_lane_type_keeps_the_trait_contract() {
        if Avx2::detect().is_some() {
            super::super::lanes::assert_lane_contract::<F32x8>("F32x8");
        }
    }
}
