//! Interrupts: exceptions, the timer, printing from a handler.

mod atomic;

use core::sync::atomic::{AtomicU64, Ordering};

fn breakpoint_returns() {
    let before = kernel::interrupts::breakpoints();
    x86_64::instructions::interrupts::int3();
    assert_eq!(kernel::interrupts::breakpoints(), before + 1);
}
crate::kernel_test!(breakpoint_returns);

fn timer_ticks() {
    let start = kernel::interrupts::ticks();
    while kernel::interrupts::ticks() < start + 3 {
        x86_64::instructions::hlt();
    }
    assert!(kernel::interrupts::timer_frequency() >= 18);
}
crate::kernel_test!(timer_ticks);

static OBSERVED: AtomicU64 = AtomicU64::new(0);

fn print_from_interrupt() {
    OBSERVED.fetch_add(1, Ordering::Relaxed);
    kernel::print!("");
}

/// The timer prints while the main code prints too: the console lock is
/// always taken with interrupts off, so this cannot deadlock.
fn printing_from_an_interrupt_handler_does_not_deadlock() {
    kernel::interrupts::set_timer_frequency(1000);
    kernel::interrupts::on_tick(Some(print_from_interrupt));
    let start = OBSERVED.load(Ordering::Relaxed);
    while OBSERVED.load(Ordering::Relaxed) < start + 20 {
        kernel::print!("");
    }
    kernel::interrupts::on_tick(None);
    kernel::interrupts::set_timer_frequency(kernel::interrupts::DEFAULT_TIMER_HZ);
}
crate::kernel_test!(printing_from_an_interrupt_handler_does_not_deadlock);
