//! Invariant 2: what the route decision saw is exactly what the upstream receives.
//! The matrix covers `..`, `%2e%2e`, `%2F`, `//` and `%252e`.

use archway_testkit::*;
use std::time::Duration;

fn yaml(up: &Upstream) -> String {
    with_upstream(
        &rest_api(
            r#"      GET /files/{name}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/one/{name}" }
      GET /files/{name}/meta:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/meta/{name}" }
      GET /static/{proxy+}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/static/{proxy}" }
      GET /admin:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/admin" }
"#,
        ),
        up,
    )
}

/// (request target, expected status, expected upstream path or "" when nothing must reach it)
const MATRIX: &[(&str, u16, &str)] = &[
    // `..` is resolved before routing; the upstream sees the resolved path.
    ("/prod/static/a/../b", 200, "/static/b"),
    ("/prod/static/../admin", 200, "/admin"),
    ("/prod/files/x/../../admin", 200, "/admin"),
    // Climbing above the root is refused.
    ("/prod/../../etc/passwd", 400, ""),
    // Encoded dot segments are refused: an upstream decoding them again would traverse.
    ("/prod/static/%2e%2e/admin", 400, ""),
    ("/prod/static/%2E%2e/admin", 400, ""),
    ("/prod/files/%2e", 400, ""),
    // `%2F` stays inside its segment: one parameter, re-encoded for the upstream.
    ("/prod/files/a%2Fb", 200, "/one/a%2Fb"),
    ("/prod/files/a%2fb/meta", 200, "/meta/a%2Fb"),
    ("/prod/static/a%2Fb/c", 200, "/static/a%2Fb/c"),
    // `//` collapses.
    ("/prod//files//x", 200, "/one/x"),
    ("/prod/static//a///b", 200, "/static/a/b"),
    // `%252e` decodes once, to the text `%2e`, and stays that text upstream.
    ("/prod/files/%252e%252e", 200, "/one/%252e%252e"),
    (
        "/prod/static/%252e%252e/admin",
        200,
        "/static/%252e%252e/admin",
    ),
    // Other escapes are normalised but keep their meaning.
    ("/prod/files/caf%C3%A9", 200, "/one/caf%C3%A9"),
    ("/prod/files/a%20b", 200, "/one/a%20b"),
    ("/prod/files/a%3Fb", 200, "/one/a%3Fb"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_normalisation_matrix() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&yaml(&up));
    for (target, status, upstream_path) in MATRIX {
        let before = up.seen().len();
        // Raw bytes: a client library would normalise the target itself.
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = raw(gw.addr, req.as_bytes(), Duration::from_secs(5)).await;
        let got: u16 = resp
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{target}: no status in {resp:?}"));
        assert_eq!(got, *status, "{target}: {resp}");
        let seen = up.seen();
        if upstream_path.is_empty() {
            assert_eq!(seen.len(), before, "{target} must not reach the upstream");
        } else {
            assert_eq!(seen.len(), before + 1, "{target}");
            assert_eq!(seen[before].uri, *upstream_path, "{target}");
        }
    }
}
