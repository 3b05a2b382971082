//! The command line of the `boot` binary (what `./run-qemu.sh` forwards).

use crate::limits::{self, Workload};
use crate::qemu::{Machine, SerialInput};
use crate::{Firmware, Kernel};
use std::path::PathBuf;
use std::time::Duration;

/// The help text (`--help`).
pub const USAGE: &str = "\
usage: run-qemu.sh [OPTIONS]          boot the demo kernel
       run-qemu.sh test [NAME]        run every test (host and in-QEMU) whose name contains NAME
       run-qemu.sh bench [--corpus FILE]   the benchmark, on the host and in QEMU
       run-qemu.sh miri | lint        the no_std crates' tests under Miri | fmt and clippy
       run-qemu.sh plot LOG... [-o DIR]   SVG charts from saved runs' report lines

options:
  --uefi            boot with UEFI firmware (OVMF) instead of BIOS
  --memory SIZE     guest RAM, e.g. 512M or 2G (default 512M, or sized to the corpus);
                    less than the run needs is refused with the minimum
  --lowmem SIZE     size of the kernel's direct map (LOWMEM), e.g. 32M (default 32M)
  --kvm             use KVM acceleration (opt-in; -cpu qemu64)
  --icount          QEMU's instruction-count clock (-icount shift=0,align=off,sleep=off):
                    guest time follows the instructions executed, the TSC reads ~1 GHz
                    and every run takes the same cycles: latency and speed figures free
                    of host scheduling noise (TCG only, so not with --kvm)
  --gdb             wait for gdb on localhost:1234 before booting
  --corpus FILE     the demo stores the pages of FILE (whole 4096-byte pages; .gz is
                    decompressed); default: corpus/mixed-anon-4200.pages.gz
  --built-in        the demo stores its built-in synthetic workload instead
  --zsmalloc NAME   the demo's zsmalloc configuration: packed (default), linux4 or linux8
  --shell           boot to a shell on the serial console instead of the demo (type help;
                    piped input works too, and its end leaves the shell)
  --tests           boot the test kernel instead of the demo
  --filter NAME     with --tests: run only tests whose name contains NAME
  --bench           boot the benchmark kernel (the in-QEMU half of run-qemu.sh bench;
                    it measures the corpus given by --corpus, or the default one)
  --timeout SECONDS kill QEMU after this many seconds; 0: no limit (default: the demo
                    120 s + 5 s per MiB of corpus, the test kernel 600 s, none with --gdb)
  --option KEY=VAL  pass a raw boot option to the kernel
  --display         show QEMU's window (the kernel draws a map of memory and of the pool)
  --screenshot DIR  save the screen as DIR/PHASE.png at the end of each demo phase
  -h, --help        show this text

environment:
  QEMU_EXTRA_ARGS   more arguments for qemu-system-x86_64, split on whitespace and
                    appended to its command line, e.g. QEMU_EXTRA_ARGS='-d int -D qemu.log'";

/// What the user asked for.
#[derive(Debug)]
pub struct Arguments {
    /// The virtual machine to start.
    pub machine: Machine,
    /// The kernel to boot in it.
    pub kernel: Kernel,
    /// `--corpus FILE`.
    pub corpus: Option<PathBuf>,
    /// `--built-in`: no corpus at all.
    pub built_in: bool,
    /// Whether `--memory` was given (otherwise it is sized to the corpus).
    pub memory_given: bool,
    /// `--lowmem` in MiB, if given.
    pub lowmem_mib: Option<u64>,
    /// Whether `--timeout` was given (otherwise a default is chosen).
    pub timeout_given: bool,
    /// `--shell`: the demo kernel runs its shell.
    pub shell: bool,
}

/// Parse `512M`, `2G` or a plain number of MiB.
pub fn parse_memory_mib(text: &str) -> Result<u64, String> {
    let (digits, multiplier) = match text.chars().last() {
        Some('G' | 'g') => (&text[..text.len() - 1], 1024),
        Some('M' | 'm') => (&text[..text.len() - 1], 1),
        _ => (text, 1),
    };
    match digits.parse::<u64>() {
        Ok(value) if value > 0 => Ok(value * multiplier),
        _ => Err(format!("invalid size '{text}' (examples: 512M, 2G)")),
    }
}

