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
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// Class spacing must be a non-zero multiple of 8, at most `PAGE_SIZE`.
    ClassSpacing,
    /// Minimum object size must be a multiple of 8 in `16..=PAGE_SIZE`.
    MinObjectSize,
    /// Chain length must be in `1..=MAX_CHAIN_LENGTH`.
    ChainLength,
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
