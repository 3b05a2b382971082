//! The handle table: one *entry* per object, naming where it lives.
//!
//! ```text
//!   chunks (never move):  chunk 0: 64 entries | chunk 1: 128 | chunk 2: 256 | ...
//!   entry:   location  u64   the layout's encoding of where the object is
//!                            (while free: the next free entry)
//!            state     u64   generation (32) | mapped | allocated | length (16)
//!   free entries: a LIFO list threaded through `location`, under a spin lock
//! ```
//!
//! The table only grows, in chunks that never move (chunk `k` holds
//! `64 << k` entries), so readers need no lock; only taking and returning
//! entries goes through a short spin lock. The location word is opaque
//! here: each layout encodes its own location type into it
//! ([`crate::layout::PoolCore::set_location`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::num::NonZeroU64;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::backend::Backend;
use crate::handle::{self, HandleError};
use crate::sync::{AtomicSection, SpinLock};

/// One entry of a pool's handle table: the owner of an object, as a layout
/// records it (in an object header, a side table, a live list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry(u32);

impl Entry {
    /// Its index in the table (fits in 32 bits, for compact records).
    pub const fn index(self) -> u32 {
        self.0
    }

    /// The entry of index `index` (as read back from a layout's record).
    pub const fn from_index(index: u32) -> Entry {
        Entry(index)
    }
}

// Bits of an entry's state word.
const LENGTH_MASK: u64 = 0xffff;
const ALLOCATED: u64 = 1 << 16;
const MAPPED: u64 = 1 << 17;
const GENERATION_SHIFT: u32 = 32;

fn generation_of(state: u64) -> u32 {
    (state >> GENERATION_SHIFT) as u32
}

/// One entry's words.
struct EntryWords {
    /// The layout's location word while allocated; the next free entry while free.
    location: AtomicU64,
    /// Generation, ALLOCATED and MAPPED flags and the payload length.
    state: AtomicU64,
}

const FIRST_CHUNK_ENTRIES: usize = 64;
const CHUNK_COUNT: usize = 26;
const NO_ENTRY: u32 = u32::MAX;

/// Free-entry list head and high-water mark, under the table's lock.
struct EntryAllocator {
    free_head: u32,
    issued: u32,
}

/// The table of all handles of a pool.
pub(crate) struct HandleTable {
    chunks: [AtomicPtr<EntryWords>; CHUNK_COUNT],
    /// Entries ever issued: indices below it have a chunk.
    issued: AtomicU32,
    allocator: SpinLock<EntryAllocator>,
}

/// Chunk number and index inside it for an entry index.
fn chunk_of(index: usize) -> (usize, usize) {
    let scaled = index / FIRST_CHUNK_ENTRIES + 1;
    let chunk = (usize::BITS - 1 - scaled.leading_zeros()) as usize;
    let first_in_chunk = FIRST_CHUNK_ENTRIES * ((1 << chunk) - 1);
    (chunk, index - first_in_chunk)
}

fn chunk_len(chunk: usize) -> usize {
    FIRST_CHUNK_ENTRIES << chunk
}

/// A validated, exclusively claimed entry (see `claim_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claimed {
    pub entry: Entry,
    pub length: usize,
}

/// What the invariant checker reads of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryState {
    pub allocated: bool,
    pub mapped: bool,
}

