//! The validated model: what every door (file, OpenAPI, admin API) produces and what the data
//! plane compiles into a snapshot. Built only by [`crate::validate`] and [`crate::openapi`], so
//! every value here has been checked: route keys parse, URIs are absolute, templates are
//! supported — except what an OpenAPI import keeps so that it can be exported again (Lambda
//! ARNs, authorizers, templates Archway cannot render yet), which
//! [`crate::openapi::check_served`] lists so that such routes are refused, never served wrongly.

use crate::gateway_response::GatewayResponseType;
use crate::route::RouteKey;
use crate::template::Template;
use indexmap::IndexMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// AWS's default integration timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(29_000);
/// AWS's request payload limit (10 MB).
pub const DEFAULT_MAX_PAYLOAD: u64 = 10 * 1024 * 1024;
/// AWS's limit for a request line or header value.
pub const DEFAULT_MAX_LINE: u64 = 10 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub settings: Settings,
    pub access_log: Option<AccessLogDestination>,
    pub apis: Vec<Api>,
    pub domain_names: Vec<DomainName>,
    pub functions: Vec<Function>,
    /// How functions that are not local are invoked.
    pub lambda: LambdaSettings,
    /// API keys (values included: the snapshot needs them to recognise requests).
    pub api_keys: Vec<ApiKey>,
    pub usage_plans: Vec<UsagePlan>,
}

/// Remote Lambda invocation: endpoint and credentials, by default and per function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LambdaSettings {
    pub default: RemoteLambda,
    /// By function ARN (without qualifier).
    pub functions: IndexMap<String, RemoteLambda>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteLambda {
    /// Base URL of the Invoke API; `None`: AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// Credentials profile; `None`: the environment, then `AWS_PROFILE`/`default`.
    pub profile: Option<String>,
}

impl LambdaSettings {
    /// The settings for `function_arn`.
    pub fn for_function(&self, function_arn: &str) -> RemoteLambda {
        let d = &self.default;
        match self.functions.get(function_arn) {
            Some(f) => RemoteLambda {
                endpoint: f.endpoint.clone().or_else(|| d.endpoint.clone()),
                profile: f.profile.clone().or_else(|| d.profile.clone()),
            },
            None => d.clone(),
        }
    }
}

/// A local Lambda function (`functions:` in archway.yaml, or `archway serve --function`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    /// Program and arguments of one worker.
    pub command: Vec<String>,
    pub working_directory: Option<PathBuf>,
    pub environment: IndexMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub max_concurrency: u32,
    pub warm_minimum: u32,
}

/// The function ARN (with its qualifier, if any) that a Lambda integration URI invokes: the
/// URI is either `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations`
/// or the function ARN itself (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`).
pub fn lambda_invoked_arn(uri: &str) -> Option<&str> {
    let arn = match uri.split_once(":lambda:path/") {
        Some((prefix, path)) if prefix.starts_with("arn:") => path
            .strip_prefix("2015-03-31/functions/")?
            .strip_suffix("/invocations")?,
        _ => uri,
    };
    lambda_arn_name(arn).map(|_| arn)
}

/// The function ARN in a Lambda integration URI, without its qualifier.
pub fn lambda_function_arn(uri: &str) -> Option<&str> {
    let arn = lambda_invoked_arn(uri)?;
    // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    match arn.match_indices(':').nth(6) {
        Some((i, _)) => Some(&arn[..i]),
        None => Some(arn),
    }
}

/// The region of a function ARN.
pub fn lambda_region(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The function name in a Lambda integration URI (see [`lambda_invoked_arn`]).
pub fn lambda_function_name(uri: &str) -> Option<&str> {
    lambda_arn_name(lambda_invoked_arn(uri)?)
}

/// The name in a function ARN, if it is one.
fn lambda_arn_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let (_partition, service, _region, _account, kind) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "lambda" || kind != "function" {
        return None;
    }
    let name = parts.next()?.split(':').next()?;
    Function::valid_name(name).then_some(name)
}

