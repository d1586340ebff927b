//! Comparing two captures: each metric's base and new value, its change, and whether it
//! regressed beyond both the threshold and the run's own frame-to-frame spread.
//!
//! Times are judged on medians and 95th percentiles. The spread comes from the per-frame
//! samples by bootstrap: both captures are resampled (seeded, so a comparison always gives
//! the same answer) and a change counts only when it is above zero in 99% of resamples.

use std::fmt::Write as _;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg32;

use super::file::CaptureFile;
use crate::perf::{Phase, percentile};

/// Resamples per metric for the spread.
const RESAMPLES: usize = 1000;
/// Share of resamples whose change must be above zero for the change to be real.
const CONFIDENCE: f64 = 0.99;
/// Phases faster than this in both captures (milliseconds) are not compared: the browser's
/// clock resolves 0.1 ms, and below it a phase is mostly timer noise.
const NEGLIGIBLE_MS: f64 = 0.1;

/// What a metric did between the two captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the threshold.
    Unchanged,
    /// Better by more than the threshold and the spread.
    Improved,
    /// Beyond the threshold, but not beyond the frame-to-frame spread.
    WithinNoise,
    /// Worse by more than the threshold and the spread.
    Regressed,
    /// A time measured with a different number of kernel threads or Web Workers: shown,
    /// but not judged (see the comparison's notes).
    NotJudged,
}

impl Verdict {
    /// The verdict as the table prints it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Unchanged => "ok",
            Self::Improved => "improved",
            Self::WithinNoise => "within noise",
            Self::Regressed => "REGRESSED",
            Self::NotJudged => "not judged",
        }
    }
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// What was measured, with its unit.
    pub metric: String,
    /// The base capture's value.
    pub base: f64,
    /// The new capture's value.
    pub new: f64,
    /// The change as a share of the base value (0.1 is 10% more).
    pub delta: f64,
    /// Whether it regressed.
    pub verdict: Verdict,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One row per metric.
    pub rows: Vec<MetricRow>,
    /// Set when both ran the same steps and ended in different states.
    pub checksum_change: Option<(String, String)>,
    /// Differences that do not stop the comparison (backend, build, machine).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Whether any metric regressed.
    #[must_use]
    pub fn regressed(&self) -> bool {
        self.rows
            .iter()
            .any(|row| row.verdict == Verdict::Regressed)
    }

    /// The table and what else a person should know, as text.
    #[must_use]
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{:<26} {:>12} {:>12} {:>9}  verdict\n",
            "metric", "base", "new", "delta"
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "{:<26} {:>12.3} {:>12.3} {:>+8.1}%  {}",
                row.metric,
                row.base,
                row.new,
                row.delta * 100.0,
                row.verdict.label()
            );
        }
        if let Some((base, new)) = &self.checksum_change {
            let _ = writeln!(
                out,
                "CORRECTNESS: the state checksum changed ({base} -> {new}) after the same steps: \
                 the simulation's results differ"
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

/// Compares `new` against `base`. A metric regressed when it grew by more than
/// `threshold` (0.1 is 10%) of the base value and the growth is beyond the spread.
/// Captures of different scenarios, particle counts or seeds are refused, naming what
/// differs; times measured with different kernel thread or Web Worker counts are shown but
/// not judged, and a note says why.
///
/// # Errors
///
/// When the captures ran different scenarios, particle counts or seeds.
pub fn compare(
    base: &CaptureFile,
    new: &CaptureFile,
    threshold: f64,
) -> Result<Comparison, String> {
    refuse_different_runs(base, new)?;
    let mut rows = Vec::new();
    let mut rng = Pcg32::seed_from_u64(0x5eed);
    let frame = |capture: &CaptureFile| -> Vec<f64> {
        capture.samples.iter().map(|s| s.frame_ms).collect()
    };
    let (base_frames, new_frames) = (frame(base), frame(new));
    for (name, p) in [("frame p50 ms", 50.0), ("frame p95 ms", 95.0)] {
        rows.push(timed_row(
            name,
            &base_frames,
            &new_frames,
            p,
            threshold,
            &mut rng,
        ));
    }
    for (index, phase) in Phase::ALL.into_iter().enumerate() {
        let column = |capture: &CaptureFile| -> Vec<f64> {
            capture.samples.iter().map(|s| s.phase_ms[index]).collect()
        };
        let (base_phase, new_phase) = (column(base), column(new));
        for p in [50.0, 95.0] {
            let row_name = format!("{} p{p:.0} ms", phase.name());
            let row = timed_row(&row_name, &base_phase, &new_phase, p, threshold, &mut rng);
            if row.base.max(row.new) >= NEGLIGIBLE_MS {
                rows.push(row);
            }
        }
    }
    rows.push(counted_row(
        "allocations per frame",
        base.summary.allocations_per_frame,
        new.summary.allocations_per_frame,
        threshold,
    ));
    rows.push(counted_row(
        "peak live heap MB",
        base.summary.peak_live_bytes as f64 / 1.0e6,
        new.summary.peak_live_bytes as f64 / 1.0e6,
        threshold,
    ));
    if threads_differ(base, new) {
        for row in &mut rows {
            if row.metric.ends_with(" ms") {
                row.verdict = Verdict::NotJudged;
            }
        }
    }
    let checksum_change = (base.settings.steps == new.settings.steps
        && base.checksum != new.checksum)
        .then(|| (base.checksum.clone(), new.checksum.clone()));
    Ok(Comparison {
        rows,
        checksum_change,
        notes: notes(base, new),
    })
}

fn refuse_different_runs(base: &CaptureFile, new: &CaptureFile) -> Result<(), String> {
    let (b, n) = (&base.settings, &new.settings);
    let mut differences = Vec::new();
    if b.scenario != n.scenario {
        differences.push(format!("scenario ({} vs {})", b.scenario, n.scenario));
    }
    if b.particles != n.particles {
        differences.push(format!("particles ({} vs {})", b.particles, n.particles));
    }
    if b.seed != n.seed {
        differences.push(format!("seed ({} vs {})", b.seed, n.seed));
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the captures ran different things, so they do not compare: {}",
            differences.join(", ")
        ))
    }
}

