//! The capacity score: how many particles fit the frame budget.
//!
//! [`CapacitySearch`] is the search as a pure state machine fed one frame time at a time,
//! so a test can drive it with a known cost model; the system below runs it in an app by
//! restarting the scenario at each particle count it asks for.
//!
//! Each *probe* restarts the scenario at one count, lets the pool fill (until 90% of the
//! target is alive, at least [`SETTLE_MIN_FRAMES`] and at most [`SETTLE_MAX_FRAMES`]
//! frames), then measures a window of frames and takes its 95th percentile. The search:
//! 1. *ramps*: doubles the count from [`CapacityConfig::start`] while the window's p95 is
//!    within the budget, or halves it while it is not, until the budget lies between two
//!    counts (or the pool's maximum fits, or its minimum does not);
//! 2. *bisects* at the geometric middle until the two counts are within 10% of each other;
//! 3. *confirms*: measures [`CapacityConfig::repeats`] windows at 80% and at 120% of that
//!    count, alternating, and from each pair interpolates the count whose p95 meets the
//!    budget. The score is their mean, with a 95% confidence interval from their spread
//!    (Student's t).
//!
//! Where frames follow the display whatever the app asks (the browser), a frame lasts
//! whole refresh periods and a budget of one period would be decided by the timer's
//! jitter. There a window fits when its p95 is within the budget plus half a period, the
//! confirming pairs run at the bracket's two ends, and each interpolates the share of
//! frames over that limit to 5% ([`CapacitySearch::limit_ms`]). Natively a rendered
//! search turns vsync off instead.
//!
//! The search takes at most [`CapacityConfig::max_probes`] probes, so at most
//! [`CapacityConfig::max_frames`] frames (9,360 with the defaults).

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy::window::{PresentMode, PrimaryWindow};
use serde::{Deserialize, Serialize};

use super::{
    FinishedCapture, FrameSample, Measured, Recorded, RunFacts, fix_one_step_a_frame,
    restore_wall_clock,
};
use crate::perf::{FrameStats, PerfSystems, percentile};
use crate::scenario::{MAX_PARTICLES, MIN_PARTICLES, RestartScenario, ScenarioChoice};

/// The budgets a search takes, in milliseconds.
pub const BUDGET_RANGE_MS: core::ops::RangeInclusive<f64> = 0.5..=1000.0;
/// Fewest frames a probe settles for before it measures, whatever the pool does.
pub const SETTLE_MIN_FRAMES: u32 = 10;
/// Most frames a probe waits for the pool to fill before it measures anyway.
pub const SETTLE_MAX_FRAMES: u32 = 300;
/// Share of the target alive that counts as filled.
const FILLED: f64 = 0.9;
/// Bisection stops when the higher count is at most this much of the lower.
const BISECT_UNTIL: f64 = 1.1;
/// The confirming windows' counts, as shares of the bisected count.
const CONFIRM_AT: [f64; 2] = [0.8, 1.2];
/// The ramp's most probes: from the fewest particles, 12 doublings reach 2,048,000 and
/// the 13th probe the pool's maximum (or from the most, as many halvings).
const RAMP_PROBES: u32 = (MAX_PARTICLES / MIN_PARTICLES).ilog2() + 2;
/// Most bisection probes: from a factor of 2 to [`BISECT_UNTIL`] takes three halvings of
/// the logarithm (2 → 1.41 → 1.19 → 1.09).
const BISECT_PROBES: u32 = 3;

/// How a search runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityConfig {
    /// The frame budget the p95 must stay within, in milliseconds.
    pub budget_ms: f64,
    /// The first count probed (clamped to the scenario limits).
    pub start: u32,
    /// Frames measured per window.
    pub window: u32,
    /// Confirming pairs of windows (2 to 10).
    pub repeats: u32,
    /// The display's refresh period, in milliseconds, where frames are display-paced
    /// (the browser's `requestAnimationFrame`); `None` where frames run free (headless,
    /// or vsync off). See [`CapacitySearch::limit_ms`].
    pub refresh_ms: Option<f64>,
}

impl CapacityConfig {
    /// The defaults for a budget of `budget_ms`: start at 10,000 particles, 60-frame
    /// windows, 5 confirming pairs.
    #[must_use]
    pub fn new(budget_ms: f64) -> Self {
        Self {
            budget_ms,
            start: 10_000,
            window: 60,
            repeats: 5,
            refresh_ms: None,
        }
    }

