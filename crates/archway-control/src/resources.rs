//! AWS's resource tree, methods, integrations, method and integration responses and gateway
//! responses, as views of and edits to the working OpenAPI document.
//!
//! A resource is a path of the document (or an ancestor of one; `/` is the root resource);
//! its id is derived from the API id and the path ([`crate::docs::resource_id`]), so it stays
//! the same while the path exists. A resource without methods is an empty path item. A method
//! is an operation; its integration is the operation's `x-amazon-apigateway-integration`, and
//! an operation without one is a method waiting for `PutIntegration` (a deployment refuses it).

use crate::definition::{object_entry, operation_key, INTEGRATION, OPERATIONS};
use crate::docs::resource_id;
use crate::error::ApiError;
use crate::patch::PatchOperation;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// Every resource path of the document: its paths, their ancestors and `/`.
pub fn resource_paths(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert("/".to_string());
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for p in paths.keys() {
            if !p.starts_with('/') {
                continue;
            }
            let mut cur = String::new();
            for seg in p.split('/').filter(|s| !s.is_empty()) {
                cur.push('/');
                cur.push_str(seg);
                out.insert(cur.clone());
            }
        }
    }
    out
}

/// The path of the resource `id`, if it exists.
pub fn find_resource(api_id: &str, doc: &Value, id: &str) -> Option<String> {
    resource_paths(doc)
        .into_iter()
        .find(|p| resource_id(api_id, p) == id)
}

fn parent_of(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    Some(match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    })
}

fn path_item<'d>(doc: &'d Value, path: &str) -> Option<&'d Map<String, Value>> {
    doc.get("paths")?.get(path)?.as_object()
}

/// AWS's `Resource` shape; with `embed`, each method in full, else `{}` per method.
pub fn resource_view(api_id: &str, doc: &Value, path: &str, embed: bool) -> Value {
    let mut v = json!({
        "id": resource_id(api_id, path),
        "path": path,
    });
    if let Some(parent) = parent_of(path) {
        v["parentId"] = json!(resource_id(api_id, parent));
        v["pathPart"] = json!(path.rsplit('/').next().unwrap_or(""));
    }
    if let Some(item) = path_item(doc, path) {
        let mut methods = Map::new();
        for (key, method) in OPERATIONS {
            if let Some(op) = item.get(key) {
                let m = if embed {
                    method_view(doc, method, op)
                } else {
                    json!({})
                };
                methods.insert(method.to_string(), m);
            }
        }
        if !methods.is_empty() {
            v["resourceMethods"] = Value::Object(methods);
        }
    }
    v
}

