//! HTTP/1.1 to plain `http://` upstreams, driven by the request's own task.
//!
//! Why not hyper's client here (it still serves HTTPS and HTTP/2 upstreams, see `mod.rs`):
//! hyper runs every client connection as a task of its own. A request reaches it through a
//! channel, the response head comes back through another, and each piece of the response body
//! is handed over through a third, with a task wake-up at each step; hyper-util's pool adds a
//! mutex and a SipHash per checkout. For a gateway whose whole job is to pass a request on, those
//! hand-offs were the largest cost per request after the kernel's (`docs/upstream-h1.md`). nginx
//! drives the upstream connection from the same event handler as the client's, and so does this:
//! the request's task writes the request and reads the response head on a pooled connection, the
//! response body reads straight from the socket into the buffer it hands to the server, and the
//! connection goes back to its worker's pool when the body ends. The pool is per worker thread
//! (a worker's connections are registered with its own event loop), without a lock.
//!
//! Framing follows RFC 9112 §6: `Transfer-Encoding` (chunked last) over `Content-Length`, no body
//! for HEAD, 204 and 304, interim 1xx responses skipped, otherwise the body runs to the close. A
//! connection is reused only after a complete response that did not ask to close, with nothing
//! left over. A request on a reused connection that finds it closed before any byte of the
//! response is retried once on a new connection when it is idempotent and its body is in hand.

