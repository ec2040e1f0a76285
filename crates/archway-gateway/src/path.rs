//! The request path as routing sees it, and as the upstream will receive it.
//!
//! The raw path is split on `/` and each segment is percent-decoded exactly once. Then:
//! - empty segments (`//`) are dropped, as nginx's `merge_slashes` does;
//! - literal `.` and `..` segments are resolved (RFC 3986 `remove_dot_segments`); `..` above the
//!   root is refused;
//! - a segment that only *decodes* to `.` or `..` (`%2e`, `%2e%2e`) is refused: it is a traversal
//!   attempt that a later decoder upstream would act on;
//! - `%2F` decodes into the segment's value and never splits it, so `/a%2Fb` is one segment;
//! - `%252e` decodes once to the text `%2e` and stays that text.
//!
//! Upstream paths are built from these decoded segments by re-encoding each one
//! ([`encode_segment`]), so the route decision and the upstream see the same structure.
//! Invariant 2 of DESIGN.md; the test matrix is in `tests/paths.rs`.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt::Write as _;
use std::ops::Range;

/// Bytes that are escaped when a decoded segment is put back into a path.
pub const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a path was refused (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path contains an encoded dot segment")]
    EncodedDotSegment,
    #[error("the path climbs above the root")]
    AboveRoot,
    #[error("the path does not decode to UTF-8")]
    NotUtf8,
    #[error("the path does not start with /")]
    NotAbsolute,
}

/// Decoded path segments, stored in one buffer.
#[derive(Debug, Clone, Default)]
pub struct RequestPath {
    buf: String,
    ranges: Vec<Range<u32>>,
    /// The raw path ended with `/` (and was not just `/`).
    pub trailing_slash: bool,
}

impl RequestPath {
    pub fn parse(raw: &str) -> Result<RequestPath, PathError> {
        if !raw.starts_with('/') {
            // `*` (OPTIONS *) and absolute-form targets never reach a route.
            return Err(PathError::NotAbsolute);
        }
        let mut p = RequestPath {
            buf: String::with_capacity(raw.len()),
            ranges: Vec::with_capacity(8),
            trailing_slash: raw.len() > 1 && raw.ends_with('/'),
        };
        for seg in raw[1..].split('/') {
            match seg {
                "" | "." => continue,
                ".." => {
                    let r = p.ranges.pop().ok_or(PathError::AboveRoot)?;
                    p.buf.truncate(r.start as usize);
                    continue;
                }
                _ => {}
            }
            let start = p.buf.len() as u32;
            if seg.contains('%') {
                let decoded = percent_decode_str(seg)
                    .decode_utf8()
                    .map_err(|_| PathError::NotUtf8)?;
                if decoded == "." || decoded == ".." {
                    return Err(PathError::EncodedDotSegment);
                }
                p.buf.push_str(&decoded);
            } else {
                p.buf.push_str(seg);
            }
            p.ranges.push(start..p.buf.len() as u32);
        }
        Ok(p)
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn segment(&self, i: usize) -> &str {
        match self.ranges.get(i) {
            Some(r) => &self.buf[r.start as usize..r.end as usize],
            None => "",
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ranges.len()).map(|i| self.segment(i))
    }

    /// Drops the first `n` segments (the stage or base path).
    pub fn skip(&self, n: usize) -> SegmentsView<'_> {
        SegmentsView {
            path: self,
            start: n.min(self.ranges.len()),
        }
    }
}

/// The segments after the stage or base path: what routes match.
#[derive(Debug, Clone, Copy)]
pub struct SegmentsView<'a> {
    path: &'a RequestPath,
    start: usize,
}

impl<'a> SegmentsView<'a> {
    pub fn len(&self) -> usize {
        self.path.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> &'a str {
        self.path.segment(self.start + i)
    }

    pub fn trailing_slash(&self) -> bool {
        self.path.trailing_slash
    }

    /// Decoded segments `from..` joined with `/` (a greedy parameter's value), with the
    /// trailing slash when the request had one.
    pub fn joined_from(&self, from: usize) -> String {
        let mut s = String::new();
        for i in from..self.len() {
            if i > from {
                s.push('/');
            }
            s.push_str(self.get(i));
        }
        if self.trailing_slash() && from < self.len() {
            s.push('/');
        }
        s
    }

    /// The normalised path (`/a/b`), decoded: what access logs and events report.
    pub fn decoded_path(&self) -> String {
        let mut s = String::with_capacity(self.path.buf.len() + self.len() + 1);
        for i in 0..self.len() {
            s.push('/');
            s.push_str(self.get(i));
        }
        if s.is_empty() || self.trailing_slash() {
            s.push('/');
        }
        s
    }

    /// Appends segments `from..` to `out`, each re-encoded, joined with `/`.
    pub fn encode_from(&self, from: usize, out: &mut String) {
        for i in from..self.len() {
            if i > from {
                out.push('/');
            }
            encode_segment(self.get(i), out);
        }
        if self.trailing_slash() && from < self.len() {
            out.push('/');
        }
    }
}

/// Appends a decoded segment to a path, escaping what would change its meaning.
pub fn encode_segment(seg: &str, out: &mut String) {
    let _ = write!(out, "{}", utf8_percent_encode(seg, SEGMENT));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(raw: &str) -> Result<Vec<String>, PathError> {
        RequestPath::parse(raw).map(|p| p.segments().map(str::to_string).collect())
    }

    #[test]
    fn normalises_and_decodes_once() {
        assert_eq!(segs("/a/b").unwrap(), ["a", "b"]);
        assert_eq!(segs("//a///b").unwrap(), ["a", "b"]);
        assert_eq!(segs("/a/./b/../c").unwrap(), ["a", "c"]);
        assert_eq!(segs("/a%2Fb").unwrap(), ["a/b"]);
        assert_eq!(segs("/%252e").unwrap(), ["%2e"]);
        assert_eq!(segs("/caf%C3%A9").unwrap(), ["café"]);
        assert_eq!(segs("/").unwrap(), Vec::<String>::new());
        assert_eq!(segs("/a/%2e%2e"), Err(PathError::EncodedDotSegment));
        assert_eq!(segs("/a/%2E"), Err(PathError::EncodedDotSegment));
        assert_eq!(segs("/.."), Err(PathError::AboveRoot));
        assert_eq!(segs("/%ff"), Err(PathError::NotUtf8));
        assert_eq!(segs("*"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn re_encodes_segments() {
        let p = RequestPath::parse("/x/a%2Fb/%252e/sp%20ace/").unwrap();
        let mut out = String::new();
        p.skip(1).encode_from(0, &mut out);
        assert_eq!(out, "a%2Fb/%252e/sp%20ace/");
        assert_eq!(p.skip(1).joined_from(0), "a/b/%2e/sp ace/");
    }
}