impl Function {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

    /// A function running `command` in `working_directory` with Lambda's defaults (3 s, 128 MB)
    /// and up to 10 workers.
    pub fn new(name: &str, command: Vec<String>, working_directory: Option<PathBuf>) -> Function {
        Function {
            name: name.to_string(),
            command,
            working_directory,
            environment: IndexMap::new(),
            timeout: Self::DEFAULT_TIMEOUT,
            memory_mb: 128,
            max_concurrency: 10,
            warm_minimum: 0,
        }
    }

    /// Whether `name` is a valid Lambda function name (1 to 64 of `[A-Za-z0-9_-]`).
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogDestination {
    Stdout,
    File(PathBuf),
}

/// `server.idlePollMicros` when the file leaves it out: off (`docs/idle-poll.md` says why).
pub const DEFAULT_IDLE_POLL: Duration = Duration::ZERO;
/// The most `server.idlePollMicros` may be.
pub const MAX_IDLE_POLL_MICROS: u64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsListener>,
    pub workers: Option<usize>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
    /// How long a worker that runs out of work polls for more before it sleeps (the most; it
    /// adapts). Zero: it sleeps at once.
    pub idle_poll: Duration,
    pub max_request_line_bytes: usize,
    pub max_header_bytes: usize,
    pub max_payload_bytes: u64,
    /// The account-level throttle, shared by every API (AWS: 10,000 requests/s, burst 5,000).
    pub account_throttle: Throttle,
    /// How often usage counters are written to the data directory (what a crash may lose).
    pub usage_flush_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: None,
            tls: None,
            workers: None,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            drain_timeout: Duration::from_secs(30),
            idle_poll: DEFAULT_IDLE_POLL,
            max_request_line_bytes: DEFAULT_MAX_LINE as usize,
            max_header_bytes: DEFAULT_MAX_LINE as usize,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
            account_throttle: ACCOUNT_THROTTLE,
            usage_flush_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListener {
    pub listen: SocketAddr,
    pub default_certificate: Option<CertificatePaths>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePaths {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// An API Gateway REST API.
    Rest,
    /// An API Gateway HTTP API.
    Http,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Rest => "REST",
            Protocol::Http => "HTTP",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Api {
    pub id: String,
    pub name: String,
    pub protocol: Protocol,
    pub description: Option<String>,
    /// The working definition. Stages serve deployments, never this directly.
    pub definition: Arc<ApiDefinition>,
    pub stages: Vec<Stage>,
}

/// What a deployment freezes: routes, integrations, gateway responses, media types, models,
/// validators, authorizers and the API-wide settings the OpenAPI extensions carry.
#[derive(Debug, Clone, Default)]
pub struct ApiDefinition {
    pub routes: Vec<Route>,
    pub gateway_responses: Vec<GatewayResponse>,
    pub binary_media_types: Vec<String>,
    /// Overrides the server-wide payload limit.
    pub max_payload_bytes: Option<u64>,
    /// Model name → JSON Schema (draft 4, as AWS uses). Each schema is self-contained: the
    /// schemas it refers to are copied under its own `definitions` and its `$ref`s read
    /// `#/definitions/NAME` (a model may refer to itself, directly or not).
    pub models: IndexMap<String, serde_json::Value>,
    /// `x-amazon-apigateway-request-validators`: name → what it checks.
    pub request_validators: IndexMap<String, RequestValidator>,
    /// `x-amazon-apigateway-request-validator` at the top level: the validator of routes that
    /// name none.
    pub default_request_validator: Option<String>,
    /// `x-amazon-apigateway-cors` (HTTP APIs).
    pub cors: Option<Cors>,
    /// `x-amazon-apigateway-api-key-source`.
    pub api_key_source: ApiKeySource,
    /// `x-amazon-apigateway-endpoint-configuration`.
    pub endpoint_configuration: Option<EndpointConfiguration>,
    /// `x-amazon-apigateway-policy`: the resource policy, an IAM policy document.
    pub policy: Option<serde_json::Value>,
    /// Authorizers by name (the security scheme's name in OpenAPI).
    pub authorizers: IndexMap<String, Authorizer>,
}

impl ApiDefinition {
    /// The validator that applies to `route`: its own, else the API's default.
    pub fn request_validator_for(&self, route: &Route) -> Option<(&str, &RequestValidator)> {
        let name = route
            .request_validator
            .as_deref()
            .or(self.default_request_validator.as_deref())?;
        self.request_validators
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// A request validator: which parts of a request are checked before the integration is called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestValidator {
    /// The body against the route's model for its content type.
    pub validate_request_body: bool,
    /// The required `method.request.*` parameters are present.
    pub validate_request_parameters: bool,
}

/// An HTTP API's CORS configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer.
    pub max_age: Option<u32>,
    pub allow_credentials: bool,
}

/// Where a REST API reads API keys from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiKeySource {
    /// The `x-api-key` header.
    #[default]
    Header,
    /// The `usageIdentifierKey` a Lambda authorizer returns.
    Authorizer,
}

impl ApiKeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeySource::Header => "HEADER",
            ApiKeySource::Authorizer => "AUTHORIZER",
        }
    }
}

