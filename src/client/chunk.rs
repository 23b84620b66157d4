//! Cuts an input file into raw payloads that each fit one request, reading it as it goes (a
//! payload at a time in memory): JSON Lines at line ends, CSV at record ends (never inside a
//! quoted field) with the header repeated in every payload; compressed and Avro files go whole.
//! Each payload carries the line offset that makes the server's reject positions the file's own
//! line numbers.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use adstore_ingest::Format;
use anyhow::{Context, bail};

/// One payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// Lines of the file before the chunk's first line, minus the repeated header line.
    pub line_offset: u64,
}

/// The payloads of one file, read lazily.
#[derive(Debug)]
pub struct Chunker {
    path: PathBuf,
    file: File,
    mode: Mode,
    target: usize,
    max: usize,
    /// Bytes read and not yet sent; always starts at a record boundary.
    pending: Vec<u8>,
    eof: bool,
    /// Lines of the file before `pending`.
    lines_before: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    /// The whole file, once.
    Whole { sent: bool },
    /// JSON Lines.
    Lines,
    /// CSV: the header (read at the start) goes in front of every payload.
    Csv { header: Option<Vec<u8>> },
}

/// Opens `path` (in `format`) to be cut into payloads of about `target` bytes (a single longer
/// record makes a longer payload); a payload over `max` bytes is an error.
pub fn chunks(path: &Path, format: Format, target: usize, max: usize) -> anyhow::Result<Chunker> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("stat {}", path.display()))?
        .len();
    let mut magic = [0u8; 4];
    let n =
        read_full(&mut file, &mut magic).with_context(|| format!("reading {}", path.display()))?;
    let compressed =
        magic[..n].starts_with(&[0x1f, 0x8b]) || magic[..n] == [0x28, 0xb5, 0x2f, 0xfd];
    let whole = compressed || format == Format::Avro;
    if whole && len > max as u64 {
        bail!(
            "{}: {len} bytes exceed the {max}-byte message limit (compressed and Avro files are sent whole: split or decompress it)",
            path.display()
        );
    }
    let mode = match format {
        _ if whole => Mode::Whole { sent: false },
        Format::Csv => Mode::Csv { header: None },
        Format::Json | Format::Avro => Mode::Lines,
    };
    Ok(Chunker {
        path: path.to_path_buf(),
        file,
        mode,
        target,
        max,
        pending: magic[..n].to_vec(),
        eof: n < magic.len(),
        lines_before: 0,
    })
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Chunker {
    /// Reads until `pending` holds at least `want` bytes or the file ends.
    fn fill(&mut self, want: usize) -> anyhow::Result<()> {
        let mut buf = vec![0u8; 256 << 10];
        while !self.eof && self.pending.len() < want {
            let n = self
                .file
                .read(&mut buf)
                .with_context(|| format!("reading {}", self.path.display()))?;
            if n == 0 {
                self.eof = true;
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(())
    }

    /// Where to cut `pending`: after the last whole record ending within `target` bytes, or
    /// after the first record when it alone is longer; `None` when no record is complete.
    fn cut_point(&self) -> Option<usize> {
        let csv = matches!(self.mode, Mode::Csv { .. });
        let mut quoted = false;
        let mut last = None;
        for (i, &b) in self.pending.iter().enumerate() {
            if csv && b == b'"' {
                quoted = !quoted;
            } else if b == b'\n' && !quoted {
                if i + 1 > self.target {
                    return Some(last.unwrap_or(i + 1));
                }
                last = Some(i + 1);
            }
        }
        last
    }

    /// The next payload of a line-based file, `None` at the end.
    fn next_lines(&mut self) -> anyhow::Result<Option<FileChunk>> {
        if let Mode::Csv { header: None } = self.mode {
            // The header is the first record.
            let mut want = self.target.min(64 << 10);
            loop {
                self.fill(want)?;
                let end = first_record_end(&self.pending);
                if end.is_some() || self.eof {
                    let end = end.unwrap_or(self.pending.len());
                    let header: Vec<u8> = self.pending.drain(..end).collect();
                    self.lines_before += count_newlines(&header);
                    self.mode = Mode::Csv {
                        header: Some(header),
                    };
                    break;
                }
                want *= 2;
            }
        }
        let mut want = self.target.saturating_add(1);
        let cut = loop {
            self.fill(want)?;
            if self.pending.is_empty() {
                return Ok(None);
            }
            match self.cut_point() {
                Some(end) if end < self.pending.len() || self.eof => break end,
                // The file may go on: a record ending exactly at the buffer's end is whole, but
                // reading on costs nothing and keeps payloads near the target.
                Some(end) if self.pending.len() > self.target => break end,
                None if self.eof => break self.pending.len(),
                // One record longer than what is read: read on to its end.
                _ => want = self.pending.len().saturating_mul(2).max(want),
            }
        };
        let (mut data, header_lines) = match &self.mode {
            Mode::Csv { header: Some(h) } => (h.clone(), 1),
            _ => (Vec::new(), 0),
        };
        let body: Vec<u8> = self.pending.drain(..cut).collect();
        let line_offset = self.lines_before - header_lines;
        self.lines_before += count_newlines(&body);
        data.extend_from_slice(&body);
        self.check(&data)?;
        // The decoder numbers a payload's lines from 1, the repeated header included.
        Ok(Some(FileChunk { data, line_offset }))
    }

    fn check(&self, data: &[u8]) -> anyhow::Result<()> {
        if data.len() > self.max {
            bail!(
                "{}: a payload of {} bytes (one record) exceeds the {}-byte message limit",
                self.path.display(),
                data.len(),
                self.max
            );
        }
        Ok(())
    }
}

impl Iterator for Chunker {
    type Item = anyhow::Result<FileChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Mode::Whole { sent } = &mut self.mode {
            if *sent {
                return None;
            }
            *sent = true;
            return Some(self.fill(usize::MAX).map(|()| FileChunk {
                data: std::mem::take(&mut self.pending),
                line_offset: 0,
            }));
        }
        self.next_lines().transpose()
    }
}

/// The end (after its newline) of the first CSV record, if it is complete.
fn first_record_end(data: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in data.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn count_newlines(s: &[u8]) -> u64 {
    s.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(content: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        (dir, p)
    }

    fn all(
        path: &Path,
        format: Format,
        target: usize,
        max: usize,
    ) -> anyhow::Result<Vec<FileChunk>> {
        chunks(path, format, target, max)?.collect()
    }

    #[test]
    fn json_lines_split_at_line_ends_with_offsets() {
        let text: String = (0..100).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let (_d, p) = write(text.as_bytes(), "a.jsonl");
        let cs = all(&p, Format::Json, 64, 1 << 20).unwrap();
        assert!(cs.len() > 5);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, text.as_bytes());
        let mut line = 0;
        for c in &cs {
            assert_eq!(c.line_offset, line);
            assert!(c.data.ends_with(b"\n"));
            line += count_newlines(&c.data);
        }
    }

    #[test]
    fn csv_chunks_repeat_the_header_and_never_cut_a_quoted_field() {
        let mut text = String::from("event_id,detail\n");
        for i in 0..50 {
            text.push_str(&format!("e{i},\"two\nlines, \"\"quoted\"\"\"\n"));
        }
        let (_d, p) = write(text.as_bytes(), "a.csv");
        let cs = all(&p, Format::Csv, 40, 1 << 20).unwrap();
        assert!(cs.len() > 5);
        let mut records = 0;
        for c in &cs {
            assert!(c.data.starts_with(b"event_id,detail\n"));
            let mut r = csv::Reader::from_reader(&c.data[..]);
            for rec in r.records() {
                let rec = rec.unwrap();
                assert_eq!(rec.get(1), Some("two\nlines, \"quoted\""));
                // File line of the record's start = its line in the chunk + the offset.
                let chunk_line = rec.position().unwrap().line();
                assert_eq!(chunk_line + c.line_offset, 2 + 2 * records);
                records += 1;
            }
        }
        assert_eq!(records, 50);
    }

    #[test]
    fn a_last_line_without_newline_and_a_long_line_are_kept() {
        let text = format!("a\n{}\nb", "x".repeat(500));
        let (_d, p) = write(text.as_bytes(), "a.jsonl");
        let cs = all(&p, Format::Json, 8, 1 << 20).unwrap();
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, text.as_bytes());
        assert_eq!(cs.last().unwrap().data, b"b");
        assert!(
            all(&p, Format::Json, 8, 100).is_err(),
            "a 501-byte line over a 100-byte limit"
        );
    }

    #[test]
    fn compressed_files_go_whole_and_the_limit_holds() {
        let (_d, p) = write(&[0x1f, 0x8b, 1, 2, 3, b'\n', 4], "a.jsonl.gz");
        let cs = all(&p, Format::Json, 1, 100).unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].data, [0x1f, 0x8b, 1, 2, 3, b'\n', 4]);
        assert!(chunks(&p, Format::Json, 1, 3).is_err());
        let (_d, p) = write(b"", "empty.jsonl");
        assert!(all(&p, Format::Json, 1, 3).unwrap().is_empty());
    }
}
