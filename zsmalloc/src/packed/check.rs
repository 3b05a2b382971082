//! The packed layout's invariants (the pool checks the rest, see
//! [`crate::check`]).
//!
//! ```text
//!   zspage:  pages = exactly those touched by [0, end); live extents and
//!            valid holes lie in [0, end) and never overlap; counters add up;
//!            entry --location--> (index in live list, zspage, offset) --> entry;
//!            a draining zspage is compaction's source and lists no holes
//!   layout:  hole bitmap = non-empty lists; each hole on its class's list;
//!            stale entries counted; totals add up; spare lists empty
//! ```

use alloc::vec;
use alloc::vec::Vec;

use super::zspage::PackedState;
use super::Location;
use crate::backend::{Backend, PAGE_SIZE};
use crate::check::{ensure, InvariantError};
use crate::handle_table::Entry;
use crate::layout::PoolCore;

impl<P: Copy + Eq + core::fmt::Debug> PackedState<P> {
    /// Verify the state (the caller holds its lock).
    pub(crate) fn check<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
    ) -> Result<(), InvariantError> {
        let holes = self.check_hole_lists()?;
        let (mut live_zspages, mut pages, mut objects, mut live_bytes, mut payload) =
            (0, 0, 0, 0, 0);
        for (zspage, record) in self.zspages.iter().enumerate() {
            if !record.alive {
                ensure!(
                    record.pages.is_empty() && record.live.is_empty() && holes[zspage].is_empty(),
                    "dead zspage {} still has pages, objects or holes",
                    zspage
                );
                ensure!(
                    zspage as u32 != self.open,
                    "the open zspage {} is dead",
                    zspage
                );
                continue;
            }
            live_zspages += 1;
            pages += record.pages.len();
            ensure!(
                record.end <= self.capacity,
                "zspage {} filled past its capacity",
                zspage
            );
            ensure!(
                record.pages.len() == record.end.div_ceil(PAGE_SIZE),
                "zspage {} holds {} pages for {} bytes",
                zspage,
                record.pages.len(),
                record.end
            );
            ensure!(!record.live.is_empty(), "empty zspage {} was kept", zspage);
            ensure!(
                !record.draining
                    || (zspage as u32 == self.compaction.source && holes[zspage].is_empty()),
                "zspage {} drains but is not compaction's source, or lists holes",
                zspage
            );
            let mut extents: Vec<(usize, usize)> = holes[zspage].clone();
            ensure!(
                extents.len() == record.holes
                    && extents.iter().map(|&(_, length)| length).sum::<usize>()
                        == record.hole_bytes,
                "zspage {} hole counters are wrong",
                zspage
            );
            let mut zspage_live = 0;
            for (index, &owner_index) in record.live.iter().enumerate() {
                ensure!(
                    owner_index < core.entries().issued_count(),
                    "object owned by unknown entry {}",
                    owner_index
                );
                let owner = Entry::from_index(owner_index);
                // The reverse map keeps only the owner: the offset is the
                // owner's location's, which must point back here.
                let location = Location::decode(core.location(owner));
                ensure!(
                    location.zspage == zspage as u32 && location.index as usize == index,
                    "entry {} points elsewhere",
                    owner_index
                );
                let offset = location.offset();
                let length = core.object_size(owner);
                payload += length;
                let extent = self.extent(length);
                zspage_live += extent;
                extents.push((offset, extent));
            }
            ensure!(
                zspage_live == record.live_bytes,
                "zspage {} has {} live bytes counted as {}",
                zspage,
                zspage_live,
                record.live_bytes
            );
            extents.sort_unstable();
            let mut covered = 0;
            for &(offset, length) in &extents {
                ensure!(
                    offset >= covered,
                    "zspage {}: extents overlap at byte {}",
                    zspage,
                    offset
                );
                covered = offset + length;
            }
            ensure!(
                covered <= record.end,
                "zspage {}: an extent passes the fill pointer",
                zspage
            );
            objects += record.live.len();
            live_bytes += zspage_live;
        }
        ensure!(
            live_zspages == self.live_zspages,
            "{} live zspages counted as {}",
            live_zspages,
            self.live_zspages
        );
        ensure!(
            pages == self.pages,
            "{} pages counted as {}",
            pages,
            self.pages
        );
        ensure!(
            objects == self.objects,
            "{} objects counted as {}",
            objects,
            self.objects
        );
        ensure!(
            live_bytes == self.live_bytes,
            "{} live bytes counted as {}",
            live_bytes,
            self.live_bytes
        );
        ensure!(
            payload == self.payload_bytes,
            "{} payload bytes counted as {}",
            payload,
            self.payload_bytes
        );
        Ok(())
    }

    /// Check the hole lists; returns the valid holes (offset, length) of
    /// each zspage.
    fn check_hole_lists(&self) -> Result<Vec<Vec<(usize, usize)>>, InvariantError> {
        let mut holes: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.zspages.len()];
        let mut stale = 0;
        for (class, list) in self.holes.iter().enumerate() {
            let bit = self.non_empty[class / 64] >> (class % 64) & 1 == 1;
            ensure!(
                bit == !list.is_empty(),
                "hole bitmap wrong for class {}",
                class
            );
            for hole in list {
                // A hole of a zspage whose record was given back is stale.
                if !self.is_valid(hole) {
                    stale += 1;
                    continue;
                }
                let length = hole.length as usize;
                ensure!(
                    length >= self.class_size(class) && self.class_of(length) == class,
                    "hole of {} bytes on the list of class {}",
                    length,
                    class
                );
                holes[hole.zspage as usize].push((hole.offset as usize, length));
            }
        }
        ensure!(
            stale == self.stale_holes,
            "{} stale holes counted as {}",
            stale,
            self.stale_holes
        );
        let listed: usize = self.holes.iter().map(|list| list.len()).sum();
        ensure!(
            listed == self.listed_holes,
            "{} hole entries counted as {}",
            listed,
            self.listed_holes
        );
        ensure!(
            self.spare_lists.iter().all(|list| list.is_empty()),
            "a spare hole list holds entries"
        );
        Ok(holes)
    }
}
