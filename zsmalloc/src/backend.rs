//! The backend: how zsmalloc reaches memory.
//!
//! zsmalloc never touches a physical page through a permanent address. Like
//! Linux on a 32-bit machine with HIGHMEM, a page only has an address while it
//! is *mapped*, and mappings are short, nested and released in LIFO order:
//!
//! ```text
//!   map_page(A) ─┐
//!     map_page(B) ─┐        at most 4 open at once:
//!     unmap_page(B)┘        1 for an open in-place window,
//!   unmap_page(A) ─┘        2 transient inside an operation (+1 spare)
//! ```
//!
//! The kernel implements [`Backend`] with its frame allocator and `kmap`; host
//! tests use the backends in `testing` (behind the `testing` feature).
//!
//! This module also holds two tiny RAII helpers used everywhere else:
//! `AtomicSection` (enter/leave the platform's atomic state) and
//! `MappedPage` (a transient mapping of one page).

use core::fmt;
use core::ptr::NonNull;

/// Size of one page, the unit the backend hands out.
pub const PAGE_SIZE: usize = 4096;

/// The backend could not provide another page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfPages;

impl fmt::Display for OutOfPages {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the backend has no free page")
    }
}

/// How zsmalloc reaches memory. The kernel implements it with its frame
/// allocator + kmap; host tests implement it in plain Rust.
pub trait Backend: Send + Sync {
    /// Opaque name of one 4 KiB page (the kernel uses a physical frame number).
    /// Not an address.
    type Page: Copy + Eq + fmt::Debug + Send + Sync;
    /// What [`Backend::enter_atomic`] saved (the kernel: the interrupt flag).
    type AtomicState;

    /// Allocate one page. Its contents are unspecified.
    fn alloc_page(&self) -> Result<Self::Page, OutOfPages>;

    /// Give a page back.
    ///
    /// # Safety
    /// `page` came from `alloc_page` of this backend, is not mapped, and is not
    /// used afterwards.
    unsafe fn free_page(&self, page: Self::Page);

    /// Map `page` for a short window; the pointer is valid for `PAGE_SIZE`
    /// bytes until `unmap_page`. The crate nests mappings in strict LIFO order
    /// and holds at most 4 at once (2 for an open map window + 2 transient
    /// inside an operation).
    ///
    /// # Safety
    /// `page` is allocated; the caller unmaps in LIFO order.
    unsafe fn map_page(&self, page: Self::Page) -> NonNull<u8>;

    /// Undo the most recent `map_page`.
    ///
    /// # Safety
    /// `address` is the result of the most recent still-open `map_page` of `page`.
    unsafe fn unmap_page(&self, page: Self::Page, address: NonNull<u8>);

    /// Map two pages at adjacent addresses, `first` then `second`, so that an
    /// object spanning them can be used in place instead of being copied
    /// through a bounce buffer (Linux once did this with a per-CPU pair of
    /// page-table entries). Returns `None` when the platform cannot; the
    /// default cannot.
    ///
    /// # Safety
    /// As `map_page` for both pages; undo with `unmap_page_pair`.
    unsafe fn map_page_pair(&self, first: Self::Page, second: Self::Page) -> Option<NonNull<u8>> {
        let _ = (first, second);
        None
    }

    /// Undo the most recent `map_page_pair`.
    ///
    /// # Safety
    /// `address` is the result of the most recent still-open
    /// `map_page_pair(first, second)`.
    unsafe fn unmap_page_pair(&self, first: Self::Page, second: Self::Page, address: NonNull<u8>) {
        let _ = (first, second, address);
        unreachable!("unmap_page_pair without a successful map_page_pair");
    }

    /// Enter a region where the platform is atomic (kernel: save RFLAGS.IF and
    /// `cli`). Must nest.
    fn enter_atomic(&self) -> Self::AtomicState;

    /// Leave the region entered by the matching `enter_atomic`.
    fn leave_atomic(&self, state: Self::AtomicState);
}

/// RAII form of `enter_atomic`/`leave_atomic`.
///
/// Every spin lock in this crate is taken inside an atomic section, like
/// Linux's `spin_lock_irqsave`: a lock holder can then never be interrupted or
/// preempted on its CPU, so a single CPU can never spin on a lock that it
/// itself holds.
pub(crate) struct AtomicSection<'b, B: Backend> {
    backend: &'b B,
    state: Option<B::AtomicState>,
}

impl<'b, B: Backend> AtomicSection<'b, B> {
    pub(crate) fn enter(backend: &'b B) -> Self {
        let state = Some(backend.enter_atomic());
        AtomicSection { backend, state }
    }
}

impl<B: Backend> Drop for AtomicSection<'_, B> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.backend.leave_atomic(state);
        }
    }
}

/// A transient mapping of one page, unmapped when dropped.
///
/// Guards are only ever created and dropped inside one function, so Rust's
/// scoping makes their unmapping LIFO.
pub(crate) struct MappedPage<'b, B: Backend> {
    backend: &'b B,
    page: B::Page,
    address: NonNull<u8>,
}

