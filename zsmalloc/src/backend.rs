//! The backend: how zsmalloc reaches memory, and the platform's atomic
//! sections.
//!
//! zsmalloc never touches a physical page through a permanent address. Like
//! Linux on a 32-bit machine with HIGHMEM, a page only has an address while it
//! is *mapped*, mappings are short, made inside atomic sections, and undone
//! in LIFO order:
//!
//! ```text
//!   enter_atomic ──────────────┐ interrupts off (the state before is kept)
//!     map_page(A) ───────────┐ │
//!       map_page_pair(B, C) ┐│ │ a pair takes two kmap slots, side by side
//!       unmap_page_pair ────┘│ │ at most 4 kmap slots: 2 for an open map window
//!     unmap_page(A) ─────────┘ │ (one page or a pair), 2 transient in an operation
//!     enter_atomic ─────────┐  │ sections nest ...
//!   leave_atomic ───────────┼──┘ ... and may end in any order: interrupts stay
//!     leave_atomic ─────────┘    off until the *last* open section ends
//! ```
//!
//! The kernel implements [`Backend`] with its frame allocator, `kmap` and
//! the interrupt flag; host tests use the backends of `testing` (behind the
//! `testing` feature), which check this contract.

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
    type Page: Copy + Eq + fmt::Debug + Send + Sync + 'static;
    /// The token of one open atomic section (see [`Backend::enter_atomic`]).
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
    /// bytes until `unmap_page`. The crate maps only inside atomic sections,
    /// nests mappings in strict LIFO order, and holds at most 4 kmap slots
    /// at once: an open in-place map window holds one mapping, or one pair
    /// (two kmap slots) for an object spanning two pages, and an operation holds
    /// at most 2 transient ones.
    ///
    /// # Safety
    /// `page` is allocated; the caller is inside an atomic section and
    /// unmaps in LIFO order before that section ends.
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
    /// default cannot. A pair counts as two mappings.
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

    /// Enter an atomic section: until it ends, this CPU is not interrupted
    /// or preempted (the kernel disables interrupts). Every spin lock of the
    /// crate is taken inside one, and every mapping is made inside one.
    ///
    /// Sections nest, and may end in any order: the platform keeps the state
    /// from before the outermost section (the kernel: whether interrupts were
    /// enabled) and restores it only when the last open section ends. So
    /// closing map windows out of order never re-enables interrupts while
    /// another window is still open.
    fn enter_atomic(&self) -> Self::AtomicState;

    /// End the section whose token `enter_atomic` returned. When it is the
    /// last one open, restore the state from before the outermost one.
    fn leave_atomic(&self, state: Self::AtomicState);
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
