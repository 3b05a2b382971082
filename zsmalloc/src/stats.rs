//! Statistics: the pool's figures, and each layout's own table.
//!
//! ```text
//!  pool "zram0": 1292 pages (5168 KiB), 4161 objects, 5246187 payload bytes, 0 pages compacted, ...
//!  metadata 26.7 bytes per object; efficiency 0.991, counting metadata 0.971
//!  <the layout's table>   linux:  one row per size class, like Linux's debugfs `classes` file
//!                         packed: zspages by fullness, live / hole / lost bytes, holes by size
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::Ordering;

use crate::auto_compaction::AutoCompactionStats;
use crate::backend::Backend;
use crate::linux::ClassStats;
use crate::packed::PackedStats;
use crate::pool::Pool;

/// What a layout reports ([`crate::Layout::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutStats {
    /// Objects allocated.
    pub objects_used: usize,
    /// Sum of the payload sizes of all objects.
    pub payload_bytes: usize,
    /// Pages compaction could free now (exact or an upper bound, as the
    /// layout documents).
    pub freeable: usize,
    /// Heap bytes of the layout's own bookkeeping (its records, lists and
    /// the layout itself; the handle table is counted by the pool).
    pub metadata_bytes: usize,
    /// The layout's own table.
    pub detail: LayoutDetail,
}

/// A layout's own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutDetail {
    /// Linux's layout: one row per (merged) size class, in increasing size.
    Linux(Vec<ClassStats>),
    /// The packed layout's figures.
    Packed(PackedStats),
    /// Another layout: its table, already formatted.
    Other(String),
}

/// A snapshot of a pool's statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The pool's name.
    pub name: String,
    /// The layout's name (`linux`, `packed`, ...).
    pub layout: &'static str,
    /// Pages held by the pool.
    pub total_pages: usize,
    /// Pages freed by compaction since the pool was created.
    pub pages_compacted: usize,
    /// Objects allocated.
    pub objects_used: usize,
    /// Sum of the payload sizes of all objects.
    pub payload_bytes: usize,
    /// Heap bytes of the allocator's own metadata (handle table, the
    /// layout's records and lists, the pool itself).
    pub metadata_bytes: usize,
    /// `zs_huge_class_size`.
    pub huge_class_size: usize,
    /// Pages compaction could free now.
    pub freeable: usize,
    /// Automatic compaction: on or off, and what it did.
    pub auto_compaction: AutoCompactionStats,
    /// The layout's own table.
    pub detail: LayoutDetail,
}

impl PoolStats {
    /// The class rows of Linux's layout (empty for other layouts).
    pub fn classes(&self) -> &[ClassStats] {
        match &self.detail {
            LayoutDetail::Linux(rows) => rows,
            _ => &[],
        }
    }

    /// The packed layout's figures (`None` for other layouts).
    pub fn packed(&self) -> Option<&PackedStats> {
        match &self.detail {
            LayoutDetail::Packed(packed) => Some(packed),
            _ => None,
        }
    }

    /// Metadata bytes per object allocated (0 when the pool is empty).
    pub fn metadata_per_object(&self) -> f64 {
        ratio(self.metadata_bytes, self.objects_used)
    }

    /// Payload bytes over the bytes of the pool's pages (0 when it holds
    /// none): Linux's `compr_data_size / mem_used_total`.
    pub fn efficiency(&self) -> f64 {
        ratio(self.payload_bytes, self.total_pages * crate::PAGE_SIZE)
    }

    /// Payload bytes over the bytes of the pool's pages plus its metadata:
    /// the efficiency counting every byte the allocator uses.
    pub fn efficiency_with_metadata(&self) -> f64 {
        ratio(
            self.payload_bytes,
            self.total_pages * crate::PAGE_SIZE + self.metadata_bytes,
        )
    }
}

/// `numerator / denominator`, 0 for a denominator of 0.
fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

impl<B: Backend> Pool<B> {
    /// A snapshot of the statistics (read under the layout's locks).
    pub fn stats(&self) -> PoolStats {
        let layout = self.layout().stats(self.core());
        PoolStats {
            name: String::from(self.name()),
            layout: self.layout().name(),
            total_pages: self.total_pages(),
            pages_compacted: self.pages_compacted.load(Ordering::Relaxed),
            objects_used: layout.objects_used,
            payload_bytes: layout.payload_bytes,
            metadata_bytes: self.own_metadata_bytes() + layout.metadata_bytes,
            huge_class_size: self.huge_class_size(),
            freeable: layout.freeable,
            auto_compaction: self.auto_compaction(),
            detail: layout.detail,
        }
    }
}

impl fmt::Display for PoolStats {
    /// The pool's line, then the layout's table. Linux's class table shows
    /// only classes holding pages, unless the alternate form (`{:#}`) is used.
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
        writeln!(
            formatter,
            "metadata {:.1} bytes per object; efficiency {:.3}, counting metadata {:.3}",
            self.metadata_per_object(),
            self.efficiency(),
            self.efficiency_with_metadata()
        )?;
        match &self.detail {
            LayoutDetail::Linux(rows) => crate::linux::write_class_table(formatter, rows),
            LayoutDetail::Packed(packed) => write!(formatter, "{packed}"),
            LayoutDetail::Other(table) => formatter.write_str(table),
        }
    }
}
