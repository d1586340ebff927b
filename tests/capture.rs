//! Capture tests: real headless captures written by the binary and read back, compared
//! (two runs of this build agree on state and allocations, a 30% slower copy fails, bad input exits 2), reported,
//! and checked against the simulation's own checksum.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use sparkbench::capture::CaptureFile;
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
    let frames = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["name"] == "frame")
        .count();
    assert_eq!(frames, 200);
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
    // something else ran), so the times' verdicts are not asserted here: the unit tests in
    // `capture::compare` check them on synthetic series. Two runs of one build must end in
    // the same state after the same steps, and their allocation figures must pass.
    let (first, second) = (
        CaptureFile::read(&base).unwrap(),
        CaptureFile::read(&new).unwrap(),
    );
    assert_eq!(first.settings.steps, second.settings.steps);
    assert_eq!(first.checksum, second.checksum, "the same end state");
    let same = sparkbench(&["compare", base.to_str().unwrap(), new.to_str().unwrap()]);
    let table = text(&same);
    assert!(
        matches!(same.status.code(), Some(0 | 1)),
        "compare judged the files: {table}"
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

    // The base run, every time 30% longer: flagged at the default 10%.
    let mut slower = CaptureFile::read(&base).unwrap();
    for sample in &mut slower.samples {
        sample.frame_ms *= 1.3;
        for phase in &mut sample.phase_ms {
            *phase *= 1.3;
        }
    }
    let slower_path = scratch("slower.json");
    std::fs::write(&slower_path, slower.to_json()).unwrap();
    let flagged = sparkbench(&[
        "compare",
        base.to_str().unwrap(),
        slower_path.to_str().unwrap(),
    ]);
    assert_eq!(flagged.status.code(), Some(1), "{}", text(&flagged));
    assert!(text(&flagged).contains("REGRESSED"), "{}", text(&flagged));

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

    let mut other = CaptureFile::read(&good).unwrap();
    other.settings.scenario = "galaxy".into();
    let other_path = scratch("other-scenario.json");
    std::fs::write(&other_path, other.to_json()).unwrap();
    let output = sparkbench(&[
        "compare",
        good.to_str().unwrap(),
        other_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("scenario (fountain vs galaxy)"),
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
