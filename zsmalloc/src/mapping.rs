//! Map windows: short-lived access to an object's bytes.
//!
//! ```text
//!   payload inside one page:             payload spanning two pages:
//!   +---------- page 1 ----------+       +--- page 1 ---+ +--- page 2 ---+
//!   |      [##### payload ####]  |       |        [#####| |####]        |
//!   +----------------------------+       +--------------+ +--------------+
//!             ^ mapped in place                   \  copy in   /  (not for WO)
//!             (map_page of page 1)                 v          v
//!                                          bounce [##########]  <- the window
//!                                                   copy back on drop (not for RO)
//! ```
//!
//! Opening a window (Linux's `zs_map_object`):
//! 1. the handle's slot is marked MAPPED (exclusive: a second window on the
//!    same object, or freeing it, is refused);
//! 2. the platform enters an atomic section for the whole window;
//! 3. under the class lock (the packed lock for [`crate::packed`]), briefly, the object's zspage is *pinned* so that
//!    compaction will not move its objects, and its pages are looked up;
//! 4. the bytes are mapped in place, or copied into the mapper's bounce
//!    buffer.
//!
//! No lock is held while the window is open, so its owner may still call
//! `malloc`, `free` or `compact` on the same pool. Closing (dropping the
//! [`Mapping`]) undoes the steps in reverse order.
//!
//! The backend requires LIFO mappings. Rust cannot force two windows of two
//! mappers (or two pools) to be dropped in LIFO order, so only one window in
//! the whole program holds an in-place backend mapping at a time; any window
//! opened while it is open uses its bounce buffer instead (it holds no
//! mapping at all). The price: concurrent windows on other CPUs copy. A
//! per-CPU flag would need the backend to name the current CPU.
//!
//! Each [`Mapper`] owns one page-sized bounce buffer: Linux has one per CPU,
//! here each thread or user makes its own mapper (`Pool::mapper`).

use alloc::boxed::Box;
use alloc::vec;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{AtomicSection, Backend, PAGE_SIZE};
use crate::handle::{Handle, HandleError, Location};
use crate::pool::Pool;
use crate::zspage::{copy_payload, PagePosition, PayloadBuffer};

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

mod sealed {
    pub trait Sealed {}
}

/// A map mode as a type, so that only writable windows implement `DerefMut`.
pub trait Access: sealed::Sealed {
    /// The mode this type stands for.
    const MODE: MapMode;
}

/// Modes that may change the object.
pub trait Writable: Access {}

/// Read-only window (`ZS_MM_RO`).
#[derive(Debug, Clone, Copy)]
pub struct ReadOnly;
/// Write-only window (`ZS_MM_WO`).
#[derive(Debug, Clone, Copy)]
pub struct WriteOnly;
/// Read-write window (`ZS_MM_RW`).
#[derive(Debug, Clone, Copy)]
pub struct ReadWrite;

impl sealed::Sealed for ReadOnly {}
impl sealed::Sealed for WriteOnly {}
impl sealed::Sealed for ReadWrite {}
impl Access for ReadOnly {
    const MODE: MapMode = MapMode::ReadOnly;
}
impl Access for WriteOnly {
    const MODE: MapMode = MapMode::WriteOnly;
}
impl Access for ReadWrite {
    const MODE: MapMode = MapMode::ReadWrite;
}
impl Writable for WriteOnly {}
impl Writable for ReadWrite {}

/// Where the bytes of an open window are.
pub(crate) enum WindowBytes<P> {
    /// Mapped in place: `address` is the backend mapping of `page` (and, for
    /// an object spanning two pages, of `second` right after it).
    InPlace {
        page: P,
        second: Option<P>,
        address: NonNull<u8>,
        offset: usize,
    },
    /// In the bounce buffer; these are the object's pages.
    Bounce {
        first: PagePosition<P>,
        second: Option<P>,
    },
}

/// The state of an open window, independent of who holds the bounce buffer
/// (the safe [`Mapping`] or the C-flavoured facade).
pub(crate) struct Window<B: Backend> {
    pub slot: u32,
    pub location: Location,
    pub length: usize,
    pub mode: MapMode,
    pub bytes: WindowBytes<B::Page>,
    atomic: B::AtomicState,
}

