//! Size-class geometry against Linux's rules.
//!
//! Fixed vectors come from Linux's `calculate_zspage_chain_size` worked by
//! hand (e.g. class 208: 1 page wastes 144 B, 2 pages 80 B, 3 pages 16 B,
//! the least up to 8 pages). The other checks recompute every class with an
//! independent brute force: for each candidate chain length, objects =
//! floor(chain * 4096 / size) and waste = chain * 4096 - objects * size; pick
//! the least waste, earliest chain on ties, 1 for powers of two; merge runs
//! of neighbouring classes with equal (pages, objects), scanning from the top.

use zsmalloc::linux::SizeClassTable;
use zsmalloc::testing::HeapBackend;
use zsmalloc::{Config, HandlePlacement, LinuxConfig, PackedConfig, Pool, PAGE_SIZE};

/// (pages, objects) per Linux's rule, computed without the crate.
fn brute_force(size: usize, chain: usize) -> (usize, usize) {
    if size & (size - 1) == 0 {
        return (1, PAGE_SIZE / size);
    }
    let candidates: Vec<(usize, usize)> = (1..=chain)
        .map(|pages| {
            let objects = pages * PAGE_SIZE / size;
            (pages * PAGE_SIZE - objects * size, pages)
        })
        .collect();
    let (_, pages) = *candidates.iter().min().unwrap();
    (pages, pages * PAGE_SIZE / size)
}

fn geometry_of(table: &SizeClassTable, logical: usize) -> (usize, usize, usize) {
    let class = &table.classes()[table.physical_of_logical(logical)];
    (class.size, class.pages_per_zspage, class.objects_per_zspage)
}

fn logical_of_size(size: usize) -> usize {
    (size - 32) / 16
}

#[test]
fn linux_reference_classes_with_chain_8() {
    let table = SizeClassTable::new(&LinuxConfig::with_chain(8));
    assert_eq!(table.logical_count(), 255);
    for (size, pages, objects) in [
        (208, 3, 59),
        (1568, 5, 13),
        (3632, 8, 9),
        (32, 1, 128),
        (4096, 1, 1),
    ] {
        let (_, class_pages, class_objects) = geometry_of(&table, logical_of_size(size));
        assert_eq!(
            (class_pages, class_objects),
            (pages, objects),
            "class {size}"
        );
    }
}

#[test]
fn every_class_matches_the_brute_force_for_chains_4_8_16() {
    let chains: &[usize] = if cfg!(miri) { &[8] } else { &[4, 8, 16] };
    for &chain in chains {
        let table = SizeClassTable::new(&LinuxConfig::with_chain(chain));
        for logical in 0..255 {
            let size = 32 + 16 * logical;
            let (merged_size, pages, objects) = geometry_of(&table, logical);
            assert_eq!(
                (pages, objects),
                brute_force(size, chain),
                "chain {chain} size {size}"
            );
            assert!(merged_size >= size);
            // Merged classes are a run of equal geometry up to the merged size.
            for bigger in (size..=merged_size).step_by(16) {
                assert_eq!(brute_force(bigger, chain), (pages, objects));
            }
        }
    }
}

#[test]
fn merging_matches_an_independent_count() {
    for chain in [4, 8, 16] {
        let shapes: Vec<(usize, usize)> =
            (0..255).map(|i| brute_force(32 + 16 * i, chain)).collect();
        let runs = 1 + shapes.windows(2).filter(|pair| pair[0] != pair[1]).count();
        let table = SizeClassTable::new(&LinuxConfig::with_chain(chain));
        assert_eq!(table.classes().len(), runs, "chain {chain}");
        let unmerged = SizeClassTable::new(&LinuxConfig {
            merge_classes: false,
            ..LinuxConfig::with_chain(chain)
        });
        assert_eq!(unmerged.classes().len(), 255);
    }
}

#[test]
fn huge_class_size_follows_linux() {
    for chain in [4, 8, 16] {
        // The largest class (from the top) that is not "1 page, 1 object",
        // minus ZS_HANDLE_SIZE - 1.
        let largest_shared = (0..255)
            .rev()
            .map(|i| 32 + 16 * i)
            .find(|&size| {
                let (pages, objects) = brute_force(size, chain);
                pages != 1 && objects != 1
            })
            .unwrap();
        let pool = Pool::with_config("g", HeapBackend::new(), Config::linux(chain)).unwrap();
        assert_eq!(pool.huge_class_size(), largest_shared - 7, "chain {chain}");
    }
    let linux_default = Pool::with_config("g", HeapBackend::new(), Config::linux(8)).unwrap();
    assert_eq!(linux_default.huge_class_size(), 3632 - 7);
}

#[test]
fn class_selection_is_the_smallest_fitting_class() {
    for placement in [HandlePlacement::Inline, HandlePlacement::OutOfBand] {
        let config = LinuxConfig {
            handle_placement: placement,
            ..LinuxConfig::with_chain(8)
        };
        let table = SizeClassTable::new(&config);
        let header = config.inline_header_size();
        // Every size natively; a sample (still covering both ends) under Miri.
        let step = if cfg!(miri) { 61 } else { 1 };
        for size in (1..=PAGE_SIZE).step_by(step).chain([PAGE_SIZE]) {
            let class = &table.classes()[table.class_for(size)];
            assert!(
                class.size - class.header_size >= size,
                "size {size} does not fit"
            );
            // Independently: the smallest logical class holding size + header,
            // or the last one, then whatever it was merged into.
            let needed = size + header;
            let logical = (0..255).find(|&i| 32 + 16 * i >= needed).unwrap_or(254);
            assert_eq!(
                table.class_for(size),
                table.physical_of_logical(logical),
                "size {size}"
            );
            // A payload at or above the huge threshold is huge, below is not.
            let huge_threshold = table.huge_class_size();
            assert_eq!(
                class.huge,
                size >= huge_threshold,
                "size {size} placement {placement:?}"
            );
        }
    }
}

#[test]
fn invalid_configurations_are_refused() {
    let linux = LinuxConfig::with_chain(8);
    let packed = PackedConfig::DEFAULT;
    let bad = [
        Config::Linux(LinuxConfig {
            class_spacing: 12,
            ..linux
        }),
        Config::Linux(LinuxConfig {
            class_spacing: 0,
            ..linux
        }),
        Config::Linux(LinuxConfig {
            min_object_size: 8,
            ..linux
        }),
        Config::Linux(LinuxConfig {
            max_pages_per_zspage: 0,
            ..linux
        }),
        Config::Linux(LinuxConfig {
            max_pages_per_zspage: 17,
            ..linux
        }),
        Config::Packed(PackedConfig {
            class_spacing: 12,
            ..packed
        }),
        Config::Packed(PackedConfig {
            max_pages_per_zspage: 17,
            ..packed
        }),
        Config::Packed(PackedConfig {
            reuse_window: 65,
            ..packed
        }),
    ];
    for config in bad {
        assert!(
            Pool::with_config("bad", HeapBackend::new(), config).is_err(),
            "{config:?}"
        );
    }
    Config::linux(4).validate().unwrap();
    Config::packed().validate().unwrap();
    assert_eq!(Config::default(), Config::packed());
}
