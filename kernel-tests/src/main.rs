//! The test kernel: boots like the demo kernel, then runs every registered
//! in-kernel test and exits QEMU with the verdict.
//!
//! The tests live here, not in the `kernel` crate, so that the demo kernel
//! carries no test code: one file of tests per kernel module, in the same
//! tree (`memory/kmap.rs` tests `kernel::memory::kmap`), each test registered
//! with `kernel_test!` (see [`runner`]). They use the kernel's public
//! interface only, as a student's code would.
//!
//! ```text
//!   runner.rs          registry (linker section), runner loop, panic and fault hooks
//!   self_test.rs       the runner's own tests (a failing and a hanging one on request)
//!   boot_options.rs, tsc.rs, interrupts/, memory/   the kernel's modules
//!   compressed_ram.rs  the zram-like store on real frames, interrupts off in map windows
//!   swap.rs            compressed swap: entries, budgets, clean-first reclaim, the workload, forged/stale/failed
//! ```
#![no_std]
#![no_main]
#![feature(used_with_arg)]

extern crate alloc;

mod runner;

mod boot_options;
mod compressed_ram;
mod interrupts;
mod memory;
mod screen;
mod self_test;
mod swap;
mod tsc;

use bootloader_api::{entry_point, BootInfo};
use core::panic::PanicInfo;

entry_point!(test_kernel_main, config = &kernel::BOOTLOADER_CONFIG);

fn test_kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::interrupts::set_fault_hook(runner::fault_hook);
    kernel::init(boot_info);
    runner::run_tests()
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    runner::panic(info)
}
