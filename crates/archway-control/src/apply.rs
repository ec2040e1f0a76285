//! [`apply`]: the one writer of control state. Every door (the admin API, the declarative file
//! and `serve --openapi`'s document) expresses a write as a [`Change`], and `apply`
//! validates it against the current state and commits it in one store transaction, or leaves
//! the state untouched and says why in AWS's words.
//!
//! Invariants:
//! 1. A change is validated completely before anything is written; on any error nothing is.
//! 2. Creates write with `Expect::Absent`; read-modify-writes with `Expect::Version(read)`, so a
//!    concurrent writer is detected. A lost race is retried a few times from a fresh read, then
//!    answered `ConflictException`.
//! 3. A stage is only ever written pointing at deployments that exist and that the data plane
//!    compiles with the stage's variables (`state::check_stage`).
//! 4. `apply` returns only once the commit is durable (the store's guarantee).

use crate::definition::{self, freeze, import_text, merge};
use crate::docs::*;
use crate::error::ApiError;
use crate::patch::{apply_stage_patch, PatchOperation};
use crate::resources::{
    self, PutGatewayResponse, PutIntegration, PutIntegrationResponse, PutMethod, PutMethodResponse,
};
use crate::state::{check_stage, DefinitionCache};
use archway_model::ApiDefinition;
use archway_store::{DocumentStore, Expect, StoreError, TxAbort};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The account id in error messages and ARNs.
pub const ACCOUNT_ID: &str = "111111111111";

/// How many times a read-modify-write is retried after losing a race.
const RETRIES: usize = 5;

/// A write to the control state.
#[derive(Debug)]
pub enum Change {
    CreateRestApi(CreateRestApi),
    /// `ImportRestApi`: a new API from an OpenAPI document.
    ImportRestApi {
        body: String,
        parameters: Vec<(String, String)>,
        fail_on_warnings: bool,
    },
    /// `PutRestApi`: the working definition replaced by, or merged with, a document.
    PutRestApi {
        api_id: String,
        mode: PutMode,
        body: String,
        parameters: Vec<(String, String)>,
        fail_on_warnings: bool,
    },
    /// `UpdateRestApi`: patch operations on the API's name, description, binary media types
    /// and API key source.
    UpdateRestApi {
        api_id: String,
        patch: Vec<PatchOperation>,
    },
    DeleteRestApi {
        api_id: String,
    },
    CreateDeployment {
        api_id: String,
        input: CreateDeployment,
    },
    DeleteDeployment {
        api_id: String,
        deployment_id: String,
    },
    /// `UpdateDeployment`: `replace /description` (what it serves never changes).
    UpdateDeployment {
        api_id: String,
        deployment_id: String,
        patch: Vec<PatchOperation>,
    },
    CreateStage {
        api_id: String,
        input: CreateStage,
    },
    UpdateStage {
        api_id: String,
        stage_name: String,
        patch: Vec<PatchOperation>,
    },
    DeleteStage {
        api_id: String,
        stage_name: String,
    },
    /// An edit of the working definition (resources, methods, integrations, responses).
    Edit {
        api_id: String,
        edit: Box<Edit>,
    },
    /// A write to an HTTP API (`apigatewayv2`).
    V2(Box<crate::v2::V2Change>),
    /// The declarative door: the APIs of the config file (or of `serve --openapi`'s
    /// document) `source`, applied declaratively (`file.rs`).
    ApplyFile {
        source: String,
        apis: Vec<archway_model::Api>,
    },
    /// A write to API keys, usage plans, their keys, or usage.
    Usage(Box<crate::usage::UsageChange>),
}

impl Change {
    /// The existing API an admin change writes to: one the file manages is refused.
    fn api_id(&self) -> Option<&str> {
        match self {
            Change::PutRestApi { api_id, .. }
            | Change::UpdateRestApi { api_id, .. }
            | Change::DeleteRestApi { api_id }
            | Change::CreateDeployment { api_id, .. }
            | Change::DeleteDeployment { api_id, .. }
            | Change::UpdateDeployment { api_id, .. }
            | Change::CreateStage { api_id, .. }
            | Change::UpdateStage { api_id, .. }
            | Change::DeleteStage { api_id, .. }
            | Change::Edit { api_id, .. } => Some(api_id),
            Change::V2(c) => c.api_id(),
            // Creates and imports make new APIs; the file's change is the owner's.
            _ => None,
        }
    }
}

