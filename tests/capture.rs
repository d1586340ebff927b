//! Capture tests: real headless captures written by the binary and read back, compared
//! (two runs of this build agree on state and allocations, twenty interleaved same-build
//! comparisons give no "regressed", a 30% slower copy fails, captures made differently and
//! bad input exit 2), reported, checked against the simulation's own checksum, and a real
//! capacity search.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use sparkbench::capture::{CaptureFile, CaptureSummary};
use sparkbench::scenario::Scenario;
use sparkbench::sim::{Backend, Simulation};

/// The captures time themselves, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capture-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn sparkbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparkbench"))
        .args(args)
        .output()
        .expect("sparkbench runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A headless capture of fountain at `particles`, seed 7, written to `name`.
fn headless_capture(name: &str, particles: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out = scratch(name);
    let _ = std::fs::remove_file(&out);
    let mut args = vec![
        "capture",
        "--headless",
        "--scenario",
        "fountain",
        "--particles",
        particles,
        "--seed",
        "7",
        "--frames",
        "200",
        "--warmup",
        "30",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = sparkbench(&args);
    assert!(output.status.success(), "{}", text(&output));
    (out, output)
}

#[test]
fn a_headless_capture_holds_every_frame_and_the_simulations_checksum() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let trace = scratch("trace.json");
    let (path, output) = headless_capture(
        "round-trip.json",
        "20000",
        &["--trace", trace.to_str().unwrap()],
    );
    assert!(
        text(&output).contains("200 frames of fountain"),
        "{}",
        text(&output)
    );
    let capture = CaptureFile::read(&path).unwrap();
    assert_eq!(capture.samples.len(), 200);
    assert_eq!(capture.settings.warmup, 30);
    assert!(capture.settings.headless);
    assert_eq!(capture.environment.simd_backend, Backend::best().name());
    assert!(capture.environment.cpu_cores >= 1);
    assert!(
        capture
            .samples
            .iter()
            .all(|s| s.frame_ms > 0.0 && s.particles > 0)
    );
    assert!(
        capture
            .samples
            .iter()
            .any(|s| s.phase_ms[0] > 0.0 && s.phase_ms[1] > 0.0),
        "simulate and pack are timed"
    );
    assert!(capture.summary.p50_ms > 0.0 && capture.summary.p95_ms >= capture.summary.p50_ms);
    // Nothing is drawn, so there is no GPU time, and the file says why.
    assert_eq!(
        capture.environment.gpu_time.as_deref(),
        Some("not available: headless: nothing is drawn")
    );
    assert!(capture.samples.iter().all(|s| s.gpu_ms.is_none()));

    // The state after the run is the simulation's, step for step.
    let steps = u32::try_from(capture.settings.steps).unwrap();
    assert!(steps >= 200, "a step for every recorded frame: {steps}");
    let (settings, emitters) = Scenario::Fountain.build(20_000, 7);
    let mut simulation = Simulation::new(settings, emitters);
    simulation.run(Backend::best(), steps);
    assert_eq!(
        capture.checksum,
        format!("{:016x}", simulation.pool.checksum())
    );

    // Written again, the file reads back the same.
    let again = CaptureFile::from_json(&capture.to_json()).unwrap();
    assert_eq!(again, capture);

    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(trace).unwrap()).unwrap();
    let (frames, phases, counters) = assert_trace_event_format(&trace);
    eprintln!("trace: {frames} frames, {phases} phase events, {counters} counter events");
    assert_eq!(frames, 200);
    assert_eq!(
        counters,
        3 * 200,
        "live heap, allocations and particles each frame"
    );
    assert!(
        phases >= 2 * 200,
        "simulate and pack in every frame: {phases}"
    );
}

