//! The admin API: Amazon API Gateway's management API for REST APIs (`apigateway`,
//! 2015-07-09), on its own listener, so that boto3, the AWS CLI and the SDKs work against it
//! with `endpoint_url`. Paths, methods, JSON shapes and status codes are those of botocore's
//! service model; errors are `{"message": ...}` with `x-amzn-ErrorType`.
//!
//! Every request passes [`auth::require_signature`] first. Reads run on the blocking pool
//! against the store; writes become [`Change`]s for [`ControlPlane::apply_async`], which answers
//! once the change is durable and served.

pub mod auth;
mod usage;
mod v2;

use crate::apply::{CreateDeployment, CreateRestApi, CreateStage, Edit, PutMode};
use crate::error::ApiError;
use crate::patch::PatchOperation;
use crate::{query, resources, Change, ControlPlane};
use archway_aws::sigv4::Credentials;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AdminState {
    pub control: Arc<ControlPlane>,
    pub credentials: Arc<Credentials>,
}

/// The admin API's routes, behind the signature check.
pub fn router(control: Arc<ControlPlane>, credentials: Credentials) -> Router {
    let st = AdminState {
        control,
        credentials: Arc::new(credentials),
    };
    let operations = Router::new()
        .route("/restapis", post(create_or_import).get(get_rest_apis))
        .route(
            "/restapis/{api}",
            get(get_rest_api)
                .delete(delete_rest_api)
                .put(put_rest_api)
                .patch(update_rest_api),
        )
        .route(
            "/restapis/{api}/deployments",
            post(create_deployment).get(get_deployments),
        )
        .route(
            "/restapis/{api}/deployments/{id}",
            get(get_deployment)
                .delete(delete_deployment)
                .patch(update_deployment),
        )
        .route("/restapis/{api}/stages", post(create_stage).get(get_stages))
        .route(
            "/restapis/{api}/stages/{stage}",
            get(get_stage).patch(update_stage).delete(delete_stage),
        )
        .route(
            "/restapis/{api}/stages/{stage}/exports/{kind}",
            get(get_export),
        )
        .route("/restapis/{api}/resources", get(get_resources))
        .route(
            "/restapis/{api}/resources/{res}",
            get(get_resource)
                .post(create_resource)
                .delete(delete_resource),
        )
        .route(
            "/restapis/{api}/resources/{res}/methods/{method}",
            put(put_method)
                .get(get_method)
                .delete(delete_method)
                .patch(update_method),
        )
        .route(
            "/restapis/{api}/resources/{res}/methods/{method}/integration",
            put(put_integration)
                .get(get_integration)
                .delete(delete_integration)
                .patch(update_integration),
        )
        .route(
            "/restapis/{api}/resources/{res}/methods/{method}/responses/{code}",
            put(put_method_response)
                .get(get_method_response)
                .delete(delete_method_response),
        )
        .route(
            "/restapis/{api}/resources/{res}/methods/{method}/integration/responses/{code}",
            put(put_integration_response)
                .get(get_integration_response)
                .delete(delete_integration_response),
        )
        .route(
            "/restapis/{api}/gatewayresponses",
            get(get_gateway_responses),
        )
        .route(
            "/restapis/{api}/gatewayresponses/{kind}",
            put(put_gateway_response)
                .get(get_gateway_response)
                .delete(delete_gateway_response),
        )
        .merge(v2::routes())
        .merge(usage::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .with_state(st.clone());
    // The signature check wraps everything, unknown paths and methods included.
    Router::new()
        .fallback_service(operations)
        .layer(axum::extract::DefaultBodyLimit::max(auth::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            st,
            auth::require_signature,
        ))
}

/// Serves the admin API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    control: Arc<ControlPlane>,
    credentials: Credentials,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(control, credentials))
        .with_graceful_shutdown(shutdown)
        .await
}

fn request_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let hex = |n: usize, rng: &mut rand::rngs::ThreadRng| -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(8, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(12, &mut rng)
    )
}

