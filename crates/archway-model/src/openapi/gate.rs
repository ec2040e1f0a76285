//! The fail-closed gate: what an API uses that the data plane does not enforce yet.
//!
//! An import keeps everything a document says (so it can be exported again), including
//! authorizers, Lambda integrations and resource policies that the data plane cannot enforce
//! yet. Serving such a route would mean serving it unprotected or wrongly, so whoever serves or
//! validates an API calls [`check_served`] and refuses the API when the list is not empty.
//!
//! Enabling a feature once the data plane enforces it is deleting its line in [`NOT_ENFORCED`].

use crate::model::*;
use std::fmt;

/// Something an API can use that the data plane may not enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// A Lambda authorizer (TOKEN or REQUEST) on a route.
    LambdaAuthorizer,
    /// A Cognito user pool authorizer on a route.
    CognitoAuthorizer,
    /// A JWT authorizer on a route (HTTP APIs).
    JwtAuthorizer,
    /// `AWS_IAM` (SigV4) authorization on a route.
    IamAuthorization,
    /// An API key requirement on a route.
    ApiKeyRequired,
    /// `x-amazon-apigateway-policy`.
    ResourcePolicy,
    /// An `AWS_PROXY` (Lambda proxy) integration.
    LambdaProxyIntegration,
    /// An `AWS` integration with an AWS service other than Lambda.
    AwsIntegration,
    /// A `VPC_LINK` connection.
    VpcLink,
    /// `contentHandling` on an integration or integration response.
    ContentHandling,
    /// A mapping template with constructs the template engine does not render yet.
    MappingTemplate,
    /// A PRIVATE endpoint (`vpcEndpointIds`).
    PrivateEndpoint,
    /// `disableExecuteApiEndpoint`.
    DisableExecuteApiEndpoint,
    /// An HTTP integration URI that is not an absolute http(s) URI, e.g. with a deployment
    /// tool's `${placeholder}` left in. Never enabled: the document must be fixed.
    IntegrationUri,
}

/// Every feature the data plane does not enforce yet. One line per feature: delete the line
/// when the data plane enforces it. (Request validation and HTTP API CORS are enforced, so
/// they are not here.)
pub const NOT_ENFORCED: &[Feature] = &[
    Feature::LambdaAuthorizer,
    Feature::CognitoAuthorizer,
    Feature::JwtAuthorizer,
    Feature::IamAuthorization,
    Feature::ResourcePolicy,
    Feature::AwsIntegration,
    Feature::VpcLink,
    Feature::ContentHandling,
    Feature::MappingTemplate,
    Feature::PrivateEndpoint,
    Feature::DisableExecuteApiEndpoint,
    Feature::IntegrationUri,
];

impl Feature {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Feature::LambdaAuthorizer => "Lambda authorizers",
            Feature::CognitoAuthorizer => "Cognito user pool authorizers",
            Feature::JwtAuthorizer => "JWT authorizers",
            Feature::IamAuthorization => "IAM (SigV4) authorization",
            Feature::ApiKeyRequired => "API keys",
            Feature::ResourcePolicy => "resource policies",
            Feature::LambdaProxyIntegration => "AWS_PROXY (Lambda proxy) integrations",
            Feature::AwsIntegration => "AWS service integrations",
            Feature::VpcLink => "VPC links",
            Feature::ContentHandling => "contentHandling conversions",
            Feature::MappingTemplate => "this mapping template construct",
            Feature::PrivateEndpoint => "PRIVATE endpoints",
            Feature::DisableExecuteApiEndpoint => "disableExecuteApiEndpoint",
            Feature::IntegrationUri => "integration URIs that are not absolute http(s) URIs",
        }
    }

    /// The OpenAPI extension an API-wide use comes from (a JSON pointer), for diagnostics.
    pub fn pointer(self) -> &'static str {
        match self {
            Feature::ResourcePolicy => "/x-amazon-apigateway-policy",
            Feature::PrivateEndpoint | Feature::DisableExecuteApiEndpoint => {
                "/x-amazon-apigateway-endpoint-configuration"
            }
            Feature::MappingTemplate => "/x-amazon-apigateway-gateway-responses",
            _ => "",
        }
    }

    fn enforced(self) -> bool {
        !NOT_ENFORCED.contains(&self)
    }
}

/// One use of a feature the data plane does not enforce: on a route (by index into
/// `ApiDefinition::routes`) or API-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unserved {
    pub route: Option<usize>,
    /// The route key (`GET /pets`), for messages.
    pub route_key: Option<String>,
    pub feature: Feature,
    /// What exactly: `Lambda authorizer `auth` (TOKEN)`.
    pub detail: String,
}

impl fmt::Display for Unserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.route_key {
            Some(k) => format!("route `{k}`"),
            None => "the API".to_string(),
        };
        if self.feature == Feature::IntegrationUri {
            return write!(f, "{what} cannot be served: {}", self.detail);
        }
        write!(
            f,
            "{what} uses {}, but Archway does not support {} yet: it is refused rather than served unprotected or wrongly",
            self.detail,
            self.feature.name()
        )
    }
}

