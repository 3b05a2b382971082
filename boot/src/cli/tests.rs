//! The command line's parsing: options, values and the combinations refused.

use super::*;

fn parse(words: &[&str]) -> Result<Arguments, String> {
    parse_arguments(words.iter().map(|word| word.to_string()))
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_memory_mib("512M"), Ok(512));
    assert_eq!(parse_memory_mib("2G"), Ok(2048));
    assert_eq!(parse_memory_mib("64"), Ok(64));
    assert!(parse_memory_mib("0").is_err());
    assert!(parse_memory_mib("lots").is_err());
}

#[test]
fn options_reach_the_machine() {
    let arguments = parse(&["--uefi", "--memory", "1G", "--lowmem", "16", "--kvm"]).unwrap();
    assert_eq!(arguments.machine.firmware, Firmware::Uefi);
    assert_eq!(arguments.machine.memory_mib, 1024);
    assert!(arguments.machine.kvm);
    assert!(arguments.memory_given);
    assert_eq!(arguments.lowmem_mib, Some(16));
    assert_eq!(arguments.machine.options, vec!["lowmem=16M".to_string()]);
    assert_eq!(arguments.kernel, Kernel::Demo);
    assert!(!arguments.machine.icount);
}

#[test]
fn lowmem_reaches_the_kernel_in_mib() {
    // The kernel reads a plain number as bytes; the runner's sizes are MiB.
    let arguments = parse(&["--lowmem", "64"]).unwrap();
    assert_eq!(arguments.machine.options, vec!["lowmem=64M".to_string()]);
    let arguments = parse(&["--lowmem", "1G"]).unwrap();
    assert_eq!(arguments.machine.options, vec!["lowmem=1024M".to_string()]);
}

#[test]
fn icount_is_an_option_that_excludes_kvm() {
    assert!(parse(&["--icount"]).unwrap().machine.icount);
    let error = parse(&["--icount", "--kvm"]).unwrap_err();
    assert!(
        error.contains("--icount and --kvm exclude each other"),
        "{error}"
    );
}

#[test]
fn timeouts_parse_and_zero_means_none() {
    let arguments = parse(&["--timeout", "90"]).unwrap();
    assert_eq!(arguments.machine.timeout, Some(Duration::from_secs(90)));
    assert!(arguments.timeout_given);
    let arguments = parse(&["--timeout", "0"]).unwrap();
    assert_eq!(arguments.machine.timeout, None);
    assert!(arguments.timeout_given);
    assert!(!parse(&[]).unwrap().timeout_given);
    assert!(parse(&["--timeout", "soon"])
        .unwrap_err()
        .contains("invalid --timeout"));
}

#[test]
fn the_test_kernel_always_gets_a_filter() {
    let arguments = parse(&["--tests"]).unwrap();
    assert_eq!(arguments.machine.options, vec!["test-filter=".to_string()]);
}

#[test]
fn the_benchmark_kernel_is_chosen_with_bench() {
    let arguments = parse(&["--bench", "--corpus", "pages"]).unwrap();
    assert_eq!(arguments.kernel, Kernel::Bench);
    assert_eq!(arguments.corpus, Some(PathBuf::from("pages")));
    assert!(parse(&["--bench", "--built-in"])
        .unwrap_err()
        .contains("demo's workload"));
}

#[test]
fn swap_and_its_budget_reach_the_kernel() {
    let arguments = parse(&["--swap", "--resident", "25%", "--icount"]).unwrap();
    assert!(arguments.swap && arguments.machine.icount);
    assert_eq!(arguments.machine.options, ["swap", "resident=25%"]);
    let arguments = parse(&["--swap", "--zsmalloc", "linux4", "--resident", "8M"]).unwrap();
    assert_eq!(
        arguments.machine.options,
        ["zsmalloc=linux4", "swap", "resident=8M"]
    );
    assert_eq!(parse(&["--swap"]).unwrap().machine.options, ["swap"]);
    assert!(parse(&["--swap", "--built-in"]).is_ok());
}

