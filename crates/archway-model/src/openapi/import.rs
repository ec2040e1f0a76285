//! OpenAPI 3.0 / 3.1 and Swagger 2.0 → [`ApiDefinition`].

use super::context::{child, describe, Ctx};
use super::ext::{self, RouteFacts};
use super::refs::{self, Schemas};
use super::{BasePathMode, ImportOptions, Imported, ImportedApi, SourceFormat, SourceLocation};
use crate::model::*;
use crate::route::{PathTemplate, RouteKey, RouteMethod, Segment};
use crate::source::{self, to_json, Diagnostic};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Imports an OpenAPI 3.0 / 3.1 or Swagger 2.0 document (JSON or YAML). `file` names it in
/// diagnostics. Never panics and never fetches anything.
pub fn import(file: &str, text: &str, opts: &ImportOptions) -> Imported {
    let node = match source::parse(file, text, &opts.limits) {
        Ok(node) => node,
        Err(mut diagnostics) => {
            if diagnostics.is_empty() {
                diagnostics.push(Diagnostic::error(
                    file,
                    0,
                    0,
                    "",
                    "the document could not be read",
                ));
            }
            return Imported {
                api: None,
                diagnostics,
            };
        }
    };
    let root = to_json(&node);
    let mut ctx = Ctx::new(file, &node);
    let api = Importer::run(&mut ctx, &root, opts);
    let mut diagnostics = ctx.diags;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let api = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        api
    };
    Imported { api, diagnostics }
}

const METHODS: [(&str, RouteMethod); 7] = [
    ("get", RouteMethod::Get),
    ("put", RouteMethod::Put),
    ("post", RouteMethod::Post),
    ("delete", RouteMethod::Delete),
    ("options", RouteMethod::Options),
    ("head", RouteMethod::Head),
    ("patch", RouteMethod::Patch),
];

/// What a security scheme means to API Gateway.
#[derive(Debug, Clone)]
enum Scheme {
    /// Names an authorizer of `authorizers`.
    Authorizer(AuthorizerType),
    /// `x-amazon-apigateway-authtype: awsSigv4`.
    Iam,
    /// An `apiKey` scheme for the `x-api-key` header: API key required.
    ApiKey,
    /// Anything else: API Gateway does not enforce it (a warning was given).
    Ignored,
}

struct Importer<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    root: &'a Value,
    format: SourceFormat,
    protocol: Protocol,
    schemas: Schemas<'a>,
    models: IndexMap<String, Value>,
    schemes: HashMap<String, Scheme>,
    authorizers: IndexMap<String, Authorizer>,
    validators: IndexMap<String, RequestValidator>,
    /// Root `consumes` (Swagger 2.0).
    consumes: Vec<String>,
    /// Root `produces` (Swagger 2.0).
    produces: Vec<String>,
}

/// A parameter of an operation after `$ref`s and path-level merging.
struct Param<'v> {
    name: String,
    location: String,
    value: &'v Map<String, Value>,
    pointer: String,
}

impl<'a, 'c> Importer<'a, 'c> {
    fn run(ctx: &'c mut Ctx<'a>, root: &'a Value, opts: &ImportOptions) -> Option<ImportedApi> {
        let Some(top) = root.as_object() else {
            ctx.error(
                "",
                format!(
                    "an OpenAPI document must be an object, found {}",
                    describe(root)
                ),
            );
            return None;
        };
        let format = detect_format(ctx, top)?;
        refs::check_remote_refs(ctx, root);
        let protocol = opts.protocol.unwrap_or(Protocol::Rest);
        if opts.protocol.is_none() && top.contains_key(ext::IMPORTEXPORT_VERSION) {
            ctx.warn(
                &child("", ext::IMPORTEXPORT_VERSION),
                "this looks like an HTTP API's document; it is imported as a REST API (import it with the HTTP API type to get an HTTP API)",
            );
        }
        let swagger2 = format == SourceFormat::Swagger2;
        let mut imp = Importer {
            ctx,
            root,
            format,
            protocol,
            schemas: Schemas::new(root, swagger2, format == SourceFormat::OpenApi31),
            models: IndexMap::new(),
            schemes: HashMap::new(),
            authorizers: IndexMap::new(),
            validators: IndexMap::new(),
            consumes: Vec::new(),
            produces: Vec::new(),
        };
        imp.document(top, opts)
    }

