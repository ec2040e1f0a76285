//! [`ApiDefinition`] → OpenAPI 3.0 or Swagger 2.0, with the `x-amazon-apigateway-*` extensions,
//! in the shape AWS's own export has, such that importing it gives the same definition back.

use super::ext;
use super::refs::export_model;
use crate::model::*;
use crate::route::{RouteKey, RouteMethod};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

/// The document dialect to write (AWS's `exportType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// OpenAPI 3.0.1.
    Oas30,
    /// Swagger 2.0.
    Swagger2,
}

impl ExportFormat {
    /// `oas30`, or `swagger2` (also AWS's `swagger`).
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "oas30" | "openapi" | "openapi3" => Some(ExportFormat::Oas30),
            "swagger2" | "swagger" => Some(ExportFormat::Swagger2),
            _ => None,
        }
    }
}

/// Writes `def` as a document named `name`. With `stage`, the document's base path (the
/// `basePath` server variable, or Swagger's `basePath`) is the stage's name, as in AWS's
/// export; pass `&stage.deployment` as `def` to export what that stage serves.
pub fn export(
    name: &str,
    protocol: Protocol,
    def: &ApiDefinition,
    stage: Option<&Stage>,
    format: ExportFormat,
) -> Value {
    Exporter::new(protocol, def, format).document(name, None, stage)
}

/// Exports an API: the definition `stage` serves (its deployment), or the working definition
/// when no stage is named. `None` when the API has no such stage.
pub fn export_api(api: &Api, stage: Option<&str>, format: ExportFormat) -> Option<Value> {
    let stage = match stage {
        Some(s) => Some(api.stages.iter().find(|x| x.name == s)?),
        None => None,
    };
    let def = stage.map_or(&*api.definition, |s| &*s.deployment);
    Some(Exporter::new(api.protocol, def, format).document(
        &api.name,
        api.description.as_deref(),
        stage,
    ))
}

struct Exporter<'a> {
    protocol: Protocol,
    def: &'a ApiDefinition,
    format: ExportFormat,
    /// The security scheme names used for IAM and API keys (clear of authorizer names).
    sigv4: String,
    api_key: String,
}

fn unique(base: &str, taken: &IndexMap<String, Authorizer>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains_key(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

fn param_location(l: ParamLocation) -> &'static str {
    match l {
        ParamLocation::Path => "path",
        ParamLocation::QueryString => "querystring",
        ParamLocation::Header => "header",
    }
}

fn insert_some(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(key.to_string(), Value::String(v.to_string()));
    }
}

fn templates(t: &IndexMap<String, crate::template::Template>) -> Value {
    Value::Object(
        t.iter()
            .map(|(ct, t)| (ct.clone(), Value::String(t.source().to_string())))
            .collect(),
    )
}

