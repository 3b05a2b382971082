//! Building a lab's test binaries and running its tests one at a time.
//!
//! ```text
//!   cargo test -p CRATE [--features CRATE/lab-NAME] --no-run --message-format=json
//!        │  one executable per test target (lib, tests/NAME.rs)
//!        ▼
//!   EXE --exact TEST --test-threads=1      one process per test, killed at its
//!        │                                 time limit: a hang or a panic costs
//!        ▼                                 that test's points only
//!   passed | failed | timed out | missing
//!
//!   cargo build --release -p boot [--features boot/lab-NAME]   the test kernel
//!   boot --tests --filter TEST --timeout T                  one QEMU boot per test
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A test target of a crate: its library's unit tests or one `tests/` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `src/lib.rs`'s unit tests.
    Lib,
    /// An integration test, by file stem.
    Test(&'static str),
    /// The test kernel, booted in QEMU by the `boot` crate's runner
    /// (`boot --tests --filter NAME`); the only target of its part.
    Kernel,
}

/// What became of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed or panicked; the last lines of its output.
    Failed(String),
    /// It ran past its time limit and was killed.
    TimedOut(Duration),
    /// The binary has no test of that name (or could not start).
    Missing(String),
}

/// Build the test binaries of `package` for `targets`, with `feature` on
/// (none for the reference). Returns the executable of every target, or the
/// compiler's complaint.
pub fn build(
    workspace: &Path,
    package: &str,
    feature: Option<&str>,
    targets: &[Target],
) -> Result<HashMap<Target, PathBuf>, String> {
    let kernel = targets.contains(&Target::Kernel);
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace);
    if kernel {
        command.args(["build", "--release", "--bin", package]);
    } else {
        command.args(["test", "--no-run"]);
    }
    command
        .args(["--quiet", "--message-format=json-render-diagnostics"])
        .args(["-p", package]);
    if let Some(feature) = feature {
        command.args(["--features", &format!("{package}/{feature}")]);
    }
    for target in targets {
        match target {
            Target::Lib => command.arg("--lib"),
            Target::Test(name) => command.args(["--test", name]),
            Target::Kernel => &mut command,
        };
    }
    let output = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(tail(&stderr, 30));
    }
    let mut executables = HashMap::new();
    for line in stdout.lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let (Some(name), Some(executable)) = (
            json_string_after(line, "\"target\":{", "name"),
            json_string_after(line, "", "executable"),
        ) else {
            continue;
        };
        let is_lib = line.contains("\"kind\":[\"lib\"]");
        for target in targets {
            let matches = match target {
                Target::Lib => is_lib && name == package.replace('-', "_"),
                Target::Test(test) => !is_lib && name == *test,
                Target::Kernel => line.contains("\"kind\":[\"bin\"]") && name == package,
            };
            if matches {
                executables.insert(*target, PathBuf::from(&executable));
            }
        }
    }
    for target in targets {
        if !executables.contains_key(target) {
            return Err(format!(
                "cargo built no test binary for {target:?} of {package}"
            ));
        }
    }
    Ok(executables)
}

/// Run the single test `name` of `executable` (a test kernel's runner when
/// `target` is [`Target::Kernel`]), killed after `limit`.
pub fn run(
    workspace: &Path,
    target: Target,
    executable: &Path,
    name: &str,
    limit: Duration,
) -> Outcome {
    let mut command = Command::new(executable);
    if target == Target::Kernel {
        // The runner's own limit first, so that it says what happened; ours
        // (a little later) only if the runner itself hangs.
        let seconds = limit.as_secs().to_string();
        command.args(["--tests", "--filter", name, "--timeout", &seconds]);
    } else {
        command.args([name, "--exact", "--test-threads=1", "--color=never"]);
    }
    let limit = limit + Duration::from_secs(if target == Target::Kernel { 30 } else { 0 });
    let run = match execute(workspace, command, limit) {
        Ok(run) => run,
        Err(message) => return Outcome::Missing(message),
    };
    let Some(status) = run.status else {
        return Outcome::TimedOut(limit);
    };
    let (stdout, stderr) = (run.stdout, run.stderr);
    if target == Target::Kernel {
        return suite_outcome(name, &stdout).unwrap_or_else(|| {
            if stdout.contains("test result:") {
                Outcome::Missing(format!("the test kernel has no test named {name}"))
            } else {
                Outcome::Failed(kernel_failure(&stdout, &stderr))
            }
        });
    }
    if stdout.contains("0 passed; 0 failed") || stdout.contains("running 0 tests") {
        return Outcome::Missing(format!("no test named {name}"));
    }
    if status.success() && stdout.contains("test result: ok. 1 passed") {
        Outcome::Passed
    } else {
        Outcome::Failed(panic_message(&format!("{stdout}{stderr}")))
    }
}

/// Boot the test kernel once with all its tests (`boot --tests`), killed
/// after `limit`; returns what its console printed (up to where it stopped).
/// The runner survives a test's panic or fault, so one boot usually grades
/// every kernel test of a lab; [`suite_outcome`] reads the verdicts.
pub fn run_kernel_suite(workspace: &Path, executable: &Path, limit: Duration) -> String {
    let mut command = Command::new(executable);
    let seconds = limit.as_secs().to_string();
    command.args(["--tests", "--timeout", &seconds]);
    match execute(workspace, command, limit + Duration::from_secs(30)) {
        Ok(run) => run.stdout,
        Err(_) => String::new(),
    }
}

