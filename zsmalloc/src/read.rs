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
//! Here: [`Pool::read_with`] is `zs_obj_read_begin`, a closure, and
//! `zs_obj_read_end`: the closure gets an [`ObjectRead`] that derefs to the
//! object's bytes, in place (inside one page, or a pair the backend maps
//! side by side) or in `local_copy`, and the read ends when it returns.
//! (A read is a closure rather than a value for the reason a map window is:
//! see [`crate::window`].) [`Pool::write`] is `zs_obj_write` (and
//! [`Pool::read`] copies out). On this crate's platform an in-place read is
//! still atomic until it ends (kmap slots are one stack per CPU, as for
//! `kmap_atomic`); a copied read holds nothing while the closure runs.

use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::backend::{Backend, PAGE_SIZE};
use crate::handle::{Handle, HandleError};
use crate::pool::Pool;
use crate::window::{MapMode, ScopedWindow};

impl<B: Backend> Pool<B> {
    /// Read an object (`zs_obj_read_begin` ... `zs_obj_read_end`): run
    /// `use_bytes` on its bytes, in place, or copied into `local_copy` (an
    /// object spanning two pages the backend cannot map side by side, or
    /// while another in-place window is open), and return its result.
    /// Fails with [`HandleError::Mapped`] if a window on this object is
    /// open.
    ///
    /// The read borrows the handle, so the object cannot be freed meanwhile:
    ///
    /// ```compile_fail,E0505
    /// use zsmalloc::{Pool, PAGE_SIZE, testing::HeapBackend};
    /// let pool = Pool::new("p", HeapBackend::new());
    /// let handle = pool.malloc(8).unwrap();
    /// let mut local_copy = [0; PAGE_SIZE];
    /// pool.read_with(&handle, &mut local_copy, |bytes| {
    ///     pool.free(handle); // error: the read borrows the handle
    ///     bytes[0]
    /// });
    /// ```
    pub fn read_with<R>(
        &self,
        handle: &Handle,
        local_copy: &mut [u8; PAGE_SIZE],
        use_bytes: impl FnOnce(&ObjectRead<'_>) -> R,
    ) -> Result<R, HandleError> {
        let mut window =
            ScopedWindow::open(self, handle.raw(), MapMode::ReadOnly, &mut local_copy[..])?;
        let length = window.len();
        if window.is_in_place() {
            let read = ObjectRead::new(window.bytes(), length, true);
            let result = use_bytes(&read);
            drop(window);
            return Ok(result);
        }
        // Copied: nothing needs to stay pinned, mapped or atomic.
        drop(window);
        let read = ObjectRead::new(NonNull::from(&local_copy[..length]).cast(), length, false);
        Ok(use_bytes(&read))
    }
}

/// The bytes of an object being read, lent to the closure of
/// [`Pool::read_with`]; derefs to them. Not `Send`: an in-place read
/// belongs to the CPU that started it.
///
/// ```compile_fail,E0277
/// use zsmalloc::ObjectRead;
/// fn assert_send<T: Send>() {}
/// assert_send::<ObjectRead<'static>>();
/// ```
pub struct ObjectRead<'r> {
    bytes: NonNull<u8>,
    length: usize,
    in_place: bool,
    /// The bytes, borrowed for `'r`.
    read: PhantomData<&'r [u8]>,
    /// A raw pointer makes the type neither `Send` nor `Sync`.
    cpu: PhantomData<*const ()>,
}

impl ObjectRead<'_> {
    fn new(bytes: NonNull<u8>, length: usize, in_place: bool) -> Self {
        ObjectRead {
            bytes,
            length,
            in_place,
            read: PhantomData,
            cpu: PhantomData,
        }
    }

    /// Whether the bytes are read in place (else: from the local copy).
    pub fn is_in_place(&self) -> bool {
        self.in_place
    }
}

impl Deref for ObjectRead<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `bytes` points to the object's `length` bytes in place (its
        // page or adjacent pair stays mapped until the read ends, after the
        // closure this value is lent to has returned; the MAPPED mark
        // excludes writers, and the layout does not write a pinned object's
        // bytes) or to the caller's local copy, borrowed for the call.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr(), self.length) }
    }
}

impl core::fmt::Debug for ObjectRead<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("ObjectRead")
            .field("length", &self.length)
            .field("in_place", &self.in_place)
            .finish()
    }
}
