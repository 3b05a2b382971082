//! Host tests of the buddy allocator (also run under Miri, with smaller
//! counts). Every test ends with the invariant check.

use super::*;
use alloc::vec;
use alloc::vec::Vec;

extern crate alloc;
extern crate std;

/// A zone of `frames` frames from `first`, its records in a `Vec`.
struct TestZone {
    records: Vec<MaybeUninit<FrameRecord>>,
    first: u64,
}

impl TestZone {
    fn new(first: u64, frames: usize) -> Self {
        TestZone {
            records: vec![MaybeUninit::uninit(); frames],
            first,
        }
    }

    /// An allocator with every frame of the zone added, except `reserved`.
    fn allocator(&mut self, reserved: impl Fn(u64) -> bool) -> BuddyAllocator<'_> {
        let first = self.first;
        let frames = self.records.len() as u64;
        let mut allocator = BuddyAllocator::new(&mut self.records, first);
        for frame in first..first + frames {
            if !reserved(frame) {
                allocator.add_frame(frame).expect("a reserved frame");
            }
        }
        allocator.check().unwrap();
        allocator
    }
}

fn scale(normal: usize, under_miri: usize) -> usize {
    if cfg!(miri) {
        under_miri
    } else {
        normal
    }
}

#[test]
fn orders_and_alignment() {
    assert_eq!(order_for(1), Some(0));
    assert_eq!(order_for(3), Some(2));
    assert_eq!(order_for(1024), Some(10));
    assert_eq!(order_for(1025), None);
    assert_eq!(order_for(0), None);
    assert_eq!(largest_aligned_order(8, 100), 3);
    assert_eq!(largest_aligned_order(1024, 7), 2);
    assert_eq!(largest_aligned_order(0, 1 << 20), MAX_ORDER);
    assert_eq!(largest_aligned_order(5, 1), 0);
}

#[test]
fn a_fresh_zone_is_made_of_the_largest_aligned_blocks() {
    let mut zone = TestZone::new(0, 2 * 1024 + 8 + 1);
    let allocator = zone.allocator(|_| false);
    let counters = allocator.counters();
    assert_eq!(counters.managed, 2 * 1024 + 9);
    assert_eq!(counters.free, counters.managed);
    let mut expected = [0; ORDERS];
    (expected[MAX_ORDER], expected[3], expected[0]) = (2, 1, 1);
    assert_eq!(counters.free_blocks, expected);
}

#[test]
fn one_frame_splits_a_block_and_merges_back() {
    let mut zone = TestZone::new(8, 8);
    let mut allocator = zone.allocator(|_| false);
    assert_eq!(allocator.counters().free_blocks[3], 1);
    let frame = allocator.allocate(1).unwrap();
    assert_eq!(frame, 8, "the lower half is kept at every split");
    // 9, 10-11 and 12-15 are the buddies split off on the way down.
    assert_eq!(&allocator.counters().free_blocks[..4], &[1, 1, 1, 0]);
    allocator.check().unwrap();
    allocator.free(frame, 1).unwrap();
    assert_eq!(&allocator.counters().free_blocks[..4], &[0, 0, 0, 1]);
    allocator.check().unwrap();
}

#[test]
fn every_frame_is_allocated_once_then_freed() {
    let frames = scale(5000, 400);
    let mut zone = TestZone::new(300, frames);
    let mut allocator = zone.allocator(|frame| frame % 97 == 0);
    let before = allocator.counters();
    let mut seen = vec![false; frames];
    let mut taken = Vec::new();
    while let Some(frame) = allocator.allocate(1) {
        let index = (frame - 300) as usize;
        assert!(frame % 97 != 0, "frame {frame} is reserved");
        assert!(!seen[index], "frame {frame} handed out twice");
        seen[index] = true;
        taken.push(frame);
    }
    assert_eq!(taken.len(), before.free);
    assert_eq!(allocator.counters().free, 0);
    assert_eq!(allocator.counters().high_water, before.free);
    allocator.check().unwrap();
    for frame in taken {
        allocator.free(frame, 1).unwrap();
    }
    let after = allocator.counters();
    assert_eq!(
        (after.free, after.free_blocks),
        (before.free, before.free_blocks)
    );
    allocator.check().unwrap();
}

