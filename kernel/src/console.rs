//! The serial console: COM1 (I/O port 0x3F8) through the `uart_16550` driver.
//!
//! Everything the kernel prints goes here; QEMU forwards it to the terminal
//! (`-serial stdio`). The console is a spin lock around the UART. Printing
//! takes the lock with interrupts disabled, so an interrupt handler that prints
//! can never find the lock held by the code it interrupted (which would spin
//! forever on a single CPU).
//!
//! The shell (`kernel::shell`) also reads from it: received bytes are
//! polled, one at a time, with [`try_read_byte`].

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550Tty};

const COM1: u16 = 0x3F8;

static CONSOLE: Mutex<Option<Uart16550Tty<PioBackend>>> = Mutex::new(None);

/// Initialise COM1. Printing before this is silently dropped.
pub fn init() {
    // SAFETY: COM1 is the standard first serial port of a PC (and of QEMU's
    // machine); nothing else in the kernel touches these eight I/O ports.
    let uart = unsafe { Uart16550Tty::new_port(COM1, Config::default()) };
    if let Ok(uart) = uart {
        x86_64::instructions::interrupts::without_interrupts(|| *CONSOLE.lock() = Some(uart));
    }
}

/// Print formatted text; used by the `print!`/`println!` macros.
pub fn print(arguments: fmt::Arguments) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if let Some(uart) = CONSOLE.lock().as_mut() {
            let _ = uart.write_fmt(arguments);
        }
    });
}

/// Send raw bytes (a terminal's echo, control sequences) to the console.
pub fn write_bytes(bytes: &[u8]) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if let Some(uart) = CONSOLE.lock().as_mut() {
            uart.inner_mut().send_bytes_exact(bytes);
        }
    });
}

/// A byte received on the serial port, if one is waiting (polled: the
/// receive interrupt stays off).
pub fn try_read_byte() -> Option<u8> {
    x86_64::instructions::interrupts::without_interrupts(|| {
        CONSOLE
            .lock()
            .as_mut()
            .and_then(|uart| uart.inner_mut().try_receive_byte().ok())
    })
}

/// Make the console usable from a panic or fault that may have struck while
/// the lock was held. Only for code that never returns to the interrupted code.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: the caller is on a path that abandons the code that held
        // the lock (panic, fatal fault, abandoned test), so that code will
        // never touch the UART again; single CPU, so nobody else holds it.
        unsafe { CONSOLE.force_unlock() };
    }
}

/// Print to the serial console.
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => ($crate::console::print(format_args!($($argument)*)));
}

/// Print a line to the serial console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($argument:tt)*) => ($crate::console::print(format_args!("{}\n", format_args!($($argument)*))));
}
