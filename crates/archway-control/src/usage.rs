//! API keys, usage plans, usage plan keys and usage: their documents, their writes (as
//! [`UsageChange`]s through [`crate::apply()`]) and their reads, in AWS's shapes.
//!
//! | kind | scope | key | body |
//! | --- | --- | --- | --- |
//! | `apikey` | `""` | key id | [`ApiKeyDoc`], the value included |
//! | `apikeyvalue` | `""` | SHA-256 of the value (hex) | `{id}`: makes values unique, written with `Expect::Absent` |
//! | `usageplan` | `""` | plan id | [`UsagePlanDoc`] |
//! | `usageplankey` | plan id | key id | `{id, type}` |
//! | `usage` | `""` | plan id | `{keys: {key id: [periodStart, used, [[day, count], ...]]}}` ([`UsageDoc`]): per key, the quota period's count and the count per day (one document per plan, so a flush is one row per plan) |
//!
//! Usage is counted in memory by the data plane (`archway_gateway::usage`) and written here by
//! the control plane's flush (every second and at shutdown), never per request; see
//! `docs/usage-plans.md`.

use crate::apply::Outcome;
use crate::docs::{new_id, now, KIND_RESTAPI};
use crate::error::ApiError;
use crate::patch::PatchOperation;
use archway_gateway::usage::{day_of, period_start, UsageKey, UsageRecord, UsageState};
use archway_model::{
    check_api_key_value, ApiKey, ApiStage, Quota, QuotaPeriod, Throttle, UsagePlan,
};
use archway_store::{DocumentStore, Expect, TxAbort};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const KIND_APIKEY: &str = "apikey";
pub const KIND_APIKEY_VALUE: &str = "apikeyvalue";
pub const KIND_USAGEPLAN: &str = "usageplan";
pub const KIND_USAGEPLAN_KEY: &str = "usageplankey";
pub const KIND_USAGE: &str = "usage";

/// An API key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDoc {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub created_date: i64,
    pub last_updated_date: i64,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
}

impl ApiKeyDoc {
    /// AWS's `ApiKey`; the value only when asked for.
    pub fn to_aws(&self, include_value: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "enabled": self.enabled,
            "createdDate": self.created_date,
            "lastUpdatedDate": self.last_updated_date,
            "stageKeys": [],
        });
        if include_value {
            v["value"] = json!(self.value);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(c) = &self.customer_id {
            v["customerId"] = json!(c);
        }
        if !self.tags.is_empty() {
            v["tags"] = json!(self.tags);
        }
        v
    }
}

/// AWS's `ThrottleSettings`, as sent: checked by [`ThrottleDoc::limits`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleDoc {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "whole_number"
    )]
    pub burst_limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

impl ThrottleDoc {
    fn limits(&self, what: &str) -> Result<Throttle, ApiError> {
        let (Some(rate), Some(burst)) = (self.rate_limit, self.burst_limit) else {
            return Err(ApiError::bad_request(format!(
                "{what}: both rateLimit and burstLimit are required"
            )));
        };
        if !burst.is_finite() || burst < 0.0 || burst.fract() != 0.0 {
            return Err(ApiError::bad_request(format!(
                "{what}: burstLimit must be a whole number of at least 0, not {burst}"
            )));
        }
        let t = Throttle {
            rate_limit: rate,
            burst_limit: burst as u64,
        };
        t.check()
            .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))?;
        Ok(t)
    }
}

/// AWS's `Integer` fields: written as integers when they are whole (they are once checked).
fn whole_number<S: serde::Serializer, N: Copy + Into<Option<f64>>>(
    n: &N,
    s: S,
) -> Result<S::Ok, S::Error> {
    match (*n).into() {
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => s.serialize_i64(v as i64),
        Some(v) => s.serialize_f64(v),
        None => s.serialize_none(),
    }
}

/// AWS's `QuotaSettings`, as sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct QuotaDoc {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "whole_number"
    )]
    pub limit: Option<f64>,
    #[serde(default, serialize_with = "whole_number")]
    pub offset: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

impl QuotaDoc {
    fn quota(&self) -> Result<Quota, ApiError> {
        let limit = self
            .limit
            .ok_or_else(|| ApiError::bad_request("quota: limit is required"))?;
        if !limit.is_finite() || limit < 0.0 || limit.fract() != 0.0 {
            return Err(ApiError::bad_request(format!(
                "quota: limit must be a whole number of at least 0, not {limit}"
            )));
        }
        let period = self
            .period
            .as_deref()
            .and_then(QuotaPeriod::parse)
            .ok_or_else(|| ApiError::bad_request("quota: period must be DAY, WEEK or MONTH"))?;
        if self.offset < 0.0 || self.offset.fract() != 0.0 || self.offset > 1e6 {
            return Err(ApiError::bad_request(format!(
                "quota: offset must be a whole number of at least 0, not {}",
                self.offset
            )));
        }
        let q = Quota {
            limit: limit.min(u64::MAX as f64) as u64,
            period,
            offset: self.offset as u32,
        };
        q.check().map_err(ApiError::bad_request)?;
        Ok(q)
    }
}

/// AWS's `ApiStage`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiStageDoc {
    #[serde(default)]
    pub api_id: String,
    #[serde(default)]
    pub stage: String,
    /// `{resource path}/{METHOD}` → throttle.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub throttle: IndexMap<String, ThrottleDoc>,
}

/// A usage plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanDoc {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub api_stages: Vec<ApiStageDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaDoc>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tags: IndexMap<String, String>,
}

