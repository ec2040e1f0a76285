//! The OpenAPI door end to end: `archway serve --openapi`, `archway validate` on real documents
//! (../shared/fixtures/openapi, see ../shared/fixtures/SOURCES.md), `openapi:` in archway.yaml,
//! and `archway export` re-imported and served.

use archway_testkit::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_archway");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/openapi")
        .join(name)
}

fn serve_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    archway_testkit::serve_args(&dir.join("data"), extra)
}

fn spawn(args: &[String]) -> Process {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::spawn(BIN, &refs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_an_openapi_document_directly() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture("openapi-mock.json");
    let p = spawn(&serve_args(dir.path(), &["--openapi", f.to_str().unwrap()]));
    let c = client();
    // x-amazon-apigateway-any-method, MOCK with a response template; stage `prod` by default.
    let r = get(&c, &p.url("/prod/echo/hello")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"echo": "hello", "response": "mocked"})
    );
    let r = send(
        &c,
        http::Request::delete(p.url("/prod/echo/x"))
            .body(Default::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    // REST semantics by default.
    assert_eq!(get(&c, &p.url("/prod/nothing")).await.status, 403);

    // --api-type http --stage v1
    let p = spawn(&serve_args(
        dir.path(),
        &[
            "--openapi",
            f.to_str().unwrap(),
            "--api-type",
            "http",
            "--stage",
            "v1",
        ],
    ));
    let r = get(&c, &p.url("/v1/echo/x")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("apigw-requestid").is_some());
    assert_eq!(get(&c, &p.url("/v1/nothing")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_real_documents_with_integrations_rewritten_to_local_upstreams() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The PetStore document points its HTTP integrations at `${uri}`; aim them at our upstream.
    let text = std::fs::read_to_string(fixture("petstore-swagger.json")).unwrap();
    let doc = dir.path().join("petstore.json");
    std::fs::write(
        &doc,
        text.replace("${uri}", &format!("http://{}/backend", up.addr)),
    )
    .unwrap();
    let p = spawn(&serve_args(
        dir.path(),
        &["--openapi", doc.to_str().unwrap()],
    ));
    let c = client();
    let r = get(&c, &p.url("/prod/pets")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.last().uri, "/backend");
    let r = get(&c, &p.url("/prod/pets/7")).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().uri, "/backend/7");
    // The MOCK OPTIONS methods answer CORS as the console generates them.
    let r = send(
        &c,
        http::Request::options(p.url("/prod/pets"))
            .body(Default::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("access-control-allow-origin").is_some(),
        "{:?}",
        r.headers
    );

    // The base path server variable document, from archway.yaml with `openapi:`.
    std::fs::copy(
        fixture("openapi-basepath-server-variable.yaml"),
        dir.path().join("bp.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("archway.yaml"),
        "apis:\n  - openapi: bp.yaml\n    protocol: REST\n    stages: { prod: {} }\n",
    )
    .unwrap();
    let cfg = dir.path().join("archway.yaml");
    let p = spawn(&serve_args(
        dir.path(),
        &["--config", cfg.to_str().unwrap()],
    ));
    let r = get(&c, &p.url("/prod/test")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn validate_accepts_servable_documents_and_refuses_the_rest_naming_route_and_feature() {
    for (name, servable) in [
        ("openapi-mock.json", true),
        ("openapi-basepath-server-variable.yaml", true),
        // Its URI needs stage variables that a bare document cannot define (see below).
        ("openapi.spec.stage-variables.json", false),
        ("petstore-authorizer.swagger.json", false),
        ("openapi.cognito-auth.json", false),
        ("openapi.spec.global-auth.json", false),
        // AWS_PROXY: served by a local function (or through the Invoke API) named at serve time.
        ("swagger-mock-cors.json", true),
        ("openapi-http-method-integration.json", false),
        ("petstore-swagger.json", false),
    ] {
        let out = Command::new(BIN)
            .arg("validate")
            .arg(fixture(name))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.success(), servable, "{name}:\n{text}");
        if !servable {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name}: a clean failure, not a crash"
            );
            assert!(text.contains("route `"), "{name} names the route:\n{text}");
        }
    }
    // With the stage variables defined in archway.yaml, the stage-variables document validates.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("openapi.spec.stage-variables.json"),
        dir.path().join("sv.json"),
    )
    .unwrap();
    let cfg = dir.path().join("archway.yaml");
    std::fs::write(
        &cfg,
        "apis:\n  - openapi: sv.json\n    protocol: REST\n    stages:\n      prod:\n        variables: { TestHost: 'localhost:9443', testPath: 'a/b', querystring: 'x=1' }\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("validate")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = Command::new(BIN)
        .arg("validate")
        .arg(fixture("petstore-authorizer.swagger.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Lambda authorizer `test-authorizer`"),
        "{text}"
    );
}

#[test]
fn bad_documents_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("truncated.json", r#"{"openapi": "3.0.1", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": "#, "truncated.json:"),
        (
            "remote-ref.yaml",
            "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'https://example.com/r.yaml'}\n",
            "https://example.com/r.yaml",
        ),
        (
            "bomb.yaml",
            "openapi: 3.0.1\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
            "bomb.yaml:",
        ),
        (
            "dup.yaml",
            "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a/{x}:\n    get: {x-amazon-apigateway-integration: {type: mock}}\n  /a/{y}:\n    get: {x-amazon-apigateway-integration: {type: mock}}\n",
            "dup.yaml:",
        ),
    ];
    for (file, text, expect) in cases {
        let p = dir.path().join(file);
        std::fs::write(&p, text).unwrap();
        let out = Command::new(BIN).arg("validate").arg(&p).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{file}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(expect),
            "{file}: expected {expect:?} in\n{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_re_imports_and_serves_the_same_api() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/petstore/archway.yaml");
    for format in ["oas30", "swagger2"] {
        let out = Command::new(BIN)
            .args([
                "export",
                "--config",
                example.to_str().unwrap(),
                "--api",
                "petstore",
                "--stage",
                "prod",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = if format == "oas30" {
            "openapi"
        } else {
            "swagger"
        };
        assert!(doc.get(key).is_some(), "{format}: {doc}");
        let file = dir.path().join(format!("exported-{format}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        let p = spawn(&serve_args(
            dir.path(),
            &["--openapi", file.to_str().unwrap()],
        ));
        let c = client();
        let r = get(&c, &p.url("/prod/pets/9")).await;
        assert_eq!(r.status, 200, "{format}: {}", r.text());
        assert_eq!(r.json()["id"], "9");
        let r = get(&c, &p.url("/prod/nope")).await;
        assert_eq!(
            r.status, 404,
            "{format}: the gateway response customisation survived"
        );
        assert_eq!(r.header("x-archway-example"), Some("petstore"));
    }
}
