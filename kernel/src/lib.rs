//! The zsmalloc-os kernel library.
//!
//! Both kernel binaries — the demo (`src/main.rs`) and the test kernel
//! (`src/bin/kernel_tests.rs`) — are thin entry points over this library:
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
//!                                  store), or the test runner (`testing`)
//! ```
#![no_std]
#![feature(abi_x86_interrupt)]
#![feature(used_with_arg)]

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
pub mod testing;
pub mod tsc;

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::BootInfo;

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
    memory::init(boot_info);
    ramdisk::init(boot_info);
    interrupts::init_timer_and_pic(interrupts::DEFAULT_TIMER_HZ);
    x86_64::instructions::interrupts::enable();
}

/// Halt the CPU until the next interrupt, forever.
pub fn halt_loop() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}
