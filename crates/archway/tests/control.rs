//! The control plane in the real binary: the admin key (generated once, kept 0600, reused;
//! or from the environment, never logged), changes reaching the data plane within a second
//! with no failed request under load, and no acknowledged admin write lost to `kill -9`.

use archway_aws::sigv4::Credentials;
use archway_control::client::AdminClient;
use archway_testkit::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_archway");

fn serve(data: &Path) -> Process {
    Process::spawn(
        BIN,
        &[
            "serve",
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

fn admin_addr(p: &Process) -> SocketAddr {
    p.wait_for("archway: admin API on ", 1, Duration::from_secs(20));
    p.stderr()
        .iter()
        .find_map(|l| l.strip_prefix("archway: admin API on "))
        .expect("admin line")
        .parse()
        .expect("admin address")
}

fn admin(p: &Process, data: &Path) -> AdminClient {
    let creds = archway_control::credentials::read(data)
        .unwrap()
        .expect("credentials file");
    AdminClient::new(&admin_addr(p).to_string(), creds).unwrap()
}

fn mock_doc(marker: &str) -> String {
    json!({
        "openapi": "3.0.1",
        "info": { "title": "live", "version": "1" },
        "paths": { "/ping": { "get": { "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": { "application/json": "{\"statusCode\": 200}" },
            "responses": { "default": { "statusCode": "200",
                "responseTemplates": { "application/json": format!("{{\"v\": \"{marker}\"}}") } } }
        } } } }
    })
    .to_string()
}

async fn import(a: &AdminClient, marker: &str) -> String {
    let r = a
        .send_body("POST", "/restapis?mode=import", mock_doc(marker))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.error_text());
    r.json()["id"].as_str().unwrap().to_string()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn admin_key_is_generated_once_kept_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = serve(&data);
    let file = archway_control::credentials::path(&data);
    let creds = archway_control::credentials::read(&data).unwrap().unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let lines = p.stderr().join("\n");
    assert!(lines.contains("generated an admin key"));
    assert_eq!(
        lines.matches(&creds.secret_access_key).count(),
        1,
        "shown once"
    );
    let a = admin(&p, &data);
    let r = a.send("GET", "/restapis", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.error_text());
    // Unsigned and wrongly signed requests are refused.
    let now = time::OffsetDateTime::now_utc();
    let r = a
        .send_raw("GET", "/restapis", Default::default(), now, None)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let wrong = Credentials::new(creds.access_key_id.clone(), "wrong");
    let r = a
        .send_raw("GET", "/restapis", Default::default(), now, Some(&wrong))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.error_type(), Some("InvalidSignatureException"));
    // The client listener has no route to the admin API, signed or not.
    let gw = AdminClient::new(&p.addr.to_string(), creds.clone()).unwrap();
    let r = gw.send("GET", "/restapis", None).await.unwrap();
    assert!(r.status == 403 || r.status == 404, "{}", r.status);
    assert!(r.json().get("item").is_none());
    drop(p);

    // The next start reuses the key and does not print it.
    let p = serve(&data);
    admin_addr(&p);
    assert!(!p.stderr().join("\n").contains(&creds.secret_access_key));
    let r = admin(&p, &data)
        .send("GET", "/restapis", None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        archway_control::credentials::read(&data).unwrap().unwrap(),
        creds
    );
}

