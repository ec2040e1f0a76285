//! `archway.yaml`: the file-facing types of the declarative door.
//!
//! These types mirror the file exactly; every field is optional at this layer
//! (`#[serde(default)]`) so that the loader in [`crate::source`] can report every unknown key and
//! type error at once. [`crate::validate`] turns them into the checked [`crate::model`] and
//! reports every semantic problem at once, each with file, line and field.
//!
//! Field names follow Amazon API Gateway's (`timeoutInMillis`, `requestParameters`, ...) so a
//! reader of AWS's documentation finds each thing where they expect it. The JSON Schema for this
//! file is `schema/archway.schema.json`; `tests/schema.rs` keeps the two in step.

use crate::source::Spanned;
use indexmap::IndexMap;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConfigFile {
    pub server: ServerConfig,
    pub access_log: Option<AccessLogConfig>,
    pub apis: Vec<Spanned<ApiConfig>>,
    pub domain_names: Vec<Spanned<DomainNameConfig>>,
    pub functions: Vec<Spanned<FunctionConfig>>,
    pub lambda: Option<Spanned<LambdaConfig>>,
    /// API keys clients send in `x-api-key`.
    pub api_keys: Vec<Spanned<ApiKeyConfig>>,
    /// Usage plans: which API stages their keys may call, how fast and how much.
    pub usage_plans: Vec<Spanned<UsagePlanConfig>>,
}

/// Functions that are not declared under `functions:` are invoked through the Lambda Invoke
/// API, signed with AWS credentials.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LambdaConfig {
    /// The Invoke API's base URL; default `https://lambda.REGION.amazonaws.com` with the
    /// function ARN's region.
    pub endpoint: Option<Spanned<String>>,
    /// Credentials: a profile of the shared credentials file. Default: `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), else the `AWS_PROFILE` (or `default`)
    /// profile.
    pub profile: Option<Spanned<String>>,
    /// Settings for particular functions (by ARN), e.g. in another account.
    pub remote_functions: Vec<Spanned<RemoteFunctionConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RemoteFunctionConfig {
    /// The function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
    pub arn: Option<Spanned<String>>,
    pub endpoint: Option<Spanned<String>>,
    pub profile: Option<Spanned<String>>,
}

/// A local Lambda function: worker processes that Archway starts and serves through the Lambda
/// Runtime API. Integrations reach it by name (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FunctionConfig {
    pub name: Option<Spanned<String>>,
    /// The command that runs one worker, split into words as a shell would (quotes respected,
    /// nothing expanded), e.g. `python3 -m awslambdaric app.handler`.
    pub command: Option<Spanned<String>>,
    /// Where workers run, relative to the config file's folder. Default: that folder.
    pub working_directory: Option<Spanned<String>>,
    pub environment: IndexMap<Spanned<String>, Spanned<String>>,
    /// Seconds an invocation may run (Lambda's `Timeout`): 1 to 900, default 3.
    pub timeout: Option<Spanned<u64>>,
    /// Lambda's `MemorySize` in MB, passed to the workers: 128 to 10240, default 128.
    pub memory_size: Option<Spanned<u64>>,
    /// Most workers running at once: 1 to 1000, default 10.
    pub max_concurrency: Option<Spanned<u64>>,
    /// Workers kept started even when idle: 0 to maxConcurrency, default 0.
    pub warm_minimum: Option<Spanned<u64>>,
}

/// Listener and limit settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServerConfig {
    /// Plain-text listener (HTTP/1.1 and h2c). `--listen` overrides it.
    pub listen: Option<Spanned<String>>,
    /// TLS listener (HTTP/1.1 and HTTP/2 by ALPN).
    pub tls: Option<Spanned<TlsListenerConfig>>,
    /// Worker threads, each with its own event loop; default: one per CPU.
    pub workers: Option<Spanned<u64>>,
    /// Time a client has to send a request head, and the longest a keep-alive connection may
    /// wait idle for its next request. Default 30 000.
    pub header_read_timeout_millis: Option<Spanned<u64>>,
    /// A connection that moves no bytes either way for this long is closed. Default 120 000.
    pub idle_timeout_millis: Option<Spanned<u64>>,
    /// How long SIGTERM waits for requests in flight. Default 30 000.
    pub drain_timeout_millis: Option<Spanned<u64>>,
    /// How long a worker that runs out of work keeps polling for more before it sleeps, at
    /// most: 0 to 1 000 microseconds, default 0 (off). It adapts: while work does not come
    /// within the window, the window shrinks to nothing. For CPUs the gateway has to itself.
    pub idle_poll_micros: Option<Spanned<u64>>,
    /// Longest request line (method, target, version). Default 10 240 as on AWS; longer gets 414.
    pub max_request_line_bytes: Option<Spanned<u64>>,
    /// Longest single header (name and value). Default 10 240 as on AWS; longer gets 431.
    pub max_header_bytes: Option<Spanned<u64>>,
    /// Default request payload limit for every API. Default 10 485 760 (10 MB) as on AWS.
    pub max_payload_bytes: Option<Spanned<u64>>,
    /// The account-level throttle shared by every API. Default 10 000 requests/s, burst 5 000.
    pub throttle: Option<Spanned<ThrottleConfig>>,
    /// How often usage plan counters are written to the data directory; a crash loses at most
    /// this long of counts. Default 1 000.
    pub usage_flush_interval_millis: Option<Spanned<u64>>,
}

