//! The writer lock: one writer process per data directory.
//!
//! An advisory `flock` on `LOCK`, holding the owner's pid as text. The kernel releases the lock
//! when the owner dies (even by SIGKILL), so a crash never leaves a stale lock behind; the pid is
//! only there to name the owner in the error a second writer gets.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// File name of the lock file.
pub const LOCK_FILE: &str = "LOCK";

/// Held while the store is open for writing; released on drop (or process death).
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock of `dir`, or fails naming the pid of the process that holds it.
    pub fn acquire(dir: &Path) -> Result<WriterLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .io("open", &path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(Error::Locked {
                    dir: dir.to_path_buf(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.to_owned()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e).io("lock", &path),
        }
        file.set_len(0).io("truncate", &path)?;
        file.seek(SeekFrom::Start(0)).io("seek", &path)?;
        writeln!(file, "{}", std::process::id()).io("write", &path)?;
        Ok(WriterLock { _file: file })
    }
}
