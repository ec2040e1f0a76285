//! API keys, usage plans, usage plan keys and usage through the admin API, in-process: AWS's
//! paths, shapes and errors; refused writes change nothing; what is written is enforced by
//! the data plane (403, 429 Too Many Requests, 429 Limit Exceeded) and reported by GetUsage.

mod common;

use common::Harness;
use serde_json::{json, Value};

/// An API whose `GET /ping` needs an API key, deployed to `prod` and `dev`. Returns its id.
async fn keyed_api(h: &Harness) -> String {
    let doc = json!({
        "openapi": "3.0.1",
        "info": { "title": "keyed", "version": "1" },
        "components": { "securitySchemes": { "api_key": { "type": "apiKey", "name": "x-api-key", "in": "header" } } },
        "paths": { "/ping": { "get": {
            "security": [{ "api_key": [] }],
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": { "application/json": "{\"statusCode\": 200}" },
                "responses": { "default": { "statusCode": "200" } }
            }
        } } }
    });
    let r = h
        .call_text("POST", "/restapis?mode=import", &doc.to_string())
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    for stage in ["prod", "dev"] {
        let r = h
            .call(
                "POST",
                &format!("/restapis/{id}/deployments"),
                Some(json!({ "stageName": stage })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.error_text());
    }
    id
}

async fn invoke_with(
    h: &Harness,
    api: &str,
    path: &str,
    key: Option<&str>,
) -> archway_testkit::Reply {
    let c = archway_testkit::client();
    let mut req = http::Request::get(format!("http://{}{path}", h.gateway_addr))
        .header("host", format!("{api}.execute-api.localhost"));
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    archway_testkit::send(&c, req.body(http_body_util::Full::default()).unwrap()).await
}

async fn count(h: &Harness, path: &str) -> usize {
    h.call("GET", path, None).await.json()["item"]
        .as_array()
        .map_or(0, Vec::len)
}

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

