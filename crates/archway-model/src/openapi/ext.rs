//! The `x-amazon-apigateway-*` extension objects, each read into its model type. A malformed one
//! is an error at its JSON pointer; an unknown property in one is a warning.

use super::context::{child, describe, Ctx};
use crate::gateway_response::GatewayResponseType;
use crate::model::*;
use crate::route::RouteMethod;
use crate::template::Template;
use crate::validate::{method_param, static_value, valid_header_name, valid_header_value};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::time::Duration;

pub(crate) const INTEGRATION: &str = "x-amazon-apigateway-integration";
pub(crate) const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
pub(crate) const REQUEST_VALIDATORS: &str = "x-amazon-apigateway-request-validators";
pub(crate) const REQUEST_VALIDATOR: &str = "x-amazon-apigateway-request-validator";
pub(crate) const GATEWAY_RESPONSES: &str = "x-amazon-apigateway-gateway-responses";
pub(crate) const CORS: &str = "x-amazon-apigateway-cors";
pub(crate) const API_KEY_SOURCE: &str = "x-amazon-apigateway-api-key-source";
pub(crate) const BINARY_MEDIA_TYPES: &str = "x-amazon-apigateway-binary-media-types";
pub(crate) const ENDPOINT_CONFIGURATION: &str = "x-amazon-apigateway-endpoint-configuration";
pub(crate) const POLICY: &str = "x-amazon-apigateway-policy";
pub(crate) const AUTHORIZER: &str = "x-amazon-apigateway-authorizer";
pub(crate) const AUTHTYPE: &str = "x-amazon-apigateway-authtype";
pub(crate) const AUTH: &str = "x-amazon-apigateway-auth";
pub(crate) const IMPORTEXPORT_VERSION: &str = "x-amazon-apigateway-importexport-version";
pub(crate) const DOCUMENTATION: &str = "x-amazon-apigateway-documentation";
pub(crate) const MINIMUM_COMPRESSION_SIZE: &str = "x-amazon-apigateway-minimum-compression-size";
/// Archway's own settings that API Gateway has no extension for (`docs/openapi.md`): the API's
/// payload limit (top level), an integration's `upstreamProtocol: HTTP2` and an HTTP API's
/// gateway responses.
pub(crate) const ARCHWAY_MAX_PAYLOAD_BYTES: &str = "x-archway-max-payload-bytes";
pub(crate) const ARCHWAY_UPSTREAM_PROTOCOL: &str = "x-archway-upstream-protocol";
/// An HTTP API's gateway responses (AWS's HTTP APIs have none; the declarative file's may).
pub(crate) const ARCHWAY_GATEWAY_RESPONSES: &str = "x-archway-gateway-responses";

/// Warns about `x-amazon-apigateway-*` keys of `m` that are not in `known` here.
pub(crate) fn unknown_extensions(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    pointer: &str,
    known: &[&str],
) {
    for k in m.keys() {
        if k.starts_with("x-amazon-apigateway-") && !known.contains(&k.as_str()) {
            ctx.warn(
                &child(pointer, k),
                format!("`{k}` is not an API Gateway extension Archway knows here; it is ignored"),
            );
        }
    }
}

/// A status code written as `"200"` or `200`.
fn status_code(ctx: &mut Ctx, v: &Value, pointer: &str) -> Option<u16> {
    let n = match v {
        Value::String(s) => s.parse::<u16>().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    };
    match n {
        Some(n) if (100..=599).contains(&n) => Some(n),
        _ => {
            ctx.error(
                pointer,
                format!(
                    "expected an HTTP status code (100-599), found {}",
                    describe(v)
                ),
            );
            None
        }
    }
}

/// Content type → template, each kept even when Archway cannot render it yet.
fn templates(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    pointer: &str,
    key: &str,
) -> IndexMap<String, Template> {
    let mut out = IndexMap::new();
    for (ct, body, at) in ctx.string_map_field(m, pointer, key) {
        if !ct.contains('/') {
            ctx.error(
                &at,
                format!("`{ct}` is not a content type such as application/json"),
            );
            continue;
        }
        out.insert(ct.to_ascii_lowercase(), Template::parse_or_keep(&body));
    }
    out
}