impl UsagePlanDoc {
    /// AWS's `UsagePlan` (the document is already in AWS's shape).
    pub fn to_aws(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Every check a plan must pass, except that its stages exist.
    fn check(&self) -> Result<(), ApiError> {
        if self.name.trim().is_empty() || self.name.len() > 1024 {
            return Err(ApiError::bad_request("Usage plan name is required"));
        }
        if let Some(t) = &self.throttle {
            t.limits("throttle")?;
        }
        if let Some(q) = &self.quota {
            q.quota()?;
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.api_stages {
            if !seen.insert((s.api_id.as_str(), s.stage.as_str())) {
                return Err(ApiError::bad_request(format!(
                    "API stage {}:{} is listed twice",
                    s.api_id, s.stage
                )));
            }
            for (m, t) in &s.throttle {
                if m == "*/*" || !archway_model::validate::valid_method_key(m) {
                    return Err(ApiError::bad_request(format!(
                        "Invalid method throttle key {m}: expected {{resource path}}/{{METHOD}}, e.g. /pets/GET"
                    )));
                }
                t.limits(&format!("throttle of {m}"))?;
            }
        }
        Ok(())
    }

    /// The model's plan (the document was checked when written; what does not convert is
    /// left out and logged).
    fn model(&self, key_ids: Vec<String>) -> UsagePlan {
        fn ok<T>(plan: &str, r: Result<T, ApiError>) -> Option<T> {
            match r {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(plan, error = %e, "unusable usage plan setting; left out");
                    None
                }
            }
        }
        let id = self.id.as_str();
        UsagePlan {
            id: self.id.clone(),
            name: self.name.clone(),
            api_stages: self
                .api_stages
                .iter()
                .map(|s| ApiStage {
                    api_id: s.api_id.clone(),
                    stage: s.stage.clone(),
                    throttle: s
                        .throttle
                        .iter()
                        .filter_map(|(m, t)| Some((m.clone(), ok(id, t.limits(m))?)))
                        .collect(),
                })
                .collect(),
            throttle: self.throttle.and_then(|t| ok(id, t.limits("throttle"))),
            quota: self.quota.as_ref().and_then(|q| ok(id, q.quota())),
            key_ids,
        }
    }
}

/// A key's usage in a plan, as persisted (see [`UsageRecord`]): written as the array
/// `[periodStart, used, [[day, count], ...]]`, compact because a flush may write thousands.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(from = "UsageRow")]
pub struct UsageDoc {
    pub period_start: i64,
    pub used: u64,
    /// Day number (days since the epoch) → requests that day.
    #[serde(default)]
    pub days: BTreeMap<i64, u64>,
}

/// [`UsageDoc`]'s stored form, as read.
#[derive(Deserialize)]
struct UsageRow(i64, u64, Vec<(i64, u64)>);

/// [`UsageDoc`]'s stored form, as written: borrowed, so that a flush serialises the data
/// plane's records without copying them (see `usage_body`).
struct StoredUsage<'a> {
    period_start: i64,
    used: u64,
    days: &'a BTreeMap<i64, u64>,
}

impl Serialize for StoredUsage<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        struct Days<'a>(&'a BTreeMap<i64, u64>);
        impl Serialize for Days<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter())
            }
        }
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.period_start)?;
        t.serialize_element(&self.used)?;
        t.serialize_element(&Days(self.days))?;
        t.end()
    }
}

impl Serialize for UsageDoc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredUsage {
            period_start: self.period_start,
            used: self.used,
            days: &self.days,
        }
        .serialize(s)
    }
}

impl From<UsageRow> for UsageDoc {
    fn from(r: UsageRow) -> Self {
        UsageDoc {
            period_start: r.0,
            used: r.1,
            days: r.2.into_iter().collect(),
        }
    }
}

#[cfg(test)]
impl From<&UsageRecord> for UsageDoc {
    fn from(r: &UsageRecord) -> Self {
        UsageDoc {
            period_start: r.period_start,
            used: r.used,
            days: r.days.clone(),
        }
    }
}

impl From<UsageDoc> for UsageRecord {
    fn from(d: UsageDoc) -> Self {
        UsageRecord {
            period_start: d.period_start,
            used: d.used,
            days: d.days,
            dirty: false,
        }
    }
}

/// `CreateApiKey`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKey {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    pub value: Option<String>,
    pub customer_id: Option<String>,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    #[serde(default)]
    pub stage_keys: Vec<Value>,
    #[serde(default)]
    pub generate_distinct_id: bool,
}

/// `CreateUsagePlan`'s input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsagePlan {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub api_stages: Vec<ApiStageDoc>,
    pub throttle: Option<ThrottleDoc>,
    pub quota: Option<QuotaDoc>,
    #[serde(default)]
    pub tags: IndexMap<String, String>,
}

/// A write to keys, plans or usage.
#[derive(Debug)]
pub enum UsageChange {
    CreateApiKey(CreateApiKey),
    /// `ImportApiKeys` with `format=csv`.
    ImportApiKeys {
        csv: String,
        fail_on_warnings: bool,
    },
    UpdateApiKey {
        key_id: String,
        patch: Vec<PatchOperation>,
    },
    DeleteApiKey {
        key_id: String,
    },
    CreateUsagePlan(CreateUsagePlan),
    UpdateUsagePlan {
        plan_id: String,
        patch: Vec<PatchOperation>,
    },
    DeleteUsagePlan {
        plan_id: String,
    },
    CreateUsagePlanKey {
        plan_id: String,
        key_id: String,
        key_type: String,
    },
    DeleteUsagePlanKey {
        plan_id: String,
        key_id: String,
    },
    /// The data plane's counters, persisted: plan id → every key's record.
    RecordUsage(Vec<(String, Vec<(String, UsageRecord)>)>),
}