use super::Options;
use crate::body::{Body, BodyError};
use crate::headers::{Forwarded, ForwardedHeader, HeaderKind};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The most a response head may take.
const MAX_HEAD: usize = 64 * 1024;
/// The most header lines a response head may have.
const MAX_HEADERS: usize = 128;
/// The most a chunk-size line or a trailer line may take.
const MAX_LINE: usize = 8 * 1024;
/// Read sizes: at least this much room is made before each read...
const READ_MIN: usize = 16 * 1024;
/// ...and at most this much, however long the body still is.
const READ_MAX: usize = 256 * 1024;
/// A request body this small goes out in the same write as the head.
const COALESCE_BODY: usize = 16 * 1024;
/// Idle connections kept per upstream `host:port` and worker.
const MAX_IDLE_PER_HOST: usize = 1024;
/// An idle connection older than this is closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an exchange with the upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, io::Error),
    #[error("upstream connection failed: {0}")]
    Io(#[from] io::Error),
    #[error("the upstream closed the connection before answering")]
    Closed,
    #[error("invalid response from the upstream: {0}")]
    Invalid(&'static str),
    #[error("the request URI has no host")]
    NoHost,
    #[error("reading the request body failed: {0}")]
    Body(BodyError),
}

/// One connection to an upstream, with the bytes read from it and not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    key: Arc<str>,
    reused: bool,
    ack: AckTimer,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

type Pool = FxHashMap<Arc<str>, VecDeque<Idle>>;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
    /// Request heads are encoded here.
    static HEAD_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The newest idle connection to `key` that is still open, if any.
fn checkout(key: &str) -> Option<Conn> {
    POOL.try_with(|p| {
        let mut p = p.try_borrow_mut().ok()?;
        let list = p.get_mut(key)?;
        // Newest first, and without reading the clock: a connection past IDLE_TIMEOUT that the
        // upstream has not closed still works (checkin prunes the old ones).
        while let Some(idle) = list.pop_back() {
            if still_open(&idle.conn.stream) {
                let mut conn = idle.conn;
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    })
    .ok()
    .flatten()
}

fn checkin(conn: Conn) {
    let _ = POOL.try_with(move |p| {
        let Ok(mut p) = p.try_borrow_mut() else {
            return;
        };
        let now = crate::clock::coarse_instant();
        let list = match p.get_mut(&*conn.key) {
            Some(l) => l,
            None => p.entry(conn.key.clone()).or_default(),
        };
        while list
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= IDLE_TIMEOUT)
        {
            list.pop_front();
        }
        if list.len() < MAX_IDLE_PER_HOST {
            list.push_back(Idle { conn, since: now });
        }
    });
}

/// An idle HTTP/1.1 connection has nothing to read: readable means the upstream closed it (or
/// sent bytes nobody asked for). Costs a system call only when the event loop saw it readable.
fn still_open(stream: &TcpStream) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match stream.poll_read_ready(&mut cx) {
        Poll::Pending => true,
        Poll::Ready(Err(_)) => false,
        Poll::Ready(Ok(())) => {
            let mut probe = [0u8; 1];
            matches!(stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        }
    }
}

async fn connect(authority: &http::uri::Authority, key: &Arc<str>) -> Result<Conn, Error> {
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().unwrap_or(80);
    let attempt = async {
        let mut last = None;
        for addr in tokio::net::lookup_host((host, port)).await? {
            match TcpStream::connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
    };
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(Error::Connect(authority.to_string(), e)),
        Err(_) => {
            return Err(Error::Connect(
                authority.to_string(),
                io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
            ))
        }
    };
    stream.set_nodelay(true)?;
    Ok(Conn {
        stream,
        buf: BytesMut::new(),
        key: key.clone(),
        reused: false,
        ack: AckTimer::default(),
    })
}

/// The pool key of an authority: the `Arc` the pool already holds when there is one.
fn pool_key(authority: &str) -> Arc<str> {
    POOL.try_with(|p| {
        p.try_borrow()
            .ok()
            .and_then(|p| p.get_key_value(authority).map(|(k, _)| k.clone()))
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| Arc::from(authority))
}

/// Sends the request `parts` and `body` (an absolute `http://` URI) and returns the response with its body streaming
/// from the connection.
#[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice
pub fn send<'a>(
    parts: &'a http::request::Parts,
    mut body: Body,
    opts: Options<'a>,
) -> impl std::future::Future<Output = Result<Response<Body>, BodyError>> + Send + 'a {
    // An `async` block, not an `async fn`: an `async fn`'s future keeps its arguments twice (as
    // passed, and moved into the body's locals), and this one is boxed for every request.
    async move {
        let authority = parts.uri.authority().ok_or(Error::NoHost)?;
        let mut pooled = checkout(authority.as_str());
        // Sent again only if it may be (RFC 9110 §9.2.2: idempotent methods; nginx and Go's
        // client do not resend a POST either) and its body is in hand: the exchange only
        // borrows a body in hand, so it is still there for the second attempt.
        let mut again = pooled.is_some()
            && parts.method.is_idempotent()
            && matches!(body, Body::Empty | Body::Full(_));
        // One await of each kind (a loop, not repeated calls), so that this future stays
        // small: it is part of every proxied request's.
        loop {
            let conn = match pooled.take() {
                Some(c) => c,
                // Boxed: rare next to pooled connections, and a large future.
                None => Box::pin(connect(authority, &pool_key(authority.as_str()))).await?,
            };
            match exchange(conn, parts, &mut body, opts).await {
                Ok(r) => return Ok(r),
                Err((e, stale)) if stale && std::mem::take(&mut again) => {
                    tracing::debug!(error = %e, "a pooled upstream connection was closed; sending again");
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
}

/// One request and response head on `conn`. On error, whether the connection was found closed
/// before any byte of a response (so that the request may be sent again elsewhere).
///
/// The body is borrowed, not moved, here and in `write_request`: a body in hand stays with the
/// caller for a second attempt, and these futures (inside every proxied request's) do not each
/// keep a copy of it.
async fn exchange(
    mut conn: Conn,
    parts: &http::request::Parts,
    body: &mut Body,
    opts: Options<'_>,
) -> Result<Response<Body>, (Error, bool)> {
    let stale = |e: io::Error| {
        let closed = matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        );
        (Error::Io(e), closed)
    };
    write_request(&mut conn, parts, body, opts.forwarded)
        .await
        .map_err(|e| match e {
            Error::Io(e) => stale(e),
            other => (other, false),
        })?;
    read_response(conn, &parts.method, opts.raw_ok).await
}

/// How the request body is framed.
#[derive(Clone, Copy)]
enum Framing {
    Length(u64),
    Chunked,
}

/// The request head. `forwarded`: `X-Forwarded-*` written here, by [`set_forwarded`]'s rules
/// (`X-Forwarded-For` gains the client after any list the request carries; `-Proto` and `-Port`
/// are the gateway's), instead of inserted into the map first.
///
/// [`set_forwarded`]: crate::headers::set_forwarded
fn encode_head(
    parts: &http::request::Parts,
    framing: Framing,
    forwarded: Option<&Forwarded>,
    dst: &mut Vec<u8>,
) {
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    dst.reserve(64 + pq.len() + parts.headers.len() * 48);
    dst.put_slice(parts.method.as_str().as_bytes());
    dst.put_u8(b' ');
    dst.put_slice(pq.as_bytes());
    dst.put_slice(b" HTTP/1.1\r\n");
    if crate::headers::get(&parts.headers, &header::HOST).is_none() {
        if let Some(a) = parts.uri.authority() {
            dst.put_slice(b"host: ");
            dst.put_slice(a.as_str().as_bytes());
            dst.put_slice(b"\r\n");
        }
    }
    let mut forwarded_for = false;
    for (name, value) in &parts.headers {
        // Framing is this client's to decide; hop-by-hop headers were removed by the caller.
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        if let Some(f) = forwarded {
            match f.kind(name) {
                Some(ForwardedHeader::For) => {
                    // The first line carries the list (as the map's entry would); later ones go.
                    if !std::mem::replace(&mut forwarded_for, true) {
                        f.write_for(Some(value), dst);
                    }
                    continue;
                }
                Some(ForwardedHeader::ProtoOrPort) => continue,
                None => {}
            }
        }
        dst.put_slice(name.as_str().as_bytes());
        dst.put_slice(b": ");
        dst.put_slice(value.as_bytes());
        dst.put_slice(b"\r\n");
    }
    if let Some(f) = forwarded {
        if !forwarded_for {
            f.write_for(None, dst);
        }
        f.write_proto_and_port(dst);
    }
    match framing {
        Framing::Length(0) if !method_expects_body(&parts.method) => {}
        Framing::Length(n) => {
            dst.put_slice(b"content-length: ");
            dst.put_slice(n.to_string().as_bytes());
            dst.put_slice(b"\r\n");
        }
        Framing::Chunked => dst.put_slice(b"transfer-encoding: chunked\r\n"),
    }
    dst.put_slice(b"\r\n");
}

fn method_expects_body(m: &Method) -> bool {
    *m == Method::POST || *m == Method::PUT || *m == Method::PATCH
}

async fn write_request(
    conn: &mut Conn,
    parts: &http::request::Parts,
    body: &mut Body,
    forwarded: Option<&Forwarded>,
) -> Result<(), Error> {
    use http_body::Body as _;
    let framing = match body.size_hint().exact() {
        Some(n) => Framing::Length(n),
        None => Framing::Chunked,
    };
    // The worker's buffer, reused from request to request (a request that finds it taken, by
    // one whose write is pending, makes its own).
    let mut out = HEAD_BUF.with_borrow_mut(std::mem::take);
    out.clear();
    encode_head(parts, framing, forwarded, &mut out);
    let r = match body {
        Body::Empty | Body::Full(None) => conn.stream.write_all(&out).await,
        Body::Full(Some(b)) if b.len() <= COALESCE_BODY => {
            out.extend_from_slice(b);
            conn.stream.write_all(&out).await
        }
        Body::Full(Some(b)) => match conn.stream.write_all(&out).await {
            Ok(()) => conn.stream.write_all(b).await,
            Err(e) => Err(e),
        },
        streamed => {
            let r = conn.stream.write_all(&out).await;
            HEAD_BUF.set(out);
            r?;
            // Boxed: streamed bodies are the exception, and their loop makes a large future.
            let streamed = std::mem::take(streamed);
            return Box::pin(write_streamed(conn, streamed, framing)).await;
        }
    };
    HEAD_BUF.set(out);
    Ok(r?)
}

async fn write_streamed(conn: &mut Conn, mut body: Body, framing: Framing) -> Result<(), Error> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::Body)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        if let Framing::Chunked = framing {
            let size = format!("{:x}\r\n", data.len());
            conn.stream.write_all(size.as_bytes()).await?;
            conn.stream.write_all(&data).await?;
            conn.stream.write_all(b"\r\n").await?;
        } else {
            conn.stream.write_all(&data).await?;
        }
    }
    if let Framing::Chunked = framing {
        conn.stream.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

/// Reads into the connection's buffer, making room for `want` bytes (within READ_MIN..READ_MAX).
///
/// One byte more than `want`: a read that fills the buffer exactly leaves tokio unsure whether
/// the socket has more, so it keeps the socket marked readable, and the next checkout's
/// `still_open` then spends a system call to find it empty (one per request at 64 KB
/// responses, whose last read is exactly the rest of the body). A read short of the room
/// clears the mark.
fn poll_fill(conn: &mut Conn, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
    conn.buf
        .reserve(want.saturating_add(1).clamp(READ_MIN, READ_MAX));
    tokio_util::io::poll_read_buf(Pin::new(&mut conn.stream), cx, &mut conn.buf)
}

/// How long a response body may wait for its next bytes before the gateway acknowledges what
/// it has ([`AckTimer`]). Tokio's timers tick by the millisecond, so this is the least there is.
const ACK_AFTER: Duration = Duration::from_millis(1);
/// Where a disarmed [`AckTimer`] is put: later than any wait, so that it does not fire.
const ACK_PARKED: Duration = Duration::from_secs(3600);

/// Acknowledges what the upstream sent when the rest of a response body is slow to come,
/// instead of after the kernel's delayed-ACK timer.
///
/// A request/response connection is in Linux's "pingpong" mode, where the ACK for received
/// data waits up to 40 ms to ride on the next request. An upstream whose last small segment is
/// held back until its previous one is acknowledged (Nagle's algorithm, or `TCP_CORK` with
/// nginx's `tcp_nopush` and `sendfile`) then stalls the response for those 40 ms. On the
/// benchmark's 64 KB responses that was 1 % of requests at 20–40 ms, and nginx as a proxy shows
/// the same (`docs/upstream-h1.md`).
///
/// The ACK is forced (`TCP_QUICKACK`) only after a body has waited [`ACK_AFTER`]. Forcing it on
/// every wait, as this first did, cost the upstream: an ACK it would not otherwise get per
/// response, and nginx serving 64 KB behind archway spent 15–20 % more CPU per response. A tail
/// that comes at once, the common case, now costs a timer reset and no ACK; a held one waits
/// about 1 ms instead of 40.
#[derive(Default)]
struct AckTimer {
    /// Made at the connection's first wait, then reset: one registration in the runtime's timer
    /// wheel per connection, not one per wait.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The timer runs for the current wait.
    armed: bool,
}

impl AckTimer {
    /// A body read found no bytes: starts the wait's timer, or, when it has run out, sends the
    /// ACK now.
    fn waiting(&mut self, stream: &TcpStream, cx: &mut Context<'_>) {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(ACK_AFTER)));
        if !std::mem::replace(&mut self.armed, true) {
            sleep.as_mut().reset(Instant::now() + ACK_AFTER);
        }
        if std::future::Future::poll(sleep.as_mut(), cx).is_ready() {
            ack_now(stream);
            self.disarm();
        }
    }

    /// Bytes came (or the ACK went): the timer is moved out of the way. Moving it later only
    /// stores the new time in tokio; the wheel moves the entry when the old time comes, without
    /// waking the task.
    fn disarm(&mut self) {
        if std::mem::take(&mut self.armed) {
            if let Some(sleep) = self.sleep.as_mut() {
                sleep.as_mut().reset(Instant::now() + ACK_PARKED);
            }
        }
    }
}

/// Sends the ACK for what was received at once (`TCP_QUICKACK`).
fn ack_now(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Best effort: a failure only leaves the kernel's timing.
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

/// How the response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// This many bytes are still to come.
    Length(u64),
    Chunked(Chunk),
    /// Until the upstream closes the connection.
    Close,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of the chunk's data are still to come.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty line.
    Trailers,
}

async fn read_response(
    mut conn: Conn,
    method: &Method,
    raw_ok: bool,
) -> Result<Response<Body>, (Error, bool)> {
    let mut first = true;
    loop {
        if !conn.buf.is_empty() {
            match parse_head(&mut conn, method, raw_ok).map_err(|e| (e, false))? {
                Some(Head::Interim) => continue,
                Some(Head::Final(parts, state, keep_alive, raw)) => {
                    let mut body = H1Body {
                        conn: Some(conn),
                        state,
                        keep_alive,
                        raw,
                    };
                    if state == BodyState::Length(0) {
                        body.finish();
                    }
                    return Ok(Response::from_parts(parts, Body::Upstream(body)));
                }
                None if conn.buf.len() >= MAX_HEAD => {
                    return Err((Error::Invalid("response head too large"), false))
                }
                None => {}
            }
        }
        let read = std::future::poll_fn(|cx| poll_fill(&mut conn, cx, READ_MIN)).await;
        let nothing_yet = first && conn.buf.is_empty();
        first = false;
        match read {
            Ok(0) => return Err((Error::Closed, nothing_yet)),
            Ok(_) => {}
            Err(e) => {
                let reset = matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                );
                return Err((Error::Io(e), nothing_yet && reset));
            }
        }
    }
}

enum Head {
    /// A 1xx response other than 101, consumed.
    Interim,
    /// The head, how its body ends, whether the connection may be reused, and its header lines
    /// when they are passed through (the head's map is then empty).
    Final(
        http::response::Parts,
        BodyState,
        bool,
        Option<Box<RawHeaders>>,
    ),
}

/// Parses a response head from the front of the buffer, if it is all there. Hop-by-hop
/// headers (RFC 9110 §7.6.1) are read for framing and left out of the response's headers, so
/// that the gateway has nothing to remove.
fn parse_head(conn: &mut Conn, method: &Method, raw_ok: bool) -> Result<Option<Head>, Error> {
    // Offsets of each header's name and value in the head, taken while httparse borrows the
    // buffer, so that values can then share the frozen head's memory. Neither array is
    // initialised: a response head is parsed on every proxied request.
    let mut spans = [const { MaybeUninit::<[u32; 4]>::uninit() }; MAX_HEADERS];
    let (len, code, minor, count) = {
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut res,
            &conn.buf,
            &mut headers,
        );
        let len = match parsed {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Error::Invalid("too many header lines"))
            }
            Err(_) => return Err(Error::Invalid("malformed response head")),
        };
        let base = conn.buf.as_ptr() as usize;
        let at = |s: &[u8]| (s.as_ptr() as usize - base) as u32;
        for (span, h) in spans.iter_mut().zip(res.headers.iter()) {
            let n = at(h.name.as_bytes());
            let v = at(h.value);
            span.write([n, n + h.name.len() as u32, v, v + h.value.len() as u32]);
        }
        (
            len,
            res.code.unwrap_or(0),
            res.version.unwrap_or(1),
            res.headers.len(),
        )
    };
    let head = conn.buf.split_to(len).freeze();
    let status = StatusCode::from_u16(code).map_err(|_| Error::Invalid("bad status code"))?;
    if status.is_informational() {
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Error::Invalid("protocol upgrades are not supported"));
        }
        return Ok(Some(Head::Interim));
    }

    // SAFETY: the loop above wrote the first `count` spans (httparse returned `count` headers).
    let spans: &[[u32; 4]] =
        unsafe { &*(&spans[..count] as *const [MaybeUninit<[u32; 4]>] as *const [[u32; 4]]) };
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut has_te = false;
    let mut close = minor == 0;
    // Header names the upstream's `Connection` lists besides close and keep-alive.
    let mut listed = false;
    // Boxed: it travels in the response body, which is moved from layer to layer.
    let mut raw = raw_ok.then(|| Box::new(RawHeaders::new(head.clone())));
    for &[ns, ne, vs, ve] in spans {
        let name = &head[ns as usize..ne as usize];
        let value = &head[vs as usize..ve as usize];
        let kind = HeaderKind::of(name);
        match kind {
            HeaderKind::ContentLength => {
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or(Error::Invalid("bad content-length"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(Error::Invalid("conflicting content-length"));
                }
                length = Some(n);
            }
            HeaderKind::TransferEncoding => {
                has_te = true;
                // The last coding listed decides whether the body is chunked.
                chunked = value
                    .rsplit(|b| *b == b',')
                    .next()
                    .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
            HeaderKind::Connection => {
                for token in value.split(|b| *b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        if minor == 0 {
                            close = false;
                        }
                    } else if !token.is_empty() {
                        listed = true;
                    }
                }
            }
            HeaderKind::HopByHop
            | HeaderKind::Date
            | HeaderKind::GatewayOwned
            | HeaderKind::Other => {}
        }
        if let Some(r) = raw.as_mut() {
            if !r.add(kind, ns, ve) {
                raw = None;
            }
        }
    }

    let state = if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        BodyState::Length(0)
    } else if has_te {
        // Both framings at once is how responses get smuggled: the length is ignored (RFC 9112
        // §6.3) and the connection never reused.
        if length.is_some() {
            close = true;
        }
        if chunked {
            BodyState::Chunked(Chunk::Size)
        } else {
            BodyState::Close
        }
    } else if let Some(n) = length {
        BodyState::Length(n)
    } else {
        BodyState::Close
    };
    if state == BodyState::Close {
        close = true;
    }
    let mut parts = Response::new(()).into_parts().0;
    parts.status = status;
    // Headers named in `Connection`, and a length beside a Transfer-Encoding, are removed from
    // the map: the passed-through lines cannot leave one out.
    let raw = raw.filter(|_| !(listed || has_te && length.is_some()));
    match raw {
        Some(mut r) => {
            r.content_length = length;
            Ok(Some(Head::Final(parts, state, !close, Some(r))))
        }
        None => {
            parts.headers = header_map(&head, spans, listed)?;
            if has_te && length.is_some() {
                parts.headers.remove(header::CONTENT_LENGTH);
            }
            Ok(Some(Head::Final(parts, state, !close, None)))
        }
    }
}