fn content_handling(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    pointer: &str,
) -> Option<ContentHandling> {
    let s = ctx.str_field(m, pointer, "contentHandling")?;
    match s.to_ascii_uppercase().as_str() {
        "CONVERT_TO_TEXT" => Some(ContentHandling::ConvertToText),
        "CONVERT_TO_BINARY" => Some(ContentHandling::ConvertToBinary),
        _ => {
            ctx.error(
                &child(pointer, "contentHandling"),
                format!("expected CONVERT_TO_TEXT or CONVERT_TO_BINARY, found `{s}`"),
            );
            None
        }
    }
}

/// Whether a URI holds a `${…}` placeholder other than `${stageVariables.NAME}` (a deployment
/// tool's variable the document was meant to have substituted).
fn has_foreign_placeholder(uri: &str) -> bool {
    uri.match_indices("${")
        .any(|(i, _)| !uri[i + 2..].starts_with("stageVariables."))
}

/// `s` with path parameters and stage variables replaced by `x`: is it an absolute http(s) URI?
fn check_http_uri(t: &UriTemplate) -> Result<(), String> {
    let mut s = String::new();
    for p in &t.parts {
        match p {
            UriPart::Text(x) => s.push_str(x),
            UriPart::PathParam(_) | UriPart::StageVariable(_) => s.push('x'),
        }
    }
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("`{}` is not an absolute http:// or https:// URI", t.source))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("`{}`: the scheme must be http or https", t.source));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(format!(
            "`{}` has no host (or has user information)",
            t.source
        ));
    }
    Ok(())
}

/// The route facts an integration is checked against.
pub(crate) struct RouteFacts<'a> {
    pub key: &'a str,
    pub path_params: &'a [String],
    pub protocol: Protocol,
}

const INTEGRATION_KEYS: [&str; 17] = [
    "type",
    "uri",
    "httpMethod",
    "requestParameters",
    "requestTemplates",
    "responses",
    "passthroughBehavior",
    "timeoutInMillis",
    "connectionType",
    "connectionId",
    "credentials",
    "payloadFormatVersion",
    "cacheKeyParameters",
    "cacheNamespace",
    "contentHandling",
    "tlsConfig",
    "integrationSubtype",
];

