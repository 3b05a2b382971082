//! Compaction of the packed layout in bounded steps: it shrinks the pool
//! under a page limit (a sparse zspage gives back its tail pages before
//! compaction needs a new one), stops cleanly when the backend has no page,
//! never moves objects of a mapped zspage, survives frees, mallocs and
//! windows between its steps, and, asked for in full, drains nearly full
//! zspages whose free bytes add up to a page.

use std::sync::OnceLock;

use zsmalloc::testing::{fill_pattern, HighmemBackend, Xorshift};
use zsmalloc::{CompactStep, Config, Handle, PackedConfig, Pool, ReadOnly, PAGE_SIZE};

/// The contents of object `seed`, `size` bytes: a window of a fixed
/// two-page test pattern starting at a place that depends on the seed, so
/// that misplaced or shifted bytes are noticed (built by slice copies, so
/// that Miri runs the tests quickly).
fn contents(seed: u64, size: usize) -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let mut base = vec![0; 2 * PAGE_SIZE];
        fill_pattern(0x5eed, &mut base);
        base
    });
    let start = (seed as usize).wrapping_mul(977) % PAGE_SIZE;
    &base[start..start + size]
}

fn store(pool: &Pool<HighmemBackend>, size: usize, seed: u64) -> Handle {
    let handle = pool.malloc(size).unwrap();
    assert_eq!(pool.write(&handle, contents(seed, size)), Ok(size));
    handle
}

fn intact(pool: &Pool<HighmemBackend>, handle: &Handle, seed: u64) -> bool {
    let size = pool.object_size(handle).unwrap();
    let mut buffer = vec![0; size];
    pool.read(handle, &mut buffer).unwrap();
    buffer == contents(seed, size)
}

/// A packed pool without automatic compaction: these tests drive
/// compaction themselves (`tests/auto_compaction.rs` tests the policy).
fn packed(backend: HighmemBackend) -> Pool<HighmemBackend> {
    let pool = Pool::with_config("compaction", backend, Config::packed()).unwrap();
    pool.set_auto_compaction(false);
    pool
}

/// Store objects of `sizes`, seeded by their index.
fn store_all(pool: &Pool<HighmemBackend>, sizes: &[usize]) -> Vec<Option<(Handle, u64)>> {
    sizes
        .iter()
        .enumerate()
        .map(|(seed, &size)| Some((store(pool, size, seed as u64), seed as u64)))
        .collect()
}

fn all_intact(pool: &Pool<HighmemBackend>, objects: &[Option<(Handle, u64)>]) {
    for (index, (handle, seed)) in objects.iter().flatten().enumerate() {
        assert!(intact(pool, handle, *seed), "object {index} changed");
    }
}

