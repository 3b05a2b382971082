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
//! use zsmalloc::{Config, Pool, ReadWrite, ReadOnly};
//! use zsmalloc::testing::HighmemBackend;
//!
//! // zs_create_pool, with Linux's layout (Pool::new gives the packed layout)
//! let pool = Pool::with_config("zram0", HighmemBackend::new(), Config::linux(8)).unwrap();
//! // zs_malloc
//! let handle = pool.malloc(256).expect("a page is available");
//! // zs_map_object(..., ZS_MM_RW): a window on exactly 256 bytes, open
//! // while the closure runs; zs_unmap_object when it returns
//! let mut mapper = pool.mapper();
//! mapper
//!     .map(&handle, ReadWrite, |window| window.copy_from_slice(&[0xAB; 256]))
//!     .expect("not mapped yet");
//! let all_ab = mapper.map(&handle, ReadOnly, |window| window.iter().all(|&b| b == 0xAB));
//! assert_eq!(all_ab, Ok(true));
//! drop(mapper);
//! // zs_obj_write and zs_obj_read_begin/end, Linux 6.15's access API
//! pool.write(&handle, &[0xCD; 256]).unwrap();
//! let mut local_copy = [0; zsmalloc::PAGE_SIZE];
//! let all_cd = pool.read_with(&handle, &mut local_copy, |bytes| bytes.iter().all(|&b| b == 0xCD));
//! assert_eq!(all_cd, Ok(true));
//! // zs_free
//! pool.free(handle);
//! assert_eq!(pool.total_pages(), 0);
//! // zs_destroy_pool: dropping the pool returns every page to the backend
//! drop(pool);
//! ```
//!
//! The same program with Linux's names is in [`facade`].
//!
//! ## The module map
//!
//! ```text
//!   Pool (pool)  malloc, free, read, write, compact, stats, check
//!   │ auto_compaction ... the policy: bounded compaction steps after frees
//!   │ handles ........... handle (the raw handle), handle_table (its entries)
//!   │ access ............ mapping (zs_map_object) and read (zs_obj_read_begin),
//!   │                     both through window (pin, map in place or bounce)
//!   │ facade ............ the same with Linux's names
//!   ├─► Layout (layout): where each object's bytes go; config picks one
//!   │     ├─ linux/  Linux's: size classes, zspages, fullness groups, compaction
//!   │     └─ packed/ ours: one shared open zspage, holes reused by size class
//!   │     shared: pages (page arithmetic, copies), fullness (10% groups)
//!   ├─► check, stats
//!   └─► Backend (backend): pages, mappings, atomic sections; sync: the locks
//!   testing/ (feature `testing`): host backends that check the Backend contract
//! ```
//!
//! ## 1. Size classes ([`linux::size_class`], [`config`])
//!
//! A request of `n` bytes gets an 8-byte handle header and is rounded up to
//! the next *size class*: 32, 48, 64, ... 4096 bytes (16 bytes apart, 255
//! classes). Each class decides how many pages (1..=8) to chain into one
//! *zspage* so that the fewest bytes are wasted at its end, and neighbouring
//! classes with identical zspages are merged.
//!
//! ## 2. Zspages and objects ([`linux::zspage`], [`linux::object`], [`pages`])
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
//!   allocated object: [ handle entry (8 B) | payload ]
//!   free object:      [ next free (8 B)    | ...     ]   free list inside the objects
//! ```
//!
//! ## 3. Handles ([`handle`], [`handle_table`])
//!
//! `malloc` returns a [`Handle`], not a pointer. It names an entry of the
//! handle table, and the entry says where the object is now:
//!
//! ```text
//!   Handle (pool tag | generation | entry) ──> entry: one u64 ──> bytes in a zspage
//!                                              generation, flags, length,
//!                                              location (class, zspage, object)
//!                                              ^ rewritten when compaction moves the object
//! ```
//!
//! An entry is 8 bytes and one atomic word. A handle validates only when
//! its pool tag, its generation and the entry's *allocated* flag agree:
//! a handle of another pool, a stale one (every free bumps the generation)
//! or one guessed before `malloc` has placed its object is refused, and
//! every claim (free, map, copy) is one compare-and-swap, so raw calls
//! racing on other threads cannot reach an object their handle does not
//! name. [`handle_table`] shows the bit layout and the entry's life.
//!
//! ## 4. Access: map windows and reads ([`mapping`], [`read`], [`window`])
//!
//! To touch the bytes, open a short window with a [`Mapper`]
//! (`zs_map_object`): an object inside one page is mapped in place; one
//! that spans two pages is mapped in place too when the backend can map the
//! two pages at adjacent addresses ([`Backend::map_page_pair`]; the kernel
//! uses two consecutive kmap slots), else copied into the mapper's bounce
//! buffer (not copied in for [`WriteOnly`], not copied back for
//! [`ReadOnly`]). The platform is atomic while a window is open. No lock is
//! held: the window *pins* its object instead, so the same thread may still
//! `malloc` and `free`. A mapped object cannot be freed: the window borrows
//! its handle.
//!
//! A window is open exactly while a closure runs
//! (`mapper.map(&handle, ReadWrite, |window| ...)`), not while a value
//! lives: Rust lets safe code forget a value without running its
//! destructor, and a forgotten window would leave interrupts off for good.
//! [`window`] explains the design.
//!
//! Linux 6.15 replaced that pair with `zs_obj_read_begin`/`_end` and
//! `zs_obj_write`: [`Pool::read_with`] reads in place or from the caller's
//! copy, holding nothing in the second case, and [`Pool::write`] copies
//! straight into the object. [`read`] explains why Linux changed.
//!
//! ## 5. Fullness groups and compaction ([`fullness`], [`linux::compact`])
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
//! ## 6. Layouts ([`layout`], [`linux`], [`packed`])
//!
//! Everything above is Linux's layout, kept exactly in [`linux`]
//! ([`Config::linux`]). The pool itself knows no layout: it validates
//! handles, opens windows and keeps statistics, and calls a [`Layout`] for
//! everything about where bytes go. You can write your own and plug it in
//! with [`Pool::with_layout`]; [`layout`] says how.
//!
//! ## 7. Statistics and checking ([`stats`], [`check`])
//!
//! [`Pool::stats`] returns [`PoolStats`], printed with the layout's table
//! (Linux's: like its debugfs `classes` file); [`Pool::check`] verifies
//! every internal invariant; [`Pool::walk`] shows every zspage and object.
//!
//! ## 8. Our packed layout ([`packed`], [`Config::packed`])
//!
//! Linux's layout's cost is the partly filled *last zspage of every size
//! class*: a zram store touches ~150 classes, and each has a tail. On the
//! project's corpus (4,161 LZ4-compressed pages, 5,246,187 bytes, ideal
//! 1,281 pages) Linux uses 1,442 pages with chain 4 (efficiency 0.888) and
//! 1,639 with chain 8 (0.781). The packed layout, the default of
//! [`Pool::new`] and of the demo, changes two things:
//!
//! * **one shared tail instead of one per class**: objects of every size
//!   are appended end to end (rounded to 8 bytes, no header: the owners
//!   are kept in metadata) to one *open* zspage of up to 16 pages, whose
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
//! Measured by `cargo run --release -p bench` (same corpus): 1,288 pages
//! (0.994) after the fill; after freeing a pseudo-random half and writing as
//! many other pages 1,301 (0.988, with automatic compaction), and 1,292
//! (0.994) after compaction, where Linux chain 4 gives 0.888 / 0.882 /
//! 0.892. Handles, compaction, HIGHMEM,
//! map windows and single-page allocations are unchanged; the price is one
//! lock for the whole layout instead of one per class, and no object is
//! "huge" (`huge_class_size()` is `PAGE_SIZE`).
//!
//! Its metadata (on the heap, reported apart as `metadata_bytes`) is 18.7
//! bytes per object on the same corpus after the fill, against 26.3 for
//! Linux chain 4 in the kernel: an 8-byte handle-table entry, a 4-byte
//! reverse-map slot, and a share of the zspage records and hole lists
//! ([`packed`] shows it byte by byte).
//!
//! ## 9. Automatic compaction ([`auto_compaction`])
//!
//! Linux compacts when asked (or when its shrinker runs), so the space
//! freed objects leave behind stays wasted until then. A pool can instead
//! compact by itself: after a free, when its pages hold more than 3% free
//! space, it runs one bounded step of its layout's compaction
//! ([`Layout::compact_step`]), moving at most twice the bytes just freed
//! (small frees add up to a step of at least a page's worth) and paid for
//! by credit that allocations earn. On by default for the packed layout,
//! off for Linux's configurations ([`Pool::set_auto_compaction`]). Its
//! steps drain only zspages that give back a page by themselves; an
//! explicit `compact` also drains nearly full ones while their free bytes
//! add up to a page.
//!
//! ## Concurrency
//!
//! `Pool` is `Sync`. Each layout has its own spin locks (Linux's: one per
//! size class; packed: one), the handle table is read without locks, and
//! every lock is taken inside an atomic section (interrupts off in the
//! kernel; [`sync`]), at most one at a time; so one CPU cannot deadlock on
//! itself, even inside a map window. Atomic sections nest and may end in
//! any order: the platform restores interrupts only when the last one ends.
//! The pool itself opens no atomic section around a layout's `allocate`,
//! `free` or `compact`: each lock is held in its own short section, and
//! memory (pages, heap) is allocated outside sections, so that interrupts
//! are never off for work that grows with the pool.
//!
//! ## API shape notes
//!
//! * The map mode is a type ([`ReadOnly`], [`WriteOnly`], [`ReadWrite`]):
//!   `mapper.map(&handle, ReadWrite)`; only writable windows are `DerefMut`.
//!   [`MapMode`] is the run-time form used by the facade.
//! * One window per mapper (borrowing), open while a closure runs; in the
//!   whole program only one window at a time holds an in-place backend
//!   mapping, others use their bounce buffer, which bounds the kmap slots a
//!   CPU uses. Windows and reads are not `Send`: they belong to the CPU
//!   that opened them.
//! * Feature `testing` (std; empty on bare-metal targets) provides host
//!   backends: `testing::HeapBackend`, `testing::HighmemBackend`,
//!   `testing::FaultyBackend`.
//! * Raw handles (`u64`) are accepted by [`Pool::free_raw`] and the facade;
//!   [`Handle::from_raw`] re-wraps one. Every raw use is validated.
//!   [`Pool::try_free`] gives a refused handle back ([`FreeError`]);
//!   [`Pool::free`] panics on one (another pool's, or one whose raw copy was
//!   freed).
//!
//! ## Testing
//!
//! * `cargo test -p zsmalloc`: geometry against Linux's rules, every size
//!   1..=4096 through map windows and reads (with and without page pairs),
//!   model-based property tests (also with failing page allocation),
//!   threads, bad input through both generations of the facade, the
//!   testing backends' own checks, a layout written outside the crate
//!   (`tests/custom_layout.rs`); all but the geometry for both layouts,
//!   plus the packed layout's page bound before and after compaction
//!   (`tests/packed.rs`).
//! * `cargo miri test -p zsmalloc`: the same, with smaller counts under Miri.
//! * `cargo bench -p zsmalloc`: ns/op against `linked_list_allocator`.
#![no_std]

