//! A compressed RAM store in the manner of Linux's zram, on top of zsmalloc.
//!
//! The store is an array of 4 KiB *slots*. Writing a page to a slot
//! compresses it and keeps the compressed bytes in a zsmalloc pool; reading
//! a slot decompresses them back into a page:
//!
//! ```text
//!   write(slot, page)                         read(slot, page)
//!     │ all one repeated word? ──► Slot::SameFilled(word)   (no memory at all)
//!     │ LZ4-compress into a scratch buffer
//!     │ compressed ≥ huge_class_size? ──► store the page uncompressed (huge)
//!     │ zs_malloc(len) → handle; map write-only; copy; unmap
//!     │ over the memory limit? ──► free it again, fail, old contents kept
//!     └ free the slot's old object; slot = Stored { handle, len }
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
pub mod store;

pub use stats::{MmStat, StoreStatistics};
pub use store::{CompressedStore, StoreError};

/// The size of a page and of a slot.
pub const PAGE_SIZE: usize = zsmalloc::PAGE_SIZE;