/// `x-amazon-apigateway-endpoint-configuration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointConfiguration {
    /// Clients may reach the API only through a custom domain name.
    pub disable_execute_api_endpoint: bool,
    /// VPC endpoints of a PRIVATE REST API.
    pub vpc_endpoint_ids: Vec<String>,
    /// `ipv4` or `dualstack` (HTTP APIs).
    pub ip_address_type: Option<String>,
}

/// An authorizer: a Lambda function (TOKEN or REQUEST), a Cognito user pool or a JWT issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub kind: AuthorizerType,
    /// `x-amazon-apigateway-authtype` as written (`custom`, `cognito_user_pools`, free-form).
    pub auth_type: Option<String>,
    /// The security scheme that declared it: its `type`, and `name`/`in` for `apiKey` schemes.
    pub scheme_type: String,
    pub scheme_name: Option<String>,
    pub scheme_in: Option<String>,
    /// The Lambda function's invocation URI (TOKEN and REQUEST).
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    /// Comma-separated mapping expressions (`method.request.header.Auth`,
    /// `$request.header.Authorization`).
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub result_ttl_in_seconds: Option<u32>,
    /// Cognito user pool ARNs.
    pub provider_arns: Vec<String>,
    /// HTTP API Lambda authorizers: `1.0` or `2.0`.
    pub payload_format_version: Option<String>,
    pub enable_simple_responses: Option<bool>,
    pub jwt_configuration: Option<JwtConfiguration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizerType {
    /// A Lambda authorizer given a bearer token (REST).
    Token,
    /// A Lambda authorizer given request parameters.
    Request,
    CognitoUserPools,
    /// HTTP APIs.
    Jwt,
}

impl AuthorizerType {
    /// As written in `x-amazon-apigateway-authorizer`'s `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizerType::Token => "token",
            AuthorizerType::Request => "request",
            AuthorizerType::CognitoUserPools => "cognito_user_pools",
            AuthorizerType::Jwt => "jwt",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtConfiguration {
    pub issuer: Option<String>,
    pub audience: Vec<String>,
}

/// How a route is authorized (AWS's `authorizationType` and `authorizerId`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Authorization {
    #[default]
    None,
    /// `AWS_IAM`: SigV4-signed requests.
    Iam,
    /// `CUSTOM`: the named Lambda authorizer.
    Custom(String),
    /// `COGNITO_USER_POOLS`: the named Cognito authorizer.
    CognitoUserPools(String),
    /// `JWT`: the named JWT authorizer (HTTP APIs).
    Jwt(String),
}

