//! The one error type of SigV4 verification and signing.
//!
//! Each variant maps to the error type and message Amazon API Gateway returns for the same
//! fault (`error_type`, `aws_message`). `Display` is for operators; it never contains a secret
//! (no secret key, no session token, no signature, no raw `Authorization` value).

use time::OffsetDateTime;

use super::format_amz_date;

/// Why a request failed SigV4 authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// The request carries no SigV4 authentication at all: no `Authorization` header and no
    /// `X-Amz-*` presigning parameters.
    #[error("request carries no SigV4 authentication")]
    MissingAuthenticationToken,

    /// The `Authorization` header or the presigning query parameters are malformed or
    /// incomplete. `message` is AWS's wording for the fault.
    #[error("malformed SigV4 authentication: {message}")]
    IncompleteSignature {
        /// AWS's message for the fault.
        message: String,
    },

    /// The credential scope names the wrong region, service or terminator, or its date
    /// disagrees with the request date. `message` is AWS's wording for the fault.
    #[error("invalid SigV4 credential scope: {message}")]
    InvalidCredentialScope {
        /// AWS's message for the fault.
        message: String,
    },

    /// No credentials are known for the access key id in the request.
    #[error("unknown access key id")]
    UnrecognizedAccessKey,

    /// The session token in the request is missing, unexpected, or not the one issued with
    /// the access key.
    #[error("session token missing or not valid for the access key")]
    InvalidSessionToken,

    /// The signature the client sent is not the one computed from the request.
    #[error("signature does not match")]
    SignatureMismatch,

    /// The request was signed longer ago than the allowed clock skew (header form, or a
    /// presigned request without `X-Amz-Expires`).
    #[error("signature expired: signed at {}, now {}", format_amz_date(.signed_at), format_amz_date(.now))]
    SignatureExpired {
        /// When the client says it signed the request.
        signed_at: OffsetDateTime,
        /// The verifier's clock.
        now: OffsetDateTime,
        /// The allowed clock skew.
        skew: time::Duration,
    },

    /// The request is dated further in the future than the allowed clock skew.
    #[error("signature not yet current: signed at {}, now {}", format_amz_date(.signed_at), format_amz_date(.now))]
    SignatureNotYetCurrent {
        /// When the client says it signed the request.
        signed_at: OffsetDateTime,
        /// The verifier's clock.
        now: OffsetDateTime,
        /// The allowed clock skew.
        skew: time::Duration,
    },

    /// A presigned request is used after `X-Amz-Date + X-Amz-Expires`.
    #[error("presigned request expired: signed at {}, valid for {expires_secs} s, now {}", format_amz_date(.signed_at), format_amz_date(.now))]
    PresignedExpired {
        /// When the client says it signed the request.
        signed_at: OffsetDateTime,
        /// The `X-Amz-Expires` value, in seconds.
        expires_secs: u64,
        /// The verifier's clock.
        now: OffsetDateTime,
    },
}

const MSG_MISSING_TOKEN: &str = "Missing Authentication Token";
const MSG_INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const MSG_MISMATCH: &str = "The request signature we calculated does not match the signature \
     you provided. Check your AWS Secret Access Key and signing method. Consult the service \
     documentation for details.";

impl SigV4Error {
    pub(crate) fn incomplete(message: impl Into<String>) -> Self {
        SigV4Error::IncompleteSignature {
            message: message.into(),
        }
    }

    pub(crate) fn scope(message: impl Into<String>) -> Self {
        SigV4Error::InvalidCredentialScope {
            message: message.into(),
        }
    }

    /// AWS's error type for this fault, as API Gateway sends it in `x-amzn-ErrorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            SigV4Error::IncompleteSignature { .. } => "IncompleteSignatureException",
            SigV4Error::UnrecognizedAccessKey | SigV4Error::InvalidSessionToken => {
                "UnrecognizedClientException"
            }
            SigV4Error::InvalidCredentialScope { .. }
            | SigV4Error::SignatureMismatch
            | SigV4Error::SignatureExpired { .. }
            | SigV4Error::SignatureNotYetCurrent { .. }
            | SigV4Error::PresignedExpired { .. } => "InvalidSignatureException",
        }
    }

    /// The HTTP status API Gateway answers with: 403 for every SigV4 fault.
    pub fn status_code(&self) -> u16 {
        403
    }

    /// AWS's message for this fault, as API Gateway puts it in the response body.
    ///
    /// Unlike AWS, messages never echo the `Authorization` header (it may hold a bearer token
    /// sent to the wrong route) nor the canonical request (it may hold a session token).
    pub fn aws_message(&self) -> String {
        match self {
            SigV4Error::MissingAuthenticationToken => MSG_MISSING_TOKEN.to_owned(),
            SigV4Error::IncompleteSignature { message }
            | SigV4Error::InvalidCredentialScope { message } => message.clone(),
            SigV4Error::UnrecognizedAccessKey | SigV4Error::InvalidSessionToken => {
                MSG_INVALID_TOKEN.to_owned()
            }
            SigV4Error::SignatureMismatch => MSG_MISMATCH.to_owned(),
            SigV4Error::SignatureExpired {
                signed_at,
                now,
                skew,
            } => format!(
                "Signature expired: {} is now earlier than {} ({} - {}.)",
                format_amz_date(signed_at),
                shifted(now, Shift::Back(*skew)),
                format_amz_date(now),
                window(*skew),
            ),
            SigV4Error::SignatureNotYetCurrent {
                signed_at,
                now,
                skew,
            } => format!(
                "Signature not yet current: {} is still later than {} ({} + {}.)",
                format_amz_date(signed_at),
                shifted(now, Shift::Forward(*skew)),
                format_amz_date(now),
                window(*skew),
            ),
            SigV4Error::PresignedExpired {
                signed_at,
                expires_secs,
                now,
            } => {
                let secs = i64::try_from(*expires_secs).unwrap_or(i64::MAX);
                format!(
                    "Signature expired: {} is now earlier than {} ({} - {} sec.)",
                    format_amz_date(signed_at),
                    shifted(now, Shift::Back(time::Duration::seconds(secs))),
                    format_amz_date(now),
                    expires_secs,
                )
            }
        }
    }
}

enum Shift {
    Forward(time::Duration),
    Back(time::Duration),
}

/// `now` moved by `by`, in AWS's basic format; `now` itself if that leaves the calendar.
fn shifted(now: &OffsetDateTime, by: Shift) -> String {
    let moved = match by {
        Shift::Forward(d) => now.checked_add(d),
        Shift::Back(d) => now.checked_sub(d),
    };
    format_amz_date(&moved.unwrap_or(*now))
}

/// A skew window as AWS prints it: `15 min` or `90 sec`.
fn window(d: time::Duration) -> String {
    let secs = d.whole_seconds();
    if secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} sec")
    }
}
