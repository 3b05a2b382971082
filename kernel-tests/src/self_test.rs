//! The runner's own tests (two of them only run when the host asks for
//! them, to check that a failing or hanging test is reported).

/// The runner itself: a test that must panic.
fn a_panicking_test_is_reported() {
    panic!("this panic is expected");
}
crate::kernel_test!(a_panicking_test_is_reported, should_panic);

/// The runner itself: a test that must page-fault.
fn an_expected_page_fault_is_reported() {
    let unmapped = 0x0000_7fff_dead_b000 as *mut u64;
    // SAFETY: not sound on purpose: this address is never mapped, so the
    // write faults before touching memory; the runner expects the fault.
    unsafe { unmapped.write_volatile(1) };
}
crate::kernel_test!(an_expected_page_fault_is_reported, should_page_fault);

/// For the host's self-test of the runner: must be reported as failed.
fn deliberately_fails() {
    assert_eq!(1 + 1, 3, "deliberate failure for the runner's self-test");
}
crate::kernel_test!(deliberately_fails, ignore);

/// For the host's self-test of the runner: must be killed by its timeout.
fn deliberately_hangs() {
    kernel::halt_loop();
}
crate::kernel_test!(deliberately_hangs, ignore);
