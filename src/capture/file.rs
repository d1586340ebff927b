//! The capture file: what one recorded run holds, as JSON, and how it is read back with
//! errors that say what is wrong and where.

use serde::{Deserialize, Serialize};

use super::capacity::Capacity;
use crate::perf::{FrameSummary, Phase, StartupTimes};

/// The schema this build writes and reads. Bump it when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 1;

/// One recorded run: where it ran, what it ran, every frame, and the state it ended in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureFile {
    /// [`SCHEMA_VERSION`] of the build that wrote it.
    pub schema_version: u32,
    /// The machine, build and browser.
    pub environment: Environment,
    /// What was run.
    pub settings: CaptureSettings,
    /// One per recorded frame (warm-up frames are not recorded), in order.
    pub samples: Vec<FrameSample>,
    /// Figures over all samples.
    pub summary: CaptureSummary,
    /// The particle pool's checksum after the last frame (16 hex digits), the same function
    /// as the determinism checksum.
    pub checksum: String,
    /// The capacity score, in a capture of a capacity search (whose samples are the frames
    /// measured at its lower confirming count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
}

/// Where a capture ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Operating system (`linux`, `macos`, `windows`, or `browser` in wasm32).
    pub os: String,
    /// CPU architecture (`x86_64`, `aarch64`, `wasm32`).
    pub arch: String,
    /// CPU model name, where the platform says it.
    pub cpu_model: Option<String>,
    /// Logical cores available to the process.
    pub cpu_cores: u32,
    /// The SIMD backend the kernels ran on (`avx2`, `simd128`, `scalar`, ...).
    pub simd_backend: String,
    /// Threads the step and pack kernels were split across (1 in captures from before
    /// the kernels' dispatcher, which ran them on one).
    #[serde(default = "one_thread")]
    pub kernel_threads: u32,
    /// How many of those threads were Web Workers (the threaded browser bundle); 0 natively,
    /// in the single-threaded bundle and in captures from before the workers.
    #[serde(default)]
    pub kernel_workers: u32,
    /// `release`, `web-release`, `ci` or `dev`: the Cargo profile's kind.
    pub build_profile: String,
    /// sparkbench's version from Cargo.toml.
    pub sparkbench_version: String,
    /// The git commit built (with `-dirty` for uncommitted changes), where known.
    pub git_revision: Option<String>,
    /// That commit's time in Unix seconds, where known (not in captures from before it
    /// was recorded): the order of revisions in a history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time: Option<u64>,
    /// The Bevy version built against.
    pub bevy_version: String,
    /// The browser's user agent (web captures only).
    pub user_agent: Option<String>,
    /// The GPU adapter that rendered (captures with rendering only).
    pub gpu_adapter: Option<String>,
    /// Where the samples' `gpu_ms` come from (`wgpu timestamp queries`,
    /// `EXT_disjoint_timer_query_webgl2`), or `not available: <why>`; absent in captures
    /// from before GPU time was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_time: Option<String>,
    /// How long the page took to start, navigation to first frame (web captures only, and
    /// not in captures from before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<StartupTimes>,
}

/// The kernel threads of a capture that does not say.
fn one_thread() -> u32 {
    1
}

/// What a capture ran. Two captures compare only when scenario, particles and seed match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSettings {
    /// Scenario name (`fountain`, `galaxy`, ...).
    pub scenario: String,
    /// Particle target.
    pub particles: u32,
    /// Seed of the simulation's random numbers.
    pub seed: u64,
    /// `simd` or `scalar`.
    pub backend: String,
    /// Frames recorded.
    pub frames: u32,
    /// Frames run before recording started.
    pub warmup: u32,
    /// Without window or GPU: simulation, pack and memory only.
    pub headless: bool,
    /// The frame budget the hitches count against, in milliseconds.
    pub budget_ms: f64,
    /// Fixed simulation steps taken by the end (1/60 s each).
    pub steps: u64,
}

