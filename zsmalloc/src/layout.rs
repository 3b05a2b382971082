//! Layouts: the one interface between the pool and the way objects are
//! arranged in zspages.
//!
//! ```text
//!   Pool ─────────────────────────────────────────────┐
//!   │ handles, validation, map windows, statistics     │  the same for every layout
//!   │ PoolCore: backend, handle table, page counter ───┼──► lent to the layout
//!   └──► Box<dyn Layout<B>>                            │
//!          ├── linux::LinuxLayout    size classes, one list of zspages each (Linux)
//!          ├── packed::PackedLayout  one shared open zspage, holes by size (ours)
//!          └── your own              implement [`Layout`], then Pool::with_layout
//! ```
//!
//! The pool validates every handle, marks an object mapped while a window
//! is open, keeps the statistics and runs the checks that hold for any
//! layout; a [`Layout`] decides *where* each object's bytes go and keeps
//! its own bookkeeping (with its own locks). Each call of the pool is one
//! call of the layout.
//!
//! ## Writing your own layout
//!
//! 1. Keep your state behind [`crate::sync::SpinLock`]s; take them inside an
//!    [`crate::sync::AtomicSection`] from [`PoolCore::enter_atomic`].
//! 2. Get pages with [`PoolCore::alloc_page`] and give them back with
//!    [`PoolCore::free_page`] (the pool counts them for you).
//! 3. Define your own location type (which zspage, where in it, ...) and
//!    record it for each object's [`Entry`] as one `u64` with
//!    [`PoolCore::set_location`]; read it back with [`PoolCore::location`].
//!    Rewrite it whenever an object moves. Remember the entry too: a walk
//!    and compaction need to know each object's owner.
//! 4. Touch page bytes with [`crate::pages::MappedPage`] (transient, inside
//!    your lock) and tell the pool where an object is with
//!    [`crate::pages::ObjectPages::locate`].
//! 5. `Pool::check` verifies what holds for every layout (each allocated
//!    entry owns exactly one object, no page is owned twice, the page count
//!    and the pins add up) using your [`Layout::walk`]; your
//!    [`Layout::check`] adds your own invariants.
//!
//! `tests/custom_layout.rs` is a complete small example (one object per
//! page), driven through the whole pool API.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::{Backend, OutOfPages};
use crate::check::InvariantError;
pub use crate::handle_table::LOCATION_BITS;
use crate::handle_table::{Entry, HandleTable};
use crate::pages::{ObjectPages, PayloadBuffer};
use crate::stats::LayoutStats;
use crate::sync::AtomicSection;

/// How a pool arranges objects in zspages. See the module documentation.
///
/// The pool calls these methods with a valid entry, already checked and
/// claimed: `free` and `pin` never race with another `free` or `pin` of
/// the same object. Sizes are in `1..=PAGE_SIZE`. The pool holds none of the
/// layout's locks during a call, and opens no atomic section around
/// `allocate`, `free`, `copy` or `compact`: a layout enters its own short
/// sections wherever it locks or maps, and allocates pages and heap memory
/// outside them. `pin` and `unpin` run inside the window's own section.
///
/// # Safety
///
/// The pool maps and copies the bytes a layout points it at, so an
/// implementation promises:
///
/// * every page it names (in [`ObjectPages`] or a walk) was allocated with
///   [`PoolCore::alloc_page`] and not yet freed;
/// * the bytes of live objects never overlap each other, nor any byte the
///   layout writes itself (headers, free lists) while the object is live;
/// * between `pin` and `unpin`, the object does not move, its pages are
///   not freed, and the layout does not write its bytes;
/// * while `copy` runs, the object does not move and its pages are not
///   freed;
/// * `release_all` frees every page it still holds, and none twice.
pub unsafe trait Layout<B: Backend>: Send + Sync {
    /// The layout's name, as reports print it (`linux`, `packed`).
    fn name(&self) -> &'static str;

    /// Payloads of at least this size are stored one per page
    /// (`zs_huge_class_size`; `PAGE_SIZE` if the layout has no such rule).
    fn huge_class_size(&self) -> usize;

    /// Place a new object of `size` bytes owned by `entry`, and record its
    /// location ([`PoolCore::set_location`]) before returning. On failure
    /// nothing may have changed.
    fn allocate(&self, core: &PoolCore<B>, entry: Entry, size: usize) -> Result<(), OutOfPages>;

    /// Forget the object of `entry` (`size` bytes, as allocated) and give
    /// back the pages that no longer hold anything.
    fn free(&self, core: &PoolCore<B>, entry: Entry, size: usize);

    /// Where the first `length` bytes of the object of `entry` are, and pin
    /// it there (no move, no free of its pages) until `unpin`.
    fn pin(&self, core: &PoolCore<B>, entry: Entry, length: usize) -> ObjectPages<B::Page>;

    /// End a `pin` of the object of `entry`.
    fn unpin(&self, core: &PoolCore<B>, entry: Entry);

    /// Copy the first `buffer.len()` bytes of the object of `entry` out of
    /// it or into it. The default pins, copies and unpins; a layout may do
    /// it under its lock instead, in one step.
    fn copy(&self, core: &PoolCore<B>, entry: Entry, buffer: PayloadBuffer<'_>) {
        let atomic = core.enter_atomic();
        let pages = self.pin(core, entry, buffer.len());
        // SAFETY: the object is pinned, so its pages stay allocated and it
        // does not move; the pool gives the caller exclusive access to its
        // bytes (the entry is claimed).
        unsafe { pages.copy(core.backend(), buffer) };
        self.unpin(core, entry);
        drop(atomic);
    }

