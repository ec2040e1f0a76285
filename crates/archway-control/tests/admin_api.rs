//! The admin API end to end, in-process: AWS's paths, shapes, status codes and errors; the
//! signature check; state left unchanged by refused writes; conflicts; changes served.

mod common;

use archway_aws::sigv4::Credentials;
use common::{mock_api, Harness};
use serde_json::{json, Value};

#[tokio::test]
async fn rest_api_lifecycle_and_errors() {
    let h = Harness::start().await;
    let r = h
        .call(
            "POST",
            "/restapis",
            Some(json!({"name": "pets", "description": "d", "tags": {"team": "core"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let api = r.json();
    let id = api["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 10);
    assert_eq!(api["name"], "pets");
    assert_eq!(api["tags"]["team"], "core");
    assert!(api["createdDate"].is_i64());
    assert!(api["rootResourceId"].is_string());

    let r = h.call("GET", &format!("/restapis/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["description"], "d");
    let r = h.call("GET", "/restapis", None).await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);

    let r = h.call("GET", "/restapis/abc", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), Some("NotFoundException"));
    assert_eq!(
        r.json()["message"],
        "Invalid API identifier specified 111111111111:abc"
    );

    // Nothing to deploy yet.
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), Some("BadRequestException"));
    assert_eq!(
        r.json()["message"],
        "The REST API doesn't contain any methods"
    );

    // Bad JSON and bad input change nothing.
    let r = h.call_text("POST", "/restapis", "{not json").await;
    assert_eq!(r.status, 400);
    let r = h.call("POST", "/restapis", Some(json!({"name": ""}))).await;
    assert_eq!(r.status, 400);
    let r = h.call("GET", "/restapis", None).await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);

    // UpdateRestApi: all operations or none.
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "replace", "path": "/description", "value": "new words"},
                {"op": "add", "path": "/binaryMediaTypes/image~1png", "value": ""},
                {"op": "replace", "path": "/nope", "value": "x"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        h.call("GET", &format!("/restapis/{id}"), None).await.json()["name"],
        "pets"
    );
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/name", "value": "renamed"},
                {"op": "replace", "path": "/description", "value": "new words"},
                {"op": "add", "path": "/binaryMediaTypes/image~1png", "value": ""}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["name"], "renamed");
    assert_eq!(r.json()["description"], "new words");
    assert_eq!(r.json()["binaryMediaTypes"], json!(["image/png"]));

    let r = h.call("DELETE", &format!("/restapis/{id}"), None).await;
    assert_eq!(r.status, 202);
    let r = h.call("GET", &format!("/restapis/{id}"), None).await;
    assert_eq!(r.status, 404);
    let r = h.call("GET", "/nope", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), Some("UnknownOperationException"));
    let r = h
        .call("POST", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert_eq!(r.status, 404, "a method the path does not have");
    assert_eq!(r.error_type(), Some("UnknownOperationException"));
    let r = h.call("GET", "/restapis/%FF%FE", None).await;
    assert_eq!(r.status, 400, "{}", r.error_text());
    assert_eq!(
        r.error_type(),
        Some("BadRequestException"),
        "{:?} {:?}",
        r.headers,
        r.body
    );

    // A large import (over axum's default 2 MB body limit) is read whole.
    let mut paths = serde_json::Map::new();
    for i in 0..4000 {
        paths.insert(
            format!("/p{i}"),
            json!({"get": {"description": "x".repeat(600), "x-amazon-apigateway-integration": {
                "type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {"statusCode": "200"}}}}}),
        );
    }
    let doc = json!({"openapi": "3.0.1", "info": {"title": "big"}, "paths": paths}).to_string();
    assert!(doc.len() > 2 * 1024 * 1024);
    let r = h.call_text("POST", "/restapis?mode=import", &doc).await;
    assert_eq!(r.status, 201, "{}", r.error_text());
}

async fn import(h: &Harness, title: &str, marker: &str) -> String {
    let r = h
        .call_text("POST", "/restapis?mode=import", &mock_api(title, marker))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    r.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn import_deploy_stage_serve_export_and_delete_rules() {
    let h = Harness::start().await;
    let id = import(&h, "mocked", "one").await;
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(
                json!({"stageName": "prod", "description": "first", "variables": {"color": "red"}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let dep1 = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["description"], "first");

    // Served as soon as the write is acknowledged.
    let g = h.invoke(&id, "/prod/ping").await;
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(g.json()["v"], "one");
    assert_eq!(g.json()["color"], "red");

    let r = h
        .call("GET", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert_eq!(r.status, 200);
    let st = r.json();
    assert_eq!(st["deploymentId"], dep1.as_str());
    assert_eq!(st["variables"]["color"], "red");
    let r = h.call("GET", &format!("/restapis/{id}/stages"), None).await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);
    let r = h
        .call("GET", &format!("/restapis/{id}/deployments"), None)
        .await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);
    let r = h
        .call("GET", &format!("/restapis/{id}/deployments/{dep1}"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .call("GET", &format!("/restapis/{id}/deployments/nope"), None)
        .await;
    assert_eq!(r.status, 404);

    // A deployment in use cannot be deleted.
    let r = h
        .call(
            "DELETE",
            &format!("/restapis/{id}/deployments/{dep1}"),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Active stages pointing to this deployment must be moved or deleted"
    );

    // Overwrite the working definition: the stage still serves the frozen deployment.
    let r = h
        .call_text(
            "PUT",
            &format!("/restapis/{id}?mode=overwrite"),
            &mock_api("mocked", "two"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(h.invoke(&id, "/prod/ping").await.json()["v"], "one");

    // A second stage on a new deployment.
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({})),
        )
        .await;
    let dep2 = r.json()["id"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/stages"),
            Some(
                json!({"stageName": "beta", "deploymentId": dep2, "variables": {"color": "blue"}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(h.invoke(&id, "/beta/ping").await.json()["v"], "two");
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/stages"),
            Some(json!({"stageName": "beta", "deploymentId": dep2})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_type(), Some("ConflictException"));
    assert_eq!(r.json()["message"], "Stage already exists");
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/stages"),
            Some(json!({"stageName": "gamma", "deploymentId": "nope"})),
        )
        .await;
    assert_eq!(r.status, 404);

    // Move prod to dep2 with a patch; then dep1 can go.
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/prod"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/deploymentId", "value": dep2},
                {"op": "replace", "path": "/variables/color", "value": "green"},
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "50"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let st = r.json();
    assert_eq!(st["methodSettings"]["*/*"]["throttlingRateLimit"], 100.0);
    assert_eq!(st["methodSettings"]["*/*"]["throttlingBurstLimit"], 50);
    let g = h.invoke(&id, "/prod/ping").await;
    assert_eq!(
        (g.json()["v"].clone(), g.json()["color"].clone()),
        (json!("two"), json!("green"))
    );
    let r = h
        .call(
            "DELETE",
            &format!("/restapis/{id}/deployments/{dep1}"),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.error_text());

    // A bad patch changes nothing.
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/prod"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/variables/color", "value": "black"},
                {"op": "replace", "path": "/nonsense", "value": "x"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call("GET", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert_eq!(r.json()["variables"]["color"], "green");

    // Export what a stage serves.
    let r = h
        .call(
            "GET",
            &format!("/restapis/{id}/stages/prod/exports/oas30"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(
        doc["servers"][0]["variables"]["basePath"]["default"],
        "prod"
    );
    assert!(doc["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"].is_object());
    let r = h
        .call(
            "GET",
            &format!("/restapis/{id}/stages/prod/exports/swagger"),
            None,
        )
        .await;
    assert_eq!(r.json()["swagger"], "2.0");

    // Delete the stage: not served any more.
    let r = h
        .call("DELETE", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(h.invoke(&id, "/prod/ping").await.status, 403);
    let r = h
        .call("DELETE", &format!("/restapis/{id}/stages/prod"), None)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn import_errors_are_reported_and_nothing_is_created() {
    let h = Harness::start().await;
    let r = h
        .call_text(
            "POST",
            "/restapis?mode=import",
            r#"{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {}}}}"#,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Errors found during import:"),
        "{}",
        r.text_body()
    );
    let r = h.call("GET", "/restapis", None).await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 0);
}

trait TextBody {
    fn text_body(&self) -> String;
}

impl TextBody for archway_control::client::Reply {
    fn text_body(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[tokio::test]
async fn resources_methods_integrations_by_hand() {
    let h = Harness::start().await;
    let r = h
        .call("POST", "/restapis", Some(json!({"name": "byhand"})))
        .await;
    let api = r.json();
    let id = api["id"].as_str().unwrap().to_string();
    let root = api["rootResourceId"].as_str().unwrap().to_string();

    let r = h
        .call("GET", &format!("/restapis/{id}/resources"), None)
        .await;
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["item"][0]["path"], "/");

    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/resources/{root}"),
            Some(json!({"pathPart": "hello"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let res = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["path"], "/hello");
    assert_eq!(r.json()["parentId"], root.as_str());
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/resources/{root}"),
            Some(json!({"pathPart": "hello"})),
        )
        .await;
    assert_eq!(r.status, 409);

    let m = format!("/restapis/{id}/resources/{res}/methods/GET");
    let r = h
        .call("PUT", &m, Some(json!({"authorizationType": "NONE"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(r.json()["httpMethod"], "GET");
    // A method without integration cannot be deployed.
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "x"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "No integration defined for method");

    let r = h
        .call(
            "PUT",
            &format!("{m}/integration"),
            Some(json!({"type": "MOCK", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(r.json()["type"], "MOCK");
    let r = h
        .call("PUT", &format!("{m}/responses/200"), Some(json!({})))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let r = h
        .call(
            "PUT",
            &format!("{m}/integration/responses/200"),
            Some(json!({"selectionPattern": "", "responseTemplates": {"application/json": "{\"hello\": \"world\"}"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let r = h.call("GET", &m, None).await;
    let method = r.json();
    assert_eq!(method["methodIntegration"]["type"], "MOCK");
    assert_eq!(
        method["methodIntegration"]["integrationResponses"]["200"]["statusCode"],
        "200"
    );
    assert_eq!(method["methodResponses"]["200"]["statusCode"], "200");
    let r = h
        .call("GET", &format!("{m}/integration/responses/200"), None)
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .call("GET", &format!("{m}/integration/responses/500"), None)
        .await;
    assert_eq!(r.status, 404);

    // Invalid integration input changes nothing.
    let r = h
        .call(
            "PUT",
            &format!("{m}/integration"),
            Some(json!({"type": "HTTP", "integrationHttpMethod": "GET"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "PUT",
            &format!("{m}/integration"),
            Some(json!({"type": "HTTP_PROXY", "integrationHttpMethod": "GET", "uri": "not a uri"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.error_text());
    let r = h.call("GET", &format!("{m}/integration"), None).await;
    assert_eq!(r.json()["type"], "MOCK");

    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "dev"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let g = h.invoke(&id, "/dev/hello").await;
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(g.json()["hello"], "world");

    // Gateway responses.
    let r = h
        .call(
            "PUT",
            &format!("/restapis/{id}/gatewayresponses/MISSING_AUTHENTICATION_TOKEN"),
            Some(json!({"statusCode": "404", "responseTemplates": {"application/json": "{\"message\": \"nothing here\"}"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let r = h
        .call("GET", &format!("/restapis/{id}/gatewayresponses"), None)
        .await;
    let items = r.json()["item"].as_array().unwrap().clone();
    assert_eq!(items.len(), 21);
    let custom: Vec<&Value> = items
        .iter()
        .filter(|i| i["defaultResponse"] == false)
        .collect();
    assert_eq!(custom.len(), 1);
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "dev"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let g = h.invoke(&id, "/dev/nothing").await;
    assert_eq!(g.status, 404);
    assert_eq!(g.json()["message"], "nothing here");
    let r = h
        .call(
            "PUT",
            &format!("/restapis/{id}/gatewayresponses/NOT_A_TYPE"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "DELETE",
            &format!("/restapis/{id}/gatewayresponses/MISSING_AUTHENTICATION_TOKEN"),
            None,
        )
        .await;
    assert_eq!(r.status, 202);

    // A path parameter the method does not declare, and a greedy one.
    for (part, path) in [("{id}", "/dev/hello/7"), ("{proxy+}", "/dev/hello/7/8")] {
        let r = h
            .call(
                "POST",
                &format!("/restapis/{id}/resources/{res}"),
                Some(json!({"pathPart": part})),
            )
            .await;
        assert_eq!(r.status, 201, "{part}: {}", r.error_text());
        let child = r.json()["id"].as_str().unwrap().to_string();
        let cm = format!("/restapis/{id}/resources/{child}/methods/ANY");
        let r = h
            .call("PUT", &cm, Some(json!({"authorizationType": "NONE"})))
            .await;
        assert_eq!(r.status, 201, "{part}: {}", r.error_text());
        let r = h
            .call(
                "PUT",
                &format!("{cm}/integration"),
                Some(json!({"type": "MOCK", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}})),
            )
            .await;
        assert_eq!(r.status, 201, "{part}: {}", r.error_text());
        let r = h
            .call("PUT", &format!("{cm}/integration/responses/200"), Some(json!({"responseTemplates": {"application/json": "{\"p\": \"$context.resourcePath\"}"}})))
            .await;
        assert_eq!(r.status, 201, "{part}: {}", r.error_text());
        let r = h
            .call(
                "POST",
                &format!("/restapis/{id}/deployments"),
                Some(json!({"stageName": "dev"})),
            )
            .await;
        assert_eq!(r.status, 201, "{part}: {}", r.error_text());
        let g = h.invoke(&id, path).await;
        assert_eq!(g.status, 200, "{part}: {}", g.text());
        assert_eq!(g.json()["p"], format!("/hello/{part}"));
        let r = h
            .call("DELETE", &format!("/restapis/{id}/resources/{child}"), None)
            .await;
        assert_eq!(r.status, 202);
    }

    // Deleting the method, then the resource.
    let r = h.call("DELETE", &m, None).await;
    assert_eq!(r.status, 204);
    let r = h.call("GET", &m, None).await;
    assert_eq!(r.status, 404);
    let r = h
        .call("DELETE", &format!("/restapis/{id}/resources/{res}"), None)
        .await;
    assert_eq!(r.status, 202);
    let r = h
        .call("GET", &format!("/restapis/{id}/resources/{res}"), None)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn every_request_must_be_signed_with_the_admin_key() {
    let h = Harness::start().await;
    let now = time::OffsetDateTime::now_utc();
    let unsigned = h
        .admin
        .send_raw("GET", "/restapis", bytes::Bytes::new(), now, None)
        .await
        .unwrap();
    assert_eq!(unsigned.status, 403);
    assert_eq!(
        unsigned.error_type(),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(unsigned.json()["message"], "Missing Authentication Token");

    let wrong = Credentials::new(h.credentials.access_key_id.clone(), "not-the-secret");
    let r = h
        .admin
        .send_raw("GET", "/restapis", bytes::Bytes::new(), now, Some(&wrong))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.error_type(), Some("InvalidSignatureException"));

    let unknown = Credentials::new("AKIDUNKNOWN", "whatever");
    let r = h
        .admin
        .send_raw("GET", "/restapis", bytes::Bytes::new(), now, Some(&unknown))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.error_type(), Some("UnrecognizedClientException"));

    let skewed = now - time::Duration::minutes(20);
    let r = h
        .admin
        .send_raw(
            "GET",
            "/restapis",
            bytes::Bytes::new(),
            skewed,
            Some(&h.credentials),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.error_type(), Some("InvalidSignatureException"));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Signature expired"));

    // A signed write with a body; then a body changed after signing is refused.
    let body = bytes::Bytes::from(json!({"name": "signed"}).to_string());
    let r = h
        .admin
        .send_raw("POST", "/restapis", body, now, Some(&h.credentials))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let r = h
        .admin
        .send_raw(
            "GET",
            "/restapis",
            bytes::Bytes::new(),
            now,
            Some(&h.credentials),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["item"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_conflicting_creates_one_wins() {
    let h = Harness::start().await;
    let id = import(&h, "race", "r").await;
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({})),
        )
        .await;
    let dep = r.json()["id"].as_str().unwrap().to_string();
    for round in 0..5 {
        let name = format!("s{round}");
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let admin = h.admin.clone();
            let path = format!("/restapis/{id}/stages");
            let body = json!({"stageName": name, "deploymentId": dep, "variables": {"color": "x"}});
            tasks.push(tokio::spawn(async move {
                admin.send("POST", &path, Some(&body)).await.unwrap()
            }));
        }
        let mut created = 0;
        let mut conflicts = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                201 => created += 1,
                409 => {
                    assert_eq!(r.error_type(), Some("ConflictException"));
                    conflicts += 1
                }
                other => panic!("unexpected {other}: {}", r.error_text()),
            }
        }
        assert_eq!((created, conflicts), (1, 5));
    }
    // Concurrent patches of one stage all apply (serialised, none lost).
    let mut tasks = Vec::new();
    for i in 0..8 {
        let admin = h.admin.clone();
        let path = format!("/restapis/{id}/stages/s0");
        let body = json!({"patchOperations": [{"op": "add", "path": format!("/variables/v{i}"), "value": "1"}]});
        tasks.push(tokio::spawn(async move {
            admin.send("PATCH", &path, Some(&body)).await.unwrap()
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status == 200 || r.status == 409, "{}", r.error_text());
    }
    let r = h
        .call("GET", &format!("/restapis/{id}/stages/s0"), None)
        .await;
    let vars = r.json()["variables"].as_object().unwrap().len();
    assert!(vars >= 2, "{vars}");
}

#[tokio::test]
async fn update_deployment_and_position_limit_pagination() {
    let h = Harness::start().await;
    let id = import(&h, "paged", "p").await;
    let _other = import(&h, "paged2", "q").await;
    let mut deps = Vec::new();
    for d in ["one", "two", "three"] {
        let r = h
            .call(
                "POST",
                &format!("/restapis/{id}/deployments"),
                Some(json!({ "description": d })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.error_text());
        deps.push(r.json()["id"].as_str().unwrap().to_string());
    }

    // UpdateDeployment: the description, and nothing else.
    let path = format!("/restapis/{id}/deployments/{}", deps[0]);
    let r = h
        .call(
            "PATCH",
            &path,
            Some(json!({"patchOperations": [{"op": "replace", "path": "/description", "value": "first"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["description"], "first");
    assert_eq!(r.json()["id"], deps[0].as_str());
    assert_eq!(
        h.call("GET", &path, None).await.json()["description"],
        "first"
    );
    let r = h
        .call(
            "PATCH",
            &path,
            Some(json!({"patchOperations": [{"op": "replace", "path": "/apiSummary", "value": "x"}]})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), Some("BadRequestException"));
    assert!(r.error_text().contains("/apiSummary"), "{}", r.error_text());
    assert_eq!(
        h.call("GET", &path, None).await.json()["description"],
        "first"
    );
    let r = h
        .call(
            "PATCH",
            &format!("/restapis/{id}/deployments/nope"),
            Some(json!({"patchOperations": []})),
        )
        .await;
    assert_eq!(r.status, 404);

    // position/limit: pages in order, the last without a position.
    let all: Vec<Value> = h
        .call("GET", &format!("/restapis/{id}/deployments"), None)
        .await
        .json()["item"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 3);
    assert!(h
        .call("GET", &format!("/restapis/{id}/deployments"), None)
        .await
        .json()
        .get("position")
        .is_none());
    let first = h
        .call("GET", &format!("/restapis/{id}/deployments?limit=2"), None)
        .await
        .json();
    assert_eq!(first["item"].as_array().unwrap()[..], all[..2]);
    let position = first["position"].as_str().expect("a position").to_string();
    let rest = h
        .call(
            "GET",
            &format!("/restapis/{id}/deployments?limit=2&position={position}"),
            None,
        )
        .await
        .json();
    assert_eq!(rest["item"].as_array().unwrap()[..], all[2..]);
    assert!(rest.get("position").is_none());
    let apis = h.call("GET", "/restapis?limit=1", None).await.json();
    assert_eq!(apis["item"].as_array().unwrap().len(), 1);
    assert!(apis["position"].is_string());
    let resources = h
        .call("GET", &format!("/restapis/{id}/resources?limit=1"), None)
        .await
        .json();
    assert_eq!(resources["item"].as_array().unwrap().len(), 1);
    assert!(resources["position"].is_string(), "{resources}");
    for bad in [
        "limit=0",
        "limit=501",
        "limit=x",
        "position=x",
        "position=9",
    ] {
        let r = h
            .call("GET", &format!("/restapis/{id}/deployments?{bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_type(), Some("BadRequestException"), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_method_and_integration_with_patch_operations() {
    let up = archway_testkit::Upstream::start().await;
    let h = Harness::start().await;
    let api = h
        .call("POST", "/restapis", Some(json!({"name": "patched"})))
        .await
        .json();
    let id = api["id"].as_str().unwrap().to_string();
    let root = api["rootResourceId"].as_str().unwrap().to_string();
    let res = h
        .call(
            "POST",
            &format!("/restapis/{id}/resources/{root}"),
            Some(json!({"pathPart": "items"})),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = format!("/restapis/{id}/resources/{res}/methods/GET");
    let r = h
        .call("PUT", &m, Some(json!({"authorizationType": "NONE"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let r = h
        .call(
            "PUT",
            &format!("{m}/integration"),
            Some(json!({"type": "HTTP_PROXY", "integrationHttpMethod": "GET",
                        "uri": format!("http://{}/a", up.addr)})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let r = h
        .call(
            "PUT",
            &format!("{m}/integration/responses/200"),
            Some(json!({"selectionPattern": ""})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());

    // UpdateMethod: a required query parameter and an operation name; the integration stays.
    let r = h
        .call(
            "PATCH",
            &m,
            Some(json!({"patchOperations": [
                {"op": "add", "path": "/requestParameters/method.request.querystring.q", "value": "true"},
                {"op": "replace", "path": "/operationName", "value": "ListItems"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let method = r.json();
    assert_eq!(
        method["requestParameters"]["method.request.querystring.q"],
        true
    );
    assert_eq!(method["operationName"], "ListItems");
    assert_eq!(method["methodIntegration"]["type"], "HTTP_PROXY");

    // UpdateIntegration: a new URI and a header mapping; the integration responses stay.
    let r = h
        .call(
            "PATCH",
            &format!("{m}/integration"),
            Some(json!({"patchOperations": [
                {"op": "replace", "path": "/uri", "value": format!("http://{}/b", up.addr)},
                {"op": "add", "path": "/requestParameters/integration.request.header.x-q", "value": "method.request.querystring.q"},
                {"op": "replace", "path": "/timeoutInMillis", "value": "5000"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let integ = r.json();
    assert_eq!(integ["uri"], format!("http://{}/b", up.addr).as_str());
    assert_eq!(integ["timeoutInMillis"], 5000);
    assert_eq!(integ["integrationResponses"]["200"]["statusCode"], "200");
    assert_eq!(
        integ["requestParameters"]["integration.request.header.x-q"],
        "method.request.querystring.q"
    );

    // Refused patches change nothing.
    for (path, ops) in [
        (
            format!("{m}/integration"),
            json!([{"op": "replace", "path": "/timeoutInMillis", "value": "99999"}]),
        ),
        (
            format!("{m}/integration"),
            json!([{"op": "replace", "path": "/nope", "value": "x"}]),
        ),
        (
            m.clone(),
            json!([{"op": "replace", "path": "/authorizationType", "value": "BOGUS"}]),
        ),
        (
            m.clone(),
            json!([{"op": "add", "path": "/requestParameters/bad.expr", "value": "true"}]),
        ),
    ] {
        let r = h
            .call("PATCH", &path, Some(json!({ "patchOperations": ops })))
            .await;
        assert_eq!(r.status, 400, "{ops}: {}", r.error_text());
        assert_eq!(r.error_type(), Some("BadRequestException"));
    }
    let now = h
        .call("GET", &format!("{m}/integration"), None)
        .await
        .json();
    assert_eq!(now, integ);

    // What is deployed is the patched method: the parameter is forwarded to the new URI.
    let r = h
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            Some(json!({"stageName": "prod"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let g = h.invoke(&id, "/prod/items?q=7").await;
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(g.json()["uri"], "/b?q=7");
    let seen = up.last();
    assert_eq!(
        seen.headers.get("x-q").and_then(|v| v.to_str().ok()),
        Some("7")
    );
}