#[test]
fn automatic_compaction_is_switched_on_or_off() {
    let arguments = parse(&["--auto-compaction", "off", "--zsmalloc", "packed"]).unwrap();
    assert_eq!(
        arguments.machine.options,
        ["auto_compaction=off", "zsmalloc=packed"]
    );
    let arguments = parse(&["--zsmalloc", "linux4", "--auto-compaction", "on"]).unwrap();
    assert_eq!(
        arguments.machine.options,
        ["zsmalloc=linux4", "auto_compaction=on"]
    );
    let error = parse(&["--auto-compaction", "yes"]).unwrap_err();
    assert!(error.contains("on or off"), "{error}");
    assert!(parse(&["--auto-compaction"]).is_err());
}

#[test]
fn bad_budgets_and_combinations_are_refused() {
    for (budget, reason) in [
        ("0%", "from 1 to 100"),
        ("101%", "from 1 to 100"),
        ("half%", "from 1 to 100"),
        ("2K", "at least one page"),
        ("0", "at least one page"),
        ("lots", "expected PERCENT%"),
        ("-5M", "expected PERCENT%"),
    ] {
        let error = parse(&["--swap", "--resident", budget]).unwrap_err();
        assert!(error.contains(budget) && error.contains(reason), "{error}");
    }
    assert!(parse(&["--resident", "50%"])
        .unwrap_err()
        .contains("use it with --swap"));
    assert!(parse(&["--swap", "--tests"])
        .unwrap_err()
        .contains("excludes --tests and --bench"));
    assert!(parse(&["--swap", "--bench"])
        .unwrap_err()
        .contains("excludes --tests and --bench"));
    assert!(parse(&["--swap", "--screenshot", "shots"])
        .unwrap_err()
        .contains("draws no screen"));
    assert!(parse(&["--swap", "--shell"])
        .unwrap_err()
        .contains("--swap and --shell exclude each other"));
    assert!(parse(&["--swap", "--resident"])
        .unwrap_err()
        .contains("needs a value"));
}

#[test]
fn shell_boots_the_demo_kernel_with_the_shell_option() {
    let arguments = parse(&["--shell", "--zsmalloc", "linux4"]).unwrap();
    assert!(arguments.shell);
    assert_eq!(arguments.kernel, Kernel::Demo);
    assert!(arguments.machine.options.contains(&"shell=on".to_string()));
    assert_ne!(arguments.machine.input, SerialInput::Closed);
    assert!(parse(&["--shell", "--tests"])
        .unwrap_err()
        .contains("--shell runs in the demo kernel"));
    assert!(parse(&["--shell", "--screenshot", "shots"])
        .unwrap_err()
        .contains("the shell has none"));
    assert_eq!(parse(&[]).unwrap().machine.input, SerialInput::Closed);
}

#[test]
fn display_and_screenshots_reach_the_machine() {
    let arguments = parse(&["--display", "--screenshot", "shots"]).unwrap();
    assert!(arguments.machine.display);
    assert_eq!(arguments.machine.screenshots, Some(PathBuf::from("shots")));
    assert_eq!(arguments.machine.options, vec!["screenshot".to_string()]);
    assert!(!parse(&[]).unwrap().machine.display);
    assert!(parse(&["--screenshot"])
        .unwrap_err()
        .contains("needs a value"));
}

#[test]
fn unknown_options_and_missing_values_are_errors() {
    assert!(parse(&["--frobnicate"])
        .unwrap_err()
        .contains("unknown option"));
    assert!(parse(&["--memory"]).unwrap_err().contains("needs a value"));
    assert!(parse(&["--memory", "big"])
        .unwrap_err()
        .contains("invalid size"));
    assert!(parse(&["--built-in", "--corpus", "x"])
        .unwrap_err()
        .contains("exclude"));
    assert_eq!(parse(&["--help"]).err(), Some(String::new()));
}
