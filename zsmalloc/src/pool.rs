//! The pool: handles, a layout and a backend, behind a `Sync` API.
//!
//! ```text
//!   Pool
//!   ├── name, pages compacted
//!   ├── PoolCore   backend (pages, mappings, atomic sections)
//!   │              handle table (lock-free reads)    entry -> the layout's location word
//!   │              page counter
//!   └── layout     Box<dyn Layout<B>>: linux, packed, or yours (its own locks)
//! ```
//!
//! Every operation validates its handle here, then makes one call to the
//! layout ([`crate::layout`]). Locking rules, so that one CPU can never
//! deadlock:
//! * every lock is taken inside an atomic section (interrupts off), so its
//!   holder cannot be interrupted or preempted;
//! * an operation holds at most one lock at a time (one of the layout's,
//!   *or* the handle table's), so there is no lock order to get wrong;
//! * no lock is held while a map window is open: the window *pins* its
//!   object instead, so the window's owner may call malloc/free/compact.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::auto_compaction::{AutoCompaction, AutoCompactionStats};
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};
use crate::config::{Config, ConfigError};
use crate::handle::{Handle, HandleError};
use crate::layout::{CompactStep, Layout, PoolCore, PoolVisitor};
use crate::pages::PayloadBuffer;

/// Why `malloc` failed. The pool is unchanged in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// Size 0 was requested.
    ZeroSize,
    /// More than `PAGE_SIZE` bytes were requested.
    TooLarge,
    /// The backend had no page for a new zspage.
    OutOfPages,
}

impl fmt::Display for AllocError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            AllocError::ZeroSize => "zero-sized allocation",
            AllocError::TooLarge => "allocation larger than a page",
            AllocError::OutOfPages => "out of pages",
        };
        formatter.write_str(text)
    }
}

/// Why [`Pool::try_free`] refused a handle, with the handle given back (the
/// object is still allocated: nothing is lost).
#[derive(Debug, PartialEq, Eq)]
pub struct FreeError {
    /// The handle, still owning its object.
    pub handle: Handle,
    /// Why it was refused.
    pub error: HandleError,
}

impl fmt::Display for FreeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "cannot free handle {:#x}: {}",
            self.handle.raw(),
            self.error
        )
    }
}

/// A zsmalloc pool. See the crate documentation.
pub struct Pool<B: Backend> {
    name: String,
    core: PoolCore<B>,
    layout: Box<dyn Layout<B>>,
    pub(crate) pages_compacted: AtomicUsize,
    /// Payload bytes of the live objects (for automatic compaction).
    payload_bytes: AtomicUsize,
    auto_compaction: AutoCompaction,
}

impl<B: Backend> Pool<B> {
    /// A pool with the default configuration: the packed layout
    /// (`Config::packed()`), as the demo uses.
    pub fn new(name: &str, backend: B) -> Self {
        match Self::with_config(name, backend, Config::default()) {
            Ok(pool) => pool,
            Err(_) => unreachable!("the default configuration is valid"),
        }
    }

    /// A pool with the given layout and geometry, e.g. `Config::linux(8)`.
    /// Automatic compaction is on for the packed layout and off for Linux's
    /// ([`Pool::set_auto_compaction`]).
    pub fn with_config(name: &str, backend: B, config: Config) -> Result<Self, ConfigError> {
        let pool = Self::with_layout(name, backend, config.layout()?);
        pool.set_auto_compaction(matches!(config, Config::Packed(_)));
        Ok(pool)
    }

    /// A pool with a layout of your own (see [`crate::layout`]), without
    /// automatic compaction.
    pub fn with_layout(name: &str, backend: B, layout: Box<dyn Layout<B>>) -> Self {
        Pool {
            name: name.to_string(),
            core: PoolCore::new(backend),
            layout,
            pages_compacted: AtomicUsize::new(0),
            payload_bytes: AtomicUsize::new(0),
            auto_compaction: AutoCompaction::new(false),
        }
    }

