//! `cargo run` / `./run-qemu.sh`: build the disk image and boot a kernel.

use boot::cli::{parse_arguments, Arguments, USAGE};
use boot::corpus::{self, Corpus};
use boot::image::DiskImage;
use boot::qemu::{self, Ending};
use boot::{limits, Kernel};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut arguments = match parse_arguments(std::env::args().skip(1)) {
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
    let corpus = match choose_corpus(&mut arguments) {
        Ok(corpus) => corpus,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let workload = arguments.workload(corpus.as_ref().map(|corpus| corpus.bytes));
    if let Err(message) = arguments.apply_limits(workload) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    if arguments.machine.gdb {
        eprintln!(
            "QEMU waits for gdb on localhost:1234. In another terminal:\n  gdb -ex 'target remote :1234'\n  (gdb) symbol-file -o 0x10000000000 {}",
            arguments.kernel.path().display()
        );
    }
    let ramdisk = corpus.as_ref().map(|corpus| corpus.path.as_path());
    let image = match DiskImage::create(arguments.kernel, arguments.machine.firmware, ramdisk) {
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
            if let Ending::TimedOut(limit) = outcome.ending {
                if arguments.timeout_given {
                    eprintln!(
                        "the limit was --timeout {}; if the run was still making progress, \
                         raise it (--timeout 0: no limit)",
                        limit.as_secs()
                    );
                } else {
                    eprintln!(
                        "{}",
                        limits::timeout_hint(arguments.kernel, workload, limit)
                    );
                }
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The demo stores a corpus (the default one unless `--corpus` or
/// `--built-in`); guest RAM is sized to it unless `--memory` was given.
fn choose_corpus(arguments: &mut Arguments) -> Result<Option<Corpus>, String> {
    if arguments.kernel != Kernel::Demo || arguments.built_in {
        return Ok(None);
    }
    let path = arguments
        .corpus
        .clone()
        .unwrap_or_else(corpus::default_corpus);
    let corpus = corpus::prepare(&path)?;
    if !arguments.memory_given {
        arguments.machine.memory_mib = corpus.suggested_memory_mib();
    }
    eprintln!(
        "corpus: {} pages from {} (guest RAM {} MiB)",
        corpus.pages(),
        path.display(),
        arguments.machine.memory_mib
    );
    Ok(Some(corpus))
}
