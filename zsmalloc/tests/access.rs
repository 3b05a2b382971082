//! Both generations of the access API on the HIGHMEM simulation: where the
//! bytes are (in place, a page pair, the bounce buffer, the local copy), and
//! what the simulated CPU sees (atomic sections, the interrupt flag).
//!
//! Only one window in the whole program may be in place at a time, so the
//! tests of this file run one at a time (`one_at_a_time`) to see exactly
//! which windows are.

use std::sync::{Mutex, MutexGuard};

use zsmalloc::testing::cpu::{atomic_depth, interrupts_enabled, set_interrupts_enabled};
use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend};
use zsmalloc::{Config, Handle, Pool, ReadOnly, ReadWrite, WriteOnly, PAGE_SIZE};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const LAYOUTS: [Config; 2] = [Config::linux(8), Config::packed()];

/// Objects of 3000 bytes: the second one of each run of objects spans two
/// pages in either layout. Returns them with their patterns written.
fn objects(pool: &Pool<&HighmemBackend>) -> Vec<(Handle, u64)> {
    let count = if cfg!(miri) { 3 } else { 6 };
    (0..count)
        .map(|seed| {
            let handle = pool.malloc(3000).unwrap();
            let mut data = vec![0; 3000];
            fill_pattern(seed, &mut data);
            pool.write(&handle, &data).unwrap();
            (handle, seed)
        })
        .collect()
}

#[test]
fn spanning_objects_are_mapped_in_place_through_a_page_pair() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        let backend = HighmemBackend::new();
        let pool = Pool::with_config("pairs", &backend, config).unwrap();
        let mut mapper = pool.mapper();
        let mut spanning = 0;
        for (handle, seed) in objects(&pool) {
            mapper
                .map(&handle, ReadWrite, |window| {
                    assert!(window.is_in_place(), "{config:?}");
                    assert!(has_pattern(seed, window));
                    if window.spans_two_pages() {
                        spanning += 1;
                        assert_eq!(backend.open_mappings(), 2, "a pair holds two mappings");
                    } else {
                        assert_eq!(backend.open_mappings(), 1);
                    }
                    fill_pattern(seed + 100, window);
                })
                .unwrap();
            assert_eq!(backend.open_mappings(), 0);
            let mut copy = vec![0; 3000];
            pool.read(&handle, &mut copy).unwrap();
            assert!(has_pattern(seed + 100, &copy), "written in place");
            pool.free(handle);
        }
        assert!(spanning > 0 && backend.counters().pair_maps == spanning);
        drop(mapper);
        pool.check().unwrap();
    }
}

#[test]
fn without_page_pairs_spanning_objects_bounce() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        let backend = HighmemBackend::new().without_page_pairs();
        let pool = Pool::with_config("bounce", &backend, config).unwrap();
        let mut mapper = pool.mapper();
        for (handle, seed) in objects(&pool) {
            mapper
                .map(&handle, WriteOnly, |window| {
                    assert_eq!(window.is_in_place(), !window.spans_two_pages());
                    fill_pattern(seed + 1, window);
                })
                .unwrap();
            let intact = mapper.map(&handle, ReadOnly, |window| has_pattern(seed + 1, window));
            assert_eq!(intact, Ok(true));
            pool.free(handle);
        }
        assert_eq!(backend.counters().pair_maps, 0);
    }
}

#[test]
fn a_read_is_atomic_only_while_it_holds_a_mapping() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        for backend in [
            HighmemBackend::new(),
            HighmemBackend::new().without_page_pairs(),
        ] {
            let pool = Pool::with_config("reads", &backend, config).unwrap();
            let mut local_copy = [0; PAGE_SIZE];
            let copy_address = local_copy.as_ptr();
            let mut copied = 0;
            for (handle, seed) in objects(&pool) {
                pool.read_with(&handle, &mut local_copy, |read| {
                    assert!(has_pattern(seed, read));
                    assert_eq!(read.len(), 3000);
                    if read.is_in_place() {
                        assert!(!interrupts_enabled(), "an in-place read is atomic");
                        assert!(backend.open_mappings() >= 1);
                    } else {
                        // zs_obj_read_begin's point: a copied read holds nothing.
                        copied += 1;
                        assert!(interrupts_enabled());
                        assert_eq!((atomic_depth(), backend.open_mappings()), (0, 0));
                        assert_eq!(read.as_ptr(), copy_address);
                    }
                })
                .unwrap();
                assert!(interrupts_enabled());
                assert_eq!(backend.open_mappings(), 0);
                pool.free(handle);
            }
            let pairs = backend.counters().pair_maps > 0;
            assert_eq!(
                copied > 0,
                !pairs,
                "without pairs spanning objects are copied"
            );
            pool.check().unwrap();
        }
    }
}