impl Authorization {
    /// The authorizer this names, if any.
    pub fn authorizer(&self) -> Option<&str> {
        match self {
            Authorization::None | Authorization::Iam => None,
            Authorization::Custom(n)
            | Authorization::CognitoUserPools(n)
            | Authorization::Jwt(n) => Some(n),
        }
    }
}

/// A method response: its headers and its models by content type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodResponse {
    /// `method.response.header.NAME` names, as written.
    pub headers: Vec<String>,
    /// Content type → model name.
    pub models: IndexMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub description: Option<String>,
    pub variables: IndexMap<String, String>,
    /// The frozen definition this stage serves.
    pub deployment: Arc<ApiDefinition>,
    /// The deployment's id, when the stage comes from the control plane (a stage of the
    /// declarative file serves the file's definition and has none).
    pub deployment_id: Option<String>,
    /// A canary release: a share of the stage's traffic served by another deployment.
    pub canary: Option<Canary>,
    /// Throttling from the stage's method settings: `*/*` (every method) and
    /// `{resource path}/{METHOD}` (e.g. `/pets/GET`) → limits.
    pub method_throttles: IndexMap<String, Throttle>,
}

/// A stage's canary (AWS's `canarySettings`): `percent_traffic` % of the requests, chosen at
/// random, are served by `deployment` with the stage's variables overridden by
/// `stage_variable_overrides`.
#[derive(Debug, Clone)]
pub struct Canary {
    /// 0.0 – 100.0.
    pub percent_traffic: f64,
    pub deployment_id: String,
    pub deployment: Arc<ApiDefinition>,
    pub stage_variable_overrides: IndexMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub key: RouteKey,
    pub request_parameters: Vec<RequestParameter>,
    pub integration: Integration,
    /// OpenAPI `operationId`.
    pub operation_id: Option<String>,
    /// The request validator this route names; see [`ApiDefinition::request_validator_for`].
    pub request_validator: Option<String>,
    /// Content type (lower case) → model name, for the request body.
    pub request_models: IndexMap<String, String>,
    pub api_key_required: bool,
    pub authorization: Authorization,
    /// OAuth scopes a Cognito or JWT authorizer requires.
    pub authorization_scopes: Vec<String>,
    /// Status code → method response.
    pub method_responses: IndexMap<String, MethodResponse>,
}

impl Route {
    /// A route with no parameters, validation, authorization or method responses.
    pub fn new(key: RouteKey, integration: Integration) -> Route {
        Route {
            key,
            request_parameters: Vec::new(),
            integration,
            operation_id: None,
            request_validator: None,
            request_models: IndexMap::new(),
            api_key_required: false,
            authorization: Authorization::None,
            authorization_scopes: Vec::new(),
            method_responses: IndexMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    Path,
    QueryString,
    Header,
}

impl ParamLocation {
    pub fn parse(s: &str) -> Option<ParamLocation> {
        match s {
            "path" => Some(ParamLocation::Path),
            "querystring" => Some(ParamLocation::QueryString),
            "header" => Some(ParamLocation::Header),
            _ => None,
        }
    }
}

/// `method.request.{location}.{name}`, and whether it is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParameter {
    pub location: ParamLocation,
    pub name: String,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationType {
    HttpProxy,
    Http,
    Mock,
    /// Lambda proxy integration.
    AwsProxy,
    /// AWS service (or non-proxy Lambda) integration.
    Aws,
}

impl IntegrationType {
    /// AWS's name: `HTTP_PROXY`, `HTTP`, `MOCK`, `AWS_PROXY`, `AWS`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::HttpProxy => "HTTP_PROXY",
            IntegrationType::Http => "HTTP",
            IntegrationType::Mock => "MOCK",
            IntegrationType::AwsProxy => "AWS_PROXY",
            IntegrationType::Aws => "AWS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassthroughBehavior {
    WhenNoMatch,
    WhenNoTemplates,
    Never,
}

impl PassthroughBehavior {
    /// AWS's name: `WHEN_NO_MATCH`, `WHEN_NO_TEMPLATES`, `NEVER`.
    pub fn as_str(self) -> &'static str {
        match self {
            PassthroughBehavior::WhenNoMatch => "WHEN_NO_MATCH",
            PassthroughBehavior::WhenNoTemplates => "WHEN_NO_TEMPLATES",
            PassthroughBehavior::Never => "NEVER",
        }
    }
}

/// How an integration reaches its endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConnectionType {
    #[default]
    Internet,
    /// Through a VPC link (`connectionId`).
    VpcLink,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Internet => "INTERNET",
            ConnectionType::VpcLink => "VPC_LINK",
        }
    }
}

