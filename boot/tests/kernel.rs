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
//!   demo::corpus     the demo (`./run-qemu.sh`) on the default corpus: every page verified,
//!                    and the reports' metadata figures consistent (kernel/demo_report.rs)
//!   demo::built_in   the demo on its built-in workload (every page kind), checked the same
//!   limits::bios_minimum_memory, limits::uefi_minimum_memory
//!                    the demo on an incompressible corpus (the worst case) with
//!                    exactly the least guest RAM the runner accepts: every page
//!                    is stored and verified
//!   screen::bios_agrees_with_the_report, screen::uefi_agrees_with_the_report
//!                    the built-in demo with --screenshot: each phase's PNG shows as
//!                    many zsmalloc frames and free frames as its report counts
//!   swap::resident_100, swap::resident_50, swap::resident_25
//!                    the compressed-swap workload on 384 pages of the corpus:
//!                    verified, and each scan's checksum equal to the host's
//!   demo::icount     the built-in demo on QEMU's instruction-count clock: every
//!                    page verified, and the TSC calibrated at ~1000 MHz
//! ```
//!
//! QEMU runs with `-display none -no-reboot`, stdin detached (piped for the
//! screen checks, which answer the kernel on it), and a hard
//! timeout (default 600 s, env `ZSMALLOC_OS_TEST_TIMEOUT`); the serial output
//! of the suites is forwarded so that a failure is readable in CI logs.

mod screen;

use boot::image::DiskImage;
use boot::limits::{self, Workload};
use boot::qemu::{self, Ending, Machine, Outcome};
use boot::{corpus, Firmware, Kernel};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[path = "kernel/demo_report.rs"]
mod demo_report;
#[path = "kernel/swap.rs"]
mod swap;

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
    Check {
        name: "demo::icount",
        run: |_| demo_under_icount(),
    },
    Check {
        name: "screen::bios_agrees_with_the_report",
        run: |_| screen::agrees_with_the_report(Firmware::Bios, suite_timeout()),
    },
    Check {
        name: "screen::uefi_agrees_with_the_report",
        run: |_| screen::agrees_with_the_report(Firmware::Uefi, suite_timeout()),
    },
    Check {
        name: "swap::resident_100",
        run: |_| swap::at_budget("100%"),
    },
    Check {
        name: "swap::resident_50",
        run: |_| swap::at_budget("50%"),
    },
    Check {
        name: "swap::resident_25",
        run: |_| swap::at_budget("25%"),
    },
    Check {
        name: "limits::bios_minimum_memory",
        run: |_| demo_at_minimum_memory(Firmware::Bios),
    },
    Check {
        name: "limits::uefi_minimum_memory",
        run: |_| demo_at_minimum_memory(Firmware::Uefi),
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
    // Long enough for the test kernel to boot and start the hung test on a
    // busy machine (the run always lasts the whole limit).
    let limit = Duration::from_secs(30);
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
    check_all(&expectations, &outcome)?;
    let slots = pages.parse().expect("a page count");
    demo_report::consistent(&reports, slots)
        .map_err(|error| format!("{error}; output:\n{}", outcome.output))
}

/// The built-in demo with `-icount shift=0`: one instruction per ns of
/// guest time, so the kernel must calibrate its TSC at ~1 GHz.
fn demo_under_icount() -> Result<(), String> {
    let image = DiskImage::create(Kernel::Demo, Firmware::Bios, None)
        .map_err(|error| format!("{error:#}"))?;
    let mut machine = Machine::new(Firmware::Bios);
    machine.icount = true;
    machine.timeout = Some(suite_timeout());
    machine.echo = false;
    let outcome = qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))?;
    let megahertz: Option<u64> = outcome.output.lines().find_map(|line| {
        let (_, rest) = line.split_once("TSC: ")?;
        rest.split_whitespace().next()?.parse().ok()
    });
    let expectations = [
        (
            outcome.ending == Ending::Success,
            "the demo should end in success",
        ),
        (
            outcome
                .output
                .contains("demo finished: every page verified"),
            "every page verified",
        ),
        (
            megahertz.is_some_and(|megahertz| (990..=1010).contains(&megahertz)),
            "a TSC of ~1000 MHz",
        ),
    ];
    check_all(&expectations, &outcome)
}

/// Pages of the incompressible corpus that the minimum-memory checks store.
const NOISE_PAGES: usize = 2048;

/// The demo on `NOISE_PAGES` pages of pseudo-random bytes (every page is
/// stored whole: the most memory a corpus can take) with exactly the guest
/// RAM that `limits` says is the least: every write must succeed and every
/// page verify.
fn demo_at_minimum_memory(firmware: Firmware) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!(
        "zsmalloc-os-noise-{}-{firmware:?}.pages",
        std::process::id()
    ));
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let bytes: Vec<u8> = (0..NOISE_PAGES * 4096 / 8)
        .flat_map(|_| {
            // xorshift64: incompressible for LZ4.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    std::fs::write(&path, &bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let result = (|| {
        let corpus = corpus::prepare(&path)?;
        let workload = Workload::Corpus {
            bytes: corpus.bytes,
        };
        let image = DiskImage::create(Kernel::Demo, firmware, Some(&corpus.path))
            .map_err(|error| format!("{error:#}"))?;
        let mut machine = Machine::new(firmware);
        machine.memory_mib = limits::minimum_memory_mib(firmware, workload);
        machine.timeout = Some(suite_timeout());
        machine.echo = false;
        let outcome = qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))?;
        let reports: Vec<&str> = outcome
            .output
            .lines()
            .filter(|line| line.starts_with("ZRAM-REPORT {"))
            .collect();
        let expectations = [
            (
                outcome.ending == Ending::Success,
                "the demo should end in success",
            ),
            (reports.len() == 3, "three ZRAM-REPORT lines"),
            (
                reports
                    .iter()
                    .all(|line| line.contains("\"failed_writes\":0,")),
                "every page stored (no failed write)",
            ),
            (
                reports
                    .iter()
                    .all(|line| line.contains(&format!("\"verified_pages\":{NOISE_PAGES},"))),
                "every page verified",
            ),
        ];
        check_all(&expectations, &outcome)
    })();
    let _ = std::fs::remove_file(&path);
    result
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
