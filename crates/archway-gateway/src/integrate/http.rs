//! `HTTP` (non-proxy): the upstream request is built from `requestParameters` and the request
//! template; the upstream status selects an integration response by `selectionPattern`.

use super::mapping::{self, RequestMapping, Source};
use super::{send, upstream_path, upstream_uri};
use crate::body::Body;
use crate::context::{header_str, query_param, RequestContext};
use crate::error::GatewayError;
use crate::snapshot::CompiledIntegration;
use crate::upstream::{Options, Upstream};
use archway_model::{GatewayResponseType, ParamLocation, ParamSource};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use std::borrow::Cow;

/// The value a `requestParameters` source gives for this request.
pub fn param_value<'a>(
    src: &'a ParamSource,
    ctx: &'a RequestContext,
    req: &'a http::request::Parts,
) -> Option<Cow<'a, str>> {
    match src {
        ParamSource::Static(v) => Some(Cow::Borrowed(v)),
        ParamSource::StageVariable(n) => ctx
            .stage
            .as_ref()?
            .variables
            .get(n)
            .map(|v| Cow::Borrowed(v.as_str())),
        ParamSource::Context(c) => ctx.context_value(c),
        ParamSource::Method { location, name } => match location {
            ParamLocation::Path => ctx.path_param(name),
            ParamLocation::QueryString => query_param(req.uri.query(), name),
            ParamLocation::Header => header_str(&req.headers, name).map(Cow::Borrowed),
        },
    }
}

/// Values of the `integration.request.path.*` mappings, by name.
pub fn path_parameters<'a>(
    integration: &'a CompiledIntegration,
    ctx: &RequestContext,
    req: &http::request::Parts,
) -> Vec<(&'a str, String)> {
    integration
        .request_parameters
        .iter()
        .filter(|(t, _)| t.location == ParamLocation::Path)
        .filter_map(|(t, s)| Some((t.name.as_str(), param_value(s, ctx, req)?.into_owned())))
        .collect()
}

/// Values of the `integration.request.header.*` mappings. Read from the client's request before
/// anything edits its head (HTTP_PROXY sends that head on, edited in place).
pub fn header_parameters(
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    req: &http::request::Parts,
) -> Vec<(HeaderName, HeaderValue)> {
    integration
        .request_parameters
        .iter()
        .filter(|(t, _)| t.location == ParamLocation::Header)
        .filter_map(|(target, src)| {
            let name = HeaderName::from_bytes(target.name.as_bytes()).ok()?;
            let value = HeaderValue::from_str(&param_value(src, ctx, req)?).ok()?;
            Some((name, value))
        })
        .collect()
}

pub async fn call(
    upstream: &Upstream,
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Response<Body>, GatewayError> {
    let target = integration.target.as_ref().ok_or(GatewayError::new(
        GatewayResponseType::ApiConfigurationError,
    ))?;
    let mapped = path_parameters(integration, ctx, parts);
    let mut pq = upstream_path(target, ctx, &mapped);
    // Query: only what is mapped.
    for (t, s) in &integration.request_parameters {
        if t.location != ParamLocation::QueryString {
            continue;
        }
        if let Some(v) = param_value(s, ctx, parts) {
            pq.push(if pq.contains('?') { '&' } else { '?' });
            pq.extend(form_urlencoded(&t.name));
            pq.push('=');
            pq.extend(form_urlencoded(&v));
        }
    }
    let uri = upstream_uri(target, pq)?;

    let content_type = mapping::content_type(&parts.headers);
    let (out_body, out_type) = match mapping::request_mapping(integration, &content_type)? {
        RequestMapping::Template(ct, t) => {
            let src = Source {
                ctx,
                headers: &parts.headers,
                query: parts.uri.query(),
                body: &body,
            };
            (Bytes::from(t.render(&src)), Some(ct.to_string()))
        }
        RequestMapping::Passthrough => (
            body.clone(),
            header_str(&parts.headers, "content-type").map(str::to_string),
        ),
    };

    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, target.host_header.clone());
    if let Some(ct) = out_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    let forwarded = super::forwarded(integration, ctx, &mut headers);
    for (name, value) in header_parameters(integration, ctx, parts) {
        headers.insert(name, value);
    }

    let (mut up, ()) = Request::new(()).into_parts();
    up.method = integration.method.clone().unwrap_or(parts.method.clone());
    up.uri = uri;
    up.headers = headers;
    let opts = Options {
        raw_ok: false,
        forwarded,
    };
    let resp = send(
        upstream,
        integration,
        ctx,
        &mut up,
        Body::full(out_body),
        opts,
    )
    .await?;
    let status = resp.status();
    let (rparts, rbody) = resp.into_parts();
    let chosen = mapping::select_response(integration, status.as_str())?;
    let rbytes = match tokio::time::timeout(integration.timeout, rbody.collect()).await {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(_)) => return Err(GatewayError::new(GatewayResponseType::IntegrationFailure)),
        Err(_) => return Err(GatewayError::new(GatewayResponseType::IntegrationTimeout)),
    };
    Ok(mapping::method_response(
        chosen,
        ctx,
        parts,
        &rparts.headers,
        rbytes,
    ))
}

fn form_urlencoded(s: &str) -> impl Iterator<Item = &str> {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE)
}

const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