#[test]
fn a_run_takes_an_aligned_block_and_gives_back_its_excess() {
    let mut zone = TestZone::new(0, 64);
    let mut allocator = zone.allocator(|_| false);
    let before = allocator.counters();
    let run = allocator.allocate(5).unwrap();
    assert_eq!(run % 8, 0, "a run of 5 comes from a block of 8");
    assert_eq!(allocator.counters().free, before.free - 5);
    allocator.check().unwrap();
    allocator.free(run, 5).unwrap();
    let after = allocator.counters();
    assert_eq!(
        (after.free, after.free_blocks),
        (before.free, before.free_blocks)
    );
    assert_eq!(allocator.allocate(0), None);
    assert_eq!(allocator.allocate((1 << MAX_ORDER) + 1), None);
    assert_eq!(allocator.allocate(65), None, "larger than the zone");
    allocator.check().unwrap();
}

#[test]
fn bad_frees_and_adds_are_errors_that_change_nothing() {
    let mut zone = TestZone::new(16, 32);
    let mut allocator = zone.allocator(|frame| frame == 20);
    let single = allocator.allocate(1).unwrap();
    let run = allocator.allocate(4).unwrap();
    let before = allocator.counters();
    let errors = [
        (
            allocator.free(single + 1, 1),
            FrameError::NotAllocated(single + 1),
        ),
        (allocator.free(20, 1), FrameError::NotManaged(20)),
        (allocator.free(15, 1), FrameError::OutsideZone(15)),
        (allocator.free(48, 1), FrameError::OutsideZone(48)),
        (
            allocator.free(run + 1, 1),
            FrameError::NotStartOfAllocation(run + 1),
        ),
        (
            allocator.free(run, 1),
            FrameError::WrongCount {
                frame: run,
                allocated: 4,
                freed: 1,
            },
        ),
        (
            allocator.add_frame(single),
            FrameError::AlreadyManaged(single),
        ),
        (
            allocator.add_frame(u64::MAX),
            FrameError::OutsideZone(u64::MAX),
        ),
    ];
    for (result, expected) in errors {
        assert_eq!(result, Err(expected));
    }
    assert_eq!(allocator.counters(), before);
    allocator.check().unwrap();
    allocator.free(single, 1).unwrap();
    assert_eq!(
        allocator.free(single, 1),
        Err(FrameError::NotAllocated(single))
    );
    allocator.free(run, 4).unwrap();
    allocator
        .add_frame(20)
        .expect("a reserved frame joins the zone");
    assert_eq!(allocator.counters().free, 32);
    assert_eq!(allocator.counters().free_blocks[4], 2, "and merges");
    allocator.check().unwrap();
}

/// After a checkerboard of frees, half the zone is free, yet not even two
/// contiguous frames can be found; single frames are still there.
#[test]
fn fragmentation_defeats_runs_but_not_single_frames() {
    let mut zone = TestZone::new(0, 256);
    let mut allocator = zone.allocator(|_| false);
    let frames: Vec<u64> = core::iter::from_fn(|| allocator.allocate(1)).collect();
    for &frame in frames.iter().filter(|frame| *frame % 2 == 0) {
        allocator.free(frame, 1).unwrap();
    }
    let counters = allocator.counters();
    assert_eq!((counters.free, counters.free_blocks[0]), (128, 128));
    assert_eq!(
        allocator.allocate(2),
        None,
        "128 frames free, none adjacent"
    );
    let single = allocator.allocate(1).expect("single frames remain");
    allocator.free(single, 1).unwrap();
    for &frame in frames.iter().filter(|frame| *frame % 2 == 1) {
        allocator.free(frame, 1).unwrap();
    }
    assert_eq!(allocator.counters().free_blocks[8], 1, "merged back whole");
    allocator.check().unwrap();
}