fn schema_ref_name(schema: &Value) -> Option<String> {
    let r = schema.get("$ref")?.as_str()?;
    let name = r.rsplit('/').next()?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

/// AWS's `Method` shape from an operation.
pub fn method_view(doc: &Value, method: &str, op: &Value) -> Value {
    let mut params = Map::new();
    if let Some(list) = op.get("parameters").and_then(Value::as_array) {
        for p in list {
            let (Some(name), Some(loc)) = (
                p.get("name").and_then(Value::as_str),
                p.get("in").and_then(Value::as_str),
            ) else {
                continue;
            };
            let loc = match loc {
                "query" => "querystring",
                other => other,
            };
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            params.insert(format!("method.request.{loc}.{name}"), json!(required));
        }
    }
    let (auth_type, authorizer, api_key) = authorization_of(doc, op);
    let mut v = json!({
        "httpMethod": method,
        "authorizationType": auth_type,
        "apiKeyRequired": api_key,
    });
    if let Some(a) = authorizer {
        v["authorizerId"] = json!(a);
    }
    if !params.is_empty() {
        v["requestParameters"] = Value::Object(params);
    }
    if let Some(id) = op.get("operationId") {
        v["operationName"] = id.clone();
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        let models: Map<String, Value> = content
            .iter()
            .filter_map(|(ct, c)| Some((ct.clone(), json!(schema_ref_name(c.get("schema")?)?))))
            .collect();
        if !models.is_empty() {
            v["requestModels"] = Value::Object(models);
        }
    }
    if let Some(rv) = op.get("x-amazon-apigateway-request-validator") {
        v["requestValidatorId"] = rv.clone();
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        let mut out = Map::new();
        for (code, r) in responses {
            out.insert(code.clone(), method_response_view(code, r));
        }
        if !out.is_empty() {
            v["methodResponses"] = Value::Object(out);
        }
    }
    if let Some(i) = op.get(INTEGRATION) {
        v["methodIntegration"] = integration_view(i);
    }
    v
}

/// The security scheme `PutMethod` names for `apiKeyRequired` (as the exporter does).
const API_KEY_SCHEME: &str = "api_key";

/// `(authorizationType, authorizerId, apiKeyRequired)` of an operation.
fn authorization_of(doc: &Value, op: &Value) -> (String, Option<String>, bool) {
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut auth = "NONE".to_string();
    let mut authorizer = None;
    let mut api_key = false;
    if let Some(reqs) = op.get("security").and_then(Value::as_array) {
        for req in reqs {
            let Some(req) = req.as_object() else { continue };
            for name in req.keys() {
                let scheme = schemes.and_then(|s| s.get(name));
                let is_key = scheme.and_then(|s| s.get("type")).and_then(Value::as_str)
                    == Some("apiKey")
                    && scheme
                        .and_then(|s| s.get("x-amazon-apigateway-authorizer"))
                        .is_none()
                    && scheme
                        .and_then(|s| s.get("x-amazon-apigateway-authtype"))
                        .is_none();
                let authtype = scheme
                    .and_then(|s| s.get("x-amazon-apigateway-authtype"))
                    .and_then(Value::as_str);
                if is_key {
                    api_key = true;
                } else if authtype == Some("awsSigv4") {
                    auth = "AWS_IAM".into();
                } else if let Some(a) = scheme.and_then(|s| s.get("x-amazon-apigateway-authorizer"))
                {
                    let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
                    auth = match kind {
                        "cognito_user_pools" => "COGNITO_USER_POOLS",
                        "jwt" => "JWT",
                        _ => "CUSTOM",
                    }
                    .into();
                    authorizer = Some(name.clone());
                }
            }
        }
    }
    (auth, authorizer, api_key)
}

/// AWS's `MethodResponse` shape from an OpenAPI response.
pub fn method_response_view(code: &str, r: &Value) -> Value {
    let mut v = json!({ "statusCode": code });
    if let Some(h) = r.get("headers").and_then(Value::as_object) {
        let params: Map<String, Value> = h
            .keys()
            .map(|n| (format!("method.response.header.{n}"), json!(false)))
            .collect();
        if !params.is_empty() {
            v["responseParameters"] = Value::Object(params);
        }
    }
    if let Some(c) = r.get("content").and_then(Value::as_object) {
        let models: Map<String, Value> = c
            .iter()
            .filter_map(|(ct, c)| Some((ct.clone(), json!(schema_ref_name(c.get("schema")?)?))))
            .collect();
        if !models.is_empty() {
            v["responseModels"] = Value::Object(models);
        }
    }
    v
}

/// AWS's `Integration` shape from `x-amazon-apigateway-integration`.
pub fn integration_view(i: &Value) -> Value {
    let mut v = Map::new();
    let Some(m) = i.as_object() else {
        return Value::Object(v);
    };
    for (k, val) in m {
        match k.as_str() {
            "type" => {
                v.insert(
                    "type".into(),
                    json!(val.as_str().unwrap_or("").to_ascii_uppercase()),
                );
            }
            "responses" => {
                let mut out = Map::new();
                if let Some(rs) = val.as_object() {
                    for (pattern, r) in rs {
                        let code = r
                            .get("statusCode")
                            .map(|c| match c {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .unwrap_or_default();
                        out.insert(code.clone(), integration_response_view(&code, pattern, r));
                    }
                }
                v.insert("integrationResponses".into(), Value::Object(out));
            }
            "passthroughBehavior" | "contentHandling" | "connectionType" => {
                v.insert(
                    k.clone(),
                    json!(val.as_str().unwrap_or("").to_ascii_uppercase()),
                );
            }
            _ => {
                v.insert(k.clone(), val.clone());
            }
        }
    }
    if !v.contains_key("passthroughBehavior") {
        v.insert("passthroughBehavior".into(), json!("WHEN_NO_MATCH"));
    }
    if !v.contains_key("timeoutInMillis") {
        v.insert("timeoutInMillis".into(), json!(29000));
    }
    Value::Object(v)
}

fn integration_response_view(code: &str, pattern: &str, r: &Value) -> Value {
    let mut v = json!({ "statusCode": code });
    if pattern != "default" {
        v["selectionPattern"] = json!(pattern);
    }
    for k in ["responseParameters", "responseTemplates", "contentHandling"] {
        if let Some(x) = r.get(k) {
            v[k] = x.clone();
        }
    }
    v
}

// ---- edits -------------------------------------------------------------------------------

fn paths_mut(doc: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let top = doc
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the working definition is not an object"))?;
    Ok(object_entry(top, "paths"))
}

/// `CreateResource`: a child `path_part` of `parent_id`.
pub fn create_resource(
    api_id: &str,
    doc: &mut Value,
    parent_id: &str,
    path_part: &str,
) -> Result<String, ApiError> {
    let parent = find_resource(api_id, doc, parent_id)
        .ok_or_else(|| ApiError::not_found("Invalid Resource identifier specified"))?;
    let part_ok = !path_part.is_empty()
        && !path_part.contains('/')
        && path_part.len() <= 255
        && (path_part.starts_with('{') == path_part.ends_with('}'))
        && !path_part
            .trim_start_matches('{')
            .trim_end_matches('}')
            .trim_end_matches('+')
            .is_empty()
        && path_part
            .trim_start_matches('{')
            .trim_end_matches('}')
            .trim_end_matches('+')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:$~".contains(&b));
    if !part_ok {
        return Err(ApiError::bad_request(format!(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. Found: {path_part}"
        )));
    }
    let path = if parent == "/" {
        format!("/{path_part}")
    } else {
        format!("{parent}/{path_part}")
    };
    if resource_paths(doc).contains(&path) {
        return Err(ApiError::conflict(format!(
            "Another resource with the same parent already has this name: {path_part}"
        )));
    }
    paths_mut(doc)?.insert(path.clone(), json!({}));
    Ok(path)
}

/// `DeleteResource`: the resource and everything under it.
pub fn delete_resource(api_id: &str, doc: &mut Value, id: &str) -> Result<(), ApiError> {
    let path = find_resource(api_id, doc, id)
        .ok_or_else(|| ApiError::not_found("Invalid Resource identifier specified"))?;
    if path == "/" {
        return Err(ApiError::bad_request("Cannot delete root resource"));
    }
    let prefix = format!("{path}/");
    paths_mut(doc)?.retain(|p, _| p != &path && !p.starts_with(&prefix));
    Ok(())
}

/// The operation of `method` at the resource `id`: `(path, operation key)`.
fn locate(
    api_id: &str,
    doc: &Value,
    id: &str,
    method: &str,
) -> Result<(String, &'static str), ApiError> {
    let path = find_resource(api_id, doc, id)
        .ok_or_else(|| ApiError::not_found("Invalid Resource identifier specified"))?;
    let key = operation_key(method)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid HTTP method: {method}")))?;
    Ok((path, key))
}

fn operation<'d>(doc: &'d Value, path: &str, key: &str) -> Option<&'d Value> {
    doc.get("paths")?.get(path)?.get(key)
}

fn operation_mut<'d>(doc: &'d mut Value, path: &str, key: &str) -> Option<&'d mut Value> {
    doc.get_mut("paths")?.get_mut(path)?.get_mut(key)
}

