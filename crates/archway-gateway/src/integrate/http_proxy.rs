//! `HTTP_PROXY`: the request passes through to the upstream, and the response back, streamed.

use super::{send, upstream_path, upstream_uri};
use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::headers::strip_hop_by_hop;
use crate::snapshot::CompiledIntegration;
use crate::upstream::{Options, Upstream};
use archway_model::GatewayResponseType;
use http::{header, Response};
use std::future::Future;

#[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice
pub fn call<'a>(
    upstream: &'a Upstream,
    integration: &'a CompiledIntegration,
    ctx: &'a RequestContext,
    parts: &'a mut http::request::Parts,
    body: Body,
) -> impl Future<Output = Result<Response<Body>, GatewayError>> + 'a {
    // An `async` block, not an `async fn`: see `pipeline::handle`.
    async move {
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
        // The client's head becomes the upstream's, edited in place (the pipeline is done with it);
        // header mappings read the client's headers first.
        let mapped_headers = super::http::header_parameters(integration, ctx, parts);
        let headers = &mut parts.headers;
        strip_hop_by_hop(headers);
        headers.insert(header::HOST, target.host_header.clone());
        let forwarded = super::forwarded(integration, ctx, headers);
        // Replacing what the client sent (`extend` would append).
        for (name, value) in mapped_headers {
            headers.insert(name, value);
        }
        if let Some(m) = &integration.method {
            parts.method = m.clone();
        }
        parts.uri = uri;
        let opts = Options {
            raw_ok: ctx.passes_headers_through(),
            forwarded,
        };
        let resp = send(upstream, integration, ctx, parts, body, opts).await?;
        let (mut rparts, rbody) = resp.into_parts();
        strip_hop_by_hop(&mut rparts.headers);
        Ok(Response::from_parts(rparts, rbody))
    }
}
