//! The declarative door (DESIGN.md §1): `archway serve --config FILE` (and `--openapi FILE`)
//! applies the file's APIs at start and on every reload as one [`Change::ApplyFile`], through
//! the same [`crate::apply()`] as the admin API.
//!
//! The change is declarative: afterwards the APIs the file manages (their documents carry
//! `managedBy: {type: FILE, source}`) are exactly the file's, each as the admin API would have
//! made it — a `restapi` or `httpapi` document with the working definition, a deployment (a
//! frozen definition) and the file's stages pointing at it with their variables:
//!
//! - an API's documents are written only where they differ from what is stored, and a new
//!   deployment is made only when the definition a stage serves changed (otherwise the stages
//!   keep their deployment), so applying the same file again writes nothing and the store
//!   revision does not move;
//! - file-managed APIs the file no longer has are deleted with their stages and deployments,
//!   and so are stages the file no longer has;
//! - everything is checked before anything is written — each definition must survive the
//!   stored form (`openapi::export_faithful`), pass the gate and compile with each stage's
//!   variables, and no API of the admin API may hold an id of the file — then written in one
//!   store transaction: a refused file changes nothing.
//!
//! The admin API reads file-managed APIs and refuses to write them ([`refuse_managed`]): the
//! file is their source of truth. Listeners, limits, TLS, custom domains and the access log are
//! not API state; they stay the file's and reach the snapshot as `ControlPlane`'s base model.
//! See `docs/control-plane.md`.

use crate::apply::Outcome;
use crate::docs::*;
use crate::error::ApiError;
use crate::state::check_stage;
use crate::v2::{self, HttpApiDoc, KIND_HTTPAPI};
use archway_model::openapi::{self, export_faithful};
use archway_model::{Api, ApiDefinition, Protocol};
use archway_store::{DocumentStore, Expect, Tx, TxAbort};
use indexmap::IndexMap;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// One API of the file, checked and in the form it is stored in.
struct Planned {
    id: String,
    kind: &'static str,
    /// The API document, `createdDate` to be taken from the stored one.
    doc: ApiDoc,
    /// The distinct frozen definitions the stages serve.
    frozen: Vec<(Value, Arc<ApiDefinition>)>,
    /// Each stage, with the index of its definition in `frozen`.
    stages: Vec<(StageDoc, usize)>,
}

enum ApiDoc {
    Rest(RestApiDoc),
    Http(HttpApiDoc),
}

impl ApiDoc {
    fn with_created(&self, created: i64) -> Result<Value, ApiError> {
        let v = match self {
            ApiDoc::Rest(d) => serde_json::to_value(RestApiDoc {
                created_date: created,
                ..d.clone()
            }),
            ApiDoc::Http(d) => serde_json::to_value(HttpApiDoc {
                created_date: created,
                ..d.clone()
            }),
        };
        v.map_err(|_| ApiError::internal())
    }
}

fn refused(source: &str, api: &Api, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "{source}: API `{}` ({}) cannot be applied: {why}",
        api.name, api.id
    ))
}

