//! kmap: the direct map for LOWMEM, stack-ordered slots for HIGHMEM.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::memory::frame::{self, Frame, GFP_HIGHMEM_ONLY, GFP_KERNEL};
use kernel::memory::kmap::*;

fn lowmem_frames_come_back_through_the_direct_map() {
    let frame = frame::allocate(GFP_KERNEL).unwrap();
    let before = statistics();
    {
        let mut guard = kmap(frame);
        let expected = kernel::memory::direct_map_address(frame.start_address());
        assert_eq!(Some(guard.as_ptr()), expected);
        // SAFETY: the frame was allocated above and only this guard
        // maps it; each slice lives for one statement.
        unsafe { guard.as_mut_slice().fill(0x5a) };
        // SAFETY: as above.
        assert!(unsafe { guard.as_slice() }.iter().all(|&byte| byte == 0x5a));
    }
    let after = statistics();
    assert_eq!(after.calls, before.calls + 1);
    assert_eq!(
        (after.highmem_calls, after.tlb_flushes),
        (before.highmem_calls, before.tlb_flushes)
    );
    frame::free(frame).unwrap();
}
crate::kernel_test!(lowmem_frames_come_back_through_the_direct_map);

fn pattern(frame_index: usize, word: usize) -> u64 {
    (frame_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ word as u64
}

fn write_pattern(guard: &mut KmapGuard, frame_index: usize) {
    // SAFETY: the test allocated the frame; only this guard's slice
    // refers to its bytes while the pattern is written.
    let words = unsafe { guard.as_mut_slice() }.as_chunks_mut::<8>().0;
    for (word, bytes) in words.iter_mut().enumerate() {
        *bytes = pattern(frame_index, word).to_ne_bytes();
    }
}

fn pattern_matches(guard: &KmapGuard, frame_index: usize) -> bool {
    // SAFETY: the test allocated the frame; nothing writes it meanwhile.
    let words = unsafe { guard.as_slice() }.as_chunks::<8>().0;
    words
        .iter()
        .enumerate()
        .all(|(word, bytes)| u64::from_ne_bytes(*bytes) == pattern(frame_index, word))
}

/// Write a pattern into many HIGHMEM frames through slot 0, then read
/// each back through another slot (the lower slots held by fillers).
fn highmem_patterns_survive_remapping_through_other_slots() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    const FRAMES: usize = 512;
    let frames: Vec<Frame> = (0..FRAMES)
        .map(|_| frame::allocate(GFP_HIGHMEM_ONLY).expect("HIGHMEM frame"))
        .collect();
    let filler = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let before = statistics();
    for (index, frame) in frames.iter().enumerate() {
        let mut guard = kmap(*frame);
        assert_eq!(guard.as_ptr() as u64, slot_address(0));
        write_pattern(&mut guard, index);
    }
    let mut fillers = Vec::with_capacity(KMAP_SLOTS);
    for (index, frame) in frames.iter().enumerate() {
        let slot = 1 + index % (KMAP_SLOTS - 1);
        while fillers.len() < slot {
            fillers.push(kmap(filler));
        }
        while fillers.len() > slot {
            fillers.pop();
        }
        let guard = kmap(*frame);
        assert_eq!(guard.as_ptr() as u64, slot_address(slot));
        assert!(
            pattern_matches(&guard, index),
            "frame {} lost its pattern",
            index
        );
    }
    // Not `drop(fillers)`: a Vec drops its elements first to last, which
    // would unmap the slots bottom-up, out of order.
    while fillers.pop().is_some() {}
    let after = statistics();
    assert_eq!(after.slots_in_use, 0);
    assert!(after.slot_high_water >= KMAP_SLOTS);
    let unmaps = after.highmem_calls - before.highmem_calls;
    assert!(unmaps >= 2 * FRAMES as u64);
    assert_eq!(
        after.tlb_flushes - before.tlb_flushes,
        unmaps,
        "one flush per unmap"
    );
    frames
        .iter()
        .chain([&filler])
        .for_each(|frame| frame::free(*frame).unwrap());
}
crate::kernel_test!(highmem_patterns_survive_remapping_through_other_slots);

fn slots_nest_in_stack_order_and_run_out() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let frame = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let mut guards = Vec::with_capacity(KMAP_SLOTS);
    for slot in 0..KMAP_SLOTS {
        let guard = try_kmap(frame).expect("a free slot");
        assert_eq!(guard.as_ptr() as u64, slot_address(slot));
        guards.push(guard);
    }
    assert_eq!(statistics().slots_in_use, KMAP_SLOTS);
    assert_eq!(try_kmap(frame).err(), Some(KmapError::SlotsExhausted));
    while guards.pop().is_some() {}
    assert_eq!(statistics().slots_in_use, 0);
    let again = try_kmap(frame).expect("slots are free again");
    assert_eq!(again.as_ptr() as u64, slot_address(0));
    drop(again);
    frame::free(frame).unwrap();
}
crate::kernel_test!(slots_nest_in_stack_order_and_run_out);

