//! [`LineMarks`]: the line number of a CSV record's first byte, which the csv crate does not
//! give exactly.
//!
//! `csv::Position::line` counts a CRLF terminator's `\n` as the start of the next record and
//! does not count skipped blank lines, so a record after a CRLF or a blank line would be
//! reported a line or more early in its dead letter (and `Position::byte` points at the skipped
//! terminator bytes). [`MarkedReader`] wraps the byte stream under the csv reader and notes the
//! offset of every `\r` and `\n` that passes; [`LineMarks::line_at`] then turns the csv crate's
//! record byte offset into the 1-based line of the record's first byte: it steps over
//! terminator bytes at that offset, and counts the `\n`s before. Offsets are asked for in
//! increasing order, so marks behind the last one asked for are dropped: memory is bounded by
//! the csv reader's read-ahead buffer.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct Marks {
    /// Offsets of `\r` and `\n` bytes read but not yet passed, with `true` for `\n`.
    pending: VecDeque<(u64, bool)>,
    /// `\n`s before the first pending mark.
    lines_before: u64,
}

/// The shared view of the newline offsets seen by a [`MarkedReader`].
#[derive(Debug, Clone, Default)]
pub(crate) struct LineMarks(Arc<Mutex<Marks>>);

impl LineMarks {
    /// The 1-based line holding the first byte of a record the csv crate says starts at `byte`.
    /// Calls must come with non-decreasing offsets.
    pub(crate) fn line_at(&self, byte: u64) -> u64 {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut start = byte;
        while let Some(&(offset, is_lf)) = m.pending.front() {
            if offset < start {
                m.lines_before += u64::from(is_lf);
                m.pending.pop_front();
            } else if offset == start {
                // A terminator byte the csv crate counted as the record's start: step over it.
                m.lines_before += u64::from(is_lf);
                m.pending.pop_front();
                start += 1;
            } else {
                break;
            }
        }
        m.lines_before + 1
    }
}

/// A reader that notes the offsets of `\r` and `\n` bytes into its [`LineMarks`].
pub(crate) struct MarkedReader<R> {
    inner: R,
    offset: u64,
    marks: LineMarks,
}

impl<R: Read> MarkedReader<R> {
    /// Wraps `inner`, whose first byte is offset 0.
    pub(crate) fn new(inner: R) -> (MarkedReader<R>, LineMarks) {
        let marks = LineMarks::default();
        let reader = MarkedReader {
            inner,
            offset: 0,
            marks: marks.clone(),
        };
        (reader, marks)
    }
}

impl<R: Read> Read for MarkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        let mut m = self.marks.0.lock().unwrap_or_else(PoisonError::into_inner);
        for i in memchr::memchr2_iter(b'\r', b'\n', read) {
            m.pending
                .push_back((self.offset + i as u64, read[i] == b'\n'));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of every record's first field, as the decoder computes it.
    fn record_lines(input: &[u8]) -> Vec<(String, u64)> {
        let (reader, marks) = MarkedReader::new(input);
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while csv.read_byte_record(&mut rec).unwrap() {
            let byte = rec.position().unwrap().byte();
            out.push((
                String::from_utf8_lossy(&rec[0]).into_owned(),
                marks.line_at(byte),
            ));
        }
        out
    }

    fn owned(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect()
    }

    #[test]
    fn lf_crlf_blank_lines_and_quoted_newlines_give_the_first_byte_line() {
        assert_eq!(
            record_lines(b"h1,h2\na,1\nb,2\n"),
            owned(&[("a", 2), ("b", 3)])
        );
        assert_eq!(
            record_lines(b"h1,h2\r\na,1\r\nb,2\r\n"),
            owned(&[("a", 2), ("b", 3)])
        );
        assert_eq!(
            record_lines(b"h1,h2\na,1\n\n\nb,2\n"),
            owned(&[("a", 2), ("b", 5)])
        );
        assert_eq!(
            record_lines(b"h1,h2\r\n\r\na,1\r\n\r\n\r\nb,2"),
            owned(&[("a", 3), ("b", 6)])
        );
        assert_eq!(
            record_lines(b"h1,h2\n\"a\nx\",1\nb,2\n"),
            owned(&[("a\nx", 2), ("b", 4)])
        );
    }
}