/// The response's end-to-end headers as a map: hop-by-hop ones left out, and, when the
/// upstream's `Connection` `listed` other names, those too.
fn header_map(head: &Bytes, spans: &[[u32; 4]], listed: bool) -> Result<HeaderMap, Error> {
    // Room for the headers the gateway adds (the request id, say) without growing.
    let mut headers = HeaderMap::with_capacity(spans.len() + 2);
    for &[ns, ne, vs, ve] in spans {
        let name = &head[ns as usize..ne as usize];
        match HeaderKind::of(name) {
            HeaderKind::TransferEncoding | HeaderKind::HopByHop => continue,
            // Kept until the names it lists are removed, below.
            HeaderKind::Connection if listed => {}
            HeaderKind::Connection => continue,
            HeaderKind::ContentLength
            | HeaderKind::Date
            | HeaderKind::GatewayOwned
            | HeaderKind::Other => {}
        }
        let name = HeaderName::from_bytes(name).map_err(|_| Error::Invalid("bad header name"))?;
        headers.append(name, shared_value(head, vs, ve)?);
    }
    if listed {
        crate::headers::strip_hop_by_hop(&mut headers);
    }
    Ok(headers)
}

/// Most runs of passed-through lines a response head may need (each hop-by-hop line between
/// end-to-end ones starts another); a head needing more goes through the header map.
const MAX_RUNS: usize = 4;

