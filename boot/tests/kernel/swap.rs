//! The compressed-swap workload in QEMU (`./run-qemu.sh swap`) on a small
//! slice of the project corpus at budgets of 100%, 50% and 25%: every phase
//! reports, verify passes, and each scan pass's checksum equals the one the
//! host computes on a plain copy (`swap_workload::reference`).

use boot::image::DiskImage;
use boot::qemu::{self, Ending, Machine};
use boot::{corpus, Firmware, Kernel};
use std::io::Read;

/// Pages of the project corpus the checks run on: enough for every page
/// kind of real memory, few enough to be quick.
const PAGES: usize = 384;

/// The first `PAGES` pages of the project corpus.
fn small_corpus() -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(corpus::default_corpus()).map_err(|error| error.to_string())?;
    let mut bytes = vec![0; PAGES * 4096];
    flate2::read::GzDecoder::new(file)
        .read_exact(&mut bytes)
        .map_err(|error| format!("the project corpus: {error}"))?;
    Ok(bytes)
}

/// The value of `"field":` in a report line (a number, a string or null).
fn field<'l>(line: &'l str, name: &str) -> Option<&'l str> {
    let (_, rest) = line.split_once(&format!("\"{name}\":"))?;
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim_matches('"'))
}

/// Run the swap workload at `resident` and compare with the host's figures.
pub fn at_budget(resident: &str) -> Result<(), String> {
    let bytes = small_corpus()?;
    let reference = swap_workload::reference(&bytes);
    let path = std::env::temp_dir().join(format!(
        "zsmalloc-os-swap-{}-{}.pages",
        std::process::id(),
        resident.trim_end_matches('%')
    ));
    std::fs::write(&path, &bytes).map_err(|error| error.to_string())?;
    let result = (|| {
        let image = DiskImage::create(Kernel::Demo, Firmware::Bios, Some(&path))
            .map_err(|error| format!("{error:#}"))?;
        let mut machine = Machine::new(Firmware::Bios);
        machine.options = vec!["swap".into(), format!("resident={resident}")];
        machine.timeout = Some(super::suite_timeout());
        machine.echo = false;
        let outcome = qemu::run(&machine, &image).map_err(|error| format!("{error:#}"))?;
        let reports: Vec<&str> = outcome
            .output
            .lines()
            .filter(|line| line.starts_with("SWAP-REPORT {"))
            .collect();
        let phase = |name: &str| {
            reports
                .iter()
                .copied()
                .find(|line| field(line, "phase") == Some(name))
        };
        let checksum = |pass: usize| {
            phase(&format!("scan{}", pass + 1))
                .and_then(|line| field(line, "checksum"))
                .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        };
        let limit =
            (PAGES * resident.trim_end_matches('%').parse::<usize>().unwrap()).div_ceil(100);
        let swap_ins: u64 = reports
            .iter()
            .filter_map(|line| field(line, "swap_ins")?.parse::<u64>().ok())
            .sum();
        let expectations = [
            (
                outcome.ending == Ending::Success,
                "the run should end in success",
            ),
            (reports.len() == 5, "five SWAP-REPORT lines"),
            (
                (0..3).all(|pass| checksum(pass) == Some(reference.checksums[pass])),
                "the host's checksum for every scan pass",
            ),
            (
                phase("verify").and_then(|line| field(line, "verified")) == Some("true"),
                "verified: true",
            ),
            (
                reports.iter().all(|line| {
                    field(line, "resident_max")
                        .and_then(|max| max.parse::<usize>().ok())
                        .is_some_and(|max| max <= limit)
                }),
                "never more resident than the budget",
            ),
            (
                if limit == PAGES {
                    swap_ins == 0
                } else {
                    swap_ins > 0
                },
                "swap-ins exactly when the budget is below the region",
            ),
        ];
        super::check_all(&expectations, &outcome)
    })();
    let _ = std::fs::remove_file(&path);
    result
}
