//! HTTP/1.1 client connections served inline: the connection's task reads a request head,
//! runs the pipeline, and writes the response, with no other task, channel or timer per request.
//!
//! Why not hyper's server for these (it still serves everything else, see below): hyper's
//! HTTP/1 dispatcher moves each request's service future into its own slot, drives it from a
//! poll loop that also polls the connection's read and write sides, arms a header-read timer for
//! every request, and encodes the response through a second buffer. For a gateway whose own work
//! per request is a few microseconds, that machinery was the largest cost left after the kernel's
//! (`docs/http1-server.md`). nginx reads, dispatches and writes from one event handler; so does
//! this.
//!
//! Scope: the common case only. A request head that is well-formed HTTP/1.1, with no body or a
//! `Content-Length` body, no `Expect`, no `Upgrade`, no `Transfer-Encoding` and not `CONNECT`, is
//! served here. Anything else — HTTP/1.0, an HTTP/2 preface, a chunked request, `Expect:
//! 100-continue`, a malformed, oversized or conflicting head — hands the connection, with every
//! byte read so far, to hyper ([`Exit::Handoff`]), which serves the rest of the connection exactly
//! as it did before this module existed: its error answers (400, 431), interim responses and
//! HTTP/1.0 semantics stay hyper's. The one exception is a request carrying both
//! `Content-Length` and `Transfer-Encoding`: it is answered 400 by the pipeline (as
//! `framing.rs` arranges for hyper's connections) and the connection closes.
//!
//! Timeouts without per-request timers: one `Sleep` per connection ticks every half of the
//! shorter of the header-read and idle timeouts, and is re-armed only when it fires. A tick that
//! finds no byte moved since the last counts towards the idle timeout; a tick that finds a head
//! still incomplete counts towards the header-read timeout. Each closes the connection between
//! one and one and a half of its timeout (the same precision as `idle.rs`).

use crate::body::{Body, BodyError};
use crate::context::{AmbiguousFraming, ConnInfo};
use crate::headers::Forwarded;
use crate::pipeline::IdHeaders;
use crate::upstream::h1::RawHeaders;
use crate::{pipeline, Gateway};
use bytes::{Buf, Bytes, BytesMut};
use http::request::Parts;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// hyper's default, so that a head this module refuses is one hyper refuses too.
const MAX_HEADERS: usize = 100;
/// Room made before each read of a head.
const HEAD_READ: usize = 8 * 1024;
/// Reads of a request body: at most this much at a time.
const BODY_READ: usize = 64 * 1024;
/// A response body piece this small is copied behind the head and sent in one write; a larger
/// one goes in the same write as a second buffer (`writev`), not copied: at 64 KB responses the
/// copy of a 16 KB first piece was a visible part of the gateway's own CPU time.
const COALESCE: usize = 2 * 1024;
/// After a response that leaves part of a request body unread, the connection is closed; the
/// rest of the body is read and dropped for at most this long (and this much), so that a client
/// still writing it is not reset before it reads the response ("lingering close", as nginx's
/// `lingering_time`).
const LINGER: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 64 * 1024 * 1024;

/// The end of serving, as connections see it: the token wakes connections waiting between
/// requests; the flag is what the end of each request checks (an atomic load, where the
/// token's own check takes a lock).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    token: CancellationToken,
    flag: Arc<AtomicBool>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.token.cancel();
    }

    fn is_stopping(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Per-connection settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// The most a request head may take (hyper's `max_buf_size`).
    pub max_head_bytes: usize,
}

/// How a connection ended here.
pub enum Exit<S> {
    /// Closed (by either side, a timeout, an error, or shutdown).
    Closed,
    /// The rest of the connection is hyper's: the stream, and the bytes already read from it.
    Handoff(S, Bytes),
}

