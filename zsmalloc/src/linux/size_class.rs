//! Size classes: which zspage geometry serves which object size.
//!
//! A request of `n` bytes (plus the 8-byte handle header, as in Linux) is
//! rounded up to the next *logical* class; classes are `class_spacing` apart:
//!
//! ```text
//!  logical index:   0    1    2         k                     254
//!  class size:     32   48   64   ...  32+16k   ...          4096
//!  pages/zspage:    1    3    1   ...  (least waste, <= chain)  1
//! ```
//!
//! Each class picks the number of pages per zspage (1..=chain) that wastes
//! the fewest bytes at the end of the zspage (Linux's
//! `calculate_zspage_chain_size`). Neighbouring classes whose zspages have the
//! same pages *and* objects are merged into one *physical* class (the larger
//! size serves them all). Classes with one object on one page are *huge*:
//! their owner handle is kept outside the object.

use alloc::vec::Vec;

use crate::backend::PAGE_SIZE;
use crate::linux::config::{HandlePlacement, LinuxConfig, HANDLE_HEADER_SIZE};

/// The shape of one (physical) size class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassGeometry {
    /// Logical index of the class (the largest logical class it serves).
    pub index: usize,
    /// Object size in bytes, header included.
    pub size: usize,
    /// Pages chained into one zspage.
    pub pages_per_zspage: usize,
    /// Objects in one zspage.
    pub objects_per_zspage: usize,
    /// One object per page: the owner handle lives outside the object.
    pub huge: bool,
    /// Bytes in front of the payload inside the object (8 or 0).
    pub header_size: usize,
}

/// Linux's rule: the chain length (1..=`max_chain`) with the least waste at
/// the end of the zspage; ties go to the shorter chain; powers of two use 1.
pub fn zspage_chain_length(class_size: usize, max_chain: usize) -> usize {
    if class_size.is_power_of_two() {
        return 1;
    }
    let mut best_chain = 1;
    let mut least_waste = usize::MAX;
    for chain in 1..=max_chain {
        let waste = (chain * PAGE_SIZE) % class_size;
        if waste < least_waste {
            least_waste = waste;
            best_chain = chain;
        }
    }
    best_chain
}

/// Number of logical classes for a configuration (255 for Linux's).
pub fn logical_class_count(config: &LinuxConfig) -> usize {
    (PAGE_SIZE - config.min_object_size).div_ceil(config.class_spacing) + 1
}

/// Size of logical class `index`.
pub fn logical_class_size(config: &LinuxConfig, index: usize) -> usize {
    (config.min_object_size + index * config.class_spacing).min(PAGE_SIZE)
}

/// All size classes of a pool, and the mapping from request size to class.
#[derive(Debug, Clone)]
pub struct SizeClassTable {
    /// For each logical class, the physical class serving it.
    logical_to_physical: Vec<u16>,
    /// Physical classes, in increasing size.
    classes: Vec<ClassGeometry>,
    /// Like `zs_huge_class_size()`.
    huge_class_size: usize,
    config: LinuxConfig,
}

impl SizeClassTable {
    /// Compute the classes of `config` (assumed validated), the way
    /// `zs_create_pool` does: from the largest class down, merging a class
    /// into the previous one when pages and objects per zspage agree.
    pub fn new(config: &LinuxConfig) -> SizeClassTable {
        let count = logical_class_count(config);
        let mut physical_descending: Vec<ClassGeometry> = Vec::new();
        let mut logical_to_descending = alloc::vec![0usize; count];
        let mut huge_class_size = 0;
        for index in (0..count).rev() {
            let size = logical_class_size(config, index);
            let pages_per_zspage = zspage_chain_length(size, config.max_pages_per_zspage);
            let objects_per_zspage = pages_per_zspage * PAGE_SIZE / size;
            let huge = pages_per_zspage == 1 && objects_per_zspage == 1;
            if pages_per_zspage != 1 && objects_per_zspage != 1 && huge_class_size == 0 {
                // Any payload whose size plus header exceeds this class is huge.
                huge_class_size = size + 1 - header_size_for(config, false);
            }
            if let Some(previous) = physical_descending.last() {
                let same_shape = previous.pages_per_zspage == pages_per_zspage
                    && previous.objects_per_zspage == objects_per_zspage;
                if config.merge_classes && same_shape {
                    logical_to_descending[index] = physical_descending.len() - 1;
                    continue;
                }
            }
            logical_to_descending[index] = physical_descending.len();
            physical_descending.push(ClassGeometry {
                index,
                size,
                pages_per_zspage,
                objects_per_zspage,
                huge,
                header_size: header_size_for(config, huge),
            });
        }
        let physical_count = physical_descending.len();
        physical_descending.reverse();
        let logical_to_physical = logical_to_descending
            .iter()
            .map(|&descending| (physical_count - 1 - descending) as u16)
            .collect();
        SizeClassTable {
            logical_to_physical,
            classes: physical_descending,
            huge_class_size,
            config: *config,
        }
    }

    /// The size-class selection policy, in one place: the physical class for
    /// a payload of `size` bytes (1..=PAGE_SIZE), as Linux's
    /// `get_size_class_index` on `size + ZS_HANDLE_SIZE`.
    pub fn class_for(&self, size: usize) -> usize {
        let needed = size + self.config.inline_header_size();
        let logical = if needed > self.config.min_object_size {
            (needed - self.config.min_object_size).div_ceil(self.config.class_spacing)
        } else {
            0
        };
        let logical = logical.min(self.logical_to_physical.len() - 1);
        self.logical_to_physical[logical] as usize
    }

    /// Physical classes in increasing size.
    pub fn classes(&self) -> &[ClassGeometry] {
        &self.classes
    }

    /// Number of logical classes (before merging).
    pub fn logical_count(&self) -> usize {
        self.logical_to_physical.len()
    }

    /// Physical class serving logical class `logical`.
    pub fn physical_of_logical(&self, logical: usize) -> usize {
        self.logical_to_physical[logical] as usize
    }

    /// The configuration the table was made for.
    pub fn config(&self) -> &LinuxConfig {
        &self.config
    }

    /// Payloads of this size or more go to a huge class (`zs_huge_class_size`).
    pub fn huge_class_size(&self) -> usize {
        self.huge_class_size
    }

    /// Heap bytes of this table.
    pub(crate) fn metadata_bytes(&self) -> usize {
        self.logical_to_physical.capacity() * core::mem::size_of::<u16>()
            + self.classes.capacity() * core::mem::size_of::<ClassGeometry>()
    }
}

/// Header bytes in front of the payload for a class.
fn header_size_for(config: &LinuxConfig, huge: bool) -> usize {
    match config.handle_placement {
        HandlePlacement::Inline if !huge => HANDLE_HEADER_SIZE,
        _ => 0,
    }
}
