//! # bench — how well do compressed-page allocators pack?
//!
//! The project's benchmark, as a `no_std` + `alloc` library so that the
//! same allocators and experiments run on the host (`cargo run --release -p
//! bench`) and inside the kernel in QEMU.
//!
//! ```text
//!   page file ──corpus──► Workload: one object per non-same-filled page
//!                         (LZ4 bytes, or the raw page when it compresses badly)
//!                                │
//!            ┌───────────────────┼────────────────────┐
//!            ▼                   ▼                    ▼
//!      efficiency (part 1)   churn (part 2)      speed (part 4)
//!      store all, count      free a random half,  ns per operation
//!      pages + metadata      write others,        (store write/read,
//!                            compact              malloc/free, map)
//!            │                   │                    │
//!            └──── &mut dyn ObjectAllocator ──────────┘
//!                  zsmalloc (any Config) · zbud · slab · ideal
//! ```
//!
//! Modules, one idea each:
//! * [`object_allocator`]: the one interface every allocator is driven through;
//! * [`zsmalloc_allocator`], [`zbud`], [`slab`], [`ideal`]: the allocators;
//! * [`lineup`]: the table of (row name, constructor) that the experiments compare;
//! * [`corpus`]: from a file of pages to the workload;
//! * [`fill`]: storing a workload in an allocator, checking it, freeing it;
//! * [`efficiency`], [`churn`], [`speed`]: the experiments and their results;
//! * [`shuffle`]: the deterministic pseudo-random order used by churn;
//! * [`report`]: the JSON lines (`BENCH-RESULT {...}`) that make runs comparable.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod churn;
pub mod corpus;
pub mod efficiency;
pub mod fill;
pub mod ideal;
pub mod lineup;
pub mod object_allocator;
pub mod report;
pub mod shuffle;
pub mod slab;
pub mod speed;
pub mod zbud;
pub mod zsmalloc_allocator;

pub use object_allocator::{ObjectAllocator, ObjectId};

/// Size of a page, the unit every allocator is charged in.
pub const PAGE_SIZE: usize = zsmalloc::PAGE_SIZE;
