//! Pages and bytes: the page arithmetic and the copies every layout needs.
//!
//! A zspage is a list of pages that are *not* contiguous in memory. Byte `n`
//! of a zspage lives at offset `n % PAGE_SIZE` of its page `n / PAGE_SIZE`,
//! so an object's bytes lie in one page or continue at the start of the next:
//!
//! ```text
//!   zspage bytes:   0          4096         8192
//!                   [  page 0  ][  page 1  ][  page 2  ]
//!   an object:               [####|##]                     ObjectPages { first: page 0,
//!                            ^ offset  ^ continues at        offset, second: Some(page 1),
//!                                        byte 0 of page 1    length }
//! ```
//!
//! * [`ObjectPages`] says where an object's bytes are, and copies them in
//!   or out ([`PayloadBuffer`]), one page piece at a time;
//! * [`copy_between`] moves bytes from one place of the pool to another
//!   (compaction);
//! * [`MappedPage`] is a transient mapping of one page, unmapped when
//!   dropped: the only way this crate touches a page's bytes outside a map
//!   window. Guards are created and dropped inside one function, so Rust's
//!   scoping keeps their unmapping LIFO.

use core::ptr::NonNull;

use crate::backend::{Backend, PAGE_SIZE};

/// A page and a byte offset inside it: where one byte of a zspage lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagePosition<P> {
    /// The page.
    pub page: P,
    /// Offset in the page, below `PAGE_SIZE`.
    pub offset: usize,
}

/// Where an object's bytes are: `length` bytes from `offset` of `first`,
/// continuing at byte 0 of `second` when they cross the end of `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectPages<P> {
    /// The page holding the first byte.
    pub first: P,
    /// Offset of the first byte in `first`.
    pub offset: usize,
    /// The next page of the zspage, when the bytes cross into it.
    pub second: Option<P>,
    /// Bytes covered.
    pub length: usize,
}

impl<P: Copy> ObjectPages<P> {
    /// The `length` bytes (1..=`PAGE_SIZE`) at byte `start` of a zspage
    /// whose page number `i` is `page(i)`.
    pub fn locate(start: usize, length: usize, page: impl Fn(usize) -> P) -> Self {
        let first_index = start / PAGE_SIZE;
        let last_index = (start + length.max(1) - 1) / PAGE_SIZE;
        debug_assert!(
            last_index <= first_index + 1,
            "an object covers at most two pages"
        );
        ObjectPages {
            first: page(first_index),
            offset: start % PAGE_SIZE,
            second: (last_index != first_index).then(|| page(last_index)),
            length,
        }
    }

    /// Whether the bytes cross a page boundary.
    pub fn spans_two_pages(&self) -> bool {
        self.second.is_some()
    }

    /// Copy the object's bytes into `buffer`, or `buffer` into the object
    /// (at most `length` bytes: `buffer` must not be longer), page piece by
    /// page piece.
    ///
    /// # Safety
    /// The pages are allocated from `backend` and these bytes belong to one
    /// live object, which cannot be moved or freed during the call (its
    /// layout's lock is held, or the object is pinned), and no other
    /// reference to these bytes is in use.
    pub unsafe fn copy<B: Backend<Page = P>>(&self, backend: &B, mut buffer: PayloadBuffer<'_>) {
        let length = buffer.len();
        assert!(length <= self.length, "buffer longer than the object");
        let first_part = length.min(PAGE_SIZE - self.offset);
        {
            // SAFETY: the caller guarantees the page stays allocated; the
            // guard is dropped at the end of this block.
            let mapped = unsafe { MappedPage::new(backend, self.first) };
            match &mut buffer {
                PayloadBuffer::Into(destination) => {
                    mapped.read_bytes(self.offset, &mut destination[..first_part])
                }
                PayloadBuffer::From(source) => {
                    mapped.write_bytes(self.offset, &source[..first_part])
                }
            }
        }
        if first_part == length {
            return;
        }
        let second = self
            .second
            .expect("bytes that cross a page have a second page");
        // SAFETY: as above.
        let mapped = unsafe { MappedPage::new(backend, second) };
        match buffer {
            PayloadBuffer::Into(destination) => {
                mapped.read_bytes(0, &mut destination[first_part..])
            }
            PayloadBuffer::From(source) => mapped.write_bytes(0, &source[first_part..]),
        }
    }
}

