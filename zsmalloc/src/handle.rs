//! Handles: opaque names of objects that survive compaction.
//!
//! A handle is not an address. It names a *slot* in the handle table, and the
//! slot says where the object currently lives. Compaction moves the object and
//! rewrites the slot; the handle the user holds does not change:
//!
//! ```text
//!   raw handle (u64)               handle table slot              zspage
//!  +------------+-------------+    +-------------------------+    +--------------+
//!  | generation | slot index+1| -> | location: class,        | -> | [hdr|payload]|
//!  |  32 bits   |   32 bits   |    |   zspage id, object idx |    +--------------+
//!  +------------+-------------+    | state: generation,      |
//!                                  |   allocated, mapped, len|
//!                                  +-------------------------+
//! ```
//!
//! Every free bumps the slot's generation, so a stale copy of a raw handle no
//! longer matches and is refused instead of reaching someone else's object.
//! The table only grows, in chunks that never move (chunk `k` holds
//! `64 << k` slots), so readers need no lock; only taking and returning slots
//! goes through a short spin lock.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroU64;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// An allocated object. Owned, not `Clone`: freeing consumes it, mapping
/// borrows it, so the safe API cannot free a mapped object or free twice.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "dropping a Handle leaks its object until the pool is dropped"]
pub struct Handle {
    raw: NonZeroU64,
}

impl Handle {
    /// The raw value (never 0), as the C-flavoured API passes it around.
    pub fn raw(&self) -> u64 {
        self.raw.get()
    }

    /// Take ownership of a raw handle again (the pool still validates it
    /// on every use, so a wrong value gives errors, never memory accesses).
    pub fn from_raw(raw: NonZeroU64) -> Handle {
        Handle { raw }
    }
}

/// Why a raw handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// The raw handle is 0.
    Null,
    /// No object ever had this handle (unknown slot, or a forged generation).
    NeverIssued,
    /// The object was freed (a double free, or use after free).
    Freed,
    /// The object is mapped: it cannot be freed, or mapped a second time.
    Mapped,
}

impl fmt::Display for HandleError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            HandleError::Null => "null handle",
            HandleError::NeverIssued => "handle never issued by this pool",
            HandleError::Freed => "handle already freed",
            HandleError::Mapped => "handle is mapped",
        };
        formatter.write_str(text)
    }
}

/// Where an object lives: physical class, zspage id, object index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    pub class: u16,
    pub zspage: u32,
    pub object: u16,
}

impl Location {
    fn pack(self) -> u64 {
        (self.class as u64) << 48 | (self.zspage as u64) << 16 | self.object as u64
    }

    fn unpack(word: u64) -> Location {
        Location {
            class: (word >> 48) as u16,
            zspage: (word >> 16) as u32,
            object: word as u16,
        }
    }
}

// Bits of a slot's state word.
const LENGTH_MASK: u64 = 0xffff;
const ALLOCATED: u64 = 1 << 16;
const MAPPED: u64 = 1 << 17;
const GENERATION_SHIFT: u32 = 32;

fn generation_of(state: u64) -> u32 {
    (state >> GENERATION_SHIFT) as u32
}

/// One entry of the handle table.
struct Slot {
    /// Packed [`Location`] while allocated; the next free slot while free.
    location: AtomicU64,
    /// Generation, ALLOCATED and MAPPED flags and the payload length.
    state: AtomicU64,
}

const FIRST_CHUNK_SLOTS: usize = 64;
const CHUNK_COUNT: usize = 26;
const NO_SLOT: u32 = u32::MAX;

/// Free-slot list head and high-water mark, under the table's lock.
struct SlotAllocator {
    free_head: u32,
    issued: u32,
}

/// The table of all handles of a pool.
pub(crate) struct HandleTable {
    chunks: [AtomicPtr<Slot>; CHUNK_COUNT],
    /// Slots ever issued: indices below it have a chunk.
    issued: AtomicU32,
    allocator: spin::Mutex<SlotAllocator>,
}

