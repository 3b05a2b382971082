//! The class table, in the shape of Linux's debugfs `classes` file.
//!
//! ```text
//!  class  size  10%  20% ... 99% 100%  obj_allocated  obj_used  pages_used  pages_per_zspage  freeable
//!     12   224    1    0 ...   0    3             72        58           4                 1         1
//! ```
//!
//! The percentage columns count zspages per fullness group; `freeable` is
//! what compaction could give back (`zs_can_compact`).

use core::fmt;

use super::zspage::ClassState;
use crate::fullness::{group_label, FULLNESS_GROUPS};

/// One row of the class table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassStats {
    /// Logical class index (as Linux prints it).
    pub index: usize,
    /// Object size in bytes (the class size, header included).
    pub size: usize,
    /// Objects per zspage.
    pub objects_per_zspage: usize,
    /// Pages per zspage.
    pub pages_per_zspage: usize,
    /// One object per page, owner kept outside.
    pub huge: bool,
    /// Zspages in each fullness group: empty, <10%, ..., <100%, full.
    pub zspages_by_fullness: [usize; FULLNESS_GROUPS],
    /// Objects, allocated or free, in all zspages of the class.
    pub objects_allocated: usize,
    /// Objects allocated.
    pub objects_used: usize,
    /// Sum of the payload sizes of the objects in use.
    pub payload_bytes: usize,
    /// Pages held by the class.
    pub pages_used: usize,
    /// Pages compaction could free.
    pub freeable: usize,
}

impl<P: Copy + Eq + fmt::Debug> ClassState<P> {
    /// This class's row.
    pub(crate) fn stats(&self) -> ClassStats {
        let geometry = &self.geometry;
        ClassStats {
            index: geometry.index,
            size: geometry.size,
            objects_per_zspage: geometry.objects_per_zspage,
            pages_per_zspage: geometry.pages_per_zspage,
            huge: geometry.huge,
            zspages_by_fullness: self.group_counts.map(|count| count as usize),
            objects_allocated: self.objects_allocated(),
            objects_used: self.objects_used,
            payload_bytes: self.payload_bytes,
            pages_used: self.live_zspages * geometry.pages_per_zspage,
            freeable: self.compactable_pages(),
        }
    }
}

/// Write the class table: classes holding pages, or every class in the
/// alternate form (`{:#}`), then the totals.
pub(crate) fn write_class_table(
    formatter: &mut fmt::Formatter<'_>,
    rows: &[ClassStats],
) -> fmt::Result {
    write!(formatter, "{:>5} {:>5}", "class", "size")?;
    for group in 1..FULLNESS_GROUPS {
        write!(formatter, " {:>4}", group_label(group))?;
    }
    writeln!(
        formatter,
        " {:>13} {:>8} {:>10} {:>16} {:>8}",
        "obj_allocated", "obj_used", "pages_used", "pages_per_zspage", "freeable"
    )?;
    for row in rows {
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
    let total = |field: fn(&ClassStats) -> usize| rows.iter().map(field).sum::<usize>();
    writeln!(
        formatter,
        "{:>5} {:>5} {:>59} {:>13} {:>8} {:>10} {:>16} {:>8}",
        "total",
        "",
        "",
        total(|row| row.objects_allocated),
        total(|row| row.objects_used),
        total(|row| row.pages_used),
        "",
        total(|row| row.freeable)
    )
}