    /// Move objects so that pages can be given back; returns the pages
    /// given back (net of any the moves needed). Pinned objects stay.
    fn compact(&self, core: &PoolCore<B>) -> usize;

    /// One bounded step of compaction: move about `max_bytes` of objects
    /// (at least one object, if any is worth moving; a layout may pass the
    /// budget by a few pages to stop where the pool is no larger than it
    /// was, as it documents), each in a short atomic section of its own
    /// with the layout's lock released in between, and give back the pages
    /// that no longer hold anything. Cheap when there is nothing to do, so
    /// that a policy may call it after every free. `compact` does what
    /// steps until [`CompactStep::done`] would. The default, for layouts
    /// that cannot compact in steps, does nothing and reports done.
    /// Automatic compaction ([`crate::auto_compaction`]) runs only steps.
    fn compact_step(&self, core: &PoolCore<B>, max_bytes: usize) -> CompactStep {
        let _ = (core, max_bytes);
        CompactStep {
            done: true,
            ..CompactStep::default()
        }
    }

    /// Pages that `compact` could give back now (what Linux's shrinker
    /// counts): exact, or an upper bound, as the layout documents.
    fn pages_compactable(&self, core: &PoolCore<B>) -> usize;

    /// The layout's statistics.
    fn stats(&self, core: &PoolCore<B>) -> LayoutStats;

    /// Verify the layout's own invariants (the pool checks the rest through
    /// `walk`). Expects a quiescent pool.
    fn check(&self, core: &PoolCore<B>) -> Result<(), InvariantError>;

    /// Show every zspage and, after each, its objects, to `visitor`. The
    /// layout's locks may be held during the calls (the platform is then
    /// atomic): the visitor must be short and must not call back into the pool.
    fn walk(&self, core: &PoolCore<B>, visitor: &mut dyn PoolVisitor<B::Page>);

    /// Give every page back (the pool is being dropped: no handle or window
    /// can reach an object any more).
    fn release_all(&mut self, core: &PoolCore<B>);
}

/// What one [`Layout::compact_step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactStep {
    /// Bytes of the objects moved (what they occupy in their zspages).
    pub bytes_moved: usize,
    /// Pages given back to the backend.
    pub pages_freed: usize,
    /// New pages the moved objects needed.
    pub pages_added: usize,
    /// Nothing more is worth doing now (or the backend has no page for the
    /// next move): further steps would do nothing until objects are freed
    /// or windows closed.
    pub done: bool,
}

/// One zspage, as a [`Layout::walk`] shows it.
#[derive(Debug, Clone, Copy)]
pub struct ZspageView<'a, P> {
    /// Its pages, in order.
    pub pages: &'a [P],
    /// How many of its objects are pinned now (open windows).
    pub pins: usize,
}

/// One object, as a [`Layout::walk`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectView {
    /// Its owner.
    pub entry: Entry,
    /// Byte offset in its zspage of the first byte it occupies (a header
    /// included).
    pub offset: usize,
    /// Bytes it occupies in the zspage (its size class, or its rounded size).
    pub size: usize,
    /// Its payload in bytes, as given to `malloc` (at most `size`).
    pub length: usize,
}

/// What a walk of the pool reports to.
pub trait PoolVisitor<P> {
    /// A zspage; the objects reported next are in it.
    fn zspage(&mut self, zspage: &ZspageView<'_, P>);

    /// An object of the zspage reported last.
    fn object(&mut self, object: &ObjectView);
}

/// The part of a pool that every layout shares: the backend, the handle
/// table's entries and the page counter.
pub struct PoolCore<B: Backend> {
    backend: B,
    entries: HandleTable,
    pages: AtomicUsize,
}

impl<B: Backend> PoolCore<B> {
    pub(crate) fn new(backend: B) -> Self {
        PoolCore {
            backend,
            entries: HandleTable::new(),
            pages: AtomicUsize::new(0),
        }
    }

    /// The backend.
    #[inline]
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Enter an atomic section of the backend's platform (they nest).
    #[inline]
    pub fn enter_atomic(&self) -> AtomicSection<'_, B> {
        AtomicSection::enter(&self.backend)
    }

    /// Allocate a page for the pool (counted in its total).
    pub fn alloc_page(&self) -> Result<B::Page, OutOfPages> {
        let page = self.backend.alloc_page()?;
        self.pages.fetch_add(1, Ordering::Relaxed);
        Ok(page)
    }

    /// Give back a page of the pool.
    ///
    /// # Safety
    /// As [`Backend::free_page`]: `page` came from [`PoolCore::alloc_page`],
    /// is not mapped, and is not used afterwards.
    pub unsafe fn free_page(&self, page: B::Page) {
        self.pages.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { self.backend.free_page(page) }
    }

    /// Pages the pool holds.
    pub fn total_pages(&self) -> usize {
        self.pages.load(Ordering::Relaxed)
    }

    /// Record where the object of `entry` lives, in the layout's own
    /// encoding: a word below `1 << LOCATION_BITS` (the table panics on a
    /// wider one). Only the entry's location bits change, atomically, so a
    /// move never disturbs a racing claim of the entry. Call it under the
    /// lock that guards the object's place.
    #[inline]
    pub fn set_location(&self, entry: Entry, location: u64) {
        self.entries.set_location(entry, location);
    }

    /// Where the object of `entry` lives, as last recorded.
    #[inline]
    pub fn location(&self, entry: Entry) -> u64 {
        self.entries.location(entry)
    }

    /// Payload size of the object of `entry`, as given to `malloc`.
    #[inline]
    pub fn object_size(&self, entry: Entry) -> usize {
        self.entries.length(entry)
    }

    /// The handle table.
    pub(crate) fn entries(&self) -> &HandleTable {
        &self.entries
    }
}
