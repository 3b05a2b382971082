//! Safe code cannot leave a window open: forgetting what it can forget (a
//! mapper, a facade pool with a window open, whatever a window's closure
//! holds), or panicking inside a window, leaves interrupts on, lets later
//! windows map in place, and frees no page that is still mapped.
//!
//! Only one window in the whole program may be in place at a time, so the
//! tests of this file run one at a time.

use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};

use zsmalloc::facade::{zs_create_pool_with_config, zs_malloc, zs_map_object, ZS_MM_RW};
use zsmalloc::testing::cpu::{atomic_depth, interrupts_enabled};
use zsmalloc::testing::HighmemBackend;
use zsmalloc::{Config, HandleError, Pool, ReadOnly, ReadWrite, PAGE_SIZE};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

const LAYOUTS: [Config; 3] = [Config::linux(4), Config::linux(8), Config::packed()];

/// What the rest of the program needs after a window: interrupts on, no
/// atomic section or mapping left open, and the next window in place.
fn all_is_well(backend: &HighmemBackend, config: Config) {
    assert!(interrupts_enabled(), "interrupts are back on");
    assert_eq!(atomic_depth(), 0, "no atomic section left open");
    assert_eq!(backend.open_mappings(), 0, "no mapping left open");
    let fresh = Pool::with_config("after", HighmemBackend::new(), config).unwrap();
    let handle = fresh.malloc(100).unwrap();
    let in_place = fresh
        .mapper()
        .map(&handle, ReadOnly, |window| window.is_in_place());
    assert_eq!(in_place, Ok(true), "later windows are not wedged");
    fresh.free(handle);
}

#[test]
fn forgetting_a_mapper_is_harmless() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        let backend = HighmemBackend::new();
        let pool = Pool::with_config("forget", &backend, config).unwrap();
        let handle = pool.malloc(3000).unwrap();
        let mut mapper = pool.mapper();
        mapper
            .map(&handle, ReadWrite, |window| {
                window.fill(7);
                // All a closure holds is a reference: forgetting it is a no-op.
                #[allow(forgetting_references)]
                mem::forget(window);
            })
            .unwrap();
        mem::forget(mapper);
        all_is_well(&backend, config);
        // The object is not left mapped: it can be mapped again, and freed.
        let sevens = pool.mapper().map(&handle, ReadOnly, |window| {
            window.iter().all(|&byte| byte == 7)
        });
        assert_eq!(sevens, Ok(true));
        pool.free(handle);
        pool.check().unwrap();
        drop(pool);
        assert_eq!(backend.counters().live_pages, 0);
    }
}

#[test]
fn forgetting_a_facade_pool_with_a_window_open_is_harmless() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        let backend = HighmemBackend::new();
        let mut pool = zs_create_pool_with_config("forget", &backend, config).unwrap();
        let handle = zs_malloc(&pool, 3000);
        zs_map_object(&mut pool, handle, ZS_MM_RW).unwrap().fill(1);
        // zs_unmap_object never comes.
        mem::forget(pool);
        all_is_well(&backend, config);
        // The leaked pool keeps its pages: none was freed while mapped.
        assert!(backend.counters().live_pages > 0);
    }
}

#[test]
fn a_panic_inside_a_window_closes_it() {
    let _serial = one_at_a_time();
    for config in LAYOUTS {
        let backend = HighmemBackend::new();
        let pool = Pool::with_config("panic", &backend, config).unwrap();
        let handle = pool.malloc(3000).unwrap();
        let mut mapper = pool.mapper();
        let mut local_copy = [0; PAGE_SIZE];
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            mapper.map(&handle, ReadWrite, |_| panic!("inside a window"))
        }));
        assert!(outcome.is_err());
        all_is_well(&backend, config);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.read_with(&handle, &mut local_copy, |_| panic!("inside a read"))
        }));
        assert!(outcome.is_err());
        all_is_well(&backend, config);
        drop(mapper);
        assert_eq!(pool.free_raw(handle.raw()), Ok(()), "not left mapped");
        pool.check().unwrap();
        drop(pool);
        assert_eq!(backend.counters().live_pages, 0);
    }
}

#[test]
fn a_mapped_object_cannot_be_freed_through_a_raw_copy_of_its_handle() {
    let _serial = one_at_a_time();
    let pool = Pool::new("copy", HighmemBackend::new());
    let handle = pool.malloc(100).unwrap();
    let mut mapper = pool.mapper();
    mapper
        .map(&handle, ReadWrite, |window| {
            let copy = zsmalloc::Handle::from_raw(handle.raw().try_into().unwrap());
            let refused = pool.try_free(copy).unwrap_err();
            assert_eq!(refused.error, HandleError::Mapped);
            // The copy comes back: nothing was lost.
            assert_eq!(refused.handle.raw(), handle.raw());
            window.fill(3);
        })
        .unwrap();
    assert_eq!(pool.try_free(handle), Ok(()));
    pool.check().unwrap();
}
