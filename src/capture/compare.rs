//! Comparing captures: each metric's base and new value, its change, and whether it
//! regressed beyond the threshold, the frames' own spread and the runs' disagreement.
//!
//! Each side is one capture or several runs of the same thing (best interleaved with the
//! other side's: base, new, base, new, ...). A side's time is the median over its runs of
//! each run's percentile. A time counts as changed only when all of these hold:
//! - it moved by more than the threshold;
//! - a moving-block bootstrap of the frames (blocks long enough for the frame-to-frame
//!   correlation, resampled within each run; seeded, so a comparison always gives the
//!   same answer) moves it the same way in 99% of resamples;
//! - each side has at least [`MIN_RUNS_FOR_A_VERDICT`] runs, the runs of each side agree
//!   within the threshold, and the closest runs of the two sides are apart by more than
//!   the threshold (three runs a side of one build fall in order by chance once in twenty
//!   comparisons; a gap that wide does not).
//!
//! When the first two hold and the last does not, the time is *inconclusive*: one run a
//! side cannot tell a slower build from a slower minute on a shared machine, and runs that
//! disagree among themselves say the machine was too noisy to tell.
//!
//! Captures made differently (headless or rendered, backend, build profile, architecture,
//! browser, kernel threads or workers) are refused, naming the difference, unless asked to
//! compare across set-ups; then every difference is reported and nothing is judged.

use std::fmt::Write as _;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg32;

use super::capacity::{Capacity, Pacing};
use super::file::CaptureFile;
use crate::perf::{Phase, percentile};

/// Resamples per metric for the spread.
const RESAMPLES: usize = 1000;
/// Share of resamples whose change must be above zero for the change to be real.
const CONFIDENCE: f64 = 0.99;
/// Phases faster than this in both captures (milliseconds) are not compared: the browser's
/// clock resolves 0.1 ms, and below it a phase is mostly timer noise.
const NEGLIGIBLE_MS: f64 = 0.1;
/// Runs a side needs before a time can be called regressed or improved.
pub const MIN_RUNS_FOR_A_VERDICT: usize = 3;

/// What a metric did between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the threshold.
    Unchanged,
    /// Better by more than the threshold and the spread.
    Improved,
    /// Beyond the threshold, but not beyond the frame-to-frame spread.
    WithinNoise,
    /// Beyond the threshold and the spread, but too few runs, or runs that disagree, to
    /// tell a change in the code from a change in the machine.
    Inconclusive,
    /// Worse by more than the threshold and the spread, on runs that agree.
    Regressed,
    /// Captures made differently, compared across set-ups: shown, not judged.
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
            Self::Inconclusive => "inconclusive",
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
    /// The base side's value.
    pub base: f64,
    /// The new side's value.
    pub new: f64,
    /// The change as a share of the base value (0.1 is 10% more).
    pub delta: f64,
    /// Whether it regressed.
    pub verdict: Verdict,
    /// Why a time is inconclusive.
    pub why: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Runs on each side.
    pub runs: (usize, usize),
    /// One row per metric.
    pub rows: Vec<MetricRow>,
    /// Set when both ran the same steps and ended in different states.
    pub checksum_change: Option<(String, String)>,
    /// Differences that do not stop the comparison (machine, versions; with `across`,
    /// every difference in how the captures were made).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Whether any metric regressed.
    #[must_use]
    pub fn regressed(&self) -> bool {
        self.has(Verdict::Regressed)
    }

    /// Whether any metric was inconclusive.
    #[must_use]
    pub fn inconclusive(&self) -> bool {
        self.has(Verdict::Inconclusive)
    }

    fn has(&self, verdict: Verdict) -> bool {
        self.rows.iter().any(|row| row.verdict == verdict)
    }

    /// The table and what else a person should know, as text.
    #[must_use]
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{} base run(s), {} new run(s)\n{:<26} {:>12} {:>12} {:>9}  verdict\n",
            self.runs.0, self.runs.1, "metric", "base", "new", "delta"
        );
        for row in &self.rows {
            let _ = write!(
                out,
                "{:<26} {:>12.3} {:>12.3} {:>+8.1}%  {}",
                row.metric,
                row.base,
                row.new,
                row.delta * 100.0,
                row.verdict.label()
            );
            if let Some(why) = &row.why {
                let _ = write!(out, " ({why})");
            }
            out.push('\n');
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

/// How to compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// How much worse a metric may get before it counts (0.1 is 10%).
    pub threshold: f64,
    /// Compare captures made differently: report the differences, judge nothing.
    pub across: bool,
}

impl CompareOptions {
    /// Judge at `threshold`, refusing captures made differently.
    #[must_use]
    pub fn at(threshold: f64) -> Self {
        Self {
            threshold,
            across: false,
        }
    }
}

