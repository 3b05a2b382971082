//! The periodic timer: the 8253/8254 Programmable Interval Timer, channel 0.
//!
//! The PIT counts down from a divisor at 1,193,182 Hz and raises IRQ 0 each
//! time it reaches zero, so `frequency = 1_193_182 / divisor`. Every interrupt
//! increments the tick counter and calls the tick observer, if one is set (the
//! zsmalloc integration uses it to check that no timer interrupt ever lands
//! inside a map window).

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use x86_64::instructions::port::Port;
use x86_64::structures::idt::InterruptStackFrame;

/// The PIT's input clock in Hz.
pub const PIT_FREQUENCY_HZ: u32 = 1_193_182;
/// Timer frequency set at boot.
pub const DEFAULT_TIMER_HZ: u32 = 100;

const CHANNEL0_DATA: u16 = 0x40;
const MODE_COMMAND: u16 = 0x43;
/// Channel 0, low byte then high byte, mode 2 (rate generator), binary.
const CHANNEL0_RATE_GENERATOR: u8 = 0b0011_0100;

static TICKS: AtomicU64 = AtomicU64::new(0);
static FREQUENCY_HZ: AtomicU32 = AtomicU32::new(0);
static TICK_OBSERVER: AtomicUsize = AtomicUsize::new(0);

/// Timer interrupts since boot.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// The current timer frequency in Hz.
pub fn timer_frequency() -> u32 {
    FREQUENCY_HZ.load(Ordering::Relaxed)
}

/// Program the PIT to interrupt `hz` times a second (19..=1_193_182).
pub fn set_timer_frequency(hz: u32) {
    let divisor = (PIT_FREQUENCY_HZ / hz.max(1)).clamp(1, 65_535) as u16;
    x86_64::instructions::interrupts::without_interrupts(|| {
        // SAFETY: ports 0x40/0x43 belong to the PIT, which only this module
        // programs; the writes do not touch memory.
        unsafe {
            Port::new(MODE_COMMAND).write(CHANNEL0_RATE_GENERATOR);
            Port::new(CHANNEL0_DATA).write(divisor as u8);
            Port::new(CHANNEL0_DATA).write((divisor >> 8) as u8);
        }
        FREQUENCY_HZ.store(PIT_FREQUENCY_HZ / divisor as u32, Ordering::Relaxed);
    });
}

/// Call `observer` from every timer interrupt (interrupts are disabled while it
/// runs; keep it short). `None` removes it.
pub fn on_tick(observer: Option<fn()>) {
    TICK_OBSERVER.store(
        observer.map_or(0, |function| function as usize),
        Ordering::SeqCst,
    );
}

pub(super) extern "x86-interrupt" fn timer_interrupt_handler(_frame: InterruptStackFrame) {
    TICKS.fetch_add(1, Ordering::Relaxed);
    let observer = TICK_OBSERVER.load(Ordering::SeqCst);
    if observer != 0 {
        // SAFETY: a non-zero value was stored by `on_tick` from a valid `fn()`.
        let observer: fn() = unsafe { core::mem::transmute::<usize, fn()>(observer) };
        observer();
    }
    super::pic::end_of_interrupt(0);
}
