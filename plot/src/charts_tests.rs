use super::*;
use crate::records::parse_log;

fn runs(logs: &[(&str, &str)]) -> Vec<Run> {
    logs.iter()
        .flat_map(|(name, text)| parse_log(name, text).unwrap())
        .collect()
}

fn svg_of<'a>(figures: &'a [Figure], file: &str) -> &'a str {
    &figures
        .iter()
        .find(|figure| figure.file == file)
        .unwrap_or_else(|| panic!("no {file} among {:?}", names(figures)))
        .svg
}

fn names(figures: &[Figure]) -> Vec<&str> {
    figures.iter().map(|figure| figure.file.as_str()).collect()
}

#[test]
fn efficiency_has_a_bar_per_run_and_phase_with_its_value() {
    let runs = runs(&[
        ("a", "ZRAM-REPORT {\"phase\":\"fill\",\"compr_data_size\":900,\"mem_used_total\":1000}"),
        ("b", "ZRAM-REPORT {\"phase\":\"fill\",\"compr_data_size\":500,\"mem_used_total\":1000,\"new\":1}"),
    ]);
    let figures = demo_efficiency(&runs).unwrap();
    let svg = svg_of(&figures, "efficiency.svg");
    for text in [">\na\n<", ">\nb\n<", "0.900", "0.500", "fill"] {
        assert!(svg.contains(text), "{text:?} missing");
    }
    roxmltree::Document::parse(svg).unwrap();
}

#[test]
fn a_metadata_field_adds_a_series() {
    let runs = runs(&[(
        "a",
        "ZRAM-REPORT {\"phase\":\"fill\",\"compr_data_size\":900,\"mem_used_total\":1000,\"efficiency_with_metadata\":0.85}",
    )]);
    let svg = &demo_efficiency(&runs).unwrap()[0].svg;
    assert!(svg.contains("a with metadata") && svg.contains("0.850"));
}

#[test]
fn charts_without_their_data_are_skipped_with_the_reason() {
    let runs = runs(&[("swap", "SWAP-REPORT {\"pages\":3}")]);
    let reason = demo_efficiency(&runs).unwrap_err();
    assert!(reason.contains("no ZRAM-REPORT line has phase"), "{reason}");
    let reason = classes(&runs).unwrap_err();
    assert!(reason.contains("no class table"), "{reason}");
    let reason = bench_speed(&runs).unwrap_err();
    assert!(
        reason.contains("no BENCH-RESULT line has part \"speed\""),
        "{reason}"
    );
    let reason = bench_churn(&runs).unwrap_err();
    assert!(reason.contains("part \"churn\""), "{reason}");
}

#[test]
fn each_benchmark_table_gets_its_own_figures() {
    let log = "\
BENCH-RESULT {\"part\":\"efficiency\",\"allocator\":\"x\",\"efficiency\":0.9,\"efficiency_with_metadata\":0.8}
BENCH-RESULT {\"part\":\"churn\",\"allocator\":\"x\",\"efficiency_after_fill\":0.9,\"pages_after_fill\":10}
BENCH-RESULT {\"part\":\"efficiency\",\"allocator\":\"y\",\"efficiency\":0.7}
";
    let runs = runs(&[("bench", log)]);
    let figures = bench_efficiency(&runs).unwrap();
    assert_eq!(
        names(&figures),
        ["bench-efficiency.svg", "bench-efficiency-2.svg"]
    );
    assert!(figures[0].svg.contains("0.800") && !figures[0].svg.contains(">\ny\n<"));
    assert!(figures[1].svg.contains("0.700"));
    let figures = bench_churn(&runs).unwrap();
    assert_eq!(
        names(&figures),
        ["bench-churn.svg", "bench-churn-pool-pages.svg"]
    );
}

#[test]
fn names_with_markup_characters_stay_valid_svg() {
    let runs = runs(&[(
        "<a & b>",
        "ZRAM-REPORT {\"phase\":\"\\\"fill\\\" <1>\",\"compr_data_size\":1,\"mem_used_total\":2}",
    )]);
    for chart in CHARTS {
        if let Ok(figures) = (chart.make)(&runs) {
            for figure in figures {
                roxmltree::Document::parse(&figure.svg)
                    .unwrap_or_else(|error| panic!("{}: {error}", figure.file));
            }
        }
    }
    assert_eq!(file_name("linux 4/x"), "linux-4-x");
}
