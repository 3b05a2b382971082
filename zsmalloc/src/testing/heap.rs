//! A backend whose pages are plain, always-addressable heap blocks: the
//! fast one, for benchmarks and large tests.
//!
//! Mapping is the identity and costs nothing. Atomic sections are those of
//! the simulated CPU ([`super::cpu`]), checked in debug builds (tests); in
//! release builds (benchmarks) they are nothing at all.

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(debug_assertions)]
use super::cpu::{self, AtomicToken};
use crate::backend::{Backend, OutOfPages, PAGE_SIZE};

/// A page of [`HeapBackend`]: the block's pointer, used only as a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapPage(NonNull<u8>);

// SAFETY: a HeapPage is only a name; the bytes behind it are reached through
// `Backend::map_page`, under the pool's own synchronisation.
unsafe impl Send for HeapPage {}
// SAFETY: as above; sharing the name shares no access.
unsafe impl Sync for HeapPage {}

/// Pages from the global allocator, mapping is the identity. An optional
/// page limit makes `alloc_page` fail once that many pages are live.
#[derive(Debug, Default)]
pub struct HeapBackend {
    live_pages: AtomicUsize,
    page_limit: Option<usize>,
}

fn page_layout() -> Layout {
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).expect("valid layout")
}

impl HeapBackend {
    /// A backend without a page limit.
    pub fn new() -> HeapBackend {
        HeapBackend::default()
    }

    /// A backend that holds at most `pages` pages at once.
    pub fn with_page_limit(pages: usize) -> HeapBackend {
        HeapBackend {
            live_pages: AtomicUsize::new(0),
            page_limit: Some(pages),
        }
    }

    /// Pages currently allocated.
    pub fn live_pages(&self) -> usize {
        self.live_pages.load(Ordering::Relaxed)
    }
}

impl Backend for HeapBackend {
    type Page = HeapPage;
    #[cfg(debug_assertions)]
    type AtomicState = AtomicToken;
    #[cfg(not(debug_assertions))]
    type AtomicState = ();

    fn alloc_page(&self) -> Result<HeapPage, OutOfPages> {
        let live = self.live_pages.fetch_add(1, Ordering::Relaxed);
        if self.page_limit.is_some_and(|limit| live >= limit) {
            self.live_pages.fetch_sub(1, Ordering::Relaxed);
            return Err(OutOfPages);
        }
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { alloc(page_layout()) };
        match NonNull::new(block) {
            Some(block) => Ok(HeapPage(block)),
            None => {
                self.live_pages.fetch_sub(1, Ordering::Relaxed);
                Err(OutOfPages)
            }
        }
    }

    unsafe fn free_page(&self, page: HeapPage) {
        self.live_pages.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the caller guarantees `page` came from `alloc_page`, which
        // allocated it with this layout, and that it is no longer used.
        unsafe { dealloc(page.0.as_ptr(), page_layout()) }
    }

    unsafe fn map_page(&self, page: HeapPage) -> NonNull<u8> {
        page.0
    }

    unsafe fn unmap_page(&self, _page: HeapPage, _address: NonNull<u8>) {}

    #[cfg(debug_assertions)]
    fn enter_atomic(&self) -> AtomicToken {
        cpu::enter()
    }

    #[cfg(debug_assertions)]
    fn leave_atomic(&self, token: AtomicToken) {
        // Its mappings need no unmapping: none is ever open.
        cpu::leave(token, || 0);
    }

    #[cfg(not(debug_assertions))]
    #[inline]
    fn enter_atomic(&self) {}

    #[cfg(not(debug_assertions))]
    #[inline]
    fn leave_atomic(&self, _state: ()) {}
}