fn method_not_found() -> ApiError {
    ApiError::not_found("Invalid Method identifier specified")
}

/// `GetMethod`.
pub fn get_method(api_id: &str, doc: &Value, id: &str, method: &str) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    Ok(method_view(doc, &method.to_ascii_uppercase(), op))
}

/// `PutMethod`'s input.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethod {
    pub authorization_type: Option<String>,
    pub authorizer_id: Option<String>,
    #[serde(default)]
    pub api_key_required: bool,
    pub operation_name: Option<String>,
    #[serde(default)]
    pub request_parameters: indexmap::IndexMap<String, bool>,
    #[serde(default)]
    pub request_models: indexmap::IndexMap<String, String>,
    pub request_validator_id: Option<String>,
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
}

/// `PutMethod`: a new method (without integration) on a resource.
pub fn put_method(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    input: &PutMethod,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    if operation(doc, &path, key).is_some() {
        return Err(ApiError::conflict(
            "Method already exists for this resource",
        ));
    }
    let auth = input.authorization_type.as_deref().unwrap_or("NONE");
    match auth {
        "NONE" => {}
        "AWS_IAM" | "CUSTOM" | "COGNITO_USER_POOLS" => {
            return Err(ApiError::bad_request(format!(
                "Authorization type {auth} is not supported by Archway yet"
            )))
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid authorization type specified: {other}"
            )))
        }
    }
    let mut op = Map::new();
    if input.api_key_required {
        op.insert("security".into(), json!([{ API_KEY_SCHEME: [] }]));
        let top = doc
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("The API's definition is not an object"))?;
        let components = object_entry(top, "components");
        let schemes = object_entry(components, "securitySchemes");
        schemes
            .entry(API_KEY_SCHEME)
            .or_insert_with(|| json!({ "type": "apiKey", "name": "x-api-key", "in": "header" }));
    }
    let mut params = Vec::new();
    for (expr, required) in &input.request_parameters {
        let rest = expr.strip_prefix("method.request.").ok_or_else(|| {
            ApiError::bad_request(format!("Invalid mapping expression specified: {expr}"))
        })?;
        let (loc, name) = rest.split_once('.').ok_or_else(|| {
            ApiError::bad_request(format!("Invalid mapping expression specified: {expr}"))
        })?;
        let loc = match loc {
            "path" => "path",
            "querystring" => "query",
            "header" => "header",
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid mapping expression specified: {expr}"
                )))
            }
        };
        if name.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Invalid mapping expression specified: {expr}"
            )));
        }
        params.push(json!({
            "name": name,
            "in": loc,
            "required": *required || loc == "path",
            "schema": { "type": "string" },
        }));
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(n) = &input.operation_name {
        op.insert("operationId".into(), json!(n));
    }
    if !input.request_models.is_empty() {
        let mut content = Map::new();
        for (ct, model) in &input.request_models {
            content.insert(
                ct.clone(),
                json!({ "schema": { "$ref": format!("#/components/schemas/{model}") } }),
            );
        }
        op.insert("requestBody".into(), json!({ "content": content }));
    }
    if let Some(v) = &input.request_validator_id {
        op.insert("x-amazon-apigateway-request-validator".into(), json!(v));
    }
    op.insert("responses".into(), json!({}));
    let paths = paths_mut(doc)?;
    let item = object_entry(paths, &path);
    item.insert(key.to_string(), Value::Object(op));
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    Ok(method_view(doc, &method.to_ascii_uppercase(), op))
}

