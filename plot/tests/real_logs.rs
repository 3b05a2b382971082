//! The plot command on real logs (`tests/logs/`: the demo under each zsmalloc
//! configuration and `./run-qemu.sh bench`, trimmed to the report lines, the
//! configuration line and the class table). The expected labels are computed
//! here from the logs' own numbers. `demo-packed.log` has the report's
//! metadata fields (`metadata_bytes`, `efficiency_with_metadata`, ...); the
//! older logs, without them, must still give every chart.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO_LOGS: [&str; 4] = [
    "demo-efficient.log",
    "demo-linux4.log",
    "demo-linux8.log",
    "demo-packed.log",
];

fn log(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/logs")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("zsmalloc-os-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// The JSON objects of the lines starting with `prefix`.
fn records(file: &str, prefix: &str) -> Vec<Value> {
    std::fs::read_to_string(log(file))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect()
}

/// The configuration named in a demo log.
fn configuration(file: &str) -> String {
    let text = std::fs::read_to_string(log(file)).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("zsmalloc configuration: "))
        .unwrap();
    let (_, rest) = line.split_once("zsmalloc configuration: ").unwrap();
    rest.split_whitespace().next().unwrap().to_string()
}

/// The file's SVG, checked to be well-formed with an `<svg>` root.
fn svg(directory: &Path, file: &str) -> String {
    let path = directory.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let document =
        roxmltree::Document::parse(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
    assert_eq!(document.root_element().tag_name().name(), "svg", "{file}");
    text
}

fn assert_labels(svg: &str, file: &str, labels: &[String]) {
    for label in labels {
        assert!(
            svg.contains(&format!(">\n{label}\n<")),
            "{file}: no label {label:?}"
        );
    }
}

#[test]
fn demo_and_bench_logs_give_every_chart() {
    let directory = scratch("all");
    let mut logs: Vec<PathBuf> = DEMO_LOGS.iter().map(|name| log(name)).collect();
    logs.push(log("bench.log"));
    let summary = plot::plot(&logs, &directory).unwrap();
    assert!(summary.skipped.is_empty(), "skipped: {:?}", summary.skipped);

    // Efficiency and pool pages: a series per configuration, a label per phase.
    let efficiency = svg(&directory, "efficiency.svg");
    let pool_pages = svg(&directory, "pool-pages.svg");
    for file in DEMO_LOGS {
        let reports = records(file, "ZRAM-REPORT ");
        assert_eq!(reports.len(), 3, "{file}");
        let mut labels = vec![configuration(file)];
        let mut pages = vec![configuration(file)];
        for report in &reports {
            let compressed = report["compr_data_size"].as_f64().unwrap();
            let used = report["mem_used_total"].as_f64().unwrap();
            labels.push(format!("{:.3}", compressed / used));
            labels.push(report["phase"].as_str().unwrap().to_string());
            pages.push(format!("{:.0}", used / 4096.0));
        }
        assert_labels(&efficiency, "efficiency.svg", &labels);
        assert_labels(&pool_pages, "pool-pages.svg", &pages);
        // A log with the metadata fields adds a series "NAME with metadata".
        let with_metadata: Vec<f64> = reports
            .iter()
            .filter_map(|report| report.get("efficiency_with_metadata")?.as_f64())
            .collect();
        if !with_metadata.is_empty() {
            assert_eq!(with_metadata.len(), 3, "{file}");
            let mut labels = vec![format!("{} with metadata", configuration(file))];
            labels.extend(with_metadata.iter().map(|value| format!("{value:.3}")));
            assert_labels(&efficiency, "efficiency.svg", &labels);
        }
    }
    assert!(
        records("demo-packed.log", "ZRAM-REPORT ")
            .iter()
            .all(|report| report["metadata_bytes"].as_u64() > Some(0)),
        "the packed log has the metadata fields"
    );

    // The class tables: Linux's layouts print one, one bar per class and series.
    for configuration in ["linux4", "linux8"] {
        let file = format!("classes-{configuration}.svg");
        let classes = svg(&directory, &file);
        let text = std::fs::read_to_string(log(&format!("demo-{configuration}.log"))).unwrap();
        let rows = text
            .lines()
            .skip_while(|line| !line.starts_with("class "))
            .skip(1)
            .take_while(|line| {
                line.split_whitespace()
                    .all(|word| word.parse::<u64>().is_ok())
            })
            .count();
        assert!(rows > 10, "{configuration}: {rows} classes");
        // Objects are drawn in the first colour: a bar per class, plus the legend's box.
        let bars = classes.matches("fill=\"#1F77B4\"").count();
        assert_eq!(bars, rows + 1, "{file}");
    }
    assert!(
        !directory.join("classes-efficient.svg").exists(),
        "the packed layout prints no class table"
    );

    // Benchmark part 1: each allocator and its two efficiencies.
    let efficiency = svg(&directory, "bench-efficiency.svg");
    let design = svg(&directory, "bench-efficiency-2.svg");
    let lines = records("bench.log", "BENCH-RESULT ");
    let part = |name: &'static str| lines.iter().filter(move |line| line["part"] == name);
    let first_block: Vec<&Value> = part("efficiency")
        .take_while(|line| line["allocator"] != "linux chain 4")
        .collect();
    assert!(first_block.len() >= 5);
    for line in &first_block {
        let labels = [
            line["allocator"].as_str().unwrap().to_string(),
            format!("{:.3}", line["efficiency"].as_f64().unwrap()),
            format!("{:.3}", line["efficiency_with_metadata"].as_f64().unwrap()),
        ];
        assert_labels(&efficiency, "bench-efficiency.svg", &labels);
    }
    assert_labels(
        &design,
        "bench-efficiency-2.svg",
        &["linux chain 4".to_string()],
    );

    // Part 2 and part 4: every allocator or subject is a series.
    let churn = svg(&directory, "bench-churn.svg");
    svg(&directory, "bench-churn-pool-pages.svg");
    for line in part("churn").take(first_block.len()) {
        let labels = [
            line["allocator"].as_str().unwrap().to_string(),
            format!(
                "{:.3}",
                line["efficiency_after_compaction"].as_f64().unwrap()
            ),
        ];
        assert_labels(&churn, "bench-churn.svg", &labels);
    }
    for place in ["host", "qemu"] {
        let file = format!("bench-speed-{place}.svg");
        let speed = svg(&directory, &file);
        for line in part("speed").filter(|line| line["where"] == place) {
            let labels = [
                line["subject"].as_str().unwrap().to_string(),
                line["operation"].as_str().unwrap().to_string(),
            ];
            assert_labels(&speed, &file, &labels);
        }
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_log_without_class_tables_skips_that_chart_and_says_why() {
    let directory = scratch("skip");
    let summary = plot::plot(&[log("demo-efficient.log")], &directory).unwrap();
    let skipped: Vec<&str> = summary.skipped.iter().map(|(name, _)| *name).collect();
    assert!(skipped.contains(&"objects per size class"), "{skipped:?}");
    assert!(skipped.contains(&"benchmark speed"), "{skipped:?}");
    assert!(directory.join("efficiency.svg").exists());
    std::fs::remove_dir_all(&directory).unwrap();
}

fn run_plot(arguments: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_plot"))
        .args(arguments)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_input_gets_a_clear_error() {
    let directory = scratch("bad");
    std::fs::create_dir_all(&directory).unwrap();
    let output = directory.join("out");
    let output = output.to_str().unwrap();

    let (code, error) = run_plot(&["/nonexistent/run.log", "-o", output]);
    assert_eq!(code, Some(1));
    assert!(
        error.contains("cannot read /nonexistent/run.log"),
        "{error}"
    );

    let empty = directory.join("boot-only.log");
    std::fs::write(&empty, "[INFO ] timer tick 1 (100 Hz)\n").unwrap();
    let (code, error) = run_plot(&[empty.to_str().unwrap(), "-o", output]);
    assert_eq!(code, Some(1));
    assert!(
        error.contains("boot-only.log has no report lines"),
        "{error}"
    );

    let malformed = directory.join("cut.log");
    std::fs::write(
        &malformed,
        "ZRAM-REPORT {\"phase\":\"fill\"}\nZRAM-REPORT {\"phase\":\"chu\n",
    )
    .unwrap();
    let (code, error) = run_plot(&[malformed.to_str().unwrap(), "-o", output]);
    assert_eq!(code, Some(1));
    assert!(
        error.contains("cut.log:2: malformed ZRAM-REPORT line"),
        "{error}"
    );

    let (code, error) = run_plot(&[]);
    assert_eq!(code, Some(2));
    assert!(error.contains("no log file given"), "{error}");
    let (code, error) = run_plot(&["--colour"]);
    assert_eq!(code, Some(2));
    assert!(error.contains("unknown option '--colour'"), "{error}");
    assert!(!Path::new(output).exists(), "nothing written on error");
    std::fs::remove_dir_all(&directory).unwrap();
}
