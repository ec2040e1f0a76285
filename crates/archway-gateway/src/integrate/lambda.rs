//! `AWS_PROXY`: the request becomes a Lambda proxy event (payload format 1.0 or 2.0), the
//! function's answer becomes the response, both exactly as API Gateway shapes and parses them
//! (`../shared/AWS-COMPAT.md`, "Lambda proxy events"; the fixtures in
//! `../shared/fixtures/lambda-events/` are the reference the tests compare against).
//!
//! - 1.0 (REST APIs, and HTTP APIs that ask for it): `headers`/`multiValueHeaders`, query
//!   parameters single and multi-valued, `null` for whatever is absent, `requestContext` with
//!   `identity`; the response must be an object of `statusCode`, `headers`,
//!   `multiValueHeaders`, `body` and `isBase64Encoded` only.
//! - 2.0 (HTTP APIs): repeated headers and query parameters joined with commas, `cookies`
//!   apart, absent fields left out; a response without `statusCode` is inferred: 200,
//!   `application/json`, the JSON as body (a JSON string: its text).
//! - Binary bodies travel base64-encoded (`isBase64Encoded`): on REST APIs when the request's
//!   content type is one of the API's binary media types, on HTTP APIs when the body is not
//!   UTF-8 text of a text content type.
//! - A function error, a crash or a malformed answer is 502 `Internal server error`; a timeout
//!   504 `Endpoint request timed out`; a function at its concurrency with a full queue 429.

use crate::body::Body;
use crate::context::{decode_query, RequestContext};
use crate::error::GatewayError;
use crate::snapshot::{CompiledIntegration, PayloadFormat};
use archway_functions::{Functions, InvokeError};
use archway_model::{GatewayResponseType, Protocol};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub async fn call(
    functions: Option<&Functions>,
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Response<Body>, GatewayError> {
    let (Some(functions), Some(target)) = (functions, integration.lambda.as_ref()) else {
        return Err(GatewayError::new(
            GatewayResponseType::ApiConfigurationError,
        ));
    };
    let event = match target.payload {
        PayloadFormat::V1 => event_v1(ctx, parts, &body, functions.account()),
        PayloadFormat::V2 => event_v2(ctx, parts, &body, functions.account()),
    };
    let payload = Bytes::from(serde_json::to_vec(&event).unwrap_or_default());
    // A function error is not a proxy response: 502.
    let answer = invoke(functions, integration, ctx, parts, payload)
        .await?
        .map_err(|_| GatewayError::bad_gateway())?;
    let parsed = match target.payload {
        PayloadFormat::V1 => parse_v1(&answer),
        PayloadFormat::V2 => parse_v2(&answer),
    };
    parsed.map_err(|why| {
        tracing::warn!(request_id = ctx.request_id.as_str(), function = %target.function, "Malformed Lambda proxy response: {why}");
        GatewayError::bad_gateway()
    })
}

/// `AWS` (non-proxy) Lambda: the request template (or the body, as `passthroughBehavior`
/// allows) is the function's payload. Its answer is the integration response body, mapped by
/// the default integration response; a function error's document is mapped by the response
/// whose `selectionPattern` matches its `errorMessage` (the default one if none does, as on
/// AWS).
pub async fn call_aws(
    functions: Option<&Functions>,
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Response<Body>, GatewayError> {
    use super::mapping::{self, RequestMapping, Source};
    let Some(functions) = functions else {
        return Err(GatewayError::new(
            GatewayResponseType::ApiConfigurationError,
        ));
    };
    let content_type = mapping::content_type(&parts.headers);
    let payload = match mapping::request_mapping(integration, &content_type)? {
        RequestMapping::Template(_, t) => Bytes::from(t.render(&Source {
            ctx,
            headers: &parts.headers,
            query: parts.uri.query(),
            body: &body,
        })),
        // The body passes through as it is; an empty one is the JSON `{}`.
        RequestMapping::Passthrough if body.is_empty() => Bytes::from_static(b"{}"),
        RequestMapping::Passthrough => body,
    };
    let (answer, selector) = match invoke(functions, integration, ctx, parts, payload).await? {
        Ok(answer) => (answer, String::new()),
        Err(Some(error_doc)) => {
            let message = serde_json::from_slice::<Value>(&error_doc)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            (error_doc, message)
        }
        Err(None) => return Err(GatewayError::bad_gateway()),
    };
    let chosen = select_for_lambda(integration, &selector)?;
    Ok(mapping::method_response(
        chosen,
        ctx,
        parts,
        &HeaderMap::new(),
        answer,
    ))
}

/// The integration response for a Lambda result: on success (`selector` empty) the default
/// one; on a function error the first whose pattern matches the `errorMessage`, else the
/// default.
fn select_for_lambda<'a>(
    integration: &'a CompiledIntegration,
    selector: &str,
) -> Result<&'a crate::snapshot::CompiledIntegrationResponse, GatewayError> {
    let by_pattern = (!selector.is_empty())
        .then(|| {
            integration
                .responses
                .iter()
                .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(selector)))
        })
        .flatten();
    by_pattern
        .or_else(|| integration.responses.iter().find(|r| r.pattern.is_none()))
        .ok_or_else(|| {
            GatewayError::with_message(
                GatewayResponseType::ApiConfigurationError,
                "Internal server error",
            )
        })
}