/// An error in AWS's form: `{"message": ...}` and `x-amzn-ErrorType`.
pub fn error_response(status: u16, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(error_type) {
        h.insert("x-amzn-errortype", v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status(), self.error_type(), &self.message)
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        body.to_string(),
    )
        .into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn empty_response(status: u16) -> Response {
    let mut resp = StatusCode::from_u16(status)
        .unwrap_or(StatusCode::ACCEPTED)
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

async fn unknown_operation() -> Response {
    ApiError::new(crate::ErrorKind::UnknownOperation, "Unknown operation").into_response()
}

/// A JSON request body; an empty body is the input's default.
fn body<T: DeserializeOwned + Default>(b: &Bytes) -> Result<T, ApiError> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(b)
        .map_err(|e| ApiError::bad_request(format!("Could not parse request body into json: {e}")))
}

/// Runs a read on the blocking pool.
async fn read(
    st: &AdminState,
    f: impl FnOnce(&ControlPlane) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    let cp = st.control.clone();
    match tokio::task::spawn_blocking(move || f(&cp)).await {
        Ok(Ok(v)) => json_response(200, &v),
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

/// Runs a list read on the blocking pool and answers one page of it (`query::paginate`).
async fn read_list(
    st: &AdminState,
    params: Vec<(String, String)>,
    f: impl FnOnce(&ControlPlane) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    read(st, move |cp| query::paginate(f(cp)?, &params)).await
}

/// Applies a write and answers `status` with the outcome (or nothing for deletes).
async fn write(st: &AdminState, status: u16, change: Change) -> Response {
    match st.control.apply_async(change).await {
        Ok(out) if out.body.is_null() => empty_response(status),
        Ok(out) => json_response(status, &out.body),
        Err(e) => e.into_response(),
    }
}

type Params = Query<Vec<(String, String)>>;

fn param<'p>(q: &'p [(String, String)], name: &str) -> Option<&'p str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn import_parameters(q: &[(String, String)]) -> Vec<(String, String)> {
    q.iter()
        .filter(|(k, _)| {
            !k.eq_ignore_ascii_case("mode") && !k.eq_ignore_ascii_case("failonwarnings")
        })
        .cloned()
        .collect()
}

fn document_text(b: &Bytes) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec())
        .map_err(|_| ApiError::bad_request("The request body must be UTF-8 text (JSON or YAML)"))
}

// ---- REST APIs ------------------------------------------------------------------------------

async fn create_or_import(State(st): State<AdminState>, Query(q): Params, b: Bytes) -> Response {
    if param(&q, "mode") == Some("import") {
        let text = match document_text(&b) {
            Ok(t) => t,
            Err(e) => return e.into_response(),
        };
        let change = Change::ImportRestApi {
            body: text,
            parameters: import_parameters(&q),
            fail_on_warnings: param(&q, "failonwarnings") == Some("true"),
        };
        return write(&st, 201, change).await;
    }
    match body::<CreateRestApi>(&b) {
        Ok(input) => write(&st, 201, Change::CreateRestApi(input)).await,
        Err(e) => e.into_response(),
    }
}

async fn get_rest_apis(State(st): State<AdminState>, Query(q): Params) -> Response {
    read_list(&st, q, |cp| query::rest_apis(cp.store())).await
}

async fn get_rest_api(State(st): State<AdminState>, Path(api): Path<String>) -> Response {
    read(&st, move |cp| query::rest_api(cp.store(), &api)).await
}

async fn delete_rest_api(State(st): State<AdminState>, Path(api): Path<String>) -> Response {
    write(&st, 202, Change::DeleteRestApi { api_id: api }).await
}

