//! The demo kernel: boots, reports the machine, and runs the demo.
#![no_std]
#![no_main]

use bootloader_api::{entry_point, BootInfo};
use kernel::{info, println};

entry_point!(kernel_main, config = &kernel::BOOTLOADER_CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::init(boot_info);
    println!();
    println!(
        "zsmalloc-os {} — a kernel built around Linux's zsmalloc",
        env!("CARGO_PKG_VERSION")
    );
    info!(
        "usable memory: {} MiB ({} KiB)",
        kernel::memory::frame::usable_bytes() >> 20,
        kernel::memory::frame::usable_bytes() >> 10
    );
    let options = kernel::boot_options::text();
    info!(
        "boot options: {}",
        if options.is_empty() {
            "(none)"
        } else {
            options
        }
    );
    let start = kernel::interrupts::ticks();
    for _ in 0..3 {
        let seen = kernel::interrupts::ticks();
        while kernel::interrupts::ticks() == seen {
            x86_64::instructions::hlt();
        }
        info!(
            "timer tick {} ({} Hz)",
            kernel::interrupts::ticks(),
            kernel::interrupts::timer_frequency()
        );
    }
    info!("{} ticks seen; done", kernel::interrupts::ticks() - start);
    kernel::qemu::exit(kernel::qemu::ExitCode::Success)
}
