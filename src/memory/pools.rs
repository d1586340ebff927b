//! Size-class pools: small blocks from per-class free lists, refilled a chunk at a time
//! from a backing allocator.
//!
//! Classes are the powers of two from 16 to 1024 bytes. A request goes to the smallest class
//! that holds both its size and its alignment; blocks of a class are carved from chunks
//! aligned to the class size, so every block is aligned to its size. A freed block goes to
//! the front of its class's free list (the list is threaded through the free blocks
//! themselves) and chunks are never handed back: the pools keep the high-water mark of each
//! class, which is what a frame loop that allocates the same shapes every frame wants.
//! Larger requests pass straight to the backing allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use spin::Mutex;

/// Block sizes of the classes, in bytes.
pub const CLASS_SIZES: [usize; 7] = [16, 32, 64, 128, 256, 512, 1024];

/// Bytes each refill takes from the backing allocator for one class.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Counters of one class, all in blocks except where named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Block size, in bytes.
    pub block_bytes: usize,
    /// Requests served from the free list without a refill.
    pub hits: u64,
    /// Requests that needed a refill from the backing allocator first.
    pub refills: u64,
    /// Blocks handed out and not yet freed.
    pub in_use: usize,
    /// Blocks carved so far (in use or free).
    pub carved: usize,
}

impl ClassStats {
    /// Share of requests served from the free list, 0 to 1 (1 before any request).
    #[must_use]
    pub fn hit_rate(&self) -> f64 {
        let requests = self.hits + self.refills;
        if requests == 0 {
            1.0
        } else {
            self.hits as f64 / requests as f64
        }
    }

    /// Share of carved blocks in use, 0 to 1 (0 before the first refill).
    #[must_use]
    pub fn occupancy(&self) -> f64 {
        if self.carved == 0 {
            0.0
        } else {
            self.in_use as f64 / self.carved as f64
        }
    }
}

/// One class: its free list and counters.
struct Class {
    free: *mut u8,
    stats: ClassStats,
}

// SAFETY: `free` points into chunks the pools own; it is only read or written while the
// class's mutex is held, so moving the class between threads is sound.
unsafe impl Send for Class {}

/// The pools in front of a backing allocator `B`.
pub struct SizeClassPools<B> {
    backing: B,
    classes: [Mutex<Class>; CLASS_SIZES.len()],
}

impl<B> SizeClassPools<B> {
    /// Empty pools in front of `backing`; nothing is taken from it until the first request.
    pub const fn new(backing: B) -> Self {
        const fn class(block_bytes: usize) -> Mutex<Class> {
            Mutex::new(Class {
                free: ptr::null_mut(),
                stats: ClassStats {
                    block_bytes,
                    hits: 0,
                    refills: 0,
                    in_use: 0,
                    carved: 0,
                },
            })
        }
        Self {
            backing,
            classes: [
                class(CLASS_SIZES[0]),
                class(CLASS_SIZES[1]),
                class(CLASS_SIZES[2]),
                class(CLASS_SIZES[3]),
                class(CLASS_SIZES[4]),
                class(CLASS_SIZES[5]),
                class(CLASS_SIZES[6]),
            ],
        }
    }

    /// The backing allocator.
    pub fn backing(&self) -> &B {
        &self.backing
    }

    /// Counters of every class, smallest first.
    pub fn stats(&self) -> [ClassStats; CLASS_SIZES.len()] {
        core::array::from_fn(|index| self.classes[index].lock().stats)
    }
}

/// The class that serves `layout`, if any: the smallest holding its size and alignment.
#[must_use]
pub fn class_index(layout: Layout) -> Option<usize> {
    let needed = layout.size().max(layout.align());
    CLASS_SIZES.iter().position(|&block| needed <= block)
}

impl<B: GlobalAlloc> SizeClassPools<B> {
    /// Takes a block from class `index`, refilling it from the backing allocator when its
    /// free list is empty. Null when the backing allocator is out of memory.
    ///
    /// # Safety
    /// `index` is a valid class index.
    unsafe fn take(&self, index: usize) -> *mut u8 {
        let mut class = self.classes[index].lock();
        if class.free.is_null() {
            // SAFETY: the lock is held, so this class's list and counters are ours.
            if !unsafe { self.refill(&mut class) } {
                return ptr::null_mut();
            }
            class.stats.refills += 1;
        } else {
            class.stats.hits += 1;
        }
        let block = class.free;
        // SAFETY: `block` is a free block of this class; its first word holds the next
        // free block (written by `refill` or `give_back`), read unaligned-safe because
        // every block is aligned to at least 16 bytes.
        class.free = unsafe { next_free(block) };
        class.stats.in_use += 1;
        block
    }

