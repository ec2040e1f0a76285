//! Lambda's Invoke API for the local functions, so that `aws lambda invoke --endpoint-url`,
//! the SDKs, and another Archway's remote invocations reach them:
//! `POST /2015-03-31/functions/{FunctionName}/invocations`, SigV4-signed (service `lambda`)
//! with the admin key. `X-Amz-Invocation-Type` RequestResponse (default), Event (202, run in
//! the background) or DryRun (204). A function's error is answered 200 with
//! `X-Amz-Function-Error: Unhandled` and the error document, as Lambda does.

use crate::{Functions, InvokeError};
use archway_aws::sigv4::{self, CredentialLookup};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Lambda's synchronous request payload limit.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

pub type Lookup = Arc<dyn CredentialLookup + Send + Sync>;

/// Serves the Invoke API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, functions: Arc<Functions>, credentials: Lookup) {
    crate::serve_http1(listener, move |req| {
        let (f, c) = (functions.clone(), credentials.clone());
        async move { handle(req, f, &*c).await }
    })
    .await
}

fn error(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "Type": "User", "message": message }).to_string();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = http::HeaderValue::from_str(kind) {
        h.insert("x-amzn-errortype", v);
    }
    r
}

/// The function name in `FunctionName`: a name, `ACCOUNT:function:NAME`, or a full ARN, with an
/// optional `:QUALIFIER`.
fn function_name(raw: &str) -> &str {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [name] | [name, _] => name,
        [_, "function", name] | [_, "function", name, _] => name,
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => raw,
    }
}

async fn handle(
    req: Request<Incoming>,
    functions: Arc<Functions>,
    credentials: &(dyn CredentialLookup + Send + Sync),
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Ok(body) = Limited::new(body, MAX_PAYLOAD).collect().await else {
        return error(
            413,
            "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        );
    };
    let body = body.to_bytes();
    if let Err(e) = sigv4::verify_parts(&parts, &body, credentials, "lambda") {
        tracing::info!(path = parts.uri.path(), error = %e, "Invoke API request refused");
        return error(e.status_code(), e.error_type(), &e.aws_message());
    }
    let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy();
    let name = match (
        &parts.method,
        path.strip_prefix("/2015-03-31/functions/")
            .and_then(|r| r.strip_suffix("/invocations")),
    ) {
        (&Method::POST, Some(n)) => function_name(n).to_string(),
        _ => return error(404, "UnknownOperationException", "Unknown operation"),
    };
    if !functions.contains(&name) {
        let arn = functions.arn_of(&name);
        return error(
            404,
            "ResourceNotFoundException",
            &format!("Function not found: {arn}"),
        );
    }
    let kind = parts
        .headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match kind {
        "DryRun" => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            return r;
        }
        "Event" => {
            let f = functions.clone();
            tokio::spawn(async move {
                if let Err(e) = f.invoke(&name, body, None, None).await {
                    tracing::warn!(function = %name, error = %e, "asynchronous invocation failed");
                }
            });
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::ACCEPTED;
            return r;
        }
        "RequestResponse" => {}
        other => {
            return error(
                400,
                "InvalidParameterValueException",
                &format!("Unsupported invocation type {other}"),
            )
        }
    }
    let trace = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok());
    let answer = functions.invoke(&name, body, None, trace).await;
    let (status, body, function_error) = match answer {
        Ok(b) => (200, b, false),
        Err(InvokeError::Function(b)) => (200, b, true),
        Err(InvokeError::Timeout(d)) => (
            200,
            Bytes::from(
                serde_json::json!({
                    "errorMessage": format!("Task timed out after {:.2} seconds", d.as_secs_f64()),
                    "errorType": "Sandbox.Timedout"
                })
                .to_string(),
            ),
            true,
        ),
        Err(InvokeError::Crashed) => (
            200,
            Bytes::from(
                serde_json::json!({
                    "errorMessage": "Runtime exited without providing a reason",
                    "errorType": "Runtime.ExitError"
                })
                .to_string(),
            ),
            true,
        ),
        Err(InvokeError::Throttled) => {
            return error(429, "TooManyRequestsException", "Rate Exceeded.")
        }
        Err(e) => return error(502, "ServiceException", &e.to_string()),
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "x-amz-executed-version",
        http::HeaderValue::from_static("$LATEST"),
    );
    if function_error {
        h.insert(
            "x-amz-function-error",
            http::HeaderValue::from_static("Unhandled"),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn function_names_in_every_form() {
        assert_eq!(function_name("hello"), "hello");
        assert_eq!(function_name("hello:prod"), "hello");
        assert_eq!(function_name("123456789012:function:hello"), "hello");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:hello"),
            "hello"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:hello:$LATEST"),
            "hello"
        );
    }
}
