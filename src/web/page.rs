//! The browser entry point and the page's small JS API (`window.sparkbench`).
//!
//! The loader (`web/loader.js`) compiles the module and calls wasm-bindgen's init, which
//! runs [`start`]; the functions exported here become `window.sparkbench.*`.

use std::cell::Cell;

use bevy::prelude::*;
use bevy_egui::egui;
use wasm_bindgen::prelude::*;

use super::captures;
use super::options::PlayOptions;
use crate::capture::{CapacityConfig, CapacityRun, CaptureRecorder, DisplayPaced};
use crate::input::OrbitCamera;
use crate::overlay::OverlayRects;
use crate::perf::{
    FrameBudget, FrameStats, GpuTime, GpuTimeSource, MemoryStats, Phase, PhaseTimes, StartupTimes,
};
use crate::sim::{
    Backend, Dispatcher, KernelThreadsNote, ParticlePool, SimClock, SimPause, SimSettings,
};

/// Frames a capture asked for in the URL runs before it records.
const CAPTURE_WARMUP: u32 = 60;

/// Refresh periods taken as measured, in milliseconds (500 Hz to 5 Hz): outside it the
/// loader saw something other than a display's refresh (a throttled tab).
const REFRESH_RANGE_MS: core::ops::RangeInclusive<f64> = 2.0..=200.0;

/// The loader's refresh period where it is one a display has; else `None`, said on the
/// console.
fn usable_refresh(measured: Option<f64>) -> Option<f64> {
    let usable = measured.filter(|ms| REFRESH_RANGE_MS.contains(ms));
    if usable.is_none() {
        web_sys::console::warn_1(
            &format!(
                "sparkbench: no refresh period in 2..=200 ms from the loader ({measured:?}); \
                 capacity searches use the budget alone"
            )
            .into(),
        );
    }
    usable
}

/// The figures `stats()` hands to JavaScript, copied from [`FrameStats`] each frame.
#[derive(Clone, Copy, Default)]
struct StatsSnapshot {
    frames: u64,
    fps: f64,
    frame_ms: f64,
    steps: u64,
    particles: usize,
    paused: bool,
    /// Threads running the kernels now (the main thread included), and the most that can.
    kernel_threads: [usize; 2],
    /// Whether the kernels' helpers are Web Workers (the threaded bundle).
    on_workers: bool,
    /// The last complete frame's measured phases, in milliseconds, in [`Phase::ALL`] order.
    phase_ms: [f64; Phase::ALL.len()],
    /// The orbit camera: yaw and pitch in radians, distance in metres.
    camera: [f64; 3],
    /// Where the overlay's windows were drawn (converted when `stats()` asks, not each frame).
    overlay: OverlayRects,
    /// Memory figures, named as in [`MEMORY_FIELDS`].
    memory: [f64; MEMORY_FIELDS.len()],
    /// The frame-time summary the overlay shows, named as in [`SUMMARY_FIELDS`].
    summary: [f64; SUMMARY_FIELDS.len()],
    /// How long the page took to start (from the first frame drawn on).
    startup: Option<StartupTimes>,
    /// The GPU's time for a recent frame, or why there is none.
    gpu: GpuTime,
}

/// The names of `stats().overlay`'s rectangles: its windows, and the Capture button.
const OVERLAY_WINDOWS: [&str; 3] = ["readings", "controls", "capture_button"];

/// The names of each `stats().overlay` window's edges, in CSS pixels from the page's top left.
const EDGES: [&str; 4] = ["left", "top", "right", "bottom"];

/// `rect` (egui points) in CSS pixels: egui points to physical pixels by egui's scale, then
/// to CSS pixels by the page's device pixel ratio. NaN for a window not drawn.
fn css_edges(rect: Option<egui::Rect>, pixels_per_point: f32) -> [f64; 4] {
    let device_pixel_ratio = web_sys::window().map_or(1.0, |window| window.device_pixel_ratio());
    let scale = f64::from(pixels_per_point) / device_pixel_ratio;
    rect.map_or([f64::NAN; 4], |rect| {
        [rect.min.x, rect.min.y, rect.max.x, rect.max.y].map(|edge| f64::from(edge) * scale)
    })
}