impl HandleTable {
    pub(crate) fn new() -> HandleTable {
        HandleTable {
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; CHUNK_COUNT],
            issued: AtomicU32::new(0),
            allocator: SpinLock::new(EntryAllocator {
                free_head: NO_ENTRY,
                issued: 0,
            }),
        }
    }

    #[inline]
    fn words(&self, index: u32) -> Option<&EntryWords> {
        if index >= self.issued.load(Ordering::Acquire) {
            return None;
        }
        let (chunk, offset) = chunk_of(index as usize);
        let base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: `base` points to a live chunk of `chunk_len(chunk)` entries,
        // published with Release before `issued` covered `index`; chunks are
        // freed only in Drop (`&mut self`), and `offset < chunk_len(chunk)`.
        Some(unsafe { &*base.add(offset) })
    }

    /// The words of an entry known to be issued (internal callers).
    #[inline]
    fn issued_words(&self, entry: Entry) -> &EntryWords {
        self.words(entry.0).expect("entry was issued")
    }

    /// Take an entry for a new object of `length` bytes.
    pub(crate) fn allocate<B: Backend>(
        &self,
        atomic: &AtomicSection<'_, B>,
        length: usize,
    ) -> Entry {
        let index = {
            let mut allocator = self.allocator.lock(atomic);
            if allocator.free_head != NO_ENTRY {
                let index = allocator.free_head;
                let next = self
                    .issued_words(Entry(index))
                    .location
                    .load(Ordering::Relaxed);
                allocator.free_head = next as u32;
                index
            } else {
                let index = allocator.issued;
                assert!(index < NO_ENTRY - 1, "handle table full");
                self.ensure_chunk(index);
                allocator.issued = index + 1;
                self.issued.store(index + 1, Ordering::Release);
                index
            }
        };
        let words = self.issued_words(Entry(index));
        let generation = generation_of(words.state.load(Ordering::Relaxed));
        let state = (generation as u64) << GENERATION_SHIFT | ALLOCATED | length as u64;
        words.state.store(state, Ordering::Release);
        Entry(index)
    }

    /// Allocate the chunk holding `index` if it does not exist yet.
    /// Called with the allocator lock held.
    fn ensure_chunk(&self, index: u32) {
        let (chunk, _) = chunk_of(index as usize);
        if !self.chunks[chunk].load(Ordering::Acquire).is_null() {
            return;
        }
        let chunk_words: Box<[EntryWords]> = (0..chunk_len(chunk))
            .map(|_| EntryWords {
                location: AtomicU64::new(0),
                state: AtomicU64::new(0),
            })
            .collect();
        let base = Box::into_raw(chunk_words).cast::<EntryWords>();
        self.chunks[chunk].store(base, Ordering::Release);
    }

    /// The raw handle for an allocated entry.
    #[inline]
    pub(crate) fn raw_handle(&self, entry: Entry) -> NonZeroU64 {
        let state = self.issued_words(entry).state.load(Ordering::Relaxed);
        handle::encode(entry.0, generation_of(state))
    }

    /// Record where the object of `entry` lives (the layout's word).
    #[inline]
    pub(crate) fn set_location(&self, entry: Entry, location: u64) {
        self.issued_words(entry)
            .location
            .store(location, Ordering::Release);
    }

    /// Where the object of `entry` lives (the layout's word).
    #[inline]
    pub(crate) fn location(&self, entry: Entry) -> u64 {
        self.issued_words(entry).location.load(Ordering::Acquire)
    }

    /// Payload length of the object of `entry`.
    #[inline]
    pub(crate) fn length(&self, entry: Entry) -> usize {
        (self.issued_words(entry).state.load(Ordering::Acquire) & LENGTH_MASK) as usize
    }

    /// Payload length of the object a raw handle names, after validation.
    pub(crate) fn checked_length(&self, raw: u64) -> Result<usize, HandleError> {
        let (_, _, state) = self.validate(raw)?;
        Ok((state & LENGTH_MASK) as usize)
    }

    /// Return an entry that was allocated but never handed out (malloc failed).
    pub(crate) fn abandon<B: Backend>(&self, atomic: &AtomicSection<'_, B>, entry: Entry) {
        let words = self.issued_words(entry);
        let generation = generation_of(words.state.load(Ordering::Relaxed));
        words
            .state
            .store((generation as u64) << GENERATION_SHIFT, Ordering::Release);
        self.push_free(atomic, entry);
    }

    fn push_free<B: Backend>(&self, atomic: &AtomicSection<'_, B>, entry: Entry) {
        let mut allocator = self.allocator.lock(atomic);
        self.issued_words(entry)
            .location
            .store(allocator.free_head as u64, Ordering::Relaxed);
        allocator.free_head = entry.0;
    }

    /// Decode and check a raw handle against the entry's current state.
    fn validate(&self, raw: u64) -> Result<(Entry, &EntryWords, u64), HandleError> {
        let (index, generation) = handle::decode(raw)?;
        let words = self.words(index).ok_or(HandleError::NeverIssued)?;
        let state = words.state.load(Ordering::Acquire);
        let current = generation_of(state);
        if current != generation {
            // Generations only grow: an older one was freed, a newer one was
            // never handed out.
            let age = current.wrapping_sub(generation) as i32;
            return Err(if age > 0 {
                HandleError::Freed
            } else {
                HandleError::NeverIssued
            });
        }
        if state & ALLOCATED == 0 {
            return Err(HandleError::NeverIssued);
        }
        Ok((Entry(index), words, state))
    }

    /// Atomically change a valid entry's state with `change`, which may refuse.
    fn claim(
        &self,
        raw: u64,
        change: impl Fn(u64) -> Result<u64, HandleError>,
    ) -> Result<Claimed, HandleError> {
        loop {
            let (entry, words, state) = self.validate(raw)?;
            let new_state = change(state)?;
            let exchanged =
                words
                    .state
                    .compare_exchange(state, new_state, Ordering::AcqRel, Ordering::Acquire);
            if exchanged.is_ok() {
                let length = (state & LENGTH_MASK) as usize;
                return Ok(Claimed { entry, length });
            }
        }
    }

    /// Mark the object mapped (exclusive access to its bytes).
    pub(crate) fn claim_for_mapping(&self, raw: u64) -> Result<Claimed, HandleError> {
        self.claim(raw, |state| {
            if state & MAPPED != 0 {
                Err(HandleError::Mapped)
            } else {
                Ok(state | MAPPED)
            }
        })
    }

    /// Clear the mapped mark set by `claim_for_mapping`.
    #[inline]
    pub(crate) fn release_mapping(&self, entry: Entry) {
        self.issued_words(entry)
            .state
            .fetch_and(!MAPPED, Ordering::Release);
    }

    /// Start freeing: the raw handle becomes stale at once (generation + 1),
    /// so racing frees or maps are refused. The entry is not reusable until
    /// `finish_free`.
    pub(crate) fn claim_for_free(&self, raw: u64) -> Result<Claimed, HandleError> {
        self.claim(raw, |state| {
            if state & MAPPED != 0 {
                return Err(HandleError::Mapped);
            }
            let generation = generation_of(state).wrapping_add(1);
            Ok((generation as u64) << GENERATION_SHIFT | (state & LENGTH_MASK))
        })
    }

    /// Make an entry freed by `claim_for_free` available again.
    pub(crate) fn finish_free<B: Backend>(&self, atomic: &AtomicSection<'_, B>, entry: Entry) {
        self.push_free(atomic, entry);
    }

    /// Whether an entry exists, is allocated and is mapped (invariant checker).
    pub(crate) fn state(&self, entry: Entry) -> Option<EntryState> {
        let state = self.words(entry.0)?.state.load(Ordering::Acquire);
        Some(EntryState {
            allocated: state & ALLOCATED != 0,
            mapped: state & MAPPED != 0,
        })
    }

    /// Entries ever issued.
    pub(crate) fn issued_count(&self) -> u32 {
        self.issued.load(Ordering::Acquire)
    }

    /// Every allocated entry (invariant checker).
    pub(crate) fn allocated_entries(&self) -> Vec<Entry> {
        (0..self.issued_count())
            .map(Entry)
            .filter(|&entry| self.state(entry).is_some_and(|state| state.allocated))
            .collect()
    }

    /// Heap bytes of the table.
    pub(crate) fn metadata_bytes(&self) -> usize {
        let mut bytes = 0;
        for (chunk, base) in self.chunks.iter().enumerate() {
            if !base.load(Ordering::Acquire).is_null() {
                bytes += chunk_len(chunk) * core::mem::size_of::<EntryWords>();
            }
        }
        bytes
    }
}

impl Drop for HandleTable {
    fn drop(&mut self) {
        for (chunk, base) in self.chunks.iter_mut().enumerate() {
            let base = *base.get_mut();
            if base.is_null() {
                continue;
            }
            let slice = ptr::slice_from_raw_parts_mut(base, chunk_len(chunk));
            // SAFETY: `base` came from `Box::into_raw` of a boxed slice of
            // exactly `chunk_len(chunk)` entries in `ensure_chunk`, and we have
            // exclusive access, so no reference into it is alive.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_tile_the_index_space() {
        let mut expected = (0, 0);
        for index in 0..10_000 {
            assert_eq!(chunk_of(index), expected, "index {index}");
            expected.1 += 1;
            if expected.1 == chunk_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
    }
}
