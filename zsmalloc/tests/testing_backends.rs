//! The test backends themselves implement the Backend contract and catch
//! the misuse they exist to catch.

use zsmalloc::testing::cpu::{atomic_depth, interrupts_enabled, set_interrupts_enabled};
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

#[test]
fn highmem_maps_a_page_pair_side_by_side() {
    let backend = HighmemBackend::new();
    let (a, b) = (backend.alloc_page().unwrap(), backend.alloc_page().unwrap());
    let atomic = backend.enter_atomic();
    // SAFETY: the pages are allocated; every mapping is undone in LIFO order
    // inside the atomic section, and no pointer is used after its unmap.
    unsafe {
        for (page, byte) in [(a, 0x11), (b, 0x22)] {
            let address = backend.map_page(page);
            address.as_ptr().write_bytes(byte, PAGE_SIZE);
            backend.unmap_page(page, address);
        }
        let pair = backend.map_page_pair(a, b).expect("two unmapped pages");
        assert_eq!(*pair.as_ptr().add(PAGE_SIZE - 1), 0x11);
        assert_eq!(*pair.as_ptr().add(PAGE_SIZE), 0x22);
        assert_eq!(backend.open_mappings(), 2, "a pair takes two mappings");
        // An object spanning the boundary, written in place.
        pair.as_ptr().add(PAGE_SIZE - 2).write_bytes(0x33, 4);
        // Mapping one page of the pair again aliases the same bytes.
        let alias = backend.map_page(b);
        assert_eq!(*alias.as_ptr(), 0x33);
        backend.unmap_page(b, alias);
        backend.unmap_page_pair(a, b, pair);
        let address = backend.map_page(b);
        assert_eq!(*address.as_ptr().add(1), 0x33);
        assert_eq!(*address.as_ptr().add(2), 0x22);
        // A page already mapped cannot join a pair; nor can it without pairs.
        assert!(backend.map_page_pair(a, b).is_none());
        backend.unmap_page(b, address);
    }
    backend.leave_atomic(atomic);
    let no_pairs = HighmemBackend::new().without_page_pairs();
    let (c, d) = (
        no_pairs.alloc_page().unwrap(),
        no_pairs.alloc_page().unwrap(),
    );
    let atomic = no_pairs.enter_atomic();
    // SAFETY: the pages are allocated; the call must refuse.
    assert!(unsafe { no_pairs.map_page_pair(c, d) }.is_none());
    no_pairs.leave_atomic(atomic);
    assert_eq!(backend.counters().pair_maps, 1);
}

#[test]
#[should_panic(expected = "LIFO")]
fn highmem_refuses_unmapping_half_a_pair() {
    let backend = HighmemBackend::new();
    let (a, b) = (backend.alloc_page().unwrap(), backend.alloc_page().unwrap());
    let _atomic = backend.enter_atomic();
    // SAFETY: deliberately unmaps only the first page of a pair; the
    // simulation must panic before touching anything.
    unsafe {
        let pair = backend.map_page_pair(a, b).unwrap();
        backend.unmap_page(a, pair);
    }
}

#[test]
#[should_panic(expected = "mappings at once")]
fn highmem_counts_a_pair_as_two_mappings() {
    let backend = HighmemBackend::new().with_max_mappings(2);
    let pages: Vec<_> = (0..3).map(|_| backend.alloc_page().unwrap()).collect();
    let _atomic = backend.enter_atomic();
    // SAFETY: the pages are allocated; the pair makes three mappings and
    // must panic.
    unsafe {
        backend.map_page(pages[0]);
        backend.map_page_pair(pages[1], pages[2]);
    }
}

#[test]
fn atomic_sections_end_in_any_order() {
    let (highmem, heap) = (HighmemBackend::new(), HeapBackend::new());
    let mut backends: Vec<&dyn AtomicOnly> = vec![&highmem];
    if cfg!(debug_assertions) {
        // HeapBackend checks its sections in debug builds only.
        backends.push(&heap);
    }
    for backend in backends {
        assert!(interrupts_enabled());
        let outer = backend.enter();
        let inner = backend.enter();
        assert!(!interrupts_enabled());
        backend.leave(outer);
        assert!(!interrupts_enabled(), "a section is still open");
        assert_eq!(atomic_depth(), 1);
        backend.leave(inner);
        assert!(interrupts_enabled(), "the last one restores the flag");
        // Interrupts that were off before stay off.
        set_interrupts_enabled(false);
        let section = backend.enter();
        backend.leave(section);
        assert!(!interrupts_enabled());
        set_interrupts_enabled(true);
    }
}

/// Just the atomic sections of a testing backend, as a trait object.
trait AtomicOnly {
    fn enter(&self) -> Box<dyn std::any::Any>;
    fn leave(&self, token: Box<dyn std::any::Any>);
}

impl<B: Backend> AtomicOnly for B
where
    B::AtomicState: 'static,
{
    fn enter(&self) -> Box<dyn std::any::Any> {
        Box::new(self.enter_atomic())
    }

    fn leave(&self, token: Box<dyn std::any::Any>) {
        self.leave_atomic(*token.downcast::<B::AtomicState>().unwrap());
    }
}

#[test]
fn an_atomic_section_cannot_end_on_another_cpu() {
    let backend = HighmemBackend::new();
    let token = backend.enter_atomic();
    let ended = std::thread::scope(|scope| scope.spawn(|| backend.leave_atomic(token)).join());
    assert!(ended.is_err(), "leaving on another thread must panic");
    assert_eq!(atomic_depth(), 1, "this CPU's section is still open");
}

#[test]
#[should_panic(expected = "still open when the last atomic section ends")]
fn a_mapping_cannot_outlive_the_last_atomic_section() {
    let backend = HighmemBackend::new();
    let page = backend.alloc_page().unwrap();
    let atomic = backend.enter_atomic();
    // SAFETY: the page is allocated; the mapping is deliberately left open.
    unsafe { backend.map_page(page) };
    backend.leave_atomic(atomic);
}
