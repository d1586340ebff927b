//! History across commits: every capture in a folder, grouped into series (the same run,
//! made the same way, on the same machine), each metric's value per git revision in
//! commit order, and the points outside the trailing window's spread marked. Revisions
//! without a commit time have no known place: see [`History::of`].
//!
//! A revision's value is the median over its captures in the series. A point is marked
//! when it lies more than [`BAND`] spreads from the median of the [`TRAILING`] revisions
//! before it (at least [`MIN_TRAILING`] of them), the spread being the scaled median
//! absolute deviation, and never less than [`MIN_SPREAD`] of that median: so a steady
//! series still needs a change of about 9% to be marked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::compare::median;
use super::file::CaptureFile;
use super::report::escape;
use crate::perf::Phase;

/// Revisions before a point that its spread is judged on.
pub const TRAILING: usize = 5;
/// Fewest earlier revisions a point needs before it can be marked.
pub const MIN_TRAILING: usize = 3;
/// How many spreads from the trailing median a point must lie to be marked.
pub const BAND: f64 = 3.0;
/// The least spread, as a share of the trailing median (timer and scheduling jitter).
pub const MIN_SPREAD: f64 = 0.03;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 150.0;

/// A metric a history follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Median frame time, ms.
    FrameP50,
    /// 95th percentile frame time, ms.
    FrameP95,
    /// A phase's median, ms.
    Phase(Phase),
    /// Mean heap allocations per frame.
    Allocations,
    /// Peak live heap, MB.
    PeakHeap,
    /// The capacity score, particles.
    Capacity,
}

impl Metric {
    /// Every metric, in the page's order.
    #[must_use]
    pub fn all() -> Vec<Self> {
        let mut all = vec![Self::FrameP50, Self::FrameP95];
        all.extend(Phase::ALL.map(Self::Phase));
        all.extend([Self::Allocations, Self::PeakHeap, Self::Capacity]);
        all
    }

    /// The metric's name with its unit.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::FrameP50 => "frame p50 ms".to_owned(),
            Self::FrameP95 => "frame p95 ms".to_owned(),
            Self::Phase(phase) => format!("{} p50 ms", phase.name()),
            Self::Allocations => "allocations per frame".to_owned(),
            Self::PeakHeap => "peak live heap MB".to_owned(),
            Self::Capacity => "particles at budget".to_owned(),
        }
    }

    /// The metric in `capture`, if it was measured there.
    fn of(self, capture: &CaptureFile) -> Option<f64> {
        let summary = &capture.summary;
        let value = match self {
            Self::FrameP50 => summary.p50_ms,
            Self::FrameP95 => summary.p95_ms,
            Self::Phase(phase) => {
                let index = Phase::ALL.iter().position(|&p| p == phase)?;
                summary.phase_p50_ms[index]
            }
            Self::Allocations => summary.allocations_per_frame,
            Self::PeakHeap => summary.peak_live_bytes as f64 / 1.0e6,
            Self::Capacity => f64::from(capture.capacity.as_ref()?.particles),
        };
        // A phase that never ran there (upload and overlay, headless) has no trend.
        (!matches!(self, Self::Phase(_)) || value > 0.0).then_some(value)
    }
}

/// One revision's value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The git revision (as the capture recorded it).
    pub revision: String,
    /// The median over the revision's captures.
    pub value: f64,
    /// Captures at this revision.
    pub captures: usize,
    /// Set when the point lies outside the trailing window's spread: the trailing median
    /// and the band's half-width.
    pub outside: Option<(f64, f64)>,
}

/// The same run on the same machine, across revisions.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What ran: scenario, particles (or capacity), mode and backend.
    pub run: String,
    /// Where it ran: CPU, cores, OS and architecture, browser.
    pub machine: String,
    /// Each metric measured in the series and its points, oldest revision first.
    pub metrics: Vec<(Metric, Vec<Point>)>,
    /// How the revisions were ordered: by commit time, or (when none of them has one) as
    /// their captures were read.
    pub by_commit_time: bool,
    /// Revisions left off because they have no commit time while others in the series
    /// do: their place among the commits is unknown.
    pub untimed: Vec<String>,
}

/// Every series in a set of captures.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The series, by run and machine.
    pub series: Vec<Series>,
}

