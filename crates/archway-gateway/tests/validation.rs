//! Request validation (REST): validators check required parameters and/or the body against the
//! route's model (JSON Schema draft 4) chosen by content type; failures never reach the upstream.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;

const API: &str = r##"apis:
  - name: shop
    protocol: REST
    stages: { prod: { variables: { up: '{UPSTREAM}' } } }
    models:
      Order:
        $schema: "http://json-schema.org/draft-04/schema#"
        type: object
        required: [item, quantity]
        properties:
          item: { type: string, minLength: 1 }
          quantity: { type: integer, minimum: 1 }
          note: { $ref: "#/definitions/Note" }
        definitions:
          Note: { type: string, maxLength: 10 }
      Plain: { type: string }
    requestValidators:
      all: { validateRequestBody: true, validateRequestParameters: true }
      body-only: { validateRequestBody: true }
      params-only: { validateRequestParameters: true }
    requestValidator: all
    routes:
      POST /orders:
        requestParameters:
          method.request.header.x-tenant: true
          method.request.querystring.dryRun: true
          method.request.querystring.optional: false
        requestModels:
          application/json: Order
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/orders" }
      POST /body-only:
        requestValidator: body-only
        requestParameters: { method.request.header.x-tenant: true }
        requestModels: { application/json: Order }
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/body-only" }
      POST /params-only:
        requestValidator: params-only
        requestParameters: { method.request.header.x-tenant: true }
        requestModels: { application/json: Order }
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/params-only" }
"##;

async fn post(c: &Client, url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut b = Request::post(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(c, b.body(Full::from(body.to_string())).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_check_parameters_and_bodies() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&with_upstream(API, &up));
    let c = client();
    let json = ("content-type", "application/json");
    let good = r#"{"item": "book", "quantity": 2, "note": "gift"}"#;

    let r = post(
        &c,
        &gw.url("/prod/orders?dryRun=1"),
        &[json, ("x-tenant", "t")],
        good,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Missing parameters are listed in declaration order.
    let r = post(&c, &gw.url("/prod/orders"), &[json], good).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [x-tenant, dryRun]"}"#
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));

    // Bodies that do not match the model, or are not JSON.
    for bad in [
        r#"{"item": "book"}"#,
        r#"{"item": "", "quantity": 2}"#,
        r#"{"item": "book", "quantity": 0}"#,
        r#"{"item": "book", "quantity": 1, "note": "far too long a note"}"#,
        r#"{"item": "book", "#,
        "",
    ] {
        let r = post(
            &c,
            &gw.url("/prod/orders?dryRun=1"),
            &[json, ("x-tenant", "t")],
            bad,
        )
        .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.text(), r#"{"message":"Invalid request body"}"#, "{bad}");
    }
    // No model for the content type: nothing to check.
    let r = post(
        &c,
        &gw.url("/prod/orders?dryRun=1"),
        &[("content-type", "text/plain"), ("x-tenant", "t")],
        "anything",
    )
    .await;
    assert_eq!(r.status, 200);

    // A body-only validator ignores parameters; a params-only one ignores the body.
    let r = post(&c, &gw.url("/prod/body-only"), &[json], good).await;
    assert_eq!(r.status, 200);
    let r = post(&c, &gw.url("/prod/body-only"), &[json], "{}").await;
    assert_eq!(r.status, 400);
    let r = post(
        &c,
        &gw.url("/prod/params-only"),
        &[json, ("x-tenant", "t")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(&c, &gw.url("/prod/params-only"), &[json], good).await;
    assert_eq!(r.status, 400);

    let seen: Vec<String> = up.seen().iter().map(|s| s.uri.clone()).collect();
    assert_eq!(
        seen.len(),
        4,
        "only valid requests reached the upstream: {seen:?}"
    );
    // The validated body is forwarded byte for byte.
    assert_eq!(up.seen()[0].body.as_ref(), good.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_cors_preflight_and_decoration() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        r#"apis:
  - name: web
    protocol: HTTP
    stages: { $default: { variables: { up: '{UPSTREAM}' } } }
    corsConfiguration:
      allowOrigins: [https://app.example.com]
      allowMethods: [GET, POST]
      allowHeaders: [content-type, authorization]
      exposeHeaders: [x-request-id]
      maxAge: 300
      allowCredentials: true
    routes:
      GET /items:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/items" }
"#,
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    // Preflight answered by the gateway, though no OPTIONS route exists.
    let r = send(
        &c,
        Request::options(gw.url("/items"))
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,authorization")
    );
    assert_eq!(r.header("access-control-max-age"), Some("300"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(
        up.seen().is_empty(),
        "the preflight never reaches the integration"
    );

    // Actual requests are decorated for allowed origins only.
    let r = send(
        &c,
        Request::get(gw.url("/items"))
            .header("origin", "https://app.example.com")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("x-request-id")
    );
    let r = send(
        &c,
        Request::get(gw.url("/items"))
            .header("origin", "https://evil.example")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    // Errors from an allowed origin carry the headers too, so the browser can read them.
    let r = send(
        &c,
        Request::get(gw.url("/nope"))
            .header("origin", "https://app.example.com")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_cors_with_an_options_mock_route() {
    // As the AWS console generates it: OPTIONS with a MOCK integration and static headers.
    let yaml = r#"apis:
  - name: r
    protocol: REST
    stages: { prod: {} }
    routes:
      OPTIONS /items:
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses:
            default:
              statusCode: "200"
              responseParameters:
                method.response.header.Access-Control-Allow-Headers: "'Content-Type,X-Amz-Date,Authorization,X-Api-Key'"
                method.response.header.Access-Control-Allow-Methods: "'GET,OPTIONS'"
                method.response.header.Access-Control-Allow-Origin: "'*'"
"#;
    let gw = TestGateway::start(yaml);
    let r = send(
        &client(),
        Request::options(gw.url("/prod/items"))
            .header("origin", "https://x.test")
            .header("access-control-request-method", "GET")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Content-Type,X-Amz-Date,Authorization,X-Api-Key")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bodies_pass_through_as_bytes() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        &rest_api(
            r#"      POST /raw:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/raw" }
      POST /mapped:
        integration:
          type: HTTP
          uri: "http://${stageVariables.up}/mapped"
          passthroughBehavior: WHEN_NO_MATCH
          responses: { default: { statusCode: "200" } }
"#,
        )
        .replace(
            "    stages:",
            "    binaryMediaTypes: [image/png, application/octet-stream]\n    stages:",
        ),
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    for path in ["/prod/raw", "/prod/mapped"] {
        let r = send(
            &client(),
            Request::post(gw.url(path))
                .header("content-type", "image/png")
                .body(Full::from(bytes.clone()))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{path}");
        let seen = up.last();
        assert_eq!(
            seen.body.as_ref(),
            &bytes[..],
            "{path}: the bytes arrive unchanged"
        );
        assert_eq!(seen.headers["content-type"], "image/png");
    }
}
