//! Running a disk image in QEMU.
//!
//! ```text
//!   qemu-system-x86_64
//!     -drive format=raw,file=IMAGE           the disk image
//!     -bios OVMF.fd                          UEFI firmware (only with --uefi)
//!     -m MEMORY                              guest RAM
//!     -serial stdio -display none            the console is the serial port
//!     -no-reboot                             a triple fault stops QEMU instead of looping
//!     -device isa-debug-exit,iobase=0xf4     the kernel chooses QEMU's exit code
//!     -fw_cfg name=opt/zsmalloc-os/options   boot options (their format: crate boot-options)
//!     $QEMU_EXTRA_ARGS                       anything else, split at white space
//! ```
//!
//! `QEMU_EXTRA_ARGS` serves measurements, e.g. QEMU's instruction-count clock
//! (`-icount shift=0,align=off,sleep=off`), under which guest time follows the
//! instructions executed and speed figures repeat from run to run.
//!
//! Exit-code convention: the kernel writes 0x10 (success) or 0x11 (failure)
//! to port 0xF4 and QEMU exits with `(value << 1) | 1`, i.e. 33 or 35.
//! Anything else (0 after a triple fault, 1 for a QEMU error) is a failure.

use crate::image::DiskImage;
use crate::Firmware;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// QEMU's exit status when the kernel reports success.
pub const SUCCESS_EXIT_CODE: i32 = (0x10 << 1) | 1;
/// QEMU's exit status when the kernel reports failure.
pub const FAILURE_EXIT_CODE: i32 = (0x11 << 1) | 1;

/// Where Debian's `ovmf` package puts the UEFI firmware.
const OVMF_CANDIDATES: &[&str] = &[
    "/usr/share/ovmf/OVMF.fd",
    "/usr/share/OVMF/OVMF.fd",
    "/usr/share/qemu/OVMF.fd",
];

/// How to run the virtual machine.
#[derive(Clone, Debug)]
pub struct Machine {
    /// BIOS or UEFI.
    pub firmware: Firmware,
    /// Guest RAM in MiB.
    pub memory_mib: u64,
    /// Use KVM (opt-in; `-cpu qemu64`).
    pub kvm: bool,
    /// Wait for gdb on localhost:1234 before the first instruction.
    pub gdb: bool,
    /// `key=value` words passed to the kernel through fw_cfg.
    pub options: Vec<String>,
    /// Kill QEMU after this long (None: no limit).
    pub timeout: Option<Duration>,
    /// Echo the serial console to our stdout while it runs.
    pub echo: bool,
}

impl Machine {
    /// Defaults: BIOS, 512 MiB, TCG, no gdb, no timeout, echo on.
    pub fn new(firmware: Firmware) -> Self {
        Machine {
            firmware,
            memory_mib: 512,
            kvm: false,
            gdb: false,
            options: Vec::new(),
            timeout: None,
            echo: true,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The kernel wrote "success" to the debug-exit port.
    Success,
    /// The kernel wrote "failure" to the debug-exit port.
    KernelFailure,
    /// QEMU exited some other way (triple fault, QEMU error, signal).
    Abnormal(Option<i32>),
    /// The timeout struck and QEMU was killed.
    TimedOut(Duration),
}

impl Ending {
    /// Did the kernel report success?
    pub fn is_success(&self) -> bool {
        *self == Ending::Success
    }

    /// A sentence for the user.
    pub fn describe(&self) -> String {
        match self {
            Ending::Success => "the kernel reported success (QEMU exit code 33)".into(),
            Ending::KernelFailure => "the kernel reported failure (QEMU exit code 35)".into(),
            Ending::Abnormal(Some(0)) => {
                "QEMU exited with 0 without the kernel choosing an exit code (a triple fault?)"
                    .into()
            }
            Ending::Abnormal(Some(code)) => format!("QEMU exited with unexpected code {code}"),
            Ending::Abnormal(None) => "QEMU was killed by a signal".into(),
            Ending::TimedOut(limit) => format!(
                "TIMEOUT: the kernel did not finish within {} s and was killed (is it hung?)",
                limit.as_secs()
            ),
        }
    }
}

/// What a run printed and how it ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How the run ended.
    pub ending: Ending,
    /// Everything the kernel printed on its serial console.
    pub output: String,
}

/// Path of the UEFI firmware image, if installed.
pub fn ovmf_path() -> Option<&'static str> {
    OVMF_CANDIDATES
        .iter()
        .copied()
        .find(|path| std::path::Path::new(path).exists())
}

/// The full QEMU command line for `image` on `machine`.
pub fn command(machine: &Machine, image: &DiskImage) -> anyhow::Result<Command> {
    let mut command = Command::new("qemu-system-x86_64");
    command
        .arg("-drive")
        .arg(format!("format=raw,file={}", image.path().display()));
    if machine.firmware == Firmware::Uefi {
        let ovmf = ovmf_path().ok_or_else(|| {
            anyhow::anyhow!("UEFI firmware not found (looked for {OVMF_CANDIDATES:?}); install the `ovmf` package")
        })?;
        command.arg("-bios").arg(ovmf);
    }
    command.arg("-m").arg(format!("{}M", machine.memory_mib));
    command.args([
        "-serial",
        "stdio",
        "-display",
        "none",
        "-no-reboot",
        "-net",
        "none",
    ]);
    command.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    let options = machine.options.join(" ");
    boot_options::check(&options).map_err(|error| anyhow::anyhow!("{error}: {options}"))?;
    if !options.is_empty() {
        command.arg("-fw_cfg").arg(format!(
            "name={},string={options}",
            boot_options::FW_CFG_FILE
        ));
    }
    if machine.kvm {
        command.args(["-enable-kvm", "-cpu", "qemu64"]);
    }
    if machine.gdb {
        command.args(["-s", "-S"]);
    }
    if let Ok(extra) = std::env::var("QEMU_EXTRA_ARGS") {
        command.args(extra.split_whitespace());
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Ok(command)
}

/// Boot `image` on `machine`, stream its console, and wait for the end.
pub fn run(machine: &Machine, image: &DiskImage) -> anyhow::Result<Outcome> {
    let mut child = command(machine, image)?.spawn().map_err(|error| {
        anyhow::anyhow!(
            "could not start qemu-system-x86_64 ({error}); install the `qemu-system-x86` package"
        )
    })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let collected = Arc::new(Mutex::new(String::new()));
    let reader = {
        let collected = Arc::clone(&collected);
        let echo = machine.echo;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let text = String::from_utf8_lossy(&line).replace('\r', "");
                if echo {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
                let mut collected = collected.lock().unwrap();
                collected.push_str(&text);
                collected.push('\n');
            }
        })
    };
    let started = Instant::now();
    let ending = loop {
        if let Some(status) = child.try_wait()? {
            break match status.code() {
                Some(SUCCESS_EXIT_CODE) => Ending::Success,
                Some(FAILURE_EXIT_CODE) => Ending::KernelFailure,
                other => Ending::Abnormal(other),
            };
        }
        if let Some(limit) = machine.timeout {
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break Ending::TimedOut(limit);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = reader.join();
    let output = collected.lock().unwrap().clone();
    Ok(Outcome { ending, output })
}