    /// Carves a new chunk into blocks on `class`'s free list. False when the backing
    /// allocator is out of memory.
    ///
    /// # Safety
    /// The caller holds `class`'s lock (it passes the guarded value).
    unsafe fn refill(&self, class: &mut Class) -> bool {
        let block_bytes = class.stats.block_bytes;
        let Ok(layout) = Layout::from_size_align(CHUNK_BYTES, block_bytes) else {
            return false;
        };
        // SAFETY: `layout` has a non-zero size.
        let chunk = unsafe { self.backing.alloc(layout) };
        if chunk.is_null() {
            return false;
        }
        let blocks = CHUNK_BYTES / block_bytes;
        for index in (0..blocks).rev() {
            // SAFETY: `index * block_bytes` is inside the chunk, and each block is aligned
            // to `block_bytes` (at least 16), so it can hold the next-block pointer.
            unsafe {
                let block = chunk.add(index * block_bytes);
                set_next_free(block, class.free);
                class.free = block;
            }
        }
        class.stats.carved += blocks;
        true
    }

    /// Puts `block` back on class `index`'s free list.
    ///
    /// # Safety
    /// `block` came from `take(index)` and is not used after this call.
    unsafe fn give_back(&self, index: usize, block: *mut u8) {
        let mut class = self.classes[index].lock();
        // SAFETY: `block` is one of this class's blocks, aligned and at least 16 bytes.
        unsafe { set_next_free(block, class.free) };
        class.free = block;
        class.stats.in_use -= 1;
    }
}

/// The free block after `block` on its list (stored in `block`'s first word).
///
/// # Safety
/// `block` is a free block of a class: at least 16 bytes, aligned to at least 16.
#[expect(
    clippy::cast_ptr_alignment,
    reason = "every block is aligned to its class size (at least 16)"
)]
unsafe fn next_free(block: *mut u8) -> *mut u8 {
    // SAFETY: as the function's contract says.
    unsafe { block.cast::<*mut u8>().read() }
}

/// Links `next` after `block` on its free list.
///
/// # Safety
/// As for [`next_free`], and `block` is not in use.
#[expect(
    clippy::cast_ptr_alignment,
    reason = "every block is aligned to its class size (at least 16)"
)]
unsafe fn set_next_free(block: *mut u8, next: *mut u8) {
    // SAFETY: as the function's contract says.
    unsafe { block.cast::<*mut u8>().write(next) }
}

