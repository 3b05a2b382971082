//! Forward the paths of the kernel binaries (built by cargo as artifact
//! dependencies for x86_64-unknown-none) to the `boot` crate's code, which
//! turns them into disk images at run time.

fn main() {
    for (variable, name) in [
        ("CARGO_BIN_FILE_KERNEL_kernel", "KERNEL_PATH"),
        (
            "CARGO_BIN_FILE_KERNEL_TESTS_kernel-tests",
            "KERNEL_TESTS_PATH",
        ),
        (
            "CARGO_BIN_FILE_KERNEL_BENCH_kernel-bench",
            "KERNEL_BENCH_PATH",
        ),
    ] {
        let path =
            std::env::var(variable).unwrap_or_else(|_| panic!("cargo did not set {variable}"));
        println!("cargo:rustc-env={name}={path}");
    }
}