/// A response's end-to-end header lines, passed to the client as the upstream wrote them.
///
/// Why: on the common path — an `HTTP_PROXY` response written by [`crate::http1`] — building a
/// `HeaderMap` of the upstream's headers (a name lookup, a shared value and a hash insert each)
/// only for the server to walk it again and write the same bytes was a visible part of the
/// gateway's own time per request (`docs/upstream-h1.md`). The lines are copied in runs instead;
/// the hop-by-hop ones between them are left out. A head whose headers the gateway must edit —
/// a `Connection` naming other headers, both framings, an upstream request id, a line ending
/// in a bare LF — is read into the map as before, and so is every response for any other writer.
#[derive(Debug, Clone)]
pub struct RawHeaders {
    head: Bytes,
    /// `head[start..end]` ranges of whole lines.
    runs: [(u32, u32); MAX_RUNS],
    count: u8,
    /// The upstream's `Content-Length` (its line is passed through: a HEAD response keeps it).
    pub content_length: Option<u64>,
    /// The upstream sent a `Date`.
    pub has_date: bool,
}

impl RawHeaders {
    fn new(head: Bytes) -> RawHeaders {
        RawHeaders {
            head,
            runs: [(0, 0); MAX_RUNS],
            count: 0,
            content_length: None,
            has_date: false,
        }
    }

