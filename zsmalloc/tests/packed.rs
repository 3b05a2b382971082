//! The packed layout (`Config::packed()`) on a synthetic zram-like
//! workload: pages stay near the ideal `ceil(live bytes / PAGE_SIZE)`, and
//! compaction after random frees brings the pool back near it.

use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend, Xorshift};
use zsmalloc::{Config, Handle, Pool, ReadOnly, WriteOnly, PAGE_SIZE};

fn objects() -> usize {
    if cfg!(miri) {
        60
    } else {
        3000
    }
}

/// Pages the live objects need at the very least (their rounded sizes).
fn ideal(pool: &Pool<HighmemBackend>) -> usize {
    let stats = pool.stats();
    stats.packed().unwrap().live_bytes.div_ceil(PAGE_SIZE)
}

fn store(pool: &Pool<HighmemBackend>, random: &mut Xorshift, live: &mut Vec<(Handle, u64)>) {
    let size = random.compressed_page_size();
    let handle = pool.malloc(size).unwrap();
    let seed = random.next();
    pool.mapper()
        .map(&handle, WriteOnly, |window| fill_pattern(seed, window))
        .unwrap();
    live.push((handle, seed));
}

#[test]
fn packed_layout_stays_near_the_ideal() {
    let pool = Pool::with_config("packed", HighmemBackend::new(), Config::packed()).unwrap();
    let mut random = Xorshift::new(0x1234_5678_9abc_def1);
    let mut live = Vec::new();
    for _ in 0..objects() {
        store(&pool, &mut random, &mut live);
    }
    pool.check().unwrap();
    // Only the tail of each closed zspage's last page (smaller than one
    // object) and the open zspage's last page can be wasted.
    let zspages = pool.stats().packed().unwrap().zspages;
    let filled = pool.total_pages();
    assert!(
        filled <= ideal(&pool) + zspages,
        "{filled} pages for ideal {}",
        ideal(&pool)
    );

    // Free a random half, store as many new objects, then compact.
    for _ in 0..objects() / 2 {
        let index = random.next() as usize % live.len();
        let (handle, _) = live.swap_remove(index);
        pool.free(handle);
    }
    for _ in 0..objects() / 2 {
        store(&pool, &mut random, &mut live);
    }
    pool.check().unwrap();
    let churned = pool.total_pages();
    let bound = pool.pages_compactable();
    let freed = pool.compact();
    pool.check().unwrap();
    assert!(freed <= bound);
    let compacted = pool.total_pages();
    let zspages = pool.stats().packed().unwrap().zspages;
    std::println!(
        "ideal {} pages: filled {filled}, after churn {churned}, after compaction {compacted}",
        ideal(&pool)
    );
    assert!(compacted <= churned);
    assert!(
        compacted <= ideal(&pool) + zspages + 1,
        "{compacted} pages after compaction for ideal {}",
        ideal(&pool)
    );
    // Handles survived the moves, contents too.
    let mut mapper = pool.mapper();
    for (handle, seed) in &live {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*seed, window));
        assert_eq!(intact, Ok(true));
    }
    drop(mapper);
    for (handle, _) in live {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
}

#[test]
fn packed_config_is_valid_and_has_no_huge_objects() {
    Config::packed().validate().unwrap();
    let pool = Pool::with_config("huge", HighmemBackend::new(), Config::packed()).unwrap();
    assert_eq!(pool.huge_class_size(), PAGE_SIZE);
    // Two 4096-byte objects and a small one: the small one spans no page of
    // its own; all share pages end to end.
    let a = pool.malloc(PAGE_SIZE).unwrap();
    let b = pool.malloc(100).unwrap();
    let c = pool.malloc(PAGE_SIZE).unwrap();
    assert_eq!(pool.total_pages(), 3);
    let text = pool.stats().to_string();
    assert!(text.contains("packed layout"), "{text}");
    for handle in [a, b, c] {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
}

#[test]
fn holes_are_reused_by_nearby_sizes() {
    let pool = Pool::with_config("holes", HighmemBackend::new(), Config::packed()).unwrap();
    let keep: Vec<Handle> = (0..8).map(|_| pool.malloc(1000).unwrap()).collect();
    let freed = pool.malloc(1000).unwrap();
    let after = pool.malloc(1000).unwrap();
    let pages = pool.total_pages();
    pool.free(freed);
    // The hole is 1000 bytes (objects round up to 8); a 936-byte request
    // is 8 classes smaller, the most the reuse window allows: it takes the
    // hole instead of growing the pool.
    let reused = pool.malloc(936).unwrap();
    assert_eq!(pool.total_pages(), pages);
    let stats = pool.stats().packed().unwrap().clone();
    assert_eq!(
        stats.hole_bytes, 64,
        "the 64-byte leftover is a smaller hole"
    );
    pool.check().unwrap();
    for handle in keep.into_iter().chain([after, reused]) {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

#[test]
fn holes_of_dead_zspages_are_dropped() {
    let pool = Pool::with_config("stale", HighmemBackend::new(), Config::packed()).unwrap();
    // Automatic compaction would move objects into the holes.
    pool.set_auto_compaction(false);
    let count = if cfg!(miri) { 120 } else { 3000 };
    let mut handles: Vec<Option<Handle>> = (0..count)
        .map(|i| Some(pool.malloc(40 + i % 7 * 16).unwrap()))
        .collect();
    // Every other object: a hole each.
    for handle in handles.iter_mut().step_by(2) {
        pool.free(handle.take().unwrap());
    }
    pool.check().unwrap();
    let holes: usize = pool
        .stats()
        .packed()
        .unwrap()
        .holes_by_class
        .iter()
        .map(|h| h.1)
        .sum();
    assert!(holes >= count / 2 - 1);
    // The rest: every zspage dies and its holes become stale, then swept.
    for (index, handle) in handles.into_iter().flatten().enumerate() {
        pool.free(handle);
        if index % 16 == 0 {
            pool.check().unwrap();
        }
    }
    pool.check().unwrap();
    assert_eq!(pool.total_pages(), 0);
    assert!(pool.stats().packed().unwrap().holes_by_class.is_empty());
    // New objects find no stale hole.
    let again: Vec<Handle> = (0..100).map(|_| pool.malloc(48).unwrap()).collect();
    pool.check().unwrap();
    for handle in again {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

#[test]
fn packed_stats_table_is_readable() {
    let pool = Pool::with_config("stats", HighmemBackend::new(), Config::packed()).unwrap();
    let handles: Vec<Handle> = (0..40)
        .map(|i| pool.malloc(100 + i * 97).unwrap())
        .collect();
    for handle in handles.into_iter().step_by(3) {
        pool.free(handle);
    }
    let stats = pool.stats();
    let text = stats.to_string();
    std::println!("{text}");
    let packed = stats.packed().unwrap();
    assert_eq!(packed.pages, pool.total_pages());
    assert!(!packed.holes_by_class.is_empty());
    assert!(text.contains("holes") && text.contains("zspages by fullness"));
    assert!(stats.metadata_bytes > 0);
}
