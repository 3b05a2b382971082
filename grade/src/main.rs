//! `./run-qemu.sh grade [LAB] [--reference] [--below-half]`: build the
//! student's code of each lab (the lab's cargo feature swaps it in), run the
//! lab's tests one by one and print, like xv6's `make grade`, one line per
//! test with its points, a `Score: N/M` per lab and a total.
//!
//! ```text
//!   buddy: the buddy frame allocator
//!     tests::one_frame_splits_a_block_and_merges_back ........ OK     2/2
//!     tests::random_runs_match_a_model ....................... FAIL   0/3
//!   Score: 12/15
//!   ...
//!   Total: 70/80
//! ```
//!
//! Exit status: 0 only at full marks; with `--below-half`, 0 only if every
//! lab scored below half and every lab built (what untouched skeletons must
//! do: compile, and fail most tests). `--reference`
//! grades the project's own code (no lab feature).

mod labs;
mod runner;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use labs::{Lab, LABS};
use runner::{Outcome, Target};

/// How long one test may run before it is killed and scores nothing.
const TEST_TIME_LIMIT: Duration = Duration::from_secs(120);
/// How long the boot of the test kernel that runs all its tests may run.
const KERNEL_SUITE_TIME_LIMIT: Duration = Duration::from_secs(600);
/// How long one boot of the test kernel for one test may run.
const KERNEL_TEST_TIME_LIMIT: Duration = Duration::from_secs(180);

const USAGE: &str = "usage: ./run-qemu.sh grade [LAB] [--reference] [--below-half]
  LAB            one lab (default: all)
  --reference    grade the project's own code instead of labs/ (must be full marks)
  --below-half   succeed only if every lab scores below half (untouched skeletons)";

struct Options {
    lab: Option<&'static Lab>,
    reference: bool,
    below_half: bool,
}

fn parse(arguments: &[String]) -> Result<Options, String> {
    let mut options = Options {
        lab: None,
        reference: false,
        below_half: false,
    };
    for argument in arguments {
        match argument.as_str() {
            "--reference" => options.reference = true,
            "--below-half" => options.below_half = true,
            "-h" | "--help" => return Err(String::new()),
            name if !name.starts_with('-') && options.lab.is_none() => {
                options.lab = Some(labs::find(name).ok_or_else(|| {
                    let names: Vec<_> = LABS.iter().map(|lab| lab.name).collect();
                    format!("no lab named {name:?}; the labs: {}", names.join(", "))
                })?);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&arguments) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("grade: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let workspace = workspace_root();
    let chosen: Vec<&Lab> = match options.lab {
        Some(lab) => vec![lab],
        None => LABS.iter().collect(),
    };
    let code = if options.reference {
        "the project's own code"
    } else {
        "labs/"
    };
    println!("grading {} lab(s) on {code}", chosen.len());
    let mut total = 0;
    let mut total_max = 0;
    let mut all_full = true;
    let mut all_below_half = true;
    let mut all_built = true;
    for lab in chosen {
        let (score, built) = grade(&workspace, lab, options.reference);
        all_built &= built;
        let max = lab.max_points();
        println!("Score: {score}/{max}  ({})\n", lab.name);
        total += score;
        total_max += max;
        all_full &= score == max;
        all_below_half &= 2 * score < max;
    }
    println!("Total: {total}/{total_max}");
    let success = if options.below_half {
        if !all_below_half {
            println!("grade: some lab scored half or more (--below-half)");
        }
        if !all_built {
            println!("grade: some lab did not build (--below-half needs skeletons that compile)");
        }
        all_below_half && all_built
    } else {
        all_full
    };
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Grade one lab; returns its points and whether everything built.
fn grade(workspace: &Path, lab: &Lab, reference: bool) -> (u32, bool) {
    let mut built = true;
    println!("{}: {}", lab.name, lab.summary);
    let mut score = 0;
    for part in lab.parts {
        let feature = (!reference).then_some(part.feature);
        let targets: Vec<_> = part.targets.iter().map(|(target, _)| *target).collect();
        let executables = match runner::build(workspace, part.package, feature, &targets) {
            Ok(executables) => executables,
            Err(message) => {
                built = false;
                println!("  build of {} failed; its tests score 0:", part.package);
                for line in message.lines() {
                    println!("    | {line}");
                }
                for (_, tests) in part.targets {
                    for (name, points) in *tests {
                        print_line(name, "NO BUILD", 0, *points);
                    }
                }
                continue;
            }
        };
        for (target, tests) in part.targets {
            let executable = &executables[target];
            // Kernel tests: one boot for all, then a boot of its own for each
            // test that run did not reach (a hang or a crash stopped it).
            let suite = match target {
                Target::Kernel => {
                    runner::run_kernel_suite(workspace, executable, KERNEL_SUITE_TIME_LIMIT)
                }
                _ => String::new(),
            };
            for (name, points) in *tests {
                let outcome = match target {
                    Target::Kernel => runner::suite_outcome(name, &suite).unwrap_or_else(|| {
                        runner::run(workspace, *target, executable, name, KERNEL_TEST_TIME_LIMIT)
                    }),
                    _ => runner::run(workspace, *target, executable, name, TEST_TIME_LIMIT),
                };
                let (verdict, got) = match &outcome {
                    Outcome::Passed => ("OK", *points),
                    Outcome::Failed(_) => ("FAIL", 0),
                    Outcome::TimedOut(_) => ("TIMEOUT", 0),
                    Outcome::Missing(_) => ("MISSING", 0),
                };
                print_line(name, verdict, got, *points);
                match outcome {
                    Outcome::Failed(output) => {
                        for line in output.lines().filter(|line| !line.trim().is_empty()) {
                            println!("      | {line}");
                        }
                    }
                    Outcome::TimedOut(limit) => {
                        println!("      | killed after {} s", limit.as_secs());
                    }
                    Outcome::Missing(why) => println!("      | {why}"),
                    Outcome::Passed => {}
                }
                score += got;
            }
        }
    }
    (score, built)
}

fn print_line(name: &str, verdict: &str, got: u32, points: u32) {
    let dots = ".".repeat(70usize.saturating_sub(name.len()).max(2));
    println!("  {name} {dots} {verdict:<8} {got}/{points}");
}

/// The workspace: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grade sits inside the workspace")
        .to_path_buf()
}
