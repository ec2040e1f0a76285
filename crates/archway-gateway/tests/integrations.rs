//! HTTP_PROXY, HTTP (non-proxy) and MOCK integrations against a real upstream.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_forwards_method_path_query_headers_body() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        &rest_api(
            r#"      ANY /api/{proxy+}:
        integration:
          type: HTTP_PROXY
          uri: "http://${stageVariables.up}/base/{proxy}?fixed=1"
"#,
        ),
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let r = send(
        &client(),
        Request::put(gw.url("/prod/api/a/b?x=1&y=%20z"))
            .header("x-custom", "kept")
            .header("connection", "x-private")
            .header("x-private", "hop")
            .header("te", "trailers")
            .header("x-forwarded-for", "10.9.8.7")
            .header("x-forwarded-for", "10.0.0.2")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-port", "1")
            .header("content-type", "text/plain")
            .body(Full::from("hello body"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.uri, "/base/a/b?fixed=1&x=1&y=%20z");
    assert_eq!(seen.body.as_ref(), b"hello body");
    let h = &seen.headers;
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["content-type"], "text/plain");
    assert_eq!(h["host"], up.addr.to_string(), "Host is the integration's");
    assert!(
        !h.contains_key("x-private"),
        "named in Connection: hop-by-hop"
    );
    assert!(!h.contains_key("te"));
    // The client is appended to the first list (as API Gateway and nginx's
    // $proxy_add_x_forwarded_for do with one); -Proto and -Port are the gateway's alone.
    assert_eq!(h["x-forwarded-for"], "10.9.8.7, 127.0.0.1");
    for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"] {
        assert_eq!(h.get_all(name).iter().count(), 1, "{name}: {h:?}");
    }
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-port"], gw.addr.port().to_string());
    // The response's hop-by-hop headers stop at the gateway too.
    assert!(r.header("x-hop").is_none());
    assert!(r.header("keep-alive").is_none());
    assert!(r
        .header("x-amzn-requestid")
        .is_some_and(|id| id.len() == 36));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_overrides_method_and_fills_uri_templates() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        r#"apis:
  - name: api
    protocol: REST
    stages:
      prod: { variables: { up: '{UPSTREAM}', version: v7 } }
    routes:
      POST /users/{userId}/items/{itemId}:
        integration:
          type: HTTP_PROXY
          httpMethod: GET
          uri: "http://${stageVariables.up}/${stageVariables.version}/items/{itemId}/owner/{userId}"
