//! The kernel's shell (`./run-qemu.sh --shell`), driven from the host.
//!
//! A plain (harness = false) test binary, like `tests/kernel.rs`:
//!
//! ```text
//!   shell::session        a scripted session of every command, with expected output; `exit`
//!                         ends QEMU with success
//!   shell::bad_input      bad commands and arguments, a non-ASCII line, a line too long,
//!                         backspace: clear errors, and the session goes on
//!   shell::piped_stdin    `printf ... | run-qemu.sh --shell --built-in`: the runner forwards
//!                         its stdin, and the end of input (no exit, no last newline) ends
//!                         the run with success
//! ```

use boot::image::DiskImage;
use boot::qemu::{self, Ending, Machine, Outcome, SerialInput};
use boot::{Firmware, Kernel};
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(300);

/// Boot the demo kernel's shell on the built-in workload with `script` as
/// its input.
fn session(script: &[u8]) -> Result<Outcome, String> {
    let image = DiskImage::create(Kernel::Demo, Firmware::Bios, None)
        .map_err(|error| format!("disk image: {error:#}"))?;
    let mut machine = Machine::new(Firmware::Bios);
    machine.options = vec!["shell=on".into()];
    machine.input = SerialInput::Script(script.to_vec());
    machine.timeout = Some(TIMEOUT);
    machine.echo = false;
    qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))
}

/// Every expected piece of text, in order.
fn expect_in_order(output: &str, expected: &[&str]) -> Result<(), String> {
    let mut rest = output;
    for piece in expected {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => {
                return Err(format!(
                    "expected, in order: {piece:?} (after the earlier pieces); output:\n{output}"
                ))
            }
        }
    }
    Ok(())
}

fn scripted_session() -> Result<(), String> {
    let script = b"help\n\
        write 1 hello, zsmalloc\n\
        read 1\n\
        read 1 hex\n\
        write 2 zero\n\
        read 2\n\
        write 3 random\n\
        write 4 random 1000\n\
        read 4\n\
        write 5 corpus 6\n\
        fill 64\n\
        stats\n\
        discard 1\n\
        read 1\n\
        churn\n\
        compact\n\
        classes\n\
        pool\n\
        frames\n\
        kmap\n\
        limit 64K\n\
        limit none\n\
        config linux4\n\
        stats\n\
        write 1 on linux4\n\
        pool\n\
        exit\n";
    let outcome = session(script)?;
    if outcome.ending != Ending::Success {
        return Err(format!(
            "{}; output:\n{}",
            outcome.ending.describe(),
            outcome.output
        ));
    }
    if let Some(line) = outcome.output.lines().find(|line| line.contains("error:")) {
        return Err(format!(
            "unexpected error line {line:?}; output:\n{}",
            outcome.output
        ));
    }
    expect_in_order(
        &outcome.output,
        &[
            "zsmalloc-os shell: type help for the commands",
            "zram> help",
            "write SLOT random [BYTES]",
            "exit ",
            "zram> write 1 hello, zsmalloc",
            "slot 1: ",
            " compressed bytes in the pool",
            "zram> read 1",
            "\"hello, zsmalloc\" (15 bytes, then zeros)",
            "zram> read 1 hex",
            "  0000  68 65 6c 6c 6f 2c 20 7a 73 6d 61 6c 6c 6f 63",
            "  000f  zeros to the end of the page",
            "slot 2: same-filled with the word 0x0000000000000000 (no memory)",
            "slot 2: same-filled",
            "slot 3: huge: stored uncompressed",
            "zram> read 4",
            "slot 4: ",
            "1000 bytes before the trailing zeros, not all text",
            "slot 5: ",
            "fill: wrote workload pages 0..64 to slots 0..64: 64 verified, 0 failed, 0 writes refused",
            "zram> stats",
            "mm_stat          262144 ",
            "262144 bytes  (64 pages stored)",
            "same_pages",
            " 16\n",
            "slots: 64 of 4096 hold a page",
            "zsmalloc configuration packed",
            "slot 1: discarded",
            "slot 1: empty (reads as zeros)",
            "churn: ",
            "0 failed to verify",
            "compact: ",
            "zram> classes",
            "zram> pool",
            "pool: ",
            "   #  pages  objs  span  payload  map",
            "   0  ",
            "zram> frames",
            "LOWMEM ",
            "HIGHMEM ",
            "free lists: free blocks of 2^order frames",
            "zram> kmap",
            "kmap calls",
            "slots in use",
            " 0   of 16",
            "memory limit: 16 pages (65536 bytes)",
            "memory limit: none",
            "config: a new, empty store of 4096 slots with zsmalloc configuration linux4",
            "mm_stat          0 0 0 0 0 0 0 0",
            "zsmalloc configuration linux4",
            "slot 1: ",
            "pool: 1 zspages",
            "shell: exit, leaving",
        ],
    )
}

