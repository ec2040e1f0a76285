//! The control plane's one error type: Amazon API Gateway's management API errors.
//!
//! Each [`ApiError`] carries AWS's error type (sent as `x-amzn-ErrorType`), its status code and
//! AWS's message (sent as `{"message": ...}`). Store failures map as `docs/store.md` says.

use archway_store::StoreError;

/// AWS's error types for the `apigateway` management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    NotFound,
    Conflict,
    TooManyRequests,
    LimitExceeded,
    /// Authentication failures are rendered from SigV4 errors directly; this is for the rest.
    Unauthorized,
    UnknownOperation,
    Internal,
}

impl ErrorKind {
    /// The value of `x-amzn-ErrorType`.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequestException",
            ErrorKind::NotFound => "NotFoundException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::TooManyRequests => "TooManyRequestsException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::Unauthorized => "UnauthorizedException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::Internal => "InternalFailure",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::NotFound | ErrorKind::UnknownOperation => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooManyRequests | ErrorKind::LimitExceeded => 429,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Internal => 500,
        }
    }
}

/// An error of the management API: what went wrong, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.error_type())]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Conflict, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(ErrorKind::Internal, "Internal server error")
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn error_type(&self) -> &'static str {
        self.kind.error_type()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Aborted(inner) => match inner.downcast::<ApiError>() {
                Ok(api) => *api,
                Err(other) => {
                    tracing::error!(error = %other, "control plane transaction aborted");
                    ApiError::internal()
                }
            },
            StoreError::Conflict { .. } => ApiError::conflict(
                "Unable to complete operation due to concurrent modification. Please try again later.",
            ),
            StoreError::Busy { .. } => ApiError::new(
                ErrorKind::TooManyRequests,
                "Too Many Requests",
            ),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}