/// `DeleteMethod`.
pub fn delete_method(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
) -> Result<(), ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let item = doc
        .get_mut("paths")
        .and_then(|p| p.get_mut(&path))
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    item.remove(key).ok_or_else(method_not_found)?;
    Ok(())
}

/// `PutIntegration`'s input.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegration {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub integration_http_method: Option<String>,
    pub uri: Option<String>,
    pub connection_type: Option<String>,
    pub connection_id: Option<String>,
    pub credentials: Option<String>,
    #[serde(default)]
    pub request_parameters: indexmap::IndexMap<String, String>,
    #[serde(default)]
    pub request_templates: indexmap::IndexMap<String, String>,
    pub passthrough_behavior: Option<String>,
    pub cache_namespace: Option<String>,
    #[serde(default)]
    pub cache_key_parameters: Vec<String>,
    pub content_handling: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub tls_config: Option<Value>,
}

/// `PutIntegration`: sets (replaces) the method's integration.
pub fn put_integration(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    input: &PutIntegration,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let kind = input.kind.as_deref().ok_or_else(|| {
        ApiError::bad_request("Enumeration value for IntegrationType must be non-empty")
    })?;
    let kind_l = match kind {
        "HTTP" | "HTTP_PROXY" | "MOCK" | "AWS" | "AWS_PROXY" => kind.to_ascii_lowercase(),
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid integration type specified: {other}"
            )))
        }
    };
    let mut i = Map::new();
    i.insert("type".into(), json!(kind_l));
    match (kind, &input.uri) {
        ("MOCK", _) => {}
        (_, None) => {
            return Err(ApiError::bad_request(
                "Enumeration value for Integration URI must be non-empty",
            ))
        }
        (_, Some(u)) => {
            i.insert("uri".into(), json!(u));
        }
    }
    if kind != "MOCK" {
        let m = input.integration_http_method.as_deref().ok_or_else(|| {
            ApiError::bad_request("Enumeration value for HttpMethod must be non-empty")
        })?;
        i.insert("httpMethod".into(), json!(m));
    }
    if let Some(t) = input.timeout_in_millis {
        if !(50..=29_000).contains(&t) {
            return Err(ApiError::bad_request(
                "Timeout should be between 50 ms and 29000 ms",
            ));
        }
        i.insert("timeoutInMillis".into(), json!(t));
    }
    if let Some(p) = &input.passthrough_behavior {
        if !matches!(p.as_str(), "WHEN_NO_MATCH" | "WHEN_NO_TEMPLATES" | "NEVER") {
            return Err(ApiError::bad_request(format!(
                "Invalid passthrough behavior specified: {p}"
            )));
        }
        i.insert("passthroughBehavior".into(), json!(p.to_ascii_lowercase()));
    }
    if !input.request_parameters.is_empty() {
        i.insert("requestParameters".into(), json!(input.request_parameters));
    }
    if !input.request_templates.is_empty() {
        i.insert("requestTemplates".into(), json!(input.request_templates));
    }
    for (k, v) in [
        ("connectionType", &input.connection_type),
        ("connectionId", &input.connection_id),
        ("credentials", &input.credentials),
        ("cacheNamespace", &input.cache_namespace),
        ("contentHandling", &input.content_handling),
    ] {
        if let Some(v) = v {
            i.insert(k.into(), json!(v));
        }
    }
    if !input.cache_key_parameters.is_empty() {
        i.insert(
            "cacheKeyParameters".into(),
            json!(input.cache_key_parameters),
        );
    }
    if let Some(t) = &input.tls_config {
        i.insert("tlsConfig".into(), t.clone());
    }
    let op = operation_mut(doc, &path, key)
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    op.insert(INTEGRATION.into(), Value::Object(i));
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    Ok(integration_view(
        op.get(INTEGRATION).unwrap_or(&Value::Null),
    ))
}