/// Payload conversion between binary and base64 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHandling {
    ConvertToText,
    ConvertToBinary,
}

impl ContentHandling {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentHandling::ConvertToText => "CONVERT_TO_TEXT",
            ContentHandling::ConvertToBinary => "CONVERT_TO_BINARY",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    Http1,
    Http2,
}

#[derive(Debug, Clone)]
pub struct Integration {
    pub kind: IntegrationType,
    pub uri: Option<UriTemplate>,
    /// Upstream method; `None` means the client's.
    pub http_method: Option<String>,
    pub timeout: Duration,
    pub request_parameters: Vec<(ParamTarget, ParamSource)>,
    pub request_templates: IndexMap<String, Template>,
    pub passthrough_behavior: PassthroughBehavior,
    pub responses: Vec<IntegrationResponse>,
    pub upstream_protocol: UpstreamProtocol,
    pub insecure_skip_verification: bool,
    pub connection_type: ConnectionType,
    /// The VPC link of a `VPC_LINK` connection.
    pub connection_id: Option<String>,
    /// The IAM role (or caller credentials) an `AWS`/`AWS_PROXY` integration uses.
    pub credentials: Option<String>,
    /// `1.0` or `2.0` (HTTP API Lambda proxy integrations).
    pub payload_format_version: Option<String>,
    /// `method.request.*` parameters that key the response cache.
    pub cache_key_parameters: Vec<String>,
    pub cache_namespace: Option<String>,
    /// Request payload conversion.
    pub content_handling: Option<ContentHandling>,
    /// HTTP API AWS service integrations (`SQS-SendMessage`, ...).
    pub integration_subtype: Option<String>,
}

impl Integration {
    /// An integration of `kind` with every other setting at its default (AWS's defaults:
    /// 29 s timeout, `WHEN_NO_MATCH`, the client's method, no URI).
    pub fn new(kind: IntegrationType) -> Integration {
        Integration {
            kind,
            uri: None,
            http_method: None,
            timeout: DEFAULT_TIMEOUT,
            request_parameters: Vec::new(),
            request_templates: IndexMap::new(),
            passthrough_behavior: PassthroughBehavior::WhenNoMatch,
            responses: Vec::new(),
            upstream_protocol: UpstreamProtocol::Http1,
            insecure_skip_verification: false,
            connection_type: ConnectionType::Internet,
            connection_id: None,
            credentials: None,
            payload_format_version: None,
            cache_key_parameters: Vec::new(),
            cache_namespace: None,
            content_handling: None,
            integration_subtype: None,
        }
    }
}

/// `integration.request.{location}.{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTarget {
    pub location: ParamLocation,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    /// `method.request.{location}.{name}`
    Method {
        location: ParamLocation,
        name: String,
    },
    /// `'literal'`
    Static(String),
    /// `stageVariables.name`
    StageVariable(String),
    /// `context.requestId` and the like.
    Context(String),
}

