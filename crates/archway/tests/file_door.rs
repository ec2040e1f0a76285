//! The declarative file through the store, in the real binary: `archway serve --config` applies
//! the file's APIs as documents the admin API shows, a change to the file deploys anew and the
//! stage serves it, an API removed from the file goes, an invalid file changes nothing, a
//! restart with the same file deploys nothing, and the admin API cannot write the file's APIs.

use archway_control::client::AdminClient;
use archway_store::DocumentStore;
use archway_testkit::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_archway");

fn config(marker: &str, web: bool) -> String {
    let mut y = format!(
        r#"apis:
  - name: pets
    protocol: REST
    routes:
      GET /ping:
        integration:
          type: MOCK
          requestTemplates: {{ application/json: '{{"statusCode": 200}}' }}
          responses: {{ default: {{ statusCode: "200", responseTemplates: {{ application/json: '{{"v": "{marker}", "c": "$stageVariables.color"}}' }} }} }}
    stages:
      prod: {{ variables: {{ color: red }} }}
"#
    );
    if web {
        y.push_str(
            r#"  - name: web
    protocol: HTTP
    routes:
      GET /hello:
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"web": true}' } } }
    stages: { $default: {} }
"#,
        );
    }
    y
}

fn serve(file: &Path, data: &Path) -> Process {
    Process::spawn(
        BIN,
        &[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--workers",
            "2",
        ],
    )
}

fn admin(p: &Process, data: &Path) -> AdminClient {
    p.wait_for("archway: admin API on ", 1, Duration::from_secs(20));
    let addr = p
        .stderr()
        .iter()
        .find_map(|l| l.strip_prefix("archway: admin API on ").map(str::to_string))
        .expect("admin line");
    let creds = archway_control::credentials::read(data)
        .unwrap()
        .expect("credentials file");
    AdminClient::new(&addr, creds).unwrap()
}

/// GET `path` of API `api` through the gateway.
async fn invoke(p: &Process, api: &str, path: &str) -> Reply {
    let req = http::Request::get(p.url(path))
        .header("host", format!("{api}.execute-api.localhost"))
        .body(http_body_util::Full::default())
        .unwrap();
    send(&client(), req).await
}

/// The store revision, read beside the running process (as a backup would).
fn revision(data: &Path) -> u64 {
    archway_store::SqliteStore::open(data)
        .unwrap()
        .revision()
        .unwrap()
}

async fn items(a: &AdminClient, path: &str) -> Vec<Value> {
    let v = a.call("GET", path, None).await.unwrap();
    v["items"]
        .as_array()
        .or_else(|| v["item"].as_array())
        .cloned()
        .unwrap_or_default()
}

async fn deployment_ids(a: &AdminClient) -> Vec<String> {
    let mut ids: Vec<String> = items(a, "/restapis/pets/deployments")
        .await
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn prod_deployment(a: &AdminClient) -> String {
    let s = a
        .call("GET", "/restapis/pets/stages/prod", None)
        .await
        .unwrap();
    s["deploymentId"].as_str().unwrap().to_string()
}

/// Polls `f` until it holds (the file watcher reloads on its own).
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(p: &Process, needle: &str) -> usize {
    p.stderr().iter().filter(|l| l.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_applied_through_the_store_at_start_and_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archway.yaml");
    let data = dir.path().join("data");
    std::fs::write(&file, config("one", true)).unwrap();
    let mut p = serve(&file, &data);
    let a = admin(&p, &data);

    // At start: the file's APIs are stored, and the admin API shows them.
    let rest = items(&a, "/restapis").await;
    let pets = rest
        .iter()
        .find(|x| x["id"] == "pets")
        .expect("pets listed");
    assert_eq!(pets["name"], "pets");
    assert_eq!(pets["tags"]["archway:managed-by"], "FILE");
    let source = std::fs::canonicalize(&file).unwrap();
    assert_eq!(
        pets["tags"]["archway:source"],
        source.display().to_string().as_str()
    );
    let stages = items(&a, "/restapis/pets/stages").await;
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0]["stageName"], "prod");
    assert_eq!(stages[0]["variables"]["color"], "red");
    let first = deployment_ids(&a).await;
    assert_eq!(first.len(), 1);
    assert_eq!(stages[0]["deploymentId"], first[0].as_str());
    let http = a.call("GET", "/v2/apis", None).await.unwrap();
    assert!(
        http["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["apiId"] == "web" && x["tags"]["archway:managed-by"] == "FILE"),
        "{http}"
    );
    let r = invoke(&p, "pets", "/prod/ping").await;
    assert_eq!(r.json()["v"], "one", "{}", r.text());
    assert_eq!(r.json()["c"], "red");
    assert_eq!(invoke(&p, "web", "/hello").await.json()["web"], true);

    // The admin API reads the file's APIs but does not write them.
    let r = a
        .send(
            "POST",
            "/restapis/pets/deployments",
            Some(&serde_json::json!({})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), Some("BadRequestException"));
    assert!(
        r.error_text().contains("managed by FILE"),
        "{}",
        r.error_text()
    );
    assert_eq!(deployment_ids(&a).await, first);

    // A new definition in the file: a new deployment, which the stage serves.
    std::fs::write(&file, config("two", true)).unwrap();
    until("the second deployment", || async {
        deployment_ids(&a).await.len() == 2
    })
    .await;
    let second = prod_deployment(&a).await;
    assert_ne!(second, first[0]);
    assert!(deployment_ids(&a).await.contains(&second));
    until("the new definition served", || async {
        invoke(&p, "pets", "/prod/ping").await.json()["v"] == "two"
    })
    .await;

    // An API removed from the file is removed.
    std::fs::write(&file, config("two", false)).unwrap();
    until("web deleted", || async {
        a.send("GET", "/v2/apis/web", None).await.unwrap().status == 404
    })
    .await;
    until("web no longer served", || async {
        invoke(&p, "web", "/hello").await.status != 200
    })
    .await;

    // An invalid file changes nothing: the store revision stays, the old config serves.
    let rev = revision(&data);
    let failed = count(&p, "reload failed");
    std::fs::write(&file, "apis:\n  - name: pets\n    protocol: NOPE\n").unwrap();
    p.wait_for("reload failed", failed + 1, Duration::from_secs(10));
    assert_eq!(revision(&data), rev);
    assert_eq!(invoke(&p, "pets", "/prod/ping").await.json()["v"], "two");
    assert_eq!(deployment_ids(&a).await.len(), 2);

    // The same file again applies nothing.
    let reloaded = count(&p, "archway: reloaded");
    std::fs::write(&file, config("two", false)).unwrap();
    p.wait_for("archway: reloaded", reloaded + 1, Duration::from_secs(10));
    assert_eq!(revision(&data), rev);

    // A restart with the same file deploys nothing and writes nothing.
    p.signal("TERM");
    assert!(p.child.wait().unwrap().success());
    let deployments = {
        let store = archway_store::SqliteStore::open(&data).unwrap();
        store.list("deployment", "pets").unwrap().len()
    };
    assert_eq!(deployments, 2);
    let p = serve(&file, &data);
    let a = admin(&p, &data);
    assert_eq!(revision(&data), rev);
    assert_eq!(deployment_ids(&a).await.len(), 2);
    assert_eq!(prod_deployment(&a).await, second);
    assert_eq!(invoke(&p, "pets", "/prod/ping").await.json()["v"], "two");
}
