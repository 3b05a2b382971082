//! A C-flavoured facade with the names of Linux's API, for students reading
//! `Documentation/mm/zsmalloc.rst` and `mm/zsmalloc.c` side by side with
//! this crate. Both generations of the access API are here.
//!
//! ```text
//!   Linux                                  here
//!   zs_create_pool(name)                   zs_create_pool(name, backend)   (the backend plays
//!                                                                           the role of GFP flags)
//!   handle = zs_malloc(pool, size, gfp)    zs_malloc(&pool, size) -> u64, 0 on failure
//!   zs_free(pool, h)                       zs_free(&pool, h) -> Result<()>
//!   zs_destroy_pool(pool)                  zs_destroy_pool(pool)
//!
//!   classic access (up to Linux 6.14):
//!   p = zs_map_object(pool, h, ZS_MM_RW)   zs_map_object(&mut pool, h, ZS_MM_RW) -> Result<&mut [u8]>
//!   zs_unmap_object(pool, h)               zs_unmap_object(&mut pool, h) -> Result<()>
//!
//!   current access (Linux 6.15+):
//!   p = zs_obj_read_begin(pool, h, copy)   zs_obj_read_begin(&mut pool, h, &mut copy) -> Result<&[u8]>
//!   zs_obj_read_end(pool, h, p)            zs_obj_read_end(&mut pool, h) -> Result<()>
//!   zs_obj_write(pool, h, buf, len)        zs_obj_write(&pool, h, &buf[..len]) -> Result<()>
//! ```
//!
//! Why Linux replaced the classic pair: [`crate::read`]. In short, a
//! classic window is atomic for its whole length and copies a spanning
//! object twice on a write; a current read holds a mapping only when it can
//! use the object in place, and a current write copies once, straight into
//! the object's pages.
//!
//! Handles are raw `u64`s and every one is validated: a forged, stale or
//! already-freed handle, or one of another pool, is an error, never a
//! memory access. A [`ZsPool`] has one window (classic map or current read)
//! open at a time, as one CPU in Linux. The slice a window returns borrows
//! the pool mutably, so it cannot outlive the window: closing it needs the
//! pool again.
//!
//! Unlike the safe API's windows ([`crate::window`]), a facade window stays
//! open *between* two calls, and Rust cannot force the second call to
//! happen: a `ZsPool` can be forgotten (`mem::forget`) with a window open.
//! So a facade window holds no atomic section and no backend mapping
//! between the calls: `zs_map_object` copies the object into the pool's
//! buffer (not for `ZS_MM_WO`) and `zs_unmap_object` copies it back (not
//! for `ZS_MM_RO`); `zs_obj_read_begin` always copies into `local_copy`.
//! What the window does hold is the object's MAPPED mark and a pin, so
//! that the object cannot be freed, mapped, written or moved meanwhile; on
//! a forgotten pool they only keep an object of a leaked pool in place. The copies are
//! what Linux does for objects spanning two pages; the safe API maps in
//! place.

use alloc::boxed::Box;
use core::fmt;

use crate::backend::{Backend, PAGE_SIZE};
use crate::handle::HandleError;
use crate::handle_table::Entry;
use crate::pages::{ObjectPages, PayloadBuffer};
use crate::pool::Pool;
use crate::window::{new_bounce_buffer, MapMode};

/// A raw handle; 0 means "no object".
pub type ZsHandle = u64;

/// Map for reading only.
pub const ZS_MM_RO: MapMode = MapMode::ReadOnly;
/// Map for writing only (the initial bytes are unspecified).
pub const ZS_MM_WO: MapMode = MapMode::WriteOnly;
/// Map for reading and writing.
pub const ZS_MM_RW: MapMode = MapMode::ReadWrite;

/// Errors of the facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZsError {
    /// The handle is 0, unknown, stale, freed (double free) or mapped.
    Handle(HandleError),
    /// `zs_unmap_object` or `zs_obj_read_end` without the matching start.
    NotMapped,
    /// A map or read started while a window is already open on this pool.
    AlreadyMapped,
    /// `zs_obj_write` of more bytes than the object holds.
    TooLong {
        /// The object's size.
        object: usize,
        /// The bytes given.
        given: usize,
    },
}

impl From<HandleError> for ZsError {
    fn from(error: HandleError) -> ZsError {
        ZsError::Handle(error)
    }
}

