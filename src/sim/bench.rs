//! Kernel timings in this run: nanoseconds per particle for each kernel (the step and the
//! instance pack), backend and pool size, the median of repeated runs on one thread; and
//! the same kernels split across 1, 2 and more threads by the dispatcher. `sparkbench
//! bench` prints them natively and `window.sparkbench.bench()` returns the first from the
//! browser, so both tables come from the same code.

use bevy::math::Vec3;
use bevy::platform::time::Instant;

use super::kernels::{self, Backend, Dispatcher, RECORD_WORDS, StepParams};
use super::pool::{NewParticle, ParticlePool};
use super::{Attractor, SimRng, SimSettings, fixed_step_seconds};

/// Pool sizes the table covers, in particles.
pub const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// A kernel the table times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// One simulation step: forces, integration, bounds and age.
    Step,
    /// Colour and size over the lifetime, interleaved with positions into the renderer's instance records.
    Pack,
}

impl Kernel {
    /// Both kernels, in table order.
    pub const ALL: [Self; 2] = [Self::Step, Self::Pack];

    /// The kernel called `name` (`step` or `pack`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kernel| kernel.name() == name)
    }

    /// The kernel's name in tables and the JS API.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Pack => "pack",
        }
    }
}

/// One cell of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelTiming {
    /// The kernel measured.
    pub kernel: Kernel,
    /// The backend measured.
    pub backend: Backend,
    /// Live particles in the pool.
    pub particles: usize,
    /// Median time of one run over the whole pool, in milliseconds.
    pub run_ms: f64,
    /// `run_ms` per particle, in nanoseconds.
    pub ns_per_particle: f64,
    /// Runs timed (in samples of one or more runs each).
    pub runs: usize,
}

/// The settings the benchmark runs with: gravity, drag, two attractors and bounds for the
/// step (the noise field is off, as in most scenarios), and the default colour and size
/// gradients for the pack.
#[must_use]
pub fn bench_settings() -> SimSettings {
    let mut settings = SimSettings::default();
    settings.forces.attractors = vec![
        Attractor {
            position: Vec3::new(0.0, 5.0, 0.0),
            strength: 30.0,
            softening: 0.5,
        },
        Attractor {
            position: Vec3::new(4.0, 2.0, 0.0),
            strength: -10.0,
            softening: 0.5,
        },
    ];
    settings
}

/// A full pool of `particles` random particles (seeded, so every run steps the same ones).
#[must_use]
pub fn filled_pool(particles: usize) -> ParticlePool {
    let mut pool = ParticlePool::with_capacity(particles);
    let mut rng = SimRng::new(42);
    while pool.free() > 0 {
        let pos = rng.in_ball() * 10.0 + Vec3::new(0.0, 10.0, 0.0);
        let vel = rng.in_ball() * 5.0;
        pool.push(NewParticle {
            pos: pos.to_array(),
            vel: vel.to_array(),
            lifetime: 1.0e6,
        });
    }
    pool
}

/// Steps after which a timed pool starts again from its seeded state. With no deaths and
/// with drag, the resting particles' sideways velocities decay into subnormal floats after
/// about 50,000 steps and stay there (a subnormal times the damping can round back to
/// itself); x86 then runs every backend at about 15 ns per particle in microcode assists,
/// and a long run would time that instead of the kernels.
pub const RESTART_STEPS: usize = 1000;

/// A pool for timing the step: a copy of `template` that starts again from it every
/// [`RESTART_STEPS`] steps.
pub struct SteppedPool<'a> {
    template: &'a ParticlePool,
    pool: ParticlePool,
    steps: usize,
}

impl<'a> SteppedPool<'a> {
    /// A copy of `template`, ready to step.
    #[must_use]
    pub fn new(template: &'a ParticlePool) -> Self {
        Self {
            template,
            pool: template.clone(),
            steps: 0,
        }
    }

    /// One step of the whole pool with `backend`, on this thread.
    pub fn step(&mut self, backend: Backend, params: &StepParams) {
        self.restart_when_due();
        kernels::step_on_this_thread(backend, self.pool.columns_mut(), params);
    }

