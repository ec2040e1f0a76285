//! The request pipeline: the one place that says in which order the phases run.
//!
//! ```text
//!  accept (server.rs), read the head (http1.rs inline, or hyper)
//!    │
//!    ▼
//!  limits ─────────── request line ≤ maxRequestLineBytes (414), each header ≤ maxHeaderBytes (431),
//!                     not both Content-Length and Transfer-Encoding (400, framing.rs)
//!    ▼
//!  resolve stage ──── host → custom domain base path | {apiId}.execute-api.* | the only API;
//!    │                then /{stage} or an HTTP API's $default stage      (phase::stage)
//!    ▼
//!  pick deployment ── a stage's canary for percentTraffic % of requests  (phase::stage)
//!    ▼
//!  CORS preflight ─── HTTP APIs with corsConfiguration answer OPTIONS preflights (phase::cors)
//!    ▼
//!  match route ────── literal > {param} > {proxy+}; METHOD > ANY; $default  (phase::route)
//!    ▼
//!  API key ────────── apiKeyRequired: a valid, enabled x-api-key of a usage plan of the
//!    │                stage (403)                                          (phase::usage)
//!  throttle ───────── token buckets: account → stage/method → usage plan (429)
//!    │                                                                   (phase::usage)
//!  quota ──────────── the usage plan's quota for the key (429 Limit Exceeded)
//!    ▼                                                                   (phase::usage)
//!  validate request ─ the validator's required parameters                 (phase::validate)
//!    ▼
//!  payload ────────── Content-Length ≤ limit (413) before reading; stream or buffer
//!    │                                                                   (phase::payload)
//!    ▼
//!  validate body ──── the route's model for the content type, JSON Schema draft 4
//!    │                                                                   (phase::validate)
//!    ▼
//!  integrate ──────── HTTP_PROXY | HTTP | MOCK | AWS_PROXY | AWS (Lambda functions),
//!                     within timeoutInMillis                              (integrate)
//!    ▼
//!  map response ───── integration response by selectionPattern (HTTP, MOCK)
//!    ▼
//!  finish ─────────── CORS headers for allowed origins (phase::cors); x-amzn-RequestId (+ apigw-requestid on HTTP APIs); errors rendered by
//!                     respond.rs; access log line written when the body ends (access_log.rs)
//! ```
//!
//! Later phases (resource policy, authorizers, cache) slot in between "match route" and "integrate", each as one module
//! with one entry function, and cost nothing on routes that do not use them.
//!
//! Each phase returns `Result<_, GatewayError>`; the first error ends the request and is
//! rendered by [`crate::respond::error_response`], with the stage's gateway response
//! customisations when the stage is known.

use crate::access_log::LoggedBody;
use crate::body::Body;
use crate::context::{AmbiguousFraming, ConnInfo, RequestContext};
use crate::error::GatewayError;
use crate::headers::Forwarded;
use crate::integrate;
use crate::path::RequestPath;
use crate::phase::{cors, payload, route, stage, usage, validate};
use crate::respond;
use crate::snapshot::Snapshot;
use crate::Gateway;
use archway_model::{GatewayResponseType, IntegrationType, Protocol, Settings};
use http::{HeaderName, HeaderValue, Response};
use std::future::Future;
use std::sync::Arc;

static X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
static APIGW_REQUEST_ID: HeaderName = HeaderName::from_static("apigw-requestid");

