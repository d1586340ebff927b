//! The page's captures: `window.sparkbench.capture(n)` and `capacity()` requests, each
//! answered with its own capture (one capture or capacity search runs at a time, in the
//! order asked), and the captures nobody asked for by call (the overlay's buttons,
//! `?capture=N`, `?capacity`), downloaded as a file.

use std::cell::RefCell;
use std::collections::VecDeque;

use bevy::prelude::*;
use wasm_bindgen::prelude::*;

use super::options::MAX_CAPTURE_FRAMES;
use crate::capture::{
    CapacityConfig, CapacityRun, CaptureRecorder, FinishedCapture, nothing_measuring,
};
use crate::perf::FrameBudget;

/// `capture(n)` calls that may wait for their turn at once; more are refused.
pub const MAX_WAITING_CAPTURES: usize = 8;

/// Frames a call's capture runs before it records: the frame it starts in also delivers
/// the capture before it (and may still run on the wall clock that one restored).
const CALL_WARMUP: u32 = 2;

/// How long a downloaded capture's object URL stays valid, in milliseconds. The browser
/// reads the file after `click()` returns, and some browsers treat a URL revoked straight
/// away as a cancelled download.
const DOWNLOAD_URL_LIFETIME_MS: i32 = 60_000;

/// What a call asked for.
#[derive(Debug, Clone)]
enum Asked {
    /// `capture(n)`: this many frames.
    Capture(u32),
    /// `capacity(settings)`: a capacity search with the settings given (checked when the
    /// call was made); without a budget of its own, it takes the app's when it starts.
    Capacity {
        config: CapacityConfig,
        own_budget: bool,
    },
}

/// A call waiting for its capture: the call as written, what it asked for and its promise.
struct Request {
    call: String,
    asked: Asked,
    resolve: js_sys::Function,
    reject: js_sys::Function,
}

