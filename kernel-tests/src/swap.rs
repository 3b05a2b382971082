//! In-QEMU tests of compressed swap: the swap entry, the budget, demand-zero
//! pages, clean-first reclaim, the workload at budgets of 100%, 50% and 25%
//! against the checksums of a plain copy (crate `swap-workload`), and the
//! failures that must end in a panic naming the page: forged and stale swap
//! entries, a store that cannot keep a page.

use alloc::string::ToString;
use alloc::vec::Vec;
use kernel::compressed_ram::new_store;
use kernel::compressed_ram::workload::Workload;
use kernel::memory::PAGE_SIZE;
use kernel::swap::entry::SwapEntry;
use kernel::swap::space::SwapError;
use kernel::swap::{self, page_address, Budget};

fn swap_entries_round_trip_and_garbage_is_refused() {
    for (slot, generation) in [(0, 0), (1, 1), (4199, 77), ((1 << 28) - 1, (1 << 24) - 1)] {
        let entry = SwapEntry { slot, generation };
        let raw = entry.encode();
        assert_eq!(raw & 1, 0, "a swap entry is not present");
        assert_eq!(SwapEntry::decode(raw), Some(entry));
    }
    for raw in [
        0,
        1,
        2,
        0xdead_b000,
        SwapEntry {
            slot: 3,
            generation: 1,
        }
        .encode()
            | 1,
    ] {
        assert_eq!(SwapEntry::decode(raw), None, "{raw:#x}");
    }
}
crate::kernel_test!(swap_entries_round_trip_and_garbage_is_refused);

fn budgets_parse_and_round() {
    assert_eq!(Budget::parse("50%"), Ok(Budget::Percent(50)));
    assert_eq!(Budget::parse("8M"), Ok(Budget::Bytes(8 << 20)));
    for bad in ["0%", "101%", "x%", "1K", "lots"] {
        assert!(Budget::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Budget::Percent(50).pages(4200), 2100);
    assert_eq!(Budget::Percent(25).pages(4201), 1051, "rounded up");
    assert_eq!(Budget::Bytes(8192).pages(100), 2);
    assert_eq!(Budget::Bytes(1 << 30).pages(100), 100, "at most the region");
    assert_eq!(Budget::Percent(1).pages(10), 1, "at least one page");
}
crate::kernel_test!(budgets_parse_and_round);

fn read_word(page: usize, index: usize) -> u64 {
    // SAFETY: a page of the swap region; a fault makes it resident.
    unsafe { page_address(page).add(index).read_volatile() }
}

fn write_word(page: usize, index: usize, value: u64) {
    // SAFETY: as in `read_word`.
    unsafe { page_address(page).add(index).write_volatile(value) }
}

fn fill_with_noise(page: usize, seed: u64) {
    let mut state = seed | 1;
    for index in 0..PAGE_SIZE / 8 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        write_word(page, index, state);
    }
}

fn demand_zero_pages_read_as_zeros_and_keep_what_was_written() {
    swap::create(64, 8, new_store(64));
    assert_eq!(read_word(40, 7), 0, "an untouched page reads as zeros");
    for page in 0..64 {
        write_word(page, page % 512, 0x1000 + page as u64);
    }
    for page in (0..64).rev() {
        assert_eq!(
            read_word(page, page % 512),
            0x1000 + page as u64,
            "page {page}"
        );
        assert_eq!(read_word(page, (page + 1) % 512), 0, "page {page}");
    }
    let counters = swap::with(|space| {
        assert!(space.resident() <= 8);
        space.counters
    });
    assert_eq!(counters.demand_zero, 64, "each page was zero-filled once");
    assert!(counters.swap_ins > 0 && counters.swap_outs > 0);
    assert_eq!(counters.faults, counters.demand_zero + counters.swap_ins);
    swap::destroy();
}
crate::kernel_test!(demand_zero_pages_read_as_zeros_and_keep_what_was_written);

/// Reclaim takes clean pages whose copy is valid before dirty ones. With 8
/// frames, a reclaim meets every resident page within two turns of the hand
/// (one to clear accessed bits), passing over at most 14 dirty ones, less
/// than the window: once one clean page is resident, no dirty page is
/// compressed. Reading every page keeps one clean page resident (each
/// swap-in brings one), so only the first swap-in of the pass compresses.
fn reclaim_prefers_clean_pages_with_a_valid_copy() {
    const { assert!(swap::space::CLEAN_FIRST_WINDOW > 14) };
    swap::create(16, 8, new_store(16));
    for page in 0..16 {
        write_word(page, 0, 0x2000 + page as u64);
    }
    swap::with(|space| space.begin_phase(32));
    for page in 0..16 {
        assert_eq!(read_word(page, 0), 0x2000 + page as u64, "page {page}");
    }
    let counters = swap::with(|space| space.counters);
    assert!(counters.swap_ins >= 8, "half of the pages were out");
    assert_eq!(
        (counters.swap_outs, counters.swap_cache_hits),
        (1, counters.swap_ins - 1),
        "only the first reclaim (every resident page dirty) compresses"
    );
    assert!(counters.dirty_passed_over > 0);
    for page in 0..16 {
        assert_eq!(read_word(page, 0), 0x2000 + page as u64, "page {page}");
    }
    swap::destroy();
}
crate::kernel_test!(reclaim_prefers_clean_pages_with_a_valid_copy);

/// The built-in workload's first `pages` pages as one corpus, for the
/// reference computation on a plain copy.
fn corpus_of(workload: &Workload, pages: usize) -> Vec<u8> {
    let mut corpus = alloc::vec![0u8; pages * PAGE_SIZE];
    for (index, page) in corpus.as_chunks_mut::<PAGE_SIZE>().0.iter_mut().enumerate() {
        workload.page(index, page);
    }
    corpus
}

