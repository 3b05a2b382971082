//! The in-QEMU tests, driven from the host (`cargo test`).
//!
//! A plain (harness = false) test binary, so that the test-name filter given
//! to `cargo test -- NAME` reaches the kernel: it is passed on as the boot
//! option `test-filter=NAME`, and the kernel runs only the tests whose names
//! contain NAME. What it does:
//!
//! ```text
//!   kernel::bios   boot the test kernel with BIOS, run the (filtered) suite
//!   kernel::uefi   the same with UEFI firmware
//!   runner::reports_a_failing_test   a deliberately failing kernel test makes the run fail,
//!                                    with the test's name and message in the output
//!   runner::kills_a_hung_kernel      a kernel that hangs is killed by the timeout and reported
//!   demo::corpus     the demo (`./run-qemu.sh`) on the default corpus: every page verified
//!   demo::built_in   the demo on its built-in workload (every page kind)
//! ```
//!
//! QEMU runs with `-display none -no-reboot`, stdin detached, and a hard
//! timeout (default 600 s, env `ZSMALLOC_OS_TEST_TIMEOUT`); the serial output
//! of the suites is forwarded so that a failure is readable in CI logs.

use boot::image::DiskImage;
use boot::qemu::{self, Ending, Machine, Outcome};
use boot::{corpus, Firmware, Kernel};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

struct Check {
    name: &'static str,
    run: fn(&str) -> Result<(), String>,
}

const CHECKS: &[Check] = &[
    Check {
        name: "kernel::bios",
        run: |filter| kernel_suite(Firmware::Bios, filter),
    },
    Check {
        name: "kernel::uefi",
        run: |filter| kernel_suite(Firmware::Uefi, filter),
    },
    Check {
        name: "runner::reports_a_failing_test",
        run: |_| reports_a_failing_test(),
    },
    Check {
        name: "runner::kills_a_hung_kernel",
        run: |_| kills_a_hung_kernel(),
    },
    Check {
        name: "demo::corpus",
        run: |_| demo(Some(&corpus::default_corpus())),
    },
    Check {
        name: "demo::built_in",
        run: |_| demo(None),
    },
];

fn suite_timeout() -> Duration {
    let seconds = std::env::var("ZSMALLOC_OS_TEST_TIMEOUT")
        .ok()
        .and_then(|value| value.parse().ok());
    Duration::from_secs(seconds.unwrap_or(600))
}

fn boot_test_kernel(
    firmware: Firmware,
    options: &[&str],
    timeout: Duration,
    echo: bool,
) -> Result<Outcome, String> {
    let image = DiskImage::create(Kernel::Tests, firmware, None)
        .map_err(|error| format!("disk image: {error:#}"))?;
    let mut machine = Machine::new(firmware);
    machine.options = options.iter().map(|option| option.to_string()).collect();
    machine.timeout = Some(timeout);
    machine.echo = echo;
    qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))
}

/// Run the kernel's own suite; the kernel filters by name.
fn kernel_suite(firmware: Firmware, filter: &str) -> Result<(), String> {
    let filter_option = format!("test-filter={filter}");
    let outcome = boot_test_kernel(firmware, &[&filter_option], suite_timeout(), true)?;
    if !outcome
        .output
        .lines()
        .any(|line| line.ends_with(" failed") && line.contains(" passed, "))
    {
        return Err(format!(
            "the kernel never printed its summary line; {}",
            outcome.ending.describe()
        ));
    }
    match outcome.ending {
        Ending::Success => Ok(()),
        ending => Err(ending.describe()),
    }
}

fn reports_a_failing_test() -> Result<(), String> {
    let options = ["test-filter=deliberately_fails", "include-ignored"];
    let outcome = boot_test_kernel(Firmware::Bios, &options, suite_timeout(), false)?;
    let expectations = [
        (
            outcome.ending == Ending::KernelFailure,
            "the run should end in failure (exit code 35)",
        ),
        (
            outcome
                .output
                .contains("test self_test::deliberately_fails ... FAILED"),
            "the failing test's line",
        ),
        (
            outcome
                .output
                .contains("deliberate failure for the runner's self-test"),
            "the failure message",
        ),
        (
            outcome.output.contains("0 passed, 1 failed"),
            "the summary line",
        ),
    ];
    check_all(&expectations, &outcome)
}

