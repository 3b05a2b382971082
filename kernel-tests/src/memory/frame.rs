//! Frames and zones: every frame once, GFP flags, bad frees, fragmentation.

use alloc::vec;
use alloc::vec::Vec;
use kernel::memory::frame::*;
use kernel::memory::PAGE_SIZE;

/// Room to record every frame of `zone`: a frame list and a bitmap.
/// Made *before* draining a zone, as the heap cannot grow once LOWMEM is
/// empty.
fn bookkeeping(zone: Zone) -> (Vec<Frame>, Vec<u64>) {
    let statistics = statistics()[zone.index()];
    let bitmap_words = (statistics.end / PAGE_SIZE as u64).div_ceil(64) as usize;
    (
        Vec::with_capacity(statistics.free + 64),
        vec![0; bitmap_words],
    )
}

/// Allocate every frame of `zone`, checking each is new and in the zone.
fn drain(zone: Zone, flags: AllocationFlags, frames: &mut Vec<Frame>, seen: &mut [u64]) {
    while let Ok(frame) = allocate(flags) {
        assert_eq!(
            zone_of(frame),
            zone,
            "frame {:?} is in the wrong zone",
            frame
        );
        let (word, bit) = ((frame.number() / 64) as usize, frame.number() % 64);
        assert!(
            seen[word] & (1 << bit) == 0,
            "frame {:?} handed out twice",
            frame
        );
        seen[word] |= 1 << bit;
        assert!(frames.len() < frames.capacity(), "more frames than counted");
        frames.push(frame);
    }
    assert_eq!(statistics()[zone.index()].free, 0);
}

fn drain_highmem() -> Vec<Frame> {
    let (mut frames, mut seen) = bookkeeping(Zone::High);
    drain(Zone::High, GFP_HIGHMEM_ONLY, &mut frames, &mut seen);
    frames
}

fn every_frame_of_each_zone_is_allocated_once_then_freed() {
    let (mut highmem, mut high_seen) = bookkeeping(Zone::High);
    let (mut lowmem, mut low_seen) = bookkeeping(Zone::Low);
    let before = statistics();
    drain(Zone::High, GFP_HIGHMEM_ONLY, &mut highmem, &mut high_seen);
    assert_eq!(highmem.len(), before[Zone::High.index()].free);
    drain(Zone::Low, GFP_KERNEL, &mut lowmem, &mut low_seen);
    assert_eq!(lowmem.len(), before[Zone::Low.index()].free);
    assert!(allocate(GFP_HIGHUSER).is_err(), "both zones are empty");
    for frame in highmem.iter().chain(lowmem.iter()) {
        free(*frame).expect("freeing an allocated frame");
    }
    for (before, after) in before.iter().zip(statistics().iter()) {
        let counters = |s: &ZoneStatistics| (s.total, s.free, s.allocated, s.free_blocks);
        assert_eq!(
            counters(after),
            counters(before),
            "{} is back as it was",
            after.zone.name()
        );
        assert!(after.high_water >= before.allocated + before.free);
    }
}
crate::kernel_test!(every_frame_of_each_zone_is_allocated_once_then_freed);

fn flags_choose_zones() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let kernel = allocate(GFP_KERNEL).unwrap();
    let user = allocate(GFP_HIGHUSER).unwrap();
    assert_eq!(zone_of(kernel), Zone::Low);
    assert_eq!(zone_of(user), Zone::High, "HIGHMEM is preferred");
    free(kernel).unwrap();
    free(user).unwrap();
}
crate::kernel_test!(flags_choose_zones);

fn highuser_falls_back_to_lowmem() {
    let highmem = drain_highmem();
    let fallback = allocate(GFP_HIGHUSER).expect("LOWMEM still has frames");
    assert_eq!(zone_of(fallback), Zone::Low);
    free(fallback).unwrap();
    highmem.into_iter().for_each(|frame| free(frame).unwrap());
}
crate::kernel_test!(highuser_falls_back_to_lowmem);

fn bad_frees_are_reported() {
    let frame = allocate(GFP_HIGHUSER).unwrap();
    free(frame).unwrap();
    assert_eq!(free(frame), Err(FreeError::NotAllocated(frame)));
    let below_managed = Frame::containing_address(0x1000);
    assert_eq!(
        free(below_managed),
        Err(FreeError::NotManaged(below_managed))
    );
    let beyond_ram = Frame::from_number(u32::MAX as u64);
    assert_eq!(free(beyond_ram), Err(FreeError::NotManaged(beyond_ram)));
    let run = allocate_contiguous(4, GFP_HIGHUSER).unwrap();
    assert_eq!(
        free(run.offset(1)),
        Err(FreeError::NotStartOfAllocation(run.offset(1)))
    );
    assert_eq!(
        free(run),
        Err(FreeError::WrongCount {
            frame: run,
            allocated: 4,
            freed: 1
        })
    );
    free_contiguous(run, 4).unwrap();
}
crate::kernel_test!(bad_frees_are_reported);

fn odd_sized_contiguous_runs_give_back_their_excess() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let before = statistics()[Zone::High.index()];
    let run = allocate_contiguous(5, GFP_HIGHMEM_ONLY).unwrap();
    assert_eq!(statistics()[Zone::High.index()].free, before.free - 5);
    free_contiguous(run, 5).unwrap();
    let after = statistics()[Zone::High.index()];
    assert_eq!(
        (after.free, after.free_blocks),
        (before.free, before.free_blocks)
    );
    assert!(allocate_contiguous(0, GFP_KERNEL).is_err());
    assert!(allocate_contiguous((1 << MAX_ORDER) + 1, GFP_KERNEL).is_err());
}
crate::kernel_test!(odd_sized_contiguous_runs_give_back_their_excess);

/// The argument for zsmalloc: after a checkerboard of frees, half of
/// HIGHMEM is free, yet not even two contiguous frames can be found;
/// single frames are still there for the asking.
fn fragmentation_defeats_contiguous_allocation_but_not_single_frames() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let run = allocate_contiguous(8, GFP_HIGHMEM_ONLY).expect("a fresh zone has runs");
    free_contiguous(run, 8).unwrap();
    let highmem = drain_highmem();
    let is_black = |frame: &&Frame| frame.number().is_multiple_of(2);
    highmem
        .iter()
        .filter(is_black)
        .for_each(|frame| free(*frame).unwrap());
    let freed = highmem.iter().filter(is_black).count();
    let zone = statistics()[Zone::High.index()];
    assert_eq!(zone.free, freed);
    assert_eq!(
        zone.free_blocks[0], freed,
        "no free block is larger than one frame"
    );
    assert!(
        allocate_contiguous(2, GFP_HIGHMEM_ONLY).is_err(),
        "{} frames free, none adjacent",
        zone.free
    );
    let single = allocate(GFP_HIGHMEM_ONLY).expect("single frames are still available");
    free(single).unwrap();
    let is_white = |frame: &&Frame| !frame.number().is_multiple_of(2);
    highmem
        .iter()
        .filter(is_white)
        .for_each(|frame| free(*frame).unwrap());
    let run = allocate_contiguous(8, GFP_HIGHMEM_ONLY).expect("buddies merged back");
    free_contiguous(run, 8).unwrap();
}
crate::kernel_test!(fragmentation_defeats_contiguous_allocation_but_not_single_frames);
