//! The in-kernel test runner, reporting over the serial console.
//!
//! A test is a plain `fn()` registered with one line:
//!
//! ```ignore
//! fn frames_are_distinct() { ... }
//! kernel_test!(frames_are_distinct);                 // must return normally
//! kernel_test!(dereferencing_null_faults, should_page_fault);
//! kernel_test!(overflow_is_caught, should_panic);
//! kernel_test!(deliberately_fails, ignore);          // only with the `include-ignored` option
//! ```
//!
//! `kernel_test!` places a [`KernelTest`] record in the linker section
//! `kernel_tests`; the linker collects the records of every module into one
//! array and defines `__start_kernel_tests` / `__stop_kernel_tests` around it:
//!
//! ```text
//!   section kernel_tests: [ KernelTest | KernelTest | ... | KernelTest ]
//!                           ^ __start_kernel_tests              __stop_kernel_tests ^
//! ```
//!
//! The runner prints libtest-style lines (`test memory::frame::alloc_all ... ok`;
//! the name is the test's module path in this crate) and ends with
//! `N passed, N failed`, then exits QEMU with success or failure.
//!
//! Without unwinding, a panic cannot return into the runner. Instead the
//! runner runs on a stack of its own; when a test panics or faults (the
//! kernel's fault handlers call [`fault_hook`] first), the panic handler
//! records the result and *restarts the runner loop at the next test*
//! on a fresh runner stack. Whatever the failed test held (heap blocks, locks)
//! is abandoned; the console lock is released by force. A double fault (e.g. a
//! stack overflow) ends the run.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Mutex;

use kernel::interrupts::Fault;
use kernel::qemu::{exit, ExitCode};
use kernel::{boot_options, console, print, println};

/// What a test must do to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Return normally.
    Success,
    /// Panic.
    Panic,
    /// Cause a page fault.
    PageFault,
    /// Return normally; only run when the `include-ignored` option is given.
    Ignored,
}

/// One registered test (C layout: the linker lays these records end to end).
#[repr(C)]
pub struct KernelTest {
    /// The test's path: `kernel_tests::memory::frame::alloc_all`.
    pub name: &'static str,
    /// The test itself.
    pub function: fn(),
    /// What it must do to pass.
    pub expect: Expect,
}

impl KernelTest {
    /// The name without the crate prefix: `memory::frame::alloc_all`.
    pub fn short_name(&self) -> &'static str {
        self.name
            .strip_prefix("kernel_tests::")
            .unwrap_or(self.name)
    }
}

/// Register a test function (see the module documentation).
#[macro_export]
macro_rules! kernel_test {
    ($function:path) => { $crate::kernel_test!(@register $function, Success); };
    ($function:path, should_panic) => { $crate::kernel_test!(@register $function, Panic); };
    ($function:path, should_page_fault) => { $crate::kernel_test!(@register $function, PageFault); };
    ($function:path, ignore) => { $crate::kernel_test!(@register $function, Ignored); };
    (@register $function:path, $expect:ident) => {
        const _: () = {
            #[used(linker)]
            #[unsafe(link_section = "kernel_tests")]
            static TEST: $crate::runner::KernelTest = $crate::runner::KernelTest {
                name: concat!(module_path!(), "::", stringify!($function)),
                function: $function,
                expect: $crate::runner::Expect::$expect,
            };
        };
    };
}

// Only the addresses of these linker-made symbols matter, not their type.
unsafe extern "C" {
    static __start_kernel_tests: u8;
    static __stop_kernel_tests: u8;
}

/// Every registered test, in link order.
pub fn all_tests() -> &'static [KernelTest] {
    let start = (&raw const __start_kernel_tests).cast::<KernelTest>();
    let stop = (&raw const __stop_kernel_tests).cast::<KernelTest>();
    // SAFETY: the linker defines the two symbols around the `kernel_tests`
    // section, which holds nothing but `KernelTest` records placed there by
    // `kernel_test!`, so [start, stop) is an array of initialised records that
    // lives (read-only) for the kernel's whole life.
    unsafe {
        let count = stop.offset_from(start) as usize;
        core::slice::from_raw_parts(start, count)
    }
}

const NO_TEST: usize = usize::MAX;
const RUNNER_STACK_SIZE: usize = 1024 * 1024;

#[repr(align(16))]
struct RunnerStack(#[allow(dead_code)] [u8; RUNNER_STACK_SIZE]);

static mut RUNNER_STACK: RunnerStack = RunnerStack([0; RUNNER_STACK_SIZE]);
static NEXT_TEST: AtomicUsize = AtomicUsize::new(0);
static CURRENT_TEST: AtomicUsize = AtomicUsize::new(NO_TEST);
static PASSED: AtomicUsize = AtomicUsize::new(0);
static SKIPPED: AtomicUsize = AtomicUsize::new(0);
static FAILURES: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());

