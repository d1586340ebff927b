//! Each frame and its phases as User Timing measures on sparkbench's own track group in
//! the browser's Performance panel (Chrome's `detail.devtools` extensibility fields; other
//! browsers list them as plain measures): `sparkbench frame` on the `frames` track, with
//! the frame's number, time, live heap, allocations and particles as properties, and a
//! measure per phase that ran (`sparkbench simulate`, `sparkbench pack`, `sparkbench
//! upload`, `sparkbench overlay`) on a track of its own, at the phase's first start in the
//! frame and as long as it took in all, with its frame's number and allocations. The page
//! reads them back with `performance.getEntriesByType('measure')`.
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

/// The measures a frame can add: its own and one per phase (see [`track_of`]).
const ENTRIES: usize = 1 + Phase::ALL.len();

/// The frame's properties, in the order [`measure_last_frame`] gives their values; a
/// phase's are the first and the fourth.
const LABELS: [&str; 5] = ["frame", "ms", "live heap MB", "allocations", "particles"];

pub(super) fn plugin(app: &mut App) {
    if let Some(track) = Track::on_this_page() {
        app.insert_non_send(track)
            .add_systems(First, measure_last_frame.after(PerfSystems));
    }
}

/// The track of each entry: the frame's, then each phase's in [`Phase::ALL`] order. Each
/// entry's measure is named `sparkbench <track>`, except the frame's, `sparkbench frame`.
fn track_of(entry: usize) -> &'static str {
    entry
        .checked_sub(1)
        .map_or("frames", |phase| Phase::ALL[phase].name())
}

/// Everything a measure reuses, made once: each `&str` handed to JavaScript is copied and
/// decoded there, so the per-frame path sets three fields and makes one call per measure.
struct Track {
    performance: web_sys::Performance,
    /// `performance.measure`, called with the options form, which web-sys binds only behind
    /// `web_sys_unstable_apis`.
    measure: js_sys::Function,
    /// Each entry's measure name, for clearing them.
    names: [String; ENTRIES],
    /// Per entry (see [`track_of`]): the name, the options object (`{start, duration,
    /// detail: {devtools}}`, reused: the browser copies `detail` when it is called) and its
    /// `devtools` object, whose `properties` change each time.
    entries: [(JsValue, Object, Object); ENTRIES],
    /// [`LABELS`] as JavaScript strings.
    labels: [JsValue; LABELS.len()],
    /// The keys set per measure: `start`, `duration`, `properties`.
    keys: [JsValue; 3],
    /// Where the wall clock's [`Instant`]s fall on `performance.now()`'s clock: one reading
    /// of both, so that every measure is placed from `Instant`s alone and a frame ends
    /// exactly where the next begins (two readings a frame would differ by a clock tick).
    anchor: (Instant, f64),
}

impl Track {
    /// The page's track, or `None` where there is no `performance.measure`.
    fn on_this_page() -> Option<Self> {
        let performance = web_sys::window()?.performance()?;
        let measure = Reflect::get(&performance, &"measure".into()).ok()?;
        let names: [String; ENTRIES] = core::array::from_fn(|entry| match entry {
            0 => "sparkbench frame".to_owned(),
            _ => format!("sparkbench {}", track_of(entry)),
        });
        let entries = core::array::from_fn(|entry| {
            let devtools = object(&[
                ("dataType", "track-entry".into()),
                ("track", track_of(entry).into()),
                ("trackGroup", "sparkbench".into()),
                ("color", "primary".into()),
            ]);
            let options = object(&[(
                "detail",
                object(&[("devtools", devtools.clone().into())]).into(),
            )]);
            (names[entry].as_str().into(), options, devtools)
        });
        Some(Self {
            anchor: (Instant::now(), performance.now()),
            performance,
            measure: measure.into(),
            names,
            entries,
            labels: LABELS.map(JsValue::from),
            keys: ["start", "duration", "properties"].map(JsValue::from),
        })
    }

    /// `at` on `performance.now()`'s clock, in milliseconds.
    fn place(&self, at: Instant) -> f64 {
        let (instant, performance_ms) = self.anchor;
        performance_ms + super::phases::signed_ms(at, instant)
    }

    /// `performance.measure` of `entry` (see [`track_of`]) from `start_ms` for
    /// `duration_ms`, with `properties` (label index, value) shown beside it. A browser
    /// that refuses it shows nothing, which is all that is lost.
    fn measure(
        &self,
        entry: usize,
        start_ms: f64,
        duration_ms: f64,
        properties: &[(usize, &JsValue)],
    ) {
        let (name, options, devtools) = &self.entries[entry];
        let rows: Array = properties
            .iter()
            .map(|&(label, value)| Array::of2(&self.labels[label], value))
            .collect();
        let [start, duration, properties] = &self.keys;
        let _ = Reflect::set(options, start, &start_ms.into());
        let _ = Reflect::set(options, duration, &duration_ms.into());
        let _ = Reflect::set(devtools, properties, &rows);
        let _ = self.measure.call2(&self.performance, name, options);
    }
}

/// Adds the frame that just closed, and its phases, to the Performance panel.
fn measure_last_frame(
    track: NonSend<Track>,
    stats: Res<FrameStats>,
    phases: Res<PhaseTimes>,
    memory: Res<MemoryStats>,
    pool: Option<Res<ParticlePool>>,
) {
    let Some(started) = stats.started.filter(|_| stats.frames > 0) else {
        return; // the first update closes no frame
    };
    if stats.frames.is_multiple_of(FRAMES_KEPT) {
        for name in &track.names {
            track.performance.clear_measures_with_measure_name(name);
        }
    }
    // The closed frame ended when this one started.
    let frame_start = track.place(started) - stats.frame_ms;
    let frame = decimal(stats.frames as f64, 0);
    let values = [
        decimal(stats.frame_ms, 2),
        decimal(memory.live_bytes as f64 / 1e6, 2),
        decimal(memory.allocations_per_frame as f64, 0),
        decimal(pool.map_or(0, |pool| pool.len()) as f64, 0),
    ];
    let [ms, heap, allocations, particles] = &values;
    let properties = [
        (0, &frame),
        (1, ms),
        (2, heap),
        (3, allocations),
        (4, particles),
    ];
    track.measure(0, frame_start, stats.frame_ms, &properties);
    for (entry, phase) in (1..).zip(Phase::ALL) {
        if let Some(start_ms) = phases.last_start_ms(phase) {
            let allocations = decimal(phases.last_allocations(phase) as f64, 0);
            let properties = [(0, &frame), (3, &allocations)];
            track.measure(
                entry,
                frame_start + start_ms,
                phases.last_ms(phase),
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

/// A plain object with `fields`.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object
}
