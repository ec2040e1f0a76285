//! The documents the control plane keeps in `archway-store`, and their AWS views.
//!
//! | kind | scope | key | body |
//! | --- | --- | --- | --- |
//! | `restapi` | `""` | API id | [`RestApiDoc`]: name, description, dates, and the working definition as an OpenAPI 3 document |
//! | `deployment` | API id | deployment id | [`DeploymentDoc`]: the frozen definition, as an OpenAPI 3 document |
//! | `stage` | API id | stage name | [`StageDoc`]: deployment, variables, canary settings, method settings |
//!
//! Definitions are stored as the OpenAPI documents `openapi::export` writes and are read back
//! with `openapi::import`: the converters' round trip is tested over every fixture, so a frozen
//! definition reads back as the definition that was deployed.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;

pub const KIND_RESTAPI: &str = "restapi";
pub const KIND_DEPLOYMENT: &str = "deployment";
pub const KIND_STAGE: &str = "stage";

/// A REST API: what `CreateRestApi`/`ImportRestApi` made, and its working definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApiDoc {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Seconds since the epoch.
    pub created_date: i64,
    /// `REST` (HTTP APIs are not managed here yet).
    pub protocol: String,
    /// Warnings of the last import.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Tags, kept and returned as given.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
    /// The working definition: an OpenAPI 3.0 document with `x-amazon-apigateway-*`
    /// extensions. Methods may lack integrations here; a deployment refuses them.
    pub definition: Value,
    /// Set when a door other than the admin API owns the API (the declarative file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<ManagedBy>,
}

/// The door that owns an API, when it is not the admin API: `{"type": "FILE", "source":
/// "archway.yaml"}` for an API of the declarative file (or of `serve --openapi`'s document).
/// Only that door changes the API; the admin API reads it and refuses to write it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManagedBy {
    #[serde(rename = "type")]
    pub kind: String,
    /// The file, as given on the command line.
    pub source: String,
}

impl ManagedBy {
    pub const FILE: &'static str = "FILE";

    /// The tags an owned API shows in AWS views, as CloudFormation tags what it manages.
    pub fn tags(&self) -> Value {
        json!({ "archway:managed-by": self.kind, "archway:source": self.source })
    }

    /// The error for an admin write to an API this door owns.
    pub fn refusal(&self, api_id: &str) -> crate::error::ApiError {
        crate::error::ApiError::bad_request(format!(
            "API {api_id} is managed by {} {}: change it there; the admin API can only read it",
            self.kind, self.source
        ))
    }
}

/// Adds an owned API's tags to its AWS view's `tags`.
pub fn add_managed_tags(view: &mut Value, managed_by: Option<&ManagedBy>) {
    let Some(m) = managed_by else { return };
    let tags = m.tags();
    if let (Some(v), Some(t)) = (view.as_object_mut(), tags.as_object()) {
        let slot = v.entry("tags").or_insert_with(|| json!({}));
        if let Some(slot) = slot.as_object_mut() {
            for (k, x) in t {
                slot.insert(k.clone(), x.clone());
            }
        }
    }
}

/// A deployment: a frozen copy of the working definition.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    /// The definition as deployed, as `openapi::export` wrote it.
    pub definition: Value,
    /// `HTTP` for an HTTP API's deployment; absent for REST APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Made by a stage's `autoDeploy` (HTTP APIs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_deployed: bool,
}

/// A stage (of a REST API or an HTTP API). An HTTP API's stage may have no deployment yet
/// (`deploymentId` empty): it is not served.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct StageDoc {
    pub stage_name: String,
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_settings: Option<CanarySettings>,
    /// `resourcePath/METHOD` (`*/*` for all) → settings, AWS's `MethodSetting` shape.
    #[serde(default)]
    pub method_settings: IndexMap<String, serde_json::Map<String, Value>>,
    #[serde(default)]
    pub tracing_enabled: bool,
    #[serde(default)]
    pub cache_cluster_enabled: bool,
    pub created_date: i64,
    pub last_updated_date: i64,
    /// HTTP APIs: every change to the API deploys to this stage.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_deploy: bool,
    /// HTTP APIs: why the last automatic deployment did not reach this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployment_status_message: Option<String>,
    /// HTTP APIs' `defaultRouteSettings`, stored as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_route_settings: Option<Value>,
}

/// AWS's `CanarySettings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CanarySettings {
    #[serde(default)]
    pub percent_traffic: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(default)]
    pub stage_variable_overrides: IndexMap<String, String>,
    #[serde(default)]
    pub use_stage_cache: bool,
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A new identifier in AWS's style: 10 characters from `[a-z0-9]`.
pub fn new_id() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// The id of the resource at `path` of API `api_id`: derived from both, so that it is the same
/// for as long as the path exists, across imports and restarts.
pub fn resource_id(api_id: &str, path: &str) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = sha2::Sha256::digest(format!("{api_id}\n{path}").as_bytes());
    digest
        .iter()
        .take(10)
        .map(|b| CHARS[(*b as usize) % CHARS.len()] as char)
        .collect()
}

impl RestApiDoc {
    /// AWS's `RestApi` shape.
    pub fn to_aws(&self) -> Value {
        let def = &self.definition;
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "createdDate": self.created_date,
            "apiKeySource": def
                .get("x-amazon-apigateway-api-key-source")
                .and_then(Value::as_str)
                .unwrap_or("HEADER"),
            "endpointConfiguration": { "types": ["EDGE"] },
            "disableExecuteApiEndpoint": false,
            "rootResourceId": resource_id(&self.id, "/"),
        });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(ver) = &self.version {
            v["version"] = json!(ver);
        }
        if let Some(t) = def.get("x-amazon-apigateway-binary-media-types") {
            v["binaryMediaTypes"] = t.clone();
        }
        if !self.warnings.is_empty() {
            v["warnings"] = json!(self.warnings);
        }
        if !self.tags.is_empty() {
            v["tags"] = json!(self.tags);
        }
        add_managed_tags(&mut v, self.managed_by.as_ref());
        v
    }
}

impl DeploymentDoc {
    /// AWS's `Deployment` shape.
    pub fn to_aws(&self) -> Value {
        let mut v = json!({ "id": self.id, "createdDate": self.created_date });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }
}

impl StageDoc {
    /// AWS's `Stage` shape.
    pub fn to_aws(&self) -> Value {
        let mut v = json!({
            "stageName": self.stage_name,
            "deploymentId": self.deployment_id,
            "cacheClusterEnabled": self.cache_cluster_enabled,
            "cacheClusterStatus": "NOT_AVAILABLE",
            "methodSettings": self.method_settings,
            "tracingEnabled": self.tracing_enabled,
            "createdDate": self.created_date,
            "lastUpdatedDate": self.last_updated_date,
        });
        if !self.variables.is_empty() {
            v["variables"] = json!(self.variables);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(c) = &self.canary_settings {
            v["canarySettings"] = json!(c);
        }
        v
    }
}

/// A stage or variable name as AWS allows it: letters, digits, `-` and `_`.
pub fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