/// Parse the words after the program name. `Err("")` means: show the usage.
pub fn parse_arguments(mut words: impl Iterator<Item = String>) -> Result<Arguments, String> {
    let mut machine = Machine::new(Firmware::Bios);
    let mut kernel = Kernel::Demo;
    let mut corpus = None;
    let mut built_in = false;
    let mut memory_given = false;
    let mut lowmem_mib = None;
    let mut timeout_given = false;
    let mut shell = false;
    let value_of = |flag: &str, words: &mut dyn Iterator<Item = String>| {
        words.next().ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(word) = words.next() {
        match word.as_str() {
            "--uefi" => machine.firmware = Firmware::Uefi,
            "--bios" => machine.firmware = Firmware::Bios,
            "--memory" => {
                machine.memory_mib = parse_memory_mib(&value_of("--memory", &mut words)?)?;
                memory_given = true;
            }
            "--lowmem" => {
                let mib = parse_memory_mib(&value_of("--lowmem", &mut words)?)?;
                lowmem_mib = Some(mib);
                // In MiB: the kernel reads a plain number as bytes.
                machine.options.push(format!("lowmem={mib}M"));
            }
            "--kvm" => machine.kvm = true,
            "--icount" => machine.icount = true,
            "--zsmalloc" => {
                let name = value_of("--zsmalloc", &mut words)?;
                if !["packed", "linux4", "linux8"].contains(&name.as_str()) {
                    return Err(format!(
                        "unknown zsmalloc configuration '{name}' (packed, linux4, linux8)"
                    ));
                }
                machine.options.push(format!("zsmalloc={name}"));
            }
            "--gdb" => machine.gdb = true,
            "--shell" => shell = true,
            "--tests" => kernel = Kernel::Tests,
            "--bench" => kernel = Kernel::Bench,
            "--filter" => machine
                .options
                .push(format!("test-filter={}", value_of("--filter", &mut words)?)),
            "--timeout" => {
                let seconds = value_of("--timeout", &mut words)?;
                let seconds: u64 = seconds.parse().map_err(|_| {
                    format!("invalid --timeout '{seconds}' (whole seconds; 0: no limit)")
                })?;
                machine.timeout = (seconds > 0).then(|| Duration::from_secs(seconds));
                timeout_given = true;
            }
            "--option" => machine.options.push(value_of("--option", &mut words)?),
            "--corpus" => corpus = Some(PathBuf::from(value_of("--corpus", &mut words)?)),
            "--built-in" => built_in = true,
            // --- the screen ---
            "--display" => machine.display = true,
            "--screenshot" => {
                let directory = value_of("--screenshot", &mut words)?;
                machine.screenshots = Some(PathBuf::from(directory));
                machine.options.push("screenshot".into());
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    if kernel == Kernel::Tests
        && !machine
            .options
            .iter()
            .any(|option| option.starts_with("test-filter="))
    {
        machine.options.push("test-filter=".into());
    }
    if built_in && corpus.is_some() {
        return Err("--built-in and --corpus exclude each other".into());
    }
    if machine.icount && machine.kvm {
        return Err(
            "--icount and --kvm exclude each other: the instruction-count clock needs \
             QEMU's software emulation (TCG); drop --kvm to use it"
                .into(),
        );
    }
    if built_in && kernel != Kernel::Demo {
        return Err("--built-in is the demo's workload; the other kernels take none".into());
    }
    if shell {
        if kernel != Kernel::Demo {
            return Err("--shell runs in the demo kernel; not with --tests or --bench".into());
        }
        if machine.screenshots.is_some() {
            return Err(
                "--screenshot saves the demo's phases; the shell has none (the screen follows \
                 its commands: watch it with --display)"
                    .into(),
            );
        }
        machine.options.push("shell=on".into());
        machine.input = SerialInput::from_host_stdin();
    }
    Ok(Arguments {
        machine,
        kernel,
        corpus,
        built_in,
        memory_given,
        lowmem_mib,
        timeout_given,
        shell,
    })
}

impl Arguments {
    /// What the run loads: the corpus of `corpus_bytes` (when the demo or
    /// the benchmark has one), the built-in workload, or nothing (the test
    /// kernel).
    pub fn workload(&self, corpus_bytes: Option<u64>) -> Workload {
        match (self.kernel, corpus_bytes) {
            (Kernel::Tests, _) => Workload::Tests,
            (Kernel::Demo | Kernel::Bench, Some(bytes)) => Workload::Corpus { bytes },
            (Kernel::Demo | Kernel::Bench, None) => Workload::BuiltIn,
        }
    }

    /// Once the workload is known: refuse too little guest RAM (before QEMU
    /// starts) and choose the default time limit unless `--timeout` was
    /// given (none with `--gdb`: a person is at the controls).
    pub fn apply_limits(&mut self, workload: Workload) -> Result<(), String> {
        limits::check_memory(self.machine.firmware, workload, self.machine.memory_mib)?;
        // A person at the shell's prompt takes the time they need.
        let person_typing = self.shell && self.machine.input == SerialInput::Terminal;
        if !self.timeout_given && !self.machine.gdb && !person_typing {
            self.machine.timeout = Some(limits::default_timeout(self.kernel, workload));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
}