/// Every use, in `def`, of a feature in [`NOT_ENFORCED`]: API-wide ones first, then by route.
/// Empty means the whole API can be served as written.
pub fn check_served(def: &ApiDefinition) -> Vec<Unserved> {
    let mut out = Vec::new();
    let mut api = |feature: Feature, detail: String| {
        if !feature.enforced() {
            out.push(Unserved {
                route: None,
                route_key: None,
                feature,
                detail,
            });
        }
    };
    if def.policy.is_some() {
        api(Feature::ResourcePolicy, "a resource policy".into());
    }
    if let Some(e) = &def.endpoint_configuration {
        if !e.vpc_endpoint_ids.is_empty() {
            api(
                Feature::PrivateEndpoint,
                format!(
                    "a PRIVATE endpoint (VPC endpoints {})",
                    e.vpc_endpoint_ids.join(", ")
                ),
            );
        }
        if e.disable_execute_api_endpoint {
            api(
                Feature::DisableExecuteApiEndpoint,
                "`disableExecuteApiEndpoint: true`".into(),
            );
        }
    }
    for g in &def.gateway_responses {
        for (ct, t) in &g.templates {
            if let Some(reason) = t.unsupported() {
                api(
                    Feature::MappingTemplate,
                    format!("a `{ct}` template in gateway response {} that cannot be rendered yet ({reason})", g.kind),
                );
            }
        }
    }

    for (i, r) in def.routes.iter().enumerate() {
        let mut route = |feature: Feature, detail: String| {
            if !feature.enforced() {
                out.push(Unserved {
                    route: Some(i),
                    route_key: Some(r.key.to_string()),
                    feature,
                    detail,
                });
            }
        };
        match &r.authorization {
            Authorization::None => {}
            Authorization::Iam => route(
                Feature::IamAuthorization,
                "IAM (AWS_IAM) authorization".into(),
            ),
            Authorization::Custom(n) => {
                let kind = def.authorizers.get(n).map_or("", |a| {
                    if a.kind == AuthorizerType::Token {
                        " (TOKEN)"
                    } else {
                        " (REQUEST)"
                    }
                });
                route(
                    Feature::LambdaAuthorizer,
                    format!("the Lambda authorizer `{n}`{kind}"),
                );
            }
            Authorization::CognitoUserPools(n) => route(
                Feature::CognitoAuthorizer,
                format!("the Cognito user pool authorizer `{n}`"),
            ),
            Authorization::Jwt(n) => {
                route(Feature::JwtAuthorizer, format!("the JWT authorizer `{n}`"))
            }
        }
        if r.api_key_required {
            route(Feature::ApiKeyRequired, "an API key requirement".into());
        }
        let integ = &r.integration;
        let uri = integ.uri.as_ref().map_or("", |u| u.source.as_str());
        match integ.kind {
            IntegrationType::AwsProxy => route(
                Feature::LambdaProxyIntegration,
                format!("an AWS_PROXY integration with `{uri}`"),
            ),
            // Lambda (non-proxy) is served; other AWS services are not.
            IntegrationType::Aws if crate::model::lambda_function_name(uri).is_some() => {}
            IntegrationType::Aws => route(
                Feature::AwsIntegration,
                format!("an AWS service integration with `{uri}`"),
            ),
            IntegrationType::Http | IntegrationType::HttpProxy => {
                if let Some(u) = &integ.uri {
                    if let Err(e) = servable_uri(u) {
                        route(Feature::IntegrationUri, e);
                    }
                }
            }
            IntegrationType::Mock => {}
        }
        if integ.connection_type == ConnectionType::VpcLink {
            route(Feature::VpcLink, "a VPC_LINK connection".into());
        }
        if let Some(c) = integ.content_handling {
            route(
                Feature::ContentHandling,
                format!("contentHandling {}", c.as_str()),
            );
        }
        for (ct, t) in &integ.request_templates {
            if let Some(reason) = t.unsupported() {
                route(
                    Feature::MappingTemplate,
                    format!("a `{ct}` request template that cannot be rendered yet ({reason})"),
                );
            }
        }
        for resp in &integ.responses {
            if let Some(c) = resp.content_handling {
                route(
                    Feature::ContentHandling,
                    format!(
                        "contentHandling {} on the {} integration response",
                        c.as_str(),
                        resp.status_code
                    ),
                );
            }
            for (ct, t) in &resp.response_templates {
                if let Some(reason) = t.unsupported() {
                    route(
                        Feature::MappingTemplate,
                        format!(
                            "a `{ct}` response template that cannot be rendered yet ({reason})"
                        ),
                    );
                }
            }
        }
    }
    out
}

/// Whether an HTTP integration URI can be called: parses, absolute http(s).
fn servable_uri(u: &UriTemplate) -> Result<(), String> {
    let reparsed = UriTemplate::parse(&u.source).map_err(|e| {
        format!("its integration URI is not usable: {e} (a deployment tool's placeholder left in?)")
    })?;
    let head = match reparsed.parts.first() {
        Some(UriPart::Text(t)) => t.as_str(),
        _ => "",
    };
    if head.starts_with("http://") || head.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "its integration URI `{}` is not an absolute http:// or https:// URI",
            u.source
        ))
    }
}
