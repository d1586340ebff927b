//! The native binary: parses the command line and runs the app or a tool.
//!
//! In the browser the app starts from `web/page.rs` instead; this file is not used there.

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
    //! The command line:
    //! `sparkbench [--frames N [--screenshot FILE.png]] [--backend simd|scalar]`,
    //! `sparkbench checksum ...`, `bench ...`, `alloc-bench ...`, and the captures:
    //! `capture ...`, `compare BASE NEW` and `report A [B ...] -o FILE.html`.

    use std::path::PathBuf;
    use std::process::ExitCode;

    use clap::{Parser, Subcommand, ValueEnum};
    use sparkbench::scenario::{MAX_PARTICLES, MIN_PARTICLES, Scenario, ScenarioChoice};
    use sparkbench::sim::{self, Backend, bench};
    use sparkbench::{AppMode, ScriptedRun, app, memory};

    /// sparkbench: a Bevy particle demo and performance instrument.
    #[derive(Parser, Debug)]
    #[command(version, about, args_conflicts_with_subcommands = true)]
    struct Cli {
        #[command(subcommand)]
        command: Option<Command>,
        #[command(flatten)]
        play: PlayArgs,
    }

    #[derive(Subcommand, Debug)]
    enum Command {
        /// Open the window and play (the default).
        Play(PlayArgs),
        /// Print the pool checksum after N fixed steps of the determinism scenario.
        Checksum(ChecksumArgs),
        /// Time the update kernel on every SIMD backend and print ns per particle.
        Bench(BenchArgs),
        /// Replay a recorded allocation trace on the pools and on the backing allocator.
        AllocBench(AllocBenchArgs),
        /// Run one kernel a fixed number of times (for instruction counts under callgrind).
        KernelRuns(KernelRunsArgs),
        /// Record frame and phase times, memory and the state checksum to a file.
        Capture(CaptureArgs),
        /// Compare captures: exit 0 when nothing regressed, 1 when something did, 2 on bad
        /// input or captures made differently, 3 when the simulation's state differs after
        /// the same steps, 4 when the machine was too noisy to tell.
        Compare(CompareArgs),
        /// Write one self-contained HTML page showing captures side by side.
        Report(ReportArgs),
        /// Find how many particles fit the frame budget: ramp the count, bisect, then
        /// confirm with repeated windows (at most 9,360 frames with the defaults).
        Capacity(CapacityArgs),
        /// Draw the trend of every capture in a folder across git revisions and machines,
        /// marking points outside the trailing window's spread, as one HTML page.
        History(HistoryArgs),
    }

    #[derive(clap::Args, Debug)]
    struct HistoryArgs {
        /// The folder of captures (every .json in it and its subfolders).
        folder: PathBuf,
        /// The HTML file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    }

    /// How a measured run (a capture or a capacity search) runs.
    #[derive(clap::Args, Debug)]
    struct MeasuredRun {
        /// Seed for the simulation's random numbers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Update kernels: the best SIMD here, or the scalar twin.
        #[arg(long, value_enum, default_value_t = BackendChoice::Simd)]
        backend: BackendChoice,
        /// Without window or GPU: simulation, pack and memory only.
        #[arg(long)]
        headless: bool,
    }

    #[derive(clap::Args, Debug)]
    struct CapacityArgs {
        /// Preset: fountain, galaxy, fireworks, snow or stress.
        #[arg(long, default_value = "stress", value_parser = scenario_name)]
        scenario: Scenario,
        #[command(flatten)]
        run: MeasuredRun,
        /// The frame budget the p95 must stay within, in milliseconds (0.5 to 1000).
        #[arg(long, default_value_t = 1000.0 / 60.0, value_parser = budget_ms)]
        budget: f64,
        /// The first particle count probed (1000 to 4000000).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(i64::from(MIN_PARTICLES)..=i64::from(MAX_PARTICLES)))]
        start: u32,
        /// Where to write the capture holding the score and its curve.
        #[arg(long)]
        out: PathBuf,
        /// What `--out` holds: the capture (json) or Bencher Metric Format (bmf).
        #[arg(long, value_enum, default_value_t = CaptureFormat::Json)]
        format: CaptureFormat,
    }

    #[derive(clap::Args, Debug)]
    struct KernelRunsArgs {
        /// `step` or `pack`.
        #[arg(long, value_parser = kernel_name)]
        kernel: bench::Kernel,
        /// Backend by name (scalar, sse2, avx2, avx512, simd128, neon).
        #[arg(long, value_parser = backend_name)]
        backend: Backend,
        /// Particles in the pool (1 to 4000000).
        #[arg(long, default_value_t = 10_000, value_parser = pool_size)]
        particles: usize,
        /// Times to run the kernel over the pool (1 to 10000).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        runs: u32,
    }

    #[derive(clap::Args, Debug)]
    struct CaptureArgs {
        /// Preset: fountain, galaxy, fireworks, snow or stress.
        #[arg(long, default_value = "stress", value_parser = scenario_name)]
        scenario: Scenario,
        /// Particle target (1000 to 4000000); default: the scenario's own.
        #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_PARTICLES)..=i64::from(MAX_PARTICLES)))]
        particles: Option<u32>,
        /// Frames to record (1 to 100000).
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        frames: u32,
        /// Frames to run before recording (0 to 100000).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        warmup: u32,
        #[command(flatten)]
        run: MeasuredRun,
        /// Where to write the capture.
        #[arg(long)]
        out: PathBuf,
        /// What `--out` holds: the capture (json) or Bencher Metric Format (bmf).
        #[arg(long, value_enum, default_value_t = CaptureFormat::Json)]
        format: CaptureFormat,
        /// Also write the frames and phases as Chrome trace events (Perfetto) here.
        #[arg(long)]
        trace: Option<PathBuf>,
    }

    /// What `capture --out` holds.
    #[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
    enum CaptureFormat {
        /// The capture file (compare and report read it).
        Json,
        /// Bencher Metric Format, for dashboards.
        Bmf,
    }

    #[derive(clap::Args, Debug)]
    struct CompareArgs {
        /// The capture to compare against, or a folder of runs of it (every .json inside).
        base: PathBuf,
        /// The capture to judge, or a folder of runs of it. Times get a verdict only with
        /// three or more runs a side, best recorded interleaved with the base's.
        new: PathBuf,
        /// How much worse a metric may get before it counts, e.g. 10% (1% to 1000%).
        #[arg(long, default_value = "10%", value_parser = percentage)]
        threshold: f64,
        /// Compare captures made differently (headless and rendered, other backend,
        /// build profile, architecture, browser or kernel threads): show the differences
        /// and judge nothing.
        #[arg(long)]
        across: bool,
    }

    #[derive(clap::Args, Debug)]
    struct ReportArgs {
        /// Captures to show, side by side in this order.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// The HTML file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    }

    #[derive(clap::Args, Debug)]
    struct AllocBenchArgs {
        /// A trace recorded with `play --frames N --alloc-trace FILE`.
        #[arg(long)]
        trace: PathBuf,
        /// Replays per allocator (3 to 1000).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(3..=1000))]
        rounds: u32,
    }

    /// SIMD or the scalar twin.
    #[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
    enum BackendChoice {
        /// The widest SIMD backend this CPU has.
        Simd,
        /// The scalar twin.
        Scalar,
    }

    #[derive(clap::Args, Debug)]
    struct PlayArgs {
        /// Render this many frames, then exit (1 to 1000000).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        frames: Option<u64>,
        /// After the last frame, save a PNG of the window here (needs --frames).
        #[arg(long, requires = "frames", value_parser = png_path)]
        screenshot: Option<PathBuf>,
        /// Update kernels to start with (S switches while playing).
        #[arg(long, value_enum, default_value_t = BackendChoice::Simd)]
        backend: BackendChoice,
        /// Preset to play: fountain, galaxy, fireworks, snow or stress (keys 1 to 5).
        #[arg(long, default_value = "fountain", value_parser = scenario_name)]
        scenario: Scenario,
        /// Particle target (1000 to 4000000); default: the scenario's own.
        #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_PARTICLES)..=i64::from(MAX_PARTICLES)))]
        particles: Option<u32>,
        /// Seed for the simulation's random numbers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// After the last frame, write what the run measured here as JSON (needs --frames).
        #[arg(long, requires = "frames")]
        report: Option<PathBuf>,
        /// Record every allocator call of the run to this file (needs --frames).
        #[arg(long, requires = "frames")]
        alloc_trace: Option<PathBuf>,
    }

    /// Most allocator calls a trace records (the buffer is taken before the run: 40 MB).
    const TRACE_EVENTS: usize = 1_000_000;

    #[derive(clap::Args, Debug)]
    struct ChecksumArgs {
        /// Fixed 1/60 s steps to run (1 to 100000).
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        steps: u32,
        /// Seed of the scenario.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Backend by name (scalar, sse2, avx2, avx512, simd128, neon); default: the best here.
        #[arg(long, value_parser = backend_name)]
        backend: Option<Backend>,
    }

    #[derive(clap::Args, Debug)]
    struct BenchArgs {
        /// Seconds to spend on each backend and size (0.05 to 60).
        #[arg(long, default_value_t = 1.0, value_parser = seconds)]
        seconds: f64,
        /// Pool sizes in particles, comma-separated (each 1 to 4000000).
        #[arg(long, value_delimiter = ',', default_values_t = bench::SIZES, value_parser = pool_size)]
        sizes: Vec<usize>,
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

    /// A share written as `10%` (or `10`), 1% to 1000%, as a fraction.
    fn percentage(value: &str) -> Result<f64, String> {
        match value.trim_end_matches('%').parse::<f64>() {
            Ok(percent) if (1.0..=1000.0).contains(&percent) => Ok(percent / 100.0),
            _ => Err(format!("'{value}' is not a percentage in 1%..=1000%")),
        }
    }

    fn kernel_name(value: &str) -> Result<bench::Kernel, String> {
        bench::Kernel::from_name(value).ok_or_else(|| format!("'{value}' is not step or pack"))
    }

    fn scenario_name(value: &str) -> Result<Scenario, String> {
        Scenario::from_name(value)
            .ok_or_else(|| format!("'{value}' is not one of {}", Scenario::names()))
    }

    fn backend_name(value: &str) -> Result<Backend, String> {
        let names = || Backend::ALL.map(Backend::name).join(", ");
        let backend = Backend::from_name(value)
            .ok_or_else(|| format!("'{value}' is not one of {}", names()))?;
        if backend.is_available() {
            Ok(backend)
        } else {
            let here: Vec<_> = Backend::available().map(Backend::name).collect();
            Err(format!(
                "'{value}' cannot run here; this machine has {}",
                here.join(", ")
            ))
        }
    }

    fn budget_ms(value: &str) -> Result<f64, String> {
        let range = sparkbench::capture::capacity::BUDGET_RANGE_MS;
        match value.parse::<f64>() {
            Ok(ms) if range.contains(&ms) => Ok(ms),
            _ => Err(format!(
                "'{value}' is not a budget in milliseconds in {}..={}",
                range.start(),
                range.end()
            )),
        }
    }

    fn seconds(value: &str) -> Result<f64, String> {
        match value.parse::<f64>() {
            Ok(s) if (0.05..=60.0).contains(&s) => Ok(s),
            _ => Err(format!("'{value}' is not a number of seconds in 0.05..=60")),
        }
    }

    fn pool_size(value: &str) -> Result<usize, String> {
        match value.parse::<usize>() {
            Ok(n) if (1..=sim::pool::MAX_CAPACITY).contains(&n) => Ok(n),
            _ => Err(format!(
                "'{value}' is not a particle count in 1..={}",
                sim::pool::MAX_CAPACITY
            )),
        }
    }

    pub(super) fn run() -> ExitCode {
        let cli = Cli::parse();
        match cli.command {
            None => play(cli.play),
            Some(Command::Play(args)) => play(args),
            Some(Command::Checksum(args)) => {
                let backend = args.backend.unwrap_or_else(Backend::best);
                let checksum = sim::determinism_checksum(args.seed, backend, args.steps);
                println!("{checksum:016x}");
                ExitCode::SUCCESS
            }
            Some(Command::AllocBench(args)) => alloc_bench(&args),
            Some(Command::KernelRuns(args)) => {
                bench::run_kernel_fixed(
                    args.kernel,
                    args.backend,
                    args.particles,
                    args.runs as usize,
                );
                ExitCode::SUCCESS
            }
            Some(Command::Capture(args)) => capture_command::record(&args),
            Some(Command::Compare(args)) => capture_command::compare(&args),
            Some(Command::Report(args)) => capture_command::report(&args),
            Some(Command::Capacity(args)) => capture_command::capacity(&args),
            Some(Command::History(args)) => capture_command::history(&args),
            Some(Command::Bench(args)) => {
                let timings = bench::time_kernels(&args.sizes, args.seconds);
                let title = format!("native {} ({})", std::env::consts::ARCH, build_profile());
                print!("{}", bench::format_table(&title, &timings));
                let particles = bench::SIZES[2];
                let threads = bench::time_threads(
                    particles,
                    Backend::best(),
                    &bench::thread_counts(),
                    args.seconds,
                );
                print!(
                    "{}",
                    bench::format_thread_table(particles, Backend::best(), &threads)
                );
                ExitCode::SUCCESS
            }
        }
    }

    fn build_profile() -> &'static str {
        if cfg!(debug_assertions) {
            "debug assertions on"
        } else {
            "release build"
        }
    }

    fn alloc_bench(args: &AllocBenchArgs) -> ExitCode {
        let events = std::fs::read(&args.trace)
            .map_err(|error| error.to_string())
            .and_then(|bytes| memory::trace::decode(&bytes));
        match events {
            Ok(events) => {
                let threads = std::thread::available_parallelism().map_or(2, usize::from);
                let place = format!("native {} ({})", std::env::consts::ARCH, build_profile());
                for (threads, title) in [
                    (
                        1,
                        format!("allocation trace {} on {place}", args.trace.display()),
                    ),
                    (
                        threads,
                        format!(
                            "the same trace on {threads} threads at once (time per call over all threads)"
                        ),
                    ),
                ] {
                    match memory::bench::compare_on_trace(&events, args.rounds as usize, threads) {
                        Ok(rows) => print!("{}", memory::bench::format_table(&title, &rows)),
                        Err(error) => {
                            eprintln!("error: {error}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {}: {error}", args.trace.display());
                ExitCode::from(2)
            }
        }
    }

    mod capture_command {
        //! `capture`, `compare` and `report`: the command-line side of `sparkbench::capture`.

        use std::path::{Path, PathBuf};
        use std::process::ExitCode;

        use bevy::prelude::*;
        use indicatif::{ProgressBar, ProgressStyle};
        use sparkbench::capture::{
            self, CapacityConfig, CapacityRun, CaptureFile, CaptureRecorder, FinishedCapture,
            compare::{CompareOptions, compare as judge},
            formats,
            history::History,
            report::html,
        };
        use sparkbench::scenario::ScenarioChoice;
        use sparkbench::{AppMode, app};

        use super::{
            BackendChoice, CapacityArgs, CaptureArgs, CaptureFormat, CompareArgs, HistoryArgs,
            ReportArgs,
        };

        pub(super) fn record(args: &CaptureArgs) -> ExitCode {
            let choice = ScenarioChoice {
                scenario: args.scenario,
                particles: args
                    .particles
                    .unwrap_or_else(|| args.scenario.default_particles()),
                seed: args.run.seed,
            };
            let use_simd = args.run.backend == BackendChoice::Simd;
            let recorder = CaptureRecorder::new(args.frames, args.warmup, args.run.headless);
            let bar = progress_bar(
                u64::from(args.frames + args.warmup),
                "capturing {bar:40} {pos}/{len} frames ({eta} left)",
            );
            let progress = {
                let bar = bar.clone();
                move |world: &World| {
                    if let Some(recorder) = world.get_resource::<CaptureRecorder>() {
                        bar.set_position(u64::from(recorder.progress().0));
                    }
                }
            };
            let capture = if args.run.headless {
                let mut app = capture::headless_app(choice, use_simd);
                Some(capture::run_headless(&mut app, recorder, progress))
            } else {
                rendered(choice, use_simd, recorder, progress)
            };
            bar.finish_and_clear();
            let Some(capture) = capture else {
                eprintln!("error: the app stopped before the capture finished");
                return ExitCode::FAILURE;
            };
            match write(&args.out, args.format, args.trace.as_deref(), &capture) {
                Ok(()) => {
                    let s = &capture.summary;
                    println!(
                        "{} frames of {} ({} particles): p50 {:.3} ms, p95 {:.3} ms, {} over budget, {:.1} allocations per frame; checksum {} -> {}",
                        capture.samples.len(),
                        capture.settings.scenario,
                        capture.settings.particles,
                        s.p50_ms,
                        s.p95_ms,
                        s.hitches,
                        s.allocations_per_frame,
                        capture.checksum,
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }

        /// A progress bar over `frames` frames, drawn with `template` (indicatif's).
        fn progress_bar(frames: u64, template: &str) -> ProgressBar {
            let bar = ProgressBar::new(frames);
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        }

        /// The full app in a window, one step a frame, with `measure` (a capture recorder
        /// or a capacity search) inserted, until its capture is in; `on_frame` sees the
        /// world after every frame.
        fn rendered(
            choice: ScenarioChoice,
            use_simd: bool,
            measure: impl Resource,
            on_frame: impl Fn(&World) + Send + Sync + 'static,
        ) -> Option<CaptureFile> {
            let (sender, receiver) = std::sync::mpsc::channel();
            let mut app = app(AppMode::FixedStep);
            app.insert_resource(choice).insert_resource(measure);
            app.world_mut()
                .resource_mut::<sparkbench::sim::SimSettings>()
                .use_simd = use_simd;
            app.add_systems(Last, move |world: &mut World| {
                on_frame(world);
                if let Some(finished) = world.remove_resource::<FinishedCapture>() {
                    let _ = sender.send(finished.0);
                    world.write_message(AppExit::Success);
                }
            });
            app.run();
            receiver.try_recv().ok()
        }

        /// `capacity`: the search, headless or rendered, written as a capture.
        pub(super) fn capacity(args: &CapacityArgs) -> ExitCode {
            let choice = ScenarioChoice {
                scenario: args.scenario,
                particles: args.start,
                seed: args.run.seed,
            };
            let use_simd = args.run.backend == BackendChoice::Simd;
            let config = CapacityConfig {
                start: args.start,
                ..CapacityConfig::new(args.budget)
            };
            let bar = progress_bar(
                u64::from(config.max_frames()),
                "searching {bar:40} {pos} frames of at most {len}, {msg}",
            );
            let progress = {
                let bar = bar.clone();
                move |world: &World| {
                    if let Some(run) = world.get_resource::<CapacityRun>() {
                        let (frames, _, count) = run.progress();
                        bar.set_position(u64::from(frames));
                        bar.set_message(format!("probing {count} particles"));
                    }
                }
            };
            let run = CapacityRun::new(config, args.run.headless);
            let capture = if args.run.headless {
                let mut app = capture::headless_app(choice, use_simd);
                Some(capture::run_headless(&mut app, run, progress))
            } else {
                rendered(choice, use_simd, run, progress)
            };
            bar.finish_and_clear();
            let Some(capture) = capture else {
                eprintln!("error: the app stopped before the search finished");
                return ExitCode::FAILURE;
            };
            let Some(capacity) = &capture.capacity else {
                eprintln!("error: the search finished without a score");
                return ExitCode::FAILURE;
            };
            match write(&args.out, args.format, None, &capture) {
                Ok(()) => {
                    println!(
                        "{} {} ({} frames measured, {} run) -> {}",
                        capture.settings.scenario,
                        capacity.describe(),
                        capacity.frames_measured,
                        capacity.frames_run,
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }

        /// Writes `capture` to `out` in `format`, and its trace events to `trace` if given.
        fn write(
            out: &Path,
            format: CaptureFormat,
            trace: Option<&Path>,
            capture: &CaptureFile,
        ) -> Result<(), String> {
            let text = match format {
                CaptureFormat::Json => capture.to_json(),
                CaptureFormat::Bmf => formats::bencher_metric_format(capture),
            };
            std::fs::write(out, text)
                .map_err(|error| format!("cannot write {}: {error}", out.display()))?;
            if let Some(trace) = trace {
                std::fs::write(trace, formats::chrome_trace(capture))
                    .map_err(|error| format!("cannot write {}: {error}", trace.display()))?;
            }
            Ok(())
        }

        pub(super) fn compare(args: &CompareArgs) -> ExitCode {
            let options = CompareOptions {
                threshold: args.threshold,
                across: args.across,
            };
            let captures = read_side(&args.base).and_then(|base| Ok((base, read_side(&args.new)?)));
            let comparison = captures.and_then(|(base, new)| judge(&base, &new, options));
            match comparison {
                Ok(comparison) => {
                    print!("{}", comparison.to_table());
                    if comparison.checksum_change.is_some() {
                        ExitCode::from(3)
                    } else if comparison.regressed() {
                        println!(
                            "regressed: beyond {:.0}%, the frame-to-frame spread and the runs' \
                             own disagreement",
                            args.threshold * 100.0
                        );
                        ExitCode::from(1)
                    } else if comparison.inconclusive() {
                        println!(
                            "inconclusive: the machine was too noisy, or the runs too few, to \
                             tell a change beyond {:.0}% from a slower minute",
                            args.threshold * 100.0
                        );
                        ExitCode::from(4)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }

        /// One side of a comparison: the capture at `path`, or every `.json` capture in the
        /// folder at `path`, in name order.
        fn read_side(path: &Path) -> Result<Vec<CaptureFile>, String> {
            if !path.is_dir() {
                return Ok(vec![CaptureFile::read(path)?]);
            }
            let files = json_files_in(path, false)?;
            if files.is_empty() {
                return Err(format!(
                    "{}: the folder holds no .json captures",
                    path.display()
                ));
            }
            files.iter().map(|file| CaptureFile::read(file)).collect()
        }

        /// Every `.json` file in `folder` (and, when `recursive`, its subfolders), in path
        /// order.
        fn json_files_in(folder: &Path, recursive: bool) -> Result<Vec<PathBuf>, String> {
            let mut files = Vec::new();
            let mut folders = vec![folder.to_path_buf()];
            while let Some(folder) = folders.pop() {
                let entries = std::fs::read_dir(&folder)
                    .map_err(|error| format!("{}: {error}", folder.display()))?;
                for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
                    if path.is_dir() {
                        if recursive {
                            folders.push(path);
                        }
                    } else if path.extension().is_some_and(|ext| ext == "json") {
                        files.push(path);
                    }
                }
            }
            files.sort();
            Ok(files)
        }

        /// `history`: every capture under the folder, as a trend page. Files that are not
        /// captures this build reads are skipped, named on the page and here.
        pub(super) fn history(args: &HistoryArgs) -> ExitCode {
            let files = match json_files_in(&args.folder, true) {
                Ok(files) => files,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            };
            let mut captures = Vec::new();
            let mut skipped = Vec::new();
            for file in &files {
                match CaptureFile::read(file) {
                    Ok(capture) => captures.push(capture),
                    Err(error) => {
                        eprintln!("skipped {error}");
                        skipped.push(error);
                    }
                }
            }
            if captures.is_empty() {
                eprintln!(
                    "error: {}: no captures this build reads ({} .json files)",
                    args.folder.display(),
                    files.len()
                );
                return ExitCode::from(2);
            }
            let history = History::of(&captures);
            for (series, metric, point) in history.marked() {
                let median = point.outside.map_or(0.0, |(median, _)| median);
                println!(
                    "outside the trailing spread: {} of {} on {} at {}: {:.3} (trailing median \
                     {median:.3})",
                    metric.name(),
                    series.run,
                    series.machine,
                    point.revision,
                    point.value
                );
            }
            match std::fs::write(&args.out, history.to_html(&skipped)) {
                Ok(()) => {
                    println!(
                        "history of {} captures in {} series -> {}",
                        captures.len(),
                        history.series.len(),
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: cannot write {}: {error}", args.out.display());
                    ExitCode::FAILURE
                }
            }
        }

        pub(super) fn report(args: &ReportArgs) -> ExitCode {
            let mut captures = Vec::new();
            let mut names = Vec::new();
            for path in &args.captures {
                match CaptureFile::read(path) {
                    Ok(capture) => captures.push(capture),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::from(2);
                    }
                }
                names.push(path.display().to_string());
            }
            match std::fs::write(&args.out, html(&captures, &names)) {
                Ok(()) => {
                    println!(
                        "report of {} captures -> {}",
                        captures.len(),
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: cannot write {}: {error}", args.out.display());
                    ExitCode::FAILURE
                }
            }
        }
    }

    fn play(args: PlayArgs) -> ExitCode {
        if args.alloc_trace.is_some() {
            memory::start_trace(TRACE_EVENTS);
        }
        let mode = match args.frames {
            Some(frames) => AppMode::Scripted(ScriptedRun {
                frames,
                screenshot: args.screenshot,
                report: args.report,
            }),
            None => AppMode::Interactive,
        };
        let mut app = app(mode);
        app.world_mut().resource_mut::<sim::SimSettings>().use_simd =
            args.backend == BackendChoice::Simd;
        app.insert_resource(ScenarioChoice {
            scenario: args.scenario,
            particles: args
                .particles
                .unwrap_or_else(|| args.scenario.default_particles()),
            seed: args.seed,
        });
        let success = app.run().is_success();
        drop(app);
        if let Some(path) = args.alloc_trace {
            let events = memory::stop_trace();
            if let Err(error) = std::fs::write(&path, memory::trace::encode(&events)) {
                eprintln!("error: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            println!(
                "{} allocator calls recorded to {}",
                events.len(),
                path.display()
            );
        }
        if success {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
