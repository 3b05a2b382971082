//! Running a disk image in QEMU.
//!
//! ```text
//!   qemu-system-x86_64
//!     -drive format=raw,file=IMAGE           the disk image
//!     -bios OVMF.fd                          UEFI firmware (only with --uefi)
//!     -m MEMORY                              guest RAM
//!     -serial stdio -display none            the console is the serial port (its input:
//!                                            closed, the terminal, or piped, see SerialInput;
//!                                            --display: a window)
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
use crate::screenshot::{monitor_socket, Camera};
use crate::Firmware;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
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
    /// What the guest's serial port receives.
    pub input: SerialInput,
    /// Show QEMU's window (`--display`) instead of running headless.
    pub display: bool,
    /// Save the screen as PNG here at the end of each phase (`--screenshot DIR`).
    pub screenshots: Option<PathBuf>,
}

/// What the guest's serial port receives (the kernel's shell reads it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerialInput {
    /// Nothing: QEMU's stdin is closed (the demo, the tests, the benchmark).
    Closed,
    /// The user's terminal, handed to QEMU (which puts it in raw mode, so
    /// that the guest sees every key and does the echo).
    Terminal,
    /// Our stdin (a pipe or a file), forwarded once the shell is ready.
    HostStdin,
    /// These bytes, forwarded once the shell is ready (tests).
    Script(Vec<u8>),
}

impl SerialInput {
    /// The user's terminal if stdin is one, otherwise what stdin holds.
    pub fn from_host_stdin() -> Self {
        if std::io::stdin().is_terminal() {
            SerialInput::Terminal
        } else {
            SerialInput::HostStdin
        }
    }
}

/// Forward `source` to QEMU's stdin once `ready` fires (the shell printed
/// its ready line). At the end of `source` the guest gets a newline (if the
/// last line had none) and Ctrl-D, the shell's end of input, so a piped
/// session ends instead of waiting forever.
fn forward_input(mut source: impl Read, mut qemu: ChildStdin, ready: mpsc::Receiver<()>) {
    if ready.recv().is_err() {
        return; // QEMU's output ended first: nobody to talk to.
    }
    let mut buffer = [0u8; 4096];
    let mut last = b'\n';
    loop {
        match source.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => {
                if qemu.write_all(&buffer[..count]).is_err() {
                    return;
                }
                let _ = qemu.flush();
                last = buffer[count - 1];
            }
        }
    }
    let ending: &[u8] = if last == b'\n' || last == b'\r' {
        b"\x04"
    } else {
        b"\n\x04"
    };
    let _ = qemu.write_all(ending);
    let _ = qemu.flush();
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
            input: SerialInput::Closed,
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
    command
        .stdin(match machine.input {
            // With screenshots, the host answers the kernel on the serial line.
            SerialInput::Closed if machine.screenshots.is_some() => Stdio::piped(),
            SerialInput::Closed => Stdio::null(),
            SerialInput::Terminal => Stdio::inherit(),
            SerialInput::HostStdin | SerialInput::Script(_) => Stdio::piped(),
        })
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
    let collected = Arc::new(Mutex::new(Vec::new()));
    let (ready_sender, ready) = mpsc::channel();
    // With screenshots, the host answers the kernel on the serial line.
    let camera = match &machine.screenshots {
        Some(directory) => Some(Camera::new(directory, image.path(), child.stdin.take())?),
        None => None,
    };
    let reader = {
        let collected = Arc::clone(&collected);
        let echo = machine.echo;
        std::thread::spawn(move || stream_output(stdout, echo, &collected, ready_sender, camera))
    };
    if let Some(stdin) = child.stdin.take() {
        // Not joined: reading our stdin may block after QEMU is gone.
        match machine.input.clone() {
            SerialInput::Script(bytes) => {
                std::thread::spawn(move || forward_input(&bytes[..], stdin, ready));
            }
            _ => {
                std::thread::spawn(move || forward_input(std::io::stdin(), stdin, ready));
            }
        }
    }
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
    let output = String::from_utf8_lossy(&collected.lock().unwrap()).replace('\r', "");
    Ok(Outcome { ending, output })
}

/// Copy QEMU's output as it comes (a prompt has no newline) to `collected`
/// and, with `echo`, to our stdout; fire `ready` once the shell's ready
/// line has appeared; hand every complete line to the `camera`
/// (`--screenshot`), which answers the kernel's `SCREEN-READY` lines.
fn stream_output(
    mut stdout: ChildStdout,
    echo: bool,
    collected: &Mutex<Vec<u8>>,
    ready: mpsc::Sender<()>,
    mut camera: Option<Camera>,
) {
    let mut line = Vec::new();
    let marker = shell_input::READY_LINE.as_bytes();
    let mut ready = Some(ready);
    let mut buffer = [0u8; 4096];
    loop {
        let count = match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        let chunk = &buffer[..count];
        if echo {
            let shown: Vec<u8> = chunk
                .iter()
                .copied()
                .filter(|&byte| byte != b'\r')
                .collect();
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&shown);
            let _ = out.flush();
        }
        if let Some(camera) = camera.as_mut() {
            for &byte in chunk {
                if byte == b'\n' {
                    camera.on_line(String::from_utf8_lossy(&line).trim_end_matches('\r'));
                    line.clear();
                } else {
                    line.push(byte);
                }
            }
        }
        let mut collected = collected.lock().unwrap();
        // Where the marker may start: in this chunk, or just before it.
        let from = collected.len().saturating_sub(marker.len());
        collected.extend_from_slice(chunk);
        if ready.is_some()
            && collected[from..]
                .windows(marker.len())
                .any(|window| window == marker)
        {
            let _ = ready.take().map(|sender| sender.send(()));
        }
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