fn cancel(e: ApiError) -> TxAbort {
    TxAbort::cancel(e)
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| {
        tracing::error!(error = %e, "unreadable {what} document");
        ApiError::internal()
    })
}

fn to_value<T: Serialize>(t: &T) -> Result<Value, ApiError> {
    serde_json::to_value(t).map_err(|_| ApiError::internal())
}

fn key_not_found() -> ApiError {
    ApiError::not_found("Invalid API Key identifier specified")
}

fn plan_not_found() -> ApiError {
    ApiError::not_found("Invalid Usage Plan ID specified")
}

/// The index key of a key value: its SHA-256, so that values are unique without being keys.
fn value_index(value: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new key value: 40 characters of `[A-Za-z0-9]`, as AWS generates.
fn generate_value() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..40)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Applies a [`UsageChange`]: validate, then one store transaction, or nothing.
pub fn apply(store: &dyn DocumentStore, change: UsageChange) -> Result<Outcome, ApiError> {
    match change {
        UsageChange::CreateApiKey(input) => {
            create_api_keys(store, vec![(input, Vec::new())]).map(|(revision, mut keys)| Outcome {
                revision,
                body: keys.pop().map_or(Value::Null, |k| k.to_aws(true)),
            })
        }
        UsageChange::ImportApiKeys {
            csv,
            fail_on_warnings,
        } => {
            let (inputs, warnings) = parse_csv(&csv)?;
            if fail_on_warnings && !warnings.is_empty() {
                return Err(ApiError::bad_request(warnings.join("; ")));
            }
            let (revision, keys) = create_api_keys(store, inputs)?;
            Ok(Outcome {
                revision,
                body: json!({
                    "ids": keys.iter().map(|k| k.id.clone()).collect::<Vec<_>>(),
                    "warnings": warnings,
                }),
            })
        }
        UsageChange::UpdateApiKey { key_id, patch } => update_api_key(store, &key_id, &patch),
        UsageChange::DeleteApiKey { key_id } => delete_api_key(store, &key_id),
        UsageChange::CreateUsagePlan(input) => create_usage_plan(store, input),
        UsageChange::UpdateUsagePlan { plan_id, patch } => {
            update_usage_plan(store, &plan_id, &patch)
        }
        UsageChange::DeleteUsagePlan { plan_id } => delete_usage_plan(store, &plan_id),
        UsageChange::CreateUsagePlanKey {
            plan_id,
            key_id,
            key_type,
        } => create_usage_plan_key(store, &plan_id, &key_id, &key_type),
        UsageChange::DeleteUsagePlanKey { plan_id, key_id } => {
            let revision = store.transact(&mut |tx| {
                if tx.get(KIND_USAGEPLAN, "", &plan_id)?.is_none() {
                    return Err(cancel(plan_not_found()));
                }
                if !tx.delete(KIND_USAGEPLAN_KEY, &plan_id, &key_id, Expect::Any)? {
                    return Err(cancel(ApiError::not_found(
                        "Invalid Usage Plan Key identifier specified",
                    )));
                }
                Ok(())
            })?;
            Ok(Outcome {
                revision,
                body: Value::Null,
            })
        }
        UsageChange::RecordUsage(plans) => {
            let mut bodies = Vec::with_capacity(plans.len());
            for (plan, records) in &plans {
                bodies.push((plan, usage_body(records)?));
            }
            // Plans of the config file have usage too, so the plan is not looked up: a deleted
            // plan's counters are forgotten by the data plane before they could come back here.
            let revision = store.transact(&mut |tx| {
                for (plan, body) in &bodies {
                    tx.put_json(KIND_USAGE, "", plan, body, Expect::Any)?;
                }
                Ok(())
            })?;
            Ok(Outcome {
                revision,
                body: Value::Null,
            })
        }
    }
}

/// A plan's usage document as JSON text, `{"keys": {KEY_ID: UsageDoc, ...}}` in key order,
/// serialised straight from the records: a flush writes every key of a plan each second, and
/// building `UsageDoc`s and a `Value` tree first made tens of thousands of allocations a flush.
fn usage_body(records: &[(String, UsageRecord)]) -> Result<String, ApiError> {
    use serde::ser::{SerializeMap, Serializer};
    struct Keys<'a>(Vec<&'a (String, UsageRecord)>);
    impl Serialize for Keys<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, r) in &self.0 {
                let row = StoredUsage {
                    period_start: r.period_start,
                    used: r.used,
                    days: &r.days,
                };
                map.serialize_entry(k, &row)?;
            }
            map.end()
        }
    }
    let mut sorted: Vec<&(String, UsageRecord)> = records.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(16 + records.len() * 64);
    let mut ser = serde_json::Serializer::new(&mut out);
    let mut top = ser
        .serialize_map(Some(1))
        .map_err(|_| ApiError::internal())?;
    top.serialize_entry("keys", &Keys(sorted))
        .and_then(|()| top.end())
        .map_err(|_| ApiError::internal())?;
    String::from_utf8(out).map_err(|_| ApiError::internal())
}