/// Checks one API of the file and puts it in its stored form.
fn plan(source: &str, api: &Api, managed_by: &ManagedBy) -> Result<Planned, ApiError> {
    if api.id.is_empty() || api.id.len() > 63 {
        return Err(refused(source, api, "an API id is 1 to 63 characters"));
    }
    let faithful = |def: &ApiDefinition| -> Result<(Value, Arc<ApiDefinition>), ApiError> {
        let (doc, again) =
            export_faithful(&api.name, api.protocol, def).map_err(|e| refused(source, api, e))?;
        if let Some(u) = openapi::check_served(&again).first() {
            return Err(refused(source, api, u));
        }
        Ok((doc, Arc::new(again)))
    };
    let (working, working_def) = faithful(&api.definition)?;
    let check_doc = RestApiDoc {
        id: api.id.clone(),
        name: api.name.clone(),
        description: api.description.clone(),
        version: None,
        created_date: 0,
        protocol: api.protocol.as_str().into(),
        warnings: Vec::new(),
        tags: IndexMap::new(),
        definition: Value::Null,
        managed_by: Some(managed_by.clone()),
    };
    let mut frozen: Vec<(Value, Arc<ApiDefinition>)> = Vec::new();
    let mut seen: Vec<*const ApiDefinition> = Vec::new();
    let mut stages = Vec::new();
    for stage in &api.stages {
        let ptr = Arc::as_ptr(&stage.deployment);
        let index = match seen.iter().position(|p| *p == ptr) {
            Some(i) => i,
            None => {
                let f = if Arc::ptr_eq(&stage.deployment, &api.definition) {
                    (working.clone(), working_def.clone())
                } else {
                    faithful(&stage.deployment)?
                };
                seen.push(ptr);
                match frozen.iter().position(|(doc, _)| *doc == f.0) {
                    Some(i) => i,
                    None => {
                        frozen.push(f);
                        frozen.len() - 1
                    }
                }
            }
        };
        let doc = StageDoc {
            stage_name: stage.name.clone(),
            description: stage.description.clone(),
            variables: stage.variables.clone(),
            ..StageDoc::default()
        };
        check_stage(
            &check_doc,
            &doc,
            frozen[index].1.clone(),
            None,
            api.protocol,
        )
        .map_err(|e| {
            refused(
                source,
                api,
                format!("stage `{}`: {}", stage.name, e.message),
            )
        })?;
        stages.push((doc, index));
    }
    let doc = match api.protocol {
        Protocol::Rest => ApiDoc::Rest(RestApiDoc {
            definition: working,
            created_date: 0,
            ..check_doc
        }),
        Protocol::Http => {
            // Route and integration ids are derived from the route key, so that they are the
            // same at every apply.
            let (routes, integrations, cors) = v2::routes_of(&working_def, &|kind, key| {
                resource_id(&api.id, &format!("{kind} {key}"))[..7].to_string()
            });
            ApiDoc::Http(HttpApiDoc {
                api_id: api.id.clone(),
                name: api.name.clone(),
                description: api.description.clone(),
                version: None,
                created_date: 0,
                cors_configuration: cors,
                routes,
                integrations,
                warnings: Vec::new(),
                managed_by: Some(managed_by.clone()),
                definition: Some(working),
            })
        }
    };
    Ok(Planned {
        id: api.id.clone(),
        kind: match api.protocol {
            Protocol::Rest => KIND_RESTAPI,
            Protocol::Http => KIND_HTTPAPI,
        },
        doc,
        frozen,
        stages,
    })
}

/// The owner recorded in an API document's body, if any.
fn owner(body: &Value) -> Option<ManagedBy> {
    serde_json::from_value(body.get("managedBy")?.clone()).ok()
}

fn cancel(e: ApiError) -> TxAbort {
    TxAbort::cancel(e)
}

/// Deletes an API document with its stages and deployments.
fn delete_api(tx: &mut dyn Tx, kind: &str, id: &str) -> Result<(), TxAbort> {
    for k in [KIND_STAGE, KIND_DEPLOYMENT] {
        for d in tx.list(k, id)? {
            tx.delete(k, id, &d.key, Expect::Version(d.version))?;
        }
    }
    tx.delete(kind, "", id, Expect::Any)?;
    Ok(())
}

