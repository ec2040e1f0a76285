//! AWS's patch operations (`UpdateStage`): `{op, path, value, from}` applied to a stage.
//!
//! Supported paths (AWS's):
//! - `replace /deploymentId`, `replace /description`, `replace /tracingEnabled`,
//!   `replace /cacheClusterEnabled`;
//! - `add|replace|remove /variables/NAME`;
//! - `replace /canarySettings/percentTraffic`, `replace /canarySettings/deploymentId`,
//!   `replace /canarySettings/useStageCache`,
//!   `add|replace|remove /canarySettings/stageVariableOverrides/NAME`, `remove /canarySettings`
//!   (a canary that does not exist yet is created by the first of these, on the stage's own
//!   deployment at 0 %);
//! - the promotion AWS documents: `copy` from `/canarySettings/deploymentId` to
//!   `/deploymentId`, and from `/canarySettings/stageVariableOverrides` to `/variables`;
//! - method settings: `replace /{resource path}/{METHOD}/{group}/{setting}` with `*/*` for
//!   every method, e.g. `/*/*/throttling/rateLimit`, stored in `methodSettings` under
//!   `{resource path}/{METHOD}` as AWS's `MethodSetting` fields.

use crate::docs::{valid_name, CanarySettings, RestApiDoc, StageDoc};
use crate::error::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

/// One patch operation, as AWS's `PatchOperation`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PatchOperation {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
}

fn invalid_path(op: &PatchOperation) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid patch path '{}' specified for op '{}'",
        op.path, op.op
    ))
}

fn value(op: &PatchOperation) -> Result<&str, ApiError> {
    op.value.as_deref().ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid null or empty value in patch operation '{}' on path '{}'",
            op.op, op.path
        ))
    })
}

fn parse_bool(op: &PatchOperation) -> Result<bool, ApiError> {
    match value(op)? {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "Invalid value '{other}' for '{}': must be true or false",
            op.path
        ))),
    }
}

/// Decodes a JSON-pointer token (`~1` → `/`, `~0` → `~`).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn canary(stage: &mut StageDoc) -> &mut CanarySettings {
    let deployment = stage.deployment_id.clone();
    stage.canary_settings.get_or_insert_with(|| CanarySettings {
        deployment_id: Some(deployment),
        ..CanarySettings::default()
    })
}

/// Applies `ops` in order to `stage`. Deployment ids are checked by the caller.
pub fn apply_stage_patch(stage: &mut StageDoc, ops: &[PatchOperation]) -> Result<(), ApiError> {
    for op in ops {
        apply_one(stage, op)?;
    }
    Ok(())
}

