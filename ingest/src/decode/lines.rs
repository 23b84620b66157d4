//! Splits a byte stream into lines without copying each line: lines are slices of one large,
//! reused buffer. A line longer than the limit is not buffered whole: its first bytes are kept
//! for the dead letter and the rest is skipped, so memory stays bounded by the limit.

use std::io::{self, Read};

/// One line from [`LineReader::next_line`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A line, without its `\n` (nor a `\r` before it).
    Complete(&'a [u8]),
    /// A line over the limit: its first bytes and its full length.
    TooLong {
        /// The first bytes of the line.
        prefix: Vec<u8>,
        /// Its length in bytes.
        len: u64,
    },
}

/// Bytes of an overlong line kept for its dead letter.
const TOO_LONG_PREFIX: usize = 4096;

pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(inner: R, max_line: usize) -> LineReader<R> {
        let max_line = max_line.max(1);
        LineReader {
            inner,
            buf: vec![0; (1 << 20).min(max_line + 1).max(4096)],
            start: 0,
            end: 0,
            eof: false,
            max_line,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(self.max_line + 1);
            self.buf.resize(grown.max(self.buf.len()), 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line, `None` at the end of the stream. A last line without `\n` is a line.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let s = self.start;
                self.start += i + 1;
                if i > self.max_line {
                    let prefix = self.buf[s..s + TOO_LONG_PREFIX.min(i)].to_vec();
                    return Ok(Some(Line::TooLong {
                        prefix,
                        len: i as u64,
                    }));
                }
                return Ok(Some(Line::Complete(strip_cr(&self.buf[s..s + i]))));
            }
            let pending = self.end - self.start;
            if self.eof {
                if pending == 0 {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                return Ok(Some(Line::Complete(strip_cr(&self.buf[s..self.end]))));
            }
            if pending > self.max_line {
                return self.skip_long_line().map(Some);
            }
            self.fill()?;
        }
    }

    /// Called with more than `max_line` bytes buffered and no newline among them.
    fn skip_long_line(&mut self) -> io::Result<Line<'static>> {
        let prefix =
            self.buf[self.start..self.start + TOO_LONG_PREFIX.min(self.end - self.start)].to_vec();
        let mut len = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                len += i as u64;
                self.start += i + 1;
                return Ok(Line::TooLong { prefix, len });
            }
            let n = self.end - self.start;
            len += n as u64;
            self.start = self.end;
            if self.eof {
                return Ok(Line::TooLong { prefix, len });
            }
            self.fill()?;
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Line<'static>> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(match l {
                Line::Complete(b) => Line::Complete(Vec::leak(b.to_vec())),
                Line::TooLong { prefix, len } => Line::TooLong { prefix, len },
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_keeps_a_last_line_without_newline() {
        let got = lines(b"a\nbb\r\n\nccc", 100);
        assert_eq!(
            got,
            vec![
                Line::Complete(b"a"),
                Line::Complete(b"bb"),
                Line::Complete(b""),
                Line::Complete(b"ccc")
            ]
        );
        assert!(lines(b"", 100).is_empty());
        assert_eq!(lines(b"x\n", 100), vec![Line::Complete(b"x")]);
    }

    #[test]
    fn lines_spanning_buffer_refills_are_whole() {
        let mut input = Vec::new();
        for i in 0..20_000 {
            input.extend_from_slice(format!("line-{i}-{}\n", "y".repeat(i % 300)).as_bytes());
        }
        let got = lines(&input, 1 << 20);
        assert_eq!(got.len(), 20_000);
        for (i, l) in got.iter().enumerate() {
            assert_eq!(
                *l,
                Line::Complete(Vec::leak(
                    format!("line-{i}-{}", "y".repeat(i % 300)).into_bytes()
                ))
            );
        }
    }

    #[test]
    fn overlong_lines_are_skipped_with_a_prefix() {
        let long = "z".repeat(10_000);
        let input = format!("ok\n{long}\nafter\n{long}");
        let got = lines(input.as_bytes(), 5000);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], Line::Complete(b"ok"));
        assert_eq!(
            got[1],
            Line::TooLong {
                prefix: vec![b'z'; 4096],
                len: 10_000
            }
        );
        assert_eq!(got[2], Line::Complete(b"after"));
        assert!(matches!(got[3], Line::TooLong { len: 10_000, .. }));
    }
}
