//! The `.tar.gz` itself, written deterministically: entries sorted by path under one top folder,
//! every header with the same owner (0/0, no names), mode 0644 and the report's time, and a gzip
//! header without file name or time. The same collected bytes always give the same archive, so
//! two reports can be compared by checksum and a test can pin the format.
//!
//! `tar` and `flate2` rather than hand-written code: the ustar/GNU long-name rules and DEFLATE
//! are easy to get subtly wrong, both crates are the ones cargo itself uses to pack crates, and
//! `flate2`'s default backend (miniz_oxide) is pure Rust, so the static plugin binary stays free
//! of C dependencies.

use flate2::{Compression, GzBuilder};
use std::io::{self, Write};

/// One file of the archive, relative to the top folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub data: Vec<u8>,
}

/// Pack `entries` under `root/` into a gzip-compressed tar, in memory. Two entries with the same
/// path are an error: it would mean two parts of the report were written to one place.
pub fn tar_gz(root: &str, entries: &[Entry], mtime: u64) -> io::Result<Vec<u8>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = sorted.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("two parts of the report would both be written to {}", w[0].path),
        ));
    }
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for e in sorted {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(e.data.len() as u64);
        // append_data writes a GNU long-name entry when the path exceeds 100 bytes, and sets
        // the checksum.
        tar.append_data(&mut h, format!("{root}/{}", e.path), e.data.as_slice())?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entry(path: &str, data: &str) -> Entry {
        Entry {
            path: path.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn unpack(bytes: &[u8]) -> Vec<(String, String, u32, u64)> {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().display().to_string();
                let (mode, mtime) = (e.header().mode().unwrap(), e.header().mtime().unwrap());
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                (path, s, mode, mtime)
            })
            .collect()
    }

    #[test]
    fn entries_are_sorted_under_one_folder_with_fixed_metadata() {
        let long = format!("contexts/{}/x.yaml", "n".repeat(120));
        let bytes = tar_gz(
            "mm2-report-x",
            &[
                entry("b.txt", "B"),
                entry("README.txt", "index"),
                entry(&long, "L"),
            ],
            1_700_000_000,
        )
        .unwrap();
        let files = unpack(&bytes);
        let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "mm2-report-x/README.txt".to_string(),
                "mm2-report-x/b.txt".to_string(),
                format!("mm2-report-x/{long}")
            ]
        );
        assert!(files.iter().all(|f| f.2 == 0o644 && f.3 == 1_700_000_000));
        assert_eq!(files[0].1, "index");
    }

    #[test]
    fn the_same_content_gives_the_same_bytes_whatever_the_order() {
        let a = tar_gz("r", &[entry("a", "1"), entry("b", "2")], 5).unwrap();
        let b = tar_gz("r", &[entry("b", "2"), entry("a", "1")], 5).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, tar_gz("r", &[entry("a", "1"), entry("b", "3")], 5).unwrap());
    }

    #[test]
    fn two_parts_in_one_place_is_an_error() {
        let err = tar_gz("r", &[entry("a", "1"), entry("a", "2")], 0).unwrap_err();
        assert!(err.to_string().contains("a"), "{err}");
    }
}
