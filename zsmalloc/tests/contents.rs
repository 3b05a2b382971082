//! Object contents through map windows, on the HIGHMEM simulation.

use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend, HighmemPage};
use zsmalloc::{
    Backend, Config, HandleError, HandlePlacement, LinuxConfig, ObjectView, Pool, PoolVisitor,
    ReadOnly, ReadWrite, WriteOnly, ZspageView, PAGE_SIZE,
};

/// A pool with Linux's default layout (chain 8).
fn linux<B: Backend>(name: &str, backend: B) -> Pool<B> {
    Pool::with_config(name, backend, Config::linux(8)).unwrap()
}

/// Sizes to try: all of 1..=4096 natively, a sample under Miri.
fn sizes() -> Vec<usize> {
    if cfg!(miri) {
        // 21 objects of class 208 reach past the first page: one spans.
        let mut sizes = vec![200; 21];
        sizes.extend([1, 7, 8, 25, 201, 1000, 1560, 2047, 3625, 4095, 4096]);
        sizes
    } else {
        (1..=PAGE_SIZE).collect()
    }
}

/// Every size through windows, on a HIGHMEM simulation that maps page
/// pairs (spanning objects in place) and on one that does not (through the
/// bounce buffer; under Miri only in `spanning_objects_bounce_without_pairs`).
fn every_size_round_trips(config: Config) {
    every_size_round_trips_on(config, HighmemBackend::new());
    if !cfg!(miri) {
        every_size_round_trips_on(config, HighmemBackend::new().without_page_pairs());
    }
}

#[test]
fn spanning_objects_bounce_without_pairs() {
    every_size_round_trips_on(Config::packed(), HighmemBackend::new().without_page_pairs());
}

fn every_size_round_trips_on(config: Config, backend: HighmemBackend) {
    let pool = Pool::with_config("contents", &backend, config).unwrap();
    let mut mapper = pool.mapper();
    let mut handles = Vec::new();
    let mut spanning = 0;
    for size in sizes() {
        let handle = pool.malloc(size).unwrap();
        mapper
            .map(&handle, WriteOnly, |window| {
                assert_eq!(window.len(), size);
                spanning += usize::from(window.spans_two_pages());
                fill_pattern(size as u64, window);
            })
            .unwrap();
        let intact = mapper.map(&handle, ReadOnly, |window| has_pattern(size as u64, window));
        assert_eq!(intact, Ok(true), "size {size}");
        handles.push((size, handle));
    }
    assert!(spanning > 0, "some objects must span two pages");
    pool.check().unwrap();
    // All objects at once: nothing overlapped anything.
    for (size, handle) in &handles {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*size as u64, window));
        assert_eq!(intact, Ok(true), "size {size} after all allocations");
    }
    drop(mapper);
    for (_, handle) in handles {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
    pool.check().unwrap();
    assert_eq!(backend.counters().live_pages, 0);
    assert!(backend.counters().peak_mappings <= 4);
}

#[test]
fn every_size_round_trips_packed() {
    every_size_round_trips(Config::packed());
}

#[test]
fn every_size_round_trips_linux_chain_8() {
    every_size_round_trips(Config::linux(8));
}

#[test]
fn every_size_round_trips_chain_4_out_of_band() {
    every_size_round_trips(Config::Linux(LinuxConfig {
        handle_placement: HandlePlacement::OutOfBand,
        ..LinuxConfig::with_chain(4)
    }));
}