#[tokio::test]
async fn api_keys_are_created_read_updated_imported_and_deleted() {
    let h = Harness::start().await;
    // A generated value, returned at creation and with includeValue only.
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "gen", "enabled": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let gen = r.json();
    let gen_id = gen["id"].as_str().unwrap().to_string();
    assert_eq!(gen["value"].as_str().unwrap().len(), 40);
    assert_eq!(gen["enabled"], true);
    let r = h.call("GET", &format!("/apikeys/{gen_id}"), None).await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("value").is_none());
    let r = h
        .call("GET", &format!("/apikeys/{gen_id}?includeValue=true"), None)
        .await;
    assert_eq!(r.json()["value"], gen["value"]);

    // An imported value; AWS's default is disabled.
    let value = "imported-value-0123456789";
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "imp", "value": value})),
        )
        .await;
    assert_eq!(r.status, 201);
    let imp_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["enabled"], false);

    // Refused: a short value, a duplicate value. Nothing changes.
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "x", "value": "short"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), Some("BadRequestException"));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("at least 20"));
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "dup", "value": value})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_type(), Some("ConflictException"));
    assert!(!r.json()["message"].as_str().unwrap().contains(value));
    assert_eq!(count(&h, "/apikeys").await, 2);

    // Enable and disable.
    let patch =
        |v: &str| json!({"patchOperations": [{"op": "replace", "path": "/enabled", "value": v}]});
    let r = h
        .call("PATCH", &format!("/apikeys/{imp_id}"), Some(patch("true")))
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["enabled"], true);
    let r = h
        .call(
            "PATCH",
            &format!("/apikeys/{imp_id}"),
            Some(json!({"patchOperations": [{"op": "replace", "path": "/value", "value": "x"}]})),
        )
        .await;
    assert_eq!(r.status, 400);

    // CSV import, AWS's format.
    let csv = "Name,key,description,Enabled,usageplanIds\ncsv1,csv-value-one-0123456789,first,true,\ncsv2,csv-value-two-0123456789,,false,\n";
    let r = h
        .call_text("POST", "/apikeys?mode=import&format=csv", csv)
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let ids: Vec<String> = serde_json::from_value(r.json()["ids"].clone()).unwrap();
    assert_eq!(ids.len(), 2);
    let r = h
        .call(
            "GET",
            &format!("/apikeys/{}?includeValue=true", ids[0]),
            None,
        )
        .await;
    assert_eq!(r.json()["name"], "csv1");
    assert_eq!(r.json()["value"], "csv-value-one-0123456789");
    assert_eq!(r.json()["enabled"], true);
    assert_eq!(r.json()["description"], "first");
    let r = h.call("GET", "/apikeys?includeValues=true", None).await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 4);
    // A CSV whose second line repeats an existing value: nothing of it is imported.
    let csv = "Name,key,Enabled\nnew,another-value-0123456789,true\nagain,csv-value-two-0123456789,true\n";
    let r = h
        .call_text("POST", "/apikeys?mode=import&format=csv", csv)
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(count(&h, "/apikeys").await, 4);
    let r = h
        .call_text(
            "POST",
            "/apikeys?mode=import&format=csv",
            "Name,Enabled\nx,true\n",
        )
        .await;
    assert_eq!(r.status, 400);

    // Delete; the value is free again.
    let r = h.call("DELETE", &format!("/apikeys/{imp_id}"), None).await;
    assert_eq!(r.status, 202);
    assert_eq!(
        h.call("GET", &format!("/apikeys/{imp_id}"), None)
            .await
            .status,
        404
    );
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "again", "value": value})),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn usage_plans_are_enforced_reported_and_reset() {
    let h = Harness::start().await;
    let api = keyed_api(&h).await;
    let r = h
        .call(
            "POST",
            "/usageplans",
            Some(json!({
                "name": "gold",
                "apiStages": [{"apiId": api, "stage": "prod"}],
                "throttle": {"rateLimit": 100.0, "burstLimit": 100},
                "quota": {"limit": 5, "period": "DAY", "offset": 0}
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let plan = r.json();
    let plan_id = plan["id"].as_str().unwrap().to_string();
    assert_eq!(
        plan["quota"],
        json!({"limit": 5, "offset": 0, "period": "DAY"})
    );
    assert_eq!(
        plan["throttle"],
        json!({"burstLimit": 100, "rateLimit": 100.0})
    );
    assert_eq!(plan["apiStages"][0]["stage"], "prod");

    let value = "gold-customer-0123456789";
    let r = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "c", "value": value, "enabled": true})),
        )
        .await;
    let key_id = r.json()["id"].as_str().unwrap().to_string();

    // Not in a plan yet: 403.
    let r = invoke_with(&h, &api, "/prod/ping", Some(value)).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);

    let r = h
        .call(
            "POST",
            &format!("/usageplans/{plan_id}/keys"),
            Some(json!({"keyId": key_id, "keyType": "API_KEY"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(r.json()["value"], value);
    assert_eq!(r.json()["type"], "API_KEY");
    let r = h
        .call(
            "POST",
            &format!("/usageplans/{plan_id}/keys"),
            Some(json!({"keyId": key_id, "keyType": "API_KEY"})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(count(&h, &format!("/usageplans/{plan_id}/keys")).await, 1);
    let r = h
        .call("GET", &format!("/usageplans/{plan_id}/keys/{key_id}"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "c");

    // Served: no key 403, the dev stage is not in the plan, 5 calls then Limit Exceeded.
    assert_eq!(invoke_with(&h, &api, "/prod/ping", None).await.status, 403);
    assert_eq!(
        invoke_with(&h, &api, "/dev/ping", Some(value)).await.status,
        403
    );
    for _ in 0..5 {
        assert_eq!(
            invoke_with(&h, &api, "/prod/ping", Some(value))
                .await
                .status,
            200
        );
    }
    let r = invoke_with(&h, &api, "/prod/ping", Some(value)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));

    // GetUsage: [used, remaining] per day.
    let day = today();
    let r = h
        .call(
            "GET",
            &format!("/usageplans/{plan_id}/usage?startDate={day}&endDate={day}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["values"][&key_id], json!([[5, 0]]));
    assert_eq!(r.json()["usagePlanId"], plan_id.as_str());

    // UpdateUsage: 2 more.
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{plan_id}/keys/{key_id}/usage"),
            Some(
                json!({"patchOperations": [{"op": "replace", "path": "/remaining", "value": "2"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["values"][&key_id], json!([[5, 2]]));
    for _ in 0..2 {
        assert_eq!(
            invoke_with(&h, &api, "/prod/ping", Some(value))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        invoke_with(&h, &api, "/prod/ping", Some(value))
            .await
            .status,
        429
    );

    // A throttle patched down to a burst of 1 and no quota: 429 Too Many Requests.
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{plan_id}"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/throttle/burstLimit", "value": "1"},
                {"op": "replace", "path": "/throttle/rateLimit", "value": "0.1"},
                {"op": "remove", "path": "/quota"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert!(r.json().get("quota").is_none());
    assert_eq!(
        invoke_with(&h, &api, "/prod/ping", Some(value))
            .await
            .status,
        200
    );
    let r = invoke_with(&h, &api, "/prod/ping", Some(value)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);

    // A disabled key is refused; so is a key removed from the plan.
    let r = h
        .call(
            "PATCH",
            &format!("/apikeys/{key_id}"),
            Some(json!({"patchOperations": [{"op": "replace", "path": "/enabled", "value": "false"}]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        invoke_with(&h, &api, "/prod/ping", Some(value))
            .await
            .status,
        403
    );

    // Listing, and plans by key.
    assert_eq!(count(&h, "/usageplans").await, 1);
    assert_eq!(count(&h, &format!("/usageplans?keyId={key_id}")).await, 1);
    assert_eq!(count(&h, "/usageplans?keyId=nope").await, 0);
    let r = h
        .call(
            "DELETE",
            &format!("/usageplans/{plan_id}/keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(count(&h, &format!("/usageplans/{plan_id}/keys")).await, 0);
    // A plan with API stages is not deleted (AWS's answer), and stays as it was.
    let r = h
        .call("DELETE", &format!("/usageplans/{plan_id}"), None)
        .await;
    assert_eq!(r.status, 400, "{}", r.error_text());
    assert_eq!(
        r.error_text(),
        format!("BadRequestException: Cannot delete Usage Plan {plan_id} because there are API Stages associated with it, including {api}:prod")
    );
    let r = h.call("GET", &format!("/usageplans/{plan_id}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["apiStages"][0]["stage"], "prod");
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{plan_id}"),
            Some(json!({"patchOperations": [
                {"op": "remove", "path": "/apiStages", "value": format!("{api}:prod")}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let r = h
        .call("DELETE", &format!("/usageplans/{plan_id}"), None)
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        h.call("GET", &format!("/usageplans/{plan_id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn bad_plans_and_plan_keys_are_refused_and_change_nothing() {
    let h = Harness::start().await;
    let api = keyed_api(&h).await;
    let bad = [
        (
            json!({"name": "p", "apiStages": [{"apiId": api, "stage": "nope"}]}),
            400,
            "no such API stage",
        ),
        (
            json!({"name": "p", "apiStages": [{"apiId": "nope", "stage": "prod"}]}),
            400,
            "no such API stage",
        ),
        (
            json!({"name": "p", "throttle": {"rateLimit": -1.0, "burstLimit": 5}}),
            400,
            "rateLimit must be between 0",
        ),
        (
            json!({"name": "p", "throttle": {"rateLimit": 10.0, "burstLimit": -5}}),
            400,
            "burstLimit must be a whole number",
        ),
        (
            json!({"name": "p", "throttle": {"rateLimit": 1e15, "burstLimit": 5}}),
            400,
            "rateLimit must be between 0",
        ),
        (
            json!({"name": "p", "quota": {"limit": -1, "period": "DAY"}}),
            400,
            "limit must be a whole number",
        ),
        (
            json!({"name": "p", "quota": {"limit": 10, "period": "YEAR"}}),
            400,
            "DAY, WEEK or MONTH",
        ),
        (
            json!({"name": "p", "quota": {"limit": 10, "period": "WEEK", "offset": 7}}),
            400,
            "offset for period WEEK",
        ),
        (json!({"name": ""}), 400, "name is required"),
        (
            json!({"name": "p", "apiStages": [{"apiId": api, "stage": "prod", "throttle": {"bogus": {"rateLimit": 1.0, "burstLimit": 1}}}]}),
            400,
            "Invalid method throttle key",
        ),
    ];
    for (input, status, message) in bad {
        let r = h.call("POST", "/usageplans", Some(input.clone())).await;
        assert_eq!(r.status, status, "{input}: {}", r.error_text());
        assert_eq!(r.error_type(), Some("BadRequestException"));
        let m = r.json()["message"].as_str().unwrap().to_string();
        assert!(m.contains(message), "{input}: {m}");
    }
    assert_eq!(count(&h, "/usageplans").await, 0);

    // One plan per key and API stage.
    let mk = |name: &str| json!({"name": name, "apiStages": [{"apiId": api, "stage": "prod"}]});
    let p1 = h.call("POST", "/usageplans", Some(mk("one"))).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p2 = h.call("POST", "/usageplans", Some(mk("two"))).await.json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let k = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "k", "enabled": true})),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let add = |p: &str| {
        (
            format!("/usageplans/{p}/keys"),
            json!({"keyId": k, "keyType": "API_KEY"}),
        )
    };
    let (path, body) = add(&p1);
    assert_eq!(h.call("POST", &path, Some(body)).await.status, 201);
    let (path, body) = add(&p2);
    let r = h.call("POST", &path, Some(body)).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("cannot reference multiple Usage Plans"));
    assert_eq!(count(&h, &format!("/usageplans/{p2}/keys")).await, 0);
    let r = h
        .call(
            "POST",
            &format!("/usageplans/{p2}/keys"),
            Some(json!({"keyId": "nope", "keyType": "API_KEY"})),
        )
        .await;
    assert_eq!(r.status, 404);
    // A patch with a bad value leaves the plan as it was.
    let before = h
        .call("GET", &format!("/usageplans/{p1}"), None)
        .await
        .json();
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{p1}"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "replace", "path": "/throttle/rateLimit", "value": "-3"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        h.call("GET", &format!("/usageplans/{p1}"), None)
            .await
            .json(),
        before
    );
    let bad_usage: Value =
        json!({"patchOperations": [{"op": "replace", "path": "/remaining", "value": "-1"}]});
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{p1}/keys/{k}/usage"),
            Some(bad_usage),
        )
        .await;
    assert_eq!(r.status, 400);
}

/// A stage that a usage plan includes, or the API that owns it, cannot be deleted: the refusal
/// names the plan and changes nothing (the keyed route still answers); once the API stage has
/// left the plan, both deletes go through.
#[tokio::test]
async fn stages_and_apis_in_a_usage_plan_are_not_deleted() {
    let h = Harness::start().await;
    let api = keyed_api(&h).await;
    let r = h
        .call(
            "POST",
            "/usageplans",
            Some(json!({"name": "p", "apiStages": [{"apiId": api, "stage": "prod"}]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let plan_id = r.json()["id"].as_str().unwrap().to_string();
    let value = "in-plan-key-0123456789";
    let key_id = h
        .call(
            "POST",
            "/apikeys",
            Some(json!({"name": "k", "value": value, "enabled": true})),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .call(
            "POST",
            &format!("/usageplans/{plan_id}/keys"),
            Some(json!({"keyId": key_id, "keyType": "API_KEY"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(
        invoke_with(&h, &api, "/prod/ping", Some(value))
            .await
            .status,
        200
    );
    let stages_before = h
        .call("GET", &format!("/restapis/{api}/stages"), None)
        .await
        .json();

    for path in [
        format!("/restapis/{api}/stages/prod"),
        format!("/restapis/{api}"),
    ] {
        let r = h.call("DELETE", &path, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.error_text());
        assert_eq!(r.error_type(), Some("BadRequestException"), "{path}");
        let m = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            m.contains(&plan_id) && m.contains("usage plan") && m.contains("prod"),
            "{path}: {m}"
        );
        // Nothing changed: the API, its stages and the plan are as they were, and served.
        assert_eq!(
            h.call("GET", &format!("/restapis/{api}/stages"), None)
                .await
                .json(),
            stages_before
        );
        assert_eq!(
            h.call("GET", &format!("/usageplans/{plan_id}"), None)
                .await
                .json()["apiStages"][0]["stage"],
            "prod"
        );
        assert_eq!(
            invoke_with(&h, &api, "/prod/ping", Some(value))
                .await
                .status,
            200
        );
    }
    // A stage no plan includes is deleted as before.
    let r = h
        .call("DELETE", &format!("/restapis/{api}/stages/dev"), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.error_text());

    // Out of the plan, the stage and then the API can go.
    let r = h
        .call(
            "PATCH",
            &format!("/usageplans/{plan_id}"),
            Some(json!({"patchOperations": [
                {"op": "remove", "path": "/apiStages", "value": format!("{api}:prod")}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let r = h
        .call("DELETE", &format!("/restapis/{api}/stages/prod"), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.error_text());
    let r = h.call("DELETE", &format!("/restapis/{api}"), None).await;
    assert_eq!(r.status, 202, "{}", r.error_text());
    assert_eq!(
        h.call("GET", &format!("/restapis/{api}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn stage_method_settings_throttling_is_enforced() {
    let h = Harness::start().await;
    let api = keyed_api(&h).await;
    // Without a key requirement the stage's throttle still applies: use an open API.
    let doc = common::mock_api("open", "m");
    let r = h.call_text("POST", "/restapis?mode=import", &doc).await;
    let open = r.json()["id"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/restapis/{open}/deployments"),
            Some(json!({"stageName": "prod"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{open}/stages/prod"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.1"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(h.invoke(&open, "/prod/ping").await.status, 200);
    assert_eq!(h.invoke(&open, "/prod/ping").await.status, 200);
    let r = h.invoke(&open, "/prod/ping").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    // The other API's stage is not affected (it answers 403 for want of a key, not 429).
    assert_eq!(invoke_with(&h, &api, "/prod/ping", None).await.status, 403);
}
