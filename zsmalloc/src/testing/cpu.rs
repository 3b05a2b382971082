//! A simulated CPU per host thread: its atomic sections and its interrupt
//! flag, with the [`Backend`](crate::Backend) contract checked.
//!
//! ```text
//!   enter  (depth 0 -> 1)   save the interrupt flag, disable interrupts
//!   enter  (depth n -> n+1)  nothing else
//!   leave  (any order)       depth - 1; the token must be this CPU's
//!   leave  (depth 1 -> 0)    no mapping may still be open; restore the saved flag
//! ```
//!
//! The testing backends call `enter` and `leave`; tests read
//! [`interrupts_enabled`] and [`atomic_depth`] to see what a kernel would
//! see, and [`set_interrupts_enabled`] plays code that runs with interrupts
//! already off.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread_local;

/// The token of one open atomic section of the simulated CPU.
#[derive(Debug)]
#[must_use = "pass it to leave_atomic"]
pub struct AtomicToken {
    cpu: u32,
}

struct Cpu {
    id: Cell<u32>,
    depth: Cell<usize>,
    interrupts_enabled: Cell<bool>,
    /// The flag from before the outermost open section.
    saved: Cell<bool>,
}

static NEXT_CPU: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static CPU: Cpu = const {
        Cpu {
            id: Cell::new(0),
            depth: Cell::new(0),
            interrupts_enabled: Cell::new(true),
            saved: Cell::new(true),
        }
    };
}

/// This thread's CPU number (assigned on first use).
fn cpu_id(cpu: &Cpu) -> u32 {
    if cpu.id.get() == 0 {
        cpu.id.set(NEXT_CPU.fetch_add(1, Ordering::Relaxed));
    }
    cpu.id.get()
}

/// Enter an atomic section of this thread's CPU.
pub(crate) fn enter() -> AtomicToken {
    CPU.with(|cpu| {
        let depth = cpu.depth.get();
        if depth == 0 {
            cpu.saved.set(cpu.interrupts_enabled.get());
            cpu.interrupts_enabled.set(false);
        }
        cpu.depth.set(depth + 1);
        AtomicToken { cpu: cpu_id(cpu) }
    })
}

/// End an atomic section, in any order; `mappings_open` says how many
/// mappings this thread still holds (they must be gone with the last one).
pub(crate) fn leave(token: AtomicToken, mappings_open: impl FnOnce() -> usize) {
    CPU.with(|cpu| {
        assert_eq!(
            token.cpu,
            cpu_id(cpu),
            "an atomic section ended on another CPU than it began"
        );
        let depth = cpu.depth.get();
        assert!(depth > 0, "leave_atomic without an open atomic section");
        cpu.depth.set(depth - 1);
        if depth == 1 {
            assert_eq!(
                mappings_open(),
                0,
                "a mapping is still open when the last atomic section ends"
            );
            cpu.interrupts_enabled.set(cpu.saved.get());
        }
    })
}

/// Open atomic sections on this thread's CPU.
pub fn atomic_depth() -> usize {
    CPU.with(|cpu| cpu.depth.get())
}

/// Whether this thread's CPU would take interrupts now.
pub fn interrupts_enabled() -> bool {
    CPU.with(|cpu| cpu.interrupts_enabled.get())
}

/// Enable or disable interrupts outside any atomic section (as kernel code
/// running with interrupts already off would).
pub fn set_interrupts_enabled(enabled: bool) {
    CPU.with(|cpu| {
        assert_eq!(
            cpu.depth.get(),
            0,
            "the interrupt flag changes only outside atomic sections"
        );
        cpu.interrupts_enabled.set(enabled);
    })
}
