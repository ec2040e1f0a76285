//! Finds HTTP/1.1 requests that carry both `Content-Length` and `Transfer-Encoding`, so that
//! they are answered 400 and never forwarded.
//!
//! Why this exists: hyper (RFC 9112 §6.3 allows it) reads such a request as chunked, drops the
//! `Content-Length` and closes the connection after answering. That defeats smuggling through
//! Archway, but the request still reaches the upstream, and the request that reaches the
//! service no longer shows that it had both headers. A message with both is how request
//! smuggling is attempted, and Archway refuses it outright, as the bad-input rule and
//! most front proxies do. hyper offers no hook for this, so the client connection's bytes are
//! watched on their way into hyper: request heads are parsed (httparse, as hyper does), bodies
//! skipped by their framing, and the index of a request with both headers is noted for the
//! service, which counts the requests it is given (hyper hands them over in order).
//!
//! The watch stops at anything it cannot follow (an HTTP/2 preface, a head hyper will reject
//! anyway, a head over the limit): then hyper's own checks stand alone. It costs one head parse
//! per request and copies only heads split across reads.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most a request head may take while being watched (hyper's limit is lower).
const MAX_HEAD: usize = 128 * 1024;
const MAX_HEADERS: usize = 128;
const MAX_LINE: usize = 8 * 1024;

/// Shared between a connection's watcher and its service.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// 1-based index of the first request with both framings, 0 if none.
    flagged: AtomicU64,
    /// Requests the service was given.
    served: AtomicU64,
}

impl Verdicts {
    /// Called once per request, in order: whether this request carried both framings.
    pub fn next_is_ambiguous(&self) -> bool {
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        self.flagged.load(Ordering::Relaxed) == n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Off,
}

/// An I/O wrapper that watches the requests read through it.
pub struct FramingWatch<T> {
    inner: T,
    state: State,
    /// Bytes of a head or line split across reads.
    partial: Vec<u8>,
    heads: u64,
    verdicts: Arc<Verdicts>,
}

impl<T> FramingWatch<T> {
    pub fn new(inner: T, verdicts: Arc<Verdicts>) -> FramingWatch<T> {
        FramingWatch {
            inner,
            state: State::Head,
            partial: Vec::new(),
            heads: 0,
            verdicts,
        }
    }

    /// Follows the requests through newly read bytes.
    fn watch(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.state != State::Off {
            let used = match self.state {
                State::Off => return,
                State::Body(rem) => {
                    let n = (data.len() as u64).min(rem);
                    self.state = if n == rem {
                        State::Head
                    } else {
                        State::Body(rem - n)
                    };
                    n as usize
                }
                State::ChunkData(rem) => {
                    let n = (data.len() as u64).min(rem);
                    self.state = if n == rem {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData(rem - n)
                    };
                    n as usize
                }
                State::Head => self.step(data, MAX_HEAD, Self::head),
                State::ChunkSize => {
                    self.step(data, MAX_LINE, |s, b| match httparse::parse_chunk_size(b) {
                        Ok(httparse::Status::Complete((n, 0))) => {
                            s.state = State::Trailers;
                            Some(n)
                        }
                        Ok(httparse::Status::Complete((n, size))) => {
                            s.state = State::ChunkData(size);
                            Some(n)
                        }
                        Ok(httparse::Status::Partial) => None,
                        Err(_) => {
                            s.state = State::Off;
                            Some(b.len())
                        }
                    })
                }
                State::ChunkDataEnd => self.step(data, MAX_LINE, |s, b| {
                    if b.len() < 2 {
                        return None;
                    }
                    s.state = if &b[..2] == b"\r\n" {
                        State::ChunkSize
                    } else {
                        State::Off
                    };
                    Some(2)
                }),
                State::Trailers => self.step(data, MAX_LINE, |s, b| {
                    let end = b.windows(2).position(|w| w == b"\r\n")?;
                    if end == 0 {
                        s.state = State::Head;
                    }
                    Some(end + 2)
                }),
            };
            data = &data[used.min(data.len())..];
        }
    }

