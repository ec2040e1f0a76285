//! The one place a [`GatewayError`] becomes a response: status, `x-amzn-ErrorType`, the
//! per-API customisation (status, headers, body template), and AWS's default body
//! `{"message": ...}`. No phase builds an error response by hand.

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use archway_model::template::TemplateSource;
use archway_model::{GatewayResponseType, Protocol};
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use std::borrow::Cow;

static ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

/// Renders `err` for the request in `ctx` (whose stage, if resolved, carries the API's
/// gateway response customisations).
pub fn error_response(err: &GatewayError, ctx: &RequestContext) -> Response<Body> {
    let stage = ctx.stage.as_deref();
    let custom = stage.and_then(|s| s.gateway_responses.get(err.kind));
    let status = custom
        .and_then(|c| c.status_code)
        .unwrap_or_else(|| err.status());
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);

    let mut builder = Response::builder().status(status);
    let (content_type, body) = match custom.and_then(|c| {
        c.templates
            .get("application/json")
            .map(|t| ("application/json", t))
            .or_else(|| c.templates.first().map(|(k, t)| (k.as_str(), t)))
    }) {
        Some((ct, template)) => (
            Cow::Owned(ct.to_string()),
            template.render(&ErrorSource { err, ctx }),
        ),
        None if err.kind == GatewayResponseType::RequestTooLarge
            && stage.is_some_and(|s| s.protocol == Protocol::Http) =>
        {
            // HTTP APIs answer an oversized payload in plain text.
            let limit = stage.map_or(0, |s| s.max_payload_bytes);
            (
                Cow::Borrowed("text/plain; charset=utf-8"),
                format!("HTTP content length exceeded {limit} bytes."),
            )
        }
        None => (
            Cow::Borrowed("application/json"),
            default_body(err.message()),
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        builder = builder.header(CONTENT_TYPE, v);
    }
    builder = builder.header(&ERROR_TYPE, HeaderValue::from_static(err.kind.error_type()));
    if let Some(c) = custom {
        for (name, value) in &c.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                builder = builder.header(n, v);
            }
        }
    }
    builder
        .body(Body::full(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// `{"message":"..."}`, with the message escaped as JSON.
pub fn default_body(message: &str) -> String {
    let mut s = String::with_capacity(message.len() + 16);
    s.push_str("{\"message\":");
    s.push_str(&serde_json::Value::String(message.to_string()).to_string());
    s.push('}');
    s
}

struct ErrorSource<'a> {
    err: &'a GatewayError,
    ctx: &'a RequestContext,
}

impl TemplateSource for ErrorSource<'_> {
    fn context(&self, path: &str) -> Option<Cow<'_, str>> {
        match path {
            "error.message" => Some(Cow::Borrowed(self.err.message())),
            "error.messageString" => Some(Cow::Owned(
                serde_json::Value::String(self.err.message().to_string()).to_string(),
            )),
            "error.responseType" => Some(Cow::Borrowed(self.err.kind.name())),
            other => self.ctx.context_value(other),
        }
    }

    fn stage_variable(&self, name: &str) -> Option<Cow<'_, str>> {
        self.ctx
            .stage
            .as_ref()?
            .variables
            .get(name)
            .map(|v| Cow::Borrowed(v.as_str()))
    }

    fn body(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }

    fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.ctx.path_param(name)
    }
}
