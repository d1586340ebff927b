//! `Lanes`: the few vector operations the kernels use, over 1 (scalar), 4, 8 or 16 `f32`s.
//!
//! Each kernel is written once, generic over `Lanes`; the scalar twin is the same code at
//! `f32`. Every operation here is exactly rounded IEEE 754 (add, sub, mul, div, sqrt,
//! floor) or a compare-and-select, and none fuses a multiply with an add, so every width
//! gives the same bits for the same inputs.

use core::ops::{Add, Div, Mul, Sub};

/// Words (`u32`) in one packed instance record: position x, y, z, size, RGBA8 colour.
pub const RECORD_WORDS: usize = 5;

/// Lanes in the widest backend's vectors (AVX-512).
pub const MAX_WIDTH: usize = 16;

/// A vector of `WIDTH` `f32` lanes.
pub trait Lanes:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// The result of a lane-wise comparison.
    type Mask: Copy;
    /// Lanes per vector.
    const WIDTH: usize;

    /// Every lane set to `value`.
    fn splat(value: f32) -> Self;
    /// Lanes `i..i + WIDTH` of `column`.
    fn load(column: &[f32], i: usize) -> Self;
    /// Writes the lanes to `column[i..i + WIDTH]`.
    fn store(self, column: &mut [f32], i: usize);
    /// Lane-wise correctly rounded square root.
    #[must_use]
    fn sqrt(self) -> Self;
    /// Lane-wise largest integer not above the lane.
    #[must_use]
    fn floor(self) -> Self;
    /// Lane-wise `self < other`; false where either is NaN.
    fn lt(self, other: Self) -> Self::Mask;
    /// Lane-wise `self > other`; false where either is NaN.
    fn gt(self, other: Self) -> Self::Mask;
    /// Lane-wise `if mask { if_true } else { if_false }`.
    fn select(mask: Self::Mask, if_true: Self, if_false: Self) -> Self;
    /// Lane-wise `if mask { value } else { 0.0 }` (positive zero).
    fn keep(mask: Self::Mask, value: Self) -> Self;
    /// Converts lanes already clamped to `0.0..=255.0` to integers (rounding toward
    /// zero) and writes `r | g << 8 | b << 16 | a << 24` to `column[..WIDTH]`.
    fn store_rgba8(red: Self, green: Self, blue: Self, alpha: Self, column: &mut [u32]);
    /// Writes the `WIDTH` lanes as instance records of [`RECORD_WORDS`] words,
    /// `[x, y, z, size, colour]` (the `f32`s as their bits), to
    /// `out[..WIDTH * RECORD_WORDS]`: a transpose of four columns plus a copy of
    /// `colors[..WIDTH]`.
    fn store_records(columns: [Self; 4], colors: &[u32], out: &mut [u32]);

    /// The particle index `i`, as a kernel's main loop hands it to each iteration. The
    /// scalar twin hides it from the optimiser (`black_box`) so that its loop stays one
    /// particle per iteration: once the step's loop had no branch left in it, LLVM
    /// auto-vectorised the plain-`f32` loop with the target's baseline SIMD (SSE2,
    /// simd128), and "scalar" ran as fast as `sse2` (3.5 against 3.4 ns per particle).
    #[inline(always)]
    #[must_use]
    fn index(i: usize) -> usize {
        i
    }

    /// Lane-wise `if self < other { self } else { other }`: the same on every width,
    /// unlike the platforms' own min, which disagree about NaN and signed zeros (an
    /// implementation may use an instruction with exactly these semantics).
    #[inline(always)]
    #[must_use]
    fn min(self, other: Self) -> Self {
        Self::select(self.lt(other), self, other)
    }

    /// Lane-wise `if self > other { self } else { other }`.
    #[inline(always)]
    #[must_use]
    fn max(self, other: Self) -> Self {
        Self::select(self.gt(other), self, other)
    }

    /// Lane-wise fractional part, `self - floor(self)`.
    #[inline(always)]
    #[must_use]
    fn fract(self) -> Self {
        self - self.floor()
    }
}

impl Lanes for f32 {
    type Mask = bool;
    const WIDTH: usize = 1;