/// `x-amazon-apigateway-integration` → [`Integration`].
pub(crate) fn integration(
    ctx: &mut Ctx,
    v: &Value,
    pointer: &str,
    route: &RouteFacts,
) -> Option<Integration> {
    let m = ctx.object(v, pointer, "`x-amazon-apigateway-integration`")?;
    let errors_before = ctx.diags.iter().filter(|d| d.is_error()).count();
    ctx.unknown_keys(
        m,
        pointer,
        &INTEGRATION_KEYS,
        "x-amazon-apigateway-integration",
    );
    for key in ["responseParameters"] {
        if m.contains_key(key) {
            ctx.error(
                &child(pointer, key),
                format!("`{key}` (HTTP API response parameter mapping) is not supported yet; route `{}` is refused rather than served wrongly", route.key),
            );
        }
    }
    let kind = match ctx.str_field(m, pointer, "type") {
        Some(t) => match t.to_ascii_uppercase().as_str() {
            "HTTP_PROXY" => Some(IntegrationType::HttpProxy),
            "HTTP" => Some(IntegrationType::Http),
            "MOCK" => Some(IntegrationType::Mock),
            "AWS_PROXY" => Some(IntegrationType::AwsProxy),
            "AWS" => Some(IntegrationType::Aws),
            _ => {
                ctx.error(
                    &child(pointer, "type"),
                    format!("expected http_proxy, http, mock, aws_proxy or aws, found `{t}`"),
                );
                None
            }
        },
        None => {
            if !m.contains_key("type") {
                ctx.error(pointer, "`type` is required");
            }
            None
        }
    };
    if route.protocol == Protocol::Http && kind == Some(IntegrationType::Http) {
        ctx.error(
            &child(pointer, "type"),
            "HTTP APIs have no HTTP (non-proxy) integrations; use http_proxy",
        );
    }
    let uri_at = child(pointer, "uri");
    let uri = match (ctx.str_field(m, pointer, "uri"), kind) {
        (Some(u), Some(k)) => {
            let http = matches!(k, IntegrationType::HttpProxy | IntegrationType::Http);
            let tolerant = !http || has_foreign_placeholder(u);
            match UriTemplate::parse(u) {
                Ok(t) => {
                    // An AWS service URI's `{name}` is an integration request path parameter
                    // that `requestParameters` may fill from anything: not checked here.
                    let route_params = if http {
                        t.path_params().collect()
                    } else {
                        Vec::new()
                    };
                    // A `{name}` is filled from the route's path parameter of that name, or
                    // by an `integration.request.path.NAME` mapping.
                    let mapped = |p: &str| {
                        m.get("requestParameters")
                            .and_then(Value::as_object)
                            .is_some_and(|r| {
                                r.contains_key(&format!("integration.request.path.{p}"))
                            })
                    };
                    for p in route_params {
                        if !route.path_params.iter().any(|n| n == p) && !mapped(p) {
                            ctx.error(
                                &uri_at,
                                format!(
                                    "`{{{p}}}` is not a path parameter of route `{}`",
                                    route.key
                                ),
                            );
                        }
                    }
                    if http && !has_foreign_placeholder(u) {
                        if let Err(e) = check_http_uri(&t) {
                            ctx.error(&uri_at, e);
                        }
                    }
                    Some(t)
                }
                // Kept as written: `check_served` refuses the route.
                Err(_) if tolerant => Some(UriTemplate {
                    source: u.to_string(),
                    parts: vec![UriPart::Text(u.to_string())],
                }),
                Err(e) => {
                    ctx.error(&uri_at, e);
                    None
                }
            }
        }
        (None, Some(k)) if k != IntegrationType::Mock && !m.contains_key("uri") => {
            ctx.error(
                pointer,
                format!("`uri` is required for {} integrations", k.as_str()),
            );
            None
        }
        _ => None,
    };
    let http_method = match ctx.str_field(m, pointer, "httpMethod") {
        Some(x) if x.eq_ignore_ascii_case("ANY") || x == "*" => None,
        Some(x) => {
            let upper = x.to_ascii_uppercase();
            if RouteMethod::parse(&upper).is_none() {
                ctx.error(
                    &child(pointer, "httpMethod"),
                    format!("`{x}` is not an HTTP method"),
                );
            }
            Some(upper)
        }
        None => None,
    };
    let timeout = match m.get("timeoutInMillis") {
        None => DEFAULT_TIMEOUT,
        Some(t) => match t.as_u64() {
            Some(ms) if ms >= 50 => Duration::from_millis(ms),
            _ => {
                ctx.error(
                    &child(pointer, "timeoutInMillis"),
                    format!(
                        "expected a number of milliseconds, at least 50, found {}",
                        describe(t)
                    ),
                );
                DEFAULT_TIMEOUT
            }
        },
    };
    let request_parameters = request_parameters(ctx, m, pointer, route);
    let request_templates = templates(ctx, m, pointer, "requestTemplates");
    let passthrough_behavior = match ctx.str_field(m, pointer, "passthroughBehavior") {
        None => PassthroughBehavior::WhenNoMatch,
        Some(p) => match p.to_ascii_uppercase().as_str() {
            "WHEN_NO_MATCH" => PassthroughBehavior::WhenNoMatch,
            "WHEN_NO_TEMPLATES" => PassthroughBehavior::WhenNoTemplates,
            "NEVER" => PassthroughBehavior::Never,
            _ => {
                ctx.error(
                    &child(pointer, "passthroughBehavior"),
                    format!("expected when_no_match, when_no_templates or never, found `{p}`"),
                );
                PassthroughBehavior::WhenNoMatch
            }
        },
    };
    let responses = integration_responses(ctx, m, pointer);
    if kind == Some(IntegrationType::Mock) && responses.is_empty() {
        ctx.warn(
            pointer,
            "a MOCK integration without `responses` answers 500, as on AWS",
        );
    }
    let connection_type = match ctx.str_field(m, pointer, "connectionType") {
        None => ConnectionType::Internet,
        Some(c) => match c.to_ascii_uppercase().as_str() {
            "INTERNET" => ConnectionType::Internet,
            "VPC_LINK" => ConnectionType::VpcLink,
            _ => {
                ctx.error(
                    &child(pointer, "connectionType"),
                    format!("expected INTERNET or VPC_LINK, found `{c}`"),
                );
                ConnectionType::Internet
            }
        },
    };
    let payload_format_version = match m.get("payloadFormatVersion") {
        None => None,
        Some(v) => {
            let s = match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => n.as_f64().map(|f| format!("{f:.1}")),
                _ => None,
            };
            match s.as_deref() {
                Some("1.0" | "2.0") => s,
                _ => {
                    ctx.error(
                        &child(pointer, "payloadFormatVersion"),
                        format!("expected \"1.0\" or \"2.0\", found {}", describe(v)),
                    );
                    None
                }
            }
        }
    };
    let mut insecure_skip_verification = false;
    if let Some(tls) = m.get("tlsConfig") {
        let tp = child(pointer, "tlsConfig");
        if let Some(t) = ctx.object(tls, &tp, "`tlsConfig`") {
            ctx.unknown_keys(t, &tp, &["insecureSkipVerification"], "tlsConfig");
            insecure_skip_verification = ctx
                .bool_field(t, &tp, "insecureSkipVerification")
                .unwrap_or(false);
        }
    }
    let upstream_protocol = match ctx.str_field(m, pointer, ARCHWAY_UPSTREAM_PROTOCOL) {
        None => UpstreamProtocol::Http1,
        Some(p) => match p.to_ascii_uppercase().as_str() {
            "HTTP1" => UpstreamProtocol::Http1,
            "HTTP2" => UpstreamProtocol::Http2,
            _ => {
                ctx.error(
                    &child(pointer, ARCHWAY_UPSTREAM_PROTOCOL),
                    format!("expected HTTP1 or HTTP2, found `{p}`"),
                );
                UpstreamProtocol::Http1
            }
        },
    };
    let cache_key_parameters = ctx.strings_field(m, pointer, "cacheKeyParameters");
    let errors_after = ctx.diags.iter().filter(|d| d.is_error()).count();
    let kind = kind?;
    if errors_after > errors_before {
        return None;
    }
    Some(Integration {
        kind,
        uri,
        http_method,
        timeout,
        request_parameters,
        request_templates,
        passthrough_behavior,
        responses,
        insecure_skip_verification,
        upstream_protocol,
        connection_type,
        connection_id: ctx
            .str_field(m, pointer, "connectionId")
            .map(str::to_string),
        credentials: ctx.str_field(m, pointer, "credentials").map(str::to_string),
        payload_format_version,
        cache_key_parameters,
        cache_namespace: ctx
            .str_field(m, pointer, "cacheNamespace")
            .map(str::to_string),
        content_handling: content_handling(ctx, m, pointer),
        integration_subtype: ctx
            .str_field(m, pointer, "integrationSubtype")
            .map(str::to_string),
    })
}

