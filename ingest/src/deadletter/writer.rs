//! [`DeadLetterWriter`]: appends rejected rows to a new dead-letter file per ingest run.
//!
//! Rows are deduplicated by (source file, position, raw bytes) against every dead letter
//! already stored, so ingesting the same files again adds no dead letter: the writer reads the
//! existing files when it opens (a few bytes of memory per dead letter). A damaged existing file
//! is logged and its readable records still count.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use hashbrown::HashSet;
use xxhash_rust::xxh3::Xxh3;

use super::format::{
    FILE_HEADER_LEN, ROTATE_BYTES, RecordFields, file_header, file_name, format_code, frame_record,
};
use super::reader::{list_files, read_file};
use crate::decode::Format;
use crate::error::{IoContext, Result};
use crate::reject::Rejected;

/// Appends dead letters to `<data>/deadletter/<n>.dlq`.
#[derive(Debug)]
pub struct DeadLetterWriter {
    dir: PathBuf,
    next_n: u64,
    file: Option<(PathBuf, File, u64)>,
    buf: Vec<u8>,
    seen: HashSet<u64>,
    written: u64,
    skipped: u64,
}

fn fingerprint(source: &str, position: u64, raw: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(&(source.len() as u64).to_le_bytes());
    h.update(source.as_bytes());
    h.update(&position.to_le_bytes());
    h.update(raw);
    h.digest()
}

impl DeadLetterWriter {
    /// Opens the dead-letter folder of a data directory (creating it), loading the fingerprints
    /// of the dead letters it already holds.
    pub fn open(data_dir: &Path) -> Result<DeadLetterWriter> {
        let dir = data_dir.join(super::DEAD_LETTER_DIR);
        std::fs::create_dir_all(&dir).io("create", &dir)?;
        let files = list_files(&dir)?;
        let mut seen = HashSet::new();
        for (_, path) in &files {
            match read_file(path) {
                Ok(f) => {
                    for r in f.records {
                        seen.insert(fingerprint(&r.source, r.position, &r.raw));
                    }
                }
                Err(e) => tracing::warn!("dead letters: {e}; its records are not deduplicated"),
            }
        }
        let next_n = files.last().map_or(1, |(n, _)| n + 1);
        Ok(DeadLetterWriter {
            dir,
            next_n,
            file: None,
            buf: Vec::new(),
            seen,
            written: 0,
            skipped: 0,
        })
    }

    /// Buffers one rejected row of `source`; `false` when the same row was already stored.
    /// [`DeadLetterWriter::sync`] makes buffered rows durable.
    pub fn append(&mut self, source: &str, format: Format, row: &Rejected) -> Result<bool> {
        if !self
            .seen
            .insert(fingerprint(source, row.position, &row.raw))
        {
            self.skipped += 1;
            return Ok(false);
        }
        let ingested_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        frame_record(
            &RecordFields {
                reason: row.reason.code(),
                format: format_code(format),
                position: row.position,
                ingested_at,
                source,
                detail: &row.detail,
                raw: &row.raw,
            },
            &mut self.buf,
        );
        self.written += 1;
        if self.buf.len() >= 1 << 20 {
            self.write_out()?;
        }
        Ok(true)
    }

    fn write_out(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self
            .file
            .as_ref()
            .is_some_and(|(_, _, len)| *len >= ROTATE_BYTES)
        {
            self.sync_file()?;
            self.file = None;
        }
        if self.file.is_none() {
            let path = self.dir.join(file_name(self.next_n));
            self.next_n += 1;
            let mut f = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .io("create", &path)?;
            f.write_all(&file_header()).io("write", &path)?;
            // The new file's name must survive a crash along with its records.
            if let Ok(d) = File::open(&self.dir) {
                d.sync_all().io("fsync", &self.dir)?;
            }
            self.file = Some((path, f, FILE_HEADER_LEN as u64));
        }
        if let Some((path, f, len)) = &mut self.file {
            f.write_all(&self.buf).io("write", path)?;
            *len += self.buf.len() as u64;
        }
        self.buf.clear();
        Ok(())
    }

    fn sync_file(&mut self) -> Result<()> {
        if let Some((path, f, _)) = &self.file {
            f.sync_data().io("fsync", path)?;
        }
        Ok(())
    }

    /// Writes buffered dead letters and fsyncs them.
    pub fn sync(&mut self) -> Result<()> {
        self.write_out()?;
        self.sync_file()
    }

    /// Dead letters written by this writer.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Rows not written because they were already stored.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Drop for DeadLetterWriter {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            tracing::error!("dead letters: {e}");
        }
    }
}
