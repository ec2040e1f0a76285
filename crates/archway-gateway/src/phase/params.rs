//! Phase "validate request" (parameters): required `method.request.*` parameters are present.

use crate::context::{query_param, RequestContext};
use crate::error::GatewayError;
use crate::snapshot::CompiledRoute;
use archway_model::{GatewayResponseType, ParamLocation};

/// Answers 400 `Missing required request parameters: [a, b]`, in declaration order.
pub fn check_required(
    ctx: &RequestContext,
    route: &CompiledRoute,
    req: &http::request::Parts,
) -> Result<(), GatewayError> {
    if route.required_params.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = route
        .required_params
        .iter()
        .filter(|(loc, name)| match loc {
            ParamLocation::Path => ctx.path_param(name).is_none_or(|v| v.is_empty()),
            ParamLocation::QueryString => query_param(req.uri.query(), name).is_none(),
            ParamLocation::Header => !req.headers.contains_key(name.as_str()),
        })
        .map(|(_, name)| name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(GatewayError::with_message(
        GatewayResponseType::BadRequestParameters,
        format!(
            "Missing required request parameters: [{}]",
            missing.join(", ")
        ),
    ))
}
