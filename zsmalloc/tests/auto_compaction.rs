//! Automatic compaction (`zsmalloc::auto_compaction`): it keeps a packed
//! pool near its ideal size under churn without anyone calling `compact`,
//! also under a page limit (it never makes a `malloc` fail), it leaves a
//! pool that only drains alone, and it is off for Linux's configurations.

use zsmalloc::auto_compaction::credit_cap;
use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend, Xorshift};
use zsmalloc::{Config, Handle, Pool, ReadOnly, WriteOnly, PAGE_SIZE};

fn objects() -> usize {
    if cfg!(miri) {
        40
    } else {
        3000
    }
}

fn store(pool: &Pool<HighmemBackend>, size: usize, seed: u64) -> Handle {
    let handle = pool.malloc(size).unwrap();
    pool.mapper()
        .map(&handle, WriteOnly, |window| fill_pattern(seed, window))
        .unwrap();
    handle
}

fn intact(pool: &Pool<HighmemBackend>, handle: &Handle, seed: u64) -> bool {
    pool.mapper()
        .map(handle, ReadOnly, |window| has_pattern(seed, window))
        .unwrap()
}

/// A packed pool, automatic compaction on or off.
fn packed(backend: HighmemBackend, automatic: bool) -> Pool<HighmemBackend> {
    let pool = Pool::with_config("churn", backend, Config::packed()).unwrap();
    pool.set_auto_compaction(automatic);
    pool
}

/// Fill `pool` with `objects()` objects, then churn: free a pseudo-random
/// half, storing a new object after every other free when `writes`.
/// Returns what is left.
fn fill_and_churn(pool: &Pool<HighmemBackend>, writes: bool) -> Vec<(Handle, u64)> {
    fill_and_churn_with_peak(pool, writes).0
}

/// [`fill_and_churn`], and the most pages the pool held meanwhile.
fn fill_and_churn_with_peak(
    pool: &Pool<HighmemBackend>,
    writes: bool,
) -> (Vec<(Handle, u64)>, usize) {
    let mut random = Xorshift::new(0x9e37_79b9_7f4a_7c15);
    let mut live = Vec::new();
    let mut peak = 0;
    for _ in 0..objects() {
        let (size, seed) = (random.compressed_page_size(), random.next());
        live.push((store(pool, size, seed), seed));
        peak = peak.max(pool.total_pages());
    }
    for round in 0..objects() / 2 {
        let index = random.next() as usize % live.len();
        pool.free(live.swap_remove(index).0);
        if writes && round % 2 == 1 {
            let (size, seed) = (random.compressed_page_size(), random.next());
            live.push((store(pool, size, seed), seed));
            peak = peak.max(pool.total_pages());
        }
    }
    (live, peak)
}

/// The share of the pool's page bytes that hold no live object.
fn slack(pool: &Pool<HighmemBackend>) -> f64 {
    let stats = pool.stats();
    let live = stats.packed().unwrap().live_bytes;
    1.0 - live as f64 / (stats.total_pages * PAGE_SIZE) as f64
}

fn free_all(pool: Pool<HighmemBackend>, live: Vec<(Handle, u64)>) {
    for (handle, seed) in &live {
        assert!(intact(&pool, handle, *seed));
    }
    for (handle, _) in live {
        pool.free(handle);
    }
    pool.check().unwrap();
    assert_eq!(pool.total_pages(), 0);
}

#[test]
fn automatic_compaction_keeps_the_pool_near_its_ideal_under_churn() {
    let manual = packed(HighmemBackend::new(), false);
    let manual_live = fill_and_churn(&manual, true);
    let automatic = packed(HighmemBackend::new(), true);
    let live = fill_and_churn(&automatic, true);
    automatic.check().unwrap();
    let (without, with) = (slack(&manual), slack(&automatic));
    println!("free share of the pool after churn: {without:.3} without, {with:.3} with automatic compaction");
    assert!(
        without > 0.1,
        "freeing more than is written leaves holes: {without}"
    );
    let figures = automatic.auto_compaction();
    assert!(figures.enabled && figures.steps > 0 && figures.pages_freed > 0);
    assert_eq!(manual.auto_compaction().steps, 0);
    if !cfg!(miri) {
        assert!(
            with < 0.05,
            "automatic compaction left {with} of the pool free"
        );
    }
    free_all(automatic, live);
    free_all(manual, manual_live);
}

