//! Slices that the dispatcher's threads write in disjoint chunks at once: one `&mut` view
//! of a column, handed out a chunk at a time (as `chunks_mut` would, but by index from any
//! thread, so a chunk can be claimed by whichever thread gets to it first).

use core::marker::PhantomData;
use core::ops::Range;

use crate::sim::pool::Columns;

/// A mutably borrowed slice whose disjoint ranges may be taken from several threads.
pub(super) struct SharedSlice<'a, T> {
    ptr: *mut T,
    len: usize,
    borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `SharedSlice` stands for a `&mut [T]`, which may be sent to another thread when
// `T: Send`; sharing it only gives out `&mut` ranges through `range`, whose contract is
// that no two overlap, which is what sending disjoint `&mut` sub-slices to threads is.
unsafe impl<T: Send> Sync for SharedSlice<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SharedSlice<'_, T> {}

impl<'a, T> SharedSlice<'a, T> {
    /// Takes the whole of `slice` for as long as the view lives.
    pub(super) fn new(slice: &'a mut [T]) -> Self {
        Self {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            borrow: PhantomData,
        }
    }

    /// The elements in `range`.
    ///
    /// # Safety
    /// No other range taken from this view that overlaps `range` may be alive while the
    /// result is.
    ///
    /// # Panics
    /// If `range` is not inside the slice.
    pub(super) unsafe fn range(&self, range: Range<usize>) -> &'a mut [T] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range {range:?} outside a slice of {}",
            self.len
        );
        // SAFETY: `range` lies inside the borrowed slice (checked above), the slice is
        // borrowed mutably for `'a`, and the caller promises no overlapping range is alive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

/// Every column of a [`Columns`] view as a [`SharedSlice`].
pub(super) struct SharedColumns<'a> {
    pos: [SharedSlice<'a, f32>; 3],
    vel: [SharedSlice<'a, f32>; 3],
    age: SharedSlice<'a, f32>,
    lifetime: SharedSlice<'a, f32>,
}

impl<'a> SharedColumns<'a> {
    /// Takes every column of `columns`.
    pub(super) fn new(columns: Columns<'a>) -> Self {
        let [px, py, pz] = columns.pos;
        let [vx, vy, vz] = columns.vel;
        Self {
            pos: [
                SharedSlice::new(px),
                SharedSlice::new(py),
                SharedSlice::new(pz),
            ],
            vel: [
                SharedSlice::new(vx),
                SharedSlice::new(vy),
                SharedSlice::new(vz),
            ],
            age: SharedSlice::new(columns.age),
            lifetime: SharedSlice::new(columns.lifetime),
        }
    }

    /// Particles `range` of every column.
    ///
    /// # Safety
    /// As [`SharedSlice::range`]: no overlapping range may be alive at the same time.
    pub(super) unsafe fn range(&self, range: Range<usize>) -> Columns<'a> {
        let [px, py, pz] = &self.pos;
        let [vx, vy, vz] = &self.vel;
        // SAFETY: the caller's promise, passed on for each column.
        unsafe {
            Columns {
                pos: [
                    px.range(range.clone()),
                    py.range(range.clone()),
                    pz.range(range.clone()),
                ],
                vel: [
                    vx.range(range.clone()),
                    vy.range(range.clone()),
                    vz.range(range.clone()),
                ],
                age: self.age.range(range.clone()),
                lifetime: self.lifetime.range(range),
            }
        }
    }
}