fn bad_input() -> Result<(), String> {
    let mut script: Vec<u8> = b"raed 1\n\
        read\n\
        read x\n\
        read 1 octal\n\
        write 99999 hello\n\
        write 1 random 0\n\
        write 1 corpus 5000\n\
        fill 0\n\
        fill 100000\n\
        limit lots\n\
        config nosuch\n\
        stats now\n\
        write 1 caf\xc3\xa9\n"
        .to_vec();
    script.extend(std::iter::repeat_n(b'x', 200));
    script.extend_from_slice(b"\nwrx\x7fite 1 typd\x08ed, still alive\nread 1\nexit\n");
    let outcome = session(&script)?;
    if outcome.ending != Ending::Success {
        return Err(format!(
            "{}; output:\n{}",
            outcome.ending.describe(),
            outcome.output
        ));
    }
    expect_in_order(
        &outcome.output,
        &[
            "error: unknown command 'raed' (type help for the list)",
            "error: missing SLOT (usage: read SLOT [hex])",
            "error: SLOT must be a whole number, not 'x'",
            "error: unexpected 'octal' (usage: read SLOT [hex])",
            "error: slot 99999 is out of range (slots 0..=4095)",
            "error: BYTES 0 is out of range (1..=4096)",
            "error: page 5000 is not in the workload (pages 0..=4095)",
            "error: fill takes 1..=4096 pages (one per slot)",
            "error: fill takes 1..=4096 pages (one per slot)",
            "error: invalid size 'lots'",
            "error: unknown configuration 'nosuch' (known: packed, linux4, linux8)",
            "error: unexpected 'now' (usage: stats)",
            "error: the line has characters that are not ASCII; it was ignored",
            "error: the line is longer than 160 characters; it was ignored",
            "slot 1: ",
            "\"typed, still alive\" (18 bytes, then zeros)",
            "shell: exit, leaving",
        ],
    )
}

/// The runner itself, with a pipe for stdin: no `exit`, no last newline.
fn piped_stdin() -> Result<(), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boot"))
        .args(["--shell", "--built-in", "--timeout", "300"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("could not start the runner: {error}"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(b"write 1 hello\nread 1\nstats")
        .map_err(|error| format!("could not write the runner's stdin: {error}"))?;
    let result = child
        .wait_with_output()
        .map_err(|error| format!("the runner: {error}"))?;
    let output = String::from_utf8_lossy(&result.stdout);
    if !result.status.success() {
        return Err(format!(
            "the runner failed ({}); stderr:\n{}\nstdout:\n{output}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    expect_in_order(
        &output,
        &[
            "zram> write 1 hello",
            "zram> read 1",
            "\"hello\" (5 bytes, then zeros)",
            "zram> stats",
            "4096 bytes  (1 pages stored)",
            "shell: end of input, leaving",
        ],
    )
}

struct Check {
    name: &'static str,
    run: fn() -> Result<(), String>,
}

const CHECKS: &[Check] = &[
    Check {
        name: "shell::session",
        run: scripted_session,
    },
    Check {
        name: "shell::bad_input",
        run: bad_input,
    },
    Check {
        name: "shell::piped_stdin",
        run: piped_stdin,
    },
];

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.iter().any(|argument| argument == "--list") {
        for check in CHECKS {
            println!("{}: test", check.name);
        }
        return ExitCode::SUCCESS;
    }
    let filter = arguments
        .iter()
        .find(|argument| !argument.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    let selected: Vec<&Check> = CHECKS
        .iter()
        .filter(|check| check.name.contains(filter.as_str()))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = 0;
    for check in &selected {
        match (check.run)() {
            Ok(()) => println!("test {} ... ok", check.name),
            Err(message) => {
                println!("test {} ... FAILED\n    {message}", check.name);
                failed += 1;
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out\n",
        selected.len() - failed,
        CHECKS.len() - selected.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
