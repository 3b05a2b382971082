//! Statistics, in the shape of Linux's debugfs `classes` file.
//!
//! ```text
//!  class  size  10%  20% ... 99% 100%  obj_allocated  obj_used  pages_used  pages_per_zspage  freeable
//!     12   224    1    0 ...   0    3             72        58           4                 1         1
//! ```
//!
//! The percentage columns count zspages per fullness group; `freeable` is
//! what compaction could give back (`zs_can_compact`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::backend::{AtomicSection, Backend};
use crate::packed::PackedState;
use crate::pool::Pool;
use crate::zspage::{ClassState, FULLNESS_GROUPS, FULL_GROUP};

impl<P: Copy + Eq + fmt::Debug> PackedState<P> {
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
        PackedStats {
            zspages_by_fullness: self.zspages_by_fullness(),
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
}

/// One row of the class table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassStats {
    /// Logical class index (as Linux prints it).
    pub index: usize,
    /// Object slot size in bytes.
    pub size: usize,
    /// Object slots per zspage.
    pub objects_per_zspage: usize,
    /// Pages per zspage.
    pub pages_per_zspage: usize,
    /// One object per page, owner kept outside.
    pub huge: bool,
    /// Zspages in each fullness group: empty, <10%, ..., <100%, full.
    pub zspages_by_fullness: [usize; FULLNESS_GROUPS],
    /// Object slots in all zspages of the class.
    pub objects_allocated: usize,
    /// Object slots in use.
    pub objects_used: usize,
    /// Sum of the payload sizes of the objects in use.
    pub payload_bytes: usize,
    /// Pages held by the class.
    pub pages_used: usize,
    /// Pages compaction could free.
    pub freeable: usize,
}

/// Statistics of the packed layout ([`crate::packed`]).
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

/// A snapshot of a pool's statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The pool's name.
    pub name: String,
    /// One row per (merged) size class, in increasing size.
    pub classes: Vec<ClassStats>,
    /// Pages held by the pool.
    pub total_pages: usize,
    /// Pages freed by compaction since the pool was created.
    pub pages_compacted: usize,
    /// Objects allocated.
    pub objects_used: usize,
    /// Sum of the payload sizes of all objects.
    pub payload_bytes: usize,
    /// Heap bytes of the allocator's own metadata (zspage records, handle
    /// table, class array).
    pub metadata_bytes: usize,
    /// `zs_huge_class_size`.
    pub huge_class_size: usize,
    /// The packed layout's statistics (`None` for Linux's layout, whose
    /// statistics are the class rows).
    pub packed: Option<PackedStats>,
}

impl<P: Copy + Eq + fmt::Debug> ClassState<P> {
    pub(crate) fn stats(&self) -> ClassStats {
        let geometry = &self.geometry;
        ClassStats {
            index: geometry.index,
            size: geometry.size,
            objects_per_zspage: geometry.objects_per_zspage,
            pages_per_zspage: geometry.pages_per_zspage,
            huge: geometry.huge,
            zspages_by_fullness: self.group_counts,
            objects_allocated: self.objects_allocated(),
            objects_used: self.objects_used,
            payload_bytes: self.payload_bytes,
            pages_used: self.live_zspages * geometry.pages_per_zspage,
            freeable: self.compactable_pages(),
        }
    }
}

impl<B: Backend> Pool<B> {
    /// A snapshot of the statistics (each class is read under its lock).
    pub fn stats(&self) -> PoolStats {
        let classes: Vec<ClassStats> = (0..self.classes.len())
            .map(|class| {
                let atomic = AtomicSection::enter(&self.backend);
                self.lock_class(&atomic, class).stats()
            })
            .collect();
        let (packed, packed_objects, packed_payload) = match &self.packed {
            Some(_) => {
                let atomic = AtomicSection::enter(&self.backend);
                let state = self.lock_packed(&atomic);
                (Some(state.stats()), state.objects, state.payload_bytes)
            }
            None => (None, 0, 0),
        };
        PoolStats {
            name: String::from(self.name()),
            objects_used: packed_objects
                + classes.iter().map(|row| row.objects_used).sum::<usize>(),
            payload_bytes: packed_payload
                + classes.iter().map(|row| row.payload_bytes).sum::<usize>(),
            classes,
            total_pages: self.total_pages(),
            pages_compacted: self
                .pages_compacted
                .load(core::sync::atomic::Ordering::Relaxed),
            metadata_bytes: self.metadata_bytes(),
            huge_class_size: self.huge_class_size(),
            packed,
        }
    }
}