fn apply_one(stage: &mut StageDoc, op: &PatchOperation) -> Result<(), ApiError> {
    let kind = op.op.as_str();
    if !matches!(
        kind,
        "add" | "remove" | "replace" | "copy" | "move" | "test"
    ) {
        return Err(ApiError::bad_request(format!(
            "Invalid patch operation specified: {kind}"
        )));
    }
    let segs: Vec<&str> = op.path.strip_prefix('/').unwrap_or("").split('/').collect();
    match (kind, segs.as_slice()) {
        ("replace", ["deploymentId"]) => {
            stage.deployment_id = value(op)?.to_string();
        }
        ("copy", ["deploymentId"])
            if op.from.as_deref() == Some("/canarySettings/deploymentId") =>
        {
            let id = stage
                .canary_settings
                .as_ref()
                .and_then(|c| c.deployment_id.clone())
                .ok_or_else(|| ApiError::bad_request("The stage has no canary to copy from"))?;
            stage.deployment_id = id;
        }
        ("copy", ["variables"])
            if op.from.as_deref() == Some("/canarySettings/stageVariableOverrides") =>
        {
            let overrides = stage
                .canary_settings
                .as_ref()
                .map(|c| c.stage_variable_overrides.clone())
                .ok_or_else(|| ApiError::bad_request("The stage has no canary to copy from"))?;
            for (k, v) in overrides {
                stage.variables.insert(k, v);
            }
        }
        ("replace", ["description"]) => stage.description = op.value.clone(),
        ("replace", ["tracingEnabled"]) => stage.tracing_enabled = parse_bool(op)?,
        ("replace", ["cacheClusterEnabled"]) => stage.cache_cluster_enabled = parse_bool(op)?,
        ("add" | "replace", ["variables", name]) => {
            let name = unescape(name);
            check_variable(&name, value(op)?)?;
            stage.variables.insert(name, value(op)?.to_string());
        }
        ("remove", ["variables", name]) => {
            stage.variables.shift_remove(&unescape(name));
        }
        ("remove", ["canarySettings"]) => stage.canary_settings = None,
        ("replace", ["canarySettings", "percentTraffic"]) => {
            let v = value(op)?;
            let pct: f64 = v
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid percentTraffic '{v}': must be a number between 0.0 and 100.0"
                    ))
                })?;
            canary(stage).percent_traffic = pct;
        }
        ("replace", ["canarySettings", "deploymentId"]) => {
            canary(stage).deployment_id = Some(value(op)?.to_string());
        }
        ("replace", ["canarySettings", "useStageCache"]) => {
            canary(stage).use_stage_cache = parse_bool(op)?;
        }
        ("add" | "replace", ["canarySettings", "stageVariableOverrides", name]) => {
            let name = unescape(name);
            check_variable(&name, value(op)?)?;
            let v = value(op)?.to_string();
            canary(stage).stage_variable_overrides.insert(name, v);
        }
        ("remove", ["canarySettings", "stageVariableOverrides", name]) => {
            if let Some(c) = stage.canary_settings.as_mut() {
                c.stage_variable_overrides.shift_remove(&unescape(name));
            }
        }
        ("replace", [resource, method, group, setting]) => {
            let field = method_setting_field(group, setting).ok_or_else(|| invalid_path(op))?;
            let v = value(op)?;
            let parsed = match field.1 {
                SettingType::Bool => json!(parse_bool(op)?),
                SettingType::Int => {
                    json!(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        ApiError::bad_request(format!("Invalid value '{v}' for '{}'", op.path))
                    })?)
                }
                SettingType::Double => json!(v
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| ApiError::bad_request(format!(
                        "Invalid value '{v}' for '{}'",
                        op.path
                    )))?),
                SettingType::Text => json!(v),
            };
            let method = *method;
            if method != "*" && crate::definition::operation_key(method).is_none() {
                return Err(invalid_path(op));
            }
            let key = format!("{}/{method}", unescape(resource));
            stage
                .method_settings
                .entry(key)
                .or_insert_with(default_method_setting)
                .insert(field.0.to_string(), parsed);
        }
        _ => return Err(invalid_path(op)),
    }
    Ok(())
}

fn check_variable(name: &str, value: &str) -> Result<(), ApiError> {
    if !valid_name(name, 64) {
        return Err(ApiError::bad_request(format!(
            "Stage variable name {name} is not valid: only alphanumeric characters, '-' and '_' are allowed"
        )));
    }
    if value.len() > 512 {
        return Err(ApiError::bad_request(format!(
            "Stage variable value for {name} is longer than 512 characters"
        )));
    }
    Ok(())
}

enum SettingType {
    Bool,
    Int,
    Double,
    Text,
}

fn method_setting_field(group: &str, setting: &str) -> Option<(&'static str, SettingType)> {
    Some(match (group, setting) {
        ("throttling", "rateLimit") => ("throttlingRateLimit", SettingType::Double),
        ("throttling", "burstLimit") => ("throttlingBurstLimit", SettingType::Int),
        ("metrics", "enabled") => ("metricsEnabled", SettingType::Bool),
        ("logging", "loglevel") => ("loggingLevel", SettingType::Text),
        ("logging", "dataTrace") => ("dataTraceEnabled", SettingType::Bool),
        ("caching", "enabled") => ("cachingEnabled", SettingType::Bool),
        ("caching", "ttlInSeconds") => ("cacheTtlInSeconds", SettingType::Int),
        ("caching", "dataEncrypted") => ("cacheDataEncrypted", SettingType::Bool),
        ("caching", "requireAuthorizationForCacheControl") => {
            ("requireAuthorizationForCacheControl", SettingType::Bool)
        }
        _ => return None,
    })
}

