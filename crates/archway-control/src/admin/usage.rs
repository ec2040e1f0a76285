//! API keys, usage plans, usage plan keys and usage (`apigateway`): `/apikeys`,
//! `/usageplans/...`, as in botocore's 2015-07-09 model. Key values are returned only where
//! AWS returns them (`includeValue(s)=true`, `CreateApiKey`, usage plan keys) and never logged.

use super::{body, document_text, param, read, write, AdminState, Params, PatchInput};
use crate::error::ApiError;
use crate::usage::{self, CreateApiKey, CreateUsagePlan, UsageChange};
use crate::Change;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/apikeys", get(get_api_keys).post(create_or_import))
        .route(
            "/apikeys/{key}",
            get(get_api_key)
                .patch(update_api_key)
                .delete(delete_api_key),
        )
        .route("/usageplans", get(get_usage_plans).post(create_usage_plan))
        .route(
            "/usageplans/{plan}",
            get(get_usage_plan)
                .patch(update_usage_plan)
                .delete(delete_usage_plan),
        )
        .route(
            "/usageplans/{plan}/keys",
            get(get_usage_plan_keys).post(create_usage_plan_key),
        )
        .route(
            "/usageplans/{plan}/keys/{key}",
            get(get_usage_plan_key).delete(delete_usage_plan_key),
        )
        .route(
            "/usageplans/{plan}/keys/{key}/usage",
            axum::routing::patch(update_usage),
        )
        .route("/usageplans/{plan}/usage", get(get_usage))
}

fn change(c: UsageChange) -> Change {
    Change::Usage(Box::new(c))
}

fn flag(q: &[(String, String)], name: &str) -> bool {
    param(q, name) == Some("true")
}

async fn create_or_import(State(st): State<AdminState>, Query(q): Params, b: Bytes) -> Response {
    if param(&q, "mode") == Some("import") {
        match param(&q, "format") {
            Some("csv") => {}
            other => {
                return ApiError::bad_request(format!(
                    "Invalid format {}: only csv is supported",
                    other.unwrap_or("(none)")
                ))
                .into_response()
            }
        }
        let csv = match document_text(&b) {
            Ok(t) => t,
            Err(e) => return e.into_response(),
        };
        let c = UsageChange::ImportApiKeys {
            csv,
            fail_on_warnings: flag(&q, "failonwarnings"),
        };
        return write(&st, 201, change(c)).await;
    }
    match body::<CreateApiKey>(&b) {
        Ok(input) => write(&st, 201, change(UsageChange::CreateApiKey(input))).await,
        Err(e) => e.into_response(),
    }
}

async fn get_api_keys(State(st): State<AdminState>, Query(q): Params) -> Response {
    let include = flag(&q, "includeValues");
    let name = param(&q, "name").map(str::to_string);
    read(&st, move |cp| {
        usage::api_keys(cp.store(), include, name.as_deref())
    })
    .await
}

async fn get_api_key(
    State(st): State<AdminState>,
    Path(key): Path<String>,
    Query(q): Params,
) -> Response {
    let include = flag(&q, "includeValue");
    read(&st, move |cp| usage::api_key(cp.store(), &key, include)).await
}

async fn update_api_key(
    State(st): State<AdminState>,
    Path(key): Path<String>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let c = UsageChange::UpdateApiKey {
                key_id: key,
                patch: p.patch_operations,
            };
            write(&st, 200, change(c)).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_api_key(State(st): State<AdminState>, Path(key): Path<String>) -> Response {
    write(&st, 202, change(UsageChange::DeleteApiKey { key_id: key })).await
}

async fn create_usage_plan(State(st): State<AdminState>, b: Bytes) -> Response {
    match body::<CreateUsagePlan>(&b) {
        Ok(input) => write(&st, 201, change(UsageChange::CreateUsagePlan(input))).await,
        Err(e) => e.into_response(),
    }
}

async fn get_usage_plans(State(st): State<AdminState>, Query(q): Params) -> Response {
    let key = param(&q, "keyId").map(str::to_string);
    read(&st, move |cp| {
        usage::usage_plans(cp.store(), key.as_deref())
    })
    .await
}

async fn get_usage_plan(State(st): State<AdminState>, Path(plan): Path<String>) -> Response {
    read(&st, move |cp| usage::usage_plan(cp.store(), &plan)).await
}

async fn update_usage_plan(
    State(st): State<AdminState>,
    Path(plan): Path<String>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let c = UsageChange::UpdateUsagePlan {
                plan_id: plan,
                patch: p.patch_operations,
            };
            write(&st, 200, change(c)).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_usage_plan(State(st): State<AdminState>, Path(plan): Path<String>) -> Response {
    write(
        &st,
        202,
        change(UsageChange::DeleteUsagePlan { plan_id: plan }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUsagePlanKey {
    key_id: Option<String>,
    key_type: Option<String>,
}

async fn create_usage_plan_key(
    State(st): State<AdminState>,
    Path(plan): Path<String>,
    b: Bytes,
) -> Response {
    match body::<CreateUsagePlanKey>(&b) {
        Ok(input) => {
            let c = UsageChange::CreateUsagePlanKey {
                plan_id: plan,
                key_id: input.key_id.unwrap_or_default(),
                key_type: input.key_type.unwrap_or_default(),
            };
            write(&st, 201, change(c)).await
        }
        Err(e) => e.into_response(),
    }
}

async fn get_usage_plan_keys(State(st): State<AdminState>, Path(plan): Path<String>) -> Response {
    read(&st, move |cp| usage::usage_plan_keys(cp.store(), &plan)).await
}

async fn get_usage_plan_key(
    State(st): State<AdminState>,
    Path((plan, key)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| {
        usage::usage_plan_key(cp.store(), &plan, &key)
    })
    .await
}

async fn delete_usage_plan_key(
    State(st): State<AdminState>,
    Path((plan, key)): Path<(String, String)>,
) -> Response {
    let c = UsageChange::DeleteUsagePlanKey {
        plan_id: plan,
        key_id: key,
    };
    write(&st, 202, change(c)).await
}

async fn get_usage(
    State(st): State<AdminState>,
    Path(plan): Path<String>,
    Query(q): Params,
) -> Response {
    let key = param(&q, "keyId").map(str::to_string);
    let (Some(start), Some(end)) = (
        param(&q, "startDate").map(str::to_string),
        param(&q, "endDate").map(str::to_string),
    ) else {
        return ApiError::bad_request("startDate and endDate are required").into_response();
    };
    read(&st, move |cp| {
        usage::usage(
            cp.store(),
            cp.usage_state(),
            &plan,
            key.as_deref(),
            &start,
            &end,
        )
    })
    .await
}

async fn update_usage(
    State(st): State<AdminState>,
    Path((plan, key)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            read(&st, move |cp| {
                cp.update_usage(&plan, &key, &p.patch_operations)
            })
            .await
        }
        Err(e) => e.into_response(),
    }
}
