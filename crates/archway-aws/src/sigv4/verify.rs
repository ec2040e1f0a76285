//! Verifying a SigV4-signed request.
//!
//! Order of checks (the first failure wins):
//! 1. find the SigV4 parameters (header or presigned query) — `MissingAuthenticationToken`,
//!    `IncompleteSignature`;
//! 2. check the credential scope against the request date and the expected region/service —
//!    `InvalidCredentialScope`;
//! 3. check the date against the clock (and `X-Amz-Expires`) — `Signature*Expired`/`NotYetCurrent`;
//! 4. look up the secret by access key id and check the session token —
//!    `UnrecognizedAccessKey`, `InvalidSessionToken`;
//! 5. rebuild the canonical request from the client's `SignedHeaders` and compare signatures in
//!    constant time — `SignatureMismatch`.

use http::HeaderMap;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::canonical::{
    canonical_request, signature_bytes, signing_key, string_to_sign, CanonicalRequestInput,
    PathMode,
};
use super::error::SigV4Error;
use super::parse::{echo, parse_auth, AuthParams, X_AMZ_SECURITY_TOKEN, X_AMZ_SIGNATURE};
use super::{CredentialLookup, PayloadHash, MAX_PRESIGN_EXPIRES_SECS};

/// A request as received, to be verified. Nothing in it is modified.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The HTTP method (`GET`).
    pub method: &'a str,
    /// The path as received, still percent-encoded, without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The URI authority; stands in for the `host` header when the map has none (HTTP/2).
    pub authority: Option<&'a str>,
    /// What the payload line of the canonical request is made from.
    pub payload: PayloadHash<'a>,
}

/// How strict verification is, and how the path is canonicalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The region the credential scope must name; `None` accepts any.
    pub region: Option<String>,
    /// The service the credential scope must name (`execute-api`); `None` accepts any.
    pub service: Option<String>,
    /// How far the request date may be from the clock (AWS: 15 minutes).
    pub max_clock_skew: time::Duration,
    /// How the path is canonicalized: [`PathMode::STANDARD`] except for S3.
    pub path_mode: PathMode,
    /// The largest `X-Amz-Expires` accepted, in seconds (AWS: seven days).
    pub max_presign_expires_secs: u64,
    /// Accept a presigned request whose `X-Amz-Security-Token` was appended after signing (as
    /// some SDKs do for IoT and other services). The token is still checked against the
    /// credentials of the access key.
    pub allow_unsigned_presigned_session_token: bool,
    /// If the signature does not match and the query contains `+`, try again reading `+` as a
    /// space (clients that encode the query as an HTML form did that when signing).
    pub retry_query_plus_as_space: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            region: None,
            service: None,
            max_clock_skew: time::Duration::minutes(15),
            path_mode: PathMode::STANDARD,
            max_presign_expires_secs: MAX_PRESIGN_EXPIRES_SECS,
            allow_unsigned_presigned_session_token: true,
            retry_query_plus_as_space: true,
        }
    }
}

impl VerifyOptions {
    /// Defaults, requiring the credential scope to name `region` and `service`.
    pub fn scoped(region: impl Into<String>, service: impl Into<String>) -> Self {
        VerifyOptions {
            region: Some(region.into()),
            service: Some(service.into()),
            ..VerifyOptions::default()
        }
    }
}

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLocation {
    /// The `Authorization` header.
    Header,
    /// Presigned query parameters (`X-Amz-Signature`).
    QueryString,
}

/// Who signed a request that verified, and what the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The access key id that signed.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
    /// The service of the credential scope.
    pub service: String,
    /// The signed headers, lower-case, in the client's order.
    pub signed_headers: Vec<String>,
    /// When the client signed the request.
    pub signed_at: OffsetDateTime,
    /// Header or presigned query.
    pub location: AuthLocation,
    /// For presigned requests with `X-Amz-Expires`: the end of validity.
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the request carried a (valid) session token, i.e. temporary credentials.
    pub has_session_token: bool,
}

/// Verifies a whole HTTP request as a service receives it: head and body, for `service` (any
/// region), at the current time. A declared `x-amz-content-sha256` must be the body's hash (or
/// `UNSIGNED-PAYLOAD`); without one the body is hashed. What the admin API and Lambda's Invoke
/// API both do before anything else.
pub fn verify_parts(
    parts: &http::request::Parts,
    body: &[u8],
    credentials: &dyn CredentialLookup,
    service: &str,
) -> Result<VerifiedIdentity, SigV4Error> {
    let declared = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok());
    let payload = match declared {
        Some(super::UNSIGNED_PAYLOAD) => PayloadHash::Unsigned,
        Some(h) => {
            if !h.eq_ignore_ascii_case(&super::sha256_hex(body)) {
                return Err(SigV4Error::SignatureMismatch);
            }
            PayloadHash::Precomputed(h)
        }
        None => PayloadHash::Bytes(body),
    };
    let req = VerifyRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        authority: parts.uri.authority().map(|a| a.as_str()),
        payload,
    };
    let opts = VerifyOptions {
        service: Some(service.to_string()),
        ..VerifyOptions::default()
    };
    verify(&req, credentials, OffsetDateTime::now_utc(), &opts)
}