/// Compares the `new` runs against the `base` runs (each side one capture or more, of the
/// same run made the same way).
///
/// # Errors
///
/// When a side is empty; when the captures ran different scenarios, particle counts or
/// seeds; when they were made differently (headless or rendered, backend, build profile,
/// architecture, browser, kernel threads or workers) and `options.across` is off; or when
/// the runs of one side differ from each other in any of these. The message names every
/// difference.
pub fn compare(
    base: &[CaptureFile],
    new: &[CaptureFile],
    options: CompareOptions,
) -> Result<Comparison, String> {
    let (Some(first_base), Some(first_new)) = (base.first(), new.first()) else {
        return Err("each side needs at least one capture".to_owned());
    };
    for (side, runs) in [("base", base), ("new", new)] {
        for run in &runs[1..] {
            let mut differences = run_differences(&runs[0], run);
            differences.extend(setup_differences(&runs[0], run));
            if !differences.is_empty() {
                return Err(format!(
                    "the {side} runs were not made the same way: {}",
                    differences.join(", ")
                ));
            }
        }
    }
    let differences = run_differences(first_base, first_new);
    if !differences.is_empty() {
        return Err(format!(
            "the captures ran different things, so they do not compare: {}",
            differences.join(", ")
        ));
    }
    let setups = setup_differences(first_base, first_new);
    if !setups.is_empty() && !options.across {
        return Err(format!(
            "the captures were made differently: {}; compare with --across to see the \
             differences without a verdict",
            setups.join(", ")
        ));
    }
    // A capacity search's frames ran at counts it chose, so two searches' times (and end
    // states) do not compare: their scores do.
    let searches = first_base
        .capacity
        .as_ref()
        .zip(first_new.capacity.as_ref());
    let mut rows = match searches {
        Some((base_capacity, new_capacity)) => {
            vec![capacity_row(base_capacity, new_capacity, options.threshold)]
        }
        None => timed_rows(base, new, options.threshold),
    };
    let mean = |runs: &[CaptureFile], value: fn(&CaptureFile) -> f64| {
        runs.iter().map(value).sum::<f64>() / runs.len() as f64
    };
    rows.push(counted_row(
        "allocations per frame",
        mean(base, |c| c.summary.allocations_per_frame),
        mean(new, |c| c.summary.allocations_per_frame),
        options.threshold,
    ));
    rows.push(counted_row(
        "peak live heap MB",
        mean(base, |c| c.summary.peak_live_bytes as f64 / 1.0e6),
        mean(new, |c| c.summary.peak_live_bytes as f64 / 1.0e6),
        options.threshold,
    ));
    let mut notes = notes(first_base, first_new, searches.is_none());
    if !setups.is_empty() {
        for row in &mut rows {
            row.verdict = Verdict::NotJudged;
            row.why = None;
        }
        notes.extend(
            setups
                .iter()
                .map(|difference| format!("made differently: {difference}: shown, not judged")),
        );
    }
    Ok(Comparison {
        runs: (base.len(), new.len()),
        rows,
        checksum_change: searches
            .is_none()
            .then(|| checksum_change(base, new))
            .flatten(),
        notes,
    })
}

/// The frame and phase percentiles' rows.
fn timed_rows(base: &[CaptureFile], new: &[CaptureFile], threshold: f64) -> Vec<MetricRow> {
    let mut rng = Pcg32::seed_from_u64(0x5eed);
    let series = |runs: &[CaptureFile], column: Option<usize>| -> Vec<Vec<f64>> {
        runs.iter()
            .map(|run| {
                run.samples
                    .iter()
                    .map(|s| column.map_or(s.frame_ms, |index| s.phase_ms[index]))
                    .collect()
            })
            .collect()
    };
    let mut rows = Vec::new();
    let columns = [(None, "frame")].into_iter().chain(
        Phase::ALL
            .into_iter()
            .enumerate()
            .map(|(i, p)| (Some(i), p.name())),
    );
    for (column, name) in columns {
        let (base_runs, new_runs) = (series(base, column), series(new, column));
        // Frames always get their rows; phases only when they take time to measure.
        let least_ms = if column.is_none() { 0.0 } else { NEGLIGIBLE_MS };
        for p in [50.0, 95.0] {
            let row_name = format!("{name} p{p:.0} ms");
            rows.extend(timed_row(
                &row_name, &base_runs, &new_runs, p, threshold, least_ms, &mut rng,
            ));
        }
    }
    rows
}

/// Set when some new run ran the same steps as a base run and ended in another state.
fn checksum_change(base: &[CaptureFile], new: &[CaptureFile]) -> Option<(String, String)> {
    base.iter().find_map(|b| {
        new.iter()
            .find(|n| n.settings.steps == b.settings.steps && n.checksum != b.checksum)
            .map(|n| (b.checksum.clone(), n.checksum.clone()))
    })
}

/// What the two captures ran, where it differs.
fn run_differences(base: &CaptureFile, new: &CaptureFile) -> Vec<String> {
    let (b, n) = (&base.settings, &new.settings);
    let mut differences = Vec::new();
    if b.scenario != n.scenario {
        differences.push(format!("scenario ({} vs {})", b.scenario, n.scenario));
    }
    match (&base.capacity, &new.capacity) {
        (Some(_), None) | (None, Some(_)) => {
            differences.push("capacity search (one capture is one, the other is not)".into());
        }
        (Some(base_search), Some(new_search)) => {
            differences.extend(search_differences(base_search, new_search));
        }
        // Two searches chose their own counts: their scores are what compares.
        (None, None) if b.particles != n.particles => {
            differences.push(format!("particles ({} vs {})", b.particles, n.particles));
        }
        _ => {}
    }
    if b.seed != n.seed {
        differences.push(format!("seed ({} vs {})", b.seed, n.seed));
    }
    differences
}