/// `PutRestApi`'s `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    Overwrite,
    Merge,
}

/// `CreateRestApi`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestApi {
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub binary_media_types: Vec<String>,
    pub api_key_source: Option<String>,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
}

/// `CreateDeployment`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeployment {
    pub stage_name: Option<String>,
    pub stage_description: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub variables: IndexMap<String, String>,
    pub canary_settings: Option<DeploymentCanarySettings>,
    pub tracing_enabled: Option<bool>,
}

/// AWS's `DeploymentCanarySettings`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCanarySettings {
    #[serde(default)]
    pub percent_traffic: f64,
    #[serde(default)]
    pub stage_variable_overrides: IndexMap<String, String>,
    #[serde(default)]
    pub use_stage_cache: bool,
}

/// `CreateStage`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStage {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub variables: IndexMap<String, String>,
    pub canary_settings: Option<CanarySettings>,
    #[serde(default)]
    pub tracing_enabled: bool,
    #[serde(default)]
    pub cache_cluster_enabled: bool,
}

/// An edit of a working definition.
#[derive(Debug)]
pub enum Edit {
    CreateResource {
        parent_id: String,
        path_part: String,
    },
    DeleteResource {
        resource_id: String,
    },
    PutMethod {
        resource_id: String,
        http_method: String,
        input: PutMethod,
    },
    DeleteMethod {
        resource_id: String,
        http_method: String,
    },
    /// `UpdateMethod`'s patch operations.
    UpdateMethod {
        resource_id: String,
        http_method: String,
        patch: Vec<PatchOperation>,
    },
    /// `UpdateIntegration`'s patch operations.
    UpdateIntegration {
        resource_id: String,
        http_method: String,
        patch: Vec<PatchOperation>,
    },
    PutIntegration {
        resource_id: String,
        http_method: String,
        input: PutIntegration,
    },
    DeleteIntegration {
        resource_id: String,
        http_method: String,
    },
    PutMethodResponse {
        resource_id: String,
        http_method: String,
        status_code: String,
        input: PutMethodResponse,
    },
    DeleteMethodResponse {
        resource_id: String,
        http_method: String,
        status_code: String,
    },
    PutIntegrationResponse {
        resource_id: String,
        http_method: String,
        status_code: String,
        input: PutIntegrationResponse,
    },
    DeleteIntegrationResponse {
        resource_id: String,
        http_method: String,
        status_code: String,
    },
    PutGatewayResponse {
        response_type: String,
        input: PutGatewayResponse,
    },
    DeleteGatewayResponse {
        response_type: String,
    },
}

/// What a successful change did: the store revision that holds it and the AWS-shaped
/// resource it created or updated (`null` for deletes).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub revision: u64,
    pub body: Value,
}

/// Applies a change: validate, then commit durably, or change nothing.
pub fn apply(store: &dyn DocumentStore, change: Change) -> Result<Outcome, ApiError> {
    apply_with(store, &DefinitionCache::default(), change)
}

/// [`apply`] with a cache of imported deployments (the control plane's own).
pub fn apply_with(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    change: Change,
) -> Result<Outcome, ApiError> {
    if let Some(api_id) = change.api_id() {
        crate::file::refuse_managed(store, api_id)?;
    }
    let w = Writer { store, cache };
    match change {
        Change::CreateRestApi(input) => w.create_rest_api(input),
        Change::ImportRestApi {
            body,
            parameters,
            fail_on_warnings,
        } => w.import_rest_api(&body, &parameters, fail_on_warnings),
        Change::PutRestApi {
            api_id,
            mode,
            body,
            parameters,
            fail_on_warnings,
        } => w.put_rest_api(&api_id, mode, &body, &parameters, fail_on_warnings),
        Change::DeleteRestApi { api_id } => w.delete_rest_api(&api_id),
        Change::UpdateRestApi { api_id, patch } => w.update_rest_api(&api_id, &patch),
        Change::CreateDeployment { api_id, input } => w.create_deployment(&api_id, input),
        Change::DeleteDeployment {
            api_id,
            deployment_id,
        } => w.delete_deployment(&api_id, &deployment_id),
        Change::UpdateDeployment {
            api_id,
            deployment_id,
            patch,
        } => w.update_deployment(&api_id, &deployment_id, &patch),
        Change::CreateStage { api_id, input } => w.create_stage(&api_id, input),
        Change::UpdateStage {
            api_id,
            stage_name,
            patch,
        } => w.update_stage(&api_id, &stage_name, &patch),
        Change::DeleteStage { api_id, stage_name } => w.delete_stage(&api_id, &stage_name),
        Change::Edit { api_id, edit } => w.edit(&api_id, *edit),
        Change::V2(change) => crate::v2::apply(store, cache, *change)
            .map(|(revision, body)| Outcome { revision, body }),
        Change::ApplyFile { source, apis } => crate::file::apply_file(store, &source, &apis),
        Change::Usage(change) => crate::usage::apply(store, *change),
    }
}

