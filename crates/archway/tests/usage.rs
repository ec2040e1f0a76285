//! Usage plans in the real binary: quota usage survives a graceful restart and a `kill -9`
//! after the periodic flush (the SQLite data directory holds it), and API key values never
//! appear in the process's logs or the access log, even at the most verbose log level and when
//! a mapping template puts one in a response (`$context.identity.apiKey`).

use archway_control::client::AdminClient;
use archway_testkit::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_archway");
const FILE_KEY: &str = "file-key-value-0123456789";
const ADMIN_KEY: &str = "admin-key-value-0123456789";

const CONFIG: &str = r#"
accessLog: { destination: access.log }
apis:
  - name: metered
    protocol: REST
    routes:
      GET /m:
        apiKeyRequired: true
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"key":"$context.identity.apiKey"}' } } }
    stages: { prod: {} }
apiKeys:
  - { name: filekey, value: file-key-value-0123456789 }
usagePlans:
  - name: fileplan
    apiStages: [{ api: metered, stage: prod }]
    quota: { limit: 10, period: DAY }
    apiKeys: [filekey]
"#;

fn serve(dir: &Path) -> Process {
    let config = dir.join("archway.yaml");
    let args = serve_args(&dir.join("data"), &["--config", config.to_str().unwrap()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::spawn_with_env(BIN, &refs, &[("ARCHWAY_LOG", Some("trace"))])
}

async fn call(p: &Process, key: &str) -> u16 {
    let req = http::Request::get(p.url("/prod/m"))
        .header("x-api-key", key)
        .body(http_body_util::Full::default())
        .unwrap();
    send(&client(), req).await.status
}

async fn calls(p: &Process, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(call(p, FILE_KEY).await);
    }
    out
}

fn admin(p: &Process, data: &Path) -> AdminClient {
    p.wait_for("archway: admin API on ", 1, Duration::from_secs(20));
    let addr = p
        .stderr()
        .iter()
        .find_map(|l| l.strip_prefix("archway: admin API on ").map(str::to_string))
        .unwrap();
    let creds = archway_control::credentials::read(data).unwrap().unwrap();
    AdminClient::new(&addr, creds).unwrap()
}

fn stop(mut p: Process) -> Vec<String> {
    p.signal("TERM");
    let status = p.child.wait().unwrap();
    assert!(status.success(), "{:?}", p.stderr());
    p.stderr()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_usage_survives_restarts_and_key_values_are_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("archway.yaml"), CONFIG).unwrap();
    let data = dir.path().join("data");
    let mut logs = Vec::new();

    // 4 of 10, then a graceful stop: the shutdown flush keeps them. The route's template
    // gives the key's value back (`$context.identity.apiKey`): it flows through the request
    // context and the template, and still reaches no log.
    let p = serve(dir.path());
    let req = http::Request::get(p.url("/prod/m"))
        .header("x-api-key", FILE_KEY)
        .body(http_body_util::Full::default())
        .unwrap();
    let r = send(&client(), req).await;
    assert_eq!(r.json(), json!({ "key": FILE_KEY }));
    assert_eq!(calls(&p, 3).await, vec![200; 3]);
    // A key made through the admin API, with its value read back.
    let a = admin(&p, &data);
    let r = a
        .send(
            "POST",
            "/apikeys",
            Some(&json!({"name": "adm", "value": ADMIN_KEY, "enabled": true})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.error_text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = a
        .send("GET", &format!("/apikeys/{id}?includeValue=true"), None)
        .await
        .unwrap();
    assert_eq!(r.json()["value"], ADMIN_KEY);
    assert_eq!(call(&p, ADMIN_KEY).await, 403);
    logs.extend(stop(p));

    // 3 more, then kill -9 once the periodic flush (every second) has run.
    let p = serve(dir.path());
    assert_eq!(calls(&p, 3).await, vec![200; 3]);
    tokio::time::sleep(archway_control::USAGE_FLUSH_INTERVAL * 3).await;
    p.signal("KILL");
    logs.extend(p.stderr());
    drop(p);

    // 3 left of 10.
    let p = serve(dir.path());
    let mut want = vec![200; 3];
    want.push(429);
    assert_eq!(calls(&p, 4).await, want);
    logs.extend(stop(p));

    let access = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    assert_eq!(access.lines().count(), 4 + 1 + 3 + 4);
    assert!(
        logs.iter()
            .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
        "verbose logs expected"
    );
    for secret in [FILE_KEY, ADMIN_KEY] {
        assert!(!access.contains(secret), "a key value is in the access log");
        assert!(
            !logs.iter().any(|l| l.contains(secret)),
            "a key value is in the process's log"
        );
    }
}
