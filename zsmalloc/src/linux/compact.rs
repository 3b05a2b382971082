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

use super::object::NO_OBJECT;
use super::zspage::ClassState;
use super::Location;
use crate::backend::Backend;
use crate::layout::PoolCore;
use crate::pages::copy_between;

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    /// Compact this class. Returns the pages given back to the backend.
    pub(crate) fn compact<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>) -> usize {
        let mut pages_freed = 0;
        let mut target: Option<u32> = None;
        while self.compactable_pages() > 0 {
            let destination = match target {
                Some(zspage) => zspage,
                None => match self.fullest_partial() {
                    Some(zspage) => {
                        self.unlink(zspage);
                        zspage
                    }
                    None => break,
                },
            };
            target = Some(destination);
            let Some(source) = self.sparsest_partial() else {
                break;
            };
            if self.zspages[source as usize].pins > 0 {
                break;
            }
            self.unlink(source);
            self.migrate(core, source, destination);
            if self.zspages[source as usize].in_use == 0 {
                self.destroy_zspage(core, source);
                pages_freed += self.geometry.pages_per_zspage;
            } else {
                self.link(source);
            }
            if self.zspages[destination as usize].free_head == NO_OBJECT {
                self.link(destination);
                target = None;
            }
        }
        if let Some(destination) = target {
            self.link(destination);
        }
        pages_freed
    }

    /// Move allocated objects from `source` to `destination` until the source
    /// is empty or the destination is full (Linux's `migrate_zspage`).
    fn migrate<B: Backend<Page = P>>(&mut self, core: &PoolCore<B>, source: u32, destination: u32) {
        let backend = core.backend();
        for object in 0..self.geometry.objects_per_zspage as u16 {
            let source_empty = self.zspages[source as usize].in_use == 0;
            let destination_full = self.zspages[destination as usize].free_head == NO_OBJECT;
            if source_empty || destination_full {
                break;
            }
            let Some(owner) = self.owner_of(backend, source, object) else {
                continue;
            };
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
}
