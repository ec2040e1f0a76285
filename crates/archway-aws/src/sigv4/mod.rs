//! AWS Signature Version 4: verifying signed requests, and signing requests.
//!
//! - [`verify`] checks a request signed in the `Authorization` header or presigned in the query
//!   string (`X-Amz-Signature`), finding the secret through a [`CredentialLookup`] by the access
//!   key id the request names. It is what an `AWS_IAM` authorizer runs.
//! - [`sign_request_headers`] and [`presign`] sign outgoing requests (tests, and the remote
//!   Lambda `Invoke` client).
//! - [`canonical_request`], [`string_to_sign`], [`signing_key`] and [`signature`] are the four
//!   steps, exposed for tests and diagnostics.
//!
//! Invariants: nothing here logs, nothing panics on request data, and the client's signature is
//! compared in constant time. Secrets stay in [`Credentials`], whose `Debug` redacts them.

mod canonical;
mod error;
mod parse;
mod sign;
mod verify;

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

pub use canonical::{
    canonical_query_string, canonical_request, canonical_uri, sha256_hex, signature,
    signature_bytes, signing_key, string_to_sign, CanonicalRequestInput, PathMode,
};
pub use error::SigV4Error;
pub use sign::{
    presign, sign_request_headers, PresignedRequest, SessionTokenMode, SignedRequest, SigningParams,
};
pub use verify::{
    verify, verify_parts, AuthLocation, VerifiedIdentity, VerifyOptions, VerifyRequest,
};

/// The only algorithm supported: `AWS4-HMAC-SHA256` (SigV4a is not).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash a client uses when it does not sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The longest a presigned request may stay valid, in seconds (seven days), as in AWS.
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

/// An access key pair, with the session token of temporary credentials.
///
/// `Debug` prints the access key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The public half, sent in every signed request (`AKIA…`, `ASIA…`).
    pub access_key_id: String,
    /// The secret half. Never log it.
    pub secret_access_key: String,
    /// The session token of temporary credentials. Never log it.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same credentials with a session token (temporary credentials).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Finds the credentials that belong to an access key id.
///
/// Implemented for closures `Fn(&str) -> Option<Credentials>`, for a single [`Credentials`]
/// (matches its own id) and for slices and vectors of them.
pub trait CredentialLookup {
    /// The credentials for `access_key_id`, or `None` if it is unknown.
    fn secret_for(&self, access_key_id: &str) -> Option<Credentials>;
}

impl<F> CredentialLookup for F
where
    F: Fn(&str) -> Option<Credentials>,
{
    fn secret_for(&self, access_key_id: &str) -> Option<Credentials> {
        self(access_key_id)
    }
}

impl CredentialLookup for Credentials {
    fn secret_for(&self, access_key_id: &str) -> Option<Credentials> {
        (self.access_key_id == access_key_id).then(|| self.clone())
    }
}

impl CredentialLookup for [Credentials] {
    fn secret_for(&self, access_key_id: &str) -> Option<Credentials> {
        self.iter()
            .find(|c| c.access_key_id == access_key_id)
            .cloned()
    }
}

impl CredentialLookup for Vec<Credentials> {
    fn secret_for(&self, access_key_id: &str) -> Option<Credentials> {
        self.as_slice().secret_for(access_key_id)
    }
}

/// What the payload line of the canonical request is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadHash<'a> {
    /// The body: its SHA-256 is computed here.
    Bytes(&'a [u8]),
    /// `UNSIGNED-PAYLOAD` (S3, presigned S3 URLs, or a gateway that does not buffer the body).
    Unsigned,
    /// A hex SHA-256 computed elsewhere, e.g. the `x-amz-content-sha256` header when the body
    /// is streamed and checked against it later.
    Precomputed(&'a str),
}

impl PayloadHash<'_> {
    /// The string that goes on the payload line of the canonical request.
    pub fn canonical_value(&self) -> String {
        match self {
            PayloadHash::Bytes(body) => sha256_hex(body),
            PayloadHash::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
            PayloadHash::Precomputed(hash) => (*hash).to_owned(),
        }
    }
}

/// Formats a time as SigV4's `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`, UTC). A time whose UTC form
/// falls outside the calendar is printed in its own offset rather than panicking.
pub fn format_amz_date(t: &OffsetDateTime) -> String {
    let t = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(*t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses SigV4's `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`). `None` unless it is exactly that shape
/// and a real UTC time.
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let day = u8::try_from(digits(6..8)?).ok()?;
    let hour = u8::try_from(digits(9..11)?).ok()?;
    let minute = u8::try_from(digits(11..13)?).ok()?;
    let second = u8::try_from(digits(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip_and_reject_garbage() {
        let t = parse_amz_date("20150830T123600Z").expect("valid date");
        assert_eq!(format_amz_date(&t), "20150830T123600Z");
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "２0150830T12360Z",
            "20150830T123600Zextra",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn formatting_never_panics_at_the_edge_of_the_calendar() {
        let edge = OffsetDateTime::new_in_offset(
            Date::from_calendar_date(9999, Month::December, 31).expect("date"),
            Time::from_hms(23, 0, 0).expect("time"),
            time::UtcOffset::from_hms(-5, 0, 0).expect("offset"),
        );
        // In UTC this is year 10000: outside the calendar unless `time` has `large-dates`.
        assert!(format_amz_date(&edge).ends_with('Z'));
    }

    #[test]
    fn credentials_debug_redacts_secrets() {
        let c = Credentials::new("AKID", "very-secret").with_session_token("token-secret");
        let printed = format!("{c:?}");
        assert!(printed.contains("AKID"));
        assert!(!printed.contains("very-secret"));
        assert!(!printed.contains("token-secret"));
    }
}
