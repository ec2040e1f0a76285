//! Phase "integrate" (and "map response"): send the request to the route's integration and
//! shape what comes back.
//!
//! - `HTTP_PROXY` ([`http_proxy`]): method, path, query, headers and body pass through, streamed.
//! - `HTTP` ([`http`]): request parameters and templates build the upstream request; the
//!   integration response chosen by `selectionPattern` on the upstream status shapes the answer.
//! - `MOCK` ([`mock`]): the request template's `statusCode` picks the integration response.

pub mod http;
pub mod http_proxy;
pub mod lambda;
pub mod mapping;
pub mod mock;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::headers::{set_forwarded, Forwarded};
use crate::path::encode_segment;
use crate::phase::payload::Need;
use crate::router::Capture;
use crate::snapshot::{CompiledIntegration, CompiledRoute, PathPart, UpstreamTarget};
use crate::upstream::{Exchange, Options, Upstream};
use ::http::Response;
use archway_model::{GatewayResponseType, IntegrationType, ParamLocation};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use tokio::time::{Instant, Sleep};

/// What a route needs of the request body: its integration's needs, and the body validation.
pub fn body_need(route: &CompiledRoute) -> Need {
    if route.validation.checks_body() {
        return Need::Buffer;
    }
    match route.integration.kind {
        IntegrationType::HttpProxy => Need::Stream,
        IntegrationType::Http
        | IntegrationType::Mock
        | IntegrationType::AwsProxy
        | IntegrationType::Aws => Need::Buffer,
    }
}

/// Builds the upstream path and query: the target's parts with each path parameter re-encoded.
/// An `integration.request.path.NAME` mapping (`mapped`) takes precedence over the route's own
/// parameter of that name.
pub fn upstream_path(
    target: &UpstreamTarget,
    ctx: &RequestContext,
    mapped: &[(&str, String)],
) -> String {
    let path = ctx.view();
    let mut pq = String::with_capacity(target.fixed_len + path.len() * 16 + 16);
    for part in &target.path {
        match part {
            PathPart::Text(t) => pq.push_str(t),
            PathPart::Param { name, route_index } => {
                if let Some((_, v)) = mapped.iter().find(|(n, _)| n == name) {
                    encode_segment(v, &mut pq);
                    continue;
                }
                let Some(i) = route_index else { continue };
                match ctx.captures.get(*i) {
                    Some(Capture::Segment(s)) => encode_segment(path.get(*s as usize), &mut pq),
                    Some(Capture::Rest(s)) => path.encode_from(*s as usize, &mut pq),
                    None => {}
                }
            }
        }
    }
    pq
}

thread_local! {
    /// Integration timers of a worker thread, reused ([`TimerPool`]).
    static TIMERS: RefCell<Option<Vec<Pin<Box<Sleep>>>>> = const { RefCell::new(None) };
}

/// The most idle timers a worker keeps.
const POOLED_TIMERS: usize = 256;

/// Reuse of integration timers on a worker thread, for as long as this guard lives.
///
/// Why: a new `tokio::time::Sleep` per request looks the runtime up, and takes the timer
/// wheel's lock once to register and once more to cancel. The integration timer cost ~935 of
/// the ~18,850 instructions of a proxied request; reuse brings it to ~750 (callgrind,
/// `docs/http1-server.md`). A pooled one is `reset` to the
/// next request's deadline: when that is later than the one it holds (the common case, one
/// timeout after another), tokio only stores the new time, and moves the entry in the wheel
/// when the old time comes. A timer dropped in the pool may still fire at its old time and wake
/// the task that last polled it; tasks take spurious wake-ups in their stride.
///
/// Only a worker thread, which runs one runtime for its whole life, enables it: a timer must
/// not outlive its runtime in a pool another runtime on the same thread would draw from. The
/// guard empties the pool as it drops, before the worker's runtime does.
pub struct TimerPool(());

impl TimerPool {
    pub fn enable() -> TimerPool {
        TIMERS.set(Some(Vec::new()));
        TimerPool(())
    }
}