impl PoolStats {
    /// Pages compaction could free now, summed over the classes.
    pub fn freeable(&self) -> usize {
        let packed = self.packed.as_ref().map_or(0, |packed| packed.freeable);
        packed + self.classes.iter().map(|row| row.freeable).sum::<usize>()
    }
}

fn group_label(group: usize) -> String {
    match group {
        FULL_GROUP => String::from("100%"),
        10 => String::from("99%"),
        _ => alloc::format!("{}%", group * 10),
    }
}

impl fmt::Display for PoolStats {
    /// The class table. Only classes holding pages are shown, unless the
    /// alternate form (`{:#}`) is used.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "pool {:?}: {} pages ({} KiB), {} objects, {} payload bytes, {} pages compacted, {} metadata bytes",
            self.name,
            self.total_pages,
            self.total_pages * 4,
            self.objects_used,
            self.payload_bytes,
            self.pages_compacted,
            self.metadata_bytes
        )?;
        if let Some(packed) = &self.packed {
            return write_packed(formatter, packed);
        }
        write!(formatter, "{:>5} {:>5}", "class", "size")?;
        for group in 1..FULLNESS_GROUPS {
            write!(formatter, " {:>4}", group_label(group))?;
        }
        writeln!(
            formatter,
            " {:>13} {:>8} {:>10} {:>16} {:>8}",
            "obj_allocated", "obj_used", "pages_used", "pages_per_zspage", "freeable"
        )?;
        for row in &self.classes {
            if row.pages_used == 0 && !formatter.alternate() {
                continue;
            }
            write!(formatter, "{:>5} {:>5}", row.index, row.size)?;
            for count in &row.zspages_by_fullness[1..] {
                write!(formatter, " {:>4}", count)?;
            }
            writeln!(
                formatter,
                " {:>13} {:>8} {:>10} {:>16} {:>8}",
                row.objects_allocated,
                row.objects_used,
                row.pages_used,
                row.pages_per_zspage,
                row.freeable
            )?;
        }
        writeln!(
            formatter,
            "{:>5} {:>5} {:>59} {:>13} {:>8} {:>10} {:>16} {:>8}",
            "total",
            "",
            "",
            self.classes
                .iter()
                .map(|row| row.objects_allocated)
                .sum::<usize>(),
            self.objects_used,
            self.total_pages,
            "",
            self.freeable()
        )
    }
}

/// The packed layout's table:
///
/// ```text
///  packed layout: 17 zspages, 250 pages, open zspage filled to 24576 of its bytes
///  zspages by fullness:  10%  20% ...  99% 100%
///                          0    1 ...   15    0
///  live 1012345 B, holes 2345 B, lost 96 B, freeable <= 2 pages
///  holes  size  count   bytes
///           48      3     144
/// ```
fn write_packed(formatter: &mut fmt::Formatter<'_>, packed: &PackedStats) -> fmt::Result {
    write!(
        formatter,
        "packed layout: {} zspages, {} pages",
        packed.zspages, packed.pages
    )?;
    match packed.open_end {
        Some(end) => writeln!(formatter, ", open zspage filled to byte {end}")?,
        None => writeln!(formatter, ", no open zspage")?,
    }
    write!(formatter, "zspages by fullness:")?;
    for group in 1..FULLNESS_GROUPS {
        write!(formatter, " {:>4}", group_label(group))?;
    }
    writeln!(formatter)?;
    write!(formatter, "{:20}", "")?;
    for count in &packed.zspages_by_fullness[1..] {
        write!(formatter, " {:>4}", count)?;
    }
    writeln!(formatter)?;
    writeln!(
        formatter,
        "live {} B, holes {} B, lost {} B, freeable <= {} pages",
        packed.live_bytes, packed.hole_bytes, packed.lost_bytes, packed.freeable
    )?;
    writeln!(
        formatter,
        "{:>5} {:>5} {:>6} {:>8}",
        "holes", "size", "count", "bytes"
    )?;
    for (size, count, bytes) in &packed.holes_by_class {
        writeln!(formatter, "{:>5} {:>5} {:>6} {:>8}", "", size, count, bytes)?;
    }
    Ok(())
}