/// Serves one request. Never fails: every error becomes its gateway response. `inline_writer`:
/// the response is written by [`crate::http1`] (see [`RequestContext::inline_writer`]); any
/// other writer sees every header in the response's map.
///
/// The head is borrowed, not owned: the phases read it, and an integration then edits it into
/// the upstream request (`HTTP_PROXY`) or takes from it. A connection that serves many
/// requests reuses one head, header map included (`docs/http1-server.md`, "The request head").
#[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice
pub fn handle<'a>(
    gw: &'a Gateway,
    conn: ConnInfo,
    forwarded: Arc<Forwarded>,
    parts: &'a mut http::request::Parts,
    body: Body,
    inline_writer: bool,
) -> impl Future<Output = Response<LoggedBody>> + 'a {
    // An `async` block, not an `async fn`: an `async fn`'s future keeps its arguments twice
    // (as passed, and moved into the body's locals; `docs/http1-server.md`, future sizes).
    async move {
        crate::spin::work();
        // The snapshot this request runs on from start to finish, whatever reloads happen.
        let snapshot = gw.snapshot();
        let mut ctx = RequestContext::new(conn, forwarded, parts.method.clone(), parts.version);
        ctx.inline_writer = inline_writer;
        let origin = crate::headers::get(&parts.headers, &http::header::ORIGIN).cloned();
        let mut resp = match run(gw, &snapshot, &mut ctx, parts, body).await {
            Ok(r) => r,
            Err(e) => respond::error_response(&e, &ctx),
        };
        if let Some(c) = ctx.stage.as_ref().and_then(|s| s.cors.as_ref()) {
            cors::decorate(c, origin.as_ref(), resp.headers_mut());
        }
        let ids = IdHeaders {
            id: ctx.request_id,
            apigw: ctx
                .stage
                .as_ref()
                .is_some_and(|s| s.protocol == Protocol::Http),
        };
        let h = resp.headers_mut();
        if inline_writer {
            // The writer adds them (`IdHeaders`); any the response carries give way, as they would
            // to an insert.
            if !h.is_empty() {
                h.remove(&X_AMZN_REQUEST_ID);
                if ids.apigw {
                    h.remove(&APIGW_REQUEST_ID);
                }
            }
        } else if let Ok(id) = HeaderValue::from_str(ctx.request_id.as_str()) {
            if ids.apigw {
                h.insert(APIGW_REQUEST_ID.clone(), id.clone());
            }
            h.insert(X_AMZN_REQUEST_ID.clone(), id);
        }
        let status = resp.status().as_u16();
        let (parts, body) = resp.into_parts();
        let mut body = gw.access_log.wrap(&ctx, status, body);
        if inline_writer {
            body.ids = Some(ids);
        }
        Response::from_parts(parts, body)
    }
}

/// The request id headers of a response written by [`crate::http1`], which writes them
/// straight from the id: on that path they cost no header map insert (and no map at all for a
/// response whose other headers pass through, `upstream::h1::RawHeaders`).
#[derive(Debug, Clone, Copy)]
pub struct IdHeaders {
    id: crate::context::RequestId,
    /// `apigw-requestid` too (HTTP APIs).
    apigw: bool,
}

impl IdHeaders {
    pub fn write(&self, out: &mut Vec<u8>) {
        let id = self.id.as_bytes();
        if self.apigw {
            out.extend_from_slice(b"apigw-requestid: ");
            out.extend_from_slice(id);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"x-amzn-requestid: ");
        out.extend_from_slice(id);
        out.extend_from_slice(b"\r\n");
    }
}

