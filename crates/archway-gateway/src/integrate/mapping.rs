//! Request and response mapping shared by `HTTP` and `MOCK`: template choice by content type
//! and passthrough behaviour, integration response selection, response parameters.

use crate::body::Body;
use crate::context::{header_str, query_param, RequestContext};
use crate::error::GatewayError;
use crate::snapshot::{CompiledIntegration, CompiledIntegrationResponse};
use archway_model::template::{Template, TemplateSource};
use archway_model::{GatewayResponseType, PassthroughBehavior, ResponseParamSource};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response};
use std::borrow::Cow;

/// The request's content type without parameters, lower-case; `application/json` when absent,
/// as API Gateway assumes.
pub fn content_type(headers: &HeaderMap) -> String {
    header_str(headers, "content-type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

/// What becomes of the request body: a template to render, or the body as it is.
pub enum RequestMapping<'a> {
    Template(&'a str, &'a Template),
    Passthrough,
}

/// Chooses the request template by content type, applying `passthroughBehavior`.
pub fn request_mapping<'a>(
    integration: &'a CompiledIntegration,
    content_type: &str,
) -> Result<RequestMapping<'a>, GatewayError> {
    if let Some((ct, t)) = integration.request_templates.get_key_value(content_type) {
        return Ok(RequestMapping::Template(ct, t));
    }
    let pass = match integration.passthrough_behavior {
        PassthroughBehavior::WhenNoMatch => true,
        PassthroughBehavior::WhenNoTemplates => integration.request_templates.is_empty(),
        PassthroughBehavior::Never => false,
    };
    if pass {
        Ok(RequestMapping::Passthrough)
    } else {
        Err(GatewayError::new(GatewayResponseType::UnsupportedMediaType))
    }
}

/// The integration response for a status: the first whose selection pattern matches it, else
/// the default one.
pub fn select_response<'a>(
    integration: &'a CompiledIntegration,
    status: &str,
) -> Result<&'a CompiledIntegrationResponse, GatewayError> {
    integration
        .responses
        .iter()
        .find(|r| r.pattern.as_ref().is_none_or(|p| p.is_match(status)))
        .ok_or_else(|| {
            GatewayError::with_message(
                GatewayResponseType::ApiConfigurationError,
                "Internal server error",
            )
        })
}

/// Values templates read while mapping a request or a response.
pub struct Source<'a> {
    pub ctx: &'a RequestContext,
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

impl TemplateSource for Source<'_> {
    fn context(&self, path: &str) -> Option<Cow<'_, str>> {
        self.ctx.context_value(path)
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
        String::from_utf8_lossy(self.body)
    }

    fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(p) = self.ctx.path_param(name) {
            return Some(p);
        }
        if let Some(q) = query_param(self.query, name) {
            return Some(q);
        }
        header_str(self.headers, name).map(Cow::Borrowed)
    }
}

/// Builds the method response from the chosen integration response: its status, its
/// response parameters, and its template (or the integration's body as it is).
pub fn method_response(
    chosen: &CompiledIntegrationResponse,
    ctx: &RequestContext,
    req: &http::request::Parts,
    integration_headers: &HeaderMap,
    integration_body: Bytes,
) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = chosen.status;
    let headers = resp.headers_mut();
    let template = chosen
        .response_templates
        .get_key_value("application/json")
        .or_else(|| chosen.response_templates.first());
    match template {
        Some((ct, t)) => {
            // `$input.params()` reads the method request; `$input.body` the integration's.
            let src = Source {
                ctx,
                headers: &req.headers,
                query: req.uri.query(),
                body: &integration_body,
            };
            let rendered = t.render(&src);
            if let Ok(v) = HeaderValue::from_str(ct) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            *resp.body_mut() = Body::full(rendered);
        }
        None => {
            if let Some(ct) = integration_headers.get(header::CONTENT_TYPE) {
                headers.insert(header::CONTENT_TYPE, ct.clone());
            } else if !integration_body.is_empty() {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            *resp.body_mut() = Body::full(integration_body);
        }
    }
    let headers = resp.headers_mut();
    for (name, src) in &chosen.response_parameters {
        let value = match src {
            ResponseParamSource::Static(v) => HeaderValue::from_str(v).ok(),
            ResponseParamSource::IntegrationHeader(h) => {
                integration_headers.get(h.as_str()).cloned()
            }
        };
        if let Some(v) = value {
            headers.insert(name.clone(), v);
        }
    }
    resp
}
