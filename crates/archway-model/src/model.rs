//! The validated model: what every door (file, OpenAPI, admin API) produces and what the data
//! plane compiles into a snapshot. Built only by [`crate::validate`], so every value here has
//! been checked: route keys parse, URIs are absolute, templates are supported.

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogDestination {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsListener>,
    pub workers: Option<usize>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_request_line_bytes: usize,
    pub max_header_bytes: usize,
    pub max_payload_bytes: u64,
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
            max_request_line_bytes: DEFAULT_MAX_LINE as usize,
            max_header_bytes: DEFAULT_MAX_LINE as usize,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
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

/// What a deployment freezes: routes, integrations, gateway responses, media types.
#[derive(Debug, Clone, Default)]
pub struct ApiDefinition {
    pub routes: Vec<Route>,
    pub gateway_responses: Vec<GatewayResponse>,
    pub binary_media_types: Vec<String>,
    /// Overrides the server-wide payload limit.
    pub max_payload_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub description: Option<String>,
    pub variables: IndexMap<String, String>,
    /// The frozen definition this stage serves.
    pub deployment: Arc<ApiDefinition>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub key: RouteKey,
    pub request_parameters: Vec<RequestParameter>,
    pub integration: Integration,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassthroughBehavior {
    WhenNoMatch,
    WhenNoTemplates,
    Never,
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

#[derive(Debug, Clone)]
pub struct IntegrationResponse {
    /// The selection pattern as written; `None` for the default response.
    pub selection_pattern: Option<String>,
    pub status_code: u16,
    /// `method.response.header.NAME` → source.
    pub response_parameters: Vec<(String, ResponseParamSource)>,
    pub response_templates: IndexMap<String, Template>,
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