/// Verifies the SigV4 signature of `req` at time `now`.
///
/// Never panics; every fault is a [`SigV4Error`] carrying AWS's error type and message.
pub fn verify(
    req: &VerifyRequest<'_>,
    lookup: &dyn CredentialLookup,
    now: OffsetDateTime,
    opts: &VerifyOptions,
) -> Result<VerifiedIdentity, SigV4Error> {
    let auth = parse_auth(req.headers, req.query, opts.max_presign_expires_secs)?;
    check_scope(&auth, opts)?;
    let expires_at = check_time(&auth, now, opts)?;

    let credentials = lookup
        .secret_for(&auth.access_key_id)
        .ok_or(SigV4Error::UnrecognizedAccessKey)?;
    check_session_token(
        auth.session_token.as_deref(),
        credentials.session_token.as_deref(),
    )?;

    let key = signing_key(
        &credentials.secret_access_key,
        &auth.scope_date,
        &auth.region,
        &auth.service,
    );
    let payload_hash = req.payload.canonical_value();

    // The client's signature is compared with each way the client may have canonicalized the
    // request: first the standard one, then (only when they apply) the known variants.
    let token_in_query = auth.location == AuthLocation::QueryString
        && req.query.is_some_and(|q| q.contains(X_AMZ_SECURITY_TOKEN));
    let plus_in_query = req.query.is_some_and(|q| q.contains('+'));
    let mut variants = vec![(false, false)];
    if opts.allow_unsigned_presigned_session_token && token_in_query {
        variants.push((true, false));
    }
    if opts.retry_query_plus_as_space && plus_in_query {
        let n = variants.len();
        for i in 0..n {
            variants.push((variants[i].0, true));
        }
    }

    let provided = auth.signature.unwrap_or([0; 32]);
    let mut matched = subtle::Choice::from(0);
    for (omit_token, plus_as_space) in variants {
        let exclude: &[&str] = match (auth.location, omit_token) {
            (AuthLocation::Header, _) => &[],
            (AuthLocation::QueryString, false) => &[X_AMZ_SIGNATURE],
            (AuthLocation::QueryString, true) => &[X_AMZ_SIGNATURE, X_AMZ_SECURITY_TOKEN],
        };
        let creq = canonical_request(&CanonicalRequestInput {
            method: req.method,
            path: req.path,
            query: req.query,
            headers: req.headers,
            authority: req.authority,
            signed_headers: &auth.signed_headers,
            payload_hash: &payload_hash,
            path_mode: opts.path_mode,
            exclude_query_params: exclude,
            query_plus_as_space: plus_as_space,
        })?;
        let sts = string_to_sign(&auth.amz_date, &auth.scope, &creq);
        let expected = signature_bytes(&key, &sts);
        matched |= expected.ct_eq(&provided);
    }
    if auth.signature.is_none() || !bool::from(matched) {
        return Err(SigV4Error::SignatureMismatch);
    }

    Ok(VerifiedIdentity {
        access_key_id: auth.access_key_id,
        region: auth.region,
        service: auth.service,
        signed_headers: auth.signed_headers,
        signed_at: auth.signed_at,
        location: auth.location,
        expires_at,
        has_session_token: auth.session_token.is_some(),
    })
}

fn check_scope(auth: &AuthParams, opts: &VerifyOptions) -> Result<(), SigV4Error> {
    if auth.terminator != "aws4_request" {
        return Err(SigV4Error::scope(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            echo(&auth.terminator)
        )));
    }
    let request_day = auth.amz_date.get(..8).unwrap_or("");
    if auth.scope_date != request_day {
        return Err(SigV4Error::scope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{}', from '{}'.",
            echo(&auth.scope_date),
            request_day,
            auth.amz_date
        )));
    }
    if let Some(region) = &opts.region {
        if &auth.region != region {
            return Err(SigV4Error::scope(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                echo(&auth.region)
            )));
        }
    }
    if let Some(service) = &opts.service {
        if &auth.service != service {
            return Err(SigV4Error::scope(format!(
                "Credential should be scoped to correct service: '{service}'."
            )));
        }
    }
    Ok(())
}

/// Checks the request date against `now`; returns the end of validity of a presigned request.
fn check_time(
    auth: &AuthParams,
    now: OffsetDateTime,
    opts: &VerifyOptions,
) -> Result<Option<OffsetDateTime>, SigV4Error> {
    let skew = opts.max_clock_skew;
    let signed_at = auth.signed_at;
    let not_yet_current = SigV4Error::SignatureNotYetCurrent {
        signed_at,
        now,
        skew,
    };
    // A date so far from `now` that the arithmetic leaves the calendar is out of range too.
    match now.checked_add(skew) {
        Some(latest) if signed_at <= latest => {}
        _ => return Err(not_yet_current),
    }
    match (auth.location, auth.expires_secs) {
        (AuthLocation::QueryString, Some(expires_secs)) => {
            let expired = SigV4Error::PresignedExpired {
                signed_at,
                expires_secs,
                now,
            };
            let secs = i64::try_from(expires_secs).map_err(|_| expired.clone())?;
            match signed_at.checked_add(time::Duration::seconds(secs)) {
                Some(end) if now <= end => Ok(Some(end)),
                _ => Err(expired),
            }
        }
        _ => match now.checked_sub(skew) {
            Some(earliest) if signed_at >= earliest => Ok(None),
            _ => Err(SigV4Error::SignatureExpired {
                signed_at,
                now,
                skew,
            }),
        },
    }
}

/// The request must carry exactly the session token issued with the access key, or none if
/// the key has none.
fn check_session_token(provided: Option<&str>, expected: Option<&str>) -> Result<(), SigV4Error> {
    match (provided, expected) {
        (None, None) => Ok(()),
        (Some(p), Some(e)) if bool::from(p.as_bytes().ct_eq(e.as_bytes())) => Ok(()),
        _ => Err(SigV4Error::InvalidSessionToken),
    }
}
