//! Atomic sections: stretches of code that run with interrupts disabled,
//! nested, and measured.
//!
//! zsmalloc calls `enter_atomic` when a map window opens and `leave_atomic`
//! when it closes (and around its own short page accesses); the kernel's
//! backend forwards both here. The contract (zsmalloc's `Backend`): sections
//! nest and may end in *any* order; the interrupt flag from before the
//! outermost section comes back only when the last open section ends.
//!
//! ```text
//!   enter:  cli; depth 0 → 1? remember RFLAGS.IF from before the cli,
//!                             window_start = rdtsc, IN_WINDOW = true
//!   leave:  depth 1 → 0?  IN_WINDOW = false, length = rdtsc - window_start:
//!                         longest = max(longest, length), histogram[log2(length)] += 1,
//!                         then sti if interrupts were on before the outermost enter
//!
//!   a = enter()   b = enter()   leave(a)   leave(b)
//!   IF: on → off  off           off        off → on      windows closed out of order:
//!                                                        off until the last one ends
//! ```
//!
//! Each open section is an [`InterruptsOff`] token: `enter` is the only way
//! to get one and `leave` consumes it, so sections cannot be ended twice. The
//! token is neither `Send` nor `Clone`: a section ends on the CPU it began on.
//!
//! The timer checks on every tick whether it landed inside a window. A tick
//! can only arrive there if interrupts were not really off, so the violation
//! count must stay zero; the check is what proves it. The longest window, in
//! TSC cycles, is what a map window can delay an interrupt by; the
//! histogram of all window lengths ([`super::window_lengths`]) says how
//! typical it is. Both are measured from [`reset_window_lengths`] on (the
//! demo resets them at the start of each phase).

use super::window_lengths::{Recorder, WindowLengths};
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use x86_64::instructions::interrupts;

/// Open sections on this CPU (there is one CPU).
static DEPTH: AtomicU32 = AtomicU32::new(0);
/// Whether interrupts were enabled before the outermost open section.
static ENABLED_BEFORE: AtomicBool = AtomicBool::new(false);
static IN_WINDOW: AtomicBool = AtomicBool::new(false);
static WINDOW_START: AtomicU64 = AtomicU64::new(0);
static LONGEST_WINDOW: AtomicU64 = AtomicU64::new(0);
static LENGTHS: Recorder = Recorder::new();
static WINDOWS: AtomicU64 = AtomicU64::new(0);
static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
/// Whether windows opened now are measured (see [`unmeasured`]).
static MEASURING: AtomicBool = AtomicBool::new(true);
/// Whether the open window is measured.
static MEASURED_WINDOW: AtomicBool = AtomicBool::new(true);

/// One open atomic section; hand it back to [`leave`].
#[derive(Debug)]
#[must_use = "pass it to `leave`, or interrupts stay off"]
pub struct InterruptsOff {
    /// Not `Send`: the section belongs to this CPU.
    _not_send: PhantomData<*mut ()>,
}

/// Disable interrupts and open a section (the outermost one opens a window).
#[inline]
pub fn enter() -> InterruptsOff {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    // Interrupts are off from here on, so nothing can interleave with this
    // CPU's updates of the counters below.
    if DEPTH.fetch_add(1, Ordering::Relaxed) == 0 {
        ENABLED_BEFORE.store(were_enabled, Ordering::Relaxed);
        WINDOW_START.store(crate::tsc::read(), Ordering::Relaxed);
        MEASURED_WINDOW.store(MEASURING.load(Ordering::Relaxed), Ordering::Relaxed);
        IN_WINDOW.store(true, Ordering::Relaxed);
    }
    InterruptsOff {
        _not_send: PhantomData,
    }
}

/// Close a section, in any order; the last one to close ends the window and
/// restores the interrupt flag from before the outermost `enter`.
#[inline]
pub fn leave(_section: InterruptsOff) {
    // Read before the count drops: once it is 0, an interrupt handler's
    // section (were interrupts on by mistake) could overwrite it.
    let restore = ENABLED_BEFORE.load(Ordering::Relaxed);
    let depth = DEPTH.fetch_sub(1, Ordering::Relaxed);
    assert!(depth > 0, "an atomic section ended that never began");
    if depth == 1 {
        IN_WINDOW.store(false, Ordering::Relaxed);
        if MEASURED_WINDOW.load(Ordering::Relaxed) {
            let length = crate::tsc::read().saturating_sub(WINDOW_START.load(Ordering::Relaxed));
            LONGEST_WINDOW.fetch_max(length, Ordering::Relaxed);
            LENGTHS.record(length);
            WINDOWS.fetch_add(1, Ordering::Relaxed);
        }
        if restore {
            interrupts::enable();
        }
    }
}

/// Sections open right now.
pub fn depth() -> u32 {
    DEPTH.load(Ordering::Relaxed)
}

/// Run `f` with the windows it opens left out of the lengths (longest,
/// histogram, count): for sections that are not map windows, such as the
/// screen's walk of the pool, whose cost is reported on its own. A tick
/// inside them is still a violation.
pub fn unmeasured<T>(f: impl FnOnce() -> T) -> T {
    let before = MEASURING.swap(false, Ordering::Relaxed);
    let result = f();
    MEASURING.store(before, Ordering::Relaxed);
    result
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
    /// Outermost windows opened and closed since boot.
    pub windows: u64,
    /// The longest one since [`reset_window_lengths`], in TSC cycles.
    pub longest_cycles: u64,
    /// Timer interrupts that arrived inside a window since boot (must be 0).
    pub violations: u64,
    /// The lengths of the windows since [`reset_window_lengths`].
    pub lengths: WindowLengths,
}

impl WindowStatistics {
    /// The median window length since the reset (the upper edge of its
    /// log2 bucket, at most the longest).
    pub fn p50_cycles(&self) -> u64 {
        self.lengths.percentile(50, self.longest_cycles)
    }

    /// The 99th percentile, as [`WindowStatistics::p50_cycles`].
    pub fn p99_cycles(&self) -> u64 {
        self.lengths.percentile(99, self.longest_cycles)
    }
}

/// The counters (see [`WindowStatistics`] for which count since boot).
pub fn statistics() -> WindowStatistics {
    WindowStatistics {
        windows: WINDOWS.load(Ordering::Relaxed),
        longest_cycles: LONGEST_WINDOW.load(Ordering::Relaxed),
        violations: VIOLATIONS.load(Ordering::Relaxed),
        lengths: LENGTHS.snapshot(),
    }
}

/// Start measuring window lengths afresh: forget the longest window and
/// the histogram (e.g. between demo phases, or benchmark operations).
pub fn reset_window_lengths() {
    LONGEST_WINDOW.store(0, Ordering::Relaxed);
    LENGTHS.reset();
}
