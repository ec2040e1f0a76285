//! Limits and failures: integration timeout, payload limit, unreachable integrations, request
//! line and header limits, and malformed requests sent as raw bytes.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;
use std::time::{Duration, Instant};

fn yaml(up: &Upstream, extra_server: &str) -> String {
    with_upstream(
        &format!(
            "server:\n  maxPayloadBytes: 1024\n  maxRequestLineBytes: 2048\n  maxHeaderBytes: 1024\n{extra_server}{}",
            rest_api(
                r#"      ANY /slow:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/slow/2000", timeoutInMillis: 200 }
      ANY /echo:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/echo" }
      ANY /buffered:
        integration:
          type: HTTP
          uri: "http://${stageVariables.up}/echo"
          responses: { default: { statusCode: "200" } }
      GET /down:
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/unreachable" }
"#
            )
        ),
        up,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_timeout_is_504() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    // One keep-alive connection, so one worker: its integration timers are reused
    // (`integrate::TimerPool`). Requests with the default 29 s timeout leave timers armed far
    // out; the 200 ms ones must still fire at 200 ms, and later requests must not see them.
    let c = client();
    for round in 0..2 {
        for _ in 0..3 {
            let r = get(&c, &gw.url("/prod/echo")).await;
            assert_eq!(r.status, 200, "round {round}");
        }
        let started = Instant::now();
        let r = get(&c, &gw.url("/prod/slow")).await;
        assert_eq!(r.status, 504, "round {round}");
        assert_eq!(r.text(), r#"{"message":"Endpoint request timed out"}"#);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_millis(1500),
            "round {round}: answered at the timeout, not before it or after the upstream: {took:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_integration_is_integration_failure() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    let r = get(&client(), &gw.url("/prod/down")).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message":"Internal server error"}"#);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_limit_is_413_before_forwarding() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    let c = client();
    // At the limit: forwarded.
    let r = send(
        &c,
        Request::post(gw.url("/prod/echo"))
            .body(Full::from(vec![b'a'; 1024]))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["bodyLength"], 1024);
    let before = up.seen().len();
    // Over it with Content-Length: refused before reading, never forwarded.
    let r = send(
        &c,
        Request::post(gw.url("/prod/echo"))
            .body(Full::from(vec![b'a'; 1025]))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), r#"{"message":"Request Too Long"}"#);
    // Declared far over the limit, body never sent: the 413 comes without waiting for it.
    let resp = raw(
        gw.addr,
        b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    // Over it chunked: read up to the limit, refused, never forwarded.
    let mut chunked = b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'b'; 512]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let resp = raw(gw.addr, &chunked, Duration::from_secs(5)).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    // Non-proxy integrations buffer: the same limit applies.
    let r = send(
        &c,
        Request::post(gw.url("/prod/buffered"))
            .body(Full::from(vec![b'a'; 2000]))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        up.seen().len(),
        before,
        "no oversized body reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_payload_limit_answers_plain_text() {
    let yaml = r#"server: { maxPayloadBytes: 10 }
apis:
  - name: h
    protocol: HTTP
    stages: { $default: {} }
    routes:
      $default:
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/" }
"#;
    let gw = TestGateway::start(yaml);
    let r = send(
        &client(),
        Request::post(gw.url("/x"))
            .body(Full::from("more than ten bytes"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), "HTTP content length exceeded 10 bytes.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_line_is_414_and_header_431() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    let c = client();
    let long = format!("/prod/echo?q={}", "a".repeat(3000));
    let r = get(&c, &gw.url(&long)).await;
    assert_eq!(r.status, 414);
    let r = send(
        &c,
        Request::get(gw.url("/prod/echo"))
            .header("x-big", "v".repeat(2000))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 431);
    // Past hyper's own head buffer (64 KiB here): still 431, from the HTTP parser.
    let mut req = b"GET /prod/echo HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        req.extend_from_slice(format!("x-h{i}: {}\r\n", "v".repeat(500)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let resp = raw(gw.addr, &req, Duration::from_secs(5)).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    assert!(up.seen().is_empty());
}

/// Malformed requests are answered 400 and never reach the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_400_and_never_forwarded() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    let cases: &[(&str, &[u8])] = &[
        ("garbage request line", b"HELLO\r\n\r\n"),
        ("bad header name", b"GET /prod/echo HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n"),
        ("bad version", b"GET /prod/echo HTTP/9.9\r\nHost: x\r\n\r\n"),
        (
            "two different Content-Lengths",
            b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        ),
        (
            "broken chunk size",
            b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        ),
        (
            "chunk longer than declared",
            b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
        ),
        (
            "transfer-encoding not ending in chunked",
            b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        ),
        (
            "Content-Length that is not a number",
            b"POST /prod/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\na",
        ),
        ("NUL in target", b"GET /prod/ec\0ho HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];
    for (what, bytes) in cases {
        let resp = raw(gw.addr, bytes, Duration::from_secs(3)).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{what}: {resp:?}");
    }
    assert!(
        up.seen().is_empty(),
        "nothing reached the upstream: {:?}",
        up.seen()
    );
}

/// Content-Length together with Transfer-Encoding, in either order and behind a good request on
/// the same connection: answered 400, never forwarded, and the connection closed, so nothing can
/// be smuggled behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_with_transfer_encoding_is_400_and_never_forwarded() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up, ""));
    let good = "GET /prod/echo?first HTTP/1.1\r\nHost: x\r\n\r\n";
    for both in [
        "Content-Length: 4\r\nTransfer-Encoding: chunked",
        "transfer-encoding: chunked\r\ncontent-length: 4",
    ] {
        let smuggle = format!(
            "{good}POST /prod/echo?both HTTP/1.1\r\nHost: x\r\n{both}\r\n\r\n0\r\n\r\nGET /prod/slow HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        let resp = raw(gw.addr, smuggle.as_bytes(), Duration::from_secs(3)).await;
        let statuses: Vec<&str> = resp
            .match_indices("HTTP/1.1 ")
            .map(|(i, _)| &resp[i + 9..i + 12])
            .collect();
        assert_eq!(statuses, ["200", "400"], "{resp}");
        assert!(resp.contains(r#"{"message":"Bad Request"}"#), "{resp}");
    }
    let seen = up.seen();
    assert_eq!(seen.len(), 2, "only the good requests: {seen:?}");
    assert!(seen.iter().all(|s| s.uri.ends_with("?first")), "{seen:?}");
}