/// The names of `stats().summary`'s fields: over the last 300 frames against the budget.
const SUMMARY_FIELDS: [&str; 6] = [
    "budget_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "low_1pct_fps",
    "hitches",
];

/// The names of `stats().memory`'s fields (bytes, counts, or a 0–1 rate).
const MEMORY_FIELDS: [&str; 9] = [
    "live_bytes",
    "peak_live_bytes",
    "allocations_per_frame",
    "pool_hit_rate",
    "instance_buffer_bytes",
    "linear_memory_bytes",
    "memory_grows",
    "last_grow_frame",
    "last_grow_request_bytes",
];

thread_local! {
    // The browser runs the app on the page's only thread; JS calls read this copy
    // because the `World` itself is owned by the running event loop.
    static LATEST: Cell<StatsSnapshot> = Cell::new(StatsSnapshot::default());
}

pub(crate) fn plugin(app: &mut App) {
    app.add_plugins(captures::plugin)
        .add_systems(Last, publish_stats);
}

fn publish_stats(
    stats: Res<FrameStats>,
    clock: Res<SimClock>,
    pool: Res<ParticlePool>,
    pause: Res<SimPause>,
    phases: Res<PhaseTimes>,
    cameras: Query<&OrbitCamera>,
    memory: Res<MemoryStats>,
    budget: Res<FrameBudget>,
    dispatcher: Res<Dispatcher>,
    overlay: Res<OverlayRects>,
    startup: Option<Res<StartupTimes>>,
    gpu: Res<GpuTime>,
) {
    let summary = stats.summary(budget.ms);
    let camera = cameras.iter().next().map_or([0.0; 3], |orbit| {
        [orbit.yaw, orbit.pitch, orbit.distance].map(f64::from)
    });
    LATEST.set(StatsSnapshot {
        kernel_threads: [dispatcher.threads(), dispatcher.max_threads()],
        on_workers: dispatcher.on_web_workers(),
        phase_ms: Phase::ALL.map(|phase| phases.last_ms(phase)),
        memory: [
            memory.live_bytes as f64,
            memory.peak_live_bytes as f64,
            memory.allocations_per_frame as f64,
            memory.pool_hit_rate().unwrap_or(f64::NAN),
            memory.instance_buffer_bytes as f64,
            memory
                .linear_memory_bytes
                .map_or(f64::NAN, |bytes| bytes as f64),
            memory.memory_grows as f64,
            memory
                .last_grow_frame
                .map_or(f64::NAN, |frame| frame as f64),
            memory.last_grow_request_bytes as f64,
        ],
        summary: [
            budget.ms,
            summary.p50_ms,
            summary.p95_ms,
            summary.p99_ms,
            summary.low_1pct_fps,
            summary.hitches as f64,
        ],
        camera,
        overlay: *overlay,
        startup: startup.as_deref().copied(),
        gpu: *gpu,
        frames: stats.frames,
        fps: stats.fps,
        frame_ms: stats.frame_ms,
        steps: clock.steps,
        particles: pool.len(),
        paused: pause.is_paused(),
    });
}

