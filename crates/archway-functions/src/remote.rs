//! Invoking functions that are not local: `POST {endpoint}/2015-03-31/functions/{arn}/invocations`,
//! SigV4-signed (service `lambda`) with AWS credentials.
//!
//! Credentials come from the standard places, in the standard order: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; else the profile named in the config, or
//! `AWS_PROFILE`, or `default`, of the shared credentials file (parsed by
//! `archway_aws::credentials_file`) (`AWS_SHARED_CREDENTIALS_FILE`,
//! default `~/.aws/credentials`). The AWS SDK's credential chain (aws-config) would bring the
//! whole SDK runtime for what is, for Archway, an environment lookup and a small INI file; so
//! this reads them itself. SSO, web identity and instance roles are not supported.

use crate::InvokeError;
use archway_aws::sigv4::{self, Credentials, SigningParams};
use archway_model::{lambda_region, LambdaSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::PathBuf;
use std::sync::Arc;

/// The largest answer read from the Invoke API (Lambda's synchronous limit).
const MAX_ANSWER: usize = 6 * 1024 * 1024;

pub(crate) struct Remote {
    settings: Arc<LambdaSettings>,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Remote {
    pub fn new(settings: LambdaSettings) -> Result<Remote, String> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Remote {
            settings: Arc::new(settings),
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Whether credentials can be found for `function_arn`: checked at start, so that a
    /// remote function without credentials is a configuration error rather than a 500 later.
    pub fn check(&self, function_arn: &str) -> Result<(), String> {
        let unqualified = archway_model::lambda_function_arn(function_arn).unwrap_or(function_arn);
        let cfg = self.settings.for_function(unqualified);
        credentials(cfg.profile.as_deref()).map(|_| ())
    }

    /// [`Remote::invoke`] as a `'static` future, to run on the host's runtime.
    pub fn invoke_owned(
        &self,
        function_arn: String,
        payload: Bytes,
    ) -> impl std::future::Future<Output = Result<Bytes, InvokeError>> + Send + 'static {
        let me = Remote {
            settings: self.settings.clone(),
            client: self.client.clone(),
        };
        async move { me.invoke(&function_arn, payload).await }
    }

    pub async fn invoke(&self, function_arn: &str, payload: Bytes) -> Result<Bytes, InvokeError> {
        let unqualified = archway_model::lambda_function_arn(function_arn).unwrap_or(function_arn);
        let cfg = self.settings.for_function(unqualified);
        let creds = credentials(cfg.profile.as_deref()).map_err(InvokeError::Remote)?;
        let region = lambda_region(function_arn).unwrap_or("us-east-1");
        let base = cfg
            .endpoint
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        let path = format!(
            "/2015-03-31/functions/{}/invocations",
            percent_encoding::utf8_percent_encode(function_arn, percent_encoding::NON_ALPHANUMERIC)
        );
        let uri: http::Uri = format!("{base}{path}")
            .parse()
            .map_err(|e| InvokeError::Remote(format!("bad Invoke API URL: {e}")))?;
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "x-amz-invocation-type",
            http::HeaderValue::from_static("RequestResponse"),
        );
        let authority = uri.authority().map(|a| a.as_str().to_string());
        let params = SigningParams::new(
            &creds,
            region,
            "lambda",
            time::OffsetDateTime::now_utc(),
            &payload,
        );
        sigv4::sign_request_headers(
            "POST",
            &path,
            None,
            &mut headers,
            authority.as_deref(),
            &params,
        )
        .map_err(|e| InvokeError::Remote(format!("cannot sign the request: {e}")))?;
        let mut req = http::Request::new(Full::new(payload));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| InvokeError::Remote(format!("cannot reach the Invoke API: {e}")))?;
        let status = resp.status().as_u16();
        let function_error = resp.headers().contains_key("x-amz-function-error");
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| InvokeError::Remote(format!("reading the answer failed: {e}")))?
            .to_bytes();
        match status {
            200 if function_error => Err(InvokeError::Function(body)),
            200 => Ok(body),
            429 => Err(InvokeError::Throttled),
            _ => Err(InvokeError::Remote(format!(
                "the Invoke API answered {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    }
}

/// The credentials to sign with: the environment, else a profile of the credentials file.
pub fn credentials(profile: Option<&str>) -> Result<Credentials, String> {
    if profile.is_none() {
        if let (Ok(id), Ok(secret)) = (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            let c = Credentials::new(id, secret);
            return Ok(match std::env::var("AWS_SESSION_TOKEN") {
                Ok(t) if !t.is_empty() => c.with_session_token(t),
                _ => c,
            });
        }
    }
    let name = profile
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".into());
    let file = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")))
        .ok_or(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile",
        )?;
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "no AWS credentials: AWS_ACCESS_KEY_ID is not set and {} cannot be read ({e})",
            file.display()
        )
    })?;
    archway_aws::credentials_file::profile(&text, &name).ok_or_else(|| {
        format!(
            "no profile `{name}` with aws_access_key_id and aws_secret_access_key in {}",
            file.display()
        )
    })
}
