//! API key, throttling and quota, in API Gateway's order (DESIGN.md §3): the key first (403
//! `Forbidden` without a valid one), then the token buckets — account, stage/method, the key's
//! usage plan (its per-method override, else its own throttle) — (429 `Too Many Requests`),
//! then the plan's quota (429 `Limit Exceeded`).
//!
//! Everything here is read from the snapshot (one probe of the stage's key table) or is an
//! atomic operation: on the account bucket, the route's if it has method settings, and the
//! key's bucket and quota counter, which share one cache line ([`crate::usage::KeyUsage`]).
//! No lock, no allocation, no reference count. Routes without `apiKeyRequired` and stages
//! without method settings pay for the account bucket alone.

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::snapshot::{CompiledRoute, CompiledStage, KeyEntry};
use crate::usage::{monotonic_nanos, Bucket, BucketSlot};
use archway_model::{ApiKeySource, GatewayResponseType, Settings, Throttle};
use http::HeaderMap;

static X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

/// Admits the request, or says why not. Records the API key in `ctx` (its index in the
/// stage's keys).
pub fn check(
    account: &BucketSlot,
    settings: &Settings,
    ctx: &mut RequestContext,
    stage: &CompiledStage,
    route: &CompiledRoute,
    headers: &HeaderMap,
) -> Result<(), GatewayError> {
    let key = if route.api_key_required {
        let (index, key) = api_key(stage, headers)?;
        ctx.api_key = Some(index);
        Some(key)
    } else {
        None
    };
    let now = monotonic_nanos(ctx.started);
    take(account.get(), settings.account_throttle, now)?;
    if let Some(t) = &route.throttle {
        take(t.bucket.get(), t.limits, now)?;
    }
    let Some(key) = key else { return Ok(()) };
    let plan = stage.api_keys.plan(key);
    // Every served snapshot has its slots attached (`Gateway::swap`); a key's usage is missing
    // only from one never swapped in, and then the request is refused rather than uncounted.
    let usage = key
        .usage
        .get()
        .ok_or(GatewayError::new(GatewayResponseType::QuotaExceeded))?;
    let method = key
        .method_throttles()
        .iter()
        .find(|(m, _, _)| **m == *route.method_key);
    match method {
        Some((_, limits, bucket)) => take(bucket.get(), *limits, now)?,
        None => {
            if let Some(limits) = plan.throttle {
                take(Some(&usage.bucket), limits, now)?;
            }
        }
    }
    if !usage.counter.try_consume(
        plan.quota.as_ref(),
        ctx.request_time_since_epoch().as_secs() as i64,
    ) {
        return Err(GatewayError::new(GatewayResponseType::QuotaExceeded));
    }
    Ok(())
}

/// Starts loading the entry of the request's API key into the cache, so that the wait on
/// memory overlaps the phases before [`check`] (route matching) instead of adding to them.
#[inline]
pub fn prefetch(stage: &CompiledStage, headers: &HeaderMap) {
    if stage.api_keys.is_empty() || stage.api_key_source != ApiKeySource::Header {
        return;
    }
    if let Some(v) = headers.get(&X_API_KEY).and_then(|v| v.to_str().ok()) {
        stage.api_keys.prefetch(v);
    }
}

/// The API key the request carries, if it may call this stage, and its index.
fn api_key<'s>(
    stage: &'s CompiledStage,
    headers: &HeaderMap,
) -> Result<(u32, &'s KeyEntry), GatewayError> {
    let forbidden = || GatewayError::new(GatewayResponseType::InvalidApiKey);
    match stage.api_key_source {
        ApiKeySource::Header => {
            let value = headers
                .get(&X_API_KEY)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(forbidden)?;
            stage.api_keys.find(value).ok_or_else(forbidden)
        }
        // The key a Lambda authorizer returns (`usageIdentifierKey`): there are no authorizers
        // yet, so there is never such a key, and the request is refused.
        ApiKeySource::Authorizer => Err(forbidden()),
    }
}

fn take(bucket: Option<&Bucket>, limits: Throttle, now: u64) -> Result<(), GatewayError> {
    match bucket {
        Some(b) if b.try_acquire(limits, now) => Ok(()),
        _ => Err(GatewayError::new(GatewayResponseType::Throttled)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConnInfo;
    use crate::headers::Forwarded;
    use crate::snapshot::Snapshot;
    use crate::usage::UsageState;
    use http::HeaderValue;
    use std::sync::Arc;
    use std::time::Instant;

    /// The cost of [`check`] alone, with `KEYS` keys rotated as `bench/usage.sh` does:
    /// `cargo test --release -p archway-gateway --lib check_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn check_cost() {
        const KEYS: usize = 10_000;
        let mut yaml = String::from(
            "server:\n  throttle: { rateLimit: 1000000000, burstLimit: 1000000000 }\napis:\n  - name: bench\n    protocol: REST\n    routes:\n      GET /keyed:\n        apiKeyRequired: true\n        integration: &mock\n          type: MOCK\n          requestTemplates: { application/json: '{\"statusCode\": 200}' }\n          responses: { default: { statusCode: \"200\" } }\n      GET /open:\n        integration: *mock\n    stages: { prod: {} }\nusagePlans:\n  - name: plan\n    apiStages: [{ api: bench, stage: prod }]\n    throttle: { rateLimit: 100000000, burstLimit: 100000000 }\n    quota: { limit: 1000000000000, period: MONTH }\n    apiKeys:\n",
        );
        for i in 0..KEYS {
            yaml.push_str(&format!("      - k{i}\n"));
        }
        yaml.push_str("apiKeys:\n");
        for i in 0..KEYS {
            yaml.push_str(&format!("  - {{ name: k{i}, value: \"k{i:022}\" }}\n"));
        }
        let (model, _) = archway_model::validate::load_config_str(
            "bench.yaml",
            &yaml,
            std::path::Path::new("."),
        )
        .into_result()
        .unwrap_or_else(|_| panic!("bad config"));
        let snap = Snapshot::compile(&model).unwrap();
        let usage = UsageState::default();
        let (b, k) = snap.usage_slots();
        usage.attach(b.into_iter(), k.into_iter());
        let stage = snap.single_api.as_ref().unwrap().stages["prod"].clone();
        let keyed = stage.routes.iter().find(|r| r.api_key_required).unwrap();
        let open = stage.routes.iter().find(|r| !r.api_key_required).unwrap();
        let values: Vec<HeaderValue> = (0..KEYS)
            .map(|i| HeaderValue::from_str(&format!("k{i:022}")).unwrap())
            .collect();
        let conn = ConnInfo {
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:2".parse().unwrap(),
            tls: false,
        };
        let fwd = Arc::new(Forwarded::new(&conn));
        let mut headers = http::HeaderMap::new();
        let n = 3_000_000;
        for round in 0..3 {
            for (name, route) in [("open", open), ("keyed", keyed)] {
                let t = Instant::now();
                for i in 0..n {
                    headers.insert(&X_API_KEY, values[i % KEYS].clone());
                    let mut ctx = RequestContext::new(
                        conn,
                        fwd.clone(),
                        http::Method::GET,
                        http::Version::HTTP_11,
                    );
                    check(
                        &snap.account_bucket,
                        &snap.settings,
                        &mut ctx,
                        &stage,
                        route,
                        &headers,
                    )
                    .unwrap();
                    std::hint::black_box(&ctx);
                }
                let ns = t.elapsed().as_nanos() as f64 / n as f64;
                println!("round {round} {name}: {ns:.1} ns per request (context + check)");
            }
        }
    }
}
