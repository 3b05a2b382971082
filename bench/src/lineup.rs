//! The allocators compared: a table of (row name, constructor).
//!
//! ```text
//!   zsmalloc_configurations()   ("zsmalloc linux chain 4", Config::linux(4))
//!                               ("zsmalloc linux chain 8", Config::linux(8))
//!                               ... one line per further configuration
//!   + the packed layout without automatic compaction ("zsmalloc packed, no auto")
//!   + baselines                 zbud, slab (power of 2), ideal
//! ```
//!
//! Each experiment builds a fresh allocator from its constructor, so the
//! experiments do not influence each other. The zsmalloc rows are generic
//! over the backend: the host passes a heap backend, the kernel its frames.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use zsmalloc::{Backend, Config, HandlePlacement, LinuxConfig, PackedConfig};

use crate::ideal::IdealAllocator;
use crate::object_allocator::ObjectAllocator;
use crate::slab::SlabAllocator;
use crate::zbud::Zbud;
use crate::zsmalloc_allocator::ZsmallocAllocator;

/// Builds an empty allocator.
pub type Constructor = Box<dyn Fn() -> Box<dyn ObjectAllocator>>;

/// One row of the tables.
pub struct Contender {
    /// The row name (the allocator's name).
    pub name: String,
    /// Builds a fresh, empty allocator.
    pub build: Constructor,
}

/// The zsmalloc configurations compared, as (row name, configuration).
///
/// The Linux rows must reproduce Linux's geometry exactly (16-byte class
/// spacing, class merging, 8-byte handle header).
/// **Our best configuration goes here**: one more `(name, Config)` line.
pub fn zsmalloc_configurations() -> Vec<(&'static str, Config)> {
    vec![
        ("zsmalloc linux chain 4", Config::linux(4)),
        ("zsmalloc linux chain 8", Config::linux(8)),
        ("zsmalloc packed", Config::packed()),
    ]
}

/// Variants that each change one design choice, to show what it buys
/// (parts 1 and 2 only): Linux's layout with the handle kept out of the
/// object, and our packed layout with shorter zspages, no hole reuse
/// across classes, or hole classes twice as far apart.
pub fn design_variants() -> Vec<(&'static str, Config)> {
    let linux_out_of_band = Config::Linux(LinuxConfig {
        handle_placement: HandlePlacement::OutOfBand,
        ..LinuxConfig::with_chain(4)
    });
    let packed = |max_pages_per_zspage, reuse_window| {
        Config::Packed(PackedConfig {
            max_pages_per_zspage,
            reuse_window,
            ..PackedConfig::DEFAULT
        })
    };
    vec![
        ("linux chain 4", Config::linux(4)),
        ("linux 4, handle outside", linux_out_of_band),
        ("packed, 4-page zspages", packed(4, 8)),
        ("packed, 8-page zspages", packed(8, 8)),
        ("packed, reuse window 0", packed(16, 0)),
        ("packed, reuse window 2", packed(16, 2)),
        (
            "packed, 16 B hole classes",
            Config::Packed(PackedConfig {
                class_spacing: 16,
                ..PackedConfig::DEFAULT
            }),
        ),
        ("packed (16 pages, w 8)", Config::packed()),
    ]
}

/// Every allocator of the benchmark, zsmalloc pools drawing pages from
/// backends made by `new_backend` (one backend per pool).
pub fn lineup<B, F>(new_backend: F) -> Vec<Contender>
where
    B: Backend + 'static,
    F: Fn() -> B + Clone + 'static,
{
    let mut contenders: Vec<Contender> = zsmalloc_configurations()
        .into_iter()
        .map(|(name, config)| {
            let new_backend = new_backend.clone();
            let build: Constructor = Box::new(move || {
                let pool = ZsmallocAllocator::new(name, new_backend(), config);
                Box::new(pool.expect("the listed configurations are valid"))
            });
            Contender {
                name: String::from(name),
                build,
            }
        })
        .collect();
    // The packed layout again, compacting only when asked (as Linux's
    // layout does): what automatic compaction buys, and what it costs.
    let build: Constructor = Box::new(move || {
        let name = MANUAL_PACKED;
        let allocator = ZsmallocAllocator::new(name, new_backend(), Config::packed());
        let allocator = allocator.expect("the packed configuration is valid");
        allocator.pool().set_auto_compaction(false);
        Box::new(allocator)
    });
    contenders.push(Contender {
        name: String::from(MANUAL_PACKED),
        build,
    });
    contenders.extend(baselines());
    contenders
}

/// The row of the packed layout without automatic compaction.
pub const MANUAL_PACKED: &str = "zsmalloc packed, no auto";

/// The comparison allocators: zbud, a power-of-two slab, the ideal.
pub fn baselines() -> Vec<Contender> {
    let constructors: [Constructor; 3] = [
        Box::new(|| Box::new(Zbud::new())),
        Box::new(|| Box::new(SlabAllocator::new(0))),
        Box::new(|| Box::new(IdealAllocator::new())),
    ];
    constructors
        .into_iter()
        .map(|build| Contender {
            name: build().name(),
            build,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zsmalloc::testing::HeapBackend;

    #[test]
    fn every_contender_builds_an_allocator_of_its_name() {
        let contenders = lineup(HeapBackend::new);
        let names: Vec<&str> = contenders.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "zsmalloc linux chain 4",
                "zsmalloc linux chain 8",
                "zsmalloc packed",
                "zsmalloc packed, no auto",
                "zbud (2 per page)",
                "slab (power of 2)",
                "ideal"
            ]
        );
        for contender in &contenders {
            assert_eq!((contender.build)().name(), contender.name);
        }
    }
}