/// Checks a `CreateApiKey` input and makes its document.
fn new_key(input: CreateApiKey) -> Result<ApiKeyDoc, ApiError> {
    if !input.stage_keys.is_empty() {
        return Err(ApiError::bad_request(
            "stageKeys are not supported: add the key to a usage plan",
        ));
    }
    let value = match input.value {
        Some(v) => {
            check_api_key_value(&v).map_err(ApiError::bad_request)?;
            v
        }
        None => generate_value(),
    };
    let t = now();
    Ok(ApiKeyDoc {
        id: new_id(),
        name: input.name.unwrap_or_default(),
        description: input.description,
        enabled: input.enabled,
        value,
        customer_id: input.customer_id,
        created_date: t,
        last_updated_date: t,
        tags: input.tags,
    })
}

/// Creates keys (each with the plans it joins) in one transaction: all or none.
fn create_api_keys(
    store: &dyn DocumentStore,
    inputs: Vec<(CreateApiKey, Vec<String>)>,
) -> Result<(u64, Vec<ApiKeyDoc>), ApiError> {
    let mut keys = Vec::with_capacity(inputs.len());
    let mut values = std::collections::HashSet::new();
    for (input, plans) in inputs {
        let k = new_key(input)?;
        if !values.insert(k.value.clone()) {
            return Err(ApiError::conflict(format!(
                "API Key already exists: the value of key {} is given twice",
                if k.name.is_empty() { &k.id } else { &k.name }
            )));
        }
        keys.push((k, plans));
    }
    let bodies: Vec<(Value, String)> = keys
        .iter()
        .map(|(k, _)| Ok((to_value(k)?, value_index(&k.value))))
        .collect::<Result<_, ApiError>>()?;
    let revision = store.transact(&mut |tx| {
        for ((k, plans), (body, index)) in keys.iter().zip(&bodies) {
            if tx.get(KIND_APIKEY_VALUE, "", index)?.is_some() {
                let who = if k.name.is_empty() { &k.id } else { &k.name };
                return Err(cancel(ApiError::conflict(format!(
                    "API Key already exists: another key has the value given for {who}"
                ))));
            }
            tx.put(KIND_APIKEY, "", &k.id, body, Expect::Absent)?;
            tx.put(
                KIND_APIKEY_VALUE,
                "",
                index,
                &json!({ "id": k.id }),
                Expect::Absent,
            )?;
            for plan in plans {
                tx_add_plan_key(tx, plan, &k.id)?;
            }
        }
        Ok(())
    })?;
    Ok((revision, keys.into_iter().map(|(k, _)| k).collect()))
}

/// AWS's CSV import: a header naming the columns (`Name`, `key`, `description`, `Enabled`,
/// `usageplanIds`, in any order and case; `key` is required), then one key per line. Plan ids
/// are separated by `,` inside a quoted field or by `;`.
type ImportedKeys = (Vec<(CreateApiKey, Vec<String>)>, Vec<String>);

fn parse_csv(text: &str) -> Result<ImportedKeys, ApiError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| ApiError::bad_request("The CSV file is empty"))?;
    let columns: Vec<String> = csv_fields(header)?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| columns.iter().position(|c| c == name);
    let Some(key_col) = col("key") else {
        return Err(ApiError::bad_request(
            "The CSV header must name a `key` column (Name,key,description,Enabled,usageplanIds)",
        ));
    };
    let mut warnings = Vec::new();
    for c in &columns {
        if ![
            "name",
            "key",
            "description",
            "enabled",
            "usageplanids",
            "customerid",
        ]
        .contains(&c.as_str())
        {
            warnings.push(format!("Unknown column {c} ignored"));
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let row = csv_fields(line)?;
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let Some(value) = get(Some(key_col)) else {
            return Err(ApiError::bad_request(format!(
                "Line {} of the CSV file has no key value",
                i + 2
            )));
        };
        let enabled = match get(col("enabled")).map(|e| e.to_ascii_lowercase()) {
            None => false,
            Some(e) if e == "true" => true,
            Some(e) if e == "false" => false,
            Some(e) => {
                return Err(ApiError::bad_request(format!(
                    "Line {} of the CSV file: Enabled must be true or false, not {e}",
                    i + 2
                )))
            }
        };
        let plans = get(col("usageplanids"))
            .map(|p| {
                p.split([',', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            CreateApiKey {
                name: get(col("name")),
                description: get(col("description")),
                enabled,
                value: Some(value),
                customer_id: get(col("customerid")),
                ..CreateApiKey::default()
            },
            plans,
        ));
    }
    Ok((out, warnings))
}

/// The fields of one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Result<Vec<String>, ApiError> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err(ApiError::bad_request(
            "The CSV file has an unterminated quoted field",
        ));
    }
    fields.push(cur);
    Ok(fields)
}

fn read_key(store: &dyn DocumentStore, key_id: &str) -> Result<(ApiKeyDoc, u64), ApiError> {
    let d = store
        .get(KIND_APIKEY, "", key_id)?
        .ok_or_else(key_not_found)?;
    Ok((parse("apikey", d.body)?, d.version))
}

fn read_plan(store: &dyn DocumentStore, plan_id: &str) -> Result<(UsagePlanDoc, u64), ApiError> {
    let d = store
        .get(KIND_USAGEPLAN, "", plan_id)?
        .ok_or_else(plan_not_found)?;
    Ok((parse("usageplan", d.body)?, d.version))
}

fn bool_value(op: &PatchOperation) -> Result<bool, ApiError> {
    match op.value.as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Invalid value for {}: expected true or false",
            op.path
        ))),
    }
}

fn invalid_patch(op: &PatchOperation) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid patch path '{}' specified for op '{}'",
        op.path, op.op
    ))
}

