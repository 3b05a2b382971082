//! The packed layout's statistics and its table:
//!
//! ```text
//!  packed layout: 17 zspages, 250 pages, open zspage filled to byte 24576
//!  zspages by fullness:  10%  20% ...  99% 100%
//!                          0    1 ...   15    0
//!  live 1012345 B, holes 2345 B, lost 96 B, freeable <= 2 pages
//!  holes  size  count   bytes
//!           48      3     144
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::mem::size_of;

use super::holes::Hole;
use super::zspage::{PackedState, PackedZspage};
use crate::fullness::{group_label, FULLNESS_GROUPS};

/// Statistics of the packed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedStats {
    /// Zspages (the open one included) per fullness group of live bytes
    /// over the bytes of their pages: empty, <10%, ..., <100%, full.
    pub zspages_by_fullness: [usize; FULLNESS_GROUPS],
    /// Live zspages.
    pub zspages: usize,
    /// Fill pointer of the open zspage, if there is one.
    pub open_end: Option<usize>,
    /// Valid holes per size class: (smallest hole size of the class, holes,
    /// bytes), only classes that have holes.
    pub holes_by_class: Vec<(usize, usize, usize)>,
    /// Bytes occupied by live objects (rounded to the class spacing).
    pub live_bytes: usize,
    /// Bytes in holes.
    pub hole_bytes: usize,
    /// Bytes below the fill pointers that are neither live nor in a hole
    /// (leftovers too small for an object): only compaction recovers them.
    pub lost_bytes: usize,
    /// Pages held.
    pub pages: usize,
    /// Upper bound on the pages compaction could free.
    pub freeable: usize,
}

impl<P: Copy + Eq + fmt::Debug> PackedState<P> {
    /// The statistics, as of now.
    pub(crate) fn stats(&self) -> PackedStats {
        let mut holes_by_class = Vec::new();
        let mut hole_bytes = 0;
        for (class, list) in self.holes.iter().enumerate() {
            let valid = list.iter().filter(|hole| self.is_valid(hole));
            let (count, bytes) = valid.fold((0, 0), |(count, bytes), hole| {
                (count + 1, bytes + hole.length as usize)
            });
            if count > 0 {
                holes_by_class.push((self.class_size(class), count, bytes));
                hole_bytes += bytes;
            }
        }
        let used: usize = self
            .zspages
            .iter()
            .filter(|record| record.alive)
            .map(|record| record.end)
            .sum();
        let mut zspages_by_fullness = [0; FULLNESS_GROUPS];
        for record in self.zspages.iter().filter(|record| record.alive) {
            zspages_by_fullness[record.group()] += 1;
        }
        PackedStats {
            zspages_by_fullness,
            zspages: self.live_zspages,
            open_end: self
                .zspages
                .get(self.open as usize)
                .map(|record| record.end),
            holes_by_class,
            live_bytes: self.live_bytes,
            hole_bytes,
            lost_bytes: used - self.live_bytes - hole_bytes,
            pages: self.pages,
            freeable: self.compactable_pages(),
        }
    }

    /// Heap bytes of the packed state.
    pub(crate) fn metadata_bytes(&self) -> usize {
        let mut bytes = size_of::<Self>()
            + self.zspages.capacity() * size_of::<PackedZspage<P>>()
            + self.dead.capacity() * size_of::<u32>()
            + self.holes.capacity() * size_of::<Vec<Hole>>()
            + self.non_empty.capacity() * size_of::<u64>();
        for record in &self.zspages {
            bytes += record.pages.capacity() * size_of::<P>();
            bytes += record.live.capacity() * size_of::<u32>();
        }
        for list in &self.holes {
            bytes += list.capacity() * size_of::<Hole>();
        }
        bytes
    }
}

impl fmt::Display for PackedStats {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "packed layout: {} zspages, {} pages",
            self.zspages, self.pages
        )?;
        match self.open_end {
            Some(end) => writeln!(formatter, ", open zspage filled to byte {end}")?,
            None => writeln!(formatter, ", no open zspage")?,
        }
        write!(formatter, "zspages by fullness:")?;
        for group in 1..FULLNESS_GROUPS {
            write!(formatter, " {:>4}", group_label(group))?;
        }
        writeln!(formatter)?;
        write!(formatter, "{:20}", "")?;
        for count in &self.zspages_by_fullness[1..] {
            write!(formatter, " {:>4}", count)?;
        }
        writeln!(formatter)?;
        writeln!(
            formatter,
            "live {} B, holes {} B, lost {} B, freeable <= {} pages",
            self.live_bytes, self.hole_bytes, self.lost_bytes, self.freeable
        )?;
        writeln!(
            formatter,
            "{:>5} {:>5} {:>6} {:>8}",
            "holes", "size", "count", "bytes"
        )?;
        for (size, count, bytes) in &self.holes_by_class {
            writeln!(formatter, "{:>5} {:>5} {:>6} {:>8}", "", size, count, bytes)?;
        }
        Ok(())
    }
}
