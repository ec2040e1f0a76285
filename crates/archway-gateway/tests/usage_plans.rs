//! API keys, usage plans, throttling and quotas from `archway.yaml`, through real sockets:
//! 403 without a valid key, 429 `Too Many Requests` from each throttle level, 429
//! `Limit Exceeded` when the quota is spent, the token bucket's accuracy at twice its rate,
//! and an exact quota under 64 concurrent clients.

use archway_testkit::*;
use http::Request;
use http_body_util::Full;
use std::time::{Duration, Instant};

const KEY_A: &str = "alice-key-0123456789abcdef";
const KEY_B: &str = "bob-key-0123456789abcdefgh";
const KEY_OFF: &str = "disabled-key-0123456789abc";
const KEY_DEV: &str = "dev-only-key-0123456789abc";

const MOCK: &str = r#"
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"ok": true}' } } }"#;

/// One REST API `api` with stages `prod` and `dev`; `/keyed` and `/other` need a key, `/open`
/// does not. `server`, `prod` and `plans` are spliced in.
fn config(server: &str, prod: &str, plans: &str) -> String {
    format!(
        r#"server:
{server}
apis:
  - name: api
    protocol: REST
    routes:
      GET /keyed:
        apiKeyRequired: true{MOCK}
      GET /other:
        apiKeyRequired: true{MOCK}
      GET /open:{MOCK}
    stages:
      prod:
{prod}
      dev: {{}}
apiKeys:
  - {{ name: alice, value: {KEY_A} }}
  - {{ name: bob, value: {KEY_B} }}
  - {{ name: off, value: {KEY_OFF}, enabled: false }}
  - {{ name: devkey, value: {KEY_DEV} }}
usagePlans:
{plans}
"#
    )
}

fn plain_plan(extra: &str) -> String {
    format!(
        "  - name: gold\n    apiStages: [{{ api: api, stage: prod }}]\n    apiKeys: [alice, bob, off]\n{extra}  - name: devplan\n    apiStages: [{{ api: api, stage: dev }}]\n    apiKeys: [devkey]\n"
    )
}

