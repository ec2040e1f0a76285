//! The canonical request, the string to sign, the signing key and the signature: the four
//! steps of <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.
//!
//! We build the canonical request ourselves instead of using the `aws-sigv4` crate: a
//! *signer* decides which headers to sign, but a *verifier* must rebuild the canonical request
//! from the header list the *client* chose (`SignedHeaders=`), from the path and query exactly
//! as they arrived on the wire, and without adding headers. `aws-sigv4` only implements the
//! signer's side. See `README.md` of this crate.

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::error::SigV4Error;
use super::ALGORITHM;

/// Bytes that stay literal in a canonical query component: RFC 3986 unreserved characters.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Bytes that stay literal in a canonical path: unreserved characters and `/`.
const PATH_COMPONENT: &AsciiSet = &QUERY_COMPONENT.remove(b'/');

/// Bytes that stay literal in a single-encoded (S3) path: everything RFC 3986 allows in a path
/// (`pchar` and `/`). `%` is handled separately.
const RAW_PATH: &AsciiSet = &PATH_COMPONENT
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// How the URI path enters the canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMode {
    /// Remove `.` and `..` segments and merge repeated `/` before encoding (RFC 3986 5.2.4).
    /// Every AWS service does this except S3.
    pub normalize: bool,
    /// Percent-encode the path as received once more (`%3A` becomes `%253A`). Every AWS service
    /// does this except S3, which signs the path as the client sent it (see
    /// [`canonical_uri`]).
    pub double_encode: bool,
}

impl PathMode {
    /// What every AWS service except S3 does (and what API Gateway's `execute-api` expects).
    pub const STANDARD: PathMode = PathMode {
        normalize: true,
        double_encode: true,
    };
    /// What S3 does: no normalization, no second encoding.
    pub const S3: PathMode = PathMode {
        normalize: false,
        double_encode: false,
    };
}

impl Default for PathMode {
    fn default() -> Self {
        PathMode::STANDARD
    }
}

/// Everything the canonical request is built from.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalRequestInput<'a> {
    /// The HTTP method, as received (`GET`).
    pub method: &'a str,
    /// The path as received on the wire, still percent-encoded, without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), if any.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The URI authority, used for `host` when the header map has no `host` (HTTP/2).
    pub authority: Option<&'a str>,
    /// Lower-case names of the signed headers, in the order they appear in `SignedHeaders`.
    pub signed_headers: &'a [String],
    /// The hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
    /// How to canonicalize the path.
    pub path_mode: PathMode,
    /// Query parameters (by decoded name) left out, e.g. `X-Amz-Signature` when verifying a
    /// presigned request.
    pub exclude_query_params: &'a [&'a str],
    /// Read `+` in the query as an encoded space (HTML form style) rather than a literal `+`.
    pub query_plus_as_space: bool,
}

/// Builds the canonical request (step 1).
///
/// Fails with [`SigV4Error::SignatureMismatch`] when a signed header is absent from the
/// request or its value is not UTF-8: such a request cannot carry a valid signature.
pub fn canonical_request(input: &CanonicalRequestInput<'_>) -> Result<String, SigV4Error> {
    let uri = canonical_uri(input.path, input.path_mode);
    let query = canonical_query_string(
        input.query.unwrap_or(""),
        input.exclude_query_params,
        input.query_plus_as_space,
    );
    let mut out = String::with_capacity(
        input.method.len() + uri.len() + query.len() + 64 * input.signed_headers.len() + 128,
    );
    out.push_str(input.method);
    out.push('\n');
    out.push_str(&uri);
    out.push('\n');
    out.push_str(&query);
    out.push('\n');
    for name in input.signed_headers {
        out.push_str(name);
        out.push(':');
        push_header_value(&mut out, name, input.headers, input.authority)?;
        out.push('\n');
    }
    out.push('\n');
    push_joined(&mut out, input.signed_headers, ';');
    out.push('\n');
    out.push_str(input.payload_hash);
    Ok(out)
}

/// The canonical URI: the path normalized (if asked) and percent-encoded.
///
/// With `double_encode`, every byte but unreserved ones and `/` is encoded, `%` included. Without
/// it (S3), the path is taken as sent, as the SDKs sign it; only bytes that cannot appear in a
/// valid request path (controls, spaces, non-ASCII, a `%` that starts no escape) are encoded,
/// so that no input can smuggle a line break into the canonical request.
pub fn canonical_uri(raw_path: &str, mode: PathMode) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let normalized;
    let path = if mode.normalize {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    if mode.double_encode {
        percent_encode(path.as_bytes(), PATH_COMPONENT).to_string()
    } else {
        encode_keeping_escapes(path)
    }
}

/// Removes dot segments and empty segments, keeping a trailing `/` (RFC 3986 5.2.4, as the
/// AWS SDKs apply it).
fn normalize_path(path: &str) -> String {
    if !(path.contains('.') || path.contains("//")) && path.starts_with('/') {
        return path.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|end| path.ends_with(end));
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// Single-encoding (S3): keeps valid `%XX` escapes and every other legal path character as
/// sent, and encodes the rest.
fn encode_keeping_escapes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let is_escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if is_escape {
            out.push_str(&path[i..i + 3]);
            i += 3;
        } else {
            out.extend(percent_encode(&bytes[i..=i], RAW_PATH));
            i += 1;
        }
    }
    out
}