#[allow(clippy::manual_async_fn)] // an `async fn` would hold its arguments twice
fn run<'a>(
    gw: &'a Gateway,
    snapshot: &'a Snapshot,
    ctx: &'a mut RequestContext,
    parts: &'a mut http::request::Parts,
    body: Body,
) -> impl Future<Output = Result<Response<Body>, GatewayError>> + 'a {
    // An `async` block, not an `async fn`: see `handle`.
    async move {
        check_limits(parts, &snapshot.settings)?;
        ctx.user_agent = crate::headers::get(&parts.headers, &http::header::USER_AGENT).cloned();
        ctx.path = RequestPath::parse(parts.uri.path()).map_err(|_| GatewayError::bad_request())?;
        ctx.domain_name = stage::request_host(parts);

        let (stage, consumed) = stage::resolve(snapshot, &ctx.domain_name, &ctx.path)?;
        let stage = stage::pick_deployment(stage);
        usage::prefetch(&stage, &parts.headers);
        ctx.stage = Some(stage.clone());
        ctx.path_skip = consumed;

        if let Some(cors) = &stage.cors {
            if let Some(resp) = cors::preflight(cors, &parts.method, &parts.headers) {
                return Ok(resp);
            }
        }

        route::match_route(ctx, &stage)?;
        let route =
            ctx.route
                .and_then(|i| stage.routes.get(i as usize))
                .ok_or(GatewayError::new(
                    GatewayResponseType::ApiConfigurationError,
                ))?;
        let integration = &route.integration;

        usage::check(
            &snapshot.account_bucket,
            &snapshot.settings,
            ctx,
            &stage,
            route,
            &parts.headers,
        )?;

        validate::parameters(ctx, &route.validation, parts)?;

        let body = payload::read(
            &parts.headers,
            body,
            stage.max_payload_bytes,
            integrate::body_need(route),
        )
        .await?;
        if let payload::RequestBody::Buffered(b) = &body {
            if route.validation.checks_body() {
                let ct = integrate::mapping::content_type(&parts.headers);
                validate::body(&route.validation, &ct, b)?;
            }
        }

        match (integration.kind, body) {
            (IntegrationType::HttpProxy, body) => {
                let body = match body {
                    payload::RequestBody::Stream(b) => b,
                    payload::RequestBody::Buffered(b) => Body::full(b),
                };
                integrate::http_proxy::call(&gw.upstream, integration, ctx, parts, body).await
            }
            // Boxed so that the plain proxy path's future stays small (it is moved on every poll
            // hand-off); templates and buffering make this one large.
            (IntegrationType::Http, payload::RequestBody::Buffered(b)) => {
                Box::pin(integrate::http::call(
                    &gw.upstream,
                    integration,
                    ctx,
                    parts,
                    b,
                ))
                .await
            }
            (IntegrationType::Mock, payload::RequestBody::Buffered(b)) => {
                integrate::mock::call(integration, ctx, parts, b)
            }
            (IntegrationType::AwsProxy, payload::RequestBody::Buffered(b)) => {
                let functions = gw.functions.load_full();
                Box::pin(integrate::lambda::call(
                    functions.as_deref(),
                    integration,
                    ctx,
                    parts,
                    b,
                ))
                .await
            }
            (IntegrationType::Aws, payload::RequestBody::Buffered(b)) => {
                let functions = gw.functions.load_full();
                Box::pin(integrate::lambda::call_aws(
                    functions.as_deref(),
                    integration,
                    ctx,
                    parts,
                    b,
                ))
                .await
            }
            // Only HTTP_PROXY streams its body (`integrate::body_need`): a body in the wrong form
            // cannot happen, and would be a configuration error.
            (
                IntegrationType::Http
                | IntegrationType::Mock
                | IntegrationType::AwsProxy
                | IntegrationType::Aws,
                payload::RequestBody::Stream(_),
            ) => Err(GatewayError::new(
                GatewayResponseType::ApiConfigurationError,
            )),
        }
    }
}

/// Request line and header size limits (AWS: 10,240 bytes each), and no request that carried
/// both `Content-Length` and `Transfer-Encoding` (`framing.rs`).
fn check_limits(parts: &http::request::Parts, s: &Settings) -> Result<(), GatewayError> {
    if parts.extensions.get::<AmbiguousFraming>().is_some() {
        return Err(GatewayError::bad_request());
    }
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    // METHOD SP target SP HTTP/1.1
    if parts.method.as_str().len() + target + 10 > s.max_request_line_bytes {
        return Err(GatewayError::new(GatewayResponseType::UriTooLong));
    }
    for (name, value) in &parts.headers {
        if name.as_str().len() + value.len() + 2 > s.max_header_bytes {
            return Err(GatewayError::new(
                GatewayResponseType::RequestHeaderFieldsTooLarge,
            ));
        }
    }
    Ok(())
}