/// `window.sparkbench` is set up by the loader, which calls this once the module is
/// instantiated (and its workers, if any, are ready): starts the app in the page's canvas.
/// `one_thread_because` is the loader's reason for running the kernels on one thread,
/// which the overlay shows; `refresh_ms` the display's refresh period as the loader
/// measured it (animation frames while the module compiled), which a capacity search
/// takes into its limit. (Not a wasm-bindgen start function,
/// so the module can also be loaded without a page, in Node, for the memory checks.)
#[wasm_bindgen]
pub fn start(one_thread_because: Option<String>, refresh_ms: Option<f64>) {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let stopped = format!("sparkbench stopped: {info}");
        show_panic_on_page(&stopped);
        captures::reject_all(&stopped);
    }));
    let search = web_sys::window()
        .and_then(|window| window.location().search().ok())
        .unwrap_or_default();
    let (options, problems) = PlayOptions::from_query(&search);
    for problem in &problems {
        web_sys::console::warn_1(&format!("sparkbench: {problem}").into());
    }
    show_notice_on_page(&problems);
    let mut app = crate::app(crate::AppMode::Interactive);
    app.insert_resource(options.choice)
        .insert_resource(KernelThreadsNote(one_thread_because))
        .insert_resource(DisplayPaced {
            refresh_ms: usable_refresh(refresh_ms),
        });
    app.world_mut().resource_mut::<SimSettings>().use_simd = options.use_simd;
    if let Some(steps) = options.pause_at {
        app.world_mut()
            .resource_mut::<SimPause>()
            .pause_after(steps);
    }
    if let Some(frames) = options.capture {
        app.insert_resource(CaptureRecorder::new(frames, CAPTURE_WARMUP, false));
    } else if options.capacity {
        let budget = app.world().resource::<FrameBudget>().ms;
        app.insert_resource(CapacityRun::new(CapacityConfig::new(budget), false));
    }
    app.run();
}

/// `window.sparkbench.stats()`: `{frames, fps, frame_ms, steps, particles, paused, phases,
/// camera}` from the running app: frames since start, frames per second over the last 60
/// frames, the last frame in milliseconds, fixed simulation steps taken, live particles,
/// whether paused, `phases: {simulate, pack, upload, overlay}` (the last frame's measured
/// phases in milliseconds), `camera: {yaw, pitch, distance}` (radians, metres) and
/// `memory: {live_bytes, peak_live_bytes, allocations_per_frame, pool_hit_rate,
/// instance_buffer_bytes, linear_memory_bytes, memory_grows, last_grow_frame,
/// last_grow_request_bytes}`, `summary: {budget_ms, p50_ms, p95_ms, p99_ms, low_1pct_fps,
/// hitches}` (the last 300 frames, as the overlay shows them), `threads: {on_workers,
/// kernel_threads, max_kernel_threads}` (the threads running the kernels now, the main
/// thread included, and the most that can; `on_workers` when the others are Web Workers)
/// `overlay: {readings, controls, capture_button}`, each `{left, top, right, bottom}`:
/// where the overlay's windows and its Capture button were drawn, in CSS pixels (NaN while
/// the overlay is hidden, or the button while a capture or search runs in its place), and
/// `startup`: null until the first frame is drawn, then `{download_start_ms, downloaded_ms,
/// compiled_ms, instantiated_ms, app_started_ms, first_frame_ms}` (milliseconds from
/// navigation to each of the page's start-up marks), `total_ms` and `steps` (each step's
/// milliseconds by name, as the overlay splits them), and `gpu: {ms, source, not_available,
/// dropped}`: a recent frame's GPU time in milliseconds and how it was measured, or why
/// there is none.
#[wasm_bindgen]
#[must_use]
pub fn stats() -> JsValue {
    let snapshot = LATEST.get();
    let object = js_sys::Object::new();
    // Counts up to 2^53 frames are exact as a JS number: years at any frame rate.
    let fields = [
        ("frames", snapshot.frames as f64),
        ("fps", snapshot.fps),
        ("frame_ms", snapshot.frame_ms),
        ("steps", snapshot.steps as f64),
        ("particles", snapshot.particles as f64),
    ];
    for (name, value) in fields {
        set(&object, name, &value.into());
    }
    set(&object, "paused", &snapshot.paused.into());
    let [threads, most] = snapshot.kernel_threads.map(|threads| threads as f64);
    let workers = js_sys::Object::new();
    set(&workers, "on_workers", &snapshot.on_workers.into());
    set(&workers, "kernel_threads", &threads.into());
    set(&workers, "max_kernel_threads", &most.into());
    set(&object, "threads", &workers);
    let phases = js_sys::Object::new();
    for (phase, ms) in Phase::ALL.into_iter().zip(snapshot.phase_ms) {
        set(&phases, phase.name(), &ms.into());
    }
    set(&object, "phases", &phases);
    let camera = js_sys::Object::new();
    for (name, value) in ["yaw", "pitch", "distance"]
        .into_iter()
        .zip(snapshot.camera)
    {
        set(&camera, name, &value.into());
    }
    set(&object, "camera", &camera);
    let overlay = js_sys::Object::new();
    let rects = [
        snapshot.overlay.readings,
        snapshot.overlay.controls,
        snapshot.overlay.capture_button,
    ];
    for (name, rect) in OVERLAY_WINDOWS.into_iter().zip(rects) {
        let edges = css_edges(rect, snapshot.overlay.pixels_per_point);
        let window = js_sys::Object::new();
        for (edge, value) in EDGES.into_iter().zip(edges) {
            set(&window, edge, &value.into());
        }
        set(&overlay, name, &window);
    }
    set(&object, "overlay", &overlay);
    let memory = js_sys::Object::new();
    for (name, value) in MEMORY_FIELDS.into_iter().zip(snapshot.memory) {
        set(&memory, name, &value.into());
    }
    set(&object, "memory", &memory);
    let summary = js_sys::Object::new();
    for (name, value) in SUMMARY_FIELDS.into_iter().zip(snapshot.summary) {
        set(&summary, name, &value.into());
    }
    set(&object, "summary", &summary);
    set(&object, "startup", &startup_object(snapshot.startup));
    set(&object, "gpu", &gpu_object(&snapshot.gpu));
    object.into()
}

