//! The charts: each is one function from the runs to SVG figures, listed in
//! [`CHARTS`]. A chart whose data no log holds is skipped with the reason.
//!
//! ```text
//!   runs ──► demo_efficiency ──► efficiency.svg          (ZRAM-REPORT)
//!        ──► demo_pool_pages ──► pool-pages.svg          (ZRAM-REPORT)
//!        ──► classes         ──► classes-RUN.svg         (class table)
//!        ──► bench_efficiency ─► bench-efficiency.svg    (BENCH-RESULT part efficiency)
//!        ──► bench_churn     ──► bench-churn.svg, bench-pool-pages.svg   (part churn)
//!        ──► bench_speed     ──► bench-speed-host.svg, bench-speed-qemu.svg (part speed)
//! ```
//!
//! To add a chart: write `fn name(runs: &[Run]) -> Result<Vec<Figure>, String>`
//! that fills a [`Table`] from the fields it needs (a missing field simply
//! leaves a gap) and returns `Err(reason)` when no log has its data, then add
//! one line to [`CHARTS`].

use crate::draw::{render, Style, Table};
use crate::records::{Record, Run};

/// One SVG file to write.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File name, e.g. `efficiency.svg`.
    pub file: String,
    pub svg: String,
}

/// A chart: its name (for messages) and the function that draws it.
pub struct Chart {
    pub name: &'static str,
    pub make: fn(&[Run]) -> Result<Vec<Figure>, String>,
}

/// Every chart, in the order they are drawn.
pub const CHARTS: &[Chart] = &[
    Chart {
        name: "efficiency by phase",
        make: demo_efficiency,
    },
    Chart {
        name: "pool pages by phase",
        make: demo_pool_pages,
    },
    Chart {
        name: "objects per size class",
        make: classes,
    },
    Chart {
        name: "benchmark efficiency",
        make: bench_efficiency,
    },
    Chart {
        name: "benchmark churn",
        make: bench_churn,
    },
    Chart {
        name: "benchmark speed",
        make: bench_speed,
    },
];

const DEMO: &str = "ZRAM-REPORT";
const BENCH: &str = "BENCH-RESULT";

fn three_decimals(value: f64) -> String {
    format!("{value:.3}")
}

fn whole(value: f64) -> String {
    format!("{value:.0}")
}

fn figure(file: String, table: &Table, style: Style) -> Result<Figure, String> {
    Ok(Figure {
        file,
        svg: render(table, style)?,
    })
}

/// The demo's allocator efficiency (compressed bytes / pool bytes) per phase,
/// one bar per run (configuration) side by side.
fn demo_efficiency(runs: &[Run]) -> Result<Vec<Figure>, String> {
    let mut table = Table::new(
        "Allocator efficiency by phase (compressed bytes / pool memory)",
        "efficiency (1.0 = no waste)",
        three_decimals,
    );
    for run in runs {
        for record in run.records(DEMO) {
            let (Some(phase), Some(compressed), Some(used)) = (
                record.text("phase"),
                record.number("compr_data_size"),
                record.number("mem_used_total"),
            ) else {
                continue;
            };
            if used > 0.0 {
                table.set(&run.name, phase, compressed / used);
            }
            if let Some(value) = record.number("efficiency_with_metadata") {
                table.set(&format!("{} with metadata", run.name), phase, value);
            }
        }
    }
    if table.is_empty() {
        return Err(missing(DEMO, "phase, compr_data_size and mem_used_total"));
    }
    Ok(vec![figure("efficiency.svg".into(), &table, Style::Bars)?])
}

/// The pool's size in pages (mem_used_total / 4096) over the phases.
fn demo_pool_pages(runs: &[Run]) -> Result<Vec<Figure>, String> {
    let mut table = Table::new("Pool pages by phase", "pool pages (4 KiB)", whole);
    for run in runs {
        for record in run.records(DEMO) {
            if let (Some(phase), Some(used)) =
                (record.text("phase"), record.number("mem_used_total"))
            {
                table.set(&run.name, phase, used / 4096.0);
            }
        }
    }
    if table.is_empty() {
        return Err(missing(DEMO, "phase and mem_used_total"));
    }
    Ok(vec![figure("pool-pages.svg".into(), &table, Style::Lines)?])
}

/// Objects and pages per size class, from the class table a run printed.
fn classes(runs: &[Run]) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    for run in runs.iter().filter(|run| !run.classes.is_empty()) {
        let mut table = Table::new(
            &format!("{}: objects and pages per size class", run.name),
            "count",
            whole,
        );
        for row in &run.classes {
            let size = row.size.to_string();
            table.set("objects (obj_used)", &size, row.objects as f64);
            table.set("pages (pages_used)", &size, row.pages as f64);
        }
        table.x_label = Some("size class (bytes)".into());
        figures.push(figure(
            format!("classes-{}.svg", file_name(&run.name)),
            &table,
            Style::Bars,
        )?);
    }
    if figures.is_empty() {
        return Err(
            "no class table (a header naming size, obj_used and pages_used) in the logs; \
                    the demo prints one with its last phase for Linux's layout only"
                .into(),
        );
    }
    Ok(figures)
}

/// Part 1 of the benchmark: efficiency with and without metadata, per allocator.
fn bench_efficiency(runs: &[Run]) -> Result<Vec<Figure>, String> {
    bench_tables(runs, "efficiency", "bench-efficiency", |block| {
        let mut table = Table::new(
            "Memory efficiency, all objects live (stored bytes / used bytes)",
            "efficiency (1.0 = no waste)",
            three_decimals,
        );
        for record in block {
            let allocator = record.text("allocator").unwrap_or("?");
            if let Some(value) = record.number("efficiency") {
                table.set("data pages only", allocator, value);
            }
            if let Some(value) = record.number("efficiency_with_metadata") {
                table.set("with metadata", allocator, value);
            }
        }
        vec![(table, Style::Bars, "")]
    })
}