impl<'b, B: Backend> MappedPage<'b, B> {
    /// Map `page`.
    ///
    /// # Safety
    /// `page` is a page currently owned by the pool (allocated, not freed)
    /// and it stays allocated while the guard lives.
    pub(crate) unsafe fn new(backend: &'b B, page: B::Page) -> Self {
        // SAFETY: the caller guarantees the page is allocated; the guard's
        // Drop unmaps it, and guards are strictly scoped (LIFO).
        let address = unsafe { backend.map_page(page) };
        MappedPage {
            backend,
            page,
            address,
        }
    }

    /// Read the 8-byte word at `offset` (a header or a free-list link).
    pub(crate) fn read_word(&self, offset: usize) -> u64 {
        assert!(offset + 8 <= PAGE_SIZE);
        // SAFETY: the page is mapped for PAGE_SIZE bytes and the word lies
        // inside it (checked above); an unaligned read has no alignment
        // requirement. Words read here are metadata that no open window
        // covers (windows cover only an object's payload).
        unsafe {
            self.address
                .as_ptr()
                .add(offset)
                .cast::<u64>()
                .read_unaligned()
        }
    }

    /// Write the 8-byte word at `offset`.
    pub(crate) fn write_word(&self, offset: usize, word: u64) {
        assert!(offset + 8 <= PAGE_SIZE);
        // SAFETY: as in `read_word`; the word is metadata owned by the caller,
        // which holds the class lock.
        unsafe {
            self.address
                .as_ptr()
                .add(offset)
                .cast::<u64>()
                .write_unaligned(word)
        }
    }

    /// Copy `destination.len()` bytes starting at `offset` out of the page.
    pub(crate) fn read_bytes(&self, offset: usize, destination: &mut [u8]) {
        assert!(offset + destination.len() <= PAGE_SIZE);
        // SAFETY: the source range is inside the mapped page (checked above);
        // `destination` is a distinct Rust slice, so the ranges cannot overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.address.as_ptr().add(offset),
                destination.as_mut_ptr(),
                destination.len(),
            )
        }
    }

    /// Copy `source` into the page at `offset`.
    pub(crate) fn write_bytes(&self, offset: usize, source: &[u8]) {
        assert!(offset + source.len() <= PAGE_SIZE);
        // SAFETY: the destination range is inside the mapped page (checked
        // above); `source` is a distinct Rust slice.
        unsafe {
            core::ptr::copy_nonoverlapping(
                source.as_ptr(),
                self.address.as_ptr().add(offset),
                source.len(),
            )
        }
    }

    /// Copy `length` bytes from `self` at `from` to `other` at `to`.
    pub(crate) fn copy_to(&self, from: usize, other: &MappedPage<'_, B>, to: usize, length: usize) {
        assert!(from + length <= PAGE_SIZE && to + length <= PAGE_SIZE);
        assert!(self.page != other.page, "copy within one page");
        // SAFETY: both ranges are inside mapped pages (checked above) and the
        // pages differ, so the ranges do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.address.as_ptr().add(from),
                other.address.as_ptr().add(to),
                length,
            )
        }
    }
}

impl<B: Backend> Drop for MappedPage<'_, B> {
    fn drop(&mut self) {
        // SAFETY: `address` came from the `map_page` in `new`, and any mapping
        // made after it was made by a guard of a shorter scope, already dropped.
        unsafe { self.backend.unmap_page(self.page, self.address) }
    }
}

/// A shared reference to a backend is a backend (several pools can then
/// draw from one frame allocator, and tests can read its counters).
impl<B: Backend> Backend for &B {
    type Page = B::Page;
    type AtomicState = B::AtomicState;

    fn alloc_page(&self) -> Result<B::Page, OutOfPages> {
        (**self).alloc_page()
    }

    unsafe fn free_page(&self, page: B::Page) {
        // SAFETY: forwarded contract.
        unsafe { (**self).free_page(page) }
    }

    unsafe fn map_page(&self, page: B::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        unsafe { (**self).map_page(page) }
    }

    unsafe fn unmap_page(&self, page: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { (**self).unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: B::Page, second: B::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        unsafe { (**self).map_page_pair(first, second) }
    }

    unsafe fn unmap_page_pair(&self, first: B::Page, second: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { (**self).unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> B::AtomicState {
        (**self).enter_atomic()
    }

    fn leave_atomic(&self, state: B::AtomicState) {
        (**self).leave_atomic(state)
    }
}

/// A shared, reference-counted backend is a backend.
impl<B: Backend> Backend for alloc::sync::Arc<B> {
    type Page = B::Page;
    type AtomicState = B::AtomicState;

    fn alloc_page(&self) -> Result<B::Page, OutOfPages> {
        (**self).alloc_page()
    }

    unsafe fn free_page(&self, page: B::Page) {
        // SAFETY: forwarded contract.
        unsafe { (**self).free_page(page) }
    }

    unsafe fn map_page(&self, page: B::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        unsafe { (**self).map_page(page) }
    }

    unsafe fn unmap_page(&self, page: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { (**self).unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: B::Page, second: B::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        unsafe { (**self).map_page_pair(first, second) }
    }

    unsafe fn unmap_page_pair(&self, first: B::Page, second: B::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { (**self).unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> B::AtomicState {
        (**self).enter_atomic()
    }

    fn leave_atomic(&self, state: B::AtomicState) {
        (**self).leave_atomic(state)
    }
}
