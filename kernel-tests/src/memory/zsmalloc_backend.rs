//! zsmalloc's backend on the kernel's frames: map windows and interrupts.

use kernel::interrupts::atomic;
use kernel::memory::frame::{GFP_HIGHMEM_ONLY, GFP_KERNEL};
use kernel::memory::kmap;
use kernel::memory::zsmalloc_backend::KernelPages;
use x86_64::instructions::interrupts;
use zsmalloc::facade::{zs_create_pool, zs_malloc, zs_map_object, ZS_MM_RW};
use zsmalloc::{Pool, ReadOnly, ReadWrite};

/// A window opened inside another keeps interrupts off until the outer
/// one closes. (The pool's frames are LOWMEM: reached through the direct
/// map, they take no kmap slot.)
fn nested_map_windows_keep_interrupts_off_until_the_outermost_closes() {
    let pool = Pool::new("windows", KernelPages::new(GFP_KERNEL));
    let first = pool.malloc(100).expect("memory");
    let second = pool.malloc(200).expect("memory");
    let mut first_mapper = pool.mapper();
    let mut second_mapper = pool.mapper();
    assert!(interrupts::are_enabled());
    first_mapper
        .map(&first, ReadOnly, |_| {
            second_mapper
                .map(&second, ReadOnly, |_| {
                    assert!(
                        !interrupts::are_enabled(),
                        "map windows run with interrupts off"
                    );
                })
                .expect("map");
            assert!(!interrupts::are_enabled(), "the outer window is still open");
        })
        .expect("map");
    assert!(
        interrupts::are_enabled(),
        "the last window restored the flag"
    );
    pool.free(first);
    pool.free(second);
    assert_eq!(pool.total_pages(), 0);
}
crate::kernel_test!(nested_map_windows_keep_interrupts_off_until_the_outermost_closes);

/// Interrupts on, no atomic section or kmap slot left, and a new window on
/// HIGHMEM maps in place (nothing wedged the in-place window).
fn assert_all_is_well() {
    assert!(interrupts::are_enabled(), "interrupts came back on");
    assert_eq!(atomic::depth(), 0, "no atomic section left open");
    assert_eq!(kmap::statistics().slots_in_use, 0, "no kmap slot left");
    let pool = Pool::new("after", KernelPages::new(GFP_HIGHMEM_ONLY));
    let handle = pool.malloc(100).expect("memory");
    let in_place = pool
        .mapper()
        .map(&handle, ReadOnly, |window| window.is_in_place());
    assert_eq!(in_place, Ok(true), "later windows map in place");
    pool.free(handle);
}

/// Forgetting (`mem::forget`) a mapper, or a facade pool whose window is
/// open, leaves nothing behind: safe code cannot keep interrupts off.
fn forgotten_windows_leave_interrupts_on() {
    let pool = Pool::new("forget", KernelPages::new(GFP_HIGHMEM_ONLY));
    let handle = pool.malloc(3000).expect("memory");
    let mut mapper = pool.mapper();
    mapper
        .map(&handle, ReadWrite, |window| window.fill(9))
        .expect("map");
    core::mem::forget(mapper);
    assert_all_is_well();
    pool.free(handle);
    assert_eq!(pool.total_pages(), 0);

    let mut facade = zs_create_pool("forget", KernelPages::new(GFP_HIGHMEM_ONLY));
    let handle = zs_malloc(&facade, 3000);
    zs_map_object(&mut facade, handle, ZS_MM_RW)
        .expect("map")
        .fill(1);
    // zs_unmap_object never comes; the pool (and its frames) leak.
    core::mem::forget(facade);
    assert_all_is_well();
}
crate::kernel_test!(forgotten_windows_leave_interrupts_on);
