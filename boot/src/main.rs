//! `cargo run` / `./run-qemu.sh`: build the disk image and boot the demo kernel.

use boot::image::DiskImage;
use boot::qemu::{self, Machine};
use boot::{Firmware, Kernel};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: run-qemu.sh [OPTIONS]          boot the demo kernel
       run-qemu.sh test [NAME]        run every test (host and in-QEMU) whose name contains NAME

options:
  --uefi            boot with UEFI firmware (OVMF) instead of BIOS
  --memory SIZE     guest RAM, e.g. 512M or 2G (default 512M)
  --lowmem SIZE     size of the kernel's direct map (LOWMEM), e.g. 32M
  --kvm             use KVM acceleration (opt-in; -cpu qemu64)
  --gdb             wait for gdb on localhost:1234 before booting
  --tests           boot the test kernel instead of the demo
  --filter NAME     with --tests: run only tests whose name contains NAME
  --timeout SECONDS kill QEMU after this many seconds
  --option KEY=VAL  pass a raw boot option to the kernel
  -h, --help        show this text";

struct Arguments {
    machine: Machine,
    kernel: Kernel,
    ramdisk: Option<PathBuf>,
}

fn parse_memory_mib(text: &str) -> Result<u64, String> {
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

fn parse_arguments(mut words: impl Iterator<Item = String>) -> Result<Arguments, String> {
    let mut machine = Machine::new(Firmware::Bios);
    let mut kernel = Kernel::Demo;
    let mut ramdisk = None;
    let value_of = |flag: &str, words: &mut dyn Iterator<Item = String>| {
        words.next().ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(word) = words.next() {
        match word.as_str() {
            "--uefi" => machine.firmware = Firmware::Uefi,
            "--bios" => machine.firmware = Firmware::Bios,
            "--memory" => {
                machine.memory_mib = parse_memory_mib(&value_of("--memory", &mut words)?)?
            }
            "--lowmem" => {
                let size = value_of("--lowmem", &mut words)?;
                parse_memory_mib(&size)?;
                machine.options.push(format!("lowmem={size}"));
            }
            "--kvm" => machine.kvm = true,
            "--gdb" => machine.gdb = true,
            "--tests" => kernel = Kernel::Tests,
            "--filter" => machine
                .options
                .push(format!("test-filter={}", value_of("--filter", &mut words)?)),
            "--timeout" => {
                let seconds = value_of("--timeout", &mut words)?;
                let seconds: u64 = seconds
                    .parse()
                    .map_err(|_| format!("invalid --timeout '{seconds}'"))?;
                machine.timeout = Some(Duration::from_secs(seconds));
            }
            "--option" => machine.options.push(value_of("--option", &mut words)?),
            "--corpus" => ramdisk = Some(PathBuf::from(value_of("--corpus", &mut words)?)),
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
    Ok(Arguments {
        machine,
        kernel,
        ramdisk,
    })
}

fn main() -> ExitCode {
    let arguments = match parse_arguments(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if arguments.machine.gdb {
        eprintln!(
            "QEMU waits for gdb on localhost:1234. In another terminal:\n  gdb {} -ex 'target remote :1234'",
            arguments.kernel.path().display()
        );
    }
    let image = match DiskImage::create(
        arguments.kernel,
        arguments.machine.firmware,
        arguments.ramdisk.as_deref(),
    ) {
        Ok(image) => image,
        Err(error) => {
            eprintln!("error: could not build the disk image: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match qemu::run(&arguments.machine, &image) {
        Ok(outcome) if outcome.ending.is_success() => ExitCode::SUCCESS,
        Ok(outcome) => {
            eprintln!("error: {}", outcome.ending.describe());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