/// A point outside its trailing spread: its series, metric and point.
pub type Marked<'a> = (&'a Series, Metric, &'a Point);

impl History {
    /// The history of `captures`. Revisions are ordered by commit time; in a series where
    /// some have one, those without are left off and named, and a series where none has
    /// one keeps the order its captures came in. Captures without a revision count as
    /// "unknown".
    #[must_use]
    pub fn of(captures: &[CaptureFile]) -> Self {
        let mut groups: BTreeMap<(String, String), Vec<&CaptureFile>> = BTreeMap::new();
        for capture in captures {
            groups
                .entry((run_key(capture), machine_key(capture)))
                .or_default()
                .push(capture);
        }
        let series = groups
            .into_iter()
            .map(|((run, machine), captures)| {
                let order = RevisionOrder::of(&captures);
                Series {
                    run,
                    machine,
                    metrics: trends(&captures, &order.revisions),
                    by_commit_time: order.by_commit_time,
                    untimed: order.untimed.iter().map(|&r| r.to_owned()).collect(),
                }
            })
            .collect();
        Self { series }
    }

    /// Every point outside its trailing spread, series by series.
    pub fn marked(&self) -> impl Iterator<Item = Marked<'_>> {
        self.series.iter().flat_map(|series| {
            series.metrics.iter().flat_map(move |(metric, points)| {
                points
                    .iter()
                    .filter(|point| point.outside.is_some())
                    .map(move |point| (series, *metric, point))
            })
        })
    }

    /// The history as one self-contained HTML page (inline SVG, no scripts), listing
    /// `skipped` files (with why) at the top.
    #[must_use]
    pub fn to_html(&self, skipped: &[String]) -> String {
        let mut page = String::from(concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>sparkbench history</title><style>",
            "body{font:14px system-ui,sans-serif;background:#17171b;color:#ddd;margin:24px}",
            "h1{font-size:20px}h2{font-size:16px;margin:18px 0 4px}h3{font-size:13px;color:#aaa;margin:12px 0 4px}",
            "svg{background:#1e1e24;display:block}.skipped{color:#e6a046}.marked{color:#e65046}",
            "</style></head><body><h1>sparkbench history</h1>\n"
        ));
        let _ = write!(
            page,
            "<p>A point is marked (red ring) when it lies more than {BAND} spreads from the \
             median of the {TRAILING} revisions before it (at least {MIN_TRAILING}); the \
             spread is the scaled median absolute deviation, at least {:.0}% of that median.</p>",
            MIN_SPREAD * 100.0
        );
        for file in skipped {
            let _ = write!(page, "<p class=\"skipped\">skipped {}</p>", escape(file));
        }
        for (series, metric, point) in self.marked() {
            let _ = write!(
                page,
                "<p class=\"marked\">{}: {} on {}: {} at {} (trailing median {})</p>",
                escape(&metric.name()),
                escape(&series.run),
                escape(&series.machine),
                format_value(point.value),
                escape(&short(&point.revision)),
                format_value(point.outside.map_or(0.0, |(median, _)| median)),
            );
        }
        for series in &self.series {
            let _ = write!(
                page,
                "<section class=\"series\"><h2>{}</h2><div>{}</div>",
                escape(&series.run),
                escape(&series.machine)
            );
            if !series.by_commit_time {
                page += "<p class=\"skipped\">no commit times here: revisions in the order \
                         their captures came</p>";
            }
            if !series.untimed.is_empty() {
                let names: Vec<String> = series.untimed.iter().map(|r| escape(&short(r))).collect();
                let _ = write!(
                    page,
                    "<p class=\"skipped\">left off: {} (no commit time, so no known place \
                     among the commits: made before captures recorded it, or outside a git \
                     checkout)</p>",
                    names.join(", ")
                );
            }
            for (metric, points) in &series.metrics {
                let _ = write!(page, "<h3>{}</h3>", escape(&metric.name()));
                page += &trend_chart(points);
            }
            page += "</section>\n";
        }
        page += "</body></html>\n";
        page
    }
}

/// What ran, made how: captures of one key are the same run.
fn run_key(capture: &CaptureFile) -> String {
    let s = &capture.settings;
    // Searches at different budgets are different runs.
    let particles = match &capture.capacity {
        Some(search) => format!("capacity at {:.2} ms", search.budget_ms),
        None => format!("{} particles", s.particles),
    };
    format!(
        "{} · {particles} · seed {} · {} · {} · {}",
        s.scenario,
        s.seed,
        if s.headless { "headless" } else { "rendered" },
        s.backend,
        capture.environment.build_profile,
    )
}