/// Run every test that matches the `test-filter` boot option, then exit QEMU.
pub fn run_tests() -> ! {
    let tests = all_tests();
    let selected = tests.iter().filter(|test| is_selected(test)).count();
    println!("\nrunning {} tests", selected);
    restart_runner()
}

fn is_selected(test: &KernelTest) -> bool {
    let filter = boot_options::get("test-filter").unwrap_or("");
    let name_matches = test.short_name().contains(filter);
    let ignored_allowed = boot_options::get("include-ignored").is_some();
    name_matches && (test.expect != Expect::Ignored || ignored_allowed)
}

/// Continue with the next test on a fresh runner stack.
fn restart_runner() -> ! {
    let stack_top = (&raw mut RUNNER_STACK as usize) + RUNNER_STACK_SIZE;
    // SAFETY: the runner stack is a static used by nothing but the runner
    // loop, and every path that gets here has finished with (or abandoned) the
    // previous runner frame, so the stack can be reused from its top. The top
    // is 16-byte aligned as the ABI requires before a `call`, and
    // `runner_loop` never returns.
    unsafe {
        core::arch::asm!(
            "mov rsp, {stack_top}",
            "xor ebp, ebp",
            "call {runner_loop}",
            stack_top = in(reg) stack_top,
            runner_loop = sym runner_loop,
            options(noreturn)
        )
    }
}

extern "C" fn runner_loop() -> ! {
    let tests = all_tests();
    loop {
        let index = NEXT_TEST.fetch_add(1, Ordering::SeqCst);
        let Some(test) = tests.get(index) else {
            finish()
        };
        if !is_selected(test) {
            SKIPPED.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        print!("test {} ... ", test.short_name());
        CURRENT_TEST.store(index, Ordering::SeqCst);
        x86_64::instructions::interrupts::enable();
        (test.function)();
        CURRENT_TEST.store(NO_TEST, Ordering::SeqCst);
        match test.expect {
            Expect::Success | Expect::Ignored => pass(),
            Expect::Panic => fail(test, "the test returned but should have panicked".into()),
            Expect::PageFault => fail(
                test,
                "the test returned but should have page-faulted".into(),
            ),
        }
    }
}

fn pass() {
    println!("ok");
    PASSED.fetch_add(1, Ordering::Relaxed);
}

fn fail(test: &'static KernelTest, message: String) {
    println!("FAILED");
    FAILURES.lock().push((test.short_name(), message));
}

fn finish() -> ! {
    let failures = FAILURES.lock();
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, message) in failures.iter() {
            println!("\n---- {} ----\n{}", name, message);
        }
        println!("\nfailures:");
        for (name, _) in failures.iter() {
            println!("    {}", name);
        }
    }
    let passed = PASSED.load(Ordering::Relaxed);
    let skipped = SKIPPED.load(Ordering::Relaxed);
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {}. {} passed; {} failed; {} filtered out",
        verdict,
        passed,
        failures.len(),
        skipped
    );
    println!("{} passed, {} failed", passed, failures.len());
    exit(if failures.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Failed
    })
}

/// The kernel's fault handlers call this first (`main` installs it with
/// `kernel::interrupts::set_fault_hook`). If the running test expects this
/// fault, it passes and the runner moves on (this does not return);
/// otherwise this returns and the handler panics.
pub fn fault_hook(fault: Fault) {
    let index = CURRENT_TEST.load(Ordering::SeqCst);
    let Some(test) = all_tests().get(index) else {
        return;
    };
    if let (Expect::PageFault, Fault::Page { .. }) = (test.expect, fault) {
        CURRENT_TEST.store(NO_TEST, Ordering::SeqCst);
        console::force_unlock();
        pass();
        restart_runner();
    }
}

/// The test kernel's panic handler: inside a test, record the outcome and go
/// on with the next test; anywhere else, report and exit QEMU with failure.
pub fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    console::force_unlock();
    let index = CURRENT_TEST.swap(NO_TEST, Ordering::SeqCst);
    match all_tests().get(index) {
        Some(test) if test.expect == Expect::Panic => {
            pass();
            restart_runner()
        }
        Some(test) => {
            // The failure list may be locked by nobody but the runner itself,
            // which is not running now; the message goes to the console too.
            let message = panic_message(info);
            println!("FAILED\n    panicked: {}", message);
            FAILURES.lock().push((test.short_name(), message));
            restart_runner()
        }
        None => {
            println!("\nKERNEL PANIC: {}", info);
            exit(ExitCode::Failed)
        }
    }
}

fn panic_message(info: &PanicInfo) -> String {
    match info.location() {
        Some(location) => alloc::format!("{} at {}", info.message(), location),
        None => info.message().to_string(),
    }
}
