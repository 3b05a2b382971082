//! Map windows, the classic generation of the API (Linux's `zs_map_object`
//! and `zs_unmap_object`, up to Linux 6.14).
//!
//! ```text
//!   let mut mapper = pool.mapper();                  owns a page-sized bounce buffer
//!   mapper.map(&handle, ReadWrite, |window| {        zs_map_object(pool, h, ZS_MM_RW)
//!       window[0] = 1;                               &mut [u8] of exactly the object
//!   })?;                                             zs_unmap_object(pool, h)
//! ```
//!
//! The window is open while the closure runs, and atomic from open to close
//! (interrupts off in the kernel), whatever its mode; an object spanning two
//! pages that the backend cannot map as a pair goes through the bounce
//! buffer: copied in (unless [`WriteOnly`]) and copied back (unless
//! [`ReadOnly`]). How it works, and why a window is a closure rather than
//! a value: [`crate::window`]. The newer generation ([`crate::read`]) avoids
//! both costs where it can.
//!
//! The mode is a type, so only writable windows are `DerefMut`; [`MapMode`]
//! is the run-time form the facade uses. Each [`Mapper`] owns one bounce
//! buffer (Linux has one per CPU): each thread or user makes its own.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::backend::Backend;
use crate::handle::{Handle, HandleError};
use crate::pool::Pool;
use crate::window::{new_bounce_buffer, MapMode, ScopedWindow};

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

impl<B: Backend> Pool<B> {
    /// A mapper for this pool: it owns a bounce buffer and opens windows.
    pub fn mapper(&self) -> Mapper<'_, B> {
        Mapper {
            pool: self,
            bounce: new_bounce_buffer(),
        }
    }
}

/// Opens map windows on a pool; holds the bounce buffer. Because
/// [`Mapper::map`] borrows the mapper mutably, one mapper has at most one
/// window open. Between windows it holds nothing but its buffer, so
/// forgetting it (`mem::forget`) only leaks that buffer.
pub struct Mapper<'p, B: Backend> {
    pool: &'p Pool<B>,
    bounce: Box<[u8]>,
}

impl<'p, B: Backend> Mapper<'p, B> {
    /// Map an object and run `use_window` on its bytes:
    /// `mapper.map(&handle, ReadWrite, |window| window[0] = 1)`. The window
    /// derefs to exactly the object's bytes; it opens before the closure
    /// runs and closes when it returns (or panics), and the closure's
    /// result is returned. Fails with [`HandleError::Mapped`] if another
    /// window on this object is open.
    ///
    /// The window borrows the handle, so the object cannot be freed while
    /// it is open:
    ///
    /// ```compile_fail,E0505
    /// use zsmalloc::{Pool, ReadWrite, testing::HeapBackend};
    /// let pool = Pool::new("p", HeapBackend::new());
    /// let handle = pool.malloc(8).unwrap();
    /// let mut mapper = pool.mapper();
    /// mapper.map(&handle, ReadWrite, |window| {
    ///     pool.free(handle); // error: the window borrows the handle
    ///     window[0] = 1;
    /// });
    /// ```
    ///
    /// and the window cannot leave the closure, so it cannot be kept open
    /// (nor forgotten) past the call:
    ///
    /// ```compile_fail
    /// use zsmalloc::{Pool, ReadOnly, testing::HeapBackend};
    /// let pool = Pool::new("p", HeapBackend::new());
    /// let handle = pool.malloc(8).unwrap();
    /// let mut mapper = pool.mapper();
    /// let bytes: &[u8] = mapper.map(&handle, ReadOnly, |window| &window[..]).unwrap();
    /// ```
    pub fn map<A: Access, R>(
        &mut self,
        handle: &Handle,
        access: A,
        use_window: impl FnOnce(&mut Mapping<'_, A>) -> R,
    ) -> Result<R, HandleError> {
        let _ = access;
        let mut window = ScopedWindow::open(self.pool, handle.raw(), A::MODE, &mut self.bounce)?;
        let mut mapping = Mapping {
            bytes: window.bytes(),
            length: window.len(),
            in_place: window.is_in_place(),
            spans_two_pages: window.spans_two_pages(),
            window: PhantomData,
            cpu: PhantomData,
        };
        let result = use_window(&mut mapping);
        drop(window);
        Ok(result)
    }

    /// The pool this mapper maps from.
    pub fn pool(&self) -> &'p Pool<B> {
        self.pool
    }
}

/// The bytes of an open map window, lent to the closure of [`Mapper::map`].
/// Derefs to the object's bytes (`DerefMut` for [`WriteOnly`] and
/// [`ReadWrite`]). The platform is atomic while it exists, so keep the
/// closure short.
///
/// A window belongs to the CPU that opened it (its atomic section, its
/// kmap slots), so it cannot be sent to another thread:
///
/// ```compile_fail,E0277
/// use zsmalloc::{Pool, ReadOnly, testing::HeapBackend};
/// let pool = Pool::new("p", HeapBackend::new());
/// let handle = pool.malloc(8).unwrap();
/// let mut mapper = pool.mapper();
/// mapper.map(&handle, ReadOnly, |window| {
///     std::thread::scope(|scope| {
///         scope.spawn(move || window.len()); // error: `Mapping` is not `Send`
///     });
/// });
/// ```
pub struct Mapping<'w, A: Access> {
    bytes: NonNull<u8>,
    length: usize,
    in_place: bool,
    spans_two_pages: bool,
    /// The window's bytes, borrowed for `'w`, in mode `A`.
    window: PhantomData<(&'w mut [u8], A)>,
    /// A raw pointer makes the type neither `Send` nor `Sync`.
    cpu: PhantomData<*const ()>,
}

impl<A: Access> Mapping<'_, A> {
    /// Whether the bytes are mapped in place (else: bounce buffer).
    pub fn is_in_place(&self) -> bool {
        self.in_place
    }

    /// Whether the object spans two pages.
    pub fn spans_two_pages(&self) -> bool {
        self.spans_two_pages
    }
}

impl<A: Access> Deref for Mapping<'_, A> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `bytes` points to the window's `length` bytes (mapped in
        // place, or the bounce buffer), which stay valid until the window
        // closes, after the closure this Mapping is lent to has returned;
        // the MAPPED mark gives the window exclusive access to the object,
        // and the layout does not write a pinned object's bytes.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr(), self.length) }
    }
}

impl<A: Writable> DerefMut for Mapping<'_, A> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; `&mut self` makes this the only live
        // reference to the window's bytes.
        unsafe { core::slice::from_raw_parts_mut(self.bytes.as_ptr(), self.length) }
    }
}

impl<A: Access> core::fmt::Debug for Mapping<'_, A> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Mapping")
            .field("mode", &A::MODE)
            .field("length", &self.length)
            .field("in_place", &self.in_place)
            .finish()
    }
}
