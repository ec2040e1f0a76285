//! `MOCK`: no upstream. The request template's `statusCode` selects the integration response,
//! which supplies the status, headers and body.

use super::mapping::{self, RequestMapping, Source};
use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::snapshot::CompiledIntegration;
use archway_model::GatewayResponseType;
use bytes::Bytes;
use http::{HeaderMap, Response};

pub fn call(
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Response<Body>, GatewayError> {
    let content_type = mapping::content_type(&parts.headers);
    let status = match mapping::request_mapping(integration, &content_type)? {
        RequestMapping::Template(_, t) => {
            let src = Source {
                ctx,
                headers: &parts.headers,
                query: parts.uri.query(),
                body: &body,
            };
            status_code_of(&t.render(&src))?
        }
        RequestMapping::Passthrough => 200,
    };
    let chosen = mapping::select_response(integration, &status.to_string())?;
    Ok(mapping::method_response(
        chosen,
        ctx,
        parts,
        &HeaderMap::new(),
        Bytes::new(),
    ))
}

/// `{"statusCode": 200}` → 200. A template that does not render such JSON is a configuration
/// error, as on AWS.
fn status_code_of(rendered: &str) -> Result<u16, GatewayError> {
    let config_error = || GatewayError::new(GatewayResponseType::ApiConfigurationError);
    let v: serde_json::Value = serde_json::from_str(rendered).map_err(|_| config_error())?;
    let code = match v.get("statusCode") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(config_error)
}
