//! The native binary: parses the command line and runs the app.
//!
//! In the browser the app starts from `web.rs` instead; this file is not used there.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::run()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    // The browser bundle is the library's `cdylib`; its entry point is `web::start`.
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    //! The command line: `sparkbench [--frames N [--screenshot FILE.png]]`.

    use std::path::PathBuf;
    use std::process::ExitCode;

    use clap::Parser;
    use sparkbench::{AppMode, ScriptedRun, app};

    /// sparkbench: a Bevy particle demo and performance instrument.
    #[derive(Parser, Debug)]
    #[command(version, about)]
    struct Args {
        /// Render this many frames, then exit (1 to 1000000).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        frames: Option<u64>,
        /// After the last frame, save a PNG of the window here (needs --frames).
        #[arg(long, requires = "frames", value_parser = png_path)]
        screenshot: Option<PathBuf>,
    }

    /// Accepts only paths ending in `.png`, so the format is never a surprise.
    fn png_path(value: &str) -> Result<PathBuf, String> {
        let path = PathBuf::from(value);
        let is_png = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("png"));
        if is_png {
            Ok(path)
        } else {
            Err(format!("'{value}' must end in .png"))
        }
    }

    pub(super) fn run() -> ExitCode {
        let args = Args::parse();
        let mode = match args.frames {
            Some(frames) => AppMode::Scripted(ScriptedRun {
                frames,
                screenshot: args.screenshot,
            }),
            None => AppMode::Interactive,
        };
        if app(mode).run().is_success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
