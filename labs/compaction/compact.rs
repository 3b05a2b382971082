//! Compaction: move objects out of sparse zspages into fuller ones, so that
//! the emptied zspages can give their pages back.
//!
//! ```text
//!   before:  source (group 1, sparsest)        target (group 10, fullest)
//!            [A . . . . . . B . .]             [x x x x x x x x . .]
//!   moving:       A ------------------------------------------^ ^
//!                               B ------------------------------+
//!   after:   source [. . . . . . . . . .]  ->  freed
//!            target [x x x x x x x x A B]  ->  full, a new target is taken
//! ```
//!
//! Handles do not change: only the handle-table entries are rewritten with
//! the new locations. A zspage with a mapped object (pins > 0) is never a source,
//! exactly as Linux's compaction gives up on a zspage it cannot lock. A
//! target may be pinned: only its *free* objects are written.
//!
//! The loop is Linux's `__zs_compact`: run while `zs_can_compact` says whole
//! zspages' worth of objects are wasted.
//!
//! Lab skeleton (labs/compaction/README.md): write every function that says `todo!`.
#![allow(unused)]

use super::object::NO_OBJECT;
use super::zspage::ClassState;
use super::Location;
use crate::backend::Backend;
use crate::layout::PoolCore;
use crate::pages::copy_between;

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    /// Compact this class. Returns the pages given back to the backend.
    pub(crate) fn compact<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>) -> usize {
        todo!("lab compaction: move objects from the sparsest zspages into the fullest while pages can be freed")
    }

    /// Move allocated objects from `source` to `destination` until the source
    /// is empty or the destination is full (Linux's `migrate_zspage`).
    fn migrate<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>, source: u32, destination: u32) {
        todo!("lab compaction: copy each allocated object of `source` into a free object of `destination`")
    }
}