impl fmt::Display for ZsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZsError::Handle(error) => write!(formatter, "{error}"),
            ZsError::NotMapped => formatter.write_str("handle is not mapped"),
            ZsError::AlreadyMapped => formatter.write_str("another object is mapped"),
            ZsError::TooLong { object, given } => {
                write!(
                    formatter,
                    "{given} bytes do not fit in an object of {object}"
                )
            }
        }
    }
}

/// The one window a facade pool may have open: the object it claimed
/// (MAPPED) and pinned, and how it was opened.
struct OpenWindow<P> {
    handle: ZsHandle,
    entry: Entry,
    pages: ObjectPages<P>,
    /// `Some(mode)`: `zs_map_object` (the bytes are in the pool's buffer);
    /// `None`: `zs_obj_read_begin` (in the caller's local copy).
    map: Option<MapMode>,
}

/// A pool plus the state of its one window.
pub struct ZsPool<B: Backend> {
    pool: Pool<B>,
    bounce: Box<[u8]>,
    open: Option<OpenWindow<B::Page>>,
}

impl<B: Backend> ZsPool<B> {
    /// The underlying safe pool.
    pub fn pool(&self) -> &Pool<B> {
        &self.pool
    }

    fn new(pool: Pool<B>) -> Self {
        ZsPool {
            pool,
            bounce: new_bounce_buffer(),
            open: None,
        }
    }

    /// Open a window on the object `handle` names: claim it (MAPPED), pin
    /// it, and copy it into `destination` unless `copy_in` is false.
    fn open_window(
        pool: &Pool<B>,
        handle: ZsHandle,
        destination: &mut [u8],
        copy_in: bool,
        map: Option<MapMode>,
    ) -> Result<OpenWindow<B::Page>, ZsError> {
        let core = pool.core();
        let claimed = core.entries().claim_for_mapping(handle)?;
        let pages = pool.layout().pin(core, claimed.entry, claimed.length);
        if copy_in {
            let buffer = PayloadBuffer::Into(&mut destination[..pages.length]);
            let atomic = core.enter_atomic();
            // SAFETY: the object is pinned and MAPPED: its pages stay
            // allocated, it does not move, and this window has exclusive
            // access to its bytes; the copy maps inside the atomic section.
            unsafe { pages.copy(core.backend(), buffer) };
            drop(atomic);
        }
        Ok(OpenWindow {
            handle,
            entry: claimed.entry,
            pages,
            map,
        })
    }

    /// Close a window: copy the buffer back for a writable map, then unpin
    /// and release the object.
    fn close(&mut self, window: OpenWindow<B::Page>) {
        let core = self.pool.core();
        if window.map.is_some_and(|mode| mode != MapMode::ReadOnly) {
            let buffer = PayloadBuffer::From(&self.bounce[..window.pages.length]);
            let atomic = core.enter_atomic();
            // SAFETY: as in `open_window`: still pinned and MAPPED.
            unsafe { window.pages.copy(core.backend(), buffer) };
            drop(atomic);
        }
        self.pool.layout().unpin(core, window.entry);
        core.entries().release_mapping(window.entry);
    }
}

impl<B: Backend> From<Pool<B>> for ZsPool<B> {
    /// The facade over any pool, e.g. one with a layout of your own.
    fn from(pool: Pool<B>) -> Self {
        ZsPool::new(pool)
    }
}

impl<B: Backend> Drop for ZsPool<B> {
    fn drop(&mut self) {
        if let Some(window) = self.open.take() {
            self.close(window);
        }
    }
}

/// Create a pool with the default configuration (the packed layout, as
/// `Pool::new`). `backend` stands in for the GFP flags: it says where pages
/// come from.
pub fn zs_create_pool<B: Backend>(name: &str, backend: B) -> ZsPool<B> {
    ZsPool::new(Pool::new(name, backend))
}

/// Create a pool with the given layout and geometry (e.g.
/// `Config::linux(8)`, Linux's). Not in Linux, where the geometry is fixed
/// at build time.
pub fn zs_create_pool_with_config<B: Backend>(
    name: &str,
    backend: B,
    config: crate::Config,
) -> Result<ZsPool<B>, crate::ConfigError> {
    Ok(ZsPool::new(Pool::with_config(name, backend, config)?))
}