/// A client connection's stream, as this server writes to it.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin {
    /// The TCP socket under the stream when what is written to it reaches the client unchanged
    /// (no TLS): a response body can then be spliced into it ([`crate::splice`]).
    fn plain_tcp(&self) -> Option<&TcpStream> {
        None
    }
}

impl ClientIo for TcpStream {
    fn plain_tcp(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ClientIo for tokio_rustls::server::TlsStream<S> {}

/// Serves HTTP/1.1 requests on `io` until the connection ends or needs hyper.
pub async fn serve<S>(
    io: S,
    gw: &Gateway,
    conn: ConnInfo,
    forwarded: Arc<Forwarded>,
    limits: Limits,
    shutdown: Stop,
) -> Exit<S>
where
    S: ClientIo,
{
    let mut c = Conn {
        io,
        buf: BytesMut::new(),
        out: Vec::new(),
        ticker: Ticker::new(limits),
        shutdown: Box::pin(shutdown.token.clone().cancelled_owned()),
        stop: shutdown,
        max_head: limits.max_head_bytes.max(8192),
    };
    // One head for all the connection's requests: each is parsed into it, and its header map
    // keeps its allocation from one request to the next.
    let mut parts = Request::new(()).into_parts().0;
    loop {
        let plan = match c.read_head(&mut parts).await {
            Ok(Some(plan)) => plan,
            Ok(None) => return Exit::Closed,
            Err(Refer) => return Exit::Handoff(c.io, c.buf.freeze()),
        };
        let head_only = parts.method == Method::HEAD;
        let mut keep_alive = plan.keep_alive;
        // Whether part of the request body may still be on its way (then the connection closes).
        let mut unread = plan.unread_body;
        let resp = match plan.body {
            BodyPlan::Stream(remaining) => {
                let (tx, rx) = mpsc::channel(1);
                let body = Body::Client(ClientBody { rx, remaining });
                let handled = pipeline::handle(gw, conn, forwarded.clone(), &mut parts, body, true);
                let mut handled = pin!(handled);
                let mut pump = pin!(c.pump(remaining, tx));
                let mut pumped = false;
                let resp = poll_fn(|cx| {
                    if !pumped {
                        if let Poll::Ready(r) = pump.as_mut().poll(cx) {
                            pumped = r;
                            unread = !r;
                        }
                    }
                    handled.as_mut().poll(cx)
                })
                .await;
                keep_alive &= pumped;
                resp
            }
            BodyPlan::Ready(body) => {
                pipeline::handle(gw, conn, forwarded.clone(), &mut parts, body, true).await
            }
        };
        keep_alive &= !unread && !c.stop.is_stopping();
        let complete = c.write_response(resp, head_only, keep_alive).await;
        if !(complete && keep_alive) {
            c.close(unread).await;
            return Exit::Closed;
        }
    }
}

/// The head needs hyper: hand the connection over.
struct Refer;

enum BodyPlan {
    /// The whole body is in hand (or there is none).
    Ready(Body),
    /// This many bytes are still to be read from the connection.
    Stream(u64),
}

struct Plan {
    body: BodyPlan,
    keep_alive: bool,
    /// The request may have body bytes that were never read (the connection closes after it).
    unread_body: bool,
}

struct Conn<S> {
    io: S,
    /// Bytes read and not yet consumed.
    buf: BytesMut,
    /// The response head being written (reused from request to request).
    out: Vec<u8>,
    ticker: Ticker,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    stop: Stop,
    max_head: usize,
}

impl<S: ClientIo> Conn<S> {
    /// Reads and parses the next request head into `parts`. `Ok(None)`: the connection is over.
    async fn read_head(&mut self, parts: &mut Parts) -> Result<Option<Plan>, Refer> {
        loop {
            if !self.buf.is_empty() {
                if let Some(parsed) = self.parse_head(parts)? {
                    self.ticker.head_done();
                    return Ok(Some(parsed));
                }
                if self.buf.len() > self.max_head {
                    return Err(Refer);
                }
            }
            let waiting = self.buf.is_empty();
            match self.fill(HEAD_READ, waiting).await {
                Ok(0) | Err(_) => {
                    // A partial head at EOF or a timeout: nothing to answer.
                    return Ok(None);
                }
                Ok(_) => {}
            }
        }
    }

    /// Parses the head at the start of `buf`, if complete, into `parts`, and takes it (and a
    /// body already in hand) out of `buf`. On `Err`, `parts` may hold part of the head.
    fn parse_head(&mut self, parts: &mut Parts) -> Result<Option<Plan>, Refer> {
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut []);
        let len = match parsed.parse_with_uninit_headers(&self.buf, &mut headers) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Refer),
        };
        if parsed.version != Some(1) {
            return Err(Refer);
        }
        let method =
            Method::from_bytes(parsed.method.unwrap_or("").as_bytes()).map_err(|_| Refer)?;
        if method == Method::CONNECT {
            return Err(Refer);
        }
        let base = self.buf.as_ptr() as usize;
        let path = parsed.path.unwrap_or("");
        let path_at = (path.as_ptr() as usize - base, path.len());
        let mut names = HEADER_NAMES.with_borrow_mut(std::mem::take);
        names.clear();
        let mut length: Option<u64> = None;
        let mut chunked_or_te = false;
        let mut keep_alive = true;
        for h in parsed.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| Refer)?;
            if name == header::CONTENT_LENGTH {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or(Refer)?;
                if length.is_some_and(|l| l != v) {
                    return Err(Refer);
                }
                length = Some(v);
            } else if name == header::TRANSFER_ENCODING {
                chunked_or_te = true;
            } else if name == header::EXPECT || name == header::UPGRADE {
                return Err(Refer);
            } else if name == header::CONNECTION {
                keep_alive &= !h
                    .value
                    .split(|c| *c == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
            }
            let at = h.value.as_ptr() as usize - base;
            names.push((name, at, h.value.len()));
        }
        let ambiguous = chunked_or_te && length.is_some();
        if chunked_or_te && !ambiguous {
            HEADER_NAMES.set(names);
            return Err(Refer);
        }
        let head = self.buf.split_to(len).freeze();
        let uri =
            Uri::from_maybe_shared(head.slice(path_at.0..path_at.0 + path_at.1)).map_err(|_| Refer);
        // The previous request's map, emptied: its allocation is reused. Room for the
        // `X-Forwarded-*` headers a proxied request gains, without growing. (At most
        // MAX_HEADERS + 4 entries: the map a connection keeps stays small.)
        let map = &mut parts.headers;
        map.clear();
        map.reserve(names.len() + 4);
        for (name, at, n) in names.drain(..) {
            // httparse admitted only visible ASCII, obs-text, space and tab: valid values.
            if let Ok(v) = HeaderValue::from_maybe_shared(head.slice(at..at + n)) {
                map.append(name, v);
            }
        }
        HEADER_NAMES.set(names);
        let Ok(uri) = uri else {
            // hyper answers 400 for a target it cannot read; the head is gone from `buf`, so
            // give it back.
            let mut again = BytesMut::from(&head[..]);
            again.extend_from_slice(&self.buf);
            self.buf = again;
            return Err(Refer);
        };
        parts.method = method;
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        parts.extensions.clear();
        let plan = if ambiguous {
            parts.extensions.insert(AmbiguousFraming);
            Plan {
                body: BodyPlan::Ready(Body::Empty),
                keep_alive: false,
                unread_body: true,
            }
        } else {
            match length {
                None | Some(0) => Plan {
                    body: BodyPlan::Ready(Body::Empty),
                    keep_alive,
                    unread_body: false,
                },
                Some(n) if n <= self.buf.len() as u64 => Plan {
                    body: BodyPlan::Ready(Body::full(self.buf.split_to(n as usize).freeze())),
                    keep_alive,
                    unread_body: false,
                },
                Some(n) => Plan {
                    body: BodyPlan::Stream(n),
                    keep_alive,
                    unread_body: true,
                },
            }
        };
        Ok(Some(plan))
    }

    /// Feeds the request body to the pipeline. True once all of it was read.
    async fn pump(&mut self, mut remaining: u64, tx: mpsc::Sender<io::Result<Bytes>>) -> bool {
        loop {
            if !self.buf.is_empty() {
                let n = remaining.min(self.buf.len() as u64) as usize;
                let Ok(permit) = tx.reserve().await else {
                    // The pipeline dropped the body: the rest stays unread.
                    return false;
                };
                permit.send(Ok(self.buf.split_to(n).freeze()));
                remaining -= n as u64;
                if remaining == 0 {
                    return true;
                }
            }
            let want = remaining.min(BODY_READ as u64) as usize;
            match self.fill(want, false).await {
                Ok(0) => {
                    let _ = tx
                        .send(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection inside the request body",
                        )))
                        .await;
                    return false;
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return false;
                }
            }
        }
    }

    /// Reads more into `buf` (room for `want`). `idle`: between requests, when shutdown ends
    /// the wait. Errors on timeouts and shutdown.
    async fn fill(&mut self, want: usize, idle: bool) -> io::Result<usize> {
        self.buf.reserve(want);
        poll_fn(|cx| {
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf) {
                Poll::Ready(Ok(n)) => {
                    self.ticker.active = true;
                    return Poll::Ready(Ok(n));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            if idle && self.shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
            }
            let reading_head = !idle && self.buf.len() < self.max_head;
            self.ticker.check(cx, reading_head)?;
            Poll::Pending
        })
        .await
    }

    /// Writes all of `bufs`.
    async fn write_all(&mut self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        let mut bufs = &mut bufs[..];
        IoSlice::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            let n = poll_fn(
                |cx| match Pin::new(&mut self.io).poll_write_vectored(cx, bufs) {
                    Poll::Ready(Ok(0)) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(r) => {
                        self.ticker.active = true;
                        Poll::Ready(r)
                    }
                    Poll::Pending => {
                        self.ticker.check(cx, false)?;
                        Poll::Pending
                    }
                },
            )
            .await?;
            IoSlice::advance_slices(&mut bufs, n);
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| match Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Pending => {
                self.ticker.check(cx, false)?;
                Poll::Pending
            }
            r => r,
        })
        .await
    }

    /// Writes the response. False when the connection cannot carry another request (the body
    /// failed or did not match its length, or the client went away).
    #[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice
    fn write_response(
        &mut self,
        resp: http::Response<crate::access_log::LoggedBody>,
        head_only: bool,
        keep_alive: bool,
    ) -> impl Future<Output = bool> + '_ {
        // An `async` block, not an `async fn`: see `pipeline::handle`.
        async move {
            let (mut parts, mut body) = resp.into_parts();
            let raw = body.take_raw_headers();
            let ids = body.ids.take();
            let mut body = pin!(body);
            let status = parts.status;
            let bodiless = head_only
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::NOT_MODIFIED
                || status.is_informational();
            // RFC 9112 §6: the framing is this server's to decide.
            parts.headers.remove(header::TRANSFER_ENCODING);
            let declared = match crate::headers::get(&parts.headers, &header::CONTENT_LENGTH) {
                Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
                    Some(n) => Some(n),
                    None => {
                        parts.headers.remove(header::CONTENT_LENGTH);
                        None
                    }
                },
                None => raw.as_ref().and_then(|r| r.content_length),
            };
            let framing = match declared.or(body.size_hint().exact()) {
                _ if bodiless => Framing::None,
                Some(n) => Framing::Length(n),
                None => Framing::Chunked,
            };

            let mut out = std::mem::take(&mut self.out);
            out.clear();
            ResponseHead {
                status,
                raw: raw.as_deref(),
                headers: &parts.headers,
                ids: ids.as_ref(),
                framing,
                add_length: declared.is_none(),
                keep_alive,
            }
            .encode(&mut out);
            let ok = self.write_body(&mut out, body.as_mut(), framing).await;
            self.out = out;
            ok
        }
    }

    async fn write_body(
        &mut self,
        out: &mut Vec<u8>,
        mut body: Pin<&mut crate::access_log::LoggedBody>,
        framing: Framing,
    ) -> bool {
        if framing == Framing::None {
            // The body (empty for HEAD, 204, 304) is dropped unread; its access log line is
            // written as it drops.
            return self.write_all(&mut [IoSlice::new(out)]).await.is_ok()
                && self.flush().await.is_ok();
        }
        let mut sent: u64 = 0;
        let mut head_pending = true;
        let mut broken = false;
        loop {
            // Once the head is out, the rest of a long upstream body may go socket to socket;
            // what follows then finds the body ended (or copies it, when no pipe was to be had).
            if !head_pending {
                if let Some(client) = splice_target(&self.io, &mut body, framing, sent) {
                    let (n, ok) = splice_rest(client, &mut self.ticker, body.as_mut()).await;
                    sent += n;
                    if !ok {
                        return false;
                    }
                }
            }
            // The first piece is looked for without waiting, so that a body in hand goes out in
            // the same write as the head.
            let frame = if head_pending {
                match poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await {
                    Poll::Ready(f) => f,
                    Poll::Pending => {
                        if self.write_all(&mut [IoSlice::new(out)]).await.is_err() {
                            return false;
                        }
                        out.clear();
                        head_pending = false;
                        continue;
                    }
                }
            } else {
                poll_fn(|cx| body.as_mut().poll_frame(cx)).await
            };
            let data = match frame {
                None => break,
                Some(Err(_)) => {
                    broken = true;
                    break;
                }
                Some(Ok(f)) => match f.into_data() {
                    Ok(d) if !d.is_empty() => d,
                    _ => continue, // trailers are not forwarded
                },
            };
            let data = match framing {
                Framing::Length(n) => {
                    // Never more than the head announced.
                    let room = n - sent;
                    if room == 0 {
                        broken = true;
                        break;
                    }
                    if (data.len() as u64) > room {
                        broken = true;
                        data.slice(..room as usize)
                    } else {
                        data
                    }
                }
                _ => data,
            };
            sent += data.len() as u64;
            let end = body.is_end_stream() || broken;
            let mut chunk_head = [0u8; 18];
            let chunk_head = match framing {
                Framing::Chunked => chunk_size_line(&mut chunk_head, data.len()),
                _ => &[][..],
            };
            let tail: &[u8] = match framing {
                Framing::Chunked if end && !broken => b"\r\n0\r\n\r\n",
                Framing::Chunked => b"\r\n",
                _ => b"",
            };
            let r = if head_pending && data.len() <= COALESCE {
                out.extend_from_slice(chunk_head);
                out.extend_from_slice(&data);
                out.extend_from_slice(tail);
                self.write_all(&mut [IoSlice::new(out)]).await
            } else {
                let head: &[u8] = if head_pending { out } else { &[] };
                self.write_all(&mut [
                    IoSlice::new(head),
                    IoSlice::new(chunk_head),
                    IoSlice::new(&data),
                    IoSlice::new(tail),
                ])
                .await
            };
            if r.is_err() {
                return false;
            }
            if head_pending {
                out.clear();
                head_pending = false;
            }
            if broken {
                break;
            }
            if end {
                return self.flush().await.is_ok() && framing.complete(sent);
            }
        }
        // The body ended (or failed) without is_end_stream having said so beforehand.
        if head_pending {
            if self.write_all(&mut [IoSlice::new(out)]).await.is_err() {
                return false;
            }
            out.clear();
        }
        if broken {
            let _ = self.flush().await;
            return false;
        }
        let r = match framing {
            Framing::Chunked => self.write_all(&mut [IoSlice::new(b"0\r\n\r\n")]).await,
            _ => Ok(()),
        };
        r.is_ok() && self.flush().await.is_ok() && framing.complete(sent)
    }

    /// Ends the connection: shuts down the write side, then, if the client may still be sending,
    /// reads and drops what it sends for a short while so that it reads the response before
    /// the close.
    async fn close(&mut self, linger: bool) {
        let _ = tokio::time::timeout(
            LINGER,
            poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)),
        )
        .await;
        if !linger {
            return;
        }
        let deadline = Instant::now() + LINGER;
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            self.buf.clear();
            self.buf.reserve(BODY_READ);
            let read = poll_fn(|cx| {
                tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf)
            });
            match tokio::time::timeout_at(deadline, read).await {
                Ok(Ok(n)) if n > 0 => dropped += n,
                _ => return,
            }
        }
    }
}

