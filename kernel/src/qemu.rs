//! Leaving QEMU with an exit code, through its `isa-debug-exit` device.
//!
//! QEMU is started with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
//! Writing a value `v` to port 0xF4 makes QEMU exit with status `(v << 1) | 1`:
//!
//! ```text
//!   kernel writes      QEMU exits with    meaning
//!   0x10 (Success)     33                 demo finished / all tests passed
//!   0x11 (Failed)      35                 a test failed, a page did not verify, a panic
//! ```
//!
//! The host runner (`boot`) maps 33 to success and everything else to failure.

use x86_64::instructions::port::Port;

/// The value written to the debug-exit port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// Every page verified, every test passed: QEMU exits with 33.
    Success = 0x10,
    /// A failed test, a page that did not verify, a panic: QEMU exits with 35.
    Failed = 0x11,
}

const DEBUG_EXIT_PORT: u16 = 0xF4;

/// Stop the virtual machine with `code`. Halts forever if the device is absent.
pub fn exit(code: ExitCode) -> ! {
    let mut port = Port::new(DEBUG_EXIT_PORT);
    // SAFETY: port 0xF4 is reserved for QEMU's isa-debug-exit device; writing
    // to it has no effect on memory. Without the device the write is ignored.
    unsafe { port.write(code as u32) };
    crate::halt_loop()
}
