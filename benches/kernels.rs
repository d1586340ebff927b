//! Criterion benchmarks of the kernels: one step, and one instance pack, over 10 k, 100 k
//! and 1 M particles for the scalar twin and every SIMD backend this CPU has, on one thread. Criterion
//! reports the time per step and the throughput in particles per second; ns per particle
//! is 1e9 / throughput. `sparkbench bench` prints the same kernels as one table with the
//! SIMD/scalar ratio.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sparkbench::sim::bench::{SIZES, SteppedPool, bench_settings, filled_pool};
use sparkbench::sim::fixed_step_seconds;
use sparkbench::sim::kernels::{Backend, RECORD_WORDS, pack_on_this_thread};

fn kernel_step(c: &mut Criterion) {
    let params = bench_settings().step_params(fixed_step_seconds(), 0.0);
    let mut group = c.benchmark_group("kernel_step");
    for particles in SIZES {
        group.throughput(Throughput::Elements(particles as u64));
        if particles >= 1_000_000 {
            group.sample_size(20);
        }
        let template = filled_pool(particles);
        for backend in Backend::available() {
            let mut pool = SteppedPool::new(&template);
            group.bench_function(BenchmarkId::new(backend.name(), particles), |b| {
                b.iter(|| pool.step(backend, &params));
            });
        }
    }
    group.finish();
}

fn kernel_pack(c: &mut Criterion) {
    let looks = bench_settings().look_params();
    let mut group = c.benchmark_group("kernel_pack");
    for particles in SIZES {
        group.throughput(Throughput::Elements(particles as u64));
        let pool = filled_pool(particles);
        let mut records = vec![0_u32; particles * RECORD_WORDS];
        for backend in Backend::available() {
            group.bench_function(BenchmarkId::new(backend.name(), particles), |b| {
                b.iter(|| pack_on_this_thread(backend, pool.particles(), &looks, &mut records));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernel_step, kernel_pack);
criterion_main!(benches);
