//! Local Lambda functions end to end: the real binary, real worker processes speaking the Lambda
//! Runtime API (AWS's own `awslambdaric` when the test Python has it, as `scripts/test.sh`
//! arranges, and a standard-library custom runtime), AWS_PROXY events checked against AWS's
//! fixtures (../shared/fixtures/lambda-events, see ../shared/fixtures/SOURCES.md) and read back
//! with the `aws_lambda_events` crate.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_archway");

fn functions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/functions")
}

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/lambda-events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// The Python that runs the handlers: `ARCHWAY_TEST_PYTHON` (the venv `scripts/test.sh` makes,
/// which has awslambdaric), else `python3`.
fn python() -> String {
    std::env::var("ARCHWAY_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn has_awslambdaric() -> bool {
    std::process::Command::new(python())
        .args(["-c", "import awslambdaric"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A function declaration run by the stdlib runtime (`runtime.py`).
fn stdlib_function(name: &str, handler: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    command: \"{} runtime.py handlers.{handler}\"\n    workingDirectory: {}\n{extra}",
        python(),
        functions_dir().display()
    )
}

fn lambda_uri(name: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations"
    )
}

fn start(dir: &Path, yaml: &str) -> Process {
    let cfg = dir.join("archway.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    spawn(dir, &["--config", cfg.to_str().unwrap()], &[])
}

fn spawn(dir: &Path, extra: &[&str], env: &[(&str, Option<&str>)]) -> Process {
    let args = serve_args(&dir.join("data"), extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::spawn_with_env(BIN, &refs, env)
}

/// A REST API whose one route `GET /{route}` (stage `prod`) is an AWS_PROXY integration of
/// the function `name`, run by the stdlib runtime with `handler` and `extra` settings.
fn one_route_api(route: &str, name: &str, handler: &str, extra: &str) -> String {
    format!(
        r#"apis:
  - name: api
    protocol: REST
    stages:
      prod: {{}}
    routes:
      GET /{route}:
        integration: {{ type: AWS_PROXY, uri: "{uri}" }}
functions:
{f}"#,
        uri = lambda_uri(name),
        f = stdlib_function(name, handler, extra),
    )
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn rest_config(functions: &str) -> String {
    format!(
        r#"apis:
  - name: pets
    id: petsapi123
    protocol: REST
    stages:
      prod:
        variables:
          color: blue
    routes:
      POST /pets/{{petId}}:
        integration: {{ type: AWS_PROXY, uri: "{echo}" }}
      GET /fail:
        integration: {{ type: AWS_PROXY, uri: "{fail}" }}
      GET /malformed:
        integration: {{ type: AWS_PROXY, uri: "{malformed}" }}
      GET /crash:
        integration: {{ type: AWS_PROXY, uri: "{crash}" }}
      GET /slow:
        integration: {{ type: AWS_PROXY, uri: "{slow}" }}
      GET /binary:
        integration: {{ type: AWS_PROXY, uri: "{binary}" }}
functions:
{functions}"#,
        echo = lambda_uri("echo"),
        fail = lambda_uri("fail"),
        malformed = lambda_uri("malformed"),
        crash = lambda_uri("crash"),
        slow = lambda_uri("slow"),
        binary = lambda_uri("binary"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_payload_1_0_reaches_the_function_as_aws_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    let functions = [
        stdlib_function(
            "echo",
            "echo",
            "    environment:\n      GREETING: hi\n    memorySize: 256\n",
        ),
        stdlib_function("fail", "fail", ""),
        stdlib_function("malformed", "malformed", ""),
        stdlib_function("crash", "crash", ""),
        stdlib_function("slow", "slow", "    timeout: 1\n"),
        stdlib_function("binary", "binary", ""),
    ]
    .concat();
    let p = start(dir.path(), &rest_config(&functions));
    let c = client();
    let r = send(
        &c,
        Request::post(p.url("/prod/pets/42?name=rex&tag=a&tag=b"))
            .header("x-multi", "one")
            .header("content-type", "application/json")
            .header("user-agent", "archway-test")
            .body(Full::from(r#"{"kind":"dog"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-function"), Some("echo"));
    assert_eq!(r.headers.get_all("x-multi").iter().count(), 2);
    let out = r.json();
    let e = &out["event"];
    assert_eq!(e["resource"], "/pets/{petId}");
    assert_eq!(e["path"], "/pets/42");
    assert_eq!(e["httpMethod"], "POST");
    assert_eq!(e["pathParameters"]["petId"], "42");
    assert_eq!(e["queryStringParameters"]["tag"], "b");
    assert_eq!(
        e["multiValueQueryStringParameters"]["tag"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(e["headers"]["x-multi"], "one");
    assert_eq!(e["stageVariables"]["color"], "blue");
    assert_eq!(e["body"], r#"{"kind":"dog"}"#);
    assert_eq!(e["isBase64Encoded"], false);
    let rc = &e["requestContext"];
    assert_eq!(rc["stage"], "prod");
    assert_eq!(rc["apiId"], "petsapi123");
    assert_eq!(rc["resourcePath"], "/pets/{petId}");
    assert_eq!(rc["path"], "/prod/pets/42");
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(rc["identity"]["userAgent"], "archway-test");
    assert_eq!(
        rc["requestId"].as_str(),
        r.header("x-amzn-requestid"),
        "the event's requestId is the response's"
    );
    assert!(rc["requestTimeEpoch"].as_u64().unwrap() > 1_600_000_000_000);
    // The Lambda environment.
    assert_eq!(out["env"]["AWS_LAMBDA_FUNCTION_NAME"], "echo");
    assert_eq!(out["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(out["env"]["GREETING"], "hi");
    assert!(out["arn"].as_str().unwrap().ends_with(":function:echo"));
    let remaining = out["remaining_ms"].as_i64().unwrap();
    assert!(
        (1..=3000).contains(&remaining),
        "Lambda-Runtime-Deadline-Ms is the 3 s default timeout ahead: {remaining}"
    );
    assert!(out["trace"].as_str().unwrap().starts_with("Root=1-"));

    // AWS's key sets, and a third party's types.
    let fx = fixture("powertools/apiGatewayProxyEvent.json");
    assert_eq!(keys(e), keys(&fx), "top-level keys as AWS sends them");
    let ours = keys(rc);
    let theirs = keys(&fx["requestContext"]);
    let missing: Vec<_> = theirs
        .difference(&ours)
        .filter(|k| {
            !matches!(
                k.as_str(),
                "authorizer" | "operationName" | "requestTimeEpoch"
            )
        })
        .collect();
    assert!(missing.is_empty(), "requestContext lacks {missing:?}");
    assert!(keys(&rc["identity"]).is_superset(
        &keys(&fx["requestContext"]["identity"])
            .into_iter()
            .filter(|k| !matches!(k.as_str(), "apiKey" | "apiKeyId" | "clientCert"))
            .collect()
    ));
    let typed: aws_lambda_events::apigw::ApiGatewayProxyRequest =
        serde_json::from_value(e.clone()).expect("aws_lambda_events reads the event");
    assert_eq!(typed.path.as_deref(), Some("/pets/42"));
    assert_eq!(typed.request_context.stage.as_deref(), Some("prod"));

    // The function's output is logged with the request id.
    let id = r.header("x-amzn-requestid").unwrap().to_string();
    p.wait_for("echo handling POST", 1, Duration::from_secs(5));
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains("echo handling POST") && l.contains(&id)),
        "{:?}",
        p.stderr()
    );

    // Failures, as API Gateway answers them.
    for path in ["/prod/fail", "/prod/malformed", "/prod/crash"] {
        let r = get(&c, &p.url(path)).await;
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert_eq!(r.json()["message"], "Internal server error", "{path}");
    }
    let r = get(&c, &p.url("/prod/crash")).await;
    assert_eq!(
        r.status, 502,
        "a crashed worker is replaced and crashes again"
    );
    let r = get(&c, &p.url("/prod/slow")).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["message"], "Endpoint request timed out");
    // The echo function still serves, on its warm worker.
    let r = send(
        &c,
        Request::post(p.url("/prod/pets/7"))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["event"]["body"], Value::Null);
    assert_eq!(
        r.json()["pid"],
        out["pid"],
        "the warm worker is reused, not started again"
    );
    let r = get(&c, &p.url("/prod/binary")).await;
    assert_eq!(r.body.as_ref(), &[0u8, 1, 2, 255]);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_payload_2_0_with_awslambdaric() {
    let dir = tempfile::tempdir().unwrap();
    let in_ci = std::env::var("ARCHWAY_TEST_PYTHON").is_ok();
    let ric = has_awslambdaric();
    assert!(
        ric || !in_ci,
        "ARCHWAY_TEST_PYTHON ({}) must have awslambdaric installed",
        python()
    );
    // AWS's runtime interface client when present; the stdlib runtime otherwise.
    let command = if ric {
        format!("{} -m awslambdaric handlers.echo", python())
    } else {
        eprintln!(
            "awslambdaric is not installed for {}: using runtime.py",
            python()
        );
        format!("{} runtime.py handlers.echo", python())
    };
    let yaml = format!(
        r#"apis:
  - name: web
    protocol: HTTP
    stages:
      $default:
        variables:
          color: green
    routes:
      GET /items/{{id}}:
        integration: {{ type: AWS_PROXY, uri: "arn:aws:lambda:us-east-1:123456789012:function:echo", payloadFormatVersion: "2.0" }}
      GET /inferred:
        integration: {{ type: AWS_PROXY, uri: "{inferred}" }}
functions:
  - name: echo
    command: "{command}"
    workingDirectory: {dir}
    warmMinimum: 1
{inferred_fn}"#,
        inferred = lambda_uri("inferred"),
        dir = functions_dir().display(),
        inferred_fn = stdlib_function("inferred", "inferred", ""),
    );
    let p = start(dir.path(), &yaml);
    let c = client();
    let r = send(
        &c,
        Request::get(p.url("/items/9?a=1&a=2&b=x"))
            .header("x-dup", "one")
            .header("x-dup", "two")
            .header("cookie", "c1=v1; c2=v2")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("apigw-requestid").is_some());
    let e = r.json()["event"].clone();
    assert_eq!(e["version"], "2.0");
    assert_eq!(e["routeKey"], "GET /items/{id}");
    assert_eq!(e["rawPath"], "/items/9");
    assert_eq!(e["rawQueryString"], "a=1&a=2&b=x");
    assert_eq!(e["queryStringParameters"]["a"], "1,2");
    assert_eq!(e["headers"]["x-dup"], "one,two");
    assert_eq!(e["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
    assert!(e["headers"].get("cookie").is_none());
    assert_eq!(e["pathParameters"]["id"], "9");
    assert_eq!(e["stageVariables"]["color"], "green");
    assert_eq!(e["requestContext"]["stage"], "$default");
    assert_eq!(e["requestContext"]["http"]["method"], "GET");
    assert_eq!(e["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(
        e["requestContext"]["requestId"].as_str(),
        r.header("apigw-requestid")
    );
    // awslambdaric read the Runtime API's deadline and trace headers.
    let out = r.json();
    assert!(
        (1..=3000).contains(&out["remaining_ms"].as_i64().unwrap()),
        "{out}"
    );
    if ric {
        assert!(
            out["trace"].as_str().unwrap().starts_with("Root=1-"),
            "{out}"
        );
    }
    let fx = fixture("powertools/apiGatewayProxyV2Event.json");
    let ours = keys(&e);
    let theirs = keys(&fx);
    assert!(
        ours.iter().all(|k| theirs.contains(k) || k == "body"),
        "keys AWS does not send: {:?}",
        ours.difference(&theirs).collect::<Vec<_>>()
    );
    let missing: Vec<_> = theirs.difference(&ours).filter(|k| *k != "body").collect();
    assert!(missing.is_empty(), "missing {missing:?}");
    let rc_missing: Vec<_> = keys(&fx["requestContext"])
        .difference(&keys(&e["requestContext"]))
        .filter(|k| !matches!(k.as_str(), "authorizer" | "authentication"))
        .cloned()
        .collect();
    assert!(rc_missing.is_empty(), "requestContext lacks {rc_missing:?}");
    let typed: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(e.clone()).expect("aws_lambda_events reads the 2.0 event");
    assert_eq!(typed.raw_path.as_deref(), Some("/items/9"));

    let r = get(&c, &p.url("/inferred")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"hello": "world"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_and_overflow_is_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = one_route_api(
        "slow",
        "slow",
        "slow",
        "    maxConcurrency: 1\n    warmMinimum: 1\n    environment:\n      SLEEP: \"0.4\"\n",
    );
    let p = start(dir.path(), &yaml);
    // Let the warm worker come up.
    let c = client();
    assert_eq!(get(&c, &p.url("/prod/slow")).await.status, 200);
    let mut tasks = Vec::new();
    for _ in 0..13 {
        let (c, url) = (c.clone(), p.url("/prod/slow"));
        tasks.push(tokio::spawn(async move { get(&c, &url).await.status }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    // One runs, ten wait in the queue (10 per worker), the rest are throttled.
    assert_eq!(ok + throttled, 13, "{statuses:?}");
    assert!((2..=3).contains(&throttled), "{statuses:?}");
    let workers = p
        .stderr()
        .iter()
        .filter(|l| l.contains("cannot start"))
        .count();
    assert_eq!(workers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_function_flag_declares_a_function_for_an_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("api.yaml");
    std::fs::write(
        &doc,
        format!(
            r#"openapi: 3.0.1
info: {{ title: hello, version: "1" }}
paths:
  /hello:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: "{}"
"#,
            lambda_uri("hello")
        ),
    )
    .unwrap();
    let func = format!(
        "hello={} {}/runtime.py handlers.echo",
        python(),
        functions_dir().display()
    );
    let p = spawn(
        dir.path(),
        &["--openapi", doc.to_str().unwrap(), "--function", &func],
        &[],
    );
    let r = get(&client(), &p.url("/prod/hello")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["event"]["resource"], "/hello");
    drop(p);

    // A function the integration names but nobody declared is a start error, not a 500 later.
    let out = std::process::Command::new(BIN)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("no-such-file"),
        )
        .args(serve_args(
            &dir.path().join("data"),
            &["--openapi", doc.to_str().unwrap()],
        ))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a local function"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powertools_resolvers_route_on_archways_events() {
    let ok = std::process::Command::new(python())
        .args(["-c", "import awslambdaric, aws_lambda_powertools"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("ARCHWAY_TEST_PYTHON").is_err(),
            "ARCHWAY_TEST_PYTHON ({}) must have awslambdaric and aws-lambda-powertools",
            python()
        );
        eprintln!("skipped: {} lacks awslambdaric or aws-lambda-powertools (scripts/test.sh installs them)", python());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fdir = functions_dir();
    let yaml = format!(
        r#"apis:
  - name: rest
    protocol: REST
    stages:
      prod: {{}}
    routes:
      ANY /{{proxy+}}:
        integration: {{ type: AWS_PROXY, uri: "{rest}" }}
  - name: web
    protocol: HTTP
    stages:
      $default: {{}}
    routes:
      $default:
        integration: {{ type: AWS_PROXY, uri: "arn:aws:lambda:us-east-1:123456789012:function:web" }}
domainNames:
  - domainName: rest.example
    basePathMappings: [{{ basePath: "", api: rest, stage: prod }}]
  - domainName: web.example
    basePathMappings: [{{ basePath: "", api: web, stage: $default }}]
functions:
  - name: rest
    command: "{py} -m awslambdaric powertools_app.rest_handler"
    workingDirectory: {fdir}
  - name: web
    command: "{py} -m awslambdaric powertools_app.http_handler"
    workingDirectory: {fdir}
"#,
        rest = lambda_uri("rest"),
        py = python(),
        fdir = fdir.display(),
    );
    let p = start(dir.path(), &yaml);
    let c = client();
    let r = send(
        &c,
        Request::get(p.url("/pets/7?q=search"))
            .header("host", "rest.example")
            .header("x-probe", "seen")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"pet": "7", "stage": "prod", "q": "search", "ip": "127.0.0.1", "header": "seen"})
    );
    let r = send(
        &c,
        Request::post(p.url("/pets"))
            .header("host", "rest.example")
            .header("content-type", "application/json")
            .body(Full::from(r#"{"name":"rex"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"added": "rex"}));
    let r = send(
        &c,
        Request::get(p.url("/nope/1"))
            .header("host", "rest.example")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404, "powertools' own 404 for an unknown path");
    assert_eq!(r.json()["message"], "Not found", "{}", r.text());
    let r = send(
        &c,
        Request::get(p.url("/items/abc?q=1"))
            .header("host", "web.example")
            .header("cookie", "a=1; b=2")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"item": "abc", "cookies": ["a=1", "b=2"], "method": "GET", "q": "1"})
    );
}

/// Signs and sends a request to a Lambda Invoke API.
async fn signed_invoke(
    addr: std::net::SocketAddr,
    path: &str,
    invocation_type: &str,
    body: &str,
    key: (&str, &str),
) -> Reply {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-amz-invocation-type", invocation_type.parse().unwrap());
    headers.insert("host", addr.to_string().parse().unwrap());
    let creds = archway_aws::sigv4::Credentials::new(key.0, key.1);
    let params = archway_aws::sigv4::SigningParams::new(
        &creds,
        "us-east-1",
        "lambda",
        time::OffsetDateTime::now_utc(),
        body.as_bytes(),
    );
    archway_aws::sigv4::sign_request_headers("POST", path, None, &mut headers, None, &params)
        .unwrap();
    let mut req = Request::post(format!("http://{addr}{path}"))
        .body(Full::from(body.to_string()))
        .unwrap();
    *req.headers_mut() = headers;
    send(&client(), req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_functions_are_invoked_through_a_signed_invoke_api() {
    let key = (
        "AKIAREMOTETEST0000001",
        "remote-test-secret-remote-test-secret-00",
    );
    // A: the local function and its Invoke API, keyed with the admin key.
    let a_dir = tempfile::tempdir().unwrap();
    let a_cfg = a_dir.path().join("archway.yaml");
    std::fs::write(
        &a_cfg,
        format!("functions:\n{}", stdlib_function("echo", "echo", "")),
    )
    .unwrap();
    let a = spawn(
        a_dir.path(),
        &["--config", a_cfg.to_str().unwrap()],
        &[
            ("ARCHWAY_ADMIN_ACCESS_KEY_ID", Some(key.0)),
            ("ARCHWAY_ADMIN_SECRET_ACCESS_KEY", Some(key.1)),
        ],
    );
    let invoke_api = a.announced("Lambda Invoke API");
    let path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho/invocations";

    // The Invoke API itself, as `aws lambda invoke` uses it.
    let r = signed_invoke(
        invoke_api,
        path,
        "RequestResponse",
        r#"{"httpMethod":"PUT"}"#,
        key,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
    let body: Value = serde_json::from_str(r.json()["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event"]["httpMethod"], "PUT");
    let r = signed_invoke(
        invoke_api,
        "/2015-03-31/functions/echo/invocations",
        "DryRun",
        "{}",
        key,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = signed_invoke(
        invoke_api,
        "/2015-03-31/functions/echo/invocations",
        "Event",
        "{}",
        key,
    )
    .await;
    assert_eq!(r.status, 202);
    let r = signed_invoke(
        invoke_api,
        "/2015-03-31/functions/nope/invocations",
        "RequestResponse",
        "{}",
        key,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let r = signed_invoke(
        invoke_api,
        path,
        "RequestResponse",
        "{}",
        (key.0, "wrong-secret"),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = send(
        &client(),
        Request::post(format!("http://{invoke_api}{path}"))
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "unsigned: {}", r.text());

    // B: an API whose function is not local, invoked through A with SigV4.
    let b_config = |secret: &str| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("archway.yaml");
        std::fs::write(
            &cfg,
            format!(
                r#"apis:
  - name: api
    protocol: REST
    stages:
      prod: {{}}
    routes:
      GET /remote:
        integration: {{ type: AWS_PROXY, uri: "{uri}" }}
lambda:
  endpoint: http://{invoke_api}
"#,
                uri = lambda_uri("echo")
            ),
        )
        .unwrap();
        let p = spawn(
            dir.path(),
            &["--config", cfg.to_str().unwrap()],
            &[
                ("AWS_ACCESS_KEY_ID", Some(key.0)),
                ("AWS_SECRET_ACCESS_KEY", Some(secret)),
                ("AWS_SESSION_TOKEN", None),
            ],
        );
        (dir, p)
    };
    let (_d, b) = b_config(key.1);
    let r = get(&client(), &b.url("/prod/remote")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["event"]["path"], "/remote");
    // A wrong secret is refused by A's signature check: B answers 500.
    let (_d2, b2) = b_config("not-the-secret");
    let r = get(&client(), &b2.url("/prod/remote")).await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(a
        .stderr()
        .iter()
        .any(|l| l.contains("Invoke API request refused")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_non_proxy_lambda_maps_requests_and_responses_with_templates() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"apis:
  - name: api
    protocol: REST
    stages:
      prod: {{}}
    routes:
      POST /mapped/{{id}}:
        integration:
          type: AWS
          uri: "{plain}"
          passthroughBehavior: NEVER
          requestTemplates:
            application/json: '{{"id": "$input.params(''id'')", "body": $input.json(''$'')}}'
          responses:
            default:
              statusCode: "200"
              responseTemplates:
                application/json: '{{"wrapped": $input.json(''$'')}}'
      POST /passthrough:
        integration:
          type: AWS
          uri: "{plain}"
          responses:
            default: {{ statusCode: "200" }}
      POST /strict:
        integration:
          type: AWS
          uri: "{plain}"
          passthroughBehavior: WHEN_NO_TEMPLATES
          requestTemplates:
            application/json: '{{"fixed": true}}'
          responses:
            default: {{ statusCode: "200" }}
      GET /missing/{{id}}:
        integration:
          type: AWS
          uri: "{not_found}"
          requestTemplates:
            application/json: '{{"id": "$input.params(''id'')"}}'
          responses:
            default: {{ statusCode: "200" }}
            "NotFound.*": {{ statusCode: "404" }}
functions:
{f1}{f2}"#,
        plain = lambda_uri("plain"),
        not_found = lambda_uri("notfound"),
        f1 = stdlib_function("plain", "plain", ""),
        f2 = stdlib_function("notfound", "not_found", ""),
    );
    let p = start(dir.path(), &yaml);
    let c = client();
    let post = |path: &str, ct: &str, body: &'static str| {
        Request::post(p.url(path))
            .header("content-type", ct)
            .body(Full::from(body))
            .unwrap()
    };
    // The request template builds the payload; the response template wraps the answer.
    let r = send(&c, post("/prod/mapped/7", "application/json", r#"{"a":1}"#)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"wrapped": {"got": {"id": "7", "body": {"a": 1}}}})
    );
    // NEVER: a content type without a template is 415.
    let r = send(&c, post("/prod/mapped/7", "text/plain", "hi")).await;
    assert_eq!(r.status, 415, "{}", r.text());
    assert_eq!(r.json()["message"], "Unsupported Media Type");
    // WHEN_NO_MATCH (the default) without templates: the JSON body passes through.
    let r = send(
        &c,
        post("/prod/passthrough", "application/json", r#"{"b":2}"#),
    )
    .await;
    assert_eq!(r.json(), serde_json::json!({"got": {"b": 2}}));
    // WHEN_NO_TEMPLATES with a template for another type: 415; for its type, the template.
    let r = send(&c, post("/prod/strict", "application/xml", "<x/>")).await;
    assert_eq!(r.status, 415);
    let r = send(&c, post("/prod/strict", "application/json", "{}")).await;
    assert_eq!(r.json(), serde_json::json!({"got": {"fixed": true}}));
    // A function error selects the response whose pattern matches its errorMessage.
    let r = get(&c, &p.url("/prod/missing/9")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["errorMessage"], "NotFound: no pet 9");
    assert_eq!(r.json()["errorType"], "LookupError");
}

/// The example handler built with AWS's `lambda_http` (`cargo test` builds examples).
fn rust_handler() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/functions-HASH → target/<profile>/examples/lambda_rust_handler
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join("examples/lambda_rust_handler")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_lambda_http_handler_routes_on_archways_events() {
    let bin = rust_handler();
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds the example (or `cargo build -p archway --example lambda_rust_handler`)",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"apis:
  - name: rest
    protocol: REST
    stages:
      prod: {{}}
    routes:
      POST /things/{{id}}:
        integration: {{ type: AWS_PROXY, uri: "{uri}" }}
  - name: web
    protocol: HTTP
    stages:
      $default: {{}}
    routes:
      GET /things/{{id}}:
        integration: {{ type: AWS_PROXY, uri: "arn:aws:lambda:us-east-1:123456789012:function:rusty" }}
domainNames:
  - domainName: rest.example
    basePathMappings: [{{ basePath: "", api: rest, stage: prod }}]
  - domainName: web.example
    basePathMappings: [{{ basePath: "", api: web, stage: $default }}]
functions:
  - name: rusty
    command: "{bin}"
"#,
        uri = lambda_uri("rusty"),
        bin = bin.display(),
    );
    let p = start(dir.path(), &yaml);
    let c = client();
    let r = send(
        &c,
        Request::post(p.url("/things/5?name=ann"))
            .header("host", "rest.example")
            .body(Full::from("payload"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-handler"), Some("rust"));
    let j = r.json();
    assert_eq!(j["kind"], "rest");
    assert_eq!(j["stage"], "prod");
    assert_eq!(j["method"], "POST");
    assert_eq!(j["id"], "5");
    assert_eq!(j["name"], "ann");
    assert_eq!(j["body"], "payload");
    let r = send(
        &c,
        Request::get(p.url("/things/6?name=bob"))
            .header("host", "web.example")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["kind"], "http");
    assert_eq!(j["stage"], "$default");
    assert_eq!(j["path"], "/things/6");
    assert_eq!(j["id"], "6");
    assert_eq!(j["name"], "bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_is_reported_and_answered_502_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = one_route_api("broken", "broken", "no_such_handler", "    timeout: 30\n");
    let p = start(dir.path(), &yaml);
    let started = std::time::Instant::now();
    let r = get(&client(), &p.url("/prod/broken")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed at init, not at the 30 s timeout"
    );
    p.wait_for("init failed", 1, Duration::from_secs(5));
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains("init failed") && l.contains("no_such_handler")),
        "{:?}",
        p.stderr()
    );
}