#[derive(Debug, Clone, Default)]
pub struct IntegrationResponse {
    /// The selection pattern as written; `None` for the default response.
    pub selection_pattern: Option<String>,
    pub status_code: u16,
    /// `method.response.header.NAME` → source.
    pub response_parameters: Vec<(String, ResponseParamSource)>,
    pub response_templates: IndexMap<String, Template>,
    /// Response payload conversion.
    pub content_handling: Option<ContentHandling>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseParamSource {
    Static(String),
    /// `integration.response.header.NAME`
    IntegrationHeader(String),
}

/// A customised gateway response.
#[derive(Debug, Clone)]
pub struct GatewayResponse {
    pub kind: GatewayResponseType,
    pub status_code: Option<u16>,
    /// `gatewayresponse.header.NAME` → static value.
    pub headers: Vec<(String, String)>,
    pub templates: IndexMap<String, Template>,
}

/// An integration URI with `{param}` and `${stageVariables.name}` holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    pub source: String,
    pub parts: Vec<UriPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriPart {
    Text(String),
    /// `{name}` or `{name+}`: a path parameter of the route.
    PathParam(String),
    /// `${stageVariables.name}`
    StageVariable(String),
}

impl UriTemplate {
    pub fn parse(source: &str) -> Result<UriTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`${{` in `{source}` is not closed"))?;
                let inner = &after[..end];
                let name = inner.strip_prefix("stageVariables.").ok_or_else(|| {
                    format!("`${{{inner}}}` in `{source}`: only `${{stageVariables.NAME}}` is supported")
                })?;
                if name.is_empty() {
                    return Err(format!(
                        "`${{{inner}}}` in `{source}` names no stage variable"
                    ));
                }
                parts.push(UriPart::StageVariable(name.to_string()));
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`{{` in `{source}` is not closed"))?;
                let name = after[..end].trim_end_matches('+');
                if name.is_empty() {
                    return Err(format!("`{{}}` in `{source}` names no path parameter"));
                }
                parts.push(UriPart::PathParam(name.to_string()));
                rest = &after[end + 1..];
            } else {
                let end = rest
                    .find(['{', '$'])
                    .map(|i| if i == 0 { 1 } else { i })
                    .unwrap_or(rest.len());
                match parts.last_mut() {
                    Some(UriPart::Text(t)) => t.push_str(&rest[..end]),
                    _ => parts.push(UriPart::Text(rest[..end].to_string())),
                }
                rest = &rest[end..];
            }
        }
        Ok(UriTemplate {
            source: source.to_string(),
            parts,
        })
    }

    pub fn stage_variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            UriPart::StageVariable(n) => Some(n.as_str()),
            _ => None,
        })
    }

    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            UriPart::PathParam(n) => Some(n.as_str()),
            _ => None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct DomainName {
    /// Lower-case host name.
    pub name: String,
    pub certificate: Option<CertificatePaths>,
    pub base_path_mappings: Vec<BasePathMapping>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasePathMapping {
    /// Empty for the root mapping (`(none)`); otherwise segments without slashes at the ends.
    pub base_path: String,
    pub api_id: String,
    pub stage: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uri_templates() {
        let t = UriTemplate::parse("http://${stageVariables.host}:80/pets/{petId}?a=${b").err();
        assert!(t.is_some());
        let t = UriTemplate::parse("http://${stageVariables.host}/pets/{proxy+}?x=1").unwrap();
        assert_eq!(
            t.parts,
            vec![
                UriPart::Text("http://".into()),
                UriPart::StageVariable("host".into()),
                UriPart::Text("/pets/".into()),
                UriPart::PathParam("proxy".into()),
                UriPart::Text("?x=1".into()),
            ]
        );
        assert_eq!(t.stage_variables().collect::<Vec<_>>(), vec!["host"]);
    }
}

/// A token bucket's limits: `rate_limit` requests per second on average, at most
/// `burst_limit` at once (AWS's `ThrottleSettings`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: u64,
}

