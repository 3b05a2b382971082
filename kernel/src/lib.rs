//! The zsmalloc-os kernel library.
//!
//! Three kernels are thin entry points over this library: the demo
//! (`src/main.rs`), the test kernel (crate `kernel-tests`, which holds the
//! kernel's tests) and the benchmark kernel. Each defines its panic handler:
//!
//! ```text
//!   bootloader ──► entry point ──► kernel::init(boot_info)
//!                                    ├─ console      COM1 serial port, print!/println!, log levels
//!                                    ├─ gdt          segments, TSS, double-fault stack
//!                                    ├─ interrupts   IDT, exception handlers, PIC, timer
//!                                    ├─ memory       frames (LOWMEM/HIGHMEM), direct map, kmap, heap
//!                                    ├─ ramdisk      the page corpus the bootloader loaded
//!                                    └─ boot_options key=value options from QEMU's fw_cfg
//!                                  then the demo (`compressed_ram`: zsmalloc + a zram-like
//!                                  store), the test runner, or the benchmark
//! ```
#![no_std]
#![feature(abi_x86_interrupt)]

extern crate alloc;

pub mod boot_options;
pub mod compressed_ram;
pub mod console;
pub mod gdt;
pub mod interrupts;
pub mod log;
pub mod memory;
pub mod qemu;
pub mod ramdisk;
pub mod tsc;

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::BootInfo;
use core::panic::PanicInfo;

/// What we ask of the bootloader: a direct map of physical memory (placed by
/// the bootloader; `memory::init` cuts it down to LOWMEM) and a kernel stack
/// large enough for the tests. Everything the bootloader places goes below
/// 64 TiB, so it never meets the kernel's own fixed windows (kmap slots,
/// heap) above that, in `memory`.
pub const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.mappings.dynamic_range_end = Some(memory::BOOTLOADER_MAPPINGS_END);
    config.kernel_stack_size = 512 * 1024;
    config
};

/// Bring the machine up: console, descriptor tables, memory, interrupts.
/// Interrupts are enabled when this returns.
pub fn init(boot_info: &'static mut BootInfo) {
    console::init();
    gdt::init();
    interrupts::init_idt();
    boot_options::init();
    log::init_from_boot_options();
    memory::init(boot_info);
    ramdisk::init(boot_info);
    interrupts::init_timer_and_pic(interrupts::DEFAULT_TIMER_HZ);
    x86_64::instructions::interrupts::enable();
}

/// What the demo and benchmark kernels do when they panic: report on the
/// console and end QEMU with failure. (The test kernel's runner instead
/// records a panic as the running test's outcome and goes on.)
pub fn report_panic_and_exit(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    console::force_unlock();
    println!("\nKERNEL PANIC: {}", info);
    qemu::exit(qemu::ExitCode::Failed)
}

/// Halt the CPU until the next interrupt, forever.
pub fn halt_loop() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}