pub(crate) fn api_not_found(api_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Invalid API identifier specified {ACCOUNT_ID}:{api_id}"
    ))
}

pub(crate) fn stage_not_found() -> ApiError {
    ApiError::not_found("Invalid Stage identifier specified")
}

pub(crate) fn deployment_not_found() -> ApiError {
    ApiError::not_found("Invalid Deployment identifier specified")
}

fn corrupt(what: &str, e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "unreadable {what} document");
    ApiError::internal()
}

fn to_value<T: serde::Serialize>(t: &T) -> Result<Value, ApiError> {
    serde_json::to_value(t).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a document");
        ApiError::internal()
    })
}

/// Reads the REST API `api_id`: its document and version.
pub(crate) fn read_api(
    store: &dyn DocumentStore,
    api_id: &str,
) -> Result<(RestApiDoc, u64), ApiError> {
    let doc = store
        .get(KIND_RESTAPI, "", api_id)?
        .ok_or_else(|| api_not_found(api_id))?;
    let api = serde_json::from_value(doc.body).map_err(|e| corrupt("restapi", e))?;
    Ok((api, doc.version))
}

pub(crate) fn read_stage(
    store: &dyn DocumentStore,
    api_id: &str,
    name: &str,
) -> Result<Option<(StageDoc, u64)>, ApiError> {
    match store.get(KIND_STAGE, api_id, name)? {
        Some(d) => Ok(Some((
            serde_json::from_value(d.body).map_err(|e| corrupt("stage", e))?,
            d.version,
        ))),
        None => Ok(None),
    }
}

fn cancel(e: ApiError) -> TxAbort {
    TxAbort::cancel(e)
}

/// A transaction's view of "does the API still exist".
fn tx_api_exists(tx: &mut dyn archway_store::Tx, api_id: &str) -> Result<(), TxAbort> {
    match tx.get(KIND_RESTAPI, "", api_id)? {
        Some(_) => Ok(()),
        None => Err(cancel(api_not_found(api_id))),
    }
}

fn is_conflict(r: &Result<u64, StoreError>) -> bool {
    matches!(r, Err(e) if e.is_conflict())
}

struct Writer<'a> {
    store: &'a dyn DocumentStore,
    cache: &'a DefinitionCache,
}