fn request_parameters(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    pointer: &str,
    route: &RouteFacts,
) -> Vec<(ParamTarget, ParamSource)> {
    let mut out = Vec::new();
    for (target, source, at) in ctx.string_map_field(m, pointer, "requestParameters") {
        let key_at = at.clone();
        let parsed = target
            .strip_prefix("integration.request.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(loc, name)| {
                Some(ParamTarget {
                    location: ParamLocation::parse(loc)?,
                    name: name.to_string(),
                })
            })
            .filter(|t| !t.name.is_empty());
        let Some(parsed) = parsed else {
            let message = if route.protocol == Protocol::Http {
                format!("`{target}`: HTTP API parameter mapping is not supported yet; route `{}` is refused rather than served wrongly", route.key)
            } else {
                format!("`{target}`: expected `integration.request.{{header|querystring|path}}.NAME` (other targets are not supported yet)")
            };
            ctx.error(&key_at, message);
            continue;
        };
        if parsed.location == ParamLocation::Header && !valid_header_name(&parsed.name) {
            ctx.error(
                &key_at,
                format!("`{}` is not a valid header name", parsed.name),
            );
            continue;
        }
        let src = if let Some(v) = static_value(&source) {
            Some(ParamSource::Static(v.to_string()))
        } else if let Some((location, name)) = method_param(&source) {
            if location == ParamLocation::Path && !route.path_params.iter().any(|p| p == name) {
                ctx.error(
                    &at,
                    format!("route `{}` has no path parameter `{name}`", route.key),
                );
            }
            Some(ParamSource::Method {
                location,
                name: name.to_string(),
            })
        } else if let Some(n) = source.strip_prefix("stageVariables.") {
            Some(ParamSource::StageVariable(n.to_string()))
        } else {
            source
                .strip_prefix("context.")
                .map(|c| ParamSource::Context(c.to_string()))
        };
        match src {
            Some(s) => out.push((parsed, s)),
            None => ctx.error(
                &at,
                format!("`{source}`: expected `method.request.{{path|querystring|header}}.NAME`, `stageVariables.NAME`, `context.NAME` or a quoted `'value'` (other sources are not supported yet)"),
            ),
        }
    }
    out
}