/// Where it ran.
fn machine_key(capture: &CaptureFile) -> String {
    let e = &capture.environment;
    let mut machine = format!(
        "{} ({} cores, {} kernel threads) · {} {}",
        e.cpu_model.as_deref().unwrap_or("unknown CPU"),
        e.cpu_cores,
        e.kernel_threads,
        e.os,
        e.arch
    );
    if let Some(agent) = &e.user_agent {
        let _ = write!(machine, " · {agent}");
    }
    if let Some(adapter) = &e.gpu_adapter {
        let _ = write!(machine, " · {adapter}");
    }
    machine
}

/// The git revision a capture recorded, or "unknown".
fn revision_of(capture: &CaptureFile) -> &str {
    capture
        .environment
        .git_revision
        .as_deref()
        .unwrap_or("unknown")
}

/// The revisions of one series in the order a trend draws them.
struct RevisionOrder<'a> {
    /// Oldest first.
    revisions: Vec<&'a str>,
    /// Whether they are in commit-time order (else in the order their captures came).
    by_commit_time: bool,
    /// Revisions left off: without a commit time where others have one.
    untimed: Vec<&'a str>,
}

impl<'a> RevisionOrder<'a> {
    /// Each revision once, by the first commit time its captures give. A capture has none when it
    /// was made before captures recorded it or outside a git checkout; placed first or
    /// last it would draw a step that did not happen, so such revisions are left off a
    /// series that has timed ones, and a series with none keeps the captures' order.
    fn of(captures: &[&'a CaptureFile]) -> Self {
        let mut seen: Vec<(&'a str, Option<u64>)> = Vec::new();
        for &capture in captures {
            let revision = revision_of(capture);
            let time = capture.environment.commit_time;
            match seen.iter_mut().find(|(known, _)| *known == revision) {
                Some((_, known_time)) => *known_time = known_time.or(time),
                None => seen.push((revision, time)),
            }
        }
        if seen.iter().all(|&(_, time)| time.is_none()) {
            return Self {
                revisions: seen.into_iter().map(|(revision, _)| revision).collect(),
                by_commit_time: false,
                untimed: Vec::new(),
            };
        }
        let (mut timed, untimed): (Vec<_>, Vec<_>) =
            seen.into_iter().partition(|&(_, time)| time.is_some());
        // Stable: revisions with the same commit time keep the order they came in.
        timed.sort_by_key(|&(_, time)| time);
        Self {
            revisions: timed.into_iter().map(|(revision, _)| revision).collect(),
            by_commit_time: true,
            untimed: untimed.into_iter().map(|(revision, _)| revision).collect(),
        }
    }
}

/// Each metric's points over `revisions` (oldest first) of one series.
fn trends(captures: &[&CaptureFile], revisions: &[&str]) -> Vec<(Metric, Vec<Point>)> {
    Metric::all()
        .into_iter()
        .filter_map(|metric| {
            let mut points: Vec<Point> = revisions
                .iter()
                .filter_map(|&revision| {
                    let values: Vec<f64> = captures
                        .iter()
                        .filter(|capture| revision_of(capture) == revision)
                        .filter_map(|capture| metric.of(capture))
                        .collect();
                    (!values.is_empty()).then(|| Point {
                        revision: revision.to_owned(),
                        value: median(&values),
                        captures: values.len(),
                        outside: None,
                    })
                })
                .collect();
            mark_outside(&mut points);
            (!points.is_empty()).then_some((metric, points))
        })
        .collect()
}

/// Marks each point outside its trailing window's band.
fn mark_outside(points: &mut [Point]) {
    for index in MIN_TRAILING..points.len() {
        let window: Vec<f64> = points[index.saturating_sub(TRAILING)..index]
            .iter()
            .map(|point| point.value)
            .collect();
        let centre = median(&window);
        let deviations: Vec<f64> = window.iter().map(|v| (v - centre).abs()).collect();
        let spread = (1.4826 * median(&deviations)).max(MIN_SPREAD * centre.abs());
        let half_width = BAND * spread;
        if (points[index].value - centre).abs() > half_width {
            points[index].outside = Some((centre, half_width));
        }
    }
}

/// A revision as git abbreviates it (7 characters), keeping a `-dirty` mark.
fn short(revision: &str) -> String {
    let mut short: String = revision.chars().take(7).collect();
    if revision.ends_with("-dirty") {
        short += "-dirty";
    }
    short
}

fn format_value(value: f64) -> String {
    if value >= 1000.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

/// The points as a line from oldest to newest revision, each marked point ringed in red,
/// the band it left drawn behind it.
fn trend_chart(points: &[Point]) -> String {
    let top = points
        .iter()
        .map(|p| p.value.max(p.outside.map_or(0.0, |(m, h)| m + h)))
        .fold(0.0, f64::max)
        * 1.1;
    let top = if top > 0.0 { top } else { 1.0 };
    // Room for a revision label centred under the first and last points.
    let step = (WIDTH - 60.0) / points.len().saturating_sub(1).max(1) as f64;
    let x = |index: usize| 30.0 + index as f64 * step;
    let y = |value: f64| HEIGHT - 22.0 - value / top * (HEIGHT - 36.0);
    let mut svg = format!("<svg width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\">");
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(index, point)| format!("{:.2},{:.2}", x(index), y(point.value)))
        .collect();
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#5096e6\" stroke-width=\"1.5\" points=\"{}\"/>",
        line.join(" ")
    );
    for (index, point) in points.iter().enumerate() {
        if let Some((centre, half_width)) = point.outside {
            let _ = write!(
                svg,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"8\" height=\"{:.2}\" fill=\"#e65046\" opacity=\"0.25\"/>\
                 <circle class=\"outside\" cx=\"{:.2}\" cy=\"{:.2}\" r=\"7\" fill=\"none\" stroke=\"#e65046\" stroke-width=\"2\"><title>{} outside the trailing spread: {} vs median {}</title></circle>",
                x(index) - 4.0,
                y(centre + half_width),
                (y(centre - half_width) - y(centre + half_width)).max(1.0),
                x(index),
                y(point.value),
                escape(&short(&point.revision)),
                format_value(point.value),
                format_value(centre),
            );
        }
        let _ = write!(
            svg,
            "<circle class=\"point\" cx=\"{:.2}\" cy=\"{:.2}\" r=\"3\" fill=\"#5ac86e\"><title>{}: {} ({} captures)</title></circle>\
             <text x=\"{:.2}\" y=\"{}\" fill=\"#888\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            x(index),
            y(point.value),
            escape(&point.revision),
            format_value(point.value),
            point.captures,
            x(index),
            HEIGHT - 6.0,
            escape(&short(&point.revision)),
        );
    }
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"12\" fill=\"#aaa\" font-size=\"11\">{}</text></svg>",
        format_value(top)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::super::file::tests::sample_capture;
    use super::*;

    /// Ten revisions of one run on one machine: frames of 10 ms until revision 7, 13 ms
    /// from there on; two captures a revision, given out of order.
    fn stepped_folder() -> Vec<CaptureFile> {
        let mut captures = Vec::new();
        for revision in (0..10_u64).rev() {
            for jitter in [0.99, 1.01] {
                let ms = if revision >= 7 { 13.0 } else { 10.0 } * jitter;
                let mut capture = sample_capture(&[ms; 20]);
                capture.environment.git_revision = Some(format!("rev{revision:02}abcdef"));
                capture.environment.commit_time = Some(1_700_000_000 + revision * 3600);
                captures.push(capture);
            }
        }
        captures
    }

    #[test]
    fn a_step_change_is_marked_where_it_happens_and_nowhere_before() {
        let history = History::of(&stepped_folder());
        assert_eq!(history.series.len(), 1, "one run on one machine");
        let (metric, points) = &history.series[0].metrics[0];
        assert_eq!(*metric, Metric::FrameP50);
        let revisions: Vec<&str> = points.iter().map(|p| p.revision.as_str()).collect();
        assert_eq!(revisions[0], "rev00abcdef", "oldest commit first");
        assert_eq!(revisions[9], "rev09abcdef");
        assert!(points.iter().all(|p| p.captures == 2));
        let outside: Vec<usize> = points
            .iter()
            .enumerate()
            .filter_map(|(index, p)| p.outside.map(|_| index))
            .collect();
        assert_eq!(outside.first(), Some(&7), "{points:?}");
        assert!(
            (points[7].value - 13.0).abs() < 1e-9,
            "the median of 12.87 and 13.13"
        );
        let marked: Vec<(String, &str)> = history
            .marked()
            .map(|(_, metric, point)| (metric.name(), point.revision.as_str()))
            .collect();
        assert!(
            marked
                .iter()
                .any(|m| m.0 == "frame p50 ms" && m.1 == "rev07abcdef"),
            "{marked:?}"
        );
        assert!(marked.iter().all(|m| m.1 >= "rev07"), "{marked:?}");
        let page = history.to_html(&["broken.json: not JSON".to_owned()]);
        assert!(page.contains("frame p50 ms: stress"), "{page}");
        assert!(
            page.contains(">rev07ab</text>"),
            "revisions shortened as git does"
        );
        assert!(page.contains("class=\"outside\""));
        assert!(page.contains("skipped broken.json: not JSON"));
        assert!(!page.contains("<script"));
    }

    /// Noise within 3% never marks a point, and the upload and overlay phases a headless
    /// capture does not run get no trend.
    #[test]
    fn a_steady_series_is_not_marked() {
        let mut captures = stepped_folder();
        captures.retain(|c| {
            c.environment
                .git_revision
                .as_deref()
                .is_some_and(|r| r < "rev07")
        });
        let history = History::of(&captures);
        assert_eq!(history.marked().count(), 0);
        let metrics: Vec<String> = history.series[0]
            .metrics
            .iter()
            .map(|(metric, _)| metric.name())
            .collect();
        assert_eq!(
            metrics,
            [
                "frame p50 ms",
                "frame p95 ms",
                "simulate p50 ms",
                "pack p50 ms",
                "allocations per frame",
                "peak live heap MB"
            ]
        );
    }

    /// A capture without a commit time (made before captures recorded it) is left off a
    /// series of timed revisions and named, not drawn as the newest (its 30 ms would be
    /// a step); where no revision has a time, the captures' order is kept and said.
    #[test]
    fn revisions_without_a_commit_time_are_left_off_and_named() {
        let mut captures = stepped_folder();
        let mut older = sample_capture(&[30.0; 20]);
        older.environment.git_revision = Some("olderrevabcdef".into());
        captures.push(older);
        // A capture of a timed revision that lacks the time, read first: the revision
        // keeps the time its other captures give.
        let mut same_revision = captures[0].clone();
        same_revision.environment.commit_time = None;
        captures.insert(0, same_revision);
        let history = History::of(&captures);
        let series = &history.series[0];
        assert_eq!(history.series.len(), 1, "the same run on the same machine");
        assert!(series.by_commit_time);
        assert_eq!(series.untimed, ["olderrevabcdef"]);
        let (_, points) = &series.metrics[0];
        assert_eq!(points.len(), 10);
        assert_eq!(points[9].revision, "rev09abcdef", "the newest commit last");
        let page = history.to_html(&[]);
        assert!(page.contains("left off: olderre (no commit time"), "{page}");
        assert!(!page.contains("no commit times here"), "{page}");

        for capture in &mut captures {
            capture.environment.commit_time = None;
        }
        let history = History::of(&captures);
        let series = &history.series[0];
        assert!(!series.by_commit_time);
        assert!(series.untimed.is_empty());
        let revisions: Vec<&str> = series.metrics[0]
            .1
            .iter()
            .map(|p| p.revision.as_str())
            .collect();
        assert_eq!(revisions.len(), 11);
        assert_eq!(
            [revisions[0], revisions[10]],
            ["rev09abcdef", "olderrevabcdef"],
            "as the captures came"
        );
        assert!(history.to_html(&[]).contains("no commit times here"));
    }

    #[test]
    fn machines_and_runs_make_separate_series() {
        let mut captures = stepped_folder();
        captures[0].environment.cpu_model = Some("another CPU".into());
        captures[1].settings.headless = false;
        let history = History::of(&captures);
        assert_eq!(history.series.len(), 3);
        assert!(
            history
                .series
                .iter()
                .any(|s| s.machine.starts_with("another CPU"))
        );
        assert!(history.series.iter().any(|s| s.run.contains("rendered")));
    }
}
