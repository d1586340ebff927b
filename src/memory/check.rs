//! An allocator checked against a model: random allocations, frees and reallocations, with
//! every block's alignment, contents and separation verified after each step.
//!
//! The same check runs natively (steps from proptest) and in wasm32 (steps from a seeded
//! generator, through `window.sparkbench`'s module in Node), against the pools and against
//! the app's global allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// One step of a random allocation sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficStep {
    /// Allocate `size` bytes aligned to `1 << align_shift` (up to 4096).
    Alloc {
        /// Bytes, at least 1.
        size: usize,
        /// Log2 of the alignment, 0 to 12.
        align_shift: u32,
    },
    /// Free the held block at `pick % held`.
    Free {
        /// Which held block.
        pick: usize,
    },
    /// Resize the held block at `pick % held` to `new_size` bytes.
    Realloc {
        /// Which held block.
        pick: usize,
        /// Bytes, at least 1.
        new_size: usize,
    },
}

/// A size from one of three ranges: pooled small blocks, the largest classes, and beyond.
fn random_size(rng: &mut Pcg32) -> usize {
    let ceiling = [64, 2048, 70_000][rng.next_u32() as usize % 3];
    1 + rng.next_u32() as usize % ceiling
}

/// `count` random steps from `seed`.
#[must_use]
pub fn random_steps(seed: u64, count: usize) -> Vec<TrafficStep> {
    let mut rng = Pcg32::seed_from_u64(seed);
    (0..count)
        .map(|_| match rng.next_u32() % 3 {
            0 => TrafficStep::Alloc {
                size: random_size(&mut rng),
                align_shift: rng.next_u32() % 13,
            },
            1 => TrafficStep::Free {
                pick: rng.next_u32() as usize,
            },
            _ => TrafficStep::Realloc {
                pick: rng.next_u32() as usize,
                new_size: random_size(&mut rng),
            },
        })
        .collect()
}

/// A block held by the check, with the byte it was filled with.
struct Held {
    block: *mut u8,
    layout: Layout,
    fill: u8,
}

/// Runs `steps` on `allocator`, then frees everything; the error names the first step
/// where the allocator broke the model.
///
/// # Errors
/// A null block, a misaligned block, a block whose contents changed while held (or were
/// not carried over by a reallocation), or two held blocks that overlap.
pub fn run_traffic<A: GlobalAlloc>(allocator: &A, steps: &[TrafficStep]) -> Result<(), String> {
    let mut held: Vec<Held> = Vec::new();
    let result = steps
        .iter()
        .enumerate()
        .try_for_each(|(n, &step)| apply(allocator, &mut held, n, step));
    for block in held {
        // SAFETY: every held block came from `allocator` with its layout.
        unsafe { allocator.dealloc(block.block, block.layout) };
    }
    result
}

fn apply<A: GlobalAlloc>(
    allocator: &A,
    held: &mut Vec<Held>,
    n: usize,
    step: TrafficStep,
) -> Result<(), String> {
    let fill = u8::try_from(n % 251).unwrap_or(0);
    match step {
        TrafficStep::Alloc { size, align_shift } => {
            let layout = Layout::from_size_align(size.max(1), 1 << align_shift.min(12))
                .map_err(|error| format!("step {n}: {error}"))?;
            // SAFETY: `layout` has a non-zero size.
            let block = unsafe { allocator.alloc(layout) };
            let block = checked(block, layout, n)?;
            // SAFETY: the block holds `layout.size()` bytes.
            unsafe { ptr::write_bytes(block, fill, layout.size()) };
            held.push(Held {
                block,
                layout,
                fill,
            });
        }
        TrafficStep::Free { pick } if !held.is_empty() => {
            let block = held.swap_remove(pick % held.len());
            verify_contents(&block, block.layout.size(), n)?;
            // SAFETY: the block came from `allocator` with this layout.
            unsafe { allocator.dealloc(block.block, block.layout) };
        }
        TrafficStep::Realloc { pick, new_size } if !held.is_empty() => {
            let old = held.swap_remove(pick % held.len());
            let new_size = new_size.max(1);
            let layout = Layout::from_size_align(new_size, old.layout.align())
                .map_err(|error| format!("step {n}: {error}"))?;
            // SAFETY: the block came from `allocator` with `old.layout`; `new_size` > 0
            // and forms a valid layout with the same alignment.
            let moved = unsafe { allocator.realloc(old.block, old.layout, new_size) };
            let moved = checked(moved, layout, n)?;
            let kept = Held {
                block: moved,
                ..old
            };
            verify_contents(&kept, old.layout.size().min(new_size), n)?;
            // SAFETY: the block holds `new_size` bytes.
            unsafe { ptr::write_bytes(moved, fill, new_size) };
            held.push(Held {
                block: moved,
                layout,
                fill,
            });
        }
        _ => {}
    }
    verify_disjoint(held, n)
}