    /// Takes the line whose name starts at `start` and whose value ends at `value_end`. False
    /// when the lines cannot be passed through.
    fn add(&mut self, kind: HeaderKind, start: u32, value_end: u32) -> bool {
        match kind {
            // Left out: the next line passed through starts a new run.
            HeaderKind::TransferEncoding | HeaderKind::Connection | HeaderKind::HopByHop => {
                return true
            }
            HeaderKind::GatewayOwned => return false,
            HeaderKind::Date => self.has_date = true,
            HeaderKind::ContentLength | HeaderKind::Other => {}
        }
        // The line runs to its CRLF, past any trailing whitespace httparse left out of the value.
        let Some(rest) = self.head.get(value_end as usize..) else {
            return false;
        };
        let Some(lf) = rest.iter().position(|b| *b == b'\n') else {
            return false;
        };
        if lf == 0 || rest[lf - 1] != b'\r' {
            return false;
        }
        let end = value_end + lf as u32 + 1;
        let n = usize::from(self.count);
        match n.checked_sub(1).map(|i| &mut self.runs[i]) {
            // The line follows the last one passed through.
            Some(run) if run.1 == start => run.1 = end,
            _ if n == MAX_RUNS => return false,
            _ => {
                self.runs[n] = (start, end);
                self.count += 1;
            }
        }
        true
    }

