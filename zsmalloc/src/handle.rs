//! Handles: opaque names of objects that survive compaction.
//!
//! A handle is not an address. It names an *entry* of the pool's handle
//! table ([`crate::handle_table`]), and the entry says where the object
//! lives now. Compaction moves the object and rewrites the entry; the handle
//! the user holds does not change:
//!
//! ```text
//!   raw handle (u64)                 handle table entry             zspage
//!  +------------+---------------+    +-------------------------+    +--------------+
//!  | generation | entry index+1 | -> | location (the layout's  | -> | [hdr|payload]|
//!  |  32 bits   |    32 bits    |    |   own encoding)         |    +--------------+
//!  +------------+---------------+    | generation, allocated,  |
//!                                    |   mapped, length        |
//!                                    +-------------------------+
//! ```
//!
//! Every free bumps the entry's generation, so a stale copy of a raw handle
//! no longer matches and is refused instead of reaching someone else's
//! object. Raw handles are accepted by [`crate::Pool::free_raw`] and the
//! facade; every raw use is validated.

use core::fmt;
use core::num::NonZeroU64;

/// An allocated object. Owned, not `Clone`: freeing consumes it, mapping
/// borrows it, so the safe API cannot free twice.
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
    /// No object ever had this handle (unknown entry, or a forged generation).
    NeverIssued,
    /// The object was freed (a double free, or use after free).
    Freed,
    /// The object is mapped: it cannot be freed, or mapped a second time.
    Mapped,
}

impl fmt::Display for HandleError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            HandleError::Null => "null handle",
            HandleError::NeverIssued => "handle never issued by this pool",
            HandleError::Freed => "handle already freed",
            HandleError::Mapped => "handle is mapped",
        };
        formatter.write_str(text)
    }
}

/// The raw handle of entry `index` at `generation`.
#[inline]
pub(crate) fn encode(index: u32, generation: u32) -> NonZeroU64 {
    let raw = (generation as u64) << 32 | (index as u64 + 1);
    NonZeroU64::new(raw).expect("index + 1 is never 0")
}

/// The (entry index, generation) a raw handle names, if it can name one.
#[inline]
pub(crate) fn decode(raw: u64) -> Result<(u32, u32), HandleError> {
    if raw == 0 {
        return Err(HandleError::Null);
    }
    let index_plus_one = raw as u32;
    if index_plus_one == 0 {
        return Err(HandleError::NeverIssued);
    }
    Ok((index_plus_one - 1, (raw >> 32) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_handles_round_trip() {
        for (index, generation) in [(0, 0), (7, 1), (u32::MAX - 1, u32::MAX)] {
            let raw = encode(index, generation).get();
            assert_eq!(decode(raw), Ok((index, generation)));
        }
        assert_eq!(decode(0), Err(HandleError::Null));
        assert_eq!(decode(5 << 32), Err(HandleError::NeverIssued));
    }
}
