//! The demo kernel: boots, reports the machine, and runs the compressed-RAM
//! demo (see `kernel::compressed_ram::demo`) on the ramdisk's page corpus or,
//! without one, on the built-in workload. QEMU's exit code is the verdict.
//! With the boot option `shell=on` it runs the shell (`kernel::shell`) instead.
#![no_std]
#![no_main]

extern crate alloc;

use bootloader_api::{entry_point, BootInfo};
use core::panic::PanicInfo;
use kernel::compressed_ram::{demo, workload::Workload};
use kernel::qemu::{exit, ExitCode};
use kernel::{info, interrupts, memory, println, tsc};

entry_point!(kernel_main, config = &kernel::BOOTLOADER_CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::init(boot_info);
    println!();
    println!(
        "zsmalloc-os {} — a kernel built around Linux's zsmalloc",
        env!("CARGO_PKG_VERSION")
    );
    info!("usable memory: {} MiB", memory::frame::usable_bytes() >> 20);
    memory::log_summary();
    let options = kernel::boot_options::text();
    info!(
        "boot options: {}",
        if options.is_empty() {
            "(none)"
        } else {
            options
        }
    );
    show_timer_ticks(3);
    let cycles_per_second = tsc::calibrate(10);
    info!(
        "TSC: {} MHz (calibrated against the PIT)",
        cycles_per_second / 1_000_000
    );
    // `./run-qemu.sh --shell` (boot option shell=on): a prompt instead of the demo.
    if kernel::boot_options::get("shell") == Some("on") {
        kernel::shell::set_observer(Some(show_on_screen));
        kernel::shell::run(&workload());
    }
    let verified = demo::run(&workload());
    info!("kernel heap: {}", memory::heap::statistics());
    if verified {
        info!("demo finished: every page verified");
        exit(ExitCode::Success)
    } else {
        kernel::error!("demo finished: some pages did not verify");
        exit(ExitCode::Failed)
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report_panic_and_exit(info)
}

/// The shell's observer: after each command, the screen shows the pool as
/// the command left it.
fn show_on_screen(
    store: &zram::CompressedStore<kernel::memory::zsmalloc_backend::KernelPages>,
    configuration: &str,
    command: &str,
) {
    kernel::screen::refresh(&alloc::format!("shell ({configuration}): {command}"), store);
}

fn show_timer_ticks(count: usize) {
    for _ in 0..count {
        let seen = interrupts::ticks();
        while interrupts::ticks() == seen {
            x86_64::instructions::hlt();
        }
        info!(
            "timer tick {} ({} Hz)",
            interrupts::ticks(),
            interrupts::timer_frequency()
        );
    }
}

/// The ramdisk's pages (whole pages only), or the built-in workload.
fn workload() -> Workload {
    match kernel::ramdisk::contents() {
        Some(bytes) if bytes.len() >= memory::PAGE_SIZE => {
            let whole_pages = bytes.len() / memory::PAGE_SIZE * memory::PAGE_SIZE;
            Workload::Corpus(&bytes[..whole_pages])
        }
        _ => Workload::BuiltIn {
            count: kernel::compressed_ram::workload::BUILT_IN_PAGES,
        },
    }
}