fn notes(base: &CaptureFile, new: &CaptureFile) -> Vec<String> {
    let mut notes = Vec::new();
    let (b, n) = (&base.settings, &new.settings);
    if b.steps != n.steps {
        notes.push(format!(
            "checksums not compared: base ran {} steps, new {}",
            b.steps, n.steps
        ));
    }
    if b.headless != n.headless {
        notes.push("one capture is headless and the other rendered".to_owned());
    }
    let (be, ne) = (&base.environment, &new.environment);
    if threads_differ(base, new) {
        notes.push(format!(
            "kernel threads differ: {} ({} Web Workers) vs {} ({}): times are not judged",
            be.kernel_threads, be.kernel_workers, ne.kernel_threads, ne.kernel_workers
        ));
    }
    for (what, base_value, new_value) in [
        ("SIMD backend", &be.simd_backend, &ne.simd_backend),
        ("build profile", &be.build_profile, &ne.build_profile),
        ("architecture", &be.arch, &ne.arch),
    ] {
        if base_value != new_value {
            notes.push(format!("{what} differs: {base_value} vs {new_value}"));
        }
    }
    notes
}

/// Whether the kernels ran on different numbers of threads or Web Workers: their times
/// then measure different set-ups, not a change in the code.
fn threads_differ(base: &CaptureFile, new: &CaptureFile) -> bool {
    let (b, n) = (&base.environment, &new.environment);
    b.kernel_threads != n.kernel_threads || b.kernel_workers != n.kernel_workers
}

