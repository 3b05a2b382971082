//! Map windows run with interrupts disabled; this module does that and
//! measures what it costs the rest of the system.
//!
//! zsmalloc calls `enter_atomic` when a map window opens and `leave_atomic`
//! when it closes (and around its own short page accesses). Here:
//!
//! ```text
//!   enter:  save RFLAGS.IF, cli; outermost? → window_start = rdtsc, IN_WINDOW = true
//!   leave:  outermost? → IN_WINDOW = false, longest = max(longest, rdtsc - window_start)
//!           restore IF as saved (so nesting inside an already-disabled region stays disabled)
//!   timer:  IN_WINDOW set when the tick arrived? → a violation
//! ```
//!
//! A timer interrupt can only arrive inside a window if interrupts were not
//! really off, so the violation count must stay zero; the check is what
//! proves it. The longest window, in TSC cycles, is what a map window can
//! delay an interrupt by.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use x86_64::instructions::interrupts;

static DEPTH: AtomicU32 = AtomicU32::new(0);
static IN_WINDOW: AtomicBool = AtomicBool::new(false);
static WINDOW_START: AtomicU64 = AtomicU64::new(0);
static LONGEST_WINDOW: AtomicU64 = AtomicU64::new(0);
static WINDOWS: AtomicU64 = AtomicU64::new(0);
static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// Whether interrupts were enabled before `enter`.
#[derive(Debug)]
#[must_use = "pass it to `leave`"]
pub struct SavedInterruptFlag {
    were_enabled: bool,
}

/// Disable interrupts and open (or nest into) a window.
pub fn enter() -> SavedInterruptFlag {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    if DEPTH.fetch_add(1, Ordering::Relaxed) == 0 {
        WINDOW_START.store(crate::tsc::read(), Ordering::Relaxed);
        IN_WINDOW.store(true, Ordering::Relaxed);
    }
    SavedInterruptFlag { were_enabled }
}

/// Close (or un-nest from) a window and restore the interrupt flag.
pub fn leave(saved: SavedInterruptFlag) {
    if DEPTH.fetch_sub(1, Ordering::Relaxed) == 1 {
        IN_WINDOW.store(false, Ordering::Relaxed);
        let length = crate::tsc::read().saturating_sub(WINDOW_START.load(Ordering::Relaxed));
        LONGEST_WINDOW.fetch_max(length, Ordering::Relaxed);
        WINDOWS.fetch_add(1, Ordering::Relaxed);
    }
    if saved.were_enabled {
        interrupts::enable();
    }
}

/// The timer's observer: count a tick that lands inside a window.
fn check_tick() {
    if IN_WINDOW.load(Ordering::Relaxed) {
        VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Start checking every timer tick.
pub fn start_checking() {
    crate::interrupts::on_tick(Some(check_tick));
}

/// What was measured so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowStatistics {
    /// Outermost windows opened and closed.
    pub windows: u64,
    /// The longest one, in TSC cycles.
    pub longest_cycles: u64,
    /// Timer interrupts that arrived inside a window (must be 0).
    pub violations: u64,
}

pub fn statistics() -> WindowStatistics {
    WindowStatistics {
        windows: WINDOWS.load(Ordering::Relaxed),
        longest_cycles: LONGEST_WINDOW.load(Ordering::Relaxed),
        violations: VIOLATIONS.load(Ordering::Relaxed),
    }
}

/// Forget the longest window (e.g. between demo phases).
pub fn reset_longest() {
    LONGEST_WINDOW.store(0, Ordering::Relaxed);
}

mod tests {
    use super::*;

    fn nesting_restores_the_interrupt_flag() {
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
    crate::kernel_test!(nesting_restores_the_interrupt_flag);

    /// The checker is not vacuous: a "window" with interrupts left on is caught.
    fn the_checker_catches_a_window_with_interrupts_on() {
        start_checking();
        let before = statistics().violations;
        IN_WINDOW.store(true, Ordering::Relaxed);
        let start = crate::interrupts::ticks();
        while crate::interrupts::ticks() < start + 2 {
            x86_64::instructions::hlt();
        }
        IN_WINDOW.store(false, Ordering::Relaxed);
        let caught = statistics().violations - before;
        VIOLATIONS.fetch_sub(caught, Ordering::Relaxed);
        crate::interrupts::on_tick(None);
        assert!(caught >= 1, "the timer did not notice the open window");
    }
    crate::kernel_test!(the_checker_catches_a_window_with_interrupts_on);
}
