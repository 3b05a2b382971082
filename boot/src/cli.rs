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
       run-qemu.sh swap [OPTIONS]     the compressed-swap workload (the same as --swap)
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
  --auto-compaction on|off
                    automatic compaction of the pool (default: on for packed, off for
                    linux4 and linux8, which stay comparable to Linux)
  --swap            the demo kernel runs the compressed-swap workload instead: the
                    corpus (or --built-in) in a demand-paged region, paged through
                    the compressed store (load, scan passes 1..3, verify)
  --resident BUDGET with --swap: the region's resident budget, PERCENT% (1..100) or a
                    size such as 8M (at least 4K); default 50%
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
    /// `--swap`: the demo kernel runs the compressed-swap workload.
    pub swap: bool,
    /// `--shell`: the demo kernel runs its shell.
    pub shell: bool,
}

/// Check a `--resident` budget: `PERCENT%` (1..=100) or a size of at least
/// one page (`8M`, `4096`; see `boot_options::parse_size`).
pub fn check_resident(text: &str) -> Result<(), String> {
    let problem = if let Some(digits) = text.strip_suffix('%') {
        match digits.parse::<u64>() {
            Ok(1..=100) => return Ok(()),
            _ => "a percentage must be a whole number from 1 to 100",
        }
    } else {
        match boot_options::parse_size(text) {
            Some(bytes) if bytes >= 4096 => return Ok(()),
            Some(_) => "a size must be at least one page (4K)",
            None => "expected PERCENT% (e.g. 25%) or a size (e.g. 8M)",
        }
    };
    Err(format!("invalid --resident '{text}': {problem}"))
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
    let mut swap = false;
    let mut resident = None;
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
            "--auto-compaction" => {
                let value = value_of("--auto-compaction", &mut words)?;
                if value != "on" && value != "off" {
                    return Err(format!("--auto-compaction takes on or off, not '{value}'"));
                }
                machine.options.push(format!("auto_compaction={value}"));
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
            "--swap" => swap = true,
            "--resident" => {
                let budget = value_of("--resident", &mut words)?;
                check_resident(&budget)?;
                resident = Some(budget);
            }
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
    if swap && kernel != Kernel::Demo {
        return Err("--swap runs on the demo kernel; it excludes --tests and --bench".into());
    }
    match (swap, resident) {
        (true, resident) => {
            machine.options.push("swap".into());
            if let Some(resident) = resident {
                machine.options.push(format!("resident={resident}"));
            }
        }
        (false, Some(_)) => {
            return Err(
                "--resident is the swap workload's budget: use it with --swap \
                        (./run-qemu.sh swap --resident 25%)"
                    .into(),
            )
        }
        (false, None) => {}
    }
    if swap && machine.screenshots.is_some() {
        return Err(
            "--screenshot saves the demo's phases; the swap workload draws no screen".into(),
        );
    }
    if swap && shell {
        return Err(
            "--swap and --shell exclude each other: the shell is a prompt, the swap \
                    workload runs to its verdict"
                .into(),
        );
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
        swap,
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
mod tests;