fn integration_responses(
    ctx: &mut Ctx,
    m: &Map<String, Value>,
    pointer: &str,
) -> Vec<IntegrationResponse> {
    let Some(v) = m.get("responses") else {
        return Vec::new();
    };
    let base = child(pointer, "responses");
    let Some(rs) = ctx.object(v, &base, "`responses`") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(rs.len());
    for (pattern, r) in rs {
        let rp = child(&base, pattern);
        let selection_pattern = if pattern == "default" {
            None
        } else {
            if let Err(e) = regex::Regex::new(&format!("^(?:{pattern})$")) {
                ctx.error(
                    &rp,
                    format!("selection pattern is not a valid regular expression: {e}"),
                );
                continue;
            }
            Some(pattern.clone())
        };
        let Some(ro) = ctx.object(r, &rp, "an integration response") else {
            continue;
        };
        ctx.unknown_keys(
            ro,
            &rp,
            &[
                "statusCode",
                "responseParameters",
                "responseTemplates",
                "contentHandling",
            ],
            "an integration response",
        );
        let status = match ro.get("statusCode") {
            Some(s) => status_code(ctx, s, &child(&rp, "statusCode")),
            None => {
                ctx.error(&rp, "this integration response needs a `statusCode`");
                None
            }
        };
        let mut response_parameters = Vec::new();
        for (k, val, at) in ctx.string_map_field(ro, &rp, "responseParameters") {
            let Some(h) = k.strip_prefix("method.response.header.") else {
                ctx.error(
                    &at,
                    format!("`{k}`: expected `method.response.header.NAME`"),
                );
                continue;
            };
            if !valid_header_name(h) {
                ctx.error(&at, format!("`{h}` is not a valid header name"));
                continue;
            }
            let src = if let Some(s) = static_value(&val) {
                if !valid_header_value(s) {
                    ctx.error(&at, "a header value must be visible ASCII");
                    continue;
                }
                ResponseParamSource::Static(s.to_string())
            } else if let Some(n) = val.strip_prefix("integration.response.header.") {
                ResponseParamSource::IntegrationHeader(n.to_ascii_lowercase())
            } else {
                ctx.error(
                    &at,
                    format!("`{val}`: expected `integration.response.header.NAME` or a quoted `'value'` (other sources are not supported yet)"),
                );
                continue;
            };
            response_parameters.push((h.to_ascii_lowercase(), src));
        }
        let response_templates = templates(ctx, ro, &rp, "responseTemplates");
        let content_handling = content_handling(ctx, ro, &rp);
        if let Some(status_code) = status {
            out.push(IntegrationResponse {
                selection_pattern,
                status_code,
                response_parameters,
                response_templates,
                content_handling,
            });
        }
    }
    out
}

/// `x-amazon-apigateway-gateway-responses` → [`GatewayResponse`]s.
pub(crate) fn gateway_responses(ctx: &mut Ctx, v: &Value, pointer: &str) -> Vec<GatewayResponse> {
    let Some(m) = ctx.object(v, pointer, "`x-amazon-apigateway-gateway-responses`") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, g) in m {
        let gp = child(pointer, name);
        let Some(kind) = GatewayResponseType::parse(name) else {
            ctx.error(
                &gp,
                format!("`{name}` is not a gateway response type (for example MISSING_AUTHENTICATION_TOKEN, DEFAULT_4XX)"),
            );
            continue;
        };
        let Some(go) = ctx.object(g, &gp, "a gateway response") else {
            continue;
        };
        ctx.unknown_keys(
            go,
            &gp,
            &["statusCode", "responseParameters", "responseTemplates"],
            "a gateway response",
        );
        let status_code = go
            .get("statusCode")
            .and_then(|s| status_code(ctx, s, &child(&gp, "statusCode")));
        let mut headers = Vec::new();
        for (k, val, at) in ctx.string_map_field(go, &gp, "responseParameters") {
            let Some(h) = k.strip_prefix("gatewayresponse.header.") else {
                ctx.error(
                    &at,
                    format!("`{k}`: expected `gatewayresponse.header.NAME`"),
                );
                continue;
            };
            if !valid_header_name(h) {
                ctx.error(&at, format!("`{h}` is not a valid header name"));
                continue;
            }
            match static_value(&val) {
                Some(s) if valid_header_value(s) => headers.push((h.to_ascii_lowercase(), s.to_string())),
                Some(_) => ctx.error(&at, "a header value must be visible ASCII"),
                None => ctx.error(
                    &at,
                    format!("`{val}`: only static values in single quotes (`'value'`) are supported for gateway response headers yet"),
                ),
            }
        }
        let templates = templates(ctx, go, &gp, "responseTemplates");
        out.push(GatewayResponse {
            kind,
            status_code,
            headers,
            templates,
        });
    }
    out
}