/// The client socket to splice the rest of `body` into, when it may be ([`crate::splice`]): a
/// plain TCP client, an upstream body with at least `SPLICE_MIN` still to come, and that rest
/// exactly what the head announced after the `sent` bytes.
fn splice_target<'a, S: ClientIo>(
    io: &'a S,
    body: &mut Pin<&mut crate::access_log::LoggedBody>,
    framing: Framing,
    sent: u64,
) -> Option<&'a TcpStream> {
    let client = io.plain_tcp()?;
    let rem = body.splice_ready()?;
    (rem >= crate::splice::SPLICE_MIN && framing == Framing::Length(sent + rem)).then_some(client)
}

/// Sends the rest of an upstream body to the client through a pipe, socket to socket
/// ([`crate::splice`]). Returns the bytes sent, and whether the response may go on: false when
/// it is broken off (the body failed, the client went away, or it timed out). With no pipe to
/// be had, it sends nothing and the caller copies the body.
async fn splice_rest(
    client: &TcpStream,
    ticker: &mut Ticker,
    mut body: Pin<&mut crate::access_log::LoggedBody>,
) -> (u64, bool) {
    let Some(mut pipe) = crate::splice::Pipe::take() else {
        return (0, true);
    };
    let mut sent = 0;
    let ok = loop {
        if pipe.held() > 0 {
            let drained = poll_fn(|cx| loop {
                match client.poll_write_ready(cx) {
                    Poll::Pending => {
                        ticker.check(cx, false)?;
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => {}
                }
                match pipe.drain(client) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            })
            .await;
            match drained {
                Ok(n) => {
                    sent += n as u64;
                    ticker.active = true;
                }
                Err(_) => break false,
            }
        } else if body.is_end_stream() {
            break true;
        } else if poll_fn(|cx| body.as_mut().get_mut().poll_splice(cx, &mut pipe))
            .await
            .is_err()
        {
            break false;
        }
    };
    pipe.give_back();
    (sent, ok)
}

thread_local! {
    /// Header names and where their values are in the head, reused from request to request.
    static HEADER_NAMES: RefCell<Vec<(HeaderName, usize, usize)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (HEAD, 204, 304).
    None,
    Length(u64),
    Chunked,
}

impl Framing {
    /// Whether `sent` body bytes complete a response framed this way.
    fn complete(self, sent: u64) -> bool {
        match self {
            Framing::Length(n) => sent == n,
            _ => true,
        }
    }
}

/// What a response head is written from.
struct ResponseHead<'a> {
    status: StatusCode,
    /// An upstream's header lines passed through.
    raw: Option<&'a RawHeaders>,
    headers: &'a HeaderMap,
    ids: Option<&'a IdHeaders>,
    framing: Framing,
    /// Write `content-length` (the headers do not carry it).
    add_length: bool,
    keep_alive: bool,
}

