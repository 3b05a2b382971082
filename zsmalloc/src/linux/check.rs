//! The invariants of one size class (the pool checks the rest, see
//! [`crate::check`]).
//!
//! ```text
//!   zspage record:  live <=> all its pages are there
//!   zspage:         in_use + |free list| = objects_per_zspage; the free list
//!                   stays inside the zspage, has no cycle, and its objects
//!                   are tagged free (no owner in the side table)
//!   object:         allocated => its entry's location names this very object
//!   class:          group lists hold exactly the live zspages, each in the
//!                   group its fullness calls for; counters add up
//! ```

use alloc::vec;

use super::object::{NO_OBJECT, NO_OWNER};
use super::zspage::{ClassState, NO_ZSPAGE};
use super::Location;
use crate::backend::Backend;
use crate::check::{ensure, InvariantError};
use crate::fullness::{fullness_group, FULLNESS_GROUPS};
use crate::layout::PoolCore;

impl<P: Copy + Eq + core::fmt::Debug> ClassState<P> {
    /// Verify this class (the caller holds its lock).
    pub(crate) fn check<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
    ) -> Result<(), InvariantError> {
        let mut live = 0;
        let mut in_use_total = 0;
        for (zspage, record) in self.zspages.iter().enumerate() {
            let pages = self.zspage_pages(zspage as u32);
            if !record.live {
                ensure!(
                    pages.iter().all(Option::is_none),
                    "dead zspage {} still has pages",
                    zspage
                );
                continue;
            }
            ensure!(
                pages.iter().all(Option::is_some),
                "live zspage {} lacks a page",
                zspage
            );
            live += 1;
            in_use_total += record.in_use as usize;
            self.check_zspage(core, zspage as u32)?;
        }
        ensure!(
            live == self.live_zspages,
            "{} live zspages counted as {}",
            live,
            self.live_zspages
        );
        ensure!(
            in_use_total == self.objects_used,
            "{} objects in use counted as {}",
            in_use_total,
            self.objects_used
        );
        self.check_group_lists()
    }

    fn check_zspage<B: Backend<Page = P>>(
        &self,
        core: &PoolCore<B>,
        zspage: u32,
    ) -> Result<(), InvariantError> {
        let objects = self.geometry.objects_per_zspage;
        let record = &self.zspages[zspage as usize];
        let words = self.first_words(core.backend(), zspage);
        let mut is_free = vec![false; objects];
        let mut free_count = 0;
        let mut object = record.free_head;
        while object != NO_OBJECT {
            ensure!(
                (object as usize) < objects,
                "zspage {} free list leaves the zspage",
                zspage
            );
            ensure!(
                !is_free[object as usize],
                "zspage {} free list has a cycle",
                zspage
            );
            is_free[object as usize] = true;
            free_count += 1;
            let word = words[object as usize];
            ensure!(
                word & 1 == 0,
                "zspage {} free object {} is tagged allocated",
                zspage,
                object
            );
            if self.owners_outside() {
                let owner = self.owners[zspage as usize * objects + object as usize];
                ensure!(
                    owner == NO_OWNER,
                    "zspage {} free object {} has an owner",
                    zspage,
                    object
                );
            }
            object = (word >> 1) as u16;
        }
        ensure!(
            free_count + record.in_use as usize == objects,
            "zspage {}: {} free + {} in use != {}",
            zspage,
            free_count,
            record.in_use,
            objects
        );
        for object in 0..objects as u16 {
            if is_free[object as usize] {
                continue;
            }
            let Some(owner) = self.owner_from_word(zspage, object, words[object as usize]) else {
                return Err(InvariantError::new(alloc::format!(
                    "zspage {zspage} object {object} is neither free nor owned"
                )));
            };
            ensure!(
                owner.index() < core.entries().issued_count(),
                "object owned by unknown entry {}",
                owner.index()
            );
            let expected = Location {
                class: self.class,
                zspage,
                object,
            };
            ensure!(
                Location::decode(core.location(owner)) == expected,
                "entry {} points elsewhere",
                owner.index()
            );
        }
        Ok(())
    }

    fn check_group_lists(&self) -> Result<(), InvariantError> {
        let objects = self.geometry.objects_per_zspage;
        let mut listed = 0;
        for group in 0..FULLNESS_GROUPS {
            let mut count = 0;
            let mut previous = NO_ZSPAGE;
            let mut zspage = self.group_heads[group];
            while zspage != NO_ZSPAGE {
                ensure!(
                    count <= self.zspages.len(),
                    "group {} list has a cycle",
                    group
                );
                let record = &self.zspages[zspage as usize];
                ensure!(record.live, "dead zspage {} in group {}", zspage, group);
                ensure!(
                    record.previous == previous,
                    "zspage {} has a wrong back link",
                    zspage
                );
                ensure!(
                    record.group as usize == group,
                    "zspage {} is listed in the wrong group",
                    zspage
                );
                ensure!(
                    fullness_group(record.in_use as usize, objects) == group,
                    "zspage {} with {} objects in use belongs elsewhere than group {}",
                    zspage,
                    record.in_use,
                    group
                );
                count += 1;
                previous = zspage;
                zspage = record.next;
            }
            ensure!(
                count == self.group_counts[group] as usize,
                "group {} counts {} but lists {}",
                group,
                self.group_counts[group],
                count
            );
            listed += count;
        }
        ensure!(self.group_counts[0] == 0, "empty zspages were kept");
        ensure!(
            listed == self.live_zspages,
            "{} zspages listed but {} live",
            listed,
            self.live_zspages
        );
        Ok(())
    }
}
