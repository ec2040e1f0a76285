//! The compiled, immutable view of the model that the data plane reads, one per change.
//!
//! Compiling does everything that does not depend on the request: route tries, stage variables
//! substituted into integration URIs, upstream scheme/authority/Host parsed, selection patterns
//! compiled, gateway responses resolved per type. A request then only looks things up.

use crate::phase::cors::CompiledCors;
use crate::phase::validate::CompiledValidation;
use crate::router::Router;
use crate::usage::{BucketSlot, KeyAttachment, KeySlot, UsageKey};
use archway_model::template::Template;
use archway_model::{
    AccessLogDestination, ApiDefinition, ApiKeySource, Function, GatewayResponse,
    GatewayResponseType, Integration, IntegrationResponse, IntegrationType, Model, ParamSource,
    ParamTarget, PassthroughBehavior, Protocol, Quota, ResponseParamSource, RouteKey, Settings,
    Stage, Throttle, UpstreamProtocol, UriPart,
};
use http::uri::{Authority, Scheme};
use http::HeaderValue;
use indexmap::IndexMap;
use rustc_hash::FxHashMap as HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Everything the data plane serves, frozen.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub settings: Settings,
    pub access_log: Option<AccessLogDestination>,
    pub apis_by_id: HashMap<String, Arc<CompiledApi>>,
    /// Lower-case host → its base path mappings.
    pub domains: HashMap<String, CompiledDomain>,
    /// The API a request with an unknown host reaches when exactly one API is served.
    pub single_api: Option<Arc<CompiledApi>>,
    /// The account-level bucket (limits in `settings.account_throttle`).
    pub account_bucket: BucketSlot,
}

#[derive(Debug)]
pub struct CompiledApi {
    pub id: Arc<str>,
    pub name: String,
    pub protocol: Protocol,
    pub stages: HashMap<String, Arc<CompiledStage>>,
    /// An HTTP API's `$default` stage, served at the root.
    pub default_stage: Option<Arc<CompiledStage>>,
}

#[derive(Debug, Default)]
pub struct CompiledDomain {
    /// Base path mappings, longest base path first; `""` maps the root.
    pub mappings: Vec<(Vec<String>, Arc<CompiledStage>)>,
}

/// One stage of one API: the deployment it serves, compiled with its stage variables.
#[derive(Debug)]
pub struct CompiledStage {
    pub api_id: Arc<str>,
    pub protocol: Protocol,
    pub name: Arc<str>,
    pub variables: IndexMap<String, String>,
    pub router: Router,
    pub routes: Vec<CompiledRoute>,
    pub gateway_responses: GatewayResponses,
    pub max_payload_bytes: u64,
    pub binary_media_types: Vec<String>,
    /// HTTP APIs' CORS configuration.
    pub cors: Option<CompiledCors>,
    /// The deployment served, when the stage comes from the control plane.
    pub deployment_id: Option<Arc<str>>,
    /// Whether this is a stage's canary (the other deployment of a canary release).
    pub is_canary: bool,
    /// The stage's canary, if it has one: see [`crate::phase::stage::pick_deployment`].
    pub canary: Option<CompiledCanary>,
    /// Where API keys are read (the deployment's `apiKeySource`).
    pub api_key_source: ApiKeySource,
    /// The API keys that may call this stage: value → key and plan. Enabled keys of usage
    /// plans that include the stage only.
    pub api_keys: Arc<StageKeys>,
}

/// A stage's API keys, found by value: the enabled keys of the usage plans that include the
/// stage.
///
/// An open-addressing table with linear probing, at most half full, whose slots are the keys'
/// entries themselves (one cache line each, holding the full hash): a key is almost always in
/// its home slot, at an address that follows from the hash alone, so that a lookup reads one
/// line of the table (where a table with separate control bytes reads two) and then, at once,
/// the key's value and its usage. The request context keeps the slot's index
/// ([`StageKeys::get`]), not a copy of the key or a reference count.
#[derive(Debug)]
pub struct StageKeys {
    slots: Box<[KeyEntry]>,
    len: usize,
    /// The limits of the plans the keys belong to ([`KeyEntry::plan`]).
    plans: Vec<PlanLimits>,
    hasher: KeyHasher,
}