/// How two capacity searches were judged, where it differs: the budget, how the frames
/// were paced (vsync off, display-paced or not recorded) and the limit a window had to
/// stay within (a display-paced search's depends on the display's refresh).
fn search_differences(base: &Capacity, new: &Capacity) -> Vec<String> {
    let mut differences = Vec::new();
    if (base.budget_ms - new.budget_ms).abs() > 1e-9 {
        differences.push(format!(
            "capacity budget ({:.2} ms vs {:.2} ms)",
            base.budget_ms, new.budget_ms
        ));
    }
    let pacing = |search: &Capacity| match &search.pacing {
        None => "not recorded",
        Some(Pacing::VsyncOff { .. }) => "vsync off",
        Some(Pacing::DisplayPaced { .. }) => "display-paced",
    };
    let (base_limit, new_limit) = (base.window_limit_ms(), new.window_limit_ms());
    if pacing(base) != pacing(new) {
        differences.push(format!(
            "capacity pacing ({} vs {})",
            pacing(base),
            pacing(new)
        ));
    } else if (base_limit - new_limit).abs() > 1e-9 {
        differences.push(format!(
            "capacity limit ({base_limit:.2} ms vs {new_limit:.2} ms)"
        ));
    }
    differences
}

/// How the two captures were made, where it differs: each difference changes the times
/// by itself, so times across it are not a change in the code.
fn setup_differences(base: &CaptureFile, new: &CaptureFile) -> Vec<String> {
    let (be, ne) = (&base.environment, &new.environment);
    let mode = |c: &CaptureFile| {
        if c.settings.headless {
            "headless"
        } else {
            "rendered"
        }
    };
    let threads = |e: &super::Environment| {
        format!(
            "{} threads, {} Web Workers",
            e.kernel_threads, e.kernel_workers
        )
    };
    let browser = |e: &super::Environment| browser_name(e.user_agent.as_deref()).to_owned();
    let pairs = [
        ("mode", mode(base).to_owned(), mode(new).to_owned()),
        (
            "backend",
            base.settings.backend.clone(),
            new.settings.backend.clone(),
        ),
        (
            "SIMD backend",
            be.simd_backend.clone(),
            ne.simd_backend.clone(),
        ),
        (
            "build profile",
            be.build_profile.clone(),
            ne.build_profile.clone(),
        ),
        ("architecture", be.arch.clone(), ne.arch.clone()),
        ("browser", browser(be), browser(ne)),
        ("kernel threads", threads(be), threads(ne)),
    ];
    pairs
        .into_iter()
        .filter(|(_, b, n)| b != n)
        .map(|(what, b, n)| format!("{what} ({b} vs {n})"))
        .collect()
}

/// The browser family a user agent names (`Firefox`, `Chrome`, `Safari`), `none` natively.
fn browser_name(user_agent: Option<&str>) -> &'static str {
    match user_agent {
        None => "none",
        Some(agent) if agent.contains("Firefox/") => "Firefox",
        Some(agent) if agent.contains("Chrome/") || agent.contains("Chromium/") => "Chrome",
        Some(agent) if agent.contains("Safari/") => "Safari",
        Some(_) => "another browser",
    }
}

/// Differences that do not change what the times mean; whether the checksums could be
/// compared when `checksums` are (not for capacity searches, which end at counts of their
/// own).
fn notes(base: &CaptureFile, new: &CaptureFile, checksums: bool) -> Vec<String> {
    let mut notes = Vec::new();
    let (b, n) = (&base.settings, &new.settings);
    if checksums && b.steps != n.steps {
        notes.push(format!(
            "checksums not compared: base ran {} steps, new {}",
            b.steps, n.steps
        ));
    }
    let (be, ne) = (&base.environment, &new.environment);
    let cpu = |e: &super::Environment| e.cpu_model.clone().unwrap_or_else(|| "unknown".into());
    for (what, base_value, new_value) in [
        ("CPU", cpu(be), cpu(ne)),
        (
            "GPU adapter",
            be.gpu_adapter.clone().unwrap_or_default(),
            ne.gpu_adapter.clone().unwrap_or_default(),
        ),
        (
            "browser version",
            be.user_agent.clone().unwrap_or_default(),
            ne.user_agent.clone().unwrap_or_default(),
        ),
    ] {
        if base_value != new_value {
            notes.push(format!("{what} differs: {base_value} vs {new_value}"));
        }
    }
    notes
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
        why: None,
    }
}

/// The capacity score, where more is better: it regressed when it fell by more than the
/// threshold and the two confidence intervals do not overlap (improved the other way).
fn capacity_row(base: &Capacity, new: &Capacity, threshold: f64) -> MetricRow {
    let delta = relative(f64::from(base.particles), f64::from(new.particles));
    let verdict = if delta.abs() <= threshold {
        Verdict::Unchanged
    } else if delta < 0.0 && new.high < base.low {
        Verdict::Regressed
    } else if delta > 0.0 && new.low > base.high {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    };
    MetricRow {
        metric: format!("particles at {:.2} ms", new.budget_ms),
        base: f64::from(base.particles),
        new: f64::from(new.particles),
        delta,
        verdict,
        why: None,
    }
}

/// A time: the median over each side's runs of the run's `p`th percentile, judged against
/// the threshold, the block bootstrap's spread and the runs' agreement; `None` (and no
/// bootstrap) when both sides' values are under `least_ms`.
fn timed_row(
    metric: &str,
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    p: f64,
    threshold: f64,
    least_ms: f64,
    rng: &mut Pcg32,
) -> Option<MetricRow> {
    let (base_runs, new_runs) = (run_percentiles(base, p), run_percentiles(new, p));
    let (base_value, new_value) = (median(&base_runs), median(&new_runs));
    if base_value.max(new_value) < least_ms {
        return None;
    }
    let delta = relative(base_value, new_value);
    let mut why = None;
    let verdict = if delta.abs() <= threshold {
        Verdict::Unchanged
    } else if share_changed_same_way(base, new, p, delta > 0.0, rng) < CONFIDENCE {
        Verdict::WithinNoise
    } else if let Some(reason) = runs_cannot_tell(&base_runs, &new_runs, delta > 0.0, threshold) {
        why = Some(reason);
        Verdict::Inconclusive
    } else if delta > 0.0 {
        Verdict::Regressed
    } else {
        Verdict::Improved
    };
    Some(MetricRow {
        metric: metric.to_owned(),
        base: base_value,
        new: new_value,
        delta,
        verdict,
        why,
    })
}