/// `x-amazon-apigateway-request-validators` → name → [`RequestValidator`].
pub(crate) fn request_validators(
    ctx: &mut Ctx,
    v: &Value,
    pointer: &str,
) -> IndexMap<String, RequestValidator> {
    let mut out = IndexMap::new();
    let Some(m) = ctx.object(v, pointer, "`x-amazon-apigateway-request-validators`") else {
        return out;
    };
    for (name, r) in m {
        let rp = child(pointer, name);
        let Some(ro) = ctx.object(r, &rp, "a request validator") else {
            continue;
        };
        ctx.unknown_keys(
            ro,
            &rp,
            &["validateRequestBody", "validateRequestParameters"],
            "a request validator",
        );
        out.insert(
            name.clone(),
            RequestValidator {
                validate_request_body: ctx
                    .bool_field(ro, &rp, "validateRequestBody")
                    .unwrap_or(false),
                validate_request_parameters: ctx
                    .bool_field(ro, &rp, "validateRequestParameters")
                    .unwrap_or(false),
            },
        );
    }
    out
}

/// `x-amazon-apigateway-cors` → [`Cors`].
pub(crate) fn cors(ctx: &mut Ctx, v: &Value, pointer: &str) -> Option<Cors> {
    let m = ctx.object(v, pointer, "`x-amazon-apigateway-cors`")?;
    ctx.unknown_keys(
        m,
        pointer,
        &[
            "allowOrigins",
            "allowMethods",
            "allowHeaders",
            "exposeHeaders",
            "maxAge",
            "allowCredentials",
        ],
        "x-amazon-apigateway-cors",
    );
    let max_age = m.get("maxAge").and_then(|a| match a.as_i64() {
        Some(n) if (-1..=86_400).contains(&n) => Some(n.max(0) as u32),
        _ => {
            ctx.error(
                &child(pointer, "maxAge"),
                format!(
                    "expected a number of seconds (0-86400), found {}",
                    describe(a)
                ),
            );
            None
        }
    });
    let allow_methods = ctx.strings_field(m, pointer, "allowMethods");
    for (i, method) in allow_methods.iter().enumerate() {
        if method != "*" && RouteMethod::parse(&method.to_ascii_uppercase()).is_none() {
            ctx.error(
                &child(&child(pointer, "allowMethods"), &i.to_string()),
                format!("`{method}` is not an HTTP method"),
            );
        }
    }
    Some(Cors {
        allow_origins: ctx.strings_field(m, pointer, "allowOrigins"),
        allow_methods,
        allow_headers: ctx.strings_field(m, pointer, "allowHeaders"),
        expose_headers: ctx.strings_field(m, pointer, "exposeHeaders"),
        max_age,
        allow_credentials: ctx
            .bool_field(m, pointer, "allowCredentials")
            .unwrap_or(false),
    })
}

/// `x-amazon-apigateway-endpoint-configuration` → [`EndpointConfiguration`].
pub(crate) fn endpoint_configuration(
    ctx: &mut Ctx,
    v: &Value,
    pointer: &str,
) -> Option<EndpointConfiguration> {
    let m = ctx.object(v, pointer, "`x-amazon-apigateway-endpoint-configuration`")?;
    ctx.unknown_keys(
        m,
        pointer,
        &[
            "disableExecuteApiEndpoint",
            "vpcEndpointIds",
            "ipAddressType",
        ],
        "x-amazon-apigateway-endpoint-configuration",
    );
    let ip_address_type = ctx
        .str_field(m, pointer, "ipAddressType")
        .map(str::to_string);
    if let Some(t) = &ip_address_type {
        if t != "ipv4" && t != "dualstack" {
            ctx.error(
                &child(pointer, "ipAddressType"),
                format!("expected ipv4 or dualstack, found `{t}`"),
            );
        }
    }
    Some(EndpointConfiguration {
        disable_execute_api_endpoint: ctx
            .bool_field(m, pointer, "disableExecuteApiEndpoint")
            .unwrap_or(false),
        vpc_endpoint_ids: ctx.strings_field(m, pointer, "vpcEndpointIds"),
        ip_address_type,
    })
}