/// `stats().gpu`: `ms`, the GPU time of a recent frame (null until a result arrives, and
/// where there is none), `source` (the mechanism, or null), `not_available` (the reason, or
/// null) and `dropped` (results a disjoint period voided).
fn gpu_object(gpu: &GpuTime) -> JsValue {
    let (source, not_available) = match gpu.source {
        GpuTimeSource::Measured(how) => (JsValue::from_str(how), JsValue::NULL),
        GpuTimeSource::NotAvailable(why) => (JsValue::NULL, JsValue::from_str(why)),
        GpuTimeSource::Pending => (JsValue::NULL, JsValue::NULL),
    };
    let object = js_sys::Object::new();
    set(
        &object,
        "ms",
        &gpu.last_ms.map_or(JsValue::NULL, JsValue::from),
    );
    set(&object, "source", &source);
    set(&object, "not_available", &not_available);
    set(&object, "dropped", &(gpu.dropped as f64).into());
    object.into()
}

/// `stats().startup`: the marks' times, the total and the steps, or null before the first
/// frame is drawn.
fn startup_object(startup: Option<StartupTimes>) -> JsValue {
    let Some(times) = startup else {
        return JsValue::NULL;
    };
    // The marks under their field names, as captures write them.
    let Ok(object) = serde_json::to_string(&times)
        .map_err(|error| JsValue::from_str(&error.to_string()))
        .and_then(|json| js_sys::JSON::parse(&json))
    else {
        return JsValue::NULL;
    };
    let object: js_sys::Object = object.unchecked_into();
    set(&object, "total_ms", &times.total_ms().into());
    let steps = js_sys::Object::new();
    for (step, ms) in times.steps() {
        set(&steps, step, &ms.into());
    }
    set(&object, "steps", &steps);
    object.into()
}

/// `window.sparkbench.checksum(steps, seed, backend)`: the pool checksum (16 hex digits)
/// after `steps` fixed steps of the determinism scenario, computed here in wasm so it can
/// be compared with the native one. `backend` is a name (`scalar`, `simd128`); an unknown
/// or unavailable name is an error naming the valid ones.
#[wasm_bindgen]
pub fn checksum(steps: u32, seed: u32, backend: &str) -> Result<String, JsError> {
    let backend = available_backend(backend)?;
    Ok(format!(
        "{:016x}",
        crate::sim::determinism_checksum(u64::from(seed), backend, steps)
    ))
}

/// The backend called `name`, or an error naming the ones this browser has.
pub(super) fn available_backend(name: &str) -> Result<Backend, JsError> {
    Backend::from_name(name)
        .filter(|backend| backend.is_available())
        .ok_or_else(|| {
            JsError::new(&format!(
                "backend '{name}' is not one of {}",
                available_names()
            ))
        })
}

