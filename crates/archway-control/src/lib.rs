//! `archway-control` — Archway's control plane.
//!
//! Owns:
//! - [`apply()`]: the only writer of control state. Every write (from the admin API, and the
//!   declarative file's APIs at start and on reload) is a [`Change`]; `apply` validates it against the state in `archway-store` and commits it
//!   durably, or changes nothing and answers in AWS's words ([`ApiError`]).
//! - The control state's documents ([`docs`]): REST APIs with their working definitions,
//!   deployments (frozen definitions) and stages (variables, canary settings, method settings).
//!   Definitions are stored as the OpenAPI 3 documents `openapi::export` writes, and read back
//!   with `openapi::import`.
//! - [`ControlPlane`]: after every successful change, rebuilds the model (the declarative file's
//!   settings, domains and access log plus every stored API, each stage serving its frozen deployment and canary), compiles
//!   it with `Snapshot::compile` and swaps it into the data plane — on a thread of its own, never
//!   on the request path — and tells writers when their revision is being served.
//! - The admin API ([`admin`]): Amazon API Gateway's management API (`apigateway`, REST APIs)
//!   on its own listener, every request SigV4-signed with the admin key ([`credentials`]).
//! - [`client`]: a SigV4-signing client of the admin API (the CLI's and the tests').
//!
//! Must never:
//! - be reachable from a client listener: the admin API is served only on its own listener,
//!   and the data plane has no route to anything here (DESIGN.md §7.4);
//! - log a secret: the admin secret key, `Authorization` headers or signatures are never
//!   logged, printed (except the one-time notice of a generated key) or put in an error;
//! - write state anywhere but through [`apply()`], or leave state half-written: each change is
//!   one store transaction;
//! - call the store from an async task directly: it blocks, so it runs in `spawn_blocking` or on
//!   the rebuild thread;
//! - panic on anything a request carries.

pub mod admin;
pub mod apply;
pub mod client;
pub mod credentials;
pub mod definition;
pub mod docs;
pub mod error;
pub mod file;
pub mod patch;
pub mod query;
pub mod resources;
pub mod state;
pub mod usage;
pub mod v2;

pub use apply::{apply, Change, Edit, Outcome, PutMode};
pub use error::{ApiError, ErrorKind};

