//! The `boot` binary's answers to bad run options (what `./run-qemu.sh`
//! forwards). Each bad option is refused with a message before QEMU starts,
//! so these tests are fast; the one that needs a running QEMU (the time
//! limit) stops it after a few seconds.
//!
//! Every run is bounded by [`LIMIT`]: a runner that would hang instead of
//! answering fails the test instead of blocking it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest any run here may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

struct Run {
    /// The exit code (None: killed after [`LIMIT`] or by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit code {:?} after {:.1} s\n--- stderr:\n{}\n--- stdout:\n{}",
            self.code,
            self.elapsed.as_secs_f64(),
            self.stderr,
            self.stdout
        )
    }

    /// Refused with exit code 2, a message containing every one of
    /// `expected`, quickly and without booting anything.
    fn assert_refused(&self, expected: &[&str]) {
        assert_eq!(self.code, Some(2), "{}", self.describe());
        for text in expected {
            assert!(
                self.stderr.contains(text),
                "expected {text:?}: {}",
                self.describe()
            );
        }
        assert!(
            self.stdout.is_empty(),
            "nothing may boot: {}",
            self.describe()
        );
        assert!(
            self.elapsed < Duration::from_secs(20),
            "the refusal must come before QEMU starts: {}",
            self.describe()
        );
    }
}

/// Run the `boot` binary with `arguments` and extra `environment`, killing
/// it after [`LIMIT`].
fn boot(arguments: &[&str], environment: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_boot"));
    command
        .args(arguments)
        .env_remove("QEMU_EXTRA_ARGS")
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // QEMU must not outlive a killed runner: give it its own process group.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("the boot binary starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > LIMIT {
            // The whole group: the runner and the QEMU it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
    }
}

/// A fresh file in a directory of its own, removed with the directory.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let directory = std::env::temp_dir().join(format!(
            "zsmalloc-os-cli-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn too_little_memory_is_refused_with_the_minimum() {
    let run = boot(&["--built-in", "--memory", "16M", "--timeout", "30"], &[]);
    run.assert_refused(&["--memory 16M is too little guest RAM", "at least 48M"]);
}

#[test]
fn too_little_memory_for_the_test_kernel_under_uefi_is_refused() {
    let run = boot(
        &["--tests", "--uefi", "--memory", "48M", "--timeout", "30"],
        &[],
    );
    run.assert_refused(&["--memory 48M is too little", "at least 64M", "UEFI"]);
}

#[test]
fn a_corpus_larger_than_guest_ram_is_refused_with_the_minimum() {
    let scratch = Scratch::new("large");
    let corpus = scratch.file("large.pages");
    // 94 MiB of zero pages (a sparse file: the refusal never reads it).
    std::fs::File::create(&corpus)
        .unwrap()
        .set_len(94 << 20)
        .unwrap();
    let run = boot(
        &[
            "--corpus",
            text(&corpus),
            "--memory",
            "64M",
            "--timeout",
            "30",
        ],
        &[],
    );
    run.assert_refused(&[
        "--memory 64M is too little guest RAM for a 94 MiB corpus",
        "at least 220M",
    ]);
}

#[test]
fn a_gzip_corpus_of_a_partial_page_names_the_users_file() {
    let scratch = Scratch::new("partial");
    let corpus = scratch.file("partial.pages.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&corpus).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&[7; 4097]).unwrap();
    encoder.finish().unwrap();
    let run = boot(&["--corpus", text(&corpus), "--timeout", "30"], &[]);
    let expected = format!(
        "{} (decompressed) has 4097 bytes, which is not a multiple of 4096",
        corpus.display()
    );
    run.assert_refused(&[&expected]);
    assert!(
        !run.stderr.contains("zsmalloc-os-corpus-"),
        "no temporary file name: {}",
        run.describe()
    );
}

#[test]
fn icount_with_kvm_is_refused() {
    let run = boot(&["--built-in", "--icount", "--kvm", "--timeout", "30"], &[]);
    run.assert_refused(&["--icount and --kvm exclude each other", "TCG"]);
}

#[test]
fn a_bad_timeout_is_refused() {
    let run = boot(&["--built-in", "--timeout", "soon"], &[]);
    run.assert_refused(&["invalid --timeout 'soon'"]);
}

#[test]
fn bad_swap_budgets_and_combinations_are_refused() {
    let run = boot(&["--swap", "--resident", "0%"], &[]);
    run.assert_refused(&["invalid --resident '0%'", "from 1 to 100"]);
    let run = boot(&["--swap", "--resident", "1K"], &[]);
    run.assert_refused(&["invalid --resident '1K'", "at least one page"]);
    let run = boot(&["--built-in", "--resident", "25%"], &[]);
    run.assert_refused(&["use it with --swap"]);
    let run = boot(&["--swap", "--tests"], &[]);
    run.assert_refused(&["--swap runs on the demo kernel"]);
}

/// `QEMU_EXTRA_ARGS` reaches QEMU's command line: QEMU itself refuses an
/// option it does not know, at once.
#[test]
fn qemu_extra_args_reach_qemu() {
    let run = boot(
        &["--built-in", "--timeout", "30"],
        &[("QEMU_EXTRA_ARGS", "  -no-such-qemu-option  ")],
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.contains("-no-such-qemu-option"),
        "QEMU names the option: {}",
        run.describe()
    );
    assert!(run.elapsed < Duration::from_secs(20), "{}", run.describe());
}

/// A run that does not finish in time is stopped, and the message says
/// which limit struck and how to raise it.
#[test]
fn a_run_past_its_time_limit_is_stopped_with_a_message() {
    let run = boot(&["--built-in", "--timeout", "2"], &[]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("TIMEOUT"), "{}", run.describe());
    assert!(run.stderr.contains("within 2 s"), "{}", run.describe());
    assert!(run.stderr.contains("--timeout"), "{}", run.describe());
    assert!(run.elapsed < Duration::from_secs(20), "{}", run.describe());
}
