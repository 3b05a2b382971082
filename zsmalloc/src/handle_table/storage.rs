//! Where the handle table's entries live: fixed-size chunks found through a
//! small directory. Neither ever moves, so readers need no lock.
//!
//! ```text
//!   directory (inside the table)     segments (8 << s chunk pointers)    chunks (1 KiB)
//!   segment 0 ─────────────────────► [c0 c1 ... c7]  ──────────────────► [128 entries]
//!   segment 1 ─────────────────────► [c8 c9 ... c23]                     [128 entries]
//!   segment 2 ─────────────────────► [c24 ...  c55]                      ...
//!   ...         20 segments: 2^23 - 8 chunks, 2^30 - 1024 entries at most
//!
//!   entry i: chunk i / 128, word i % 128 of it; chunk c: segment s = the
//!   largest with 8 * (2^s - 1) <= c, slot c - 8 * (2^s - 1) of it
//! ```
//!
//! The table grows one chunk at a time, so at most one chunk (1 KiB) is
//! ever allocated and unused; a segment is allocated with the first chunk
//! it points to, and the segments a pool has are at most twice the chunk
//! pointers it needs (8 bytes per 128 entries). Small chunks keep the
//! unused room small: the entries are most of a pool's metadata. Growth happens in two
//! steps, so that no heap memory is allocated with interrupts off: the
//! memory is allocated first ([`Storage::prepare`], outside any atomic
//! section), then published under the table's lock ([`Storage::install`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// Entries per chunk: 128 words of 8 bytes, 1 KiB.
pub(crate) const CHUNK_ENTRIES: usize = 128;
const FIRST_SEGMENT_CHUNKS: usize = 8;
const SEGMENTS: usize = 20;
/// The most entries the directory can reach.
pub(crate) const MAX_ENTRIES: usize = FIRST_SEGMENT_CHUNKS * ((1 << SEGMENTS) - 1) * CHUNK_ENTRIES;

type Chunk = [AtomicU64; CHUNK_ENTRIES];

/// The segment holding chunk `chunk`, and its slot there.
fn segment_of(chunk: usize) -> (usize, usize) {
    let scaled = chunk / FIRST_SEGMENT_CHUNKS + 1;
    let segment = (usize::BITS - 1 - scaled.leading_zeros()) as usize;
    (segment, chunk - FIRST_SEGMENT_CHUNKS * ((1 << segment) - 1))
}

fn segment_len(segment: usize) -> usize {
    FIRST_SEGMENT_CHUNKS << segment
}

/// Memory for one more chunk, allocated before the table's lock is taken.
pub(crate) struct Growth {
    chunk: Box<Chunk>,
    /// The segment the chunk goes into, if it does not exist yet.
    segment: Option<Box<[AtomicPtr<Chunk>]>>,
}

/// The chunks and their directory.
pub(crate) struct Storage {
    segments: [AtomicPtr<AtomicPtr<Chunk>>; SEGMENTS],
}

impl Storage {
    pub(crate) const fn new() -> Storage {
        Storage {
            segments: [const { AtomicPtr::new(ptr::null_mut()) }; SEGMENTS],
        }
    }

    /// The word of entry `index`.
    ///
    /// # Safety
    /// The chunk holding `index` is installed, and the caller has seen that
    /// with Acquire ordering (e.g. read a count published after `install`).
    #[inline]
    pub(crate) unsafe fn word(&self, index: usize) -> &AtomicU64 {
        let (segment, slot) = segment_of(index / CHUNK_ENTRIES);
        let slots = self.segments[segment].load(Ordering::Acquire);
        // SAFETY: the chunk is installed (caller), so its segment is too: a
        // live allocation of `segment_len(segment)` pointers, freed only in
        // Drop; `slot` is below that length (`segment_of`).
        let chunk = unsafe { (*slots.add(slot)).load(Ordering::Acquire) };
        // SAFETY: the installed chunk is a live `Chunk`, freed only in Drop.
        unsafe { &(*chunk)[index % CHUNK_ENTRIES] }
    }