/// Checks a trace against the Trace Event Format: every event has a phase type, a process
/// and a time in microseconds; frames are "X" events on the first track, end to end; each
/// phase is an "X" event on a named track of its own, inside the frame its `frame`
/// argument names, the step ending before the pack begins; counters are "C" events with
/// numeric arguments. Returns the frames, phase events and counter events it saw.
fn assert_trace_event_format(trace: &serde_json::Value) -> (usize, usize, usize) {
    let events = trace["traceEvents"].as_array().unwrap();
    let number = |event: &serde_json::Value, key: &str| {
        event[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {event}"))
    };
    let named_tracks: Vec<u64> = events
        .iter()
        .filter(|event| event["ph"] == "M" && event["name"] == "thread_name")
        .map(|event| event["tid"].as_u64().unwrap())
        .collect();
    let frames: Vec<(f64, f64)> = events
        .iter()
        .filter(|event| event["name"] == "frame")
        .map(|event| {
            assert_eq!((&event["ph"], &event["tid"]), (&"X".into(), &1.into()));
            (
                number(event, "ts"),
                number(event, "ts") + number(event, "dur"),
            )
        })
        .collect();
    for pair in frames.windows(2) {
        assert!((pair[1].0 - pair[0].1).abs() < 1e-6, "end to end: {pair:?}");
    }
    let mut phases = 0;
    let mut simulate_ends = vec![None; frames.len()];
    for event in events.iter().filter(|event| event["cat"] == "phase") {
        assert_eq!(event["ph"], "X", "{event}");
        assert!(
            named_tracks.contains(&event["tid"].as_u64().unwrap()),
            "{event}"
        );
        assert_ne!(event["tid"], 1, "not on the frames' track: {event}");
        let frame = usize::try_from(event["args"]["frame"].as_u64().unwrap()).unwrap();
        let (start, end) = (
            number(event, "ts"),
            number(event, "ts") + number(event, "dur"),
        );
        let (frame_start, frame_end) = frames[frame];
        assert!(
            frame_start <= start && start <= end && end <= frame_end,
            "{event} inside frame {frame} ({frame_start}..{frame_end} us)"
        );
        match event["name"].as_str().unwrap() {
            "simulate" => simulate_ends[frame] = Some(end),
            "pack" => {
                let simulated = simulate_ends[frame].expect("the step comes first");
                assert!(
                    simulated <= start,
                    "{event} after the step ending {simulated}"
                );
            }
            other => panic!("a headless run has no {other} phase"),
        }
        phases += 1;
    }
    let counters = events.iter().filter(|event| event["ph"] == "C").count();
    for event in events.iter().filter(|event| event["ph"] == "C") {
        let args = event["args"].as_object().unwrap();
        assert!(
            args.len() == 1 && args.values().all(serde_json::Value::is_u64),
            "{event}"
        );
        assert!(number(event, "ts") >= 0.0);
    }
    (frames.len(), phases, counters)
}

#[test]
fn two_captures_of_this_build_compare_and_a_slower_copy_fails() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (base, _) = headless_capture("base.json", "100000", &[]);
    let (new, _) = headless_capture("new.json", "100000", &[]);
    // One run per side cannot tell a slower build from a slower moment on a shared
    // machine (CI saw frame p95 +58% between two back-to-back runs of one build while
    // something else ran): compare says so (exit 4) or passes, never "regressed". Two runs
    // of one build must end in the same state after the same steps, and their allocation
    // figures must pass.
    let (first, second) = (
        CaptureFile::read(&base).unwrap(),
        CaptureFile::read(&new).unwrap(),
    );
    assert_eq!(first.settings.steps, second.settings.steps);
    assert_eq!(first.checksum, second.checksum, "the same end state");
    let same = sparkbench(&["compare", base.to_str().unwrap(), new.to_str().unwrap()]);
    let table = text(&same);
    assert!(
        matches!(same.status.code(), Some(0 | 4)),
        "one run a side is never called regressed: {table}"
    );
    for metric in [
        "frame p50 ms",
        "frame p95 ms",
        "simulate p50 ms",
        "pack p50 ms",
    ] {
        assert!(table.contains(metric), "{metric} has a row: {table}");
    }
    for metric in ["allocations per frame", "peak live heap MB"] {
        let row = table
            .lines()
            .find(|line| line.starts_with(metric))
            .unwrap_or_else(|| panic!("{metric} has a row: {table}"));
        assert!(
            row.ends_with(" ok"),
            "{metric} is within the threshold in both runs: {row}"
        );
    }
    assert!(!table.contains("CORRECTNESS"), "{table}");

    // A capture against itself: every metric unchanged, exit 0.
    let itself = sparkbench(&["compare", base.to_str().unwrap(), base.to_str().unwrap()]);
    assert_eq!(itself.status.code(), Some(0), "{}", text(&itself));
    assert!(!text(&itself).contains("REGRESSED"), "{}", text(&itself));

    // The base run, every time 30%, 31% and 30.5% longer, as three runs of a slower build
    // against three copies of the base run (folders of runs): flagged at the default 10%.
    // One run a side shows the change but cannot carry a verdict: exit 4.
    let base_runs = scratch("base-runs");
    let slower_runs = scratch("slower-runs");
    for (folder, factors) in [
        (&base_runs, [1.0, 1.0, 1.0]),
        (&slower_runs, [1.3, 1.31, 1.305]),
    ] {
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder).unwrap();
        for (run, factor) in factors.into_iter().enumerate() {
            let copy = slower_copy(&base, factor, |_| {});
            std::fs::write(folder.join(format!("run-{run}.json")), copy.to_json()).unwrap();
        }
    }
    let flagged = sparkbench(&[
        "compare",
        base_runs.to_str().unwrap(),
        slower_runs.to_str().unwrap(),
    ]);
    assert_eq!(flagged.status.code(), Some(1), "{}", text(&flagged));
    assert!(text(&flagged).contains("REGRESSED"), "{}", text(&flagged));
    assert!(text(&flagged).contains("3 base run(s), 3 new run(s)"));
    let slower_path = slower_runs.join("run-0.json");
    let one_run = sparkbench(&[
        "compare",
        base.to_str().unwrap(),
        slower_path.to_str().unwrap(),
    ]);
    assert_eq!(one_run.status.code(), Some(4), "{}", text(&one_run));
    assert!(
        text(&one_run).contains("inconclusive"),
        "{}",
        text(&one_run)
    );
    assert!(!text(&one_run).contains("REGRESSED"), "{}", text(&one_run));

    let report = scratch("report.html");
    let written = sparkbench(&[
        "report",
        base.to_str().unwrap(),
        slower_path.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(written.status.success(), "{}", text(&written));
    let page = std::fs::read_to_string(report).unwrap();
    assert_eq!(page.matches("<section").count(), 2);
}

/// The capture at `base` with every frame and phase `factor` times as long (its summary
/// made again from them), then changed by `edit`.
fn slower_copy(base: &Path, factor: f64, edit: impl FnOnce(&mut CaptureFile)) -> CaptureFile {
    let mut copy = CaptureFile::read(base).unwrap();
    for sample in &mut copy.samples {
        sample.frame_ms *= factor;
        for phase in &mut sample.phase_ms {
            *phase *= factor;
        }
    }
    copy.summary = CaptureSummary::of(&copy.samples, copy.settings.budget_ms);
    edit(&mut copy);
    copy
}

/// `compare GOOD EDITED [extra]`, where EDITED is the capture at `good` changed by `edit`
/// and written to `name`.
fn compare_with_edited(
    good: &Path,
    name: &str,
    extra: &[&str],
    edit: impl FnOnce(&mut CaptureFile),
) -> Output {
    let mut edited = CaptureFile::read(good).unwrap();
    edit(&mut edited);
    let path = scratch(name);
    std::fs::write(&path, edited.to_json()).unwrap();
    let mut args = vec!["compare", good.to_str().unwrap(), path.to_str().unwrap()];
    args.extend_from_slice(extra);
    sparkbench(&args)
}

#[test]
fn bad_captures_exit_2_and_say_what_is_wrong() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (good, _) = headless_capture("good.json", "20000", &[]);
    let json = std::fs::read_to_string(&good).unwrap();
    let truncated = scratch("truncated.json");
    std::fs::write(&truncated, &json[..json.len() / 3]).unwrap();
    let output = sparkbench(&[
        "compare",
        good.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("truncated.json"),
        "{}",
        text(&output)
    );
    assert!(text(&output).contains("ends early"), "{}", text(&output));

    let output = compare_with_edited(&good, "other-scenario.json", &[], |other| {
        other.settings.scenario = "galaxy".into();
    });
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("scenario (fountain vs galaxy)"),
        "{}",
        text(&output)
    );

    let rendered = |capture: &mut CaptureFile| capture.settings.headless = false;
    let output = compare_with_edited(&good, "rendered.json", &[], rendered);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("mode (headless vs rendered)"),
        "{}",
        text(&output)
    );
    let across = compare_with_edited(&good, "rendered.json", &["--across"], rendered);
    assert_eq!(across.status.code(), Some(0), "{}", text(&across));
    assert!(text(&across).contains("not judged"), "{}", text(&across));

    let output = compare_with_edited(&good, "edited.json", &[], |edited| {
        edited.summary.p50_ms *= 0.5;
    });
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("the summary disagrees with the samples (p50_ms is"),
        "{}",
        text(&output)
    );

    let missing = sparkbench(&["report", "no-such-capture.json", "-o", "unused.html"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains("no-such-capture.json"),
        "{}",
        text(&missing)
    );
}

