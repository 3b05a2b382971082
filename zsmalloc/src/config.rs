//! Pool configuration: the knobs that decide the size-class geometry.
//!
//! [`Config::linux`] reproduces Linux exactly (`CONFIG_ZSMALLOC_CHAIN_SIZE`
//! is the `max_pages_per_zspage` argument). The other fields let experiments
//! change one rule at a time:
//!
//! ```text
//!   min_object_size        class_spacing
//!   |<--- 32 --->|<- 16 ->|<- 16 ->| ...        |<- 16 ->|
//!   class 0      class 1  class 2  ...   class 254 = PAGE_SIZE
//! ```
//!
//! [`Config::efficient`] selects our packed layout ([`Layout::Packed`],
//! module [`crate::packed`]) instead of Linux's per-class zspages.

use core::fmt;

use crate::backend::PAGE_SIZE;

/// The largest chain (pages per zspage) accepted, Linux's Kconfig maximum.
pub const MAX_CHAIN_LENGTH: usize = 16;

/// Bytes of the inline handle header (`ZS_HANDLE_SIZE` in Linux).
pub const HANDLE_HEADER_SIZE: usize = 8;

/// Where the allocator remembers which handle owns an allocated object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlePlacement {
    /// Linux's way: an 8-byte header in front of every non-huge object
    /// (huge objects keep it outside, as Linux keeps it in `page->index`).
    Inline,
    /// Every class keeps owners in a side table: objects need no header, at
    /// the price of 4 bytes of heap metadata per object slot.
    OutOfBand,
}

/// Geometry of a pool. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Distance in bytes between consecutive size classes (Linux: 16).
    pub class_spacing: usize,
    /// Size of the smallest class (Linux: 32).
    pub min_object_size: usize,
    /// Longest zspage chain (Linux: `CONFIG_ZSMALLOC_CHAIN_SIZE`, default 8).
    pub max_pages_per_zspage: usize,
    /// Where handles of allocated objects are recorded.
    pub handle_placement: HandlePlacement,
    /// Merge neighbouring classes with identical geometry (Linux: yes).
    pub merge_classes: bool,
    /// How objects are arranged in zspages (Linux: [`Layout::SizeClassed`]).
    pub layout: Layout,
}

/// How a pool arranges objects in zspages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Linux's layout: every size class has its own zspages of equal slots
    /// (and so its own partly filled last zspage).
    SizeClassed,
    /// Our efficient layout ([`crate::packed`]): objects of every size are
    /// packed end to end into one shared open zspage; a freed object leaves
    /// a *hole* that is reused by objects of its size class or of up to
    /// `reuse_window` classes below it.
    Packed {
        /// How many classes larger than its own a request may take a hole
        /// from (at most [`MAX_REUSE_WINDOW`]).
        reuse_window: usize,
    },
}

/// The largest reuse window accepted by [`Layout::Packed`].
pub const MAX_REUSE_WINDOW: usize = 64;

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// Class spacing must be a non-zero multiple of 8, at most `PAGE_SIZE`.
    ClassSpacing,
    /// Minimum object size must be a multiple of 8 in `16..=PAGE_SIZE`.
    MinObjectSize,
    /// Chain length must be in `1..=MAX_CHAIN_LENGTH`.
    ChainLength,
    /// The packed layout keeps handles out of band and accepts a reuse
    /// window of at most `MAX_REUSE_WINDOW` classes.
    PackedLayout,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ConfigError::ClassSpacing => {
                "class spacing must be a non-zero multiple of 8 up to PAGE_SIZE"
            }
            ConfigError::MinObjectSize => {
                "minimum object size must be a multiple of 8 in 16..=PAGE_SIZE"
            }
            ConfigError::ChainLength => "pages per zspage must be in 1..=16",
            ConfigError::PackedLayout => {
                "the packed layout needs out-of-band handles and a reuse window of at most 64"
            }
        };
        formatter.write_str(text)
    }
}

impl Config {
    /// Linux's geometry with the given chain length (Linux allows 4..=16,
    /// default 8).
    pub const fn linux(max_pages_per_zspage: usize) -> Config {
        Config {
            class_spacing: 16,
            min_object_size: 32,
            max_pages_per_zspage,
            handle_placement: HandlePlacement::Inline,
            merge_classes: true,
            layout: Layout::SizeClassed,
        }
    }

    /// Our efficient configuration: the packed layout (see [`crate::packed`])
    /// with 16-byte rounding, 16-byte minimum objects, zspages of up to 16
    /// lazily allocated pages, no inline handle header, and holes reused by
    /// requests up to 8 classes (128 bytes) smaller.
    pub const fn efficient() -> Config {
        Config {
            class_spacing: 16,
            min_object_size: 16,
            max_pages_per_zspage: 16,
            handle_placement: HandlePlacement::OutOfBand,
            merge_classes: false,
            layout: Layout::Packed { reuse_window: 8 },
        }
    }

    /// Check the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let spacing = self.class_spacing;
        if spacing == 0 || !spacing.is_multiple_of(8) || spacing > PAGE_SIZE {
            return Err(ConfigError::ClassSpacing);
        }
        let minimum = self.min_object_size;
        if minimum < 16 || !minimum.is_multiple_of(8) || minimum > PAGE_SIZE {
            return Err(ConfigError::MinObjectSize);
        }
        if !(1..=MAX_CHAIN_LENGTH).contains(&self.max_pages_per_zspage) {
            return Err(ConfigError::ChainLength);
        }
        if let Layout::Packed { reuse_window } = self.layout {
            let out_of_band = self.handle_placement == HandlePlacement::OutOfBand;
            if !out_of_band || reuse_window > MAX_REUSE_WINDOW {
                return Err(ConfigError::PackedLayout);
            }
        }
        Ok(())
    }

    /// Bytes of header that a (non-huge) object carries in front of its data.
    pub fn inline_header_size(&self) -> usize {
        match self.handle_placement {
            HandlePlacement::Inline => HANDLE_HEADER_SIZE,
            HandlePlacement::OutOfBand => 0,
        }
    }
}

impl Default for Config {
    /// Linux's defaults: `Config::linux(8)`.
    fn default() -> Config {
        Config::linux(8)
    }
}