async fn call(c: &Client, gw: &TestGateway, path: &str, key: Option<&str>) -> Reply {
    let mut req = Request::get(gw.url(path));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    send(c, req.body(Full::default()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_with_api_key_required_needs_a_valid_enabled_key_of_a_plan_of_the_stage() {
    let gw = TestGateway::start(&config(
        "  workers: 1",
        "        variables: {}",
        &plain_plan(""),
    ));
    let c = client();
    for key in [
        None,
        Some("not-a-key-0123456789abcdef"),
        Some(KEY_OFF),
        Some(KEY_DEV),
    ] {
        let r = call(&c, &gw, "/prod/keyed", key).await;
        assert_eq!(r.status, 403, "{key:?}");
        assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
        assert_eq!(r.header("x-amzn-errortype"), Some("ForbiddenException"));
    }
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_B)).await.status, 200);
    // The dev key's plan has the dev stage only.
    assert_eq!(call(&c, &gw, "/dev/keyed", Some(KEY_DEV)).await.status, 200);
    assert_eq!(call(&c, &gw, "/dev/keyed", Some(KEY_A)).await.status, 403);
    // A method without the requirement needs no key.
    assert_eq!(call(&c, &gw, "/prod/open", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_source_authorizer_fails_closed() {
    let yaml = config("  workers: 1", "        variables: {}", &plain_plan("")).replace(
        "    protocol: REST\n",
        "    protocol: REST\n    apiKeySource: AUTHORIZER\n",
    );
    let gw = TestGateway::start(&yaml);
    let r = call(&client(), &gw, "/prod/keyed", Some(KEY_A)).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_throttle_is_per_key_and_answers_429() {
    let plans = plain_plan("    throttle: { rateLimit: 0.5, burstLimit: 3 }\n");
    let gw = TestGateway::start(&config("  workers: 1", "        variables: {}", &plans));
    let c = client();
    for _ in 0..3 {
        assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    }
    let r = call(&c, &gw, "/prod/keyed", Some(KEY_A)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    // The plan's throttle covers every method of the key, and each key has its own bucket.
    assert_eq!(call(&c, &gw, "/prod/other", Some(KEY_A)).await.status, 429);
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_B)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_per_method_throttle_overrides_the_plan_throttle() {
    let plans = "  - name: gold\n    apiStages:\n      - api: api\n        stage: prod\n        throttle: { /other/GET: { rateLimit: 0.5, burstLimit: 5 } }\n    throttle: { rateLimit: 0.5, burstLimit: 1 }\n    apiKeys: [alice]\n";
    let gw = TestGateway::start(&config("  workers: 1", "        variables: {}", plans));
    let c = client();
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 429);
    for _ in 0..5 {
        assert_eq!(call(&c, &gw, "/prod/other", Some(KEY_A)).await.status, 200);
    }
    assert_eq!(call(&c, &gw, "/prod/other", Some(KEY_A)).await.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_exhausted_answers_429_limit_exceeded() {
    let plans = plain_plan("    quota: { limit: 5, period: DAY }\n");
    let gw = TestGateway::start(&config("  workers: 1", "        variables: {}", &plans));
    let c = client();
    for _ in 0..5 {
        assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    }
    let r = call(&c, &gw, "/prod/other", Some(KEY_A)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));
    // Bob's quota is his own.
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_B)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_method_settings_throttle_each_method() {
    let prod = "        methodSettings:\n          '*/*': { throttlingRateLimit: 0.5, throttlingBurstLimit: 2 }\n          /open/GET: { throttlingRateLimit: 0.5, throttlingBurstLimit: 4 }";
    let gw = TestGateway::start(&config("  workers: 1", prod, &plain_plan("")));
    let c = client();
    for _ in 0..2 {
        assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    }
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 429);
    // `*/*` applies to each method separately; /open has its own setting.
    assert_eq!(call(&c, &gw, "/prod/other", Some(KEY_A)).await.status, 200);
    for _ in 0..4 {
        assert_eq!(call(&c, &gw, "/prod/open", None).await.status, 200);
    }
    assert_eq!(call(&c, &gw, "/prod/open", None).await.status, 429);
    // The dev stage has no method settings.
    for _ in 0..5 {
        assert_eq!(call(&c, &gw, "/dev/open", None).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_throttle_covers_every_api_and_stage() {
    let server = "  workers: 1\n  throttle: { rateLimit: 0.5, burstLimit: 3 }";
    let gw = TestGateway::start(&config(server, "        variables: {}", &plain_plan("")));
    let c = client();
    assert_eq!(call(&c, &gw, "/prod/open", None).await.status, 200);
    assert_eq!(call(&c, &gw, "/dev/open", None).await.status, 200);
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    let r = call(&c, &gw, "/dev/open", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_and_quotas_survive_a_snapshot_swap() {
    let plans = plain_plan("    quota: { limit: 4, period: MONTH }\n");
    let yaml = config("  workers: 1", "        variables: {}", &plans);
    let gw = TestGateway::start(&yaml);
    let c = client();
    for _ in 0..3 {
        assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    }
    let (model, _) =
        archway_model::validate::load_config_str("t.yaml", &yaml, std::path::Path::new("."))
            .into_result()
            .unwrap();
    gw.gateway
        .swap(archway_gateway::Snapshot::compile(&model).unwrap());
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 200);
    assert_eq!(call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status, 429);
}

/// New limits for a plan's throttle start a full bucket; the same limits keep the bucket's
/// state across the swap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_throttle_changed_by_a_swap_starts_a_full_bucket() {
    let yaml = |burst: u32| {
        config(
            "  workers: 1",
            "        variables: {}",
            &plain_plan(&format!(
                "    throttle: {{ rateLimit: 0.01, burstLimit: {burst} }}\n"
            )),
        )
    };
    let snapshot = |yaml: &str| {
        let (model, _) =
            archway_model::validate::load_config_str("t.yaml", yaml, std::path::Path::new("."))
                .into_result()
                .unwrap();
        archway_gateway::Snapshot::compile(&model).unwrap()
    };
    let gw = TestGateway::start(&yaml(2));
    let c = client();
    let statuses = |n: usize| {
        let (c, gw) = (&c, &gw);
        async move {
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(call(c, gw, "/prod/keyed", Some(KEY_A)).await.status);
            }
            out
        }
    };
    assert_eq!(statuses(3).await, vec![200, 200, 429]);
    // The same limits: still empty.
    gw.gateway.swap(snapshot(&yaml(2)));
    assert_eq!(statuses(1).await, vec![429]);
    // New limits: a full bucket of the new burst.
    gw.gateway.swap(snapshot(&yaml(3)));
    assert_eq!(statuses(4).await, vec![200, 200, 200, 429]);
}

/// `$context.identity.apiKey` and `$context.identity.apiKeyId` in a mapping template: the key
/// the request was admitted with, and nothing on a method that requires none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapping_templates_see_the_api_key_and_its_id() {
    let whoami = r#"
        integration:
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"key":"$context.identity.apiKey","id":"$context.identity.apiKeyId"}' } } }"#;
    let yaml = format!(
        r#"server:
  workers: 1
apis:
  - name: api
    protocol: REST
    routes:
      GET /keyed:
        apiKeyRequired: true{whoami}
      GET /open:{whoami}
    stages: {{ prod: {{}} }}
apiKeys:
  - {{ name: alice, id: alice-key-id, value: {KEY_A} }}
  - {{ name: bob, id: bob-key-id, value: {KEY_B} }}
usagePlans:
  - name: gold
    apiStages: [{{ api: api, stage: prod }}]
    apiKeys: [alice, bob]
"#
    );
    let gw = TestGateway::start(&yaml);
    let c = client();
    for (key, id) in [(KEY_A, "alice-key-id"), (KEY_B, "bob-key-id")] {
        let r = call(&c, &gw, "/prod/keyed", Some(key)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), serde_json::json!({"key": key, "id": id}));
    }
    // Not required: not given, even when the request carries one.
    let r = call(&c, &gw, "/prod/open", Some(KEY_A)).await;
    assert_eq!(r.json(), serde_json::json!({"key": "", "id": ""}));
}

/// Driven at twice its rate for 10 s, a 100 requests/s bucket with a burst of 50 accepts
/// 100 × 10 + 50 requests, within 3 %.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_accuracy_at_twice_the_rate() {
    let plans = plain_plan("    throttle: { rateLimit: 100, burstLimit: 50 }\n");
    let gw = std::sync::Arc::new(TestGateway::start(&config(
        "  workers: 2",
        "        variables: {}",
        &plans,
    )));
    let c = client();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let started = Instant::now();
    let mut tasks = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        tick.tick().await;
        let (c, gw) = (c.clone(), gw.clone());
        tasks.push(tokio::spawn(async move {
            call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status
        }));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut accepted = 0u32;
    let mut throttled = 0u32;
    for t in tasks {
        match t.await.unwrap() {
            200 => accepted += 1,
            429 => throttled += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    let expected = 100.0 * elapsed + 50.0;
    let error = (accepted as f64 - expected).abs() / expected;
    assert!(
        error <= 0.03,
        "accepted {accepted} (throttled {throttled}) in {elapsed:.2} s, expected {expected:.0} ± 3 %"
    );
    assert!(throttled as f64 > 0.4 * (accepted + throttled) as f64);
}

/// 64 clients at once against a quota of 500: exactly 500 get through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_exact_under_64_concurrent_clients() {
    let plans = plain_plan("    quota: { limit: 500, period: WEEK, offset: 1 }\n");
    let gw = std::sync::Arc::new(TestGateway::start(&config(
        "  workers: 2",
        "        variables: {}",
        &plans,
    )));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut counts = (0u32, 0u32);
            for _ in 0..12 {
                match call(&c, &gw, "/prod/keyed", Some(KEY_A)).await.status {
                    200 => counts.0 += 1,
                    429 => counts.1 += 1,
                    other => panic!("unexpected status {other}"),
                }
            }
            counts
        }));
    }
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        let (a, b) = t.await.unwrap();
        ok += a;
        limited += b;
    }
    assert_eq!(ok, 500);
    assert_eq!(limited, 64 * 12 - 500);
}

