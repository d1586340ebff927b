//! `Lanes` over sixteen `f32`s in an AVX-512 register, for `x86_64` CPUs with AVX-512F.
//!
//! As with [`super::avx2`], the instructions are chosen at run time, so this needs
//! `core::arch`, and soundness rests on one fact: an [`F32x16`] only exists on a CPU with
//! AVX-512F and AVX2 ([`step`] and [`pack`] take an [`Avx512`] token, which only detection
//! returns). Every method is `#[inline(always)]`, so it compiles as part of the
//! AVX-512-enabled entry points. Comparisons give a 16-bit mask register, so a
//! select is one masked blend. The square root and division units are no wider per lane
//! than AVX2's, but everything else takes half the instructions per particle. For large
//! pools the pack streams its records past the cache, five whole 64-byte lines per sixteen
//! particles.

use core::arch::x86_64::{
    __m256, __m512, __mmask16, _CMP_GT_OQ, _CMP_LT_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEG_INF,
    _mm_sfence, _mm256_castpd_ps, _mm512_add_ps, _mm512_castps_pd, _mm512_castps512_ps256,
    _mm512_castsi512_ps, _mm512_cmp_ps_mask, _mm512_cvttps_epi32, _mm512_div_ps,
    _mm512_extractf64x4_pd, _mm512_loadu_ps, _mm512_loadu_si512, _mm512_mask_blend_ps,
    _mm512_mask_permutexvar_ps, _mm512_maskz_mov_ps, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps,
    _mm512_or_si512, _mm512_permutex2var_ps, _mm512_roundscale_ps, _mm512_set1_ps,
    _mm512_slli_epi32, _mm512_sqrt_ps, _mm512_storeu_ps, _mm512_storeu_si512, _mm512_stream_ps,
    _mm512_sub_ps,
};

use super::avx2::store_records_x8;
use super::lanes::{Lanes, RECORD_WORDS};
use super::{LookParams, StepParams};
use crate::sim::pool::{Columns, Particles};

/// Proof that this CPU runs every instruction set the AVX-512 kernels use: AVX-512F, and
/// AVX2 (the pack writes each half of a vector with the AVX2 transpose). Only
/// [`Avx512::detect`] makes one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx512(());

impl Avx512 {
    /// The token, if this CPU has AVX-512F and AVX2 (cached by the standard library).
    pub(super) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2"))
            .then_some(Self(()))
    }
}

/// Sixteen `f32` lanes in a 512-bit AVX-512 register; only exists on a CPU with AVX-512F
/// and AVX2.
#[derive(Clone, Copy)]
struct F32x16(__m512);

/// The step kernel compiled for AVX-512F.
pub(super) fn step(_cpu: Avx512, columns: Columns<'_>, params: &StepParams) {
    // SAFETY: an `Avx512` token exists, so this CPU has AVX-512F and AVX2.
    unsafe { step_avx512(columns, params) }
}

/// The instance pack kernel compiled for AVX-512F. With `stream`, the records are written
/// past the cache (non-temporal stores): a record's cache line is not read before it is
/// written, so memory carries 40 bytes per particle instead of 60. The caller asks for it
/// when the records are too large to still be in the cache when the upload reads them.
pub(super) fn pack(
    _cpu: Avx512,
    particles: Particles<'_>,
    looks: &LookParams,
    out: &mut [u32],
    stream: bool,
) {
    if stream {
        // SAFETY: an `Avx512` token exists, so this CPU has AVX-512F and AVX2.
        unsafe { pack_avx512_streaming(particles, looks, out) }
    } else {
        // SAFETY: as above.
        unsafe { pack_avx512(particles, looks, out) }
    }
}

#[target_feature(enable = "avx512f,avx2")]
fn step_avx512(columns: Columns<'_>, params: &StepParams) {
    super::step::run::<F32x16>(columns, params);
}

#[target_feature(enable = "avx512f,avx2")]
fn pack_avx512(particles: Particles<'_>, looks: &LookParams, out: &mut [u32]) {
    super::pack::run::<F32x16>(particles, looks, out);
}

/// The pack with its whole vectors' records streamed: the particles before the first
/// record that starts a 64-byte line are packed as usual (fewer than sixteen, so by the
/// scalar twin), then every sixteen particles fill exactly five lines (320 bytes), which
/// [`stream_records`] writes whole. Nothing between the first streamed store and the fence
/// can panic: the public entry points checked that `out` holds every record.
#[target_feature(enable = "avx512f,avx2")]
fn pack_avx512_streaming(particles: Particles<'_>, looks: &LookParams, out: &mut [u32]) {
    let len = particles.len();
    let head = particles_before_line(out.as_ptr()).min(len);
    super::pack::run::<F32x16>(particles.range(0..head), looks, out);
    super::pack::run_with::<F32x16>(
        particles.range(head..len),
        looks,
        &mut out[head * RECORD_WORDS..],
        stream_records,
    );
    // Streamed stores are weakly ordered: the fence makes them visible before anything
    // this thread does next (on a dispatcher's helper, marking its chunk finished).
    _mm_sfence();
}