impl<B: Backend> Window<B> {
    /// Start of the window's bytes, given the bounce buffer.
    pub(crate) fn pointer(&self, bounce: &mut [u8]) -> NonNull<u8> {
        match &self.bytes {
            WindowBytes::InPlace {
                address, offset, ..
            } => {
                // SAFETY: `offset + length <= PAGE_SIZE` was checked when the
                // window was opened, and the page is mapped for PAGE_SIZE bytes.
                unsafe { address.add(*offset) }
            }
            WindowBytes::Bounce { .. } => NonNull::from(bounce).cast(),
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
    /// A mapper for this pool: it owns a bounce buffer and opens windows.
    pub fn mapper(&self) -> Mapper<'_, B> {
        Mapper {
            pool: self,
            bounce: new_bounce_buffer(),
        }
    }

    /// Open a window on the object named by `raw` (see the module docs).
    pub(crate) fn open_window(
        &self,
        raw: u64,
        mode: MapMode,
        bounce: &mut [u8],
    ) -> Result<Window<B>, HandleError> {
        let claimed = self.handles.claim_for_mapping(raw)?;
        let atomic = self.backend.enter_atomic();
        let (location, first, second) = if self.packed.is_some() {
            let section = AtomicSection::enter(&self.backend);
            let mut state = self.lock_packed(&section);
            let location = self.handles.location(claimed.index);
            state.zspages[location.zspage as usize].pins += 1;
            let offset = location.object as usize * state.spacing;
            let (first, second) = state.payload_pages(location.zspage, offset, claimed.length);
            (location, first, second)
        } else {
            let section = AtomicSection::enter(&self.backend);
            let class = self.handles.location(claimed.index).class as usize;
            let mut state = self.lock_class(&section, class);
            let location = self.handles.location(claimed.index);
            state.zspages[location.zspage as usize].pins += 1;
            let (first, second) =
                state.payload_pages(location.zspage, location.object, claimed.length);
            (location, first, second)
        };
        let in_place = IN_PLACE_WINDOW_OPEN
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        let mapped = if in_place {
            self.map_in_place(first, second, claimed.length)
        } else {
            None
        };
        let bytes = match mapped {
            Some(bytes) => bytes,
            None => {
                if in_place {
                    IN_PLACE_WINDOW_OPEN.store(false, Ordering::Release);
                }
                if mode != MapMode::WriteOnly {
                    let destination = PayloadBuffer::Into(&mut bounce[..claimed.length]);
                    copy_payload(&self.backend, first, second, destination);
                }
                WindowBytes::Bounce { first, second }
            }
        };
        Ok(Window {
            slot: claimed.index,
            location,
            length: claimed.length,
            mode,
            bytes,
            atomic,
        })
    }

    /// Map an object's page for an in-place window, or both of its pages at
    /// adjacent addresses when it spans two and the backend can; `None` when
    /// it must go through the bounce buffer. The caller holds
    /// `IN_PLACE_WINDOW_OPEN`.
    fn map_in_place(
        &self,
        first: PagePosition<B::Page>,
        second: Option<B::Page>,
        length: usize,
    ) -> Option<WindowBytes<B::Page>> {
        // SAFETY: the zspage is pinned and the object is MAPPED, so its pages
        // stay allocated until `close_window`, which unmaps them; no other
        // window holds a mapping (IN_PLACE_WINDOW_OPEN), and the pool's own
        // transient mappings nest inside this one.
        let address = unsafe {
            match second {
                None => {
                    debug_assert!(first.offset + length <= PAGE_SIZE);
                    self.backend.map_page(first.page)
                }
                Some(second_page) => {
                    debug_assert!(first.offset + length <= 2 * PAGE_SIZE);
                    self.backend.map_page_pair(first.page, second_page)?
                }
            }
        };
        Some(WindowBytes::InPlace {
            page: first.page,
            second,
            address,
            offset: first.offset,
        })
    }

    /// Close a window opened by `open_window`, in reverse order.
    pub(crate) fn close_window(&self, window: Window<B>, bounce: &[u8]) {
        match window.bytes {
            WindowBytes::InPlace {
                page,
                second,
                address,
                ..
            } => {
                // SAFETY: `address` is the mapping made by `map_in_place`, and
                // every mapping made since has been undone (transient ones are
                // scoped; other windows hold none while this one is in place).
                unsafe {
                    match second {
                        None => self.backend.unmap_page(page, address),
                        Some(second) => self.backend.unmap_page_pair(page, second, address),
                    }
                }
                IN_PLACE_WINDOW_OPEN.store(false, Ordering::Release);
            }
            WindowBytes::Bounce { first, second } => {
                if window.mode != MapMode::ReadOnly {
                    let source = PayloadBuffer::From(&bounce[..window.length]);
                    copy_payload(&self.backend, first, second, source);
                }
            }
        }
        if self.packed.is_some() {
            let section = AtomicSection::enter(&self.backend);
            let mut state = self.lock_packed(&section);
            state.zspages[window.location.zspage as usize].pins -= 1;
        } else {
            let section = AtomicSection::enter(&self.backend);
            let mut state = self.lock_class(&section, window.location.class as usize);
            state.zspages[window.location.zspage as usize].pins -= 1;
        }
        self.handles.release_mapping(window.slot);
        self.backend.leave_atomic(window.atomic);
    }
}

/// Opens map windows on a pool; holds the bounce buffer. Because
/// [`Mapper::map`] borrows the mapper mutably, one mapper has at most one
/// window open.
pub struct Mapper<'p, B: Backend> {
    pool: &'p Pool<B>,
    bounce: Box<[u8]>,
}