/// A zone that starts at frame 512 (2 MiB, like a LOWMEM limit): its first
/// block's buddy (frame 0) is outside, so it can never merge across.
#[test]
fn blocks_never_merge_across_the_zone_start() {
    let mut zone = TestZone::new(512, 1536);
    let mut allocator = zone.allocator(|_| false);
    let counters = allocator.counters();
    assert_eq!(counters.free_blocks[9], 1, "frames 512..1024");
    assert_eq!(counters.free_blocks[10], 1, "frames 1024..2048");
    let frame = allocator.allocate(1).unwrap();
    allocator.free(frame, 1).unwrap();
    assert_eq!(allocator.counters().free_blocks, counters.free_blocks);
    allocator.check().unwrap();
}

/// A small deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Random allocations and frees against a model: which frames are taken.
/// Every run must be new, in the zone and not reserved; everything freed
/// leaves the zone as it began.
#[test]
fn random_runs_match_a_model() {
    let frames = scale(4096, 300);
    let steps = scale(20_000, 800);
    let first = 1000;
    let reserved = |frame: u64| frame % 251 == 3;
    let mut zone = TestZone::new(first, frames);
    let mut allocator = zone.allocator(reserved);
    let initial = allocator.counters();
    let mut taken = vec![false; frames];
    let mut live: Vec<(u64, usize)> = Vec::new();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for step in 0..steps {
        if live.is_empty() || !random.next().is_multiple_of(3) {
            let count = match random.next() % 8 {
                0 => 1 + (random.next() % 40) as usize,
                _ => 1,
            };
            let Some(run) = allocator.allocate(count) else {
                continue;
            };
            for frame in run..run + count as u64 {
                assert!(frame >= first && frame < first + frames as u64);
                assert!(!reserved(frame), "frame {frame} is reserved");
                let index = (frame - first) as usize;
                assert!(!taken[index], "frame {frame} handed out twice");
                taken[index] = true;
            }
            live.push((run, count));
        } else {
            let (run, count) = live.swap_remove((random.next() % live.len() as u64) as usize);
            allocator.free(run, count).unwrap();
            for frame in run..run + count as u64 {
                taken[(frame - first) as usize] = false;
            }
        }
        let held: usize = live.iter().map(|(_, count)| count).sum();
        assert_eq!(allocator.counters().allocated(), held);
        if step % 256 == 0 {
            allocator.check().unwrap();
        }
    }
    for (run, count) in live {
        allocator.free(run, count).unwrap();
    }
    let end = allocator.counters();
    assert_eq!(
        (end.free, end.free_blocks),
        (initial.free, initial.free_blocks)
    );
    allocator.check().unwrap();
}

#[test]
fn the_checker_notices_a_broken_list() {
    let mut zone = TestZone::new(0, 16);
    let mut allocator = zone.allocator(|_| false);
    let frame = allocator.allocate(1).unwrap();
    allocator.check().unwrap();
    // A forged record: the allocated frame claims to be a free block head.
    allocator.records[frame as usize].state = crate::buddy_allocator::FrameState::FreeHead;
    assert!(allocator.check().is_err());
}

#[test]
fn frame_uses_show_reserved_frames_allocations_and_free_blocks() {
    let mut zone = TestZone::new(16, 16);
    let mut allocator = zone.allocator(|frame| frame == 31);
    // Free blocks 16-23, 24-27, 28-29 and 30: one frame takes the last.
    assert_eq!(allocator.allocate(1), Some(30));
    let mut runs = Vec::new();
    allocator.frame_uses(&mut |frame, count, used| runs.push((frame, count, used)));
    let block = |order| FrameUse::FreeBlockStart { order };
    assert_eq!(
        runs,
        [
            (16, 1, block(3)),
            (17, 7, FrameUse::Free),
            (24, 1, block(2)),
            (25, 3, FrameUse::Free),
            (28, 1, block(1)),
            (29, 1, FrameUse::Free),
            (30, 1, FrameUse::Allocated),
            (31, 1, FrameUse::Reserved),
        ]
    );
    allocator.check().unwrap();
}
