//! The HTTP/1.1 upstream client (`upstream/h1.rs`) against a scripted upstream that answers
//! with exact bytes: connection reuse, every response framing, interim responses, stale pooled
//! connections, and malformed responses.

use archway_testkit::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the scripted upstream read it.
#[derive(Debug, Clone)]
struct Got {
    conn: usize,
    nth_on_conn: usize,
    head: String,
    body: Vec<u8>,
}

/// What the script does with a request.
enum Act {
    /// Write these bytes and keep reading requests.
    Reply(Vec<u8>),
    /// Write these bytes, wait, then close.
    ReplyThenClose(Vec<u8>, Duration),
    /// Close without answering.
    Close,
    /// Write the first this many bytes, then the rest in a second write, with Nagle's
    /// algorithm on (as a socket has it unless it sets `TCP_NODELAY`).
    ReplyInTwoWrites(Vec<u8>, usize),
}

type Script = Arc<dyn Fn(&Got) -> Act + Send + Sync>;

struct Scripted {
    addr: std::net::SocketAddr,
    conns: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Scripted {
    async fn start(script: impl Fn(&Got) -> Act + Send + Sync + 'static) -> Scripted {
        let script: Script = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let (c2, g2) = (conns.clone(), got.clone());
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let n = c2.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(s, n, script.clone(), g2.clone()));
            }
        });
        Scripted { addr, conns, got }
    }

    fn yaml(&self) -> String {
        format!(
            "apis:\n  - name: api\n    protocol: REST\n    stages:\n      prod: {{}}\n    routes:\n      ANY /{{proxy+}}:\n        integration:\n          type: HTTP_PROXY\n          uri: \"http://{}/{{proxy}}\"\n",
            self.addr
        )
    }

    fn connections(&self) -> usize {
        self.conns.load(Ordering::SeqCst)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

async fn serve(mut s: TcpStream, conn: usize, script: Script, got: Arc<Mutex<Vec<Got>>>) {
    let mut buf = Vec::new();
    let mut nth = 0;
    loop {
        // Read a head, then a Content-Length body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let g = Got {
            conn,
            nth_on_conn: nth,
            head,
            body,
        };
        nth += 1;
        got.lock().unwrap().push(g.clone());
        match script(&g) {
            Act::Reply(bytes) => {
                if s.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Act::ReplyThenClose(bytes, wait) => {
                let _ = s.write_all(&bytes).await;
                tokio::time::sleep(wait).await;
                return;
            }
            Act::Close => return,
            Act::ReplyInTwoWrites(bytes, first) => {
                let _ = s.set_nodelay(false);
                let (a, b) = bytes.split_at(first.min(bytes.len()));
                if s.write_all(a).await.is_err() || s.write_all(b).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// One client connection to the gateway, so that every request lands on the same worker (and
/// so on the same upstream pool).
struct OneConn(hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>);

impl OneConn {
    async fn open(addr: std::net::SocketAddr) -> OneConn {
        let s = TcpStream::connect(addr).await.unwrap();
        let (tx, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(s))
            .await
            .unwrap();
        tokio::spawn(conn);
        OneConn(tx)
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.send(
            Request::get(path)
                .header("host", "x")
                .body(Full::default())
                .unwrap(),
        )
        .await
    }

    async fn send(&mut self, req: Request<Full<bytes::Bytes>>) -> Reply {
        let mut req = req;
        req.headers_mut()
            .entry("host")
            .or_insert(http::HeaderValue::from_static("x"));
        self.0.ready().await.unwrap();
        let resp = self.0.send_request(req).await.expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Where the request went, as the scripted upstream saw it: `GET /a HTTP/1.1` → `a`.
fn target(g: &Got) -> String {
    g.head
        .split(' ')
        .nth(1)
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_reuse_one_upstream_connection() {
    let up = Scripted::start(|g| Act::Reply(ok(&format!("n{}", g.nth_on_conn)))).await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    for i in 0..20 {
        let r = c.get(&format!("/prod/r{i}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), format!("n{i}"));
    }
    assert_eq!(up.connections(), 1, "{:?}", up.got());
}

/// A client connection reuses one request head from request to request
/// (`docs/http1-server.md`, "The request head"): nothing of one request reaches the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_a_kept_alive_connection_carries_nothing_of_the_one_before() {
    let up = Scripted::start(|_| Act::Reply(ok("fine"))).await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    let first = Request::post("/prod/first?a=1")
        .header("x-only-first", "1")
        .header("x-both", "first")
        .body(Full::from("body"))
        .unwrap();
    assert_eq!(c.send(first).await.status, 200);
    let second = Request::get("/prod/second")
        .header("x-both", "second")
        .body(Full::default())
        .unwrap();
    assert_eq!(c.send(second).await.status, 200);
    let got = up.got();
    assert_eq!(got.len(), 2, "{got:?}");
    let head = got[1].head.to_ascii_lowercase();
    assert!(head.starts_with("get /second http/1.1\r\n"), "{head}");
    assert!(!head.contains("x-only-first"), "{head}");
    assert_eq!(named(&lines(&head), "x-both"), ["x-both: second"], "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(got[1].body.is_empty());
}

/// An upstream that writes a response in two parts with Nagle's algorithm on holds the second,
/// small part until the first is acknowledged. On a connection in request/response rhythm,
/// Linux delays that ACK by up to 40 ms (to ride on the next request), so each response would
/// take 40 ms: the gateway acknowledges when a body has waited 1 ms for its next bytes
/// (`upstream::h1::AckTimer`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_tail_held_by_nagle_is_not_delayed_by_the_gateways_ack() {
    let body = "x".repeat(4000);
    let reply = ok(&body);
    let first = reply.len() - 10;
    let up = Scripted::start(move |_| Act::ReplyInTwoWrites(reply.clone(), first)).await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    // Into request/response rhythm first (Linux delays ACKs only then).
    for i in 0..5 {
        assert_eq!(c.get(&format!("/prod/warm{i}")).await.text(), body);
    }
    let n = 20;
    let started = std::time::Instant::now();
    for i in 0..n {
        let r = c.get(&format!("/prod/r{i}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), body);
    }
    let per_request = started.elapsed() / n;
    // Delayed ACKs make it 40 ms or more; with the ACK forced after 1 ms it is 1–2 ms here, so
    // 20 ms leaves a slow machine a wide margin.
    assert!(
        per_request < Duration::from_millis(20),
        "{per_request:?} per request: the tail waited for a delayed ACK"
    );
    assert_eq!(up.connections(), 1, "{:?}", up.got());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_response_with_extensions_and_trailers_then_reuse() {
    let up = Scripted::start(|g| {
        if target(g) == "chunked" {
            Act::Reply(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-up: 1\r\n\r\n\
                  5;ext=\"q\"\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n"
                    .to_vec(),
            )
        } else {
            Act::Reply(ok("after"))
        }
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    let r = c.get("/prod/chunked").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, world");
    assert_eq!(r.header("x-up"), Some("1"));
    assert!(r.header("transfer-encoding").is_none_or(|v| v == "chunked"));
    let r = c.get("/prod/next").await;
    assert_eq!(r.text(), "after");
    assert_eq!(
        up.connections(),
        1,
        "the chunked body ended cleanly: reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_response_split_across_many_writes() {
    // Every byte of the framing in its own write, to exercise each partial state.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let resp: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
                for b in resp {
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    s.flush().await.ok();
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                let _ = s.read(&mut buf).await;
            });
        }
    });
    let yaml = format!(
        "apis:\n  - name: api\n    protocol: REST\n    stages:\n      prod: {{}}\n    routes:\n      ANY /{{proxy+}}:\n        integration:\n          type: HTTP_PROXY\n          uri: \"http://{addr}/{{proxy}}\"\n"
    );
    let gw = TestGateway::start(&yaml);
    let r = get(&client(), &gw.url("/prod/x")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "abc0123456789abcdef");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delimited_body_is_read_to_the_end_and_not_reused() {
    let up = Scripted::start(|g| {
        if target(g) == "close" {
            Act::ReplyThenClose(
                b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end".to_vec(),
                Duration::ZERO,
            )
        } else {
            Act::Reply(ok("fresh"))
        }
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    let r = c.get("/prod/close").await;
    assert_eq!(r.text(), "until the end");
    let r = c.get("/prod/other").await;
    assert_eq!(r.text(), "fresh");
    assert_eq!(
        up.connections(),
        2,
        "a close-delimited body ends its connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_responses_are_skipped() {
    let up = Scripted::start(|_| {
        Act::Reply(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone"
                .to_vec(),
        )
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let r = get(&client(), &gw.url("/prod/x")).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_no_content_responses_have_no_body() {
    let up = Scripted::start(|g| {
        if g.head.starts_with("HEAD") {
            // The length of the body a GET would get, and no body.
            Act::Reply(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n".to_vec())
        } else if target(g) == "nocontent" {
            Act::Reply(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())
        } else {
            Act::Reply(ok("body"))
        }
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    let r = c
        .send(Request::head("/prod/h").body(Full::default()).unwrap())
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = c.get("/prod/nocontent").await;
    assert_eq!(r.status, 204);
    let r = c.get("/prod/last").await;
    assert_eq!(r.text(), "body");
    assert_eq!(
        up.connections(),
        1,
        "bodiless responses keep the connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_found_closed_is_retried_on_a_new_one() {
    // The upstream answers the first request of each connection and drops the second without a
    // word, as a server whose keep-alive timeout fires just as the request arrives does.
    let up = Scripted::start(|g| {
        if g.nth_on_conn == 0 {
            Act::Reply(ok(&format!("conn{}", g.conn)))
        } else {
            Act::Close
        }
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    assert_eq!(c.get("/prod/a").await.text(), "conn0");
    let r = c.get("/prod/b").await;
    assert_eq!(r.status, 200, "retried: {}", r.text());
    assert_eq!(r.text(), "conn1");
    // A POST is not sent again (it is not idempotent): the failure is reported.
    let r = c
        .send(
            Request::post("/prod/c")
                .body(Full::from("payload"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["message"], "Internal server error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_the_upstream_closed_while_idle_is_not_used() {
    let up = Scripted::start(|g| {
        Act::ReplyThenClose(ok(&format!("conn{}", g.conn)), Duration::from_millis(20))
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    assert_eq!(c.get("/prod/a").await.text(), "conn0");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = c.get("/prod/b").await;
    assert_eq!(r.text(), "conn1");
    let firsts = up.got().iter().filter(|g| g.nth_on_conn == 0).count();
    assert_eq!(
        firsts,
        2,
        "the closed connection got no request: {:?}",
        up.got()
    );
    assert_eq!(up.got().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_responses_are_integration_failures() {
    let up = Scripted::start(|g| match target(g).as_str() {
        "garbage" => Act::Reply(b"NOT HTTP AT ALL\r\n\r\n".to_vec()),
        "two-lengths" => Act::Reply(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd".to_vec(),
        ),
        "bad-length" => Act::Reply(b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n".to_vec()),
        "upgrade" => Act::Reply(b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec()),
        "huge-head" => {
            let mut v = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..3000 {
                v.extend_from_slice(format!("x-h{i}: {}\r\n", "v".repeat(30)).as_bytes());
            }
            v.extend_from_slice(b"\r\n");
            Act::Reply(v)
        }
        _ => Act::Reply(ok("fine")),
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    for path in [
        "garbage",
        "two-lengths",
        "bad-length",
        "upgrade",
        "huge-head",
    ] {
        let r = c.get(&format!("/prod/{path}")).await;
        assert_eq!(r.status, 504, "{path}: {}", r.text());
        assert_eq!(r.json()["message"], "Internal server error", "{path}");
    }
    assert_eq!(c.get("/prod/ok").await.text(), "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_fails_the_client_response() {
    let up = Scripted::start(|_| {
        Act::ReplyThenClose(
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b".to_vec(),
            Duration::ZERO,
        )
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let resp = client()
        .request(
            Request::get(gw.url("/prod/short"))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    // The gateway aborts the client connection: before the head is flushed or after.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 200);
        assert!(
            resp.into_body().collect().await.is_err(),
            "a truncated body must not look complete"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_with_both_framings_is_read_chunked_and_its_connection_dropped() {
    let up = Scripted::start(|g| {
        if target(g) == "both" {
            Act::Reply(
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                    .to_vec(),
            )
        } else {
            Act::Reply(ok("next"))
        }
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    assert_eq!(c.get("/prod/both").await.text(), "abc");
    assert_eq!(c.get("/prod/n").await.text(), "next");
    assert_eq!(up.connections(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_framing_is_the_gateways() {
    let up = Scripted::start(|_| Act::Reply(ok("k"))).await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    c.get("/prod/get").await;
    c.send(
        Request::post("/prod/post")
            .body(Full::from("12345"))
            .unwrap(),
    )
    .await;
    c.send(Request::post("/prod/empty").body(Full::default()).unwrap())
        .await;
    let got = up.got();
    let head = |t: &str| {
        got.iter()
            .find(|g| target(g) == t)
            .unwrap()
            .head
            .to_ascii_lowercase()
    };
    assert!(!head("get").contains("content-length"), "{}", head("get"));
    assert!(head("post").contains("content-length: 5\r\n"));
    assert!(head("empty").contains("content-length: 0\r\n"));
    assert_eq!(
        got.iter().find(|g| target(g) == "post").unwrap().body,
        b"12345"
    );
    for t in ["get", "post", "empty"] {
        assert_eq!(head(t).matches("host: ").count(), 1, "{}", head(t));
        assert!(!head(t).contains("transfer-encoding"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_response_headers_stop_at_the_gateway() {
    // The first response lists only the usual tokens in Connection; the second names headers
    // of its own; the third is chunked (its Transfer-Encoding is the gateway's to decide).
    let up = Scripted::start(|g| {
        Act::Reply(match g.nth_on_conn {
            0 => b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Kept: 1\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            1 => b"HTTP/1.1 200 OK\r\nX-Private: p\r\nConnection: X-Private, keep-alive\r\nX-Other: o\r\nConnection: x-other\r\nX-Kept: 2\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            _ => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\nX-Kept: 3\r\n\r\n2\r\nok\r\n0\r\n\r\n".to_vec(),
        })
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    for kept in ["1", "2", "3"] {
        let r = c.get("/prod/h").await;
        assert_eq!((r.status, r.text().as_str()), (200, "ok"));
        assert_eq!(r.headers["x-kept"], kept, "{:?}", r.headers);
        for hop in [
            "keep-alive",
            "proxy-authenticate",
            "x-private",
            "x-other",
            "trailer",
        ] {
            assert!(
                !r.headers.contains_key(hop),
                "{hop} reached the client: {:?}",
                r.headers
            );
        }
    }
    // Every response was complete and asked for no close: one connection served them all.
    assert_eq!(up.connections(), 1, "{:?}", up.got());
}

/// Sends raw `req` on a new client connection and reads one response with a Content-Length
/// body (or none, for HEAD): its head as text, and its body.
async fn raw_exchange(
    addr: std::net::SocketAddr,
    req: &[u8],
    head_request: bool,
) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "closed before a whole head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let len = if head_request {
        0
    } else {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().unwrap())
            })
            .expect("a content-length")
    };
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (head, buf[head_end..head_end + len].to_vec())
}

/// The header lines of a response head, without the status line and the empty line.
fn lines(head: &str) -> Vec<&str> {
    head.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect()
}

fn named<'a>(lines: &[&'a str], name: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
        .copied()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_header_lines_reach_the_client_as_the_upstream_wrote_them() {
    // The inline server passes the upstream's end-to-end lines through (`RawHeaders`): order,
    // repeats, case and spelling are the upstream's; hop-by-hop lines anywhere among them are
    // left out (here three of them, making the most runs of lines passed through); the
    // gateway's own framing, Date and request id are not doubled.
    let up = Scripted::start(|g| {
        Act::Reply(match target(g).as_str() {
            "plain" => b"HTTP/1.1 200 OK\r\nServer: up/1\r\nSet-Cookie: a=1\r\nConnection: keep-alive\r\nSet-Cookie: b=2\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nKeep-Alive: timeout=5\r\nX-MiXeD-Case: v  \r\nContent-Length: 2\r\nTE: trailers\r\nX-Last: z\r\n\r\nok".to_vec(),
            // More runs of lines than are passed through: read into the header map instead.
            "runs" => b"HTTP/1.1 200 OK\r\nX-1: 1\r\nKeep-Alive: a\r\nX-2: 2\r\nKeep-Alive: b\r\nX-3: 3\r\nKeep-Alive: c\r\nX-4: 4\r\nKeep-Alive: d\r\nX-5: 5\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            // An upstream's request id is the gateway's to set.
            "id" => b"HTTP/1.1 200 OK\r\nx-amzn-RequestId: from-upstream\r\nX-Kept: k\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            // Lines ending in a bare LF reach the client ending in CRLF.
            "lf" => b"HTTP/1.1 200 OK\nX-Kept: k\nContent-Length: 2\n\nok".to_vec(),
            // HEAD: the upstream's Content-Length stays, with no body.
            _ => b"HTTP/1.1 200 OK\r\nX-Kept: k\r\nContent-Length: 5\r\n\r\n".to_vec(),
        })
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let get = |p: &str| format!("GET /prod/{p} HTTP/1.1\r\nHost: x\r\n\r\n");

    let (head, body) = raw_exchange(gw.addr, get("plain").as_bytes(), false).await;
    assert_eq!(body, b"ok");
    let l = lines(&head);
    let end_to_end: Vec<&str> = l
        .iter()
        .copied()
        .filter(|l| !l.to_ascii_lowercase().starts_with("x-amzn-requestid:"))
        .collect();
    assert_eq!(
        end_to_end,
        [
            "Server: up/1",
            "Set-Cookie: a=1",
            "Set-Cookie: b=2",
            "Date: Mon, 01 Jan 2024 00:00:00 GMT",
            "X-MiXeD-Case: v  ",
            "Content-Length: 2",
            "X-Last: z",
        ],
        "{head}"
    );
    assert_eq!(named(&l, "x-amzn-requestid").len(), 1, "{head}");

    for (path, kept) in [("runs", "x-5"), ("id", "x-kept"), ("lf", "x-kept")] {
        let (head, body) = raw_exchange(gw.addr, get(path).as_bytes(), false).await;
        assert_eq!(body, b"ok", "{path}");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {head}");
        let l = lines(&head);
        assert_eq!(named(&l, kept).len(), 1, "{path}: {head}");
        assert_eq!(
            named(&l, "content-length"),
            ["content-length: 2"],
            "{path}: {head}"
        );
        assert_eq!(
            named(&l, "keep-alive"),
            Vec::<&str>::new(),
            "{path}: {head}"
        );
        assert_eq!(named(&l, "date").len(), 1, "{path}: {head}");
        let ids = named(&l, "x-amzn-requestid");
        assert_eq!(ids.len(), 1, "{path}: {head}");
        assert!(!ids[0].contains("from-upstream"), "{path}: {head}");
        // Every line ended in CRLF: no bare LF is left inside a line.
        assert!(l.iter().all(|l| !l.contains('\n')), "{path}: {head:?}");
    }
    let (_, body) = raw_exchange(gw.addr, get("runs").as_bytes(), false).await;
    assert_eq!(body, b"ok");

    let (head, body) = raw_exchange(
        gw.addr,
        b"HEAD /prod/head HTTP/1.1\r\nHost: x\r\n\r\n",
        true,
    )
    .await;
    assert!(body.is_empty());
    assert_eq!(
        named(&lines(&head), "content-length"),
        ["Content-Length: 5"],
        "{head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_writers_and_cors_see_the_upstream_headers_in_the_map() {
    // HTTP/2 clients are written by hyper, and a CORS stage edits the response's headers: both
    // get the upstream's headers through the map, hop-by-hop ones left out as before. (API
    // Gateway ignores the CORS headers an integration returns on a stage with CORS.)
    let up = Scripted::start(|_| {
        Act::Reply(b"HTTP/1.1 200 OK\r\nX-Kept: k\r\nAccess-Control-Allow-Origin: *\r\nConnection: keep-alive\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok".to_vec())
    })
    .await;
    let yaml = format!(
        "apis:\n  - name: api\n    protocol: HTTP\n    corsConfiguration: {{ allowOrigins: ['https://a.example'] }}\n    stages:\n      $default: {{}}\n    routes:\n      GET /cors:\n        integration:\n          type: HTTP_PROXY\n          uri: \"http://{}/cors\"\n",
        up.addr
    );
    let gw = TestGateway::start(&yaml);
    let (head, body) = raw_exchange(
        gw.addr,
        b"GET /cors HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(body, b"ok");
    let l = lines(&head);
    assert_eq!(
        named(&l, "access-control-allow-origin"),
        ["access-control-allow-origin: https://a.example"],
        "{head}"
    );
    assert_eq!(named(&l, "set-cookie").len(), 2, "{head}");
    assert_eq!(named(&l, "x-kept").len(), 1, "{head}");
    assert_eq!(named(&l, "connection").len(), 0, "{head}");
    assert_eq!(named(&l, "apigw-requestid").len(), 1, "{head}");

    let gw = TestGateway::start(&up.yaml());
    let c = h2c_client();
    let r = get(&c, &gw.url("/prod/h2")).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"ok"[..]));
    assert_eq!(r.headers["x-kept"], "k");
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(!r.headers.contains_key("connection"));
    assert_eq!(r.headers.get_all("x-amzn-requestid").iter().count(), 1);
}

/// `len` bytes that a lost, repeated or reordered piece would change.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A 200 response carrying `body` with its length.
fn ok_bytes(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Reads from `s` until the peer closes (or 10 s pass): everything it sent.
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut all)).await;
    all
}

/// The body of a raw response: what follows its head.
fn after_head(raw: &[u8]) -> &[u8] {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    &raw[at + 4..]
}

/// A long body with a `Content-Length` goes from the upstream's socket to the client's by
/// `splice(2)` (`splice.rs`), not through the gateway's buffers: byte for byte, and the
/// upstream connection is reused after each.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_body_is_spliced_byte_for_byte_and_its_connection_reused() {
    const LEN: usize = 3 << 20;
    let up = Scripted::start(|g| Act::Reply(ok_bytes(&pattern(LEN, g.nth_on_conn as u8)))).await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    for i in 0..3u8 {
        let before = archway_gateway::splice::spliced_bytes();
        let r = c.get(&format!("/prod/long{i}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), LEN);
        assert!(
            r.body == pattern(LEN, i),
            "body {i} differs from what was sent"
        );
        // All but what came with the head (one read of 16 KiB or so).
        let spliced = archway_gateway::splice::spliced_bytes() - before;
        assert!(
            spliced >= (LEN - 64 * 1024) as u64,
            "only {spliced} bytes spliced"
        );
    }
    assert_eq!(up.connections(), 1, "{:?}", up.got().len());
}

/// A client that does not read for a while: the pipe and the socket buffers fill, the gateway
/// waits for the client, and every byte still arrives in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spliced_body_waits_for_a_slow_client() {
    let body = pattern(2 << 20, 7);
    let reply = ok_bytes(&body);
    let up = Scripted::start(move |_| Act::Reply(reply.clone())).await;
    let gw = TestGateway::start(&up.yaml());
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
    let mut s = sock.connect(gw.addr).await.unwrap();
    s.write_all(b"GET /prod/slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let raw = read_to_close(&mut s).await;
    assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(after_head(&raw) == body, "the body arrived changed");
}

/// An upstream that closes in the middle of a long body: the client's connection is closed
/// short of the announced length (never a complete-looking response), what did arrive is the
/// start of the body, and the next request gets a new upstream connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_body_cut_short_breaks_off_the_client_response() {
    let body = pattern(1 << 20, 3);
    let up = Scripted::start(move |g| match target(g).as_str() {
        "short" => {
            let mut cut = ok_bytes(&body);
            cut.truncate(cut.len() - 700 * 1024);
            Act::ReplyThenClose(cut, Duration::ZERO)
        }
        _ => Act::Reply(ok(&format!("conn{}", g.conn))),
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /prod/short HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let raw = read_to_close(&mut s).await;
    assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let got = after_head(&raw);
    assert!(got.len() < 1 << 20, "{} bytes: looks complete", got.len());
    assert!(
        got == &pattern(1 << 20, 3)[..got.len()],
        "not the start of the body"
    );
    let mut c = OneConn::open(gw.addr).await;
    assert_eq!(c.get("/prod/after").await.text(), "conn1");
}

/// Bytes an upstream sends after a long body are not the client's, and the connection that
/// carried them is not used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_after_a_long_body_are_not_forwarded_and_the_connection_is_dropped() {
    let body = pattern(100 * 1024, 9);
    let expected = body.clone();
    let up = Scripted::start(move |g| match target(g).as_str() {
        "junk" => {
            let mut r = ok_bytes(&body);
            r.extend_from_slice(&ok("junk!"));
            Act::Reply(r)
        }
        _ => Act::Reply(ok(&format!("conn{}", g.conn))),
    })
    .await;
    let gw = TestGateway::start(&up.yaml());
    let mut c = OneConn::open(gw.addr).await;
    let r = c.get("/prod/junk").await;
    assert!(r.body == expected, "{} bytes, not the body", r.body.len());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.get("/prod/next").await.text(), "conn1");
}
