//! Phase "CORS": an HTTP API's `corsConfiguration` (`x-amazon-apigateway-cors`).
//!
//! When an API has CORS configured, Archway answers preflight requests itself (whatever the
//! routes say, as API Gateway does) and adds the CORS headers to every response whose request
//! came from an allowed origin. REST APIs do CORS with OPTIONS methods and MOCK integrations
//! instead, which need nothing from this phase.

use crate::body::Body;
use archway_model::Cors;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

/// A CORS configuration with its header values prepared.
#[derive(Debug, Clone)]
pub struct CompiledCors {
    any_origin: bool,
    origins: Vec<String>,
    allow_methods: Option<HeaderValue>,
    any_method: bool,
    allow_headers: Option<HeaderValue>,
    any_header: bool,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
    allow_credentials: bool,
}

fn joined(list: &[String]) -> Option<HeaderValue> {
    if list.is_empty() {
        return None;
    }
    HeaderValue::from_str(&list.join(",")).ok()
}

impl CompiledCors {
    pub fn new(c: &Cors) -> CompiledCors {
        CompiledCors {
            any_origin: c.allow_origins.iter().any(|o| o == "*"),
            origins: c
                .allow_origins
                .iter()
                .map(|o| o.to_ascii_lowercase())
                .collect(),
            any_method: c.allow_methods.iter().any(|m| m == "*"),
            allow_methods: joined(&c.allow_methods),
            any_header: c.allow_headers.iter().any(|h| h == "*"),
            allow_headers: joined(&c.allow_headers),
            expose_headers: joined(&c.expose_headers),
            max_age: c.max_age.map(HeaderValue::from),
            allow_credentials: c.allow_credentials,
        }
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        if self.any_origin {
            return true;
        }
        let Ok(o) = origin.to_str() else { return false };
        self.origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(o))
    }

    /// Whether the answer names the request's origin (and so varies by `Origin`) rather
    /// than `*`.
    fn echoes_origin(&self) -> bool {
        !self.any_origin || self.allow_credentials
    }

    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        if self.echoes_origin() {
            origin.clone()
        } else {
            HeaderValue::from_static("*")
        }
    }
}

/// Answers a preflight request (`OPTIONS` with `Origin` and `Access-Control-Request-Method`).
/// Returns `None` for any other request.
pub fn preflight(
    cors: &CompiledCors,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    if method != Method::OPTIONS {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?;
    let requested = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    if !cors.allows(origin) {
        return Some(resp);
    }
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        cors.allow_origin_value(origin),
    );
    let methods = if cors.any_method {
        Some(requested.clone())
    } else {
        cors.allow_methods.clone()
    };
    if let Some(m) = methods {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
    }
    let allow_headers = if cors.any_header {
        headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned()
    } else {
        cors.allow_headers.clone()
    };
    if let Some(v) = allow_headers {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    if let Some(v) = &cors.max_age {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, v.clone());
    }
    if cors.allow_credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if cors.echoes_origin() {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Some(resp)
}

/// Adds the CORS response headers for a request from an allowed origin.
pub fn decorate(cors: &CompiledCors, origin: Option<&HeaderValue>, out: &mut HeaderMap) {
    let Some(origin) = origin.filter(|o| cors.allows(o)) else {
        return;
    };
    out.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        cors.allow_origin_value(origin),
    );
    if let Some(v) = &cors.expose_headers {
        out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
    }
    if cors.allow_credentials {
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if cors.echoes_origin() {
        out.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> CompiledCors {
        CompiledCors::new(&Cors {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["content-type".into(), "x-api-key".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age: Some(600),
            allow_credentials: credentials,
        })
    }

    fn req(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        h
    }

    #[test]
    fn preflight_for_allowed_and_refused_origins() {
        let c = cors(&["https://app.example.com"], true);
        let r = preflight(&c, &Method::OPTIONS, &req("https://app.example.com")).unwrap();
        assert_eq!(r.status(), 204);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["access-control-allow-methods"], "GET,POST");
        assert_eq!(h["access-control-allow-headers"], "content-type,x-api-key");
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["access-control-allow-credentials"], "true");
        let r = preflight(&c, &Method::OPTIONS, &req("https://evil.example")).unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert!(preflight(&c, &Method::GET, &req("https://app.example.com")).is_none());
        let mut plain = HeaderMap::new();
        plain.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example.com"),
        );
        assert!(
            preflight(&c, &Method::OPTIONS, &plain).is_none(),
            "not a preflight"
        );
    }

    #[test]
    fn decorates_responses() {
        let c = cors(&["*"], false);
        let mut out = HeaderMap::new();
        decorate(
            &c,
            Some(&HeaderValue::from_static("https://x.test")),
            &mut out,
        );
        assert_eq!(out["access-control-allow-origin"], "*");
        assert_eq!(out["access-control-expose-headers"], "x-request-id");
        let mut out = HeaderMap::new();
        decorate(&c, None, &mut out);
        assert!(out.is_empty());
    }
}
