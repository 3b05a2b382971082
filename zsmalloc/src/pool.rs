//! The pool: size classes + handle table + a backend, behind a `Sync` API.
//!
//! ```text
//!   Pool
//!   ├── size classes  (one spin lock each)      ClassState: zspages, fullness lists
//!   ├── handle table  (lock-free reads)         slot -> (class, zspage, object)
//!   ├── counters      (total pages, pages compacted)
//!   └── backend       (pages, mappings, atomic sections)
//! ```
//!
//! Locking rules, so that one CPU can never deadlock:
//! * every lock is taken inside an atomic section (interrupts off), so its
//!   holder cannot be interrupted or preempted;
//! * an operation holds at most one lock at a time (a class lock *or* the
//!   handle table's lock), so there is no lock order to get wrong;
//! * no lock is held while a map window is open: the window *pins* its
//!   zspage instead, so the window's owner may call malloc/free/compact.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::{AtomicSection, Backend, PAGE_SIZE};
use crate::config::{Config, ConfigError, Layout};
use crate::handle::{Handle, HandleError, HandleTable};
use crate::packed::PackedState;
use crate::size_class::SizeClassTable;
use crate::zspage::{copy_payload, ClassState, PayloadBuffer};

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

/// A zsmalloc pool. See the crate documentation.
pub struct Pool<B: Backend> {
    name: String,
    config: Config,
    size_classes: SizeClassTable,
    /// Linux's layout: one state per size class (empty for the packed layout).
    pub(crate) classes: Box<[spin::Mutex<ClassState<B::Page>>]>,
    /// Our packed layout: one state for the whole pool (`None` for Linux's).
    pub(crate) packed: Option<spin::Mutex<PackedState<B::Page>>>,
    pub(crate) handles: HandleTable,
    pub(crate) total_pages: AtomicUsize,
    pub(crate) pages_compacted: AtomicUsize,
    pub(crate) backend: B,
}

impl<B: Backend> Pool<B> {
    /// A pool with Linux's default geometry (`Config::linux(8)`).
    pub fn new(name: &str, backend: B) -> Self {
        match Self::with_config(name, backend, Config::default()) {
            Ok(pool) => pool,
            Err(_) => unreachable!("the default configuration is valid"),
        }
    }

