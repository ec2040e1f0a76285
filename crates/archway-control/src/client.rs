//! A client of the admin API that signs each request with SigV4 (service `apigateway`), as the
//! AWS SDKs do. Used by the `archway` CLI and by tests. Never logs the secret.

use archway_aws::sigv4::{self, Credentials, SigningParams};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A reply of the admin API.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (`null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `x-amzn-ErrorType`, if any.
    pub fn error_type(&self) -> Option<&str> {
        self.headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `ErrorType: message` for an error reply.
    pub fn error_text(&self) -> String {
        let msg = self
            .json()
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        format!("{}: {msg}", self.error_type().unwrap_or("Error"))
    }
}

/// Signs and sends admin requests to one endpoint.
#[derive(Clone)]
pub struct AdminClient {
    authority: String,
    credentials: Credentials,
    region: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("authority", &self.authority)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl AdminClient {
    /// `endpoint` is `http://host:port` (or `host:port`).
    pub fn new(endpoint: &str, credentials: Credentials) -> Result<AdminClient, String> {
        let rest = endpoint.strip_prefix("http://").unwrap_or(endpoint);
        if endpoint.starts_with("https://") {
            return Err("the admin API client speaks plain HTTP only".into());
        }
        let authority = rest.trim_end_matches('/').to_string();
        authority
            .parse::<http::uri::Authority>()
            .map_err(|_| format!("`{endpoint}` is not a valid endpoint"))?;
        Ok(AdminClient {
            authority,
            credentials,
            region: "us-east-1".into(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends a request signed now.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default().into_bytes();
        self.send_raw(
            method,
            path_and_query,
            bytes.into(),
            time::OffsetDateTime::now_utc(),
            Some(&self.credentials),
        )
        .await
    }

    /// Sends a raw body (an OpenAPI document) signed now.
    pub async fn send_body(
        &self,
        method: &str,
        path_and_query: &str,
        body: impl Into<Bytes>,
    ) -> Result<Reply, String> {
        self.send_raw(
            method,
            path_and_query,
            body.into(),
            time::OffsetDateTime::now_utc(),
            Some(&self.credentials),
        )
        .await
    }

    /// Sends `body` signed at `at` with `credentials` (`None`: unsigned). For tests of the
    /// signature check.
    pub async fn send_raw(
        &self,
        method: &str,
        path_and_query: &str,
        body: Bytes,
        at: time::OffsetDateTime,
        credentials: Option<&Credentials>,
    ) -> Result<Reply, String> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_str(&self.authority).map_err(|e| e.to_string())?,
        );
        if !body.is_empty() {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        if let Some(c) = credentials {
            let params = SigningParams::new(c, &self.region, "apigateway", at, &body);
            sigv4::sign_request_headers(
                method,
                path,
                query,
                &mut headers,
                Some(&self.authority),
                &params,
            )
            .map_err(|e| e.to_string())?;
        }
        let uri = format!("http://{}{}", self.authority, path_and_query);
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        *req.headers_mut() = headers;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("cannot reach the admin API at {}: {e}", self.authority))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the reply: {e}"))?
            .to_bytes();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Sends a request and returns the JSON body of a 2xx reply, or the error as
    /// `ErrorType: message`.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let r = self.send(method, path_and_query, body).await?;
        if r.is_success() {
            Ok(r.json())
        } else {
            Err(r.error_text())
        }
    }
}

/// Percent-encodes one path segment.
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%5F", "_")
        .replace("%2E", ".")
        .replace("%7E", "~")
}
