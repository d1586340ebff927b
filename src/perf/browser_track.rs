//! Each frame and its phases as User Timing measures on sparkbench's own track group in
//! the browser's Performance panel (Chrome's `detail.devtools` extensibility fields; other
//! browsers list them as plain measures): `sparkbench frame` on the `frames` track, with
//! the frame's live heap, allocations and particles as properties, and a measure per phase
//! that ran (`sparkbench simulate`, `sparkbench pack`, `sparkbench upload`,
//! `sparkbench overlay`) on a track of its own, at the phase's first start in the frame and
//! as long as it took in all. The page reads them back with
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

/// Adds the frame that just closed, and its phases, to the Performance panel.
fn measure_last_frame(
    stats: Res<FrameStats>,
    phases: Res<PhaseTimes>,
    memory: Res<MemoryStats>,
    pool: Option<Res<ParticlePool>>,
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
    // The closed frame ended when this one started: place it on performance.now()'s clock.
    let frame_end =
        performance.now() - Instant::now().duration_since(started).as_secs_f64() * 1000.0;
    let frame_start = frame_end - stats.frame_ms;
    let properties = [
        ("frame", format!("{:.2} ms", stats.frame_ms)),
        (
            "live heap",
            format!("{:.2} MB", memory.live_bytes as f64 / 1e6),
        ),
        ("allocations", memory.allocations_per_frame.to_string()),
        ("particles", pool.map_or(0, |pool| pool.len()).to_string()),
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
            let ms = phases.last_ms(phase);
            let properties = [("allocations", phases.last_allocations(phase).to_string())];
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

/// `performance.measure(name, {start, duration, detail: {devtools: ...}})` on `track` in
/// sparkbench's group, with `properties` shown beside it. A browser that refuses it (no
/// options form) shows nothing, which is all that is lost.
fn measure(
    performance: &web_sys::Performance,
    name: &str,
    start_ms: f64,
    duration_ms: f64,
    track: &str,
    properties: &[(&str, String)],
) {
    let rows: Array = properties
        .iter()
        .map(|(key, value)| Array::of2(&JsValue::from_str(key), &JsValue::from_str(value)))
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
