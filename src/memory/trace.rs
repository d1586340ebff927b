//! Allocation traces: recorded by the counting layer from a real run, saved to a file, and
//! replayed against any allocator in the benchmark.
//!
//! A trace is a sequence of events (allocate, free, reallocate) with the block addresses
//! the run saw. Replay turns addresses into slots once, up front, so the timed loop does
//! nothing but call the allocator.

use core::alloc::{GlobalAlloc, Layout};
use std::collections::HashMap;

use spin::Mutex;

/// What happened to a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TraceKind {
    /// A block was allocated.
    Alloc = 0,
    /// A block was freed.
    Free = 1,
    /// A block was resized (perhaps moved).
    Realloc = 2,
}

/// One allocator call as the counting layer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEvent {
    /// The call.
    pub kind: TraceKind,
    /// Alignment, in bytes.
    pub align: u32,
    /// Size of the block before the call (the new block's for `Alloc`), in bytes.
    pub size: u32,
    /// Address of the block (before the call for `Realloc`).
    pub address: u64,
    /// `Realloc` only: the new size in bytes and address.
    pub new_size: u32,
    /// `Realloc` only: the block's address after the call.
    pub new_address: u64,
}

/// Bytes one event takes in a trace file.
pub const EVENT_BYTES: usize = 1 + 4 + 4 + 8 + 4 + 8;

/// The first bytes of a trace file.
pub const MAGIC: &[u8; 8] = b"SPKTRC01";

fn clamp_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl TraceEvent {
    pub(super) fn alloc(block: *mut u8, layout: Layout) -> Self {
        Self {
            kind: TraceKind::Alloc,
            align: clamp_u32(layout.align()),
            size: clamp_u32(layout.size()),
            address: block as usize as u64,
            new_size: 0,
            new_address: 0,
        }
    }

    pub(super) fn free(block: *mut u8, layout: Layout) -> Self {
        Self {
            kind: TraceKind::Free,
            ..Self::alloc(block, layout)
        }
    }

    pub(super) fn realloc(block: *mut u8, layout: Layout, moved: *mut u8, new_size: usize) -> Self {
        Self {
            kind: TraceKind::Realloc,
            new_size: clamp_u32(new_size),
            new_address: moved as usize as u64,
            ..Self::alloc(block, layout)
        }
    }
}

/// The buffer the counting layer records into: taken before recording, never grown.
pub(super) struct TraceRecorder(Mutex<Vec<TraceEvent>>);

impl TraceRecorder {
    pub(super) const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    /// Puts `buffer` in place and returns the one it replaces.
    pub(super) fn install(&self, buffer: Vec<TraceEvent>) -> Vec<TraceEvent> {
        core::mem::replace(&mut *self.0.lock(), buffer)
    }

    /// Takes the recorded events out.
    pub(super) fn take(&self) -> Vec<TraceEvent> {
        core::mem::take(&mut *self.0.lock())
    }

    /// Records `event` if there is room (recording never allocates).
    pub(super) fn push(&self, event: TraceEvent) {
        let mut events = self.0.lock();
        if events.len() < events.capacity() {
            events.push(event);
        }
    }
}

/// Writes `events` as a trace file's bytes.
#[must_use]
pub fn encode(events: &[TraceEvent]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + events.len() * EVENT_BYTES);
    bytes.extend_from_slice(MAGIC);
    for event in events {
        bytes.push(event.kind as u8);
        bytes.extend_from_slice(&event.align.to_le_bytes());
        bytes.extend_from_slice(&event.size.to_le_bytes());
        bytes.extend_from_slice(&event.address.to_le_bytes());
        bytes.extend_from_slice(&event.new_size.to_le_bytes());
        bytes.extend_from_slice(&event.new_address.to_le_bytes());
    }
    bytes
}

/// Reads a trace file's bytes; the error says what is wrong with them.
///
/// # Errors
/// When the bytes do not start with [`MAGIC`], end inside an event, or hold an unknown
/// event kind or an alignment that is not a power of two.
pub fn decode(bytes: &[u8]) -> Result<Vec<TraceEvent>, String> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not an allocation trace (it does not start with SPKTRC01)")?;
    if body.len() % EVENT_BYTES != 0 {
        return Err(format!(
            "allocation trace is truncated: {} bytes after the header is not a whole number of {EVENT_BYTES}-byte events",
            body.len()
        ));
    }
    body.as_chunks::<EVENT_BYTES>()
        .0
        .iter()
        .enumerate()
        .map(|(index, chunk)| {
            let u32_at =
                |at: usize| u32::from_le_bytes(chunk[at..at + 4].try_into().unwrap_or_default());
            let u64_at =
                |at: usize| u64::from_le_bytes(chunk[at..at + 8].try_into().unwrap_or_default());
            let kind = match chunk[0] {
                0 => TraceKind::Alloc,
                1 => TraceKind::Free,
                2 => TraceKind::Realloc,
                other => return Err(format!("event {index}: unknown kind {other}")),
            };
            let align = u32_at(1);
            if !align.is_power_of_two() {
                return Err(format!(
                    "event {index}: alignment {align} is not a power of two"
                ));
            }
            Ok(TraceEvent {
                kind,
                align,
                size: u32_at(5),
                address: u64_at(9),
                new_size: u32_at(17),
                new_address: u64_at(21),
            })
        })
        .collect()
}