#[test]
fn a_read_excludes_windows_on_its_object_and_then_releases_it() {
    let _serial = one_at_a_time();
    let backend = HighmemBackend::new();
    let pool = Pool::with_config("exclusive", &backend, Config::packed()).unwrap();
    let handle = pool.malloc(64).unwrap();
    pool.write(&handle, &[5; 64]).unwrap();
    let mut local_copy = [0; PAGE_SIZE];
    let mut mapper = pool.mapper();
    pool.read_with(&handle, &mut local_copy, |_| {
        assert!(mapper.map(&handle, ReadWrite, |_| ()).is_err());
        assert!(pool.write(&handle, &[6; 64]).is_err());
        assert_eq!(
            pool.free_raw(handle.raw()),
            Err(zsmalloc::HandleError::Mapped)
        );
        pool.check().unwrap();
    })
    .unwrap();
    assert_eq!(pool.write(&handle, &[6; 64]), Ok(64));
    drop(mapper);
    pool.free(handle);
    pool.check().unwrap();
}

#[test]
fn nested_windows_keep_interrupts_off_until_the_outermost_closes() {
    let _serial = one_at_a_time();
    let backend = HighmemBackend::new();
    let pool = Pool::with_config("order", &backend, Config::linux(4)).unwrap();
    let a = pool.malloc(64).unwrap();
    let b = pool.malloc(64).unwrap();
    let c = pool.malloc(64).unwrap();
    let (mut first, mut second) = (pool.mapper(), pool.mapper());
    let mut local_copy = [0; PAGE_SIZE];
    assert!(interrupts_enabled());
    first
        .map(&a, WriteOnly, |window_a| {
            second
                .map(&b, ReadWrite, |window_b| {
                    pool.read_with(&c, &mut local_copy, |read_c| {
                        assert!(window_a.is_in_place());
                        assert!(!window_b.is_in_place() && !read_c.is_in_place());
                        assert_eq!(
                            atomic_depth(),
                            2,
                            "two windows; the copied read holds nothing"
                        );
                    })
                    .unwrap();
                    window_b.fill(0xBB);
                })
                .unwrap();
            assert!(!interrupts_enabled(), "window A is still open");
            window_a.fill(0xAA);
        })
        .unwrap();
    assert!(interrupts_enabled(), "the last window restored the flag");
    assert_eq!((atomic_depth(), backend.open_mappings()), (0, 0));
    let mut buffer = [0; 64];
    pool.read(&a, &mut buffer).unwrap();
    assert_eq!(buffer, [0xAA; 64]);
    pool.read(&b, &mut buffer).unwrap();
    assert_eq!(buffer, [0xBB; 64]);
    pool.check().unwrap();
}

#[test]
fn interrupts_that_were_off_stay_off() {
    let _serial = one_at_a_time();
    let pool = Pool::new("off", HighmemBackend::new());
    let handle = pool.malloc(64).unwrap();
    set_interrupts_enabled(false);
    let mut mapper = pool.mapper();
    mapper.map(&handle, WriteOnly, |_| ()).unwrap();
    assert_eq!(pool.write(&handle, &[1; 64]), Ok(64));
    assert!(!interrupts_enabled(), "restored as it was: off");
    set_interrupts_enabled(true);
    mapper.map(&handle, WriteOnly, |_| ()).unwrap();
    assert!(interrupts_enabled());
    drop(mapper);
    pool.free(handle);
}
