//! Helpers shared by the storage crate's integration tests (and included by the query crate's,
//! which open the same committed fixtures).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a test failure")]

/// Copies the directory tree at `from` into `to` (created): a committed fixture is opened from a
/// copy, since a writer open would truncate and add files.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
