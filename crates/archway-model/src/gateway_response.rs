//! API Gateway's gateway response types: the only errors Archway's data plane answers with.
//!
//! Each type has AWS's default status code, default message and `x-amzn-ErrorType`. A type that
//! is not customised falls back to `DEFAULT_4XX` or `DEFAULT_5XX` customisations, then to these
//! defaults (see `archway-gateway`'s `respond` module, the one place responses are rendered).

use std::fmt;

macro_rules! gateway_response_types {
    ($( $variant:ident = $name:literal, $status:literal, $error_type:literal, $message:literal; )*) => {
        /// A gateway response type, named as in AWS (`MISSING_AUTHENTICATION_TOKEN`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum GatewayResponseType { $( $variant, )* }

        impl GatewayResponseType {
            pub const ALL: &'static [GatewayResponseType] = &[ $( GatewayResponseType::$variant, )* ];

            /// AWS's name, e.g. `MISSING_AUTHENTICATION_TOKEN`.
            pub fn name(self) -> &'static str {
                match self { $( GatewayResponseType::$variant => $name, )* }
            }

            /// Default status code.
            pub fn default_status(self) -> u16 {
                match self { $( GatewayResponseType::$variant => $status, )* }
            }

            /// Value of the `x-amzn-ErrorType` header.
            pub fn error_type(self) -> &'static str {
                match self { $( GatewayResponseType::$variant => $error_type, )* }
            }

            /// Default `message` in the body `{"message": ...}`.
            pub fn default_message(self) -> &'static str {
                match self { $( GatewayResponseType::$variant => $message, )* }
            }

            pub fn parse(name: &str) -> Option<GatewayResponseType> {
                match name { $( $name => Some(GatewayResponseType::$variant), )* _ => None }
            }
        }
    };
}

gateway_response_types! {
    AccessDenied = "ACCESS_DENIED", 403, "AccessDeniedException", "Forbidden";
    ApiConfigurationError = "API_CONFIGURATION_ERROR", 500, "InternalServerErrorException", "Internal server error";
    AuthorizerConfigurationError = "AUTHORIZER_CONFIGURATION_ERROR", 500, "AuthorizerConfigurationException", "Internal server error";
    AuthorizerFailure = "AUTHORIZER_FAILURE", 500, "AuthorizerFailureException", "Internal server error";
    BadRequestParameters = "BAD_REQUEST_PARAMETERS", 400, "BadRequestException", "Bad request parameters";
    BadRequestBody = "BAD_REQUEST_BODY", 400, "BadRequestException", "Invalid request body";
    Default4xx = "DEFAULT_4XX", 400, "BadRequestException", "Bad Request";
    Default5xx = "DEFAULT_5XX", 500, "InternalServerErrorException", "Internal server error";
    ExpiredToken = "EXPIRED_TOKEN", 403, "ExpiredTokenException", "The security token included in the request is expired";
    IntegrationFailure = "INTEGRATION_FAILURE", 504, "InternalServerErrorException", "Internal server error";
    IntegrationTimeout = "INTEGRATION_TIMEOUT", 504, "InternalServerErrorException", "Endpoint request timed out";
    InvalidApiKey = "INVALID_API_KEY", 403, "ForbiddenException", "Forbidden";
    InvalidSignature = "INVALID_SIGNATURE", 403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided";
    MissingAuthenticationToken = "MISSING_AUTHENTICATION_TOKEN", 403, "MissingAuthenticationTokenException", "Missing Authentication Token";
    QuotaExceeded = "QUOTA_EXCEEDED", 429, "LimitExceededException", "Limit Exceeded";
    RequestTooLarge = "REQUEST_TOO_LARGE", 413, "RequestTooLargeException", "Request Too Long";
    ResourceNotFound = "RESOURCE_NOT_FOUND", 404, "NotFoundException", "Not Found";
    Throttled = "THROTTLED", 429, "TooManyRequestsException", "Too Many Requests";
    Unauthorized = "UNAUTHORIZED", 401, "UnauthorizedException", "Unauthorized";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, "UnsupportedMediaTypeException", "Unsupported Media Type";
    WafFiltered = "WAF_FILTERED", 403, "WAFFilteredException", "Forbidden";
    // Archway's own, for limits AWS enforces in front of API Gateway: customisable like the rest.
    UriTooLong = "URI_TOO_LONG", 414, "UriTooLongException", "Request-URI Too Long";
    RequestHeaderFieldsTooLarge = "REQUEST_HEADER_FIELDS_TOO_LARGE", 431, "RequestHeaderFieldsTooLargeException", "Request Header Fields Too Large";
}

impl GatewayResponseType {
    /// The `DEFAULT_4XX`/`DEFAULT_5XX` family this type falls back to when not customised.
    pub fn family(self) -> GatewayResponseType {
        if self.default_status() >= 500 {
            GatewayResponseType::Default5xx
        } else {
            GatewayResponseType::Default4xx
        }
    }
}

impl fmt::Display for GatewayResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_families() {
        for t in GatewayResponseType::ALL {
            assert_eq!(GatewayResponseType::parse(t.name()), Some(*t));
        }
        assert_eq!(
            GatewayResponseType::IntegrationTimeout.family(),
            GatewayResponseType::Default5xx
        );
        assert_eq!(
            GatewayResponseType::Throttled.family(),
            GatewayResponseType::Default4xx
        );
        assert_eq!(GatewayResponseType::parse("NOPE"), None);
    }
}
