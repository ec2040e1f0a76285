//! API key, throttling and quota, in API Gateway's order (DESIGN.md §3): the key first (403
//! `Forbidden` without a valid one), then the token buckets — account, stage/method, the key's
//! usage plan (its per-method override, else its own throttle) — (429 `Too Many Requests`),
//! then the plan's quota (429 `Limit Exceeded`).
//!
//! Everything here is read from the snapshot (one hash lookup for the key) or is an atomic
//! operation on a bucket; the only lock is the key's own quota counter. Routes without
//! `apiKeyRequired` and stages without method settings pay for the account bucket alone.

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::snapshot::{CompiledRoute, CompiledStage, KeyEntry};
use crate::usage::{monotonic_nanos, wall_seconds_at, Bucket, BucketSlot};
use archway_model::{ApiKeySource, GatewayResponseType, Settings, Throttle};
use http::HeaderMap;

static X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

/// Admits the request, or says why not. Records the API key's id in `ctx`.
pub fn check(
    account: &BucketSlot,
    settings: &Settings,
    ctx: &mut RequestContext,
    stage: &CompiledStage,
    route: &CompiledRoute,
    headers: &HeaderMap,
) -> Result<(), GatewayError> {
    let key = if route.api_key_required {
        let key = api_key(stage, headers)?;
        ctx.api_key_id = Some(key.key_id.clone());
        Some(key)
    } else {
        None
    };
    let now = monotonic_nanos();
    take(account.get(), settings.account_throttle, now)?;
    if let Some(t) = &route.throttle {
        take(t.bucket.get(), t.limits, now)?;
    }
    let Some(key) = key else { return Ok(()) };
    match key
        .method_throttles
        .iter()
        .find(|(m, _, _)| **m == *route.method_key)
    {
        Some((_, limits, bucket)) => take(bucket.get(), *limits, now)?,
        None => {
            if let Some(limits) = key.throttle {
                take(key.bucket.get(), limits, now)?;
            }
        }
    }
    // Every served snapshot has its slots attached (`Gateway::swap`); a counter is missing
    // only from one never swapped in, and then the request is refused rather than uncounted.
    let counter = key
        .counter
        .get()
        .ok_or(GatewayError::new(GatewayResponseType::QuotaExceeded))?;
    if !counter.try_consume(key.quota.as_ref(), wall_seconds_at(now)) {
        return Err(GatewayError::new(GatewayResponseType::QuotaExceeded));
    }
    Ok(())
}

/// The API key the request carries, if it may call this stage.
fn api_key<'s>(
    stage: &'s CompiledStage,
    headers: &HeaderMap,
) -> Result<&'s KeyEntry, GatewayError> {
    let forbidden = GatewayError::new(GatewayResponseType::InvalidApiKey);
    match stage.api_key_source {
        ApiKeySource::Header => {
            let value = headers
                .get(&X_API_KEY)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| forbidden.clone())?;
            stage.api_keys.get(value).ok_or(forbidden)
        }
        // The key a Lambda authorizer returns (`usageIdentifierKey`): there are no authorizers
        // yet, so there is never such a key, and the request is refused.
        ApiKeySource::Authorizer => Err(forbidden),
    }
}

fn take(bucket: Option<&Bucket>, limits: Throttle, now: u64) -> Result<(), GatewayError> {
    match bucket {
        Some(b) if b.try_acquire(limits, now) => Ok(()),
        _ => Err(GatewayError::new(GatewayResponseType::Throttled)),
    }
}