    /// One step of the whole pool with `backend`, split by `dispatcher`.
    pub fn step_split(&mut self, backend: Backend, params: &StepParams, dispatcher: &Dispatcher) {
        self.restart_when_due();
        kernels::step(backend, self.pool.columns_mut(), params, dispatcher);
    }

    fn restart_when_due(&mut self) {
        if self.steps % RESTART_STEPS == RESTART_STEPS - 1 {
            self.pool = self.template.clone();
        }
        self.steps += 1;
    }
}

/// Shortest stretch timed as one sample, in seconds: browsers round `performance.now()` to
/// as coarse as 0.1 ms (2% of this), so small pools are stepped several times per sample.
const MIN_SAMPLE_S: f64 = 0.005;

/// Runs `kernel` until about `budget_s` seconds have passed (at least 5 samples); returns
/// the median run in milliseconds and how many runs were timed.
fn median_run_ms(mut kernel: impl FnMut(), budget_s: f64) -> (f64, usize) {
    let batch = batch_size(&mut kernel);
    let mut samples = Vec::with_capacity(256);
    let started = Instant::now();
    while samples.len() < 5 || (started.elapsed().as_secs_f64() < budget_s && samples.len() < 256) {
        let start = Instant::now();
        for _ in 0..batch {
            kernel();
        }
        samples.push(start.elapsed().as_secs_f64() * 1000.0 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples.len() * batch)
}

/// Runs of `kernel` per sample: doubled from 1 until a batch takes [`MIN_SAMPLE_S`] (at
/// most 8192). Sized on warm runs, not the first: a browser's first runs are still
/// unoptimised code, and a batch sized from them was too short to time once the fast
/// code took over (a 10,000-particle wasm step read as 0 ns).
fn batch_size(kernel: &mut impl FnMut()) -> usize {
    kernel();
    let mut batch = 1;
    while batch < 8192 {
        let start = Instant::now();
        for _ in 0..batch {
            kernel();
        }
        if start.elapsed().as_secs_f64() >= MIN_SAMPLE_S {
            break;
        }
        batch *= 2;
    }
    batch
}

/// Runs `kernel` exactly `runs` times over a full pool of `particles` on `backend`, on
/// this thread: a fixed amount of work, for counting instructions under callgrind (the
/// loop is in [`repeat_kernel`], so a profiler can count it alone).
pub fn run_kernel_fixed(kernel: Kernel, backend: Backend, particles: usize, runs: usize) {
    let mut pool = filled_pool(particles);
    let mut records = vec![0_u32; particles * RECORD_WORDS];
    repeat_kernel(kernel, backend, &mut pool, &mut records, runs);
}

/// The counted loop of [`run_kernel_fixed`].
#[inline(never)]
pub fn repeat_kernel(
    kernel: Kernel,
    backend: Backend,
    pool: &mut ParticlePool,
    records: &mut [u32],
    runs: usize,
) {
    let settings = bench_settings();
    let params = settings.step_params(fixed_step_seconds(), 0.0);
    let looks = settings.look_params();
    for _ in 0..runs {
        match kernel {
            Kernel::Step => kernels::step_on_this_thread(backend, pool.columns_mut(), &params),
            Kernel::Pack => {
                kernels::pack_on_this_thread(backend, pool.particles(), &looks, records);
            }
        }
    }
}

/// Times both kernels on every available backend at every size in `sizes`, spending about
/// `budget_s` seconds on each cell.
#[must_use]
pub fn time_kernels(sizes: &[usize], budget_s: f64) -> Vec<KernelTiming> {
    let settings = bench_settings();
    let params = settings.step_params(fixed_step_seconds(), 0.0);
    let looks = settings.look_params();
    let mut timings = Vec::new();
    for &particles in sizes {
        let template = filled_pool(particles);
        let mut records = vec![0_u32; particles * RECORD_WORDS];
        for kernel in Kernel::ALL {
            for backend in Backend::available() {
                let (run_ms, runs) = match kernel {
                    Kernel::Step => {
                        let mut pool = SteppedPool::new(&template);
                        median_run_ms(|| pool.step(backend, &params), budget_s)
                    }
                    Kernel::Pack => median_run_ms(
                        || {
                            kernels::pack_on_this_thread(
                                backend,
                                template.particles(),
                                &looks,
                                &mut records,
                            );
                        },
                        budget_s,
                    ),
                };
                timings.push(KernelTiming {
                    kernel,
                    backend,
                    particles,
                    run_ms,
                    ns_per_particle: run_ms * 1.0e6 / particles as f64,
                    runs,
                });
            }
        }
    }
    timings
}

/// Step and pack over one pool on a number of threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadTiming {
    /// Threads taking part, the caller's included.
    pub threads: usize,
    /// Median step over the whole pool, in milliseconds.
    pub step_ms: f64,
    /// Median pack of the whole pool, in milliseconds.
    pub pack_ms: f64,
}

