//! Page corpora: files of whole 4 KiB pages that the demo stores.
//!
//! The file reaches the kernel as the bootloader's ramdisk. A corpus must be
//! a non-empty multiple of 4096 bytes; a `.gz` file is decompressed first
//! (into the system's temporary directory). Without `--corpus` the demo uses
//! the project's copy of 4,200 pages of real anonymous memory
//! (`corpus/mixed-anon-4200.pages.gz`).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// Bytes in one page.
pub const PAGE_SIZE: u64 = 4096;

/// The corpus used when none is named.
pub fn default_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/mixed-anon-4200.pages.gz")
}

/// A corpus ready to be a ramdisk: an uncompressed file of whole pages.
#[derive(Debug)]
pub struct Corpus {
    pub path: PathBuf,
    pub bytes: u64,
    /// The file was decompressed by us and is deleted on drop.
    temporary: bool,
}

impl Drop for Corpus {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Corpus {
    pub fn pages(&self) -> u64 {
        self.bytes / PAGE_SIZE
    }

    /// Guest RAM (MiB) that holds the ramdisk, the kernel and the compressed
    /// copy with room to spare: twice the corpus plus 256 MiB, at least 512 MiB.
    pub fn suggested_memory_mib(&self) -> u64 {
        let corpus_mib = self.bytes.div_ceil(1 << 20);
        (2 * corpus_mib + 256).max(512)
    }
}

/// Check that `bytes` is a whole, non-zero number of pages. `path` is the
/// user's file; `decompressed` says that `bytes` counts its gzip contents.
pub fn check_size(path: &Path, decompressed: bool, bytes: u64) -> Result<(), String> {
    let what = if decompressed {
        format!("{} (decompressed)", path.display())
    } else {
        path.display().to_string()
    };
    if bytes == 0 {
        Err(format!(
            "{what} is empty; a corpus is a file of whole 4096-byte pages"
        ))
    } else if !bytes.is_multiple_of(PAGE_SIZE) {
        Err(format!(
            "{what} has {} bytes, which is not a multiple of 4096 ({} whole pages and {} bytes left over)",
            bytes,
            bytes / PAGE_SIZE,
            bytes % PAGE_SIZE
        ))
    } else {
        Ok(())
    }
}

/// Validate `path` (decompressing a `.gz`) and return the file to load.
pub fn prepare(path: &Path) -> Result<Corpus, String> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot read corpus {}: {error}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("corpus {} is not a file", path.display()));
    }
    let temporary = path.extension().is_some_and(|extension| extension == "gz");
    let mut corpus = Corpus {
        path: if temporary {
            decompress(path)?
        } else {
            path.to_path_buf()
        },
        bytes: 0,
        temporary,
    };
    // (On an error `corpus` is dropped, which deletes a decompressed copy.)
    corpus.bytes = std::fs::metadata(&corpus.path)
        .map_err(|error| format!("cannot read corpus {}: {error}", path.display()))?
        .len();
    check_size(path, temporary, corpus.bytes)?;
    Ok(corpus)
}

fn decompress(path: &Path) -> Result<PathBuf, String> {
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let target =
        std::env::temp_dir().join(format!("zsmalloc-os-corpus-{}-{name}", std::process::id()));
    let input =
        File::open(path).map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    let mut decoder = flate2::read::GzDecoder::new(BufReader::new(input));
    let output = File::create(&target)
        .map_err(|error| format!("cannot create {}: {error}", target.display()))?;
    std::io::copy(&mut decoder, &mut BufWriter::new(output))
        .map_err(|error| format!("cannot decompress {}: {error}", path.display()))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_are_not_whole_pages_are_refused() {
        let path = Path::new("corpus");
        assert!(check_size(path, false, 0).unwrap_err().contains("empty"));
        assert!(check_size(path, false, 4097)
            .unwrap_err()
            .contains("corpus has 4097 bytes, which is not a multiple of 4096"));
        assert!(check_size(path, false, 8192).is_ok());
        assert!(check_size(path, true, 4097)
            .unwrap_err()
            .starts_with("corpus (decompressed) has 4097 bytes"));
    }

    #[test]
    fn the_default_corpus_has_4200_pages() {
        let corpus = prepare(&default_corpus()).unwrap();
        assert_eq!(corpus.pages(), 4200);
        assert_eq!(corpus.suggested_memory_mib(), 512);
        let path = corpus.path.clone();
        drop(corpus);
        assert!(!path.exists(), "the decompressed copy is removed");
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let error = prepare(Path::new("/nonexistent/pages")).unwrap_err();
        assert!(
            error.contains("cannot read corpus /nonexistent/pages"),
            "{error}"
        );
    }

    #[test]
    fn memory_grows_with_a_large_corpus() {
        let corpus = Corpus {
            path: PathBuf::new(),
            bytes: 300 << 20,
            temporary: false,
        };
        assert_eq!(corpus.suggested_memory_mib(), 856);
    }
}