/// `Change::ApplyFile`: makes the file-managed APIs exactly `apis`. See the module's doc.
pub(crate) fn apply_file(
    store: &dyn DocumentStore,
    source: &str,
    apis: &[Api],
) -> Result<Outcome, ApiError> {
    let managed_by = ManagedBy {
        kind: ManagedBy::FILE.into(),
        source: source.to_string(),
    };
    let mut planned = Vec::new();
    let mut ids = HashSet::new();
    for api in apis {
        if !ids.insert(api.id.clone()) {
            return Err(refused(source, api, "a second API has this id"));
        }
        planned.push(plan(source, api, &managed_by)?);
    }
    let mut summary = Vec::new();
    let mut deleted = Vec::new();
    let revision = store.transact(&mut |tx| {
        summary.clear();
        deleted.clear();
        let t = now();
        // The file's ids must not be the admin API's; file-managed APIs the file no longer has
        // (or has with another protocol) go.
        for kind in [KIND_RESTAPI, KIND_HTTPAPI] {
            for d in tx.list(kind, "")? {
                let wanted = planned.iter().find(|p| p.id == d.key);
                match (owner(&d.body), wanted) {
                    (None, Some(_)) => {
                        return Err(cancel(ApiError::conflict(format!(
                            "{source}: API id {} is taken by an API made through the admin API; give the file's API another `id`, or delete that API",
                            d.key
                        ))))
                    }
                    (None, None) => {}
                    (Some(_), Some(p)) if p.kind == kind => {}
                    (Some(_), _) => {
                        delete_api(tx, kind, &d.key)?;
                        deleted.push(d.key.clone());
                    }
                }
            }
        }
        for p in &planned {
            let existing = tx.get(p.kind, "", &p.id)?;
            let created = existing
                .as_ref()
                .and_then(|d| d.body.get("createdDate"))
                .and_then(Value::as_i64)
                .unwrap_or(t);
            let body = p.doc.with_created(created).map_err(cancel)?;
            let mut changed = false;
            match &existing {
                Some(d) if d.body == body => {}
                Some(d) => {
                    tx.put(p.kind, "", &p.id, &body, Expect::Version(d.version))?;
                    changed = true;
                }
                None => {
                    tx.put(p.kind, "", &p.id, &body, Expect::Absent)?;
                    changed = true;
                }
            }
            let stored: Vec<(StageDoc, u64)> = tx
                .list(KIND_STAGE, &p.id)?
                .into_iter()
                .filter_map(|d| Some((serde_json::from_value(d.body).ok()?, d.version)))
                .collect();
            // A frozen definition keeps the deployment a stage already serves it from.
            let mut deployment_ids = Vec::new();
            for (doc, _) in &p.frozen {
                let mut reuse = None;
                for (s, _) in &stored {
                    if let Some(d) = tx.get(KIND_DEPLOYMENT, &p.id, &s.deployment_id)? {
                        if d.body.get("definition") == Some(doc) {
                            reuse = Some(s.deployment_id.clone());
                            break;
                        }
                    }
                }
                let id = match reuse {
                    Some(id) => id,
                    None => {
                        let dep = DeploymentDoc {
                            id: new_id(),
                            description: Some(format!("Applied from {source}")),
                            created_date: t,
                            definition: doc.clone(),
                            protocol: (p.kind == KIND_HTTPAPI).then(|| "HTTP".to_string()),
                            auto_deployed: false,
                        };
                        let b = serde_json::to_value(&dep).map_err(|_| cancel(ApiError::internal()))?;
                        tx.put(KIND_DEPLOYMENT, &p.id, &dep.id, &b, Expect::Absent)?;
                        changed = true;
                        dep.id
                    }
                };
                deployment_ids.push(id);
            }
            for (want, index) in &p.stages {
                let mut want = StageDoc {
                    deployment_id: deployment_ids[*index].clone(),
                    created_date: t,
                    last_updated_date: t,
                    ..want.clone()
                };
                let old = stored.iter().find(|(s, _)| s.stage_name == want.stage_name);
                let expect = match old {
                    Some((s, v)) => {
                        want.created_date = s.created_date;
                        let same = StageDoc {
                            last_updated_date: s.last_updated_date,
                            ..want.clone()
                        };
                        if same == *s {
                            continue;
                        }
                        Expect::Version(*v)
                    }
                    None => Expect::Absent,
                };
                let b = serde_json::to_value(&want).map_err(|_| cancel(ApiError::internal()))?;
                tx.put(KIND_STAGE, &p.id, &want.stage_name, &b, expect)?;
                changed = true;
            }
            for (s, v) in &stored {
                if !p.stages.iter().any(|(w, _)| w.stage_name == s.stage_name) {
                    tx.delete(KIND_STAGE, &p.id, &s.stage_name, Expect::Version(*v))?;
                    changed = true;
                }
            }
            summary.push(json!({
                "id": p.id,
                "protocol": if p.kind == KIND_HTTPAPI { "HTTP" } else { "REST" },
                "deploymentIds": deployment_ids,
                "changed": changed,
            }));
        }
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: json!({ "source": source, "apis": summary, "deleted": deleted }),
    })
}

/// Refuses an admin write to an API the file manages (`BadRequestException` naming the door).
pub(crate) fn refuse_managed(store: &dyn DocumentStore, api_id: &str) -> Result<(), ApiError> {
    for kind in [KIND_RESTAPI, KIND_HTTPAPI] {
        if let Some(d) = store.get(kind, "", api_id)? {
            if let Some(m) = owner(&d.body) {
                return Err(m.refusal(api_id));
            }
        }
    }
    Ok(())
}
