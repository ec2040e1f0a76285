//! Reading the control state back as the model the data plane compiles: every REST API in the
//! store with its stages, each serving its frozen deployment (and canary deployment).

use crate::definition::load_frozen_as;
use crate::docs::{DeploymentDoc, RestApiDoc, StageDoc, KIND_DEPLOYMENT, KIND_RESTAPI, KIND_STAGE};
use crate::error::ApiError;
use archway_model::{Api, ApiDefinition, Canary, Model, Protocol, Stage};
use archway_store::{DocumentStore, StoreError};
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
        let key = (api_id.to_string(), deployment_id.to_string());
        if let Ok(map) = self.map.lock() {
            if let Some((rev, def)) = map.get(&key) {
                if *rev == doc.revision {
                    return Ok(Some(def.clone()));
                }
            }
        }
        let dep: DeploymentDoc = serde_json::from_value(doc.body).map_err(|e| {
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
        Ok(Some(def))
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
    }
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

/// Every REST and HTTP API of the store as model APIs, and the store revision they reflect
/// (read first, so everything acknowledged up to it is included). A stage whose deployment
/// cannot be read, or that has none yet, is left out (logged when it cannot be read).
pub fn load_apis(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
) -> Result<(u64, Vec<Api>), StoreError> {
    let revision = store.revision()?;
    let mut apis = Vec::new();
    let mut live = std::collections::HashSet::new();
    for doc in store.list_kind(KIND_RESTAPI)? {
        let api: RestApiDoc = match serde_json::from_value(doc.body) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(api = %doc.key, error = %e, "unreadable REST API document; not served");
                continue;
            }
        };
        let stages = load_stages(store, cache, &api.id, &mut live)?;
        apis.push(model_api(&api, stages, Protocol::Rest));
    }
    for doc in store.list_kind(crate::v2::KIND_HTTPAPI)? {
        let api: crate::v2::HttpApiDoc = match serde_json::from_value(doc.body) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(api = %doc.key, error = %e, "unreadable HTTP API document; not served");
                continue;
            }
        };
        let stages = load_stages(store, cache, &api.api_id, &mut live)?;
        apis.push(crate::v2::model_api(&api, stages));
    }
    cache.forget_missing(&|k| live.contains(k));
    Ok((revision, apis))
}

/// The servable stages of one API.
fn load_stages(
    store: &dyn DocumentStore,
    cache: &DefinitionCache,
    api_id: &str,
    live: &mut std::collections::HashSet<DeploymentKey>,
) -> Result<Vec<Stage>, StoreError> {
    let mut stages = Vec::new();
    for sdoc in store.list(KIND_STAGE, api_id)? {
        let stage: StageDoc = match serde_json::from_value(sdoc.body) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(api = %api_id, stage = %sdoc.key, error = %e, "unreadable stage; not served");
                continue;
            }
        };
        if stage.deployment_id.is_empty() {
            continue;
        }
        let main = cache.definition(store, api_id, &stage.deployment_id);
        let canary_id = stage
            .canary_settings
            .as_ref()
            .map(|c| c.deployment_id.as_deref().unwrap_or(&stage.deployment_id));
        let canary = match canary_id {
            Some(id) => match cache.definition(store, api_id, id) {
                Ok(Some(d)) => {
                    live.insert((api_id.to_string(), id.to_string()));
                    Some(d)
                }
                _ => None,
            },
            None => None,
        };
        match main {
            Ok(Some(def)) => {
                live.insert((api_id.to_string(), stage.deployment_id.clone()));
                stages.push(model_stage(&stage, def, canary));
            }
            _ => {
                tracing::error!(api = %api_id, stage = %stage.stage_name, "the stage's deployment cannot be read; not served")
            }
        }
    }
    Ok(stages)
}
