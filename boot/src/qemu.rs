//! Running a disk image in QEMU.
//!
//! ```text
//!   qemu-system-x86_64
//!     -drive format=raw,file=IMAGE           the disk image
//!     -bios OVMF.fd                          UEFI firmware (only with --uefi)
//!     -m MEMORY                              guest RAM
//!     -serial stdio -display none            the console is the serial port (--display: a window)
//!     -monitor unix:SOCKET,server=on,wait=off  only with --screenshot DIR (see `screenshot`)
//!     -no-reboot                             a triple fault stops QEMU instead of looping
//!     -device isa-debug-exit,iobase=0xf4     the kernel chooses QEMU's exit code
//!     -fw_cfg name=opt/zsmalloc-os/options   boot options (their format: crate boot-options)
//!     -icount shift=0,align=off,sleep=off    only with --icount: the instruction-count clock
//!     $QEMU_EXTRA_ARGS                       anything else, split on whitespace, last
//! ```
//!
//! With `-icount shift=0` guest time follows the instructions executed (one
//! instruction = 1 ns), so the TSC reads ~1 GHz and a run takes the same
//! number of guest cycles every time, free of host scheduling noise: use it
//! to compare latency and speed. It needs TCG, so it excludes KVM.
//!
//! Exit-code convention: the kernel writes 0x10 (success) or 0x11 (failure)
//! to port 0xF4 and QEMU exits with `(value << 1) | 1`, i.e. 33 or 35.
//! Anything else (0 after a triple fault, 1 for a QEMU error) is a failure.

use crate::image::DiskImage;
use crate::screenshot::Monitor;
use crate::Firmware;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
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
    /// Run on the instruction-count clock (`-icount shift=0,align=off,sleep=off`).
    pub icount: bool,
    /// Wait for gdb on localhost:1234 before the first instruction.
    pub gdb: bool,
    /// `key=value` words passed to the kernel through fw_cfg.
    pub options: Vec<String>,
    /// Kill QEMU after this long (None: no limit).
    pub timeout: Option<Duration>,
    /// Echo the serial console to our stdout while it runs.
    pub echo: bool,
    /// Appended to QEMU's command line (from `QEMU_EXTRA_ARGS`).
    pub extra_args: Vec<String>,
    /// Show QEMU's window (`--display`) instead of running headless.
    pub display: bool,
    /// Save the screen as PNG here at the end of each phase (`--screenshot DIR`).
    pub screenshots: Option<PathBuf>,
}

impl Machine {
    /// Defaults: BIOS, 512 MiB, TCG on the host's clock, no gdb, no timeout,
    /// echo on, and the extra QEMU arguments of `QEMU_EXTRA_ARGS`.
    pub fn new(firmware: Firmware) -> Self {
        let extra = std::env::var_os(EXTRA_ARGS_VARIABLE);
        Machine {
            firmware,
            memory_mib: 512,
            kvm: false,
            icount: false,
            gdb: false,
            options: Vec::new(),
            timeout: None,
            echo: true,
            extra_args: split_extra_args(&extra.unwrap_or_default().to_string_lossy()),
            display: false,
            screenshots: None,
        }
    }
}

/// The environment variable whose words are appended to QEMU's command line.
pub const EXTRA_ARGS_VARIABLE: &str = "QEMU_EXTRA_ARGS";

/// QEMU's instruction-count clock: 2^0 ns of guest time per instruction, no
/// attempt to keep pace with the host, and idle time skipped.
pub const ICOUNT_ARGS: [&str; 2] = ["-icount", "shift=0,align=off,sleep=off"];