    /// Appends the lines, each ending in CRLF.
    pub fn write(&self, out: &mut Vec<u8>) {
        for &(s, e) in &self.runs[..usize::from(self.count)] {
            out.extend_from_slice(&self.head[s as usize..e as usize]);
        }
    }
}

/// A header value sharing the response head's memory.
fn shared_value(head: &Bytes, start: u32, end: u32) -> Result<HeaderValue, Error> {
    HeaderValue::from_maybe_shared(head.slice(start as usize..end as usize))
        .map_err(|_| Error::Invalid("bad header value"))
}

/// A response body read from an upstream connection, which goes back to the pool at the end.
pub struct H1Body {
    conn: Option<Conn>,
    state: BodyState,
    keep_alive: bool,
    raw: Option<Box<RawHeaders>>,
}

impl std::fmt::Debug for H1Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H1Body")
            .field("state", &self.state)
            .finish()
    }
}

impl H1Body {
    /// The response's header lines, when they are passed through ([`RawHeaders`]): the
    /// response's own map then holds only what the gateway added.
    pub fn take_raw_headers(&mut self) -> Option<Box<RawHeaders>> {
        self.raw.take()
    }

    /// The body is complete: the connection goes back to the pool if it may be reused.
    fn finish(&mut self) {
        self.state = BodyState::Done;
        if let Some(conn) = self.conn.take() {
            if self.keep_alive && conn.buf.is_empty() {
                checkin(conn);
            }
        }
    }

