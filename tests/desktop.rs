//! Desktop test: runs the real binary in a real window (under Xvfb when no display is set,
//! rendering with whatever Vulkan driver is present, Mesa's software one in CI), renders
//! every scenario for a fixed number of steps with a fixed seed, saves screenshots and
//! checks that particles were drawn; and a million particles once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where screenshots land: `SPARKBENCH_SHOTS`, or `target/screenshots` in the checkout.
fn shots_dir() -> PathBuf {
    std::env::var_os("SPARKBENCH_SHOTS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
        PathBuf::from,
    )
}

/// Runs sparkbench with `args`, inside `xvfb-run` unless a display is already there.
fn run_sparkbench(args: &[&str]) -> Output {
    let binary = env!("CARGO_BIN_EXE_sparkbench");
    let mut command = if std::env::var_os("DISPLAY").is_some() {
        Command::new(binary)
    } else {
        let mut xvfb = Command::new("xvfb-run");
        xvfb.args(["-a", "-s", "-screen 0 1280x720x24", binary]);
        xvfb
    };
    // Wayland is not built in; make winit use X11 even inside a Wayland session.
    command.env_remove("WAYLAND_DISPLAY").args(args);
    command.output().expect(
        "could not start sparkbench (for a display without one, install xvfb: ./build.sh setup)",
    )
}

/// Renders `scenario` for `frames` frames (one step each) and returns the screenshot and
/// the run's own report of what it measured.
fn screenshot(
    scenario: &str,
    particles: &str,
    frames: &str,
) -> (image::RgbImage, sparkbench::ScriptedReport) {
    let shot = shots_dir().join(format!("desktop-{scenario}.png"));
    // Named by the frame count too: two tests render galaxy at once, for 90 and 120 frames.
    let report_path = shots_dir().join(format!("desktop-{scenario}-{frames}.json"));
    let _ = std::fs::remove_file(&shot);
    let _ = std::fs::remove_file(&report_path);
    let output = run_sparkbench(&[
        "--scenario",
        scenario,
        "--particles",
        particles,
        "--seed",
        "7",
        "--frames",
        frames,
        "--screenshot",
        shot.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{scenario}: sparkbench failed: {}\n{log}",
        output.status
    );
    let image = image::open(&shot).expect("screenshot is a PNG").to_rgb8();
    let report = std::fs::read_to_string(&report_path).expect("the run wrote its report");
    let report = serde_json::from_str(&report).expect("the report reads back");
    (image, report)
}

/// The report's allocations in the second half of the run for `phase`.
fn second_half(report: &sparkbench::ScriptedReport, phase: &str) -> u64 {
    report
        .second_half_allocations
        .iter()
        .find(|(name, _)| name == phase)
        .unwrap_or_else(|| panic!("no {phase} in {report:?}"))
        .1
}

/// The overlay's panels in a 1280 × 720 window, in pixels, left out when counting
/// particles: the readings (top left) and the controls (top right), each as (left, top,
/// right, bottom) with room for the tallest scenario.
const OVERLAY: [(u32, u32, u32, u32); 2] = [(0, 0, 360, 570), (970, 0, 1280, 420)];

fn under_overlay(x: u32, y: u32) -> bool {
    OVERLAY
        .iter()
        .any(|&(left, top, right, bottom)| (left..right).contains(&x) && (top..bottom).contains(&y))
}

/// Share of the pixels outside the overlay that differ clearly from the background colour
/// (the bottom-right corner's, which nothing draws over in these framings).
fn drawn_share(image: &image::RgbImage) -> f64 {
    let background = *image.get_pixel(image.width() - 1, image.height() - 1);
    let mut drawn = 0_u32;
    let mut counted = 0_u32;
    for (x, y, pixel) in image.enumerate_pixels() {
        if under_overlay(x, y) {
            continue;
        }
        counted += 1;
        if pixel
            .0
            .iter()
            .zip(background.0)
            .any(|(&a, b)| a.abs_diff(b) > 24)
        {
            drawn += 1;
        }
    }
    f64::from(drawn) / f64::from(counted)
}

#[test]
fn every_scenario_draws_its_particles() {
    for scenario in ["fountain", "galaxy", "fireworks", "snow", "stress"] {
        let (image, report) = screenshot(scenario, "20000", "90");
        assert_eq!(report.frames, 90);
        // Counted by the app's allocator on each phase's thread and the kernels' helpers,
        // in the real window.
        assert_eq!(
            [
                second_half(&report, "simulate"),
                second_half(&report, "pack")
            ],
            [0, 0],
            "{scenario}: the simulation or the pack allocated in the steady state\n{report:?}"
        );
        // wgpu makes staging memory for every write the pack fills; the upload's own
        // code (everything around wgpu's calls) allocates nothing.
        assert_eq!(
            report.second_half_own_upload_allocations, 0,
            "{scenario}: the upload allocated outside wgpu's calls\n{report:?}"
        );
        assert!(
            image.width() >= 640 && image.height() >= 360,
            "size {:?}",
            image.dimensions()
        );
        let share = drawn_share(&image);
        assert!(
            share > 0.01,
            "{scenario}: only {share:.4} of the pixels show particles"
        );
        let background = image.get_pixel(image.width() - 1, image.height() - 1);
        assert!(
            background.0.iter().any(|&channel| channel > 0),
            "{scenario}: pure black, nothing rendered"
        );
    }
}

#[test]
fn the_overlay_reports_live_figures() {
    let (image, report) = screenshot("galaxy", "20000", "120");
    // Every figure the overlay shows is measured, so none is zero.
    for (name, value) in [
        ("fps", report.fps),
        ("p50", report.p50_ms),
        ("p95", report.p95_ms),
        ("p99", report.p99_ms),
        ("1% low", report.low_1pct_fps),
    ] {
        assert!(value > 0.0, "{name} is {value}: {report:?}");
    }
    assert!(
        report.p99_ms >= report.p95_ms && report.p95_ms >= report.p50_ms,
        "{report:?}"
    );
    assert_eq!(report.summary_frames, 120, "{report:?}");
    // The overlay covers its corner: most of it differs from the scene's background.
    let background = *image.get_pixel(image.width() - 1, image.height() - 1);
    let panel = (20..300)
        .flat_map(|x| (20..300).map(move |y| (x, y)))
        .filter(|&(x, y)| *image.get_pixel(x, y) != background)
        .count();
    assert!(panel > 280 * 280 / 2, "only {panel} overlay pixels");
}

/// Runs sparkbench with `args` and `--out` a file called `name` beside the screenshots;
/// returns the capture it wrote, or fails with the run's log.
fn run_to_capture(name: &str, args: &[&str]) -> sparkbench::capture::CaptureFile {
    std::fs::create_dir_all(shots_dir()).unwrap();
    let out = shots_dir().join(name);
    let _ = std::fs::remove_file(&out);
    let mut args = args.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    let output = run_sparkbench(&args);
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?} failed\n{log}");
    sparkbench::capture::CaptureFile::read(&out).unwrap()
}

