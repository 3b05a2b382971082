//! Why a fault could not be resolved. Each error ends in a panic whose
//! message names the page and its address, never in silently wrong data.

use super::region::RegionTables;
use core::fmt;
use zram::StoreError;

/// Why a fault could not be resolved: each ends in a panic naming the page.
#[derive(Debug, Clone, Copy)]
pub enum SwapError {
    /// The entry is not a swap entry, or names another page's copy.
    Forged {
        /// The faulting page.
        page: usize,
        /// The entry found.
        raw: u64,
    },
    /// The entry names an older copy than the store holds (or none).
    Stale {
        /// The faulting page.
        page: usize,
        /// The generation the entry names.
        entry: u32,
        /// The generation of the store's copy (`None`: no copy).
        current: Option<u32>,
    },
    /// The store could not keep a page, even after compaction.
    StoreFailed {
        /// The page being evicted.
        page: usize,
        /// What the store said.
        error: StoreError,
    },
    /// The store could not give a page back.
    ReadFailed {
        /// The faulting page.
        page: usize,
        /// What the store said.
        error: StoreError,
    },
}

impl fmt::Display for SwapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |page: usize| RegionTables::address(page);
        match *self {
            SwapError::Forged { page, raw } => write!(
                f,
                "swap: forged swap entry {raw:#018x} for page {page} (address {:#x})",
                at(page)
            ),
            SwapError::Stale {
                page,
                entry,
                current,
            } => write!(
                f,
                "swap: stale swap entry for page {page} (address {:#x}): it names generation \
                 {entry}, the store holds {current:?}",
                at(page)
            ),
            SwapError::StoreFailed { page, error } => write!(
                f,
                "swap: could not store page {page} (address {:#x}), even after compaction: {error}",
                at(page)
            ),
            SwapError::ReadFailed { page, error } => write!(
                f,
                "swap: could not read page {page} (address {:#x}) back from the store: {error}",
                at(page)
            ),
        }
    }
}