/// Chunk number and index inside it for a slot index.
fn chunk_of(index: usize) -> (usize, usize) {
    let scaled = index / FIRST_CHUNK_SLOTS + 1;
    let chunk = (usize::BITS - 1 - scaled.leading_zeros()) as usize;
    let first_in_chunk = FIRST_CHUNK_SLOTS * ((1 << chunk) - 1);
    (chunk, index - first_in_chunk)
}

fn chunk_len(chunk: usize) -> usize {
    FIRST_CHUNK_SLOTS << chunk
}

/// A validated, exclusively claimed slot (see `claim_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claimed {
    pub index: u32,
    pub length: usize,
}

impl HandleTable {
    pub(crate) fn new() -> HandleTable {
        HandleTable {
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; CHUNK_COUNT],
            issued: AtomicU32::new(0),
            allocator: spin::Mutex::new(SlotAllocator {
                free_head: NO_SLOT,
                issued: 0,
            }),
        }
    }

    fn slot(&self, index: u32) -> Option<&Slot> {
        if index >= self.issued.load(Ordering::Acquire) {
            return None;
        }
        let (chunk, offset) = chunk_of(index as usize);
        let base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: `base` points to a live chunk of `chunk_len(chunk)` slots,
        // published with Release before `issued` covered `index`; chunks are
        // freed only in Drop (`&mut self`), and `offset < chunk_len(chunk)`.
        Some(unsafe { &*base.add(offset) })
    }

    /// Slot of an index known to be issued (internal callers).
    fn issued_slot(&self, index: u32) -> &Slot {
        self.slot(index).expect("slot index was issued")
    }

    /// Take a slot for a new object of `length` bytes. Returns the slot index.
    /// The caller must run this inside an atomic section.
    pub(crate) fn allocate(&self, length: usize) -> u32 {
        let index = {
            let mut allocator = self.allocator.lock();
            if allocator.free_head != NO_SLOT {
                let index = allocator.free_head;
                let next = self.issued_slot(index).location.load(Ordering::Relaxed);
                allocator.free_head = next as u32;
                index
            } else {
                let index = allocator.issued;
                assert!(index < NO_SLOT - 1, "handle table full");
                self.ensure_chunk(index);
                allocator.issued = index + 1;
                self.issued.store(index + 1, Ordering::Release);
                index
            }
        };
        let slot = self.issued_slot(index);
        let generation = generation_of(slot.state.load(Ordering::Relaxed));
        let state = (generation as u64) << GENERATION_SHIFT | ALLOCATED | length as u64;
        slot.state.store(state, Ordering::Release);
        index
    }

    /// Allocate the chunk holding `index` if it does not exist yet.
    /// Called with the allocator lock held.
    fn ensure_chunk(&self, index: u32) {
        let (chunk, _) = chunk_of(index as usize);
        if !self.chunks[chunk].load(Ordering::Acquire).is_null() {
            return;
        }
        let slots: Box<[Slot]> = (0..chunk_len(chunk))
            .map(|_| Slot {
                location: AtomicU64::new(0),
                state: AtomicU64::new(0),
            })
            .collect();
        let base = Box::into_raw(slots).cast::<Slot>();
        self.chunks[chunk].store(base, Ordering::Release);
    }

    /// The raw handle for an allocated slot.
    pub(crate) fn raw_handle(&self, index: u32) -> NonZeroU64 {
        let state = self.issued_slot(index).state.load(Ordering::Relaxed);
        let raw = (generation_of(state) as u64) << 32 | (index as u64 + 1);
        NonZeroU64::new(raw).expect("index + 1 is never 0")
    }

    /// Record where the object of `index` lives (malloc, compaction).
    pub(crate) fn set_location(&self, index: u32, location: Location) {
        self.issued_slot(index)
            .location
            .store(location.pack(), Ordering::Release);
    }

    /// Where the object of `index` lives.
    pub(crate) fn location(&self, index: u32) -> Location {
        Location::unpack(self.issued_slot(index).location.load(Ordering::Acquire))
    }

    /// Payload length of the object of `index`.
    pub(crate) fn length(&self, index: u32) -> usize {
        (self.issued_slot(index).state.load(Ordering::Acquire) & LENGTH_MASK) as usize
    }

    /// Payload length of the object a raw handle names, after validation.
    pub(crate) fn checked_length(&self, raw: u64) -> Result<usize, HandleError> {
        let (_, _, state) = self.validate(raw)?;
        Ok((state & LENGTH_MASK) as usize)
    }

    /// Return a slot that was allocated but never handed out (malloc failed).
    pub(crate) fn abandon(&self, index: u32) {
        let slot = self.issued_slot(index);
        let generation = generation_of(slot.state.load(Ordering::Relaxed));
        slot.state
            .store((generation as u64) << GENERATION_SHIFT, Ordering::Release);
        self.push_free(index);
    }

    fn push_free(&self, index: u32) {
        let mut allocator = self.allocator.lock();
        self.issued_slot(index)
            .location
            .store(allocator.free_head as u64, Ordering::Relaxed);
        allocator.free_head = index;
    }

    /// Decode and check a raw handle against the slot's current state.
    fn validate(&self, raw: u64) -> Result<(u32, &Slot, u64), HandleError> {
        if raw == 0 {
            return Err(HandleError::Null);
        }
        let index_plus_one = raw as u32;
        if index_plus_one == 0 {
            return Err(HandleError::NeverIssued);
        }
        let index = index_plus_one - 1;
        let generation = (raw >> 32) as u32;
        let slot = self.slot(index).ok_or(HandleError::NeverIssued)?;
        let state = slot.state.load(Ordering::Acquire);
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
        Ok((index, slot, state))
    }

    /// Atomically change a valid slot's state with `change`, which may refuse.
    fn claim(
        &self,
        raw: u64,
        change: impl Fn(u64) -> Result<u64, HandleError>,
    ) -> Result<Claimed, HandleError> {
        loop {
            let (index, slot, state) = self.validate(raw)?;
            let new_state = change(state)?;
            let exchanged =
                slot.state
                    .compare_exchange(state, new_state, Ordering::AcqRel, Ordering::Acquire);
            if exchanged.is_ok() {
                let length = (state & LENGTH_MASK) as usize;
                return Ok(Claimed { index, length });
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
    pub(crate) fn release_mapping(&self, index: u32) {
        self.issued_slot(index)
            .state
            .fetch_and(!MAPPED, Ordering::Release);
    }

    /// Start freeing: the raw handle becomes stale at once (generation + 1),
    /// so racing frees or maps are refused. The slot is not reusable until
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

    /// Make a slot freed by `claim_for_free` available again.
    pub(crate) fn finish_free(&self, index: u32) {
        self.push_free(index);
    }

    /// Is the slot allocated, and is it mapped? (for the invariant checker)
    pub(crate) fn flags(&self, index: u32) -> Option<(bool, bool)> {
        let state = self.slot(index)?.state.load(Ordering::Acquire);
        Some((state & ALLOCATED != 0, state & MAPPED != 0))
    }

    /// Slots ever issued.
    pub(crate) fn issued_count(&self) -> u32 {
        self.issued.load(Ordering::Acquire)
    }

    /// Heap bytes of the table.
    pub(crate) fn metadata_bytes(&self) -> usize {
        let mut bytes = 0;
        for (chunk, base) in self.chunks.iter().enumerate() {
            if !base.load(Ordering::Acquire).is_null() {
                bytes += chunk_len(chunk) * core::mem::size_of::<Slot>();
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
            // exactly `chunk_len(chunk)` slots in `ensure_chunk`, and we have
            // exclusive access, so no reference into it is alive.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

/// Collect every allocated slot index (invariant checker).
pub(crate) fn allocated_slots(table: &HandleTable) -> Vec<u32> {
    (0..table.issued_count())
        .filter(|&index| matches!(table.flags(index), Some((true, _))))
        .collect()
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

    #[test]
    fn location_round_trips() {
        let location = Location {
            class: 254,
            zspage: 0xdead_beef,
            object: 4095,
        };
        assert_eq!(Location::unpack(location.pack()), location);
    }
}