/// Why the runs cannot carry a verdict on a change that went up (`grew`) or down: too few
/// of them, a side whose runs disagree by more than the threshold, runs of the two sides
/// that overlap, or closest runs no further apart than the threshold. `None` when they can.
fn runs_cannot_tell(base: &[f64], new: &[f64], grew: bool, threshold: f64) -> Option<String> {
    let fewest = base.len().min(new.len());
    if fewest < MIN_RUNS_FOR_A_VERDICT {
        return Some(format!(
            "{fewest} run a side cannot tell a slower build from a slower minute; \
             record {MIN_RUNS_FOR_A_VERDICT} or more a side, interleaved"
        ));
    }
    for (side, runs) in [("base", base), ("new", new)] {
        let spread = relative(min(runs), max(runs));
        if spread > threshold {
            return Some(format!(
                "the machine was too noisy: the {side} runs disagree by {:.0}%",
                spread * 100.0
            ));
        }
    }
    // The gap between the closest runs of the two sides, as a change: three runs a side
    // fall in order by chance once in twenty comparisons, so being in order is not enough;
    // the gap itself must pass the threshold.
    let gap = if grew {
        relative(max(base), min(new))
    } else {
        -relative(min(base), max(new))
    };
    if gap <= 0.0 {
        Some("the machine was too noisy: the two sides' runs overlap".to_owned())
    } else {
        (gap <= threshold).then(|| {
            format!(
                "the two sides' closest runs are only {:.1}% apart, within the {:.0}% \
                 threshold",
                gap * 100.0,
                threshold * 100.0
            )
        })
    }
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Each run's `p`th percentile.
fn run_percentiles(runs: &[Vec<f64>], p: f64) -> Vec<f64> {
    runs.iter().map(|run| sorted_percentile(run, p)).collect()
}

/// The median of a few values (the mean of the middle two for an even count; 0 for none).
pub(super) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
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

/// The share of bootstrap resamples in which the side's statistic (the median over runs of
/// each run's `p`th percentile) moved the same way as it did between the sides (up when
/// `grew`). Each run is resampled by circular blocks, all runs with one block length (the
/// mean of what each run asks for). When every run has as many frames, each resample takes the
/// same blocks from all of them: runs of the same steps do the same work at the same
/// frame (a pool filling up makes later frames slower in every run), so frame `i` of one is
/// compared with frame `i` of another, not with a frame from another part of the run.
fn share_changed_same_way(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    p: f64,
    grew: bool,
    rng: &mut Pcg32,
) -> f64 {
    let all = || base.iter().chain(new);
    let frames = base.first().map_or(0, Vec::len);
    let paired = all().all(|run| run.len() == frames);
    let runs = base.len() + new.len();
    let block = (all().map(|run| block_length(run)).sum::<usize>() / runs.max(1)).max(1);
    let mut base_side = Resampler::new(base, block);
    let mut new_side = Resampler::new(new, block);
    let mut starts = Vec::new();
    let mut same_way = 0_usize;
    for _ in 0..RESAMPLES {
        let shared = paired.then(|| {
            block_starts(frames, block, &mut starts, rng);
            starts.as_slice()
        });
        let b = base_side.statistic(p, shared, rng);
        let n = new_side.statistic(p, shared, rng);
        if (grew && n > b) || (!grew && n < b) {
            same_way += 1;
        }
    }
    same_way as f64 / RESAMPLES as f64
}

/// Block resamples of one side's runs, with buffers kept between resamples.
struct Resampler<'a> {
    runs: &'a [Vec<f64>],
    block: usize,
    starts: Vec<usize>,
    draw: Vec<f64>,
    per_run: Vec<f64>,
}

impl<'a> Resampler<'a> {
    fn new(runs: &'a [Vec<f64>], block: usize) -> Self {
        Self {
            block,
            starts: Vec::new(),
            draw: Vec::new(),
            per_run: Vec::with_capacity(runs.len()),
            runs,
        }
    }

    /// One resample's median over runs of each run's `p`th percentile: every run from the
    /// `shared` block starts, or each from its own.
    fn statistic(&mut self, p: f64, shared: Option<&[usize]>, rng: &mut Pcg32) -> f64 {
        self.per_run.clear();
        for run in self.runs {
            let starts = if let Some(starts) = shared {
                starts
            } else {
                block_starts(run.len(), self.block, &mut self.starts, rng);
                &self.starts
            };
            circular_blocks(run, self.block, starts, &mut self.draw);
            self.draw.sort_unstable_by(f64::total_cmp);
            self.per_run.push(percentile(&self.draw, p));
        }
        median(&self.per_run)
    }
}

/// Random starts for the blocks of one resample of `frames` frames.
fn block_starts(frames: usize, block: usize, starts: &mut Vec<usize>, rng: &mut Pcg32) {
    starts.clear();
    starts.extend((0..frames.div_ceil(block.max(1))).map(|_| rng.random_range(0..frames.max(1))));
}