#[tokio::test]
async fn admin_key_from_the_environment_is_stored_and_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let secret = "env-secret-0123456789abcdefghijklmnopqrs";
    let p = Process::spawn(
        "env",
        &[
            "ARCHWAY_ADMIN_ACCESS_KEY_ID=AKIAENVTESTKEY000001",
            &format!("ARCHWAY_ADMIN_SECRET_ACCESS_KEY={secret}"),
            "ARCHWAY_LOG=debug",
            BIN,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    let addr = admin_addr(&p);
    let creds = Credentials::new("AKIAENVTESTKEY000001", secret);
    let a = AdminClient::new(&addr.to_string(), creds.clone()).unwrap();
    let r = a.send("GET", "/restapis", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.error_text());
    let r = a
        .send_raw(
            "GET",
            "/restapis",
            Default::default(),
            time::OffsetDateTime::now_utc() + time::Duration::minutes(16),
            Some(&creds),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403, "a date 16 minutes ahead is refused");
    #[cfg(unix)]
    assert_eq!(mode(&archway_control::credentials::path(&data)), 0o600);
    assert_eq!(
        archway_control::credentials::read(&data).unwrap(),
        Some(creds)
    );
    let logged = p.stderr().join("\n");
    assert!(!logged.contains(secret), "the secret was logged:\n{logged}");
    assert!(!logged.contains("generated an admin key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deployments_go_live_within_a_second_with_no_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = serve(&data);
    let a = admin(&p, &data);
    let id = import(&a, "v0").await;
    let r = a
        .send(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(&json!({"stageName": "prod"})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.error_text());

    let url = p.url("/prod/ping");
    let host = format!("{id}.execute-api.localhost");
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (stop, ok, failed, url, host) = (
            stop.clone(),
            ok.clone(),
            failed.clone(),
            url.clone(),
            host.clone(),
        );
        load.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                let req = http::Request::get(&url)
                    .header("host", &host)
                    .body(Default::default())
                    .unwrap();
                match c.request(req).await {
                    Ok(resp) if resp.status() == 200 => {
                        let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(resp) => failed.lock().unwrap().push(format!("{}", resp.status())),
                    Err(e) => failed.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let c = client();
    for i in 1..=10 {
        let marker = format!("v{i}");
        let started = Instant::now();
        let r = a
            .send_body(
                "PUT",
                &format!("/restapis/{id}?mode=overwrite"),
                mock_doc(&marker),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.error_text());
        let r = a
            .send(
                "POST",
                &format!("/restapis/{id}/deployments"),
                Some(&json!({"stageName": "prod"})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.error_text());
        loop {
            let req = http::Request::get(&url)
                .header("host", &host)
                .body(Default::default())
                .unwrap();
            let got = send(&c, req).await;
            if got.status == 200 && got.json()["v"] == marker.as_str() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{marker} not served after 1 s"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(ok.load(Ordering::Relaxed) > 100);
}

/// A small deterministic generator for kill points (no clock-seeded randomness in tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, lo: usize, hi: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + ((self.0 >> 33) as usize) % (hi - lo)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_admin_write_is_lost_to_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = Lcg(0x5eed);
    // stage name → deployment id, for every acknowledged write.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    // Every acknowledged deployment, including those whose stage write was cut off.
    let acked_deps: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut api = String::new();
    for round in 0..4 {
        let mut p = serve(&data);
        let a = admin(&p, &data);
        if round == 0 {
            api = import(&a, "durable").await;
        } else {
            // Everything acknowledged before the last kill is there.
            let r = a
                .send("GET", &format!("/restapis/{api}/stages"), None)
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.error_text());
            let stages: Vec<(String, String)> = r.json()["item"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["stageName"].as_str().unwrap().to_string(),
                        s["deploymentId"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let deployments: Vec<Value> = a
                .send("GET", &format!("/restapis/{api}/deployments"), None)
                .await
                .unwrap()
                .json()["item"]
                .as_array()
                .unwrap()
                .clone();
            for dep in acked_deps.lock().unwrap().iter() {
                assert!(
                    deployments.iter().any(|d| d["id"] == dep.as_str()),
                    "round {round}: acknowledged deployment {dep} lost"
                );
            }
            for (name, dep) in acked.lock().unwrap().iter() {
                assert!(
                    stages.iter().any(|(n, d)| n == name && d == dep),
                    "round {round}: acknowledged stage {name} → {dep} lost"
                );
                assert!(deployments.iter().any(|d| d["id"] == dep.as_str()));
            }
            // And it is served.
            let last = acked.lock().unwrap().last().cloned();
            if let Some((name, _)) = last {
                let req = http::Request::get(p.url(&format!("/{name}/ping")))
                    .header("host", format!("{api}.execute-api.localhost"))
                    .body(Default::default())
                    .unwrap();
                assert_eq!(send(&client(), req).await.status, 200);
            }
        }
        let kill_after = rng.next(5, 30);
        let count = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (a, acked, acked_deps, count, api) = (
                a.clone(),
                acked.clone(),
                acked_deps.clone(),
                count.clone(),
                api.clone(),
            );
            tokio::spawn(async move {
                // Alternately: a deployment straight to a new stage (one write), and a
                // deployment followed by a CreateStage pointing at it (two writes).
                for i in 0.. {
                    let name = format!("r{round}s{i}");
                    let body = if i % 2 == 0 {
                        json!({"stageName": name})
                    } else {
                        json!({"description": format!("for {name}")})
                    };
                    let Ok(r) = a
                        .send("POST", &format!("/restapis/{api}/deployments"), Some(&body))
                        .await
                    else {
                        return; // the server is gone
                    };
                    if r.status != 201 {
                        return;
                    }
                    let dep = r.json()["id"].as_str().unwrap().to_string();
                    acked_deps.lock().unwrap().push(dep.clone());
                    if i % 2 == 1 {
                        let stage = json!({"stageName": name, "deploymentId": dep});
                        let Ok(r) = a
                            .send("POST", &format!("/restapis/{api}/stages"), Some(&stage))
                            .await
                        else {
                            return;
                        };
                        if r.status != 201 {
                            return;
                        }
                    }
                    acked.lock().unwrap().push((name, dep));
                    count.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while count.load(Ordering::SeqCst) < kill_after {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        p.signal("KILL");
        let _ = p.child.wait();
        let _ = writer.await;
    }
    assert!(acked.lock().unwrap().len() >= 20);
    assert!(acked_deps.lock().unwrap().len() >= acked.lock().unwrap().len());
}

fn cli(args: &[&str], endpoint: &str, data: &Path) -> (bool, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--endpoint", endpoint, "--data-dir", data.to_str().unwrap()]);
    let out = std::process::Command::new(BIN)
        .args(&all)
        .env_remove("ARCHWAY_ADMIN_ACCESS_KEY_ID")
        .env_remove("ARCHWAY_ADMIN_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lists_deploys_canaries_and_promotes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = serve(&data);
    let a = admin(&p, &data);
    let endpoint = format!("http://{}", admin_addr(&p));
    let id = import(&a, "one").await;

    let (ok, out, err) = cli(&["apis"], &endpoint, &data);
    assert!(ok, "{err}");
    assert!(out.starts_with("ID"), "{out}");
    assert!(out.contains(&id) && out.contains("live"), "{out}");
    let (ok, out, _) = cli(&["apis", "--json"], &endpoint, &data);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["item"][0]["id"], id.as_str());

    let (ok, out, err) = cli(
        &["deploy", "--api", &id, "--stage", "prod"],
        &endpoint,
        &data,
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("deployed "), "{out}");
    let (ok, out, _) = cli(&["stages", "--api", &id, "--json"], &endpoint, &data);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    let first = v["item"][0]["deploymentId"].as_str().unwrap().to_string();

    // The next version as a 25 % canary, then promoted.
    let r = a
        .send_body(
            "PUT",
            &format!("/restapis/{id}?mode=overwrite"),
            mock_doc("two"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (ok, out, err) = cli(
        &["canary", "--api", &id, "--stage", "prod", "--percent", "25"],
        &endpoint,
        &data,
    );
    assert!(ok, "{err}");
    assert!(out.contains("25% to canary deployment"), "{out}");
    let (ok, out, _) = cli(&["stages", "--api", &id], &endpoint, &data);
    assert!(ok);
    assert!(out.contains("25%") && out.contains(&first), "{out}");
    let (ok, _, err) = cli(
        &[
            "canary",
            "--api",
            &id,
            "--stage",
            "prod",
            "--percent",
            "100",
        ],
        &endpoint,
        &data,
    );
    assert!(ok, "{err}");
    let req = || {
        http::Request::get(p.url("/prod/ping"))
            .header("host", format!("{id}.execute-api.localhost"))
            .body(Default::default())
            .unwrap()
    };
    assert_eq!(send(&client(), req()).await.json()["v"], "two");
    let (ok, out, err) = cli(
        &["promote", "--api", &id, "--stage", "prod"],
        &endpoint,
        &data,
    );
    assert!(ok, "{err}");
    assert!(out.contains("now serves deployment"), "{out}");
    let (ok, out, _) = cli(&["stages", "--api", &id, "--json"], &endpoint, &data);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["item"][0].get("canarySettings").is_none());
    assert_ne!(v["item"][0]["deploymentId"], first.as_str());
    assert_eq!(send(&client(), req()).await.json()["v"], "two");

    // Errors are AWS's, and the exit status says so.
    let (ok, _, err) = cli(
        &["promote", "--api", &id, "--stage", "prod"],
        &endpoint,
        &data,
    );
    assert!(!ok);
    assert!(err.contains("no canary"), "{err}");
    let (ok, _, err) = cli(&["stages", "--api", "nope"], &endpoint, &data);
    assert!(!ok);
    assert!(
        err.contains("NotFoundException: Invalid API identifier specified 111111111111:nope"),
        "{err}"
    );
    let empty = dir.path().join("empty");
    let (ok, _, err) = cli(&["apis"], &endpoint, &empty);
    assert!(!ok);
    assert!(err.contains("no admin key"), "{err}");
}