#[test]
fn bad_limits_and_unknown_stages_are_refused_with_their_place() {
    let cases = [
        (plain_plan("    throttle: { rateLimit: -1, burstLimit: 3 }\n"), "rateLimit must be between 0"),
        (plain_plan("    throttle: { rateLimit: 1e12, burstLimit: 3 }\n"), "rateLimit must be between 0"),
        (plain_plan("    quota: { limit: 5, period: WEEK, offset: 9 }\n"), "offset for period WEEK"),
        (plain_plan("    quota: { limit: 5, period: YEAR }\n"), "expected DAY, WEEK or MONTH"),
        (
            "  - name: p\n    apiStages: [{ api: api, stage: nope }]\n".to_string(),
            "API `api` has no stage `nope`",
        ),
        (
            "  - name: p\n    apiStages: [{ api: api, stage: prod }]\n    apiKeys: [alice]\n  - name: q\n    apiStages: [{ api: api, stage: prod }]\n    apiKeys: [alice]\n".to_string(),
            "a key may reach a stage through one plan only",
        ),
    ];
    for (plans, want) in cases {
        let yaml = config("  workers: 1", "        variables: {}", &plans);
        let loaded =
            archway_model::validate::load_config_str("t.yaml", &yaml, std::path::Path::new("."));
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{want}: {errors:?}"
        );
    }
    // A duplicate or short key value is refused, and the message never shows the value.
    let yaml = config("  workers: 1", "        variables: {}", &plain_plan(""))
        .replace(&format!("value: {KEY_B}"), &format!("value: {KEY_A}"))
        .replace(&format!("value: {KEY_DEV}"), "value: short");
    let loaded =
        archway_model::validate::load_config_str("t.yaml", &yaml, std::path::Path::new("."));
    let errors: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("has the value of another key")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("at least 20")),
        "{errors:?}"
    );
    assert!(!errors.iter().any(|e| e.contains(KEY_A)), "{errors:?}");
}
