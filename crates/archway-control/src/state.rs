//! Reading the control state back as the model the data plane compiles: every REST API in the
//! store with its stages, each serving its frozen deployment (and canary deployment).

use crate::definition::load_frozen_as;
use crate::docs::{DeploymentDoc, RestApiDoc, StageDoc, KIND_DEPLOYMENT, KIND_RESTAPI, KIND_STAGE};
use crate::error::ApiError;
use archway_model::{Api, ApiDefinition, Canary, Model, Protocol, Stage};
use archway_store::{Doc, DocumentStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Deployments read back from the store, by `(api id, deployment id)`, with the revision of the
/// document they came from. Deployments never change, so each is imported once.
#[derive(Default)]
pub struct DefinitionCache {
    map: Mutex<HashMap<DeploymentKey, (u64, Arc<ApiDefinition>)>>,
}

/// `(api id, deployment id)`.
type DeploymentKey = (String, String);

impl DefinitionCache {
    /// The definition of a deployment, from the cache or imported from its document.
    pub fn definition(
        &self,
        store: &dyn DocumentStore,
        api_id: &str,
        deployment_id: &str,
    ) -> Result<Option<Arc<ApiDefinition>>, ApiError> {
        let Some(doc) = store.get(KIND_DEPLOYMENT, api_id, deployment_id)? else {
            return Ok(None);
        };
        self.import_doc(api_id, &doc).map(Some)
    }

    /// The cached definition of a deployment, if it was imported before. (A deployment never
    /// changes and its id is never reused, so a cached one is current.)
    fn cached(&self, key: &DeploymentKey) -> Option<Arc<ApiDefinition>> {
        self.map.lock().ok()?.get(key).map(|(_, d)| d.clone())
    }

    /// The definition of the deployment document `doc`, imported unless cached.
    fn import_doc(&self, api_id: &str, doc: &Doc) -> Result<Arc<ApiDefinition>, ApiError> {
        let key = (api_id.to_string(), doc.key.clone());
        if let Ok(map) = self.map.lock() {
            if let Some((rev, def)) = map.get(&key) {
                if *rev == doc.revision {
                    return Ok(def.clone());
                }
            }
        }
        let deployment_id = doc.key.as_str();
        let dep: DeploymentDoc = serde_json::from_value(doc.body.clone()).map_err(|e| {
            tracing::error!(api = api_id, deployment = deployment_id, error = %e, "unreadable deployment");
            ApiError::internal()
        })?;
        let protocol = match dep.protocol.as_deref() {
            Some("HTTP") => Protocol::Http,
            _ => Protocol::Rest,
        };
        let def = load_frozen_as(&dep.definition, protocol).map_err(|e| {
            tracing::error!(api = api_id, deployment = deployment_id, error = %e, "deployment does not import");
            ApiError::internal()
        })?;
        let def = Arc::new(def);
        if let Ok(mut map) = self.map.lock() {
            map.insert(key, (doc.revision, def.clone()));
        }
        Ok(def)
    }

    /// Forgets an API's deployments (after the API is deleted).
    pub fn forget_missing(&self, live: &dyn Fn(&(String, String)) -> bool) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|k, _| live(k));
        }
    }
}

/// The model stage of a stage document, with its deployments' definitions.
pub fn model_stage(
    stage: &StageDoc,
    main: Arc<ApiDefinition>,
    canary: Option<Arc<ApiDefinition>>,
) -> Stage {
    let canary = match (&stage.canary_settings, canary) {
        (Some(c), Some(def)) => Some(Canary {
            percent_traffic: c.percent_traffic,
            deployment_id: c
                .deployment_id
                .clone()
                .unwrap_or_else(|| stage.deployment_id.clone()),
            deployment: def,
            stage_variable_overrides: c.stage_variable_overrides.clone(),
        }),
        _ => None,
    };
    Stage {
        name: stage.stage_name.clone(),
        description: stage.description.clone(),
        variables: stage.variables.clone(),
        deployment: main,
        deployment_id: Some(stage.deployment_id.clone()),
        canary,
        method_throttles: method_throttles(stage),
    }
}

/// The throttling of a stage's method settings (AWS's `MethodSetting` fields
/// `throttlingRateLimit` and `throttlingBurstLimit`; a setting without them has AWS's
/// defaults, the account's limits).
fn method_throttles(stage: &StageDoc) -> indexmap::IndexMap<String, archway_model::Throttle> {
    let d = archway_model::ACCOUNT_THROTTLE;
    stage
        .method_settings
        .iter()
        .filter_map(|(key, s)| {
            let rate = s
                .get("throttlingRateLimit")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(d.rate_limit);
            let burst = s
                .get("throttlingBurstLimit")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(d.burst_limit as f64);
            let t = archway_model::Throttle {
                rate_limit: rate,
                burst_limit: burst.max(0.0) as u64,
            };
            t.check().ok().map(|()| (key.clone(), t))
        })
        .collect()
}

fn model_api(api: &RestApiDoc, stages: Vec<Stage>, protocol: Protocol) -> Api {
    Api {
        id: api.id.clone(),
        name: api.name.clone(),
        protocol,
        description: api.description.clone(),
        // Stages serve deployments; the working definition is never served.
        definition: Arc::new(ApiDefinition::default()),
        stages,
    }
}