    /// A pool with the given geometry.
    pub fn with_config(name: &str, backend: B, config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let size_classes = SizeClassTable::new(&config);
        let (classes, packed) = match config.layout {
            Layout::SizeClassed => {
                let classes = size_classes
                    .classes()
                    .iter()
                    .enumerate()
                    .map(|(class, geometry)| {
                        spin::Mutex::new(ClassState::new(class as u16, *geometry))
                    })
                    .collect();
                (classes, None)
            }
            Layout::Packed { reuse_window } => {
                let state = PackedState::new(&config, reuse_window);
                (Box::default(), Some(spin::Mutex::new(state)))
            }
        };
        Ok(Pool {
            name: name.to_string(),
            config,
            size_classes,
            classes,
            packed,
            handles: HandleTable::new(),
            total_pages: AtomicUsize::new(0),
            pages_compacted: AtomicUsize::new(0),
            backend,
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pool's size classes.
    pub fn size_classes(&self) -> &SizeClassTable {
        &self.size_classes
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Lock a class. The atomic section is the proof that interrupts are off.
    pub(crate) fn lock_class<'a>(
        &'a self,
        _atomic: &AtomicSection<'_, B>,
        class: usize,
    ) -> spin::MutexGuard<'a, ClassState<B::Page>> {
        self.classes[class].lock()
    }

    /// Allocate an object of `size` bytes (1..=PAGE_SIZE). O(1).
    pub fn malloc(&self, size: usize) -> Result<Handle, AllocError> {
        let slot = self.allocate_slot(size)?;
        Ok(Handle::from_raw(self.handles.raw_handle(slot)))
    }

    /// `malloc` returning the handle-table slot.
    fn allocate_slot(&self, size: usize) -> Result<u32, AllocError> {
        if size == 0 {
            return Err(AllocError::ZeroSize);
        }
        if size > PAGE_SIZE {
            return Err(AllocError::TooLarge);
        }
        if self.packed.is_some() {
            return self.allocate_packed(size);
        }
        let class = self.size_classes.class_for(size);
        let atomic = AtomicSection::enter(&self.backend);
        let slot = self.handles.allocate(size);
        let allocated = {
            let mut state = self.lock_class(&atomic, class);
            let result = state.allocate(&self.backend, slot, size);
            if let Ok((location, pages_added)) = result {
                // Under the class lock, so compaction sees the location.
                self.handles.set_location(slot, location);
                self.total_pages.fetch_add(pages_added, Ordering::Relaxed);
            }
            result.is_ok()
        };
        if allocated {
            Ok(slot)
        } else {
            self.handles.abandon(slot);
            Err(AllocError::OutOfPages)
        }
    }

    /// Free an object. Its zspage gives its pages back if it becomes empty.
    ///
    /// A handle of another pool is refused silently when detected; use
    /// [`Pool::try_free`] to see the error.
    pub fn free(&self, handle: Handle) {
        let _ = self.try_free(handle);
    }

    /// Free an object, reporting a handle this pool does not recognise.
    pub fn try_free(&self, handle: Handle) -> Result<(), HandleError> {
        self.free_raw(handle.raw())
    }

    /// Free by raw handle: stale, forged, double or mapped frees are errors.
    pub fn free_raw(&self, raw: u64) -> Result<(), HandleError> {
        let atomic = AtomicSection::enter(&self.backend);
        let claimed = self.handles.claim_for_free(raw)?;
        if self.packed.is_some() {
            self.free_packed(&atomic, claimed.index, claimed.length);
            self.handles.finish_free(claimed.index);
            return Ok(());
        }
        // The class of an object never changes; its place may, until we
        // hold the class lock.
        let class = self.handles.location(claimed.index).class as usize;
        {
            let mut state = self.lock_class(&atomic, class);
            let location = self.handles.location(claimed.index);
            let pages_freed = state.free(&self.backend, location, claimed.length);
            self.total_pages.fetch_sub(pages_freed, Ordering::Relaxed);
        }
        self.handles.finish_free(claimed.index);
        Ok(())
    }

    /// Payload size of an object, as given to `malloc`.
    pub fn object_size(&self, handle: &Handle) -> Result<usize, HandleError> {
        self.handles.checked_length(handle.raw())
    }

    /// Copy an object's bytes into `buffer` (up to the shorter of the two
    /// lengths) without opening a map window. Returns the bytes copied.
    pub fn read(&self, handle: &Handle, buffer: &mut [u8]) -> Result<usize, HandleError> {
        self.copy_object(handle.raw(), PayloadBuffer::Into(buffer))
    }

    /// Copy `data` into the start of an object (up to the shorter of the two
    /// lengths) without opening a map window. Returns the bytes copied.
    pub fn write(&self, handle: &Handle, data: &[u8]) -> Result<usize, HandleError> {
        self.copy_object(handle.raw(), PayloadBuffer::From(data))
    }

    fn copy_object(&self, raw: u64, buffer: PayloadBuffer<'_>) -> Result<usize, HandleError> {
        let atomic = AtomicSection::enter(&self.backend);
        // Exclusive access to the payload, as for a map window.
        let claimed = self.handles.claim_for_mapping(raw)?;
        let buffer = buffer.truncated(claimed.length);
        let copied = buffer.len();
        if self.packed.is_some() {
            self.copy_packed(&atomic, claimed.index, buffer);
        } else {
            let class = self.handles.location(claimed.index).class as usize;
            let state = self.lock_class(&atomic, class);
            let location = self.handles.location(claimed.index);
            let (first, second) = state.payload_pages(location.zspage, location.object, copied);
            copy_payload(&self.backend, first, second, buffer);
        }
        self.handles.release_mapping(claimed.index);
        Ok(copied)
    }

    /// Compact every class; returns the pages given back to the backend.
    ///
    /// Each class is compacted in one go under its lock, with the platform
    /// atomic: a large class keeps interrupts off for that long (Linux
    /// instead breaks out when its lock is contended). Objects whose zspage
    /// has a mapped object are not moved.
    pub fn compact(&self) -> usize {
        if self.packed.is_some() {
            let pages_freed = self.compact_packed();
            self.pages_compacted
                .fetch_add(pages_freed, Ordering::Relaxed);
            return pages_freed;
        }
        let mut pages_freed = 0;
        // Largest classes first, as Linux does.
        for class in (0..self.classes.len()).rev() {
            let atomic = AtomicSection::enter(&self.backend);
            let mut state = self.lock_class(&atomic, class);
            let freed = state.compact(&self.backend, &self.handles);
            self.total_pages.fetch_sub(freed, Ordering::Relaxed);
            pages_freed += freed;
        }
        self.pages_compacted
            .fetch_add(pages_freed, Ordering::Relaxed);
        pages_freed
    }

    /// Pages that compaction could free now (what Linux's shrinker counts).
    ///
    /// For the packed layout this is an upper bound, `pages held -
    /// ceil(live bytes / PAGE_SIZE)`: compaction may free fewer.
    pub fn pages_compactable(&self) -> usize {
        if self.packed.is_some() {
            let atomic = AtomicSection::enter(&self.backend);
            return self.lock_packed(&atomic).compactable_pages();
        }
        (0..self.classes.len())
            .map(|class| {
                let atomic = AtomicSection::enter(&self.backend);
                self.lock_class(&atomic, class).compactable_pages()
            })
            .sum()
    }

    /// Pages the pool holds (`zs_get_total_pages`).
    pub fn total_pages(&self) -> usize {
        self.total_pages.load(Ordering::Relaxed)
    }

    /// Payloads of at least this size are stored one per page
    /// (`zs_huge_class_size`).
    ///
    /// The packed layout has no huge objects: this is `PAGE_SIZE`.
    pub fn huge_class_size(&self) -> usize {
        if self.packed.is_some() {
            return PAGE_SIZE;
        }
        self.size_classes.huge_class_size()
    }

    /// Heap bytes used by the allocator's own metadata.
    pub(crate) fn metadata_bytes(&self) -> usize {
        let mut bytes = core::mem::size_of::<Self>() + self.name.capacity();
        bytes += self.size_classes.metadata_bytes();
        bytes += self.handles.metadata_bytes();
        for class in 0..self.classes.len() {
            let atomic = AtomicSection::enter(&self.backend);
            bytes += self.lock_class(&atomic, class).metadata_bytes();
        }
        if self.packed.is_some() {
            let atomic = AtomicSection::enter(&self.backend);
            bytes += self.lock_packed(&atomic).metadata_bytes();
        }
        bytes
    }

    /// Collect the pages of every class (invariant checker).
    pub(crate) fn all_pages(&self) -> Vec<B::Page> {
        let mut pages = Vec::new();
        for class in 0..self.classes.len() {
            let atomic = AtomicSection::enter(&self.backend);
            pages.extend(self.lock_class(&atomic, class).pages.iter().flatten());
        }
        if self.packed.is_some() {
            let atomic = AtomicSection::enter(&self.backend);
            let state = self.lock_packed(&atomic);
            for record in &state.zspages {
                pages.extend(record.pages.iter().copied());
            }
        }
        pages
    }
}

impl<B: Backend> Drop for Pool<B> {
    /// Destroying the pool gives every page back (`zs_destroy_pool`).
    fn drop(&mut self) {
        let backend = &self.backend;
        for class in self.classes.iter_mut() {
            class.get_mut().release_all(backend);
        }
        if let Some(packed) = self.packed.as_mut() {
            packed.get_mut().release_all(backend);
        }
        *self.total_pages.get_mut() = 0;
    }
}

impl<B: Backend> fmt::Debug for Pool<B> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Pool")
            .field("name", &self.name)
            .field("total_pages", &self.total_pages())
            .finish_non_exhaustive()
    }
}