    /// Runs `parse` over the carried-over bytes plus `data`, and returns how much of `data` it
    /// consumed. `parse` returns the bytes it used, or None when it needs more.
    fn step(
        &mut self,
        data: &[u8],
        limit: usize,
        parse: impl FnOnce(&mut Self, &[u8]) -> Option<usize>,
    ) -> usize {
        if self.partial.is_empty() {
            return match parse(self, data) {
                Some(n) => n,
                None => {
                    self.carry(data, limit);
                    data.len()
                }
            };
        }
        let before = self.partial.len();
        self.partial.extend_from_slice(data);
        let joined = std::mem::take(&mut self.partial);
        match parse(self, &joined) {
            Some(n) => n.saturating_sub(before),
            None => {
                self.partial = joined;
                if self.partial.len() > limit {
                    self.state = State::Off;
                }
                data.len()
            }
        }
    }

    fn carry(&mut self, data: &[u8], limit: usize) {
        if data.len() > limit {
            self.state = State::Off;
        } else {
            self.partial.extend_from_slice(data);
        }
    }

    /// One request head: notes both framings, and how the body ends.
    fn head(&mut self, b: &[u8]) -> Option<usize> {
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        let n = match req.parse_with_uninit_headers(b, &mut headers) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return None,
            Err(_) => {
                // hyper rejects it, or it is not HTTP/1 (an HTTP/2 preface): stop watching.
                self.state = State::Off;
                return Some(b.len());
            }
        };
        self.heads += 1;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut te = false;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok());
                match (v, length) {
                    (Some(v), None) => length = Some(v),
                    (Some(v), Some(l)) if v == l => {}
                    // hyper answers 400 itself.
                    _ => {
                        self.state = State::Off;
                        return Some(b.len());
                    }
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                te = true;
                chunked = h
                    .value
                    .rsplit(|c| *c == b',')
                    .next()
                    .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
        }
        if te && length.is_some() {
            let _ = self.verdicts.flagged.compare_exchange(
                0,
                self.heads,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            // hyper closes the connection after this request.
            self.state = State::Off;
            return Some(n);
        }
        self.state = if te {
            if chunked {
                State::ChunkSize
            } else {
                State::Off
            }
        } else {
            match length {
                Some(0) | None => State::Head,
                Some(l) => State::Body(l),
            }
        };
        Some(n)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FramingWatch<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.state != State::Off {
            if let Poll::Ready(Ok(())) = r {
                this.watch(&buf.filled()[before..]);
            }
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FramingWatch<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(stream: &[&[u8]]) -> (u64, State) {
        let v = Arc::new(Verdicts::default());
        let mut w = FramingWatch::new((), v.clone());
        for part in stream {
            w.watch(part);
        }
        (v.flagged.load(Ordering::Relaxed), w.state)
    }

    #[test]
    fn both_framings_flag_their_request_in_either_order_and_any_split() {
        let a = b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n";
        let b = b"POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
        let c = b"POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nt: 1\r\n\r\n";
        let te_cl =
            b"POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n";
        let cl_te =
            b"POST /d HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        for smuggler in [&te_cl[..], &cl_te[..]] {
            let mut all = Vec::new();
            for part in [&a[..], &b[..], &c[..], smuggler] {
                all.extend_from_slice(part);
            }
            // Whole, and cut at every byte.
            assert_eq!(flagged(&[&all]).0, 4);
            for cut in 1..all.len() {
                let (x, y) = all.split_at(cut);
                assert_eq!(flagged(&[x, y]).0, 4, "cut at {cut}");
            }
        }
        let mut clean = Vec::new();
        for part in [&a[..], &b[..], &c[..], &a[..]] {
            clean.extend_from_slice(part);
        }
        assert_eq!(flagged(&[&clean]), (0, State::Head));
    }

    #[test]
    fn a_body_that_looks_like_a_smuggled_head_is_skipped() {
        let body = b"GET / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n";
        let mut s =
            format!("POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
        s.extend_from_slice(body);
        assert_eq!(flagged(&[&s]), (0, State::Head));
    }

    #[test]
    fn http2_and_malformed_input_stop_the_watch() {
        assert_eq!(
            flagged(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]).1,
            State::Off
        );
        assert_eq!(flagged(&[b"GARBAGE\r\n\r\n"]).1, State::Off);
    }

    #[test]
    fn verdicts_match_the_request_index() {
        let v = Verdicts::default();
        v.flagged.store(2, Ordering::Relaxed);
        assert!(!v.next_is_ambiguous());
        assert!(v.next_is_ambiguous());
        assert!(!v.next_is_ambiguous());
    }
}
