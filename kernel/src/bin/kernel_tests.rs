//! The test kernel: boots like the demo kernel, then runs every registered
//! in-kernel test (see `kernel::testing`) and exits QEMU with the verdict.
#![no_std]
#![no_main]

use bootloader_api::{entry_point, BootInfo};

entry_point!(test_kernel_main, config = &kernel::BOOTLOADER_CONFIG);

fn test_kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::init(boot_info);
    kernel::testing::run_tests()
}