fn run_at(percent: u64) {
    let pages = 256;
    let workload = Workload::BuiltIn { count: pages };
    let reference = swap_workload::reference(&corpus_of(&workload, pages));
    let reports = swap::workload::run(&workload, Budget::Percent(percent), false);
    let limit = Budget::Percent(percent).pages(pages);
    for (pass, report) in reports[1..4].iter().enumerate() {
        assert_eq!(
            report.checksum,
            Some(reference.checksums[pass]),
            "{} at {percent}%",
            report.phase
        );
    }
    assert_eq!(reports[4].verified, Some(true), "verify at {percent}%");
    let total = |field: fn(&swap::stats::SwapCounters) -> u64| {
        reports
            .iter()
            .map(|report| field(&report.counters))
            .sum::<u64>()
    };
    for report in &reports {
        assert!(report.counters.resident_max <= limit, "{}", report.phase);
    }
    assert_eq!(
        total(|c| c.demand_zero),
        pages as u64,
        "each page zero-filled once"
    );
    if percent == 100 {
        assert_eq!(total(|c| c.evictions), 0, "nothing is evicted at 100%");
        assert_eq!(total(|c| c.swap_ins), 0);
    } else {
        assert!(total(|c| c.swap_ins) > 0);
        assert!(
            total(|c| c.swap_cache_hits) > 0,
            "clean pages went without a write"
        );
        assert!(
            total(|c| c.same_filled_outs) > 0,
            "zero pages are same-filled"
        );
        assert!(total(|c| c.huge_outs) > 0, "noise pages are kept whole");
        assert_eq!(
            total(|c| c.evictions),
            total(|c| c.swap_outs + c.swap_cache_hits)
        );
    }
}

fn the_workload_at_100_percent_matches_the_reference() {
    run_at(100);
}
crate::kernel_test!(the_workload_at_100_percent_matches_the_reference);

fn the_workload_at_50_percent_matches_the_reference() {
    run_at(50);
}
crate::kernel_test!(the_workload_at_50_percent_matches_the_reference);

fn the_workload_at_25_percent_matches_the_reference() {
    run_at(25);
}
crate::kernel_test!(the_workload_at_25_percent_matches_the_reference);

/// A region of 16 pages with one resident frame: page 0 written, then
/// evicted by a touch of page 1. Returns page 0's swap entry.
fn page_0_evicted() -> u64 {
    swap::create(16, 1, new_store(16));
    write_word(0, 0, 42);
    read_word(1, 0);
    swap::with(|space| space.raw_entry(0))
}

fn forged_and_stale_entries_are_refused_naming_the_page() {
    let old = page_0_evicted();
    assert!(SwapEntry::decode(old).is_some());
    // Page 0's entry planted in page 2: it names another page's copy.
    let error = swap::with(|space| {
        space.set_raw_entry(2, old);
        space.fault(2).unwrap_err()
    });
    assert!(
        matches!(error, SwapError::Forged { page: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("forged swap entry"), "{error}");
    assert!(error.to_string().contains("page 2 "), "{error}");
    let error = swap::with(|space| {
        space.set_raw_entry(3, 0xdead_b000);
        space.fault(3).unwrap_err()
    });
    assert!(matches!(
        error,
        SwapError::Forged {
            page: 3,
            raw: 0xdead_b000
        }
    ));
    // Page 0 comes back, is written and evicted again: a new copy.
    swap::with(|space| {
        space.set_raw_entry(2, 0);
        space.set_raw_entry(3, 0);
    });
    assert_eq!(read_word(0, 0), 42);
    write_word(0, 0, 43);
    read_word(1, 0);
    let error = swap::with(|space| {
        space.set_raw_entry(0, old);
        space.fault(0).unwrap_err()
    });
    assert!(
        matches!(
            error,
            SwapError::Stale {
                page: 0,
                entry: 1,
                current: Some(2)
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("stale swap entry for page 0 "),
        "{error}"
    );
    swap::destroy();
}
crate::kernel_test!(forged_and_stale_entries_are_refused_naming_the_page);

fn a_forged_entry_touched_by_the_workload_panics() {
    let old = page_0_evicted();
    swap::with(|space| space.set_raw_entry(5, old));
    read_word(5, 0);
}
crate::kernel_test!(a_forged_entry_touched_by_the_workload_panics, should_panic);

fn a_store_failure_is_reported_naming_the_page() {
    swap::create(16, 1, new_store(16));
    swap::with(|space| space.set_pool_limit(1));
    fill_with_noise(0, 1);
    // Page 0 goes to the store whole: one pool page, within the limit.
    assert!(swap::with(|space| space.fault(1)).unwrap());
    fill_with_noise(1, 2);
    // Page 1 needs a second pool page: refused, even after compaction.
    let error = swap::with(|space| space.fault(2)).unwrap_err();
    assert!(
        matches!(error, SwapError::StoreFailed { page: 1, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("could not store page 1 "),
        "{error}"
    );
    swap::destroy();
}
crate::kernel_test!(a_store_failure_is_reported_naming_the_page);

fn a_store_failure_under_the_workload_panics() {
    swap::create(16, 1, new_store(16));
    swap::with(|space| space.set_pool_limit(1));
    for page in 0..4 {
        fill_with_noise(page, page as u64 + 1);
    }
}
crate::kernel_test!(a_store_failure_under_the_workload_panics, should_panic);
