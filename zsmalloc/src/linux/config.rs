//! The knobs of Linux's layout.
//!
//! [`LinuxConfig::with_chain`] reproduces Linux exactly
//! (`CONFIG_ZSMALLOC_CHAIN_SIZE` is the `max_pages_per_zspage` argument).
//! The other fields let experiments change one rule at a time; the last,
//! [`CompactLimits`], bounds the work of one compaction step (one atomic
//! section):
//!
//! ```text
//!   min_object_size        class_spacing
//!   |<--- 32 --->|<- 16 ->|<- 16 ->| ...        |<- 16 ->|
//!   class 0      class 1  class 2  ...   class 254 = PAGE_SIZE
//! ```

use crate::config::{validate_geometry, ConfigError};

/// Bytes of the inline handle header (`ZS_HANDLE_SIZE` in Linux).
pub const HANDLE_HEADER_SIZE: usize = 8;

/// Where the layout remembers which handle owns an allocated object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlePlacement {
    /// Linux's way: an 8-byte header in front of every non-huge object
    /// (huge objects keep it outside, as Linux keeps it in `page->index`).
    Inline,
    /// Every class keeps owners in a side table: objects need no header, at
    /// the price of 4 bytes of heap metadata per object.
    OutOfBand,
}

/// The geometry of Linux's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinuxConfig {
    /// Distance in bytes between consecutive size classes (Linux: 16).
    pub class_spacing: usize,
    /// Size of the smallest class (Linux: 32).
    pub min_object_size: usize,
    /// Longest zspage chain (Linux: `CONFIG_ZSMALLOC_CHAIN_SIZE`, default 8).
    pub max_pages_per_zspage: usize,
    /// Where handles of allocated objects are recorded (Linux: inline).
    pub handle_placement: HandlePlacement,
    /// Merge neighbouring classes with identical geometry (Linux: yes).
    pub merge_classes: bool,
    /// The work of one compaction step, one atomic section under a class
    /// lock (Linux: until its lock is contended).
    pub compact_step: CompactLimits,
}

/// How much one compaction step may do (see `linux::compact`). Whatever the
/// limits, a step looks at one slot of its source at least, and moves the
/// first allocated object it finds. (16-bit fields: the configuration keeps
/// its size.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactLimits {
    /// Most payload bytes copied.
    pub bytes: u16,
    /// Most objects moved.
    pub objects: u16,
    /// Most object slots of the source looked at.
    pub slots: u16,
}

impl CompactLimits {
    /// The default: one page of payload, 4 objects, 128 slots (a few
    /// microseconds with interrupts off; README "interrupts off").
    pub const DEFAULT: CompactLimits = CompactLimits {
        bytes: crate::backend::PAGE_SIZE as u16,
        objects: 4,
        slots: 128,
    };

    /// No limit: more than a zspage holds (at most 16 pages, 4,096
    /// objects), so a step runs until its source is empty or its target
    /// full.
    pub const UNLIMITED: CompactLimits = CompactLimits {
        bytes: u16::MAX,
        objects: u16::MAX,
        slots: u16::MAX,
    };
}

impl LinuxConfig {
    /// Linux's geometry with the given chain length (Linux allows 4..=16,
    /// default 8).
    pub const fn with_chain(max_pages_per_zspage: usize) -> LinuxConfig {
        LinuxConfig {
            class_spacing: 16,
            min_object_size: 32,
            max_pages_per_zspage,
            handle_placement: HandlePlacement::Inline,
            merge_classes: true,
            compact_step: CompactLimits::DEFAULT,
        }
    }

    /// Check the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_geometry(
            self.class_spacing,
            self.min_object_size,
            self.max_pages_per_zspage,
        )
    }

    /// Bytes of header that a (non-huge) object carries in front of its data.
    pub fn inline_header_size(&self) -> usize {
        match self.handle_placement {
            HandlePlacement::Inline => HANDLE_HEADER_SIZE,
            HandlePlacement::OutOfBand => 0,
        }
    }
}