/// One frame's measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameSample {
    /// Frame time, start to start, in milliseconds.
    pub frame_ms: f64,
    /// Each phase's time in milliseconds, in [`Phase::ALL`] order: simulate, pack, upload,
    /// overlay.
    pub phase_ms: [f64; Phase::ALL.len()],
    /// Where each phase first began, in milliseconds from the frame's start, in
    /// [`Phase::ALL`] order; `null` where it did not run (or in a file made before starts
    /// were recorded).
    #[serde(default)]
    pub phase_start_ms: [Option<f64>; Phase::ALL.len()],
    /// Heap allocations in the frame, all threads.
    pub allocations: u64,
    /// Live heap bytes at the end of the frame.
    pub live_bytes: u64,
    /// Live particles at the end of the frame.
    pub particles: u64,
    /// The GPU time whose result arrived during the frame, in milliseconds: a frame one to
    /// a few frames earlier, as the GPU reports late. `null` where none arrived, where the
    /// platform gives none (the environment's `gpu_time` says why) and in files made before
    /// GPU time was recorded.
    #[serde(default)]
    pub gpu_ms: Option<f64>,
}

/// Figures over every sample, in milliseconds unless named otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSummary {
    /// Mean frame time.
    pub mean_ms: f64,
    /// Median frame time.
    pub p50_ms: f64,
    /// 95th percentile frame time.
    pub p95_ms: f64,
    /// 99th percentile frame time.
    pub p99_ms: f64,
    /// Slowest frame.
    pub max_ms: f64,
    /// Frames over the budget.
    pub hitches: u64,
    /// Mean heap allocations per frame.
    pub allocations_per_frame: f64,
    /// Median of each phase, in [`Phase::ALL`] order.
    pub phase_p50_ms: [f64; Phase::ALL.len()],
    /// The most live heap bytes at the end of any frame.
    pub peak_live_bytes: u64,
}

impl CaptureSummary {
    /// The summary of `samples` against a budget of `budget_ms`.
    #[must_use]
    pub fn of(samples: &[FrameSample], budget_ms: f64) -> Self {
        let mut frame_ms: Vec<f64> = samples.iter().map(|sample| sample.frame_ms).collect();
        let frames = FrameSummary::of(&mut frame_ms, budget_ms);
        let phase_p50_ms = core::array::from_fn(|index| {
            let mut phase: Vec<f64> = samples.iter().map(|s| s.phase_ms[index]).collect();
            FrameSummary::of(&mut phase, f64::INFINITY).p50_ms
        });
        let allocations: u64 = samples.iter().map(|sample| sample.allocations).sum();
        let allocations_per_frame = if samples.is_empty() {
            0.0
        } else {
            allocations as f64 / samples.len() as f64
        };
        Self {
            mean_ms: frames.mean_ms,
            p50_ms: frames.p50_ms,
            p95_ms: frames.p95_ms,
            p99_ms: frames.p99_ms,
            max_ms: frames.max_ms,
            hitches: frames.hitches as u64,
            allocations_per_frame,
            phase_p50_ms,
            peak_live_bytes: samples.iter().map(|s| s.live_bytes).max().unwrap_or(0),
        }
    }
}