    /// This config with the named settings changed: `budget_ms` (0.5 to 1000), `start`
    /// (1000 to 4000000 particles), `window` (5 to 600 frames) and `repeats` (2 to 10), as
    /// a page's `capacity({...})` call gives them.
    ///
    /// # Errors
    ///
    /// Names the setting that is unknown, not a whole number where one is needed, or out of
    /// its range.
    pub fn with_settings(mut self, settings: &[(String, f64)]) -> Result<Self, String> {
        for (name, value) in settings {
            let whole = |low: u32, high: u32| -> Result<u32, String> {
                let in_range =
                    value.fract() == 0.0 && (f64::from(low)..=f64::from(high)).contains(value);
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a whole number in range, checked above"
                )]
                let whole = *value as u32;
                in_range.then_some(whole).ok_or_else(|| {
                    format!("{name} {value} is not a whole number in {low}..={high}")
                })
            };
            match name.as_str() {
                "budget_ms" if BUDGET_RANGE_MS.contains(value) => self.budget_ms = *value,
                "budget_ms" => {
                    return Err(format!(
                        "budget_ms {value} is not in {}..={}",
                        BUDGET_RANGE_MS.start(),
                        BUDGET_RANGE_MS.end()
                    ));
                }
                "start" => self.start = whole(MIN_PARTICLES, MAX_PARTICLES)?,
                "window" => self.window = whole(5, 600)?,
                "repeats" => self.repeats = whole(2, 10)?,
                _ => {
                    return Err(format!(
                        "unknown setting '{name}' (known: budget_ms, start, window, repeats)"
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The most probes a search takes.
    #[must_use]
    pub fn max_probes(&self) -> u32 {
        RAMP_PROBES + BISECT_PROBES + 2 * self.repeats
    }

    /// The most frames a search takes: every probe settling for as long as it may.
    #[must_use]
    pub fn max_frames(&self) -> u32 {
        self.max_probes() * (SETTLE_MAX_FRAMES + self.window)
    }
}

/// One measured window: a point on the curve of count against p95.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityProbe {
    /// The particle target of the probe.
    pub particles: u32,
    /// Particles alive when the window ended.
    pub alive: u64,
    /// The window's median frame time, in milliseconds.
    pub p50_ms: f64,
    /// The window's 95th percentile frame time, in milliseconds.
    pub p95_ms: f64,
    /// Share of the window's frames over [`CapacitySearch::limit_ms`] (display-paced
    /// searches only: what their confirming pairs interpolate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<f64>,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// The budget searched against, in milliseconds.
    pub budget_ms: f64,
    /// Particles at budget: the largest count whose p95 frame time stays within it.
    pub particles: u32,
    /// The 95% confidence interval's lower end, in particles.
    pub low: u32,
    /// The 95% confidence interval's upper end, in particles.
    pub high: u32,
    /// Frames measured in windows (settling frames not included).
    pub frames_measured: u32,
    /// Frames the search ran in all.
    pub frames_run: u32,
    /// Every window, in the order measured.
    pub curve: Vec<CapacityProbe>,
    /// Why the score is a limit rather than a measurement (the pool's maximum fits the
    /// budget, or its minimum does not), or why the interval is the whole confirming
    /// bracket; `None` for a plain result.
    pub note: Option<String>,
    /// How a rendered search's frames were paced. `None` headless (nothing is presented)
    /// and in captures from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    /// The p95 a window had to stay within, in milliseconds, where it was not the budget
    /// (display-paced: [`CapacitySearch::limit_ms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_ms: Option<f64>,
}

impl Capacity {
    /// The interval's half-width as a share of the score (0.03 is ±3%).
    #[must_use]
    pub fn relative_half_width(&self) -> f64 {
        f64::from(self.high - self.low) / 2.0 / f64::from(self.particles.max(1))
    }

    /// The p95 each window had to stay within, in milliseconds: [`Capacity::limit_ms`]
    /// where the search had one, else the budget.
    #[must_use]
    pub fn window_limit_ms(&self) -> f64 {
        self.limit_ms.unwrap_or(self.budget_ms)
    }

    /// One line for people: "holds 640000 particles (± 3.0%) within 16.67 ms".
    #[must_use]
    pub fn describe(&self) -> String {
        let mut line = format!(
            "holds {} particles ({}..{}, ± {:.1}%) within {:.2} ms at p95",
            self.particles,
            self.low,
            self.high,
            self.relative_half_width() * 100.0,
            self.budget_ms
        );
        if let Some(note) = &self.note {
            line += "; ";
            line += note;
        }
        // A display-paced limit changes what the number means, so it is said with it.
        if let Some(pacing @ Pacing::DisplayPaced { .. }) = &self.pacing {
            line += "; ";
            line += &pacing.describe(self.budget_ms, self.limit_ms);
        }
        line
    }
}

/// How a rendered search's frames were paced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pacing {
    /// Natively: the window's present mode was set to `AutoNoVsync` for the search (wgpu
    /// keeps vsync where the surface offers neither `Immediate` nor `Mailbox`).
    VsyncOff {
        /// The present mode the window had, put back after (`Fifo`, `AutoVsync`, ...).
        window_had: String,
    },
    /// In the browser: frames follow the display whatever the app asks.
    DisplayPaced {
        /// The display's refresh period as the page measured it, in milliseconds;
        /// `None` where the page gave none it could use.
        refresh_ms: Option<f64>,
    },
}

impl Pacing {
    /// One line for people, for a search against `budget_ms` whose windows had to stay
    /// within `limit_ms` (where it differed from the budget).
    #[must_use]
    pub fn describe(&self, budget_ms: f64, limit_ms: Option<f64>) -> String {
        match (self, limit_ms) {
            (Self::VsyncOff { window_had }, _) => {
                format!("vsync off asked for the search (AutoNoVsync; the window had {window_had})")
            }
            (
                Self::DisplayPaced {
                    refresh_ms: Some(period),
                },
                Some(limit),
            ) => {
                // The whole refreshes a frame may last and still fit: a frame of exactly
                // the limit is over it by its jitter.
                let refreshes = (limit / period).ceil() - 1.0;
                let counts_as = if refreshes < 1.0 {
                    "no frame is that short, so every count is over it".to_owned()
                } else {
                    format!(
                        "it counts as {refreshes:.0} refresh{} ({:.2} ms)",
                        if refreshes > 1.0 { "es" } else { "" },
                        refreshes * period
                    )
                };
                format!(
                    "display-paced at {period:.2} ms a refresh: frames last whole refreshes, \
                     so a window fits when its p95 is within the {budget_ms:.2} ms budget \
                     plus half a refresh ({limit:.2} ms): {counts_as}"
                )
            }
            (Self::DisplayPaced { .. }, _) => "display-paced, with no refresh period from the \
                page: the budget is the limit, so jitter decides a budget of one refresh"
                .to_owned(),
        }
    }
}

/// Where the search is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Doubling or halving, then bisecting, between `within` (its p95 fit) and `over`.
    Search {
        within: Option<u32>,
        over: Option<u32>,
    },
    /// Alternating windows at `counts[0]` and `counts[1]`; `low` is the last window's
    /// [`CapacitySearch::interpolated`] figure at the lower count, waiting for its pair.
    Confirm {
        counts: [u32; 2],
        pairs_left: u32,
        low: Option<f64>,
    },
}

/// What the app should do after a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Keep running at this count.
    Continue,
    /// Restart the scenario at this many particles.
    Probe(u32),
    /// The search is over.
    Done(Capacity),
}

/// The search in progress.
#[derive(Debug, Clone)]
pub struct CapacitySearch {
    config: CapacityConfig,
    stage: Stage,
    /// The count being probed.
    probing: u32,
    /// Frames since the probe's restart while it settles; `None` once it measures.
    settling: Option<u32>,
    window: Vec<f64>,
    curve: Vec<CapacityProbe>,
    /// Crossing estimates from the confirming pairs, in particles.
    estimates: Vec<f64>,
    /// Display-paced confirming pairs that went from no frame over the limit to all.
    step_pairs: u32,
    frames_run: u32,
}