/// The hasher of key values: foldhash, keyed with a seed drawn once per process from the
/// operating system's randomness (through `rand`). Key values are secrets and the lookup's
/// input is whatever a client sends, so the hash must not be computable from outside: with an
/// unkeyed hash (FxHash, which the rest of the snapshot uses for names the operator chose) a
/// client could compute which values land on the stored keys' slots, time lookups to learn
/// about the stored keys' hashes, or send values that all probe the longest runs.
pub type KeyHasher = foldhash::fast::SeedableRandomState;

fn key_hasher() -> KeyHasher {
    static SHARED: OnceLock<foldhash::SharedSeed> = OnceLock::new();
    let shared = SHARED.get_or_init(|| foldhash::SharedSeed::from_u64(rand::random()));
    KeyHasher::with_seed(rand::random(), shared)
}

impl Default for StageKeys {
    fn default() -> Self {
        StageKeys::with_capacity(0)
    }
}

impl StageKeys {
    fn with_capacity(n: usize) -> StageKeys {
        // At most half full, and at least one empty slot, so that a probe always ends.
        let size = (n.max(1) * 2).next_power_of_two();
        StageKeys {
            slots: (0..size).map(|_| KeyEntry::empty()).collect(),
            len: 0,
            plans: Vec::new(),
            hasher: key_hasher(),
        }
    }

    /// The hash of a value: never 0, which marks an empty slot.
    #[inline]
    fn hash(&self, value: &str) -> u64 {
        self.hasher.hash_one(value) | 1
    }

    /// Starts loading the slot where [`StageKeys::find`] will look for `value` into the cache.
    #[inline]
    pub fn prefetch(&self, value: &str) {
        let i = self.hash(value) as usize & (self.slots.len() - 1);
        if let Some(e) = self.slots.get(i) {
            crate::usage::prefetch(e);
        }
    }