use archway_gateway::{Gateway, Snapshot};
use archway_model::Model;
use archway_store::DocumentStore;
use state::DefinitionCache;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How long a write waits for the data plane to serve it before answering anyway (the write is
/// durable either way).
const SERVE_WAIT: Duration = Duration::from_secs(5);

/// How often the data plane's usage counters are written to the store by default (what
/// `kill -9` may lose; `server.usageFlushIntervalMillis`; see `docs/usage-plans.md`).
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The running control plane: the store, the data plane it feeds, and the rebuild thread.
pub struct ControlPlane {
    store: Arc<dyn DocumentStore>,
    cache: DefinitionCache,
    /// The declarative file's model: its settings, domains and APIs come first.
    base: Mutex<Model>,
    gateway: Arc<Gateway>,
    /// Serialises rebuilds so that snapshots are swapped in revision order.
    rebuild_lock: Mutex<()>,
    served: tokio::sync::watch::Sender<u64>,
    kick: Mutex<mpsc::Sender<()>>,
    /// Serialises usage flushes, so that an older state is never written over a newer one.
    flush_lock: Mutex<()>,
}

impl ControlPlane {
    /// Builds the first snapshot (the base model and the store's APIs) and swaps it in, then starts
    /// the rebuild thread.
    pub fn start(
        store: Arc<dyn DocumentStore>,
        gateway: Arc<Gateway>,
        base: Model,
    ) -> Result<Arc<ControlPlane>, String> {
        let (tx, rx) = mpsc::channel::<()>();
        let (served, _) = tokio::sync::watch::channel(0);
        // Usage counted before the last stop, before any request is counted.
        let records = usage::load_usage(&*store).map_err(|e| format!("cannot read usage: {e}"))?;
        gateway.usage().load(records);
        let cp = Arc::new(ControlPlane {
            store,
            cache: DefinitionCache::default(),
            base: Mutex::new(base),
            gateway,
            rebuild_lock: Mutex::new(()),
            served,
            kick: Mutex::new(tx),
            flush_lock: Mutex::new(()),
        });
        cp.rebuild().map_err(|e| e.join("\n"))?;
        let weak = Arc::downgrade(&cp);
        let first = cp
            .base
            .lock()
            .map_or(USAGE_FLUSH_INTERVAL, |b| b.settings.usage_flush_interval);
        std::thread::Builder::new()
            .name("archway-usage-flush".into())
            .spawn(move || {
                let mut interval = first;
                loop {
                    std::thread::sleep(interval);
                    let Some(cp) = weak.upgrade() else { return };
                    cp.flush_usage();
                    // The file's setting, as of its last (re)load.
                    let next = cp.base.lock().map(|b| b.settings.usage_flush_interval);
                    if let Ok(next) = next {
                        interval = next;
                    }
                }
            })
            .map_err(|e| format!("cannot start the usage flush thread: {e}"))?;
        let weak = Arc::downgrade(&cp);
        std::thread::Builder::new()
            .name("archway-control-rebuild".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Take every kick queued so far as one rebuild.
                    while rx.try_recv().is_ok() {}
                    let Some(cp) = weak.upgrade() else { return };
                    if let Err(errs) = cp.rebuild() {
                        tracing::error!(errors = %errs.join("; "), "snapshot rebuild failed; still serving the previous one");
                    }
                }
            })
            .map_err(|e| format!("cannot start the rebuild thread: {e}"))?;
        Ok(cp)
    }

    pub fn store(&self) -> &dyn DocumentStore {
        &*self.store
    }

    pub fn cache(&self) -> &DefinitionCache {
        &self.cache
    }

    /// Applies a change (blocking: call from a blocking context) and asks for a rebuild.
    pub fn apply(&self, change: Change) -> Result<Outcome, ApiError> {
        let deleted_plan = match &change {
            Change::Usage(u) => match &**u {
                usage::UsageChange::DeleteUsagePlan { plan_id } => Some(plan_id.clone()),
                _ => None,
            },
            _ => None,
        };
        let out = apply::apply_with(&*self.store, &self.cache, change)?;
        if let Some(plan) = deleted_plan {
            self.gateway.usage().forget(&plan, None);
        }
        self.kick();
        Ok(out)
    }

    /// The data plane's throttling and quota state.
    pub fn usage_state(&self) -> &archway_gateway::usage::UsageState {
        self.gateway.usage()
    }

    /// Writes the usage counted since the last flush to the store (blocking). Runs every
    /// [`USAGE_FLUSH_INTERVAL`] and at shutdown; never on the request path.
    pub fn flush_usage(&self) {
        let Ok(_guard) = self.flush_lock.lock() else {
            return;
        };
        let keys = self.gateway.usage().take_dirty();
        if keys.is_empty() {
            return;
        }
        // One document per plan, written whole from memory (where everything stored was
        // loaded at start).
        let mut plans: Vec<&str> = keys.iter().map(|(p, _)| p.as_str()).collect();
        plans.sort_unstable();
        plans.dedup();
        let now = docs::now();
        let records = plans
            .iter()
            .map(|p| (p.to_string(), self.gateway.usage().plan_records(p, now)))
            .collect();
        // Not through `apply()`'s rebuild kick: usage is not part of the served model.
        let change = Change::Usage(Box::new(usage::UsageChange::RecordUsage(records)));
        if let Err(e) = apply::apply_with(&*self.store, &self.cache, change) {
            tracing::error!(error = %e, "cannot write usage; will try again");
            self.gateway.usage().unpersisted(&keys);
        }
    }

    /// `UpdateUsage`: sets what remains of a key's quota period, in the data plane at once
    /// and durably before answering. Blocking.
    pub fn update_usage(
        &self,
        plan_id: &str,
        key_id: &str,
        patch: &[patch::PatchOperation],
    ) -> Result<serde_json::Value, ApiError> {
        let quota = usage::quota_for_update(&*self.store, plan_id, key_id)?;
        let remaining = usage::remaining_from_patch(key_id, patch)?;
        let now = docs::now();
        let key = (plan_id.to_string(), key_id.to_string());
        self.gateway
            .usage()
            .set_remaining(&key, &quota, remaining, now);
        self.flush_usage();
        let today = archway_gateway::usage::day_of(now);
        let date = time::OffsetDateTime::from_unix_timestamp(today * 86_400)
            .map(|d| d.date().to_string())
            .unwrap_or_default();
        usage::usage(
            &*self.store,
            self.gateway.usage(),
            plan_id,
            Some(key_id),
            &date,
            &date,
        )
    }

    /// Applies a change from async code, and returns once the data plane serves it (or after
    /// a few seconds if the rebuild is late; the change is durable either way).
    pub async fn apply_async(self: &Arc<Self>, change: Change) -> Result<Outcome, ApiError> {
        let cp = self.clone();
        let out = tokio::task::spawn_blocking(move || cp.apply(change))
            .await
            .map_err(|_| ApiError::internal())??;
        self.wait_served(out.revision).await;
        Ok(out)
    }

    /// Waits until the snapshot in force reflects store revision `revision`.
    pub async fn wait_served(&self, revision: u64) {
        let mut rx = self.served.subscribe();
        let waited = tokio::time::timeout(SERVE_WAIT, rx.wait_for(|r| *r >= revision)).await;
        if waited.is_err() {
            tracing::warn!(revision, "the data plane is not serving this revision yet");
        }
    }

    /// The store revision the data plane serves.
    pub fn served_revision(&self) -> u64 {
        *self.served.borrow()
    }

    /// Replaces the declarative file's model (a reload) and rebuilds at once. On error the
    /// previous snapshot keeps serving and the previous base is kept.
    pub fn set_base(&self, model: Model) -> Result<(), Vec<String>> {
        let _guard = self
            .rebuild_lock
            .lock()
            .map_err(|_| vec!["poisoned".to_string()])?;
        self.set_base_locked(model)
    }

    fn set_base_locked(&self, model: Model) -> Result<(), Vec<String>> {
        let old = match self.base.lock() {
            Ok(mut b) => std::mem::replace(&mut *b, model),
            Err(_) => return Err(vec!["the control plane's state is poisoned".into()]),
        };
        let r = self.rebuild_locked();
        if r.is_err() {
            if let Ok(mut b) = self.base.lock() {
                *b = old;
            }
        }
        r
    }

    /// A reload of the declarative file `source` (blocking): its APIs are applied to the store
    /// as one [`Change::ApplyFile`], the rest of it (settings, domains, access log) becomes the
    /// base model, and the result is compiled and swapped in — with no other rebuild in
    /// between, so the data plane never sees the new APIs with the old domains or the reverse.
    /// A refused file changes nothing.
    pub fn apply_file(&self, source: &str, mut model: Model) -> Result<Outcome, Vec<String>> {
        let apis = std::mem::take(&mut model.apis);
        let _guard = self
            .rebuild_lock
            .lock()
            .map_err(|_| vec!["poisoned".to_string()])?;
        let out = apply::apply_with(
            &*self.store,
            &self.cache,
            Change::ApplyFile {
                source: source.to_string(),
                apis,
            },
        )
        .map_err(|e| vec![e.message])?;
        if let Err(errs) = self.set_base_locked(model) {
            // The file compiled alone and each stored API was checked when written, so this
            // should not happen; if it does, the APIs are stored but not served yet.
            tracing::error!(errors = %errs.join("; "), "the file's APIs are stored, but the whole model does not compile; still serving the previous snapshot");
            return Err(errs);
        }
        Ok(out)
    }

    fn kick(&self) {
        if let Ok(k) = self.kick.lock() {
            let _ = k.send(());
        }
    }

    /// Reads the store, compiles the whole model and swaps it in.
    pub fn rebuild(&self) -> Result<(), Vec<String>> {
        let _guard = self
            .rebuild_lock
            .lock()
            .map_err(|_| vec!["poisoned".to_string()])?;
        self.rebuild_locked()
    }

    fn rebuild_locked(&self) -> Result<(), Vec<String>> {
        let (revision, stored) = state::load_apis(&*self.store, &self.cache)
            .map_err(|e| vec![format!("cannot read the store: {e}")])?;
        let (keys, plans) = usage::load_model(&*self.store)
            .map_err(|e| vec![format!("cannot read API keys and usage plans: {e}")])?;
        let mut model = self
            .base
            .lock()
            .map_err(|_| vec!["poisoned".to_string()])?
            .clone();
        model.api_keys.extend(keys);
        model.usage_plans.extend(plans);
        let file_ids: std::collections::HashSet<String> =
            model.apis.iter().map(|a| a.id.clone()).collect();
        for api in stored {
            if file_ids.contains(&api.id) {
                tracing::warn!(api = %api.id, "an API of the config file has this id; the stored API is not served");
                continue;
            }
            model.apis.push(api);
        }
        let snapshot = match Snapshot::compile(&model) {
            Ok(s) => s,
            Err(errs) => {
                // Writes are checked so that this does not happen; if it does, serve everything
                // that compiles rather than nothing new.
                tracing::error!(errors = %errs.join("; "), "the model does not compile; leaving out the APIs that fail");
                let file_count = file_ids.len();
                let mut kept = Vec::new();
                for (i, api) in model.apis.iter().enumerate() {
                    let alone = Model {
                        apis: vec![api.clone()],
                        ..Model::default()
                    };
                    if i < file_count || Snapshot::compile(&alone).is_ok() {
                        kept.push(api.clone());
                    }
                }
                model.apis = kept;
                Snapshot::compile(&model)?
            }
        };
        self.gateway.swap(snapshot);
        self.served.send_replace(revision);
        Ok(())
    }
}