/// Relative change from `base` to `new` (0 when both are 0).
fn relative(base: f64, new: f64) -> f64 {
    if base > 0.0 {
        (new - base) / base
    } else if new > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// A count or size: exact in each run, so only the threshold applies.
fn counted_row(metric: &str, base: f64, new: f64, threshold: f64) -> MetricRow {
    let delta = relative(base, new);
    let verdict = if delta > threshold && new - base >= 1.0e-9 {
        Verdict::Regressed
    } else if delta < -threshold {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    MetricRow {
        metric: metric.to_owned(),
        base,
        new,
        delta,
        verdict,
    }
}

/// A time: the `p`th percentile of each series, judged against the threshold and the
/// bootstrap spread.
fn timed_row(
    metric: &str,
    base: &[f64],
    new: &[f64],
    p: f64,
    threshold: f64,
    rng: &mut Pcg32,
) -> MetricRow {
    let (base_value, new_value) = (sorted_percentile(base, p), sorted_percentile(new, p));
    let delta = relative(base_value, new_value);
    let verdict = if delta.abs() <= threshold {
        Verdict::Unchanged
    } else {
        let grew = delta > 0.0;
        if share_changed_same_way(base, new, p, grew, rng) >= CONFIDENCE {
            if grew {
                Verdict::Regressed
            } else {
                Verdict::Improved
            }
        } else {
            Verdict::WithinNoise
        }
    };
    MetricRow {
        metric: metric.to_owned(),
        base: base_value,
        new: new_value,
        delta,
        verdict,
    }
}

fn sorted_percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    if sorted.is_empty() {
        0.0
    } else {
        percentile(&sorted, p)
    }
}

/// The share of bootstrap resamples in which the `p`th percentile moved in the same
/// direction as it did between the captures (up when `grew`).
fn share_changed_same_way(base: &[f64], new: &[f64], p: f64, grew: bool, rng: &mut Pcg32) -> f64 {
    let mut base_draw = vec![0.0; base.len()];
    let mut new_draw = vec![0.0; new.len()];
    let mut same_way = 0_usize;
    for _ in 0..RESAMPLES {
        let b = resampled_percentile(base, &mut base_draw, p, rng);
        let n = resampled_percentile(new, &mut new_draw, p, rng);
        if (grew && n > b) || (!grew && n < b) {
            same_way += 1;
        }
    }
    same_way as f64 / RESAMPLES as f64
}

fn resampled_percentile(values: &[f64], draw: &mut [f64], p: f64, rng: &mut Pcg32) -> f64 {
    for slot in draw.iter_mut() {
        *slot = values[rng.random_range(0..values.len())];
    }
    draw.sort_unstable_by(f64::total_cmp);
    percentile(draw, p)
}

#[cfg(test)]
mod tests {
    use super::super::file::tests::sample_capture;
    use super::*;

    /// Frame times with the jitter of a real run: `centre` ms give or take 5%.
    fn jittered(centre: f64, frames: usize, seed: u64) -> Vec<f64> {
        let mut rng = Pcg32::seed_from_u64(seed);
        (0..frames)
            .map(|_| centre * (1.0 + rng.random_range(-0.05..0.05)))
            .collect()
    }

    #[test]
    fn two_runs_of_the_same_build_pass() {
        let base = sample_capture(&jittered(10.0, 600, 1));
        let new = sample_capture(&jittered(10.0, 600, 2));
        let comparison = compare(&base, &new, 0.10).unwrap();
        assert!(!comparison.regressed(), "{}", comparison.to_table());
        assert_eq!(comparison.checksum_change, None);
    }

    /// The sample capture's frames: simulate takes half of each 10 ms frame, pack a tenth,
    /// upload and overlay nothing; no allocations; 1 MiB live.
    #[test]
    fn every_metric_gets_a_row_except_phases_too_fast_to_time() {
        let base = sample_capture(&[10.0; 10]);
        let comparison = compare(&base, &base.clone(), 0.1).unwrap();
        let metrics: Vec<&str> = comparison.rows.iter().map(|r| r.metric.as_str()).collect();
        assert_eq!(
            metrics,
            [
                "frame p50 ms",
                "frame p95 ms",
                "simulate p50 ms",
                "simulate p95 ms",
                "pack p50 ms",
                "pack p95 ms",
                "allocations per frame",
                "peak live heap MB",
            ]
        );
        let row = |name: &str| comparison.rows.iter().find(|r| r.metric == name).unwrap();
        assert_eq!(
            (row("pack p50 ms").base, row("pack p50 ms").new),
            (1.0, 1.0)
        );
        let heap = row("peak live heap MB");
        assert_eq!((heap.base, heap.new), (1.048_576, 1.048_576));
        let allocations = row("allocations per frame");
        assert_eq!((allocations.base, allocations.delta), (0.0, 0.0));
        assert_eq!(allocations.verdict, Verdict::Unchanged);
    }

    /// Counts are exact, so the threshold alone decides: a change of exactly the threshold
    /// is not past it, and a change under a billionth is not a change.
    #[test]
    #[expect(clippy::float_cmp, reason = "an infinite change is exactly infinite")]
    fn a_count_changes_only_past_the_threshold() {
        let verdict = |base: f64, new: f64| counted_row("count", base, new, 0.1).verdict;
        assert_eq!(verdict(10.0, 11.0), Verdict::Unchanged, "exactly +10%");
        assert_eq!(verdict(10.0, 11.5), Verdict::Regressed);
        assert_eq!(verdict(10.0, 10.5), Verdict::Unchanged);
        assert_eq!(verdict(10.0, 9.0), Verdict::Unchanged, "exactly -10%");
        assert_eq!(verdict(10.0, 5.0), Verdict::Improved);
        assert_eq!(
            verdict(6.0e-10, 7.0e-10),
            Verdict::Unchanged,
            "+17% of nearly 0"
        );
        assert_eq!(verdict(0.0, 1.0), Verdict::Regressed);
        assert_eq!(counted_row("count", 0.0, 1.0, 0.1).delta, f64::INFINITY);
    }

    /// A resample counts only when it moved strictly the way the captures did: ties (two
    /// identical runs) count for neither direction.
    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "a share of 1000 resamples that all or none moved is exactly 1 or 0"
    )]
    fn the_bootstrap_counts_resamples_that_moved_the_same_way() {
        let mut rng = Pcg32::seed_from_u64(1);
        let (fast, slow) = ([5.0; 20], [10.0; 20]);
        let mut share = |base: &[f64], new: &[f64], grew| {
            share_changed_same_way(base, new, 50.0, grew, &mut rng)
        };
        assert_eq!(share(&fast, &slow, true), 1.0);
        assert_eq!(share(&slow, &fast, false), 1.0);
        assert_eq!(share(&slow, &fast, true), 0.0);
        assert_eq!(share(&fast, &slow, false), 0.0);
        assert_eq!(share(&fast, &fast, true), 0.0);
        assert_eq!(share(&fast, &fast, false), 0.0);
    }

    #[test]
    fn a_thirty_percent_slower_run_is_flagged() {
        let base = sample_capture(&jittered(10.0, 600, 1));
        let new = sample_capture(&jittered(13.0, 600, 2));
        let comparison = compare(&base, &new, 0.10).unwrap();
        assert!(comparison.regressed(), "{}", comparison.to_table());
        let frame = &comparison.rows[0];
        assert_eq!(frame.metric, "frame p50 ms");
        assert!((frame.delta - 0.3).abs() < 0.05, "delta {}", frame.delta);
        assert_eq!(frame.verdict, Verdict::Regressed);
        assert!(comparison.to_table().contains("REGRESSED"));
    }

    /// Twelve frames, each 5 or 20 ms: the base has six of each (median 5 ms), the new
    /// run one more at 20 (median 20 ms). The median quadrupled, far past the threshold, so
    /// the bootstrap decides; resampled, either median lands on 5 or 20 about as often, so
    /// the change is within the noise, not a regression.
    #[test]
    fn a_change_inside_the_spread_is_not_a_regression() {
        let frames = |slow: usize| -> Vec<f64> {
            (0..12).map(|i| if i < slow { 20.0 } else { 5.0 }).collect()
        };
        let (base, new) = (sample_capture(&frames(6)), sample_capture(&frames(7)));
        let comparison = compare(&base, &new, 0.10).unwrap();
        let frame = &comparison.rows[0];
        assert_eq!(
            (frame.metric.as_str(), frame.base, frame.new),
            ("frame p50 ms", 5.0, 20.0),
            "{}",
            comparison.to_table()
        );
        assert!(
            frame.delta > 0.10,
            "past the threshold: the bootstrap decides"
        );
        assert_eq!(
            frame.verdict,
            Verdict::WithinNoise,
            "{}",
            comparison.to_table()
        );
    }

    /// A capture twice as slow on one thread as on two is not called a regression: its
    /// times are shown, marked not judged, and a note names both counts; the counts
    /// (allocations, heap) are still judged.
    #[test]
    fn times_with_a_different_thread_or_worker_count_are_shown_but_not_judged() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = sample_capture(&[20.0; 10]);
        assert!(
            compare(&base, &new, 0.1).unwrap().regressed(),
            "the same set-up"
        );
        new.environment.kernel_threads = 1;
        let comparison = compare(&base, &new, 0.1).unwrap();
        assert!(!comparison.regressed(), "{}", comparison.to_table());
        let frame = &comparison.rows[0];
        assert_eq!((frame.metric.as_str(), frame.new), ("frame p50 ms", 20.0));
        assert_eq!(frame.verdict, Verdict::NotJudged);
        assert!(comparison.to_table().contains("not judged"));
        let allocations = comparison
            .rows
            .iter()
            .find(|row| row.metric == "allocations per frame")
            .expect("an allocations row");
        assert_ne!(allocations.verdict, Verdict::NotJudged);
        assert_eq!(
            comparison.notes,
            ["kernel threads differ: 2 (0 Web Workers) vs 1 (0): times are not judged"]
        );
        new.environment.kernel_threads = 2;
        new.environment.kernel_workers = 1;
        let comparison = compare(&base, &new, 0.1).unwrap();
        assert!(!comparison.regressed(), "a worker in place of a thread");
        assert_eq!(
            comparison.notes,
            ["kernel threads differ: 2 (0 Web Workers) vs 2 (1): times are not judged"]
        );
    }

    #[test]
    fn different_scenarios_particles_or_seeds_are_refused_by_name() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        new.settings.scenario = "galaxy".into();
        new.settings.seed = 8;
        let error = compare(&base, &new, 0.1).unwrap_err();
        assert!(error.contains("scenario (stress vs galaxy)"), "{error}");
        assert!(error.contains("seed (7 vs 8)"), "{error}");
        assert!(!error.contains("particles"), "{error}");
    }

    #[test]
    fn a_different_checksum_is_a_correctness_change() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        new.checksum = "fedcba9876543210".into();
        let comparison = compare(&base, &new, 0.1).unwrap();
        assert!(!comparison.regressed(), "speed is unchanged");
        assert!(comparison.checksum_change.is_some());
        assert!(comparison.to_table().contains("CORRECTNESS"));
        new.settings.steps += 1;
        let comparison = compare(&base, &new, 0.1).unwrap();
        assert_eq!(comparison.checksum_change, None, "other steps, other state");
    }

    #[test]
    fn more_allocations_per_frame_regress() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        for sample in &mut new.samples {
            sample.allocations = 5;
        }
        new.summary.allocations_per_frame = 5.0;
        let comparison = compare(&base, &new, 0.1).unwrap();
        assert!(comparison.regressed(), "{}", comparison.to_table());
    }
}
