//! The host side of zsmalloc-os.
//!
//! cargo builds the three kernels (demo, tests, benchmark) for
//! x86_64-unknown-none as artifact dependencies of this crate (`build.rs`
//! hands their paths to the code); then:
//!
//! ```text
//!   kernel ELF ──► image.rs: BIOS or UEFI disk image (bootloader crate),
//!                            optional ramdisk (a page corpus)
//!              ──► qemu.rs:  qemu-system-x86_64 with the serial console on
//!                            stdout, isa-debug-exit, boot options via fw_cfg,
//!                            a timeout, and the exit-code convention
//!   limits.rs: the least guest RAM a run needs, its default time limit
//!   screenshot.rs: the guest's screen as PNG at each phase's end (QEMU's monitor)
//! ```
//!
//! Used by the `boot` binary (`cargo run`, `./run-qemu.sh`) and by the
//! integration test `tests/kernel.rs` (`cargo test`, `./run-qemu.sh test`).

pub mod cli;
pub mod corpus;
pub mod image;
pub mod limits;
pub mod qemu;
pub mod screenshot;

use std::path::PathBuf;

/// Which kernel binary to boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// The demo kernel (`kernel/src/main.rs`).
    Demo,
    /// The test kernel (crate `kernel-tests`).
    Tests,
    /// The benchmark kernel (crate `kernel-bench`): the in-QEMU half of
    /// `./run-qemu.sh bench`.
    Bench,
}

impl Kernel {
    /// Path of the kernel ELF file built by cargo.
    pub fn path(self) -> PathBuf {
        PathBuf::from(match self {
            Kernel::Demo => env!("KERNEL_PATH"),
            Kernel::Tests => env!("KERNEL_TESTS_PATH"),
            Kernel::Bench => env!("KERNEL_BENCH_PATH"),
        })
    }
}

/// How the machine boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// Legacy BIOS (SeaBIOS, QEMU's default): an MBR disk image.
    Bios,
    /// UEFI (Debian's OVMF): a GPT disk image with a FAT partition.
    Uefi,
}
