//! Phase "resolve stage": which API and stage a request is for.
//!
//! In order: a custom domain's base path mappings (longest base path first); a Host of
//! `{apiId}.execute-api.{any domain}`; otherwise the only API when exactly one is served. Then
//! the stage is the first path segment, except an HTTP API's `$default` stage, which serves at
//! the root.

use crate::error::GatewayError;
use crate::path::RequestPath;
use crate::snapshot::{CompiledApi, CompiledStage, Snapshot};
use archway_model::{GatewayResponseType, Protocol};
use std::sync::Arc;

/// Returns the stage and how many leading path segments named it.
pub fn resolve(
    snapshot: &Snapshot,
    host: &str,
    path: &RequestPath,
) -> Result<(Arc<CompiledStage>, usize), GatewayError> {
    if let Some(domain) = (!snapshot.domains.is_empty())
        .then(|| snapshot.domains.get(host))
        .flatten()
    {
        for (base, stage) in &domain.mappings {
            if base.len() <= path.len()
                && base.iter().enumerate().all(|(i, s)| path.segment(i) == s)
            {
                return Ok((stage.clone(), base.len()));
            }
        }
        // AWS answers a custom domain path with no mapping with 403 Forbidden.
        return Err(GatewayError::unknown_stage());
    }
    let api = match execute_api_id(host) {
        Some(id) => snapshot.apis_by_id.get(id),
        None => snapshot.single_api.as_ref(),
    };
    let Some(api) = api else {
        return Err(GatewayError::new(GatewayResponseType::ResourceNotFound));
    };
    stage_of(api, path)
}

/// `{apiId}` of a host `{apiId}.execute-api.{domain}`. (A scan for the label rather than
/// `split_once`, whose substring searcher is built anew for every request.)
fn execute_api_id(host: &str) -> Option<&str> {
    const LABEL: &str = ".execute-api.";
    let b = host.as_bytes();
    let at = (0..b.len()).find(|&i| b[i] == b'.' && b[i..].starts_with(LABEL.as_bytes()))?;
    Some(&host[..at])
}

fn stage_of(
    api: &CompiledApi,
    path: &RequestPath,
) -> Result<(Arc<CompiledStage>, usize), GatewayError> {
    if !path.is_empty() {
        let first = path.segment(0);
        if first != "$default" {
            if let Some(stage) = api.stages.get(first) {
                return Ok((stage.clone(), 1));
            }
        }
    }
    if let Some(stage) = &api.default_stage {
        return Ok((stage.clone(), 0));
    }
    Err(match api.protocol {
        Protocol::Rest => GatewayError::unknown_stage(),
        Protocol::Http => GatewayError::new(GatewayResponseType::ResourceNotFound),
    })
}

/// Phase "pick deployment": a stage with a canary serves the canary deployment for
/// `percentTraffic` % of its requests, chosen at random; every other stage serves its own.
/// Costs nothing on stages without a canary.
pub fn pick_deployment(stage: Arc<CompiledStage>) -> Arc<CompiledStage> {
    match &stage.canary {
        Some(c) if c.percent > 0.0 && rand::random::<f64>() * 100.0 < c.percent => c.stage.clone(),
        _ => stage,
    }
}

/// The host a request names (Host header, else the URI authority), lower-case, without port.
pub fn request_host(req: &http::request::Parts) -> String {
    let raw = crate::headers::get(&req.headers, &http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let no_port = if raw.starts_with('[') {
        // [v6]:port
        raw.split_once(']')
            .map_or(raw, |(h, _)| &raw[..h.len() + 1])
    } else {
        raw.rsplit_once(':').map_or(raw, |(h, _)| h)
    };
    if no_port.bytes().any(|b| b.is_ascii_uppercase()) {
        no_port.to_ascii_lowercase()
    } else {
        no_port.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::execute_api_id;

    #[test]
    fn execute_api_hosts_name_their_api() {
        assert_eq!(
            execute_api_id("abc123.execute-api.us-east-1.amazonaws.com"),
            Some("abc123")
        );
        assert_eq!(execute_api_id("pets.execute-api.local"), Some("pets"));
        assert_eq!(execute_api_id(".execute-api.x"), Some(""));
        assert_eq!(execute_api_id("a.b.execute-api.x"), Some("a.b"));
        assert_eq!(execute_api_id("execute-api.x"), None);
        assert_eq!(execute_api_id("127.0.0.1"), None);
        assert_eq!(execute_api_id("x.execute-api"), None);
        assert_eq!(execute_api_id(""), None);
    }
}