/// One step of a prepared replay; blocks are named by slot, not address.
#[derive(Debug, Clone, Copy)]
enum Op {
    Alloc { slot: usize, layout: Layout },
    Free { slot: usize },
    Realloc { slot: usize, new_size: usize },
}

/// A trace ready to replay: every free and reallocation refers to a block the trace
/// allocated (events about blocks from before the recording are dropped).
pub struct Replay {
    ops: Vec<Op>,
    slots: usize,
}

impl Replay {
    /// Prepares `events` for replay.
    #[must_use]
    pub fn new(events: &[TraceEvent]) -> Self {
        let mut live: HashMap<u64, (usize, Layout)> = HashMap::new();
        let mut ops = Vec::with_capacity(events.len());
        let mut slots = 0;
        for event in events {
            let Ok(layout) =
                Layout::from_size_align(event.size.max(1) as usize, event.align as usize)
            else {
                continue;
            };
            match event.kind {
                TraceKind::Alloc => {
                    live.insert(event.address, (slots, layout));
                    ops.push(Op::Alloc {
                        slot: slots,
                        layout,
                    });
                    slots += 1;
                }
                TraceKind::Free => {
                    if let Some((slot, _)) = live.remove(&event.address) {
                        ops.push(Op::Free { slot });
                    }
                }
                TraceKind::Realloc => {
                    if let Some((slot, old)) = live.remove(&event.address) {
                        let new_size = event.new_size.max(1) as usize;
                        if let Ok(resized) = Layout::from_size_align(new_size, old.align()) {
                            live.insert(event.new_address, (slot, resized));
                            ops.push(Op::Realloc { slot, new_size });
                        }
                    }
                }
            }
        }
        Self { ops, slots }
    }

    /// Allocator calls one replay makes.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.ops.len()
    }

    /// Replays every call against `allocator`, touching each new block's first byte, then
    /// frees what the trace left allocated (not counted in `calls`). Returns how many calls
    /// returned null (out of memory).
    pub fn run<A: GlobalAlloc>(&self, allocator: &A) -> usize {
        let mut blocks: Vec<(*mut u8, Layout)> =
            vec![(core::ptr::null_mut(), Layout::new::<u8>()); self.slots];
        let mut failures = 0;
        for op in &self.ops {
            match *op {
                Op::Alloc { slot, layout } => {
                    // SAFETY: `layout` has a non-zero size (sizes are at least 1).
                    let block = unsafe { allocator.alloc(layout) };
                    failures += usize::from(touch(block));
                    blocks[slot] = (block, layout);
                }
                Op::Free { slot } => {
                    let (block, layout) = blocks[slot];
                    if !block.is_null() {
                        // SAFETY: `block` came from this allocator with `layout`.
                        unsafe { allocator.dealloc(block, layout) };
                    }
                    blocks[slot].0 = core::ptr::null_mut();
                }
                Op::Realloc { slot, new_size } => {
                    let (block, layout) = blocks[slot];
                    if block.is_null() {
                        continue;
                    }
                    // SAFETY: `block` came from this allocator with `layout`; `new_size`
                    // is non-zero and formed a valid layout with this alignment in `new`.
                    let moved = unsafe { allocator.realloc(block, layout, new_size) };
                    failures += usize::from(touch(moved));
                    if !moved.is_null() {
                        // SAFETY: checked in `new` that this size and alignment form a layout.
                        blocks[slot] = (moved, unsafe {
                            Layout::from_size_align_unchecked(new_size, layout.align())
                        });
                    }
                }
            }
        }
        for (block, layout) in blocks {
            if !block.is_null() {
                // SAFETY: every block still held came from this allocator with `layout`.
                unsafe { allocator.dealloc(block, layout) };
            }
        }
        failures
    }
}

/// Writes the first byte of `block`, as a program would; true when `block` is null.
fn touch(block: *mut u8) -> bool {
    if block.is_null() {
        return true;
    }
    // SAFETY: a non-null block from the allocator holds at least one byte.
    unsafe { block.write_volatile(1) };
    false
}