/// The thread counts [`time_threads`] measures: 1, 2, then doubling up to the threads
/// this process may run, and that number itself.
#[must_use]
pub fn thread_counts() -> Vec<usize> {
    let most = Dispatcher::available_threads().max(2);
    let mut counts: Vec<usize> = core::iter::successors(Some(1_usize), |n| Some(n * 2))
        .take_while(|&n| n <= most)
        .collect();
    if counts.last() != Some(&most) {
        counts.push(most);
    }
    counts
}

/// Times step and pack over a full pool of `particles` with `backend` on each of
/// `thread_counts`, spending about `budget_s` seconds on each kernel and count. The runs
/// alternate between counts within each kernel's budget, so a slow spell on a shared
/// machine falls on all of them alike.
#[must_use]
pub fn time_threads(
    particles: usize,
    backend: Backend,
    thread_counts: &[usize],
    budget_s: f64,
) -> Vec<ThreadTiming> {
    let dispatchers: Vec<Dispatcher> = thread_counts.iter().map(|&n| Dispatcher::new(n)).collect();
    time_threads_on(particles, backend, thread_counts, budget_s, |index| {
        &dispatchers[index]
    })
}

/// As [`time_threads`], on the dispatcher `dispatcher(index)` gives for the count at
/// `index` in `thread_counts` (called before each of its runs: one dispatcher whose thread
/// count it sets will do, as the page's Web Workers are).
#[must_use]
pub fn time_threads_on<'d>(
    particles: usize,
    backend: Backend,
    thread_counts: &[usize],
    budget_s: f64,
    dispatcher: impl Fn(usize) -> &'d Dispatcher,
) -> Vec<ThreadTiming> {
    let settings = bench_settings();
    let params = settings.step_params(fixed_step_seconds(), 0.0);
    let looks = settings.look_params();
    let template = filled_pool(particles);
    let mut pools: Vec<SteppedPool> = thread_counts
        .iter()
        .map(|_| SteppedPool::new(&template))
        .collect();
    let mut records = vec![0_u32; particles * RECORD_WORDS];
    let mut step_ms = vec![Vec::new(); thread_counts.len()];
    let mut pack_ms = vec![Vec::new(); thread_counts.len()];
    let started = Instant::now();
    let rounds_budget = budget_s * thread_counts.len() as f64 * 2.0;
    while step_ms[0].len() < 5
        || (started.elapsed().as_secs_f64() < rounds_budget && step_ms[0].len() < 256)
    {
        for index in 0..thread_counts.len() {
            let dispatcher = dispatcher(index);
            let start = Instant::now();
            pools[index].step_split(backend, &params, dispatcher);
            step_ms[index].push(start.elapsed().as_secs_f64() * 1000.0);
            let start = Instant::now();
            kernels::pack(
                backend,
                template.particles(),
                &looks,
                &mut records,
                dispatcher,
            );
            pack_ms[index].push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    thread_counts
        .iter()
        .zip(step_ms.iter_mut().zip(&mut pack_ms))
        .map(|(&threads, (step, pack))| ThreadTiming {
            threads,
            step_ms: median(step),
            pack_ms: median(pack),
        })
        .collect()
}

/// The median of `samples` (sorted in place).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The thread timings as text: step, pack and both in milliseconds per thread count, and
/// the speed-up of both over one thread measured in the same run.
#[must_use]
pub fn format_thread_table(particles: usize, backend: Backend, timings: &[ThreadTiming]) -> String {
    use core::fmt::Write;
    let mut out = format!(
        "threads: step and pack of {particles} particles on {backend} (median ms)\n{:>8} {:>9} {:>9} {:>10} {:>9}\n",
        "threads", "step", "pack", "step+pack", "speed-up"
    );
    let one = timings.first().map_or(f64::NAN, |t| t.step_ms + t.pack_ms);
    for t in timings {
        let both = t.step_ms + t.pack_ms;
        let _ = writeln!(
            out,
            "{:>8} {:>9.3} {:>9.3} {:>10.3} {:>8.2}x",
            t.threads,
            t.step_ms,
            t.pack_ms,
            both,
            one / both
        );
    }
    out
}

/// The timings as text: for each kernel a table of ns per particle for each backend, and
/// the best SIMD backend's speed-up over scalar measured in the same run.
#[must_use]
pub fn format_table(title: &str, timings: &[KernelTiming]) -> String {
    let mut out = format!("{title}\n");
    for kernel in Kernel::ALL {
        let rows: Vec<KernelTiming> = timings
            .iter()
            .filter(|t| t.kernel == kernel)
            .copied()
            .collect();
        if !rows.is_empty() {
            out.push_str(&format_kernel_table(kernel, &rows));
        }
    }
    out
}

/// One kernel's table: a row per pool size, a column per backend.
fn format_kernel_table(kernel: Kernel, timings: &[KernelTiming]) -> String {
    use core::fmt::Write;
    let backends: Vec<Backend> = Backend::available().collect();
    let mut sizes: Vec<usize> = timings.iter().map(|t| t.particles).collect();
    sizes.dedup();
    let name = kernel.name();
    let mut out = format!(
        "{name}: ns per particle (median {name}, one thread)\n{:>10}",
        "particles"
    );
    for backend in &backends {
        let _ = write!(out, " {:>9}", backend.name());
    }
    let _ = writeln!(
        out,
        " {:>12} {:>14}",
        "simd/scalar",
        format!("best {name} ms")
    );
    for particles in sizes {
        let cell = |backend: Backend| {
            timings
                .iter()
                .find(|t| t.particles == particles && t.backend == backend)
        };
        let _ = write!(out, "{particles:>10}");
        for &backend in &backends {
            match cell(backend) {
                Some(t) => {
                    let _ = write!(out, " {:>9.3}", t.ns_per_particle);
                }
                None => {
                    let _ = write!(out, " {:>9}", "-");
                }
            }
        }
        let best = cell(Backend::best());
        let ratio = match (cell(Backend::Scalar), best) {
            (Some(scalar), Some(best)) => scalar.run_ms / best.run_ms,
            _ => f64::NAN,
        };
        let _ = writeln!(
            out,
            " {:>11.2}x {:>14.3}",
            ratio,
            best.map_or(f64::NAN, |t| t.run_ms)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_count_is_timed_and_tabled_against_one_thread() {
        let counts = thread_counts();
        assert_eq!(counts[..2], [1, 2]);
        assert!(counts.windows(2).all(|pair| pair[0] < pair[1]));
        let timings = time_threads(70_000, Backend::best(), &[1, 2], 0.0);
        assert_eq!(
            timings.iter().map(|t| t.threads).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(timings.iter().all(|t| t.step_ms > 0.0 && t.pack_ms > 0.0));
        let table = format_thread_table(70_000, Backend::best(), &timings);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].contains("70000 particles"), "{table}");
        assert!(
            lines[2].trim_start().starts_with('1') && lines[2].ends_with("1.00x"),
            "{table}"
        );
        assert!(lines[3].trim_start().starts_with('2'), "{table}");
    }

    #[test]
    fn every_available_backend_and_size_is_timed_and_tabled() {
        let timings = time_kernels(&[64, 1000], 0.0);
        let backends = Backend::available().count();
        assert_eq!(timings.len(), 2 * 2 * backends);
        assert!(
            timings
                .iter()
                .all(|t| t.runs >= 5 && t.run_ms > 0.0 && t.ns_per_particle > 0.0)
        );
        let table = format_table("test", &timings);
        for name in Backend::available()
            .map(Backend::name)
            .chain(Kernel::ALL.map(Kernel::name))
        {
            assert!(table.contains(name), "{table}");
        }
        // A title, then per kernel a caption, a header and a row per size.
        assert_eq!(table.lines().count(), 1 + 2 * 4, "{table}");
    }
}