async fn update_rest_api(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let change = Change::UpdateRestApi {
                api_id: api,
                patch: p.patch_operations,
            };
            write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn put_rest_api(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
    b: Bytes,
) -> Response {
    let mode = match param(&q, "mode") {
        None | Some("merge") => PutMode::Merge,
        Some("overwrite") => PutMode::Overwrite,
        Some(other) => {
            return ApiError::bad_request(format!(
                "Invalid mode {other}: must be merge or overwrite"
            ))
            .into_response()
        }
    };
    let text = match document_text(&b) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let change = Change::PutRestApi {
        api_id: api,
        mode,
        body: text,
        parameters: import_parameters(&q),
        fail_on_warnings: param(&q, "failonwarnings") == Some("true"),
    };
    write(&st, 200, change).await
}

// ---- deployments ------------------------------------------------------------------------------

async fn create_deployment(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    b: Bytes,
) -> Response {
    match body::<CreateDeployment>(&b) {
        Ok(input) => write(&st, 201, Change::CreateDeployment { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

async fn get_deployments(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| query::deployments(cp.store(), &api)).await
}

async fn get_deployment(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| query::deployment(cp.store(), &api, &id)).await
}

async fn delete_deployment(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
) -> Response {
    let change = Change::DeleteDeployment {
        api_id: api,
        deployment_id: id,
    };
    write(&st, 202, change).await
}

async fn update_deployment(
    State(st): State<AdminState>,
    Path((api, id)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let change = Change::UpdateDeployment {
                api_id: api,
                deployment_id: id,
                patch: p.patch_operations,
            };
            write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

// ---- stages -----------------------------------------------------------------------------------

async fn create_stage(State(st): State<AdminState>, Path(api): Path<String>, b: Bytes) -> Response {
    match body::<CreateStage>(&b) {
        Ok(input) => write(&st, 201, Change::CreateStage { api_id: api, input }).await,
        Err(e) => e.into_response(),
    }
}

async fn get_stages(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    let dep = param(&q, "deploymentId").map(str::to_string);
    read(&st, move |cp| {
        query::stages(cp.store(), &api, dep.as_deref())
    })
    .await
}

async fn get_stage(
    State(st): State<AdminState>,
    Path((api, stage)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| query::stage(cp.store(), &api, &stage)).await
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchInput {
    #[serde(default)]
    patch_operations: Vec<PatchOperation>,
}

async fn update_stage(
    State(st): State<AdminState>,
    Path((api, stage)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let change = Change::UpdateStage {
                api_id: api,
                stage_name: stage,
                patch: p.patch_operations,
            };
            write(&st, 200, change).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_stage(
    State(st): State<AdminState>,
    Path((api, stage)): Path<(String, String)>,
) -> Response {
    let change = Change::DeleteStage {
        api_id: api,
        stage_name: stage,
    };
    write(&st, 202, change).await
}

async fn get_export(
    State(st): State<AdminState>,
    Path((api, stage, kind)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let yaml = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("yaml"));
    let cp = st.control.clone();
    let (api2, stage2, kind2) = (api.clone(), stage.clone(), kind.clone());
    let r = tokio::task::spawn_blocking(move || {
        query::export(cp.store(), cp.cache(), &api2, &stage2, &kind2)
    })
    .await;
    match r {
        Ok(Ok(doc)) => {
            // JSON is YAML too: a YAML request gets the same text under YAML's media type.
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let ct = if yaml {
                "application/yaml"
            } else {
                "application/json"
            };
            let ext = if yaml { "yaml" } else { "json" };
            let mut resp = (StatusCode::OK, text).into_response();
            let h = resp.headers_mut();
            h.insert("content-type", HeaderValue::from_static(ct));
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{kind}_{api}_{stage}.{ext}\""
            )) {
                h.insert("content-disposition", v);
            }
            resp
        }
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

// ---- resources and methods --------------------------------------------------------------------

fn embeds_methods(q: &[(String, String)]) -> bool {
    q.iter()
        .any(|(k, v)| k == "embed" && v.split(',').any(|e| e == "methods"))
}

async fn get_resources(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    let embed = embeds_methods(&q);
    read_list(&st, q, move |cp| query::resources(cp.store(), &api, embed)).await
}

async fn get_resource(
    State(st): State<AdminState>,
    Path((api, res)): Path<(String, String)>,
    Query(q): Params,
) -> Response {
    let embed = embeds_methods(&q);
    read(&st, move |cp| {
        query::resource(cp.store(), &api, &res, embed)
    })
    .await
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateResourceInput {
    path_part: Option<String>,
}

async fn create_resource(
    State(st): State<AdminState>,
    Path((api, parent)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    let input = match body::<CreateResourceInput>(&b) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let Some(path_part) = input.path_part else {
        return ApiError::bad_request("pathPart is required").into_response();
    };
    let edit = Edit::CreateResource {
        parent_id: parent,
        path_part,
    };
    write_edit(&st, 201, api, edit).await
}

async fn delete_resource(
    State(st): State<AdminState>,
    Path((api, res)): Path<(String, String)>,
) -> Response {
    let edit = Edit::DeleteResource { resource_id: res };
    write_edit(&st, 202, api, edit).await
}

async fn put_method(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<resources::PutMethod>(&b) {
        Ok(input) => {
            let edit = Edit::PutMethod {
                resource_id: res,
                http_method: method,
                input,
            };
            write_edit(&st, 201, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn get_method(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
) -> Response {
    read(&st, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        resources::get_method(&api, &doc, &res, &method)
    })
    .await
}

async fn update_method(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let edit = Edit::UpdateMethod {
                resource_id: res,
                http_method: method,
                patch: p.patch_operations,
            };
            write_edit(&st, 200, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn update_integration(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<PatchInput>(&b) {
        Ok(p) => {
            let edit = Edit::UpdateIntegration {
                resource_id: res,
                http_method: method,
                patch: p.patch_operations,
            };
            write_edit(&st, 200, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_method(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
) -> Response {
    let edit = Edit::DeleteMethod {
        resource_id: res,
        http_method: method,
    };
    write_edit(&st, 204, api, edit).await
}

async fn put_integration(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<resources::PutIntegration>(&b) {
        Ok(input) => {
            let edit = Edit::PutIntegration {
                resource_id: res,
                http_method: method,
                input,
            };
            write_edit(&st, 201, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn get_integration(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
) -> Response {
    read(&st, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        resources::get_integration(&api, &doc, &res, &method)
    })
    .await
}

async fn delete_integration(
    State(st): State<AdminState>,
    Path((api, res, method)): Path<(String, String, String)>,
) -> Response {
    let edit = Edit::DeleteIntegration {
        resource_id: res,
        http_method: method,
    };
    write_edit(&st, 204, api, edit).await
}

async fn put_method_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<resources::PutMethodResponse>(&b) {
        Ok(input) => {
            let edit = Edit::PutMethodResponse {
                resource_id: res,
                http_method: method,
                status_code: code,
                input,
            };
            write_edit(&st, 201, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn get_method_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
) -> Response {
    read(&st, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        resources::get_method_response(&api, &doc, &res, &method, &code)
    })
    .await
}

async fn delete_method_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
) -> Response {
    let edit = Edit::DeleteMethodResponse {
        resource_id: res,
        http_method: method,
        status_code: code,
    };
    write_edit(&st, 204, api, edit).await
}

async fn put_integration_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
    b: Bytes,
) -> Response {
    match body::<resources::PutIntegrationResponse>(&b) {
        Ok(input) => {
            let edit = Edit::PutIntegrationResponse {
                resource_id: res,
                http_method: method,
                status_code: code,
                input,
            };
            write_edit(&st, 201, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn get_integration_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
) -> Response {
    read(&st, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        resources::get_integration_response(&api, &doc, &res, &method, &code)
    })
    .await
}

async fn delete_integration_response(
    State(st): State<AdminState>,
    Path((api, res, method, code)): Path<(String, String, String, String)>,
) -> Response {
    let edit = Edit::DeleteIntegrationResponse {
        resource_id: res,
        http_method: method,
        status_code: code,
    };
    write_edit(&st, 204, api, edit).await
}

/// Writes one edit of a REST API's working definition: the shape every resource, method and
/// integration operation shares.
async fn write_edit(st: &AdminState, status: u16, api_id: String, edit: Edit) -> Response {
    write(
        st,
        status,
        Change::Edit {
            api_id,
            edit: Box::new(edit),
        },
    )
    .await
}

// ---- gateway responses ------------------------------------------------------------------------

async fn get_gateway_responses(
    State(st): State<AdminState>,
    Path(api): Path<String>,
    Query(q): Params,
) -> Response {
    read_list(&st, q, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        Ok(resources::gateway_responses(&doc))
    })
    .await
}

async fn get_gateway_response(
    State(st): State<AdminState>,
    Path((api, kind)): Path<(String, String)>,
) -> Response {
    read(&st, move |cp| {
        let doc = query::working(cp.store(), &api)?;
        resources::get_gateway_response(&doc, &kind)
    })
    .await
}

async fn put_gateway_response(
    State(st): State<AdminState>,
    Path((api, kind)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    match body::<resources::PutGatewayResponse>(&b) {
        Ok(input) => {
            let edit = Edit::PutGatewayResponse {
                response_type: kind,
                input,
            };
            write_edit(&st, 201, api, edit).await
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_gateway_response(
    State(st): State<AdminState>,
    Path((api, kind)): Path<(String, String)>,
) -> Response {
    let edit = Edit::DeleteGatewayResponse {
        response_type: kind,
    };
    write_edit(&st, 202, api, edit).await
}