#[test]
fn bencher_metric_format_names_the_run() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (path, _) = headless_capture("bmf.json", "20000", &["--format", "bmf"]);
    let bmf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let run = &bmf["sparkbench/fountain/20000/simd/headless"];
    assert!(run["frame_ms"]["value"].as_f64().unwrap() > 0.0, "{bmf}");
    assert!(
        run["simulate_ms"]["upper_value"].as_f64().unwrap() > 0.0,
        "{bmf}"
    );
}

/// Twenty comparisons of this build against itself, each with three runs a side recorded
/// interleaved (base, new, base, new, ...) while the other tests run beside them: none may say
/// "regressed" (exit 1) or find a different end state (exit 3); a noisy machine may
/// make some inconclusive (exit 4).
#[test]
fn twenty_interleaved_same_build_comparisons_give_no_regression() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut exits = Vec::new();
    for pair in 0..20 {
        let folders = ["base", "new"].map(|side| scratch(&format!("pair-{pair}-{side}")));
        for folder in &folders {
            let _ = std::fs::remove_dir_all(folder);
            std::fs::create_dir_all(folder).unwrap();
        }
        for run in 0..3 {
            for folder in &folders {
                let out = folder.join(format!("run-{run}.json"));
                let output = sparkbench(&[
                    "capture",
                    "--headless",
                    "--scenario",
                    "fountain",
                    "--particles",
                    "100000",
                    "--frames",
                    "300",
                    "--warmup",
                    "30",
                    "--out",
                    out.to_str().unwrap(),
                ]);
                assert!(output.status.success(), "{}", text(&output));
            }
        }
        let compared = sparkbench(&[
            "compare",
            folders[0].to_str().unwrap(),
            folders[1].to_str().unwrap(),
        ]);
        let code = compared.status.code();
        assert!(
            matches!(code, Some(0 | 4)),
            "pair {pair} exited {code:?}: {}",
            text(&compared)
        );
        exits.push(code.unwrap_or(-1));
    }
    eprintln!(
        "20 same-build comparisons: {} passed, {} inconclusive",
        exits.iter().filter(|&&code| code == 0).count(),
        exits.iter().filter(|&&code| code == 4).count()
    );
}