/// How many records (of 20 bytes) come before the first record that starts a 64-byte
/// line, for records from `records` (a `u32` pointer, so 4-byte aligned): the `n` in
/// `0..16` with `records + 20n` on a line start (up to 300 bytes on).
fn particles_before_line(records: *const u32) -> usize {
    const LINE_WORDS: usize = 16;
    // 1 to 16 words; a pointer already on a line start gives 16, which the last step
    // takes to 0.
    let words_to_line = LINE_WORDS - (records.addr() / 4) % LINE_WORDS;
    // 5n = words_to_line (mod 16), and 13 is 5's inverse mod 16 (5 * 13 = 65).
    words_to_line * 13 % LINE_WORDS
}

/// For each of the five lines sixteen records fill: the source lane of each word (the
/// particle, plus 16 where the word is a `y`, so one two-register permute picks `x` and `y`
/// at once), and masks of the words that are `z`, size and colour.
const LINE_LAYOUT: ([[u32; 16]; 5], [[u16; 5]; 3]) = {
    assert!(RECORD_WORDS == 5, "the layout is for five-word records");
    let mut sources = [[0_u32; 16]; 5];
    let mut masks = [[0_u16; 5]; 3];
    let mut word = 0_u32;
    while word < 80 {
        let (line, lane) = ((word / 16) as usize, word % 16);
        let (particle, field) = (word / 5, word % 5);
        sources[line][lane as usize] = particle + if field == 1 { 16 } else { 0 };
        if field >= 2 {
            masks[(field - 2) as usize][line] |= 1 << lane;
        }
        word += 1;
    }
    (sources, masks)
};

/// Writes sixteen particles' records from `x`, `y`, `z`, size and `colors[..16]` to
/// `out[..80]`, with the contract of [`Lanes::store_records`]: each of the five lines is
/// put together in a register and streamed. The caller fences after the last.
///
/// # Panics
/// If `out` does not start a 64-byte line (the caller packs up to the first line without
/// it).
#[inline(always)]
fn stream_records(columns: [F32x16; 4], colors: &[u32], out: &mut [u32]) {
    let lines = &mut out[..16 * RECORD_WORDS];
    assert!(
        lines.as_ptr().addr().is_multiple_of(64),
        "streamed records start a line"
    );
    let colors = &colors[..16];
    let [F32x16(x), F32x16(y), F32x16(z), F32x16(size)] = columns;
    let (sources, [z_words, size_words, color_words]) = LINE_LAYOUT;
    // SAFETY: see the note below; `colors` holds sixteen u32s, and each `line` is sixteen
    // words of `out` starting on a 64-byte boundary (asserted above), as the streaming
    // store requires.
    unsafe {
        let color = _mm512_castsi512_ps(_mm512_loadu_si512(colors.as_ptr().cast()));
        for (index, line) in lines.chunks_exact_mut(16).enumerate() {
            let from = _mm512_loadu_si512(sources[index].as_ptr().cast());
            let mut words = _mm512_permutex2var_ps(x, from, y);
            words = _mm512_mask_permutexvar_ps(words, z_words[index], from, z);
            words = _mm512_mask_permutexvar_ps(words, size_words[index], from, size);
            words = _mm512_mask_permutexvar_ps(words, color_words[index], from, color);
            _mm512_stream_ps(line.as_mut_ptr().cast(), words);
        }
    }
}

impl F32x16 {
    /// The low and high eight lanes.
    #[inline(always)]
    fn halves(self) -> [__m256; 2] {
        // SAFETY: see the note below.
        unsafe {
            [
                _mm512_castps512_ps256(self.0),
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0))),
            ]
        }
    }
}

// SAFETY (for every `unsafe` block in this file): the intrinsics need AVX-512F or AVX2, and
// an `F32x16` value only exists on a CPU with both: the type is private to this file, and
// this file makes values only on paths that hold an `Avx512` token, which only
// `Avx512::detect` returns after the CPU said it has both (the kernels behind `step` and
// `pack`, and the tests after `detect`). Loads and stores go through slices that were
// bounds-checked for sixteen lanes first.

arithmetic_from_intrinsics!(F32x16:
    Add add _mm512_add_ps,
    Sub sub _mm512_sub_ps,
    Mul mul _mm512_mul_ps,
    Div div _mm512_div_ps
);

impl Lanes for F32x16 {
    type Mask = __mmask16;
    const WIDTH: usize = 16;