/// AWS's account-level throttle.
pub const ACCOUNT_THROTTLE: Throttle = Throttle {
    rate_limit: 10_000.0,
    burst_limit: 5_000,
};

/// The largest rate or burst accepted anywhere (requests/s): far above what one gateway serves,
/// low enough that token arithmetic never overflows.
pub const MAX_THROTTLE: f64 = 1_000_000_000.0;

impl Throttle {
    /// Why these limits are not acceptable, if they are not.
    pub fn check(&self) -> Result<(), String> {
        if !self.rate_limit.is_finite() || self.rate_limit < 0.0 || self.rate_limit > MAX_THROTTLE {
            return Err(format!(
                "rateLimit must be between 0 and {MAX_THROTTLE}, not {}",
                self.rate_limit
            ));
        }
        if self.burst_limit as f64 > MAX_THROTTLE {
            return Err(format!(
                "burstLimit must be between 0 and {MAX_THROTTLE}, not {}",
                self.burst_limit
            ));
        }
        Ok(())
    }
}

/// An API key: `value` is what clients send in `x-api-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub value: String,
    pub enabled: bool,
}

/// The shortest API key value AWS accepts.
pub const MIN_API_KEY_LENGTH: usize = 20;
/// The longest API key value AWS accepts.
pub const MAX_API_KEY_LENGTH: usize = 128;

/// Why `value` cannot be an API key value, if it cannot.
pub fn check_api_key_value(value: &str) -> Result<(), String> {
    if value.len() < MIN_API_KEY_LENGTH || value.len() > MAX_API_KEY_LENGTH {
        return Err(format!(
            "API Key value should be at least {MIN_API_KEY_LENGTH} and at most {MAX_API_KEY_LENGTH} characters"
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("API Key value must be printable ASCII characters without spaces".into());
    }
    Ok(())
}

/// A usage plan: which API stages its keys may call, how fast and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    pub api_stages: Vec<ApiStage>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    /// The API keys in the plan (usage plan keys), by id.
    pub key_ids: Vec<String>,
}

/// A usage plan's API stage, with per-method throttle overrides (`/pets/GET` → limits).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiStage {
    pub api_id: String,
    pub stage: String,
    pub throttle: IndexMap<String, Throttle>,
}

/// A usage plan's quota: `limit` requests per period, starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub period: QuotaPeriod,
    /// `WEEK`: the day the week starts, 0 = Sunday … 6 = Saturday. `MONTH`: the day of the
    /// month it starts, 0 = the first … 27. `DAY`: 0.
    pub offset: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

impl QuotaPeriod {
    pub fn parse(s: &str) -> Option<QuotaPeriod> {
        match s {
            "DAY" => Some(QuotaPeriod::Day),
            "WEEK" => Some(QuotaPeriod::Week),
            "MONTH" => Some(QuotaPeriod::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "DAY",
            QuotaPeriod::Week => "WEEK",
            QuotaPeriod::Month => "MONTH",
        }
    }

    /// The largest `offset` the period takes.
    pub fn max_offset(self) -> u32 {
        match self {
            QuotaPeriod::Day => 0,
            QuotaPeriod::Week => 6,
            QuotaPeriod::Month => 27,
        }
    }
}

/// The largest quota limit accepted.
pub const MAX_QUOTA: u64 = 1_000_000_000_000;

impl Quota {
    /// Why this quota is not acceptable, if it is not.
    pub fn check(&self) -> Result<(), String> {
        if self.limit > MAX_QUOTA {
            return Err(format!(
                "quota limit must be between 0 and {MAX_QUOTA}, not {}",
                self.limit
            ));
        }
        if self.offset > self.period.max_offset() {
            return Err(format!(
                "quota offset for period {} must be between 0 and {}, not {}",
                self.period.as_str(),
                self.period.max_offset(),
                self.offset
            ));
        }
        Ok(())
    }
}