#[test]
fn a_rendered_capture_records_the_whole_frame() {
    let capture = run_to_capture(
        "capture-desktop.json",
        &[
            "capture",
            "--scenario",
            "fountain",
            "--particles",
            "20000",
            "--seed",
            "7",
            "--frames",
            "40",
            "--warmup",
            "10",
        ],
    );
    assert!(!capture.settings.headless);
    assert_eq!(capture.samples.len(), 40);
    assert!(
        capture.environment.gpu_adapter.is_some(),
        "the adapter that rendered is named"
    );
    let timed = |phase: usize| capture.samples.iter().any(|s| s.phase_ms[phase] > 0.0);
    assert!(
        timed(0) && timed(1) && timed(2) && timed(3),
        "simulate, pack, upload and overlay are all timed"
    );
    // Mesa's lavapipe writes Vulkan timestamps, so Bevy's render diagnostics time the
    // passes: most frames get a GPU time (a frame or so late), each a real duration.
    assert_eq!(
        capture.environment.gpu_time.as_deref(),
        Some("wgpu timestamp queries")
    );
    let gpu: Vec<f64> = capture.samples.iter().filter_map(|s| s.gpu_ms).collect();
    eprintln!("GPU ms a frame: {gpu:?}");
    assert!(
        gpu.len() >= capture.samples.len() / 2,
        "{} of {} frames got a GPU time",
        gpu.len(),
        capture.samples.len()
    );
    assert!(gpu.iter().all(|&ms| ms > 0.0 && ms < 10_000.0), "{gpu:?}");
}

/// A rendered capacity search in a real window turns vsync off while it measures (frames
/// waiting for the display would read as the refresh period) and says so in the capture;
/// against a 0.5 ms budget it ends after its first window, the fewest particles over it.
#[test]
fn a_rendered_capacity_search_turns_vsync_off() {
    let capture = run_to_capture(
        "capacity-desktop.json",
        &[
            "capacity",
            "--scenario",
            "stress",
            "--budget",
            "0.5",
            "--start",
            "1000",
        ],
    );
    assert!(!capture.settings.headless);
    let capacity = capture.capacity.expect("a score");
    assert_eq!(
        capacity.pacing,
        Some(sparkbench::capture::Pacing::VsyncOff {
            window_had: "Fifo".into()
        })
    );
    assert_eq!(capacity.limit_ms, None, "the budget is the limit");
    assert_eq!(capacity.curve.len(), 1, "{capacity:?}");
    assert!(
        capacity.describe().contains("even the fewest particles"),
        "{}",
        capacity.describe()
    );
}

#[test]
fn a_million_particles_render() {
    let (image, report) = screenshot("stress", "1000000", "3");
    assert_eq!(report.live_particles, 1_000_000, "{report:?}");
    assert!(drawn_share(&image) > 0.05);
}

#[test]
fn a_frame_count_out_of_range_is_refused_with_the_flag_and_its_range() {
    let output = Command::new(env!("CARGO_BIN_EXE_sparkbench"))
        .args(["--frames", "0"])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("--frames"), "{message}");
    assert!(message.contains("1..=1000000"), "{message}");
}

#[test]
fn unusable_play_flags_name_the_flag_and_what_it_accepts() {
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["--frames", "1", "--screenshot", "out.jpg"],
            "--screenshot",
            "must end in .png",
        ),
        (
            &["--scenario", "nebula"],
            "--scenario",
            "fountain, galaxy, fireworks, snow, stress",
        ),
        (&["--particles", "12"], "--particles", "1000..=4000000"),
    ];
    for (args, flag, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_sparkbench"))
            .args(args)
            .output()
            .unwrap();
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(
            message.contains(flag) && message.contains(expected),
            "{args:?}: {message}"
        );
    }
}