#[test]
fn automatic_compaction_never_makes_a_malloc_fail_under_a_page_limit() {
    // The most pages the same run holds without automatic compaction, plus
    // one: automatic steps must do with what is left over.
    let probe = packed(HighmemBackend::new(), false);
    let (probe_live, peak) = fill_and_churn_with_peak(&probe, true);
    free_all(probe, probe_live);
    let pool = packed(HighmemBackend::with_page_limit(peak + 1), true);
    let live = fill_and_churn(&pool, true);
    pool.check().unwrap();
    assert!(pool.auto_compaction().steps > 0);
    free_all(pool, live);
}

#[test]
fn automatic_compaction_leaves_a_draining_pool_alone() {
    // Frees alone earn no credit: at most what the fill banked is moved.
    let manual = packed(HighmemBackend::new(), false);
    let manual_live = fill_and_churn(&manual, false);
    let automatic = packed(HighmemBackend::new(), true);
    let (live, peak) = fill_and_churn_with_peak(&automatic, false);
    automatic.check().unwrap();
    let moved = automatic.auto_compaction().bytes_moved;
    println!(
        "pages after frees alone: {} without, {} with automatic compaction ({moved} bytes moved)",
        manual.total_pages(),
        automatic.total_pages()
    );
    // What the fill banked (at most the cap of the pool at its largest),
    // plus what a step may move past its budget (a few pages, see
    // `Layout::compact_step`).
    assert!(moved <= credit_cap(peak) + 4 * PAGE_SIZE * automatic.auto_compaction().steps);
    assert!(automatic.total_pages() <= manual.total_pages());
    free_all(automatic, live);
    free_all(manual, manual_live);
}

#[test]
fn linux_configurations_are_not_compacted_automatically() {
    for chain in [4, 8] {
        let pool = Pool::with_config("linux", HighmemBackend::new(), Config::linux(chain)).unwrap();
        let live = fill_and_churn(&pool, true);
        let figures = pool.auto_compaction();
        assert!(!figures.enabled);
        assert_eq!((figures.steps, figures.pages_freed), (0, 0));
        assert_eq!(pool.stats().pages_compacted, 0);
        for (handle, _) in live {
            pool.free(handle);
        }
        assert_eq!(pool.total_pages(), 0);
    }
}

#[test]
// A Linux step with nothing to do visits all ~255 size classes, each in an
// atomic section of its own: minutes under Miri for a pool too small to
// show a difference (the class steps themselves run under Miri in
// `tests/linux_compact.rs`).
#[cfg_attr(miri, ignore = "slow under Miri; see the comment")]
fn linux_configurations_compact_automatically_when_switched_on() {
    for chain in [4, 8] {
        let manual =
            Pool::with_config("linux", HighmemBackend::new(), Config::linux(chain)).unwrap();
        let manual_live = fill_and_churn(&manual, true);
        let automatic =
            Pool::with_config("linux", HighmemBackend::new(), Config::linux(chain)).unwrap();
        automatic.set_auto_compaction(true);
        let live = fill_and_churn(&automatic, true);
        automatic.check().unwrap();
        let figures = automatic.auto_compaction();
        println!(
            "linux chain {chain} after churn: {} pages without, {} with automatic compaction ({} steps)",
            manual.total_pages(),
            automatic.total_pages(),
            figures.steps
        );
        assert!(figures.steps > 0 && figures.pages_freed > 0, "{figures:?}");
        assert!(automatic.total_pages() < manual.total_pages());
        assert_eq!(automatic.pages_compacted(), figures.pages_freed);
        free_all(automatic, live);
        for (handle, _) in manual_live {
            manual.free(handle);
        }
    }
}

#[test]
fn automatic_compaction_is_switched_at_run_time() {
    let pool = Pool::with_config("switch", HighmemBackend::new(), Config::packed()).unwrap();
    assert!(pool.auto_compaction().enabled);
    pool.set_auto_compaction(false);
    assert!(!pool.auto_compaction().enabled);
    let live = fill_and_churn(&pool, true);
    assert_eq!(pool.auto_compaction().steps, 0);
    pool.set_auto_compaction(true);
    assert!(pool.stats().auto_compaction.enabled);
    for (handle, _) in live {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}
