//! One self-contained HTML page (inline SVG, no scripts, no network) that shows captures
//! side by side: frame times against the budget, where the time goes, live heap over time
//! and the summary. Charts of the same kind share one scale, so a slower capture looks
//! taller.

use std::fmt::Write as _;

use super::capacity::Capacity;
use super::file::CaptureFile;
use crate::perf::Phase;

const WIDTH: f64 = 460.0;
const FRAME_HEIGHT: f64 = 160.0;
const BAR_HEIGHT: f64 = 26.0;
const MEMORY_HEIGHT: f64 = 90.0;
const CAPACITY_HEIGHT: f64 = 150.0;
const PHASE_COLOURS: [&str; 4] = ["#5096e6", "#aa6edc", "#3cbebe", "#dc78aa"];
const REST_COLOUR: &str = "#6e6e6e";

/// The report for `captures`, each under its `names` entry (usually the file name).
#[must_use]
pub fn html(captures: &[CaptureFile], names: &[String]) -> String {
    let frame_top = captures
        .iter()
        .flat_map(|c| c.samples.iter().map(|s| s.frame_ms))
        .chain(captures.iter().map(|c| c.settings.budget_ms * 1.5))
        .fold(0.0, f64::max);
    let live_top = captures
        .iter()
        .map(|c| c.summary.peak_live_bytes)
        .max()
        .unwrap_or(1)
        .max(1);
    let bar_top = captures
        .iter()
        .map(|c| c.summary.p50_ms.max(c.settings.budget_ms))
        .fold(0.0, f64::max);
    let mut page = String::from(concat!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>sparkbench captures</title><style>",
        "body{font:14px system-ui,sans-serif;background:#17171b;color:#ddd;margin:24px}",
        ".grid{display:flex;gap:32px;flex-wrap:wrap}.capture{width:480px}",
        "h1{font-size:20px}h2{font-size:16px;margin:4px 0}h3{font-size:13px;color:#aaa;margin:14px 0 4px}",
        "table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:right}",
        "td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#222228}",
        "svg{background:#1e1e24;display:block}.over{color:#e65046}.ok{color:#5ac86e}",
        "</style></head><body><h1>sparkbench captures</h1><div class=\"grid\">\n"
    ));
    for (capture, name) in captures.iter().zip(names) {
        page += "<section class=\"capture\">";
        let _ = write!(page, "<h2>{}</h2>", escape(name));
        let s = &capture.settings;
        let e = &capture.environment;
        let _ = write!(
            page,
            "<div>{} · {} particles · seed {} · {} ({}) · {}</div><div>{} {} · {} · {} · sparkbench {} {}</div>",
            escape(&s.scenario),
            s.particles,
            s.seed,
            escape(&s.backend),
            escape(&e.simd_backend),
            if s.headless { "headless" } else { "rendered" },
            escape(&e.os),
            escape(&e.arch),
            escape(e.cpu_model.as_deref().unwrap_or("unknown CPU")),
            escape(&e.build_profile),
            escape(&e.sparkbench_version),
            escape(e.git_revision.as_deref().unwrap_or("")),
        );
        page += "<h3>frame time (ms) against the budget</h3>";
        page += &frame_chart(capture, frame_top);
        page += "<h3>where the time goes (median ms per frame)</h3>";
        page += &phase_chart(capture, bar_top);
        page += "<h3>live heap over the frames</h3>";
        page += &memory_chart(capture, live_top);
        if let Some(capacity) = &capture.capacity {
            page += "<h3>capacity: p95 frame time (ms) against particles</h3>";
            page += &capacity_chart(capacity);
            let _ = write!(page, "<div>{}</div>", escape(&capacity.describe()));
        }
        page += "<h3>summary</h3>";
        page += &summary_table(capture);
        page += "</section>\n";
    }
    page += "</div></body></html>\n";
    page
}