fn kills_a_hung_kernel() -> Result<(), String> {
    let options = ["test-filter=deliberately_hangs", "include-ignored"];
    let limit = Duration::from_secs(10);
    let outcome = boot_test_kernel(Firmware::Bios, &options, limit, false)?;
    let expectations = [
        (
            outcome.ending == Ending::TimedOut(limit),
            "the run should be killed by the timeout",
        ),
        (
            outcome.ending.describe().contains("TIMEOUT"),
            "the report names the timeout",
        ),
        (
            outcome
                .output
                .contains("test self_test::deliberately_hangs ... "),
            "the hung test started",
        ),
    ];
    check_all(&expectations, &outcome)
}

/// Boot the demo kernel and check its three `ZRAM-REPORT` lines.
fn demo(corpus_file: Option<&Path>) -> Result<(), String> {
    let corpus = corpus_file.map(corpus::prepare).transpose()?;
    let ramdisk = corpus.as_ref().map(|corpus| corpus.path.as_path());
    let image = DiskImage::create(Kernel::Demo, Firmware::Bios, ramdisk)
        .map_err(|error| format!("{error:#}"))?;
    let mut machine = Machine::new(Firmware::Bios);
    machine.timeout = Some(suite_timeout());
    machine.echo = false;
    let outcome = qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))?;
    let reports: Vec<&str> = outcome
        .output
        .lines()
        .filter(|line| line.starts_with("ZRAM-REPORT {"))
        .collect();
    let pages = corpus
        .as_ref()
        .map_or(4096, |corpus| corpus.pages())
        .to_string();
    let expectations = [
        (
            outcome.ending == Ending::Success,
            "the demo should end in success",
        ),
        (reports.len() == 3, "three ZRAM-REPORT lines"),
        (
            reports
                .iter()
                .all(|line| line.contains("\"failed_pages\":0,")),
            "no failed page",
        ),
        (
            reports
                .iter()
                .all(|line| line.contains(&format!("\"verified_pages\":{pages},"))),
            "every page verified",
        ),
        (
            reports
                .iter()
                .all(|line| line.contains("\"irq_in_map_window\":0,")),
            "no timer tick in a map window",
        ),
        (
            ["fill", "churn", "compact"].iter().all(|phase| {
                reports
                    .iter()
                    .any(|line| line.contains(&format!("\"phase\":\"{phase}\"")))
            }),
            "the three phases",
        ),
    ];
    check_all(&expectations, &outcome)
}

fn check_all(expectations: &[(bool, &str)], outcome: &Outcome) -> Result<(), String> {
    let missing: Vec<&str> = expectations
        .iter()
        .filter(|(met, _)| !met)
        .map(|(_, what)| *what)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected: {}; got {}; output:\n{}",
            missing.join(", "),
            outcome.ending.describe(),
            outcome.output
        ))
    }
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.iter().any(|argument| argument == "--list") {
        for check in CHECKS {
            println!("{}: test", check.name);
        }
        return ExitCode::SUCCESS;
    }
    // libtest flags (--nocapture, --test-threads=N, ...) are accepted and ignored.
    let filter = arguments
        .iter()
        .find(|argument| !argument.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    // The suites always run (the kernel applies the filter to its own tests);
    // the runner self-checks run when the filter is empty or names them.
    let selected: Vec<&Check> = CHECKS
        .iter()
        .filter(|check| check.name.starts_with("kernel::") || check.name.contains(filter.as_str()))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let mut failures = Vec::new();
    for check in &selected {
        println!("test {} (host) ... started", check.name);
        match (check.run)(&filter) {
            Ok(()) => println!("test {} ... ok", check.name),
            Err(message) => {
                println!("test {} ... FAILED\n    {message}", check.name);
                failures.push(check.name);
            }
        }
    }
    let passed = selected.len() - failures.len();
    if !failures.is_empty() {
        println!("\nfailures:");
        for name in &failures {
            println!("    {name}");
        }
    }
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        failures.len(),
        CHECKS.len() - selected.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
