//! The benchmark kernel: the in-QEMU half of `./run-qemu.sh bench`.
//!
//! It boots like the demo kernel, then runs the benchmark's parts 3 to 5 on
//! the page corpus the host hands over as the ramdisk, and exits QEMU. It is
//! a kernel of its own so that the teaching kernel does not link the
//! benchmark's baselines (zbud, slab, the ideal allocator) and experiments.
//!
//! ```text
//!   kernel::init ─► benchmark.rs   part 3: zsmalloc on a fragmented HIGHMEM (single
//!                                  frames, or contiguous blocks: high_order.rs)
//!                                  part 4: speed in cycles, ours and the baselines
//!                                  (the `bench` crate's experiments, on real frames)
//!                  windows.rs      part 5: the longest interrupts-off window of each
//!                                  zsmalloc operation
//! ```
#![no_std]
#![no_main]

extern crate alloc;

mod benchmark;
mod high_order;
mod windows;

use bootloader_api::{entry_point, BootInfo};
use core::panic::PanicInfo;
use kernel::qemu::{exit, ExitCode};
use kernel::{info, memory, println, tsc};

entry_point!(bench_kernel_main, config = &kernel::BOOTLOADER_CONFIG);

fn bench_kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::init(boot_info);
    println!();
    println!(
        "zsmalloc-os {} — the benchmark, in QEMU",
        env!("CARGO_PKG_VERSION")
    );
    info!("usable memory: {} MiB", memory::frame::usable_bytes() >> 20);
    memory::log_summary();
    let cycles_per_second = tsc::calibrate(10);
    info!(
        "TSC: {} MHz (calibrated against the PIT)",
        cycles_per_second / 1_000_000
    );
    match kernel::ramdisk::contents() {
        Some(corpus) => {
            benchmark::run(corpus);
            exit(ExitCode::Success)
        }
        None => {
            kernel::error!("the benchmark needs a page corpus as the ramdisk");
            exit(ExitCode::Failed)
        }
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report_panic_and_exit(info)
}
