//! Pool configuration: which layout, with which geometry.
//!
//! ```text
//!   Config::linux(8)   Linux's layout, CONFIG_ZSMALLOC_CHAIN_SIZE = 8 (Linux's default)
//!   Config::linux(4)   the same with zspages of at most 4 pages
//!   Config::packed()   our packed layout (the default: Pool::new, the demo)
//!
//!   Config::Linux(LinuxConfig { .. })   one knob changed at a time, for experiments
//!   Config::Packed(PackedConfig { .. })
//! ```
//!
//! Both layouts share the notion of size classes `class_spacing` apart from
//! `min_object_size` up to `PAGE_SIZE`, and of zspages of at most
//! `max_pages_per_zspage` pages; the rest is each layout's own
//! ([`LinuxConfig`], [`PackedConfig`]).

use alloc::boxed::Box;
use core::fmt;

use crate::backend::{Backend, PAGE_SIZE};
use crate::layout::Layout;
use crate::linux::{LinuxConfig, LinuxLayout};
use crate::packed::{PackedConfig, PackedLayout};

/// The largest chain (pages per zspage) accepted, Linux's Kconfig maximum.
pub const MAX_CHAIN_LENGTH: usize = 16;

/// The layout of a pool and its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// Linux's layout ([`crate::linux`]).
    Linux(LinuxConfig),
    /// Our packed layout ([`crate::packed`]).
    Packed(PackedConfig),
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
    /// The packed layout's reuse window must be at most
    /// [`crate::packed::MAX_REUSE_WINDOW`] classes.
    ReuseWindow,
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
            ConfigError::ReuseWindow => "the packed layout's reuse window is at most 64 classes",
        };
        formatter.write_str(text)
    }
}

impl Config {
    /// Linux's layout and geometry with the given chain length (Linux
    /// allows 4..=16, default 8).
    pub const fn linux(max_pages_per_zspage: usize) -> Config {
        Config::Linux(LinuxConfig::with_chain(max_pages_per_zspage))
    }

    /// Our packed layout with its default geometry ([`PackedConfig::DEFAULT`]).
    pub const fn packed() -> Config {
        Config::Packed(PackedConfig::DEFAULT)
    }

    /// Check the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Config::Linux(config) => config.validate(),
            Config::Packed(config) => config.validate(),
        }
    }

    /// Build the layout this configuration describes.
    pub fn layout<B: Backend>(&self) -> Result<Box<dyn Layout<B>>, ConfigError> {
        self.validate()?;
        Ok(match *self {
            Config::Linux(config) => Box::new(LinuxLayout::new(config)),
            Config::Packed(config) => Box::new(PackedLayout::new(config)),
        })
    }
}

impl Default for Config {
    /// The packed layout, as `Pool::new` and the demo use.
    fn default() -> Config {
        Config::packed()
    }
}

/// The checks both layouts make of their shared geometry.
pub(crate) fn validate_geometry(
    class_spacing: usize,
    min_object_size: usize,
    max_pages_per_zspage: usize,
) -> Result<(), ConfigError> {
    if class_spacing == 0 || !class_spacing.is_multiple_of(8) || class_spacing > PAGE_SIZE {
        return Err(ConfigError::ClassSpacing);
    }
    let minimum = min_object_size;
    if minimum < 16 || !minimum.is_multiple_of(8) || minimum > PAGE_SIZE {
        return Err(ConfigError::MinObjectSize);
    }
    if !(1..=MAX_CHAIN_LENGTH).contains(&max_pages_per_zspage) {
        return Err(ConfigError::ChainLength);
    }
    Ok(())
}