thread_local! {
    // The browser runs the app on the page's only thread, where JS calls `capture(n)` too.
    // Calls whose capture has not started yet, oldest first.
    static WAITING: RefCell<VecDeque<Request>> = const { RefCell::new(VecDeque::new()) };
    // The call whose capture is recording, until its promise is settled.
    static RECORDING: RefCell<Option<Request>> = const { RefCell::new(None) };
    // Why the app stopped (a panic), once it has: later calls are refused with it.
    static STOPPED: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub(super) fn plugin(app: &mut App) {
    // In `Last`, where a capture the overlay's button started this frame already exists,
    // so a call's capture never starts beside another one; after the delivery of the
    // capture that finished this frame (chained: its commands are applied first), so that
    // one goes to whoever asked for it.
    app.add_systems(
        Last,
        (
            deliver_capture,
            start_next_request.run_if(nothing_measuring),
        )
            .chain(),
    );
}

/// Starts the oldest waiting call's capture or search (run once none is running).
fn start_next_request(mut commands: Commands, budget: Res<FrameBudget>) {
    if let Some(request) = WAITING.with_borrow_mut(VecDeque::pop_front) {
        match &request.asked {
            Asked::Capture(frames) => {
                commands.insert_resource(CaptureRecorder::new(*frames, CALL_WARMUP, false));
            }
            &Asked::Capacity { config, own_budget } => {
                let budget_ms = if own_budget {
                    config.budget_ms
                } else {
                    budget.ms
                };
                let config = CapacityConfig {
                    budget_ms,
                    ..config
                };
                commands.insert_resource(CapacityRun::new(config, false));
            }
        }
        RECORDING.set(Some(request));
    }
}

/// Hands a finished capture to the call that asked for it, or else (the overlay's button,
/// `?capture=N`) downloads it as a JSON file.
fn deliver_capture(mut commands: Commands, finished: Option<Res<FinishedCapture>>) {
    let Some(finished) = finished else {
        return;
    };
    commands.remove_resource::<FinishedCapture>();
    let json = finished.0.to_json();
    let delivered = match RECORDING.take() {
        Some(request) => match js_sys::JSON::parse(&json) {
            Ok(capture) => request.resolve.call1(&JsValue::NULL, &capture),
            Err(error) => request.reject.call1(&JsValue::NULL, &error),
        }
        .map(drop),
        None if finished.0.capacity.is_some() => download("sparkbench-capacity.json", &json),
        None => download("sparkbench-capture.json", &json),
    };
    if let Err(error) = delivered {
        web_sys::console::error_2(
            &"sparkbench: the capture could not be delivered".into(),
            &error,
        );
    }
}

/// Rejects every call still waiting or recording with `why` (after the call, as a refusal
/// names it), and refuses later ones with it. The panic hook calls it: the app has
/// stopped, so no capture would ever finish.
pub(super) fn reject_all(why: &str) {
    let _ = STOPPED.try_with(|cell| {
        cell.try_borrow_mut()
            .map(|mut slot| *slot = Some(why.into()))
    });
    // A panic inside a borrow below would find the cell borrowed: reject what can be taken.
    let recording = RECORDING
        .try_with(|cell| cell.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
        .ok()
        .flatten();
    let waiting = WAITING
        .try_with(|cell| {
            cell.try_borrow_mut()
                .map(|mut queue| std::mem::take(&mut *queue))
        })
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for request in recording.into_iter().chain(waiting) {
        let error = js_sys::Error::new(&format!("{}: {why}", request.call));
        let _ = request.reject.call1(&JsValue::NULL, &error);
    }
}

/// Offers `text` to the person as a downloaded file called `name`.
fn download(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let document = window
        .document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let revoke = Closure::once_into_js(move || web_sys::Url::revoke_object_url(&url));
    window.set_timeout_with_callback_and_timeout_and_arguments_0(
        revoke.unchecked_ref(),
        DOWNLOAD_URL_LIFETIME_MS,
    )?;
    Ok(())
}

/// `window.sparkbench.capture(n)`: records `n` frames (1 to 100000) of the running app, one
/// fixed step a frame, after [`CALL_WARMUP`] frames, and returns a promise of the capture (the same JSON as the
/// desktop's `sparkbench capture`). Each call gets its own capture: while another capture
/// records (another call's, the overlay's button or `?capture=N`), it waits its turn.
/// The promise is rejected, with the reason, for a frame count out of range, when
/// [`MAX_WAITING_CAPTURES`] calls are already waiting, and when the app has stopped or
/// stops before the capture is done.
#[wasm_bindgen]
pub fn capture(frames: u32) -> js_sys::Promise {
    let call = format!("capture({frames})");
    if !(1..=MAX_CAPTURE_FRAMES).contains(&frames) {
        return refused(&format!(
            "{call}: the frame count must be in 1..={MAX_CAPTURE_FRAMES}"
        ));
    }
    queue(&call, Asked::Capture(frames))
}

/// `window.sparkbench.capacity(settings?)`: finds how many particles the running app
/// holds within its frame budget at p95 (see `capture::capacity`: at most 9,360 frames
/// with the defaults), and returns a promise of the capture holding the score and its
/// curve in `capacity`. `settings` may set `budget_ms`, `start`, `window` and `repeats`
/// (`CapacityConfig::with_settings`). It waits its turn behind captures and searches
/// already running or asked for, and is rejected like [`capture`]'s calls when a setting
/// is wrong, too many wait or the app has stopped.
#[wasm_bindgen]
pub fn capacity(settings: JsValue) -> js_sys::Promise {
    let call = "capacity()";
    let asked = numbers_in(&settings).and_then(|settings| {
        let own_budget = settings.iter().any(|(name, _)| name == "budget_ms");
        let config = CapacityConfig::new(FrameBudget::default().ms).with_settings(&settings)?;
        Ok(Asked::Capacity { config, own_budget })
    });
    match asked {
        Ok(asked) => queue(call, asked),
        Err(why) => refused(&format!("{call}: {why}")),
    }
}

/// The properties of a plain JS object of numbers (none for `undefined`).
fn numbers_in(object: &JsValue) -> Result<Vec<(String, f64)>, String> {
    if object.is_undefined() || object.is_null() {
        return Ok(Vec::new());
    }
    let object: &js_sys::Object = object
        .dyn_ref()
        .ok_or("the settings must be an object like {budget_ms: 33.3}")?;
    js_sys::Object::entries(object)
        .iter()
        .map(|entry| {
            let pair: js_sys::Array = entry.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1);
            value
                .as_f64()
                .map(|number| (name.clone(), number))
                .ok_or_else(|| format!("{name} is not a number"))
        })
        .collect()
}

/// The promise of `asked`, queued behind the calls already waiting, or refused.
fn queue(call: &str, asked: Asked) -> js_sys::Promise {
    if let Some(why) = STOPPED.with_borrow(Clone::clone) {
        return refused(&format!("{call}: {why}"));
    }
    if WAITING.with_borrow(VecDeque::len) >= MAX_WAITING_CAPTURES {
        return refused(&format!(
            "{call}: {MAX_WAITING_CAPTURES} captures are already waiting; \
             ask again when one has finished"
        ));
    }
    // `Promise::new` calls the closure once, at once.
    let mut asked = Some(asked);
    js_sys::Promise::new(&mut |resolve, reject| {
        if let Some(asked) = asked.take() {
            WAITING.with_borrow_mut(|waiting| {
                waiting.push_back(Request {
                    call: call.to_owned(),
                    asked,
                    resolve,
                    reject,
                });
            });
        }
    })
}

/// A promise already rejected with an `Error` saying `why`.
fn refused(why: &str) -> js_sys::Promise {
    js_sys::Promise::reject(&js_sys::Error::new(why).into())
}