/// Invokes the integration's function, local or remote, within the integration's timeout.
/// `Ok(Err(Some(doc)))`: the function's own error document; `Ok(Err(None))`: it crashed or
/// could not start (both answered 502).
async fn invoke(
    functions: &Functions,
    integration: &CompiledIntegration,
    ctx: &RequestContext,
    parts: &http::request::Parts,
    payload: Bytes,
) -> Result<Result<Bytes, Option<Bytes>>, GatewayError> {
    let Some(target) = integration.lambda.as_ref() else {
        return Err(GatewayError::new(
            GatewayResponseType::ApiConfigurationError,
        ));
    };
    let started = std::time::Instant::now();
    let invoke = async {
        if target.remote {
            functions.invoke_remote(&target.arn, payload).await
        } else {
            // The invocation's id is the request's, so that the function's log lines and
            // the access log line of a request share one id.
            functions
                .invoke(
                    &target.function,
                    payload,
                    Some(ctx.request_id.as_str()),
                    trace_header(parts),
                )
                .await
        }
    };
    let invoked = tokio::time::timeout(integration.timeout, invoke).await;
    ctx.integration_latency.set(Some(started.elapsed()));
    match invoked {
        Err(_) => Err(GatewayError::new(GatewayResponseType::IntegrationTimeout)),
        Ok(Ok(answer)) => Ok(Ok(answer)),
        Ok(Err(e)) => {
            tracing::warn!(request_id = ctx.request_id.as_str(), function = %target.function, error = %e, "Lambda invocation failed");
            match e {
                InvokeError::Function(doc) => Ok(Err(Some(doc))),
                InvokeError::Crashed | InvokeError::Init(_) => Ok(Err(None)),
                InvokeError::Timeout(_) => {
                    Err(GatewayError::new(GatewayResponseType::IntegrationTimeout))
                }
                InvokeError::Throttled => Err(GatewayError::new(GatewayResponseType::Throttled)),
                InvokeError::Unknown(_) | InvokeError::Stopped | InvokeError::Remote(_) => Err(
                    GatewayError::new(GatewayResponseType::ApiConfigurationError),
                ),
            }
        }
    }
}

fn trace_header(parts: &http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
}

fn opt_map(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

/// `(name, value)` pairs of a raw query string, decoded.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_query(k).into_owned(), decode_query(v).into_owned())
        })
        .collect()
}

fn header_text(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

fn path_parameters(ctx: &RequestContext) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(route) = ctx.route() {
        for name in &route.param_names {
            if let Some(v) = ctx.path_param(name) {
                m.insert(name.clone(), Value::String(v.into_owned()));
            }
        }
    }
    m
}

