//! Desktop test: runs the real binary in a real window (under Xvfb when no display is set,
//! rendering with whatever Vulkan driver is present, Mesa's software one in CI), saves a
//! screenshot after 60 frames and checks that something was drawn.

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

#[test]
fn renders_sixty_frames_and_saves_a_screenshot_that_is_not_blank() {
    let shot = shots_dir().join("desktop.png");
    let _ = std::fs::remove_file(&shot);
    let output = run_sparkbench(&["--frames", "60", "--screenshot", shot.to_str().unwrap()]);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sparkbench failed: {}\n{log}",
        output.status
    );

    let image = image::open(&shot).expect("screenshot is a PNG").to_rgb8();
    assert!(
        image.width() >= 640 && image.height() >= 360,
        "size {:?}",
        image.dimensions()
    );
    let background = *image.get_pixel(image.width() - 1, image.height() - 1);
    let drawn = image.pixels().filter(|pixel| **pixel != background).count();
    let share = drawn as f64 / f64::from(image.width() * image.height());
    // The overlay alone covers well over 0.5% of the window; a blank or black frame has none.
    assert!(
        share > 0.005,
        "only {share:.4} of the pixels differ from the background"
    );
    assert!(
        background.0.iter().any(|&channel| channel > 0),
        "background is pure black: nothing rendered"
    );
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
fn a_screenshot_that_is_not_png_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_sparkbench"))
        .args(["--frames", "1", "--screenshot", "out.jpg"])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("must end in .png"), "{message}");
}
