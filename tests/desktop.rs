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

/// Renders `scenario` for `frames` frames (one step each) and returns the screenshot and log.
fn screenshot(scenario: &str, particles: &str, frames: &str) -> (image::RgbImage, String) {
    let shot = shots_dir().join(format!("desktop-{scenario}.png"));
    let _ = std::fs::remove_file(&shot);
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
    ]);
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{scenario}: sparkbench failed: {}\n{log}",
        output.status
    );
    let image = image::open(&shot).expect("screenshot is a PNG").to_rgb8();
    (image, log)
}

/// The overlay's corner of the window (top left), in pixels, left out when counting particles.
const OVERLAY: (u32, u32) = (360, 350);

/// Share of the pixels outside the overlay that differ clearly from the background colour
/// (the bottom-right corner's, which nothing draws over in these framings).
fn drawn_share(image: &image::RgbImage) -> f64 {
    let background = *image.get_pixel(image.width() - 1, image.height() - 1);
    let mut drawn = 0_u32;
    let mut counted = 0_u32;
    for (x, y, pixel) in image.enumerate_pixels() {
        if x < OVERLAY.0 && y < OVERLAY.1 {
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
        let (image, log) = screenshot(scenario, "20000", "90");
        // Counted by the app's allocator on each phase's own thread, in the real window.
        assert!(
            log.contains("allocations in the second half of the run by phase: simulate 0, pack 0,"),
            "{scenario}: the simulation or the pack allocated in the steady state\n{log}"
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
fn a_million_particles_render() {
    let (image, log) = screenshot("stress", "1000000", "3");
    assert!(log.contains("1000000 live particles"), "{log}");
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
