//! The knobs of the packed layout.
//!
//! ```text
//!   class_spacing         holes are listed by size classes this far apart
//!                         (8 B); objects are rounded up to 8 B whatever the
//!                         spacing
//!   min_object_size       the smallest extent an object takes (16 B)
//!   max_pages_per_zspage  a zspage's capacity, its pages allocated one at a
//!                         time as it fills (16 pages)
//!   reuse_window          how many classes larger than its own a request may
//!                         take a hole from (8)
//! ```

use crate::config::{validate_geometry, ConfigError};

/// The largest reuse window accepted.
pub const MAX_REUSE_WINDOW: usize = 64;

/// The geometry of the packed layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedConfig {
    /// Distance between hole classes (objects are rounded up to 8 bytes).
    pub class_spacing: usize,
    /// Smallest extent an object occupies.
    pub min_object_size: usize,
    /// Capacity of a zspage, in pages.
    pub max_pages_per_zspage: usize,
    /// How many classes larger than its own a request may take a hole from
    /// (at most [`MAX_REUSE_WINDOW`]).
    pub reuse_window: usize,
}

impl PackedConfig {
    /// The configuration the project measures and the demo uses:
    /// hole classes 8 bytes apart, 16-byte minimum objects, zspages of up
    /// to 16 lazily allocated pages, holes reused by requests up to 8
    /// classes (64 bytes) smaller.
    pub const DEFAULT: PackedConfig = PackedConfig {
        class_spacing: 8,
        min_object_size: 16,
        max_pages_per_zspage: 16,
        reuse_window: 8,
    };

    /// Check the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_geometry(
            self.class_spacing,
            self.min_object_size,
            self.max_pages_per_zspage,
        )?;
        if self.reuse_window > MAX_REUSE_WINDOW {
            return Err(ConfigError::ReuseWindow);
        }
        Ok(())
    }
}

impl Default for PackedConfig {
    fn default() -> Self {
        PackedConfig::DEFAULT
    }
}
