//! Output files of the generator: plain, gzip or zstd, chosen per file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::decode::Compression;
use crate::error::{IoContext, Result};

/// A file being written, maybe compressed.
pub(crate) enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Sink {
    pub(crate) fn create(path: &Path, compression: Compression) -> Result<Sink> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path).io("create", path)?);
        Ok(match compression {
            Compression::None => Sink::Plain(file),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => {
                Sink::Zstd(zstd::stream::write::Encoder::new(file, 1).io("zstd init", path)?)
            }
        })
    }

    pub(crate) fn finish(self, path: &Path) -> Result<()> {
        let mut file = match self {
            Sink::Plain(f) => f,
            Sink::Gzip(g) => g.finish().io("write", path)?,
            Sink::Zstd(z) => z.finish().io("write", path)?,
        };
        file.flush().io("write", path)
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(buf),
            Sink::Gzip(g) => g.write(buf),
            Sink::Zstd(z) => z.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.write_all(buf),
            Sink::Gzip(g) => g.write_all(buf),
            Sink::Zstd(z) => z.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Gzip(g) => g.flush(),
            Sink::Zstd(z) => z.flush(),
        }
    }
}