    fn document(
        &mut self,
        top: &'a Map<String, Value>,
        opts: &ImportOptions,
    ) -> Option<ImportedApi> {
        let (name, description, version) = self.info(top);
        ext::unknown_extensions(
            self.ctx,
            top,
            "",
            &[
                ext::REQUEST_VALIDATORS,
                ext::REQUEST_VALIDATOR,
                ext::GATEWAY_RESPONSES,
                ext::CORS,
                ext::API_KEY_SOURCE,
                ext::BINARY_MEDIA_TYPES,
                ext::ENDPOINT_CONFIGURATION,
                ext::POLICY,
                ext::IMPORTEXPORT_VERSION,
                ext::DOCUMENTATION,
                ext::MINIMUM_COMPRESSION_SIZE,
            ],
        );
        for ignored in [ext::DOCUMENTATION, ext::MINIMUM_COMPRESSION_SIZE] {
            if top.contains_key(ignored) {
                self.ctx.warn(
                    &child("", ignored),
                    format!(
                        "`{ignored}` has no effect in Archway yet; it is ignored and not exported"
                    ),
                );
            }
        }
        if self.format == SourceFormat::Swagger2 {
            self.consumes = self.ctx.strings_field(top, "", "consumes");
            self.produces = self.ctx.strings_field(top, "", "produces");
        }

        for (model, pointer) in self.schemas.names() {
            if let Some(schema) = self.schemas.model(self.ctx, &model) {
                self.check_model(&schema, &pointer);
                self.models.insert(model, schema);
            }
        }
        self.security_schemes(top);

        let mut def = ApiDefinition::default();
        if let Some(v) = top.get(ext::REQUEST_VALIDATORS) {
            self.validators =
                ext::request_validators(self.ctx, v, &child("", ext::REQUEST_VALIDATORS));
        }
        def.default_request_validator = self.validator_name(top, "");

        let base_path = self.base_path(top);
        let (routes, locations) = self.paths(top, base_path.as_deref(), opts.base_path);
        def.routes = routes;

        if let Some(v) = top.get(ext::GATEWAY_RESPONSES) {
            let p = child("", ext::GATEWAY_RESPONSES);
            if self.protocol == Protocol::Http {
                self.ctx
                    .warn(&p, "HTTP APIs have no gateway responses; ignored");
            } else {
                def.gateway_responses = ext::gateway_responses(self.ctx, v, &p);
            }
        }
        if let Some(v) = top.get(ext::ARCHWAY_GATEWAY_RESPONSES) {
            if self.protocol == Protocol::Http {
                let p = child("", ext::ARCHWAY_GATEWAY_RESPONSES);
                def.gateway_responses = ext::gateway_responses(self.ctx, v, &p);
            }
        }
        if let Some(v) = top.get(ext::CORS) {
            let p = child("", ext::CORS);
            if self.protocol == Protocol::Rest {
                self.ctx.warn(
                    &p,
                    "`x-amazon-apigateway-cors` configures HTTP APIs; API Gateway ignores it on a REST API, and so does Archway (answer OPTIONS with a MOCK integration instead)",
                );
            } else {
                def.cors = ext::cors(self.ctx, v, &p);
            }
        }
        if let Some(v) = top.get(ext::API_KEY_SOURCE) {
            let p = child("", ext::API_KEY_SOURCE);
            match v.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("HEADER") => def.api_key_source = ApiKeySource::Header,
                Some("AUTHORIZER") => def.api_key_source = ApiKeySource::Authorizer,
                _ => self.ctx.error(
                    &p,
                    format!("expected HEADER or AUTHORIZER, found {}", describe(v)),
                ),
            }
        }
        if let Some(v) = top.get(ext::BINARY_MEDIA_TYPES) {
            let types = self.ctx.strings_field(top, "", ext::BINARY_MEDIA_TYPES);
            if v.is_array() {
                for (i, t) in types.iter().enumerate() {
                    if !t.contains('/') {
                        self.ctx.error(
                            &child(&child("", ext::BINARY_MEDIA_TYPES), &i.to_string()),
                            format!("`{t}` is not a media type such as image/png"),
                        );
                    }
                }
            }
            def.binary_media_types = types;
        }
        def.endpoint_configuration = self.endpoint_configuration(top);
        if top.contains_key(ext::ARCHWAY_MAX_PAYLOAD_BYTES) {
            match self
                .ctx
                .uint_field(top, "", ext::ARCHWAY_MAX_PAYLOAD_BYTES, u64::MAX)
            {
                Some(0) => self.ctx.error(
                    &child("", ext::ARCHWAY_MAX_PAYLOAD_BYTES),
                    "must be greater than 0",
                ),
                m => def.max_payload_bytes = m,
            }
        }
        if let Some(v) = top.get(ext::POLICY) {
            let p = child("", ext::POLICY);
            if self.protocol == Protocol::Http {
                self.ctx
                    .error(&p, "resource policies exist only on REST APIs");
            } else {
                match v {
                    Value::Object(_) => def.policy = Some(v.clone()),
                    // AWS also accepts the policy as a JSON string.
                    Value::String(s) => match serde_json::from_str::<Value>(s) {
                        Ok(p_json) if p_json.is_object() => def.policy = Some(p_json),
                        _ => self.ctx.error(&p, "the policy string is not a JSON object"),
                    },
                    other => self.ctx.error(
                        &p,
                        format!(
                            "a resource policy must be an IAM policy object, found {}",
                            describe(other)
                        ),
                    ),
                }
            }
        }
        if self.protocol == Protocol::Http && !self.validators.is_empty() {
            self.ctx.warn(
                &child("", ext::REQUEST_VALIDATORS),
                "HTTP APIs do not validate requests; the validators are ignored",
            );
            self.validators.clear();
            def.default_request_validator = None;
            for r in &mut def.routes {
                r.request_validator = None;
            }
        }
        def.request_validators = std::mem::take(&mut self.validators);
        def.models = std::mem::take(&mut self.models);
        def.authorizers = std::mem::take(&mut self.authorizers);
        Some(ImportedApi {
            name: name?,
            description,
            version,
            protocol: self.protocol,
            format: self.format,
            definition: def,
            base_path,
            route_locations: locations,
        })
    }

    fn info(
        &mut self,
        top: &Map<String, Value>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let Some(info) = top.get("info") else {
            self.ctx
                .error("", "`info` is required (its `title` names the API)");
            return (None, None, None);
        };
        let Some(info) = self.ctx.object(info, "/info", "`info`") else {
            return (None, None, None);
        };
        let title = match self.ctx.str_field(info, "/info", "title") {
            Some(t) if !t.trim().is_empty() => Some(t.to_string()),
            Some(_) => {
                self.ctx
                    .error("/info/title", "the API's name must not be empty");
                None
            }
            None => {
                if !info.contains_key("title") {
                    self.ctx
                        .error("/info", "`title` is required: it names the API");
                }
                None
            }
        };
        let description = self
            .ctx
            .str_field(info, "/info", "description")
            .map(str::to_string);
        let version = match info.get("version") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        (title, description, version)
    }

    fn endpoint_configuration(
        &mut self,
        top: &Map<String, Value>,
    ) -> Option<EndpointConfiguration> {
        // Swagger 2.0: at the top; OpenAPI 3: on a server object (the top is accepted too).
        let mut found = top
            .get(ext::ENDPOINT_CONFIGURATION)
            .map(|v| (v, child("", ext::ENDPOINT_CONFIGURATION)));
        if let Some(Value::Array(servers)) = top.get("servers") {
            for (i, s) in servers.iter().enumerate() {
                if let Some(v) = s.get(ext::ENDPOINT_CONFIGURATION) {
                    let p = child(
                        &child("/servers", &i.to_string()),
                        ext::ENDPOINT_CONFIGURATION,
                    );
                    if found.is_some() {
                        self.ctx.error(&p, "a second `x-amazon-apigateway-endpoint-configuration`; give one per API");
                    } else {
                        found = Some((v, p));
                    }
                }
            }
        }
        let (v, p) = found?;
        ext::endpoint_configuration(self.ctx, v, &p)
    }

    /// `x-amazon-apigateway-request-validator` on the object at `pointer`, checked against the
    /// declared validators.
    fn validator_name(&mut self, m: &Map<String, Value>, pointer: &str) -> Option<String> {
        let name = self.ctx.str_field(m, pointer, ext::REQUEST_VALIDATOR)?;
        if !self.validators.contains_key(name) {
            self.ctx.error(
                &child(pointer, ext::REQUEST_VALIDATOR),
                format!("no request validator is named `{name}` in `x-amazon-apigateway-request-validators`"),
            );
            return None;
        }
        Some(name.to_string())
    }

    fn security_schemes(&mut self, top: &'a Map<String, Value>) {
        let (holder, pointer) = if self.format == SourceFormat::Swagger2 {
            (
                top.get("securityDefinitions"),
                "/securityDefinitions".to_string(),
            )
        } else {
            (
                top.get("components").and_then(|c| c.get("securitySchemes")),
                "/components/securitySchemes".to_string(),
            )
        };
        let Some(holder) = holder else {
            return;
        };
        let Some(schemes) = self.ctx.object(holder, &pointer, "the security schemes") else {
            return;
        };
        for (name, raw) in schemes {
            let sp = child(&pointer, name);
            let Some((v, at)) = refs::deref(self.ctx, self.root, raw, &sp) else {
                continue;
            };
            let Some(s) = self.ctx.object(v, &at, "a security scheme") else {
                continue;
            };
            ext::unknown_extensions(self.ctx, s, &at, &[ext::AUTHORIZER, ext::AUTHTYPE]);
            let authtype = self.ctx.str_field(s, &at, ext::AUTHTYPE);
            let scheme = if let Some(a) = s.get(ext::AUTHORIZER) {
                match ext::authorizer(self.ctx, s, &at, a) {
                    Some(auth) => {
                        let kind = auth.kind;
                        self.authorizers.insert(name.clone(), auth);
                        Scheme::Authorizer(kind)
                    }
                    // Reported; the import fails, so the routes that use it need not say more.
                    None => Scheme::Ignored,
                }
            } else if authtype.is_some_and(|t| t.eq_ignore_ascii_case("awsSigv4")) {
                Scheme::Iam
            } else if s.get("type").and_then(Value::as_str) == Some("apiKey")
                && s.get("in").and_then(Value::as_str) == Some("header")
                && s.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            {
                Scheme::ApiKey
            } else {
                self.ctx.warn(
                    &at,
                    format!("security scheme `{name}` has no `x-amazon-apigateway-authorizer`, is not `x-amazon-apigateway-authtype: awsSigv4` and is not the `x-api-key` header: API Gateway does not enforce it, and neither does Archway"),
                );
                Scheme::Ignored
            };
            self.schemes.insert(name.clone(), scheme);
        }
    }

    /// The document's base path, normalised to `/a/b` (`None` for `/`).
    fn base_path(&mut self, top: &Map<String, Value>) -> Option<String> {
        let raw = if self.format == SourceFormat::Swagger2 {
            self.ctx.str_field(top, "", "basePath")?.to_string()
        } else {
            let servers = top.get("servers")?.as_array()?;
            // AWS: the (first) `basePath` server variable, even when the URL does not use it;
            // else the path of the first server's URL, with its variables' defaults.
            let from_variable = servers.iter().find_map(|s| {
                s.get("variables")?
                    .get("basePath")?
                    .get("default")?
                    .as_str()
                    .map(str::to_string)
            });
            match from_variable {
                Some(b) => b,
                None => {
                    let s = servers.first()?;
                    let url = s.get("url")?.as_str()?;
                    let mut url = url.to_string();
                    if let Some(vars) = s.get("variables").and_then(Value::as_object) {
                        for (k, v) in vars {
                            if let Some(d) = v.get("default").and_then(Value::as_str) {
                                url = url.replace(&format!("{{{k}}}"), d);
                            }
                        }
                    }
                    url_path(&url)
                }
            }
        };
        let trimmed = raw.trim().trim_matches('/');
        if trimmed.is_empty() {
            return None;
        }
        let normalised = format!("/{trimmed}");
        match PathTemplate::parse(&normalised) {
            Ok(_) => Some(normalised),
            Err(e) => {
                let at = if self.format == SourceFormat::Swagger2 {
                    "/basePath"
                } else {
                    "/servers"
                };
                self.ctx
                    .error(at, format!("the base path is not a usable path: {e}"));
                None
            }
        }
    }

    fn paths(
        &mut self,
        top: &'a Map<String, Value>,
        base_path: Option<&str>,
        mode: BasePathMode,
    ) -> (Vec<Route>, Vec<SourceLocation>) {
        let mut routes = Vec::new();
        let mut locations = Vec::new();
        let Some(paths) = top.get("paths") else {
            if self.format != SourceFormat::OpenApi31 {
                self.ctx.error("", "`paths` is required");
            }
            return (routes, locations);
        };
        let Some(paths) = self.ctx.object(paths, "/paths", "`paths`") else {
            return (routes, locations);
        };
        let prefix = match (mode, base_path) {
            (BasePathMode::Ignore, _) | (_, None) => String::new(),
            (BasePathMode::Prepend, Some(b)) => b.to_string(),
            (BasePathMode::Split, Some(b)) => match b[1..].split_once('/') {
                Some((_stage, rest)) => format!("/{rest}"),
                None => String::new(),
            },
        };
        let mut seen: HashMap<crate::route::RouteShape, (String, String)> = HashMap::new();
        // REST: one variable segment per position (`/pets/{id}` and `/pets/{petId}` cannot both
        // exist, as in API Gateway's resource tree).
        let mut variables: HashMap<Vec<Option<String>>, (String, String)> = HashMap::new();
        for (path_key, raw_item) in paths {
            let pp = child("/paths", path_key);
            if !path_key.starts_with('/') && path_key != "$default" {
                if !path_key.starts_with("x-") {
                    self.ctx
                        .error(&pp, format!("path `{path_key}` must start with `/`"));
                }
                continue;
            }
            let Some((item_v, item_at)) = refs::deref(self.ctx, self.root, raw_item, &pp) else {
                continue;
            };
            let Some(item) = self.ctx.object(item_v, &item_at, "a path item") else {
                continue;
            };
            ext::unknown_extensions(self.ctx, item, &pp, &[ext::ANY_METHOD]);
            let template = if path_key == "$default" {
                if self.protocol == Protocol::Rest {
                    self.ctx.error(
                        &pp,
                        "`$default` routes exist only on HTTP APIs (import with the HTTP API type); a REST API uses `/{proxy+}`",
                    );
                    continue;
                }
                None
            } else {
                let full = if path_key == "/" && !prefix.is_empty() {
                    prefix.clone()
                } else {
                    format!("{prefix}{path_key}")
                };
                match PathTemplate::parse(&full) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        self.ctx.error(&pp, e);
                        continue;
                    }
                }
            };
            let path_params = self.parameters(item, &item_at);
            for (op_key, op) in item {
                let method = match op_key.as_str() {
                    ext::ANY_METHOD => RouteMethod::Any,
                    "trace" => {
                        self.ctx
                            .error(&child(&pp, op_key), "API Gateway has no TRACE methods");
                        continue;
                    }
                    k => match METHODS.iter().find(|(name, _)| *name == k) {
                        Some((_, m)) => *m,
                        None => continue,
                    },
                };
                let op_at = child(&pp, op_key);
                let key = match &template {
                    None if method == RouteMethod::Any => RouteKey::Default,
                    None => {
                        self.ctx.error(
                            &op_at,
                            "the `$default` route takes every method: declare it with `x-amazon-apigateway-any-method`",
                        );
                        continue;
                    }
                    Some(t) => RouteKey::Route {
                        method,
                        path: t.clone(),
                    },
                };
                let shape = RouteKey::shape(&key);
                if let Some((other_key, other_at)) = seen.get(&shape) {
                    self.ctx.error(
                        &op_at,
                        format!("duplicate operation: `{key}` is the same route as `{other_key}` at {other_at}"),
                    );
                    continue;
                }
                seen.insert(shape, (key.to_string(), op_at.clone()));
                if let (Protocol::Rest, Some(t)) = (self.protocol, &template) {
                    if !self.check_variables(&mut variables, t, &op_at) {
                        continue;
                    }
                }
                if let Some(route) = self.operation(key, op, &op_at, &path_params) {
                    let (line, column) = self.ctx.locate(&op_at);
                    locations.push(SourceLocation {
                        pointer: op_at,
                        line,
                        column,
                    });
                    routes.push(route);
                }
            }
        }
        (routes, locations)
    }

    /// Records the variable segments of `t`; false (with an error) when one disagrees with a
    /// route seen before.
    fn check_variables(
        &mut self,
        variables: &mut HashMap<Vec<Option<String>>, (String, String)>,
        t: &PathTemplate,
        at: &str,
    ) -> bool {
        let mut prefix: Vec<Option<String>> = Vec::new();
        for seg in &t.segments {
            let written = match seg {
                Segment::Literal(l) => {
                    prefix.push(Some(l.clone()));
                    continue;
                }
                Segment::Param(n) => format!("{{{n}}}"),
                Segment::Greedy(n) => format!("{{{n}+}}"),
            };
            match variables.get(&prefix) {
                Some((other, other_at)) if *other != written => {
                    self.ctx.error(
                        at,
                        format!("path `{t}` has `{written}` where the path at {other_at} has `{other}`: API Gateway allows one variable segment per position, so give them the same name"),
                    );
                    return false;
                }
                Some(_) => {}
                None => {
                    variables.insert(prefix.clone(), (written, at.to_string()));
                }
            }
            prefix.push(None);
        }
        true
    }

    /// The parameters declared on a path item or operation, `$ref`s followed.
    fn parameters(&mut self, m: &'a Map<String, Value>, pointer: &str) -> Vec<Param<'a>> {
        let Some(v) = m.get("parameters") else {
            return Vec::new();
        };
        let lp = child(pointer, "parameters");
        let Some(items) = v.as_array() else {
            self.ctx.error(
                &lp,
                format!("`parameters` must be an array, found {}", describe(v)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let ip = child(&lp, &i.to_string());
            let Some((pv, at)) = refs::deref(self.ctx, self.root, raw, &ip) else {
                continue;
            };
            let Some(p) = self.ctx.object(pv, &at, "a parameter") else {
                continue;
            };
            let name = self.ctx.str_field(p, &at, "name");
            let location = self.ctx.str_field(p, &at, "in");
            match (name, location) {
                (Some(n), Some(l)) => out.push(Param {
                    name: n.to_string(),
                    location: l.to_string(),
                    value: p,
                    pointer: at,
                }),
                _ => self.ctx.error(&at, "a parameter needs `name` and `in`"),
            }
        }
        out
    }

    fn operation(
        &mut self,
        key: RouteKey,
        op_v: &'a Value,
        pointer: &str,
        path_params: &[Param<'a>],
    ) -> Option<Route> {
        let op = self.ctx.object(op_v, pointer, "an operation")?;
        ext::unknown_extensions(
            self.ctx,
            op,
            pointer,
            &[ext::INTEGRATION, ext::REQUEST_VALIDATOR, ext::AUTH],
        );
        let key_text = key.to_string();
        let route_params: Vec<String> = match &key {
            RouteKey::Route { path, .. } => path.param_names().map(str::to_string).collect(),
            RouteKey::Default => Vec::new(),
        };

        // Parameters: the operation's override the path item's by (name, in).
        let mut params = self.parameters(op, pointer);
        for p in path_params {
            if !params
                .iter()
                .any(|o| o.name == p.name && o.location == p.location)
            {
                params.push(Param {
                    name: p.name.clone(),
                    location: p.location.clone(),
                    value: p.value,
                    pointer: p.pointer.clone(),
                });
            }
        }
        let mut request_parameters: Vec<RequestParameter> = Vec::new();
        let mut body_schema: Option<(&'a Value, String)> = None;
        for p in &params {
            let location = match p.location.as_str() {
                "path" => ParamLocation::Path,
                "query" => ParamLocation::QueryString,
                "header" => ParamLocation::Header,
                "body" if self.format == SourceFormat::Swagger2 => {
                    match p.value.get("schema") {
                        Some(s) => body_schema = Some((s, child(&p.pointer, "schema"))),
                        None => self
                            .ctx
                            .error(&p.pointer, "a body parameter needs a `schema`"),
                    }
                    continue;
                }
                other => {
                    self.ctx.warn(
                        &p.pointer,
                        format!(
                            "`{other}` parameters are not mapped by API Gateway; `{}` is ignored",
                            p.name
                        ),
                    );
                    continue;
                }
            };
            if location == ParamLocation::Path && !route_params.contains(&p.name) {
                self.ctx.warn(
                    &p.pointer,
                    format!(
                        "route `{key_text}` has no path parameter `{}`; it is ignored",
                        p.name
                    ),
                );
                continue;
            }
            let required = location == ParamLocation::Path
                || self
                    .ctx
                    .bool_field(p.value, &p.pointer, "required")
                    .unwrap_or(false);
            request_parameters.push(RequestParameter {
                location,
                name: p.name.clone(),
                required,
            });
        }

        let request_models = self.request_models(op, pointer, &key, body_schema);
        let method_responses = self.method_responses(op, pointer);

        let integration_at = child(pointer, ext::INTEGRATION);
        let integration = match op.get(ext::INTEGRATION) {
            Some(raw) => {
                let (v, at) = refs::deref(self.ctx, self.root, raw, &integration_at)?;
                let facts = RouteFacts {
                    key: &key_text,
                    path_params: &route_params,
                    protocol: self.protocol,
                };
                ext::integration(self.ctx, v, &at, &facts)
            }
            None => {
                self.ctx.error(
                    pointer,
                    format!("operation `{key_text}` has no `x-amazon-apigateway-integration`, so there is nothing to call"),
                );
                None
            }
        };
        let request_validator = self.validator_name(op, pointer);
        let (authorization, authorization_scopes, api_key_required) =
            self.security(op, pointer, &key_text);

        let integration = integration?;
        let mut method_responses = method_responses;
        add_implied_method_responses(&mut method_responses, &integration);
        let mut route = Route::new(key, integration);
        route.request_parameters = request_parameters;
        route.operation_id = self
            .ctx
            .str_field(op, pointer, "operationId")
            .map(str::to_string);
        route.request_validator = request_validator;
        route.request_models = request_models;
        route.api_key_required = api_key_required;
        route.authorization = authorization;
        route.authorization_scopes = authorization_scopes;
        route.method_responses = method_responses;
        Some(route)
    }

    /// Content type → model name for the request body.
    fn request_models(
        &mut self,
        op: &'a Map<String, Value>,
        pointer: &str,
        key: &RouteKey,
        swagger_body: Option<(&'a Value, String)>,
    ) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        if self.format == SourceFormat::Swagger2 {
            let Some((schema, at)) = swagger_body else {
                return out;
            };
            let mut types = self.ctx.strings_field(op, pointer, "consumes");
            if types.is_empty() {
                types = self.consumes.clone();
            }
            if types.is_empty() {
                types.push("application/json".to_string());
            }
            let hint = self.model_hint(op, key);
            let Some(model) = self.schema_model(schema, &at, &hint) else {
                return out;
            };
            for t in types {
                out.insert(t.to_ascii_lowercase(), model.clone());
            }
            return out;
        }
        let Some(raw) = op.get("requestBody") else {
            return out;
        };
        let rp = child(pointer, "requestBody");
        let Some((body, at)) = refs::deref(self.ctx, self.root, raw, &rp) else {
            return out;
        };
        let Some(content) = body.get("content") else {
            return out;
        };
        let cp = child(&at, "content");
        let Some(content) = self.ctx.object(content, &cp, "`content`") else {
            return out;
        };
        let hint = self.model_hint(op, key);
        for (ct, media) in content {
            let mp = child(&cp, ct);
            let Some(schema) = media.get("schema") else {
                continue;
            };
            if let Some(model) = self.schema_model(schema, &child(&mp, "schema"), &hint) {
                out.insert(ct.to_ascii_lowercase(), model);
            }
        }
        out
    }

    /// Reports a model that is not a JSON Schema (draft 4, as AWS uses), as the data plane
    /// would when it compiles the model.
    fn check_model(&mut self, model: &Value, pointer: &str) {
        // After an error (a refused remote `$ref`, say) the schema may be incomplete: say
        // nothing more about it.
        if self.ctx.diags.iter().any(Diagnostic::is_error) {
            return;
        }
        if !model.is_object() {
            self.ctx.error(
                pointer,
                format!(
                    "a model's schema must be an object, found {}",
                    describe(model)
                ),
            );
        } else if let Err(e) = jsonschema::draft4::new(model) {
            self.ctx.error(
                pointer,
                format!("this schema is not a valid JSON Schema (draft 4, as API Gateway's models are): {e}"),
            );
        }
    }

    /// A name for a model made from an operation's inline schema: the operation id, else the
    /// method and path, in CamelCase (`PutPetsIdBody`).
    fn model_hint(&self, op: &Map<String, Value>, key: &RouteKey) -> String {
        let from: String = match op.get("operationId").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => key.to_string().to_ascii_lowercase(),
        };
        let mut name = String::new();
        let mut upper = true;
        for c in from.chars() {
            if c.is_ascii_alphanumeric() {
                if upper {
                    name.push(c.to_ascii_uppercase());
                } else {
                    name.push(c);
                }
                upper = false;
            } else {
                upper = true;
            }
        }
        if name.is_empty() {
            name.push_str("Default");
        }
        name
    }

    /// The model a schema names (`$ref` to a named schema) or a new one made of it.
    fn schema_model(&mut self, schema: &'a Value, pointer: &str, hint: &str) -> Option<String> {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            if let Some(name) = self.schemas.named(r) {
                if self.models.contains_key(&name) {
                    return Some(name);
                }
                self.ctx.error(
                    &child(pointer, "$ref"),
                    format!("`$ref` `{r}` names no schema of this document"),
                );
                return None;
            }
        }
        let model = self.schemas.inline_model(self.ctx, schema, pointer);
        self.check_model(&model, pointer);
        let base = format!("{hint}Body");
        let mut name = base.clone();
        let mut n = 2;
        while self.models.contains_key(&name) {
            if self.models[&name] == model {
                return Some(name);
            }
            name = format!("{base}{n}");
            n += 1;
        }
        self.models.insert(name.clone(), model);
        Some(name)
    }

    /// Status code → method response (headers, and models named by `$ref`).
    fn method_responses(
        &mut self,
        op: &'a Map<String, Value>,
        pointer: &str,
    ) -> IndexMap<String, MethodResponse> {
        let mut out = IndexMap::new();
        let Some(v) = op.get("responses") else {
            return out;
        };
        let rp = child(pointer, "responses");
        let Some(responses) = self.ctx.object(v, &rp, "`responses`") else {
            return out;
        };
        let mut produces = self.ctx.strings_field(op, pointer, "produces");
        if produces.is_empty() {
            produces = self.produces.clone();
        }
        if produces.is_empty() {
            produces.push("application/json".to_string());
        }
        for (status, raw) in responses {
            if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let sp = child(&rp, status);
            let Some((resp, _)) = refs::deref(self.ctx, self.root, raw, &sp) else {
                continue;
            };
            let mut mr = MethodResponse::default();
            if let Some(Value::Object(h)) = resp.get("headers") {
                mr.headers = h.keys().cloned().collect();
            }
            let named = |schemas: &Schemas, s: &Value| {
                s.get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| schemas.named(r))
            };
            if self.format == SourceFormat::Swagger2 {
                if let Some(name) = resp.get("schema").and_then(|s| named(&self.schemas, s)) {
                    for t in &produces {
                        mr.models.insert(t.to_ascii_lowercase(), name.clone());
                    }
                }
            } else if let Some(Value::Object(content)) = resp.get("content") {
                for (ct, media) in content {
                    if let Some(name) = media.get("schema").and_then(|s| named(&self.schemas, s)) {
                        mr.models.insert(ct.to_ascii_lowercase(), name);
                    }
                }
            }
            out.insert(status.clone(), mr);
        }
        out
    }

    /// `(authorization, scopes, API key required)` from `security` (the operation's, else the
    /// document's) and `x-amazon-apigateway-auth`.
    fn security(
        &mut self,
        op: &Map<String, Value>,
        pointer: &str,
        key: &str,
    ) -> (Authorization, Vec<String>, bool) {
        let (requirements, at) = match op.get("security") {
            Some(s) => (Some(s), child(pointer, "security")),
            None => (self.root.get("security"), "/security".to_string()),
        };
        let mut authorization = Authorization::None;
        let mut scopes = Vec::new();
        let mut api_key = false;
        if let Some(reqs) = requirements {
            let Some(list) = reqs.as_array() else {
                self.ctx.error(
                    &at,
                    format!("`security` must be an array, found {}", describe(reqs)),
                );
                return (authorization, scopes, api_key);
            };
            for (i, req) in list.iter().enumerate() {
                let ip = child(&at, &i.to_string());
                let Some(req) = self.ctx.object(req, &ip, "a security requirement") else {
                    continue;
                };
                for (name, wanted) in req {
                    let np = child(&ip, name);
                    let Some(scheme) = self.schemes.get(name).cloned() else {
                        self.ctx
                            .error(&np, format!("no security scheme is named `{name}`"));
                        continue;
                    };
                    let this = match scheme {
                        Scheme::ApiKey => {
                            api_key = true;
                            continue;
                        }
                        Scheme::Ignored => continue,
                        Scheme::Iam => Authorization::Iam,
                        Scheme::Authorizer(AuthorizerType::CognitoUserPools) => {
                            Authorization::CognitoUserPools(name.clone())
                        }
                        Scheme::Authorizer(AuthorizerType::Jwt) => Authorization::Jwt(name.clone()),
                        Scheme::Authorizer(_) => Authorization::Custom(name.clone()),
                    };
                    if authorization != Authorization::None && authorization != this {
                        self.ctx.error(
                            &np,
                            format!("route `{key}` names a second authorizer (`{name}`); API Gateway allows one per route"),
                        );
                        continue;
                    }
                    authorization = this;
                    if let Value::Array(s) = wanted {
                        scopes = s
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect();
                    }
                }
            }
        }
        if let Some(auth) = op.get(ext::AUTH) {
            let ap = child(pointer, ext::AUTH);
            let kind = auth.get("type").and_then(Value::as_str);
            match kind.map(str::to_ascii_uppercase).as_deref() {
                Some("AWS_IAM") => authorization = Authorization::Iam,
                Some("NONE") => authorization = Authorization::None,
                _ => self.ctx.error(
                    &ap,
                    format!("expected `{{\"type\": \"AWS_IAM\"}}` or `{{\"type\": \"NONE\"}}`, found {}", describe(auth)),
                ),
            }
        }
        if api_key && self.protocol == Protocol::Http {
            self.ctx.error(
                &at,
                "HTTP APIs have no API keys; remove the API key requirement",
            );
        }
        (authorization, scopes, api_key)
    }
}

