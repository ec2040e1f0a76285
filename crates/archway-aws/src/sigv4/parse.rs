//! Reading the SigV4 parameters out of a request: the `Authorization` header form and the
//! presigned query form. Everything here returns an error on bad input; nothing panics.

use http::HeaderMap;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

use super::canonical::decode_component;
use super::error::SigV4Error;
use super::verify::AuthLocation;
use super::{format_amz_date, parse_amz_date, ALGORITHM};

pub(crate) const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
pub(crate) const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
pub(crate) const X_AMZ_DATE: &str = "X-Amz-Date";
pub(crate) const X_AMZ_EXPIRES: &str = "X-Amz-Expires";
pub(crate) const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
pub(crate) const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
pub(crate) const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";

/// The presigning parameters whose presence makes a request "presigned".
const PRESIGN_MARKERS: [&str; 4] = [
    X_AMZ_ALGORITHM,
    X_AMZ_CREDENTIAL,
    X_AMZ_SIGNATURE,
    X_AMZ_SIGNED_HEADERS,
];

/// The SigV4 parameters of one request, whichever form carried them.
#[derive(Debug)]
pub(crate) struct AuthParams {
    pub location: AuthLocation,
    pub access_key_id: String,
    /// `date/region/service/terminator`, verbatim from the credential.
    pub scope: String,
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// Lower-case, in the client's order.
    pub signed_headers: Vec<String>,
    /// The decoded signature; `None` if it is not 64 hex digits (which can never match).
    pub signature: Option<[u8; 32]>,
    /// The request date in basic format, as it goes into the string to sign.
    pub amz_date: String,
    pub signed_at: OffsetDateTime,
    /// `X-Amz-Expires`, presigned form only.
    pub expires_secs: Option<u64>,
    pub session_token: Option<String>,
}

/// Finds and parses the SigV4 parameters of a request.
pub(crate) fn parse_auth(
    headers: &HeaderMap,
    query: Option<&str>,
    max_expires: u64,
) -> Result<AuthParams, SigV4Error> {
    let query_params = query.map(parse_query).unwrap_or_default();
    let presigned = query_params
        .iter()
        .any(|(name, _)| PRESIGN_MARKERS.contains(&name.as_str()));
    let mut authorization = headers.get_all(http::header::AUTHORIZATION).iter();
    match (authorization.next(), presigned) {
        (None, false) => Err(SigV4Error::MissingAuthenticationToken),
        (Some(_), true) => Err(SigV4Error::incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        )),
        (Some(value), false) => {
            if authorization.next().is_some() {
                return Err(SigV4Error::incomplete(
                    "Only one Authorization header may be specified.",
                ));
            }
            let value = std::str::from_utf8(value.as_bytes())
                .map_err(|_| SigV4Error::incomplete(requires_message(&[], true)))?;
            parse_header_form(value, headers)
        }
        (None, true) => parse_query_form(&query_params, headers, max_expires),
    }
}

/// Decoded `(name, value)` pairs of a query string; names and values that are not UTF-8 are
/// decoded lossily (they are only compared against ASCII parameter names).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                String::from_utf8_lossy(&decode_component(name, false)).into_owned(),
                String::from_utf8_lossy(&decode_component(value, false)).into_owned(),
            )
        })
        .collect()
}

/// AWS's message for an `Authorization` header that lacks parameters.
fn requires_message(missing: &[&str], date_missing: bool) -> String {
    let mut parts: Vec<String> = missing
        .iter()
        .map(|p| format!("Authorization header requires '{p}' parameter."))
        .collect();
    if date_missing {
        parts.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .to_owned(),
        );
    }
    parts.join(" ")
}

/// Every parameter an `Authorization` header must have, reported as missing.
fn requires_everything() -> String {
    requires_message(&["Credential", "Signature", "SignedHeaders"], true)
}

