//! The labs and their tests: which crate each lab swaps code into, under
//! which cargo feature, and the points of every test.
//!
//! ```text
//!   lab ──► part (crate, feature) ──► target (lib or tests/FILE.rs) ──► test: points
//! ```
//!
//! Every test named here is one of the product's own tests: it runs on the
//! project's code in `./run-qemu.sh test` and on the student's code here.
//! To add a lab, add its entry (and see labs/README.md).

use crate::runner::Target;

/// One lab.
pub struct Lab {
    /// Its name: the folder `labs/NAME/` and the feature `lab-NAME`.
    pub name: &'static str,
    /// What the student writes, in a few words.
    pub summary: &'static str,
    /// The crates its tests run in.
    pub parts: &'static [Part],
}

/// The tests of one lab in one crate.
pub struct Part {
    /// The cargo package.
    pub package: &'static str,
    /// The package's feature that swaps in the student's file (off for the reference).
    pub feature: &'static str,
    /// Test targets, each with its tests and their points.
    pub targets: &'static [(Target, &'static [(&'static str, u32)])],
}

impl Lab {
    /// The most points this lab gives.
    pub fn max_points(&self) -> u32 {
        self.parts
            .iter()
            .flat_map(|part| part.targets.iter())
            .flat_map(|(_, tests)| tests.iter())
            .map(|(_, points)| points)
            .sum()
    }
}

/// Every lab, in the order of the course.
pub const LABS: &[Lab] = &[
    Lab {
        name: "buddy",
        summary: "the buddy frame allocator (host, then the test kernel in QEMU)",
        parts: &[
            Part {
                package: "buddy",
                feature: "lab-buddy",
                targets: &[(
                    Target::Lib,
                    &[
                        ("tests::a_fresh_zone_is_made_of_the_largest_aligned_blocks", 2),
                        ("tests::one_frame_splits_a_block_and_merges_back", 2),
                        ("tests::every_frame_is_allocated_once_then_freed", 2),
                        ("tests::a_run_takes_an_aligned_block_and_gives_back_its_excess", 2),
                        ("tests::bad_frees_and_adds_are_errors_that_change_nothing", 2),
                        ("tests::fragmentation_defeats_runs_but_not_single_frames", 1),
                        ("tests::blocks_never_merge_across_the_zone_start", 1),
                        ("tests::random_runs_match_a_model", 3),
                    ],
                )],
            },
            Part {
                package: "boot",
                feature: "lab-buddy",
                targets: &[(
                    Target::Kernel,
                    &[
                        ("memory::frame::every_frame_of_each_zone_is_allocated_once_then_freed", 2),
                        ("memory::frame::flags_choose_zones", 1),
                        ("memory::frame::bad_frees_are_reported", 1),
                        ("memory::frame::odd_sized_contiguous_runs_give_back_their_excess", 1),
                        ("memory::frame::fragmentation_defeats_contiguous_allocation_but_not_single_frames", 1),
                        ("memory::heap::the_heap_grows_on_demand", 1),
                        ("compressed_ram::every_page_kind_round_trips", 2),
                    ],
                )],
            },
        ],
    },
    Lab {
        name: "kmap",
        summary: "kmap: HIGHMEM frames in slots, unmapping, TLB flushes (in QEMU)",
        parts: &[Part {
            package: "boot",
            feature: "lab-kmap",
            targets: &[(
                Target::Kernel,
                &[
                    (
                        "memory::kmap::lowmem_frames_come_back_through_the_direct_map",
                        1,
                    ),
                    (
                        "memory::kmap::highmem_patterns_survive_remapping_through_other_slots",
                        2,
                    ),
                    ("memory::kmap::slots_nest_in_stack_order_and_run_out", 2),
                    ("memory::kmap::out_of_order_unmap_is_reported", 1),
                    ("memory::kmap::unmapping_what_is_not_mapped_panics", 1),
                    (
                        "memory::kmap::an_interrupt_handler_nests_on_top_of_the_interrupted_code",
                        1,
                    ),
                    ("memory::kmap::a_use_after_unmap_faults", 3),
                    (
                        "compressed_ram::spanning_objects_are_mapped_in_place_on_highmem",
                        1,
                    ),
                    ("compressed_ram::every_page_kind_round_trips", 2),
                    ("compressed_ram::no_timer_interrupt_inside_a_map_window", 1),
                ],
            )],
        }],
    },
    Lab {
        name: "size-classes",
        summary: "size-class geometry: chain length by least waste, class merging",
        parts: &[Part {
            package: "zsmalloc",
            feature: "lab-size-classes",
            targets: &[
                (
                    Target::Test("linux_tables"),
                    &[("chain_4_matches_linux", 3), ("chain_8_matches_linux", 3)],
                ),
                (
                    Target::Test("geometry"),
                    &[
                        ("linux_reference_classes_with_chain_8", 1),
                        ("every_class_matches_the_brute_force_for_chains_4_8_16", 2),
                        ("merging_matches_an_independent_count", 1),
                        ("huge_class_size_follows_linux", 1),
                        ("class_selection_is_the_smallest_fitting_class", 1),
                    ],
                ),
                (
                    Target::Test("contents"),
                    &[("every_size_round_trips_linux_chain_8", 1)],
                ),
            ],
        }],
    },
    Lab {
        name: "zspage",
        summary: "placing objects in a zspage, spanning objects, map windows",
        parts: &[Part {
            package: "zsmalloc",
            feature: "lab-zspage",
            targets: &[
                (
                    Target::Test("contents"),
                    &[
                        ("every_size_round_trips_linux_chain_8", 3),
                        ("every_size_round_trips_chain_4_out_of_band", 2),
                        (
                            "read_write_windows_change_objects_in_place_and_nothing_else",
                            2,
                        ),
                        ("allocation_fills_the_fullest_zspage_first", 1),
                        ("a_walk_shows_every_zspage_and_object", 1),
                        ("stats_table_is_readable", 1),
                    ],
                ),
                (
                    Target::Test("access"),
                    &[
                        (
                            "spanning_objects_are_mapped_in_place_through_a_page_pair",
                            2,
                        ),
                        ("without_page_pairs_spanning_objects_bounce", 1),
                        (
                            "nested_windows_keep_interrupts_off_until_the_outermost_closes",
                            1,
                        ),
                    ],
                ),
                (
                    Target::Test("model"),
                    &[
                        ("pool_matches_the_model", 3),
                        ("every_nth_page_failing_loses_nothing", 2),
                        ("exhausted_backend_refuses_cleanly", 1),
                    ],
                ),
            ],
        }],
    },
    Lab {
        name: "compaction",
        summary: "compaction: objects move, handles stay valid, pages go back",
        parts: &[
            Part {
                package: "zsmalloc",
                feature: "lab-compaction",
                targets: &[(
                    Target::Test("contents"),
                    &[
                        ("compaction_keeps_contents_and_handles", 4),
                        ("compaction_skips_a_pinned_zspage", 3),
                    ],
                )],
            },
            Part {
                package: "zram",
                feature: "lab-compaction",
                targets: &[(Target::Test("store"), &[("compaction_keeps_every_page", 3)])],
            },
        ],
    },
    Lab {
        name: "zram",
        summary: "the zram store: same-filled pages, huge pages, the memory limit",
        parts: &[Part {
            package: "zram",
            feature: "lab-zram",
            targets: &[(
                Target::Test("store"),
                &[
                    ("every_page_kind_round_trips", 3),
                    ("an_unwritten_slot_reads_as_zeros", 1),
                    (
                        "overwrite_frees_the_old_object_and_discard_empties_the_slot",
                        2,
                    ),
                    ("bad_input_is_refused_and_changes_nothing", 2),
                    ("the_memory_limit_is_respected_and_old_data_survives", 3),
                    ("compaction_keeps_every_page", 1),
                    ("out_of_memory_is_an_error_not_a_loss", 2),
                ],
            )],
        }],
    },
    Lab {
        name: "layout",
        summary: "the challenge: beat Linux's layout (correctness, then efficiency)",
        parts: &[Part {
            package: "bench",
            feature: "lab-layout",
            targets: &[(
                Target::Test("layout_lab"),
                &[
                    ("every_size_round_trips", 3),
                    ("windows_and_copies_change_one_object_only", 2),
                    ("a_random_run_matches_a_model", 3),
                    ("compaction_keeps_every_object", 2),
                    ("efficiency_reaches_linux_chain_4", 2),
                    ("efficiency_reaches_0_95", 2),
                    ("efficiency_reaches_0_98", 2),
                ],
            )],
        }],
    },
];

/// The lab called `name`.
pub fn find(name: &str) -> Option<&'static Lab> {
    LABS.iter().find(|lab| lab.name == name)
}
