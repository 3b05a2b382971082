//! `cargo run --release -p bench -- [--corpus FILE] [--json-only]`
//!
//! The host half of the benchmark: parts 1 (efficiency), 2 (churn)
//! and 4 (speed, on this machine) on the pages of a corpus file, printed as
//! tables and as one `BENCH-RESULT {...}` JSON line per result.
//!
//! ```text
//!   corpus file (.gz or raw) ──► Workload ──► for each allocator of the lineup:
//!                                              efficiency, churn, speed
//! ```
//!
//! zsmalloc pools take their pages from `HeapBackend` (plain heap blocks).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bench::churn::{measure_churn, ChurnResult};
use bench::corpus::{check_whole_pages, Workload};
use bench::efficiency::{measure_efficiency, EfficiencyResult};
use bench::fill::ExperimentError;
use bench::lineup::{design_variants, lineup, zsmalloc_configurations, Contender};
use bench::report::{self, JsonLine};
use bench::speed::{measure_allocator, measure_mapping, measure_store, Clock, Timing};
use bench::zsmalloc_allocator::ZsmallocAllocator;
use zsmalloc::testing::HeapBackend;
use zsmalloc::Pool;

const USAGE: &str = "usage: bench [--corpus FILE] [--json-only]
  --corpus FILE  a file of whole 4096-byte pages, raw or .gz
                 (default: the project's corpus/mixed-anon-4200.pages.gz)
  --json-only    print only the BENCH-RESULT lines";

/// The command line.
struct Options {
    corpus: PathBuf,
    json_only: bool,
}

fn default_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/mixed-anon-4200.pages.gz")
}

fn parse_options(mut arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        corpus: default_corpus(),
        json_only: false,
    };
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--corpus" => {
                let file = arguments.next().ok_or("--corpus needs a file name")?;
                options.corpus = PathBuf::from(file);
            }
            "--json-only" => options.json_only = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(options)
}

/// The bytes of a corpus file (decompressed if it ends in `.gz`), checked
/// to be a whole number of pages.
fn read_corpus(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|error| format!("cannot open corpus {}: {error}", path.display()))?;
    let mut bytes = Vec::new();
    let gzipped = path.extension().is_some_and(|extension| extension == "gz");
    let result = if gzipped {
        flate2::read::GzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        std::io::BufReader::new(file).read_to_end(&mut bytes)
    };
    result.map_err(|error| format!("cannot read corpus {}: {error}", path.display()))?;
    check_whole_pages(bytes.len()).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(bytes)
}

/// CPU model and core count, from /proc/cpuinfo and the scheduler.
fn machine() -> (String, usize) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, model)| model.trim())
        })
        .unwrap_or("unknown CPU");
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    (model.to_string(), cores)
}

/// The host clock for the speed part.
struct HostClock(Instant);