impl CapacitySearch {
    /// A search with `config`; the app should start at [`CapacitySearch::probing`].
    #[must_use]
    pub fn new(config: CapacityConfig) -> Self {
        let config = CapacityConfig {
            repeats: config.repeats.clamp(2, 10),
            window: config.window.max(1),
            ..config
        };
        Self {
            stage: Stage::Search {
                within: None,
                over: None,
            },
            probing: config.start.clamp(MIN_PARTICLES, MAX_PARTICLES),
            settling: Some(0),
            // Taken before the run, so a search does not allocate per window.
            window: Vec::with_capacity(config.window as usize),
            curve: Vec::with_capacity(config.max_probes() as usize),
            estimates: Vec::with_capacity(config.repeats as usize),
            step_pairs: 0,
            frames_run: 0,
            config,
        }
    }

    /// The particle count the app should be running.
    #[must_use]
    pub fn probing(&self) -> u32 {
        self.probing
    }

    /// Frames run so far and the most the search can take.
    #[must_use]
    pub fn progress(&self) -> (u32, u32) {
        (self.frames_run, self.config.max_frames())
    }

    /// The p95 frame time a window must stay within, in milliseconds: the budget, or where
    /// frames are display-paced the budget plus half a refresh period. Display-paced
    /// frames last whole periods give or take the timer's jitter (a 60 Hz display shows
    /// 16.7 or 33.3 ms, never 20), so a budget of one period would be decided by jitter;
    /// half a period over it tells a frame that kept up from one that missed the display.
    #[must_use]
    pub fn limit_ms(&self) -> f64 {
        self.config.budget_ms + self.config.refresh_ms.map_or(0.0, |period| period / 2.0)
    }

    /// Whether the next frame reported goes into a window (the probe has settled).
    #[must_use]
    pub fn measuring(&self) -> bool {
        self.settling.is_none()
    }

    /// The lower confirming count, once the search confirms.
    #[must_use]
    pub fn confirms_at(&self) -> Option<u32> {
        match self.stage {
            Stage::Confirm { counts, .. } => Some(counts[0]),
            Stage::Search { .. } => None,
        }
    }

    /// Takes the frame just finished: it took `frame_ms` milliseconds with `alive`
    /// particles alive at its end.
    pub fn on_frame(&mut self, frame_ms: f64, alive: u64) -> Next {
        self.frames_run += 1;
        if let Some(frames) = &mut self.settling {
            *frames += 1;
            let filled = alive as f64 >= FILLED * f64::from(self.probing);
            if *frames >= SETTLE_MAX_FRAMES || (*frames >= SETTLE_MIN_FRAMES && filled) {
                self.settling = None;
            }
            return Next::Continue;
        }
        self.window.push(frame_ms);
        if self.window.len() < self.config.window as usize {
            return Next::Continue;
        }
        self.window.sort_unstable_by(f64::total_cmp);
        let limit_ms = self.limit_ms();
        let probe = CapacityProbe {
            particles: self.probing,
            alive,
            p50_ms: percentile(&self.window, 50.0),
            p95_ms: percentile(&self.window, 95.0),
            missed: self.config.refresh_ms.map(|_| {
                let over = self.window.iter().filter(|&&ms| ms > limit_ms).count();
                over as f64 / self.window.len() as f64
            }),
        };
        self.curve.push(probe);
        self.window.clear();
        let next = match self.stage {
            Stage::Search { within, over } => self.searched(within, over, probe.p95_ms),
            Stage::Confirm {
                counts,
                pairs_left,
                low,
            } => self.confirmed(counts, pairs_left, low, &probe),
        };
        if let Next::Probe(count) = next {
            self.probing = count;
            self.settling = Some(0);
        }
        next
    }

    /// After a ramp or bisection window at `self.probing` whose p95 was `p95_ms`.
    fn searched(&mut self, within: Option<u32>, over: Option<u32>, p95_ms: f64) -> Next {
        let count = self.probing;
        let fits = p95_ms <= self.limit_ms();
        let (within, over) = if fits {
            (Some(count), over)
        } else {
            (within, Some(count))
        };
        self.stage = Stage::Search { within, over };
        match (within, over) {
            (Some(low), Some(high)) if f64::from(high) <= f64::from(low) * BISECT_UNTIL => {
                self.start_confirming(low, high)
            }
            (Some(low), Some(high)) => Next::Probe(geometric_middle(low, high)),
            (Some(_), None) if count >= MAX_PARTICLES => self.limit(
                count,
                format!("the pool's maximum ({MAX_PARTICLES}) fits the budget"),
            ),
            (Some(_), None) => Next::Probe(count.saturating_mul(2).min(MAX_PARTICLES)),
            (None, Some(_)) if count <= MIN_PARTICLES => self.limit(
                count,
                format!("even the fewest particles ({MIN_PARTICLES}) are over the budget"),
            ),
            (None, Some(_)) => Next::Probe((count / 2).max(MIN_PARTICLES)),
            (None, None) => unreachable!("a window either fits the budget or does not"),
        }
    }

    /// Confirms at 80% and 120% of the bracket's middle, or where frames are
    /// display-paced at the bracket's own ends: the share of frames over the limit climbs
    /// from none to all over a narrow range of counts, which a line through points 40%
    /// apart would miss.
    fn start_confirming(&mut self, low: u32, high: u32) -> Next {
        let counts = if self.config.refresh_ms.is_some() {
            [low, high]
        } else {
            let middle = f64::from(geometric_middle(low, high));
            CONFIRM_AT.map(|share| clamp_count(middle * share))
        };
        self.stage = Stage::Confirm {
            counts,
            pairs_left: self.config.repeats,
            low: None,
        };
        Next::Probe(counts[0])
    }

    /// What a confirming pair interpolates, and the value it meets at the budget: the
    /// window's p95 against the budget, or where frames are display-paced (their p95
    /// jumps a whole period at once, so a line through two of them says nothing between)
    /// the share of frames over [`CapacitySearch::limit_ms`] against 5%, the share a p95
    /// within it allows.
    fn interpolated(&self, probe: &CapacityProbe) -> (f64, f64) {
        match probe.missed {
            Some(missed) => (missed, 0.05),
            None => (probe.p95_ms, self.config.budget_ms),
        }
    }