fn checked(block: *mut u8, layout: Layout, n: usize) -> Result<*mut u8, String> {
    if block.is_null() {
        return Err(format!("step {n}: out of memory for {layout:?}"));
    }
    if !(block as usize).is_multiple_of(layout.align()) {
        return Err(format!(
            "step {n}: {block:p} is not aligned to {}",
            layout.align()
        ));
    }
    Ok(block)
}

fn verify_contents(held: &Held, len: usize, n: usize) -> Result<(), String> {
    // SAFETY: the block holds at least `len` initialised bytes.
    let bytes = unsafe { core::slice::from_raw_parts(held.block, len) };
    if bytes.iter().all(|&byte| byte == held.fill) {
        Ok(())
    } else {
        Err(format!(
            "step {n}: the contents of a {:?} block changed",
            held.layout
        ))
    }
}

fn verify_disjoint(held: &[Held], n: usize) -> Result<(), String> {
    let mut spans: Vec<(usize, usize)> = held
        .iter()
        .map(|h| (h.block as usize, h.block as usize + h.layout.size()))
        .collect();
    spans.sort_unstable();
    match spans.windows(2).find(|pair| pair[0].1 > pair[1].0) {
        Some(pair) => Err(format!(
            "step {n}: blocks at {:#x} and {:#x} overlap",
            pair[0].0, pair[1].0
        )),
        None => Ok(()),
    }
}

/// The whole check for one build: random traffic (from `seed`) on fresh pools and on the
/// global allocator, every alignment up to 4096, a 64 MB block, and zero-sized types.
///
/// # Errors
/// What broke first, and on which allocator.
pub fn self_test(seed: u64, steps: usize) -> Result<(), String> {
    let traffic = random_steps(seed, steps);
    let pools = super::SizeClassPools::new(super::Backing);
    run_traffic(&pools, &traffic).map_err(|error| format!("pools: {error}"))?;
    run_traffic(&GlobalAllocator, &traffic)
        .map_err(|error| format!("global allocator: {error}"))?;
    let alignments: Vec<TrafficStep> = (0..=12)
        .flat_map(|align_shift| {
            [1, 100, 1024, 5000].map(|size| TrafficStep::Alloc { size, align_shift })
        })
        .chain([TrafficStep::Alloc {
            size: 64 << 20,
            align_shift: 4,
        }])
        .collect();
    run_traffic(&pools, &alignments).map_err(|error| format!("pools: {error}"))?;
    run_traffic(&GlobalAllocator, &alignments)
        .map_err(|error| format!("global allocator: {error}"))?;
    let units: Vec<()> = vec![(); 1 << 20];
    let boxes: Vec<Box<()>> = (0..100).map(|_| Box::new(())).collect();
    if units.len() != 1 << 20 || boxes.len() != 100 {
        return Err("zero-sized values were lost".to_owned());
    }
    Ok(())
}

/// The app's global allocator as a value, for checks that take an allocator.
struct GlobalAllocator;

// SAFETY: every call goes to the global allocator with the caller's arguments.
unsafe impl GlobalAlloc for GlobalAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        unsafe { std::alloc::alloc(layout) }
    }
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { std::alloc::dealloc(block, layout) }
    }
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is passed on.
        unsafe { std::alloc::realloc(block, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn step() -> impl Strategy<Value = TrafficStep> {
        let size = prop_oneof![1_usize..=64, 1_usize..=2048, 1_usize..=70_000];
        prop_oneof![
            (size.clone(), 0_u32..=12)
                .prop_map(|(size, align_shift)| TrafficStep::Alloc { size, align_shift }),
            any::<usize>().prop_map(|pick| TrafficStep::Free { pick }),
            (any::<usize>(), size)
                .prop_map(|(pick, new_size)| TrafficStep::Realloc { pick, new_size }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random traffic on fresh pools matches the model, and leaves no block in use.
        #[test]
        fn random_traffic_on_the_pools_matches_the_model(steps in prop::collection::vec(step(), 1..300)) {
            let pools = super::super::SizeClassPools::new(super::super::Backing);
            prop_assert_eq!(run_traffic(&pools, &steps), Ok(()));
            prop_assert!(pools.stats().iter().all(|class| class.in_use == 0));
        }
    }

    #[test]
    fn the_whole_self_test_passes_natively() {
        assert_eq!(self_test(7, 2000), Ok(()));
    }

    #[test]
    fn a_broken_allocator_is_caught() {
        /// Hands every request the same block: the second allocation overlaps the first.
        struct OneBlock(core::cell::Cell<*mut u8>);
        // SAFETY: deliberately wrong for the test, but never dereferenced past 4096 bytes.
        unsafe impl GlobalAlloc for OneBlock {
            unsafe fn alloc(&self, _: Layout) -> *mut u8 {
                self.0.get()
            }
            unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
        }
        let mut arena = vec![0_u128; 256];
        let allocator = OneBlock(core::cell::Cell::new(arena.as_mut_ptr().cast()));
        let steps = [TrafficStep::Alloc {
            size: 64,
            align_shift: 3,
        }; 2];
        let error = run_traffic(&allocator, &steps).expect_err("overlap is caught");
        assert!(
            error.contains("step 1") && error.contains("overlap"),
            "{error}"
        );
    }
}