/// AWS's `MethodSetting` defaults.
fn default_method_setting() -> serde_json::Map<String, Value> {
    let v = json!({
        "metricsEnabled": false,
        "loggingLevel": "OFF",
        "dataTraceEnabled": false,
        "throttlingBurstLimit": 5000,
        "throttlingRateLimit": 10000.0,
        "cachingEnabled": false,
        "cacheTtlInSeconds": 300,
        "cacheDataEncrypted": false,
        "requireAuthorizationForCacheControl": true,
        "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// `UpdateRestApi`'s patch operations: `replace /name`, `replace /description`,
/// `replace /apiKeySource` (`HEADER` or `AUTHORIZER`), `add|remove /binaryMediaTypes/TYPE`
/// (`/` in the type written `~1`). They change the API and its working definition together.
pub fn apply_rest_api_patch(api: &mut RestApiDoc, op: &PatchOperation) -> Result<(), ApiError> {
    let segs: Vec<&str> = op
        .path
        .strip_prefix('/')
        .unwrap_or("")
        .splitn(2, '/')
        .collect();
    let top = api
        .definition
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the working definition is not an object"))?;
    match (op.op.as_str(), segs.as_slice()) {
        ("replace", ["name"]) => {
            let v = value(op)?;
            if v.trim().is_empty() || v.len() > 1024 {
                return Err(ApiError::bad_request("Invalid REST API name specified"));
            }
            api.name = v.to_string();
            if let Some(info) = top.get_mut("info").and_then(Value::as_object_mut) {
                info.insert("title".into(), json!(v));
            }
        }
        ("replace", ["description"]) => {
            api.description = op.value.clone();
            if let Some(info) = top.get_mut("info").and_then(Value::as_object_mut) {
                match &op.value {
                    Some(d) => info.insert("description".into(), json!(d)),
                    None => info.remove("description"),
                };
            }
        }
        ("replace", ["apiKeySource"]) => match value(op)? {
            "HEADER" => {
                top.remove("x-amazon-apigateway-api-key-source");
            }
            "AUTHORIZER" => {
                top.insert(
                    "x-amazon-apigateway-api-key-source".into(),
                    json!("AUTHORIZER"),
                );
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Invalid API key source specified: {other}"
                )))
            }
        },
        ("add" | "remove", ["binaryMediaTypes", t]) => {
            let t = unescape(t);
            if t.is_empty() || !t.contains('/') {
                return Err(ApiError::bad_request(format!(
                    "Invalid binary media type specified: {t}"
                )));
            }
            let key = "x-amazon-apigateway-binary-media-types";
            let mut list: Vec<String> = top
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            list.retain(|x| x != &t);
            if op.op == "add" {
                list.push(t);
            }
            if list.is_empty() {
                top.remove(key);
            } else {
                top.insert(key.into(), json!(list));
            }
        }
        _ => return Err(invalid_path(op)),
    }
    Ok(())
}

/// How a patched field's value is written in an input shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Str,
    Int,
    Bool,
}

fn typed(op: &PatchOperation, kind: FieldKind) -> Result<Value, ApiError> {
    let v = value(op)?;
    match kind {
        FieldKind::Str => Ok(json!(v)),
        FieldKind::Bool => parse_bool(op).map(|b| json!(b)),
        FieldKind::Int => v.parse::<i64>().map(|n| json!(n)).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid value '{v}' for '{}': must be an integer",
                op.path
            ))
        }),
    }
}

/// Applies patch operations to an AWS input shape (`PutMethod`'s or `PutIntegration`'s, as a
/// JSON object) for `UpdateMethod` and `UpdateIntegration`: `replace` of a field in `fields`
/// (`/uri`; `remove` clears it), and `add`, `replace` or `remove` of an entry of a map in
/// `maps` (`/requestParameters/method.request.header.x`, `~1` for `/` in a content type). The
/// caller then puts the result, so it is checked as a put is.
pub fn patch_input(
    input: &mut serde_json::Map<String, Value>,
    ops: &[PatchOperation],
    fields: &[(&str, FieldKind)],
    maps: &[(&str, FieldKind)],
) -> Result<(), ApiError> {
    for op in ops {
        let segs: Vec<&str> = op.path.strip_prefix('/').unwrap_or("").split('/').collect();
        let field = |name: &str, list: &[(&str, FieldKind)]| {
            list.iter().find(|(f, _)| *f == name).map(|(_, k)| *k)
        };
        match (op.op.as_str(), segs.as_slice()) {
            ("replace", [name]) if field(name, fields).is_some() => {
                let kind = field(name, fields).unwrap_or(FieldKind::Str);
                input.insert((*name).to_string(), typed(op, kind)?);
            }
            ("remove", [name]) if field(name, fields).is_some() => {
                input.remove(*name);
            }
            ("add" | "replace", [map, key]) if field(map, maps).is_some() => {
                let kind = field(map, maps).unwrap_or(FieldKind::Str);
                let v = typed(op, kind)?;
                let slot = crate::definition::object_entry(input, map);
                slot.insert(unescape(key), v);
            }
            ("remove", [map, key]) if field(map, maps).is_some() => {
                if let Some(m) = input.get_mut(*map).and_then(Value::as_object_mut) {
                    m.remove(&unescape(key));
                }
            }
            _ => return Err(invalid_path(op)),
        }
    }
    Ok(())
}