impl Writer<'_> {
    fn definition(
        &self,
        api_id: &str,
        deployment_id: &str,
    ) -> Result<Arc<ApiDefinition>, ApiError> {
        self.cache
            .definition(self.store, api_id, deployment_id)?
            .ok_or_else(deployment_not_found)
    }

    /// The definitions a stage serves; errors name a missing deployment.
    fn stage_definitions(
        &self,
        api_id: &str,
        stage: &StageDoc,
        extra: Option<(&str, &Arc<ApiDefinition>)>,
    ) -> Result<(Arc<ApiDefinition>, Option<Arc<ApiDefinition>>), ApiError> {
        let get = |id: &str| -> Result<Arc<ApiDefinition>, ApiError> {
            match extra {
                Some((eid, def)) if eid == id => Ok(def.clone()),
                _ => self.definition(api_id, id).map_err(|e| {
                    if e.kind == crate::error::ErrorKind::NotFound {
                        ApiError::bad_request(format!("Deployment id does not exist: {id}"))
                    } else {
                        e
                    }
                }),
            }
        };
        let main = get(&stage.deployment_id)?;
        let canary = match &stage.canary_settings {
            Some(c) => Some(get(c
                .deployment_id
                .as_deref()
                .unwrap_or(&stage.deployment_id))?),
            None => None,
        };
        Ok((main, canary))
    }

    fn create_rest_api(&self, input: CreateRestApi) -> Result<Outcome, ApiError> {
        let name = input
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request("Invalid REST API name specified"))?;
        if name.len() > 1024 {
            return Err(ApiError::bad_request("Invalid REST API name specified"));
        }
        let mut definition = definition::empty(&name);
        if let Some(top) = definition.as_object_mut() {
            if !input.binary_media_types.is_empty() {
                top.insert(
                    "x-amazon-apigateway-binary-media-types".into(),
                    json!(input.binary_media_types),
                );
            }
            match input.api_key_source.as_deref() {
                None | Some("HEADER") => {}
                Some("AUTHORIZER") => {
                    top.insert(
                        "x-amazon-apigateway-api-key-source".into(),
                        json!("AUTHORIZER"),
                    );
                }
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid API key source specified: {other}"
                    )))
                }
            }
            if let Some(d) = &input.description {
                if let Some(info) = top.get_mut("info").and_then(Value::as_object_mut) {
                    info.insert("description".into(), json!(d));
                }
            }
        }
        let api = RestApiDoc {
            id: new_id(),
            name,
            description: input.description,
            version: input.version,
            created_date: now(),
            protocol: "REST".into(),
            warnings: Vec::new(),
            tags: input.tags,
            definition,
            managed_by: None,
        };
        self.insert_api(api)
    }

    fn insert_api(&self, api: RestApiDoc) -> Result<Outcome, ApiError> {
        let body = to_value(&api)?;
        let revision = self.store.transact(&mut |tx| {
            tx.put(KIND_RESTAPI, "", &api.id, &body, Expect::Absent)
                .map(|_| ())
        })?;
        Ok(Outcome {
            revision,
            body: api.to_aws(),
        })
    }

    fn import_rest_api(
        &self,
        body: &str,
        parameters: &[(String, String)],
        fail_on_warnings: bool,
    ) -> Result<Outcome, ApiError> {
        let imported = import_text(body, parameters, fail_on_warnings)?;
        let api = RestApiDoc {
            id: new_id(),
            name: imported.name,
            description: imported.description,
            version: imported.version,
            created_date: now(),
            protocol: "REST".into(),
            warnings: imported.warnings,
            tags: IndexMap::new(),
            definition: imported.definition,
            managed_by: None,
        };
        self.insert_api(api)
    }

    fn put_rest_api(
        &self,
        api_id: &str,
        mode: PutMode,
        body: &str,
        parameters: &[(String, String)],
        fail_on_warnings: bool,
    ) -> Result<Outcome, ApiError> {
        let imported = import_text(body, parameters, fail_on_warnings)?;
        self.modify_api(api_id, &mut |api| {
            api.definition = match mode {
                PutMode::Overwrite => imported.definition.clone(),
                PutMode::Merge => {
                    let merged = merge(&api.definition, &imported.definition);
                    definition::check_working(&merged)?;
                    merged
                }
            };
            api.warnings = imported.warnings.clone();
            if mode == PutMode::Overwrite {
                api.description = imported.description.clone();
                if imported.version.is_some() {
                    api.version = imported.version.clone();
                }
            }
            Ok(())
        })
        .map(|(revision, api)| Outcome {
            revision,
            body: api.to_aws(),
        })
    }

    /// Read, modify, write with `Expect::Version`, retried on a lost race.
    fn modify_api(
        &self,
        api_id: &str,
        f: &mut dyn FnMut(&mut RestApiDoc) -> Result<(), ApiError>,
    ) -> Result<(u64, RestApiDoc), ApiError> {
        for attempt in 0..RETRIES {
            let (mut api, version) = read_api(self.store, api_id)?;
            f(&mut api)?;
            let body = to_value(&api)?;
            let r = self.store.transact(&mut |tx| {
                tx.put(KIND_RESTAPI, "", api_id, &body, Expect::Version(version))
                    .map(|_| ())
            });
            if is_conflict(&r) && attempt + 1 < RETRIES {
                continue;
            }
            return Ok((r?, api));
        }
        Err(ApiError::conflict(
            "Unable to complete operation due to concurrent modification. Please try again later.",
        ))
    }

    fn update_rest_api(&self, api_id: &str, patch: &[PatchOperation]) -> Result<Outcome, ApiError> {
        self.modify_api(api_id, &mut |api| {
            for op in patch {
                crate::patch::apply_rest_api_patch(api, op)?;
            }
            Ok(())
        })
        .map(|(revision, api)| Outcome {
            revision,
            body: api.to_aws(),
        })
    }

    fn delete_rest_api(&self, api_id: &str) -> Result<Outcome, ApiError> {
        let revision = self.store.transact(&mut |tx| {
            tx_api_exists(tx, api_id)?;
            crate::usage::tx_refuse_if_in_plan(tx, api_id, None)?;
            for kind in [KIND_STAGE, KIND_DEPLOYMENT] {
                for d in tx.list(kind, api_id)? {
                    tx.delete(kind, api_id, &d.key, Expect::Version(d.version))?;
                }
            }
            tx.delete(KIND_RESTAPI, "", api_id, Expect::Any)?;
            Ok(())
        })?;
        Ok(Outcome {
            revision,
            body: Value::Null,
        })
    }

    fn create_deployment(
        &self,
        api_id: &str,
        input: CreateDeployment,
    ) -> Result<Outcome, ApiError> {
        if let Some(d) = &input.description {
            if d.len() > 1024 {
                return Err(ApiError::bad_request("Description is too long"));
            }
        }
        for (k, v) in &input.variables {
            check_variable(k, v)?;
        }
        if let Some(c) = &input.canary_settings {
            check_percent(c.percent_traffic)?;
            for (k, v) in &c.stage_variable_overrides {
                check_variable(k, v)?;
            }
        }
        for attempt in 0..RETRIES {
            let (api, api_version) = read_api(self.store, api_id)?;
            let (def, frozen) = freeze(&api.definition)?;
            let def = Arc::new(def);
            let dep = DeploymentDoc {
                id: new_id(),
                description: input.description.clone(),
                created_date: now(),
                definition: frozen,
                ..DeploymentDoc::default()
            };
            // The stage the deployment goes to, if any.
            let stage_write: Option<(StageDoc, Expect)> = match &input.stage_name {
                None => {
                    if input.canary_settings.is_some() {
                        return Err(ApiError::bad_request(
                            "A canary deployment needs a stage name",
                        ));
                    }
                    None
                }
                Some(name) => {
                    check_stage_name(name)?;
                    let existing = read_stage(self.store, api_id, name)?;
                    let t = now();
                    let (stage, expect) = match (existing, &input.canary_settings) {
                        (Some((mut s, v)), Some(c)) => {
                            s.canary_settings = Some(CanarySettings {
                                percent_traffic: c.percent_traffic,
                                deployment_id: Some(dep.id.clone()),
                                stage_variable_overrides: c.stage_variable_overrides.clone(),
                                use_stage_cache: c.use_stage_cache,
                            });
                            s.last_updated_date = t;
                            (s, Expect::Version(v))
                        }
                        (None, Some(_)) => return Err(stage_not_found()),
                        (Some((mut s, v)), None) => {
                            s.deployment_id = dep.id.clone();
                            for (k, val) in &input.variables {
                                s.variables.insert(k.clone(), val.clone());
                            }
                            if let Some(d) = &input.stage_description {
                                s.description = Some(d.clone());
                            }
                            s.last_updated_date = t;
                            (s, Expect::Version(v))
                        }
                        (None, None) => (
                            StageDoc {
                                stage_name: name.clone(),
                                deployment_id: dep.id.clone(),
                                description: input.stage_description.clone(),
                                variables: input.variables.clone(),
                                canary_settings: None,
                                method_settings: IndexMap::new(),
                                tracing_enabled: input.tracing_enabled.unwrap_or(false),
                                cache_cluster_enabled: false,
                                created_date: t,
                                last_updated_date: t,
                                ..StageDoc::default()
                            },
                            Expect::Absent,
                        ),
                    };
                    let (main, canary) =
                        self.stage_definitions(api_id, &stage, Some((&dep.id, &def)))?;
                    check_stage(&api, &stage, main, canary, archway_model::Protocol::Rest)?;
                    Some((stage, expect))
                }
            };
            let dep_body = to_value(&dep)?;
            let stage_body = match &stage_write {
                Some((s, _)) => Some(to_value(s)?),
                None => None,
            };
            let r = self.store.transact(&mut |tx| {
                // The working definition deployed must still be the one read.
                match tx.get(KIND_RESTAPI, "", api_id)? {
                    Some(d) if d.version == api_version => {}
                    Some(_) => {
                        // Changed since it was frozen: fail this attempt with the store's own
                        // conflict (the expectation cannot hold), so that it is retried.
                        tx.put(
                            KIND_RESTAPI,
                            "",
                            api_id,
                            &Value::Null,
                            Expect::Version(api_version),
                        )?;
                    }
                    None => return Err(cancel(api_not_found(api_id))),
                }
                tx.put(KIND_DEPLOYMENT, api_id, &dep.id, &dep_body, Expect::Absent)?;
                if let (Some((s, expect)), Some(body)) = (&stage_write, &stage_body) {
                    tx.put(KIND_STAGE, api_id, &s.stage_name, body, *expect)?;
                }
                Ok(())
            });
            if is_conflict(&r) && attempt + 1 < RETRIES {
                continue;
            }
            let revision = r?;
            return Ok(Outcome {
                revision,
                body: dep.to_aws(),
            });
        }
        Err(concurrent())
    }

    fn delete_deployment(&self, api_id: &str, deployment_id: &str) -> Result<Outcome, ApiError> {
        let revision = self.store.transact(&mut |tx| {
            tx_api_exists(tx, api_id)?;
            if tx.get(KIND_DEPLOYMENT, api_id, deployment_id)?.is_none() {
                return Err(cancel(deployment_not_found()));
            }
            for d in tx.list(KIND_STAGE, api_id)? {
                let s: StageDoc = serde_json::from_value(d.body)
                    .map_err(|e| cancel(corrupt("stage", e)))?;
                if s.deployment_id == deployment_id {
                    return Err(cancel(ApiError::bad_request(
                        "Active stages pointing to this deployment must be moved or deleted",
                    )));
                }
                let canary = s
                    .canary_settings
                    .as_ref()
                    .and_then(|c| c.deployment_id.as_deref());
                if canary == Some(deployment_id) {
                    return Err(cancel(ApiError::bad_request(
                        "Active stages with canary settings pointing to this deployment must be moved or deleted",
                    )));
                }
            }
            tx.delete(KIND_DEPLOYMENT, api_id, deployment_id, Expect::Any)?;
            Ok(())
        })?;
        Ok(Outcome {
            revision,
            body: Value::Null,
        })
    }

    fn update_deployment(
        &self,
        api_id: &str,
        deployment_id: &str,
        patch: &[PatchOperation],
    ) -> Result<Outcome, ApiError> {
        let mut view = Value::Null;
        let revision = self.store.transact(&mut |tx| {
            tx_api_exists(tx, api_id)?;
            let d = tx
                .get(KIND_DEPLOYMENT, api_id, deployment_id)?
                .ok_or_else(|| cancel(deployment_not_found()))?;
            let mut dep: DeploymentDoc =
                serde_json::from_value(d.body).map_err(|e| cancel(corrupt("deployment", e)))?;
            for op in patch {
                match (op.op.as_str(), op.path.as_str()) {
                    ("replace", "/description") => dep.description = op.value.clone(),
                    _ => {
                        return Err(cancel(ApiError::bad_request(format!(
                            "Invalid patch path '{}' specified for op '{}'. Must be one of: [/description]",
                            op.path, op.op
                        ))))
                    }
                }
            }
            if dep.description.as_ref().is_some_and(|d| d.len() > 1024) {
                return Err(cancel(ApiError::bad_request("Description is too long")));
            }
            let body = to_value(&dep).map_err(cancel)?;
            tx.put(KIND_DEPLOYMENT, api_id, deployment_id, &body, Expect::Version(d.version))?;
            view = dep.to_aws();
            Ok(())
        })?;
        Ok(Outcome {
            revision,
            body: view,
        })
    }

    fn create_stage(&self, api_id: &str, input: CreateStage) -> Result<Outcome, ApiError> {
        let (api, _) = read_api(self.store, api_id)?;
        let name = input
            .stage_name
            .ok_or_else(|| ApiError::bad_request("Stage name is required"))?;
        check_stage_name(&name)?;
        let deployment_id = input
            .deployment_id
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ApiError::bad_request("Deployment id is required"))?;
        for (k, v) in &input.variables {
            check_variable(k, v)?;
        }
        let mut canary = input.canary_settings;
        if let Some(c) = canary.as_mut() {
            check_percent(c.percent_traffic)?;
            for (k, v) in &c.stage_variable_overrides {
                check_variable(k, v)?;
            }
            if c.deployment_id.is_none() {
                c.deployment_id = Some(deployment_id.clone());
            }
        }
        let t = now();
        let stage = StageDoc {
            stage_name: name.clone(),
            deployment_id,
            description: input.description,
            variables: input.variables,
            canary_settings: canary,
            method_settings: IndexMap::new(),
            tracing_enabled: input.tracing_enabled,
            cache_cluster_enabled: input.cache_cluster_enabled,
            created_date: t,
            last_updated_date: t,
            ..StageDoc::default()
        };
        if self
            .store
            .get(KIND_DEPLOYMENT, api_id, &stage.deployment_id)?
            .is_none()
        {
            return Err(deployment_not_found());
        }
        let (main, canary) = self.stage_definitions(api_id, &stage, None)?;
        check_stage(&api, &stage, main, canary, archway_model::Protocol::Rest)?;
        let body = to_value(&stage)?;
        let r = self.store.transact(&mut |tx| {
            tx_api_exists(tx, api_id)?;
            for id in stage_deployments(&stage) {
                if tx.get(KIND_DEPLOYMENT, api_id, id)?.is_none() {
                    return Err(cancel(deployment_not_found()));
                }
            }
            tx.put(KIND_STAGE, api_id, &name, &body, Expect::Absent)?;
            Ok(())
        });
        let revision = match r {
            Err(e) if e.is_conflict() => return Err(ApiError::conflict("Stage already exists")),
            r => r?,
        };
        Ok(Outcome {
            revision,
            body: stage.to_aws(),
        })
    }

    fn update_stage(
        &self,
        api_id: &str,
        stage_name: &str,
        patch: &[PatchOperation],
    ) -> Result<Outcome, ApiError> {
        for attempt in 0..RETRIES {
            let (api, _) = read_api(self.store, api_id)?;
            let (mut stage, version) =
                read_stage(self.store, api_id, stage_name)?.ok_or_else(stage_not_found)?;
            apply_stage_patch(&mut stage, patch)?;
            stage.last_updated_date = now();
            let (main, canary) = self.stage_definitions(api_id, &stage, None)?;
            check_stage(&api, &stage, main, canary, archway_model::Protocol::Rest)?;
            let body = to_value(&stage)?;
            let r = self.store.transact(&mut |tx| {
                for id in stage_deployments(&stage) {
                    if tx.get(KIND_DEPLOYMENT, api_id, id)?.is_none() {
                        return Err(cancel(ApiError::bad_request(format!(
                            "Deployment id does not exist: {id}"
                        ))));
                    }
                }
                tx.put(
                    KIND_STAGE,
                    api_id,
                    stage_name,
                    &body,
                    Expect::Version(version),
                )?;
                Ok(())
            });
            if is_conflict(&r) && attempt + 1 < RETRIES {
                continue;
            }
            return Ok(Outcome {
                revision: r?,
                body: stage.to_aws(),
            });
        }
        Err(concurrent())
    }

    fn delete_stage(&self, api_id: &str, stage_name: &str) -> Result<Outcome, ApiError> {
        let revision = self.store.transact(&mut |tx| {
            tx_api_exists(tx, api_id)?;
            if tx.get(KIND_STAGE, api_id, stage_name)?.is_none() {
                return Err(cancel(stage_not_found()));
            }
            crate::usage::tx_refuse_if_in_plan(tx, api_id, Some(stage_name))?;
            tx.delete(KIND_STAGE, api_id, stage_name, Expect::Any)?;
            Ok(())
        })?;
        Ok(Outcome {
            revision,
            body: Value::Null,
        })
    }

    fn edit(&self, api_id: &str, edit: Edit) -> Result<Outcome, ApiError> {
        let mut view = Value::Null;
        let (revision, _) = self.modify_api(api_id, &mut |api| {
            let doc = &mut api.definition;
            view = match &edit {
                Edit::CreateResource {
                    parent_id,
                    path_part,
                } => {
                    let path = resources::create_resource(api_id, doc, parent_id, path_part)?;
                    resources::resource_view(api_id, doc, &path, false)
                }
                Edit::DeleteResource { resource_id } => {
                    resources::delete_resource(api_id, doc, resource_id)?;
                    Value::Null
                }
                Edit::PutMethod {
                    resource_id,
                    http_method,
                    input,
                } => resources::put_method(api_id, doc, resource_id, http_method, input)?,
                Edit::UpdateMethod {
                    resource_id,
                    http_method,
                    patch,
                } => resources::update_method(api_id, doc, resource_id, http_method, patch)?,
                Edit::UpdateIntegration {
                    resource_id,
                    http_method,
                    patch,
                } => resources::update_integration(api_id, doc, resource_id, http_method, patch)?,
                Edit::DeleteMethod {
                    resource_id,
                    http_method,
                } => {
                    resources::delete_method(api_id, doc, resource_id, http_method)?;
                    Value::Null
                }
                Edit::PutIntegration {
                    resource_id,
                    http_method,
                    input,
                } => resources::put_integration(api_id, doc, resource_id, http_method, input)?,
                Edit::DeleteIntegration {
                    resource_id,
                    http_method,
                } => {
                    resources::delete_integration(api_id, doc, resource_id, http_method)?;
                    Value::Null
                }
                Edit::PutMethodResponse {
                    resource_id,
                    http_method,
                    status_code,
                    input,
                } => resources::put_method_response(
                    api_id,
                    doc,
                    resource_id,
                    http_method,
                    status_code,
                    input,
                )?,
                Edit::DeleteMethodResponse {
                    resource_id,
                    http_method,
                    status_code,
                } => {
                    resources::delete_method_response(
                        api_id,
                        doc,
                        resource_id,
                        http_method,
                        status_code,
                    )?;
                    Value::Null
                }
                Edit::PutIntegrationResponse {
                    resource_id,
                    http_method,
                    status_code,
                    input,
                } => resources::put_integration_response(
                    api_id,
                    doc,
                    resource_id,
                    http_method,
                    status_code,
                    input,
                )?,
                Edit::DeleteIntegrationResponse {
                    resource_id,
                    http_method,
                    status_code,
                } => {
                    resources::delete_integration_response(
                        api_id,
                        doc,
                        resource_id,
                        http_method,
                        status_code,
                    )?;
                    Value::Null
                }
                Edit::PutGatewayResponse {
                    response_type,
                    input,
                } => resources::put_gateway_response(doc, response_type, input)?,
                Edit::DeleteGatewayResponse { response_type } => {
                    resources::delete_gateway_response(doc, response_type)?;
                    Value::Null
                }
            };
            definition::check_working(doc)
        })?;
        Ok(Outcome {
            revision,
            body: view,
        })
    }
}

fn concurrent() -> ApiError {
    ApiError::conflict(
        "Unable to complete operation due to concurrent modification. Please try again later.",
    )
}

/// The deployments a stage points at.
fn stage_deployments(s: &StageDoc) -> Vec<&str> {
    let mut v = vec![s.deployment_id.as_str()];
    if let Some(id) = s
        .canary_settings
        .as_ref()
        .and_then(|c| c.deployment_id.as_deref())
    {
        v.push(id);
    }
    v
}

fn check_stage_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name, 128) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "Stage name only allows a-zA-Z0-9_ and hyphens",
        ))
    }
}

fn check_percent(p: f64) -> Result<(), ApiError> {
    if p.is_finite() && (0.0..=100.0).contains(&p) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "Canary traffic percentage must be between 0.0 and 100.0",
        ))
    }
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
