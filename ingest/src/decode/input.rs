//! Opening an input file: transparent gzip/zstd decompression (by extension or by magic bytes),
//! byte counting for progress and for the offsets named in errors, and the mapping of read
//! errors to [`Error::Damaged`] (a bad compressed stream) or [`Error::Io`] (the disk).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, IoContext, Result};

/// How an input file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (`.gz`, magic `1f 8b`), multi-member streams included.
    Gzip,
    /// zstd (`.zst`, magic `28 b5 2f fd`), multi-frame streams included.
    Zstd,
}

impl Compression {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression a file name says (`.gz`, `.zst`), if any.
    pub fn from_name(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") || e.eq_ignore_ascii_case("zstd") => {
                Compression::Zstd
            }
            _ => Compression::None,
        }
    }

    fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Counts the bytes read through it, into its own total and a shared progress counter.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    progress: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: its decompressed byte stream plus what is needed to name a position.
pub struct Input {
    path: PathBuf,
    compression: Compression,
    file_len: u64,
    raw_read: Arc<AtomicU64>,
    reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("path", &self.path)
            .field("compression", &self.compression)
            .field("file_len", &self.file_len)
            .finish_non_exhaustive()
    }
}

/// Buffer size for reading input files.
const READ_BUFFER: usize = 256 << 10;

impl Input {
    /// Opens `path`, detecting compression by extension or by magic bytes. Every byte read from
    /// the file is also added to `progress`.
    pub fn open(path: &Path, progress: Arc<AtomicU64>) -> Result<Input> {
        let file = File::open(path).io("open", path)?;
        let file_len = file.metadata().io("stat", path)?.len();
        Self::from_reader(path, Box::new(file), file_len, progress)
    }

    /// Wraps an already open byte source named `path` (tests, fuzzing, in-memory inputs).
    pub fn from_reader(
        path: &Path,
        source: Box<dyn Read + Send>,
        file_len: u64,
        progress: Arc<AtomicU64>,
    ) -> Result<Input> {
        let raw_read = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: source,
            count: Arc::clone(&raw_read),
            progress,
        };
        let mut buffered = BufReader::with_capacity(READ_BUFFER, counting);
        let head = buffered.fill_buf().io("read", path)?;
        let by_magic = Compression::from_magic(head);
        let by_name = Compression::from_name(path);
        // Magic bytes find a compressed file whatever its name; a `.gz`/`.zst` name without
        // the magic bytes is a damaged compressed file (reported), not plain text to parse.
        let compression = if by_magic != Compression::None || head.is_empty() {
            by_magic
        } else {
            by_name
        };
        let reader: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| Error::Damaged {
                    path: path.to_path_buf(),
                    offset: 0,
                    reason: format!("invalid zstd stream: {e}"),
                })?,
            ),
        };
        Ok(Input {
            path: path.to_path_buf(),
            compression,
            file_len,
            raw_read,
            reader,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The compression detected.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Size of the file on disk (compressed size for compressed files).
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Bytes read from the file so far (compressed bytes for compressed files).
    pub fn raw_bytes_read(&self) -> u64 {
        self.raw_read.load(Ordering::Relaxed)
    }

    /// Splits into the decompressed stream and an [`InputErrors`] that maps its read errors.
    pub fn into_parts(self) -> (Box<dyn Read + Send>, InputErrors) {
        (
            self.reader,
            InputErrors {
                path: self.path,
                compression: self.compression,
                raw_read: self.raw_read,
            },
        )
    }
}

/// Maps errors of an input's decompressed stream to the crate's errors, naming file and offset.
#[derive(Debug, Clone)]
pub struct InputErrors {
    path: PathBuf,
    compression: Compression,
    raw_read: Arc<AtomicU64>,
}

impl InputErrors {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read error of the decompressed stream. Errors of the decompressor (not of the OS) mean
    /// a damaged file; the offset is then how far into the compressed file reading got.
    pub fn read_error(&self, e: io::Error) -> Error {
        if self.compression != Compression::None && e.raw_os_error().is_none() {
            Error::Damaged {
                path: self.path.clone(),
                offset: self.raw_read.load(Ordering::Relaxed),
                reason: format!(
                    "invalid {} stream (offset in the compressed file): {e}",
                    self.compression.name()
                ),
            }
        } else {
            Error::Io {
                op: "read",
                path: self.path.clone(),
                error: e,
            }
        }
    }

    /// Damage in the decompressed stream at `offset`.
    pub fn damaged(&self, offset: u64, reason: impl Into<String>) -> Error {
        let reason = reason.into();
        Error::Damaged {
            path: self.path.clone(),
            offset,
            reason: if self.compression == Compression::None {
                reason
            } else {
                format!(
                    "{reason} (offset in the decompressed {} stream)",
                    self.compression.name()
                )
            },
        }
    }

    /// The file cannot be read in its format at all.
    pub fn unreadable(&self, reason: impl Into<String>) -> Error {
        Error::Unreadable {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }
}
