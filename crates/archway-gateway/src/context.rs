//! What a request's phases learn, carried from phase to phase and into the access log.

use crate::headers::Forwarded;
use crate::path::{RequestPath, SegmentsView};
use crate::router::Capture;
use crate::snapshot::{CompiledRoute, CompiledStage, KeyEntry};
use http::{HeaderMap, HeaderValue};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Facts about the client connection, shared by its requests.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
}

/// Marks a request that carried both `Content-Length` and `Transfer-Encoding`
/// (`framing.rs`); the limits phase answers it 400.
#[derive(Debug, Clone, Copy)]
pub struct AmbiguousFraming;

/// A request id in AWS's form (a lower-case UUID).
#[derive(Clone, Copy)]
pub struct RequestId([u8; 36]);

impl RequestId {
    pub fn new() -> RequestId {
        let mut buf = [0u8; 36];
        uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
        RequestId(buf)
    }

    pub fn as_bytes(&self) -> &[u8; 36] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // The buffer holds ASCII hex digits and hyphens only.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A duration set once by a phase that holds the context shared (`&`), read by the access log.
#[derive(Debug)]
pub struct Latency(AtomicU64);

impl Default for Latency {
    fn default() -> Self {
        Latency(AtomicU64::new(u64::MAX))
    }
}

impl Latency {
    pub fn set(&self, d: Option<Duration>) {
        let v = d.map_or(u64::MAX, |d| d.as_micros().min(u64::MAX as u128 - 1) as u64);
        self.0.store(v, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }
}

/// Per-request state.
#[derive(Debug)]
pub struct RequestContext {
    pub request_id: RequestId,
    pub conn: ConnInfo,
    /// The connection's `X-Forwarded-*` values.
    pub forwarded: Arc<Forwarded>,
    /// When the request arrived (its wall-clock time is [`RequestContext::request_time`]).
    pub started: Instant,
    pub method: http::Method,
    pub version: http::Version,
    /// Host the client named (lower-case, without port).
    pub domain_name: String,
    /// The decoded request path, and how many leading segments named the stage.
    pub path: RequestPath,
    pub path_skip: usize,
    pub stage: Option<Arc<CompiledStage>>,
    pub route: Option<u32>,
    pub captures: Vec<Capture>,
    /// Time to the integration's response head; set by the integrate phase.
    pub integration_latency: Latency,
    pub user_agent: Option<HeaderValue>,
    /// The API key the request was admitted with: its index in the stage's keys
    /// ([`RequestContext::api_key`]), so that a keyed request copies nothing.
    pub api_key: Option<u32>,
    /// The response is written by [`crate::http1`], which writes an upstream's header lines
    /// passed through ([`crate::upstream::h1::RawHeaders`]) as well as the response's map.
    pub inline_writer: bool,
}

impl RequestContext {
    pub fn new(
        conn: ConnInfo,
        forwarded: Arc<Forwarded>,
        method: http::Method,
        version: http::Version,
    ) -> RequestContext {
        RequestContext {
            request_id: RequestId::new(),
            conn,
            forwarded,
            started: Instant::now(),
            method,
            version,
            domain_name: String::new(),
            path: RequestPath::default(),
            path_skip: 0,
            stage: None,
            route: None,
            captures: Vec::new(),
            integration_latency: Latency::default(),
            user_agent: None,
            api_key: None,
            inline_writer: false,
        }
    }

    /// Whether an upstream response may keep its header lines out of its map: its writer
    /// passes them through, and nothing on the way edits its headers (CORS does).
    pub fn passes_headers_through(&self) -> bool {
        self.inline_writer && self.stage.as_ref().is_some_and(|s| s.cors.is_none())
    }

    pub fn route(&self) -> Option<&CompiledRoute> {
        let stage = self.stage.as_ref()?;
        stage.routes.get(self.route? as usize)
    }

    /// The API key the request was admitted with, if its method requires one.
    pub fn api_key(&self) -> Option<&KeyEntry> {
        self.stage.as_ref()?.api_keys.get(self.api_key?)
    }

