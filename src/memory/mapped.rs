//! GPU staging memory as words the pack kernel can write.
//!
//! wgpu hands out the staging memory of a buffer write (`Queue::write_buffer_with`) as a
//! [`WriteOnly`] byte slice, since it may map it write-combined, where reads are slow. The
//! pack kernel only ever writes its output, so it can pack straight into that memory when
//! it is seen as `&mut [u32]`, which saves the copy from records of our own into wgpu's.
//! `WriteOnly` in general may also cover memory that is not initialised or not readable,
//! which a `&mut [u32]` must never be; the views of the wgpu version pinned in
//! `Cargo.toml` are neither (see [`staging_words`]).

use wgpu::{QueueWriteBufferView, WriteOnly};

/// The staging memory of `view` as 32-bit words for the pack to write.
///
/// # Errors
/// The memory, as bytes, when its start is not 4-byte aligned or its length is not a whole
/// number of words (no wgpu backend gives such memory: the caller copies words into it).
pub fn staging_words(view: &mut QueueWriteBufferView) -> Result<&mut [u32], WriteOnly<'_, [u8]>> {
    let bytes = view.slice(..);
    // SAFETY: in wgpu 30.0.1 (pinned) the view's memory is the mapping of a staging buffer
    // made for this one write: on WebGL2, where wgpu emulates mapping, a zero-filled `Vec`
    // (wgpu-hal's `gles` `create_buffer`); on Vulkan, Metal and DX12, host-visible memory
    // the driver maps, which reads back (slowly, where write-combined) as the bytes it
    // holds. wgpu gave these same views out as `&mut [u8]` through `DerefMut` until
    // `WriteOnly` came in to keep reads off write-combined memory. So the bytes are
    // initialised and readable; nothing else touches them until the view is dropped, which
    // the borrow of `view` rules out.
    unsafe { words(bytes) }
}

/// `bytes` as 32-bit words, or `bytes` back when its start is not 4-byte aligned or its
/// length is not a whole number of words.
///
/// # Safety
/// The bytes must be initialised and readable (a `WriteOnly` does not promise either).
unsafe fn words(mut bytes: WriteOnly<'_, [u8]>) -> Result<&mut [u32], WriteOnly<'_, [u8]>> {
    let len = bytes.len();
    let start = bytes.as_raw_element_ptr();
    if !start.cast::<u32>().is_aligned() || !len.is_multiple_of(size_of::<u32>()) {
        return Err(bytes);
    }
    // SAFETY: `WriteOnly` promises the `len` bytes from `start` are valid for writes and
    // reachable through nothing else for its lifetime, which the result borrows in turn;
    // the caller promises they are initialised and readable. `start` was just checked to be
    // aligned for `u32` and `len` to hold whole words, and every bit pattern is a valid
    // `u32`.
    Ok(unsafe { core::slice::from_raw_parts_mut(start.as_ptr().cast(), len / size_of::<u32>()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`words`] over plain memory.
    fn words_of(bytes: &mut [u8]) -> Result<&mut [u32], WriteOnly<'_, [u8]>> {
        // SAFETY: the bytes are those of a slice: initialised and readable.
        unsafe { words(WriteOnly::from_mut(bytes)) }
    }

    /// Aligned whole words come back as words writing the same bytes; a misaligned start or
    /// a part word comes back as bytes.
    #[test]
    fn aligned_whole_words_are_words_and_the_rest_stays_bytes() {
        let mut storage = [0_u32; 4];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        let aligned = words_of(&mut bytes[4..]).expect("aligned words");
        assert_eq!(aligned.len(), 3);
        aligned[0] = 0x0403_0201;
        assert_eq!(storage, [0, 0x0403_0201, 0, 0]);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        let misaligned = words_of(&mut bytes[1..5]).expect_err("misaligned");
        assert_eq!(misaligned.len(), 4);
        let part = words_of(&mut bytes[4..10]).expect_err("a part word");
        assert_eq!(part.len(), 6);
    }
}
