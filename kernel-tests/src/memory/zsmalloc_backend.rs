//! zsmalloc's backend on the kernel's frames: map windows and interrupts.

use kernel::memory::frame::GFP_KERNEL;
use kernel::memory::zsmalloc_backend::KernelPages;
use x86_64::instructions::interrupts;
use zsmalloc::{Pool, ReadOnly};

/// Two map windows closed out of order keep interrupts off until the last
/// one closes. (The pool's frames are LOWMEM: reached through the direct
/// map, they take no kmap slot, so the windows may close in any order.)
fn map_windows_closed_out_of_order_keep_interrupts_off_until_the_last() {
    let pool = Pool::new("windows", KernelPages::new(GFP_KERNEL));
    let first = pool.malloc(100).expect("memory");
    let second = pool.malloc(200).expect("memory");
    let mut first_mapper = pool.mapper();
    let mut second_mapper = pool.mapper();
    assert!(interrupts::are_enabled());
    let first_window = first_mapper.map(&first, ReadOnly).expect("map");
    let second_window = second_mapper.map(&second, ReadOnly).expect("map");
    assert!(
        !interrupts::are_enabled(),
        "map windows run with interrupts off"
    );
    drop(first_window);
    assert!(
        !interrupts::are_enabled(),
        "the second window is still open"
    );
    drop(second_window);
    assert!(
        interrupts::are_enabled(),
        "the last window restored the flag"
    );
    pool.free(first);
    pool.free(second);
    assert_eq!(pool.total_pages(), 0);
}
crate::kernel_test!(map_windows_closed_out_of_order_keep_interrupts_off_until_the_last);