/// `text` with HTML's special characters escaped.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar per frame, red when over the budget, and the budget as a dashed line.
fn frame_chart(capture: &CaptureFile, top_ms: f64) -> String {
    let budget = capture.settings.budget_ms;
    let step = WIDTH / capture.samples.len().max(1) as f64;
    let y = |ms: f64| FRAME_HEIGHT - ms / top_ms * (FRAME_HEIGHT - 4.0);
    let mut svg = format!("<svg width=\"{WIDTH}\" height=\"{FRAME_HEIGHT}\" role=\"img\">");
    for (index, sample) in capture.samples.iter().enumerate() {
        let colour = if sample.frame_ms > budget {
            "#e65046"
        } else {
            "#5ac86e"
        };
        let x = index as f64 * step;
        let _ = write!(
            svg,
            "<rect x=\"{x:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{colour}\"/>",
            y(sample.frame_ms),
            step.max(0.5),
            FRAME_HEIGHT - y(sample.frame_ms)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"0\" x2=\"{WIDTH}\" y1=\"{0:.2}\" y2=\"{0:.2}\" stroke=\"#eee\" stroke-dasharray=\"5 3\"/>\
         <text x=\"{1}\" y=\"{2:.2}\" fill=\"#eee\" font-size=\"11\" text-anchor=\"end\">budget {budget:.2} ms</text>\
         <text x=\"4\" y=\"12\" fill=\"#aaa\" font-size=\"11\">{top_ms:.1} ms</text></svg>",
        y(budget),
        WIDTH - 4.0,
        y(budget) - 3.0,
    );
    svg
}

/// The phases' medians and the rest of the median frame, stacked, with the budget marked.
fn phase_chart(capture: &CaptureFile, top_ms: f64) -> String {
    let phase_ms = capture.summary.phase_p50_ms;
    let rest = (capture.summary.p50_ms - phase_ms.iter().sum::<f64>()).max(0.0);
    let scale = WIDTH / top_ms.max(1e-9);
    let mut svg = format!(
        "<svg width=\"{WIDTH}\" height=\"{}\" role=\"img\">",
        BAR_HEIGHT + 18.0
    );
    let mut x = 0.0;
    let parts = Phase::ALL
        .iter()
        .map(|phase| phase.name())
        .zip(phase_ms)
        .zip(PHASE_COLOURS)
        .chain([(("rest of frame", rest), REST_COLOUR)]);
    let mut legend = String::new();
    for ((name, ms), colour) in parts {
        let _ = write!(
            svg,
            "<rect x=\"{x:.2}\" y=\"0\" width=\"{:.2}\" height=\"{BAR_HEIGHT}\" fill=\"{colour}\"><title>{name} {ms:.3} ms</title></rect>",
            ms * scale
        );
        x += ms * scale;
        if ms <= 0.0 {
            // Not measured in this capture (upload and overlay in a headless one).
            continue;
        }
        let _ = write!(
            legend,
            "<span style=\"color:{colour}\">■</span> {name} {ms:.3} ms ({:.1}%) ",
            ms / capture.settings.budget_ms * 100.0
        );
    }
    let budget_x = capture.settings.budget_ms * scale;
    let _ = write!(
        svg,
        "<line x1=\"{budget_x:.2}\" x2=\"{budget_x:.2}\" y1=\"0\" y2=\"{}\" stroke=\"#eee\" stroke-width=\"2\"/>\
         <text x=\"{budget_x:.2}\" y=\"{}\" fill=\"#eee\" font-size=\"11\" text-anchor=\"end\">budget</text></svg>",
        BAR_HEIGHT + 4.0,
        BAR_HEIGHT + 15.0
    );
    svg + "<div style=\"font-size:12px\">" + &legend + "</div>"
}

/// Each window of a capacity search as a point (log particles across, p95 up), the budget
/// (or a display-paced search's limit) as a dashed line, and the score with its interval
/// as a band.
fn capacity_chart(capacity: &Capacity) -> String {
    let limit_ms = capacity.window_limit_ms();
    let limit_label = match capacity.limit_ms {
        Some(limit) => format!(
            "limit {limit:.2} ms: budget {:.2} + half a refresh",
            capacity.budget_ms
        ),
        None => format!("budget {:.2} ms", capacity.budget_ms),
    };
    let counts = || {
        capacity
            .curve
            .iter()
            .map(|probe| f64::from(probe.particles))
    };
    let least = counts().fold(f64::from(capacity.low), f64::min).max(1.0);
    let most = counts().fold(f64::from(capacity.high), f64::max);
    let (left, right) = (least.ln() - 0.1, most.ln() + 0.1);
    let top_ms = capacity
        .curve
        .iter()
        .map(|probe| probe.p95_ms)
        .fold(limit_ms * 1.5, f64::max);
    let x = |count: f64| (count.max(1.0).ln() - left) / (right - left) * (WIDTH - 8.0) + 4.0;
    let y = |ms: f64| CAPACITY_HEIGHT - 14.0 - ms / top_ms * (CAPACITY_HEIGHT - 30.0);
    let mut svg = format!("<svg width=\"{WIDTH}\" height=\"{CAPACITY_HEIGHT}\" role=\"img\">");
    let (band_left, band_right) = (x(f64::from(capacity.low)), x(f64::from(capacity.high)));
    let _ = write!(
        svg,
        "<rect x=\"{band_left:.2}\" y=\"0\" width=\"{0:.2}\" height=\"{CAPACITY_HEIGHT}\" fill=\"#5096e6\" opacity=\"0.3\"><title>95% interval {1}..{2}</title></rect>\
         <line x1=\"{3:.2}\" x2=\"{3:.2}\" y1=\"0\" y2=\"{CAPACITY_HEIGHT}\" stroke=\"#5096e6\" stroke-width=\"2\"/>",
        (band_right - band_left).max(1.0),
        capacity.low,
        capacity.high,
        x(f64::from(capacity.particles)),
    );
    for probe in &capacity.curve {
        let colour = if probe.p95_ms > limit_ms {
            "#e65046"
        } else {
            "#5ac86e"
        };
        let _ = write!(
            svg,
            "<circle class=\"probe\" cx=\"{:.2}\" cy=\"{:.2}\" r=\"3\" fill=\"{colour}\"><title>{} particles: p95 {:.3} ms</title></circle>",
            x(f64::from(probe.particles)),
            y(probe.p95_ms),
            probe.particles,
            probe.p95_ms
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"0\" x2=\"{WIDTH}\" y1=\"{0:.2}\" y2=\"{0:.2}\" stroke=\"#eee\" stroke-dasharray=\"5 3\"/>\
         <text x=\"4\" y=\"{1:.2}\" fill=\"#eee\" font-size=\"11\">{2}</text>\
         <text x=\"4\" y=\"{3}\" fill=\"#aaa\" font-size=\"11\">{4:.0}</text>\
         <text x=\"{5}\" y=\"{3}\" fill=\"#aaa\" font-size=\"11\" text-anchor=\"end\">{6:.0} particles</text></svg>",
        y(limit_ms),
        y(limit_ms) - 3.0,
        escape(&limit_label),
        CAPACITY_HEIGHT - 2.0,
        least,
        WIDTH - 4.0,
        most,
    );
    svg
}

/// Live heap bytes at the end of each frame, as a line from zero to the largest of all.
fn memory_chart(capture: &CaptureFile, top_bytes: u64) -> String {
    let step = WIDTH / capture.samples.len().saturating_sub(1).max(1) as f64;
    let points: Vec<String> = capture
        .samples
        .iter()
        .enumerate()
        .map(|(index, sample)| {
            let y = MEMORY_HEIGHT
                - 2.0
                - sample.live_bytes as f64 / top_bytes as f64 * (MEMORY_HEIGHT - 16.0);
            format!("{:.2},{y:.2}", index as f64 * step)
        })
        .collect();
    let top_mb = top_bytes as f64 / 1.0e6;
    format!(
        "<svg width=\"{WIDTH}\" height=\"{MEMORY_HEIGHT}\" role=\"img\"><polyline fill=\"none\" stroke=\"#5ac86e\" stroke-width=\"1.5\" points=\"{}\"/>\
         <text x=\"4\" y=\"12\" fill=\"#aaa\" font-size=\"11\">{top_mb:.2} MB</text></svg>",
        points.join(" ")
    )
}

fn summary_table(capture: &CaptureFile) -> String {
    let s = &capture.summary;
    let over = |ms: f64| {
        if ms > capture.settings.budget_ms {
            "over"
        } else {
            "ok"
        }
    };
    let mut table = String::from("<table><tr><th>metric</th><th>value</th></tr>");
    for (name, ms) in [
        ("mean frame", s.mean_ms),
        ("p50 frame", s.p50_ms),
        ("p95 frame", s.p95_ms),
        ("p99 frame", s.p99_ms),
        ("slowest frame", s.max_ms),
    ] {
        let _ = write!(
            table,
            "<tr><td>{name}</td><td class=\"{}\">{ms:.3} ms</td></tr>",
            over(ms)
        );
    }
    let rows = [
        (
            "frames over budget",
            format!("{} of {}", s.hitches, capture.samples.len()),
        ),
        (
            "allocations per frame",
            format!("{:.1}", s.allocations_per_frame),
        ),
        (
            "peak live heap",
            format!("{:.2} MB", s.peak_live_bytes as f64 / 1.0e6),
        ),
        ("state checksum", capture.checksum.clone()),
    ];
    for (name, value) in rows {
        let _ = write!(table, "<tr><td>{name}</td><td>{}</td></tr>", escape(&value));
    }
    table + "</table>"
}

#[cfg(test)]
mod tests {
    use super::super::file::tests::sample_capture;
    use super::*;

    #[test]
    fn the_report_holds_every_capture_with_its_charts() {
        let fast = sample_capture(&[10.0; 30]);
        let slow = sample_capture(&[20.0; 30]);
        let page = html(&[fast, slow], &["base.json".into(), "new <1>.json".into()]);
        assert!(page.starts_with("<!doctype html>"));
        assert_eq!(page.matches("<section").count(), 2);
        assert!(page.contains("new &lt;1&gt;.json"), "names are escaped");
        assert_eq!(page.matches("budget 16.67 ms").count(), 2);
        assert_eq!(
            page.matches("fill=\"#e65046\"").count(),
            30,
            "the slow frames are red"
        );
        assert!(!page.contains("<script"), "self-contained, no scripts");
        assert!(!page.contains("capacity:"), "no search, no capacity plot");
    }

    #[test]
    fn a_capacity_capture_plots_its_curve_and_score() {
        let mut capture = sample_capture(&[10.0; 30]);
        let capacity = super::super::capacity::tests::sample_capacity();
        capture.capacity = Some(capacity.clone());
        let page = html(&[capture], &["capacity.json".into()]);
        assert!(page.contains("capacity: p95 frame time"));
        assert_eq!(
            page.matches("class=\"probe\"").count(),
            capacity.curve.len(),
            "one point per window"
        );
        assert!(page.contains("95% interval 620800..659200"), "{page}");
        assert!(page.contains("holds 640000 particles"));
    }

    /// A display-paced search's windows are judged against its limit: against a budget
    /// of 12 ms and a limit of 20 ms, the window of 16.0 ms is green and only the one of
    /// 31.0 ms red.
    #[test]
    fn a_display_paced_search_is_drawn_against_its_limit() {
        let capacity = Capacity {
            budget_ms: 12.0,
            limit_ms: Some(20.0),
            ..super::super::capacity::tests::sample_capacity()
        };
        let chart = capacity_chart(&capacity);
        assert!(
            chart.contains("limit 20.00 ms: budget 12.00 + half a refresh"),
            "{chart}"
        );
        assert_eq!(
            chart.matches("fill=\"#e65046\"><title>").count(),
            1,
            "{chart}"
        );
    }
}