impl ResponseHead<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        let &ResponseHead {
            status,
            raw,
            headers,
            ids,
            framing,
            add_length,
            keep_alive,
        } = self;
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
        out.extend_from_slice(b"\r\n");
        let mut has_date = false;
        if let Some(raw) = raw {
            raw.write(out);
            has_date = raw.has_date;
        }
        for (name, value) in headers {
            if name == header::CONNECTION {
                continue;
            }
            has_date |= name == header::DATE;
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(ids) = ids {
            ids.write(out);
        }
        match framing {
            Framing::Length(n) if add_length => {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            _ => {}
        }
        if !has_date {
            out.extend_from_slice(b"date: ");
            out.extend_from_slice(&crate::clock::http_date());
            out.extend_from_slice(b"\r\n");
        }
        if !keep_alive {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// `{size:x}\r\n` into `buf`.
fn chunk_size_line(buf: &mut [u8; 18], n: usize) -> &[u8] {
    let mut i = 16;
    let mut v = n;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    buf[16] = b'\r';
    buf[17] = b'\n';
    &buf[i..]
}

/// The connection's timeouts (see the module's doc).
struct Ticker {
    sleep: Pin<Box<Sleep>>,
    tick: Duration,
    /// A byte moved since the last tick.
    active: bool,
    idle_ticks: u32,
    idle_limit: u32,
    head_ticks: u32,
    head_limit: u32,
}

impl Ticker {
    fn new(l: Limits) -> Ticker {
        let tick = (l.header_read_timeout.min(l.idle_timeout) / 2).max(Duration::from_millis(1));
        let ticks =
            |d: Duration| (d.as_nanos().div_ceil(tick.as_nanos())).min(u32::MAX as u128) as u32;
        Ticker {
            sleep: Box::pin(tokio::time::sleep(tick)),
            tick,
            active: false,
            idle_ticks: 0,
            idle_limit: ticks(l.idle_timeout).max(1),
            head_ticks: 0,
            // A head may start just before a tick: one more, so that it gets its full time.
            head_limit: ticks(l.header_read_timeout).max(1) + 1,
        }
    }

    fn head_done(&mut self) {
        self.head_ticks = 0;
    }

    /// Called while waiting for I/O: an error once a timeout has passed.
    fn check(&mut self, cx: &mut Context<'_>, reading_head: bool) -> io::Result<()> {
        while self.sleep.as_mut().poll(cx).is_ready() {
            if std::mem::take(&mut self.active) {
                self.idle_ticks = 0;
            } else {
                self.idle_ticks += 1;
            }
            if reading_head {
                self.head_ticks += 1;
            }
            if self.idle_ticks >= self.idle_limit || self.head_ticks >= self.head_limit {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ));
            }
            let next = Instant::now() + self.tick;
            self.sleep.as_mut().reset(next);
        }
        Ok(())
    }
}

/// A request body read by the connection ([`Conn::pump`]) while the pipeline runs.
#[derive(Debug)]
pub struct ClientBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl http_body::Body for ClientBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(Some(Err("the request body ended early".into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A stream that yields `prefix` before its own bytes: how hyper is given a connection this
/// module has already read from.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Bytes, inner: S) -> Prefixed<S> {
        Prefixed { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
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
        bufs: &[IoSlice<'_>],
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

    #[test]
    fn chunk_size_lines_are_lower_hex() {
        let mut b = [0u8; 18];
        assert_eq!(chunk_size_line(&mut b, 0), b"0\r\n");
        assert_eq!(chunk_size_line(&mut b, 10), b"a\r\n");
        assert_eq!(chunk_size_line(&mut b, 65536), b"10000\r\n");
        assert_eq!(chunk_size_line(&mut b, usize::MAX), b"ffffffffffffffff\r\n");
    }

    #[tokio::test]
    async fn prefixed_yields_the_prefix_first() {
        use tokio::io::AsyncReadExt;
        let (mut a, b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, b"world")
            .await
            .unwrap();
        drop(a);
        let mut p = Prefixed::new(Bytes::from_static(b"hello "), b);
        let mut s = String::new();
        p.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }
}
