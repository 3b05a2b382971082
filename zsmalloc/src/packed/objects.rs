//! Objects of the packed layout: recording a placed object in its
//! zspage's reverse map, forgetting it (a swap-remove), and `malloc` /
//! `free` on top of placement ([`super::zspage`]) and the hole lists
//! ([`super::holes`]).
//!
//! ```text
//!   allocate:  extent ──place──► (zspage, offset) ──add_object──► location
//!   free:      location ──remove_object──► offset ──► a hole, or the zspage dies
//! ```

use super::holes::{grow_by_a_quarter, shrink_if_sparse};
use super::zspage::{PackedState, NONE};
use super::Location;
use crate::backend::{Backend, OutOfPages};
use crate::handle_table::Entry;
use crate::layout::PoolCore;

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// Record a live object placed at (zspage, offset); returns its location.
    pub(crate) fn add_object(
        &mut self,
        zspage: u32,
        offset: usize,
        length: usize,
        owner: Entry,
    ) -> Location {
        let record = &mut self.zspages[zspage as usize];
        let index = record.live.len();
        grow_by_a_quarter(&mut record.live);
        record.live.push(owner.index());
        record.live_bytes += length;
        self.objects += 1;
        self.live_bytes += length;
        Location::at(zspage, index, offset)
    }

    /// Forget the live object at `location` (swap-remove, fixing the
    /// location of the object moved into its place). Returns its offset.
    #[inline]
    pub(crate) fn remove_object<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        location: Location,
        length: usize,
    ) -> usize {
        let record = &mut self.zspages[location.zspage as usize];
        let index = location.index as usize;
        record.live.swap_remove(index);
        shrink_if_sparse(&mut record.live);
        record.live_bytes -= length;
        if let Some(&moved) = record.live.get(index) {
            // The last object took the removed one's index: only the index
            // in its location changes.
            let moved = Entry::from_index(moved);
            core.set_location(moved, Location::with_index(core.location(moved), index));
        }
        self.objects -= 1;
        self.live_bytes -= length;
        location.offset()
    }

    /// Allocate an object of `length` bytes for `owner`. Returns its location.
    pub(crate) fn allocate<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        owner: Entry,
        length: usize,
    ) -> Result<Location, OutOfPages> {
        let extent = self.extent(length);
        let (zspage, offset, _) = self.place(core, extent, NONE, true)?;
        self.payload_bytes += length;
        let location = self.add_object(zspage, offset, extent, owner);
        self.sweep_some_stale_holes();
        Ok(location)
    }

    /// Free the object at `location`.
    pub(crate) fn free<B: Backend<Page = P>>(
        &mut self,
        core: &PoolCore<B>,
        location: Location,
        length: usize,
    ) {
        let extent = self.extent(length);
        let offset = self.remove_object(core, location, extent);
        self.payload_bytes -= length;
        let zspage = location.zspage;
        self.compaction.freed_since_scan += extent;
        let record = &self.zspages[zspage as usize];
        if record.live.is_empty() {
            self.destroy_zspage(core, zspage);
        } else if !record.draining {
            self.push_hole(zspage, offset, extent);
        }
        self.sweep_some_stale_holes();
    }
}