    /// What is left of a `Content-Length` body none of which is buffered: the bytes that may go
    /// socket to socket ([`crate::splice`]) instead of through `poll_frame`.
    pub fn splice_ready(&self) -> Option<u64> {
        match (self.state, &self.conn) {
            (BodyState::Length(rem), Some(conn)) if rem > 0 && conn.buf.is_empty() => Some(rem),
            _ => None,
        }
    }

    /// Moves the next body bytes from the upstream's socket into `pipe` (empty), never more than
    /// the body has left; the connection goes back to the pool with the last of them. For a body
    /// [`Self::splice_ready`] allows; `poll_frame` ends it afterwards. Waiting for bytes, it
    /// acknowledges what came as `poll_frame` does ([`AckTimer`]).
    pub fn poll_splice(
        &mut self,
        cx: &mut Context<'_>,
        pipe: &mut crate::splice::Pipe,
    ) -> Poll<Result<usize, BodyError>> {
        let (BodyState::Length(rem), Some(conn)) = (self.state, self.conn.as_mut()) else {
            return Poll::Ready(Err(Error::Invalid("no body to splice").into()));
        };
        loop {
            match conn.stream.poll_read_ready(cx) {
                Poll::Pending => {
                    conn.ack.waiting(&conn.stream, cx);
                    return Poll::Pending;
                }
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.broken(Error::Io(e)))),
            }
            match pipe.fill(&conn.stream, rem) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(self.broken(Error::Io(e)))),
                Ok(0) => {
                    let e = Error::Invalid("the upstream closed the connection mid-body");
                    return Poll::Ready(Err(self.broken(e)));
                }
                Ok(n) => {
                    conn.ack.disarm();
                    // Never more than asked for (`fill` asks for at most `rem`).
                    let rem = rem.saturating_sub(n as u64);
                    self.state = BodyState::Length(rem);
                    if rem == 0 {
                        self.finish();
                    }
                    return Poll::Ready(Ok(n));
                }
            }
        }
    }

    /// The body broke off: its connection is dropped.
    fn broken(&mut self, e: Error) -> BodyError {
        self.state = BodyState::Done;
        self.conn = None;
        e.into()
    }

    fn fail(&mut self, msg: &'static str) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Poll::Ready(Some(Err(self.broken(Error::Invalid(msg)))))
    }
}