/// `window.sparkbench.bench(seconds)`: the kernel table measured in this browser, as
/// `{title, table, rows: [{kernel, backend, particles, run_ms, ns_per_particle, runs}]}`.
#[wasm_bindgen]
#[must_use]
pub fn bench(seconds: f64) -> JsValue {
    let timings =
        crate::sim::bench::time_kernels(&crate::sim::bench::SIZES, seconds.clamp(0.05, 60.0));
    let rows = js_sys::Array::new();
    for timing in &timings {
        let row = js_sys::Object::new();
        set(&row, "backend", &timing.backend.name().into());
        set(&row, "particles", &(timing.particles as f64).into());
        set(&row, "kernel", &timing.kernel.name().into());
        set(&row, "run_ms", &timing.run_ms.into());
        set(&row, "ns_per_particle", &timing.ns_per_particle.into());
        set(&row, "runs", &(timing.runs as f64).into());
        rows.push(&row);
    }
    let title = "wasm32 simd128 (web-release)";
    let result = js_sys::Object::new();
    set(&result, "title", &title.into());
    set(
        &result,
        "table",
        &crate::sim::bench::format_table(title, &timings).into(),
    );
    set(&result, "rows", &rows);
    result.into()
}

/// `memory_check(seed, steps)`: runs the allocator self-test in this wasm build (random
/// traffic from `seed` on fresh pools and on the global allocator, every alignment up to
/// 4096, a 64 MB block, zero-sized types); returns `"ok"` or throws what broke.
///
/// # Errors
/// The first step where an allocator broke the model.
#[wasm_bindgen]
pub fn memory_check(seed: u32, steps: u32) -> Result<String, String> {
    crate::memory::check::self_test(u64::from(seed), steps as usize).map(|()| "ok".to_owned())
}

/// `alloc_bench(trace, rounds)`: replays an allocation trace file's bytes on the pools and on
/// talc alone, `{table, rows: [{allocator, ns_per_call, peak_backing_bytes, calls}]}`.
///
/// # Errors
/// When the bytes are not a trace file (the message says why), or a replay ran out of memory.
#[wasm_bindgen]
pub fn alloc_bench(trace: &[u8], rounds: u32) -> Result<JsValue, String> {
    let events = crate::memory::trace::decode(trace)?;
    let rows = crate::memory::bench::compare_on_trace(&events, rounds.clamp(3, 1000) as usize, 1)?;
    let list = js_sys::Array::new();
    for row in &rows {
        let object = js_sys::Object::new();
        set(&object, "allocator", &row.allocator.into());
        set(&object, "ns_per_call", &row.ns_per_call.into());
        set(
            &object,
            "peak_backing_bytes",
            &(row.peak_backing_bytes as f64).into(),
        );
        set(&object, "calls", &(row.calls as f64).into());
        list.push(&object);
    }
    let result = js_sys::Object::new();
    let title = "wasm32 simd128 (web-release), talc backing";
    set(
        &result,
        "table",
        &crate::memory::bench::format_table(title, &rows).into(),
    );
    set(&result, "rows", &list);
    Ok(result.into())
}

fn available_names() -> String {
    Backend::available()
        .map(Backend::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets a plain property on a fresh object, which cannot fail.
pub(super) fn set(object: &js_sys::Object, name: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &name.into(), value);
}

/// Lists URL parameters that could not be used in the page's notice panel.
fn show_notice_on_page(problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let text = document.get_element_by_id("sparkbench-notice-text");
    if let (Some(panel), Some(text)) = (document.get_element_by_id("sparkbench-notice"), text) {
        text.set_text_content(Some(&problems.join("\n")));
        let _ = panel.remove_attribute("hidden");
    }
}

/// Puts `message` (the panic's) into the page's error panel so a person sees it without a
/// console.
fn show_panic_on_page(message: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    let Some(panel) = document.get_element_by_id("sparkbench-error") else {
        return;
    };
    panel.set_text_content(Some(message));
    let _ = panel.remove_attribute("hidden");
}
