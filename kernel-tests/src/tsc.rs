//! The time-stamp counter and its calibration.

fn the_tsc_advances_and_calibrates() {
    let first = kernel::tsc::read();
    let second = kernel::tsc::read();
    assert!(second > first);
    let per_second = kernel::tsc::calibrate(5);
    // Any machine this runs on counts between 10 MHz and 100 GHz.
    assert!(
        (10_000_000..100_000_000_000).contains(&per_second),
        "{per_second}"
    );
    assert!(kernel::tsc::cycles_to_microseconds(per_second) > 999_000.0);
}
crate::kernel_test!(the_tsc_advances_and_calibrates);