    pub fn route_key(&self) -> &str {
        self.route().map_or("-", |r| &r.route_key)
    }

    /// The path after the stage or base path: what routes match.
    pub fn view(&self) -> SegmentsView<'_> {
        self.path.skip(self.path_skip)
    }

    /// The normalised, decoded path after the stage (`/pets/7`), for logs and templates.
    pub fn decoded_path(&self) -> String {
        self.view().decoded_path()
    }

    /// A path parameter's decoded value (a greedy one's segments joined with `/`).
    pub fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let route = self.route()?;
        let i = route.param_names.iter().position(|n| n == name)?;
        let view = self.view();
        Some(match *self.captures.get(i)? {
            Capture::Segment(s) => Cow::Borrowed(view.get(s as usize)),
            Capture::Rest(s) => Cow::Owned(view.joined_from(s as usize)),
        })
    }

    /// When the request arrived, on the wall clock.
    pub fn request_time(&self) -> SystemTime {
        crate::clock::wall_at(self.started)
    }

    pub fn request_time_clf(&self) -> String {
        let t = time::OffsetDateTime::from(self.request_time());
        let fmt = time::macros::format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
        );
        t.format(&fmt).unwrap_or_default()
    }

    /// How long after the epoch the request arrived (zero for a clock before 1970).
    pub fn request_time_since_epoch(&self) -> Duration {
        self.request_time()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    pub fn request_time_epoch_ms(&self) -> u128 {
        self.request_time_since_epoch().as_millis()
    }

    pub fn protocol(&self) -> &'static str {
        match self.version {
            http::Version::HTTP_09 => "HTTP/0.9",
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            http::Version::HTTP_3 => "HTTP/3.0",
            _ => "HTTP/1.1",
        }
    }

    /// `$context.*` values for templates.
    pub fn context_value(&self, path: &str) -> Option<Cow<'_, str>> {
        Some(match path {
            "requestId" | "extendedRequestId" => Cow::Borrowed(self.request_id.as_str()),
            "stage" => Cow::Borrowed(self.stage.as_ref().map_or("", |s| &s.name)),
            "apiId" => Cow::Borrowed(self.stage.as_ref().map_or("", |s| &s.api_id)),
            "httpMethod" => Cow::Borrowed(self.method.as_str()),
            "resourcePath" => Cow::Borrowed(self.route().map_or("", |r| &r.resource_path)),
            "routeKey" => Cow::Borrowed(self.route_key()),
            "path" => Cow::Owned(self.decoded_path()),
            "domainName" => Cow::Borrowed(self.domain_name.as_str()),
            "protocol" => Cow::Borrowed(self.protocol()),
            "requestTime" => Cow::Owned(self.request_time_clf()),
            "requestTimeEpoch" => Cow::Owned(self.request_time_epoch_ms().to_string()),
            "identity.sourceIp" => Cow::Owned(self.conn.peer.ip().to_string()),
            // The key's value is a secret, but AWS gives it to templates and integrations: the
            // operator asked for it by writing `$context.identity.apiKey`.
            "identity.apiKey" => Cow::Borrowed(self.api_key().map_or("", |k| &*k.value)),
            "identity.apiKeyId" => Cow::Borrowed(self.api_key().map_or("", KeyEntry::key_id)),
            "identity.userAgent" => Cow::Borrowed(
                self.user_agent
                    .as_ref()
                    .and_then(|u| u.to_str().ok())
                    .unwrap_or(""),
            ),
            _ => return None,
        })
    }
}

/// Looks a query parameter up in a raw query string (first value, decoded).
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<Cow<'a, str>> {
    let q = query?;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode_query(k) == name {
            return Some(decode_query(v));
        }
    }
    None
}

/// A query string name or value, decoded as API Gateway does (`+` is a space).
pub fn decode_query(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let replaced = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&replaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// First value of a header as text, if it is visible ASCII or UTF-8.
pub fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}