// SAFETY: blocks handed out are at least `layout.size()` bytes and aligned to
// `layout.align()` (see `class_index` and `refill`); each block is handed out once until
// it is freed; requests the classes cannot serve go to `backing` with their own layout.
unsafe impl<B: GlobalAlloc> GlobalAlloc for SizeClassPools<B> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_index(layout) {
            // SAFETY: `index` came from `class_index`.
            Some(index) => unsafe { self.take(index) },
            // SAFETY: the caller's contract for `layout` is passed on.
            None => unsafe { self.backing.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match class_index(layout) {
            // SAFETY: `layout` is the one `block` was allocated with, so it came from the
            // same class.
            Some(index) => unsafe { self.give_back(index, block) },
            // SAFETY: as above, it came from `backing` with this layout.
            None => unsafe { self.backing.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_class = class_index(layout);
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new_class = class_index(new_layout);
        match (old_class, new_class) {
            // The block already has room: same class, same block.
            (Some(old), Some(new)) if old == new => block,
            // SAFETY: both sizes are beyond the classes, so `backing` owns the block.
            (None, None) => unsafe { self.backing.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: `new_layout` is valid and non-zero by the caller's contract.
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and do not overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Backing;

    /// A block with its layout and the byte it was filled with.
    struct Held {
        block: *mut u8,
        layout: Layout,
        fill: u8,
    }

    fn allocate(pools: &SizeClassPools<Backing>, layout: Layout, fill: u8) -> Held {
        // SAFETY: every layout in these tests has a non-zero size.
        let block = unsafe { pools.alloc(layout) };
        assert!(!block.is_null(), "{layout:?}: out of memory");
        assert_eq!(block as usize % layout.align(), 0, "{layout:?}: misaligned");
        // SAFETY: the block holds `layout.size()` bytes.
        unsafe { ptr::write_bytes(block, fill, layout.size()) };
        Held {
            block,
            layout,
            fill,
        }
    }

    fn check_and_free(pools: &SizeClassPools<Backing>, held: Held) {
        // SAFETY: the block holds `layout.size()` initialised bytes until freed below.
        let bytes = unsafe { core::slice::from_raw_parts(held.block, held.layout.size()) };
        assert!(
            bytes.iter().all(|&b| b == held.fill),
            "{:?}: contents changed while allocated",
            held.layout
        );
        // SAFETY: allocated from `pools` with this layout and freed once.
        unsafe { pools.dealloc(held.block, held.layout) };
    }

    #[test]
    fn realloc_keeps_contents_growing_and_shrinking_across_classes_and_beyond() {
        let pools = SizeClassPools::new(Backing);
        let mut layout = Layout::from_size_align(10, 8).expect("valid layout");
        let Held { mut block, .. } = allocate(&pools, layout, 0);
        for (i, byte) in (0..10_u8).enumerate() {
            // SAFETY: the block holds 10 bytes.
            unsafe { block.add(i).write(byte) };
        }
        for new_size in [24, 30, 600, 4000, 100_000, 2000, 40, 10] {
            // SAFETY: `block` came from `pools` with `layout`; sizes are non-zero.
            block = unsafe { pools.realloc(block, layout, new_size) };
            assert!(!block.is_null());
            layout = Layout::from_size_align(new_size, 8).expect("valid layout");
            // SAFETY: at least 10 bytes, the first 10 carried over.
            let first = unsafe { core::slice::from_raw_parts(block, 10) };
            assert_eq!(
                first,
                &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                "after resizing to {new_size}"
            );
        }
        // SAFETY: `block` came from `pools` with `layout`.
        unsafe { pools.dealloc(block, layout) };
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "ratios of small counts are exact in f64")]
    fn a_freed_block_is_reused_and_counted_as_a_hit() {
        let pools = SizeClassPools::new(Backing);
        let layout = Layout::from_size_align(48, 8).expect("valid layout");
        let first = allocate(&pools, layout, 1);
        let address = first.block;
        check_and_free(&pools, first);
        let second = allocate(&pools, layout, 2);
        assert_eq!(
            second.block, address,
            "the free list hands back the last freed block"
        );
        let class = pools.stats()[class_index(layout).expect("pooled")];
        assert_eq!((class.refills, class.hits, class.in_use), (1, 1, 1));
        assert_eq!(class.carved, CHUNK_BYTES / 64);
        assert_eq!(class.hit_rate(), 0.5, "one hit in two requests");
        assert_eq!(
            class.occupancy(),
            1.0 / 1024.0,
            "one block of a 64 KiB chunk"
        );
        let untouched = pools.stats()[CLASS_SIZES.len() - 1];
        assert_eq!((untouched.hit_rate(), untouched.occupancy()), (1.0, 0.0));
        check_and_free(&pools, second);
    }

    #[test]
    fn large_blocks_go_to_the_backing_allocator() {
        let pools = SizeClassPools::new(Backing);
        let layout = Layout::from_size_align(64 << 20, 16).expect("valid layout");
        let held = allocate(&pools, layout, 9);
        check_and_free(&pools, held);
        assert!(
            pools.stats().iter().all(|class| class.carved == 0),
            "no class was refilled"
        );
    }

    /// The smallest requests (1 to 16 bytes, any alignment up to 16: what a `Box<u8>` or
    /// a short string asks for) all come from the 16-byte class, each a block of its own,
    /// and all go back to it. (Zero-sized values never reach an allocator: `GlobalAlloc`
    /// is never called with a size of 0.)
    #[test]
    fn the_smallest_requests_share_the_16_byte_class_through_the_pools() {
        let pools = SizeClassPools::new(Backing);
        let held: Vec<Held> = (0..=255_u8)
            .map(|i| {
                let size = usize::from(i % 16) + 1;
                let align = 1 << (i % 5);
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                allocate(&pools, layout, i)
            })
            .collect();
        let mut addresses: Vec<usize> = held.iter().map(|h| h.block as usize).collect();
        addresses.sort_unstable();
        assert!(
            addresses.windows(2).all(|pair| pair[1] - pair[0] >= 16),
            "blocks overlap"
        );
        let smallest = pools.stats()[0];
        assert_eq!((smallest.block_bytes, smallest.in_use), (16, 256));
        assert!(pools.stats()[1..].iter().all(|class| class.in_use == 0));
        for block in held {
            check_and_free(&pools, block);
        }
        assert_eq!(pools.stats()[0].in_use, 0);
    }
}
