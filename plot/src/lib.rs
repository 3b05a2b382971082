//! `./run-qemu.sh plot LOG... [-o DIR]`: SVG charts from the report lines
//! of zsmalloc-os runs (the demo's `ZRAM-REPORT`, the benchmark's
//! `BENCH-RESULT`, and any later `…-REPORT {json}` line).
//!
//! ```text
//!   LOG files ──► records.rs: runs of JSON records (+ class tables)
//!             ──► charts.rs:  one function per chart, each fills a Table
//!             ──► draw.rs:    Table ──► SVG (bars or lines, plotters)
//!             ──► DIR/*.svg   (a chart without data is skipped, with the reason)
//! ```

pub mod charts;
pub mod draw;
pub mod records;

use std::path::{Path, PathBuf};

/// What one `plot` invocation did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Charts not drawn, with the reason.
    pub skipped: Vec<(&'static str, String)>,
}

/// Read `logs`, draw every chart their data allows into `directory`.
pub fn plot(logs: &[PathBuf], directory: &Path) -> Result<Summary, String> {
    if logs.is_empty() {
        return Err("no log file given".into());
    }
    let mut runs = Vec::new();
    for log in logs {
        let parsed = records::read_log(log)?;
        if parsed.iter().all(|run| run.records.is_empty()) {
            return Err(format!(
                "{} has no report lines (ZRAM-REPORT, BENCH-RESULT or another NAME-REPORT {{json}}); \
                 save the output of ./run-qemu.sh or ./run-qemu.sh bench, e.g. ./run-qemu.sh | tee run.log",
                log.display()
            ));
        }
        runs.extend(parsed);
    }
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let mut summary = Summary::default();
    for chart in charts::CHARTS {
        match (chart.make)(&runs) {
            Ok(figures) => {
                for figure in figures {
                    let path = directory.join(&figure.file);
                    std::fs::write(&path, figure.svg)
                        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                    summary.written.push(path);
                }
            }
            Err(reason) => summary.skipped.push((chart.name, reason)),
        }
    }
    Ok(summary)
}