fn out_of_order_unmap_is_reported() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let first = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let second = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let first_address = kmap_raw(first);
    let second_address = kmap_raw(second);
    assert_eq!(
        try_kunmap_raw(first, first_address),
        Err(KmapError::OutOfOrder {
            address: first_address as u64,
            expected: second_address as u64
        })
    );
    assert_eq!(
        try_kunmap_raw(first, second_address),
        Err(KmapError::NotMapped {
            frame: first,
            address: second_address as u64
        }),
        "the top slot holds another frame"
    );
    assert_eq!(
        statistics().slots_in_use,
        2,
        "a failed unmap changes nothing"
    );
    kunmap_raw(second, second_address);
    kunmap_raw(first, first_address);
    frame::free(first).unwrap();
    frame::free(second).unwrap();
}
crate::kernel_test!(out_of_order_unmap_is_reported);

fn unmapping_what_is_not_mapped_panics() {
    // Any frame above LOWMEM; nothing is mapped, so nothing is touched.
    let frame = Frame::containing_address(kernel::memory::lowmem_limit());
    kunmap_raw(frame, slot_address(0) as *mut u8);
}
crate::kernel_test!(unmapping_what_is_not_mapped_panics, should_panic);

static INTERRUPT_FRAME: AtomicU64 = AtomicU64::new(0);
static INTERRUPT_SLOT_ADDRESS: AtomicU64 = AtomicU64::new(0);
static INTERRUPT_READ: AtomicU64 = AtomicU64::new(0);

/// Runs in the timer interrupt: map, read, unmap, all before returning.
fn map_from_interrupt() {
    let frame = Frame::from_number(INTERRUPT_FRAME.load(Ordering::SeqCst));
    let address = kmap_raw(frame);
    // SAFETY: the test owns the frame and does not write it meanwhile;
    // the mapping is live until `kunmap_raw` below.
    let value = unsafe { address.cast::<u64>().read_volatile() };
    kunmap_raw(frame, address);
    INTERRUPT_READ.store(value, Ordering::SeqCst);
    INTERRUPT_SLOT_ADDRESS.store(address as u64, Ordering::SeqCst);
}

/// An interrupt handler may kmap while the interrupted code holds slots:
/// it takes the next slot and gives it back before returning, so the
/// stack stays in order.
fn an_interrupt_handler_nests_on_top_of_the_interrupted_code() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let frame = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let mut held = Vec::with_capacity(3);
    for _ in 0..3 {
        held.push(kmap(frame));
    }
    // SAFETY: the test owns the frame; no other reference to its bytes
    // is live during this one write.
    unsafe { held[0].as_ptr().cast::<u64>().write_volatile(0xfeed_f00d) };
    INTERRUPT_FRAME.store(frame.number(), Ordering::SeqCst);
    INTERRUPT_SLOT_ADDRESS.store(0, Ordering::SeqCst);
    kernel::interrupts::on_tick(Some(map_from_interrupt));
    while INTERRUPT_SLOT_ADDRESS.load(Ordering::SeqCst) == 0 {
        x86_64::instructions::hlt();
    }
    kernel::interrupts::on_tick(None);
    assert_eq!(
        INTERRUPT_SLOT_ADDRESS.load(Ordering::SeqCst),
        slot_address(3)
    );
    assert_eq!(INTERRUPT_READ.load(Ordering::SeqCst), 0xfeed_f00d);
    assert_eq!(statistics().slots_in_use, 3);
    while held.pop().is_some() {}
    frame::free(frame).unwrap();
}
crate::kernel_test!(an_interrupt_handler_nests_on_top_of_the_interrupted_code);

/// Unmapping clears the slot's entry *and* flushes its TLB entry: a read
/// through the old address faults, even right after a read through it put
/// the translation in the TLB. (The frame is freed first, so the fault
/// abandons nothing.)
fn a_use_after_unmap_faults() {
    assert!(
        kernel::memory::highmem_present(),
        "this test needs HIGHMEM (the default memory size has it)"
    );
    let frame = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    let address = kmap_raw(frame);
    // SAFETY: the test owns the frame and it is mapped at `address` until
    // the `kunmap_raw` below.
    unsafe { address.cast::<u64>().write_volatile(0x0bad_cafe) };
    // SAFETY: as above; this read caches the translation in the TLB.
    let written = unsafe { address.cast::<u64>().read_volatile() };
    assert_eq!(written, 0x0bad_cafe);
    kunmap_raw(frame, address);
    frame::free(frame).unwrap();
    // SAFETY: not sound on purpose: the slot is unmapped, so this read must
    // page-fault (the runner catches the fault); it reads no memory.
    let stale = unsafe { address.cast::<u64>().read_volatile() };
    panic!("read {stale:#x} through an unmapped kmap slot: no page fault");
}
crate::kernel_test!(a_use_after_unmap_faults, should_page_fault);