/// `UpdateMethod`: patch operations on the method's `PutMethod` shape, put again; what a put
/// does not write (its integration, responses) is kept.
pub fn update_method(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    patch: &[PatchOperation],
) -> Result<Value, ApiError> {
    use crate::patch::FieldKind::{Bool, Str};
    let (path, key) = locate(api_id, doc, id, method)?;
    let old = operation(doc, &path, key)
        .cloned()
        .ok_or_else(method_not_found)?;
    let view = method_view(doc, method, &old);
    let mut input = Map::new();
    for k in [
        "authorizationType",
        "apiKeyRequired",
        "operationName",
        "requestParameters",
        "requestModels",
        "requestValidatorId",
    ] {
        if let Some(v) = view.get(k) {
            input.insert(k.into(), v.clone());
        }
    }
    crate::patch::patch_input(
        &mut input,
        patch,
        &[
            ("authorizationType", Str),
            ("apiKeyRequired", Bool),
            ("operationName", Str),
            ("requestValidatorId", Str),
        ],
        &[("requestParameters", Bool), ("requestModels", Str)],
    )?;
    let put: PutMethod = serde_json::from_value(Value::Object(input))
        .map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    delete_method(api_id, doc, id, method)?;
    put_method(api_id, doc, id, method, &put)?;
    let op = operation_mut(doc, &path, key)
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    // What `PutMethod` does not write (the integration, responses, ...) stays as it was.
    let put_keys = [
        "parameters",
        "operationId",
        "requestBody",
        "x-amazon-apigateway-request-validator",
    ];
    if let Some(old) = old.as_object() {
        for (k, v) in old {
            if !put_keys.contains(&k.as_str()) {
                op.insert(k.clone(), v.clone());
            }
        }
    }
    get_method(api_id, doc, id, method)
}