fn update_api_key(
    store: &dyn DocumentStore,
    key_id: &str,
    patch: &[PatchOperation],
) -> Result<Outcome, ApiError> {
    let (mut key, version) = read_key(store, key_id)?;
    for op in patch {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace", "/name") => key.name = op.value.clone().unwrap_or_default(),
            ("replace", "/description") => key.description = op.value.clone(),
            ("replace", "/enabled") => key.enabled = bool_value(op)?,
            ("replace", "/customerId") => key.customer_id = op.value.clone(),
            _ => return Err(invalid_patch(op)),
        }
    }
    key.last_updated_date = now();
    let body = to_value(&key)?;
    let revision = store.transact(&mut |tx| {
        tx.put(KIND_APIKEY, "", key_id, &body, Expect::Version(version))?;
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: key.to_aws(false),
    })
}

fn delete_api_key(store: &dyn DocumentStore, key_id: &str) -> Result<Outcome, ApiError> {
    let revision = store.transact(&mut |tx| {
        let Some(d) = tx.get(KIND_APIKEY, "", key_id)? else {
            return Err(cancel(key_not_found()));
        };
        let value = d.body.get("value").and_then(Value::as_str).unwrap_or("");
        tx.delete(KIND_APIKEY_VALUE, "", &value_index(value), Expect::Any)?;
        tx.delete(KIND_APIKEY, "", key_id, Expect::Any)?;
        // The key leaves every plan.
        for plan in tx.list(KIND_USAGEPLAN, "")? {
            tx.delete(KIND_USAGEPLAN_KEY, &plan.key, key_id, Expect::Any)?;
        }
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: Value::Null,
    })
}

/// Checks that every API stage of `plan` exists (REST APIs).
fn tx_check_stages(tx: &mut dyn archway_store::Tx, plan: &UsagePlanDoc) -> Result<(), TxAbort> {
    for s in &plan.api_stages {
        let exists = tx.get(KIND_RESTAPI, "", &s.api_id)?.is_some()
            && tx
                .get(crate::docs::KIND_STAGE, &s.api_id, &s.stage)?
                .is_some();
        if !exists {
            return Err(cancel(ApiError::bad_request(format!(
                "Invalid API Stage {{api: {}, stage: {}}} specified for usageplan {}: no such API stage",
                s.api_id, s.stage, plan.id
            ))));
        }
    }
    Ok(())
}

/// Refuses to delete API `api_id` (every stage, `stage: None`) or one of its stages while a
/// usage plan includes it: a plan's API stages must exist (`tx_check_stages`), so deleting one
/// from under a plan would leave the plan naming nothing. The caller removes the API stage
/// from the plan first (`UpdateUsagePlan` `remove /apiStages`). Runs inside the delete's
/// transaction, so a plan added concurrently is seen.
pub fn tx_refuse_if_in_plan(
    tx: &mut dyn archway_store::Tx,
    api_id: &str,
    stage: Option<&str>,
) -> Result<(), TxAbort> {
    for d in tx.list(KIND_USAGEPLAN, "")? {
        let plan: UsagePlanDoc = parse("usage plan", d.body).map_err(cancel)?;
        let used = plan
            .api_stages
            .iter()
            .find(|s| s.api_id == api_id && stage.is_none_or(|name| s.stage == name));
        if let Some(s) = used {
            let message = match stage {
                Some(_) => format!(
                    "Cannot delete stage {} of API {api_id}: it is associated with usage plan {}. Remove the API stage from the usage plan first",
                    s.stage, plan.id
                ),
                None => format!(
                    "Cannot delete API {api_id}: its stage {} is associated with usage plan {}. Remove the API stage from the usage plan first",
                    s.stage, plan.id
                ),
            };
            return Err(cancel(ApiError::bad_request(message)));
        }
    }
    Ok(())
}

fn create_usage_plan(
    store: &dyn DocumentStore,
    input: CreateUsagePlan,
) -> Result<Outcome, ApiError> {
    let plan = UsagePlanDoc {
        id: new_id(),
        name: input.name.unwrap_or_default(),
        description: input.description,
        api_stages: input.api_stages,
        throttle: input.throttle,
        quota: input.quota,
        tags: input.tags,
    };
    plan.check()?;
    let body = to_value(&plan)?;
    let revision = store.transact(&mut |tx| {
        tx_check_stages(tx, &plan)?;
        tx.put(KIND_USAGEPLAN, "", &plan.id, &body, Expect::Absent)?;
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: plan.to_aws(),
    })
}

fn number(op: &PatchOperation) -> Result<f64, ApiError> {
    op.value
        .as_deref()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|n| n.is_finite())
        .ok_or_else(|| {
            ApiError::bad_request(format!("Invalid value for {}: expected a number", op.path))
        })
}

fn api_stage_of(value: Option<&str>) -> Option<(String, String)> {
    let (api, stage) = value?.split_once(':')?;
    Some((api.to_string(), stage.to_string()))
}

