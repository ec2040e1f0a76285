//! The upstream clients.
//!
//! Plain `http://` upstreams spoken to in HTTP/1.1 (the common case, and the one a gateway's
//! speed is judged by) go through [`h1`]: connections driven by the request's own task, pooled
//! per worker. Everything else goes through hyper's pooled client, one per process, shared by
//! every worker thread.
//!
//! hyper's four flavours share nothing but their purpose: HTTP/1.1 (HTTPS negotiates HTTP/2 by ALPN) or
//! HTTP/2 with prior knowledge (h2c for `http://`), each with verified or, when an integration
//! sets `tlsConfig.insecureSkipVerification`, unverified TLS. Each keeps its own connection pool;
//! a connection's I/O runs on the worker that opened it and serves requests from any worker.

pub mod h1;

use crate::body::{Body, BodyError};
use crate::headers::{set_forwarded, Forwarded};
use crate::snapshot::ClientKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Body>;

/// A request on its way: resolves to the response head, its body streaming.
pub type Exchange<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<Body>, BodyError>> + Send + 'a>,
>;

/// What a request is sent with besides itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// The response is written by [`crate::http1`], so its header lines may pass through
    /// ([`h1::RawHeaders`]); false when the caller reads its headers.
    pub raw_ok: bool,
    /// `X-Forwarded-*` to set on the request ([`set_forwarded`]'s rules). [`h1`] writes them
    /// as it encodes the head; for hyper's clients they go into the map.
    pub forwarded: Option<&'a Forwarded>,
}

#[derive(Clone)]
pub struct Upstream {
    clients: Arc<[UpstreamClient; 4]>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upstream")
    }
}

impl Upstream {
    pub fn new() -> Result<Upstream, rustls::Error> {
        let verified = tls_config(false)?;
        let insecure = tls_config(true)?;
        Ok(Upstream {
            clients: Arc::new([
                client(verified.clone(), false),
                client(verified, true),
                client(insecure.clone(), false),
                client(insecure, true),
            ]),
        })
    }

    pub fn client(&self, kind: ClientKind) -> &UpstreamClient {
        &self.clients[usize::from(kind.insecure) * 2 + usize::from(kind.http2_only)]
    }

    /// Sends a request with an absolute URI, through [`h1`] for plain HTTP/1.1 and hyper's
    /// client otherwise.
    ///
    /// Returns the exchange boxed, not as an `async fn`'s future: the body is moved into the box
    /// once, where an async layer here would keep its own copy of it beside the client's
    /// (`docs/http1-server.md`, future sizes). The head is borrowed by [`h1`], and taken from
    /// `parts` for hyper's client.
    pub fn send<'a>(
        &'a self,
        kind: ClientKind,
        parts: &'a mut http::request::Parts,
        body: Body,
        opts: Options<'a>,
    ) -> Exchange<'a> {
        if !kind.http2_only && parts.uri.scheme() == Some(&http::uri::Scheme::HTTP) {
            return Box::pin(h1::send(parts, body, opts));
        }
        // hyper's client takes the request by value: the head is taken from `parts`.
        let mut req = http::Request::new(body);
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = std::mem::take(&mut parts.uri);
        *req.headers_mut() = std::mem::take(&mut parts.headers);
        if let Some(f) = opts.forwarded {
            set_forwarded(req.headers_mut(), f);
        }
        let sent = self.client(kind).request(req);
        Box::pin(async move { Ok(sent.await?.map(Body::Incoming)) })
    }
}

fn client(tls: ClientConfig, http2_only: bool) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = if http2_only {
        https.enable_http2().wrap_connector(http)
    } else {
        https.enable_http1().enable_http2().wrap_connector(http)
    };
    Client::builder(TokioExecutor::new())
        .http2_only(http2_only)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(https)
}

fn tls_config(insecure: bool) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(config)
}

/// `tlsConfig.insecureSkipVerification`: accepts any certificate, still checks signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
