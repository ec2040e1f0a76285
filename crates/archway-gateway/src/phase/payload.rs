//! Phase "payload": the request body within the payload limit.
//!
//! A body with a `Content-Length` over the limit is refused with 413 before a byte of it is
//! read. A body with a known length streams to the upstream (hyper enforces the length). A body
//! without one (chunked, or an HTTP/2 stream without `content-length`) is read whole, under the
//! limit, before the upstream is contacted — nginx's default too — so an oversized or broken
//! chunked body never reaches the upstream. See `docs/request-bodies.md`.

use crate::body::Body;
use crate::error::GatewayError;
use archway_model::GatewayResponseType;
use bytes::Bytes;
use http_body::Body as _;
use http_body_util::{BodyExt, Limited};

/// Whether the integration needs the body in hand (templates, events) or can stream it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Stream,
    Buffer,
}

/// The request body as the integration will send it.
pub enum RequestBody {
    Stream(Body),
    Buffered(Bytes),
}

pub async fn read(
    headers: &http::HeaderMap,
    body: Body,
    limit: u64,
    need: Need,
) -> Result<RequestBody, GatewayError> {
    let declared = match crate::headers::get(headers, &http::header::CONTENT_LENGTH) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(GatewayError::bad_request)?,
        ),
        None => None,
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::new(GatewayResponseType::RequestTooLarge));
    }
    if body.is_end_stream() {
        return Ok(match need {
            Need::Stream => RequestBody::Stream(Body::Empty),
            Need::Buffer => RequestBody::Buffered(Bytes::new()),
        });
    }
    if declared.is_some() && need == Need::Stream {
        return Ok(RequestBody::Stream(body));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // Boxed: buffering is the slower path anyway, and keeps every request's future small.
    match Box::pin(Limited::new(body, limit).collect()).await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            Ok(match need {
                Need::Stream => RequestBody::Stream(Body::full(bytes)),
                Need::Buffer => RequestBody::Buffered(bytes),
            })
        }
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(GatewayError::new(GatewayResponseType::RequestTooLarge))
        }
        Err(_) => Err(GatewayError::bad_request()),
    }
}
