//! The test backends themselves catch the misuse they exist to catch.

use zsmalloc::testing::{FaultPlan, FaultyBackend, HeapBackend, HighmemBackend};
use zsmalloc::{Backend, OutOfPages, PAGE_SIZE};

#[test]
fn highmem_writes_survive_unmap_and_windows_are_fresh_copies() {
    let backend = HighmemBackend::new();
    let page = backend.alloc_page().unwrap();
    let atomic = backend.enter_atomic();
    // SAFETY: the page is allocated; mappings are undone in LIFO order.
    unsafe {
        let first = backend.map_page(page);
        first.as_ptr().write_bytes(0x11, PAGE_SIZE);
        backend.unmap_page(page, first);
        let second = backend.map_page(page);
        assert_eq!(*second.as_ptr().add(PAGE_SIZE - 1), 0x11);
        backend.unmap_page(page, second);
        backend.free_page(page);
    }
    backend.leave_atomic(atomic);
    let counters = backend.counters();
    assert_eq!(
        (
            counters.pages_allocated,
            counters.pages_freed,
            counters.maps
        ),
        (1, 1, 2)
    );
    assert_eq!(counters.live_pages, 0);
}

#[test]
#[should_panic(expected = "LIFO")]
fn highmem_refuses_non_lifo_unmap() {
    let backend = HighmemBackend::new();
    let a = backend.alloc_page().unwrap();
    let b = backend.alloc_page().unwrap();
    let _atomic = backend.enter_atomic();
    // SAFETY: deliberately violates LIFO order; the simulation must panic
    // before touching anything.
    unsafe {
        let address_a = backend.map_page(a);
        let _address_b = backend.map_page(b);
        backend.unmap_page(a, address_a);
    }
}

#[test]
#[should_panic(expected = "mappings at once")]
fn highmem_enforces_the_mapping_limit() {
    let backend = HighmemBackend::new();
    let pages: Vec<_> = (0..5).map(|_| backend.alloc_page().unwrap()).collect();
    let _atomic = backend.enter_atomic();
    for page in pages {
        // SAFETY: the pages are allocated; the fifth map must panic.
        unsafe { backend.map_page(page) };
    }
}

#[test]
#[should_panic(expected = "outside an atomic section")]
fn highmem_requires_atomic_sections_for_maps() {
    let backend = HighmemBackend::new();
    let page = backend.alloc_page().unwrap();
    // SAFETY: the page is allocated; the map must panic.
    unsafe { backend.map_page(page) };
}

#[test]
#[should_panic(expected = "used after being freed")]
fn highmem_detects_use_after_free_of_a_page() {
    let backend = HighmemBackend::new();
    let page = backend.alloc_page().unwrap();
    // SAFETY: deliberately frees twice; the simulation must panic.
    unsafe {
        backend.free_page(page);
        backend.free_page(page);
    }
}

#[test]
fn page_limits_refuse_allocations() {
    let highmem = HighmemBackend::with_page_limit(1);
    let page = highmem.alloc_page().unwrap();
    assert_eq!(highmem.alloc_page(), Err(OutOfPages));
    assert_eq!(highmem.counters().refused, 1);
    // SAFETY: allocated above, unmapped, not used again.
    unsafe { highmem.free_page(page) };
    let heap = HeapBackend::with_page_limit(1);
    let page = heap.alloc_page().unwrap();
    assert!(heap.alloc_page().is_err());
    // SAFETY: allocated above, unmapped, not used again.
    unsafe { heap.free_page(page) };
    assert_eq!(heap.live_pages(), 0);
}

#[test]
fn fault_plans_fail_when_told() {
    fn outcomes(backend: &FaultyBackend<HeapBackend>, attempts: usize) -> Vec<bool> {
        (0..attempts)
            .map(|_| match backend.alloc_page() {
                Ok(page) => {
                    // SAFETY: just allocated, never mapped, not used again.
                    unsafe { backend.free_page(page) };
                    true
                }
                Err(OutOfPages) => false,
            })
            .collect()
    }
    let every_third = FaultyBackend::new(HeapBackend::new(), FaultPlan::EveryNth(3));
    assert_eq!(
        outcomes(&every_third, 6),
        [true, true, false, true, true, false]
    );
    let after_two = FaultyBackend::new(HeapBackend::new(), FaultPlan::AfterN(2));
    assert_eq!(outcomes(&after_two, 4), [true, true, false, false]);
    assert_eq!(after_two.injected_failures(), 2);
    let random = FaultyBackend::new(
        HeapBackend::new(),
        FaultPlan::Random {
            seed: 7,
            percent: 50,
        },
    );
    let failures = outcomes(&random, 200).iter().filter(|&&ok| !ok).count();
    assert!((50..150).contains(&failures), "{failures}");
    assert_eq!(random.inner().live_pages(), 0);
}
