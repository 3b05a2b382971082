//! `plot LOG... [-o DIR]` (`./run-qemu.sh plot`): SVG charts from run logs.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: run-qemu.sh plot LOG... [-o DIR]

Draws SVG charts from the ZRAM-REPORT and BENCH-RESULT lines of saved runs,
e.g.  ./run-qemu.sh --zsmalloc linux4 | tee linux4.log;  ./run-qemu.sh bench | tee bench.log
      ./run-qemu.sh plot linux4.log bench.log -o plots
Each demo log is one series, named after its zsmalloc configuration.
A chart whose data the logs lack is skipped, with the reason.

  -o DIR      where to write the .svg files (default: plots)
  -h, --help  show this text";

fn main() -> ExitCode {
    let mut logs = Vec::new();
    let mut directory = PathBuf::from("plots");
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-o" | "--output" => match words.next() {
                Some(path) => directory = PathBuf::from(path),
                None => return usage_error("-o needs a directory"),
            },
            option if option.starts_with('-') && option.len() > 1 => {
                return usage_error(&format!("unknown option '{option}'"))
            }
            _ => logs.push(PathBuf::from(word)),
        }
    }
    if logs.is_empty() {
        return usage_error("no log file given");
    }
    match plot::plot(&logs, &directory) {
        Ok(summary) => {
            for path in &summary.written {
                println!("wrote {}", path.display());
            }
            for (chart, reason) in &summary.skipped {
                println!("skipped {chart}: {reason}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("plot: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("plot: error: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
