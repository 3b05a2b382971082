//! The compressed store: slots, writes, reads, discards, the memory limit.
//!
//! ```text
//!   slots: [ Empty | SameFilled(0) | Stored{h1, 1234} | Stored{h2, 4096, huge} | ... ]
//!                                          │
//!                                          └─► zsmalloc pool: handle h1 → 1234 compressed bytes
//! ```
//!
//! Objects are written with `Pool::write` (Linux 6.15's `zs_obj_write`) and
//! read with `Pool::read`: each copies the object in one short atomic
//! section (interrupts off in the kernel), through transient mappings of its
//! pages. Unlike Linux's zram, which decompresses while the object is
//! mapped, reads decompress *after* the copy, so the interrupts-off time is
//! one memcpy of at most a page, not a whole LZ4 decompression.
//!
//! A slot is replaced only once its new contents are safely stored: a write
//! that fails (memory limit, out of memory) leaves the old contents readable.
//!
//! Lab skeleton (labs/zram/README.md): write every function that says `todo!`.
#![allow(unused)]

use crate::compression::{decompress, Compressor};
use crate::same_filled::{fill_page, same_filled_word};
use crate::stats::{MmStat, StoreStatistics};
use crate::PAGE_SIZE;
use alloc::vec::Vec;
use core::fmt;
use zsmalloc::{AllocError, Backend, Handle, Pool};

/// What one slot holds.
enum Slot {
    /// Never written, or discarded: reads as a zero page.
    Empty,
    /// Every word of the page is this value; nothing is allocated.
    SameFilled(u64),
    /// An object in the pool: LZ4 data, or the raw page when `huge`.
    Stored {
        handle: Handle,
        length: u16,
        huge: bool,
    },
}

/// Why an operation on the store failed. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The slot index is not below the number of slots.
    SlotOutOfRange {
        /// The slot asked for.
        slot: usize,
        /// The number of slots.
        slots: usize,
    },
    /// The buffer is not exactly one page.
    NotAPage {
        /// The buffer's length.
        length: usize,
    },
    /// Storing the page would take the pool over the memory limit.
    MemoryLimit {
        /// The limit, in pages.
        limit_pages: usize,
    },
    /// The allocator could not get a page from the system.
    OutOfMemory,
    /// A stored object did not decompress into a whole page (a bug).
    Corrupt {
        /// The slot holding it.
        slot: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::SlotOutOfRange { slot, slots } => {
                write!(
                    formatter,
                    "slot {slot} is out of range (the store has {slots} slots)"
                )
            }
            StoreError::NotAPage { length } => {
                write!(
                    formatter,
                    "a buffer of {length} bytes is not a {PAGE_SIZE}-byte page"
                )
            }
            StoreError::MemoryLimit { limit_pages } => {
                write!(
                    formatter,
                    "the memory limit of {limit_pages} pages would be exceeded"
                )
            }
            StoreError::OutOfMemory => write!(formatter, "no memory left for the allocator"),
            StoreError::Corrupt { slot } => write!(formatter, "slot {slot} holds a corrupt object"),
        }
    }
}

/// How a slot keeps its page, as [`CompressedStore::slot_contents`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotContents {
    /// Never written, or discarded: reads as zeros.
    Empty,
    /// Every word of the page is `word`; no memory is used.
    SameFilled {
        /// The repeated word.
        word: u64,
    },
    /// An object of `bytes` compressed bytes in the pool.
    Compressed {
        /// The object's size.
        bytes: usize,
    },
    /// The page stored whole (it did not compress below the huge threshold).
    Huge,
}

/// A zram-like store of `slot_count` pages on a zsmalloc pool.
pub struct CompressedStore<B: Backend> {
    pool: Pool<B>,
    slots: Vec<Slot>,
    limit_pages: usize,
    compressor: Compressor,
    /// Compressed bytes copied out of the pool on the way to decompression.
    scratch: Vec<u8>,
    statistics: StoreStatistics,
    max_used_pages: usize,
}

impl<B: Backend> CompressedStore<B> {
    /// A store of `slot_count` empty slots on `pool`, without a memory limit.
    pub fn new(pool: Pool<B>, slot_count: usize) -> Self {
        let mut slots = Vec::with_capacity(slot_count);
        slots.resize_with(slot_count, || Slot::Empty);
        CompressedStore {
            pool,
            slots,
            limit_pages: 0,
            compressor: Compressor::new(),
            scratch: alloc::vec![0; PAGE_SIZE],
            statistics: StoreStatistics::default(),
            max_used_pages: 0,
        }
    }

    /// Limit the pool to `pages` pages (0: no limit), like zram's `mem_limit`.
    pub fn set_memory_limit(&mut self, pages: usize) {
        self.limit_pages = pages;
    }