/// A security scheme with `x-amazon-apigateway-authorizer` → [`Authorizer`].
pub(crate) fn authorizer(
    ctx: &mut Ctx,
    scheme: &Map<String, Value>,
    scheme_pointer: &str,
    v: &Value,
) -> Option<Authorizer> {
    let pointer = child(scheme_pointer, AUTHORIZER);
    let m = ctx.object(v, &pointer, "`x-amazon-apigateway-authorizer`")?;
    ctx.unknown_keys(
        m,
        &pointer,
        &[
            "type",
            "authorizerUri",
            "authorizerCredentials",
            "identitySource",
            "identityValidationExpression",
            "authorizerResultTtlInSeconds",
            "providerARNs",
            "authorizerPayloadFormatVersion",
            "enableSimpleResponses",
            "jwtConfiguration",
        ],
        "x-amazon-apigateway-authorizer",
    );
    let kind = match ctx.str_field(m, &pointer, "type") {
        Some(t) => match t.to_ascii_lowercase().as_str() {
            "token" => Some(AuthorizerType::Token),
            "request" => Some(AuthorizerType::Request),
            "cognito_user_pools" => Some(AuthorizerType::CognitoUserPools),
            "jwt" => Some(AuthorizerType::Jwt),
            _ => {
                ctx.error(
                    &child(&pointer, "type"),
                    format!("expected token, request, cognito_user_pools or jwt, found `{t}`"),
                );
                None
            }
        },
        None => {
            if !m.contains_key("type") {
                ctx.error(&pointer, "`type` is required");
            }
            None
        }
    };
    let identity_source = match m.get("identitySource") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Some(other) => {
            ctx.error(
                &child(&pointer, "identitySource"),
                format!(
                    "expected a string of comma-separated mapping expressions, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let jwt_configuration = match m.get("jwtConfiguration") {
        None => None,
        Some(j) => {
            let jp = child(&pointer, "jwtConfiguration");
            ctx.object(j, &jp, "`jwtConfiguration`").map(|jo| {
                ctx.unknown_keys(jo, &jp, &["issuer", "audience"], "jwtConfiguration");
                JwtConfiguration {
                    issuer: ctx.str_field(jo, &jp, "issuer").map(str::to_string),
                    audience: ctx.strings_field(jo, &jp, "audience"),
                }
            })
        }
    };
    let authorizer_uri = ctx
        .str_field(m, &pointer, "authorizerUri")
        .map(str::to_string);
    let provider_arns = ctx.strings_field(m, &pointer, "providerARNs");
    match kind {
        Some(AuthorizerType::Token | AuthorizerType::Request) if authorizer_uri.is_none() => {
            ctx.error(&pointer, "a Lambda authorizer needs `authorizerUri`");
        }
        Some(AuthorizerType::CognitoUserPools) if provider_arns.is_empty() => {
            ctx.error(&pointer, "a Cognito authorizer needs `providerARNs`");
        }
        Some(AuthorizerType::Jwt) if jwt_configuration.is_none() => {
            ctx.error(&pointer, "a JWT authorizer needs `jwtConfiguration`");
        }
        _ => {}
    }
    let payload_format_version = ctx
        .str_field(m, &pointer, "authorizerPayloadFormatVersion")
        .map(str::to_string);
    Some(Authorizer {
        kind: kind?,
        auth_type: ctx
            .str_field(scheme, scheme_pointer, AUTHTYPE)
            .map(str::to_string),
        scheme_type: scheme
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("apiKey")
            .to_string(),
        scheme_name: scheme
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string),
        scheme_in: scheme.get("in").and_then(Value::as_str).map(str::to_string),
        authorizer_uri,
        authorizer_credentials: ctx
            .str_field(m, &pointer, "authorizerCredentials")
            .map(str::to_string),
        identity_source,
        identity_validation_expression: ctx
            .str_field(m, &pointer, "identityValidationExpression")
            .map(str::to_string),
        result_ttl_in_seconds: ctx
            .uint_field(m, &pointer, "authorizerResultTtlInSeconds", 3600)
            .map(|n| n as u32),
        provider_arns,
        payload_format_version,
        enable_simple_responses: ctx.bool_field(m, &pointer, "enableSimpleResponses"),
        jwt_configuration,
    })
}
