//! The inline HTTP/1.1 server (`http1.rs`), byte for byte on raw sockets: keep-alive and
//! pipelining, request bodies in hand and streamed, response framing, `Connection: close`,
//! lingering close after an unread body, and the hand-off to hyper for what it does not serve
//! (HTTP/1.0, chunked request bodies, `Expect: 100-continue`, malformed heads).

use archway_testkit::*;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(up: &Upstream) -> String {
    with_upstream(
        &format!(
            "server:\n  maxPayloadBytes: 2000000\n{}",
            rest_api(
                r#"      ANY /echo:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/echo" }
      GET /stream:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/stream/1" }
      GET /mock:
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"mock":true}' } } }
"#
            )
        ),
        up,
    )
}

/// A client connection that reads responses one at a time.
struct Raw {
    s: TcpStream,
    buf: Vec<u8>,
}

/// One response as read off the wire.
#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

impl Raw {
    async fn open(addr: SocketAddr) -> Raw {
        Raw {
            s: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn write(&mut self, b: &[u8]) {
        self.s.write_all(b).await.unwrap();
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(10), self.s.read(&mut chunk))
            .await
            .expect("the gateway answers within 10 s")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Reads one response, framed by its own head (`head_request`: no body).
    async fn read(&mut self, head_request: bool) -> Resp {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill().await > 0, "closed before a response head");
        };
        let head = String::from_utf8(self.buf.drain(..end).collect()).unwrap();
        let status = head[9..12].parse().unwrap();
        let mut r = Resp {
            status,
            head,
            body: Vec::new(),
        };
        if head_request || status == 204 || status == 304 || status / 100 == 1 {
            return r;
        }
        if let Some(n) = r.header("content-length") {
            let n: usize = n.parse().unwrap();
            while self.buf.len() < n {
                assert!(self.fill().await > 0, "closed inside a body");
            }
            r.body = self.buf.drain(..n).collect();
        } else if r.header("transfer-encoding").as_deref() == Some("chunked") {
            loop {
                let line = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    assert!(self.fill().await > 0);
                };
                let size = usize::from_str_radix(
                    std::str::from_utf8(&self.buf[..line]).unwrap().trim(),
                    16,
                )
                .unwrap();
                while self.buf.len() < line + 2 + size + 2 {
                    assert!(self.fill().await > 0);
                }
                r.body
                    .extend_from_slice(&self.buf[line + 2..line + 2 + size]);
                self.buf.drain(..line + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
        } else {
            while self.fill().await > 0 {}
            r.body = std::mem::take(&mut self.buf);
        }
        r
    }

    /// True if the gateway closed the connection (within 5 s) without sending anything more.
    async fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.s.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    // Three requests in one write, one of them with a body in the same packet.
    c.write(
        b"GET /prod/echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /prod/echo?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /prod/mock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n",
    )
    .await;
    let a = c.read(false).await;
    let b = c.read(false).await;
    let m = c.read(false).await;
    assert_eq!(a.status, 200);
    assert!(String::from_utf8_lossy(&a.body).contains("n=1"));
    assert!(String::from_utf8_lossy(&b.body).contains("\"body\":\"hello\""));
    assert_eq!(m.status, 200);
    assert_eq!(m.body, br#"{"mock":true}"#);
    for r in [&a, &b, &m] {
        assert!(r.header("x-amzn-requestid").is_some(), "{}", r.head);
        assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
        assert!(r.header("connection").is_none());
    }
    // The connection is still open for a fourth.
    c.write(b"GET /prod/echo?n=4 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(String::from_utf8_lossy(&c.read(false).await.body).contains("n=4"));
    assert_eq!(up.seen().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_arriving_in_pieces_streams_whole_to_the_upstream() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    let body: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    c.write(
        format!(
            "PUT /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    for piece in body.chunks(70_001) {
        c.write(piece).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let r = c.read(false).await;
    assert_eq!(r.status, 200, "{}", r.head);
    let seen = up.last();
    assert_eq!(seen.body.len(), body.len());
    assert!(seen.body == body, "the upstream got the body intact");
    // And the connection carries the next request.
    c.write(b"GET /prod/echo?after=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(String::from_utf8_lossy(&c.read(false).await.body).contains("after=1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_framed_by_length_chunks_or_nothing() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    // The upstream streams 1 MiB without a length: chunked to the client.
    c.write(b"GET /prod/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(r.body.len(), 1 << 20);
    assert!(r.body.iter().all(|b| *b == b'x'));
    // HEAD: the head only, on a connection that stays usable.
    c.write(b"HEAD /prod/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let h = c.read(true).await;
    assert_eq!(h.status, 200);
    c.write(b"GET /prod/echo?after=head HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let g = c.read(false).await;
    assert!(
        String::from_utf8_lossy(&g.body).contains("after=head"),
        "{g:?}"
    );
    assert_eq!(
        g.header("content-length")
            .map(|n| n.parse::<usize>().unwrap()),
        Some(g.body.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_is_honoured() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    c.write(b"GET /prod/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(c.closed().await);
    // The client's Connection header is not forwarded.
    assert!(up.last().headers.get("connection").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_and_the_client_reads_the_refusal() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    // Over maxPayloadBytes (2,000,000): 413 before the body is read. The client writes the whole
    // 16 MB body before it reads (as simple clients do): the gateway must read and drop it
    // rather than reset the connection under the client's writes.
    let body = vec![b'z'; 16 << 20];
    c.write(
        format!(
            "POST /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    c.s.write_all(&body)
        .await
        .expect("the gateway keeps reading what the client sends");
    let r = c.read(false).await;
    assert_eq!(r.status, 413, "{}", r.head);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(c.closed().await);
    assert!(up.seen().is_empty(), "nothing was forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_inline_server_does_not_serve_is_handed_to_hyper_mid_connection() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&config(&up));
    let mut c = Raw::open(gw.addr).await;
    // First an ordinary request, served inline…
    c.write(b"GET /prod/echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(c.read(false).await.status, 200);
    // …then a chunked body: the rest of the connection is hyper's, and works.
    c.write(
        b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .await;
    let r = c.read(false).await;
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(String::from_utf8_lossy(&r.body).contains("\"body\":\"abcde\""));
    c.write(b"GET /prod/echo?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(String::from_utf8_lossy(&c.read(false).await.body).contains("n=3"));

    // Expect: 100-continue gets its interim answer, then the response.
    let mut c = Raw::open(gw.addr).await;
    c.write(
        b"PUT /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    let interim = c.read(false).await;
    assert_eq!(interim.status, 100);
    c.write(b"data").await;
    let r = c.read(false).await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("\"body\":\"data\""));

    // HTTP/1.0: answered, then closed.
    let out = raw(
        gw.addr,
        b"GET /prod/echo?v=10 HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"),
        "{out}"
    );
    assert!(out.contains("v=10"));

    // A malformed head after a good request: hyper's 400, and nothing more is forwarded.
    let before = up.seen().len();
    let mut c = Raw::open(gw.addr).await;
    c.write(
        b"GET /prod/echo HTTP/1.1\r\nHost: x\r\n\r\nGET /prod/echo HTTP/1.1\r\nBad Header\r\n\r\n",
    )
    .await;
    assert_eq!(c.read(false).await.status, 200);
    assert_eq!(c.read(false).await.status, 400);
    assert_eq!(up.seen().len(), before + 1);
}
