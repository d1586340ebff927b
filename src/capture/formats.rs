//! A capture in other tools' formats: Bencher Metric Format for dashboards, and Chrome
//! trace events that Perfetto (ui.perfetto.dev) and `chrome://tracing` open.

use serde_json::{Map, Value, json};

use super::file::{CaptureFile, FrameSample};
use crate::perf::{Phase, percentile};

/// The capture's figures in Bencher Metric Format: one benchmark named
/// `sparkbench/<scenario>/<particles>/<backend>/<headless|rendered>`, with measures in
/// milliseconds (median as the value, 5th and 95th percentiles as the bounds), allocations
/// per frame and peak live heap bytes. A capacity search's capture is named with
/// `capacity` in place of the particle count (which the search chose) and adds
/// `particles_at_budget`, its confidence interval as the bounds.
#[must_use]
pub fn bencher_metric_format(capture: &CaptureFile) -> String {
    let settings = &capture.settings;
    let particles = match capture.capacity {
        Some(_) => "capacity".to_owned(),
        None => settings.particles.to_string(),
    };
    let name = format!(
        "sparkbench/{}/{particles}/{}/{}",
        settings.scenario,
        settings.backend,
        if settings.headless {
            "headless"
        } else {
            "rendered"
        }
    );
    let mut measures = Map::new();
    let frame: Vec<f64> = capture.samples.iter().map(|s| s.frame_ms).collect();
    measures.insert("frame_ms".to_owned(), spread(&frame));
    for (index, phase) in Phase::ALL.into_iter().enumerate() {
        let times: Vec<f64> = capture.samples.iter().map(|s| s.phase_ms[index]).collect();
        if times.iter().any(|&ms| ms > 0.0) {
            measures.insert(format!("{}_ms", phase.name()), spread(&times));
        }
    }
    measures.insert(
        "allocations_per_frame".to_owned(),
        json!({ "value": capture.summary.allocations_per_frame }),
    );
    measures.insert(
        "peak_live_bytes".to_owned(),
        json!({ "value": capture.summary.peak_live_bytes }),
    );
    if let Some(capacity) = &capture.capacity {
        measures.insert(
            "particles_at_budget".to_owned(),
            json!({
                "value": capacity.particles,
                "lower_value": capacity.low,
                "upper_value": capacity.high,
            }),
        );
    }
    let mut document = Map::new();
    document.insert(name, Value::Object(measures));
    serde_json::to_string_pretty(&Value::Object(document)).unwrap_or_default()
}

/// Median with the 5th and 95th percentiles as lower and upper values.
fn spread(values: &[f64]) -> Value {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    json!({
        "value": percentile(&sorted, 50.0),
        "lower_value": percentile(&sorted, 5.0),
        "upper_value": percentile(&sorted, 95.0),
    })
}

/// How many counter tracks [`chrome_trace`] draws.
const COUNTERS: usize = 3;

/// A frame's counter tracks: name, the value's key and the value at the frame's end.
fn counters(sample: &FrameSample) -> [(&'static str, &'static str, u64); COUNTERS] {
    [
        ("live heap", "bytes", sample.live_bytes),
        ("allocations", "per frame", sample.allocations),
        ("particles", "alive", sample.particles),
    ]
}