/// The three kinds of window on Linux's layout, objects spanning pages
/// included: a write-only window's bytes are stored, a read-write window
/// sees them and changes them in place, a read-only window sees the change,
/// and no window touches a neighbour.
#[test]
fn read_write_windows_change_objects_in_place_and_nothing_else() {
    let backend = HighmemBackend::new();
    let pool = linux("windows", &backend);
    let mut mapper = pool.mapper();
    // Class 208: 19 objects fit in a page, the 20th spans into the next.
    let handles: Vec<_> = (0..60u64).map(|_| pool.malloc(200).unwrap()).collect();
    for (seed, handle) in (0..).zip(&handles) {
        mapper
            .map(handle, WriteOnly, |window| fill_pattern(seed, window))
            .unwrap();
    }
    for (seed, handle) in (0..).zip(&handles).filter(|(seed, _)| seed % 2 == 0) {
        let changed = mapper.map(handle, ReadWrite, |window| {
            let intact = has_pattern(seed, window);
            window.iter_mut().for_each(|byte| *byte ^= 0xff);
            intact
        });
        assert_eq!(
            changed,
            Ok(true),
            "object {seed} before its read-write window"
        );
    }
    for (seed, handle) in (0..).zip(&handles) {
        let mut expected = vec![0; 200];
        fill_pattern(seed, &mut expected);
        if seed % 2 == 0 {
            expected.iter_mut().for_each(|byte| *byte ^= 0xff);
        }
        let seen = mapper.map(handle, ReadOnly, |window| window.to_vec());
        assert_eq!(seen.as_deref(), Ok(&expected[..]), "object {seed}");
    }
    drop(mapper);
    pool.check().unwrap();
    for handle in handles {
        pool.free(handle);
    }
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn read_and_write_copy_without_a_window() {
    let pool = Pool::new("copy", HighmemBackend::new());
    let handle = pool.malloc(300).unwrap();
    let data: Vec<u8> = (0..300).map(|i| i as u8).collect();
    assert_eq!(pool.write(&handle, &data), Ok(300));
    let mut back = vec![0; 400];
    assert_eq!(pool.read(&handle, &mut back), Ok(300));
    assert_eq!(&back[..300], &data[..]);
    assert_eq!(pool.object_size(&handle), Ok(300));
    pool.free(handle);
}

#[test]
fn dropping_the_pool_returns_every_page() {
    let backend = HighmemBackend::new();
    let pool = Pool::new("drop", &backend);
    let handles: Vec<_> = (1..200).map(|i| pool.malloc(i * 20).unwrap()).collect();
    assert!(backend.counters().live_pages > 0);
    assert_eq!(backend.counters().live_pages, pool.total_pages());
    drop(handles);
    drop(pool);
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn malloc_and_free_inside_a_window_do_not_deadlock() {
    let pool = Pool::new("nested", HighmemBackend::new());
    let handle = pool.malloc(100).unwrap();
    let mut mapper = pool.mapper();
    let mut second = pool.mapper();
    mapper
        .map(&handle, ReadWrite, |window| {
            window.fill(7);
            // Same class, same zspage: allocate, write, free and compact
            // inside the window.
            let other = pool.malloc(100).unwrap();
            assert_eq!(pool.write(&other, &[1; 100]), Ok(100));
            pool.free(other);
            pool.compact();
            assert!(window.iter().all(|&byte| byte == 7));
            // The mapped object cannot be mapped again, copied or freed meanwhile.
            assert_eq!(
                second.map(&handle, ReadOnly, |_| ()).unwrap_err(),
                HandleError::Mapped
            );
            assert_eq!(pool.read(&handle, &mut [0; 4]), Err(HandleError::Mapped));
            assert_eq!(pool.free_raw(handle.raw()), Err(HandleError::Mapped));
            pool.check().unwrap();
        })
        .unwrap();
    drop(mapper);
    pool.free(handle);
    pool.check().unwrap();
}

/// A window opened inside another one (another mapper, the same CPU).
fn window_inside_a_window<B: zsmalloc::Backend>(pool: Pool<B>) {
    let a = pool.malloc(64).unwrap();
    let b = pool.malloc(64).unwrap();
    let mut first = pool.mapper();
    let mut second = pool.mapper();
    first
        .map(&a, WriteOnly, |window_a| {
            second
                .map(&b, ReadWrite, |window_b| {
                    // At most one window in the program is in place (other
                    // tests run in parallel threads, so window A may have
                    // had to bounce too).
                    assert!(!window_b.is_in_place());
                    window_a.fill(0xAA);
                    window_b.fill(0xBB);
                })
                .unwrap();
        })
        .unwrap();
    let mut buffer = [0; 64];
    pool.read(&a, &mut buffer).unwrap();
    assert_eq!(buffer, [0xAA; 64]);
    pool.read(&b, &mut buffer).unwrap();
    assert_eq!(buffer, [0xBB; 64]);
    pool.check().unwrap();
}

#[test]
fn a_window_inside_a_window_uses_its_bounce_buffer() {
    window_inside_a_window(Pool::new("two", HighmemBackend::new()));
    window_inside_a_window(Pool::new("two", zsmalloc::testing::HeapBackend::new()));
}

#[test]
fn compaction_keeps_contents_and_handles() {
    let backend = HighmemBackend::new();
    let pool = linux("compact", &backend);
    let count = if cfg!(miri) { 60 } else { 3000 };
    let mut handles: Vec<_> = (0..count)
        .map(|i| {
            let size = 40 + (i * 37) % 3000;
            let handle = pool.malloc(size).unwrap();
            let mut data = vec![0; size];
            fill_pattern(i as u64, &mut data);
            pool.write(&handle, &data).unwrap();
            (i, handle)
        })
        .collect();
    // Free two out of three: many sparse zspages.
    let mut kept = Vec::new();
    for (i, handle) in handles.drain(..) {
        if i % 3 == 0 {
            kept.push((i, handle));
        } else {
            pool.free(handle);
        }
    }
    let before = pool.total_pages();
    let expected = pool.pages_compactable();
    assert!(expected > 0);
    let freed = pool.compact();
    assert_eq!(freed, before - pool.total_pages());
    assert!(freed >= expected, "freed {freed}, predicted {expected}");
    assert_eq!(pool.pages_compactable(), 0);
    assert_eq!(pool.stats().pages_compacted, freed);
    pool.check().unwrap();
    let mut mapper = pool.mapper();
    for (i, handle) in &kept {
        let intact = mapper.map(handle, ReadOnly, |window| has_pattern(*i as u64, window));
        assert_eq!(intact, Ok(true), "object {i} after compaction");
    }
    drop(mapper);
    for (_, handle) in kept {
        pool.free(handle);
    }
    assert_eq!(backend.counters().live_pages, 0);
}

#[test]
fn compaction_skips_a_pinned_zspage() {
    let pool = linux("pinned", HighmemBackend::new());
    let handles: Vec<_> = (0..200).map(|_| pool.malloc(100).unwrap()).collect();
    let mut kept = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        if i % 10 == 0 {
            kept.push(handle);
        } else {
            pool.free(handle);
        }
    }
    for handle in &kept {
        pool.write(handle, &[9; 100]).unwrap();
    }
    let mut mapper = pool.mapper();
    mapper
        .map(&kept[0], ReadOnly, |window| {
            pool.compact();
            pool.check().unwrap();
            assert!(window.iter().all(|&byte| byte == 9));
        })
        .unwrap();
    drop(mapper);
    pool.compact();
    assert_eq!(pool.pages_compactable(), 0);
    for handle in kept {
        let mut buffer = [0; 100];
        pool.read(&handle, &mut buffer).unwrap();
        assert_eq!(buffer, [9; 100]);
        pool.free(handle);
    }
}

#[test]
fn stats_table_is_readable() {
    let pool = linux("stats", HighmemBackend::new());
    let handles: Vec<_> = (0..100).map(|i| pool.malloc(100 + i).unwrap()).collect();
    let stats = pool.stats();
    assert_eq!(stats.objects_used, 100);
    assert_eq!(stats.payload_bytes, (100..200).sum::<usize>());
    assert_eq!(
        stats.total_pages,
        stats
            .classes()
            .iter()
            .map(|row| row.pages_used)
            .sum::<usize>()
    );
    assert!(stats.metadata_bytes > 0);
    let table = stats.to_string();
    assert!(table.contains("obj_allocated") && table.contains("pages_per_zspage"));
    assert!(table.lines().count() > 3, "{table}");
    for handle in handles {
        pool.free(handle);
    }
}

#[test]
fn allocation_fills_the_fullest_zspage_first() {
    let pool = linux("fullness", HighmemBackend::new());
    let class_row = |pool: &Pool<HighmemBackend>| {
        let stats = pool.stats();
        stats
            .classes()
            .iter()
            .find(|row| row.size == 208)
            .unwrap()
            .clone()
    };
    // Class 208 holds 59 objects per 3-page zspage: fill two zspages, A then B.
    let mut handles: Vec<_> = (0..118).map(|_| pool.malloc(200).unwrap()).collect();
    assert_eq!(class_row(&pool).zspages_by_fullness[11], 2);
    // A keeps 9 objects (15%: group 2), B keeps 57 (96%: group 10).
    let zspage_b = handles.split_off(59);
    let (freed_a, mut kept_a): (Vec<_>, Vec<_>) =
        handles.into_iter().enumerate().partition(|(i, _)| *i < 50);
    let (freed_b, kept_b): (Vec<_>, Vec<_>) =
        zspage_b.into_iter().enumerate().partition(|(i, _)| *i < 2);
    for (_, handle) in freed_a.into_iter().chain(freed_b) {
        pool.free(handle);
    }
    let row = class_row(&pool);
    assert_eq!(
        (row.zspages_by_fullness[2], row.zspages_by_fullness[10]),
        (1, 1)
    );
    // The next two objects go to B, the fuller one, which becomes full.
    kept_a.push((0, pool.malloc(200).unwrap()));
    kept_a.push((0, pool.malloc(200).unwrap()));
    let row = class_row(&pool);
    assert_eq!(
        (row.zspages_by_fullness[2], row.zspages_by_fullness[11]),
        (1, 1)
    );
    assert_eq!(row.zspages_by_fullness[10], 0);
    pool.check().unwrap();
    for (_, handle) in kept_a.into_iter().chain(kept_b) {
        pool.free(handle);
    }
    assert_eq!(pool.total_pages(), 0);
}

/// What a walk of the pool saw.
#[derive(Default)]
struct Picture {
    zspages: usize,
    pages: usize,
    objects: usize,
    payload: usize,
    /// End of the last object seen in the current zspage, and its size.
    end: usize,
    zspage_bytes: usize,
}

impl PoolVisitor<HighmemPage> for Picture {
    fn zspage(&mut self, zspage: &ZspageView<'_, HighmemPage>) {
        self.zspages += 1;
        self.pages += zspage.pages.len();
        self.end = 0;
        self.zspage_bytes = zspage.pages.len() * PAGE_SIZE;
    }

    fn object(&mut self, object: &ObjectView) {
        assert!(
            object.offset >= self.end,
            "objects in offset order, disjoint"
        );
        assert!(object.length <= object.size);
        self.end = object.offset + object.size;
        assert!(self.end <= self.zspage_bytes, "inside its zspage");
        self.objects += 1;
        self.payload += object.length;
    }
}

#[test]
fn a_walk_shows_every_zspage_and_object() {
    for config in [Config::linux(8), Config::packed()] {
        let pool = Pool::with_config("walk", HighmemBackend::new(), config).unwrap();
        let count = if cfg!(miri) { 12 } else { 120 };
        let handles: Vec<_> = (1..count).map(|i| pool.malloc(i * 33).unwrap()).collect();
        let mut picture = Picture::default();
        pool.walk(&mut picture);
        let stats = pool.stats();
        assert_eq!(picture.pages, pool.total_pages());
        assert_eq!(picture.objects, handles.len());
        assert_eq!(picture.payload, stats.payload_bytes);
        assert!(picture.zspages > 0);
        for handle in handles {
            pool.free(handle);
        }
        let mut empty = Picture::default();
        pool.walk(&mut empty);
        assert_eq!((empty.zspages, empty.objects), (0, 0));
    }
}
