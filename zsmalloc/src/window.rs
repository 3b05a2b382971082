//! Map windows: short-lived access to an object's bytes, shared by both
//! generations of the access API ([`crate::mapping`], [`crate::read`]).
//!
//! ```text
//!   payload inside one page:           payload spanning two pages:
//!   +---------- page 1 ----------+     +--- page 1 ---+ +--- page 2 ---+
//!   |      [##### payload ####]  |     |        [#####| |####]        |
//!   +----------------------------+     +--------------+ +--------------+
//!             ^ in place                 in place, if the backend maps the pair at
//!             (map_page of page 1)       adjacent addresses (map_page_pair) ...
//!                                        ... else copied:  \  copy in  /  (not for WO)
//!                                                           v         v
//!                                             bounce buffer [##########]  <- the window
//!                                                    copied back on close (not for RO)
//! ```
//!
//! Opening a window (Linux's `zs_map_object`):
//! 1. the handle's entry is marked MAPPED (exclusive: a second window on the
//!    same object, or freeing it, is refused);
//! 2. the platform enters an atomic section for the whole window;
//! 3. the layout *pins* the object, so that compaction will not move it,
//!    and says which pages hold it ([`crate::Layout::pin`]);
//! 4. the bytes are mapped in place, or copied into the bounce buffer.
//!
//! No lock is held while the window is open, so its owner may still call
//! `malloc`, `free` or `compact` on the same pool. Closing undoes the steps
//! in reverse order.
//!
//! ## Windows are scoped, so forgetting one is impossible
//!
//! An open window holds things the rest of the program needs back: an
//! atomic section (interrupts off in the kernel), a backend mapping (a kmap
//! slot), a pin and the MAPPED mark. Rust does not promise that a value's
//! destructor runs (`mem::forget` is safe), so a window that lived in a
//! value the caller owns could be forgotten, and with it interrupts would
//! stay off for good and the pool would one day free a page still mapped.
//! So, as `std::thread::scope` does for threads and the Linux kernel's Rust
//! bindings do for `kmap_local_page`, a window exists only *during a call*:
//! [`crate::Mapper::map`] and [`crate::Pool::read_with`] open it, lend the
//! caller's closure a view of its bytes, and close it when the closure
//! returns (or unwinds: [`ScopedWindow`] closes in its destructor, which
//! the call itself owns). The view borrows the handle, so the object
//! cannot be freed meanwhile, and cannot leave the closure. What a caller
//! can forget — a [`crate::Mapper`], a facade pool — holds no open window
//! between calls: the facade copies instead of mapping (see
//! [`crate::facade`]).
//!
//! Because windows are closures, those of one CPU always close in LIFO
//! order. Still, only one window in the whole program holds an in-place
//! backend mapping at a time; a window opened inside it (or on another CPU
//! meanwhile) uses its bounce buffer and holds no mapping, which bounds the
//! kmap slots a CPU uses (two for a window, two transient). The price:
//! concurrent windows on other CPUs copy. A per-CPU flag would need the
//! backend to name the current CPU.

use alloc::boxed::Box;
use alloc::vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{Backend, PAGE_SIZE};
use crate::handle::HandleError;
use crate::handle_table::Entry;
use crate::pages::{ObjectPages, PayloadBuffer};
use crate::pool::Pool;

/// How a window will be used (Linux's `ZS_MM_RO`, `ZS_MM_WO`, `ZS_MM_RW`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    /// Read only: a bounce buffer is not copied back.
    ReadOnly,
    /// Write only: a bounce buffer is not filled first, so its initial bytes
    /// are unspecified; write every byte.
    WriteOnly,
    /// Read and write.
    ReadWrite,
}

/// Where the bytes of an open window are.
enum WindowBytes {
    /// Mapped in place: `address` is the backend mapping of the object's
    /// page (or adjacent pair of pages).
    InPlace { address: NonNull<u8> },
    /// In the bounce buffer.
    Bounce,
}

/// True while some window, of any pool, holds an in-place backend mapping.
/// Any other window then uses its bounce buffer and holds no mapping, so a
/// CPU holds at most one window's mapping, even when several pools share
/// one backend (one kmap stack).
static IN_PLACE_WINDOW_OPEN: AtomicBool = AtomicBool::new(false);

/// A new bounce buffer.
pub(crate) fn new_bounce_buffer() -> Box<[u8]> {
    vec![0u8; PAGE_SIZE].into_boxed_slice()
}

/// An open window; it closes when dropped, in reverse order of opening.
/// Only the scoped calls of [`crate::mapping`] and [`crate::read`] own one,
/// and never hand it out, so it is always dropped (see the module docs).
pub(crate) struct ScopedWindow<'a, B: Backend> {
    pool: &'a Pool<B>,
    bounce: &'a mut [u8],
    entry: Entry,
    mode: MapMode,
    pages: ObjectPages<B::Page>,
    bytes: WindowBytes,
    /// The window's atomic section, ended last.
    atomic: Option<B::AtomicState>,
}

