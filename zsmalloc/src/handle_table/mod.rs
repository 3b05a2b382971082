//! The handle table: one *entry* per object, naming where it lives.
//!
//! Each entry is a single 64-bit word, read and changed only atomically:
//!
//! ```text
//!    63        54 53 52 51       40 39                                  0
//!   +------------+--+--+-----------+-------------------------------------+
//!   | generation |M |A | length - 1|  location (the layout's, 40 bits)   |
//!   |  10 bits   |  |  |  12 bits  |  while free: the next free entry    |
//!   +------------+--+--+-----------+-------------------------------------+
//!     A: allocated (a handle names it)   M: mapped (a window or copy owns its bytes)
//! ```
//!
//! ## The life of an entry
//!
//! ```text
//!   free ──reserve──► reserved ──publish──► allocated ⇄ mapped
//!    ▲   (malloc takes it;      (one fetch_or of A,        (CAS sets M; a free is
//!    │    A clear: no handle     after the layout placed    refused while M is set)
//!    │    validates yet)         the object)                        │
//!    └──── push (FIFO) ◄── freeing ◄── claim_for_free: one CAS ─────┘
//!                           (generation + 1, A clear: the handle is stale at once;
//!                            then the layout forgets the object)
//! ```
//!
//! A raw handle is accepted only by an entry that is *allocated* with the
//! handle's generation: never while `malloc` is still placing the object,
//! never after a free has claimed it. Every change of the flags or the
//! generation is one compare-and-swap against the word the handle was
//! validated with, so two raw calls racing on one entry (free and free,
//! free and map, map and map) cannot both win. A layout rewrites only the
//! location bits ([`HandleTable::set_location`], an atomic read-modify-write
//! under the layout's own lock), so compaction moving an object never undoes
//! a claim, and a claim never undoes a move.
//!
//! ## Generations: how long a stale handle is refused
//!
//! Every free adds 1 to the entry's generation, and a raw handle carries
//! the generation it was issued with. With 10 bits, a stale copy of a
//! handle would match again after its entry has been reused 1024 times.
//! Two rules make that take long: free entries are reused in **FIFO**
//! order (the one freed longest ago first), and the table keeps a
//! **reserve** of [`REUSE_RESERVE`] free entries, issuing a new entry
//! rather than dipping into it. So between two reuses of one entry at
//! least 256 other frees happen, and a stale handle is refused until the
//! pool has done at least 1024 × 257 ≈ 263,000 frees since. (Linux's
//! handles carry no generation at all; a 32-bit one would cost the entry
//! its location bits.) The reserve costs at most 256 × 8 = 2 KiB per pool.
//!
//! ## Storage
//!
//! Entries live in 1 KiB chunks of 128 that never move, found through a
//! small directory ([`storage`]); readers need no lock. Taking and
//! returning entries goes through a short spin lock; a new chunk is
//! allocated before that lock is taken, so no heap memory is allocated
//! with interrupts off. The table never keeps a large never-used chunk:
//! at most one chunk (1 KiB) is allocated and not yet issued.

mod storage;

use alloc::vec::Vec;
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::backend::Backend;
use crate::handle::{self, HandleError, RawParts, GENERATION_BITS};
use crate::sync::{AtomicSection, SpinLock};
use storage::{Storage, CHUNK_ENTRIES, MAX_ENTRIES};

/// Bits of an entry's location word: every layout encodes where an object
/// lives in at most this many bits ([`crate::PoolCore::set_location`]).
pub const LOCATION_BITS: u32 = 40;

/// Free entries the table keeps before it reuses one (see the module docs).
pub const REUSE_RESERVE: u32 = 256;

const LOCATION_MASK: u64 = (1 << LOCATION_BITS) - 1;
const LENGTH_SHIFT: u32 = LOCATION_BITS;
const LENGTH_MASK: u64 = 0xfff;
const ALLOCATED: u64 = 1 << 52;
const MAPPED: u64 = 1 << 53;
const GENERATION_SHIFT: u32 = 54;
const ONE_GENERATION: u64 = 1 << GENERATION_SHIFT;
const _: () = assert!(GENERATION_SHIFT + GENERATION_BITS == 64);
/// The end of the free list.
const NO_ENTRY: u32 = u32::MAX;

fn generation_of(word: u64) -> u32 {
    (word >> GENERATION_SHIFT) as u32
}

fn length_of(word: u64) -> usize {
    ((word >> LENGTH_SHIFT) & LENGTH_MASK) as usize + 1
}

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

/// The free entries (a FIFO list threaded through their location bits)
/// and the table's size, under the table's lock.
struct FreeQueue {
    head: u32,
    tail: u32,
    len: u32,
    /// Entries the installed chunks hold (issued or not).
    capacity: u32,
}