fn update_usage_plan(
    store: &dyn DocumentStore,
    plan_id: &str,
    patch: &[PatchOperation],
) -> Result<Outcome, ApiError> {
    let (mut plan, version) = read_plan(store, plan_id)?;
    for op in patch {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace", "/name") => plan.name = op.value.clone().unwrap_or_default(),
            ("replace", "/description") => plan.description = op.value.clone(),
            ("replace", "/throttle/rateLimit") => {
                plan.throttle
                    .get_or_insert_with(Default::default)
                    .rate_limit = Some(number(op)?)
            }
            ("replace", "/throttle/burstLimit") => {
                plan.throttle
                    .get_or_insert_with(Default::default)
                    .burst_limit = Some(number(op)?)
            }
            ("remove", "/throttle") => plan.throttle = None,
            ("replace", "/quota/limit") => {
                plan.quota.get_or_insert_with(Default::default).limit = Some(number(op)?)
            }
            ("replace", "/quota/offset") => {
                plan.quota.get_or_insert_with(Default::default).offset = number(op)?
            }
            ("replace", "/quota/period") => {
                plan.quota.get_or_insert_with(Default::default).period = op.value.clone()
            }
            ("remove", "/quota") => plan.quota = None,
            ("add", "/apiStages") => {
                let (api_id, stage) =
                    api_stage_of(op.value.as_deref()).ok_or_else(|| invalid_patch(op))?;
                plan.api_stages.push(ApiStageDoc {
                    api_id,
                    stage,
                    throttle: IndexMap::new(),
                });
            }
            ("remove", "/apiStages") => {
                let (api_id, stage) =
                    api_stage_of(op.value.as_deref()).ok_or_else(|| invalid_patch(op))?;
                let before = plan.api_stages.len();
                plan.api_stages
                    .retain(|s| s.api_id != api_id || s.stage != stage);
                if plan.api_stages.len() == before {
                    return Err(ApiError::bad_request(format!(
                        "API stage {api_id}:{stage} is not in the usage plan"
                    )));
                }
            }
            _ => return Err(invalid_patch(op)),
        }
    }
    plan.check()?;
    let body = to_value(&plan)?;
    let revision = store.transact(&mut |tx| {
        tx_check_stages(tx, &plan)?;
        tx.put(KIND_USAGEPLAN, "", plan_id, &body, Expect::Version(version))?;
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: plan.to_aws(),
    })
}

fn delete_usage_plan(store: &dyn DocumentStore, plan_id: &str) -> Result<Outcome, ApiError> {
    let revision = store.transact(&mut |tx| {
        let Some(doc) = tx.get(KIND_USAGEPLAN, "", plan_id)? else {
            return Err(cancel(plan_not_found()));
        };
        let plan: UsagePlanDoc =
            serde_json::from_value(doc.body).map_err(|_| cancel(ApiError::internal()))?;
        // AWS refuses too: its API stages are removed first (UpdateUsagePlan, remove /apiStages).
        if let Some(s) = plan.api_stages.first() {
            return Err(cancel(ApiError::bad_request(format!(
                "Cannot delete Usage Plan {plan_id} because there are API Stages associated with it, including {}:{}",
                s.api_id, s.stage
            ))));
        }
        tx.delete(KIND_USAGEPLAN, "", plan_id, Expect::Any)?;
        for k in tx.list(KIND_USAGEPLAN_KEY, plan_id)? {
            tx.delete(KIND_USAGEPLAN_KEY, plan_id, &k.key, Expect::Any)?;
        }
        tx.delete(KIND_USAGE, "", plan_id, Expect::Any)?;
        Ok(())
    })?;
    Ok(Outcome {
        revision,
        body: Value::Null,
    })
}

/// Adds key `key_id` to plan `plan_id` inside a transaction, with AWS's checks.
fn tx_add_plan_key(
    tx: &mut dyn archway_store::Tx,
    plan_id: &str,
    key_id: &str,
) -> Result<(), TxAbort> {
    let Some(plan) = tx.get(KIND_USAGEPLAN, "", plan_id)? else {
        return Err(cancel(plan_not_found()));
    };
    let plan: UsagePlanDoc =
        serde_json::from_value(plan.body).map_err(|_| cancel(ApiError::internal()))?;
    if tx.get(KIND_USAGEPLAN_KEY, plan_id, key_id)?.is_some() {
        return Err(cancel(ApiError::conflict("Usage Plan Key already exists")));
    }
    // A key reaches an API stage through one plan only.
    for other in tx.list(KIND_USAGEPLAN, "")? {
        if other.key == plan_id || tx.get(KIND_USAGEPLAN_KEY, &other.key, key_id)?.is_none() {
            continue;
        }
        let other: UsagePlanDoc =
            serde_json::from_value(other.body).map_err(|_| cancel(ApiError::internal()))?;
        for s in &plan.api_stages {
            if other
                .api_stages
                .iter()
                .any(|o| o.api_id == s.api_id && o.stage == s.stage)
            {
                return Err(cancel(ApiError::bad_request(format!(
                    "Usage Plan {plan_id} cannot be added because API Key {key_id} cannot reference multiple Usage Plans with the same API Stage: {}:{}",
                    s.api_id, s.stage
                ))));
            }
        }
    }
    tx.put(
        KIND_USAGEPLAN_KEY,
        plan_id,
        key_id,
        &json!({ "id": key_id, "type": "API_KEY" }),
        Expect::Absent,
    )?;
    Ok(())
}

fn create_usage_plan_key(
    store: &dyn DocumentStore,
    plan_id: &str,
    key_id: &str,
    key_type: &str,
) -> Result<Outcome, ApiError> {
    if key_type != "API_KEY" {
        return Err(ApiError::bad_request(format!(
            "Invalid keyType {key_type}: only API_KEY is supported"
        )));
    }
    let mut key = None;
    let revision = store.transact(&mut |tx| {
        let Some(k) = tx.get(KIND_APIKEY, "", key_id)? else {
            return Err(cancel(key_not_found()));
        };
        key = Some(k.body);
        tx_add_plan_key(tx, plan_id, key_id)
    })?;
    let key: ApiKeyDoc = parse("apikey", key.unwrap_or_default())?;
    Ok(Outcome {
        revision,
        body: plan_key_view(&key),
    })
}