    /// After a confirming window at `self.probing`, measured as `probe`.
    fn confirmed(
        &mut self,
        counts: [u32; 2],
        pairs_left: u32,
        low: Option<f64>,
        probe: &CapacityProbe,
    ) -> Next {
        let (value, target) = self.interpolated(probe);
        let Some(low) = low else {
            self.stage = Stage::Confirm {
                counts,
                pairs_left,
                low: Some(value),
            };
            return Next::Probe(counts[1]);
        };
        // Display-paced windows with no frame over the limit at one end and every frame
        // over at the other say only that the step lies between: no line to draw.
        if probe.missed.is_some() && low <= 0.0 && value >= 1.0 {
            self.step_pairs += 1;
        } else if let Some(estimate) = crossing(counts, [low, value], target) {
            self.estimates.push(estimate);
        }
        let pairs_left = pairs_left - 1;
        if pairs_left > 0 {
            self.stage = Stage::Confirm {
                counts,
                pairs_left,
                low: None,
            };
            return Next::Probe(counts[0]);
        }
        Next::Done(self.result(counts))
    }

    fn result(&self, counts: [u32; 2]) -> Capacity {
        let (particles, low, high, note) = match mean_interval(&self.estimates) {
            Some((mean, half_width)) => (
                clamp_count(mean),
                clamp_count(mean - half_width),
                clamp_count(mean + half_width),
                None,
            ),
            None => (
                geometric_middle(counts[0], counts[1]),
                counts[0],
                counts[1],
                Some(self.no_crossing_note()),
            ),
        };
        self.finished(particles, low, high, note)
    }

    /// Why a search without two crossing estimates gives the whole confirming bracket.
    fn no_crossing_note(&self) -> String {
        let without = self.config.repeats as usize - self.estimates.len();
        let steps = self.step_pairs as usize;
        let mut why = Vec::new();
        if steps > 0 {
            why.push(format!(
                "{steps} went from no frame over the limit to all: the step lies between the \
                 two counts"
            ));
        }
        if without > steps {
            let what = if self.config.refresh_ms.is_some() {
                "share of frames over the limit"
            } else {
                "frame time"
            };
            let which = if steps > 0 { "in the rest" } else { "in them" };
            why.push(format!("{which} the {what} did not rise with the count"));
        }
        format!(
            "no crossing in {without} of {} confirming pairs ({}), so the interval is the \
             whole bracket",
            self.config.repeats,
            why.join("; ")
        )
    }

    fn limit(&self, count: u32, why: String) -> Next {
        Next::Done(self.finished(count, count, count, Some(why)))
    }

    fn finished(&self, particles: u32, low: u32, high: u32, note: Option<String>) -> Capacity {
        Capacity {
            budget_ms: self.config.budget_ms,
            particles,
            low,
            high,
            // Every window on the curve was measured in full.
            frames_measured: u32::try_from(self.curve.len()).unwrap_or(u32::MAX)
                * self.config.window,
            frames_run: self.frames_run,
            curve: self.curve.clone(),
            note,
            pacing: None,
            limit_ms: self.config.refresh_ms.map(|_| self.limit_ms()),
        }
    }
}

fn clamp_count(count: f64) -> u32 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to the scenario limits first"
    )]
    let count = count
        .round()
        .clamp(f64::from(MIN_PARTICLES), f64::from(MAX_PARTICLES)) as u32;
    count
}

fn geometric_middle(low: u32, high: u32) -> u32 {
    clamp_count((f64::from(low) * f64::from(high)).sqrt())
}

/// The count at which the straight line through `(counts[i], values[i])` meets `target`;
/// `None` when the value did not rise with the count (noise larger than the cost).
fn crossing(counts: [u32; 2], values: [f64; 2], target: f64) -> Option<f64> {
    let rise = values[1] - values[0];
    if rise <= 0.0 {
        return None;
    }
    let run = f64::from(counts[1]) - f64::from(counts[0]);
    Some(f64::from(counts[0]) + (target - values[0]) * run / rise)
}

/// Student's t for a two-sided 95% interval with 1 to 9 degrees of freedom.
const T_975: [f64; 9] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
];

/// The mean of `values` and the half-width of its 95% confidence interval; `None` for
/// fewer than two values.
fn mean_interval(values: &[f64]) -> Option<(f64, f64)> {
    let count = values.len();
    if count < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / count as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (count - 1) as f64;
    let t = T_975[(count - 2).min(T_975.len() - 1)];
    Some((mean, t * (variance / count as f64).sqrt()))
}

/// A capacity search running in the app, and what to put back when it ends.
#[derive(Resource, Debug, Clone)]
pub struct CapacityRun {
    search: CapacitySearch,
    headless: bool,
    /// The scenario as it was before the search, restored after.
    before: Option<ScenarioChoice>,
    restore_wall_clock: bool,
    /// How the frames are paced (see [`Capacity::pacing`]), once the search started in a
    /// window.
    pacing: Option<Pacing>,
    /// The window's present mode before the search turned vsync off, restored after.
    present_mode_before: Option<PresentMode>,
    /// `FrameStats::frames` when the last frame was taken.
    last_frame: Option<u64>,
    /// The frames of the window being measured.
    window: Vec<FrameSample>,
    /// The frames measured at the lower confirming count: the capture's samples.
    kept: Vec<FrameSample>,
}

impl CapacityRun {
    /// A search with `config`; `headless` is written in the capture.
    #[must_use]
    pub fn new(config: CapacityConfig, headless: bool) -> Self {
        let search = CapacitySearch::new(config);
        let CapacityConfig {
            window, repeats, ..
        } = search.config;
        Self {
            window: Vec::with_capacity(window as usize),
            kept: Vec::with_capacity((window * repeats) as usize),
            search,
            headless,
            before: None,
            restore_wall_clock: false,
            pacing: None,
            present_mode_before: None,
            last_frame: None,
        }
    }

    /// Frames run so far, the most the search can take, and the count being probed.
    #[must_use]
    pub fn progress(&self) -> (u32, u32, u32) {
        let (run, most) = self.search.progress();
        (run, most, self.search.probing())
    }