/// The canonical query string: every parameter decoded, re-encoded strictly, sorted by
/// encoded name then value, and joined with `&`. A parameter without `=` gets an empty value.
pub fn canonical_query_string(raw_query: &str, exclude: &[&str], plus_as_space: bool) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name, plus_as_space);
        if exclude.iter().any(|e| e.as_bytes() == name.as_slice()) {
            continue;
        }
        let value = decode_component(value, plus_as_space);
        params.push((
            percent_encode(&name, QUERY_COMPONENT).to_string(),
            percent_encode(&value, QUERY_COMPONENT).to_string(),
        ));
    }
    params.sort_unstable();
    let mut out = String::with_capacity(raw_query.len() + 16);
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Percent-decodes one query component. Malformed escapes stay literal (and are then encoded,
/// `%` becoming `%25`), as the AWS SDKs do.
pub(crate) fn decode_component(raw: &str, plus_as_space: bool) -> Vec<u8> {
    if plus_as_space && raw.contains('+') {
        let replaced = raw.replace('+', " ");
        percent_decode(replaced.as_bytes()).collect()
    } else {
        percent_decode(raw.as_bytes()).collect()
    }
}

/// Appends the canonical value of header `name`: every value trimmed, runs of spaces
/// collapsed, joined with `,` in the order received.
fn push_header_value(
    out: &mut String,
    name: &str,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<(), SigV4Error> {
    let header =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| SigV4Error::SignatureMismatch)?;
    let mut found = false;
    for value in headers.get_all(&header) {
        let value =
            std::str::from_utf8(value.as_bytes()).map_err(|_| SigV4Error::SignatureMismatch)?;
        if found {
            out.push(',');
        }
        push_trimmed(out, value);
        found = true;
    }
    if !found {
        match authority {
            Some(host) if header == http::header::HOST => push_trimmed(out, host),
            _ => return Err(SigV4Error::SignatureMismatch),
        }
    }
    Ok(())
}

/// SigV4's "trimall": trims spaces (and tabs, which HTTP also strips) at both ends and turns
/// runs of spaces inside into one space.
fn push_trimmed(out: &mut String, value: &str) {
    let value = value.trim_matches([' ', '\t']);
    let mut previous_space = false;
    for c in value.chars() {
        if c == ' ' {
            if !previous_space {
                out.push(' ');
            }
            previous_space = true;
        } else {
            out.push(c);
            previous_space = false;
        }
    }
}

fn push_joined(out: &mut String, items: &[String], sep: char) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(item);
    }
}

/// The string to sign (step 2): algorithm, request date (`YYYYMMDDTHHMMSSZ`), credential
/// scope (`YYYYMMDD/region/service/aws4_request`) and the hex SHA-256 of the canonical request.
pub fn string_to_sign(amz_date: &str, credential_scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The signing key (step 3): `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request")`. `date` is `YYYYMMDD`. The result is secret: never log it.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&k_secret, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The signature (step 4), as raw bytes: `HMAC(signing_key, string_to_sign)`.
pub fn signature_bytes(signing_key: &[u8; 32], string_to_sign: &str) -> [u8; 32] {
    hmac_sha256(signing_key, string_to_sign.as_bytes())
}

/// The signature (step 4), as the lower-case hex string clients send.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(signature_bytes(signing_key, string_to_sign))
}

/// Hex SHA-256 of `data`: the payload hash of a body, or the hash of a canonical request.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (longer ones are hashed), so this never fails.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_the_sdks() {
        let cases = [
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/foo/bar/.", "/foo/bar/"),
            ("/../foo", "/foo"),
            ("/a/b/../c", "/a/c"),
            ("/a/%2E%2E/b", "/a/%2E%2E/b"),
            ("relative", "/relative"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input), want, "normalize {input:?}");
        }
    }

    #[test]
    fn encodes_paths_twice_except_for_s3() {
        let standard = PathMode::STANDARD;
        assert_eq!(canonical_uri("", standard), "/");
        assert_eq!(canonical_uri("/a%3Ab", standard), "/a%253Ab");
        assert_eq!(canonical_uri("/@c/x y", standard), "/%40c/x%20y");
        assert_eq!(canonical_uri("/ሴ", standard), "/%E1%88%B4");
        assert_eq!(canonical_uri("/a%3Ab", PathMode::S3), "/a%3Ab");
        assert_eq!(
            canonical_uri("/x y/%zz/%", PathMode::S3),
            "/x%20y/%25zz/%25"
        );
        assert_eq!(canonical_uri("//a/./b", PathMode::S3), "//a/./b");
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        assert_eq!(canonical_query_string("", &[], false), "");
        assert_eq!(
            canonical_query_string("b=2&a=1&a=0&c", &[], false),
            "a=0&a=1&b=2&c="
        );
        assert_eq!(
            canonical_query_string("k=%7e%41+x&&=v", &[], false),
            "=v&k=~A%2Bx"
        );
        assert_eq!(canonical_query_string("k=a+b", &[], true), "k=a%20b");
        assert_eq!(canonical_query_string("k=%zz%", &[], false), "k=%25zz%25");
        assert_eq!(
            canonical_query_string("X-Amz-Signature=abc&z=1", &["X-Amz-Signature"], false),
            "z=1"
        );
    }

    #[test]
    fn trims_and_collapses_header_values() {
        let mut out = String::new();
        push_trimmed(&mut out, "  a   b \t c  ");
        assert_eq!(out, "a b \t c");
    }

    #[test]
    fn aws_documentation_signing_key() {
        // The worked example of the AWS General Reference ("Deriving the signing key").
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
