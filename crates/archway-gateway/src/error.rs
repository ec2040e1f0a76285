//! The data plane's one error type: an API Gateway gateway response type, with the message to
//! show when it differs from the type's default. Phases return it; only [`crate::respond`] turns
//! it into a response.

use archway_model::GatewayResponseType;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub kind: GatewayResponseType,
    message: Option<Cow<'static, str>>,
    /// A status other than the type's default (AWS answers some DEFAULT_5XX cases 502).
    status: Option<u16>,
}

impl GatewayError {
    pub fn new(kind: GatewayResponseType) -> GatewayError {
        GatewayError {
            kind,
            message: None,
            status: None,
        }
    }

    pub fn with_message(kind: GatewayResponseType, message: impl Into<Cow<'static, str>>) -> Self {
        GatewayError {
            kind,
            message: Some(message.into()),
            status: None,
        }
    }

    /// The message of the body: the specific one, else the type's default.
    pub fn message(&self) -> &str {
        self.message
            .as_deref()
            .unwrap_or_else(|| self.kind.default_message())
    }

    /// The status to answer when the gateway response is not customised.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.default_status())
    }

    /// A Lambda function failed, crashed or answered something that is not a proxy response:
    /// AWS answers DEFAULT_5XX with 502 `Internal server error`.
    pub fn bad_gateway() -> GatewayError {
        GatewayError {
            kind: GatewayResponseType::Default5xx,
            message: None,
            status: Some(502),
        }
    }

    /// A request that is not well-formed HTTP for a gateway (bad path, ambiguous framing).
    pub fn bad_request() -> GatewayError {
        GatewayError::with_message(GatewayResponseType::Default4xx, "Bad Request")
    }

    /// REST API: the stage named by the path does not exist. AWS answers 403 `Forbidden`.
    pub fn unknown_stage() -> GatewayError {
        GatewayError::with_message(GatewayResponseType::AccessDenied, "Forbidden")
    }
}

impl From<GatewayResponseType> for GatewayError {
    fn from(kind: GatewayResponseType) -> Self {
        GatewayError::new(kind)
    }
}