fn parse_header_form(value: &str, headers: &HeaderMap) -> Result<AuthParams, SigV4Error> {
    let value = value.trim_matches([' ', '\t']);
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        // A bearer token or another scheme sent to a SigV4 route; AWS answers with the list
        // of everything that is missing.
        return Err(SigV4Error::incomplete(requires_everything()));
    }

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in rest.split(',').map(|c| c.trim_matches([' ', '\t'])) {
        if component.is_empty() {
            continue;
        }
        let Some((key, val)) = component.split_once('=') else {
            return Err(SigV4Error::incomplete(
                "A component of the Authorization header is not a valid key=value pair \
                 (missing equal-sign).",
            ));
        };
        let slot = match key.trim_matches([' ', '\t']) {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(val.trim_matches([' ', '\t'])).is_some() {
            return Err(SigV4Error::incomplete(format!(
                "Authorization header has more than one '{}' parameter.",
                key.trim_matches([' ', '\t'])
            )));
        }
    }

    let date = header_date(headers)?;
    let date_missing = date.is_none();
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Credential");
    }
    if signature.is_none() {
        missing.push("Signature");
    }
    if signed_headers.is_none() {
        missing.push("SignedHeaders");
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some((amz_date, signed_at))) =
        (credential, signed_headers, signature, date)
    else {
        return Err(SigV4Error::incomplete(requires_message(
            &missing,
            date_missing,
        )));
    };

    let session_token = single_header(headers, "x-amz-security-token")?;
    build(
        AuthLocation::Header,
        credential,
        signed_headers,
        signature,
        amz_date,
        signed_at,
        None,
        session_token,
    )
}

/// The request date of the header form: `X-Amz-Date`, else `Date` (an HTTP date).
fn header_date(headers: &HeaderMap) -> Result<Option<(String, OffsetDateTime)>, SigV4Error> {
    if let Some(value) = single_header(headers, "x-amz-date")? {
        let t = parse_amz_date(&value).ok_or_else(|| bad_date(&value))?;
        return Ok(Some((value, t)));
    }
    if let Some(value) = single_header(headers, "date")? {
        let t = OffsetDateTime::parse(&value, &Rfc2822)
            .ok()
            .and_then(|t| t.checked_to_offset(time::UtcOffset::UTC))
            .ok_or_else(|| bad_date(&value))?;
        return Ok(Some((format_amz_date(&t), t)));
    }
    Ok(None)
}

fn bad_date(value: &str) -> SigV4Error {
    SigV4Error::incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
        echo(value)
    ))
}

/// The value of a header that must appear at most once, as UTF-8.
fn single_header(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, SigV4Error> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(SigV4Error::incomplete(format!(
            "Only one '{name}' header may be specified."
        )));
    }
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| SigV4Error::incomplete(format!("The '{name}' header is not valid UTF-8.")))?;
    Ok(Some(value.trim_matches([' ', '\t']).to_owned()))
}

