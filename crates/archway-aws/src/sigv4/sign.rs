//! Signing outgoing requests: the `Authorization` header form and the presigned query form.
//!
//! Used by tests (to produce requests for the verifier) and by clients Archway runs itself
//! (the remote Lambda `Invoke` client). The signer signs every header present except the
//! ones proxies may rewrite, plus `host`.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use time::OffsetDateTime;

use super::canonical::{
    canonical_request, signature, signing_key, string_to_sign, CanonicalRequestInput, PathMode,
};
use super::error::SigV4Error;
use super::parse::{
    X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_EXPIRES, X_AMZ_SECURITY_TOKEN,
    X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use super::{format_amz_date, Credentials, PayloadHash, ALGORITHM};

/// Headers never signed: they are rewritten hop by hop or by tracing proxies.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// Encoding of values written into a query string: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What to do with the session token of temporary credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionTokenMode {
    /// Add it before signing, so the signature covers it (the default, what the SDKs do).
    #[default]
    Signed,
    /// Add it after signing, outside the signature (some services require this).
    AddedAfterSigning,
}

/// Who signs, for what scope and when, and how.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// The signing credentials.
    pub credentials: &'a Credentials,
    /// The region of the credential scope (`us-east-1`).
    pub region: &'a str,
    /// The service of the credential scope (`execute-api`, `lambda`).
    pub service: &'a str,
    /// The signing time (goes into `X-Amz-Date` and the scope).
    pub time: OffsetDateTime,
    /// The payload line of the canonical request.
    pub payload: PayloadHash<'a>,
    /// How the path is canonicalized.
    pub path_mode: PathMode,
    /// Also send (and sign) the payload hash in `x-amz-content-sha256` (header form only).
    pub content_sha256_header: bool,
    /// Whether the session token is covered by the signature.
    pub session_token_mode: SessionTokenMode,
}

impl<'a> SigningParams<'a> {
    /// Standard settings: body hashed, path normalized and double-encoded, no
    /// `x-amz-content-sha256` header, session token signed.
    pub fn new(
        credentials: &'a Credentials,
        region: &'a str,
        service: &'a str,
        time: OffsetDateTime,
        body: &'a [u8],
    ) -> Self {
        SigningParams {
            credentials,
            region,
            service,
            time,
            payload: PayloadHash::Bytes(body),
            path_mode: PathMode::STANDARD,
            content_sha256_header: false,
            session_token_mode: SessionTokenMode::Signed,
        }
    }

    fn scope(&self, date: &str) -> String {
        format!("{date}/{}/{}/aws4_request", self.region, self.service)
    }
}

/// The result of [`sign_request_headers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The value put in the `Authorization` header.
    pub authorization: String,
    /// The hex signature.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

/// The result of [`presign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// The complete query string to send: the original parameters, then the `X-Amz-*` ones,
    /// `X-Amz-Signature` last.
    pub query: String,
    /// The hex signature.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

/// Signs a request in the `Authorization` header form.
///
/// Sets `x-amz-date`, `x-amz-security-token` (if the credentials have one),
/// `x-amz-content-sha256` (if asked) and `authorization` in `headers`, replacing earlier values.
/// `path` and `query` are as they will be sent on the wire (percent-encoded). `authority` stands
/// in for `host` when `headers` has none.
pub fn sign_request_headers(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &mut HeaderMap,
    authority: Option<&str>,
    params: &SigningParams<'_>,
) -> Result<SignedRequest, SigV4Error> {
    let amz_date = format_amz_date(&params.time);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let payload_hash = params.payload.canonical_value();

    headers.insert(
        HeaderName::from_static("x-amz-date"),
        header_value(&amz_date)?,
    );
    let token = params.credentials.session_token.as_deref();
    if let (Some(token), SessionTokenMode::Signed) = (token, params.session_token_mode) {
        headers.insert(
            HeaderName::from_static("x-amz-security-token"),
            sensitive(header_value(token)?),
        );
    }
    if params.content_sha256_header {
        headers.insert(
            HeaderName::from_static("x-amz-content-sha256"),
            header_value(&payload_hash)?,
        );
    }

    let signed_headers = headers_to_sign(headers, authority)?;
    let scope = params.scope(&date);
    let creq = canonical_request(&CanonicalRequestInput {
        method,
        path,
        query,
        headers,
        authority,
        signed_headers: &signed_headers,
        payload_hash: &payload_hash,
        path_mode: params.path_mode,
        exclude_query_params: &[],
        query_plus_as_space: false,
    })?;
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(
        &params.credentials.secret_access_key,
        &date,
        params.region,
        params.service,
    );
    let sig = signature(&key, &sts);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={sig}",
        params.credentials.access_key_id,
        signed_headers.join(";")
    );
    headers.insert(http::header::AUTHORIZATION, header_value(&authorization)?);
    if let (Some(token), SessionTokenMode::AddedAfterSigning) = (token, params.session_token_mode) {
        headers.insert(
            HeaderName::from_static("x-amz-security-token"),
            sensitive(header_value(token)?),
        );
    }
    Ok(SignedRequest {
        authorization,
        signature: sig,
        canonical_request: creq,
        string_to_sign: sts,
    })
}