/// Fills `draw` with `values.len()` values: runs of `block` consecutive values from each
/// of `starts`, so a resample keeps the series' frame-to-frame correlation. A run that
/// passes the end goes on from the start (the circular block bootstrap), so the first and
/// last frames are drawn as often as the rest.
fn circular_blocks(values: &[f64], block: usize, starts: &[usize], draw: &mut Vec<f64>) {
    draw.clear();
    let n = values.len();
    for &start in starts {
        let take = block.min(n - draw.len());
        let first = take.min(n - start);
        draw.extend_from_slice(&values[start..start + first]);
        draw.extend_from_slice(&values[..take - first]);
    }
}

/// The block length for a series: the rule for a first-order autoregressive series,
/// (3n/2)^(1/3) * (2ρ / (1 - ρ²))^(2/3) with ρ the lag-1 autocorrelation, at least 1 and at
/// most a quarter of the series. Uncorrelated frames get blocks of 1 (the plain bootstrap).
fn block_length(values: &[f64]) -> usize {
    let n = values.len();
    if n < 8 {
        return 1;
    }
    let rho = lag_one_autocorrelation(values).clamp(0.0, 0.98);
    let length = (1.5 * n as f64).cbrt() * (2.0 * rho / (1.0 - rho * rho)).powf(2.0 / 3.0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to 1..=n/4 first"
    )]
    let length = length.ceil().clamp(1.0, (n / 4) as f64) as usize;
    length
}

