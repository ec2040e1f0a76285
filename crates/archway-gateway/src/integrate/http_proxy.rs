//! `HTTP_PROXY`: the request passes through to the upstream, and the response back, streamed.

use super::{send, upstream_path, upstream_uri};
use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::headers::strip_hop_by_hop;
use crate::snapshot::CompiledIntegration;
use crate::upstream::{Options, Upstream};
use archway_model::GatewayResponseType;
use http::{header, Request, Response};

pub async fn call(
    upstream: &Upstream,
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &mut http::request::Parts,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let target = integration.target.as_ref().ok_or(GatewayError::new(
        GatewayResponseType::ApiConfigurationError,
    ))?;
    let mapped = super::http::path_parameters(integration, ctx, parts);
    let mut pq = upstream_path(target, ctx, &mapped);
    if let Some(q) = parts.uri.query() {
        pq.push(if pq.contains('?') { '&' } else { '?' });
        pq.push_str(q);
    }
    let uri = upstream_uri(target, pq)?;
    let mut headers = std::mem::take(&mut parts.headers);
    strip_hop_by_hop(&mut headers);
    headers.insert(header::HOST, target.host_header.clone());
    let forwarded = super::forwarded(integration, ctx, &mut headers);
    super::http::apply_header_parameters(integration, ctx, parts, &mut headers);
    let mut req = Request::new(body);
    *req.method_mut() = match &integration.method {
        Some(m) => m.clone(),
        None => std::mem::take(&mut parts.method),
    };
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    let resp = send(
        upstream,
        integration,
        ctx,
        req,
        Options {
            raw_ok: ctx.passes_headers_through(),
            forwarded,
        },
    )
    .await?;
    let (mut rparts, rbody) = resp.into_parts();
    strip_hop_by_hop(&mut rparts.headers);
    Ok(Response::from_parts(rparts, rbody))
}
