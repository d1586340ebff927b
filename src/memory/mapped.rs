//! GPU staging memory as words the pack kernel can write.
//!
//! wgpu hands out the staging memory of a buffer write (`Queue::write_buffer_with`) as a
//! [`WriteOnly`] byte slice: memory it may map write-combined, where reads are slow. The
//! pack kernel only ever writes its output, so it can pack straight into that memory when
//! it is seen as `&mut [u32]`, which saves the copy from our own records into wgpu's.

use wgpu_types::WriteOnly;

/// `bytes` as 32-bit words.
///
/// # Errors
/// `bytes`, given back, when its start is not 4-byte aligned or its length is not a whole
/// number of words.
///
/// Only write through the words: reading them gives back what was written (or what the
/// memory held), but may be slow where the memory is write-combined.
pub fn words(mut bytes: WriteOnly<'_, [u8]>) -> Result<&mut [u32], WriteOnly<'_, [u8]>> {
    let len = bytes.len();
    let start = bytes.as_raw_element_ptr();
    if !start.cast::<u32>().is_aligned() || !len.is_multiple_of(size_of::<u32>()) {
        return Err(bytes);
    }
    // SAFETY: `WriteOnly` promises the `len` bytes from `start` are valid for writes and
    // reachable through nothing else for its lifetime, which the result borrows in turn.
    // `start` was just checked to be aligned for `u32` and `len` to hold whole words. The
    // bytes are initialised: wgpu's mappings are either its own zero-filled `Vec` (WebGL2,
    // where mapping is emulated) or host-visible memory the driver maps, whose bytes are
    // whatever the device holds, never uninitialised to Rust (wgpu gave out such views as
    // `&mut [u8]` itself until `WriteOnly` came in to keep reads off write-combined memory).
    // Every bit pattern is a valid `u32`.
    Ok(unsafe { core::slice::from_raw_parts_mut(start.as_ptr().cast(), len / size_of::<u32>()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aligned whole words come back as words writing the same bytes; a misaligned start or
    /// a part word comes back as bytes.
    #[test]
    fn aligned_whole_words_are_words_and_the_rest_stays_bytes() {
        let mut storage = [0_u32; 4];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        let aligned = words(WriteOnly::from_mut(&mut bytes[4..])).expect("aligned words");
        assert_eq!(aligned.len(), 3);
        aligned[0] = 0x0403_0201;
        assert_eq!(storage, [0, 0x0403_0201, 0, 0]);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        let misaligned = words(WriteOnly::from_mut(&mut bytes[1..5])).expect_err("misaligned");
        assert_eq!(misaligned.len(), 4);
        let part = words(WriteOnly::from_mut(&mut bytes[4..10])).expect_err("a part word");
        assert_eq!(part.len(), 6);
    }
}