/// The direction of a copy: out of an object or into it.
#[derive(Debug)]
pub enum PayloadBuffer<'a> {
    /// Copy the object's bytes into this buffer.
    Into(&'a mut [u8]),
    /// Copy this buffer into the object.
    From(&'a [u8]),
}

impl<'a> PayloadBuffer<'a> {
    /// The same buffer cut to at most `length` bytes.
    pub fn truncated(self, length: usize) -> PayloadBuffer<'a> {
        match self {
            PayloadBuffer::Into(destination) => {
                let length = length.min(destination.len());
                PayloadBuffer::Into(&mut destination[..length])
            }
            PayloadBuffer::From(source) => PayloadBuffer::From(&source[..length.min(source.len())]),
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            PayloadBuffer::Into(destination) => destination.len(),
            PayloadBuffer::From(source) => source.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Copy `length` bytes from one place of the pool to another, page piece by
/// page piece: byte `i` goes from `source(i)` to `target(i)`. Either side
/// may cross page boundaries (compaction moves objects with it).
///
/// # Safety
/// Every position is in a page allocated from `backend` that stays
/// allocated during the call; the two byte ranges do not overlap and no
/// other reference to them is in use (the caller holds the lock of the
/// layout that owns both).
pub unsafe fn copy_between<B: Backend>(
    backend: &B,
    source: impl Fn(usize) -> PagePosition<B::Page>,
    target: impl Fn(usize) -> PagePosition<B::Page>,
    length: usize,
) {
    let mut done = 0;
    while done < length {
        let from = source(done);
        let to = target(done);
        let piece = (length - done)
            .min(PAGE_SIZE - from.offset)
            .min(PAGE_SIZE - to.offset);
        // SAFETY: the caller guarantees both pages stay allocated; the guards
        // are dropped in reverse order below.
        let from_page = unsafe { MappedPage::new(backend, from.page) };
        // SAFETY: as above.
        let to_page = unsafe { MappedPage::new(backend, to.page) };
        from_page.copy_to(from.offset, &to_page, to.offset, piece);
        drop(to_page);
        drop(from_page);
        done += piece;
    }
}

/// A transient mapping of one page, unmapped when dropped.
pub struct MappedPage<'b, B: Backend> {
    backend: &'b B,
    page: B::Page,
    address: NonNull<u8>,
}

impl<'b, B: Backend> MappedPage<'b, B> {
    /// Map `page`.
    ///
    /// # Safety
    /// `page` is allocated from `backend` and stays allocated while the guard
    /// lives; the caller is inside an atomic section that outlives the
    /// guard, and drops guards in the reverse order of their creation.
    pub unsafe fn new(backend: &'b B, page: B::Page) -> Self {
        // SAFETY: the caller guarantees the page is allocated and the LIFO
        // order; the guard's Drop unmaps it.
        let address = unsafe { backend.map_page(page) };
        MappedPage {
            backend,
            page,
            address,
        }
    }

    /// Read the 8-byte word at `offset` (a header or a free-list link).
    pub fn read_word(&self, offset: usize) -> u64 {
        assert!(offset + 8 <= PAGE_SIZE);
        // SAFETY: the page is mapped for PAGE_SIZE bytes and the word lies
        // inside it (checked above); an unaligned read has no alignment
        // requirement. Words read here are metadata that no open window
        // covers (windows cover only an object's payload).
        unsafe {
            self.address
                .as_ptr()
                .add(offset)
                .cast::<u64>()
                .read_unaligned()
        }
    }

    /// Write the 8-byte word at `offset`.
    pub fn write_word(&self, offset: usize, word: u64) {
        assert!(offset + 8 <= PAGE_SIZE);
        // SAFETY: as in `read_word`; the word is metadata owned by the caller,
        // which holds its layout's lock.
        unsafe {
            self.address
                .as_ptr()
                .add(offset)
                .cast::<u64>()
                .write_unaligned(word)
        }
    }

    /// Copy `destination.len()` bytes starting at `offset` out of the page.
    pub fn read_bytes(&self, offset: usize, destination: &mut [u8]) {
        assert!(offset + destination.len() <= PAGE_SIZE);
        // SAFETY: the source range is inside the mapped page (checked above);
        // `destination` is a distinct Rust slice, so the ranges cannot overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.address.as_ptr().add(offset),
                destination.as_mut_ptr(),
                destination.len(),
            )
        }
    }

    /// Copy `source` into the page at `offset`.
    pub fn write_bytes(&self, offset: usize, source: &[u8]) {
        assert!(offset + source.len() <= PAGE_SIZE);
        // SAFETY: the destination range is inside the mapped page (checked
        // above); `source` is a distinct Rust slice.
        unsafe {
            core::ptr::copy_nonoverlapping(
                source.as_ptr(),
                self.address.as_ptr().add(offset),
                source.len(),
            )
        }
    }

    /// Copy `length` bytes from `self` at `from` to `other` at `to`.
    pub fn copy_to(&self, from: usize, other: &MappedPage<'_, B>, to: usize, length: usize) {
        assert!(from + length <= PAGE_SIZE && to + length <= PAGE_SIZE);
        assert!(self.page != other.page, "copy within one page");
        // SAFETY: both ranges are inside mapped pages (checked above) and the
        // pages differ, so the ranges do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.address.as_ptr().add(from),
                other.address.as_ptr().add(to),
                length,
            )
        }
    }
}

impl<B: Backend> Drop for MappedPage<'_, B> {
    fn drop(&mut self) {
        // SAFETY: `address` came from the `map_page` in `new`, and any mapping
        // made after it was made by a guard of a shorter scope, already dropped.
        unsafe { self.backend.unmap_page(self.page, self.address) }
    }
}
