//! LZ4 compression of one page, reusing its state between pages.
//!
//! LZ4 finds repeats through a hash table of recent positions. Building a
//! fresh table for every page would cost an allocation (or 8 KiB of stack)
//! per page, so the [`Compressor`] keeps one table and one output buffer and
//! clears the table between pages, like zram's per-CPU compression streams.

use crate::PAGE_SIZE;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use lz4_flex::block::{
    compress_into_with_table, decompress_into, get_maximum_output_size, CompressTable,
};

/// Worst-case LZ4 output for one page (incompressible data grows a little).
pub const MAX_COMPRESSED_SIZE: usize = get_maximum_output_size(PAGE_SIZE);

/// Reusable compression state: the hash table and the output buffer.
pub struct Compressor {
    table: Box<CompressTable>,
    buffer: Vec<u8>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Compressor {
    /// A compressor with its own hash table and output buffer.
    pub fn new() -> Self {
        Compressor {
            table: Box::new(CompressTable::small()),
            buffer: vec![0; MAX_COMPRESSED_SIZE],
        }
    }

    /// Compress `page`; the result lives in the compressor until the next call.
    pub fn compress(&mut self, page: &[u8; PAGE_SIZE]) -> &[u8] {
        let length = compress_into_with_table(page, &mut self.buffer, &mut self.table)
            .expect("the buffer holds LZ4's worst case for one page");
        &self.buffer[..length]
    }
}

/// Why a stored object could not be decompressed into a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptObject;

/// Decompress `compressed` into `page`; it must fill the page exactly.
pub fn decompress(compressed: &[u8], page: &mut [u8; PAGE_SIZE]) -> Result<(), CorruptObject> {
    match decompress_into(compressed, page) {
        Ok(PAGE_SIZE) => Ok(()),
        _ => Err(CorruptObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_text_and_noise() {
        let mut compressor = Compressor::new();
        let mut text = [0u8; PAGE_SIZE];
        for (index, byte) in text.iter_mut().enumerate() {
            *byte = b"the quick brown fox "[index % 20];
        }
        let compressed = compressor.compress(&text).to_vec();
        assert!(compressed.len() < 200);
        let mut back = [0u8; PAGE_SIZE];
        decompress(&compressed, &mut back).unwrap();
        assert_eq!(back, text);

        let mut noise = [0u8; PAGE_SIZE];
        let mut state = 0x1234_5678_u32;
        for byte in noise.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = state as u8;
        }
        let compressed = compressor.compress(&noise).to_vec();
        assert!(compressed.len() > PAGE_SIZE);
        decompress(&compressed, &mut back).unwrap();
        assert_eq!(back, noise);
    }

    #[test]
    fn garbage_is_reported_not_trusted() {
        let mut page = [0u8; PAGE_SIZE];
        assert_eq!(
            decompress(&[0xff, 0xff, 0xff], &mut page),
            Err(CorruptObject)
        );
        assert_eq!(decompress(&[0x10, b'a'], &mut page), Err(CorruptObject));
    }
}
