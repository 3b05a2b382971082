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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(workspace)
        .args([
            "test",
            "--quiet",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
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
    let spawned = command
        .current_dir(workspace)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Outcome::Missing(format!("cannot start {}: {error}", executable.display()))
        }
    };
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
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let Some(status) = status else {
        return Outcome::TimedOut(limit);
    };
    if target == Target::Kernel {
        return kernel_outcome(name, &stdout, &stderr);
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

/// What the serial console of a test-kernel run says about test `name`
/// (the runner prints `test PATH ... ok` or `... FAILED` and the panic).
fn kernel_outcome(name: &str, stdout: &str, stderr: &str) -> Outcome {
    let line = format!("test {name} ... ");
    let verdict = stdout
        .lines()
        .find_map(|text| text.find(&line).map(|at| &text[at + line.len()..]));
    match verdict {
        Some(rest) if rest.trim_start().starts_with("ok") => Outcome::Passed,
        Some(_) => Outcome::Failed(kernel_failure(stdout, stderr)),
        None if stdout.contains("test result:") => {
            Outcome::Missing(format!("the test kernel has no test named {name}"))
        }
        None => Outcome::Failed(kernel_failure(stdout, stderr)),
    }
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
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
