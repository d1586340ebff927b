//! How long the page took to start, from User Timing marks: the loader marks the download,
//! the compile, the instantiation and the app's start (`web/loader.js`), the render world
//! marks the first frame that draws particles, and the main world reads the marks once that
//! one exists, adds a `performance.measure` per step and keeps the figures as
//! [`StartupTimes`] for the overlay, `stats()` and captures.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

/// The marks, in the order a page start passes them; each step of [`StartupTimes::steps`]
/// ends at one.
const STARTUP_MARKS: [&str; 6] = [
    "sparkbench:download-start",
    "sparkbench:downloaded",
    "sparkbench:compiled",
    "sparkbench:instantiated",
    "sparkbench:app-started",
    "sparkbench:first-frame",
];

/// When the page reached each of its start-up marks (`sparkbench:download-start`,
/// `sparkbench:downloaded`, `sparkbench:compiled`, `sparkbench:instantiated`,
/// `sparkbench:app-started`, `sparkbench:first-frame`), in milliseconds since navigation
/// started. Only in the browser, from the first frame drawn on.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartupTimes {
    /// The wasm's download started (the page and loader were fetched and the browser checked).
    pub download_start_ms: f64,
    /// The last byte of the wasm arrived.
    pub downloaded_ms: f64,
    /// The module finished compiling (it compiles while it downloads).
    pub compiled_ms: f64,
    /// The module was instantiated, and the kernel workers, if any, started on it.
    pub instantiated_ms: f64,
    /// The app was built and its event loop started.
    pub app_started_ms: f64,
    /// The first frame that drew particles was recorded.
    pub first_frame_ms: f64,
}

impl StartupTimes {
    /// The marks' times in their order, or `None` when one comes before the mark it follows
    /// (or is not a finite, non-negative time).
    #[must_use]
    pub fn from_marks(ms: [f64; STARTUP_MARKS.len()]) -> Option<Self> {
        let ordered = ms[0].is_finite()
            && ms[0] >= 0.0
            && ms
                .windows(2)
                .all(|pair| pair[1].is_finite() && pair[1] >= pair[0]);
        ordered.then_some(Self {
            download_start_ms: ms[0],
            downloaded_ms: ms[1],
            compiled_ms: ms[2],
            instantiated_ms: ms[3],
            app_started_ms: ms[4],
            first_frame_ms: ms[5],
        })
    }

    /// Navigation to the first frame drawn, in milliseconds.
    #[must_use]
    pub fn total_ms(&self) -> f64 {
        self.first_frame_ms
    }

    /// Each step's name and milliseconds, from the mark before it (navigation for the
    /// first): they add up to [`Self::total_ms`].
    #[must_use]
    pub fn steps(&self) -> [(&'static str, f64); STARTUP_MARKS.len()] {
        [
            ("page", self.download_start_ms),
            ("download", self.downloaded_ms - self.download_start_ms),
            ("compile", self.compiled_ms - self.downloaded_ms),
            ("instantiate", self.instantiated_ms - self.compiled_ms),
            ("app start", self.app_started_ms - self.instantiated_ms),
            ("first frame", self.first_frame_ms - self.app_started_ms),
        ]
    }
}

#[cfg(target_arch = "wasm32")]
pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Last,
        read_startup_marks.run_if(
            |drawn: Res<super::RenderMeasurements>, mut read: Local<bool>| {
                drawn.drawn() && !std::mem::replace(&mut *read, true)
            },
        ),
    );
}

#[cfg(not(target_arch = "wasm32"))]
pub(super) fn plugin(_app: &mut App) {}

/// Marks the first frame that draws particles ([`super::RenderMeasurements::record_draw`]).
#[cfg(target_arch = "wasm32")]
pub(super) fn mark_first_frame() {
    // A failed mark leaves the start-up figures unread: nothing shown, nothing wrong.
    let _ = performance().map(|performance| performance.mark(STARTUP_MARKS[5]));
}

#[cfg(target_arch = "wasm32")]
fn performance() -> Option<web_sys::Performance> {
    web_sys::window().and_then(|window| window.performance())
}

/// Once, after the first frame drew: keeps the marks' times as [`StartupTimes`] and adds a
/// `performance.measure` per step, named `sparkbench: <step>`, for the browser's profiler.
/// A page started without the loader (no marks) has no start-up times.
#[cfg(target_arch = "wasm32")]
fn read_startup_marks(mut commands: Commands) {
    let Some(performance) = performance() else {
        return;
    };
    let mut ms = [f64::NAN; STARTUP_MARKS.len()];
    for (time, mark) in ms.iter_mut().zip(STARTUP_MARKS) {
        let entries = performance.get_entries_by_name(mark);
        if entries.length() == 0 {
            return;
        }
        *time = web_sys::PerformanceEntry::from(entries.get(0)).start_time();
    }
    let Some(times) = StartupTimes::from_marks(ms) else {
        web_sys::console::warn_1(
            &format!("sparkbench: start-up marks out of order: {ms:?}").into(),
        );
        return;
    };
    for ((name, _), pair) in times.steps().iter().skip(1).zip(STARTUP_MARKS.windows(2)) {
        let _ = performance.measure_with_start_mark_and_end_mark(
            &format!("sparkbench: {name}"),
            pair[0],
            pair[1],
        );
    }
    commands.insert_resource(times);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKS: [f64; 6] = [120.0, 480.0, 530.0, 610.0, 700.0, 1150.0];

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "whole milliseconds, which f64 adds and subtracts exactly"
    )]
    fn steps_run_from_mark_to_mark_and_add_up_to_the_total() {
        let times = StartupTimes::from_marks(MARKS).unwrap();
        assert_eq!(
            times.steps(),
            [
                ("page", 120.0),
                ("download", 360.0),
                ("compile", 50.0),
                ("instantiate", 80.0),
                ("app start", 90.0),
                ("first frame", 450.0),
            ]
        );
        assert_eq!(times.total_ms(), 1150.0);
        assert_eq!(times.steps().iter().map(|(_, ms)| ms).sum::<f64>(), 1150.0);
    }

    #[test]
    fn marks_out_of_order_or_not_times_are_refused() {
        let mut early = MARKS;
        early[3] = 500.0;
        assert_eq!(StartupTimes::from_marks(early), None);
        let mut missing = MARKS;
        missing[5] = f64::NAN;
        assert_eq!(StartupTimes::from_marks(missing), None);
        let mut negative = MARKS;
        negative[0] = -1.0;
        assert_eq!(StartupTimes::from_marks(negative), None);
        let mut equal = MARKS;
        equal[2] = equal[1];
        assert!(
            StartupTimes::from_marks(equal).is_some(),
            "a step may take no time"
        );
    }
}
