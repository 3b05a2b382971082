//! # zsmalloc — Linux's compressed-memory allocator, in safe Rust
//!
//! zsmalloc stores many small objects (compressed pages, for zram) densely
//! in whole pages, even when those pages have no permanent address (HIGHMEM).
//! This crate re-implements it as a `no_std` + `alloc` library that knows
//! nothing about x86: a [`Backend`] gives it pages, mappings and atomic
//! sections. Read this page top to bottom; each step names the module that
//! implements it.
//!
//! ## Using it (mirrors `Documentation/mm/zsmalloc.rst`)
//!
//! ```
//! use zsmalloc::{Pool, ReadWrite, ReadOnly};
//! use zsmalloc::testing::HighmemBackend;
//!
//! // zs_create_pool
//! let pool = Pool::new("zram0", HighmemBackend::new());
//! // zs_malloc
//! let handle = pool.malloc(256).expect("a page is available");
//! {
//!     // zs_map_object(..., ZS_MM_RW): a window on exactly 256 bytes
//!     let mut mapper = pool.mapper();
//!     let mut window = mapper.map(&handle, ReadWrite).expect("not mapped yet");
//!     window.copy_from_slice(&[0xAB; 256]);
//!     // zs_unmap_object: dropping the window
//! }
//! let mut mapper = pool.mapper();
//! assert!(mapper.map(&handle, ReadOnly).unwrap().iter().all(|&b| b == 0xAB));
//! drop(mapper);
//! // zs_free
//! pool.free(handle);
//! assert_eq!(pool.total_pages(), 0);
//! // zs_destroy_pool: dropping the pool returns every page to the backend
//! drop(pool);
//! ```
//!
//! The same program with Linux's names is in [`facade`].
//!
//! ## 1. Size classes ([`size_class`], [`config`])
//!
//! A request of `n` bytes gets an 8-byte handle header and is rounded up to
//! the next *size class*: 32, 48, 64, ... 4096 bytes (16 bytes apart, 255
//! classes). Each class decides how many pages (1..=8) to chain into one
//! *zspage* so that the fewest bytes are wasted at its end, and neighbouring
//! classes with identical zspages are merged.
//!
//! ## 2. Zspages and objects ([`zspage`])
//!
//! Objects are laid end to end over the pages of a zspage, so one may span a
//! page boundary. Class 208 uses 3 pages for 59 objects:
//!
//! ```text
//!        page 0 (4096 B)              page 1 (4096 B)              page 2 (4096 B)
//!  +----+----+ .. +----+-----+  +-----+----+ .. +----+--+  +----+----+ .. +----+---+
//!  | o0 | o1 |    | o18| o19 ~  ~ o19 | o20|    | o38|o3~  ~ 39 | o40|    | o58|///|
//!  +----+----+ .. +----+-----+  +-----+----+ .. +----+--+  +----+----+ .. +----+---+
//!                        \_____________/                                16 B wasted
//!                 object 19 spans pages 0 and 1 (and object 39 pages 1 and 2)
//!
//!   allocated object: [ handle slot (8 B) | payload ]
//!   free object:      [ next free (8 B)   | ...     ]   free list inside the objects
//! ```
//!
//! ## 3. Handles ([`handle`])
//!
//! `malloc` returns a [`Handle`], not a pointer. It names a slot of the
//! handle table, and the slot says where the object is now:
//!
//! ```text
//!   Handle (generation | slot) ──> slot: (class, zspage, object) ──> bytes in a zspage
//!                                        ^ rewritten when compaction moves the object
//! ```
//!
//! A freed slot's generation changes, so a stale raw handle is refused.
//!
//! ## 4. Mapping ([`mapping`])
//!
//! To touch the bytes, open a short window with a [`Mapper`]: a payload
//! inside one page is mapped in place; one that spans two pages is copied
//! into the mapper's bounce buffer (not copied in for [`WriteOnly`], not
//! copied back for [`ReadOnly`]). The platform is atomic while a window is
//! open. No lock is held: the window *pins* its zspage instead, so the same
//! thread may still `malloc` and `free`. A mapped object cannot be freed.
//! A backend that can map two pages at adjacent addresses
//! ([`Backend::map_page_pair`]; the kernel uses two consecutive kmap slots)
//! lets a spanning object be mapped in place too, with no copies.
//!
//! ## 5. Fullness groups and compaction ([`zspage`], [`compact`])
//!
//! ```text
//!  group:   empty   <10%   <20%  ...  <100%   full
//!           (freed  [z7]   [z3]       [z1]    [z2][z5]
//!           at once)  ^ compaction      ^ malloc fills these first;
//!                       moves objects     compaction moves objects here
//!                       out of these
//! ```
//!
//! `malloc` fills the fullest non-full zspage first. [`Pool::compact`] moves
//! objects from the sparsest zspages into the fullest and frees the emptied
//! ones; [`Pool::pages_compactable`] says how many pages that would free.
//!
//! ## 6. Statistics and checking ([`stats`], [`check`])
//!
//! [`Pool::stats`] returns [`PoolStats`], printed like Linux's debugfs
//! `classes` file; [`Pool::check`] verifies every internal invariant.
//!
//! ## 7. Our efficient layout ([`packed`], [`Config::efficient`])
//!
//! Everything above is Linux's layout, kept exactly ([`Config::linux`]).
//! Its cost is the partly filled *last zspage of every size class*: a zram
//! store touches ~150 classes, and each has a tail. On the project's corpus
//! (4,161 LZ4-compressed pages, 5,246,187 bytes, ideal 1,281 pages) Linux
//! uses 1,442 pages with chain 4 (efficiency 0.888) and 1,639 with chain 8
//! (0.781). Our efficient layout ([`Layout::Packed`]) changes two things:
//!
//! * **one shared tail instead of one per class**: objects of every size
//!   are appended end to end (rounded to 16 bytes, no header: the reverse
//!   map is kept in metadata) to one *open* zspage of up to 16 pages, whose
//!   pages are allocated one at a time as it fills;
//! * **size classes become free lists of holes**: a freed object leaves a
//!   hole on the list of its class; `malloc` reuses the smallest hole of its
//!   class or of the next 8 classes (a bitmap finds it in O(1)), and only
//!   otherwise appends.
//!
//! ```text
//!   Linux:   class 48  [o o o o o o . . .]     class 208 [o o o o . . . . .]  ...
//!            class 64  [o o o . . . . . .]     class 3632[o . . . . . . . .]
//!                       ^ ~150 partly filled tails
//!   packed:  open zspage [o48|o3632|o208|o64|o208|...........]   one tail
//!            closed      [o|o|hole|o|o|o|hole|o|o]   holes on size-class lists
//! ```
//!
//! Measured by `cargo run --release -p bench` (same corpus): 1,292 pages
//! (0.991) after the fill; after freeing a pseudo-random half and writing as
//! many other pages 1,314 (0.978), and 1,304 (0.985) after compaction, where
//! Linux chain 4 gives 0.888 / 0.882 / 0.892. Handles, compaction, HIGHMEM,
//! map windows and single-page allocations are unchanged; the price is one
//! lock for the whole packed state instead of one per class (see
//! [`packed`]), and no object is "huge" (`huge_class_size()` is
//! `PAGE_SIZE`).
//!
//! ## Concurrency
//!
//! `Pool` is `Sync`. Each size class has its own spin lock (the packed
//! layout: one lock for its whole state), the handle table
//! is read without locks, and every lock is taken inside an atomic section
//! (interrupts off in the kernel), at most one at a time; so one CPU cannot
//! deadlock on itself, even inside a map window.
//!
//! ## API shape notes
//!
//! * The map mode is a type ([`ReadOnly`], [`WriteOnly`], [`ReadWrite`]):
//!   `mapper.map(&handle, ReadWrite)`; only writable windows are `DerefMut`.
//!   [`MapMode`] is the run-time form used by the facade.
//! * One window per mapper (borrowing); in the whole program only one window
//!   at a time holds an in-place backend mapping, others use their bounce
//!   buffer, so that mappings stay LIFO whatever order windows are dropped in. Windows
//!   should still be dropped in LIFO order, because each restores the atomic
//!   state saved when it opened.
//! * Feature `testing` (std; empty on bare-metal targets) provides host backends: `testing::HeapBackend`,
//!   `testing::HighmemBackend`, `testing::FaultyBackend`.
//! * Raw handles (`u64`) are accepted by [`Pool::free_raw`] and the facade;
//!   [`Handle::from_raw`] re-wraps one. Every raw use is validated.
//!
//! ## Testing
//!
//! * `cargo test -p zsmalloc`: geometry against Linux's rules, every size
//!   1..=4096 through map windows, model-based property tests (also with
//!   failing page allocation), threads, bad input through the facade; all
//!   but the geometry also for `Config::efficient()`, plus the packed
//!   layout's page bound before and after compaction (`tests/packed.rs`).
//! * `cargo miri test -p zsmalloc`: the same, with smaller counts under Miri.
//! * `cargo bench -p zsmalloc`: ns/op against `linked_list_allocator`.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;
// The test support needs std, which a bare-metal target does not have. Cargo
// unifies features across the host crates and the kernel (an artifact
// dependency of `boot`), so `testing` may be switched on for a kernel build
// too: there it is simply empty.
#[cfg(all(any(test, feature = "testing"), not(target_os = "none")))]
extern crate std;

pub mod backend;
pub mod check;
pub mod compact;
pub mod config;
pub mod facade;
pub mod handle;
pub mod mapping;
pub mod packed;
pub mod pool;
pub mod size_class;
pub mod stats;
#[cfg(all(any(test, feature = "testing"), not(target_os = "none")))]
pub mod testing;
pub mod zspage;

pub use backend::{Backend, OutOfPages, PAGE_SIZE};
pub use check::InvariantError;
pub use config::{Config, ConfigError, HandlePlacement, Layout};
pub use handle::{Handle, HandleError};
pub use mapping::{Access, MapMode, Mapper, Mapping, ReadOnly, ReadWrite, Writable, WriteOnly};
pub use pool::{AllocError, Pool};
pub use size_class::{ClassGeometry, SizeClassTable};
pub use stats::{ClassStats, PackedStats, PoolStats};