/// AWS's `UsagePlanKey`.
fn plan_key_view(k: &ApiKeyDoc) -> Value {
    json!({ "id": k.id, "type": "API_KEY", "name": k.name, "value": k.value })
}

// ---- Reads ----------------------------------------------------------------------------------

/// `GetApiKey`.
pub fn api_key(
    store: &dyn DocumentStore,
    key_id: &str,
    include_value: bool,
) -> Result<Value, ApiError> {
    Ok(read_key(store, key_id)?.0.to_aws(include_value))
}

/// `GetApiKeys`, optionally only names starting with `name`.
pub fn api_keys(
    store: &dyn DocumentStore,
    include_values: bool,
    name: Option<&str>,
) -> Result<Value, ApiError> {
    let mut items = Vec::new();
    for d in store.list(KIND_APIKEY, "")? {
        let k: ApiKeyDoc = parse("apikey", d.body)?;
        if name.is_some_and(|n| !k.name.starts_with(n)) {
            continue;
        }
        items.push(k.to_aws(include_values));
    }
    Ok(json!({ "item": items }))
}

/// `GetUsagePlan`.
pub fn usage_plan(store: &dyn DocumentStore, plan_id: &str) -> Result<Value, ApiError> {
    Ok(read_plan(store, plan_id)?.0.to_aws())
}

/// `GetUsagePlans`, optionally only those `key_id` is in.
pub fn usage_plans(store: &dyn DocumentStore, key_id: Option<&str>) -> Result<Value, ApiError> {
    let mut items = Vec::new();
    for d in store.list(KIND_USAGEPLAN, "")? {
        if let Some(k) = key_id {
            if store.get(KIND_USAGEPLAN_KEY, &d.key, k)?.is_none() {
                continue;
            }
        }
        let p: UsagePlanDoc = parse("usageplan", d.body)?;
        items.push(p.to_aws());
    }
    Ok(json!({ "item": items }))
}

/// `GetUsagePlanKeys`.
pub fn usage_plan_keys(store: &dyn DocumentStore, plan_id: &str) -> Result<Value, ApiError> {
    read_plan(store, plan_id)?;
    let mut items = Vec::new();
    for d in store.list(KIND_USAGEPLAN_KEY, plan_id)? {
        if let Ok((k, _)) = read_key(store, &d.key) {
            items.push(plan_key_view(&k));
        }
    }
    Ok(json!({ "item": items }))
}

/// `GetUsagePlanKey`.
pub fn usage_plan_key(
    store: &dyn DocumentStore,
    plan_id: &str,
    key_id: &str,
) -> Result<Value, ApiError> {
    read_plan(store, plan_id)?;
    if store.get(KIND_USAGEPLAN_KEY, plan_id, key_id)?.is_none() {
        return Err(ApiError::not_found(
            "Invalid Usage Plan Key identifier specified",
        ));
    }
    Ok(plan_key_view(&read_key(store, key_id)?.0))
}

/// `YYYY-MM-DD` → day number.
fn parse_date(s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::bad_request(format!("Invalid date {s}: expected YYYY-MM-DD"));
    let mut parts = s.splitn(3, '-');
    let mut next = || parts.next().and_then(|p| p.parse::<i32>().ok());
    let (Some(y), Some(m), Some(d)) = (next(), next(), next()) else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, month, day)
        .map(|d| day_of(d.midnight().assume_utc().unix_timestamp()))
        .map_err(|_| bad())
}

/// `GetUsage`: for each key of the plan (or `key_id`), `[used, remaining]` per day from
/// `start` to `end` (at most 90 days). `remaining` is what was left of the quota period at the
/// end of that day (0 without a quota). Live counts come from `live` (the data plane), else
/// from the store.
pub fn usage(
    store: &dyn DocumentStore,
    live: &UsageState,
    plan_id: &str,
    key_id: Option<&str>,
    start: &str,
    end: &str,
) -> Result<Value, ApiError> {
    let (plan, _) = read_plan(store, plan_id)?;
    let (first, last) = (parse_date(start)?, parse_date(end)?);
    if last < first || last - first > 90 {
        return Err(ApiError::bad_request(
            "The usage period must run forwards and be at most 90 days",
        ));
    }
    let quota = plan.quota.as_ref().and_then(|q| q.quota().ok());
    let now = crate::docs::now();
    let mut keys: Vec<String> = store
        .list(KIND_USAGEPLAN_KEY, plan_id)?
        .into_iter()
        .map(|d| d.key)
        .collect();
    // Keys that left the plan keep their usage.
    let stored = stored_usage(store, plan_id)?;
    for k in stored.keys() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let mut values = serde_json::Map::new();
    for k in keys {
        if key_id.is_some_and(|id| id != k) {
            continue;
        }
        let ukey = (plan_id.to_string(), k.clone());
        let record = match live.read(&ukey, quota.as_ref(), now) {
            Some(r) => r,
            None => stored.get(&k).cloned().map(Into::into).unwrap_or_default(),
        };
        let days = (first..=last)
            .map(|day| {
                let used = record.days.get(&day).copied().unwrap_or(0);
                json!([used, remaining_at(&record, quota.as_ref(), day, now)])
            })
            .collect::<Vec<_>>();
        values.insert(k, Value::Array(days));
    }
    Ok(json!({
        "usagePlanId": plan_id,
        "startDate": start,
        "endDate": end,
        "values": values,
    }))
}