impl<'p, B: Backend> Mapper<'p, B> {
    /// Map an object: `mapper.map(&handle, ReadWrite)`. The window derefs to
    /// exactly the object's bytes and closes when dropped. Fails with
    /// [`HandleError::Mapped`] if another window on this object is open.
    pub fn map<A: Access>(
        &mut self,
        handle: &Handle,
        access: A,
    ) -> Result<Mapping<'_, B, A>, HandleError> {
        let _ = access;
        let window = self
            .pool
            .open_window(handle.raw(), A::MODE, &mut self.bounce)?;
        Ok(Mapping {
            pool: self.pool,
            bounce: &mut self.bounce,
            window: Some(window),
            access: PhantomData,
        })
    }

    /// The pool this mapper maps from.
    pub fn pool(&self) -> &'p Pool<B> {
        self.pool
    }
}

/// An open map window. Derefs to the object's bytes (`DerefMut` for
/// [`WriteOnly`] and [`ReadWrite`]); unmaps on drop. The platform is atomic
/// until then, so keep it short.
pub struct Mapping<'m, B: Backend, A: Access> {
    pool: &'m Pool<B>,
    bounce: &'m mut [u8],
    window: Option<Window<B>>,
    access: PhantomData<A>,
}

impl<B: Backend, A: Access> Mapping<'_, B, A> {
    fn window(&self) -> &Window<B> {
        self.window.as_ref().expect("window open until drop")
    }

    /// Whether the bytes are mapped in place (else: bounce buffer).
    pub fn is_in_place(&self) -> bool {
        matches!(self.window().bytes, WindowBytes::InPlace { .. })
    }

    fn raw_parts(&mut self) -> (NonNull<u8>, usize) {
        let window = self.window.as_ref().expect("window open until drop");
        (window.pointer(self.bounce), window.length)
    }
}

impl<B: Backend, A: Access> Deref for Mapping<'_, B, A> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let window = self.window();
        match &window.bytes {
            WindowBytes::InPlace {
                address, offset, ..
            } => {
                // SAFETY: the page (or adjacent pair of pages) stays mapped
                // until this Mapping drops; the range lies inside it (checked
                // at open); the MAPPED mark gives
                // this window exclusive access to these payload bytes, and the
                // pool itself never writes an allocated object's payload while
                // its zspage is pinned.
                unsafe { core::slice::from_raw_parts(address.as_ptr().add(*offset), window.length) }
            }
            WindowBytes::Bounce { .. } => &self.bounce[..window.length],
        }
    }
}

impl<B: Backend, A: Writable> DerefMut for Mapping<'_, B, A> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let (pointer, length) = self.raw_parts();
        // SAFETY: as in `deref`; `&mut self` makes this the only live
        // reference to the window's bytes (bounce buffer or mapped payload).
        unsafe { core::slice::from_raw_parts_mut(pointer.as_ptr(), length) }
    }
}

impl<B: Backend, A: Access> Drop for Mapping<'_, B, A> {
    fn drop(&mut self) {
        if let Some(window) = self.window.take() {
            self.pool.close_window(window, self.bounce);
        }
    }
}

impl<B: Backend, A: Access> core::fmt::Debug for Mapping<'_, B, A> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Mapping")
            .field("mode", &A::MODE)
            .field("length", &self.window().length)
            .field("in_place", &self.is_in_place())
            .finish()
    }
}
