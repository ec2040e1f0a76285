//! Interoperability with the AWS SDK's own signer (`aws-sigv4`): requests the SDK signs, on
//! inputs the fixture suite does not cover, must verify here — and stop verifying when tampered.

use std::time::{Duration, SystemTime};

use archway_aws::sigv4::{
    verify, AuthLocation, Credentials, PathMode, PayloadHash, SigV4Error, VerifyOptions,
    VerifyRequest,
};
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use http::HeaderMap;
use time::OffsetDateTime;

const KEY_ID: &str = "AKIDINTEROP";
const SECRET: &str = "interop/secret+key=";
const TOKEN: &str = "FwoGZXIvYXdzE//interop+token==";

struct Signed {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
}

#[allow(clippy::too_many_arguments)]
fn sdk_sign(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    location: SignatureLocation,
    s3: bool,
    token: Option<&str>,
    at: SystemTime,
) -> Signed {
    let identity = aws_credential_types::Credentials::new(
        KEY_ID,
        SECRET,
        token.map(str::to_owned),
        None,
        "interop",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(300));
    if s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("ap-southeast-2")
        .name("execute-api")
        .time(at)
        .settings(settings)
        .build()
        .expect("signing params")
        .into();
    let signable = SignableRequest::new(
        method,
        uri,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable request");
    let (instructions, _signature) = sign(signable, &params).expect("SDK signs").into_parts();

    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut request);
    let (parts, ()) = request.into_parts();
    let mut headers = parts.headers;
    if let Some(authority) = parts.uri.authority() {
        headers.insert(
            http::header::HOST,
            authority.as_str().parse().expect("host value"),
        );
    }
    Signed {
        method: method.to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
    }
}

#[test]
fn requests_signed_by_the_sdk_verify() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_717_171_717);
    let now = OffsetDateTime::from_unix_timestamp(1_717_171_717).expect("time");
    let uris = [
        "https://api.example.test/",
        "https://api.example.test/prod/pets/42",
        "https://api.example.test/prod/a%20b/c%2Fd/%E1%88%B4",
        "https://api.example.test/prod/@connections/abc%3D%3D",
        "https://api.example.test/prod/./x/../y//z/",
        "https://api.example.test:8443/prod/~tilde",
        "https://api.example.test/q?b=2&a=1&a=0&flag",
        "https://api.example.test/q?q=a+b&plus=%2B&space=%20&empty=",
        "https://api.example.test/q?k%20x=%E1%88%B4&tilde=~&star=*&slash=/",
    ];
    let header_sets: [&[(&str, &str)]; 3] = [
        &[],
        &[
            ("content-type", "application/json"),
            ("x-custom", "  a   b  "),
        ],
        &[
            ("x-repeat", "one"),
            ("x-repeat", "two"),
            ("x-amz-meta", "UPPER lower"),
        ],
    ];
    let mut checked = 0;
    for uri in uris {
        for headers in header_sets {
            for (location, want_location) in [
                (SignatureLocation::Headers, AuthLocation::Header),
                (SignatureLocation::QueryParams, AuthLocation::QueryString),
            ] {
                for s3 in [false, true] {
                    for token in [None, Some(TOKEN)] {
                        let body = b"{\"a\":1}";
                        let signed = sdk_sign("POST", uri, headers, body, location, s3, token, at);
                        let creds = match token {
                            Some(t) => Credentials::new(KEY_ID, SECRET).with_session_token(t),
                            None => Credentials::new(KEY_ID, SECRET),
                        };
                        let opts = VerifyOptions {
                            path_mode: if s3 { PathMode::S3 } else { PathMode::STANDARD },
                            ..VerifyOptions::scoped("ap-southeast-2", "execute-api")
                        };
                        let req = VerifyRequest {
                            method: &signed.method,
                            path: &signed.path,
                            query: signed.query.as_deref(),
                            headers: &signed.headers,
                            authority: None,
                            payload: PayloadHash::Bytes(body),
                        };
                        let what = format!(
                            "{uri} {headers:?} {location:?} s3={s3} token={}",
                            token.is_some()
                        );
                        let id = verify(&req, &creds, now, &opts)
                            .unwrap_or_else(|e| panic!("{what}: {e} ({})", e.aws_message()));
                        assert_eq!(id.location, want_location, "{what}");
                        assert_eq!(id.has_session_token, token.is_some(), "{what}");

                        let tampered = VerifyRequest {
                            payload: PayloadHash::Bytes(b"{\"a\":2}"),
                            ..req
                        };
                        assert_eq!(
                            verify(&tampered, &creds, now, &opts).err(),
                            Some(SigV4Error::SignatureMismatch),
                            "{what}: tampered body"
                        );
                        let wrong = Credentials {
                            secret_access_key: "wrong".into(),
                            ..creds.clone()
                        };
                        assert_eq!(
                            verify(&req, &wrong, now, &opts).err(),
                            Some(SigV4Error::SignatureMismatch),
                            "{what}: wrong secret"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, uris.len() * header_sets.len() * 2 * 2 * 2);
}