/// The frames, their phases and counters as Chrome trace events (times in microseconds).
/// Each frame is an "X" complete event on the first track, starting where the one before
/// ended. Each phase has a track of its own (the render world's upload overlaps the pack it
/// wraps, so the phases do not nest), with an "X" event where the phase first began in its
/// frame, as long as it took in all. Live heap bytes, allocations and live particles are
/// "C" counter events at each frame's end. A file made before phase starts were recorded
/// has its phases laid back to back from the frame's start, marked so in their arguments.
#[must_use]
pub fn chrome_trace(capture: &CaptureFile) -> String {
    let per_frame = 1 + Phase::ALL.len() + COUNTERS;
    let mut events = Vec::with_capacity(capture.samples.len() * per_frame + Phase::ALL.len() + 1);
    let tracks = core::iter::once("frames").chain(Phase::ALL.map(Phase::name));
    for (tid, name) in (1..).zip(tracks) {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
            "args": { "name": name },
        }));
    }
    let mut frame_start_us = 0.0;
    for (index, sample) in capture.samples.iter().enumerate() {
        let frame_end_us = frame_start_us + sample.frame_ms * 1000.0;
        events.push(json!({
            "name": "frame", "cat": "frame", "ph": "X", "pid": 1, "tid": 1,
            "ts": frame_start_us, "dur": sample.frame_ms * 1000.0,
            "args": { "frame": index },
        }));
        let mut back_to_back_us = frame_start_us;
        for ((tid, phase), (ms, start_ms)) in (2..)
            .zip(Phase::ALL)
            .zip(sample.phase_ms.into_iter().zip(sample.phase_start_ms))
        {
            // A phase ran when it has a start (even one too quick for the clock); a file
            // without starts says so only by its time.
            let (ts, args) = match start_ms {
                Some(start_ms) => (
                    frame_start_us + start_ms * 1000.0,
                    json!({ "frame": index }),
                ),
                None if ms > 0.0 => (
                    back_to_back_us,
                    json!({ "frame": index, "placed": "back to back: start not recorded" }),
                ),
                None => continue,
            };
            events.push(json!({
                "name": phase.name(), "cat": "phase", "ph": "X", "pid": 1, "tid": tid,
                "ts": ts, "dur": ms * 1000.0, "args": args,
            }));
            back_to_back_us += ms * 1000.0;
        }
        for (name, key, value) in counters(sample) {
            events.push(json!({
                "name": name, "cat": "memory", "ph": "C", "pid": 1, "ts": frame_end_us,
                "args": { key: value },
            }));
        }
        frame_start_us = frame_end_us;
    }
    serde_json::to_string(&json!({ "traceEvents": events, "displayTimeUnit": "ms" }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::file::tests::sample_capture;
    use super::*;

    #[test]
    fn bencher_format_names_the_run_and_holds_the_median() {
        let capture = sample_capture(&[1.0, 2.0, 3.0, 4.0, 100.0]);
        let bmf: Value = serde_json::from_str(&bencher_metric_format(&capture)).unwrap();
        let run = &bmf["sparkbench/stress/20000/simd/headless"];
        assert_eq!(run["frame_ms"]["value"], 3.0);
        assert_eq!(run["frame_ms"]["upper_value"], 100.0);
        assert_eq!(run["simulate_ms"]["value"], 1.5);
        assert!(
            run.get("upload_ms").is_none(),
            "a phase that never ran is left out"
        );
        assert_eq!(run["allocations_per_frame"]["value"], 0.0);
        assert!(run.get("particles_at_budget").is_none(), "not a search");
    }

    #[test]
    fn a_capacity_capture_gives_particles_at_budget_with_its_interval() {
        let mut capture = sample_capture(&[10.0, 12.0]);
        capture.capacity = Some(super::super::capacity::tests::sample_capacity());
        let bmf: Value = serde_json::from_str(&bencher_metric_format(&capture)).unwrap();
        let run = &bmf["sparkbench/stress/capacity/simd/headless"];
        assert_eq!(
            (
                &run["particles_at_budget"]["value"],
                &run["particles_at_budget"]["lower_value"],
                &run["particles_at_budget"]["upper_value"]
            ),
            (&json!(640_000), &json!(620_800), &json!(659_200))
        );
        assert_eq!(run["frame_ms"]["value"], 10.0);
    }

    #[test]
    fn the_trace_places_each_phase_where_it_began_in_its_frame() {
        let capture = sample_capture(&[2.0, 4.0]);
        let trace: Value = serde_json::from_str(&chrome_trace(&capture)).unwrap();
        let events = trace["traceEvents"].as_array().unwrap();
        let named =
            |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["name"] == name).collect() };
        let frames = named("frame");
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[1]["ts"].as_f64(), frames[1]["dur"].as_f64()),
            (Some(2000.0), Some(4000.0))
        );
        // The second frame's simulate began 0.4 ms in and took 2 ms; its pack began 2.8 ms
        // in and took 0.4 ms: each on its own track, at its own start.
        let (simulate, pack) = (named("simulate"), named("pack"));
        assert_eq!(
            (simulate[1]["ts"].as_f64(), simulate[1]["dur"].as_f64()),
            (Some(2400.0), Some(2000.0))
        );
        assert_eq!(
            (pack[1]["ts"].as_f64(), pack[1]["dur"].as_f64()),
            (Some(4800.0), Some(400.0))
        );
        assert_ne!(simulate[1]["tid"], pack[1]["tid"]);
        assert!(
            named("upload").is_empty(),
            "a phase that never ran is left out"
        );
        let heap = named("live heap");
        assert_eq!(heap.len(), 2);
        assert_eq!(heap[1]["ph"], "C");
        assert_eq!(heap[1]["ts"].as_f64(), Some(6000.0), "at the frame's end");
        assert_eq!(heap[1]["args"]["bytes"], 1 << 20);
        assert_eq!(named("particles")[0]["args"]["alive"], 20_000);
    }

    #[test]
    fn a_file_without_phase_starts_lays_its_phases_back_to_back() {
        let mut capture = sample_capture(&[2.0, 4.0]);
        for sample in &mut capture.samples {
            sample.phase_start_ms = [None; Phase::ALL.len()];
        }
        let trace: Value = serde_json::from_str(&chrome_trace(&capture)).unwrap();
        let pack = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == "pack")
            .nth(1)
            .unwrap();
        assert_eq!(
            pack["ts"].as_f64(),
            Some(2000.0 + 2000.0),
            "after simulate's 2 ms"
        );
        assert_eq!(pack["args"]["placed"], "back to back: start not recorded");
    }
}
