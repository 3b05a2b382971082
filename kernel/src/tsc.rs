//! The time-stamp counter: a cycle counter read with `rdtsc`, calibrated
//! against the PIT so that cycles can be turned into microseconds.
//!
//! ```text
//!   PIT ticks:  |.........|.........|.........|   (known frequency)
//!   TSC:        t0                            t1  → cycles per second = (t1 - t0) / elapsed
//! ```

use core::sync::atomic::{AtomicU64, Ordering};

static CYCLES_PER_SECOND: AtomicU64 = AtomicU64::new(0);

/// The current value of the time-stamp counter.
#[inline]
pub fn read() -> u64 {
    // SAFETY: rdtsc only reads a counter; it is available on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Measure the TSC frequency over `ticks` timer interrupts (interrupts must
/// be enabled). Returns cycles per second and remembers it.
pub fn calibrate(ticks: u64) -> u64 {
    let hz = u64::from(crate::interrupts::timer_frequency().max(1));
    wait_for_next_tick();
    let start_tick = crate::interrupts::ticks();
    let start = read();
    while crate::interrupts::ticks() < start_tick + ticks {
        x86_64::instructions::hlt();
    }
    let cycles = read() - start;
    let per_second = cycles * hz / ticks;
    CYCLES_PER_SECOND.store(per_second, Ordering::Relaxed);
    per_second
}

fn wait_for_next_tick() {
    let seen = crate::interrupts::ticks();
    while crate::interrupts::ticks() == seen {
        x86_64::instructions::hlt();
    }
}

/// Cycles per second as calibrated (0 before `calibrate`).
pub fn cycles_per_second() -> u64 {
    CYCLES_PER_SECOND.load(Ordering::Relaxed)
}

/// Convert cycles to microseconds (0 before calibration).
pub fn cycles_to_microseconds(cycles: u64) -> f64 {
    match cycles_per_second() {
        0 => 0.0,
        per_second => cycles as f64 * 1e6 / per_second as f64,
    }
}