impl Drop for TimerPool {
    fn drop(&mut self) {
        TIMERS.take();
    }
}

/// An integration timer, from the worker's pool when there is one.
struct Timer(Option<Pin<Box<Sleep>>>);

impl Timer {
    fn new(deadline: Instant) -> Timer {
        let pooled = TIMERS
            .try_with(|t| t.try_borrow_mut().ok()?.as_mut()?.pop())
            .ok()
            .flatten();
        Timer(Some(match pooled {
            Some(mut s) => {
                s.as_mut().reset(deadline);
                s
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        }))
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        match self.0.as_mut() {
            Some(s) => s.as_mut().poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let Some(s) = self.0.take() else { return };
        let _ = TIMERS.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                if let Some(pool) = t.as_mut().filter(|p| p.len() < POOLED_TIMERS) {
                    pool.push(s);
                }
            }
        });
    }
}

/// `X-Forwarded-*` for a request to `integration`: set in `headers` now when the integration
/// maps request headers (a mapping may replace them, so they must be there first); otherwise
/// returned, for the client to write ([`Options::forwarded`]).
pub fn forwarded<'a>(
    integration: &CompiledIntegration,
    ctx: &'a RequestContext,
    headers: &mut ::http::HeaderMap,
) -> Option<&'a Forwarded> {
    let maps_headers = integration
        .request_parameters
        .iter()
        .any(|(target, _)| target.location == ParamLocation::Header);
    if maps_headers {
        set_forwarded(headers, &ctx.forwarded);
        None
    } else {
        Some(&ctx.forwarded)
    }
}

/// Builds the absolute upstream URI from a path and query.
pub fn upstream_uri(target: &UpstreamTarget, pq: String) -> Result<::http::Uri, GatewayError> {
    let mut parts = ::http::uri::Parts::default();
    parts.scheme = Some(target.scheme.clone());
    parts.authority = Some(target.authority.clone());
    parts.path_and_query = Some(
        ::http::uri::PathAndQuery::from_maybe_shared(bytes::Bytes::from(pq))
            .map_err(|_| GatewayError::bad_request())?,
    );
    ::http::Uri::from_parts(parts).map_err(|_| GatewayError::bad_request())
}

/// Sends `req` to the upstream within the integration timeout. Past it: 504
/// `Endpoint request timed out`; unreachable or broken off: INTEGRATION_FAILURE.
///
/// Not an `async fn`: the request goes into the client's boxed exchange before the future is
/// made, so that this future holds only the box and the timer, not a copy of the request.
pub fn send<'a>(
    upstream: &'a Upstream,
    integration: &'a CompiledIntegration,
    ctx: &'a RequestContext,
    parts: &'a mut ::http::request::Parts,
    body: Body,
    opts: Options<'a>,
) -> impl Future<Output = Result<Response<Body>, GatewayError>> + Send + 'a {
    let sent = upstream.send(integration.client, parts, body, opts);
    timed(integration, ctx, sent)
}

async fn timed(
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    mut sent: Exchange<'_>,
) -> Result<Response<Body>, GatewayError> {
    // Not `tokio::time::timeout(d, fut)`: that moves the request future into its own, and
    // reads the clock once more than this.
    let started = Instant::now();
    let mut timer = Timer::new(started + integration.timeout);
    let result = poll_fn(|cx| match sent.as_mut().poll(cx) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        Poll::Pending => timer.poll(cx).map(|()| None),
    })
    .await;
    ctx.integration_latency.set(Some(started.elapsed()));
    match result {
        Some(Ok(resp)) => Ok(resp),
        Some(Err(e)) => {
            tracing::warn!(request_id = ctx.request_id.as_str(), error = %e, source = ?e.source(), "integration failed");
            Err(GatewayError::new(GatewayResponseType::IntegrationFailure))
        }
        None => Err(GatewayError::new(GatewayResponseType::IntegrationTimeout)),
    }
}
