//! The overlay's small charts, painted with egui's painter: frame times against the
//! budget, where the frame's time goes, and live heap bytes over time.

use bevy_egui::egui::{self, Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

/// Width of every chart, in points.
pub const CHART_WIDTH: f32 = 300.0;

/// Green: well inside the budget.
pub const GREEN: Color32 = Color32::from_rgb(90, 200, 110);
/// Amber: close to the budget.
pub const AMBER: Color32 = Color32::from_rgb(230, 170, 60);
/// Red: over the budget.
pub const RED: Color32 = Color32::from_rgb(230, 80, 70);
const BACKGROUND: Color32 = Color32::from_rgb(24, 24, 28);
const BUDGET_LINE: Color32 = Color32::from_rgb(235, 235, 235);
const LABEL: Color32 = Color32::from_rgb(200, 200, 200);

/// The colour of something that used `fraction` of the budget: green up to half, blending
/// to amber at the full budget, red beyond it.
#[must_use]
pub fn budget_colour(fraction: f64) -> Color32 {
    if fraction > 1.0 {
        RED
    } else if fraction <= 0.5 {
        GREEN
    } else {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a share of the budget, 0 to 1"
        )]
        let t = ((fraction - 0.5) * 2.0) as f32;
        GREEN.lerp_to_gamma(AMBER, t)
    }
}

/// One bar per frame (oldest on the left) of `frame_ms` milliseconds, coloured by how much
/// of `budget_ms` it used, with the budget drawn as a line. The vertical scale is twice the
/// budget, or `slowest_ms` (the slowest frame shown) when that is longer (labelled top left).
pub fn frame_graph(
    ui: &mut egui::Ui,
    frame_ms: impl ExactSizeIterator<Item = f64>,
    slowest_ms: f64,
    slots: usize,
    budget_ms: f64,
) {
    let (response, painter) = ui.allocate_painter(Vec2::new(CHART_WIDTH, 64.0), Sense::hover());
    let area = response.rect;
    painter.rect_filled(area, 2.0, BACKGROUND);
    let top_ms = slowest_ms.max(budget_ms * 2.0);
    let bar_width = CHART_WIDTH / slots.max(1) as f32;
    let first_slot = slots.saturating_sub(frame_ms.len());
    for (index, ms) in frame_ms.enumerate() {
        let left = area.left() + (first_slot + index) as f32 * bar_width;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a share of the graph, 0 to 1"
        )]
        let height = ((ms / top_ms).min(1.0) as f32) * area.height();
        let bar = Rect::from_min_max(
            Pos2::new(left, area.bottom() - height),
            Pos2::new(left + bar_width.max(1.0), area.bottom()),
        );
        painter.rect_filled(bar, 0.0, budget_colour(ms / budget_ms));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a share of the graph's height"
    )]
    let budget_y = area.bottom() - (budget_ms / top_ms) as f32 * area.height();
    painter.hline(area.x_range(), budget_y, Stroke::new(1.0, BUDGET_LINE));
    painter.text(
        Pos2::new(area.right() - 2.0, budget_y - 1.0),
        Align2::RIGHT_BOTTOM,
        format!("budget {budget_ms:.2} ms"),
        FontId::proportional(10.0),
        LABEL,
    );
    painter.text(
        area.left_top() + Vec2::new(3.0, 1.0),
        Align2::LEFT_TOP,
        format!("{top_ms:.1} ms"),
        FontId::proportional(10.0),
        LABEL,
    );
}

/// A part of the frame in the phase bar.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Its name in the legend.
    pub name: &'static str,
    /// Milliseconds per frame.
    pub ms: f64,
    /// Its colour in the bar and the legend.
    pub colour: Color32,
}

/// The segments side by side on a bar whose full width is the larger of the budget and
/// their sum, with a tick where the budget ends.
pub fn phase_bar(ui: &mut egui::Ui, segments: &[Segment], budget_ms: f64) {
    let (response, painter) = ui.allocate_painter(Vec2::new(CHART_WIDTH, 14.0), Sense::hover());
    let area = response.rect;
    painter.rect_filled(area, 2.0, BACKGROUND);
    let total_ms: f64 = segments.iter().map(|segment| segment.ms).sum();
    let full_ms = total_ms.max(budget_ms);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a share of the bar's width"
    )]
    let x_of = |ms: f64| area.left() + (ms / full_ms) as f32 * area.width();
    let mut start_ms = 0.0;
    for segment in segments {
        let span = Rect::from_min_max(
            Pos2::new(x_of(start_ms), area.top()),
            Pos2::new(x_of(start_ms + segment.ms), area.bottom()),
        );
        painter.rect_filled(span, 0.0, segment.colour);
        start_ms += segment.ms;
    }
    let budget_x = x_of(budget_ms);
    painter.line_segment(
        [
            Pos2::new(budget_x, area.top() - 2.0),
            Pos2::new(budget_x, area.bottom() + 2.0),
        ],
        Stroke::new(2.0, BUDGET_LINE),
    );
}

/// A small square of `colour` for a legend.
pub fn swatch(ui: &mut egui::Ui, colour: Color32) {
    let (response, painter) = ui.allocate_painter(Vec2::splat(10.0), Sense::hover());
    painter.rect_filled(response.rect, 1.0, colour);
}

/// Live heap bytes over the last frames (oldest on the left) as a line, scaled from zero to
/// the largest value shown, which is labelled.
pub fn live_graph(ui: &mut egui::Ui, live_bytes: &[usize], slots: usize) {
    let (response, painter) = ui.allocate_painter(Vec2::new(CHART_WIDTH, 36.0), Sense::hover());
    let area = response.rect;
    painter.rect_filled(area, 2.0, BACKGROUND);
    let Some(&largest) = live_bytes.iter().max() else {
        return;
    };
    let step = CHART_WIDTH / slots.max(2).saturating_sub(1) as f32;
    let first_slot = slots.saturating_sub(live_bytes.len());
    let points: Vec<Pos2> = live_bytes
        .iter()
        .enumerate()
        .map(|(index, &bytes)| {
            let height = bytes as f32 / largest.max(1) as f32 * (area.height() - 4.0);
            Pos2::new(
                area.left() + (first_slot + index) as f32 * step,
                area.bottom() - 2.0 - height,
            )
        })
        .collect();
    painter.add(egui::Shape::line(points, Stroke::new(1.5, GREEN)));
    painter.text(
        area.left_top() + Vec2::new(3.0, 1.0),
        Align2::LEFT_TOP,
        format!("{:.1} MB", largest as f64 / 1.0e6),
        FontId::proportional(10.0),
        LABEL,
    );
}
