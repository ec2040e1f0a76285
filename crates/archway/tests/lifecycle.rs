//! The binary's lifecycle: validate, reload on SIGHUP and on file change (an invalid config
//! keeps the old one serving), drain on SIGTERM, zero failed requests under load across both,
//! bounded memory for a 50 MB streamed response, and the access log.

use archway_testkit::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_archway");

fn config(up: &Upstream, marker: &str) -> String {
    with_upstream(
        &format!(
            r#"apis:
  - name: api
    protocol: REST
    stages:
      prod:
        variables: {{ up: '{{UPSTREAM}}' }}
    routes:
      GET /ping:
        integration:
          type: MOCK
          responses: {{ default: {{ statusCode: "200", responseTemplates: {{ application/json: '{{"v": "{marker}"}}' }} }} }}
      ANY /up/{{proxy+}}:
        integration: {{ type: HTTP_PROXY, uri: "http://${{stageVariables.up}}/{{proxy}}" }}
"#
        ),
        up,
    )
}

#[test]
fn validate_prints_every_problem_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archway.yaml");
    std::fs::write(
        &file,
        r#"apis:
  - name: a
    protocol: GRPC
    colour: blue
    routes:
      FETCH /x:
        integration: { type: MOCK }
      GET /y:
        integration: { type: HTTP_PROXY, timeoutInMillis: 10 }
    stages: { prod: {} }
server:
  idlePollMicros: 5000
"#,
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let f = file.display().to_string();
    for want in [
        format!("{f}:3:15: apis[0].protocol: expected `REST` or `HTTP`, found `GRPC`"),
        format!("{f}:4:5: apis[0].colour: unknown field `colour`"),
        format!("{f}:6:7: apis[0].routes[\"FETCH /x\"]: route key `FETCH /x`: unknown method `FETCH`"),
        format!("{f}:9:22: apis[0].routes[\"GET /y\"].integration.uri: `uri` is required"),
        format!("{f}:9:59: apis[0].routes[\"GET /y\"].integration.timeoutInMillis: must be at least 50 milliseconds"),
        format!("{f}:12:19: server.idlePollMicros: must be between 0 and 1000 microseconds"),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    let ok = std::process::Command::new(BIN)
        .arg("validate")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/petstore/archway.yaml"
        ))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_on_sighup_and_file_change_and_keeps_serving_on_bad_config() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archway.yaml");
    std::fs::write(&file, config(&up, "one")).unwrap();
    let data = dir.path().join("data");
    let p = Process::spawn(
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
    );
    assert!(
        data.is_dir(),
        "the data directory is created on first start"
    );
    let c = client();
    assert_eq!(get(&c, &p.url("/prod/ping")).await.json()["v"], "one");

    // A change to the file is picked up without a signal.
    std::fs::write(&file, config(&up, "two")).unwrap();
    p.wait_for("archway: reloaded", 1, Duration::from_secs(10));
    assert_eq!(get(&c, &p.url("/prod/ping")).await.json()["v"], "two");

    // An invalid file is reported; the old config keeps serving.
    std::fs::write(&file, "apis:\n  - name: broken\n    protocol: NOPE\n").unwrap();
    p.wait_for("reload failed", 1, Duration::from_secs(10));
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains("protocol") && l.contains("NOPE")),
        "{:?}",
        p.stderr()
    );
    assert_eq!(get(&c, &p.url("/prod/ping")).await.json()["v"], "two");

    // SIGHUP reloads too.
    std::fs::write(&file, config(&up, "three")).unwrap();
    p.wait_for("archway: reloaded", 2, Duration::from_secs(10));
    p.signal("HUP");
    p.wait_for("archway: reloaded", 3, Duration::from_secs(10));
    assert_eq!(get(&c, &p.url("/prod/ping")).await.json()["v"], "three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_failed_requests_across_reloads_and_drain() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archway.yaml");
    std::fs::write(&file, config(&up, "a")).unwrap();
    let mut p = Process::spawn(
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
            dir.path().join("d").to_str().unwrap(),
            "--workers",
            "2",
        ],
    );

    // Steady load: 8 clients in a loop until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (stop, ok, failed, url) = (
            stop.clone(),
            ok.clone(),
            failed.clone(),
            p.url("/prod/up/steady"),
        );
        tasks.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                let r = c
                    .request(http::Request::get(&url).body(Default::default()).unwrap())
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        std::fs::write(&file, config(&up, &format!("r{i}"))).unwrap();
        p.signal("HUP");
    }
    p.wait_for("archway: reloaded", 5, Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        ok.load(Ordering::Relaxed) > 100,
        "load ran: {}",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed across reloads"
    );

    // Drain: requests in flight when SIGTERM arrives all complete.
    let mut slow = Vec::new();
    for _ in 0..6 {
        let url = p.url("/prod/up/slow/700");
        slow.push(tokio::spawn(
            async move { get(&client(), &url).await.status },
        ));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while up.seen().iter().filter(|s| s.uri.contains("slow")).count() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "slow requests reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.signal("TERM");
    for s in slow {
        assert_eq!(
            s.await.unwrap(),
            200,
            "an in-flight request finished during the drain"
        );
    }
    let status = tokio::task::spawn_blocking(move || p.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exits cleanly after draining: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_50_mb_with_bounded_memory_and_logs_each_request() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archway.yaml");
    let log = dir.path().join("access.log");
    std::fs::write(
        &file,
        format!(
            "accessLog: {{ destination: access.log }}\n{}",
            config(&up, "m")
        ),
    )
    .unwrap();
    let p = Process::spawn(
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
            dir.path().join("d").to_str().unwrap(),
            "--workers",
            "1",
        ],
    );
    let c = client();
    assert_eq!(get(&c, &p.url("/prod/ping")).await.status, 200);
    let before = p.peak_rss_kib();

    // 50 MiB streamed through, read by the client in chunks: chunked (copied through the
    // gateway), then with a Content-Length (spliced socket to socket, `splice.rs`).
    for url in ["/prod/up/stream/50", "/prod/up/stream/50?length"] {
        let resp = c
            .request(
                http::Request::get(p.url(url))
                    .body(Default::default())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let mut total = 0usize;
        use http_body_util::BodyExt;
        while let Some(frame) = body.frame().await {
            if let Ok(d) = frame.unwrap().into_data() {
                assert!(d.iter().all(|&b| b == b'x'), "{url}: body bytes changed");
                total += d.len();
            }
        }
        assert_eq!(total, 50 * 1024 * 1024, "{url}");
        let after = p.peak_rss_kib();
        let grew_mib = after.saturating_sub(before) / 1024;
        assert!(grew_mib < 16, "{url}: peak memory grew {grew_mib} MiB for a 50 MiB response (before {before} KiB, after {after} KiB)");
    }

    // The access log has one JSON line per request, with the documented fields.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        if lines.len() >= 3 || std::time::Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(lines.len(), 3, "{lines:?}");
    for key in [
        "requestId",
        "ip",
        "requestTime",
        "httpMethod",
        "routeKey",
        "path",
        "status",
        "protocol",
        "responseLength",
        "integrationLatency",
        "latency",
    ] {
        assert!(lines[1].get(key).is_some(), "{key} in {}", lines[1]);
    }
    assert_eq!(lines[0]["routeKey"], "GET /ping");
    assert_eq!(lines[0]["integrationLatency"], serde_json::Value::Null);
    assert_eq!(lines[1]["routeKey"], "ANY /up/{proxy+}");
    assert_eq!(lines[1]["path"], "/up/stream/50");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["responseLength"], 50 * 1024 * 1024);
    assert_eq!(lines[1]["ip"], "127.0.0.1");
    assert!(lines[1]["integrationLatency"].is_u64());
    // Spliced bytes count as copied ones do.
    assert_eq!(lines[2]["path"], "/up/stream/50");
    assert_eq!(lines[2]["responseLength"], 50 * 1024 * 1024);
}
