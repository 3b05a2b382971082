//! Handles: opaque names of objects that survive compaction.
//!
//! A handle is not an address. It names an *entry* of the pool's handle
//! table ([`crate::handle_table`]), and the entry says where the object
//! lives now. Compaction moves the object and rewrites the entry; the handle
//! the user holds does not change:
//!
//! ```text
//!   raw handle (u64)                                    handle table entry (u64)
//!    63          42 41        32 31               0     +----------------------------+
//!   +--------------+------------+------------------+    | generation, flags, length, |
//!   | pool tag (22)| generation | entry index + 1  | -> | location ──────────────────┼─> bytes in
//!   |              |   (10)     |      (32)        |    +----------------------------+   a zspage
//!   +--------------+------------+------------------+
//! ```
//!
//! Three checks keep a raw handle from reaching an object it does not name:
//!
//! * the **pool tag**, different for every pool the program creates, so a
//!   handle of pool A is refused by pool B even when the entry and the
//!   generation match one of B's objects ([`HandleError::OtherPool`]);
//! * the **generation**, bumped by every free, so a stale copy of a freed
//!   handle is refused ([`HandleError::Freed`]) and a forged newer one too
//!   ([`HandleError::NeverIssued`]); [`crate::handle_table`] says how long
//!   a 10-bit generation protects and why entries are reused in FIFO order;
//! * the entry's **allocated** flag, set once the object is fully placed,
//!   so a handle guessed before its object exists is refused.
//!
//! The safe API cannot misuse a handle: [`Handle`] is owned and not `Clone`,
//! freeing consumes it, and a map window or read borrows it. The raw API
//! ([`crate::Pool::free_raw`], [`Handle::from_raw`], the facade) validates
//! every use, atomically (see [`crate::handle_table`]), so no sequence of
//! raw calls, on any number of threads, can touch an object its handle
//! does not name. What it cannot do is tell a guessed handle from a real
//! one: a guess that equals a live object's handle acts on that object.

use core::fmt;
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU32, Ordering};

/// Bits of the generation, in a raw handle and in a handle-table entry.
pub const GENERATION_BITS: u32 = 10;
/// Bits of the pool tag in a raw handle.
pub const POOL_TAG_BITS: u32 = 22;

const INDEX_BITS: u32 = 32;
const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;
const POOL_TAG_MASK: u32 = (1 << POOL_TAG_BITS) - 1;

/// An allocated object. Owned, not `Clone`: freeing consumes it, mapping
/// and reading borrow it, so the safe API cannot free twice, nor free an
/// object while a window on it is open.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "dropping a Handle leaks its object until the pool is dropped"]
pub struct Handle {
    raw: NonZeroU64,
}

impl Handle {
    /// The raw value (never 0), as the C-flavoured API passes it around.
    pub fn raw(&self) -> u64 {
        self.raw.get()
    }

    /// Take ownership of a raw handle again (the pool still validates it
    /// on every use, so a wrong value gives errors, never memory accesses).
    pub fn from_raw(raw: NonZeroU64) -> Handle {
        Handle { raw }
    }
}

/// Why a raw handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// The raw handle is 0.
    Null,
    /// No object ever had this handle (unknown entry, a forged generation,
    /// or an object still being placed).
    NeverIssued,
    /// The object was freed (a double free, or use after free).
    Freed,
    /// The object is mapped: it cannot be freed, or mapped a second time.
    Mapped,
    /// The handle belongs to another pool (its pool tag is not this pool's).
    OtherPool,
}

impl fmt::Display for HandleError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            HandleError::Null => "null handle",
            HandleError::NeverIssued => "handle never issued by this pool",
            HandleError::Freed => "handle already freed",
            HandleError::Mapped => "handle is mapped",
            HandleError::OtherPool => "handle of another pool",
        };
        formatter.write_str(text)
    }
}

/// The next pool's tag: pools created one after another get different
/// tags (the counter wraps after 2^22 pools).
pub(crate) fn new_pool_tag() -> u32 {
    static NEXT_POOL_TAG: AtomicU32 = AtomicU32::new(1);
    NEXT_POOL_TAG.fetch_add(1, Ordering::Relaxed) & POOL_TAG_MASK
}

/// What a raw handle names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawParts {
    pub pool_tag: u32,
    pub generation: u32,
    pub index: u32,
}

/// The raw handle of entry `index` at `generation` in the pool `pool_tag`.
#[inline]
pub(crate) fn encode(parts: RawParts) -> NonZeroU64 {
    debug_assert!(parts.generation <= GENERATION_MASK && parts.pool_tag <= POOL_TAG_MASK);
    let raw = (parts.pool_tag as u64) << (INDEX_BITS + GENERATION_BITS)
        | (parts.generation as u64) << INDEX_BITS
        | (parts.index as u64 + 1);
    NonZeroU64::new(raw).expect("index + 1 is never 0")
}

/// What a raw handle names, if it can name anything.
#[inline]
pub(crate) fn decode(raw: u64) -> Result<RawParts, HandleError> {
    if raw == 0 {
        return Err(HandleError::Null);
    }
    let index_plus_one = raw as u32;
    if index_plus_one == 0 {
        return Err(HandleError::NeverIssued);
    }
    Ok(RawParts {
        pool_tag: (raw >> (INDEX_BITS + GENERATION_BITS)) as u32,
        generation: (raw >> INDEX_BITS) as u32 & GENERATION_MASK,
        index: index_plus_one - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_handles_round_trip() {
        let cases = [(0, 0, 0), (7, 1, 3), (u32::MAX - 1, 1023, POOL_TAG_MASK)];
        for (index, generation, pool_tag) in cases {
            let parts = RawParts {
                pool_tag,
                generation,
                index,
            };
            assert_eq!(decode(encode(parts).get()), Ok(parts));
        }
        assert_eq!(decode(0), Err(HandleError::Null));
        assert_eq!(decode(5 << 32), Err(HandleError::NeverIssued));
    }

    #[test]
    fn pools_get_different_tags() {
        let first = new_pool_tag();
        let second = new_pool_tag();
        assert_ne!(first, second);
        assert!(first <= POOL_TAG_MASK && second <= POOL_TAG_MASK);
    }
}