    /// Takes the frame `measured` describes; returns what the search asks for next.
    fn take_frame(&mut self, measured: &Measured) -> Next {
        let measuring = self.search.measuring();
        // Decided before the frame: the window that ends the bisection may have run at
        // the count the confirming then starts from, but it is not a confirming window.
        let confirming_low = self.search.confirms_at() == Some(self.search.probing());
        if measuring {
            self.window.push(measured.sample());
        }
        let next = self
            .search
            .on_frame(measured.stats.frame_ms, measured.pool.len() as u64);
        if measuring && next != Next::Continue {
            // The window is complete: keep it when it ran at the lower confirming count,
            // or when it is the last (a score at the pool's limits has no confirming).
            let last = matches!(next, Next::Done(_)) && self.kept.is_empty();
            if confirming_low || last {
                self.kept.append(&mut self.window);
            }
            self.window.clear();
        }
        next
    }
}

/// Frames of this app follow the display whatever its present mode (the browser's
/// `requestAnimationFrame`): `refresh_ms` is the display's period in milliseconds, where
/// the page measured it before the app started.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct DisplayPaced {
    /// The refresh period, in milliseconds.
    pub refresh_ms: Option<f64>,
}

/// The last capacity score found in this app, for the overlay.
#[derive(Resource, Debug, Clone, Default)]
pub struct LastCapacity(pub Option<Capacity>);

/// The systems in `First` that run a search, after [`PerfSystems`] has measured the frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapacitySystems;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LastCapacity>().add_systems(
        First,
        (
            start_search.run_if(resource_added::<CapacityRun>),
            run_search.run_if(resource_exists::<CapacityRun>),
        )
            .chain()
            .in_set(CapacitySystems)
            .after(PerfSystems),
    );
}

/// Fixes the clock to one step a frame, paces the frames (see [`pace`]), and restarts
/// the scenario at the first count.
fn start_search(
    mut run: ResMut<CapacityRun>,
    mut choice: ResMut<ScenarioChoice>,
    mut restart: MessageWriter<RestartScenario>,
    mut strategy: ResMut<TimeUpdateStrategy>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
    display_paced: Option<Res<DisplayPaced>>,
    stats: Res<FrameStats>,
) {
    run.restore_wall_clock = fix_one_step_a_frame(&mut strategy);
    pace(
        &mut run,
        windows.single_mut().ok(),
        display_paced.as_deref().copied(),
    );
    run.before = Some(*choice);
    // The frame that started the search ran before the scenario restarted: not a probe's.
    run.last_frame = Some(stats.frames);
    choice.particles = run.search.probing();
    restart.write(RestartScenario);
}

/// A search measures frames start to start. With vsync on, a frame that is done early
/// waits for the display, so every count that fits reads as the refresh period and a
/// budget equal to it sits on the p95. Where frames follow the display whatever the
/// present mode (`display_paced`: the browser), the search takes the refresh period
/// into its limit ([`CapacitySearch::limit_ms`]); elsewhere a window's present mode goes
/// to `AutoNoVsync` for the search (wgpu keeps vsync where the surface offers nothing
/// else), to be put back after. Headless, nothing is presented and nothing changes.
fn pace(run: &mut CapacityRun, window: Option<Mut<Window>>, display_paced: Option<DisplayPaced>) {
    run.pacing = match (display_paced, window) {
        (Some(DisplayPaced { refresh_ms }), _) => {
            run.search.config.refresh_ms = refresh_ms;
            Some(Pacing::DisplayPaced { refresh_ms })
        }
        (None, Some(mut window)) => {
            run.search.config.refresh_ms = None;
            let before = window.present_mode;
            window.present_mode = PresentMode::AutoNoVsync;
            run.present_mode_before = Some(before);
            Some(Pacing::VsyncOff {
                window_had: format!("{before:?}"),
            })
        }
        (None, None) => None,
    };
}