/// `UpdateIntegration`: patch operations on the integration's `PutIntegration` shape, put
/// again; its integration responses are kept.
pub fn update_integration(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    patch: &[PatchOperation],
) -> Result<Value, ApiError> {
    use crate::patch::FieldKind::{Int, Str};
    let (path, key) = locate(api_id, doc, id, method)?;
    let old = operation(doc, &path, key)
        .ok_or_else(method_not_found)?
        .get(INTEGRATION)
        .cloned()
        .ok_or_else(integration_not_found)?;
    let mut input = match integration_view(&old) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    input.remove("integrationResponses");
    crate::patch::patch_input(
        &mut input,
        patch,
        &[
            ("uri", Str),
            ("httpMethod", Str),
            ("timeoutInMillis", Int),
            ("passthroughBehavior", Str),
            ("connectionType", Str),
            ("connectionId", Str),
            ("credentials", Str),
            ("contentHandling", Str),
            ("cacheNamespace", Str),
        ],
        &[("requestParameters", Str), ("requestTemplates", Str)],
    )?;
    if let Some(m) = input.remove("httpMethod") {
        input.insert("integrationHttpMethod".into(), m);
    }
    let put: PutIntegration = serde_json::from_value(Value::Object(input))
        .map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    put_integration(api_id, doc, id, method, &put)?;
    if let Some(r) = old.get("responses") {
        if let Some(i) = operation_mut(doc, &path, key)
            .and_then(|op| op.get_mut(INTEGRATION))
            .and_then(Value::as_object_mut)
        {
            i.insert("responses".into(), r.clone());
        }
    }
    get_integration(api_id, doc, id, method)
}

fn integration_not_found() -> ApiError {
    ApiError::not_found("Invalid Integration identifier specified")
}

/// `GetIntegration`.
pub fn get_integration(
    api_id: &str,
    doc: &Value,
    id: &str,
    method: &str,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    let i = op.get(INTEGRATION).ok_or_else(integration_not_found)?;
    Ok(integration_view(i))
}

/// `DeleteIntegration`.
pub fn delete_integration(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
) -> Result<(), ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation_mut(doc, &path, key)
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    op.remove(INTEGRATION).ok_or_else(integration_not_found)?;
    Ok(())
}

fn check_status(code: &str) -> Result<(), ApiError> {
    let ok = code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && (code.starts_with(['1', '2', '3', '4', '5']));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid status code: {code}"
        )))
    }
}

fn response_not_found() -> ApiError {
    ApiError::not_found("Invalid Response status code specified")
}

/// `PutMethodResponse`'s input.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMethodResponse {
    #[serde(default)]
    pub response_parameters: indexmap::IndexMap<String, bool>,
    #[serde(default)]
    pub response_models: indexmap::IndexMap<String, String>,
}

/// `PutMethodResponse`.
pub fn put_method_response(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    code: &str,
    input: &PutMethodResponse,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    check_status(code)?;
    let mut r = Map::new();
    r.insert("description".into(), json!(format!("{code} response")));
    let mut headers = Map::new();
    for p in input.response_parameters.keys() {
        let name = p.strip_prefix("method.response.header.").ok_or_else(|| {
            ApiError::bad_request(format!("Invalid mapping expression specified: {p}"))
        })?;
        if name.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Invalid mapping expression specified: {p}"
            )));
        }
        headers.insert(name.to_string(), json!({ "schema": { "type": "string" } }));
    }
    if !headers.is_empty() {
        r.insert("headers".into(), Value::Object(headers));
    }
    if !input.response_models.is_empty() {
        let mut content = Map::new();
        for (ct, model) in &input.response_models {
            content.insert(
                ct.clone(),
                json!({ "schema": { "$ref": format!("#/components/schemas/{model}") } }),
            );
        }
        r.insert("content".into(), Value::Object(content));
    }
    let op = operation_mut(doc, &path, key)
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    let responses = object_entry(op, "responses");
    let r = Value::Object(r);
    let view = method_response_view(code, &r);
    responses.insert(code.to_string(), r);
    Ok(view)
}

/// `GetMethodResponse`.
pub fn get_method_response(
    api_id: &str,
    doc: &Value,
    id: &str,
    method: &str,
    code: &str,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    let r = op
        .get("responses")
        .and_then(|r| r.get(code))
        .ok_or_else(response_not_found)?;
    Ok(method_response_view(code, r))
}