fn stage_variables(ctx: &RequestContext) -> Map<String, Value> {
    ctx.stage
        .as_ref()
        .map(|s| {
            s.variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The body as the event carries it, and whether it is base64.
fn event_body(ctx: &RequestContext, parts: &http::request::Parts, body: &Bytes) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let stage = ctx.stage.as_deref();
    let binary = match stage.map(|s| s.protocol) {
        Some(Protocol::Http) => !is_text(content_type) || std::str::from_utf8(body).is_err(),
        _ => stage.is_some_and(|s| {
            s.binary_media_types
                .iter()
                .any(|t| media_type_matches(t, content_type))
        }),
    };
    if binary {
        (Value::String(B64.encode(body)), true)
    } else {
        (
            Value::String(String::from_utf8_lossy(body).into_owned()),
            false,
        )
    }
}

/// Content types HTTP APIs pass to functions as text.
fn is_text(content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(
            ct.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

/// A binary media type entry (`image/png`, `image/*`, `*/*`) against a content type.
fn media_type_matches(pattern: &str, content_type: &str) -> bool {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let (pt, ps) = pattern.split_once('/').unwrap_or((pattern, ""));
    let (ct_t, ct_s) = ct.split_once('/').unwrap_or((ct, ""));
    (pt == "*" || pt.eq_ignore_ascii_case(ct_t)) && (ps == "*" || ps.eq_ignore_ascii_case(ct_s))
}

/// The `requestContext` fields both payload formats carry.
fn request_context(ctx: &RequestContext, account: &str) -> Map<String, Value> {
    let stage = ctx.stage.as_deref();
    let mut rc = Map::new();
    rc.insert("accountId".into(), account.into());
    rc.insert(
        "apiId".into(),
        stage.map_or("", |s| &s.api_id).to_string().into(),
    );
    rc.insert(
        "stage".into(),
        stage.map_or("", |s| &s.name).to_string().into(),
    );
    rc.insert("requestId".into(), ctx.request_id.as_str().into());
    rc.insert("domainName".into(), ctx.domain_name.clone().into());
    rc.insert(
        "domainPrefix".into(),
        domain_prefix(&ctx.domain_name).to_string().into(),
    );
    rc
}

fn domain_prefix(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

fn identity(ctx: &RequestContext) -> Value {
    let mut id = Map::new();
    for k in [
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "principalOrgId",
        "accessKey",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
    ] {
        id.insert(k.into(), Value::Null);
    }
    id.insert(
        "sourceIp".into(),
        Value::String(ctx.conn.peer.ip().to_string()),
    );
    id.insert(
        "userAgent".into(),
        ctx.user_agent
            .as_ref()
            .map_or(Value::Null, |u| Value::String(header_text(u))),
    );
    id.insert("user".into(), Value::Null);
    // As AWS: the key the method required, else null.
    let key = ctx.api_key();
    id.insert(
        "apiKey".into(),
        key.map_or(Value::Null, |k| Value::String(k.value.to_string())),
    );
    id.insert(
        "apiKeyId".into(),
        key.map_or(Value::Null, |k| Value::String(k.key_id().to_string())),
    );
    Value::Object(id)
}

/// Payload format 1.0.
pub fn event_v1(
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: &Bytes,
    account: &str,
) -> Value {
    let mut headers = Map::new();
    let mut multi_headers = Map::new();
    for name in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(header_text(v)))
            .collect();
        if let Some(last) = values.last() {
            headers.insert(name.as_str().into(), last.clone());
        }
        multi_headers.insert(name.as_str().into(), Value::Array(values));
    }
    let mut query = Map::new();
    let mut multi_query = Map::new();
    for (k, v) in query_pairs(parts.uri.query()) {
        query.insert(k.clone(), Value::String(v.clone()));
        if let Value::Array(a) = multi_query
            .entry(k)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(Value::String(v));
        }
    }
    let resource = ctx.route().map_or("/", |r| &r.resource_path).to_string();
    let resource = if resource == "$default" {
        ctx.decoded_path()
    } else {
        resource
    };
    let (body, b64) = event_body(ctx, parts, body);

    let mut rc = request_context(ctx, account);
    rc.insert("resourceId".into(), resource_id(&resource).into());
    rc.insert("resourcePath".into(), resource.clone().into());
    rc.insert("extendedRequestId".into(), ctx.request_id.as_str().into());
    rc.insert("httpMethod".into(), parts.method.as_str().into());
    rc.insert("path".into(), parts.uri.path().into());
    rc.insert("protocol".into(), ctx.protocol().into());
    rc.insert("requestTime".into(), ctx.request_time_clf().into());
    rc.insert(
        "requestTimeEpoch".into(),
        (ctx.request_time_epoch_ms() as u64).into(),
    );
    rc.insert("identity".into(), identity(ctx));

    let mut e = Map::new();
    e.insert("version".into(), "1.0".into());
    e.insert("resource".into(), resource.into());
    e.insert("path".into(), ctx.decoded_path().into());
    e.insert("httpMethod".into(), parts.method.as_str().into());
    e.insert("headers".into(), opt_map(headers));
    e.insert("multiValueHeaders".into(), opt_map(multi_headers));
    e.insert("queryStringParameters".into(), opt_map(query));
    e.insert(
        "multiValueQueryStringParameters".into(),
        opt_map(multi_query),
    );
    e.insert("pathParameters".into(), opt_map(path_parameters(ctx)));
    e.insert("stageVariables".into(), opt_map(stage_variables(ctx)));
    e.insert("requestContext".into(), Value::Object(rc));
    e.insert("body".into(), body);
    e.insert("isBase64Encoded".into(), b64.into());
    Value::Object(e)
}

/// A resource id as API Gateway shows one: 6 characters, stable for the resource path.
fn resource_id(path: &str) -> String {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in path.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|i| ALPHABET[((h >> (i * 8)) % 36) as usize] as char)
        .collect()
}

/// Payload format 2.0.
pub fn event_v2(
    ctx: &RequestContext,
    parts: &http::request::Parts,
    body: &Bytes,
    account: &str,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values = parts.headers.get_all(name).iter().map(header_text);
        if name == http::header::COOKIE {
            for v in values {
                cookies.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::String(c.to_string())),
                );
            }
            continue;
        }
        let joined = values.collect::<Vec<_>>().join(",");
        headers.insert(name.as_str().into(), joined.into());
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in query_pairs(parts.uri.query()) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let route_key = ctx.route_key().to_string();
    let (body, b64) = event_body(ctx, parts, body);

    let mut http = Map::new();
    http.insert("method".into(), parts.method.as_str().into());
    http.insert("path".into(), parts.uri.path().into());
    http.insert("protocol".into(), ctx.protocol().into());
    http.insert("sourceIp".into(), ctx.conn.peer.ip().to_string().into());
    http.insert(
        "userAgent".into(),
        ctx.user_agent
            .as_ref()
            .map_or(String::new(), header_text)
            .into(),
    );
    let mut rc = request_context(ctx, account);
    rc.insert("http".into(), Value::Object(http));
    rc.insert("routeKey".into(), route_key.clone().into());
    rc.insert("time".into(), ctx.request_time_clf().into());
    rc.insert(
        "timeEpoch".into(),
        (ctx.request_time_epoch_ms() as u64).into(),
    );

    let mut e = Map::new();
    e.insert("version".into(), "2.0".into());
    e.insert("routeKey".into(), route_key.into());
    e.insert("rawPath".into(), parts.uri.path().into());
    e.insert(
        "rawQueryString".into(),
        parts.uri.query().unwrap_or("").into(),
    );
    if !cookies.is_empty() {
        e.insert("cookies".into(), Value::Array(cookies));
    }
    e.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        e.insert("queryStringParameters".into(), Value::Object(query));
    }
    let params = path_parameters(ctx);
    if !params.is_empty() {
        e.insert("pathParameters".into(), Value::Object(params));
    }
    let vars = stage_variables(ctx);
    if !vars.is_empty() {
        e.insert("stageVariables".into(), Value::Object(vars));
    }
    e.insert("requestContext".into(), Value::Object(rc));
    if !body.is_null() {
        e.insert("body".into(), body);
    }
    e.insert("isBase64Encoded".into(), b64.into());
    Value::Object(e)
}