/// The correlation of each value with the next (0 for a constant series).
fn lag_one_autocorrelation(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    if variance <= 0.0 {
        return 0.0;
    }
    let covariance: f64 = values
        .windows(2)
        .map(|pair| (pair[0] - mean) * (pair[1] - mean))
        .sum();
    covariance / variance
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

    /// Frame times that drift as a real machine's do: `centre` ms times a run's own
    /// offset (drawn evenly within ±`offset`) times 1 + 5% of a first-order autoregressive
    /// series with correlation 0.9 from each frame to the next.
    fn autocorrelated(centre: f64, offset: f64, frames: usize, rng: &mut Pcg32) -> Vec<f64> {
        let offset = 1.0 + rng.random_range(-offset..=offset);
        let rho: f64 = 0.9;
        let shock = (1.0 - rho * rho).sqrt();
        let mut level: f64 = rng.random_range(-1.0..1.0);
        (0..frames)
            .map(|_| {
                // Uniform shocks scaled to unit variance.
                level = rho * level + shock * rng.random_range(-1.0..1.0) * 3.0_f64.sqrt();
                centre * offset * (1.0 + 0.05 * level)
            })
            .collect()
    }

    fn one(capture: CaptureFile) -> Vec<CaptureFile> {
        vec![capture]
    }

    fn at(threshold: f64) -> CompareOptions {
        CompareOptions::at(threshold)
    }

    fn row<'a>(comparison: &'a Comparison, metric: &str) -> &'a MetricRow {
        comparison
            .rows
            .iter()
            .find(|row| row.metric == metric)
            .unwrap_or_else(|| panic!("no {metric} row: {}", comparison.to_table()))
    }

    #[test]
    fn two_runs_of_the_same_build_pass() {
        let base = sample_capture(&jittered(10.0, 600, 1));
        let new = sample_capture(&jittered(10.0, 600, 2));
        let comparison = compare(&one(base), &one(new), at(0.10)).unwrap();
        assert!(!comparison.regressed(), "{}", comparison.to_table());
        assert!(!comparison.inconclusive(), "{}", comparison.to_table());
        assert_eq!(comparison.checksum_change, None);
    }

    /// The sample capture's frames: simulate takes half of each 10 ms frame, pack a tenth,
    /// upload and overlay nothing; no allocations; 1 MiB live.
    #[test]
    fn every_metric_gets_a_row_except_phases_too_fast_to_time() {
        let base = sample_capture(&[10.0; 10]);
        let comparison = compare(&one(base.clone()), &one(base), at(0.1)).unwrap();
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
        let pack = row(&comparison, "pack p50 ms");
        assert_eq!((pack.base, pack.new), (1.0, 1.0));
        let heap = row(&comparison, "peak live heap MB");
        assert_eq!((heap.base, heap.new), (1.048_576, 1.048_576));
        let allocations = row(&comparison, "allocations per frame");
        assert_eq!((allocations.base, allocations.delta), (0.0, 0.0));
        assert_eq!(allocations.verdict, Verdict::Unchanged);
        assert_eq!(comparison.runs, (1, 1));
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
        let (fast, slow) = (vec![vec![5.0; 20]], vec![vec![10.0; 20]]);
        let mut share = |base: &[Vec<f64>], new: &[Vec<f64>], grew| {
            share_changed_same_way(base, new, 50.0, grew, &mut rng)
        };
        assert_eq!(share(&fast, &slow, true), 1.0);
        assert_eq!(share(&slow, &fast, false), 1.0);
        assert_eq!(share(&slow, &fast, true), 0.0);
        assert_eq!(share(&fast, &slow, false), 0.0);
        assert_eq!(share(&fast, &fast, true), 0.0);
        assert_eq!(share(&fast, &fast, false), 0.0);
    }

    /// Three runs a side, each 30% slower on the new side: regressed. One run a side shows
    /// the same change but cannot tell it from a slower minute: inconclusive, with why.
    #[test]
    fn a_thirty_percent_slower_build_is_flagged_on_two_runs_a_side_only() {
        let base = [1, 3, 5].map(|seed| sample_capture(&jittered(10.0, 600, seed)));
        let new = [2, 4, 6].map(|seed| sample_capture(&jittered(13.0, 600, seed)));
        let comparison = compare(&base, &new, at(0.10)).unwrap();
        assert!(comparison.regressed(), "{}", comparison.to_table());
        let frame = row(&comparison, "frame p50 ms");
        assert!((frame.delta - 0.3).abs() < 0.05, "delta {}", frame.delta);
        assert_eq!(frame.verdict, Verdict::Regressed);
        assert!(comparison.to_table().contains("REGRESSED"));

        let single = compare(&base[..1], &new[..1], at(0.10)).unwrap();
        assert!(!single.regressed(), "{}", single.to_table());
        assert!(single.inconclusive());
        let frame = row(&single, "frame p50 ms");
        assert_eq!(frame.verdict, Verdict::Inconclusive);
        assert!(
            frame.why.as_deref().unwrap().contains("1 run a side"),
            "{}",
            single.to_table()
        );
    }

    /// The new side's runs differ by 40% among themselves (one ran in a slow minute):
    /// whatever the medians say, the machine was too noisy to tell.
    #[test]
    fn runs_that_disagree_are_inconclusive_not_regressed() {
        let base = [1, 3, 5].map(|seed| sample_capture(&jittered(10.0, 300, seed)));
        let new = [
            sample_capture(&jittered(11.0, 300, 2)),
            sample_capture(&jittered(15.4, 300, 4)),
            sample_capture(&jittered(15.0, 300, 6)),
        ];
        let comparison = compare(&base, &new, at(0.10)).unwrap();
        let frame = row(&comparison, "frame p50 ms");
        assert_eq!(
            frame.verdict,
            Verdict::Inconclusive,
            "{}",
            comparison.to_table()
        );
        assert!(
            frame
                .why
                .as_deref()
                .unwrap()
                .contains("the new runs disagree by"),
            "{}",
            comparison.to_table()
        );
        assert!(!comparison.regressed());
    }

    /// Runs that agree within each side but overlap across them: no verdict either.
    #[test]
    fn runs_that_overlap_across_the_sides_are_inconclusive() {
        let verdict = runs_cannot_tell(&[10.0, 10.2, 10.9], &[10.5, 10.8, 11.0], true, 0.1);
        assert_eq!(
            verdict.as_deref(),
            Some("the machine was too noisy: the two sides' runs overlap")
        );
        let (low, high) = ([10.0, 10.2, 10.5], [12.0, 12.1, 12.5]);
        assert_eq!(runs_cannot_tell(&low, &high, true, 0.1), None);
        assert_eq!(runs_cannot_tell(&high, &low, false, 0.1), None);
        // In order, but the closest runs only 7.8% (up) or 7.3% (down) apart: the same build
        // run three times a side falls in order like this once in twenty comparisons.
        let (slow, slower) = ([10.0, 10.1, 10.2], [11.0, 11.4, 11.5]);
        for (base, new, grew, apart) in [
            (&slow, &slower, true, "7.8"),
            (&slower, &slow, false, "7.3"),
        ] {
            assert_eq!(
                runs_cannot_tell(base, new, grew, 0.1).as_deref(),
                Some(
                    format!(
                        "the two sides' closest runs are only {apart}% apart, within the 10% \
                         threshold"
                    )
                    .as_str()
                )
            );
        }
        // Exactly the threshold apart is not beyond it; a little more is.
        let even = [10.0, 10.0, 10.0];
        assert!(runs_cannot_tell(&even, &[11.0, 11.0, 11.0], true, 0.1).is_some());
        assert_eq!(
            runs_cannot_tell(&even, &[11.01, 11.01, 11.01], true, 0.1),
            None
        );
        assert!(
            runs_cannot_tell(&low[..2], &high, true, 0.1)
                .unwrap()
                .starts_with("2 run a side")
        );
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
        let comparison = compare(&one(base), &one(new), at(0.10)).unwrap();
        let frame = row(&comparison, "frame p50 ms");
        assert_eq!(
            (frame.base, frame.new),
            (5.0, 20.0),
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

    /// A synthetic run with no change: three runs a side of 300 frames each, autocorrelated
    /// (0.9 from frame to frame) with run-to-run offsets. At the default 10%, no more than
    /// 5 of 100 seeds may be called regressed; a 30% slower new side must be called
    /// regressed in at least 95 of 100.
    #[test]
    fn autocorrelated_runs_are_judged_right_in_95_of_100_seeds() {
        let mut false_alarms = 0;
        let mut caught = 0;
        for seed in 0..100 {
            let mut rng = Pcg32::seed_from_u64(seed);
            let mut runs = |centre: f64| -> Vec<Vec<f64>> {
                (0..3)
                    .map(|_| autocorrelated(centre, 0.03, 300, &mut rng))
                    .collect()
            };
            let (base, same, slower) = (runs(10.0), runs(10.0), runs(13.0));
            let mut judge = Pcg32::seed_from_u64(0x5eed);
            for p in [50.0, 95.0] {
                if timed_row("frame", &base, &same, p, 0.1, 0.0, &mut judge).map(|row| row.verdict)
                    == Some(Verdict::Regressed)
                {
                    false_alarms += 1;
                }
            }
            if timed_row("frame", &base, &slower, 50.0, 0.1, 0.0, &mut judge).map(|row| row.verdict)
                == Some(Verdict::Regressed)
            {
                caught += 1;
            }
        }
        eprintln!(
            "autocorrelated runs: {false_alarms} of 200 no-change verdicts regressed, \
             {caught} of 100 slowdowns caught"
        );
        assert!(
            false_alarms <= 5,
            "{false_alarms} false alarms in 200 verdicts"
        );
        assert!(caught >= 95, "{caught} of 100 slowdowns caught");
    }

    /// The bootstrap itself, with no threshold to hide behind: one autocorrelated run a side
    /// (no run-to-run offset, which no bootstrap of one run can see) and no change. With
    /// about 16 independent frames' worth of information in each run the blocks are not
    /// exact (11 of 100 measured, against the 2 a perfect test would give; 61 with single
    /// frames), but a threshold and the runs' agreement stand behind them. Moving blocks leave the change within the spread in at least
    /// 95 of 100 seeds; resampling single frames (blocks of 1), as if the frames were
    /// independent, would call it real far more often.
    #[test]
    fn moving_blocks_keep_autocorrelated_noise_within_the_spread() {
        let mut with_blocks = 0;
        let mut with_single_frames = 0;
        for seed in 0..100 {
            let mut rng = Pcg32::seed_from_u64(seed);
            let base = vec![autocorrelated(10.0, 0.0, 300, &mut rng)];
            let new = vec![autocorrelated(10.0, 0.0, 300, &mut rng)];
            let grew = sorted_percentile(&new[0], 50.0) > sorted_percentile(&base[0], 50.0);
            let mut judge = Pcg32::seed_from_u64(0x5eed);
            if share_changed_same_way(&base, &new, 50.0, grew, &mut judge) >= CONFIDENCE {
                with_blocks += 1;
            }
            let mut single = Resampler::new(&base, 1);
            let mut single_new = Resampler::new(&new, 1);
            let moved = (0..RESAMPLES)
                .filter(|_| {
                    let b = single.statistic(50.0, None, &mut judge);
                    let n = single_new.statistic(50.0, None, &mut judge);
                    if grew { n > b } else { n < b }
                })
                .count();
            if moved as f64 / RESAMPLES as f64 >= CONFIDENCE {
                with_single_frames += 1;
            }
        }
        eprintln!(
            "no change called real: {with_blocks} of 100 with blocks, {with_single_frames} with single frames"
        );
        assert!(
            with_blocks <= 15,
            "{with_blocks} of 100 called real with blocks"
        );
        assert!(
            with_single_frames >= 3 * with_blocks.max(10),
            "single frames called {with_single_frames} of 100 real: the test cannot tell"
        );
    }

    #[test]
    fn the_block_length_follows_the_correlation() {
        let mut rng = Pcg32::seed_from_u64(1);
        let independent = jittered(10.0, 300, 1);
        let correlated = autocorrelated(10.0, 0.0, 300, &mut rng);
        assert!(
            block_length(&independent) <= 2,
            "{}",
            block_length(&independent)
        );
        assert!(
            (20..=75).contains(&block_length(&correlated)),
            "{}",
            block_length(&correlated)
        );
        assert_eq!(block_length(&[1.0; 300]), 1, "a constant series");
        let ramp: Vec<f64> = (0..300).map(f64::from).collect();
        assert_eq!(block_length(&ramp), 75, "at most a quarter of the series");
    }

    /// Each way a capture can be made differently is named, and refused without
    /// `--across`; with it, every row is shown, none judged, and each difference noted.
    #[test]
    fn captures_made_differently_are_refused_unless_compared_across() {
        let base = sample_capture(&[10.0; 10]);
        let changes: [(&str, fn(&mut CaptureFile)); 7] = [
            ("mode (headless vs rendered)", |c| {
                c.settings.headless = false;
            }),
            ("backend (simd vs scalar)", |c| {
                c.settings.backend = "scalar".into();
            }),
            ("SIMD backend (avx2 vs sse2)", |c| {
                c.environment.simd_backend = "sse2".into();
            }),
            ("build profile (release vs ci)", |c| {
                c.environment.build_profile = "ci".into();
            }),
            ("architecture (x86_64 vs wasm32)", |c| {
                c.environment.arch = "wasm32".into();
            }),
            ("browser (none vs Firefox)", |c| {
                c.environment.user_agent =
                    Some("Mozilla/5.0 (X11) Gecko/20100101 Firefox/153.0".into());
            }),
            (
                "kernel threads (2 threads, 0 Web Workers vs 2 threads, 1 Web Workers)",
                |c| c.environment.kernel_workers = 1,
            ),
        ];
        for (named, change) in changes {
            let mut new = sample_capture(&[20.0; 10]);
            change(&mut new);
            let error = compare(&one(base.clone()), &one(new.clone()), at(0.1)).unwrap_err();
            assert!(error.contains(named), "{named}: {error}");
            assert!(error.contains("--across"), "{error}");
            let across = compare(
                &one(base.clone()),
                &one(new),
                CompareOptions {
                    threshold: 0.1,
                    across: true,
                },
            )
            .unwrap();
            assert!(
                across
                    .rows
                    .iter()
                    .all(|row| row.verdict == Verdict::NotJudged),
                "{}",
                across.to_table()
            );
            assert!(
                across.notes.iter().any(|note| note.contains(named)),
                "{named}: {:?}",
                across.notes
            );
        }
    }

    #[test]
    fn the_runs_of_one_side_must_be_made_the_same_way() {
        let base = sample_capture(&[10.0; 10]);
        let mut other = base.clone();
        other.settings.headless = false;
        let error = compare(&[base.clone(), other], &one(base), at(0.1)).unwrap_err();
        assert!(
            error.contains("the base runs were not made the same way"),
            "{error}"
        );
        assert!(error.contains("mode (headless vs rendered)"), "{error}");
        assert!(compare(&[], &[sample_capture(&[1.0])], at(0.1)).is_err());
    }

    #[test]
    fn different_scenarios_particles_or_seeds_are_refused_by_name() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        new.settings.scenario = "galaxy".into();
        new.settings.seed = 8;
        let error = compare(&one(base), &one(new), at(0.1)).unwrap_err();
        assert!(error.contains("scenario (stress vs galaxy)"), "{error}");
        assert!(error.contains("seed (7 vs 8)"), "{error}");
        assert!(!error.contains("particles"), "{error}");
    }

    /// Two searches chose their own counts, so their particles differ: the scores compare,
    /// and a fall beyond the threshold counts only when the intervals part.
    #[test]
    fn capacity_scores_compare_by_their_intervals() {
        let score = |particles: u32, half: u32| Capacity {
            particles,
            low: particles - half,
            high: particles + half,
            ..super::super::capacity::tests::sample_capacity()
        };
        let mut base = sample_capture(&[10.0; 10]);
        base.capacity = Some(score(640_000, 20_000));
        let mut new = base.clone();
        new.settings.particles = 500_000;
        let verdict = |new_score: Capacity| {
            let mut new = new.clone();
            new.capacity = Some(new_score);
            let comparison = compare(&one(base.clone()), &one(new), at(0.1)).unwrap();
            let found = row(&comparison, "particles at 16.67 ms").verdict;
            (found, comparison.regressed())
        };
        assert_eq!(verdict(score(630_000, 20_000)), (Verdict::Unchanged, false));
        assert_eq!(verdict(score(500_000, 20_000)), (Verdict::Regressed, true));
        assert_eq!(
            verdict(score(560_000, 70_000)),
            (Verdict::WithinNoise, false),
            "-12.5%, but the intervals overlap"
        );
        assert_eq!(verdict(score(800_000, 20_000)), (Verdict::Improved, false));
        let mut slower_frames = new.clone();
        slower_frames.capacity = Some(score(640_000, 20_000));
        slower_frames.checksum = "fedcba9876543210".into();
        for sample in &mut slower_frames.samples {
            sample.frame_ms *= 2.0;
        }
        slower_frames.summary = super::super::CaptureSummary::of(
            &slower_frames.samples,
            slower_frames.settings.budget_ms,
        );
        let scores_only = compare(&one(base.clone()), &one(slower_frames), at(0.1)).unwrap();
        assert!(!scores_only.regressed(), "{}", scores_only.to_table());
        assert!(
            !scores_only.to_table().contains("frame p50"),
            "frames at other counts"
        );
        assert_eq!(
            scores_only.checksum_change, None,
            "end states at other counts"
        );
        let mut other_budget = score(640_000, 20_000);
        other_budget.budget_ms = 1000.0 / 30.0;
        new.capacity = Some(other_budget);
        let error = compare(&one(base.clone()), &one(new.clone()), at(0.1)).unwrap_err();
        assert!(
            error.contains("capacity budget (16.67 ms vs 33.33 ms)"),
            "{error}"
        );
        // Searches judged differently: vsync off against display-paced frames, and
        // display-paced at 60 Hz against 120 Hz (limits of 25.00 and 20.83 ms).
        let paced = |refresh_ms: f64| Capacity {
            pacing: Some(Pacing::DisplayPaced {
                refresh_ms: Some(refresh_ms),
            }),
            limit_ms: Some(1000.0 / 60.0 + refresh_ms / 2.0),
            ..score(640_000, 20_000)
        };
        let refused = |base_search: Capacity, new_search: Capacity| {
            let (mut base, mut new) = (base.clone(), new.clone());
            base.capacity = Some(base_search);
            new.capacity = Some(new_search);
            compare(&one(base), &one(new), at(0.1)).unwrap_err()
        };
        let vsync_off = Capacity {
            pacing: Some(Pacing::VsyncOff {
                window_had: "Fifo".into(),
            }),
            ..score(640_000, 20_000)
        };
        let error = refused(vsync_off, paced(1000.0 / 60.0));
        assert!(
            error.contains("capacity pacing (vsync off vs display-paced)"),
            "{error}"
        );
        let error = refused(paced(1000.0 / 60.0), paced(1000.0 / 120.0));
        assert!(
            error.contains("capacity limit (25.00 ms vs 20.83 ms)"),
            "{error}"
        );
        new.capacity = None;
        let error = compare(&one(base), &one(new), at(0.1)).unwrap_err();
        assert!(error.contains("capacity search"), "{error}");
    }

    #[test]
    fn a_different_checksum_is_a_correctness_change() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        new.checksum = "fedcba9876543210".into();
        let comparison = compare(&one(base.clone()), &one(new.clone()), at(0.1)).unwrap();
        assert!(!comparison.regressed(), "speed is unchanged");
        assert!(comparison.checksum_change.is_some());
        assert!(comparison.to_table().contains("CORRECTNESS"));
        new.settings.steps += 1;
        let comparison = compare(&one(base), &one(new), at(0.1)).unwrap();
        assert_eq!(comparison.checksum_change, None, "other steps, other state");
    }

    #[test]
    fn more_allocations_per_frame_regress() {
        let base = sample_capture(&[10.0; 10]);
        let mut new = base.clone();
        for sample in &mut new.samples {
            sample.allocations = 5;
        }
        new.summary = super::super::CaptureSummary::of(&new.samples, new.settings.budget_ms);
        let comparison = compare(&one(base), &one(new), at(0.1)).unwrap();
        assert!(comparison.regressed(), "{}", comparison.to_table());
    }
}
