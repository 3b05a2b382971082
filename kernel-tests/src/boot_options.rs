//! Boot options as the host runner passes them.

use kernel::boot_options::parse_size;

fn sizes_parse_with_suffixes() {
    assert_eq!(parse_size("4096"), Some(4096));
    assert_eq!(parse_size("64K"), Some(64 << 10));
    assert_eq!(parse_size("32M"), Some(32 << 20));
    assert_eq!(parse_size("2g"), Some(2 << 30));
    assert_eq!(parse_size("M"), None);
    assert_eq!(parse_size("12X"), None);
    assert_eq!(parse_size(""), None);
}
crate::kernel_test!(sizes_parse_with_suffixes);

fn the_runner_passed_its_options() {
    // The host always passes at least `test-filter=...` to the test kernel.
    assert!(
        kernel::boot_options::get("test-filter").is_some(),
        "options: {:?}",
        kernel::boot_options::text()
    );
}
crate::kernel_test!(the_runner_passed_its_options);