fn parse_query_form(
    params: &[(String, String)],
    headers: &HeaderMap,
    max_expires: u64,
) -> Result<AuthParams, SigV4Error> {
    let one = |name: &str| -> Result<Option<&str>, SigV4Error> {
        let mut found = params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(SigV4Error::incomplete(format!(
                "AWS query-string parameter '{name}' may appear only once. Re-examine the \
                 query-string parameters."
            )));
        }
        Ok(first)
    };
    let algorithm = one(X_AMZ_ALGORITHM)?;
    let credential = one(X_AMZ_CREDENTIAL)?;
    let signature = one(X_AMZ_SIGNATURE)?;
    let date = one(X_AMZ_DATE)?;
    let signed_headers = one(X_AMZ_SIGNED_HEADERS)?;
    let expires = one(X_AMZ_EXPIRES)?;
    let token = one(X_AMZ_SECURITY_TOKEN)?;

    let (Some(algorithm), Some(credential), Some(signature), Some(date), Some(signed_headers)) =
        (algorithm, credential, signature, date, signed_headers)
    else {
        let missing: Vec<String> = [
            (X_AMZ_ALGORITHM, algorithm),
            (X_AMZ_CREDENTIAL, credential),
            (X_AMZ_SIGNATURE, signature),
            (X_AMZ_DATE, date),
            (X_AMZ_SIGNED_HEADERS, signed_headers),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| format!("'{n}'"))
        .collect();
        return Err(SigV4Error::incomplete(format!(
            "AWS query-string parameters must include {}. Re-examine the query-string parameters.",
            missing.join(", ")
        )));
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let signed_at = parse_amz_date(date).ok_or_else(|| bad_date(date))?;
    let expires_secs = match expires {
        None => None,
        Some(raw) => {
            let secs = parse_decimal(raw)
                .ok_or_else(|| SigV4Error::incomplete("X-Amz-Expires should be a number"))?;
            if secs > max_expires {
                return Err(SigV4Error::incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is {max_expires}"
                )));
            }
            Some(secs)
        }
    };
    let session_token = match token {
        Some(t) => Some(t.to_owned()),
        None => single_header(headers, "x-amz-security-token")?,
    };
    build(
        AuthLocation::QueryString,
        credential,
        signed_headers,
        signature,
        date.to_owned(),
        signed_at,
        expires_secs,
        session_token,
    )
}