/// Parses a 1.0 proxy response. AWS refuses any other top-level key.
pub fn parse_v1(answer: &[u8]) -> Result<Response<Body>, String> {
    let v: Value = serde_json::from_slice(answer).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(o) = v else {
        return Err("not a JSON object".into());
    };
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "statusCode" | "headers" | "multiValueHeaders" | "body" | "isBase64Encoded"
        ) {
            return Err(format!("unexpected field `{k}`"));
        }
    }
    let status = o
        .get("statusCode")
        .ok_or("no statusCode")
        .and_then(|s| status_code(s).ok_or("statusCode is not a status code"))?;
    build_response(&o, status, &[])
}

/// Parses a 2.0 proxy response, inferring one from any JSON without `statusCode`.
pub fn parse_v2(answer: &[u8]) -> Result<Response<Body>, String> {
    let v: Value = serde_json::from_slice(answer).map_err(|e| format!("not JSON: {e}"))?;
    match &v {
        Value::Object(o) if o.contains_key("statusCode") => {
            let status = o
                .get("statusCode")
                .and_then(status_code)
                .ok_or("statusCode is not a status code")?;
            let cookies: Vec<String> = match o.get("cookies") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|c| {
                        c.as_str()
                            .map(str::to_string)
                            .ok_or("a cookie is not a string")
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err("cookies is not an array".into()),
            };
            build_response(o, status, &cookies)
        }
        _ => {
            let body = match v {
                Value::String(s) => Bytes::from(s),
                _ => Bytes::copy_from_slice(answer),
            };
            let mut r = Response::new(Body::full(body));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
    }
}

fn status_code(v: &Value) -> Option<StatusCode> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    StatusCode::from_u16(u16::try_from(n).ok()?).ok()
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn build_response(
    o: &Map<String, Value>,
    status: StatusCode,
    cookies: &[String],
) -> Result<Response<Body>, String> {
    let mut headers = HeaderMap::new();
    let mut add = |k: &str, v: &str, append: bool| -> Result<(), String> {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("bad header name `{k}`"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("bad value of header `{k}`"))?;
        if append {
            headers.append(name, value);
        } else {
            headers.insert(name, value);
        }
        Ok(())
    };
    match o.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = scalar_text(v).ok_or_else(|| format!("header `{k}` is not a string"))?;
                add(k, &v, false)?;
            }
        }
        Some(_) => return Err("headers is not an object".into()),
    }
    match o.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, vs) in h {
                let Value::Array(vs) = vs else {
                    return Err(format!("multiValueHeaders `{k}` is not an array"));
                };
                // Replaces what `headers` set for the name, as API Gateway does.
                let mut first = true;
                for v in vs {
                    let v =
                        scalar_text(v).ok_or_else(|| format!("header `{k}` is not a string"))?;
                    add(k, &v, !first)?;
                    first = false;
                }
            }
        }
        Some(_) => return Err("multiValueHeaders is not an object".into()),
    }
    for c in cookies {
        add("set-cookie", c, true)?;
    }
    let b64 = match o.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("isBase64Encoded is not a boolean".into()),
    };
    let body = match o.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if b64 => {
            Bytes::from(B64.decode(s.as_bytes()).map_err(|_| "body is not base64")?)
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(_) => return Err("body is not a string".into()),
    };
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut r = Response::new(Body::full(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn text(r: Response<Body>) -> (u16, HeaderMap, String) {
        let (p, b) = r.into_parts();
        let b = b.collect().await.unwrap().to_bytes();
        (
            p.status.as_u16(),
            p.headers,
            String::from_utf8_lossy(&b).into(),
        )
    }

    #[tokio::test]
    async fn v1_responses_parse_as_api_gateway_parses_them() {
        let (s, h, b) = text(
            parse_v1(br#"{"statusCode":201,"headers":{"x-a":"1","x-n":5},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"hi","isBase64Encoded":false}"#)
                .unwrap(),
        )
        .await;
        assert_eq!((s, b.as_str()), (201, "hi"));
        assert_eq!(h["x-a"], "1");
        assert_eq!(h["x-n"], "5");
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert_eq!(h["content-type"], "application/json");
        let (_, _, b) = text(
            parse_v1(br#"{"statusCode":"200","body":"aGk=","isBase64Encoded":true}"#).unwrap(),
        )
        .await;
        assert_eq!(b, "hi");
        for bad in [
            &br#"{"statusCode":200,"extra":1}"#[..],
            br#"{"body":"no status"}"#,
            br#"{"statusCode":99999}"#,
            br#"{"statusCode":200,"body":{"not":"a string"}}"#,
            br#"{"statusCode":200,"headers":["x"]}"#,
            br#"{"statusCode":200,"body":"%%%","isBase64Encoded":true}"#,
            br#"not json"#,
            br#"[1,2]"#,
        ] {
            assert!(parse_v1(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[tokio::test]
    async fn v2_responses_infer_a_missing_status_code() {
        let (s, h, b) = text(parse_v2(br#"{"hello":"world"}"#).unwrap()).await;
        assert_eq!((s, b.as_str()), (200, r#"{"hello":"world"}"#));
        assert_eq!(h["content-type"], "application/json");
        let (_, _, b) = text(parse_v2(br#""Hello from Lambda!""#).unwrap()).await;
        assert_eq!(b, "Hello from Lambda!");
        let (s, h, b) = text(
            parse_v2(br#"{"statusCode":404,"cookies":["c=1"],"headers":{"content-type":"text/plain"},"body":"nope"}"#)
                .unwrap(),
        )
        .await;
        assert_eq!((s, b.as_str()), (404, "nope"));
        assert_eq!(h["set-cookie"], "c=1");
        assert_eq!(h["content-type"], "text/plain");
        assert!(parse_v2(b"not json").is_err());
        assert!(parse_v2(br#"{"statusCode":200,"cookies":"c=1"}"#).is_err());
    }

    /// `requestContext.identity.apiKey` and `apiKeyId` (payload 1.0): the key a method that
    /// requires one was called with, else null.
    #[test]
    fn v1_events_carry_the_api_key_the_method_required() {
        use crate::context::{ConnInfo, RequestContext};
        let yaml = r#"
apis:
  - name: api
    protocol: REST
    routes:
      GET /keyed:
        apiKeyRequired: true
        integration: &mock
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200" } }
      GET /open:
        integration: *mock
    stages: { prod: {} }
apiKeys:
  - { name: k, id: the-key-id, value: the-key-value-0123456789 }
usagePlans:
  - { name: p, apiStages: [{ api: api, stage: prod }], apiKeys: [k] }
"#;
        let (model, _) =
            archway_model::validate::load_config_str("t.yaml", yaml, std::path::Path::new("."))
                .into_result()
                .unwrap_or_else(|_| panic!("bad config"));
        let snap = crate::Snapshot::compile(&model).unwrap();
        let usage = crate::usage::UsageState::default();
        let (b, k) = snap.usage_slots();
        usage.attach(b.into_iter(), k.into_iter());
        let stage = snap.single_api.as_ref().unwrap().stages["prod"].clone();
        let conn = ConnInfo {
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:2".parse().unwrap(),
            tls: false,
        };
        let identity = |path: &str| {
            let route = stage
                .routes
                .iter()
                .position(|r| *r.resource_path == *path)
                .unwrap();
            let (parts, ()) = http::Request::get(format!("/prod{path}"))
                .header("x-api-key", "the-key-value-0123456789")
                .body(())
                .unwrap()
                .into_parts();
            let mut ctx = RequestContext::new(
                conn,
                std::sync::Arc::new(crate::headers::Forwarded::new(&conn)),
                http::Method::GET,
                http::Version::HTTP_11,
            );
            ctx.stage = Some(stage.clone());
            ctx.route = Some(route as u32);
            crate::phase::usage::check(
                &snap.account_bucket,
                &snap.settings,
                &mut ctx,
                &stage,
                &stage.routes[route],
                &parts.headers,
            )
            .unwrap();
            event_v1(&ctx, &parts, &Bytes::new(), "123456789012")["requestContext"]["identity"]
                .clone()
        };
        let keyed = identity("/keyed");
        assert_eq!(keyed["apiKey"], "the-key-value-0123456789");
        assert_eq!(keyed["apiKeyId"], "the-key-id");
        let open = identity("/open");
        assert_eq!(open["apiKey"], Value::Null);
        assert_eq!(open["apiKeyId"], Value::Null);
    }

    #[test]
    fn binary_media_types_match_like_api_gateway() {
        assert!(media_type_matches("image/png", "image/png; q=1"));
        assert!(media_type_matches("image/*", "image/jpeg"));
        assert!(media_type_matches("*/*", "application/json"));
        assert!(!media_type_matches("image/png", "text/plain"));
        assert!(is_text("application/json; charset=utf-8"));
        assert!(is_text("application/vnd.api+json"));
        assert!(!is_text("application/octet-stream"));
    }

    #[test]
    fn resource_ids_are_stable_and_short() {
        assert_eq!(resource_id("/pets"), resource_id("/pets"));
        assert_ne!(resource_id("/pets"), resource_id("/pets/{id}"));
        assert_eq!(resource_id("/pets").len(), 6);
    }
}
