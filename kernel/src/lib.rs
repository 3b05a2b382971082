//! # kernel — the zsmalloc-os kernel library
//!
//! Three kernels are thin entry points over this library, each its own
//! binary with its own panic handler:
//!
//! ```text
//!   kernel        (src/main.rs)         the demo: a zram-like store on zsmalloc, on a page corpus
//!   kernel-tests  (crate kernel-tests)  the kernel's tests, run in QEMU
//!   kernel-bench  (crate kernel-bench)  the in-QEMU half of the benchmark
//! ```
//!
//! All three boot the same way, then go their own way:
//!
//! ```text
//!   bootloader ──► entry point ──► kernel::init(boot_info)
//!                                    ├─ console      COM1 serial port
//!                                    ├─ gdt          segments, TSS, double-fault stack
//!                                    ├─ interrupts   IDT and exception handlers
//!                                    ├─ boot_options key=value options from QEMU's fw_cfg; log level
//!                                    ├─ memory       frames, page tables, direct map, kmap, heap
//!                                    ├─ ramdisk      the page corpus the bootloader loaded
//!                                    ├─ screen       the bootloader's framebuffer, cleared
//!                                    └─ interrupts   PIC and timer, then interrupts on
//!                                  ──► the demo, the test runner, or the benchmark
//! ```
//!
//! ## Module map
//!
//! ```text
//!   console            COM1 serial port, print!/println!
//!   log                error!/warn!/info!/debug!, level from the boot option log=
//!   gdt                segments, TSS, the double-fault stack
//!   interrupts         IDT, exception handlers, the fault hook
//!     ├─ pic           the 8259 pair, remapped to vectors 32..47
//!     ├─ timer         the PIT: ticks and the tick observer
//!     ├─ atomic        atomic sections: interrupts off, nested in any order, measured
//!     └─ window_lengths  the histogram of their lengths (log2 buckets of cycles)
//!   tsc                the cycle counter, calibrated against the PIT
//!   boot_options       key=value options from fw_cfg (their format: crate boot-options)
//!   memory             LOWMEM and HIGHMEM, like a 32-bit Linux kernel
//!     ├─ frame         frames, zones, GFP flags: allocate and free
//!     ├─ frame_table   the frame table and each zone's allocator, built at boot
//!     │                (the algorithm: crate buddy)
//!     ├─ paging        the page tables, and the one way to each of them
//!     ├─ direct_map    the bootloader's map of all memory, cut down to LOWMEM
//!     ├─ kmap          a HIGHMEM frame mapped for a moment (the slot stack: crate kmap-slots)
//!     ├─ heap          the kernel heap, growing with LOWMEM frames
//!     └─ zsmalloc_backend  zsmalloc's pages: frames, kmap, atomic sections
//!   ramdisk            the page corpus the bootloader loaded; moved out of LOWMEM at boot
//!   compressed_ram     the demo: a zram-like store on zsmalloc, its workload and report
//!   screen             the framebuffer: a live map of the frames and of the pool
//!   shell              a prompt on the serial console to poke the store (line editing
//!                      and parsing: crate shell-input)
//!   qemu               leaving QEMU with an exit code
//! ```
//!
//! The kernel depends on what it teaches: zsmalloc and zram, the x86_64 and
//! bootloader crates, and three small crates of its own logic that need no
//! hardware and are tested on the host (and under Miri): `buddy`,
//! `kmap-slots` and `boot-options`. The tests and the benchmark are other
//! crates, so the demo kernel carries neither.
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
pub mod screen;
pub mod shell;
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
    screen::init(boot_info.framebuffer.take());
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
