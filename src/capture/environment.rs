//! Where a capture ran: machine, build and (on the web) browser, read at the end of the run.

use super::file::Environment;
use crate::perf::{GpuTimeSource, StartupTimes};
use crate::sim::Backend;

/// The environment of this process, with the kernels on `backend` split across
/// `kernel_threads` threads (`kernel_workers` of them Web Workers), `gpu_adapter`
/// rendering (if any) with its GPU time measured as `gpu_time` says and, in the browser,
/// the page's `startup` times.
#[must_use]
pub fn here(
    backend: Backend,
    kernel_threads: usize,
    kernel_workers: usize,
    gpu_adapter: Option<String>,
    gpu_time: GpuTimeSource,
    startup: Option<StartupTimes>,
) -> Environment {
    Environment {
        os: if cfg!(target_arch = "wasm32") {
            "browser".to_owned()
        } else {
            std::env::consts::OS.to_owned()
        },
        arch: std::env::consts::ARCH.to_owned(),
        cpu_model: cpu_model(),
        cpu_cores: cpu_cores(),
        simd_backend: backend.name().to_owned(),
        kernel_threads: u32::try_from(kernel_threads).unwrap_or(u32::MAX),
        kernel_workers: u32::try_from(kernel_workers).unwrap_or(u32::MAX),
        build_profile: env!("SPARKBENCH_PROFILE").to_owned(),
        sparkbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: option_env!("SPARKBENCH_GIT_REVISION").map(str::to_owned),
        commit_time: option_env!("SPARKBENCH_COMMIT_TIME").and_then(|time| time.parse().ok()),
        bevy_version: env!("SPARKBENCH_BEVY_VERSION").to_owned(),
        user_agent: user_agent(),
        gpu_adapter,
        gpu_time: Some(gpu_time.describe()),
        startup,
    }
}

#[cfg(target_os = "linux")]
fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_owned())
}

#[cfg(not(target_os = "linux"))]
fn cpu_model() -> Option<String> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
fn cpu_cores() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |cores| u32::try_from(cores.get()).unwrap_or(u32::MAX))
}

#[cfg(target_arch = "wasm32")]
fn cpu_cores() -> u32 {
    web_sys::window().map_or(1, |window| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a browser's core count, a small positive whole number"
        )]
        let cores = window.navigator().hardware_concurrency() as u32;
        cores
    })
}

#[cfg(target_arch = "wasm32")]
fn user_agent() -> Option<String> {
    web_sys::window().and_then(|window| window.navigator().user_agent().ok())
}

#[cfg(not(target_arch = "wasm32"))]
fn user_agent() -> Option<String> {
    None
}