/// `QEMU_EXTRA_ARGS`'s value as words (split on whitespace; no quoting).
pub fn split_extra_args(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
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

/// The full QEMU command line for the disk image at `image` on `machine`.
pub fn command(machine: &Machine, image: &Path) -> anyhow::Result<Command> {
    let mut command = Command::new("qemu-system-x86_64");
    command
        .arg("-drive")
        .arg(format!("format=raw,file={}", image.display()));
    if machine.firmware == Firmware::Uefi {
        let ovmf = ovmf_path().ok_or_else(|| {
            anyhow::anyhow!("UEFI firmware not found (looked for {OVMF_CANDIDATES:?}); install the `ovmf` package")
        })?;
        command.arg("-bios").arg(ovmf);
    }
    command.arg("-m").arg(format!("{}M", machine.memory_mib));
    command.args(["-serial", "stdio"]);
    if !machine.display {
        command.args(["-display", "none"]);
    }
    command.args(["-no-reboot", "-net", "none"]);
    if machine.screenshots.is_some() {
        let socket = monitor_socket(image);
        command
            .arg("-monitor")
            .arg(format!("unix:{},server=on,wait=off", socket.display()));
    }
    command.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    let options = machine.options.join(" ");
    boot_options::check(&options).map_err(|error| anyhow::anyhow!("{error}: {options}"))?;
    if !options.is_empty() {
        command.arg("-fw_cfg").arg(format!(
            "name={},string={options}",
            boot_options::FW_CFG_FILE
        ));
    }
    anyhow::ensure!(
        !(machine.kvm && machine.icount),
        "the instruction-count clock (icount) needs TCG and cannot run with KVM"
    );
    if machine.kvm {
        command.args(["-enable-kvm", "-cpu", "qemu64"]);
    }
    if machine.icount {
        command.args(ICOUNT_ARGS);
    }
    if machine.gdb {
        command.args(["-s", "-S"]);
    }
    command.args(&machine.extra_args);
    // With screenshots, the host answers the kernel on the serial line.
    let stdin = if machine.screenshots.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Ok(command)
}

/// Boot `image` on `machine`, stream its console, and wait for the end.
pub fn run(machine: &Machine, image: &DiskImage) -> anyhow::Result<Outcome> {
    let mut child = command(machine, image.path())?.spawn().map_err(|error| {
        anyhow::anyhow!(
            "could not start qemu-system-x86_64 ({error}); install the `qemu-system-x86` package"
        )
    })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let collected = Arc::new(Mutex::new(String::new()));
    let mut camera = match &machine.screenshots {
        Some(directory) => Some(Camera::new(directory, image.path(), child.stdin.take())?),
        None => None,
    };
    let reader = {
        let collected = Arc::clone(&collected);
        let echo = machine.echo;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let text = String::from_utf8_lossy(&line).replace('\r', "");
                if let Some(camera) = camera.as_mut() {
                    camera.on_line(&text);
                }
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

/// Where QEMU's monitor listens for the run of `image`.
fn monitor_socket(image: &Path) -> PathBuf {
    image.with_file_name("monitor.sock")
}

/// Takes the screenshots the kernel asks for (see `screenshot`).
struct Camera {
    directory: PathBuf,
    socket: PathBuf,
    monitor: Option<Monitor>,
    serial: Option<ChildStdin>,
}

impl Camera {
    fn new(directory: &Path, image: &Path, serial: Option<ChildStdin>) -> anyhow::Result<Camera> {
        std::fs::create_dir_all(directory).map_err(|error| {
            anyhow::anyhow!(
                "cannot create the screenshot directory {}: {error}",
                directory.display()
            )
        })?;
        Ok(Camera {
            directory: directory.to_path_buf(),
            socket: monitor_socket(image),
            monitor: None,
            serial,
        })
    }

    /// A console line: on `SCREEN-READY`, save the screen, then let the
    /// kernel go on. A failure is reported and the kernel still goes on.
    fn on_line(&mut self, line: &str) {
        let Some(phase) = crate::screenshot::phase_of(line) else {
            return;
        };
        match self.take(phase) {
            Ok(path) => eprintln!("screenshot: {}", path.display()),
            Err(error) => eprintln!("screenshot of phase {phase} failed: {error:#}"),
        }
        if let Some(serial) = self.serial.as_mut() {
            let _ = serial.write_all(b"\n").and_then(|()| serial.flush());
        }
    }

    fn take(&mut self, phase: &str) -> anyhow::Result<PathBuf> {
        if self.monitor.is_none() {
            self.monitor = Some(Monitor::connect(&self.socket, Duration::from_secs(10))?);
        }
        let monitor = self.monitor.as_mut().expect("connected just above");
        monitor.screenshot(&self.directory, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(machine: &Machine) -> anyhow::Result<Vec<String>> {
        let command = command(machine, Path::new("disk.img"))?;
        Ok(command
            .get_args()
            .map(|word| word.to_string_lossy().into_owned())
            .collect())
    }

    #[test]
    fn icount_selects_the_instruction_count_clock() {
        let mut machine = Machine::new(Firmware::Bios);
        assert!(!arguments(&machine)
            .unwrap()
            .contains(&"-icount".to_string()));
        machine.icount = true;
        let words = arguments(&machine).unwrap();
        let at = words.iter().position(|word| word == "-icount").unwrap();
        assert_eq!(words[at + 1], "shift=0,align=off,sleep=off");
    }

    #[test]
    fn icount_and_kvm_exclude_each_other() {
        let mut machine = Machine::new(Firmware::Bios);
        machine.icount = true;
        machine.kvm = true;
        let error = arguments(&machine).unwrap_err().to_string();
        assert!(error.contains("cannot run with KVM"), "{error}");
    }

    #[test]
    fn extra_arguments_come_last() {
        let mut machine = Machine::new(Firmware::Bios);
        machine.extra_args = split_extra_args("  -d int\t-D  /tmp/q.log\n");
        assert_eq!(machine.extra_args, ["-d", "int", "-D", "/tmp/q.log"]);
        let words = arguments(&machine).unwrap();
        assert_eq!(words[words.len() - 4..], ["-d", "int", "-D", "/tmp/q.log"]);
        assert!(split_extra_args(" \t ").is_empty());
    }
}