/// The table of all handles of a pool.
pub(crate) struct HandleTable {
    /// This pool's tag, carried by every raw handle it issues.
    pool_tag: u32,
    storage: Storage,
    /// Entries ever issued: indices below it have an initialised word.
    issued: AtomicU32,
    queue: SpinLock<FreeQueue>,
    /// Free entries kept before one is reused ([`REUSE_RESERVE`]).
    reuse_reserve: u32,
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
        Self::with_reuse_reserve(REUSE_RESERVE)
    }

    fn with_reuse_reserve(reuse_reserve: u32) -> HandleTable {
        HandleTable {
            reuse_reserve,
            pool_tag: handle::new_pool_tag(),
            storage: Storage::new(),
            issued: AtomicU32::new(0),
            queue: SpinLock::new(FreeQueue {
                head: NO_ENTRY,
                tail: NO_ENTRY,
                len: 0,
                capacity: 0,
            }),
        }
    }

    /// The word of an issued entry, if `index` names one.
    #[inline]
    fn word(&self, index: u32) -> Option<&AtomicU64> {
        if index >= self.issued.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: indices below `issued` have an installed chunk: `issued`
        // is raised (Release) only after the chunk was installed, and we
        // read it with Acquire.
        Some(unsafe { self.storage.word(index as usize) })
    }

    /// The word of an entry known to be issued (internal callers).
    #[inline]
    fn issued_word(&self, entry: Entry) -> &AtomicU64 {
        self.word(entry.0).expect("entry was issued")
    }

    /// Take an entry for a new object of `length` bytes (1..=PAGE_SIZE).
    /// It is *reserved*: it records the length and will record the
    /// location, but no handle validates until [`HandleTable::publish`].
    pub(crate) fn reserve<B: Backend>(&self, backend: &B, length: usize) -> Entry {
        let index = loop {
            let capacity = {
                let atomic = AtomicSection::enter(backend);
                let mut queue = self.queue.lock(&atomic);
                if let Some(index) = self.take(&mut queue) {
                    break index;
                }
                queue.capacity
            };
            // Every entry is issued: allocate a chunk with interrupts on,
            // then install it unless another CPU did meanwhile.
            let growth = self.storage.prepare(capacity as usize / CHUNK_ENTRIES);
            let unused = {
                let atomic = AtomicSection::enter(backend);
                let mut queue = self.queue.lock(&atomic);
                if queue.capacity == capacity {
                    self.storage
                        .install(capacity as usize / CHUNK_ENTRIES, growth);
                    queue.capacity += CHUNK_ENTRIES as u32;
                    None
                } else {
                    Some(growth)
                }
            };
            // Freed outside the atomic section.
            drop(unused);
        };
        let word = self.issued_word(Entry(index));
        let generation = word.load(Ordering::Relaxed) & !(ONE_GENERATION - 1);
        let length_bits = (length as u64 - 1) << LENGTH_SHIFT;
        debug_assert!(length_bits >> LENGTH_SHIFT <= LENGTH_MASK);
        // Nobody else writes a reserved entry's word.
        word.store(generation | length_bits, Ordering::Release);
        Entry(index)
    }

    /// A free entry for `reserve`: the oldest free one if the reserve is
    /// full, else a new one; `None` when every installed entry is issued.
    fn take(&self, queue: &mut FreeQueue) -> Option<u32> {
        if queue.len > self.reuse_reserve {
            let index = queue.head;
            let next = self.issued_word(Entry(index)).load(Ordering::Relaxed) & LOCATION_MASK;
            queue.head = next as u32;
            queue.len -= 1;
            if queue.len == 0 {
                queue.tail = NO_ENTRY;
            }
            return Some(index);
        }
        let issued = self.issued.load(Ordering::Relaxed);
        if issued >= queue.capacity {
            assert!((issued as usize) < MAX_ENTRIES, "handle table full");
            return None;
        }
        self.issued.store(issued + 1, Ordering::Release);
        Some(issued)
    }

    /// Make a reserved entry's object reachable: from now on its raw handle
    /// validates. Returns that handle.
    #[inline]
    pub(crate) fn publish(&self, entry: Entry) -> NonZeroU64 {
        let word = self
            .issued_word(entry)
            .fetch_or(ALLOCATED, Ordering::Release);
        handle::encode(RawParts {
            pool_tag: self.pool_tag,
            generation: generation_of(word),
            index: entry.0,
        })
    }

    /// Give back a reserved entry that was never published (malloc failed).
    pub(crate) fn abandon<B: Backend>(&self, backend: &B, entry: Entry) {
        self.push_free(backend, entry);
    }

    /// Put an entry at the tail of the free list.
    fn push_free<B: Backend>(&self, backend: &B, entry: Entry) {
        let atomic = AtomicSection::enter(backend);
        let mut queue = self.queue.lock(&atomic);
        self.replace_location(entry, NO_ENTRY as u64);
        if queue.len == 0 {
            queue.head = entry.0;
        } else {
            self.replace_location(Entry(queue.tail), entry.0 as u64);
        }
        queue.tail = entry.0;
        queue.len += 1;
    }

    /// Replace the location bits of an entry, and nothing else.
    #[inline]
    fn replace_location(&self, entry: Entry, location: u64) {
        let word = self.issued_word(entry);
        let mut current = word.load(Ordering::Relaxed);
        loop {
            let new = current & !LOCATION_MASK | location;
            match word.compare_exchange_weak(current, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Record where the object of `entry` lives (the layout's word, below
    /// `1 << LOCATION_BITS`). Only the location bits change.
    #[inline]
    pub(crate) fn set_location(&self, entry: Entry, location: u64) {
        assert!(
            location <= LOCATION_MASK,
            "a location word has at most {LOCATION_BITS} bits: {location:#x}"
        );
        self.replace_location(entry, location);
    }

    /// Where the object of `entry` lives (the layout's word).
    #[inline]
    pub(crate) fn location(&self, entry: Entry) -> u64 {
        self.issued_word(entry).load(Ordering::Acquire) & LOCATION_MASK
    }

    /// Payload length of the object of `entry`.
    #[inline]
    pub(crate) fn length(&self, entry: Entry) -> usize {
        length_of(self.issued_word(entry).load(Ordering::Acquire))
    }

    /// Payload length of the object a raw handle names, after validation.
    pub(crate) fn checked_length(&self, raw: u64) -> Result<usize, HandleError> {
        let (_, _, word) = self.validate(raw)?;
        Ok(length_of(word))
    }

    /// Decode and check a raw handle against the entry's current word.
    #[inline]
    fn validate(&self, raw: u64) -> Result<(Entry, &AtomicU64, u64), HandleError> {
        let parts = handle::decode(raw)?;
        if parts.pool_tag != self.pool_tag {
            return Err(HandleError::OtherPool);
        }
        let word = self.word(parts.index).ok_or(HandleError::NeverIssued)?;
        let current = word.load(Ordering::Acquire);
        let generation = generation_of(current);
        if generation != parts.generation {
            // Generations only grow (modulo 1024): an older one was freed, a
            // newer one was never handed out.
            let age = generation.wrapping_sub(parts.generation) & ((1 << GENERATION_BITS) - 1);
            return Err(if age < 1 << (GENERATION_BITS - 1) {
                HandleError::Freed
            } else {
                HandleError::NeverIssued
            });
        }
        if current & ALLOCATED == 0 {
            // Free, or reserved by a malloc that has not published it yet.
            return Err(HandleError::NeverIssued);
        }
        Ok((Entry(parts.index), word, current))
    }

    /// Atomically change a valid entry's word with `change`, which may refuse.
    #[inline]
    fn claim(
        &self,
        raw: u64,
        change: impl Fn(u64) -> Result<u64, HandleError>,
    ) -> Result<Claimed, HandleError> {
        loop {
            let (entry, word, current) = self.validate(raw)?;
            let new = change(current)?;
            let exchanged =
                word.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire);
            if exchanged.is_ok() {
                let length = length_of(current);
                return Ok(Claimed { entry, length });
            }
            // The word changed (a move, a claim, a free): validate again.
        }
    }

    /// Mark the object mapped (exclusive access to its bytes).
    #[inline]
    pub(crate) fn claim_for_mapping(&self, raw: u64) -> Result<Claimed, HandleError> {
        self.claim(raw, |word| {
            if word & MAPPED != 0 {
                Err(HandleError::Mapped)
            } else {
                Ok(word | MAPPED)
            }
        })
    }

    /// Clear the mapped mark set by `claim_for_mapping`.
    #[inline]
    pub(crate) fn release_mapping(&self, entry: Entry) {
        self.issued_word(entry)
            .fetch_and(!MAPPED, Ordering::Release);
    }

    /// Start freeing: the raw handle becomes stale at once (generation + 1,
    /// not allocated), so racing frees or maps are refused. The location
    /// stays until the layout has forgotten the object; the entry is not
    /// reusable until `finish_free`.
    #[inline]
    pub(crate) fn claim_for_free(&self, raw: u64) -> Result<Claimed, HandleError> {
        self.claim(raw, |word| {
            if word & MAPPED != 0 {
                return Err(HandleError::Mapped);
            }
            Ok((word & !ALLOCATED).wrapping_add(ONE_GENERATION))
        })
    }

    /// Make an entry freed by `claim_for_free` available again.
    pub(crate) fn finish_free<B: Backend>(&self, backend: &B, entry: Entry) {
        self.push_free(backend, entry);
    }

    /// Whether an entry exists, is allocated and is mapped (invariant checker).
    pub(crate) fn state(&self, entry: Entry) -> Option<EntryState> {
        let word = self.word(entry.0)?.load(Ordering::Acquire);
        Some(EntryState {
            allocated: word & ALLOCATED != 0,
            mapped: word & MAPPED != 0,
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

    /// Heap bytes of the table (its chunks and directory segments).
    pub(crate) fn metadata_bytes(&self) -> usize {
        self.storage.bytes()
    }
}

#[cfg(test)]
mod tests;
