//! `apigatewayv2` (HTTP APIs): `/v2/apis/...`, as in botocore's 2018-11-29 model.

use super::{body, read, read_list, write, AdminState, Params};
use crate::error::ApiError;
use crate::v2::{self, CreateApi, RouteInput, StageInput, UpdateApi, V2Change};
use crate::Change;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/v2/apis", get(get_apis).post(create_api).put(import_api))
        .route(
            "/v2/apis/{api}",
            get(get_api)
                .delete(delete_api)
                .put(reimport_api)
                .patch(update_api),
        )
        .route("/v2/apis/{api}/exports/{specification}", get(export_api))
        .route("/v2/apis/{api}/routes", get(get_routes).post(create_route))
        .route(
            "/v2/apis/{api}/routes/{id}",
            get(get_route).delete(delete_route).patch(update_route),
        )
        .route(
            "/v2/apis/{api}/integrations",
            get(get_integrations).post(create_integration),
        )
        .route(
            "/v2/apis/{api}/integrations/{id}",
            get(get_integration)
                .delete(delete_integration)
                .patch(update_integration),
        )
        .route("/v2/apis/{api}/stages", get(get_stages).post(create_stage))
        .route(
            "/v2/apis/{api}/stages/{id}",
            get(get_stage).delete(delete_stage).patch(update_stage),
        )
        .route(
            "/v2/apis/{api}/deployments",
            get(get_deployments).post(create_deployment),
        )
        .route(
            "/v2/apis/{api}/deployments/{id}",
            get(get_deployment).delete(delete_deployment),
        )
}

async fn v2_write(st: &AdminState, status: u16, change: V2Change) -> Response {
    write(st, status, Change::V2(Box::new(change))).await
}

fn flag(q: &[(String, String)], name: &str) -> bool {
    q.iter()
        .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == "true")
}

async fn get_apis(State(st): State<AdminState>, Query(q): Params) -> Response {
    read_list(&st, q, |cp| v2::apis(cp.store())).await
}

async fn get_api(State(st): State<AdminState>, Path(api): Path<String>) -> Response {
    read(&st, move |cp| v2::api(cp.store(), &api)).await
}

async fn create_api(State(st): State<AdminState>, b: Bytes) -> Response {
    match body::<CreateApi>(&b) {
        Ok(input) => v2_write(&st, 201, V2Change::CreateApi(input)).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Default, serde::Deserialize)]
struct ImportBody {
    body: Option<String>,
}

async fn import_api(State(st): State<AdminState>, Query(q): Params, b: Bytes) -> Response {
    match body::<ImportBody>(&b) {
        Ok(ImportBody { body: Some(text) }) => {
            let change = V2Change::ImportApi {
                body: text,
                fail_on_warnings: flag(&q, "failOnWarnings"),
            };
            v2_write(&st, 201, change).await
        }
        Ok(_) => ApiError::bad_request("body is required").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn reimport_api(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
    b: Bytes,
) -> Response {
    match body::<ImportBody>(&b) {
        Ok(ImportBody { body: Some(text) }) => {
            let change = V2Change::ReimportApi {
                api_id: api,
                body: text,
                fail_on_warnings: flag(&q, "failOnWarnings"),
            };
            v2_write(&st, 201, change).await
        }
        Ok(_) => ApiError::bad_request("body is required").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn update_api(State(st): State<AdminState>, Path(api): Path<String>, b: Bytes) -> Response {
    match body::<UpdateApi>(&b) {
        Ok(input) => v2_write(&st, 200, V2Change::UpdateApi { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

/// `ExportApi`: the document itself is the answer (`outputType` JSON or YAML; JSON is YAML too).
async fn export_api(
    State(st): State<AdminState>,
    Path((api, specification)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let param = |name: &str| {
        q.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    };
    let content_type = match param("outputType").as_deref() {
        Some("JSON") => "application/json",
        Some("YAML") => "application/yaml",
        _ => return ApiError::bad_request("outputType is required: JSON or YAML").into_response(),
    };
    let stage = param("stageName");
    let extensions = param("includeExtensions").as_deref() != Some("false");
    let cp = st.control.clone();
    let r = tokio::task::spawn_blocking(move || {
        v2::export(
            cp.store(),
            cp.cache(),
            &api,
            &specification,
            stage.as_deref(),
            extensions,
        )
    })
    .await;
    match r {
        Ok(Ok(doc)) => {
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let mut resp = text.into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(content_type) {
                resp.headers_mut().insert("content-type", v);
            }
            resp
        }
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

async fn delete_api(State(st): State<AdminState>, Path(api): Path<String>) -> Response {
    v2_write(&st, 204, V2Change::DeleteApi { api_id: api }).await
}

async fn get_routes(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| v2::routes(cp.store(), &api)).await
}

async fn get_route(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| v2::route(cp.store(), &api, &id)).await
}

async fn create_route(State(st): State<AdminState>, Path(api): Path<String>, b: Bytes) -> Response {
    match body::<RouteInput>(&b) {
        Ok(input) => v2_write(&st, 201, V2Change::CreateRoute { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

async fn update_route(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<RouteInput>(&b) {
        Ok(input) => {
            let change = V2Change::UpdateRoute {
                api_id: api,
                route_id: id,
                input,
            };
            v2_write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_route(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    let change = V2Change::DeleteRoute {
        api_id: api,
        route_id: id,
    };
    v2_write(&st, 204, change).await
}

async fn get_integrations(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| v2::integrations(cp.store(), &api)).await
}

async fn get_integration(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| v2::integration(cp.store(), &api, &id)).await
}

async fn create_integration(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    b: Bytes,
) -> Response {
    match body::<Map<String, Value>>(&b) {
        Ok(input) => v2_write(&st, 201, V2Change::CreateIntegration { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

async fn update_integration(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<Map<String, Value>>(&b) {
        Ok(input) => {
            let change = V2Change::UpdateIntegration {
                api_id: api,
                integration_id: id,
                input,
            };
            v2_write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_integration(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    let change = V2Change::DeleteIntegration {
        api_id: api,
        integration_id: id,
    };
    v2_write(&st, 204, change).await
}

async fn get_stages(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| v2::stages(cp.store(), &api)).await
}

async fn get_stage(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| v2::stage(cp.store(), &api, &id)).await
}

async fn create_stage(State(st): State<AdminState>, Path(api): Path<String>, b: Bytes) -> Response {
    match body::<StageInput>(&b) {
        Ok(input) => v2_write(&st, 201, V2Change::CreateStage { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

async fn update_stage(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<StageInput>(&b) {
        Ok(input) => {
            let change = V2Change::UpdateStage {
                api_id: api,
                stage_name: id,
                input,
            };
            v2_write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_stage(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    let change = V2Change::DeleteStage {
        api_id: api,
        stage_name: id,
    };
    v2_write(&st, 204, change).await
}

async fn get_deployments(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| v2::deployments(cp.store(), &api)).await
}

async fn get_deployment(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| v2::deployment(cp.store(), &api, &id)).await
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentInput {
    stage_name: Option<String>,
    description: Option<String>,
}

async fn create_deployment(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    b: Bytes,
) -> Response {
    match body::<DeploymentInput>(&b) {
        Ok(input) => {
            let change = V2Change::CreateDeployment {
                api_id: api,
                stage_name: input.stage_name,
                description: input.description,
            };
            v2_write(&st, 201, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_deployment(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    let change = V2Change::DeleteDeployment {
        api_id: api,
        deployment_id: id,
    };
    v2_write(&st, 204, change).await
}