    /// The key whose value is `value`, and its index for [`StageKeys::get`].
    #[inline]
    pub fn find(&self, value: &str) -> Option<(u32, &KeyEntry)> {
        let hash = self.hash(value);
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let e = self.slots.get(i)?;
            if e.hash == hash {
                // The usage is read next: load it while the value is compared.
                e.usage.prefetch();
                if *e.value == *value {
                    return Some((u32::try_from(i).ok()?, e));
                }
            }
            if e.hash == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// The key at `index`, as [`StageKeys::find`] returned it.
    pub fn get(&self, index: u32) -> Option<&KeyEntry> {
        self.slots.get(index as usize).filter(|e| e.hash != 0)
    }

    /// The limits of `key`'s plan.
    #[inline]
    pub fn plan(&self, key: &KeyEntry) -> PlanLimits {
        self.plans
            .get(key.plan as usize)
            .copied()
            .unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.slots.iter().filter(|e| e.hash != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn contains(&self, value: &str) -> bool {
        self.find(value).is_some()
    }

    /// Adds a key whose value is not in the table yet, growing it as needed.
    fn insert(&mut self, mut entry: KeyEntry) {
        if (self.len + 1) * 2 > self.slots.len() {
            let mut bigger = StageKeys::with_capacity(self.len + 1);
            bigger.plans = std::mem::take(&mut self.plans);
            bigger.hasher = self.hasher.clone();
            let old = std::mem::take(&mut self.slots);
            for e in old.into_vec().into_iter().filter(|e| e.hash != 0) {
                bigger.insert(e);
            }
            *self = bigger;
        }
        entry.hash = self.hash(&entry.value);
        let mask = self.slots.len() - 1;
        let mut i = entry.hash as usize & mask;
        while self.slots[i].hash != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = entry;
        self.len += 1;
    }
}

/// A usage plan's limits for its keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanLimits {
    /// The plan's throttle, per key.
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
}

/// An API key as one stage sees it, in one cache line: what a request reads (the hash, the
/// value's pointer, the slot of its bucket and counter, its plan); the rest is boxed apart.
#[derive(Debug)]
#[repr(align(64))]
pub struct KeyEntry {
    /// The value's hash in the table; 0 in an empty slot.
    hash: u64,
    /// The key's value (a secret: never logged).
    pub value: Box<str>,
    /// The key's bucket and quota counter in its plan.
    pub usage: KeySlot,
    /// Its plan's index in [`StageKeys`]'s plans.
    plan: u32,
    /// Whether `cold` has per-method throttles.
    has_method_throttles: bool,
    cold: Option<Box<KeyCold>>,
}

#[derive(Debug)]
struct KeyCold {
    /// `(plan id, key id)`.
    ids: UsageKey,
    /// The plan's per-method throttles for this stage: method key (`/pets/GET`) → limits and
    /// this key's bucket.
    method_throttles: Vec<(Arc<str>, Throttle, BucketSlot)>,
}

static NO_IDS: UsageKey = (String::new(), String::new());

impl KeyEntry {
    fn empty() -> KeyEntry {
        KeyEntry {
            hash: 0,
            value: Box::default(),
            usage: KeySlot::default(),
            plan: 0,
            has_method_throttles: false,
            cold: None,
        }
    }

    fn ids(&self) -> &UsageKey {
        self.cold.as_ref().map_or(&NO_IDS, |c| &c.ids)
    }

    pub fn key_id(&self) -> &str {
        &self.ids().1
    }

    pub fn plan_id(&self) -> &str {
        &self.ids().0
    }

    /// The plan's per-method throttles for this stage.
    #[inline]
    pub fn method_throttles(&self) -> &[(Arc<str>, Throttle, BucketSlot)] {
        match &self.cold {
            Some(c) if self.has_method_throttles => &c.method_throttles,
            _ => &[],
        }
    }
}

/// A route's throttle from the stage's method settings (its own, else the stage's `*/*`).
#[derive(Debug)]
pub struct RouteThrottle {
    pub limits: Throttle,
    pub bucket: BucketSlot,
}

/// A canary release: `percent` % of the stage's requests are served by `stage`, the canary
/// deployment compiled with the stage's variables and the canary's overrides.
#[derive(Debug)]
pub struct CompiledCanary {
    /// 0.0 – 100.0.
    pub percent: f64,
    pub stage: Arc<CompiledStage>,
}

#[derive(Debug)]
pub struct CompiledRoute {
    /// `GET /pets/{petId}`, for logs and events.
    pub route_key: Arc<str>,
    /// `/pets/{petId}`, API Gateway's resource path.
    pub resource_path: Arc<str>,
    pub param_names: Vec<String>,
    /// `/pets/{petId}/GET`: the route's key in method settings.
    pub method_key: Arc<str>,
    pub api_key_required: bool,
    /// Stage and method throttling; `None` when the stage's method settings set none.
    pub throttle: Option<RouteThrottle>,
    /// What the route's request validator checks.
    pub validation: CompiledValidation,
    pub integration: CompiledIntegration,
}

#[derive(Debug)]
pub struct CompiledIntegration {
    pub kind: IntegrationType,
    pub target: Option<UpstreamTarget>,
    pub method: Option<http::Method>,
    pub timeout: Duration,
    pub request_parameters: Vec<(ParamTarget, ParamSource)>,
    pub request_templates: IndexMap<String, Template>,
    pub passthrough_behavior: PassthroughBehavior,
    pub responses: Vec<CompiledIntegrationResponse>,
    pub client: ClientKind,
    /// `AWS_PROXY`: the local function and the event format.
    pub lambda: Option<LambdaTarget>,
}

/// The function an `AWS_PROXY` integration invokes.
#[derive(Debug, Clone)]
pub struct LambdaTarget {
    /// The function's name.
    pub function: Arc<str>,
    /// Its ARN as the URI gives it (with a qualifier if any).
    pub arn: Arc<str>,
    /// Not a local function: invoked through the Lambda Invoke API.
    pub remote: bool,
    pub payload: PayloadFormat,
}

/// The Lambda proxy event and response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    V1,
    V2,
}

/// Which pooled client an integration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientKind {
    pub http2_only: bool,
    pub insecure: bool,
}

#[derive(Debug)]
pub struct CompiledIntegrationResponse {
    pub pattern: Option<regex::Regex>,
    pub status: http::StatusCode,
    pub response_parameters: Vec<(http::HeaderName, ResponseParamSource)>,
    pub response_templates: IndexMap<String, Template>,
}

/// An integration URI with stage variables substituted: fixed scheme and authority, a path
/// and query with holes for path parameters.
#[derive(Debug, Clone)]
pub struct UpstreamTarget {
    pub scheme: Scheme,
    pub authority: Authority,
    pub host_header: HeaderValue,
    pub path: Vec<PathPart>,
    /// The length of the path and query without parameter values, to size buffers.
    pub fixed_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Text(String),
    /// A path parameter: `name` is the `integration.request.path` name; `route_index` the
    /// position of the route's parameter of the same name, if the route has one.
    Param {
        name: String,
        route_index: Option<usize>,
    },
}

