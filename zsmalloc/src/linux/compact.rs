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
//!   while zs_can_compact(class) > 0:                (Linux's __zs_compact loop)
//!     ┌ atomic section + class lock ───────────────────────────────────────┐
//!     │ target = fullest partial zspage, source = sparsest other one       │
//!     │ source pinned? stop.                                               │
//!     │ move objects within CompactLimits: <= 4 objects, <= 4 KiB payload, │
//!     │ <= 128 source slots looked at (from where the last step stopped)   │
//!     │ source empty? free its pages.   relink source and target.          │
//!     └────────────────────────────────────────────────────────────────────┘
//!     (frees, mallocs, map windows of other code may run here)
//! ```
//!
//! Without other operations in between, the next step picks the same pair
//! (unless the source emptied or the target filled): the target only
//! gained objects and is linked last, so it heads the fullest group; the
//! source only lost objects and heads the sparsest. So the objects moved,
//! and the pages freed, are those of one long section, and the loop ends:
//! each step moves an object or scans further, and a target, once full, is
//! not a target again. Linux breaks out of its loop only when its lock is
//! contended; here every step ends the section.

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
        let finished = ClassStep {
            finished: true,
            ..ClassStep::default()
        };
        if self.compactable_pages() == 0 {
            return finished;
        }
        let Some(destination) = self.fullest_partial() else {
            return finished;
        };
        self.unlink(destination);
        let source = match self.sparsest_partial() {
            Some(source) if self.zspages[source as usize].pins == 0 => source,
            _ => {
                self.link(destination);
                return finished;
            }
        };
        self.unlink(source);
        let mut step = self.migrate(core, source, destination, limits);
        if self.zspages[source as usize].in_use == 0 {
            self.destroy_zspage(core, source);
            step.pages_freed = self.geometry.pages_per_zspage;
            self.scan_resume = 0;
        } else {
            self.link(source);
        }
        // Linked last: it heads its group, so the next step takes it again.
        self.link(destination);
        step
    }

    /// Move allocated objects from `source` to `destination` (Linux's
    /// `migrate_zspage`) until the source is empty, the destination full, or
    /// `limits` reached. Scans the source from where the last step stopped,
    /// wrapping around.
    fn migrate<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        source: u32,
        destination: u32,
        limits: CompactLimits,
    ) -> ClassStep {
        let backend = core.backend();
        let objects = self.geometry.objects_per_zspage;
        // Where the last step stopped in this source (0 for a new source:
        // a source changes only when it empties, unless other operations
        // ran in between, and then any start is as good).
        let mut object = usize::from(self.scan_resume);
        if object >= objects {
            object = 0;
        }
        let mut step = ClassStep::default();
        let mut slots = objects.min(usize::from(limits.slots.max(1)));
        while slots > 0 {
            let source_empty = self.zspages[source as usize].in_use == 0;
            let destination_full = self.zspages[destination as usize].free_head == NO_OBJECT;
            if source_empty
                || destination_full
                || step.objects_moved >= usize::from(limits.objects.max(1))
            {
                break;
            }
            let (found, looked_at) = self.next_allocated(backend, source, object, slots);
            slots -= looked_at;
            let Some((found, owner)) = found else {
                object = (object + looked_at) % objects;
                break;
            };
            let length = core.object_size(owner);
            if step.objects_moved > 0 && step.bytes_copied + length > usize::from(limits.bytes) {
                object = found as usize;
                break;
            }
            self.move_object(core, (source, found), destination, owner);
            step.objects_moved += 1;
            step.bytes_copied += length;
            object = (found as usize + 1) % objects;
        }
        self.scan_resume = object as u16;
        step
    }

    /// The first allocated object of `zspage` at or after `from` (wrapping
    /// around), looking at most at `slots` slots, with its owner; and how
    /// many slots were looked at. Maps each page of headers once.
    fn next_allocated<B: Backend<Page = P>>(
        &self,
        backend: &B,
        zspage: u32,
        from: usize,
        slots: usize,
    ) -> (Option<(u16, Entry)>, usize) {
        let objects = self.geometry.objects_per_zspage;
        let mut mapped: Option<(P, MappedPage<'_, B>)> = None;
        for looked_at in 0..slots {
            let object = ((from + looked_at) % objects) as u16;
            let owner = if self.owners_outside() {
                self.owner_of(backend, zspage, object)
            } else {
                let position = self.position(zspage, self.object_offset(object));
                if mapped.as_ref().map(|(page, _)| *page) != Some(position.page) {
                    drop(mapped.take());
                    // SAFETY: the page belongs to this live zspage and the
                    // caller holds the class lock inside an atomic section;
                    // the previous guard is gone, this one is dropped on return.
                    let page = unsafe { MappedPage::new(backend, position.page) };
                    mapped = Some((position.page, page));
                }
                let word = mapped
                    .as_ref()
                    .map_or(0, |(_, page)| page.read_word(position.offset));
                self.owner_from_word(zspage, object, word)
            };
            if let Some(owner) = owner {
                return (Some((object, owner)), looked_at + 1);
            }
        }
        (None, slots)
    }

    /// Move the allocated object `object` of zspage `source`, owned by
    /// `owner`, into a free object of `destination`, and record its new
    /// location.
    fn move_object<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        (source, object): (u32, u16),
        destination: u32,
        owner: Entry,
    ) {
        let backend = core.backend();
        let new_object = self.pop_object(backend, destination, owner);
        let header = self.geometry.header_size;
        let from = self.object_offset(object) + header;
        let to = self.object_offset(new_object) + header;
        // SAFETY: both zspages are live and belong to this class, whose
        // lock the caller holds; the source object is allocated and not
        // pinned (pinned zspages are never sources), the target object
        // was free until just now.
        unsafe {
            copy_between(
                backend,
                |byte| self.position(source, from + byte),
                |byte| self.position(destination, to + byte),
                core.object_size(owner),
            )
        };
        let location = Location {
            class: self.class,
            zspage: destination,
            object: new_object,
        };
        core.set_location(owner, location.encode());
        self.push_object(backend, source, object);
    }
}
