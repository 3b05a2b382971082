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
//! the new locations. A zspage with a mapped object (pins > 0) is never a
//! source, exactly as Linux's compaction gives up on a zspage it cannot
//! lock. A target may be pinned: only its *free* objects are written.
//!
//! ## Bounded steps
//!
//! The class lock is held with interrupts off, so compaction works in
//! *steps*, each one atomic section that does a bounded amount of work and
//! leaves the class as every other operation expects it, with the source
//! and the target back on their fullness lists:
//!
//! ```text
//!   while zs_can_compact(class) > 0:                 (Linux's __zs_compact loop)
//!     ┌ atomic section + class lock ─────────────────────────────────────────┐
//!     │ target = fullest partial zspage, source = sparsest other one          │
//!     │ source pinned? stop.                                                  │
//!     │ move objects, within CompactLimits: <= 4 objects, <= 4 KiB of payload,│
//!     │ <= 128 slots of the source looked at (from where the last step ended) │
//!     │ source empty? free its pages.   relink source and target.            │
//!     └───────────────────────────────────────────────────────────────────────┘
//!     (frees, mallocs, map windows of other code may run here)
//! ```
//!
//! Without other operations in between, the next step picks the same pair:
//! the target only gained objects and is linked last, so it heads the
//! fullest group; the source only lost objects and heads the sparsest. So
//! the objects moved, and the pages freed, are those of one long section,
//! and the loop ends: each step moves an object or scans further, and a
//! target, once full, is not a target again. Linux breaks out of its loop
//! only when its lock is contended; here every step ends the section.

//!
//! Lab skeleton (labs/compaction/README.md): write every function that says `todo!`.
#![allow(unused)]

use super::config::CompactLimits;
use super::object::NO_OBJECT;
use super::zspage::ClassState;
use super::Location;
use crate::backend::Backend;
use crate::handle_table::Entry;
use crate::layout::PoolCore;
use crate::pages::{copy_between, MappedPage};

/// What one compaction step of one size class did (the whole layout's
/// step is [`crate::layout::CompactStep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassStep {
    /// Objects moved.
    pub objects_moved: usize,
    /// Payload bytes copied.
    pub bytes_copied: usize,
    /// Pages given back to the backend.
    pub pages_freed: usize,
    /// The class needs no more steps (nothing to gain, or its source is pinned).
    pub finished: bool,
}

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    /// One step of Linux's `__zs_compact` loop on this class, within
    /// `limits` (the caller holds the class lock). Returns what it did.
    pub(crate) fn compact_step<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        limits: CompactLimits,
    ) -> ClassStep {
        todo!("lab compaction: pick a target and a source, migrate within the limits, free an emptied source, relink both")
    }

    /// Move allocated objects from `source` to `destination` (Linux's
    /// `migrate_zspage`) until the source is empty, the destination full, or
    /// `limits` reached.
    fn migrate<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        source: u32,
        destination: u32,
        limits: CompactLimits,
    ) -> ClassStep {
        todo!(
            "lab compaction: copy allocated objects of `source` into free objects of `destination`"
        )
    }
}
