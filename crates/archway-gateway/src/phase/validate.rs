//! Phase "validate request" (REST): what the route's request validator asks for — the required
//! `method.request.*` parameters, and the body against the route's model for its content type
//! (JSON Schema draft 4, as API Gateway uses).

use crate::context::{query_param, RequestContext};
use crate::error::GatewayError;
use archway_model::{ApiDefinition, GatewayResponseType, ParamLocation, Route};
use std::sync::Arc;

/// What a route validates, prepared when the snapshot is compiled.
#[derive(Debug, Default)]
pub struct CompiledValidation {
    /// Required parameters, in declaration order; empty when the validator does not check them.
    pub required_params: Vec<(ParamLocation, String)>,
    /// Content type (lower case, or `$default`) → compiled model.
    pub body: Vec<(String, Arc<jsonschema::Validator>)>,
}

impl CompiledValidation {
    /// Compiles the validation `route` gets from its (or the API's default) request validator.
    pub fn new(def: &ApiDefinition, route: &Route) -> Result<CompiledValidation, String> {
        let Some((_, validator)) = def.request_validator_for(route) else {
            return Ok(CompiledValidation::default());
        };
        let required_params = if validator.validate_request_parameters {
            route
                .request_parameters
                .iter()
                .filter(|p| p.required)
                .map(|p| (p.location, p.name.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let mut body = Vec::new();
        if validator.validate_request_body {
            for (content_type, model) in &route.request_models {
                let schema = def
                    .models
                    .get(model)
                    .ok_or_else(|| format!("model `{model}` is not defined"))?;
                let compiled = jsonschema::draft4::new(schema)
                    .map_err(|e| format!("model `{model}` is not a valid JSON Schema: {e}"))?;
                body.push((content_type.to_ascii_lowercase(), Arc::new(compiled)));
            }
        }
        Ok(CompiledValidation {
            required_params,
            body,
        })
    }

    pub fn checks_body(&self) -> bool {
        !self.body.is_empty()
    }
}

/// Answers 400 `Missing required request parameters: [a, b]`, in declaration order.
pub fn parameters(
    ctx: &RequestContext,
    v: &CompiledValidation,
    req: &http::request::Parts,
) -> Result<(), GatewayError> {
    if v.required_params.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = v
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

/// Validates the body against the model for `content_type` (else the `$default` model); no
/// model for the type means nothing to check. A body that is not JSON, or does not match:
/// 400 `Invalid request body`.
pub fn body(v: &CompiledValidation, content_type: &str, body: &[u8]) -> Result<(), GatewayError> {
    let model = v
        .body
        .iter()
        .find(|(ct, _)| ct == content_type)
        .or_else(|| v.body.iter().find(|(ct, _)| ct == "$default"));
    let Some((_, schema)) = model else {
        return Ok(());
    };
    let invalid = || GatewayError::new(GatewayResponseType::BadRequestBody);
    let instance: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(body).map_err(|_| invalid())?
    };
    if schema.is_valid(&instance) {
        Ok(())
    } else {
        Err(invalid())
    }
}
