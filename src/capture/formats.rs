//! A capture in other tools' formats: Bencher Metric Format for dashboards, and Chrome
//! trace events that Perfetto (ui.perfetto.dev) and `chrome://tracing` open.

use serde_json::{Map, Value, json};

use super::file::CaptureFile;
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

/// The frames and their phases as Chrome trace events ("X" complete events, times in
/// microseconds). Each frame is one event on the first track, starting where the one before
/// ended; its measured phases follow one another from the frame's start on the second
/// track (their durations are measured; where in the frame each began is not recorded).
#[must_use]
pub fn chrome_trace(capture: &CaptureFile) -> String {
    let mut events = Vec::with_capacity(capture.samples.len() * (Phase::ALL.len() + 1) + 2);
    for (tid, name) in [(1, "frames"), (2, "phases")] {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
            "args": { "name": name },
        }));
    }
    let mut frame_start_us = 0.0;
    for (index, sample) in capture.samples.iter().enumerate() {
        events.push(json!({
            "name": "frame", "cat": "frame", "ph": "X", "pid": 1, "tid": 1,
            "ts": frame_start_us, "dur": sample.frame_ms * 1000.0,
            "args": {
                "frame": index,
                "allocations": sample.allocations,
                "live_bytes": sample.live_bytes,
                "particles": sample.particles,
            },
        }));
        let mut phase_start_us = frame_start_us;
        for (phase, ms) in Phase::ALL.into_iter().zip(sample.phase_ms) {
            if ms > 0.0 {
                events.push(json!({
                    "name": phase.name(), "cat": "phase", "ph": "X", "pid": 1, "tid": 2,
                    "ts": phase_start_us, "dur": ms * 1000.0,
                }));
                phase_start_us += ms * 1000.0;
            }
        }
        frame_start_us += sample.frame_ms * 1000.0;
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
    fn the_trace_lays_frames_end_to_end_with_their_phases_inside() {
        let capture = sample_capture(&[2.0, 4.0]);
        let trace: Value = serde_json::from_str(&chrome_trace(&capture)).unwrap();
        let events = trace["traceEvents"].as_array().unwrap();
        let frames: Vec<&Value> = events.iter().filter(|e| e["name"] == "frame").collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[1]["ts"].as_f64(), frames[1]["dur"].as_f64()),
            (Some(2000.0), Some(4000.0))
        );
        let pack: Vec<&Value> = events.iter().filter(|e| e["name"] == "pack").collect();
        assert_eq!(
            pack[1]["ts"].as_f64(),
            Some(2000.0 + 2000.0),
            "after simulate's 2 ms"
        );
        assert_eq!(pack[1]["dur"].as_f64(), Some(400.0));
    }
}