/// A non-negative decimal integer of at most 19 digits.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[allow(clippy::too_many_arguments)]
fn build(
    location: AuthLocation,
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    signed_at: OffsetDateTime,
    expires_secs: Option<u64>,
    session_token: Option<String>,
) -> Result<AuthParams, SigV4Error> {
    // `<access key id>/<date>/<region>/<service>/<terminator>`: split from the right so the four
    // scope parts are exact and anything left over belongs to the key id (then rejected by the
    // lookup rather than misread).
    let mut parts = credential.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(scope_date), Some(access_key_id)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad_credential());
    };
    if access_key_id.is_empty() || scope_date.is_empty() || region.is_empty() || service.is_empty()
    {
        return Err(bad_credential());
    }

    let mut names = Vec::new();
    for name in signed_headers.split(';') {
        let name = name.trim_matches([' ', '\t']).to_ascii_lowercase();
        if name.is_empty() {
            return Err(SigV4Error::incomplete(
                "SignedHeaders must list header names separated by ';'.",
            ));
        }
        names.push(name);
    }
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(SigV4Error::incomplete(format!(
            "SignedHeaders lists '{}' more than once.",
            echo(pair[0])
        )));
    }
    if !names.iter().any(|n| n == "host") {
        return Err(SigV4Error::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    let mut decoded = [0u8; 32];
    let signature = hex::decode_to_slice(signature, &mut decoded)
        .ok()
        .map(|()| decoded);

    Ok(AuthParams {
        location,
        access_key_id: access_key_id.to_owned(),
        scope: format!("{scope_date}/{region}/{service}/{terminator}"),
        scope_date: scope_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        terminator: terminator.to_owned(),
        signed_headers: names,
        signature,
        amz_date,
        signed_at,
        expires_secs,
        session_token,
    })
}

fn bad_credential() -> SigV4Error {
    SigV4Error::incomplete(
        "Credential must have the form '<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
    )
}

/// A client-supplied value made safe to quote in a message: at most 64 characters, control
/// characters replaced.
pub(crate) fn echo(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("test header"));
        }
        map
    }

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn parses_the_header_form() {
        let h = headers(&[("authorization", GOOD), ("x-amz-date", "20150830T123600Z")]);
        let p = parse_auth(&h, None, 604_800).expect("parses");
        assert_eq!(p.access_key_id, "AKID");
        assert_eq!(p.scope, "20150830/us-east-1/service/aws4_request");
        assert_eq!(p.signed_headers, ["host", "x-amz-date"]);
        assert!(p.signature.is_some());
        assert_eq!(p.location, AuthLocation::Header);
    }

    #[test]
    fn accepts_compact_separators_and_the_date_header() {
        let compact = GOOD.replace(", ", ",");
        let h = headers(&[
            ("authorization", &compact),
            ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ]);
        let p = parse_auth(&h, None, 604_800).expect("parses");
        assert_eq!(p.amz_date, "20150830T123600Z");
    }

    #[test]
    fn date_header_beyond_the_calendar_does_not_panic() {
        // In UTC this is year 10000: an error, unless `time` has `large-dates`.
        let h = headers(&[
            ("authorization", GOOD),
            ("date", "Fri, 31 Dec 9999 23:59:59 -0500"),
        ]);
        let _ = parse_auth(&h, None, 1);
    }

    #[test]
    fn no_auth_is_missing_token() {
        assert_eq!(
            parse_auth(&HeaderMap::new(), Some("a=b&X-Amz-Date=1"), 1).err(),
            Some(SigV4Error::MissingAuthenticationToken)
        );
    }

    #[test]
    fn bearer_token_lists_every_missing_part() {
        let h = headers(&[("authorization", "Bearer eyJhbGciOi.secret.jwt")]);
        let err = parse_auth(&h, None, 1).expect_err("rejected");
        assert_eq!(err.error_type(), "IncompleteSignatureException");
        let msg = err.aws_message();
        assert!(msg.starts_with("Authorization header requires 'Credential' parameter."));
        assert!(
            !msg.contains("secret"),
            "the token must not be echoed: {msg}"
        );
    }

    #[test]
    fn reports_each_missing_parameter() {
        let h = headers(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request",
        )]);
        let msg = parse_auth(&h, None, 1).expect_err("rejected").aws_message();
        assert_eq!(
            msg,
            "Authorization header requires 'Signature' parameter. Authorization header \
             requires 'SignedHeaders' parameter. Authorization header requires existence of \
             either a 'X-Amz-Date' or a 'Date' header."
        );
    }

    #[test]
    fn host_must_be_signed() {
        let auth = GOOD.replace("host;x-amz-date", "x-amz-date");
        let h = headers(&[("authorization", &auth), ("x-amz-date", "20150830T123600Z")]);
        let err = parse_auth(&h, None, 1).expect_err("rejected");
        assert!(err.aws_message().contains("'Host'"));
    }

    #[test]
    fn both_forms_at_once_are_rejected() {
        let h = headers(&[("authorization", GOOD), ("x-amz-date", "20150830T123600Z")]);
        let err = parse_auth(&h, Some("X-Amz-Signature=00"), 1).expect_err("rejected");
        assert_eq!(err.error_type(), "IncompleteSignatureException");
    }

    #[test]
    fn query_form_reports_missing_and_bad_expires() {
        let err =
            parse_auth(&HeaderMap::new(), Some("X-Amz-Signature=00"), 10).expect_err("rejected");
        assert_eq!(
            err.aws_message(),
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', \
             'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."
        );
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fr%2Fs%2Faws4_request\
             &X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        for (expires, want) in [
            ("-1", "X-Amz-Expires should be a number"),
            ("1e3", "X-Amz-Expires should be a number"),
            (
                "99999999999999999999999",
                "X-Amz-Expires should be a number",
            ),
            (
                "11",
                "X-Amz-Expires must be less than a week (in seconds) that is 10",
            ),
        ] {
            let q = format!("{base}&X-Amz-Expires={expires}");
            let err = parse_auth(&HeaderMap::new(), Some(&q), 10).expect_err("rejected");
            assert_eq!(err.aws_message(), want);
        }
        let q = format!("{base}&X-Amz-Expires=10");
        let p = parse_auth(&HeaderMap::new(), Some(&q), 10).expect("parses");
        assert_eq!(p.expires_secs, Some(10));
        assert_eq!(p.access_key_id, "AKID");
    }

    #[test]
    fn echo_truncates_and_strips_controls() {
        assert_eq!(echo("a\nb"), "a?b");
        assert_eq!(echo(&"x".repeat(100)).chars().count(), 65);
    }
}
