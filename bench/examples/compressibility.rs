//! `cargo run --release -p bench --example compressibility [-- FILE]`
//!
//! What LZ4 makes of a file of pages (default: the project's corpus): how
//! many pages are same-filled, how small the others get, and how the
//! compressed sizes spread over the page — the sizes zsmalloc must store.
//!
//! ```text
//!   page ──► one repeated word? ──► same-filled (no object)
//!        └─► LZ4 ──► n bytes ──► bucket n / 512 of the histogram
//!                          └──► n ≥ huge threshold: stored as the raw page
//! ```

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use bench::corpus::{check_whole_pages, linux_huge_threshold};
use bench::PAGE_SIZE;
use zram::compression::Compressor;
use zram::same_filled::same_filled_word;

/// Width of one histogram bucket, in bytes.
const BUCKET: usize = 512;
/// Characters of the longest bar.
const BAR: usize = 50;

fn read_pages(path: &PathBuf) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|extension| extension == "gz") {
        flate2::read::GzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        std::io::BufReader::new(file).read_to_end(&mut bytes)
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    check_whole_pages(bytes.len()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/mixed-anon-4200.pages.gz")
        });
    let bytes = match read_pages(&path) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("compressibility: {message}");
            return ExitCode::FAILURE;
        }
    };
    let threshold = linux_huge_threshold();
    let mut compressor = Compressor::new();
    let mut histogram = [0usize; PAGE_SIZE / BUCKET + 1];
    let (mut same_filled, mut huge, mut compressed_bytes, mut stored_bytes) = (0, 0, 0, 0);
    let (pages, _) = bytes.as_chunks::<PAGE_SIZE>();
    for page in pages {
        if same_filled_word(page).is_some() {
            same_filled += 1;
            continue;
        }
        let size = compressor.compress(page).len();
        histogram[size / BUCKET] += 1;
        compressed_bytes += size;
        if size >= threshold {
            huge += 1;
            stored_bytes += PAGE_SIZE;
        } else {
            stored_bytes += size;
        }
    }
    let compressed_pages = pages.len() - same_filled;
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    println!(
        "corpus: {name} ({} pages, {} bytes)",
        pages.len(),
        bytes.len()
    );
    println!("same-filled pages: {same_filled} (stored as one word each, no object)");
    println!(
        "LZ4 on the other {compressed_pages}: {compressed_bytes} bytes, mean {} bytes per page, ratio {:.2}",
        compressed_bytes / compressed_pages.max(1),
        (compressed_pages * PAGE_SIZE) as f64 / compressed_bytes.max(1) as f64
    );
    println!(
        "huge (compressed to ≥ {threshold} bytes, stored raw): {huge}; bytes to store: {stored_bytes}"
    );
    println!("compressed size   pages");
    let most = histogram.iter().copied().max().unwrap_or(0).max(1);
    for (bucket, &count) in histogram.iter().enumerate() {
        let low = bucket * BUCKET;
        let bar = "#".repeat((count * BAR).div_ceil(most));
        println!("{low:>5}..{:<5}  {count:>6}  {bar}", low + BUCKET);
    }
    ExitCode::SUCCESS
}
