//! GPU time in the browser: one `TIME_ELAPSED_EXT` query around each frame's
//! `render_system`, on the WebGL2 context wgpu draws with. wgpu's GL backend issues the
//! frame's GL commands there (the buffer writes staged earlier, every pass, the canvas's
//! present), in one burst, so the query times them and not the idle time between frames
//! (a query from one frame's start to the next would read the frame time on an idle GPU).
//! Results are read in the main world's `First` once the browser has them, a few frames
//! later; those read while the GPU reports a disjoint period (its clock changed, or the
//! context was lost) are dropped.

use std::cell::RefCell;
use std::collections::VecDeque;

use bevy::prelude::*;
use bevy::render::renderer::render_system;
use bevy::render::{Render, RenderApp, RenderSystems};
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, WebGl2RenderingContext, WebGlQuery};

use super::{GpuTime, GpuTimeSource};
use crate::perf::FrameStats;

/// Where browser GPU times come from.
pub const TIMER_QUERY: &str = "EXT_disjoint_timer_query_webgl2";
/// Why a browser run has no GPU time: its WebGL2 lacks the extension (Firefox ESR here does;
/// Chromium here has it).
pub const NO_TIMER_QUERY: &str = "no EXT_disjoint_timer_query_webgl2 in this WebGL2";
/// Why a browser run has no GPU time: the canvas gave no WebGL2 context to time with.
pub const NO_CONTEXT: &str = "the canvas has no WebGL2 context";

/// `TIME_ELAPSED_EXT` from the extension: the query target that counts GPU nanoseconds.
const TIME_ELAPSED_EXT: u32 = 0x88BF;
/// `GPU_DISJOINT_EXT`: true once after a disjoint period, which voids queries in flight.
const GPU_DISJOINT_EXT: u32 = 0x8FBB;
/// Queries in flight at most: a result later than this many frames ends measuring until
/// one comes back (Chromium returns them one to three frames later).
const IN_FLIGHT: usize = 8;

pub(super) fn plugin(app: &mut App) {
    if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
        render_app.add_systems(
            Render,
            (
                begin_frame_query.before(render_system),
                end_frame_query.after(render_system),
            )
                .in_set(RenderSystems::Render),
        );
    }
}

thread_local! {
    // The timer once the renderer is up. JavaScript objects belong to the page's thread,
    // which runs both worlds' systems in the browser; the main world makes and reads it,
    // the render world starts and ends its queries.
    static TIMER: RefCell<Option<FrameTimer>> = const { RefCell::new(None) };
}

/// The queries, made once and reused.
struct FrameTimer {
    gl: WebGl2RenderingContext,
    /// Queries ended and not yet read, oldest first.
    pending: VecDeque<WebGlQuery>,
    /// Queries read, ready to be used again.
    free: Vec<WebGlQuery>,
    /// Whether a query is running (between `begin` and `end`).
    running: bool,
}

impl FrameTimer {
    /// The timer on wgpu's context in the page's canvas, or why there can be none.
    fn on_canvas() -> Result<Self, &'static str> {
        let gl = wgpu_context().ok_or(NO_CONTEXT)?;
        // Asking for the extension is what turns it on.
        match gl.get_extension(TIMER_QUERY) {
            Ok(Some(_)) => Ok(Self {
                gl,
                pending: VecDeque::with_capacity(IN_FLIGHT),
                free: Vec::with_capacity(IN_FLIGHT),
                running: false,
            }),
            _ => Err(NO_TIMER_QUERY),
        }
    }

    /// Starts timing this frame's GL commands, unless too many queries are in flight.
    fn begin(&mut self) {
        if self.running || self.pending.len() >= IN_FLIGHT {
            return;
        }
        let Some(query) = self.free.pop().or_else(|| self.gl.create_query()) else {
            return;
        };
        self.gl.begin_query(TIME_ELAPSED_EXT, &query);
        self.pending.push_back(query);
        self.running = true;
    }

    /// Ends the running query, if one runs.
    fn end(&mut self) {
        if self.running {
            self.gl.end_query(TIME_ELAPSED_EXT);
            self.running = false;
        }
    }

    /// The results that have come back, oldest first, in milliseconds; `None` for one the
    /// GPU's disjoint flag voided.
    fn read_results(&mut self, mut each: impl FnMut(Option<f64>)) {
        // The query still running is the newest pending one: never ready.
        let ended = self.pending.len() - usize::from(self.running);
        let disjoint = self
            .gl
            .get_parameter(GPU_DISJOINT_EXT)
            .ok()
            .and_then(|value| value.as_bool())
            .unwrap_or(false);
        for _ in 0..ended {
            let Some(query) = self.pending.front() else {
                break;
            };
            let ready = self
                .gl
                .get_query_parameter(query, WebGl2RenderingContext::QUERY_RESULT_AVAILABLE)
                .as_bool()
                .unwrap_or(false);
            if !ready {
                break;
            }
            let nanoseconds = self
                .gl
                .get_query_parameter(query, WebGl2RenderingContext::QUERY_RESULT)
                .as_f64();
            each(nanoseconds.filter(|_| !disjoint).map(|ns| ns / 1e6));
            if let Some(query) = self.pending.pop_front() {
                self.free.push(query);
            }
        }
    }
}

/// The WebGL2 context wgpu made on the page's canvas: asking a canvas again for the
/// context type it already has returns that same context.
fn wgpu_context() -> Option<WebGl2RenderingContext> {
    let canvas = web_sys::window()?
        .document()?
        .get_element_by_id("sparkbench-canvas")?
        .dyn_into::<HtmlCanvasElement>()
        .ok()?;
    canvas.get_context("webgl2").ok()??.dyn_into().ok()
}

/// Once the renderer is up: makes the timer (or notes why there can be none), then
/// hands on the results that have come back.
pub(super) fn read_gpu_time(mut gpu: ResMut<GpuTime>, stats: Res<FrameStats>) {
    if gpu.source == GpuTimeSource::Pending {
        match FrameTimer::on_canvas() {
            Ok(made) => {
                TIMER.set(Some(made));
                gpu.source = GpuTimeSource::Measured(TIMER_QUERY);
            }
            Err(why) => gpu.source = GpuTimeSource::NotAvailable(why),
        }
    }
    TIMER.with_borrow_mut(|timer| {
        if let Some(timer) = timer {
            timer.read_results(|result| match result {
                Some(ms) => gpu.arrived(ms, stats.frames),
                None => gpu.dropped += 1,
            });
        }
    });
}

/// Before wgpu issues the frame's GL commands.
fn begin_frame_query() {
    TIMER.with_borrow_mut(|timer| {
        if let Some(timer) = timer {
            timer.begin();
        }
    });
}

/// After the frame's GL commands and the canvas's present.
fn end_frame_query() {
    TIMER.with_borrow_mut(|timer| {
        if let Some(timer) = timer {
            timer.end();
        }
    });
}
