//! The one interface the experiments drive every allocator through.
//!
//! An allocator hands out an opaque [`ObjectId`] for each object, copies
//! bytes in and out, and answers two accounting questions:
//!
//! ```text
//!   data_pages()      pages that hold objects        (Linux: mem_used_total / 4096)
//!   metadata_bytes()  the allocator's own bookkeeping (zspage records, handle
//!                     tables, per-page records, free lists ...) kept outside
//!                     those pages
//! ```
//!
//! Efficiency is then `stored bytes / (data_pages × 4096)`, or with
//! `+ metadata_bytes` in the denominator.
//!
//! Ids are only valid while their object is live: using a freed id is a bug
//! of the caller, and the allocators panic on ids they never issued.

use alloc::string::String;

/// The name of an allocated object, chosen by the allocator (a handle, an
/// encoded page and slot, an index...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u64);

/// An allocator of objects of 1..=4096 bytes, as the benchmark sees it.
pub trait ObjectAllocator {
    /// A short human-readable name (used as the row name of the tables).
    fn name(&self) -> String;

    /// Allocate an object of `size` bytes; `None` if the size is not
    /// supported (0, more than a page) or memory ran out.
    fn malloc(&mut self, size: usize) -> Option<ObjectId>;

    /// Free a live object.
    fn free(&mut self, id: ObjectId);

    /// Copy `data` to the start of a live object (at most its size).
    fn write(&mut self, id: ObjectId, data: &[u8]);

    /// Copy the start of a live object into `buffer` (at most its size).
    fn read(&mut self, id: ObjectId, buffer: &mut [u8]);

    /// Pages that hold objects (what Linux's `mem_used_total` counts).
    fn data_pages(&self) -> usize;

    /// Bytes of the allocator's own bookkeeping outside its data pages.
    fn metadata_bytes(&self) -> usize;

    /// Move objects to free pages; returns the pages freed (0 where the
    /// allocator cannot compact).
    fn compact(&mut self) -> usize;
}

/// `write` for an allocator whose objects are plain memory: copy `data` to
/// the start of `object`, at most its size.
pub fn copy_into_object(object: &mut [u8], data: &[u8]) {
    let length = data.len().min(object.len());
    object[..length].copy_from_slice(&data[..length]);
}

/// `read` for an allocator whose objects are plain memory: copy the start of
/// `object` into `buffer`, at most its size.
pub fn copy_out_of_object(object: &[u8], buffer: &mut [u8]) {
    let length = buffer.len().min(object.len());
    buffer[..length].copy_from_slice(&object[..length]);
}