impl<'a, B: Backend> ScopedWindow<'a, B> {
    /// Open a window on the object named by `raw`. `bounce` must hold at
    /// least the object's bytes.
    pub(crate) fn open(
        pool: &'a Pool<B>,
        raw: u64,
        mode: MapMode,
        bounce: &'a mut [u8],
    ) -> Result<Self, HandleError> {
        let core = pool.core();
        let claimed = core.entries().claim_for_mapping(raw)?;
        let atomic = core.backend().enter_atomic();
        let pages = pool.layout().pin(core, claimed.entry, claimed.length);
        let mut window = ScopedWindow {
            pool,
            bounce,
            entry: claimed.entry,
            mode,
            pages,
            bytes: WindowBytes::Bounce,
            atomic: Some(atomic),
        };
        let in_place = IN_PLACE_WINDOW_OPEN
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        match in_place.then(|| window.map_in_place()).flatten() {
            Some(address) => window.bytes = WindowBytes::InPlace { address },
            None => {
                if in_place {
                    IN_PLACE_WINDOW_OPEN.store(false, Ordering::Release);
                }
                if mode != MapMode::WriteOnly {
                    let destination = PayloadBuffer::Into(&mut window.bounce[..pages.length]);
                    // SAFETY: the object is pinned and MAPPED: its pages stay
                    // allocated, it does not move, and this window has
                    // exclusive access to its bytes.
                    unsafe { pages.copy(core.backend(), destination) };
                }
            }
        }
        Ok(window)
    }

    /// Map the object's page for an in-place window, or both of its pages
    /// at adjacent addresses when it spans two and the backend can; `None`
    /// when it must go through the bounce buffer. The caller holds
    /// `IN_PLACE_WINDOW_OPEN`.
    fn map_in_place(&self) -> Option<NonNull<u8>> {
        let backend = self.pool.backend();
        let pages = &self.pages;
        // SAFETY: the object is pinned and MAPPED, so its pages stay
        // allocated until the window closes, which unmaps them before the
        // window's atomic section ends; no other window holds a mapping
        // (IN_PLACE_WINDOW_OPEN), and the pool's own transient mappings nest
        // inside this one.
        unsafe {
            match pages.second {
                None => {
                    debug_assert!(pages.offset + pages.length <= PAGE_SIZE);
                    Some(backend.map_page(pages.first))
                }
                Some(second) => backend.map_page_pair(pages.first, second),
            }
        }
    }

    /// Bytes in the window.
    pub(crate) fn len(&self) -> usize {
        self.pages.length
    }

    /// Whether the bytes are mapped in place (else: bounce buffer).
    pub(crate) fn is_in_place(&self) -> bool {
        matches!(self.bytes, WindowBytes::InPlace { .. })
    }

    /// Whether the object spans two pages.
    pub(crate) fn spans_two_pages(&self) -> bool {
        self.pages.spans_two_pages()
    }

    /// The start of the window's bytes (`len()` of them), valid until the
    /// window closes.
    pub(crate) fn bytes(&mut self) -> NonNull<u8> {
        match &self.bytes {
            WindowBytes::InPlace { address } => {
                // SAFETY: the object lies inside the mapping (one page, or a
                // pair mapped at adjacent addresses), which starts at `address`.
                unsafe { address.add(self.pages.offset) }
            }
            WindowBytes::Bounce => NonNull::from(&mut *self.bounce).cast(),
        }
    }
}

impl<B: Backend> Drop for ScopedWindow<'_, B> {
    /// Close the window, in reverse order of opening.
    fn drop(&mut self) {
        let core = self.pool.core();
        let pages = self.pages;
        match self.bytes {
            WindowBytes::InPlace { address } => {
                // SAFETY: `address` is the mapping made by `map_in_place`, and
                // every mapping made since has been undone (transient ones are
                // scoped; other windows hold none while this one is in place).
                unsafe {
                    match pages.second {
                        None => core.backend().unmap_page(pages.first, address),
                        Some(second) => {
                            core.backend().unmap_page_pair(pages.first, second, address)
                        }
                    }
                }
                IN_PLACE_WINDOW_OPEN.store(false, Ordering::Release);
            }
            WindowBytes::Bounce => {
                if self.mode != MapMode::ReadOnly {
                    let source = PayloadBuffer::From(&self.bounce[..pages.length]);
                    // SAFETY: as in `open`: still pinned and MAPPED.
                    unsafe { pages.copy(core.backend(), source) };
                }
            }
        }
        self.pool.layout().unpin(core, self.entry);
        core.entries().release_mapping(self.entry);
        if let Some(atomic) = self.atomic.take() {
            core.backend().leave_atomic(atomic);
        }
    }
}
