//! The kernel heap: growth, exhaustion, recovery.

use alloc::boxed::Box;
use alloc::vec::Vec;
use kernel::memory::heap::{statistics, GROWTH_STEP};

fn boxes_and_vectors_work() {
    let boxed = Box::new(41u64 + 1);
    assert_eq!(*boxed, 42);
    let numbers: Vec<u64> = (0..10_000).collect();
    assert_eq!(numbers.iter().sum::<u64>(), 49_995_000);
}
crate::kernel_test!(boxes_and_vectors_work);

fn freed_memory_is_reused() {
    let (used_before, _) = kernel::memory::heap::usage();
    for round in 0..1000u64 {
        let block = Box::new([round; 64]);
        assert_eq!(block[63], round);
    }
    assert_eq!(kernel::memory::heap::usage().0, used_before);
}
crate::kernel_test!(freed_memory_is_reused);

/// Ask for more than is free: the heap must grow (unless an earlier
/// test already grew it to its limit; then it must still serve what fits).
fn the_heap_grows_on_demand() {
    let before = statistics();
    let room = before.limit - before.mapped;
    let size = if room >= 2 * GROWTH_STEP {
        before.free + GROWTH_STEP as usize
    } else {
        before.free / 2
    };
    let mut block: Vec<u8> = Vec::new();
    block.try_reserve_exact(size).expect("the heap serves this");
    block.resize(size, 0xa5);
    assert!(block.iter().all(|&byte| byte == 0xa5));
    let after = statistics();
    if room >= 2 * GROWTH_STEP {
        assert!(after.mapped > before.mapped, "{}", after);
        assert!(after.growths > before.growths);
    }
    assert!(after.mapped <= after.limit);
}
crate::kernel_test!(the_heap_grows_on_demand);

/// Fill the heap to its limit: the failure is an error value, the heap
/// stays within its limit, and everything works again once freed.
fn heap_exhaustion_is_an_error_and_recoverable() {
    let limit = statistics().limit as usize;
    let mut too_big: Vec<u8> = Vec::new();
    assert!(
        too_big.try_reserve(2 * limit).is_err(),
        "more than the limit"
    );
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(limit / GROWTH_STEP as usize * 2 + 16);
    loop {
        let mut block: Vec<u8> = Vec::new();
        if block.try_reserve_exact(GROWTH_STEP as usize / 2).is_err() {
            break;
        }
        block.push(1);
        blocks.push(block);
    }
    let full = statistics();
    assert!(full.mapped <= full.limit);
    assert!(
        full.mapped + GROWTH_STEP > full.limit || full.free < GROWTH_STEP as usize,
        "{}",
        full
    );
    assert!(full.failed_allocations >= 2);
    let held = blocks.len();
    drop(blocks);
    let mut again: Vec<u8> = Vec::new();
    again
        .try_reserve_exact(held / 2 * GROWTH_STEP as usize / 2)
        .expect("memory is usable again");
    again.push(2);
}
crate::kernel_test!(heap_exhaustion_is_an_error_and_recoverable);

/// An infallible allocation beyond the limit ends in Rust's allocation
/// error ("memory allocation of N bytes failed"), a panic, not in
/// corrupted memory.
fn an_infallible_allocation_beyond_the_limit_panics() {
    let limit = statistics().limit as usize;
    let block: Vec<u8> = Vec::with_capacity(limit + 1);
    // The compiler may drop an allocation whose memory is never used: make
    // the address matter.
    let address = core::hint::black_box(block.as_ptr());
    kernel::println!(
        "allocated {} bytes at {:p} beyond the limit?",
        limit + 1,
        address
    );
}
crate::kernel_test!(
    an_infallible_allocation_beyond_the_limit_panics,
    should_panic
);
