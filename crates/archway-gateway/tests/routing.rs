//! Routing as API Gateway does it: specificity, stages, API selection by host, custom domains,
//! and the no-route answers of REST and HTTP APIs.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;

fn routes_yaml() -> &'static str {
    r#"      GET /pets/dog/1:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/literal" }
      GET /pets/dog/{id}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/param/{id}" }
      GET /pets/{proxy+}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/greedy/{proxy}" }
      ANY /{proxy+}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/any/{proxy}" }
      POST /pets:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/post-pets" }
      ANY /pets:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/any-pets" }
"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_specific_route_wins() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&with_upstream(&rest_api(routes_yaml()), &up));
    let c = client();
    let cases = [
        ("GET", "/prod/pets/dog/1", "/literal"),
        ("GET", "/prod/pets/dog/2", "/param/2"),
        ("GET", "/prod/pets/cat/1", "/greedy/cat/1"),
        ("POST", "/prod/pets/dog/1", "/any/pets/dog/1"),
        ("POST", "/prod/pets", "/post-pets"),
        ("DELETE", "/prod/pets", "/any-pets"),
        ("PROPFIND", "/prod/x/y", "/any/x/y"),
    ];
    for (method, path, want) in cases {
        let r = send(
            &c,
            Request::builder()
                .method(method)
                .uri(gw.url(path))
                .body(Full::default())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
        assert_eq!(r.json()["uri"], want, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_no_route_is_missing_authentication_token() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        &rest_api(
            "      GET /pets:\n        integration: { type: HTTP_PROXY, uri: \"http://${stageVariables.up}/\" }\n",
        ),
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    for path in ["/prod/nothing", "/prod", "/prod/pets/1"] {
        let r = get(&c, &gw.url(path)).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("MissingAuthenticationTokenException")
        );
        assert!(r.header("x-amzn-requestid").is_some());
        assert!(
            r.header("apigw-requestid").is_none(),
            "only HTTP APIs send apigw-requestid"
        );
    }
    // POST on a GET-only resource is no route too.
    let r = send(
        &c,
        Request::post(gw.url("/prod/pets"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403);
    // An unknown stage is 403 Forbidden on REST APIs.
    let r = get(&c, &gw.url("/beta/pets")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    assert!(up.seen().is_empty(), "nothing reached the upstream");
}

const HTTP_API: &str = r#"apis:
  - name: web
    protocol: HTTP
    stages:
      $default:
        variables: { up: '{UPSTREAM}' }
      v2:
        variables: { up: '{UPSTREAM}' }
    routes:
      GET /items/{id}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/item/{id}" }
      $default:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/fallback" }
  - name: strict
    id: strict1
    protocol: HTTP
    stages:
      $default: {}
    routes:
      GET /only:
        integration: { type: MOCK, responses: { default: { statusCode: "200" } } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_default_stage_and_default_route() {
    let up = Upstream::start().await;
    let gw = TestGateway::start(&with_upstream(HTTP_API, &up));
    let c = client();
    let host = |req: http::request::Builder, h: &str| req.header("host", h);

    // `$default` stage serves at the root; a named stage by its first segment.
    let r = send(
        &c,
        host(
            Request::get(gw.url("/items/7")),
            "web.execute-api.localhost",
        )
        .body(Full::default())
        .unwrap(),
    )
    .await;
    assert_eq!(r.json()["uri"], "/item/7");
    assert!(r.header("apigw-requestid").is_some());
    assert_eq!(r.header("apigw-requestid"), r.header("x-amzn-requestid"));
    let r = send(
        &c,
        host(
            Request::get(gw.url("/v2/items/8")),
            "web.execute-api.localhost",
        )
        .body(Full::default())
        .unwrap(),
    )
    .await;
    assert_eq!(r.json()["uri"], "/item/8");
    // `$default` route catches the rest.
    let r = send(
        &c,
        host(
            Request::post(gw.url("/anything/else")),
            "web.execute-api.us-east-1.amazonaws.com",
        )
        .body(Full::default())
        .unwrap(),
    )
    .await;
    assert_eq!(r.json()["uri"], "/fallback");

    // The other API, chosen by its id in the host, has no $default route: 404 Not Found.
    let r = send(
        &c,
        host(
            Request::get(gw.url("/nope")),
            "strict1.execute-api.example.com:8080",
        )
        .body(Full::default())
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
    let r = send(
        &c,
        host(
            Request::get(gw.url("/only")),
            "strict1.execute-api.example.com",
        )
        .body(Full::default())
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);

    // Two APIs and a host that names neither: not found.
    let r = get(&c, &gw.url("/items/1")).await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_domain_base_path_mappings() {
    let up = Upstream::start().await;
    let yaml = with_upstream(
        r#"apis:
  - name: pets
    protocol: REST
    stages:
      prod: { variables: { up: '{UPSTREAM}' } }
      beta: { variables: { up: '{UPSTREAM}' } }
    routes:
      ANY /{proxy+}:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/pets/${stageVariables.up}/{proxy}" }
  - name: root
    protocol: HTTP
    stages:
      $default: { variables: { up: '{UPSTREAM}' } }
    routes:
      $default:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/root" }
domainNames:
  - domainName: API.Example.com
    basePathMappings:
      - { basePath: v1/pets, api: pets, stage: prod }
      - { basePath: beta, api: pets, stage: beta }
      - { basePath: "(none)", api: root, stage: $default }
"#,
        &up,
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    let at = |p: &str| {
        Request::get(gw.url(p))
            .header("host", "api.example.COM:443")
            .body(Full::default())
            .unwrap()
    };
    let r = send(&c, at("/v1/pets/a/b")).await;
    assert_eq!(r.json()["uri"], format!("/pets/{}/a/b", up.addr));
    let r = send(&c, at("/beta/c")).await;
    assert_eq!(r.json()["uri"], format!("/pets/{}/c", up.addr));
    let r = send(&c, at("/other")).await;
    assert_eq!(r.json()["uri"], "/root");
    let r = send(&c, at("/v1")).await;
    assert_eq!(
        r.json()["uri"],
        "/root",
        "a partial base path does not match"
    );
}