impl Clock for HostClock {
    fn now_ns(&mut self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Everything measured, in print order.
struct Results {
    efficiency: Vec<EfficiencyResult>,
    churn: Vec<ChurnResult>,
    speed: Vec<Timing>,
    /// Parts 1 and 2 for `design_variants()`: what each choice buys.
    variants_efficiency: Vec<EfficiencyResult>,
    variants_churn: Vec<ChurnResult>,
}

fn run_parts(
    file: &[u8],
    workload: &Workload,
    contenders: &[Contender],
) -> Result<Results, ExperimentError> {
    let mut efficiency = Vec::new();
    let mut churn = Vec::new();
    for contender in contenders {
        efficiency.push(measure_efficiency(&mut *(contender.build)(), workload)?);
        churn.push(measure_churn(&mut *(contender.build)(), workload)?);
    }
    let speed = run_speed(file, workload, contenders)?;
    let mut variants_efficiency = Vec::new();
    let mut variants_churn = Vec::new();
    for (name, config) in design_variants() {
        let build = || ZsmallocAllocator::new(name, HeapBackend::new(), config).expect("valid");
        variants_efficiency.push(measure_efficiency(&mut build(), workload)?);
        variants_churn.push(measure_churn(&mut build(), workload)?);
    }
    Ok(Results {
        efficiency,
        churn,
        speed,
        variants_efficiency,
        variants_churn,
    })
}

/// Part 4 on the host: the store per zsmalloc configuration, the
/// allocator operations per allocator, map windows per zsmalloc configuration.
fn run_speed(
    file: &[u8],
    workload: &Workload,
    contenders: &[Contender],
) -> Result<Vec<Timing>, ExperimentError> {
    let mut clock = HostClock(Instant::now());
    let mut timings = Vec::new();
    for (name, config) in zsmalloc_configurations() {
        let new_pool = || Pool::with_config(name, HeapBackend::new(), config).expect("valid");
        timings.extend(measure_store(&mut clock, file, workload, name, &new_pool));
    }
    for contender in contenders {
        timings.extend(measure_allocator(&mut clock, contender, workload)?);
    }
    for (name, config) in zsmalloc_configurations() {
        let allocator = ZsmallocAllocator::new(name, HeapBackend::new(), config).expect("valid");
        timings.extend(measure_mapping(&mut clock, allocator, workload)?);
    }
    Ok(timings)
}

fn print_tables(workload: &Workload, results: &Results) {
    println!("{}\n", report::corpus_summary(workload));
    println!(
        "Part 1: memory efficiency, all objects live (efficiency = stored bytes / used bytes)"
    );
    println!("{}", report::efficiency_table(&results.efficiency));
    println!("Part 2: churn: free a pseudo-random half, write as many other pages, compact");
    println!("{}", report::churn_table(&results.churn));
    println!(
        "Part 4 (host): median ns per operation over {} runs",
        bench::speed::RUNS
    );
    println!("{}", report::speed_table(&results.speed));
    println!("Design choices: parts 1 and 2 for variants that each change one thing");
    println!("{}", report::efficiency_table(&results.variants_efficiency));
    println!("{}", report::churn_table(&results.variants_churn));
}

fn json_lines(workload: &Workload, results: &Results) -> Vec<JsonLine> {
    let mut lines = vec![report::corpus_json(workload)];
    lines.extend(results.efficiency.iter().map(report::efficiency_json));
    lines.extend(results.churn.iter().map(report::churn_json));
    lines.extend(
        results
            .variants_efficiency
            .iter()
            .map(report::efficiency_json),
    );
    lines.extend(results.variants_churn.iter().map(report::churn_json));
    lines.extend(
        results
            .speed
            .iter()
            .map(|row| report::speed_json(row, "host")),
    );
    lines
}

fn run(options: &Options) -> Result<(), String> {
    let (cpu, cores) = machine();
    let machine_line = JsonLine::new("machine")
        .text("where", "host")
        .text("cpu", &cpu)
        .integer("cores", cores);
    if !options.json_only {
        println!(
            "machine: {cpu}, {cores} cores; corpus {}",
            options.corpus.display()
        );
    }
    println!("{}", machine_line.line());
    let file = read_corpus(&options.corpus)?;
    let workload = Workload::from_pages(&file).map_err(|error| error.to_string())?;
    let contenders = lineup(HeapBackend::new);
    let results = run_parts(&file, &workload, &contenders).map_err(|error| error.to_string())?;
    if !options.json_only {
        print_tables(&workload, &results);
    }
    for line in json_lines(&workload, &results) {
        println!("{}", line.line());
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("bench: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temporary(name: &str, bytes: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("bench-test-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_file_that_is_not_whole_pages_is_refused_with_its_name() {
        let path = temporary("odd.pages", &[1; 4096 + 10]);
        let error = read_corpus(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(error.contains("odd.pages"), "{error}");
        assert!(
            error.contains("4106 bytes, not a whole number of 4096-byte pages"),
            "{error}"
        );
    }

    #[test]
    fn a_gzipped_corpus_is_decompressed() {
        let pages: Vec<u8> = (0..2 * 4096).map(|index| (index % 251) as u8).collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&pages).unwrap();
        let path = temporary("two.pages.gz", &encoder.finish().unwrap());
        let bytes = read_corpus(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.unwrap(), pages);
        assert!(read_corpus(Path::new("/nonexistent/corpus"))
            .unwrap_err()
            .contains("cannot open"));
    }

    #[test]
    fn options_are_parsed_and_unknown_ones_refused() {
        let arguments = ["--corpus", "x.pages", "--json-only"].map(String::from);
        let options = parse_options(arguments.into_iter()).unwrap();
        assert_eq!(options.corpus, PathBuf::from("x.pages"));
        assert!(options.json_only);
        assert!(parse_options(["--fast".to_string()].into_iter()).is_err());
        assert!(parse_options(["--corpus".to_string()].into_iter()).is_err());
        assert_eq!(
            parse_options(std::iter::empty()).unwrap().corpus,
            default_corpus()
        );
    }
}
