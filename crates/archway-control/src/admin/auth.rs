//! Every admin request must be SigV4-signed with the admin key (service `apigateway`, any
//! region), within 15 minutes of the server's clock. Anything else is answered 403 with AWS's
//! error type and message before any handler runs. Nothing here logs a header or a secret.

use super::{error_response, AdminState};
use archway_aws::sigv4::{self, SigV4Error};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The largest admin request body read (an OpenAPI document to import).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The signing name of the `apigateway` and `apigatewayv2` services.
pub const SERVICE: &str = "apigateway";

pub async fn require_signature(State(st): State<AdminState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                413,
                "PayloadTooLargeException",
                "Request payload is too large or could not be read",
            )
        }
    };
    if let Err(e) = sigv4::verify_parts(&parts, &bytes, st.credentials.as_ref(), SERVICE) {
        tracing::info!(
            method = %parts.method,
            path = parts.uri.path(),
            error = %e,
            "admin request refused"
        );
        return sigv4_error(&e);
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    aws_error_form(resp).await
}

/// Errors that axum itself produced (a path it cannot decode, a method the path does not
/// have) are put in AWS's form too; the handlers' own errors already are.
async fn aws_error_form(resp: Response) -> Response {
    let status = resp.status().as_u16();
    if status < 400 || resp.headers().contains_key("x-amzn-errortype") {
        return resp;
    }
    if status == 405 {
        return error_response(404, "UnknownOperationException", "Unknown operation");
    }
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).into_owned();
    let error_type = if status >= 500 {
        "InternalFailure"
    } else {
        "BadRequestException"
    };
    error_response(status, error_type, &message)
}

fn sigv4_error(e: &SigV4Error) -> Response {
    error_response(e.status_code(), e.error_type(), &e.aws_message())
}
