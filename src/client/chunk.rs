//! Cuts an input file into raw payloads that each fit one request: JSON Lines at line ends,
//! CSV at record ends (never inside a quoted field) with the header repeated in every chunk;
//! compressed and Avro files go whole. Each chunk carries the line offset that makes the
//! server's reject positions the file's own line numbers.

use std::path::Path;

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

/// Splits the file at `path` (in `format`) into payloads of about `target` bytes at most
/// (a single longer line or record makes a longer chunk); `max` is the hard limit.
pub fn chunks(
    path: &Path,
    format: Format,
    target: usize,
    max: usize,
) -> anyhow::Result<Vec<FileChunk>> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let compressed = data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let whole = compressed || format == Format::Avro || data.len() <= target;
    let out = match format {
        Format::Json if !whole => split_lines(&data, target, None),
        Format::Csv if !whole => {
            let header_end = record_end(&data, 0);
            let header = data[..header_end].to_vec();
            split_lines(&data[header_end..], target, Some(header))
        }
        Format::Json | Format::Csv | Format::Avro => vec![FileChunk {
            data,
            line_offset: 0,
        }],
    };
    if let Some(c) = out.iter().find(|c| c.data.len() > max) {
        bail!(
            "{}: a payload of {} bytes exceeds the {max}-byte message limit{}",
            path.display(),
            c.data.len(),
            if whole {
                " (compressed and Avro files are sent whole: split or decompress it)"
            } else {
                ""
            }
        );
    }
    Ok(out)
}

/// The end (exclusive, after its newline) of the CSV record starting at `from`: the first
/// newline outside double quotes (`""` inside quotes toggles twice, so parity is kept).
fn record_end(data: &[u8], from: usize) -> usize {
    let mut quoted = false;
    for (i, &b) in data[from..].iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return from + i + 1,
            _ => {}
        }
    }
    data.len()
}

/// Cuts `body` at record ends into chunks of about `target` bytes; with a CSV `header`, each
/// chunk starts with it.
fn split_lines(body: &[u8], target: usize, header: Option<Vec<u8>>) -> Vec<FileChunk> {
    let header_lines = u64::from(header.is_some());
    let mut out = Vec::new();
    let mut start = 0;
    let mut lines_before = header_lines;
    while start < body.len() {
        let mut end = start;
        let mut lines = 0u64;
        while end < body.len() && (end == start || end - start < target) {
            let next = if header.is_some() {
                record_end(body, end)
            } else {
                memchr_newline(body, end)
            };
            lines += count_newlines(&body[end..next]);
            end = next;
        }
        let mut data = header.clone().unwrap_or_default();
        data.extend_from_slice(&body[start..end]);
        out.push(FileChunk {
            data,
            // The decoder numbers the chunk's lines from 1, the repeated header included.
            line_offset: lines_before - header_lines,
        });
        lines_before += lines;
        start = end;
    }
    out
}

fn memchr_newline(data: &[u8], from: usize) -> usize {
    data[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| from + i + 1)
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

    #[test]
    fn json_lines_split_at_line_ends_with_offsets() {
        let text: String = (0..100).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let (_d, p) = write(text.as_bytes(), "a.jsonl");
        let cs = chunks(&p, Format::Json, 64, 1 << 20).unwrap();
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
        let cs = chunks(&p, Format::Csv, 40, 1 << 20).unwrap();
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
    fn small_compressed_and_avro_files_go_whole_and_the_limit_holds() {
        let (_d, p) = write(b"x\ny\n", "a.jsonl");
        assert_eq!(chunks(&p, Format::Json, 1, 100).unwrap().len(), 2);
        let (_d, p) = write(&[0x1f, 0x8b, 1, 2, 3], "a.jsonl.gz");
        assert_eq!(chunks(&p, Format::Json, 1, 100).unwrap().len(), 1);
        assert!(chunks(&p, Format::Json, 1, 3).is_err());
    }
}
