//! The ramdisk: a file the bootloader loads into memory next to the kernel.
//! The host runner puts the demo's page corpus there (`--corpus FILE`).
//!
//! The bootloader maps the ramdisk at a virtual address of its choosing
//! (`BootInfo::ramdisk_addr`, a mapping separate from the direct map, so it
//! stays reachable whatever the size of LOWMEM) and marks its frames as used
//! in the memory map, so the frame allocator never hands them out.

use spin::Once;

static RAMDISK: Once<Option<&'static [u8]>> = Once::new();

/// Remember where the ramdisk is (called once at boot).
pub fn init(boot_info: &bootloader_api::BootInfo) {
    RAMDISK.call_once(|| {
        let address = boot_info.ramdisk_addr.into_option()?;
        let length = boot_info.ramdisk_len as usize;
        if length == 0 {
            return None;
        }
        // SAFETY: the bootloader loaded `length` bytes at `address` and keeps
        // them mapped for the kernel's lifetime; nothing writes to them
        // (the kernel only ever reads the ramdisk), and the frame allocator
        // never hands out their frames (they are not usable in the memory map).
        Some(unsafe { core::slice::from_raw_parts(address as *const u8, length) })
    });
}

/// The ramdisk's bytes, if the bootloader loaded one.
pub fn contents() -> Option<&'static [u8]> {
    RAMDISK.get().copied().flatten()
}
