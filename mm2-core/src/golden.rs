//! Golden files for the tests of every crate (flux2's way): a renderer's output is compared with a
//! committed file that a person has read and accepted as the specification of that output.
//! `UPDATE_GOLDEN=1` rewrites the files instead; review the diff before committing it.
//!
//! Public only so the binaries' unit tests share it; the product never calls it.

use std::path::Path;

/// Compare `actual` with the file at `path`, or write it there when `UPDATE_GOLDEN` is set.
/// Panics with the differing file's name, as a test assertion does.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(
        actual,
        expected,
        "golden file {} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)",
        path.display()
    );
}
