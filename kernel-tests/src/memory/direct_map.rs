//! The direct map covers LOWMEM, and nothing above it.

use kernel::memory::frame::{self, GFP_HIGHMEM_ONLY, GFP_KERNEL};

fn lowmem_is_reachable_through_the_direct_map() {
    let frame = frame::allocate(GFP_KERNEL).unwrap();
    let address = kernel::memory::direct_map_address(frame.start_address()).unwrap();
    // SAFETY: the frame is ours (just allocated) and LOWMEM, so the direct
    // map covers all of it.
    unsafe {
        address.cast::<u64>().write_volatile(0x1234_5678);
        assert_eq!(address.cast::<u64>().read_volatile(), 0x1234_5678);
    }
    frame::free(frame).unwrap();
}
crate::kernel_test!(lowmem_is_reachable_through_the_direct_map);

fn highmem_has_no_direct_map_address() {
    if crate::memory::skip_without_highmem() {
        return;
    }
    let frame = frame::allocate(GFP_HIGHMEM_ONLY).unwrap();
    assert!(kernel::memory::direct_map_address(frame.start_address()).is_none());
    frame::free(frame).unwrap();
}
crate::kernel_test!(highmem_has_no_direct_map_address);

/// Where the bootloader's direct map used to reach a HIGHMEM frame there
/// is no mapping any more: the read faults.
fn direct_map_access_to_highmem_faults() {
    // A frame that was just free'd: nothing leaks when the fault ends the
    // test. (Without HIGHMEM, the first address above LOWMEM.)
    let address = match frame::allocate(GFP_HIGHMEM_ONLY) {
        Ok(frame) => {
            frame::free(frame).unwrap();
            frame.start_address()
        }
        Err(_) => kernel::memory::lowmem_limit(),
    };
    let stale = (kernel::memory::physical_memory_offset() + address) as *const u64;
    // SAFETY: not sound on purpose: nothing is mapped at `stale`, so the
    // read faults before touching memory; the runner expects the fault.
    let value = unsafe { stale.read_volatile() };
    kernel::println!("read {:#x} without a fault", value);
}
crate::kernel_test!(direct_map_access_to_highmem_faults, should_page_fault);

fn the_first_highmem_frame_faults_too() {
    let first = kernel::memory::lowmem_limit();
    let stale = (kernel::memory::physical_memory_offset() + first) as *const u8;
    // SAFETY: as above: the read must fault.
    let value = unsafe { stale.read_volatile() };
    kernel::println!("read {:#x} without a fault", value);
}
crate::kernel_test!(the_first_highmem_frame_faults_too, should_page_fault);
