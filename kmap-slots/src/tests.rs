//! Host tests of the slot stack (also run under Miri).

use super::*;

extern crate std;
use std::string::ToString;

type Stack = SlotStack<u32, 4>;

#[test]
fn slots_are_taken_bottom_up_and_given_back_top_down() {
    let mut stack = Stack::new();
    assert_eq!(stack.push(10), Ok(0));
    assert_eq!(stack.push(11), Ok(1));
    assert_eq!(stack.push(12), Ok(2));
    assert_eq!(
        (stack.depth(), stack.page(1), stack.page(3)),
        (3, Some(11), None)
    );
    assert_eq!(stack.pop(12, 2), Ok(()));
    assert_eq!(stack.pop(11, 1), Ok(()));
    assert_eq!(stack.push(13), Ok(1), "the freed slot is the next one");
    assert_eq!(stack.pop(13, 1), Ok(()));
    assert_eq!(stack.pop(10, 0), Ok(()));
    assert_eq!(stack.depth(), 0);
    let statistics = stack.statistics();
    assert_eq!(
        (
            statistics.taken,
            statistics.released,
            statistics.in_use,
            statistics.high_water
        ),
        (4, 4, 0, 3)
    );
}

#[test]
fn the_same_page_may_sit_in_several_slots() {
    let mut stack = Stack::new();
    for slot in 0..4 {
        assert_eq!(stack.push(7), Ok(slot));
    }
    for slot in (0..4).rev() {
        assert_eq!(stack.pop(7, slot), Ok(()));
    }
}

#[test]
fn a_full_stack_refuses_and_changes_nothing() {
    let mut stack = Stack::new();
    for page in 0..4 {
        stack.push(page).unwrap();
    }
    let before = stack.statistics();
    assert_eq!(stack.push(99), Err(SlotError::Exhausted));
    assert_eq!(stack.statistics(), before);
    assert_eq!(stack.depth(), 4);
    stack.pop(3, 3).unwrap();
    assert_eq!(stack.push(99), Ok(3), "room again");
}

#[test]
fn misuse_is_reported_and_changes_nothing() {
    let mut stack = Stack::new();
    stack.push(1).unwrap();
    stack.push(2).unwrap();
    let before = stack.statistics();
    let cases = [
        (stack.pop(1, 0), SlotError::OutOfOrder { slot: 0, top: 1 }),
        (stack.pop(1, 1), SlotError::NotHeld { slot: 1 }),
        (stack.pop(2, 2), SlotError::NotHeld { slot: 2 }),
        (
            stack.pop(2, usize::MAX),
            SlotError::NotHeld { slot: usize::MAX },
        ),
    ];
    for (result, expected) in cases {
        assert_eq!(result, Err(expected));
    }
    assert_eq!(stack.statistics(), before);
    assert_eq!((stack.page(0), stack.page(1)), (Some(1), Some(2)));
    stack.pop(2, 1).unwrap();
    stack.pop(1, 0).unwrap();
    assert_eq!(
        stack.pop(1, 0),
        Err(SlotError::NotHeld { slot: 0 }),
        "twice"
    );
}

/// An "interrupt" that maps and unmaps on top of open mappings leaves the
/// stack as it found it.
#[test]
fn nested_users_keep_the_stack_in_order() {
    let mut stack = Stack::new();
    let outer = stack.push(100).unwrap();
    let inner = stack.push(200).unwrap();
    let interrupt = stack.push(300).unwrap();
    assert_eq!(interrupt, 2);
    stack.pop(300, interrupt).unwrap();
    assert_eq!(stack.depth(), 2);
    stack.pop(200, inner).unwrap();
    stack.pop(100, outer).unwrap();
    assert_eq!(stack.statistics().high_water, 3);
}

#[test]
fn errors_read_as_sentences() {
    let error = SlotError::OutOfOrder { slot: 0, top: 2 };
    assert_eq!(
        error.to_string(),
        "slot 0 given back out of order: the most recent is slot 2"
    );
}
