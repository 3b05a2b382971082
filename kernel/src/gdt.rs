//! The Global Descriptor Table and the Task State Segment.
//!
//! In 64-bit mode segmentation is mostly gone, but the CPU still needs a code
//! segment and a TSS. The TSS matters to us for one thing: its Interrupt Stack
//! Table (IST), a list of known-good stacks the CPU switches to for chosen
//! exceptions. The double-fault handler runs on its own stack, so a kernel
//! stack overflow (which faults again when pushing the exception frame) ends in
//! a readable report instead of a triple fault and a silent reboot.
//!
//! ```text
//!   GDT: [ null | kernel code | kernel data | TSS (two slots) ]
//!   TSS.IST[0] ──► DOUBLE_FAULT_STACK (20 KiB, static)
//! ```

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// Index in the IST of the stack used for double faults.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;
const DOUBLE_FAULT_STACK_SIZE: usize = 20 * 1024;

#[repr(align(16))]
struct Stack(#[allow(dead_code)] [u8; DOUBLE_FAULT_STACK_SIZE]);

static mut DOUBLE_FAULT_STACK: Stack = Stack([0; DOUBLE_FAULT_STACK_SIZE]);

struct Selectors {
    code: SegmentSelector,
    data: SegmentSelector,
    tss: SegmentSelector,
}

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

fn task_state_segment() -> TaskStateSegment {
    let mut tss = TaskStateSegment::new();
    let stack_start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK);
    // Stacks grow down: the IST entry holds the top (highest address).
    tss.interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] =
        stack_start + DOUBLE_FAULT_STACK_SIZE as u64;
    tss
}

/// Load the GDT and TSS and reload the segment registers.
pub fn init() {
    let tss = TSS.call_once(task_state_segment);
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss = gdt.append(Descriptor::tss_segment(tss));
        (gdt, Selectors { code, data, tss })
    });
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which
    // lives in a static (`Once`) for the rest of the kernel's life.
    unsafe {
        CS::set_reg(selectors.code);
        DS::set_reg(selectors.data);
        ES::set_reg(selectors.data);
        SS::set_reg(selectors.data);
        load_tss(selectors.tss);
    }
}