    /// Allocate what installing chunk number `chunk` needs. Call it outside
    /// any atomic section: it allocates heap memory.
    pub(crate) fn prepare(&self, chunk: usize) -> Growth {
        let (segment, _) = segment_of(chunk);
        assert!(
            segment < SEGMENTS,
            "handle table full ({MAX_ENTRIES} entries)"
        );
        let words: Box<[AtomicU64]> = (0..CHUNK_ENTRIES).map(|_| AtomicU64::new(0)).collect();
        let chunk = words
            .try_into()
            .unwrap_or_else(|_| unreachable!("a whole chunk"));
        let needs_segment = self.segments[segment].load(Ordering::Acquire).is_null();
        let segment = needs_segment.then(|| {
            (0..segment_len(segment))
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect()
        });
        Growth { chunk, segment }
    }

    /// Install chunk number `chunk` with memory from `prepare(chunk)`.
    /// Called under the table's lock, with every chunk below `chunk`
    /// installed and none from `chunk` on; readers see the new chunk once
    /// the caller publishes (Release) a count that covers it.
    pub(crate) fn install(&self, chunk: usize, growth: Growth) {
        let (segment, slot) = segment_of(chunk);
        if let Some(slots) = growth.segment {
            debug_assert!(slot == 0 && self.segments[segment].load(Ordering::Relaxed).is_null());
            let slots = Box::into_raw(slots).cast::<AtomicPtr<Chunk>>();
            self.segments[segment].store(slots, Ordering::Release);
        }
        let slots = self.segments[segment].load(Ordering::Acquire);
        assert!(
            !slots.is_null(),
            "a segment is prepared with its first chunk"
        );
        // SAFETY: the segment is live (just installed, or earlier) and
        // `slot` is below its length.
        let pointer = unsafe { &*slots.add(slot) };
        pointer.store(Box::into_raw(growth.chunk), Ordering::Release);
    }

    /// Heap bytes of the chunks and segments installed.
    pub(crate) fn bytes(&self) -> usize {
        let mut bytes = 0;
        for (segment, slots) in self.segments.iter().enumerate() {
            let slots = slots.load(Ordering::Acquire);
            if slots.is_null() {
                continue;
            }
            bytes += segment_len(segment) * core::mem::size_of::<AtomicPtr<Chunk>>();
            for slot in 0..segment_len(segment) {
                // SAFETY: a live segment of `segment_len(segment)` pointers.
                let chunk = unsafe { (*slots.add(slot)).load(Ordering::Acquire) };
                if !chunk.is_null() {
                    bytes += core::mem::size_of::<Chunk>();
                }
            }
        }
        bytes
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let mut chunks = Vec::new();
        for (segment, slots) in self.segments.iter_mut().enumerate() {
            let slots = *slots.get_mut();
            if slots.is_null() {
                continue;
            }
            let slice = ptr::slice_from_raw_parts_mut(slots, segment_len(segment));
            // SAFETY: `slots` came from `Box::into_raw` of a boxed slice of
            // exactly `segment_len(segment)` pointers in `install`, and we
            // have exclusive access, so nothing else refers to it.
            let mut slots = unsafe { Box::from_raw(slice) };
            chunks.extend(
                slots
                    .iter_mut()
                    .map(|chunk| *chunk.get_mut())
                    .filter(|chunk| !chunk.is_null()),
            );
        }
        for chunk in chunks {
            // SAFETY: every non-null chunk pointer came from `Box::into_raw`
            // of a `Box<Chunk>` in `install`, and is freed once, here.
            drop(unsafe { Box::from_raw(chunk) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_chunks() {
        let mut expected = (0, 0);
        for chunk in 0..10_000 {
            assert_eq!(segment_of(chunk), expected, "chunk {chunk}");
            expected.1 += 1;
            if expected.1 == segment_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        let last = MAX_ENTRIES / CHUNK_ENTRIES - 1;
        assert_eq!(
            segment_of(last),
            (SEGMENTS - 1, segment_len(SEGMENTS - 1) - 1)
        );
        assert!(MAX_ENTRIES <= u32::MAX as usize);
    }
}