    /// Switch automatic compaction on or off ([`crate::auto_compaction`]):
    /// bounded steps of the layout's compaction after frees, when the
    /// pool's pages hold too much free space.
    pub fn set_auto_compaction(&self, enabled: bool) {
        self.auto_compaction.set_enabled(enabled);
    }

    /// Whether automatic compaction is on, and what it has done.
    pub fn auto_compaction(&self) -> AutoCompactionStats {
        self.auto_compaction.stats()
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool's layout.
    pub fn layout(&self) -> &dyn Layout<B> {
        &*self.layout
    }

    /// What the pool lends its layout: backend, handle table, page counter.
    pub(crate) fn core(&self) -> &PoolCore<B> {
        &self.core
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        self.core.backend()
    }

    /// Allocate an object of `size` bytes (1..=PAGE_SIZE).
    ///
    /// The handle-table entry is reserved first, the layout places the
    /// object, and only then is the entry published: a raw handle guessed
    /// for it is refused until the object is fully placed.
    pub fn malloc(&self, size: usize) -> Result<Handle, AllocError> {
        if size == 0 {
            return Err(AllocError::ZeroSize);
        }
        if size > PAGE_SIZE {
            return Err(AllocError::TooLarge);
        }
        let entries = self.core.entries();
        let entry = entries.reserve(self.core.backend(), size);
        match self.layout.allocate(&self.core, entry, size) {
            Ok(()) => {
                self.payload_bytes.fetch_add(size, Ordering::Relaxed);
                self.auto_compaction.earn(size, self.core.total_pages());
                Ok(Handle::from_raw(entries.publish(entry)))
            }
            Err(OutOfPages) => {
                entries.abandon(self.core.backend(), entry);
                Err(AllocError::OutOfPages)
            }
        }
    }

    /// Free an object. Its zspage gives its pages back if it becomes empty.
    ///
    /// # Panics
    /// If the pool refuses the handle: it belongs to another pool, or a raw
    /// copy of it was freed or is mapped (see [`Pool::try_free`], which
    /// gives the handle back instead).
    #[track_caller]
    pub fn free(&self, handle: Handle) {
        if let Err(error) = self.try_free(handle) {
            panic!("zsmalloc pool {:?}: {error}", self.name);
        }
    }

    /// Free an object, or give the handle back with the reason the pool
    /// refused it ([`FreeError`]): a handle of another pool, or one whose
    /// raw copy was freed or is mapped through the raw API.
    pub fn try_free(&self, handle: Handle) -> Result<(), FreeError> {
        match self.free_raw(handle.raw()) {
            Ok(()) => Ok(()),
            Err(error) => Err(FreeError { handle, error }),
        }
    }

    /// Free by raw handle: stale, forged, double or mapped frees, and
    /// handles of other pools, are errors.
    pub fn free_raw(&self, raw: u64) -> Result<(), HandleError> {
        let entries = self.core.entries();
        // From here the handle is stale: racing frees and maps are refused.
        let claimed = entries.claim_for_free(raw)?;
        self.layout.free(&self.core, claimed.entry, claimed.length);
        entries.finish_free(self.core.backend(), claimed.entry);
        let payload = self
            .payload_bytes
            .fetch_sub(claimed.length, Ordering::Relaxed);
        if self.auto_compaction.enabled() {
            self.compact_after_free(claimed.length, payload - claimed.length);
        }
        Ok(())
    }

    /// Automatic compaction's turn after a free of `size` bytes, leaving
    /// `payload` bytes in the pool (out of line: a pool without it pays one
    /// test per free).
    #[inline(never)]
    fn compact_after_free(&self, size: usize, payload: usize) {
        let pages = self.core.total_pages();
        let Some(budget) = self.auto_compaction.budget_after_free(size, pages, payload) else {
            return;
        };
        let step = self.compact_step(budget);
        self.auto_compaction.record(step, self.core.total_pages());
    }

    /// Payload size of an object, as given to `malloc`.
    pub fn object_size(&self, handle: &Handle) -> Result<usize, HandleError> {
        self.core.entries().checked_length(handle.raw())
    }

    /// Copy an object's bytes into `buffer` (up to the shorter of the two
    /// lengths) without opening a map window. Returns the bytes copied.
    pub fn read(&self, handle: &Handle, buffer: &mut [u8]) -> Result<usize, HandleError> {
        self.copy_object(handle.raw(), PayloadBuffer::Into(buffer))
    }

    /// Copy `data` into the start of an object (up to the shorter of the two
    /// lengths) without opening a map window; Linux 6.15's `zs_obj_write`.
    /// Returns the bytes copied.
    pub fn write(&self, handle: &Handle, data: &[u8]) -> Result<usize, HandleError> {
        self.copy_object(handle.raw(), PayloadBuffer::From(data))
    }

    /// Copy in or out of the object `raw` names.
    pub(crate) fn copy_object(
        &self,
        raw: u64,
        buffer: PayloadBuffer<'_>,
    ) -> Result<usize, HandleError> {
        let entries = self.core.entries();
        // Exclusive access to the payload, as for a map window.
        let claimed = entries.claim_for_mapping(raw)?;
        let buffer = buffer.truncated(claimed.length);
        let copied = buffer.len();
        self.layout.copy(&self.core, claimed.entry, buffer);
        entries.release_mapping(claimed.entry);
        Ok(copied)
    }

    /// Compact the pool; returns the pages given back to the backend.
    /// Objects of a zspage with an open window are not moved.
    pub fn compact(&self) -> usize {
        let pages_freed = self.layout.compact(&self.core);
        self.pages_compacted
            .fetch_add(pages_freed, Ordering::Relaxed);
        pages_freed
    }

    /// One bounded step of compaction ([`Layout::compact_step`]): moves at
    /// most about `max_bytes` of objects, each in a short atomic section.
    /// Pages it gives back, net of those it took, count as compacted.
    pub fn compact_step(&self, max_bytes: usize) -> CompactStep {
        let step = self.layout.compact_step(&self.core, max_bytes);
        self.pages_compacted.fetch_add(
            step.pages_freed.saturating_sub(step.pages_added),
            Ordering::Relaxed,
        );
        step
    }

    /// Pages compaction gave back since the pool was created, explicit and
    /// automatic (`zs_pool_stats.pages_compacted`).
    pub fn pages_compacted(&self) -> usize {
        self.pages_compacted.load(Ordering::Relaxed)
    }

    /// Pages that compaction could free now (what Linux's shrinker counts):
    /// exact for Linux's layout, an upper bound for the packed layout.
    pub fn pages_compactable(&self) -> usize {
        self.layout.pages_compactable(&self.core)
    }

    /// Pages the pool holds (`zs_get_total_pages`).
    pub fn total_pages(&self) -> usize {
        self.core.total_pages()
    }

    /// Payloads of at least this size are stored one per page
    /// (`zs_huge_class_size`; `PAGE_SIZE` for the packed layout, which has
    /// no huge objects).
    pub fn huge_class_size(&self) -> usize {
        self.layout.huge_class_size()
    }

    /// Show every zspage and its objects to `visitor` (a live picture of
    /// the pool). The visitor is called with the layout's locks held: it
    /// must be short and must not call the pool.
    pub fn walk(&self, visitor: &mut dyn PoolVisitor<B::Page>) {
        self.layout.walk(&self.core, visitor);
    }

    /// Heap bytes of the pool's own metadata outside the layout: the pool,
    /// its name and the handle table.
    pub(crate) fn own_metadata_bytes(&self) -> usize {
        core::mem::size_of::<Self>() + self.name.capacity() + self.core.entries().metadata_bytes()
    }
}

impl<B: Backend> Drop for Pool<B> {
    /// Destroying the pool gives every page back (`zs_destroy_pool`).
    fn drop(&mut self) {
        self.layout.release_all(&self.core);
    }
}

impl<B: Backend> fmt::Debug for Pool<B> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Pool")
            .field("name", &self.name)
            .field("layout", &self.layout.name())
            .field("total_pages", &self.total_pages())
            .finish_non_exhaustive()
    }
}
