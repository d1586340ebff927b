//! Where talc gets more memory in the browser: linear memory grown with headroom.
//!
//! talc's own wasm source grows linear memory by exactly the pages one request needs. Then
//! any block bigger than every free gap before it grows memory again, and the frame loop's
//! transient blocks change size from frame to frame: each new largest one grew memory, long
//! after warm-up (at the stress preset, last in frame 308 for a 262,144-byte block). This
//! source grows by what the request needs plus a quarter of the memory already there (at
//! least [`MIN_GROW_BYTES`]), as a `Vec` grows, so those variations land in room already
//! claimed and the number of grows stays logarithmic.
//!
//! Why a quarter: talc places a large block only in a free gap at least that large, and the
//! frame loop's transient blocks leave the free memory in gaps. With an eighth, the threaded
//! bundle's stress preset (2,000 particles) had 21.8 MB of linear memory after its first
//! frame for a peak of 14.7 MB live, and in one CI run memory grew again in frame 1,156 for
//! a 127,920-byte block: about 7 MB was not live, but talc found no gap for the block.

use core::alloc::Layout;
#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::{memory_grow, memory_size};
#[cfg(target_arch = "wasm32")]
use core::ptr::NonNull;

#[cfg(target_arch = "wasm32")]
use talc::base::{Talc, binning::Binning};

/// Bytes in a page of wasm linear memory.
const PAGE_BYTES: usize = 65_536;

/// The least one growth adds, in bytes (16 pages).
pub const MIN_GROW_BYTES: usize = 1 << 20;

/// What talc needs beyond a block's size to place it in newly claimed memory: its chunk
/// tags and, the first time, its bin lists (a generous bound for 32-bit words).
const CLAIM_OVERHEAD_BYTES: usize = 4096;

/// A talc memory source that extends one heap at the end of linear memory, with headroom.
#[cfg(target_arch = "wasm32")]
#[derive(Debug, Default)]
pub struct GrowWithHeadroom {
    /// The end of the heap talc manages, once it has one.
    end: Option<NonNull<u8>>,
}

// SAFETY: `end` is an address in linear memory, which every thread of the threaded bundle
// shares; the source is only reached through talc, which the threaded bundle's allocator
// keeps behind its lock, so one thread at a time reads or moves it.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
unsafe impl Send for GrowWithHeadroom {}

#[cfg(target_arch = "wasm32")]
impl GrowWithHeadroom {
    /// A source that has not grown memory yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { end: None }
    }
}

/// Pages to grow by for `layout` when linear memory holds `current_pages`: what the block
/// needs plus a quarter of what is there, and never less than [`MIN_GROW_BYTES`].
#[must_use]
pub fn pages_to_grow(layout: Layout, current_pages: usize) -> usize {
    let headroom = (current_pages * PAGE_BYTES / 4).max(MIN_GROW_BYTES);
    (bytes_needed(layout) + headroom).div_ceil(PAGE_BYTES)
}

/// Bytes of new memory that certainly hold a block of `layout`.
fn bytes_needed(layout: Layout) -> usize {
    layout.size() + layout.align() + CLAIM_OVERHEAD_BYTES
}

#[cfg(target_arch = "wasm32")]
// SAFETY: `acquire` touches talc only through the `&mut Talc` it is given, claims or extends
// only memory that `memory_grow` has just added (no one else owns it), and never allocates.
unsafe impl talc::source::Source for GrowWithHeadroom {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let wanted = pages_to_grow(layout, memory_size(0));
        // Near the memory's maximum (4 GiB, or the threaded bundle's declared 1 GiB), fall
        // back to what the request alone needs.
        let (old_pages, grown) = match memory_grow(0, wanted) {
            usize::MAX => {
                let least = bytes_needed(layout).div_ceil(PAGE_BYTES);
                match memory_grow(0, least) {
                    usize::MAX => return Err(()),
                    old => (old, least),
                }
            }
            old => (old, wanted),
        };
        let base = (old_pages * PAGE_BYTES) as *mut u8;
        let new_end = base.wrapping_add(grown * PAGE_BYTES);
        talc.source.end = match talc.source.end.take() {
            // SAFETY: the heap ends where the new pages begin, and they are ours alone.
            Some(end) if end.as_ptr() == base => Some(unsafe { talc.extend(end, new_end) }),
            // SAFETY: the new pages are unused memory that nothing else refers to.
            _ => unsafe { talc.claim(base, grown * PAGE_BYTES) },
        };
        if talc.source.end.is_some() {
            Ok(())
        } else {
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_the_request_plus_a_quarter_of_memory_and_at_least_a_mebibyte() {
        let small = Layout::from_size_align(100, 8).unwrap();
        assert_eq!(
            pages_to_grow(small, 0),
            16 + 1,
            "the minimum (1 MiB, 16 pages), plus the request"
        );
        // 32 MiB of memory: a quarter is 8 MiB, 128 pages.
        assert_eq!(pages_to_grow(small, 512), 128 + 1);
        let big = Layout::from_size_align(10 * PAGE_BYTES, 16).unwrap();
        let pages = pages_to_grow(big, 512);
        assert!(
            pages * PAGE_BYTES >= big.size() + 8 * MIN_GROW_BYTES,
            "{pages} pages hold the block and the headroom"
        );
        assert_eq!(pages, 128 + 11);
    }

    #[test]
    fn a_block_needs_its_size_its_alignment_and_talcs_overhead() {
        // 4,096 bytes short of 10 pages: with alignment 16 and the 4,096-byte overhead it
        // needs 16 bytes of an 11th page.
        let nearly_ten = Layout::from_size_align(10 * PAGE_BYTES - 4096, 16).unwrap();
        assert_eq!(pages_to_grow(nearly_ten, 0), 16 + 11);
        // 8,192 short, aligned to 4,096: exactly 10 pages with the alignment and overhead.
        let aligned = Layout::from_size_align(10 * PAGE_BYTES - 8192, 4096).unwrap();
        assert_eq!(pages_to_grow(aligned, 0), 16 + 10);
    }
}
