//! A compressed RAM store in the manner of Linux's zram, on top of zsmalloc.
//!
//! The store is an array of 4 KiB *slots*. Writing a page to a slot
//! compresses it and keeps the compressed bytes in a zsmalloc pool; reading
//! a slot decompresses them back into a page:
//!
//! ```text
//!   write(slot, page)
//!     │ all one repeated word? ──► Slot::SameFilled(word)   (no memory at all)
//!     │ LZ4-compress into a scratch buffer
//!     │ compressed ≥ huge_class_size? ──► store the page uncompressed (huge)
//!     │ Pool::malloc(len) → handle
//!     │ over the memory limit? ──► free it again, fail, old contents kept
//!     │ Pool::write: copy into the object (Linux's zs_obj_write)
//!     └ free the slot's old object; slot = Stored { handle, len }
//!
//!   read(slot, page)
//!     │ Empty ──► zeros;  SameFilled(word) ──► the word repeated
//!     │ Pool::read: copy the object out (one short atomic window)
//!     └ LZ4-decompress into the page, with interrupts on (a huge page is copied as is)
//! ```
//!
//! The statistics follow Linux's `/sys/block/zramN/mm_stat` (see `stats.rs`).
//! The crate is `no_std` + `alloc` and generic over the zsmalloc backend, so
//! the kernel runs it on its frames and the host tests and benchmarks on
//! plain memory.
#![no_std]

extern crate alloc;

pub mod compression;
pub mod same_filled;
pub mod stats;
#[cfg_attr(feature = "lab-zram", path = "../../labs/zram/store.rs")]
pub mod store;

pub use stats::{MmStat, StoreStatistics};
pub use store::{CompressedStore, SlotContents, StoreError};

/// The size of a page and of a slot.
pub const PAGE_SIZE: usize = zsmalloc::PAGE_SIZE;