/// The customisation that applies to each gateway response type, if any.
#[derive(Debug, Default)]
pub struct GatewayResponses {
    by_type: HashMap<GatewayResponseType, Arc<GatewayResponse>>,
}

impl GatewayResponses {
    fn new(list: &[GatewayResponse]) -> GatewayResponses {
        let explicit: HashMap<GatewayResponseType, Arc<GatewayResponse>> =
            list.iter().map(|g| (g.kind, Arc::new(g.clone()))).collect();
        let mut by_type = HashMap::default();
        for t in GatewayResponseType::ALL {
            if let Some(g) = explicit.get(t).or_else(|| explicit.get(&t.family())) {
                by_type.insert(*t, g.clone());
            }
        }
        GatewayResponses { by_type }
    }

    /// The customisation for `t`: its own, else its DEFAULT_4XX/DEFAULT_5XX family's.
    pub fn get(&self, t: GatewayResponseType) -> Option<&GatewayResponse> {
        self.by_type.get(&t).map(|g| g.as_ref())
    }
}

impl Snapshot {
    /// The ARNs of the functions that `AWS_PROXY` integrations invoke through the Invoke API
    /// (not local), so that their credentials can be checked before the snapshot is served.
    pub fn remote_functions(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = Vec::new();
        for api in self.apis_by_id.values() {
            for stage in api.stages.values() {
                let canary = stage.canary.as_ref().map(|c| &c.stage);
                for s in std::iter::once(stage).chain(canary) {
                    for r in &s.routes {
                        if let Some(l) = r.integration.lambda.as_ref().filter(|l| l.remote) {
                            if !out.contains(&l.arn) {
                                out.push(l.arn.clone());
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Compiles a validated model. Errors name the API, stage and route.
    pub fn compile(model: &Model) -> Result<Snapshot, Vec<String>> {
        let mut errors = Vec::new();
        let mut apis_by_id = HashMap::default();
        let mut stage_keys = compile_keys(model);
        for api in &model.apis {
            let mut stages = HashMap::default();
            let mut default_stage = None;
            let id: Arc<str> = api.id.as_str().into();
            for stage in &api.stages {
                let keys = stage_keys
                    .remove(&(api.id.clone(), stage.name.clone()))
                    .unwrap_or_default();
                match compile_stage(
                    &id,
                    api.protocol,
                    stage,
                    model.settings.max_payload_bytes,
                    &model.functions,
                    Arc::new(keys),
                ) {
                    Ok(s) => {
                        let s = Arc::new(s);
                        if stage.name == "$default" {
                            default_stage = Some(s.clone());
                        }
                        stages.insert(stage.name.clone(), s);
                    }
                    Err(e) => errors.extend(
                        e.into_iter()
                            .map(|e| format!("API `{}`, stage `{}`: {e}", api.name, stage.name)),
                    ),
                }
            }
            apis_by_id.insert(
                api.id.clone(),
                Arc::new(CompiledApi {
                    id,
                    name: api.name.clone(),
                    protocol: api.protocol,
                    stages,
                    default_stage,
                }),
            );
        }
        let mut domains = HashMap::default();
        for d in &model.domain_names {
            let mut mappings = Vec::new();
            for m in &d.base_path_mappings {
                let stage = apis_by_id
                    .get(&m.api_id)
                    .and_then(|a: &Arc<CompiledApi>| a.stages.get(&m.stage));
                match stage {
                    Some(s) => mappings.push((
                        m.base_path
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect::<Vec<_>>(),
                        s.clone(),
                    )),
                    None => errors.push(format!(
                        "domain `{}`: base path `{}` maps to a stage that does not exist",
                        d.name, m.base_path
                    )),
                }
            }
            mappings.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
            domains.insert(d.name.clone(), CompiledDomain { mappings });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let single_api = if apis_by_id.len() == 1 {
            apis_by_id.values().next().cloned()
        } else {
            None
        };
        Ok(Snapshot {
            settings: model.settings.clone(),
            access_log: model.access_log.clone(),
            apis_by_id,
            domains,
            single_api,
            account_bucket: BucketSlot::new(bucket_id("account", model.settings.account_throttle)),
        })
    }
}

/// A bucket's id: what it throttles and its limits, so that new limits start a new, full
/// bucket (a token bucket's state means nothing under another rate).
fn bucket_id(scope: &str, t: Throttle) -> String {
    format!("{scope}\u{1f}{}\u{1f}{}", t.rate_limit, t.burst_limit)
}

/// Every stage's API keys: for each usage plan's API stage, the plan's enabled keys. A key
/// reaches a stage through one plan (the control plane refuses a second); should two plans
/// name the same key and stage anyway, the first plan wins.
fn compile_keys(model: &Model) -> HashMap<(String, String), StageKeys> {
    let keys: HashMap<&str, &archway_model::ApiKey> =
        model.api_keys.iter().map(|k| (k.id.as_str(), k)).collect();
    let mut out: HashMap<(String, String), StageKeys> = HashMap::default();
    for plan in &model.usage_plans {
        for s in &plan.api_stages {
            let map = out.entry((s.api_id.clone(), s.stage.clone())).or_default();
            let plan_index = map.plans.len() as u32;
            map.plans.push(PlanLimits {
                throttle: plan.throttle,
                quota: plan.quota,
            });
            for kid in &plan.key_ids {
                let Some(key) = keys.get(kid.as_str()).filter(|k| k.enabled) else {
                    continue;
                };
                if map.contains(key.value.as_str()) {
                    continue;
                }
                let key_scope = format!("k\u{1f}{}\u{1f}{}", plan.id, key.id);
                let method_throttles: Vec<_> = s
                    .throttle
                    .iter()
                    .map(|(m, t)| {
                        let scope =
                            format!("{key_scope}\u{1f}{}\u{1f}{}\u{1f}{m}", s.api_id, s.stage);
                        (
                            Arc::from(m.as_str()),
                            *t,
                            BucketSlot::new(bucket_id(&scope, *t)),
                        )
                    })
                    .collect();
                map.insert(KeyEntry {
                    hash: 0,
                    value: key.value.as_str().into(),
                    usage: KeySlot::default(),
                    plan: plan_index,
                    has_method_throttles: !method_throttles.is_empty(),
                    cold: Some(Box::new(KeyCold {
                        ids: (plan.id.clone(), key.id.clone()),
                        method_throttles,
                    })),
                });
            }
        }
    }
    out
}

fn compile_stage(
    api_id: &Arc<str>,
    protocol: Protocol,
    stage: &Stage,
    default_payload: u64,
    functions: &[Function],
    keys: Arc<StageKeys>,
) -> Result<CompiledStage, Vec<String>> {
    let inputs = StageInputs {
        api_id,
        protocol,
        stage,
        default_payload,
        functions,
        api_keys: keys,
    };
    let mut stage_c = compile_deployment(&inputs, &stage.variables, &stage.deployment)?;
    stage_c.deployment_id = stage.deployment_id.as_deref().map(Arc::from);
    if let Some(c) = &stage.canary {
        let mut vars = stage.variables.clone();
        for (k, v) in &c.stage_variable_overrides {
            vars.insert(k.clone(), v.clone());
        }
        let mut canary = compile_deployment(&inputs, &vars, &c.deployment).map_err(|e| {
            e.into_iter()
                .map(|e| format!("canary deployment `{}`: {e}", c.deployment_id))
                .collect::<Vec<_>>()
        })?;
        canary.deployment_id = Some(c.deployment_id.as_str().into());
        canary.is_canary = true;
        stage_c.canary = Some(CompiledCanary {
            percent: c.percent_traffic.clamp(0.0, 100.0),
            stage: Arc::new(canary),
        });
    }
    Ok(stage_c)
}

/// What the deployments compiled for one stage (its own and its canary's) share.
struct StageInputs<'a> {
    api_id: &'a Arc<str>,
    protocol: Protocol,
    stage: &'a Stage,
    default_payload: u64,
    functions: &'a [Function],
    api_keys: Arc<StageKeys>,
}

/// One deployment compiled for a stage: its routes with `variables` substituted.
fn compile_deployment(
    inputs: &StageInputs<'_>,
    variables: &IndexMap<String, String>,
    def: &ApiDefinition,
) -> Result<CompiledStage, Vec<String>> {
    let StageInputs {
        api_id,
        protocol,
        stage,
        default_payload,
        functions,
        ref api_keys,
    } = *inputs;
    let api_keys = api_keys.clone();
    let stage_name = stage.name.as_str();
    let mut errors = Vec::new();
    let mut routes = Vec::with_capacity(def.routes.len());
    for r in &def.routes {
        let param_names: Vec<String> = match &r.key {
            RouteKey::Route { path, .. } => path.param_names().map(str::to_string).collect(),
            RouteKey::Default => Vec::new(),
        };
        let resource_path = match &r.key {
            RouteKey::Route { path, .. } => path.to_string(),
            RouteKey::Default => "$default".to_string(),
        };
        let method_key = match &r.key {
            RouteKey::Route { method, .. } => format!("{resource_path}/{method}"),
            RouteKey::Default => "$default/*".to_string(),
        };
        let throttle =
            method_throttle(&stage.method_throttles, &resource_path, &method_key).map(|limits| {
                RouteThrottle {
                    limits,
                    bucket: BucketSlot::new(bucket_id(
                        &format!("m\u{1f}{api_id}\u{1f}{stage_name}\u{1f}{method_key}"),
                        limits,
                    )),
                }
            });
        let compiled =
            compile_integration(&r.integration, &param_names, variables, protocol, functions)
                .and_then(|i| Ok((i, CompiledValidation::new(def, r)?)));
        match compiled {
            Ok((integration, validation)) => routes.push(CompiledRoute {
                route_key: r.key.to_string().into(),
                resource_path: resource_path.into(),
                param_names,
                method_key: method_key.into(),
                api_key_required: r.api_key_required,
                throttle,
                validation,
                integration,
            }),
            Err(e) => errors.push(format!("route `{}`: {e}", r.key)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledStage {
        api_id: api_id.clone(),
        protocol,
        name: stage_name.into(),
        variables: variables.clone(),
        router: Router::new(def.routes.iter().map(|r| &r.key)),
        routes,
        gateway_responses: GatewayResponses::new(&def.gateway_responses),
        max_payload_bytes: def.max_payload_bytes.unwrap_or(default_payload),
        binary_media_types: def.binary_media_types.clone(),
        cors: def.cors.as_ref().map(CompiledCors::new),
        deployment_id: None,
        is_canary: false,
        canary: None,
        api_key_source: def.api_key_source,
        api_keys,
    })
}

/// The stage's method settings throttle for a route: its own (`/pets/GET`), else its path's
/// any-method setting (`/pets/*`), else the stage's (`*/*`).
fn method_throttle(
    settings: &IndexMap<String, Throttle>,
    resource_path: &str,
    method_key: &str,
) -> Option<Throttle> {
    if settings.is_empty() {
        return None;
    }
    settings
        .get(method_key)
        .or_else(|| settings.get(&format!("{resource_path}/*")))
        .or_else(|| settings.get("*/*"))
        .copied()
}

impl Snapshot {
    /// Every bucket and key slot of the snapshot, for [`crate::usage::UsageState::attach`].
    pub fn usage_slots(&self) -> (Vec<&BucketSlot>, Vec<KeyAttachment<'_>>) {
        let mut buckets = vec![&self.account_bucket];
        let mut keys = Vec::new();
        for api in self.apis_by_id.values() {
            for stage in api.stages.values() {
                let canary = stage.canary.as_ref().map(|c| &*c.stage);
                for s in std::iter::once(&**stage).chain(canary) {
                    buckets.extend(
                        s.routes
                            .iter()
                            .filter_map(|r| r.throttle.as_ref().map(|t| &t.bucket)),
                    );
                }
                // The canary shares the stage's keys.
                for k in stage.api_keys.iter() {
                    buckets.extend(k.method_throttles().iter().map(|(_, _, b)| b));
                    keys.push((k.ids(), stage.api_keys.plan(k).throttle, &k.usage));
                }
            }
        }
        (buckets, keys)
    }
}

fn compile_integration(
    i: &Integration,
    param_names: &[String],
    vars: &IndexMap<String, String>,
    protocol: Protocol,
    functions: &[Function],
) -> Result<CompiledIntegration, String> {
    let lambda = if matches!(i.kind, IntegrationType::AwsProxy | IntegrationType::Aws) {
        Some(compile_lambda(i, vars, protocol, functions)?)
    } else {
        None
    };
    let target = match &i.uri {
        Some(uri) if matches!(i.kind, IntegrationType::Http | IntegrationType::HttpProxy) => {
            Some(compile_target(&uri.parts, param_names, vars)?)
        }
        _ => None,
    };
    let method = match &i.http_method {
        Some(m) => Some(
            http::Method::from_bytes(m.as_bytes())
                .map_err(|_| format!("`{m}` is not an HTTP method"))?,
        ),
        None => None,
    };
    let mut responses = Vec::with_capacity(i.responses.len());
    for r in &i.responses {
        responses.push(compile_response(r)?);
    }
    // The default response is tried last whatever its place in the file.
    responses.sort_by_key(|r| r.pattern.is_none());
    Ok(CompiledIntegration {
        kind: i.kind,
        target,
        method,
        timeout: i.timeout,
        request_parameters: i.request_parameters.clone(),
        request_templates: i.request_templates.clone(),
        passthrough_behavior: i.passthrough_behavior,
        responses,
        client: ClientKind {
            http2_only: i.upstream_protocol == UpstreamProtocol::Http2,
            insecure: i.insecure_skip_verification,
        },
        lambda,
    })
}

/// `AWS_PROXY` and `AWS` (Lambda): the function named by the URI (after stage variables), local
/// when one of that name is declared, else invoked through the Invoke API.
fn compile_lambda(
    i: &Integration,
    vars: &IndexMap<String, String>,
    protocol: Protocol,
    functions: &[Function],
) -> Result<LambdaTarget, String> {
    let uri = i
        .uri
        .as_ref()
        .ok_or("a Lambda integration needs a `uri` naming a Lambda function")?;
    let mut rendered = String::new();
    for part in &uri.parts {
        match part {
            UriPart::Text(t) => rendered.push_str(t),
            UriPart::StageVariable(v) => match vars.get(v) {
                Some(val) => rendered.push_str(val),
                None => return Err(format!("stage variable `{v}` is not defined")),
            },
            UriPart::PathParam(p) => {
                return Err(format!(
                    "`{{{p}}}` cannot be part of a Lambda function's URI"
                ))
            }
        }
    }
    let name = archway_model::lambda_function_name(&rendered).ok_or_else(|| {
        if i.kind == IntegrationType::Aws {
            format!(
                "`{}`: only Lambda is supported as an AWS integration yet",
                uri.source
            )
        } else {
            format!("`{}` does not name a Lambda function", uri.source)
        }
    })?;
    let arn = archway_model::lambda_invoked_arn(&rendered).unwrap_or(&rendered);
    let remote = !functions.iter().any(|f| f.name == name);
    let payload = match (protocol, i.payload_format_version.as_deref()) {
        (Protocol::Http, Some("1.0")) | (Protocol::Rest, _) => PayloadFormat::V1,
        (Protocol::Http, _) => PayloadFormat::V2,
    };
    Ok(LambdaTarget {
        function: name.into(),
        arn: arn.into(),
        remote,
        payload,
    })
}

fn compile_response(r: &IntegrationResponse) -> Result<CompiledIntegrationResponse, String> {
    let pattern = match &r.selection_pattern {
        Some(p) => Some(
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("selection pattern `{p}`: {e}"))?,
        ),
        None => None,
    };
    let status = http::StatusCode::from_u16(r.status_code)
        .map_err(|_| format!("`{}` is not a status code", r.status_code))?;
    let mut response_parameters = Vec::new();
    for (h, src) in &r.response_parameters {
        let name = http::HeaderName::from_bytes(h.as_bytes())
            .map_err(|_| format!("`{h}` is not a header name"))?;
        response_parameters.push((name, src.clone()));
    }
    Ok(CompiledIntegrationResponse {
        pattern,
        status,
        response_parameters,
        response_templates: r.response_templates.clone(),
    })
}

fn compile_target(
    parts: &[UriPart],
    param_names: &[String],
    vars: &IndexMap<String, String>,
) -> Result<UpstreamTarget, String> {
    // Substitute stage variables; keep path parameters as holes.
    let mut flat: Vec<PathPart> = Vec::new();
    for p in parts {
        let text = match p {
            UriPart::Text(t) => t.as_str(),
            UriPart::StageVariable(v) => vars
                .get(v)
                .map(String::as_str)
                .ok_or_else(|| format!("stage variable `{v}` is not defined"))?,
            UriPart::PathParam(n) => {
                flat.push(PathPart::Param {
                    name: n.clone(),
                    route_index: param_names.iter().position(|p| p == n),
                });
                continue;
            }
        };
        match flat.last_mut() {
            Some(PathPart::Text(t)) => t.push_str(text),
            _ => flat.push(PathPart::Text(text.to_string())),
        }
    }
    let Some(PathPart::Text(head)) = flat.first().cloned() else {
        return Err("the integration URI must start with http:// or https://".into());
    };
    let (scheme, rest) = head
        .split_once("://")
        .ok_or("the integration URI must start with http:// or https://")?;
    let scheme = match scheme {
        "http" => Scheme::HTTP,
        "https" => Scheme::HTTPS,
        other => return Err(format!("scheme `{other}` is not http or https")),
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    if auth_end == rest.len() && flat.len() > 1 {
        return Err("path parameters cannot be part of the integration URI's host".into());
    }
    let authority: Authority = rest[..auth_end]
        .parse()
        .map_err(|_| format!("`{}` is not a valid host", &rest[..auth_end]))?;
    let host_header = HeaderValue::from_str(authority.as_str())
        .map_err(|_| format!("`{authority}` is not a valid Host header"))?;
    let mut path_rest = rest[auth_end..].to_string();
    if !path_rest.starts_with('/') {
        path_rest.insert(0, '/');
    }
    flat[0] = PathPart::Text(path_rest);
    let fixed_len = flat
        .iter()
        .map(|p| match p {
            PathPart::Text(t) => t.len(),
            PathPart::Param { .. } => 0,
        })
        .sum();
    Ok(UpstreamTarget {
        scheme,
        authority,
        host_header,
        path: flat,
        fixed_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_entry_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<KeyEntry>(), 64);
        assert_eq!(std::mem::align_of::<KeyEntry>(), 64);
    }

    /// Found by value through collisions and growth; never found: absent values, empty slots.
    #[test]
    fn stage_keys_find_every_key_and_nothing_else() {
        let mut keys = StageKeys::default();
        for i in 0..1000 {
            keys.insert(KeyEntry {
                hash: 0,
                value: format!("value-{i}").into(),
                usage: KeySlot::default(),
                plan: 0,
                has_method_throttles: false,
                cold: Some(Box::new(KeyCold {
                    ids: ("p".into(), format!("id-{i}")),
                    method_throttles: Vec::new(),
                })),
            });
        }
        assert_eq!(keys.len(), 1000);
        assert!(keys.slots.len() >= 2000);
        for i in 0..1000 {
            let (index, e) = keys.find(&format!("value-{i}")).unwrap();
            assert_eq!(e.key_id(), format!("id-{i}"));
            assert_eq!(keys.get(index).unwrap().key_id(), e.key_id());
        }
        for v in ["", "value-1000", "value-", "VALUE-1"] {
            assert!(keys.find(v).is_none(), "{v}");
        }
        let empty = keys.slots.iter().position(|e| e.hash == 0).unwrap();
        assert!(keys.get(empty as u32).is_none());
        assert!(keys.get(u32::MAX).is_none());
        assert!(StageKeys::default().find("x").is_none());
    }

    #[test]
    fn compiles_targets_with_stage_variables() {
        let t =
            archway_model::UriTemplate::parse("http://${stageVariables.host}/v1/pets/{petId}?x=1")
                .unwrap();
        let mut vars = IndexMap::new();
        vars.insert("host".to_string(), "127.0.0.1:9000".to_string());
        let target = compile_target(&t.parts, &["petId".to_string()], &vars).unwrap();
        assert_eq!(target.authority.as_str(), "127.0.0.1:9000");
        assert_eq!(
            target.path,
            vec![
                PathPart::Text("/v1/pets/".into()),
                PathPart::Param {
                    name: "petId".into(),
                    route_index: Some(0)
                },
                PathPart::Text("?x=1".into())
            ]
        );
        let bad = archway_model::UriTemplate::parse("http://{petId}.example.com/").unwrap();
        assert!(compile_target(&bad.parts, &["petId".to_string()], &vars).is_err());
    }
}
