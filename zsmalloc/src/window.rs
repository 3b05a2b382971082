//! Map windows: short-lived access to an object's bytes, shared by both
//! generations of the access API ([`crate::mapping`], [`crate::read`]) and
//! by the facade.
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
//! Backend mappings must be LIFO. Rust cannot force two windows of two
//! mappers (or two pools) to be closed in LIFO order, so only one window in
//! the whole program holds an in-place backend mapping at a time; a window
//! opened while it is open uses its bounce buffer instead (and holds no
//! mapping at all). Atomic sections, on the other hand, may end in any
//! order (see [`crate::Backend::enter_atomic`]). The price: concurrent
//! windows on other CPUs copy. A per-CPU flag would need the backend to
//! name the current CPU.

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
pub(crate) enum WindowBytes {
    /// Mapped in place: `address` is the backend mapping of the object's
    /// page (or adjacent pair of pages).
    InPlace { address: NonNull<u8> },
    /// In the bounce buffer.
    Bounce,
}

/// The state of an open window, independent of who holds the bounce buffer
/// (a safe window type or the C-flavoured facade).
pub(crate) struct Window<B: Backend> {
    pub entry: Entry,
    pub mode: MapMode,
    pub pages: ObjectPages<B::Page>,
    pub bytes: WindowBytes,
    atomic: B::AtomicState,
}

impl<B: Backend> Window<B> {
    /// Bytes in the window.
    pub(crate) fn len(&self) -> usize {
        self.pages.length
    }

    /// Whether the bytes are mapped in place (else: bounce buffer).
    pub(crate) fn is_in_place(&self) -> bool {
        matches!(self.bytes, WindowBytes::InPlace { .. })
    }

    /// Start of the window's bytes, given the bounce buffer.
    pub(crate) fn pointer(&self, bounce: &mut [u8]) -> NonNull<u8> {
        match &self.bytes {
            WindowBytes::InPlace { address } => {
                // SAFETY: the object lies inside the mapping (one page, or a
                // pair mapped at adjacent addresses), which starts at `address`.
                unsafe { address.add(self.pages.offset) }
            }
            WindowBytes::Bounce => NonNull::from(bounce).cast(),
        }
    }
}

/// True while some window, of any pool, holds an in-place backend mapping.
/// Any other window then uses its bounce buffer and holds no mapping, so
/// backend mappings stay LIFO whatever order windows are closed in, even
/// when several pools share one backend (one kmap stack).
static IN_PLACE_WINDOW_OPEN: AtomicBool = AtomicBool::new(false);

/// A new bounce buffer.
pub(crate) fn new_bounce_buffer() -> Box<[u8]> {
    vec![0u8; PAGE_SIZE].into_boxed_slice()
}

impl<B: Backend> Pool<B> {
    /// Open a window on the object named by `raw` (see the module docs).
    /// `bounce` must hold at least the object's bytes.
    pub(crate) fn open_window(
        &self,
        raw: u64,
        mode: MapMode,
        bounce: &mut [u8],
    ) -> Result<Window<B>, HandleError> {
        let core = self.core();
        let claimed = core.entries().claim_for_mapping(raw)?;
        let atomic = core.backend().enter_atomic();
        let pages = self.layout().pin(core, claimed.entry, claimed.length);
        let in_place = IN_PLACE_WINDOW_OPEN
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        let mapped = if in_place {
            self.map_in_place(&pages)
        } else {
            None
        };
        let bytes = match mapped {
            Some(address) => WindowBytes::InPlace { address },
            None => {
                if in_place {
                    IN_PLACE_WINDOW_OPEN.store(false, Ordering::Release);
                }
                if mode != MapMode::WriteOnly {
                    let destination = PayloadBuffer::Into(&mut bounce[..pages.length]);
                    // SAFETY: the object is pinned and MAPPED: its pages stay
                    // allocated, it does not move, and this window has
                    // exclusive access to its bytes.
                    unsafe { pages.copy(core.backend(), destination) };
                }
                WindowBytes::Bounce
            }
        };
        Ok(Window {
            entry: claimed.entry,
            mode,
            pages,
            bytes,
            atomic,
        })
    }

    /// Map an object's page for an in-place window, or both of its pages at
    /// adjacent addresses when it spans two and the backend can; `None` when
    /// it must go through the bounce buffer. The caller holds
    /// `IN_PLACE_WINDOW_OPEN`.
    fn map_in_place(&self, pages: &ObjectPages<B::Page>) -> Option<NonNull<u8>> {
        let backend = self.backend();
        // SAFETY: the object is pinned and MAPPED, so its pages stay
        // allocated until `close_window`, which unmaps them before the
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

    /// Close a window opened by `open_window`, in reverse order.
    pub(crate) fn close_window(&self, window: Window<B>, bounce: &[u8]) {
        let core = self.core();
        let pages = window.pages;
        match window.bytes {
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
                if window.mode != MapMode::ReadOnly {
                    let source = PayloadBuffer::From(&bounce[..pages.length]);
                    // SAFETY: as in `open_window`: still pinned and MAPPED.
                    unsafe { pages.copy(core.backend(), source) };
                }
            }
        }
        self.layout().unpin(core, window.entry);
        core.entries().release_mapping(window.entry);
        core.backend().leave_atomic(window.atomic);
    }
}
