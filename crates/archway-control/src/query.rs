//! Reads of the control state, in AWS's shapes. Reads never write and never wait for writers
//! (the store reads from a committed snapshot).

use crate::apply::{api_not_found, deployment_not_found, read_api, read_stage, stage_not_found};
use crate::docs::*;
use crate::error::ApiError;
use crate::resources;
use crate::state::DefinitionCache;
use archway_model::openapi::{export_api, ExportFormat};
use archway_model::{Api, Protocol};
use archway_store::DocumentStore;
use serde_json::{json, Value};
use std::sync::Arc;

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| {
        tracing::error!(error = %e, "unreadable document");
        ApiError::internal()
    })
}

/// `GetRestApis`.
pub fn rest_apis(store: &dyn DocumentStore) -> Result<Value, ApiError> {
    let mut items = Vec::new();
    for d in store.list_kind(KIND_RESTAPI)? {
        let api: RestApiDoc = parse(d.body)?;
        items.push(api.to_aws());
    }
    Ok(json!({ "item": items }))
}

/// `GetRestApi`.
pub fn rest_api(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    Ok(read_api(store, api_id)?.0.to_aws())
}

/// `GetDeployments`.
pub fn deployments(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let mut items = Vec::new();
    for d in store.list(KIND_DEPLOYMENT, api_id)? {
        let dep: DeploymentDoc = parse(d.body)?;
        items.push(dep.to_aws());
    }
    Ok(json!({ "item": items }))
}

/// `GetDeployment`.
pub fn deployment(store: &dyn DocumentStore, api_id: &str, id: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let d = store
        .get(KIND_DEPLOYMENT, api_id, id)?
        .ok_or_else(deployment_not_found)?;
    let dep: DeploymentDoc = parse(d.body)?;
    Ok(dep.to_aws())
}

/// `GetStages`, optionally only those of one deployment.
pub fn stages(
    store: &dyn DocumentStore,
    api_id: &str,
    deployment_id: Option<&str>,
) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let mut items = Vec::new();
    for d in store.list(KIND_STAGE, api_id)? {
        let s: StageDoc = parse(d.body)?;
        if deployment_id.is_none_or(|id| id == s.deployment_id) {
            items.push(s.to_aws());
        }
    }
    Ok(json!({ "item": items }))
}

/// `GetStage`.
pub fn stage(store: &dyn DocumentStore, api_id: &str, name: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let (s, _) = read_stage(store, api_id, name)?.ok_or_else(stage_not_found)?;
    Ok(s.to_aws())
}

/// `GetExport`: what a stage serves, as OpenAPI 3.0 or Swagger 2.0.
pub fn export(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api_id: &str,
    stage_name: &str,
    export_type: &str,
) -> Result<Value, ApiError> {
    let format = match export_type {
        "oas30" => ExportFormat::Oas30,
        "swagger" => ExportFormat::Swagger2,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid export type specified: {other}; must be oas30 or swagger"
            )))
        }
    };
    let (api, _) = read_api(store, api_id)?;
    let (s, _) = read_stage(store, api_id, stage_name)?.ok_or_else(stage_not_found)?;
    let def = cache
        .definition(store, api_id, &s.deployment_id)?
        .ok_or_else(deployment_not_found)?;
    let model = Api {
        id: api.id.clone(),
        name: api.name.clone(),
        protocol: Protocol::Rest,
        description: api.description.clone(),
        definition: Arc::new(Default::default()),
        stages: vec![crate::state::model_stage(&s, def, None)],
    };
    export_api(&model, Some(stage_name), format).ok_or_else(stage_not_found)
}

/// `GetResources`.
pub fn resources(store: &dyn DocumentStore, api_id: &str, embed: bool) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let items: Vec<Value> = resources::resource_paths(&api.definition)
        .iter()
        .map(|p| resources::resource_view(api_id, &api.definition, p, embed))
        .collect();
    Ok(json!({ "item": items }))
}

/// `GetResource`.
pub fn resource(
    store: &dyn DocumentStore,
    api_id: &str,
    id: &str,
    embed: bool,
) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let path = resources::find_resource(api_id, &api.definition, id)
        .ok_or_else(|| ApiError::not_found("Invalid Resource identifier specified"))?;
    Ok(resources::resource_view(
        api_id,
        &api.definition,
        &path,
        embed,
    ))
}

/// The working definition of an API, for the method/integration reads.
pub fn working(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    Ok(read_api(store, api_id)?.0.definition)
}

/// Whether the API exists (for errors that must name it first).
pub fn require_api(store: &dyn DocumentStore, api_id: &str) -> Result<(), ApiError> {
    match store.get(KIND_RESTAPI, "", api_id)? {
        Some(_) => Ok(()),
        None => Err(api_not_found(api_id)),
    }
}

/// AWS's pagination of a list answer: `position`/`limit` over `item` (`apigateway`) or
/// `nextToken`/`maxResults` over `items` (`apigatewayv2`). The token is the offset of the next
/// item, as text; the last page has none. Without a limit the whole list is one page (AWS's
/// default is 25 for `apigateway`; Archway answers everything, which clients that follow tokens
/// read the same). A limit is 1 to 500.
pub fn paginate(mut list: Value, params: &[(String, String)]) -> Result<Value, ApiError> {
    let (key, token_param, limit_param) = if list.get("item").is_some() {
        ("item", "position", "limit")
    } else {
        ("items", "nextToken", "maxResults")
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let start = match param(token_param) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("Invalid {token_param} {t}")))?,
    };
    let limit = match param(limit_param) {
        None => None,
        Some(l) => Some(
            l.parse::<usize>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid {limit_param} {l}: must be between 1 and 500"
                    ))
                })?,
        ),
    };
    let Some(items) = list.get_mut(key).and_then(Value::as_array_mut) else {
        return Ok(list);
    };
    let total = items.len();
    if start > total {
        return Err(ApiError::bad_request(format!(
            "Invalid {token_param} {start}"
        )));
    }
    let end = limit.map_or(total, |l| total.min(start + l));
    let page: Vec<Value> = items.drain(start..end).collect();
    *items = page;
    if end < total {
        list[token_param] = json!(end.to_string());
    }
    Ok(list)
}