    #[inline(always)]
    fn splat(value: f32) -> Self {
        value
    }
    #[inline(always)]
    fn index(i: usize) -> usize {
        core::hint::black_box(i)
    }
    #[inline(always)]
    fn load(column: &[f32], i: usize) -> Self {
        column[i]
    }
    #[inline(always)]
    fn store(self, column: &mut [f32], i: usize) {
        column[i] = self;
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn floor(self) -> Self {
        f32::floor(self)
    }
    #[inline(always)]
    fn lt(self, other: Self) -> bool {
        self < other
    }
    #[inline(always)]
    fn gt(self, other: Self) -> bool {
        self > other
    }
    #[inline(always)]
    fn select(mask: bool, if_true: Self, if_false: Self) -> Self {
        if mask { if_true } else { if_false }
    }
    #[inline(always)]
    fn keep(mask: bool, value: Self) -> Self {
        if mask { value } else { 0.0 }
    }
    #[inline(always)]
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "in 0..=255 by contract, so `as` truncates toward zero like the vector conversions"
    )]
    fn store_rgba8(red: Self, green: Self, blue: Self, alpha: Self, column: &mut [u32]) {
        // In range by contract, so `as` truncates toward zero like the vector conversions.
        column[0] =
            (red as u32) | ((green as u32) << 8) | ((blue as u32) << 16) | ((alpha as u32) << 24);
    }
    #[inline(always)]
    fn store_records([x, y, z, size]: [Self; 4], colors: &[u32], out: &mut [u32]) {
        out[..RECORD_WORDS].copy_from_slice(&[
            x.to_bits(),
            y.to_bits(),
            z.to_bits(),
            size.to_bits(),
            colors[0],
        ]);
    }
}

/// Checks `L`'s comparisons, min and max give what the trait defines (`a < b`, `a > b`,
/// `a < b ? a : b` and `a > b ? a : b`) on signed zeros, NaN and infinities, where
/// platforms disagree.
#[cfg(test)]
fn assert_comparison_semantics<L: Lanes>(name: &str) {
    let special = [0.0_f32, -0.0, f32::NAN, 1.0, -1.0, f32::INFINITY];
    let mut lanes = [0.0_f32; MAX_WIDTH];
    let (yes, no) = (L::splat(1.0), L::splat(0.0));
    for a in special {
        for b in special {
            L::select(L::splat(a).lt(L::splat(b)), yes, no).store(&mut lanes, 0);
            assert_eq!(
                lanes[0].to_bits() == 1.0_f32.to_bits(),
                a < b,
                "{name} {a:?} < {b:?}"
            );
            L::select(L::splat(a).gt(L::splat(b)), yes, no).store(&mut lanes, 0);
            assert_eq!(
                lanes[0].to_bits() == 1.0_f32.to_bits(),
                a > b,
                "{name} {a:?} > {b:?}"
            );
            L::splat(a).min(L::splat(b)).store(&mut lanes, 0);
            let min = lanes[0];
            L::splat(a).max(L::splat(b)).store(&mut lanes, 0);
            let max = lanes[0];
            let expected = [if a < b { a } else { b }, if a > b { a } else { b }];
            assert_eq!(
                min.to_bits(),
                expected[0].to_bits(),
                "{name} min({a:?}, {b:?})"
            );
            assert_eq!(
                max.to_bits(),
                expected[1].to_bits(),
                "{name} max({a:?}, {b:?})"
            );
        }
    }
}

/// Checks `L::store_rgba8` writes its lanes' colours to `column[..WIDTH]` and nothing
/// past them.
#[cfg(test)]
fn assert_rgba8_fills_its_lanes_only<L: Lanes>(name: &str) {
    let mut column = [0_u32; 2 * MAX_WIDTH];
    L::store_rgba8(
        L::splat(1.9),
        L::splat(2.0),
        L::splat(3.0),
        L::splat(255.0),
        &mut column,
    );
    let (lanes, past) = column.split_at(L::WIDTH);
    assert!(
        lanes.iter().all(|&c| c == 0xFF03_0201),
        "{name}: {lanes:x?}"
    );
    assert!(past.iter().all(|&c| c == 0), "{name}: past WIDTH");
}

/// Checks what every lane type must do exactly as the trait defines: comparisons, min and
/// max on special values, and where the colours land.
#[cfg(test)]
pub(super) fn assert_lane_contract<L: Lanes>(name: &str) {
    assert_comparison_semantics::<L>(name);
    assert_rgba8_fills_its_lanes_only::<L>(name);
}