/// Feeds each finished frame to the search and does what it asks: restarts the scenario
/// at another count, or puts the capture in [`FinishedCapture`] and the scenario back.
fn run_search(
    mut commands: Commands,
    mut run: ResMut<CapacityRun>,
    measured: Measured,
    facts: RunFacts,
    mut restart: MessageWriter<RestartScenario>,
    mut strategy: ResMut<TimeUpdateStrategy>,
    mut last: ResMut<LastCapacity>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
) {
    if !measured.take_new_frame(&mut run.last_frame) {
        return;
    }
    match run.take_frame(&measured) {
        Next::Continue => {}
        Next::Probe(count) => {
            // Applied before `PreUpdate`, where the restart reads it.
            commands.insert_resource(ScenarioChoice {
                particles: count,
                ..*facts.choice
            });
            restart.write(RestartScenario);
        }
        Next::Done(mut capacity) => {
            capacity.pacing = run.pacing.take();
            if let (Some(mode), Ok(mut window)) = (run.present_mode_before, windows.single_mut()) {
                window.present_mode = mode;
            }
            let samples = std::mem::take(&mut run.kept);
            let recorded = Recorded {
                frames: u32::try_from(samples.len()).unwrap_or(u32::MAX),
                warmup: 0,
                headless: run.headless,
                budget_ms: capacity.budget_ms,
                // The samples ran at the lower confirming count (or the limit).
                particles: run.search.confirms_at().unwrap_or(capacity.particles),
                samples,
            };
            let mut file = super::capture_file(recorded, &measured, &facts);
            file.capacity = Some(capacity.clone());
            last.0 = Some(capacity);
            if let Some(before) = run.before {
                commands.insert_resource(before);
                restart.write(RestartScenario);
            }
            restore_wall_clock(&mut strategy, run.restore_wall_clock);
            commands.remove_resource::<CapacityRun>();
            commands.insert_resource(FinishedCapture(file));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_pcg::Pcg32;

    use super::*;
    use crate::scenario::Scenario;

    /// A score of 640,000 particles ± 3% at 60 fps with three windows.
    pub(crate) fn sample_capacity() -> Capacity {
        let probe = |particles: u32, p95_ms: f64| CapacityProbe {
            particles,
            alive: u64::from(particles),
            p50_ms: p95_ms * 0.9,
            p95_ms,
            missed: None,
        };
        Capacity {
            budget_ms: 1000.0 / 60.0,
            particles: 640_000,
            low: 620_800,
            high: 659_200,
            frames_measured: 180,
            frames_run: 210,
            curve: vec![
                probe(320_000, 9.0),
                probe(640_000, 16.0),
                probe(1_280_000, 31.0),
            ],
            note: None,
            pacing: None,
            limit_ms: None,
        }
    }

    const BUDGET_MS: f64 = 1000.0 / 60.0;

    /// Runs a search on a machine whose frames take `fixed_ms` plus `per_particle_ms` for
    /// each particle alive, plus noise drawn evenly from 0 to `noise_ms`; the pool fills at
    /// once. Returns the score and how many frames it was fed.
    fn search_on_cost_model(
        fixed_ms: f64,
        per_particle_ms: f64,
        noise_ms: f64,
        seed: u64,
    ) -> (Capacity, u32) {
        let mut rng = Pcg32::seed_from_u64(seed);
        let mut search = CapacitySearch::new(CapacityConfig::new(BUDGET_MS));
        let mut fed = 0;
        loop {
            let alive = f64::from(search.probing());
            let frame_ms = fixed_ms + per_particle_ms * alive + rng.random_range(0.0..noise_ms);
            fed += 1;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a particle count"
            )]
            if let Next::Done(capacity) = search.on_frame(frame_ms, alive as u64) {
                return (capacity, fed);
            }
        }
    }

    /// With frames of 1 ms plus 20 ns per particle plus noise drawn evenly from 0 to 0.5
    /// ms, a 60-frame window's p95 (its 57th smallest frame) is on average 1 ms + 2e-5 ms
    /// per particle + 0.5 × 57/61 ms (the 57th of 60 uniform order statistics), which
    /// meets 16.667 ms at (16.6667 - 1.4672) / 2e-5 = 759,973 particles.
    const KNOWN: u32 = 759_973;

    #[test]
    fn a_known_per_particle_cost_gives_its_capacity_within_the_interval() {
        let mut covered = 0;
        for seed in 0..20 {
            let (capacity, fed) = search_on_cost_model(1.0, 2.0e-5, 0.5, seed);
            assert_eq!(capacity.note, None, "{}", capacity.describe());
            if (capacity.low..=capacity.high).contains(&KNOWN) {
                covered += 1;
            }
            assert!(
                capacity.particles.abs_diff(KNOWN) < KNOWN / 100,
                "seed {seed}: {}",
                capacity.describe()
            );
            assert!(
                capacity.relative_half_width() < 0.01,
                "{}",
                capacity.describe()
            );
            assert_eq!(capacity.frames_run, fed, "every frame is counted");
            assert!(fed <= CapacityConfig::new(BUDGET_MS).max_frames());
        }
        eprintln!("known capacity {KNOWN}: inside the interval in {covered} of 20 seeds");
        assert!(
            covered >= 17,
            "the known answer in {covered} of 20 intervals"
        );
    }

    /// The ramp doubles from 10,000 until a window is over the budget, bisects, then
    /// alternates the confirming counts.
    #[test]
    fn the_curve_ramps_bisects_then_alternates_confirming_windows() {
        let (capacity, _) = search_on_cost_model(1.0, 2.0e-5, 0.5, 1);
        let counts: Vec<u32> = capacity.curve.iter().map(|p| p.particles).collect();
        assert_eq!(
            counts[..8],
            [
                10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000
            ]
        );
        let confirming = &counts[counts.len() - 10..];
        let (low, high) = (confirming[0], confirming[1]);
        assert!(low < KNOWN && KNOWN < high, "{counts:?}");
        for pair in confirming.chunks(2) {
            assert_eq!(pair, [low, high]);
        }
        assert_eq!(capacity.frames_measured as usize, 60 * counts.len());
    }

    /// The bound covers the longest ramp: from the fewest particles to the pool's maximum.
    #[test]
    fn the_longest_search_stays_within_its_bound() {
        let config = CapacityConfig {
            start: MIN_PARTICLES,
            ..CapacityConfig::new(BUDGET_MS)
        };
        assert_eq!((config.max_probes(), config.max_frames()), (26, 9_360));
        let mut search = CapacitySearch::new(config);
        let mut probes = 0;
        let capacity = loop {
            // Within the budget below 3,500,000 particles: a 13-probe ramp.
            let frame_ms = if search.probing() < 3_500_000 {
                1.0
            } else {
                30.0
            };
            match search.on_frame(frame_ms, u64::from(search.probing())) {
                Next::Continue => {}
                Next::Probe(_) => probes += 1,
                Next::Done(capacity) => break capacity,
            }
        };
        assert_eq!(
            capacity.curve[12].particles, MAX_PARTICLES,
            "the 13th probe"
        );
        assert!(probes < config.max_probes());
        assert!(capacity.frames_run <= config.max_frames());
    }

    /// A search of display-paced frames: each lasts as many whole 60 Hz periods as its
    /// work needs, plus up to 1 ms of timer jitter, the work being 1 ms + 0.5 µs a
    /// particle + up to 6 ms of noise. Its p95 meets one period where 1 + 0.0005 n + 5.7
    /// = 16.667 ms: n = 19,933. `refresh_ms` `None` judges the frames as if they ran free.
    fn search_display_paced(refresh_ms: Option<f64>, seed: u64) -> Capacity {
        let mut rng = Pcg32::seed_from_u64(seed);
        let config = CapacityConfig {
            refresh_ms,
            ..CapacityConfig::new(BUDGET_MS)
        };
        let mut search = CapacitySearch::new(config);
        loop {
            let count = search.probing();
            let work_ms = 1.0 + 5.0e-4 * f64::from(count) + rng.random_range(0.0..6.0);
            let frame_ms = (work_ms / BUDGET_MS).ceil() * BUDGET_MS + rng.random_range(0.0..1.0);
            if let Next::Done(capacity) = search.on_frame(frame_ms, u64::from(count)) {
                return capacity;
            }
        }
    }

    /// Judged against the budget alone, display-paced frames never fit a budget of one
    /// period (the jitter puts the p95 over it at any count); against the budget plus
    /// half a period the search finds where the work meets the period.
    #[test]
    fn display_paced_frames_are_judged_against_half_a_refresh_over_the_budget() {
        let paced = CapacityConfig {
            refresh_ms: Some(16.0),
            ..CapacityConfig::new(16.0)
        };
        assert!((CapacitySearch::new(paced).limit_ms() - 24.0).abs() < 1e-12);
        let free = search_display_paced(None, 1);
        assert_eq!(free.particles, MIN_PARTICLES, "{}", free.describe());
        assert!(free.curve.iter().all(|probe| probe.missed.is_none()));
        let mut inside = 0;
        for seed in 0..20 {
            let capacity = search_display_paced(Some(BUDGET_MS), seed);
            assert!(
                capacity.curve.iter().all(|probe| probe.missed.is_some()),
                "{capacity:?}"
            );
            // Within the bisection's 10% bracket (measured: at most 7.3% off).
            assert!(
                capacity.particles.abs_diff(19_933) < 1_993,
                "seed {seed}: {}",
                capacity.describe()
            );
            inside += usize::from((capacity.low..=capacity.high).contains(&19_933));
        }
        // Measured: 19 of 20.
        assert!(
            inside >= 17,
            "the answer inside the interval in {inside} of 20 seeds"
        );
    }

    #[test]
    fn a_machine_that_holds_the_whole_pool_scores_the_maximum_and_says_so() {
        let (capacity, _) = search_on_cost_model(1.0, 1.0e-9, 0.1, 1);
        assert_eq!(
            (capacity.particles, capacity.low, capacity.high),
            (MAX_PARTICLES, MAX_PARTICLES, MAX_PARTICLES)
        );
        assert!(
            capacity
                .describe()
                .contains("the pool's maximum (4000000) fits")
        );
    }

    #[test]
    fn a_machine_over_budget_at_the_fewest_particles_says_so() {
        let (capacity, _) = search_on_cost_model(20.0, 1.0e-6, 0.1, 1);
        assert_eq!(capacity.particles, MIN_PARTICLES);
        assert!(capacity.describe().contains("even the fewest particles"));
    }

    /// Frame times that do not grow with the count (all noise) give no crossing: the
    /// interval is then the whole confirming bracket, and the note says why.
    #[test]
    fn noise_without_a_cost_gives_the_bracket_and_says_why() {
        let mut search = CapacitySearch::new(CapacityConfig::new(BUDGET_MS));
        let capacity = loop {
            // Over budget above 50,000 particles during the search, flat 10 ms after.
            let count = search.probing();
            let over = search.confirms_at().is_none() && count > 50_000;
            let frame_ms = if over { 30.0 } else { 10.0 };
            if let Next::Done(capacity) = search.on_frame(frame_ms, u64::from(count)) {
                break capacity;
            }
        };
        assert!(
            capacity.note.as_deref()
                == Some(
                    "no crossing in 5 of 5 confirming pairs (in them the frame time did not \
                     rise with the count), so the interval is the whole bracket"
                ),
            "{capacity:?}"
        );
        assert!(capacity.low < capacity.particles && capacity.particles < capacity.high);
    }

    /// A probe measures once 90% of its target is alive (after at least 10 frames), or
    /// after 300 frames whatever the pool holds.
    #[test]
    fn a_probe_waits_for_the_pool_to_fill() {
        let mut search = CapacitySearch::new(CapacityConfig::new(BUDGET_MS));
        for _ in 0..SETTLE_MIN_FRAMES {
            assert!(!search.measuring());
            search.on_frame(1.0, 10_000);
        }
        assert!(search.measuring(), "filled after the fewest frames");
        let mut empty = CapacitySearch::new(CapacityConfig::new(BUDGET_MS));
        for _ in 0..SETTLE_MAX_FRAMES - 1 {
            empty.on_frame(1.0, 8_999);
        }
        assert!(!empty.measuring(), "89.99% alive is not filled");
        empty.on_frame(1.0, 8_999);
        assert!(empty.measuring(), "measured after the most frames anyway");
    }

    #[test]
    fn settings_change_the_config_or_name_what_is_wrong() {
        let set = |pairs: &[(&str, f64)]| {
            let pairs: Vec<(String, f64)> = pairs.iter().map(|&(n, v)| (n.to_owned(), v)).collect();
            CapacityConfig::new(BUDGET_MS).with_settings(&pairs)
        };
        let config = set(&[
            ("budget_ms", 100.0),
            ("window", 5.0),
            ("repeats", 2.0),
            ("start", 2000.0),
        ])
        .unwrap();
        assert_eq!(
            (
                config.budget_ms,
                config.window,
                config.repeats,
                config.start
            ),
            (100.0, 5, 2, 2000)
        );
        assert_eq!(config.max_probes(), RAMP_PROBES + BISECT_PROBES + 4);
        assert_eq!(
            set(&[("window", 4.5)]).unwrap_err(),
            "window 4.5 is not a whole number in 5..=600"
        );
        assert!(set(&[("repeats", 11.0)]).unwrap_err().contains("2..=10"));
        assert!(
            set(&[("budget_ms", 0.1)])
                .unwrap_err()
                .contains("0.5..=1000")
        );
        assert!(
            set(&[("frames", 1.0)])
                .unwrap_err()
                .contains("unknown setting 'frames'")
        );
    }

    #[test]
    fn the_interval_is_students_t_on_the_estimates() {
        let (mean, half) = mean_interval(&[98.0, 102.0]).unwrap();
        // sd 2.83, standard error 2, t(1) 12.706.
        assert!((mean - 100.0).abs() < 1e-12);
        assert!((half - 25.412).abs() < 1e-9, "{half}");
        assert_eq!(mean_interval(&[5.0]), None);
        assert_eq!(crossing([100, 200], [10.0, 20.0], 15.0), Some(150.0));
        assert_eq!(crossing([100, 200], [10.0, 10.0], 15.0), None);
    }

    /// The scenario the app tests start from: stress, 5,000 particles, seed 3.
    const STARTED: ScenarioChoice = ScenarioChoice {
        scenario: Scenario::Stress,
        particles: 5_000,
        seed: 3,
    };

    /// A headless app playing [`STARTED`] whose frames are said to take 1 ms plus
    /// `per_particle_ms` for each particle alive (in place of the measured time).
    fn app_with_frames_costing(per_particle_ms: f64) -> App {
        let mut app = super::super::headless_app(STARTED, true);
        app.add_systems(
            First,
            (move |mut stats: ResMut<FrameStats>, pool: Res<crate::sim::ParticlePool>| {
                stats.frame_ms = 1.0 + per_particle_ms * pool.len() as f64;
            })
            .after(PerfSystems)
            .before(CapacitySystems),
        );
        app
    }

    /// A search started just above the fewest particles: over the budget at 1,050, within
    /// it at 1,000, so the bracket is narrow at once and the confirming starts at 1,000,
    /// the count of the bisection's last window. That window is not a confirming one: the
    /// capture keeps the five confirming windows only.
    #[test]
    fn the_capture_keeps_only_the_lower_confirming_windows() {
        // 1 ms + 15.3 µs a particle: 16.3 ms at 1,000, 17.1 ms at 1,050.
        let mut app = app_with_frames_costing(0.0153);
        let config = CapacityConfig {
            start: 1_050,
            ..CapacityConfig::new(BUDGET_MS)
        };
        let file = super::super::run_headless(&mut app, CapacityRun::new(config, true), |_| {});
        let counts: Vec<u32> = file
            .capacity
            .as_ref()
            .unwrap()
            .curve
            .iter()
            .map(|p| p.particles)
            .collect();
        assert_eq!(counts[..3], [1_050, 1_000, 1_000], "{counts:?}");
        assert_eq!(file.samples.len(), 5 * 60, "{counts:?}");
    }

    /// A search in an app with a window turns vsync off while it runs and puts the
    /// window's present mode back after, and the capture says so; where frames are
    /// display-paced (the browser) the window is left alone and the limit takes the
    /// refresh period in.
    #[test]
    fn a_search_in_a_window_turns_vsync_off_or_takes_the_display_pacing_in() {
        use bevy::window::{PresentMode, PrimaryWindow};

        let search = |paced: Option<DisplayPaced>| {
            let mut app = app_with_frames_costing(7.5e-4);
            let window = app
                .world_mut()
                .spawn((
                    Window {
                        present_mode: PresentMode::Fifo,
                        ..default()
                    },
                    PrimaryWindow,
                ))
                .id();
            if let Some(paced) = paced {
                app.insert_resource(paced);
            }
            let run = CapacityRun::new(CapacityConfig::new(BUDGET_MS), false);
            let mut modes = Vec::new();
            let file = super::super::run_headless(&mut app, run, |world| {
                modes.push(world.get::<Window>(window).unwrap().present_mode);
            });
            let after = app.world().get::<Window>(window).unwrap().present_mode;
            (file.capacity.unwrap(), modes, after)
        };

        let (capacity, modes, after) = search(None);
        assert!(modes.iter().all(|&mode| mode == PresentMode::AutoNoVsync));
        assert_eq!(after, PresentMode::Fifo, "put back");
        assert_eq!(
            capacity.pacing,
            Some(Pacing::VsyncOff {
                window_had: "Fifo".into()
            })
        );
        assert_eq!(capacity.limit_ms, None);
        assert!(capacity.curve.iter().all(|probe| probe.missed.is_none()));

        let (capacity, modes, after) = search(Some(DisplayPaced {
            refresh_ms: Some(16.0),
        }));
        assert!(
            modes
                .iter()
                .chain([&after])
                .all(|&mode| mode == PresentMode::Fifo)
        );
        assert_eq!(
            capacity.pacing,
            Some(Pacing::DisplayPaced {
                refresh_ms: Some(16.0)
            })
        );
        assert_eq!(
            capacity.limit_ms,
            Some(BUDGET_MS + 8.0),
            "half a refresh over"
        );
        assert!(capacity.curve.iter().all(|probe| probe.missed.is_some()));
        // Frames that cost a set time for a count: no frame over the limit below the
        // step, all of them above, in every pair, so the interval is the bracket.
        let described = capacity.describe();
        assert!(
            described.contains(
                "no crossing in 5 of 5 confirming pairs (5 went from no frame over the limit \
                 to all: the step lies between the two counts)"
            ) && described.contains(
                "display-paced at 16.00 ms a refresh: frames last whole refreshes, so a \
                 window fits when its p95 is within the 16.67 ms budget plus half a refresh \
                 (24.67 ms): it counts as 1 refresh (16.00 ms)"
            ),
            "{described}"
        );
    }

    /// What a display-paced search's budget comes to: whole refreshes within the limit.
    #[test]
    fn a_display_paced_budget_is_said_in_whole_refreshes() {
        let paced = Pacing::DisplayPaced {
            refresh_ms: Some(16.0),
        };
        let said = |budget: f64| paced.describe(budget, Some(budget + 8.0));
        assert!(
            said(10.0).ends_with("it counts as 1 refresh (16.00 ms)"),
            "{}",
            said(10.0)
        );
        assert!(
            said(40.0).ends_with("it counts as 2 refreshes (32.00 ms)"),
            "{}",
            said(40.0)
        );
        assert!(
            said(0.5).ends_with("no frame is that short, so every count is over it"),
            "{}",
            said(0.5)
        );
        let unmeasured = Pacing::DisplayPaced { refresh_ms: None }.describe(16.0, None);
        assert!(
            unmeasured.contains("no refresh period from the page"),
            "{unmeasured}"
        );
    }

    /// The search in an app: the scenario restarts at each count it asks for, and the
    /// frame time comes from a cost model of the particles actually alive (1 ms plus 0.75
    /// µs each), so the budget is met at 15.667 / 7.5e-4 = 20,889 particles.
    #[test]
    fn the_search_runs_the_scenario_at_its_counts_and_restores_it() {
        let mut app = app_with_frames_costing(7.5e-4);
        let run = CapacityRun::new(CapacityConfig::new(BUDGET_MS), true);
        let file = super::super::run_headless(&mut app, run, |_| {});
        let capacity = file.capacity.as_ref().expect("a score");
        assert!(
            capacity.particles.abs_diff(20_889) <= 1,
            "{}",
            capacity.describe()
        );
        assert!(
            capacity
                .curve
                .iter()
                .all(|p| p.alive == u64::from(p.particles))
        );
        assert!(file.settings.headless);
        assert_eq!(file.samples.len(), 5 * 60, "the lower confirming windows");
        assert!(
            file.samples
                .iter()
                .all(|s| s.particles == u64::from(file.settings.particles))
        );
        assert!(file.settings.particles < capacity.particles);
        app.update();
        assert_eq!(
            *app.world().resource::<ScenarioChoice>(),
            STARTED,
            "put back"
        );
        assert_eq!(
            app.world().resource::<crate::sim::ParticlePool>().len(),
            5_000
        );
    }
}
