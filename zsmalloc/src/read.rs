//! Reads and writes, the current generation of the API (Linux 6.15+:
//! `zs_obj_read_begin`, `zs_obj_read_end`, `zs_obj_write`).
//!
//! ```text
//!   classic generation (mapping.rs)          current generation (this module)
//!   zs_map_object(h, ZS_MM_RO)               zs_obj_read_begin(h, local_copy)
//!     ... read ...                             ... read ...
//!   zs_unmap_object(h)                       zs_obj_read_end(h)
//!
//!   zs_map_object(h, ZS_MM_WO)               zs_obj_write(h, data)
//!     memcpy(window, data)
//!   zs_unmap_object(h)
//! ```
//!
//! Why Linux changed (Linux 6.15):
//! * **atomicity**: `zs_map_object` hands out an atomic window, whatever
//!   the object: the caller may not sleep until `zs_unmap_object`, so zram
//!   and zswap had to finish their work (a decompression) inside it. A read
//!   now keeps a mapping only for an object inside one page (which Linux's
//!   `kmap_local` can do without disabling preemption); an object spanning
//!   two pages is copied into the caller's `local_copy` at once, and then
//!   nothing is held.
//! * **copies**: writing a spanning object through a window costs two
//!   copies (into the per-CPU buffer, then back into the pages on unmap);
//!   `zs_obj_write` copies the caller's buffer straight into the two pages.
//!   Nor is the per-CPU buffer needed any more: a read brings its own.
//!
//! Here: [`Pool::read_begin`] returns an [`ObjectRead`] that derefs to the
//! object's bytes, in place (inside one page, or a pair the backend maps
//! side by side) or in `local_copy`; dropping it is `zs_obj_read_end`.
//! [`Pool::write`] is `zs_obj_write` (and [`Pool::read`] copies out).
//! On this crate's platform an in-place read is still atomic until it ends
//! (kmap slots are one stack per CPU, as for `kmap_atomic`); a copied read
//! holds nothing.

use core::marker::PhantomData;
use core::ops::Deref;

use crate::backend::{Backend, PAGE_SIZE};
use crate::handle::{Handle, HandleError};
use crate::pool::Pool;
use crate::window::{MapMode, Window};

impl<B: Backend> Pool<B> {
    /// Start reading an object (`zs_obj_read_begin`): its bytes in place,
    /// or copied into `local_copy` (an object spanning two pages, or while
    /// another in-place window is open). Dropping the result ends the read
    /// (`zs_obj_read_end`). The handle stays borrowed until then, so the
    /// object cannot be freed meanwhile. Fails with [`HandleError::Mapped`]
    /// if a window on this object is open.
    ///
    /// ```compile_fail,E0505
    /// use zsmalloc::{Pool, PAGE_SIZE, testing::HeapBackend};
    /// let pool = Pool::new("p", HeapBackend::new());
    /// let handle = pool.malloc(8).unwrap();
    /// let mut local_copy = [0; PAGE_SIZE];
    /// let read = pool.read_begin(&handle, &mut local_copy).unwrap();
    /// pool.free(handle); // error: the read still borrows the handle
    /// drop(read);
    /// ```
    pub fn read_begin<'a>(
        &'a self,
        handle: &'a Handle,
        local_copy: &'a mut [u8; PAGE_SIZE],
    ) -> Result<ObjectRead<'a, B>, HandleError> {
        let window = self.open_window(handle.raw(), MapMode::ReadOnly, &mut local_copy[..])?;
        let bytes = if window.is_in_place() {
            ReadBytes::InPlace(window)
        } else {
            let length = window.len();
            // Copied: nothing needs to stay pinned, mapped or atomic.
            self.close_window(window, &local_copy[..]);
            let local_copy: &'a [u8; PAGE_SIZE] = local_copy;
            ReadBytes::Copied(&local_copy[..length])
        };
        Ok(ObjectRead {
            pool: self,
            bytes,
            cpu: PhantomData,
        })
    }
}

/// Where the bytes of a read are.
enum ReadBytes<'a, B: Backend> {
    /// An open in-place window.
    InPlace(Window<B>),
    /// The caller's local copy.
    Copied(&'a [u8]),
}

/// An object being read (see [`Pool::read_begin`]); derefs to its bytes.
/// Not `Send`: an in-place read belongs to the CPU that started it.
///
/// ```compile_fail,E0277
/// use zsmalloc::{ObjectRead, testing::HeapBackend};
/// fn assert_send<T: Send>() {}
/// assert_send::<ObjectRead<'static, HeapBackend>>();
/// ```
pub struct ObjectRead<'a, B: Backend> {
    pool: &'a Pool<B>,
    bytes: ReadBytes<'a, B>,
    /// A raw pointer makes the type neither `Send` nor `Sync`.
    cpu: PhantomData<*const ()>,
}

impl<B: Backend> ObjectRead<'_, B> {
    /// Whether the bytes are read in place (else: from the local copy).
    pub fn is_in_place(&self) -> bool {
        matches!(self.bytes, ReadBytes::InPlace(_))
    }
}

impl<B: Backend> Deref for ObjectRead<'_, B> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            ReadBytes::InPlace(window) => {
                let pointer = window.pointer(&mut []);
                // SAFETY: the object's page (or adjacent pair) stays mapped
                // until this read ends and the object lies inside it; the
                // MAPPED mark excludes writers, and the layout does not write
                // a pinned object's bytes.
                unsafe { core::slice::from_raw_parts(pointer.as_ptr(), window.len()) }
            }
            ReadBytes::Copied(bytes) => bytes,
        }
    }
}

impl<B: Backend> Drop for ObjectRead<'_, B> {
    fn drop(&mut self) {
        let bytes = core::mem::replace(&mut self.bytes, ReadBytes::Copied(&[]));
        if let ReadBytes::InPlace(window) = bytes {
            // A read-only in-place window never touches a bounce buffer.
            self.pool.close_window(window, &[]);
        }
    }
}

impl<B: Backend> core::fmt::Debug for ObjectRead<'_, B> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("ObjectRead")
            .field("length", &self.len())
            .field("in_place", &self.is_in_place())
            .finish()
    }
}