/// Presigns a request: returns the query string that carries the signature, valid for
/// `expires_in_secs` seconds from `params.time`. `headers` are signed as they are (plus
/// `host`), and must be sent unchanged.
pub fn presign(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    authority: Option<&str>,
    params: &SigningParams<'_>,
    expires_in_secs: u64,
) -> Result<PresignedRequest, SigV4Error> {
    let amz_date = format_amz_date(&params.time);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let payload_hash = params.payload.canonical_value();
    let signed_headers = headers_to_sign(headers, authority)?;
    let scope = params.scope(&date);
    let credential = format!("{}/{scope}", params.credentials.access_key_id);

    let token = params.credentials.session_token.as_deref();
    let mut out = query.unwrap_or_default().to_owned();
    push_param(&mut out, X_AMZ_ALGORITHM, ALGORITHM);
    push_param(&mut out, X_AMZ_CREDENTIAL, &credential);
    push_param(&mut out, X_AMZ_DATE, &amz_date);
    push_param(&mut out, X_AMZ_SIGNED_HEADERS, &signed_headers.join(";"));
    push_param(&mut out, X_AMZ_EXPIRES, &expires_in_secs.to_string());
    if let (Some(token), SessionTokenMode::Signed) = (token, params.session_token_mode) {
        push_param(&mut out, X_AMZ_SECURITY_TOKEN, token);
    }

    let creq = canonical_request(&CanonicalRequestInput {
        method,
        path,
        query: Some(&out),
        headers,
        authority,
        signed_headers: &signed_headers,
        payload_hash: &payload_hash,
        path_mode: params.path_mode,
        exclude_query_params: &[],
        query_plus_as_space: false,
    })?;
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(
        &params.credentials.secret_access_key,
        &date,
        params.region,
        params.service,
    );
    let sig = signature(&key, &sts);
    if let (Some(token), SessionTokenMode::AddedAfterSigning) = (token, params.session_token_mode) {
        push_param(&mut out, X_AMZ_SECURITY_TOKEN, token);
    }
    push_param(&mut out, X_AMZ_SIGNATURE, &sig);
    Ok(PresignedRequest {
        query: out,
        signature: sig,
        canonical_request: creq,
        string_to_sign: sts,
    })
}

/// Appends `name=value` (value percent-encoded) to a query string.
fn push_param(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(name);
    out.push('=');
    out.extend(utf8_percent_encode(value, QUERY_VALUE));
}

/// The names to sign: every header present except [`UNSIGNED_HEADERS`], plus `host`, sorted.
fn headers_to_sign(
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<Vec<String>, SigV4Error> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| !UNSIGNED_HEADERS.contains(n))
        .map(str::to_owned)
        .collect();
    if !names.iter().any(|n| n == "host") {
        if authority.is_none() {
            return Err(SigV4Error::incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        names.push("host".to_owned());
    }
    names.sort_unstable();
    Ok(names)
}

fn header_value(value: &str) -> Result<HeaderValue, SigV4Error> {
    HeaderValue::from_str(value)
        .map_err(|_| SigV4Error::incomplete("A signing value is not a valid header value."))
}

fn sensitive(mut value: HeaderValue) -> HeaderValue {
    value.set_sensitive(true);
    value
}