"#,
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let r = send(
        &client(),
        Request::post(gw.url("/prod/users/u%201/items/42"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/v7/items/42/owner/u%201");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_header_mappings_read_the_client_request() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        r#"apis:
  - name: api
    protocol: REST
    stages:
      prod: { variables: { up: '{UPSTREAM}' } }
    routes:
      GET /things:
        integration:
          type: HTTP_PROXY
          uri: "http://${stageVariables.up}/things"
          requestParameters:
            integration.request.header.x-copied: method.request.header.x-tenant
            integration.request.header.x-replaced: "'by the gateway'"
"#,
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let r = send(
        &client(),
        Request::get(gw.url("/prod/things?a=1"))
            .header("x-tenant", "t1")
            .header("x-replaced", "by the client")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let seen = up.last();
    assert_eq!(seen.uri, "/things?a=1");
    // A mapping reads the client's header; the client's own headers still pass.
    assert_eq!(seen.headers["x-copied"], "t1");
    assert_eq!(seen.headers["x-tenant"], "t1");
    assert_eq!(
        seen.headers
            .get_all("x-replaced")
            .iter()
            .collect::<Vec<_>>(),
        ["by the gateway"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_integration_maps_parameters_and_selects_responses() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        &rest_api(
            r#"      GET /lookup/{id}:
        requestValidator: params-only
        requestParameters:
          method.request.querystring.q: true
          method.request.header.x-tenant: false
        integration:
          type: HTTP
          httpMethod: POST
          uri: "http://${stageVariables.up}/status/{code}"
          requestParameters:
            integration.request.path.code: method.request.path.id
            integration.request.header.x-query: method.request.querystring.q
            integration.request.header.x-tenant: method.request.header.x-tenant
            integration.request.header.x-static: "'fixed value'"
            integration.request.header.x-stage: context.stage
            integration.request.header.x-forwarded-for: "'mapped'"
            integration.request.querystring.search: method.request.querystring.q
          requestTemplates:
            application/json: '{"id": "$input.params(''id'')", "requestId": "$context.requestId"}'
          responses:
            "2\\d{2}":
              statusCode: "200"
              responseParameters:
                method.response.header.x-from-upstream: integration.response.header.x-upstream
                method.response.header.x-static: "'yes'"
              responseTemplates:
                application/json: '{"ok": true, "upstream": $input.json(''$'')}'
            "4\\d{2}":
              statusCode: "400"
              responseTemplates:
                application/json: '{"ok": false}'
            default:
              statusCode: "502"
"#,
        )
        .replace("    stages:", "    requestValidators:\n      params-only: { validateRequestParameters: true }\n    stages:"),
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    let r = send(
        &c,
        Request::get(gw.url("/prod/lookup/201?q=a%20b"))
            .header("x-tenant", "t1")
            .header("x-not-mapped", "1")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"ok": true, "upstream": {"upstreamStatus": 201}})
    );
    assert_eq!(r.header("x-from-upstream"), Some("yes"));
    assert_eq!(r.header("x-static"), Some("yes"));
    let seen = up.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/status/201?search=a%20b");
    assert_eq!(seen.headers["x-query"], "a b");
    assert_eq!(seen.headers["x-tenant"], "t1");
    assert_eq!(seen.headers["x-static"], "fixed value");
    assert_eq!(seen.headers["x-stage"], "prod");
    // X-Forwarded-* are set before the mappings, which may replace them.
    assert_eq!(seen.headers["x-forwarded-for"], "mapped");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-port"], gw.addr.port().to_string());
    assert!(
        !seen.headers.contains_key("x-not-mapped"),
        "non-proxy sends only mapped headers"
    );
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["id"], "201");
    assert_eq!(body["requestId"], r.header("x-amzn-requestid").unwrap());

    let r = send(
        &c,
        Request::get(gw.url("/prod/lookup/404?q=x"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (400, r#"{"ok": false}"#));
    let r = send(
        &c,
        Request::get(gw.url("/prod/lookup/500?q=x"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 502, "default response");

    // A required parameter is missing: 400, nothing sent upstream.
    let before = up.seen().len();
    let r = get(&c, &gw.url("/prod/lookup/200")).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [q]"}"#
    );
    assert_eq!(up.seen().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_takes_status_from_request_template() {
    let yaml = rest_api(
        r#"      POST /mock:
        integration:
          type: MOCK
          passthroughBehavior: NEVER
          requestTemplates:
            application/json: '{"statusCode": $input.params(''code'')}'
          responses:
            "2\\d{2}":
              statusCode: "201"
              responseParameters:
                method.response.header.x-mock: "'1'"
              responseTemplates:
                application/json: '{"created": "$input.params(''code'')", "stage": "$context.stage"}'
            "4\\d{2}":
              statusCode: "418"
      GET /nomatch:
        integration:
          type: MOCK
          requestTemplates:
            application/json: '{"statusCode": 500}'
          responses:
            "2\\d{2}": { statusCode: "200" }
"#,
    )
    .replace("{UPSTREAM}", "127.0.0.1:1");
    let gw = TestGateway::start(&yaml);
    let c = client();
    let r = send(
        &c,
        Request::post(gw.url("/prod/mock?code=204"))
            .header("content-type", "application/json")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-mock"), Some("1"));
    assert_eq!(
        r.json(),
        serde_json::json!({"created": "204", "stage": "prod"})
    );
    let r = send(
        &c,
        Request::post(gw.url("/prod/mock?code=404"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 418);
    // passthroughBehavior NEVER and no template for the type: 415.
    let r = send(
        &c,
        Request::post(gw.url("/prod/mock?code=200"))
            .header("content-type", "text/plain")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
    // No integration response matches and none is the default: 500.
    let r = get(&c, &gw.url("/prod/nomatch")).await;
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal server error"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_responses_are_customisable_per_api() {
    let yaml = r#"apis:
  - name: api
    protocol: REST
    stages: { prod: {} }
    routes:
      GET /x:
        integration: { type: MOCK, responses: { default: { statusCode: "200" } } }
    gatewayResponses:
      MISSING_AUTHENTICATION_TOKEN:
        statusCode: "404"
        responseParameters:
          gatewayresponse.header.x-why: "'no route'"
        responseTemplates:
          application/json: '{"error": $context.error.messageString, "type": "$context.error.responseType", "id": "$context.requestId"}'
      DEFAULT_5XX:
        responseTemplates:
          application/json: '{"oops": true}'
"#;
    let gw = TestGateway::start(yaml);
    let c = client();
    let r = get(&c, &gw.url("/prod/missing")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-why"), Some("no route"));
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    let j = r.json();
    assert_eq!(j["error"], "Missing Authentication Token");
    assert_eq!(j["type"], "MISSING_AUTHENTICATION_TOKEN");
    assert_eq!(j["id"], r.header("x-amzn-requestid").unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_clients_and_h2c_upstreams() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        &rest_api(
            r#"      GET /h1:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/h1" }
      GET /h2:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/h2", upstreamProtocol: HTTP2 }
"#,
        ),
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let c = h2c_client();
    let r = get(&c, &gw.url("/prod/h1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().version, http::Version::HTTP_11);
    let r = get(&c, &gw.url("/prod/h2")).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().version, http::Version::HTTP_2);
}
