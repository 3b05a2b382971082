//! Interrupts: the IDT, the CPU exception handlers and the hardware interrupts.
//!
//! ```text
//!   vector   source                       handler
//!   3        int3 (breakpoint)            print, continue
//!   8        double fault (IST stack)     report, exit QEMU with failure
//!   13       general protection fault     fault hook, then panic
//!   14       page fault                   page-fault resolver (demand paging; see
//!                                          `crate::swap`), else fault hook, then
//!                                          panic with the address and error code
//!   32       PIT timer (IRQ 0)            tick counter + tick observer
//!   39, 47   spurious IRQ 7 / IRQ 15      counted, no end-of-interrupt
//! ```
//!
//! The *fault hook* sees a page fault or general protection fault before the
//! handler panics; the test kernel's runner uses it to pass a test that
//! expects the fault.
//!
//! The legacy PIC is remapped above the CPU exceptions (`pic.rs`), the timer
//! is the PIT (`timer.rs`), and `atomic.rs` runs stretches of code with
//! interrupts off (zsmalloc's map windows), nested and measured: the longest
//! window and a histogram of their lengths (`window_lengths.rs`).

pub mod atomic;
pub mod pic;
pub mod timer;
pub mod window_lengths;

pub use timer::{on_tick, set_timer_frequency, ticks, timer_frequency, DEFAULT_TIMER_HZ};

use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

static IDT: Once<InterruptDescriptorTable> = Once::new();
static FAULT_HOOK: Once<fn(Fault)> = Once::new();
static PAGE_FAULT_RESOLVER: Once<fn(u64, PageFaultErrorCode) -> bool> = Once::new();
static SPURIOUS_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// Load the interrupt descriptor table (exceptions and PIC vectors).
pub fn init_idt() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        idt.breakpoint.set_handler_fn(breakpoint_handler);
        idt.page_fault.set_handler_fn(page_fault_handler);
        idt.general_protection_fault
            .set_handler_fn(general_protection_handler);
        // SAFETY: the IST index names the double-fault stack that `gdt::init`
        // installed in the TSS; that stack is used by nothing else.
        unsafe {
            idt.double_fault
                .set_handler_fn(double_fault_handler)
                .set_stack_index(crate::gdt::DOUBLE_FAULT_IST_INDEX);
        }
        idt[pic::TIMER_VECTOR].set_handler_fn(timer::timer_interrupt_handler);
        idt[pic::MASTER_SPURIOUS_VECTOR].set_handler_fn(master_spurious_handler);
        idt[pic::SLAVE_SPURIOUS_VECTOR].set_handler_fn(slave_spurious_handler);
        idt
    });
    idt.load();
}

/// A CPU fault, as the fault hook is told of it.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// A page fault at `address` (CR2).
    Page {
        /// The address whose access faulted.
        address: u64,
    },
    /// A general protection fault.
    GeneralProtection,
}

/// Let `hook` see every page fault and general protection fault first. If
/// it returns, the handler panics; it may also never return (the test
/// runner moves on to its next test). Set once; later calls do nothing.
pub fn set_fault_hook(hook: fn(Fault)) {
    FAULT_HOOK.call_once(|| hook);
}

/// Let `resolver` handle page faults first: given the faulting address and
/// the error code, it returns `true` once it has mapped the page (the
/// faulting instruction then runs again), `false` for a fault that is not
/// its own. Demand paging (`crate::swap`) sets it. Set once.
pub fn set_page_fault_resolver(resolver: fn(u64, PageFaultErrorCode) -> bool) {
    PAGE_FAULT_RESOLVER.call_once(|| resolver);
}

fn call_fault_hook(fault: Fault) {
    if let Some(hook) = FAULT_HOOK.get() {
        hook(fault);
    }
}

/// Remap and unmask the PIC, start the timer at `hz`.
pub fn init_timer_and_pic(hz: u32) {
    pic::init();
    timer::set_timer_frequency(hz);
}

/// How many spurious IRQ 7/15 the PIC delivered.
pub fn spurious_interrupts() -> u64 {
    SPURIOUS_INTERRUPTS.load(Ordering::Relaxed)
}

/// How many `int3` were executed.
pub fn breakpoints() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

extern "x86-interrupt" fn breakpoint_handler(frame: InterruptStackFrame) {
    BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
    crate::debug!("breakpoint at {:#x}", frame.instruction_pointer.as_u64());
}

extern "x86-interrupt" fn page_fault_handler(
    frame: InterruptStackFrame,
    error: PageFaultErrorCode,
) {
    let address = Cr2::read_raw();
    if let Some(resolver) = PAGE_FAULT_RESOLVER.get() {
        if resolver(address, error) {
            return;
        }
    }
    call_fault_hook(Fault::Page { address });
    panic!(
        "page fault: address {:#x}, error code {:?} ({:#x}), at instruction {:#x}",
        address,
        error,
        error.bits(),
        frame.instruction_pointer.as_u64()
    );
}

extern "x86-interrupt" fn general_protection_handler(frame: InterruptStackFrame, error: u64) {
    call_fault_hook(Fault::GeneralProtection);
    panic!(
        "general protection fault: error code {:#x}, at instruction {:#x}",
        error,
        frame.instruction_pointer.as_u64()
    );
}

extern "x86-interrupt" fn double_fault_handler(frame: InterruptStackFrame, _error: u64) -> ! {
    crate::console::force_unlock();
    crate::println!("\nDOUBLE FAULT (a kernel stack overflow?)\n{:#?}", frame);
    crate::qemu::exit(crate::qemu::ExitCode::Failed)
}

extern "x86-interrupt" fn master_spurious_handler(_frame: InterruptStackFrame) {
    if pic::is_spurious(pic::Chip::Master) {
        SPURIOUS_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    } else {
        // A real IRQ 7 (masked in our set-up, but handle it properly).
        pic::end_of_interrupt(7);
    }
}

extern "x86-interrupt" fn slave_spurious_handler(_frame: InterruptStackFrame) {
    if pic::is_spurious(pic::Chip::Slave) {
        SPURIOUS_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
        // The master did see a real IRQ 2 (the cascade) and wants its EOI.
        pic::end_of_interrupt(2);
    } else {
        pic::end_of_interrupt(15);
    }
}