/// Checks that the data plane can compile `stage` of `api` (stage variables the integration
/// URIs need, and so on): a write that would leave a stage unservable is refused.
pub fn check_stage(
    api: &RestApiDoc,
    stage: &StageDoc,
    main: Arc<ApiDefinition>,
    canary: Option<Arc<ApiDefinition>>,
    protocol: Protocol,
) -> Result<(), ApiError> {
    let model = Model {
        apis: vec![model_api(
            api,
            vec![model_stage(stage, main, canary)],
            protocol,
        )],
        ..Model::default()
    };
    archway_gateway::Snapshot::compile(&model)
        .map(|_| ())
        .map_err(|errs| ApiError::bad_request(errs.join("; ")))
}

/// The documents a rebuild needs, read in one transaction: a consistent view of the state.
#[derive(Default)]
struct Raw {
    rest: Vec<Doc>,
    http: Vec<Doc>,
    stages: HashMap<String, Vec<Doc>>,
    /// Deployment documents not in the cache.
    deployments: HashMap<DeploymentKey, Doc>,
}

/// The deployments a stage document points at.
fn stage_deployments(body: &serde_json::Value) -> Vec<String> {
    let mut ids = Vec::new();
    let main = body.get("deploymentId").and_then(serde_json::Value::as_str);
    if let Some(d) = main.filter(|d| !d.is_empty()) {
        ids.push(d.to_string());
    }
    if let Some(c) = body.get("canarySettings").filter(|c| c.is_object()) {
        match c.get("deploymentId").and_then(serde_json::Value::as_str) {
            Some(d) => ids.push(d.to_string()),
            None => ids.extend(main.map(str::to_string)),
        }
    }
    ids
}

/// Every REST and HTTP API of the store as model APIs, and the store revision they reflect.
///
/// The documents are read in one store transaction, so they are one consistent state (a stage
/// never points at a deployment a later change deleted) and the revision is exactly theirs; it
/// holds the store's write lock only for those reads. Deployments are imported afterwards, and
/// only those not cached. A stage whose deployment cannot be read, or that has none yet, is left
/// out (logged when it cannot be read).
pub fn load_apis(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
) -> Result<(u64, Vec<Api>), StoreError> {
    let mut raw = Raw::default();
    let revision = store.transact(&mut |tx| {
        raw = Raw {
            rest: tx.list(KIND_RESTAPI, "")?,
            http: tx.list(crate::v2::KIND_HTTPAPI, "")?,
            ..Raw::default()
        };
        let ids: Vec<String> = raw
            .rest
            .iter()
            .chain(&raw.http)
            .map(|d| d.key.clone())
            .collect();
        for id in ids {
            let stages = tx.list(KIND_STAGE, &id)?;
            for s in &stages {
                for dep in stage_deployments(&s.body) {
                    let key = (id.clone(), dep);
                    if cache.cached(&key).is_none() && !raw.deployments.contains_key(&key) {
                        if let Some(d) = tx.get(KIND_DEPLOYMENT, &key.0, &key.1)? {
                            raw.deployments.insert(key, d);
                        }
                    }
                }
            }
            raw.stages.insert(id, stages);
        }
        Ok(())
    })?;
    let mut apis = Vec::new();
    let mut live = std::collections::HashSet::new();
    for doc in &raw.rest {
        let api: RestApiDoc = match serde_json::from_value(doc.body.clone()) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(api = %doc.key, error = %e, "unreadable REST API document; not served");
                continue;
            }
        };
        let stages = model_stages(&raw, cache, &api.id, &mut live);
        apis.push(model_api(&api, stages, Protocol::Rest));
    }
    for doc in &raw.http {
        let api: crate::v2::HttpApiDoc = match serde_json::from_value(doc.body.clone()) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(api = %doc.key, error = %e, "unreadable HTTP API document; not served");
                continue;
            }
        };
        let stages = model_stages(&raw, cache, &api.api_id, &mut live);
        apis.push(crate::v2::model_api(&api, stages));
    }
    cache.forget_missing(&|k| live.contains(k));
    Ok((revision, apis))
}

/// The servable stages of one API.
fn model_stages(
    raw: &Raw,
    cache: &DefinitionCache,
    api_id: &str,
    live: &mut std::collections::HashSet<DeploymentKey>,
) -> Vec<Stage> {
    let definition = |id: &str| -> Option<Arc<ApiDefinition>> {
        let key = (api_id.to_string(), id.to_string());
        match raw.deployments.get(&key) {
            Some(doc) => cache.import_doc(api_id, doc).ok(),
            None => cache.cached(&key),
        }
    };
    let mut stages = Vec::new();
    for sdoc in raw
        .stages
        .get(api_id)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let stage: StageDoc = match serde_json::from_value(sdoc.body.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(api = %api_id, stage = %sdoc.key, error = %e, "unreadable stage; not served");
                continue;
            }
        };
        if stage.deployment_id.is_empty() {
            continue;
        }
        let canary_id = stage
            .canary_settings
            .as_ref()
            .map(|c| c.deployment_id.as_deref().unwrap_or(&stage.deployment_id));
        let canary = canary_id.and_then(|id| {
            let d = definition(id)?;
            live.insert((api_id.to_string(), id.to_string()));
            Some(d)
        });
        match definition(&stage.deployment_id) {
            Some(def) => {
                live.insert((api_id.to_string(), stage.deployment_id.clone()));
                stages.push(model_stage(&stage, def, canary));
            }
            None => {
                tracing::error!(api = %api_id, stage = %stage.stage_name, "the stage's deployment cannot be read; not served")
            }
        }
    }
    stages
}