impl<'a> Exporter<'a> {
    fn new(protocol: Protocol, def: &'a ApiDefinition, format: ExportFormat) -> Exporter<'a> {
        Exporter {
            protocol,
            def,
            format,
            sigv4: unique("sigv4", &def.authorizers),
            api_key: unique("api_key", &def.authorizers),
        }
    }

    fn oas3(&self) -> bool {
        self.format == ExportFormat::Oas30
    }

    fn model_ref(&self, name: &str) -> Value {
        let token = name.replace('~', "~0").replace('/', "~1");
        if self.oas3() {
            json!({ "$ref": format!("#/components/schemas/{token}") })
        } else {
            json!({ "$ref": format!("#/definitions/{token}") })
        }
    }

    fn document(&self, name: &str, description: Option<&str>, stage: Option<&Stage>) -> Value {
        let mut doc = Map::new();
        let mut info = Map::new();
        info.insert("title".into(), name.into());
        insert_some(&mut info, "description", description);
        info.insert("version".into(), "1.0".into());
        let stage_path = stage.map(|s| s.name.as_str()).filter(|s| *s != "$default");
        if self.oas3() {
            doc.insert("openapi".into(), "3.0.1".into());
            doc.insert("info".into(), Value::Object(info));
            let mut server = Map::new();
            match stage_path {
                Some(s) => {
                    server.insert("url".into(), "/{basePath}".into());
                    server.insert("variables".into(), json!({ "basePath": { "default": s } }));
                }
                None => {
                    server.insert("url".into(), "/".into());
                }
            }
            if let Some(e) = &self.def.endpoint_configuration {
                server.insert(
                    ext::ENDPOINT_CONFIGURATION.into(),
                    endpoint_configuration(e),
                );
            }
            if stage_path.is_some() || self.def.endpoint_configuration.is_some() {
                doc.insert("servers".into(), Value::Array(vec![Value::Object(server)]));
            }
        } else {
            doc.insert("swagger".into(), "2.0".into());
            doc.insert("info".into(), Value::Object(info));
            if let Some(s) = stage_path {
                doc.insert("basePath".into(), format!("/{s}").into());
            }
        }
        doc.insert("paths".into(), self.paths());

        let schemes = self.security_schemes();
        let is_model = |n: &str| self.def.models.contains_key(n);
        let prefix = if self.oas3() {
            "#/components/schemas/"
        } else {
            "#/definitions/"
        };
        let models: Map<String, Value> = self
            .def
            .models
            .iter()
            .map(|(n, m)| (n.clone(), export_model(n, m, &is_model, prefix)))
            .collect();
        if self.oas3() {
            let mut components = Map::new();
            if !models.is_empty() {
                components.insert("schemas".into(), Value::Object(models));
            }
            if !schemes.is_empty() {
                components.insert("securitySchemes".into(), Value::Object(schemes));
            }
            if !components.is_empty() {
                doc.insert("components".into(), Value::Object(components));
            }
        } else {
            if !schemes.is_empty() {
                doc.insert("securityDefinitions".into(), Value::Object(schemes));
            }
            if !models.is_empty() {
                doc.insert("definitions".into(), Value::Object(models));
            }
        }
        self.extensions(&mut doc);
        Value::Object(doc)
    }

    fn extensions(&self, doc: &mut Map<String, Value>) {
        let def = self.def;
        if self.protocol == Protocol::Http {
            doc.insert(ext::IMPORTEXPORT_VERSION.into(), "1.0".into());
        }
        if !def.request_validators.is_empty() {
            let v: Map<String, Value> = def
                .request_validators
                .iter()
                .map(|(n, v)| {
                    (
                        n.clone(),
                        json!({
                            "validateRequestBody": v.validate_request_body,
                            "validateRequestParameters": v.validate_request_parameters,
                        }),
                    )
                })
                .collect();
            doc.insert(ext::REQUEST_VALIDATORS.into(), Value::Object(v));
        }
        if let Some(d) = &def.default_request_validator {
            doc.insert(ext::REQUEST_VALIDATOR.into(), d.as_str().into());
        }
        if !def.gateway_responses.is_empty() {
            let mut g = Map::new();
            for r in &def.gateway_responses {
                let mut o = Map::new();
                if let Some(s) = r.status_code {
                    o.insert("statusCode".into(), s.to_string().into());
                }
                if !r.headers.is_empty() {
                    let p: Map<String, Value> = r
                        .headers
                        .iter()
                        .map(|(h, v)| {
                            (
                                format!("gatewayresponse.header.{h}"),
                                format!("'{v}'").into(),
                            )
                        })
                        .collect();
                    o.insert("responseParameters".into(), Value::Object(p));
                }
                if !r.templates.is_empty() {
                    o.insert("responseTemplates".into(), templates(&r.templates));
                }
                g.insert(r.kind.name().into(), Value::Object(o));
            }
            // HTTP APIs have no gateway responses on AWS; the file may still customise
            // Archway's, kept under Archway's own extension.
            let key = match self.protocol {
                Protocol::Rest => ext::GATEWAY_RESPONSES,
                Protocol::Http => ext::ARCHWAY_GATEWAY_RESPONSES,
            };
            doc.insert(key.into(), Value::Object(g));
        }
        if let Some(c) = &def.cors {
            let mut o = Map::new();
            for (k, v) in [
                ("allowOrigins", &c.allow_origins),
                ("allowMethods", &c.allow_methods),
                ("allowHeaders", &c.allow_headers),
                ("exposeHeaders", &c.expose_headers),
            ] {
                if !v.is_empty() {
                    o.insert(k.into(), json!(v));
                }
            }
            if let Some(a) = c.max_age {
                o.insert("maxAge".into(), a.into());
            }
            if c.allow_credentials {
                o.insert("allowCredentials".into(), true.into());
            }
            doc.insert(ext::CORS.into(), Value::Object(o));
        }
        if def.api_key_source != ApiKeySource::Header {
            doc.insert(
                ext::API_KEY_SOURCE.into(),
                def.api_key_source.as_str().into(),
            );
        }
        if !def.binary_media_types.is_empty() {
            doc.insert(
                ext::BINARY_MEDIA_TYPES.into(),
                json!(def.binary_media_types),
            );
        }
        if !self.oas3() {
            if let Some(e) = &def.endpoint_configuration {
                doc.insert(
                    ext::ENDPOINT_CONFIGURATION.into(),
                    endpoint_configuration(e),
                );
            }
        }
        if let Some(p) = &def.policy {
            doc.insert(ext::POLICY.into(), p.clone());
        }
        if let Some(m) = def.max_payload_bytes {
            doc.insert(ext::ARCHWAY_MAX_PAYLOAD_BYTES.into(), m.into());
        }
    }

    fn security_schemes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, a) in &self.def.authorizers {
            out.insert(name.clone(), self.authorizer(a));
        }
        if self
            .def
            .routes
            .iter()
            .any(|r| r.authorization == Authorization::Iam)
        {
            out.insert(
                self.sigv4.clone(),
                json!({
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }),
            );
        }
        if self.def.routes.iter().any(|r| r.api_key_required) {
            out.insert(
                self.api_key.clone(),
                json!({ "type": "apiKey", "name": "x-api-key", "in": "header" }),
            );
        }
        out
    }

    fn authorizer(&self, a: &Authorizer) -> Value {
        let mut s = Map::new();
        let scheme_type = match a.scheme_type.as_str() {
            t @ ("apiKey" | "oauth2") => t,
            t if self.oas3() => t,
            _ => "apiKey",
        };
        s.insert("type".into(), scheme_type.into());
        if scheme_type == "apiKey" {
            s.insert(
                "name".into(),
                a.scheme_name.as_deref().unwrap_or("Authorization").into(),
            );
            s.insert(
                "in".into(),
                a.scheme_in.as_deref().unwrap_or("header").into(),
            );
        } else if scheme_type == "oauth2" && self.oas3() {
            s.insert("flows".into(), json!({}));
        }
        insert_some(&mut s, ext::AUTHTYPE, a.auth_type.as_deref());
        let mut o = Map::new();
        o.insert("type".into(), a.kind.as_str().into());
        insert_some(&mut o, "authorizerUri", a.authorizer_uri.as_deref());
        insert_some(
            &mut o,
            "authorizerCredentials",
            a.authorizer_credentials.as_deref(),
        );
        insert_some(&mut o, "identitySource", a.identity_source.as_deref());
        insert_some(
            &mut o,
            "identityValidationExpression",
            a.identity_validation_expression.as_deref(),
        );
        if let Some(t) = a.result_ttl_in_seconds {
            o.insert("authorizerResultTtlInSeconds".into(), t.into());
        }
        if !a.provider_arns.is_empty() {
            o.insert("providerARNs".into(), json!(a.provider_arns));
        }
        insert_some(
            &mut o,
            "authorizerPayloadFormatVersion",
            a.payload_format_version.as_deref(),
        );
        if let Some(b) = a.enable_simple_responses {
            o.insert("enableSimpleResponses".into(), b.into());
        }
        if let Some(j) = &a.jwt_configuration {
            let mut jo = Map::new();
            insert_some(&mut jo, "issuer", j.issuer.as_deref());
            jo.insert("audience".into(), json!(j.audience));
            o.insert("jwtConfiguration".into(), Value::Object(jo));
        }
        s.insert(ext::AUTHORIZER.into(), Value::Object(o));
        Value::Object(s)
    }

    fn paths(&self) -> Value {
        let mut paths: Map<String, Value> = Map::new();
        for r in &self.def.routes {
            let (path, method) = match &r.key {
                RouteKey::Default => ("$default".to_string(), RouteMethod::Any),
                RouteKey::Route { method, path } => (path.to_string(), *method),
            };
            let key = match method {
                RouteMethod::Any => ext::ANY_METHOD.to_string(),
                m => m.as_str().to_ascii_lowercase(),
            };
            let item = paths
                .entry(path)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(key, self.operation(r));
            }
        }
        Value::Object(paths)
    }

    fn operation(&self, r: &Route) -> Value {
        let mut op = Map::new();
        insert_some(&mut op, "operationId", r.operation_id.as_deref());
        let oas3 = self.oas3();
        if !oas3 && !r.request_models.is_empty() {
            op.insert(
                "consumes".into(),
                json!(r.request_models.keys().collect::<Vec<_>>()),
            );
        }
        let responses = self.method_responses(r);
        if !oas3 {
            let mut produces: Vec<&String> = Vec::new();
            for m in responses.values() {
                for ct in m.models.keys() {
                    if !produces.contains(&ct) {
                        produces.push(ct);
                    }
                }
            }
            if !produces.is_empty() {
                op.insert("produces".into(), json!(produces));
            }
        }
        let mut params: Vec<Value> = r
            .request_parameters
            .iter()
            .map(|p| {
                let location = match p.location {
                    ParamLocation::Path => "path",
                    ParamLocation::QueryString => "query",
                    ParamLocation::Header => "header",
                };
                let mut o = Map::new();
                o.insert("name".into(), p.name.as_str().into());
                o.insert("in".into(), location.into());
                o.insert("required".into(), p.required.into());
                if oas3 {
                    o.insert("schema".into(), json!({ "type": "string" }));
                } else {
                    o.insert("type".into(), "string".into());
                }
                Value::Object(o)
            })
            .collect();
        if !oas3 {
            if let Some(model) = r.request_models.values().next() {
                params.push(json!({
                    "in": "body",
                    "name": model,
                    "required": true,
                    "schema": self.model_ref(model),
                }));
            }
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if oas3 && !r.request_models.is_empty() {
            let content: Map<String, Value> = r
                .request_models
                .iter()
                .map(|(ct, m)| (ct.clone(), json!({ "schema": self.model_ref(m) })))
                .collect();
            op.insert("requestBody".into(), json!({ "content": content }));
        }
        let mut rs = Map::new();
        for (status, m) in &responses {
            let mut o = Map::new();
            o.insert("description".into(), format!("{status} response").into());
            if !m.headers.is_empty() {
                let h: Map<String, Value> = m
                    .headers
                    .iter()
                    .map(|h| {
                        let schema = if oas3 {
                            json!({ "schema": { "type": "string" } })
                        } else {
                            json!({ "type": "string" })
                        };
                        (h.clone(), schema)
                    })
                    .collect();
                o.insert("headers".into(), Value::Object(h));
            }
            if oas3 {
                if !m.models.is_empty() {
                    let content: Map<String, Value> = m
                        .models
                        .iter()
                        .map(|(ct, n)| (ct.clone(), json!({ "schema": self.model_ref(n) })))
                        .collect();
                    o.insert("content".into(), Value::Object(content));
                }
            } else if let Some(n) = m.models.values().next() {
                o.insert("schema".into(), self.model_ref(n));
            }
            rs.insert(status.clone(), Value::Object(o));
        }
        op.insert("responses".into(), Value::Object(rs));
        if r.authorization != Authorization::None || r.api_key_required {
            let mut req = Map::new();
            let scopes = json!(r.authorization_scopes);
            match &r.authorization {
                Authorization::None => {}
                Authorization::Iam => {
                    req.insert(self.sigv4.clone(), scopes);
                }
                Authorization::Custom(n)
                | Authorization::CognitoUserPools(n)
                | Authorization::Jwt(n) => {
                    req.insert(n.clone(), scopes);
                }
            }
            if r.api_key_required {
                req.insert(self.api_key.clone(), json!([]));
            }
            op.insert("security".into(), json!([req]));
        }
        insert_some(
            &mut op,
            ext::REQUEST_VALIDATOR,
            r.request_validator.as_deref(),
        );
        op.insert(
            ext::INTEGRATION.into(),
            self.integration(&r.integration, &responses),
        );
        Value::Object(op)
    }

    /// The route's method responses, with those its integration responses need added (a
    /// definition from the declarative door has none).
    fn method_responses(&self, r: &Route) -> IndexMap<String, MethodResponse> {
        let mut out = r.method_responses.clone();
        super::import::add_implied_method_responses(&mut out, &r.integration);
        out
    }

    /// The integration; response header names take the case their method response declares
    /// (the model keeps them in lower case).
    fn integration(
        &self,
        i: &Integration,
        method_responses: &IndexMap<String, MethodResponse>,
    ) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), i.kind.as_str().to_ascii_lowercase().into());
        if let Some(u) = &i.uri {
            o.insert("uri".into(), u.source.as_str().into());
        }
        match (&i.http_method, i.kind) {
            (Some(m), _) => {
                o.insert("httpMethod".into(), m.as_str().into());
            }
            (None, IntegrationType::Http | IntegrationType::HttpProxy) => {
                o.insert("httpMethod".into(), "ANY".into());
            }
            (None, _) => {}
        }
        if !i.request_parameters.is_empty() {
            let p: Map<String, Value> = i
                .request_parameters
                .iter()
                .map(|(t, s)| {
                    let source = match s {
                        ParamSource::Method { location, name } => {
                            format!("method.request.{}.{name}", param_location(*location))
                        }
                        ParamSource::Static(v) => format!("'{v}'"),
                        ParamSource::StageVariable(n) => format!("stageVariables.{n}"),
                        ParamSource::Context(c) => format!("context.{c}"),
                    };
                    (
                        format!(
                            "integration.request.{}.{}",
                            param_location(t.location),
                            t.name
                        ),
                        source.into(),
                    )
                })
                .collect();
            o.insert("requestParameters".into(), Value::Object(p));
        }
        if !i.request_templates.is_empty() {
            o.insert("requestTemplates".into(), templates(&i.request_templates));
        }
        if !i.responses.is_empty() {
            let mut rs = Map::new();
            for r in &i.responses {
                let mut ro = Map::new();
                ro.insert("statusCode".into(), r.status_code.to_string().into());
                if !r.response_parameters.is_empty() {
                    let declared = method_responses.get(&r.status_code.to_string());
                    let p: Map<String, Value> = r
                        .response_parameters
                        .iter()
                        .map(|(h, s)| {
                            let h = declared
                                .and_then(|m| m.headers.iter().find(|x| x.eq_ignore_ascii_case(h)))
                                .unwrap_or(h);
                            let v = match s {
                                ResponseParamSource::Static(v) => format!("'{v}'"),
                                ResponseParamSource::IntegrationHeader(n) => {
                                    format!("integration.response.header.{n}")
                                }
                            };
                            (format!("method.response.header.{h}"), v.into())
                        })
                        .collect();
                    ro.insert("responseParameters".into(), Value::Object(p));
                }
                if !r.response_templates.is_empty() {
                    ro.insert("responseTemplates".into(), templates(&r.response_templates));
                }
                if let Some(c) = r.content_handling {
                    ro.insert("contentHandling".into(), c.as_str().into());
                }
                let pattern = r.selection_pattern.as_deref().unwrap_or("default");
                rs.insert(pattern.to_string(), Value::Object(ro));
            }
            o.insert("responses".into(), Value::Object(rs));
        }
        o.insert(
            "passthroughBehavior".into(),
            i.passthrough_behavior.as_str().to_ascii_lowercase().into(),
        );
        o.insert(
            "timeoutInMillis".into(),
            u64::try_from(i.timeout.as_millis())
                .unwrap_or(u64::MAX)
                .into(),
        );
        if i.connection_type != ConnectionType::Internet {
            o.insert("connectionType".into(), i.connection_type.as_str().into());
        }
        insert_some(&mut o, "connectionId", i.connection_id.as_deref());
        insert_some(&mut o, "credentials", i.credentials.as_deref());
        insert_some(
            &mut o,
            "payloadFormatVersion",
            i.payload_format_version.as_deref(),
        );
        if !i.cache_key_parameters.is_empty() {
            o.insert("cacheKeyParameters".into(), json!(i.cache_key_parameters));
        }
        insert_some(&mut o, "cacheNamespace", i.cache_namespace.as_deref());
        if let Some(c) = i.content_handling {
            o.insert("contentHandling".into(), c.as_str().into());
        }
        insert_some(
            &mut o,
            "integrationSubtype",
            i.integration_subtype.as_deref(),
        );
        if i.insecure_skip_verification {
            o.insert(
                "tlsConfig".into(),
                json!({ "insecureSkipVerification": true }),
            );
        }
        if i.upstream_protocol == UpstreamProtocol::Http2 {
            o.insert(ext::ARCHWAY_UPSTREAM_PROTOCOL.into(), "HTTP2".into());
        }
        Value::Object(o)
    }
}

fn endpoint_configuration(e: &EndpointConfiguration) -> Value {
    let mut o = Map::new();
    if e.disable_execute_api_endpoint {
        o.insert("disableExecuteApiEndpoint".into(), true.into());
    }
    if !e.vpc_endpoint_ids.is_empty() {
        o.insert("vpcEndpointIds".into(), json!(e.vpc_endpoint_ids));
    }
    if let Some(t) = &e.ip_address_type {
        o.insert("ipAddressType".into(), t.as_str().into());
    }
    Value::Object(o)
}