/// A real search, headless, against a 2 ms budget (so it stays short): the capture reads
/// back with its score inside its interval, the curve it climbed, and the frames it kept
/// at the lower confirming count; the BMF output carries `particles_at_budget`.
/// A headless search of stress against a 2 ms budget (so it stays short), written to
/// `name` with `extra` arguments.
fn capacity_search(name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name);
    let mut args = vec![
        "capacity",
        "--headless",
        "--scenario",
        "stress",
        "--budget",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = sparkbench(&args);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("stress holds "), "{}", text(&output));
    out
}

/// A real search: the capture reads back with its score inside its interval, the curve it
/// climbed, and the frames it kept at the lower confirming count; the BMF output carries
/// `particles_at_budget`.
#[test]
fn a_headless_capacity_search_writes_its_score_and_curve() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let capture =
        CaptureFile::read(&capacity_search("capacity.json", &[])).expect("the capture reads back");
    let capacity = capture.capacity.as_ref().expect("a score");
    assert!(
        capacity.low <= capacity.particles && capacity.particles <= capacity.high,
        "{capacity:?}"
    );
    assert!((capacity.budget_ms - 2.0).abs() < 1e-12);
    assert!(
        capacity.curve.len() >= 11,
        "ramp, bisection and ten confirming windows"
    );
    assert!(capacity.frames_measured <= capacity.frames_run && capacity.frames_run <= 9_360);
    assert_eq!(
        capture.samples.len(),
        300,
        "five windows at the lower confirming count"
    );
    assert!(capture.settings.headless);

    let bmf_out = capacity_search("capacity-bmf.json", &["--format", "bmf"]);
    let bmf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bmf_out).unwrap()).unwrap();
    let score = &bmf["sparkbench/stress/capacity/simd/headless"]["particles_at_budget"];
    assert!(score["value"].as_u64().unwrap() >= 1_000, "{bmf}");
    assert!(
        score["lower_value"].as_u64() <= score["value"].as_u64(),
        "{bmf}"
    );

    let refused = sparkbench(&["capacity", "--budget", "0.1", "--out", "unused.json"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("0.5..=1000"), "{}", text(&refused));
}

