//! Each frame and its phases as User Timing measures on sparkbench's own track group in
//! the browser's Performance panel (Chrome's `detail.devtools` extensibility fields; other
//! browsers list them as plain measures): `sparkbench frame` on the `frames` track, with
//! the frame's number, time, live heap, allocations and particles as properties, and a
//! measure per phase that ran (`sparkbench simulate`, `sparkbench pack`, `sparkbench
//! upload`, `sparkbench overlay`) on a track of its own, at the phase's first start in the
//! frame and as long as it took in all, with its frame's number and allocations. The page reads them back with
//! `performance.getEntriesByType('measure')`.
//!
//! The browser keeps every measure until it is cleared, so every [`FRAMES_KEPT`] frames the
//! track's measures are cleared; a recording in the Performance panel keeps them.

use bevy::platform::time::Instant;
use bevy::prelude::*;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use super::{FrameStats, MemoryStats, PerfSystems, Phase, PhaseTimes};
use crate::sim::ParticlePool;

/// Frames whose measures the browser holds at most before they are cleared.
const FRAMES_KEPT: u64 = 600;

/// The track group every measure is on.
const TRACK_GROUP: &str = "sparkbench";

/// The measure names: the frame's, then each phase's in [`Phase::ALL`] order.
const FRAME_NAME: &str = "sparkbench frame";
const PHASE_NAMES: [&str; Phase::ALL.len()] = [
    "sparkbench simulate",
    "sparkbench pack",
    "sparkbench upload",
    "sparkbench overlay",
];

pub(super) fn plugin(app: &mut App) {
    app.add_systems(First, measure_last_frame.after(PerfSystems));
}

/// Where the wall clock's [`Instant`]s fall on `performance.now()`'s clock: one reading of
/// both, taken once, so that every measure is placed from `Instant`s alone and a frame ends
/// exactly where the next begins (two readings a frame would differ by a clock tick).
#[derive(Clone, Copy)]
struct ClockAnchor {
    instant: Instant,
    performance_ms: f64,
}

impl ClockAnchor {
    /// `at` on `performance.now()`'s clock, in milliseconds.
    fn place(self, at: Instant) -> f64 {
        self.performance_ms + super::phases::signed_ms(at, self.instant)
    }
}

/// Adds the frame that just closed, and its phases, to the Performance panel.
fn measure_last_frame(
    stats: Res<FrameStats>,
    phases: Res<PhaseTimes>,
    memory: Res<MemoryStats>,
    pool: Option<Res<ParticlePool>>,
    mut anchor: Local<Option<ClockAnchor>>,
) {
    let (Some(performance), Some(started)) = (
        web_sys::window().and_then(|window| window.performance()),
        stats.started,
    ) else {
        return;
    };
    if stats.frames == 0 {
        return; // the first update closes no frame
    }
    if stats.frames.is_multiple_of(FRAMES_KEPT) {
        for name in core::iter::once(FRAME_NAME).chain(PHASE_NAMES) {
            performance.clear_measures_with_measure_name(name);
        }
    }
    let anchor = *anchor.get_or_insert_with(|| ClockAnchor {
        instant: Instant::now(),
        performance_ms: performance.now(),
    });
    // The closed frame ended when this one started.
    let frame_start = anchor.place(started) - stats.frame_ms;
    let frame = decimal(stats.frames as f64, 0);
    let properties = [
        ("frame", frame.clone()),
        ("ms", decimal(stats.frame_ms, 2)),
        ("live heap MB", decimal(memory.live_bytes as f64 / 1e6, 2)),
        (
            "allocations",
            decimal(memory.allocations_per_frame as f64, 0),
        ),
        (
            "particles",
            decimal(pool.map_or(0, |pool| pool.len()) as f64, 0),
        ),
    ];
    measure(
        &performance,
        FRAME_NAME,
        frame_start,
        stats.frame_ms,
        "frames",
        &properties,
    );
    for (phase, name) in Phase::ALL.into_iter().zip(PHASE_NAMES) {
        if let Some(start_ms) = phases.last_start_ms(phase) {
            let properties = [
                ("frame", frame.clone()),
                (
                    "allocations",
                    decimal(phases.last_allocations(phase) as f64, 0),
                ),
            ];
            let ms = phases.last_ms(phase);
            measure(
                &performance,
                name,
                frame_start + start_ms,
                ms,
                phase.name(),
                &properties,
            );
        }
    }
}

/// `value` with `digits` decimals, as a JavaScript string (made in JavaScript: the
/// instrument adds no allocation of its own to the frames it measures).
fn decimal(value: f64, digits: u8) -> JsValue {
    js_sys::Number::from(value)
        .to_fixed(digits)
        .map_or(JsValue::NULL, JsValue::from)
}

/// `performance.measure(name, {start, duration, detail: {devtools: ...}})` on `track` in
/// sparkbench's group, with `properties` shown beside it. Called through `Reflect`: web-sys
/// binds the options form only behind `web_sys_unstable_apis`. A browser that refuses it
/// shows nothing, which is all that is lost.
fn measure(
    performance: &web_sys::Performance,
    name: &str,
    start_ms: f64,
    duration_ms: f64,
    track: &str,
    properties: &[(&str, JsValue)],
) {
    let rows: Array = properties
        .iter()
        .map(|(key, value)| Array::of2(&JsValue::from_str(key), value))
        .collect();
    let devtools = object(&[
        ("dataType", JsValue::from_str("track-entry")),
        ("track", JsValue::from_str(track)),
        ("trackGroup", JsValue::from_str(TRACK_GROUP)),
        ("color", JsValue::from_str("primary")),
        ("properties", rows.into()),
    ]);
    let options = object(&[
        ("start", JsValue::from_f64(start_ms)),
        ("duration", JsValue::from_f64(duration_ms)),
        ("detail", object(&[("devtools", devtools)])),
    ]);
    if let Ok(measure) = Reflect::get(performance, &JsValue::from_str("measure")) {
        let measure = js_sys::Function::from(measure);
        let _ = measure.call2(performance, &JsValue::from_str(name), &options);
    }
}

/// A plain object with `fields`.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}