/// API Gateway needs a method response for each status an integration response gives, with
/// the headers it sets; a document may leave them out, so they are added as AWS would need them
/// (and as [`super::export`] writes them).
pub(crate) fn add_implied_method_responses(
    responses: &mut IndexMap<String, MethodResponse>,
    integration: &Integration,
) {
    for ir in &integration.responses {
        let m = responses.entry(ir.status_code.to_string()).or_default();
        for (h, _) in &ir.response_parameters {
            if !m.headers.iter().any(|x| x.eq_ignore_ascii_case(h)) {
                m.headers.push(h.clone());
            }
        }
    }
}

fn detect_format(ctx: &mut Ctx, top: &Map<String, Value>) -> Option<SourceFormat> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(v) = top.get("swagger") {
        return match text(v).as_deref() {
            Some("2.0" | "2") => Some(SourceFormat::Swagger2),
            _ => {
                ctx.error(
                    "/swagger",
                    format!("only Swagger 2.0 is supported, found {}", describe(v)),
                );
                None
            }
        };
    }
    if let Some(v) = top.get("openapi") {
        let t = text(v).unwrap_or_default();
        return if t.starts_with("3.0") {
            Some(SourceFormat::OpenApi30)
        } else if t.starts_with("3.1") {
            Some(SourceFormat::OpenApi31)
        } else {
            ctx.error(
                "/openapi",
                format!(
                    "only OpenAPI 3.0 and 3.1 (and Swagger 2.0) are supported, found {}",
                    describe(v)
                ),
            );
            None
        };
    }
    ctx.error(
        "",
        "this is not an OpenAPI document: it has neither `openapi` (3.0, 3.1) nor `swagger` (2.0)",
    );
    None
}

/// The path part of a server URL (`https://host/a/b?x` → `/a/b`, `/v1` → `/v1`).
fn url_path(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or("");
    match without_query.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => String::new(),
        },
        None => without_query.to_string(),
    }
}