/// Allocate `size` bytes; returns 0 on failure (size 0, too large, no page).
pub fn zs_malloc<B: Backend>(pool: &ZsPool<B>, size: usize) -> ZsHandle {
    pool.pool.malloc(size).map_or(0, |handle| handle.raw())
}

/// Free an object. Errors: bad handle, double free, handle mapped.
pub fn zs_free<B: Backend>(pool: &ZsPool<B>, handle: ZsHandle) -> Result<(), ZsError> {
    Ok(pool.pool.free_raw(handle)?)
}

/// Open the pool's window on an object (classic generation): its bytes,
/// copied into the pool's buffer (not for `ZS_MM_WO`, whose initial bytes
/// are unspecified); they stay valid until `zs_unmap_object`, which copies
/// them back (not for `ZS_MM_RO`). Errors: bad handle, a window already
/// open.
pub fn zs_map_object<B: Backend>(
    pool: &mut ZsPool<B>,
    handle: ZsHandle,
    mode: MapMode,
) -> Result<&mut [u8], ZsError> {
    if pool.open.is_some() {
        return Err(ZsError::AlreadyMapped);
    }
    let copy_in = mode != MapMode::WriteOnly;
    let window = ZsPool::open_window(&pool.pool, handle, &mut pool.bounce, copy_in, Some(mode))?;
    let length = window.pages.length;
    pool.open = Some(window);
    Ok(&mut pool.bounce[..length])
}

/// Close the window `zs_map_object` opened on `handle`.
pub fn zs_unmap_object<B: Backend>(pool: &mut ZsPool<B>, handle: ZsHandle) -> Result<(), ZsError> {
    match pool.open.take() {
        Some(window) if window.handle == handle && window.map.is_some() => {
            pool.close(window);
            Ok(())
        }
        other => {
            pool.open = other;
            Err(ZsError::NotMapped)
        }
    }
}

/// Start reading an object (current generation): its bytes, copied into
/// `local_copy`; valid until `zs_obj_read_end`, and the object cannot be
/// freed or written until then. Errors: bad handle, a window already open.
pub fn zs_obj_read_begin<'a, B: Backend>(
    pool: &'a mut ZsPool<B>,
    handle: ZsHandle,
    local_copy: &'a mut [u8; PAGE_SIZE],
) -> Result<&'a [u8], ZsError> {
    if pool.open.is_some() {
        return Err(ZsError::AlreadyMapped);
    }
    let window = ZsPool::open_window(&pool.pool, handle, &mut local_copy[..], true, None)?;
    let length = window.pages.length;
    pool.open = Some(window);
    Ok(&local_copy[..length])
}

/// End the read `zs_obj_read_begin` started on `handle`.
pub fn zs_obj_read_end<B: Backend>(pool: &mut ZsPool<B>, handle: ZsHandle) -> Result<(), ZsError> {
    match pool.open.take() {
        Some(window) if window.handle == handle && window.map.is_none() => {
            pool.close(window);
            Ok(())
        }
        other => {
            pool.open = other;
            Err(ZsError::NotMapped)
        }
    }
}

/// Copy `data` into the start of an object (current generation), straight
/// into its pages. Errors: bad handle, object mapped (or being read),
/// `data` longer than the object.
pub fn zs_obj_write<B: Backend>(
    pool: &ZsPool<B>,
    handle: ZsHandle,
    data: &[u8],
) -> Result<(), ZsError> {
    let object = pool.pool.core().entries().checked_length(handle)?;
    if data.len() > object {
        return Err(ZsError::TooLong {
            object,
            given: data.len(),
        });
    }
    pool.pool.copy_object(handle, PayloadBuffer::From(data))?;
    Ok(())
}

/// Destroy the pool: every page goes back to the backend.
pub fn zs_destroy_pool<B: Backend>(pool: ZsPool<B>) {
    drop(pool);
}

/// Pages held by the pool.
pub fn zs_get_total_pages<B: Backend>(pool: &ZsPool<B>) -> usize {
    pool.pool.total_pages()
}

/// Compact the pool; returns the pages freed.
pub fn zs_compact<B: Backend>(pool: &ZsPool<B>) -> usize {
    pool.pool.compact()
}

/// Payloads of at least this size are stored one per page.
pub fn zs_huge_class_size<B: Backend>(pool: &ZsPool<B>) -> usize {
    pool.pool.huge_class_size()
}