/// A token bucket (AWS's `ThrottleSettings`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThrottleConfig {
    /// Requests per second, on average.
    pub rate_limit: Option<Spanned<f64>>,
    /// Requests at once (the bucket's size).
    pub burst_limit: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TlsListenerConfig {
    pub listen: Option<Spanned<String>>,
    /// Default certificate, used when SNI names no custom domain with its own certificate.
    pub cert_file: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AccessLogConfig {
    /// `stdout`, or a file path (appended to).
    pub destination: Option<Spanned<String>>,
}

/// One API: `protocol: REST` (an API Gateway REST API) or `HTTP` (an HTTP API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiConfig {
    pub name: Option<Spanned<String>>,
    /// The API id used in `{apiId}.execute-api.{domain}` hosts; default derived from the name.
    pub id: Option<Spanned<String>>,
    pub protocol: Option<Spanned<String>>,
    pub description: Option<String>,
    /// Overrides `server.maxPayloadBytes` for this API.
    pub max_payload_bytes: Option<Spanned<u64>>,
    pub binary_media_types: Vec<Spanned<String>>,
    /// Route key → route, e.g. `GET /pets/{petId}`, `ANY /{proxy+}`, `$default`.
    pub routes: IndexMap<Spanned<String>, RouteConfig>,
    /// Gateway response type → customisation, e.g. `MISSING_AUTHENTICATION_TOKEN`.
    pub gateway_responses: IndexMap<Spanned<String>, GatewayResponseConfig>,
    /// Stage name → stage. An HTTP API's `$default` stage serves at the root.
    pub stages: IndexMap<Spanned<String>, StageConfig>,
    /// An OpenAPI 3 / Swagger 2 document (JSON or YAML, relative to this file) that defines the
    /// API's routes, models, validators, gateway responses and CORS; `routes` must then be empty.
    pub openapi: Option<Spanned<String>>,
    /// Model name → JSON Schema (draft 4, as AWS uses) for request bodies (REST APIs).
    pub models: IndexMap<Spanned<String>, serde_json::Value>,
    /// Validator name → what it checks (REST APIs).
    pub request_validators: IndexMap<Spanned<String>, RequestValidatorConfig>,
    /// The validator of routes that name none.
    pub request_validator: Option<Spanned<String>>,
    /// CORS for HTTP APIs: Archway answers preflights and decorates responses.
    pub cors_configuration: Option<Spanned<CorsConfig>>,
    /// Where API keys are read: `HEADER` (`x-api-key`, default) or `AUTHORIZER`.
    pub api_key_source: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RequestValidatorConfig {
    /// Check the body against the route's model for its content type.
    pub validate_request_body: bool,
    /// Check that required `method.request.*` parameters are present.
    pub validate_request_parameters: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CorsConfig {
    /// Origins allowed, or `*`.
    pub allow_origins: Vec<Spanned<String>>,
    /// Methods allowed, or `*`.
    pub allow_methods: Vec<Spanned<String>>,
    /// Request headers allowed, or `*`.
    pub allow_headers: Vec<Spanned<String>>,
    /// Response headers a browser may read.
    pub expose_headers: Vec<Spanned<String>>,
    /// Seconds a browser may cache a preflight answer.
    pub max_age: Option<Spanned<u64>>,
    /// Whether credentials (cookies, authorization) may be sent.
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteConfig {
    /// `method.request.{path|querystring|header}.NAME` → required (checked when the route's
    /// request validator validates parameters).
    pub request_parameters: IndexMap<Spanned<String>, bool>,
    /// The request validator for this route; default: the API's `requestValidator`.
    pub request_validator: Option<Spanned<String>>,
    /// Content type → model name, for the request body.
    pub request_models: IndexMap<Spanned<String>, Spanned<String>>,
    /// Callers must send an API key of a usage plan that includes the stage.
    pub api_key_required: bool,
    pub integration: Option<Spanned<IntegrationConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IntegrationConfig {
    /// `HTTP_PROXY`, `HTTP`, `MOCK` or `AWS_PROXY` (a local Lambda function).
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// Target URI with `{param}`, `{proxy}` and `${stageVariables.name}`.
    pub uri: Option<Spanned<String>>,
    /// Method used upstream; default: the client's.
    pub http_method: Option<Spanned<String>>,
    /// Default 29 000 as on AWS; may be set beyond AWS's ceiling.
    pub timeout_in_millis: Option<Spanned<u64>>,
    /// `integration.request.{header|querystring|path}.NAME` → source.
    pub request_parameters: IndexMap<Spanned<String>, Spanned<String>>,
    /// Content type → mapping template.
    pub request_templates: IndexMap<Spanned<String>, Spanned<String>>,
    pub passthrough_behavior: Option<Spanned<String>>,
    /// Selection pattern (a regex on the upstream status, or `default`) → integration response.
    pub responses: IndexMap<Spanned<String>, IntegrationResponseConfig>,
    /// `HTTP1` (default; HTTPS upstreams still negotiate HTTP/2 by ALPN) or `HTTP2`
    /// (HTTP/2 with prior knowledge, h2c for `http://`).
    pub upstream_protocol: Option<Spanned<String>>,
    pub tls_config: Option<IntegrationTlsConfig>,
    /// `AWS_PROXY` on HTTP APIs: the Lambda event and response format, `1.0` or `2.0`
    /// (default `2.0`). REST APIs use `1.0`.
    pub payload_format_version: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IntegrationTlsConfig {
    /// Accept any upstream certificate (for self-signed test upstreams), as on AWS.
    pub insecure_skip_verification: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IntegrationResponseConfig {
    pub status_code: Option<Spanned<String>>,
    /// `method.response.header.NAME` → `'static'` or `integration.response.header.NAME`.
    pub response_parameters: IndexMap<Spanned<String>, Spanned<String>>,
    pub response_templates: IndexMap<Spanned<String>, Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GatewayResponseConfig {
    pub status_code: Option<Spanned<String>>,
    /// `gatewayresponse.header.NAME` → `'static'`.
    pub response_parameters: IndexMap<Spanned<String>, Spanned<String>>,
    pub response_templates: IndexMap<Spanned<String>, Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StageConfig {
    pub description: Option<String>,
    pub variables: IndexMap<Spanned<String>, Spanned<String>>,
    /// `*/*` (every method) or `{resource path}/{METHOD}` (e.g. `/pets/GET`) → settings.
    pub method_settings: IndexMap<Spanned<String>, Spanned<MethodSettingConfig>>,
}

/// AWS's `MethodSetting` (the throttling part).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MethodSettingConfig {
    pub throttling_rate_limit: Option<Spanned<f64>>,
    pub throttling_burst_limit: Option<Spanned<u64>>,
}

/// An API key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiKeyConfig {
    pub name: Option<Spanned<String>>,
    /// Default derived from the name.
    pub id: Option<Spanned<String>>,
    /// What clients send in `x-api-key`: 20 to 128 printable characters.
    pub value: Option<Spanned<String>>,
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// A usage plan.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UsagePlanConfig {
    pub name: Option<Spanned<String>>,
    /// Default derived from the name.
    pub id: Option<Spanned<String>>,
    pub description: Option<String>,
    pub api_stages: Vec<Spanned<ApiStageConfig>>,
    /// Each key's token bucket.
    pub throttle: Option<Spanned<ThrottleConfig>>,
    pub quota: Option<Spanned<QuotaConfig>>,
    /// The plan's API keys, by name or id.
    pub api_keys: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiStageConfig {
    /// API name or id.
    pub api: Option<Spanned<String>>,
    pub stage: Option<Spanned<String>>,
    /// `{resource path}/{METHOD}` (e.g. `/pets/GET`) → the throttle for that method.
    pub throttle: IndexMap<Spanned<String>, Spanned<ThrottleConfig>>,
}

/// A usage plan's quota.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QuotaConfig {
    /// Requests per period.
    pub limit: Option<Spanned<u64>>,
    /// `DAY`, `WEEK` or `MONTH`.
    pub period: Option<Spanned<String>>,
    /// `WEEK`: 0 (Sunday) – 6; `MONTH`: 0 (the first) – 27.
    pub offset: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DomainNameConfig {
    pub domain_name: Option<Spanned<String>>,
    pub certificate: Option<Spanned<CertificateConfig>>,
    pub base_path_mappings: Vec<Spanned<BasePathMappingConfig>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CertificateConfig {
    pub cert_file: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BasePathMappingConfig {
    /// First path segment(s) that select the API; empty or `(none)` maps the root.
    pub base_path: Option<Spanned<String>>,
    /// API name or id.
    pub api: Option<Spanned<String>>,
    pub stage: Option<Spanned<String>>,
}
