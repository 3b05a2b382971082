//! Pages are allocated with interrupts on: never inside an atomic section
//! (Linux's `zs_malloc` makes a new zspage outside its class lock).

use std::ptr::NonNull;

use zsmalloc::testing::cpu::atomic_depth;
use zsmalloc::testing::{fill_pattern, has_pattern, HighmemBackend};
use zsmalloc::{Backend, Config, OutOfPages, Pool, PAGE_SIZE};

/// A HIGHMEM simulation that refuses to allocate a page inside an atomic
/// section.
struct OutsideSections(HighmemBackend);

impl Backend for OutsideSections {
    type Page = <HighmemBackend as Backend>::Page;
    type AtomicState = <HighmemBackend as Backend>::AtomicState;

    fn alloc_page(&self) -> Result<Self::Page, OutOfPages> {
        assert_eq!(
            atomic_depth(),
            0,
            "a page allocated inside an atomic section"
        );
        self.0.alloc_page()
    }

    unsafe fn free_page(&self, page: Self::Page) {
        // SAFETY: forwarded contract.
        unsafe { self.0.free_page(page) }
    }

    unsafe fn map_page(&self, page: Self::Page) -> NonNull<u8> {
        // SAFETY: forwarded contract.
        unsafe { self.0.map_page(page) }
    }

    unsafe fn unmap_page(&self, page: Self::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.0.unmap_page(page, address) }
    }

    unsafe fn map_page_pair(&self, first: Self::Page, second: Self::Page) -> Option<NonNull<u8>> {
        // SAFETY: forwarded contract.
        unsafe { self.0.map_page_pair(first, second) }
    }

    unsafe fn unmap_page_pair(&self, first: Self::Page, second: Self::Page, address: NonNull<u8>) {
        // SAFETY: forwarded contract.
        unsafe { self.0.unmap_page_pair(first, second, address) }
    }

    fn enter_atomic(&self) -> Self::AtomicState {
        self.0.enter_atomic()
    }

    fn leave_atomic(&self, state: Self::AtomicState) {
        self.0.leave_atomic(state)
    }
}

#[test]
fn linux_layout_allocates_pages_outside_atomic_sections() {
    let step = if cfg!(miri) { 397 } else { 7 };
    for config in [Config::linux(4), Config::linux(8)] {
        let backend = OutsideSections(HighmemBackend::new());
        let pool = Pool::with_config("outside", &backend, config).unwrap();
        let handles: Vec<_> = (1..=PAGE_SIZE)
            .step_by(step)
            .map(|size| {
                let handle = pool.malloc(size).unwrap();
                let mut data = vec![0; size];
                fill_pattern(size as u64, &mut data);
                pool.write(&handle, &data).unwrap();
                (size, handle)
            })
            .collect();
        assert!(pool.total_pages() > 0);
        pool.check().unwrap();
        for (size, handle) in handles {
            let mut data = vec![0; size];
            pool.read(&handle, &mut data).unwrap();
            assert!(has_pattern(size as u64, &data), "size {size}");
            pool.free(handle);
        }
        assert_eq!(pool.total_pages(), 0);
    }
}
