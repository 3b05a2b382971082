//! Boot options as the host runner passes them (their format is tested on
//! the host, in the `boot-options` crate).

fn the_runner_passed_its_options() {
    // The host always passes at least `test-filter=...` to the test kernel.
    assert!(
        kernel::boot_options::get("test-filter").is_some(),
        "options: {:?}",
        kernel::boot_options::text()
    );
}
crate::kernel_test!(the_runner_passed_its_options);
