//! Small file-system helpers shared by the durable structures.

use std::fs::File;
use std::path::Path;

use crate::error::{IoContext, Result};

/// fsyncs a directory, making the creation, rename or removal of its entries durable. Without
/// it a crash after `rename` can bring back the old name on ext4 and XFS.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .io("fsync directory", dir)
}

/// Writes `bytes` to `path` atomically: `path.tmp`, fsync, rename, fsync the directory. A crash
/// at any point leaves either the old file or the new one, never a mix.
pub fn write_atomically(
    path: &Path,
    bytes: &[u8],
    hook: Option<&crate::hooks::CrashHook>,
) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).io("create", &tmp)?;
    f.write_all(bytes).io("write", &tmp)?;
    f.sync_all().io("fsync", &tmp)?;
    drop(f);
    crate::hooks::crash_point(hook, crate::hooks::CrashPoint::ManifestTempWritten);
    std::fs::rename(&tmp, path).io("rename", &tmp)?;
    crate::hooks::crash_point(hook, crate::hooks::CrashPoint::ManifestRenamed);
    let dir = path.parent().unwrap_or(Path::new("."));
    sync_dir(dir)
}
