//! `Lanes` over `wide::f32x4`: SSE2 on x86_64, simd128 on wasm32, NEON on aarch64.

use wide::{f32x4, i32x4};

use super::lanes::{Lanes, RECORD_WORDS};

impl Lanes for f32x4 {
    type Mask = f32x4;
    const WIDTH: usize = 4;

    #[inline(always)]
    fn splat(value: f32) -> Self {
        f32x4::splat(value)
    }
    #[inline(always)]
    fn load(column: &[f32], i: usize) -> Self {
        let lanes: [f32; 4] = column[i..i + 4].try_into().expect("four lanes");
        f32x4::new(lanes)
    }
    #[inline(always)]
    fn store(self, column: &mut [f32], i: usize) {
        column[i..i + 4].copy_from_slice(&self.to_array());
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32x4::sqrt(self)
    }
    #[inline(always)]
    fn floor(self) -> Self {
        f32x4::floor(self)
    }
    #[inline(always)]
    fn lt(self, other: Self) -> Self {
        self.simd_lt(other)
    }
    #[inline(always)]
    fn gt(self, other: Self) -> Self {
        self.simd_gt(other)
    }
    #[inline(always)]
    fn select(mask: Self, if_true: Self, if_false: Self) -> Self {
        mask.select(if_true, if_false)
    }
    /// A mask lane is all ones or all zeros, so `and` keeps the value or gives `+0.0`.
    #[inline(always)]
    fn keep(mask: Self, value: Self) -> Self {
        mask & value
    }
    /// One instruction where the platform's min has the trait's semantics exactly:
    /// SSE's `minps(a, b)` is `a < b ? a : b`, and simd128's `pmin(a, b)` is
    /// `b < a ? b : a`, so the operands go in swapped. NEON's `fmin` propagates NaN
    /// instead, so aarch64 keeps the compare and select.
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        if cfg!(target_arch = "x86_64") {
            self.fast_min(other)
        } else if cfg!(target_arch = "wasm32") {
            other.fast_min(self)
        } else {
            Self::select(self.lt(other), self, other)
        }
    }
    /// As [`Lanes::min`]: SSE's `maxps(a, b)` is `a > b ? a : b`, simd128's `pmax(a, b)`
    /// is `a < b ? b : a`.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        if cfg!(target_arch = "x86_64") {
            self.fast_max(other)
        } else if cfg!(target_arch = "wasm32") {
            other.fast_max(self)
        } else {
            Self::select(self.gt(other), self, other)
        }
    }
    #[inline(always)]
    fn store_rgba8(red: Self, green: Self, blue: Self, alpha: Self, column: &mut [u32]) {
        let [red, green, blue, alpha] = [red, green, blue, alpha].map(f32x4::fast_trunc_int);
        let packed: i32x4 = red | (green << 8) | (blue << 16) | (alpha << 24);
        for (slot, value) in column[..4].iter_mut().zip(packed.to_array()) {
            *slot = value.cast_unsigned();
        }
    }
    #[inline(always)]
    fn store_records(columns: [Self; 4], colors: &[u32], out: &mut [u32]) {
        let records = f32x4::transpose(columns);
        let out = &mut out[..4 * RECORD_WORDS];
        for (k, record) in records.iter().enumerate() {
            let slot = &mut out[k * RECORD_WORDS..(k + 1) * RECORD_WORDS];
            slot[..4].copy_from_slice(&record.to_array().map(f32::to_bits));
            slot[4] = colors[k];
        }
    }
}