/// `DeleteMethodResponse`.
pub fn delete_method_response(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    code: &str,
) -> Result<(), ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation_mut(doc, &path, key).ok_or_else(method_not_found)?;
    op.get_mut("responses")
        .and_then(Value::as_object_mut)
        .and_then(|r| r.remove(code))
        .ok_or_else(response_not_found)?;
    Ok(())
}

/// `PutIntegrationResponse`'s input.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutIntegrationResponse {
    pub selection_pattern: Option<String>,
    #[serde(default)]
    pub response_parameters: indexmap::IndexMap<String, String>,
    #[serde(default)]
    pub response_templates: indexmap::IndexMap<String, String>,
    pub content_handling: Option<String>,
}

fn integration_responses_mut<'d>(
    doc: &'d mut Value,
    path: &str,
    key: &str,
) -> Result<&'d mut Map<String, Value>, ApiError> {
    let op = operation_mut(doc, path, key)
        .and_then(Value::as_object_mut)
        .ok_or_else(method_not_found)?;
    let i = op
        .get_mut(INTEGRATION)
        .and_then(Value::as_object_mut)
        .ok_or_else(integration_not_found)?;
    Ok(object_entry(i, "responses"))
}

fn status_of(r: &Value) -> String {
    match r.get("statusCode") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `PutIntegrationResponse`: replaces the response with the same status code.
pub fn put_integration_response(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    code: &str,
    input: &PutIntegrationResponse,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    check_status(code)?;
    let responses = integration_responses_mut(doc, &path, key)?;
    responses.retain(|_, r| status_of(r) != code);
    let pattern = match input.selection_pattern.as_deref() {
        None | Some("") => "default".to_string(),
        Some(p) => {
            regex::Regex::new(p).map_err(|_| {
                ApiError::bad_request(format!("Invalid selection pattern specified: {p}"))
            })?;
            p.to_string()
        }
    };
    if responses.contains_key(&pattern) {
        return Err(ApiError::bad_request(format!(
            "Another integration response already uses the selection pattern {pattern}"
        )));
    }
    let mut r = Map::new();
    r.insert("statusCode".into(), json!(code));
    if !input.response_parameters.is_empty() {
        r.insert(
            "responseParameters".into(),
            json!(input.response_parameters),
        );
    }
    if !input.response_templates.is_empty() {
        r.insert("responseTemplates".into(), json!(input.response_templates));
    }
    if let Some(c) = &input.content_handling {
        r.insert("contentHandling".into(), json!(c));
    }
    let r = Value::Object(r);
    let view = integration_response_view(code, &pattern, &r);
    responses.insert(pattern, r);
    Ok(view)
}

/// `GetIntegrationResponse`.
pub fn get_integration_response(
    api_id: &str,
    doc: &Value,
    id: &str,
    method: &str,
    code: &str,
) -> Result<Value, ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let op = operation(doc, &path, key).ok_or_else(method_not_found)?;
    let i = op.get(INTEGRATION).ok_or_else(integration_not_found)?;
    i.get("responses")
        .and_then(Value::as_object)
        .and_then(|rs| rs.iter().find(|(_, r)| status_of(r) == code))
        .map(|(p, r)| integration_response_view(code, p, r))
        .ok_or_else(response_not_found)
}

/// `DeleteIntegrationResponse`.
pub fn delete_integration_response(
    api_id: &str,
    doc: &mut Value,
    id: &str,
    method: &str,
    code: &str,
) -> Result<(), ApiError> {
    let (path, key) = locate(api_id, doc, id, method)?;
    let responses = integration_responses_mut(doc, &path, key)?;
    let before = responses.len();
    responses.retain(|_, r| status_of(r) != code);
    if responses.len() == before {
        return Err(response_not_found());
    }
    Ok(())
}

// ---- gateway responses --------------------------------------------------------------------

const GATEWAY_RESPONSES: &str = "x-amazon-apigateway-gateway-responses";