impl CaptureFile {
    /// The file as pretty-printed JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a capture from JSON text. The error says what is wrong: not JSON (with the
    /// line and column where it stops, as in a truncated file), not a capture, another
    /// schema version, a field of the wrong type (with its path), or no frames.
    ///
    /// # Errors
    ///
    /// A message naming the problem, as above.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
            if error.is_eof() {
                format!("the file ends early (truncated?): {error}")
            } else {
                format!("not JSON: {error}")
            }
        })?;
        let version = value
            .get("schema_version")
            .ok_or("not a sparkbench capture: it has no schema_version")?;
        let version = version.as_u64().ok_or_else(|| {
            format!("not a sparkbench capture: schema_version is {version}, not a number")
        })?;
        if version != u64::from(SCHEMA_VERSION) {
            let age = if version > u64::from(SCHEMA_VERSION) {
                "newer"
            } else {
                "older"
            };
            return Err(format!(
                "schema version {version} is {age} than this build reads ({SCHEMA_VERSION}); \
                 use a sparkbench build of that version, or record the capture again"
            ));
        }
        let capture: Self = serde_path_to_error::deserialize(value)
            .map_err(|error| format!("at {}: {}", error.path(), error.inner()))?;
        if capture.samples.is_empty() {
            return Err("the capture has no frames".to_owned());
        }
        capture.check_summary()?;
        Ok(capture)
    }

    /// Checks the file's summary against one computed from its samples, so figures edited
    /// by hand (or written by a broken build) are not trusted.
    ///
    /// # Errors
    ///
    /// Names each figure that disagrees, with both values.
    pub fn check_summary(&self) -> Result<(), String> {
        let from_samples = CaptureSummary::of(&self.samples, self.settings.budget_ms);
        let (file, samples) = (&self.summary, &from_samples);
        let mut figures = vec![
            ("mean_ms", file.mean_ms, samples.mean_ms),
            ("p50_ms", file.p50_ms, samples.p50_ms),
            ("p95_ms", file.p95_ms, samples.p95_ms),
            ("p99_ms", file.p99_ms, samples.p99_ms),
            ("max_ms", file.max_ms, samples.max_ms),
            ("hitches", file.hitches as f64, samples.hitches as f64),
            (
                "allocations_per_frame",
                file.allocations_per_frame,
                samples.allocations_per_frame,
            ),
            (
                "peak_live_bytes",
                file.peak_live_bytes as f64,
                samples.peak_live_bytes as f64,
            ),
        ];
        for (phase, (in_file, computed)) in Phase::ALL
            .iter()
            .zip(file.phase_p50_ms.iter().zip(samples.phase_p50_ms))
        {
            figures.push((phase.name(), *in_file, computed));
        }
        let wrong: Vec<String> = figures
            .into_iter()
            .filter(|&(_, in_file, computed)| {
                (in_file - computed).abs() > 1e-9 * computed.abs().max(1.0)
            })
            .map(|(name, in_file, computed)| {
                format!("{name} is {in_file} in the file but {computed} from the samples")
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the summary disagrees with the samples ({}); the file was edited or written \
                 by a broken build",
                wrong.join("; ")
            ))
        }
    }

    /// Reads a capture from the file at `path`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a capture this build reads; the message
    /// starts with the file's path.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Self::from_json(&text).map_err(|error| format!("{}: {error}", path.display()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small, valid capture whose frames take `frame_ms` each.
    pub(crate) fn sample_capture(frame_ms: &[f64]) -> CaptureFile {
        let samples: Vec<FrameSample> = frame_ms
            .iter()
            .map(|&ms| FrameSample {
                frame_ms: ms,
                phase_ms: [ms * 0.5, ms * 0.1, 0.0, 0.0],
                phase_start_ms: [Some(ms * 0.1), Some(ms * 0.7), None, None],
                allocations: 0,
                live_bytes: 1 << 20,
                particles: 20_000,
                gpu_ms: Some(ms * 0.25),
            })
            .collect();
        CaptureFile {
            schema_version: SCHEMA_VERSION,
            environment: Environment {
                os: "linux".into(),
                arch: "x86_64".into(),
                cpu_model: Some("test CPU".into()),
                cpu_cores: 2,
                simd_backend: "avx2".into(),
                kernel_threads: 2,
                kernel_workers: 0,
                build_profile: "release".into(),
                sparkbench_version: "0.1.0".into(),
                git_revision: None,
                commit_time: None,
                bevy_version: "0.20.0".into(),
                user_agent: None,
                gpu_adapter: None,
                gpu_time: Some("wgpu timestamp queries".into()),
                startup: None,
            },
            settings: CaptureSettings {
                scenario: "stress".into(),
                particles: 20_000,
                seed: 7,
                backend: "simd".into(),
                frames: u32::try_from(samples.len()).unwrap_or(u32::MAX),
                warmup: 10,
                headless: true,
                budget_ms: 1000.0 / 60.0,
                steps: 100,
            },
            summary: CaptureSummary::of(&samples, 1000.0 / 60.0),
            samples,
            checksum: "0123456789abcdef".into(),
            capacity: None,
        }
    }

    #[test]
    fn a_capture_reads_back_as_written() {
        let capture = sample_capture(&[1.5, 2.25, 3.0, 40.0]);
        let read = CaptureFile::from_json(&capture.to_json()).unwrap();
        assert_eq!(read, capture);
        assert_eq!(read.summary.hitches, 1);
    }

    #[test]
    fn a_web_capture_keeps_the_page_start_up_times() {
        let mut capture = sample_capture(&[1.5, 2.25]);
        capture.environment.startup =
            StartupTimes::from_marks([90.0, 400.0, 450.0, 520.0, 600.0, 980.0]);
        let json = capture.to_json();
        assert!(json.contains(r#""first_frame_ms": 980.0"#), "{json}");
        assert_eq!(CaptureFile::from_json(&json).unwrap(), capture);
        let native = sample_capture(&[1.5, 2.25]).to_json();
        assert!(
            !native.contains("startup"),
            "no start-up times where none were measured"
        );
    }

    #[test]
    fn a_truncated_file_says_it_ends_early() {
        let json = sample_capture(&[1.0, 2.0]).to_json();
        let error = CaptureFile::from_json(&json[..json.len() / 2]).unwrap_err();
        assert!(error.contains("ends early"), "{error}");
    }

    #[test]
    fn another_schema_version_is_named() {
        let mut capture = sample_capture(&[1.0]);
        capture.schema_version = SCHEMA_VERSION + 1;
        let error = CaptureFile::from_json(&capture.to_json()).unwrap_err();
        assert!(
            error.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
            "{error}"
        );
        assert!(error.contains("newer"), "{error}");
    }

    #[test]
    fn json_that_is_not_a_capture_is_refused() {
        let error = CaptureFile::from_json(r#"{"name": "not a capture"}"#).unwrap_err();
        assert!(error.contains("not a sparkbench capture"), "{error}");
        let error = CaptureFile::from_json("frame_ms,12\n").unwrap_err();
        assert!(error.contains("not JSON"), "{error}");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_its_path() {
        let json = sample_capture(&[1.0, 2.0]).to_json();
        let broken = json.replacen("\"frame_ms\": 2.0", "\"frame_ms\": \"fast\"", 1);
        assert_ne!(broken, json, "the edit took");
        let error = CaptureFile::from_json(&broken).unwrap_err();
        assert!(error.contains("samples[1].frame_ms"), "{error}");
        assert!(error.contains("invalid type"), "{error}");
    }

    /// Captures from before the dispatcher and before the workers lack the fields: they
    /// read as one kernel thread and no workers.
    #[test]
    fn a_capture_without_thread_or_worker_counts_reads_as_one_thread_and_no_workers() {
        let json = sample_capture(&[1.0]).to_json();
        let older = json.replacen("\"kernel_threads\": 2,", "", 1).replacen(
            "\"kernel_workers\": 0,",
            "",
            1,
        );
        assert_eq!(older.len() + 40, json.len(), "both fields were removed");
        let read = CaptureFile::from_json(&older).expect("an older capture reads");
        assert_eq!(
            (
                read.environment.kernel_threads,
                read.environment.kernel_workers
            ),
            (1, 0)
        );
    }

    #[test]
    fn a_summary_that_disagrees_with_the_samples_is_refused_by_figure() {
        let mut capture = sample_capture(&[1.0, 2.0, 3.0]);
        capture.summary.p95_ms = 2.5;
        capture.summary.phase_p50_ms[0] = 9.0;
        let error = CaptureFile::from_json(&capture.to_json()).unwrap_err();
        assert!(
            error.contains("p95_ms is 2.5 in the file but 3 from the samples"),
            "{error}"
        );
        assert!(
            error.contains("simulate is 9 in the file but 1 from the samples"),
            "{error}"
        );
        assert!(!error.contains("p50_ms"), "{error}");
        capture.summary = CaptureSummary::of(&capture.samples, capture.settings.budget_ms);
        assert!(CaptureFile::from_json(&capture.to_json()).is_ok());
    }

    #[test]
    fn a_capture_without_frames_is_refused() {
        let mut capture = sample_capture(&[1.0]);
        capture.samples.clear();
        let error = CaptureFile::from_json(&capture.to_json()).unwrap_err();
        assert!(error.contains("no frames"), "{error}");
    }
}