impl http_body::Body for H1Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            let state = this.state;
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            // How much more to read when the buffer does not hold what the state needs.
            let want = match state {
                BodyState::Done => {
                    this.finish();
                    return Poll::Ready(None);
                }
                BodyState::Length(0) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                BodyState::Length(rem) => {
                    if !conn.buf.is_empty() {
                        let n = (conn.buf.len() as u64).min(rem);
                        let data = conn.buf.split_to(n as usize).freeze();
                        this.state = BodyState::Length(rem - n);
                        if rem == n {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    usize::try_from(rem).unwrap_or(usize::MAX)
                }
                BodyState::Close => {
                    if !conn.buf.is_empty() {
                        let data = conn.buf.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    READ_MIN
                }
                BodyState::Chunked(Chunk::Size) => match httparse::parse_chunk_size(&conn.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        conn.buf.advance(used);
                        this.state = BodyState::Chunked(if size == 0 {
                            Chunk::Trailers
                        } else {
                            Chunk::Data(size)
                        });
                        continue;
                    }
                    Ok(httparse::Status::Partial) if conn.buf.len() < MAX_LINE => READ_MIN,
                    _ => return this.fail("bad chunk size"),
                },
                BodyState::Chunked(Chunk::Data(rem)) => {
                    if !conn.buf.is_empty() {
                        let n = (conn.buf.len() as u64).min(rem);
                        let data = conn.buf.split_to(n as usize).freeze();
                        this.state = BodyState::Chunked(if rem == n {
                            Chunk::DataEnd
                        } else {
                            Chunk::Data(rem - n)
                        });
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    usize::try_from(rem).unwrap_or(usize::MAX).saturating_add(7)
                }
                BodyState::Chunked(Chunk::DataEnd) => {
                    if conn.buf.len() >= 2 {
                        if &conn.buf[..2] != b"\r\n" {
                            return this.fail("chunk data longer than its size");
                        }
                        conn.buf.advance(2);
                        this.state = BodyState::Chunked(Chunk::Size);
                        continue;
                    }
                    READ_MIN
                }
                BodyState::Chunked(Chunk::Trailers) => {
                    match conn.buf.windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            conn.buf.advance(2);
                            this.finish();
                            return Poll::Ready(None);
                        }
                        // A trailer field: not forwarded.
                        Some(end) => {
                            conn.buf.advance(end + 2);
                            continue;
                        }
                        None if conn.buf.len() < MAX_LINE => READ_MIN,
                        None => return this.fail("trailer line too long"),
                    }
                }
            };
            let filled = poll_fill(conn, cx, want);
            if filled.is_pending() {
                conn.ack.waiting(&conn.stream, cx);
                return Poll::Pending;
            }
            conn.ack.disarm();
            match ready!(filled) {
                Ok(0) if state == BodyState::Close => {
                    this.state = BodyState::Done;
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Ok(0) => return this.fail("the upstream closed the connection mid-body"),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(this.broken(Error::Io(e))))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, BodyState::Done | BodyState::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            BodyState::Done => SizeHint::with_exact(0),
            BodyState::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}
