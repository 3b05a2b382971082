//! Atomic sections: interrupts off, nested in any order, and the checker.

use kernel::interrupts::atomic::*;
use x86_64::instructions::interrupts;

fn nested_sections_restore_the_flag_at_the_outermost_end() {
    assert!(interrupts::are_enabled());
    let outer = enter();
    assert!(!interrupts::are_enabled());
    let inner = enter();
    leave(inner);
    assert!(
        !interrupts::are_enabled(),
        "an inner leave must not enable interrupts"
    );
    leave(outer);
    assert!(interrupts::are_enabled());
    // Entering with interrupts already off must leave them off.
    interrupts::disable();
    leave(enter());
    assert!(!interrupts::are_enabled());
    interrupts::enable();
}
crate::kernel_test!(nested_sections_restore_the_flag_at_the_outermost_end);

/// Sections ended out of order: interrupts stay off until the last one
/// ends, whichever it is.
fn sections_ended_out_of_order_keep_interrupts_off_until_the_last() {
    assert!(interrupts::are_enabled());
    let windows_before = statistics().windows;
    let first = enter();
    let second = enter();
    let third = enter();
    leave(first);
    assert!(!interrupts::are_enabled(), "two sections are still open");
    leave(third);
    assert!(!interrupts::are_enabled(), "one section is still open");
    assert_eq!(depth(), 1);
    leave(second);
    assert!(
        interrupts::are_enabled(),
        "the last section restored the flag"
    );
    assert_eq!(depth(), 0);
    assert_eq!(statistics().windows, windows_before + 1, "one window");
}
crate::kernel_test!(sections_ended_out_of_order_keep_interrupts_off_until_the_last);

/// The checker is not vacuous: interrupts turned on inside a window (a
/// bug the contract forbids) are caught by the next timer tick.
fn the_checker_catches_a_window_with_interrupts_on() {
    start_checking();
    let before = statistics().violations;
    let section = enter();
    interrupts::enable();
    let start = kernel::interrupts::ticks();
    while kernel::interrupts::ticks() < start + 2 {
        x86_64::instructions::hlt();
    }
    interrupts::disable();
    leave(section);
    kernel::interrupts::on_tick(None);
    assert!(interrupts::are_enabled());
    assert!(
        statistics().violations > before,
        "the timer did not notice the open window"
    );
}
crate::kernel_test!(the_checker_catches_a_window_with_interrupts_on);