/// AWS's response types that `PutGatewayResponse` accepts.
pub const GATEWAY_RESPONSE_TYPES: [&str; 21] = [
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "RESOURCE_NOT_FOUND",
    "UNAUTHORIZED",
    "INVALID_API_KEY",
    "ACCESS_DENIED",
    "AUTHORIZER_FAILURE",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "INVALID_SIGNATURE",
    "EXPIRED_TOKEN",
    "MISSING_AUTHENTICATION_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "API_CONFIGURATION_ERROR",
    "UNSUPPORTED_MEDIA_TYPE",
    "BAD_REQUEST_PARAMETERS",
    "BAD_REQUEST_BODY",
    "REQUEST_TOO_LARGE",
    "THROTTLED",
    "QUOTA_EXCEEDED",
    "WAF_FILTERED",
];

fn check_response_type(t: &str) -> Result<(), ApiError> {
    if GATEWAY_RESPONSE_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "1 validation error detected: Value '{t}' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            GATEWAY_RESPONSE_TYPES.join(", ")
        )))
    }
}

fn default_status(t: &str) -> Option<u16> {
    archway_model::GatewayResponseType::parse(t).map(|g| g.default_status())
}

fn gateway_response_view(t: &str, custom: Option<&Value>) -> Value {
    let mut v = json!({ "responseType": t, "defaultResponse": custom.is_none() });
    match custom {
        Some(c) => {
            if let Some(s) = c.get("statusCode") {
                v["statusCode"] = json!(status_string(s));
            }
            for k in ["responseParameters", "responseTemplates"] {
                if let Some(x) = c.get(k) {
                    v[k] = x.clone();
                }
            }
        }
        None => {
            if let Some(s) = default_status(t).filter(|_| !t.starts_with("DEFAULT_")) {
                v["statusCode"] = json!(s.to_string());
            }
            v["responseParameters"] = json!({});
            v["responseTemplates"] = json!({
                "application/json": "{\"message\":$context.error.messageString}"
            });
        }
    }
    v
}

fn status_string(s: &Value) -> String {
    match s {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GetGatewayResponses`: every type, customised or default.
pub fn gateway_responses(doc: &Value) -> Value {
    let custom = doc.get(GATEWAY_RESPONSES).and_then(Value::as_object);
    let items: Vec<Value> = GATEWAY_RESPONSE_TYPES
        .iter()
        .map(|t| gateway_response_view(t, custom.and_then(|c| c.get(*t))))
        .collect();
    json!({ "item": items })
}

/// `GetGatewayResponse`.
pub fn get_gateway_response(doc: &Value, t: &str) -> Result<Value, ApiError> {
    check_response_type(t)?;
    let custom = doc.get(GATEWAY_RESPONSES).and_then(|c| c.get(t));
    Ok(gateway_response_view(t, custom))
}

/// `PutGatewayResponse`'s input.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutGatewayResponse {
    pub status_code: Option<String>,
    #[serde(default)]
    pub response_parameters: indexmap::IndexMap<String, String>,
    #[serde(default)]
    pub response_templates: indexmap::IndexMap<String, String>,
}

/// `PutGatewayResponse`.
pub fn put_gateway_response(
    doc: &mut Value,
    t: &str,
    input: &PutGatewayResponse,
) -> Result<Value, ApiError> {
    check_response_type(t)?;
    let mut r = Map::new();
    if let Some(s) = &input.status_code {
        check_status(s)?;
        r.insert("statusCode".into(), json!(s));
    }
    if !input.response_parameters.is_empty() {
        r.insert(
            "responseParameters".into(),
            json!(input.response_parameters),
        );
    }
    if !input.response_templates.is_empty() {
        r.insert("responseTemplates".into(), json!(input.response_templates));
    }
    let top = doc
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the working definition is not an object"))?;
    let r = Value::Object(r);
    let view = gateway_response_view(t, Some(&r));
    object_entry(top, GATEWAY_RESPONSES).insert(t.to_string(), r);
    Ok(view)
}

/// `DeleteGatewayResponse`.
pub fn delete_gateway_response(doc: &mut Value, t: &str) -> Result<(), ApiError> {
    check_response_type(t)?;
    let removed = doc
        .get_mut(GATEWAY_RESPONSES)
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove(t));
    if removed.is_none() {
        return Err(ApiError::not_found(
            "Invalid Gateway Response identifier specified",
        ));
    }
    if doc
        .get(GATEWAY_RESPONSES)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        if let Some(top) = doc.as_object_mut() {
            top.remove(GATEWAY_RESPONSES);
        }
    }
    Ok(())
}