/// Part 2 of the benchmark: efficiency and pages after fill, churn, compaction.
fn bench_churn(runs: &[Run]) -> Result<Vec<Figure>, String> {
    const STAGES: [(&str, &str, &str); 3] = [
        ("after fill", "efficiency_after_fill", "pages_after_fill"),
        (
            "after churn",
            "efficiency_before_compaction",
            "pages_before_compaction",
        ),
        (
            "compacted",
            "efficiency_after_compaction",
            "pages_after_compaction",
        ),
    ];
    bench_tables(runs, "churn", "bench-churn", |block| {
        let mut efficiency = Table::new(
            "Efficiency through churn and compaction",
            "efficiency (1.0 = no waste)",
            three_decimals,
        );
        let mut pages = Table::new("Data pages through churn and compaction", "pages", whole);
        for record in block {
            let allocator = record.text("allocator").unwrap_or("?");
            for (stage, efficiency_field, pages_field) in STAGES {
                if let Some(value) = record.number(efficiency_field) {
                    efficiency.set(allocator, stage, value);
                }
                if let Some(value) = record.number(pages_field) {
                    pages.set(allocator, stage, value);
                }
            }
        }
        vec![
            (efficiency, Style::Bars, ""),
            (pages, Style::Lines, "pool-pages"),
        ]
    })
}

/// Part 4 of the benchmark: time per operation, on the host and in QEMU.
fn bench_speed(runs: &[Run]) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let several = runs_with(runs, BENCH, "speed") > 1;
    for run in runs {
        for place in ["host", "qemu"] {
            let in_qemu = place == "qemu";
            let mut table = Table::new(
                &format!(
                    "Time per operation, {} (median)",
                    if in_qemu { "in QEMU" } else { "on the host" }
                ),
                if in_qemu {
                    "cycles (log scale)"
                } else {
                    "ns (log scale)"
                },
                whole,
            );
            table.log_scale = true;
            for record in run.records(BENCH).filter(|record| {
                record.text("part") == Some("speed") && record.text("where") == Some(place)
            }) {
                let value = if in_qemu {
                    record.number("cycles_per_op")
                } else {
                    record.number("ns_per_op")
                };
                if let (Some(operation), Some(subject), Some(value)) =
                    (record.text("operation"), record.text("subject"), value)
                {
                    if value > 0.0 {
                        table.set(subject, operation, value);
                    }
                }
            }
            if !table.is_empty() {
                let file = format!("bench-speed-{place}{}.svg", run_suffix(run, several));
                figures.push(figure(file, &table, Style::Bars)?);
            }
        }
    }
    if figures.is_empty() {
        return Err(missing(
            BENCH,
            "part \"speed\" with operation, subject and ns_per_op",
        ));
    }
    Ok(figures)
}

/// The benchmark prints a part as a table of consecutive lines, and some
/// parts twice (the allocators, then the design-choice variants): each
/// block of consecutive `part` lines of a run becomes its own figures,
/// named `PREFIX[-RUN][-N][-SUFFIX].svg`.
fn bench_tables(
    runs: &[Run],
    part: &str,
    prefix: &str,
    tables: impl Fn(&[&Record]) -> Vec<(Table, Style, &'static str)>,
) -> Result<Vec<Figure>, String> {
    let several = runs_with(runs, BENCH, part) > 1;
    let mut figures = Vec::new();
    for run in runs {
        for (number, block) in blocks(run, part).iter().enumerate() {
            for (table, style, suffix) in tables(block) {
                if table.is_empty() {
                    continue;
                }
                let mut file = format!("{prefix}{}", run_suffix(run, several));
                if number > 0 {
                    file.push_str(&format!("-{}", number + 1));
                }
                if !suffix.is_empty() {
                    file.push_str(&format!("-{suffix}"));
                }
                figures.push(figure(format!("{file}.svg"), &table, style)?);
            }
        }
    }
    if figures.is_empty() {
        return Err(missing(BENCH, &format!("part \"{part}\"")));
    }
    Ok(figures)
}

/// The runs of consecutive `BENCH-RESULT` lines of one part.
fn blocks<'a>(run: &'a Run, part: &str) -> Vec<Vec<&'a Record>> {
    let mut blocks: Vec<Vec<&Record>> = Vec::new();
    let mut previous_matched = false;
    for record in run.records(BENCH) {
        let matches = record.text("part") == Some(part);
        if matches {
            if !previous_matched {
                blocks.push(Vec::new());
            }
            blocks.last_mut().expect("just pushed").push(record);
        }
        previous_matched = matches;
    }
    blocks
}

fn runs_with(runs: &[Run], kind: &str, part: &str) -> usize {
    runs.iter()
        .filter(|run| {
            run.records(kind)
                .any(|record| record.text("part") == Some(part))
        })
        .count()
}

fn run_suffix(run: &Run, several: bool) -> String {
    if several {
        format!("-{}", file_name(&run.name))
    } else {
        String::new()
    }
}

/// `name` with only letters, digits, `-` and `_` (others become `-`).
pub fn file_name(name: &str) -> String {
    name.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '_' || character == '-' {
                character
            } else {
                '-'
            }
        })
        .collect()
}

fn missing(kind: &str, what: &str) -> String {
    format!("no {kind} line has {what}")
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;
