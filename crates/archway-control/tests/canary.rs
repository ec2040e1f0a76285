//! Canary releases in the data plane: a stage with canary settings serves the canary deployment
//! (with its stage variable overrides) for `percentTraffic` % of requests chosen at random, the
//! access log says which deployment served each request, and AWS's promotion works.

mod common;

use archway_model::{AccessLogDestination, Model, Settings, Throttle};
use common::{mock_api, Harness};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

async fn deploy(h: &Harness, id: &str, body: Value) -> String {
    let r = h
        .call("POST", &format!("/restapis/{id}/deployments"), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// Sends `n` requests (16 at a time) and counts the responses by `(v, color)`.
async fn tally(h: &Harness, id: &str, n: usize) -> HashMap<(String, String), usize> {
    let c = archway_testkit::client();
    let host = format!("{id}.execute-api.localhost");
    let url = format!("http://{}/prod/ping", h.gateway_addr);
    let counts = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (c, host, url, counts, next) = (
            c.clone(),
            host.clone(),
            url.clone(),
            counts.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let req = http::Request::get(&url)
                    .header("host", &host)
                    .body(http_body_util::Full::default())
                    .unwrap();
                let r = archway_testkit::send(&c, req).await;
                assert_eq!(r.status, 200, "{}", r.text());
                let j = r.json();
                let key = (
                    j["v"].as_str().unwrap().to_string(),
                    j["color"].as_str().unwrap().to_string(),
                );
                *counts.lock().unwrap().entry(key).or_insert(0) += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let out = counts.lock().unwrap().clone();
    out
}

fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_takes_its_share_with_overrides_and_promotes() {
    let h = Harness::start_with(|dir| Model {
        access_log: Some(AccessLogDestination::File(dir.join("access.log"))),
        // 20,000 requests as fast as the test can send them: above AWS's default account
        // throttle (10,000 requests/s), which is not what this test measures.
        settings: Settings {
            account_throttle: Throttle {
                rate_limit: 1e9,
                burst_limit: 1_000_000_000,
            },
            ..Settings::default()
        },
        ..Model::default()
    })
    .await;
    let log = h.dir.path().join("access.log");
    let r = h
        .call_text(
            "POST",
            "/restapis?mode=import",
            &mock_api("canaried", "base"),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let base = deploy(
        &h,
        &id,
        json!({"stageName": "prod", "variables": {"color": "blue"}}),
    )
    .await;

    // The next version goes out as a 10 % canary that sees color=green.
    let r = h
        .call_text(
            "PUT",
            &format!("/restapis/{id}?mode=overwrite"),
            &mock_api("canaried", "next"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let next = deploy(
        &h,
        &id,
        json!({"stageName": "prod", "canarySettings": {"percentTraffic": 10.0, "stageVariableOverrides": {"color": "green"}}}),
    )
    .await;
    let r = h
        .call("GET", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    let st = r.json();
    assert_eq!(st["deploymentId"], base.as_str());
    assert_eq!(st["canarySettings"]["deploymentId"], next.as_str());
    assert_eq!(st["canarySettings"]["percentTraffic"], 10.0);

    let n = 20_000;
    let counts = tally(&h, &id, n).await;
    let canary = counts
        .get(&("next".into(), "green".into()))
        .copied()
        .unwrap_or(0);
    let main = counts
        .get(&("base".into(), "blue".into()))
        .copied()
        .unwrap_or(0);
    assert_eq!(
        canary + main,
        n,
        "only the two expected answers: {counts:?}"
    );
    let pct = canary as f64 * 100.0 / n as f64;
    assert!(
        (8.5..=11.5).contains(&pct),
        "canary share {pct:.2} % ({counts:?})"
    );

    // The access log names the deployment and whether the canary served.
    let lines = wait_for_lines(&log, n).await;
    let logged_canary = lines.iter().filter(|l| l["canary"] == true).count();
    assert_eq!(logged_canary, canary);
    assert!(lines
        .iter()
        .filter(|l| l["canary"] == true)
        .all(|l| l["deploymentId"] == next.as_str()));
    assert!(lines
        .iter()
        .filter(|l| l["canary"] == false)
        .all(|l| l["deploymentId"] == base.as_str()));

    // Percent changes apply at once.
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/prod"),
            Some(json!({"patchOperations": [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let counts = tally(&h, &id, 200).await;
    assert_eq!(counts.get(&("next".into(), "green".into())), Some(&200));

    // Promotion, as AWS documents it: the canary's deployment becomes the stage's, then the
    // canary settings go.
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/prod"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/deploymentId", "value": next},
                {"op": "remove", "path": "/canarySettings"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert!(r.json().get("canarySettings").is_none());
    assert_eq!(r.json()["deploymentId"], next.as_str());
    let counts = tally(&h, &id, 500).await;
    assert_eq!(
        counts.get(&("next".into(), "blue".into())),
        Some(&500),
        "{counts:?}"
    );

    // The copy form of promotion works too (overrides become the stage's variables).
    let newer = deploy(
        &h,
        &id,
        json!({"stageName": "prod", "canarySettings": {"percentTraffic": 0.0, "stageVariableOverrides": {"color": "red"}}}),
    )
    .await;
    let counts = tally(&h, &id, 200).await;
    assert_eq!(
        counts.get(&("next".into(), "blue".into())),
        Some(&200),
        "0 %: {counts:?}"
    );
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/prod"),
            Some(json!({"patchOperations": [
                {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
                {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
                {"op": "remove", "path": "/canarySettings"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["deploymentId"], newer.as_str());
    assert_eq!(r.json()["variables"]["color"], "red");

    // The deployment no stage uses any more can go; one a canary uses cannot.
    let r = h
        .call(
            "DELETE",
            &format!("/restapis/{id}/deployments/{base}"),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.error_text());
}

#[tokio::test]
async fn canary_settings_are_validated() {
    let h = Harness::start().await;
    let r = h
        .call_text("POST", "/restapis?mode=import", &mock_api("v", "x"))
        .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let dep = deploy(
        &h,
        &id,
        json!({"stageName": "prod", "variables": {"color": "c"}}),
    )
    .await;
    for bad in [
        json!({"patchOperations": [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "101"}]}),
        json!({"patchOperations": [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "ten"}]}),
        json!({"patchOperations": [{"op": "replace", "path": "/canarySettings/deploymentId", "value": "nope"}]}),
        json!({"patchOperations": [{"op": "replace", "path": "/deploymentId", "value": "nope"}]}),
        json!({"patchOperations": [{"op": "jump", "path": "/deploymentId", "value": "x"}]}),
    ] {
        let r = h
            .call(
                "PATCH",
                &format!("/restapis/{id}/stages/prod"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.error_text());
    }
    let r = h
        .call("GET", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert!(r.json().get("canarySettings").is_none());
    assert_eq!(r.json()["deploymentId"], dep.as_str());
    // A canary deployment for a stage that does not exist.
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "nostage", "canarySettings": {"percentTraffic": 5.0}})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.error_text());
    // A stage whose deployment needs a variable it lacks is refused, not served broken.
    let doc = json!({
        "openapi": "3.0.1", "info": {"title": "needs-var"},
        "paths": {"/x": {"get": {"x-amazon-apigateway-integration": {
            "type": "http_proxy", "httpMethod": "GET", "uri": "http://${stageVariables.up}/x"}}}}
    });
    let r = h
        .call_text(
            "PUT",
            &format!("/restapis/{id}?mode=overwrite"),
            &doc.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "novar"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.error_text());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("stage variable `up` is not defined"));
    let r = h
        .call("GET", &format!("/restapis/{id}/deployments"), None)
        .await;
    assert_eq!(
        r.json()["item"].as_array().unwrap().len(),
        1,
        "nothing was written"
    );
}

async fn wait_for_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lines = log_lines(path);
        if lines.len() >= n || std::time::Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