    /// The number of slots.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Heap bytes of the slot table itself, one entry per slot (Linux's
    /// `zram->table`). Neither `mm_stat` nor zsmalloc's metadata counts it:
    /// reports show it apart.
    pub fn slot_table_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Slot>()
    }

    /// The pool underneath (for its class statistics).
    pub fn pool(&self) -> &Pool<B> {
        &self.pool
    }

    /// Compressed objects at least this large are stored uncompressed.
    pub fn huge_threshold(&self) -> usize {
        self.pool.huge_class_size()
    }

    fn check_slot(&self, slot: usize) -> Result<(), StoreError> {
        if slot < self.slots.len() {
            Ok(())
        } else {
            Err(StoreError::SlotOutOfRange {
                slot,
                slots: self.slots.len(),
            })
        }
    }

    fn as_page(buffer: &[u8]) -> Result<&[u8; PAGE_SIZE], StoreError> {
        buffer.try_into().map_err(|_| StoreError::NotAPage {
            length: buffer.len(),
        })
    }

    /// Store `page` in `slot`, replacing what was there.
    pub fn write(&mut self, slot: usize, page: &[u8]) -> Result<(), StoreError> {
        self.check_slot(slot)?;
        let page = Self::as_page(page)?;
        let result = self.store_page(page);
        match result {
            Ok(new_contents) => {
                self.statistics.writes += 1;
                let old_contents = core::mem::replace(&mut self.slots[slot], new_contents);
                self.release(old_contents);
                self.count_new_contents(slot);
                Ok(())
            }
            Err(error) => {
                self.statistics.failed_writes += 1;
                Err(error)
            }
        }
    }

    /// Compress and allocate the new contents of a slot (the slot itself is
    /// not touched yet).
    fn store_page(&mut self, page: &[u8; PAGE_SIZE]) -> Result<Slot, StoreError> {
        todo!("lab zram: same-filled word, else compress; huge pages stored raw; respect the memory limit")
    }

    fn count_new_contents(&mut self, slot: usize) {
        let mm = &mut self.statistics.mm_stat;
        self.statistics.slots_used += 1;
        mm.orig_data_size += PAGE_SIZE as u64;
        match &self.slots[slot] {
            Slot::Empty => unreachable!("a write always fills the slot"),
            Slot::SameFilled(_) => mm.same_pages += 1,
            Slot::Stored { length, huge, .. } => {
                mm.compr_data_size += u64::from(*length);
                mm.huge_pages += u64::from(*huge);
            }
        }
    }

    /// Free what a slot held and take it out of the statistics.
    fn release(&mut self, contents: Slot) {
        todo!("lab zram: free what a slot held and take it out of the statistics")
    }

    /// Read `slot` into `page`. An empty slot reads as zeros (like zram).
    pub fn read(&mut self, slot: usize, page: &mut [u8]) -> Result<(), StoreError> {
        todo!("lab zram: fill `page` from the slot: zeros, the repeated word, or the decompressed object")
    }

    /// How `slot` keeps its page (without reading it).
    pub fn slot_contents(&self, slot: usize) -> Result<SlotContents, StoreError> {
        self.check_slot(slot)?;
        Ok(match &self.slots[slot] {
            Slot::Empty => SlotContents::Empty,
            Slot::SameFilled(word) => SlotContents::SameFilled { word: *word },
            Slot::Stored { huge: true, .. } => SlotContents::Huge,
            Slot::Stored { length, .. } => SlotContents::Compressed {
                bytes: usize::from(*length),
            },
        })
    }

    /// Forget `slot`'s contents and free its memory (zram's discard/trim).
    pub fn discard(&mut self, slot: usize) -> Result<(), StoreError> {
        self.check_slot(slot)?;
        let old_contents = core::mem::replace(&mut self.slots[slot], Slot::Empty);
        self.release(old_contents);
        self.statistics.discards += 1;
        Ok(())
    }

    /// Run the pool's compaction; returns the pages freed.
    pub fn compact(&mut self) -> usize {
        self.pool.compact()
    }

    /// The `mm_stat` figures and I/O counters as of now.
    pub fn statistics(&self) -> StoreStatistics {
        let mut statistics = self.statistics;
        let mm: &mut MmStat = &mut statistics.mm_stat;
        mm.mem_used_total = (self.pool.total_pages() * PAGE_SIZE) as u64;
        mm.mem_limit = (self.limit_pages * PAGE_SIZE) as u64;
        mm.mem_used_max = (self.max_used_pages * PAGE_SIZE) as u64;
        // As Linux's: everything compaction gave back, asked for or automatic.
        mm.pages_compacted = self.pool.pages_compacted() as u64;
        statistics
    }
}
