//! Map windows, the classic generation of the API (Linux's `zs_map_object`
//! and `zs_unmap_object`, up to Linux 6.14).
//!
//! ```text
//!   let mut mapper = pool.mapper();                  owns a page-sized bounce buffer
//!   let mut window = mapper.map(&handle, ReadWrite)?; zs_map_object(pool, h, ZS_MM_RW)
//!   window[0] = 1;                                   &mut [u8] of exactly the object
//!   drop(window);                                    zs_unmap_object(pool, h)
//! ```
//!
//! The window is atomic from open to close (interrupts off in the kernel),
//! whatever its mode, and an object spanning two pages that the backend
//! cannot map as a pair goes through the bounce buffer: copied in (unless
//! [`WriteOnly`]) and copied back (unless [`ReadOnly`]). How it works:
//! [`crate::window`]. The newer generation ([`crate::read`]) avoids both
//! costs where it can.
//!
//! The mode is a type, so only writable windows are `DerefMut`; [`MapMode`]
//! is the run-time form the facade uses. Each [`Mapper`] owns one bounce
//! buffer (Linux has one per CPU): each thread or user makes its own.

use alloc::boxed::Box;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::backend::Backend;
use crate::handle::{Handle, HandleError};
use crate::pool::Pool;
use crate::window::{new_bounce_buffer, MapMode, Window};

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
            cpu: PhantomData,
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
///
/// A window belongs to the CPU that opened it (its atomic section, its
/// kmap slots), so it cannot be sent to another thread:
///
/// ```compile_fail,E0277
/// use zsmalloc::{Pool, ReadOnly, testing::HeapBackend};
/// let pool = Pool::new("p", HeapBackend::new());
/// let handle = pool.malloc(8).unwrap();
/// let mut mapper = pool.mapper();
/// let window = mapper.map(&handle, ReadOnly).unwrap();
/// std::thread::scope(|scope| {
///     scope.spawn(move || drop(window)); // error: `Mapping` is not `Send`
/// });
/// ```
pub struct Mapping<'m, B: Backend, A: Access> {
    pool: &'m Pool<B>,
    bounce: &'m mut [u8],
    window: Option<Window<B>>,
    access: PhantomData<A>,
    /// A raw pointer makes the type neither `Send` nor `Sync`.
    cpu: PhantomData<*const ()>,
}

impl<B: Backend, A: Access> Mapping<'_, B, A> {
    fn window(&self) -> &Window<B> {
        self.window.as_ref().expect("window open until drop")
    }

    /// Whether the bytes are mapped in place (else: bounce buffer).
    pub fn is_in_place(&self) -> bool {
        self.window().is_in_place()
    }

    /// Whether the object spans two pages.
    pub fn spans_two_pages(&self) -> bool {
        self.window().pages.spans_two_pages()
    }
}

impl<B: Backend, A: Access> Deref for Mapping<'_, B, A> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let window = self.window();
        if !window.is_in_place() {
            return &self.bounce[..window.len()];
        }
        // The bounce buffer is not read for an in-place window.
        let pointer = window.pointer(&mut []);
        // SAFETY: the page (or adjacent pair of pages) stays mapped until
        // this Mapping drops and the object lies inside it; the MAPPED mark
        // gives this window exclusive access to the object's bytes, and the
        // layout does not write them while the object is pinned.
        unsafe { core::slice::from_raw_parts(pointer.as_ptr(), window.len()) }
    }
}

impl<B: Backend, A: Writable> DerefMut for Mapping<'_, B, A> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let window = self.window.as_ref().expect("window open until drop");
        let pointer = window.pointer(self.bounce);
        // SAFETY: as in `deref`; `&mut self` makes this the only live
        // reference to the window's bytes (bounce buffer or mapped object).
        unsafe { core::slice::from_raw_parts_mut(pointer.as_ptr(), window.len()) }
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
            .field("length", &self.window().len())
            .field("in_place", &self.is_in_place())
            .finish()
    }
}
