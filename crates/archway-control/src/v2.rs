//! HTTP APIs (`apigatewayv2`): APIs, routes, integrations, stages (with `autoDeploy`) and
//! deployments.
//!
//! An HTTP API is kept as AWS models it — routes and integrations with ids, routes targeting
//! `integrations/{id}` — in one `httpapi` document. Deploying generates the OpenAPI document
//! (HTTP API flavour: route keys as paths and methods, `$default`, integrations inline,
//! `x-amazon-apigateway-cors`), imports it with `openapi::import` as an HTTP API and freezes the
//! export, exactly as REST deployments are frozen; stages are `stage` documents like REST ones.
//! Every edit must leave a document that imports cleanly and passes the gate. After an edit,
//! every stage with `autoDeploy` gets a new deployment in the same transaction.

use crate::apply::{read_stage, ACCOUNT_ID};
use crate::docs::*;
use crate::error::{ApiError, ErrorKind};
use crate::state::{check_stage, DefinitionCache};
use archway_model::openapi::{self, ExportFormat, ImportOptions};
use archway_model::{ApiDefinition, IntegrationType, Protocol, RouteKey, RouteMethod};
use archway_store::{DocumentStore, Expect, TxAbort};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub const KIND_HTTPAPI: &str = "httpapi";

/// An HTTP API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiDoc {
    pub api_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Value>,
    #[serde(default)]
    pub routes: IndexMap<String, RouteDoc>,
    /// Integration id → AWS's `Integration` fields (without the id).
    #[serde(default)]
    pub integrations: IndexMap<String, Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Set when the declarative file owns the API (see `file.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<ManagedBy>,
    /// An API of the file: its whole definition, as `openapi::export` writes it. Its
    /// deployments freeze this rather than the document the routes generate, since a file's API
    /// says more than routes and integrations carry (gateway responses, payload limit, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
}

/// A route.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteDoc {
    pub route_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
}

/// A write to an HTTP API.
#[derive(Debug)]
pub enum V2Change {
    CreateApi(CreateApi),
    DeleteApi {
        api_id: String,
    },
    ImportApi {
        body: String,
        fail_on_warnings: bool,
    },
    ReimportApi {
        api_id: String,
        body: String,
        fail_on_warnings: bool,
    },
    /// `UpdateApi`: the fields given replace the API's.
    UpdateApi {
        api_id: String,
        input: UpdateApi,
    },
    CreateRoute {
        api_id: String,
        input: RouteInput,
    },
    /// `UpdateRoute`: the fields given replace the route's.
    UpdateRoute {
        api_id: String,
        route_id: String,
        input: RouteInput,
    },
    /// `UpdateIntegration`: the fields given replace the integration's, and the result is
    /// checked as a new integration would be.
    UpdateIntegration {
        api_id: String,
        integration_id: String,
        input: Map<String, Value>,
    },
    DeleteRoute {
        api_id: String,
        route_id: String,
    },
    CreateIntegration {
        api_id: String,
        input: Map<String, Value>,
    },
    DeleteIntegration {
        api_id: String,
        integration_id: String,
    },
    CreateStage {
        api_id: String,
        input: StageInput,
    },
    UpdateStage {
        api_id: String,
        stage_name: String,
        input: StageInput,
    },
    DeleteStage {
        api_id: String,
        stage_name: String,
    },
    CreateDeployment {
        api_id: String,
        stage_name: Option<String>,
        description: Option<String>,
    },
    DeleteDeployment {
        api_id: String,
        deployment_id: String,
    },
}

impl V2Change {
    /// The API the change writes to; `None` for changes that make a new API.
    pub fn api_id(&self) -> Option<&str> {
        match self {
            V2Change::CreateApi(_) | V2Change::ImportApi { .. } => None,
            V2Change::DeleteApi { api_id }
            | V2Change::ReimportApi { api_id, .. }
            | V2Change::UpdateApi { api_id, .. }
            | V2Change::CreateRoute { api_id, .. }
            | V2Change::UpdateRoute { api_id, .. }
            | V2Change::UpdateIntegration { api_id, .. }
            | V2Change::DeleteRoute { api_id, .. }
            | V2Change::CreateIntegration { api_id, .. }
            | V2Change::DeleteIntegration { api_id, .. }
            | V2Change::CreateStage { api_id, .. }
            | V2Change::UpdateStage { api_id, .. }
            | V2Change::DeleteStage { api_id, .. }
            | V2Change::CreateDeployment { api_id, .. }
            | V2Change::DeleteDeployment { api_id, .. } => Some(api_id),
        }
    }
}

/// `CreateApi`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApi {
    pub name: Option<String>,
    pub protocol_type: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub cors_configuration: Option<Value>,
    /// Quick create: an HTTP URL (or Lambda ARN) for a `$default`-stage API with one route.
    pub target: Option<String>,
    pub route_key: Option<String>,
}

/// `UpdateApi`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateApi {
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub cors_configuration: Option<Value>,
}

/// `CreateRoute`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    pub route_key: Option<String>,
    pub target: Option<String>,
    pub operation_name: Option<String>,
    pub authorization_type: Option<String>,
    #[serde(default)]
    pub api_key_required: bool,
}

/// `CreateStage`/`UpdateStage`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub auto_deploy: Option<bool>,
    pub stage_variables: Option<IndexMap<String, String>>,
    pub default_route_settings: Option<Value>,
}

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn api_not_found(api_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Invalid API identifier specified {ACCOUNT_ID}:{api_id}"
    ))
}

impl HttpApiDoc {
    /// AWS's `Api` shape.
    pub fn to_aws(&self) -> Value {
        let mut v = json!({
            "apiId": self.api_id,
            "name": self.name,
            "protocolType": "HTTP",
            "createdDate": iso(self.created_date),
            "routeSelectionExpression": "$request.method $request.path",
            "apiKeySelectionExpression": "$request.header.x-api-key",
            "apiEndpoint": format!("http://{}.execute-api.localhost", self.api_id),
            "disableExecuteApiEndpoint": false,
        });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(ver) = &self.version {
            v["version"] = json!(ver);
        }
        if let Some(c) = &self.cors_configuration {
            v["corsConfiguration"] = c.clone();
        }
        if !self.warnings.is_empty() {
            v["warnings"] = json!(self.warnings);
        }
        add_managed_tags(&mut v, self.managed_by.as_ref());
        v
    }
}

fn route_view(id: &str, r: &RouteDoc) -> Value {
    let mut v = json!({
        "routeId": id,
        "routeKey": r.route_key,
        "authorizationType": "NONE",
        "apiKeyRequired": false,
    });
    if let Some(t) = &r.target {
        v["target"] = json!(t);
    }
    if let Some(n) = &r.operation_name {
        v["operationName"] = json!(n);
    }
    v
}

fn integration_view(id: &str, i: &Map<String, Value>) -> Value {
    let mut v = Value::Object(i.clone());
    v["integrationId"] = json!(id);
    v
}

fn stage_view(s: &StageDoc) -> Value {
    let mut v = json!({
        "stageName": s.stage_name,
        "autoDeploy": s.auto_deploy,
        "createdDate": iso(s.created_date),
        "lastUpdatedDate": iso(s.last_updated_date),
        "stageVariables": s.variables,
        "routeSettings": {},
        "defaultRouteSettings": s.default_route_settings.clone().unwrap_or_else(|| json!({
            "dataTraceEnabled": false, "detailedMetricsEnabled": false
        })),
    });
    if !s.deployment_id.is_empty() {
        v["deploymentId"] = json!(s.deployment_id);
    }
    if let Some(d) = &s.description {
        v["description"] = json!(d);
    }
    if let Some(m) = &s.last_deployment_status_message {
        v["lastDeploymentStatusMessage"] = json!(m);
    }
    v
}

fn deployment_view(d: &DeploymentDoc) -> Value {
    let mut v = json!({
        "deploymentId": d.id,
        "createdDate": iso(d.created_date),
        "deploymentStatus": "DEPLOYED",
        "autoDeployed": d.auto_deployed,
    });
    if let Some(desc) = &d.description {
        v["description"] = json!(desc);
    }
    v
}

fn import_options() -> ImportOptions {
    ImportOptions {
        protocol: Some(Protocol::Http),
        ..ImportOptions::default()
    }
}

fn errors_message(diags: &[archway_model::source::Diagnostic]) -> String {
    let mut m = String::from("Errors found during import:");
    for d in diags.iter().filter(|d| d.is_error()) {
        m.push_str("\n\t");
        m.push_str(&d.to_string());
    }
    m
}

/// The OpenAPI document of an HTTP API's routes that have a target.
pub fn to_openapi(api: &HttpApiDoc) -> Value {
    let mut paths = Map::new();
    for r in api.routes.values() {
        let Some(iid) = r
            .target
            .as_deref()
            .and_then(|t| t.strip_prefix("integrations/"))
        else {
            continue;
        };
        let Some(integ) = api.integrations.get(iid) else {
            continue;
        };
        let (path, key) = if r.route_key == "$default" {
            (
                "$default".to_string(),
                "x-amazon-apigateway-any-method".to_string(),
            )
        } else {
            let (m, p) = r.route_key.split_once(' ').unwrap_or(("ANY", "/"));
            let key = if m == "ANY" {
                "x-amazon-apigateway-any-method".to_string()
            } else {
                m.to_ascii_lowercase()
            };
            (p.to_string(), key)
        };
        let mut ext = Map::new();
        let kind = integ
            .get("integrationType")
            .and_then(Value::as_str)
            .unwrap_or("HTTP_PROXY");
        ext.insert("type".into(), json!(kind.to_ascii_lowercase()));
        if let Some(u) = integ.get("integrationUri") {
            ext.insert("uri".into(), u.clone());
        }
        ext.insert(
            "httpMethod".into(),
            integ
                .get("integrationMethod")
                .cloned()
                .unwrap_or_else(|| json!("ANY")),
        );
        for (from, to) in [
            ("payloadFormatVersion", "payloadFormatVersion"),
            ("timeoutInMillis", "timeoutInMillis"),
            ("connectionType", "connectionType"),
            ("connectionId", "connectionId"),
            ("requestParameters", "requestParameters"),
        ] {
            if let Some(v) = integ.get(from) {
                ext.insert(to.into(), v.clone());
            }
        }
        let mut op = Map::new();
        op.insert("x-amazon-apigateway-integration".into(), Value::Object(ext));
        if let Some(n) = &r.operation_name {
            op.insert("operationId".into(), json!(n));
        }
        if let Some(item) = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            item.insert(key, Value::Object(op));
        }
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": { "title": api.name, "version": api.version.clone().unwrap_or_else(|| "1.0".into()) },
        "paths": paths,
    });
    if let Some(c) = &api.cors_configuration {
        doc["x-amazon-apigateway-cors"] = c.clone();
    }
    doc
}

/// Imports the generated document: the definition, or AWS-worded errors.
fn definition_of(api: &HttpApiDoc) -> Result<ApiDefinition, ApiError> {
    let doc = to_openapi(api);
    let text = serde_json::to_string(&doc).unwrap_or_default();
    let (imported, _) = openapi::import("definition", &text, &import_options())
        .into_result()
        .map_err(|d| ApiError::bad_request(errors_message(&d)))?;
    if let Some(u) = openapi::check_served(&imported.definition).first() {
        return Err(ApiError::bad_request(u.to_string()));
    }
    Ok(imported.definition)
}

/// An uploaded OpenAPI document → routes, integrations and CORS.
fn from_document(api_id: &str, text: &str, fail_on_warnings: bool) -> Result<HttpApiDoc, ApiError> {
    let (imported, diags) = openapi::import("body", text, &import_options())
        .into_result()
        .map_err(|d| ApiError::bad_request(errors_message(&d)))?;
    let refused = imported.check_served("body");
    if !refused.is_empty() {
        return Err(ApiError::bad_request(errors_message(&refused)));
    }
    let warnings: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    if fail_on_warnings && !warnings.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Warnings found during import:\n\t{}",
            warnings.join("\n\t")
        )));
    }
    let (routes, integrations, cors) =
        routes_of(&imported.definition, &|_, _| new_id()[..7].to_string());
    Ok(HttpApiDoc {
        api_id: api_id.to_string(),
        name: imported.name,
        description: imported.description,
        version: imported.version,
        created_date: now(),
        cors_configuration: cors,
        routes,
        integrations,
        warnings,
        managed_by: None,
        definition: None,
    })
}

/// Routes, integrations (one per route) and CORS configuration of a definition, as AWS models
/// an HTTP API. `id(kind, route key)` names each route (`"route"`) and integration
/// (`"integration"`).
#[allow(clippy::type_complexity)]
pub(crate) fn routes_of(
    def: &ApiDefinition,
    id: &dyn Fn(&str, &str) -> String,
) -> (
    IndexMap<String, RouteDoc>,
    IndexMap<String, Map<String, Value>>,
    Option<Value>,
) {
    let mut routes = IndexMap::new();
    let mut integrations = IndexMap::new();
    for r in &def.routes {
        let key = r.key.to_string();
        let i = &r.integration;
        let mut m = Map::new();
        m.insert("integrationType".into(), json!(i.kind.as_str()));
        if let Some(u) = &i.uri {
            m.insert("integrationUri".into(), json!(u.source));
        }
        m.insert(
            "integrationMethod".into(),
            json!(i.http_method.clone().unwrap_or_else(|| "ANY".into())),
        );
        m.insert(
            "payloadFormatVersion".into(),
            json!(i
                .payload_format_version
                .clone()
                .unwrap_or_else(|| "1.0".into())),
        );
        m.insert(
            "timeoutInMillis".into(),
            json!(i.timeout.as_millis() as u64),
        );
        m.insert("connectionType".into(), json!(i.connection_type.as_str()));
        let iid = id("integration", &key);
        integrations.insert(iid.clone(), m);
        routes.insert(
            id("route", &key),
            RouteDoc {
                route_key: key.clone(),
                target: Some(format!("integrations/{iid}")),
                operation_name: r.operation_id.clone(),
            },
        );
    }
    let cors = def.cors.as_ref().map(|c| {
        let mut v = json!({
            "allowOrigins": c.allow_origins,
            "allowMethods": c.allow_methods,
            "allowHeaders": c.allow_headers,
            "exposeHeaders": c.expose_headers,
            "allowCredentials": c.allow_credentials,
        });
        if let Some(a) = c.max_age {
            v["maxAge"] = json!(a);
        }
        v
    });
    (routes, integrations, cors)
}

fn check_integration(input: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let kind = input
        .get("integrationType")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("integrationType is required"))?;
    let parsed = match kind {
        "HTTP_PROXY" => IntegrationType::HttpProxy,
        "AWS_PROXY" => IntegrationType::AwsProxy,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid integration type {other} for an HTTP API: must be HTTP_PROXY or AWS_PROXY"
            )))
        }
    };
    out.insert("integrationType".into(), json!(kind));
    let uri = input
        .get("integrationUri")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("integrationUri is required"))?;
    out.insert("integrationUri".into(), json!(uri));
    let method = match (
        parsed,
        input.get("integrationMethod").and_then(Value::as_str),
    ) {
        (IntegrationType::HttpProxy, None) => {
            return Err(ApiError::bad_request(
                "integrationMethod is required for HTTP_PROXY integrations",
            ))
        }
        (_, Some(m)) => m.to_string(),
        (_, None) => "POST".to_string(),
    };
    if method != "ANY" && RouteMethod::parse(&method).is_none() {
        return Err(ApiError::bad_request(format!(
            "Invalid integration method {method}"
        )));
    }
    out.insert("integrationMethod".into(), json!(method));
    let pfv = input
        .get("payloadFormatVersion")
        .and_then(Value::as_str)
        .unwrap_or(match parsed {
            IntegrationType::AwsProxy => "2.0",
            _ => "1.0",
        });
    match (parsed, pfv) {
        (IntegrationType::HttpProxy, "1.0") | (IntegrationType::AwsProxy, "1.0" | "2.0") => {}
        _ => {
            return Err(ApiError::bad_request(format!(
                "Invalid payloadFormatVersion {pfv} for integration type {kind}"
            )))
        }
    }
    out.insert("payloadFormatVersion".into(), json!(pfv));
    let timeout = match input.get("timeoutInMillis") {
        None => 30_000,
        Some(t) => t
            .as_i64()
            .filter(|t| (50..=30_000).contains(t))
            .ok_or_else(|| ApiError::bad_request("timeoutInMillis must be between 50 and 30000"))?,
    };
    out.insert("timeoutInMillis".into(), json!(timeout));
    out.insert("connectionType".into(), json!("INTERNET"));
    for k in ["description", "requestParameters"] {
        if let Some(v) = input.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    Ok(out)
}

/// What `CreateRoute` and `UpdateRoute` check before reading the API.
fn check_route_input(input: &RouteInput) -> Result<(), ApiError> {
    if let Some(k) = &input.route_key {
        check_route_key(k)?;
    }
    if input
        .authorization_type
        .as_deref()
        .is_some_and(|a| a != "NONE")
        || input.api_key_required
    {
        return Err(ApiError::bad_request(
            "Route authorization is not supported by Archway yet",
        ));
    }
    Ok(())
}

/// A route `id` of `api` as it would be written: its key unique, its target an integration.
fn check_route(api: &HttpApiDoc, id: &str, r: &RouteDoc) -> Result<(), ApiError> {
    if api
        .routes
        .iter()
        .any(|(other, x)| other != id && x.route_key == r.route_key)
    {
        return Err(ApiError::conflict(format!(
            "Route with key {} already exists for this API",
            r.route_key
        )));
    }
    if let Some(t) = &r.target {
        let ok = t
            .strip_prefix("integrations/")
            .is_some_and(|i| api.integrations.contains_key(i));
        if !ok {
            return Err(ApiError::bad_request(format!(
                "Invalid target {t}: must be integrations/{{id}} of an existing integration"
            )));
        }
    }
    Ok(())
}

fn check_route_key(key: &str) -> Result<(), ApiError> {
    if key == "$default" {
        return Ok(());
    }
    RouteKey::parse(key)
        .map(|_| ())
        .map_err(|e| ApiError::bad_request(format!("Invalid route key {key}: {e}")))
}

fn read_api(store: &dyn DocumentStore, api_id: &str) -> Result<(HttpApiDoc, u64), ApiError> {
    let d = store
        .get(KIND_HTTPAPI, "", api_id)?
        .ok_or_else(|| api_not_found(api_id))?;
    let api = serde_json::from_value(d.body).map_err(|e| {
        tracing::error!(error = %e, "unreadable httpapi document");
        ApiError::internal()
    })?;
    Ok((api, d.version))
}

fn to_value<T: Serialize>(t: &T) -> Result<Value, ApiError> {
    serde_json::to_value(t).map_err(|_| ApiError::internal())
}

fn stages_of(store: &dyn DocumentStore, api_id: &str) -> Result<Vec<(StageDoc, u64)>, ApiError> {
    let mut out = Vec::new();
    for d in store.list(KIND_STAGE, api_id)? {
        let s: StageDoc = serde_json::from_value(d.body).map_err(|_| ApiError::internal())?;
        out.push((s, d.version));
    }
    Ok(out)
}

/// A new deployment of `api` (frozen), if its routes import cleanly. A deployment asked for
/// needs a route with a target; an automatic one may be empty (the API's last route went).
fn freeze(
    api: &HttpApiDoc,
    description: Option<String>,
    auto: bool,
) -> Result<(DeploymentDoc, Arc<ApiDefinition>), ApiError> {
    let deployable = api.routes.values().any(|r| {
        r.target
            .as_deref()
            .and_then(|t| t.strip_prefix("integrations/"))
            .is_some_and(|i| api.integrations.contains_key(i))
    });
    if !auto && !deployable {
        return Err(ApiError::bad_request(
            "Unable to deploy API because no routes exist in this API",
        ));
    }
    let def = definition_of(api)?;
    let frozen = openapi::export(&api.name, Protocol::Http, &def, None, ExportFormat::Oas30);
    Ok((
        DeploymentDoc {
            id: new_id(),
            description,
            created_date: now(),
            definition: frozen,
            protocol: Some("HTTP".into()),
            auto_deployed: auto,
        },
        Arc::new(def),
    ))
}

fn concurrent() -> ApiError {
    ApiError::conflict(
        "Unable to complete operation due to concurrent modification. Please try again later.",
    )
}

fn model_doc(api: &HttpApiDoc) -> crate::docs::RestApiDoc {
    // check_stage wants a named API; the protocol is given separately.
    RestApiDoc {
        id: api.api_id.clone(),
        name: api.name.clone(),
        description: None,
        version: None,
        created_date: api.created_date,
        protocol: "HTTP".into(),
        warnings: Vec::new(),
        tags: IndexMap::new(),
        definition: Value::Null,
        managed_by: None,
    }
}

/// Writes `api` (new when `version` is `None`) and redeploys the `autoDeploy` stages, in one
/// transaction.
fn write_api(
    store: &dyn DocumentStore,
    api: &HttpApiDoc,
    version: Option<u64>,
) -> Result<u64, ApiError> {
    let stages = match version {
        Some(_) => stages_of(store, &api.api_id)?,
        None => Vec::new(),
    };
    let auto: Vec<&(StageDoc, u64)> = stages.iter().filter(|(s, _)| s.auto_deploy).collect();
    let deployment = if auto.is_empty() {
        None
    } else {
        Some(freeze(api, None, true)?)
    };
    let mut stage_writes = Vec::new();
    if let Some((dep, def)) = &deployment {
        for (s, v) in auto {
            let mut s = s.clone();
            s.deployment_id = dep.id.clone();
            s.last_updated_date = now();
            match check_stage(&model_doc(api), &s, def.clone(), None, Protocol::Http) {
                Ok(()) => s.last_deployment_status_message = None,
                Err(e) => {
                    s.deployment_id = stages
                        .iter()
                        .find(|(x, _)| x.stage_name == s.stage_name)
                        .map(|(x, _)| x.deployment_id.clone())
                        .unwrap_or_default();
                    s.last_deployment_status_message = Some(e.message);
                }
            }
            stage_writes.push((to_value(&s)?, s.stage_name.clone(), *v));
        }
    }
    let body = to_value(api)?;
    let dep_body = match &deployment {
        Some((d, _)) => Some((d.id.clone(), to_value(d)?)),
        None => None,
    };
    let r = store.transact(&mut |tx| {
        let expect = match version {
            Some(v) => Expect::Version(v),
            None => Expect::Absent,
        };
        tx.put(KIND_HTTPAPI, "", &api.api_id, &body, expect)?;
        if let Some((id, b)) = &dep_body {
            tx.put(KIND_DEPLOYMENT, &api.api_id, id, b, Expect::Absent)?;
        }
        for (b, name, v) in &stage_writes {
            tx.put(KIND_STAGE, &api.api_id, name, b, Expect::Version(*v))?;
        }
        Ok(())
    });
    match r {
        Err(e) if e.is_conflict() => Err(concurrent()),
        r => Ok(r?),
    }
}

/// Read, modify, write (retried on a lost race).
fn modify(
    store: &dyn DocumentStore,
    api_id: &str,
    f: &mut dyn FnMut(&mut HttpApiDoc) -> Result<Value, ApiError>,
) -> Result<(u64, Value), ApiError> {
    for attempt in 0..5 {
        let (mut api, version) = read_api(store, api_id)?;
        let view = f(&mut api)?;
        definition_of(&api)?;
        match write_api(store, &api, Some(version)) {
            Err(e) if e.kind == ErrorKind::Conflict && attempt < 4 => continue,
            r => return r.map(|rev| (rev, view)),
        }
    }
    Err(concurrent())
}

/// Applies a change to an HTTP API; returns the revision and AWS's view of the result.
pub fn apply(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    change: V2Change,
) -> Result<(u64, Value), ApiError> {
    match change {
        V2Change::CreateApi(input) => create_api(store, input),
        V2Change::ImportApi {
            body,
            fail_on_warnings,
        } => {
            let api = from_document(&new_id(), &body, fail_on_warnings)?;
            let rev = write_api(store, &api, None)?;
            Ok((rev, api.to_aws()))
        }
        V2Change::ReimportApi {
            api_id,
            body,
            fail_on_warnings,
        } => {
            let new = from_document(&api_id, &body, fail_on_warnings)?;
            modify(store, &api_id, &mut |api| {
                api.routes = new.routes.clone();
                api.integrations = new.integrations.clone();
                api.cors_configuration = new.cors_configuration.clone();
                api.warnings = new.warnings.clone();
                api.name = new.name.clone();
                api.description = new.description.clone();
                Ok(api.to_aws())
            })
        }
        V2Change::DeleteApi { api_id } => {
            let rev = store.transact(&mut |tx| {
                if tx.get(KIND_HTTPAPI, "", &api_id)?.is_none() {
                    return Err(TxAbort::cancel(api_not_found(&api_id)));
                }
                for kind in [KIND_STAGE, KIND_DEPLOYMENT] {
                    for d in tx.list(kind, &api_id)? {
                        tx.delete(kind, &api_id, &d.key, Expect::Any)?;
                    }
                }
                tx.delete(KIND_HTTPAPI, "", &api_id, Expect::Any)?;
                Ok(())
            })?;
            Ok((rev, Value::Null))
        }
        V2Change::UpdateApi { api_id, input } => {
            if let Some(n) = &input.name {
                if n.is_empty() || n.len() > 128 {
                    return Err(ApiError::bad_request("Invalid API name specified"));
                }
            }
            modify(store, &api_id, &mut |api| {
                if let Some(n) = &input.name {
                    api.name = n.clone();
                }
                if let Some(d) = &input.description {
                    api.description = Some(d.clone());
                }
                if let Some(v) = &input.version {
                    api.version = Some(v.clone());
                }
                if let Some(c) = &input.cors_configuration {
                    api.cors_configuration = Some(c.clone());
                }
                Ok(api.to_aws())
            })
        }
        V2Change::CreateRoute { api_id, input } => {
            let key = input
                .route_key
                .clone()
                .ok_or_else(|| ApiError::bad_request("routeKey is required"))?;
            check_route_input(&input)?;
            let id = new_id()[..7].to_string();
            modify(store, &api_id, &mut |api| {
                let r = RouteDoc {
                    route_key: key.clone(),
                    target: input.target.clone(),
                    operation_name: input.operation_name.clone(),
                };
                check_route(api, &id, &r)?;
                let view = route_view(&id, &r);
                api.routes.insert(id.clone(), r);
                Ok(view)
            })
        }
        V2Change::UpdateRoute {
            api_id,
            route_id,
            input,
        } => {
            check_route_input(&input)?;
            modify(store, &api_id, &mut |api| {
                let mut r = api
                    .routes
                    .get(&route_id)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found("Invalid Route identifier specified"))?;
                if let Some(k) = &input.route_key {
                    r.route_key = k.clone();
                }
                if let Some(t) = &input.target {
                    r.target = Some(t.clone());
                }
                if let Some(n) = &input.operation_name {
                    r.operation_name = Some(n.clone());
                }
                check_route(api, &route_id, &r)?;
                let view = route_view(&route_id, &r);
                api.routes.insert(route_id.clone(), r);
                Ok(view)
            })
        }
        V2Change::UpdateIntegration {
            api_id,
            integration_id,
            input,
        } => modify(store, &api_id, &mut |api| {
            let mut merged = api
                .integrations
                .get(&integration_id)
                .cloned()
                .ok_or_else(|| ApiError::not_found("Invalid Integration identifier specified"))?;
            for (k, v) in &input {
                merged.insert(k.clone(), v.clone());
            }
            let integ = check_integration(&merged)?;
            let view = integration_view(&integration_id, &integ);
            api.integrations.insert(integration_id.clone(), integ);
            Ok(view)
        }),
        V2Change::DeleteRoute { api_id, route_id } => modify(store, &api_id, &mut |api| {
            api.routes
                .shift_remove(&route_id)
                .ok_or_else(|| ApiError::not_found("Invalid Route identifier specified"))?;
            Ok(Value::Null)
        }),
        V2Change::CreateIntegration { api_id, input } => {
            let integ = check_integration(&input)?;
            let id = new_id()[..7].to_string();
            modify(store, &api_id, &mut |api| {
                api.integrations.insert(id.clone(), integ.clone());
                Ok(integration_view(&id, &integ))
            })
        }
        V2Change::DeleteIntegration {
            api_id,
            integration_id,
        } => modify(store, &api_id, &mut |api| {
            let target = format!("integrations/{integration_id}");
            if api
                .routes
                .values()
                .any(|r| r.target.as_deref() == Some(&target))
            {
                return Err(ApiError::conflict(
                    "Cannot delete an integration that a route targets",
                ));
            }
            api.integrations
                .shift_remove(&integration_id)
                .ok_or_else(|| ApiError::not_found("Invalid Integration identifier specified"))?;
            Ok(Value::Null)
        }),
        V2Change::CreateStage { api_id, input } => create_stage(store, cache, &api_id, input),
        V2Change::UpdateStage {
            api_id,
            stage_name,
            input,
        } => update_stage(store, cache, &api_id, &stage_name, input),
        V2Change::DeleteStage { api_id, stage_name } => {
            let rev = store.transact(&mut |tx| {
                if tx.get(KIND_HTTPAPI, "", &api_id)?.is_none() {
                    return Err(TxAbort::cancel(api_not_found(&api_id)));
                }
                if !tx.delete(KIND_STAGE, &api_id, &stage_name, Expect::Any)? {
                    return Err(TxAbort::cancel(ApiError::not_found(
                        "Invalid Stage identifier specified",
                    )));
                }
                Ok(())
            })?;
            Ok((rev, Value::Null))
        }
        V2Change::CreateDeployment {
            api_id,
            stage_name,
            description,
        } => {
            let (api, version) = read_api(store, &api_id)?;
            let (dep, def) = freeze(&api, description, false)?;
            let stage = match &stage_name {
                Some(n) => {
                    let (mut s, v) = read_stage(store, &api_id, n)?
                        .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?;
                    s.deployment_id = dep.id.clone();
                    s.last_updated_date = now();
                    check_stage(&model_doc(&api), &s, def.clone(), None, Protocol::Http)?;
                    Some((to_value(&s)?, n.clone(), v))
                }
                None => None,
            };
            let body = to_value(&dep)?;
            let rev = store.transact(&mut |tx| {
                tx.put(
                    KIND_HTTPAPI,
                    "",
                    &api_id,
                    &to_value_or_null(&api),
                    Expect::Version(version),
                )?;
                tx.put(KIND_DEPLOYMENT, &api_id, &dep.id, &body, Expect::Absent)?;
                if let Some((b, n, v)) = &stage {
                    tx.put(KIND_STAGE, &api_id, n, b, Expect::Version(*v))?;
                }
                Ok(())
            });
            let rev = match rev {
                Err(e) if e.is_conflict() => return Err(concurrent()),
                r => r?,
            };
            Ok((rev, deployment_view(&dep)))
        }
        V2Change::DeleteDeployment {
            api_id,
            deployment_id,
        } => {
            let rev = store.transact(&mut |tx| {
                if tx.get(KIND_HTTPAPI, "", &api_id)?.is_none() {
                    return Err(TxAbort::cancel(api_not_found(&api_id)));
                }
                if tx.get(KIND_DEPLOYMENT, &api_id, &deployment_id)?.is_none() {
                    return Err(TxAbort::cancel(ApiError::not_found(
                        "Invalid Deployment identifier specified",
                    )));
                }
                for d in tx.list(KIND_STAGE, &api_id)? {
                    if d.body.get("deploymentId").and_then(Value::as_str)
                        == Some(deployment_id.as_str())
                    {
                        return Err(TxAbort::cancel(ApiError::bad_request(
                            "Active stages pointing to this deployment must be moved or deleted",
                        )));
                    }
                }
                tx.delete(KIND_DEPLOYMENT, &api_id, &deployment_id, Expect::Any)?;
                Ok(())
            })?;
            Ok((rev, Value::Null))
        }
    }
}

fn to_value_or_null<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

fn create_api(store: &dyn DocumentStore, input: CreateApi) -> Result<(u64, Value), ApiError> {
    let name = input
        .name
        .filter(|n| !n.is_empty() && n.len() <= 128)
        .ok_or_else(|| ApiError::bad_request("Invalid API name specified"))?;
    match input.protocol_type.as_deref() {
        Some("HTTP") => {}
        Some("WEBSOCKET") => {
            return Err(ApiError::bad_request(
                "WebSocket APIs are not supported by Archway yet",
            ))
        }
        _ => return Err(ApiError::bad_request("Invalid protocolType: must be HTTP")),
    }
    let mut api = HttpApiDoc {
        api_id: new_id(),
        name,
        description: input.description,
        version: input.version,
        created_date: now(),
        cors_configuration: input.cors_configuration,
        routes: IndexMap::new(),
        integrations: IndexMap::new(),
        warnings: Vec::new(),
        managed_by: None,
        definition: None,
    };
    let mut quick_stage = None;
    if let Some(target) = input.target {
        let kind = if target.starts_with("arn:") {
            "AWS_PROXY"
        } else {
            "HTTP_PROXY"
        };
        let mut m = Map::new();
        m.insert("integrationType".into(), json!(kind));
        m.insert("integrationUri".into(), json!(target));
        m.insert("integrationMethod".into(), json!("ANY"));
        let integ = check_integration(&m)?;
        let iid = new_id()[..7].to_string();
        api.integrations.insert(iid.clone(), integ);
        let key = input.route_key.unwrap_or_else(|| "$default".into());
        check_route_key(&key)?;
        api.routes.insert(
            new_id()[..7].to_string(),
            RouteDoc {
                route_key: key,
                target: Some(format!("integrations/{iid}")),
                operation_name: None,
            },
        );
        let (dep, def) = freeze(&api, None, true)?;
        let t = now();
        let stage = StageDoc {
            stage_name: "$default".into(),
            deployment_id: dep.id.clone(),
            auto_deploy: true,
            created_date: t,
            last_updated_date: t,
            ..StageDoc::default()
        };
        check_stage(&model_doc(&api), &stage, def, None, Protocol::Http)?;
        quick_stage = Some((dep, stage));
    } else if input.route_key.is_some() {
        return Err(ApiError::bad_request(
            "routeKey needs target (quick create)",
        ));
    }
    definition_of(&api)?;
    let body = to_value(&api)?;
    let quick = match &quick_stage {
        Some((d, s)) => Some((to_value(d)?, d.id.clone(), to_value(s)?)),
        None => None,
    };
    let rev = store.transact(&mut |tx| {
        tx.put(KIND_HTTPAPI, "", &api.api_id, &body, Expect::Absent)?;
        if let Some((d, id, s)) = &quick {
            tx.put(KIND_DEPLOYMENT, &api.api_id, id, d, Expect::Absent)?;
            tx.put(KIND_STAGE, &api.api_id, "$default", s, Expect::Absent)?;
        }
        Ok(())
    })?;
    Ok((rev, api.to_aws()))
}

fn check_stage_name(name: &str) -> Result<(), ApiError> {
    if name == "$default" || valid_name(name, 128) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "Stage name only allows a-zA-Z0-9_-, or $default",
        ))
    }
}

fn check_variables(vars: &IndexMap<String, String>) -> Result<(), ApiError> {
    for (k, v) in vars {
        if !valid_name(k, 64) || v.len() > 512 {
            return Err(ApiError::bad_request(format!(
                "Invalid stage variable {k}: names take a-zA-Z0-9_-, values up to 512 characters"
            )));
        }
    }
    Ok(())
}

/// Settles a stage's deployment: auto-deployed stages get a fresh deployment; the stage must
/// compile with its deployment.
fn settle_stage(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api: &HttpApiDoc,
    stage: &mut StageDoc,
) -> Result<Option<DeploymentDoc>, ApiError> {
    let mut new_dep = None;
    if stage.auto_deploy && !api.routes.is_empty() {
        let (dep, _) = freeze(api, None, true)?;
        stage.deployment_id = dep.id.clone();
        new_dep = Some(dep);
    }
    if !stage.deployment_id.is_empty() {
        let def = match &new_dep {
            Some(d) => Arc::new(
                crate::definition::load_frozen_as(&d.definition, Protocol::Http)
                    .map_err(|_| ApiError::internal())?,
            ),
            None => cache
                .definition(store, &api.api_id, &stage.deployment_id)?
                .ok_or_else(|| ApiError::not_found("Invalid Deployment identifier specified"))?,
        };
        check_stage(&model_doc(api), stage, def, None, Protocol::Http)?;
    }
    Ok(new_dep)
}

fn create_stage(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api_id: &str,
    input: StageInput,
) -> Result<(u64, Value), ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let name = input
        .stage_name
        .ok_or_else(|| ApiError::bad_request("stageName is required"))?;
    check_stage_name(&name)?;
    let vars = input.stage_variables.unwrap_or_default();
    check_variables(&vars)?;
    let t = now();
    let mut stage = StageDoc {
        stage_name: name.clone(),
        deployment_id: input.deployment_id.unwrap_or_default(),
        description: input.description,
        variables: vars,
        auto_deploy: input.auto_deploy.unwrap_or(false),
        default_route_settings: input.default_route_settings,
        created_date: t,
        last_updated_date: t,
        ..StageDoc::default()
    };
    let dep = settle_stage(store, cache, &api, &mut stage)?;
    let body = to_value(&stage)?;
    let dep_body = match &dep {
        Some(d) => Some((d.id.clone(), to_value(d)?)),
        None => None,
    };
    let r = store.transact(&mut |tx| {
        if tx.get(KIND_HTTPAPI, "", api_id)?.is_none() {
            return Err(TxAbort::cancel(api_not_found(api_id)));
        }
        if let Some((id, b)) = &dep_body {
            tx.put(KIND_DEPLOYMENT, api_id, id, b, Expect::Absent)?;
        } else if !stage.deployment_id.is_empty()
            && tx
                .get(KIND_DEPLOYMENT, api_id, &stage.deployment_id)?
                .is_none()
        {
            return Err(TxAbort::cancel(ApiError::not_found(
                "Invalid Deployment identifier specified",
            )));
        }
        tx.put(KIND_STAGE, api_id, &name, &body, Expect::Absent)?;
        Ok(())
    });
    let rev = match r {
        Err(e) if e.is_conflict() => {
            return Err(ApiError::conflict(format!("Stage {name} already exists")))
        }
        r => r?,
    };
    Ok((rev, stage_view(&stage)))
}

fn update_stage(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api_id: &str,
    name: &str,
    input: StageInput,
) -> Result<(u64, Value), ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let (mut stage, version) = read_stage(store, api_id, name)?
        .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?;
    if let Some(v) = input.stage_variables {
        check_variables(&v)?;
        stage.variables = v;
    }
    if let Some(d) = input.description {
        stage.description = Some(d);
    }
    if let Some(a) = input.auto_deploy {
        stage.auto_deploy = a;
    }
    if let Some(d) = input.deployment_id {
        stage.deployment_id = d;
    }
    if let Some(s) = input.default_route_settings {
        stage.default_route_settings = Some(s);
    }
    stage.last_updated_date = now();
    let dep = if input.auto_deploy == Some(true) {
        settle_stage(store, cache, &api, &mut stage)?
    } else {
        // Check the stage against its deployment as it is.
        let mut probe = StageDoc {
            auto_deploy: false,
            ..stage.clone()
        };
        settle_stage(store, cache, &api, &mut probe)?;
        None
    };
    let body = to_value(&stage)?;
    let dep_body = match &dep {
        Some(d) => Some((d.id.clone(), to_value(d)?)),
        None => None,
    };
    let r = store.transact(&mut |tx| {
        if let Some((id, b)) = &dep_body {
            tx.put(KIND_DEPLOYMENT, api_id, id, b, Expect::Absent)?;
        }
        tx.put(KIND_STAGE, api_id, name, &body, Expect::Version(version))?;
        Ok(())
    });
    let rev = match r {
        Err(e) if e.is_conflict() => return Err(concurrent()),
        r => r?,
    };
    Ok((rev, stage_view(&stage)))
}

// ---- reads ------------------------------------------------------------------------------------

/// `GetApis`.
pub fn apis(store: &dyn DocumentStore) -> Result<Value, ApiError> {
    let mut items = Vec::new();
    for d in store.list_kind(KIND_HTTPAPI)? {
        let api: HttpApiDoc = serde_json::from_value(d.body).map_err(|_| ApiError::internal())?;
        items.push(api.to_aws());
    }
    Ok(json!({ "items": items }))
}

/// `GetApi`.
pub fn api(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    Ok(read_api(store, api_id)?.0.to_aws())
}

/// `GetRoutes`.
pub fn routes(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let items: Vec<Value> = api.routes.iter().map(|(id, r)| route_view(id, r)).collect();
    Ok(json!({ "items": items }))
}

/// `GetRoute`.
pub fn route(store: &dyn DocumentStore, api_id: &str, id: &str) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    api.routes
        .get(id)
        .map(|r| route_view(id, r))
        .ok_or_else(|| ApiError::not_found("Invalid Route identifier specified"))
}

/// `GetIntegrations`.
pub fn integrations(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    let items: Vec<Value> = api
        .integrations
        .iter()
        .map(|(id, i)| integration_view(id, i))
        .collect();
    Ok(json!({ "items": items }))
}

/// `GetIntegration`.
pub fn integration(store: &dyn DocumentStore, api_id: &str, id: &str) -> Result<Value, ApiError> {
    let (api, _) = read_api(store, api_id)?;
    api.integrations
        .get(id)
        .map(|i| integration_view(id, i))
        .ok_or_else(|| ApiError::not_found("Invalid Integration identifier specified"))
}

/// `GetStages`.
pub fn stages(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let items: Vec<Value> = stages_of(store, api_id)?
        .iter()
        .map(|(s, _)| stage_view(s))
        .collect();
    Ok(json!({ "items": items }))
}

/// `GetStage`.
pub fn stage(store: &dyn DocumentStore, api_id: &str, name: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let (s, _) = read_stage(store, api_id, name)?
        .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?;
    Ok(stage_view(&s))
}

/// `GetDeployments`.
pub fn deployments(store: &dyn DocumentStore, api_id: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let mut items = Vec::new();
    for d in store.list(KIND_DEPLOYMENT, api_id)? {
        let dep: DeploymentDoc =
            serde_json::from_value(d.body).map_err(|_| ApiError::internal())?;
        items.push(deployment_view(&dep));
    }
    Ok(json!({ "items": items }))
}

/// `GetDeployment`.
pub fn deployment(store: &dyn DocumentStore, api_id: &str, id: &str) -> Result<Value, ApiError> {
    read_api(store, api_id)?;
    let d = store
        .get(KIND_DEPLOYMENT, api_id, id)?
        .ok_or_else(|| ApiError::not_found("Invalid Deployment identifier specified"))?;
    let dep: DeploymentDoc = serde_json::from_value(d.body).map_err(|_| ApiError::internal())?;
    Ok(deployment_view(&dep))
}

/// `ExportApi`: the API as OpenAPI 3.0 — what stage `stage_name` serves, or the API's routes
/// and integrations as they are now (for an API of the file, its definition). Without
/// `include_extensions`, the `x-amazon-apigateway-*` and `x-archway-*` keys are left out.
pub fn export(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api_id: &str,
    specification: &str,
    stage_name: Option<&str>,
    include_extensions: bool,
) -> Result<Value, ApiError> {
    if specification != "OAS30" {
        return Err(ApiError::bad_request(format!(
            "Invalid specification {specification}: must be OAS30"
        )));
    }
    let (api, _) = read_api(store, api_id)?;
    let stage = match stage_name {
        Some(n) => Some(
            read_stage(store, api_id, n)?
                .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?
                .0,
        ),
        None => None,
    };
    let def = match &stage {
        Some(s) if s.deployment_id.is_empty() => {
            return Err(ApiError::bad_request(format!(
                "Stage {} has no deployment to export",
                s.stage_name
            )))
        }
        Some(s) => cache
            .definition(store, api_id, &s.deployment_id)?
            .ok_or_else(|| ApiError::not_found("Invalid Deployment identifier specified"))?,
        None => match &api.definition {
            Some(doc) => Arc::new(
                crate::definition::load_frozen_as(doc, Protocol::Http)
                    .map_err(ApiError::bad_request)?,
            ),
            None => Arc::new(definition_of(&api)?),
        },
    };
    let stages = stage
        .iter()
        .map(|s| crate::state::model_stage(s, def.clone(), None))
        .collect();
    let model = archway_model::Api {
        definition: def,
        ..model_api(&api, stages)
    };
    let mut doc = openapi::export_api(&model, stage_name, ExportFormat::Oas30)
        .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?;
    if !include_extensions {
        strip_extensions(&mut doc);
    }
    Ok(doc)
}

fn strip_extensions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("x-amazon-apigateway-") && !k.starts_with("x-archway-"));
            m.values_mut().for_each(strip_extensions);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_extensions),
        _ => {}
    }
}

/// The model API of an HTTP API document (for the snapshot).
pub fn model_api(api: &HttpApiDoc, stages: Vec<archway_model::Stage>) -> archway_model::Api {
    archway_model::Api {
        id: api.api_id.clone(),
        name: api.name.clone(),
        protocol: Protocol::Http,
        description: api.description.clone(),
        definition: Arc::new(ApiDefinition::default()),
        stages,
    }
}