fn free_all(pool: &Pool<HighmemBackend>, objects: Vec<Option<(Handle, u64)>>) {
    for (handle, _) in objects.into_iter().flatten() {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

/// malloc(16), 30 × malloc(4096), malloc(16), free the objects 2..=15 (the
/// 4096-byte ones stored 1st to 14th), compact, with `limit` pages at
/// most. Returns the pages before and after.
fn sparse_zspage_under(limit: usize) -> (usize, usize) {
    let pool = packed(HighmemBackend::with_page_limit(limit));
    let mut sizes = vec![16];
    sizes.extend([4096; 30]);
    sizes.push(16);
    let mut objects = store_all(&pool, &sizes);
    assert_eq!(pool.total_pages(), 32);
    for slot in &mut objects[2..=15] {
        pool.free(slot.take().unwrap().0);
    }
    let before = pool.total_pages();
    assert_eq!(pool.pages_compactable(), 15);
    let freed = pool.compact();
    let after = pool.total_pages();
    assert_eq!(after, before - freed);
    pool.check().unwrap();
    all_intact(&pool, &objects);
    free_all(&pool, objects);
    (before, after)
}

#[test]
fn compaction_shrinks_the_pool_under_a_page_limit() {
    // One page to spare: the sparse zspage of 16 pages must still go.
    let (before, after) = sparse_zspage_under(33);
    assert_eq!(before, 32);
    assert!(after <= 18, "{before} -> {after} pages");
}

#[test]
fn compaction_shrinks_the_pool_with_no_page_to_spare() {
    let (before, after) = sparse_zspage_under(32);
    assert_eq!(before, 32);
    assert!(after <= 18, "{before} -> {after} pages");
}

#[test]
fn compaction_stops_cleanly_when_the_backend_has_no_page() {
    // Zspage A: 16 objects of a page, the 2nd..15th freed: its top object
    // fills its last page, so nothing can be given back before the move,
    // which needs a new page for the open zspage (page-aligned end).
    let pool = packed(HighmemBackend::with_page_limit(30));
    let mut objects = store_all(&pool, &[4096; 30]);
    assert_eq!(pool.total_pages(), 30);
    for slot in &mut objects[1..=14] {
        pool.free(slot.take().unwrap().0);
    }
    let before = pool.total_pages();
    assert!(pool.pages_compactable() > 0);
    let freed = pool.compact();
    assert_eq!(pool.total_pages(), before - freed);
    pool.check().unwrap();
    all_intact(&pool, &objects);
    // A later compaction, still without a page, stops as cleanly.
    let again = pool.compact();
    assert_eq!(pool.total_pages(), before - freed - again);
    pool.check().unwrap();
    all_intact(&pool, &objects);
    // The zspage that stopped draining lists its gaps as holes again.
    let extra = store(&pool, 4096, 99);
    assert!(intact(&pool, &extra, 99));
    pool.free(extra);
    free_all(&pool, objects);
}

/// Zspages of 4 pages, each holding 16 objects of 1 KiB but one: `zspages`
/// closed zspages with a 1 KiB hole each (too little for a step to drain
/// any), and an open zspage holding `open` objects.
fn nearly_full(
    backend: HighmemBackend,
    zspages: usize,
    open: usize,
) -> (Pool<HighmemBackend>, Vec<Option<(Handle, u64)>>) {
    let config = PackedConfig {
        max_pages_per_zspage: 4,
        ..PackedConfig::DEFAULT
    };
    let pool = Pool::with_config("compaction", backend, Config::Packed(config)).unwrap();
    pool.set_auto_compaction(false);
    let mut objects = store_all(&pool, &vec![1024; 16 * zspages + open]);
    assert_eq!(pool.total_pages(), 4 * zspages + open.div_ceil(4));
    for zspage in 0..zspages {
        pool.free(objects[16 * zspage + 5].take().unwrap().0);
    }
    (pool, objects)
}

/// The pages `live` payload bytes fill.
fn ideal(pool: &Pool<HighmemBackend>) -> usize {
    pool.stats().payload_bytes.div_ceil(PAGE_SIZE)
}

fn bytes_moved(pool: &Pool<HighmemBackend>) -> usize {
    pool.stats().packed().unwrap().compaction_bytes_moved
}

#[test]
fn a_full_pass_drains_nearly_full_zspages_whose_free_bytes_add_up() {
    // 8 zspages with 1 KiB free each, and an open zspage with 3 KiB
    // unused in its page: draining one fills the others' holes, and the
    // rest of its objects fit the open zspage and 2 new pages.
    for limit in [None, Some(33)] {
        let backend = limit.map_or_else(HighmemBackend::new, HighmemBackend::with_page_limit);
        let (pool, objects) = nearly_full(backend, 8, 1);
        let before = pool.total_pages();
        assert_eq!((before, ideal(&pool)), (33, 31));
        // A step (what automatic compaction runs) wants a page free in a
        // zspage: it moves nothing.
        let step = pool.compact_step(16 * PAGE_SIZE);
        assert_eq!(
            step,
            CompactStep {
                done: true,
                ..CompactStep::default()
            }
        );
        let freed = pool.compact();
        assert_eq!(pool.total_pages(), before - freed);
        assert_eq!(pool.total_pages(), ideal(&pool), "limit {limit:?}");
        // One zspage drained: its 15 objects moved, no more.
        assert_eq!(bytes_moved(&pool), 15 * 1024);
        pool.check().unwrap();
        all_intact(&pool, &objects);
        // Nothing left worth doing.
        assert_eq!(pool.compact(), 0);
        assert_eq!(bytes_moved(&pool), 15 * 1024);
        free_all(&pool, objects);
    }
}

#[test]
fn a_full_pass_leaves_nearly_full_zspages_that_cannot_give_back_a_page() {
    // 3 KiB free in all, the open zspage's page full: draining any would
    // move objects and give back nothing.
    let (pool, objects) = nearly_full(HighmemBackend::new(), 3, 4);
    let before = pool.total_pages();
    assert_eq!(pool.compact(), 0);
    assert_eq!(pool.total_pages(), before);
    assert_eq!(bytes_moved(&pool), 0);
    pool.check().unwrap();
    all_intact(&pool, &objects);
    free_all(&pool, objects);
}

/// 64 objects of 1,000 bytes (16 pages, one zspage), every other one freed:
/// a sparse zspage, and the open zspage after it.
fn half_freed(pool: &Pool<HighmemBackend>) -> Vec<Option<(Handle, u64)>> {
    let mut objects = store_all(pool, &[1000; 80]);
    for slot in objects.iter_mut().take(64).step_by(2) {
        pool.free(slot.take().unwrap().0);
    }
    objects
}

#[test]
fn a_mapped_zspage_is_never_a_source() {
    let pool = packed(HighmemBackend::new());
    let objects = half_freed(&pool);
    let before = pool.total_pages();
    let (pinned, seed) = objects[1].as_ref().unwrap();
    let mut mapper = pool.mapper();
    mapper
        .map(pinned, ReadOnly, |window| {
            assert_eq!(pool.compact(), 0);
            assert_eq!(pool.total_pages(), before);
            pool.check().unwrap();
            assert!(window[..] == *contents(*seed, window.len()));
        })
        .unwrap();
    drop(mapper);
    assert!(pool.compact() > 0);
    assert!(pool.total_pages() < before);
    pool.check().unwrap();
    all_intact(&pool, &objects);
    free_all(&pool, objects);
}

#[test]
fn a_source_mapped_between_steps_stops_draining() {
    let pool = packed(HighmemBackend::new());
    let objects = half_freed(&pool);
    let before = pool.total_pages();
    // One object per step: the sparse zspage starts draining from its top.
    let first = pool.compact_step(1);
    assert_eq!(first.bytes_moved, 1000);
    assert!(!first.done);
    pool.check().unwrap();
    let (pinned, seed) = objects[1].as_ref().unwrap();
    let mut mapper = pool.mapper();
    mapper
        .map(pinned, ReadOnly, |window| {
            let address = window.as_ptr();
            loop {
                let step = pool.compact_step(PAGE_SIZE);
                pool.check().unwrap();
                if step.done {
                    break;
                }
            }
            assert_eq!(window.as_ptr(), address);
            assert!(window[..] == *contents(*seed, window.len()));
        })
        .unwrap();
    drop(mapper);
    all_intact(&pool, &objects);
    pool.compact();
    pool.check().unwrap();
    assert!(pool.total_pages() < before);
    all_intact(&pool, &objects);
    free_all(&pool, objects);
}

#[test]
fn steps_move_at_most_their_budget() {
    let pool = packed(HighmemBackend::new());
    let objects = half_freed(&pool);
    let before = pool.total_pages();
    let (mut freed, mut added, mut steps) = (0, 0, 0);
    loop {
        let step = pool.compact_step(2500);
        // Past the budget only to stop where the source owes no page: the
        // pool is never larger between steps than it was.
        assert!(step.bytes_moved <= 2500 + 3 * PAGE_SIZE, "{step:?}");
        assert!(pool.total_pages() <= before, "{step:?}");
        pool.check().unwrap();
        freed += step.pages_freed;
        added += step.pages_added;
        steps += 1;
        if step.done {
            break;
        }
    }
    assert!(steps > 8, "{steps} steps");
    assert_eq!(pool.total_pages(), before + added - freed);
    assert!(pool.total_pages() < before);
    all_intact(&pool, &objects);
    // Nothing freed since: a step has nothing to do, at once.
    let idle = pool.compact_step(PAGE_SIZE);
    assert_eq!(
        idle,
        CompactStep {
            done: true,
            ..CompactStep::default()
        }
    );
    free_all(&pool, objects);
}

#[test]
fn frees_mallocs_and_windows_between_steps_lose_nothing() {
    let rounds = if cfg!(miri) { 60 } else { 3000 };
    let pool = packed(HighmemBackend::new());
    let mut random = Xorshift::new(0x2545_f491_4f6c_dd1d);
    let mut live: Vec<(Handle, u64)> = Vec::new();
    for round in 0..rounds {
        match random.next() % 8 {
            0..=2 => {
                let size = 1 + random.next() as usize % PAGE_SIZE;
                let seed = random.next();
                live.push((store(&pool, size, seed), seed));
            }
            3..=5 if !live.is_empty() => {
                let index = random.next() as usize % live.len();
                pool.free(live.swap_remove(index).0);
            }
            6 if !live.is_empty() => {
                // A step with a window open on some object.
                let (handle, seed) = &live[random.next() as usize % live.len()];
                let budget = random.next() as usize % (3 * PAGE_SIZE);
                pool.mapper()
                    .map(handle, ReadOnly, |window| {
                        pool.compact_step(budget);
                        assert!(window[..] == *contents(*seed, window.len()));
                    })
                    .unwrap();
            }
            _ => {
                pool.compact_step(random.next() as usize % (3 * PAGE_SIZE));
            }
        }
        if round % 16 == 0 {
            pool.check().unwrap();
        }
    }
    pool.check().unwrap();
    for (handle, seed) in &live {
        assert!(intact(&pool, handle, *seed));
    }
    // Whatever half-drained source the steps left, `compact` finishes it.
    let before = pool.total_pages();
    let bound = pool.pages_compactable();
    let freed = pool.compact();
    assert!(
        freed <= bound,
        "{freed} pages freed, at most {bound} expected"
    );
    assert_eq!(pool.total_pages(), before - freed);
    pool.check().unwrap();
    for (handle, seed) in live {
        assert!(intact(&pool, &handle, seed));
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}