/// What remained of the quota at the end of `day`.
fn remaining_at(r: &UsageRecord, quota: Option<&Quota>, day: i64, now: i64) -> u64 {
    let Some(q) = quota else { return 0 };
    let day_end = (day + 1) * 86_400 - 1;
    let start = period_start(q.period, q.offset, day_end);
    let current = period_start(q.period, q.offset, now);
    let used = if start == current {
        // The period in force: its count (resets by UpdateUsage included), less what was
        // used after `day`.
        let later: u64 = r.days.range(day + 1..).map(|(_, n)| *n).sum();
        if r.period_start == current {
            r.used.saturating_sub(later)
        } else {
            0
        }
    } else {
        r.days.range(day_of(start)..=day).map(|(_, n)| *n).sum()
    };
    q.limit.saturating_sub(used)
}

/// The quota of plan `plan_id` if `key_id` is in it, for `UpdateUsage`.
pub fn quota_for_update(
    store: &dyn DocumentStore,
    plan_id: &str,
    key_id: &str,
) -> Result<Quota, ApiError> {
    let (plan, _) = read_plan(store, plan_id)?;
    if store.get(KIND_USAGEPLAN_KEY, plan_id, key_id)?.is_none() {
        return Err(ApiError::not_found(
            "Invalid Usage Plan Key identifier specified",
        ));
    }
    plan.quota
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("The usage plan has no quota"))?
        .quota()
}

/// `UpdateUsage`'s patch: `replace /remaining` (or AWS CLI's `/keyId:{id}/remaining`) with the
/// number of requests left in the period in force.
pub fn remaining_from_patch(key_id: &str, patch: &[PatchOperation]) -> Result<u64, ApiError> {
    let [op] = patch else {
        return Err(ApiError::bad_request(
            "UpdateUsage takes one patch operation: replace /remaining",
        ));
    };
    let path_ok = op.path == "/remaining" || op.path == format!("/keyId:{key_id}/remaining");
    if op.op != "replace" || !path_ok {
        return Err(invalid_patch(op));
    }
    let n = number(op)?;
    if n < 0.0 || n.fract() != 0.0 {
        return Err(ApiError::bad_request(format!(
            "Invalid value for {}: expected a whole number of at least 0",
            op.path
        )));
    }
    Ok(n as u64)
}

/// Every stored key and plan as the model's (values included: the snapshot needs them).
pub fn load_model(store: &dyn DocumentStore) -> Result<(Vec<ApiKey>, Vec<UsagePlan>), ApiError> {
    let mut keys = Vec::new();
    for d in store.list(KIND_APIKEY, "")? {
        match serde_json::from_value::<ApiKeyDoc>(d.body) {
            Ok(k) => keys.push(ApiKey {
                id: k.id,
                name: k.name,
                value: k.value,
                enabled: k.enabled,
            }),
            Err(e) => tracing::error!(key = %d.key, error = %e, "unreadable API key; not served"),
        }
    }
    let mut plans = Vec::new();
    for d in store.list(KIND_USAGEPLAN, "")? {
        match serde_json::from_value::<UsagePlanDoc>(d.body) {
            Ok(p) => {
                let key_ids = store
                    .list(KIND_USAGEPLAN_KEY, &p.id)?
                    .into_iter()
                    .map(|k| k.key)
                    .collect();
                plans.push(p.model(key_ids));
            }
            Err(e) => {
                tracing::error!(plan = %d.key, error = %e, "unreadable usage plan; not served")
            }
        }
    }
    Ok((keys, plans))
}

/// A plan's usage document: key id → usage.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PlanUsageDoc {
    #[serde(default)]
    keys: BTreeMap<String, UsageDoc>,
}

/// The persisted usage of plan `plan_id`, by key.
fn stored_usage(
    store: &dyn DocumentStore,
    plan_id: &str,
) -> Result<BTreeMap<String, UsageDoc>, ApiError> {
    Ok(match store.get(KIND_USAGE, "", plan_id)? {
        Some(d) => parse::<PlanUsageDoc>("usage", d.body)?.keys,
        None => BTreeMap::new(),
    })
}

/// Every persisted usage record.
pub fn load_usage(store: &dyn DocumentStore) -> Result<Vec<(UsageKey, UsageRecord)>, ApiError> {
    let mut out = Vec::new();
    for d in store.list(KIND_USAGE, "")? {
        match serde_json::from_value::<PlanUsageDoc>(d.body) {
            Ok(u) => out.extend(
                u.keys
                    .into_iter()
                    .map(|(k, r)| ((d.key.clone(), k), r.into())),
            ),
            Err(e) => {
                tracing::error!(plan = %d.key, error = %e, "unreadable usage; starting from 0")
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_body_is_what_the_loader_reads() {
        let rec = |used, days: &[(i64, u64)]| UsageRecord {
            period_start: 1_700_000_000,
            used,
            days: days.iter().copied().collect(),
            dirty: true,
        };
        let records = vec![
            ("kb".to_string(), rec(7, &[(19_700, 3), (19_701, 4)])),
            ("ka".to_string(), rec(0, &[])),
        ];
        let body: Value = serde_json::from_str(&usage_body(&records).unwrap()).unwrap();
        let keys = body["keys"].as_object().unwrap();
        // In key order, each as a UsageDoc reads it back.
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ka", "kb"]);
        for (k, r) in &records {
            let doc: UsageDoc = serde_json::from_value(keys[k.as_str()].clone()).unwrap();
            assert_eq!(doc, UsageDoc::from(r));
        }
        assert_eq!(
            keys["kb"],
            serde_json::to_value(UsageDoc::from(&records[0].1)).unwrap()
        );
    }
}