/// `history DIR`: a folder of one real capture copied to eight revisions, in folders of
/// their own, with frames 30% longer from the sixth commit on, plus a copy without a
/// commit time and a file that is not a capture. The command names the step at the sixth
/// revision, and the page marks it, leaves the untimed revision off and names the file it
/// skipped.
#[test]
fn history_marks_a_step_change_across_a_folder_of_revisions() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (base, _) = headless_capture("history-base.json", "20000", &[]);
    let folder = scratch("history");
    let _ = std::fs::remove_dir_all(&folder);
    let copy = |revision: &str, commit_time: Option<u64>, factor: f64| {
        let copy = slower_copy(&base, factor, |copy| {
            copy.environment.git_revision = Some(revision.to_owned());
            copy.environment.commit_time = commit_time;
        });
        let dir = folder.join(revision);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("run-1.json"), copy.to_json()).unwrap();
    };
    for index in 0..8_u64 {
        let factor = if index >= 5 { 1.3 } else { 1.0 };
        copy(
            &format!("{index}000000abcdef"),
            Some(1_700_000_000 + index * 60),
            factor,
        );
    }
    copy("untimedabcdef", None, 2.0);
    std::fs::write(folder.join("notes.json"), "{\"not\": \"a capture\"}").unwrap();

    let page_path = scratch("history.html");
    let output = sparkbench(&[
        "history",
        folder.to_str().unwrap(),
        "-o",
        page_path.to_str().unwrap(),
    ]);
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("outside the trailing spread: frame p50 ms of fountain")
            && said.contains("at 5000000abcdef"),
        "{said}"
    );
    assert!(
        !said.contains("at 4000000abcdef"),
        "nothing before the step: {said}"
    );
    assert!(said.contains("history of 9 captures in 1 series"), "{said}");
    let page = std::fs::read_to_string(page_path).unwrap();
    assert!(page.contains("class=\"outside\""), "{page}");
    assert!(page.contains(">5000000</text>"), "revision labels: {page}");
    assert!(page.contains("left off: untimed"), "{page}");
    assert!(
        page.contains("skipped ") && page.contains("notes.json"),
        "{page}"
    );
}
