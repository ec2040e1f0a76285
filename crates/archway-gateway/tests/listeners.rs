//! Listeners: TLS with SNI and ALPN, header-read and idle timeouts, HTTPS upstreams.

use archway_testkit::*;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Cert {
    der: CertificateDer<'static>,
}

fn write_cert(dir: &std::path::Path, name: &str) -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    std::fs::write(dir.join(format!("{name}.crt")), ck.cert.pem()).unwrap();
    std::fs::write(
        dir.join(format!("{name}.key")),
        ck.signing_key.serialize_pem(),
    )
    .unwrap();
    Cert {
        der: ck.cert.der().clone(),
    }
}

fn tls_client(roots: &[&Cert], alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut store = rustls::RootCertStore::empty();
    for c in roots {
        store.add(c.der.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_sni_picks_the_domain_certificate_and_alpn_negotiates_h2() {
    let dir = tempfile::tempdir().unwrap();
    let default = write_cert(dir.path(), "default.test");
    let domain = write_cert(dir.path(), "api.example.com");
    let yaml = r#"server:
  tls: { listen: "127.0.0.1:0", certFile: default.test.crt, keyFile: default.test.key }
apis:
  - name: pets
    protocol: REST
    stages: { prod: {} }
    routes:
      GET /hello:
        integration:
          type: MOCK
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"hi": "$context.domainName"}' } } }
domainNames:
  - domainName: api.example.com
    certificate: { certFile: api.example.com.crt, keyFile: api.example.com.key }
    basePathMappings:
      - { api: pets, stage: prod }
"#;
    let gw = TestGateway::start_in(yaml, dir.path());
    let addr = gw.tls_addr.expect("a TLS listener");

    // SNI api.example.com: the domain's certificate (only it is trusted here), h2 by ALPN.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_client(&[&domain], &[b"h2", b"http/1.1"])
        .connect(ServerName::try_from("api.example.com").unwrap(), tcp)
        .await
        .expect("handshake with the domain certificate");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send_req, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = send_req
        .send_request(
            Request::get("https://api.example.com/hello")
                .body(Full::<Bytes>::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"hi": "api.example.com"}"#);

    // Another name: the default certificate; HTTP/1.1 when the client offers only that.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tls_client(&[&default], &[b"http/1.1"])
        .connect(ServerName::try_from("default.test").unwrap(), tcp)
        .await
        .expect("handshake with the default certificate");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut send_req, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = send_req
        .send_request(
            Request::get("/prod/hello")
                .header("host", "pets.execute-api.local")
                .body(Full::<Bytes>::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The domain certificate is not offered for other names.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let err = tls_client(&[&domain], &[b"h2"])
        .connect(ServerName::try_from("default.test").unwrap(), tcp)
        .await;
    assert!(
        err.is_err(),
        "default.test must not get api.example.com's certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed() {
    let yaml = r#"server:
  headerReadTimeoutMillis: 300
  idleTimeoutMillis: 600
apis:
  - name: a
    protocol: HTTP
    stages: { $default: {} }
    routes:
      $default:
        integration: { type: MOCK, responses: { default: { statusCode: "204" } } }
"#;
    let gw = TestGateway::start(yaml);

    // A head that never finishes.
    let started = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "the gateway closed the connection");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A keep-alive connection that goes quiet after one request.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "idle keep-alive connection closed");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 204"));
    assert!(started.elapsed() < Duration::from_secs(3));

    // An HTTP/2 connection with nothing to do.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "idle h2 connection closed");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_over_rustls() {
    // A TLS upstream with a self-signed certificate, accepted by insecureSkipVerification.
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(format!("secure {:?} {}", req.version(), req.uri().path())),
                        )))
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    let yaml = format!(
        r#"apis:
  - name: a
    protocol: HTTP
    stages: {{ $default: {{}} }}
    routes:
      GET /verified:
        integration: {{ type: HTTP_PROXY, uri: "https://localhost:{port}/v" }}
      GET /insecure:
        integration:
          type: HTTP_PROXY
          uri: "https://localhost:{port}/i"
          tlsConfig: {{ insecureSkipVerification: true }}
"#,
        port = addr.port()
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    let r = get(&c, &gw.url("/insecure")).await;
    assert_eq!(r.status, 200);
    // ALPN picked HTTP/2 towards the upstream.
    assert_eq!(r.text(), "secure HTTP/2.0 /i");
    // Verified TLS refuses the self-signed certificate: the integration fails.
    let r = get(&c, &gw.url("/verified")).await;
    assert_eq!(r.status, 504);
}