    #[inline(always)]
    fn splat(value: f32) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_set1_ps(value) })
    }
    #[inline(always)]
    fn load(column: &[f32], i: usize) -> Self {
        let lanes = &column[i..i + 16];
        // SAFETY: see the note above; `lanes` holds exactly sixteen f32s.
        Self(unsafe { _mm512_loadu_ps(lanes.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, column: &mut [f32], i: usize) {
        let lanes = &mut column[i..i + 16];
        // SAFETY: see the note above; `lanes` holds exactly sixteen f32s.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_sqrt_ps(self.0) })
    }
    /// Rounds toward negative infinity with exceptions suppressed: the same instruction
    /// family and rounding as AVX's `vroundps` with `_MM_FROUND_FLOOR`.
    #[inline(always)]
    fn floor(self) -> Self {
        const FLOOR: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
        // SAFETY: see the note above.
        Self(unsafe { _mm512_roundscale_ps::<FLOOR>(self.0) })
    }
    #[inline(always)]
    fn lt(self, other: Self) -> __mmask16 {
        // SAFETY: see the note above.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn gt(self, other: Self) -> __mmask16 {
        // SAFETY: see the note above.
        unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self.0, other.0) }
    }
    /// `vminps` on 512 bits keeps AVX's semantics, `self < other ? self : other`.
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_min_ps(self.0, other.0) })
    }
    /// `vmaxps`: `self > other ? self : other`.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn select(mask: __mmask16, if_true: Self, if_false: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_mask_blend_ps(mask, if_false.0, if_true.0) })
    }
    #[inline(always)]
    fn keep(mask: __mmask16, value: Self) -> Self {
        // SAFETY: see the note above.
        Self(unsafe { _mm512_maskz_mov_ps(mask, value.0) })
    }
    #[inline(always)]
    fn store_rgba8(red: Self, green: Self, blue: Self, alpha: Self, column: &mut [u32]) {
        let lanes = &mut column[..16];
        // SAFETY: see the note above; `lanes` holds exactly sixteen u32s.
        unsafe {
            let packed = _mm512_or_si512(
                _mm512_or_si512(
                    _mm512_cvttps_epi32(red.0),
                    _mm512_slli_epi32::<8>(_mm512_cvttps_epi32(green.0)),
                ),
                _mm512_or_si512(
                    _mm512_slli_epi32::<16>(_mm512_cvttps_epi32(blue.0)),
                    _mm512_slli_epi32::<24>(_mm512_cvttps_epi32(alpha.0)),
                ),
            );
            _mm512_storeu_si512(lanes.as_mut_ptr().cast(), packed);
        }
    }
    /// Each half of eight particles is written by the AVX2 transpose.
    #[inline(always)]
    fn store_records(columns: [Self; 4], colors: &[u32], out: &mut [u32]) {
        let [x, y, z, size] = columns;
        let [x, y, z, size] = [x.halves(), y.halves(), z.halves(), size.halves()];
        for half in 0..2 {
            let eight = [x[half], y[half], z[half], size[half]];
            let (colors, out) = (&colors[half * 8..], &mut out[half * 8 * RECORD_WORDS..]);
            // SAFETY: see the note above (AVX2 is part of it).
            unsafe { store_records_x8(eight, colors, out) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vcmpps`, `vminps` and `vmaxps` give the trait's semantics on zeros and NaN, and
    /// the colours fill their sixteen lanes (on a CPU that has the instructions; elsewhere
    /// there is nothing to check).
    #[test]
    fn the_lane_type_keeps_the_trait_contract() {
        if Avx512::detect().is_some() {
            super::super::lanes::assert_lane_contract::<F32x16>("F32x16");
        }
    }

    /// From each of the sixteen word positions in a 64-byte line, the count of records
    /// before the next line start is the least that lands on one.
    #[test]
    fn the_records_before_a_line_end_on_a_line_start() {
        #[repr(align(64))]
        struct Line([u32; 16]);
        let line = Line([0; 16]);
        for word in 0..16 {
            let records = line.0.as_ptr().wrapping_add(word);
            let before = particles_before_line(records);
            let lands = |n: usize| (word * 4 + n * 20).is_multiple_of(64);
            assert!(before < 16 && lands(before), "word {word}: {before}");
            assert!(
                !(0..before).any(lands),
                "word {word}: {before} is not the least"
            );
        }
    }

    /// The line layout puts record `k`'s five words at `5k..5k + 5`: each word's source
    /// lane is its particle, and the masks cover z, size and colour words exactly.
    #[test]
    fn the_line_layout_interleaves_five_words_per_record() {
        let (sources, [z, size, color]) = LINE_LAYOUT;
        assert_eq!(sources[0][..6], [0, 16, 0, 0, 0, 1]);
        assert_eq!(sources[4][10..], [14, 15, 31, 15, 15, 15]);
        assert_eq!(z[0], 0b0001_0000_1000_0100);
        assert_eq!(size[0], 0b0010_0001_0000_1000);
        assert_eq!(color[0], 0b0100_0010_0001_0000);
        for line in 0..5 {
            assert_eq!(z[line] & size[line], 0);
            assert_eq!(
                (z[line] | size[line] | color[line]).count_ones(),
                [9, 9, 10, 10, 10][line]
            );
        }
    }
}
