//! A C-flavoured facade with the names of Linux's API, for students reading
//! `Documentation/mm/zsmalloc.rst` side by side with this crate.
//!
//! ```text
//!   Linux                               here
//!   zs_create_pool(name)                zs_create_pool(name, backend)   (the backend plays
//!                                                                        the role of GFP flags)
//!   handle = zs_malloc(pool, size, gfp) zs_malloc(&pool, size) -> u64, 0 on failure
//!   p = zs_map_object(pool, h, ZS_MM_RW) zs_map_object(&mut pool, h, ZS_MM_RW) -> Result<&mut [u8]>
//!   zs_unmap_object(pool, h)            zs_unmap_object(&mut pool, h) -> Result<()>
//!   zs_free(pool, h)                    zs_free(&pool, h) -> Result<()>
//!   zs_destroy_pool(pool)               zs_destroy_pool(pool)
//! ```
//!
//! Handles are raw `u64`s and every one is validated: a forged, stale or
//! already-freed handle is an error, never a memory access. A [`ZsPool`]
//! has one bounce buffer, so one window may be open at a time, as on one
//! CPU in Linux. The slice returned by `zs_map_object` borrows the pool, so
//! it cannot outlive the window.

use alloc::boxed::Box;
use core::fmt;

use crate::backend::Backend;
use crate::handle::HandleError;
use crate::mapping::{new_bounce_buffer, MapMode, Window};
use crate::pool::Pool;

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
    /// `zs_unmap_object` without a matching `zs_map_object`.
    NotMapped,
    /// `zs_map_object` while a window is already open on this pool.
    AlreadyMapped,
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
        }
    }
}

/// A pool plus the state of its one map window.
pub struct ZsPool<B: Backend> {
    pool: Pool<B>,
    bounce: Box<[u8]>,
    open: Option<(ZsHandle, Window<B>)>,
}

impl<B: Backend> ZsPool<B> {
    /// The underlying safe pool.
    pub fn pool(&self) -> &Pool<B> {
        &self.pool
    }
}

impl<B: Backend> Drop for ZsPool<B> {
    fn drop(&mut self) {
        if let Some((_, window)) = self.open.take() {
            self.pool.close_window(window, &self.bounce);
        }
    }
}

/// Create a pool with Linux's default geometry. `backend` stands in for the
/// GFP flags: it says where pages come from.
pub fn zs_create_pool<B: Backend>(name: &str, backend: B) -> ZsPool<B> {
    ZsPool {
        pool: Pool::new(name, backend),
        bounce: new_bounce_buffer(),
        open: None,
    }
}

/// Create a pool with the given geometry (e.g. `Config::efficient()`).
/// Not in Linux, where the geometry is fixed at build time.
pub fn zs_create_pool_with_config<B: Backend>(
    name: &str,
    backend: B,
    config: crate::Config,
) -> Result<ZsPool<B>, crate::ConfigError> {
    Ok(ZsPool {
        pool: Pool::with_config(name, backend, config)?,
        bounce: new_bounce_buffer(),
        open: None,
    })
}

/// Allocate `size` bytes; returns 0 on failure (size 0, too large, no page).
pub fn zs_malloc<B: Backend>(pool: &ZsPool<B>, size: usize) -> ZsHandle {
    pool.pool.malloc(size).map_or(0, |handle| handle.raw())
}

/// Free an object. Errors: bad handle, double free, handle mapped.
pub fn zs_free<B: Backend>(pool: &ZsPool<B>, handle: ZsHandle) -> Result<(), ZsError> {
    Ok(pool.pool.free_raw(handle)?)
}

/// Open the pool's window on an object; the bytes stay valid until
/// `zs_unmap_object`. Errors: bad handle, a window already open.
pub fn zs_map_object<B: Backend>(
    pool: &mut ZsPool<B>,
    handle: ZsHandle,
    mode: MapMode,
) -> Result<&mut [u8], ZsError> {
    if pool.open.is_some() {
        return Err(ZsError::AlreadyMapped);
    }
    let window = pool.pool.open_window(handle, mode, &mut pool.bounce)?;
    let pointer = window.pointer(&mut pool.bounce);
    let length = window.length;
    pool.open = Some((handle, window));
    // SAFETY: the window's bytes stay mapped (or in our bounce buffer) until
    // `zs_unmap_object`, which needs `&mut pool` and so ends this borrow
    // first; the object is marked MAPPED, giving exclusive access.
    Ok(unsafe { core::slice::from_raw_parts_mut(pointer.as_ptr(), length) })
}

/// Close the window opened on `handle`.
pub fn zs_unmap_object<B: Backend>(pool: &mut ZsPool<B>, handle: ZsHandle) -> Result<(), ZsError> {
    match pool.open.take() {
        Some((open_handle, window)) if open_handle == handle => {
            pool.pool.close_window(window, &pool.bounce);
            Ok(())
        }
        other => {
            pool.open = other;
            Err(ZsError::NotMapped)
        }
    }
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