extern crate alloc;
// The test support needs std, which a bare-metal target does not have. Cargo
// unifies features across the host crates and the kernel (an artifact
// dependency of `boot`), so `testing` may be switched on for a kernel build
// too: there it is simply empty.
#[cfg(all(any(test, feature = "testing"), not(target_os = "none")))]
extern crate std;

pub mod auto_compaction;
pub mod backend;
pub mod check;
pub mod config;
pub mod facade;
pub mod fullness;
pub mod handle;
pub mod handle_table;
pub mod layout;
pub mod linux;
pub mod mapping;
pub mod packed;
pub mod pages;
pub mod pool;
pub mod read;
pub mod stats;
pub mod sync;
#[cfg(all(any(test, feature = "testing"), not(target_os = "none")))]
pub mod testing;
pub mod window;

pub use auto_compaction::AutoCompactionStats;
pub use backend::{Backend, OutOfPages, PAGE_SIZE};
pub use check::InvariantError;
pub use config::{Config, ConfigError};
pub use handle::{Handle, HandleError};
pub use handle_table::Entry;
pub use layout::{CompactStep, Layout, ObjectView, PoolCore, PoolVisitor, ZspageView};
pub use linux::{ClassStats, HandlePlacement, LinuxConfig};
pub use mapping::{Access, Mapper, Mapping, ReadOnly, ReadWrite, Writable, WriteOnly};
pub use packed::{PackedConfig, PackedStats};
pub use pool::{AllocError, FreeError, Pool};
pub use read::ObjectRead;
pub use stats::{LayoutDetail, LayoutStats, PoolStats};
pub use window::MapMode;