/// The verdict a test-kernel run printed for test `name`, if it got there
/// (the runner prints `test PATH ... ok`, or `... FAILED` and the panic).
pub fn suite_outcome(name: &str, output: &str) -> Option<Outcome> {
    let line = format!("test {name} ... ");
    let lines: Vec<&str> = output.lines().collect();
    let index = lines.iter().position(|text| text.contains(&line))?;
    let rest = &lines[index][lines[index].find(&line)? + line.len()..];
    if rest.trim_start().starts_with("ok") {
        return Some(Outcome::Passed);
    }
    if rest.trim().is_empty() {
        // Started, never finished: the run stopped inside this test.
        return None;
    }
    let why = lines
        .get(index + 1)
        .map(|next| next.trim())
        .filter(|next| next.starts_with("panicked") || next.contains("fault"))
        .unwrap_or(rest.trim());
    Some(Outcome::Failed(why.to_string()))
}

/// A finished (or killed) process: its status (`None`: killed at the time
/// limit) and its output.
struct Run {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Run `command` in `workspace` in a process group of its own; kill the
/// whole group (QEMU included) after `limit`.
fn execute(workspace: &Path, mut command: Command, limit: Duration) -> Result<Run, String> {
    let mut child = command
        .current_dir(workspace)
        .env("RUST_BACKTRACE", "0")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {:?}: {error}", command.get_program()))?;
    // Drain both pipes on threads so that a chatty test cannot block on a
    // full pipe while we wait for it.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() > limit => {
                // The group is this child's own (`process_group(0)`).
                let group = format!("-{}", child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    Ok(Run {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The lines that explain a failed kernel run: its panics and the runner's
/// own verdict (a limit that struck, QEMU's exit), else the last lines.
fn kernel_failure(stdout: &str, stderr: &str) -> String {
    let all = format!("{stdout}{stderr}");
    let telling: Vec<&str> = all
        .lines()
        .filter(|line| {
            line.contains("panicked")
                || line.contains("FAILED")
                || line.contains("run-qemu")
                || line.contains("limit")
        })
        .take(6)
        .collect();
    if telling.is_empty() {
        tail(&all, 8)
    } else {
        telling.join("\n")
    }
}

/// The panic message in a failed test's output (`panicked at FILE:LINE:`
/// and the message's lines), or its last lines if it has none.
pub fn panic_message(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let Some(start) = lines.iter().position(|line| line.contains("panicked at")) else {
        return tail(output, 8);
    };
    lines[start..]
        .iter()
        .take(8)
        .take_while(|line| !line.starts_with("note:") && !line.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The string value of `"key":"..."` in `line` after the first `after`.
/// (cargo's messages are one JSON object a line; paths are the only values
/// read, and cargo escapes only quotes and backslashes in them.)
fn json_string_after(line: &str, after: &str, key: &str) -> Option<String> {
    let start = line.find(after)? + after.len();
    let pattern = format!("\"{key}\":\"");
    let value_start = start + line[start..].find(&pattern)? + pattern.len();
    let mut value = String::new();
    let mut characters = line[value_start..].chars();
    while let Some(character) = characters.next() {
        match character {
            '"' => return Some(value),
            '\\' => value.push(characters.next()?),
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_artifact_lines() {
        let line = r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"geometry","src_path":"/x"},"executable":"/t/deps/geometry-1\\a"}"#;
        assert_eq!(
            json_string_after(line, "\"target\":{", "name").as_deref(),
            Some("geometry")
        );
        assert_eq!(
            json_string_after(line, "", "executable").as_deref(),
            Some("/t/deps/geometry-1\\a")
        );
        assert_eq!(json_string_after(line, "", "missing"), None);
    }

    #[test]
    fn the_panic_message_is_found() {
        let output = "running 1 test\nthread 'x' panicked at src/a.rs:3:5:\nlab buddy: free\nnote: run with\n";
        assert_eq!(
            panic_message(output),
            "thread 'x' panicked at src/a.rs:3:5:\nlab buddy: free"
        );
        assert_eq!(panic_message("a\nb"), "a\nb");
    }

    #[test]
    fn kernel_verdicts_are_read_from_the_console() {
        let console = "test memory::kmap::a ... ok\ntest memory::kmap::b ... FAILED\n    panicked: lab kmap: push at x.rs:1:1\ntest c ... ";
        assert_eq!(
            suite_outcome("memory::kmap::a", console),
            Some(Outcome::Passed)
        );
        assert_eq!(
            suite_outcome("memory::kmap::b", console),
            Some(Outcome::Failed(
                "panicked: lab kmap: push at x.rs:1:1".into()
            ))
        );
        assert_eq!(suite_outcome("memory::kmap::d", console), None);
        assert_eq!(
            suite_outcome("c", console),
            None,
            "a test the run stopped in"
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
