//! `apigatewayv2` HTTP APIs through the admin API: quick create, routes and integrations by
//! hand, stages with autoDeploy, deployments, import and reimport, all served.

mod common;

use common::Harness;
use serde_json::json;

async fn invoke(h: &Harness, api: &str, path: &str) -> archway_testkit::Reply {
    h.invoke(api, path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_create_serves_at_the_root() {
    let up = archway_testkit::Upstream::start().await;
    let h = Harness::start().await;
    let r = h
        .call(
            "POST",
            "/v2/apis",
            Some(json!({"name": "quick", "protocolType": "HTTP", "target": format!("http://{}/base", up.addr)})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let api = r.json();
    let id = api["apiId"].as_str().unwrap().to_string();
    assert_eq!(api["protocolType"], "HTTP");
    assert!(api["createdDate"].as_str().unwrap().contains('T'));
    let g = invoke(&h, &id, "/hello").await;
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(g.json()["uri"], "/base");
    let r = h.call("GET", &format!("/v2/apis/{id}/stages"), None).await;
    let st = &r.json()["items"][0];
    assert_eq!(st["stageName"], "$default");
    assert_eq!(st["autoDeploy"], true);
    let r = h.call("GET", "/v2/apis", None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = h.call("DELETE", &format!("/v2/apis/{id}"), None).await;
    assert_eq!(r.status, 204);
    let r = h.call("GET", &format!("/v2/apis/{id}"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), Some("NotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_integrations_auto_deploy_and_manual_deployments() {
    let up = archway_testkit::Upstream::start().await;
    let h = Harness::start().await;
    let r = h
        .call(
            "POST",
            "/v2/apis",
            Some(json!({"name": "byhand", "protocolType": "HTTP"})),
        )
        .await;
    let id = r.json()["apiId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/integrations"),
            Some(
                json!({"integrationType": "HTTP_PROXY", "integrationMethod": "GET",
                        "integrationUri": format!("http://{}/pets/{{id}}", up.addr),
                        "payloadFormatVersion": "1.0"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let integ = r.json()["integrationId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/integrations"),
            Some(json!({"integrationType": "HTTP", "integrationUri": "http://x"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            Some(json!({"routeKey": "GET /pets/{id}", "target": format!("integrations/{integ}")})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let route = r.json()["routeId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            Some(json!({"routeKey": "GET /pets/{id}", "target": format!("integrations/{integ}")})),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            Some(json!({"routeKey": "FETCH /x"})),
        )
        .await;
    assert_eq!(r.status, 400);

    // An autoDeploy stage is deployed at once and on every change.
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/stages"),
            Some(json!({"stageName": "live", "autoDeploy": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let first = r.json()["deploymentId"].as_str().unwrap().to_string();
    let g = invoke(&h, &id, "/live/pets/7").await;
    assert_eq!(g.status, 200, "{}", g.text());
    assert_eq!(g.json()["uri"], "/pets/7");
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            Some(json!({"routeKey": "GET /cats/{id}", "target": format!("integrations/{integ}")})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(invoke(&h, &id, "/live/cats/3").await.status, 200);
    let r = h
        .call("GET", &format!("/v2/apis/{id}/stages/live"), None)
        .await;
    assert_ne!(r.json()["deploymentId"], first.as_str());

    // A manual stage moves only when deployed to.
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/stages"),
            Some(json!({"stageName": "manual"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(invoke(&h, &id, "/manual/pets/1").await.status, 404);
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/deployments"),
            Some(json!({"stageName": "manual", "description": "by hand"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(r.json()["deploymentStatus"], "DEPLOYED");
    let dep = r.json()["deploymentId"].as_str().unwrap().to_string();
    assert_eq!(invoke(&h, &id, "/manual/pets/1").await.status, 200);
    let r = h
        .call("DELETE", &format!("/v2/apis/{id}/routes/{route}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(invoke(&h, &id, "/live/pets/1").await.status, 404);
    assert_eq!(
        invoke(&h, &id, "/manual/pets/1").await.status,
        200,
        "frozen"
    );
    let r = h
        .call("DELETE", &format!("/v2/apis/{id}/deployments/{dep}"), None)
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "DELETE",
            &format!("/v2/apis/{id}/integrations/{integ}"),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "a route still targets it");
    let r = h
        .call(
            "PATCH",
            &format!("/v2/apis/{id}/stages/manual"),
            Some(json!({"stageVariables": {"a": "b"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["stageVariables"]["a"], "b");
    let r = h.call("GET", &format!("/v2/apis/{id}/routes"), None).await;
    let routes = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(routes.len(), 1);
    let r = h
        .call("GET", &format!("/v2/apis/{id}/deployments"), None)
        .await;
    assert!(r.json()["items"].as_array().unwrap().len() >= 3);

    // The last route goes: the autoDeploy stage follows (nothing served); a deployment asked
    // for is refused.
    let last = routes[0]["routeId"].as_str().unwrap();
    let r = h
        .call("DELETE", &format!("/v2/apis/{id}/routes/{last}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.error_text());
    assert_eq!(invoke(&h, &id, "/live/cats/3").await.status, 404);
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/deployments"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Unable to deploy API because no routes exist in this API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_reimport() {
    let up = archway_testkit::Upstream::start().await;
    let h = Harness::start().await;
    let doc = |path: &str| {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "imported-http", "version": "1"},
            "paths": {path: {"get": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "payloadFormatVersion": "1.0",
                "uri": format!("http://{}{path}", up.addr)}}}}
        })
        .to_string()
    };
    let r = h
        .call("PUT", "/v2/apis", Some(json!({"body": doc("/one")})))
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    let id = r.json()["apiId"].as_str().unwrap().to_string();
    assert_eq!(r.json()["name"], "imported-http");
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/stages"),
            Some(json!({"stageName": "$default", "autoDeploy": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(invoke(&h, &id, "/one").await.status, 200);
    let r = h
        .call(
            "PUT",
            &format!("/v2/apis/{id}"),
            Some(json!({"body": doc("/two")})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(invoke(&h, &id, "/two").await.status, 200);
    assert_eq!(invoke(&h, &id, "/one").await.status, 404);
    let r = h
        .call(
            "PUT",
            "/v2/apis",
            Some(json!({"body": "{\"openapi\": \"3.0.1\"}"})),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_api_route_and_integration_export_and_pages() {
    let up = archway_testkit::Upstream::start().await;
    let h = Harness::start().await;
    let r = h
        .call(
            "POST",
            "/v2/apis",
            Some(json!({"name": "upd", "protocolType": "HTTP"})),
        )
        .await;
    let id = r.json()["apiId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/integrations"),
            Some(
                json!({"integrationType": "HTTP_PROXY", "integrationMethod": "GET",
                        "integrationUri": format!("http://{}/a", up.addr)}),
            ),
        )
        .await;
    let integ = r.json()["integrationId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            Some(json!({"routeKey": "GET /x", "target": format!("integrations/{integ}")})),
        )
        .await;
    let route = r.json()["routeId"].as_str().unwrap().to_string();
    let r = h
        .call(
            "POST",
            &format!("/v2/apis/{id}/stages"),
            Some(json!({"stageName": "$default", "autoDeploy": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.error_text());
    assert_eq!(invoke(&h, &id, "/x").await.json()["uri"], "/a");

    // UpdateIntegration: the fields given change, the rest stay; checked as on create.
    let ipath = format!("/v2/apis/{id}/integrations/{integ}");
    let r = h
        .call(
            "PATCH",
            &ipath,
            Some(json!({"integrationUri": format!("http://{}/b", up.addr)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["integrationMethod"], "GET");
    assert_eq!(invoke(&h, &id, "/x").await.json()["uri"], "/b");
    let r = h
        .call("PATCH", &ipath, Some(json!({"timeoutInMillis": 10})))
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            "PATCH",
            &format!("/v2/apis/{id}/integrations/nope"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 404);

    // UpdateRoute: a new key is served (autoDeploy); a bad target is refused.
    let rpath = format!("/v2/apis/{id}/routes/{route}");
    let r = h
        .call("PATCH", &rpath, Some(json!({"routeKey": "GET /y"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    assert_eq!(r.json()["routeKey"], "GET /y");
    assert_eq!(r.json()["target"], format!("integrations/{integ}").as_str());
    assert_eq!(invoke(&h, &id, "/y").await.json()["uri"], "/b");
    assert_eq!(invoke(&h, &id, "/x").await.status, 404);
    let r = h
        .call(
            "PATCH",
            &rpath,
            Some(json!({"target": "integrations/nope"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call("PATCH", &rpath, Some(json!({"routeKey": "FETCH /y"})))
        .await;
    assert_eq!(r.status, 400);

    // UpdateApi.
    let r = h
        .call(
            "PATCH",
            &format!("/v2/apis/{id}"),
            Some(json!({"name": "renamed", "description": "d"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let got = h.call("GET", &format!("/v2/apis/{id}"), None).await.json();
    assert_eq!(got["name"], "renamed");
    assert_eq!(got["description"], "d");
    let r = h
        .call(
            "PATCH",
            &format!("/v2/apis/{id}"),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(r.status, 400);

    // ExportApi: the routes as they are, or what a stage serves; extensions optional.
    let r = h
        .call(
            "GET",
            &format!("/v2/apis/{id}/exports/OAS30?outputType=JSON"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.error_text());
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(doc["info"]["title"], "renamed");
    let op = &doc["paths"]["/y"]["get"];
    assert_eq!(
        op["x-amazon-apigateway-integration"]["uri"],
        format!("http://{}/b", up.addr).as_str()
    );
    let staged = h
        .call(
            "GET",
            &format!("/v2/apis/{id}/exports/OAS30?outputType=YAML&stageName=$default&includeExtensions=false"),
            None,
        )
        .await;
    assert_eq!(staged.status, 200, "{}", staged.error_text());
    assert_eq!(
        staged
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/yaml")
    );
    let sdoc = staged.json();
    assert!(sdoc["paths"]["/y"]["get"].is_object(), "{sdoc}");
    assert!(!sdoc.to_string().contains("x-amazon-apigateway"), "{sdoc}");
    for bad in [
        format!("/v2/apis/{id}/exports/OAS30"),
        format!("/v2/apis/{id}/exports/SWAGGER?outputType=JSON"),
        format!("/v2/apis/{id}/exports/OAS30?outputType=JSON&stageName=nope"),
        "/v2/apis/nope/exports/OAS30?outputType=JSON".to_string(),
    ] {
        let r = h.call("GET", &bad, None).await;
        assert!(r.status == 400 || r.status == 404, "{bad}: {}", r.status);
    }

    // nextToken/maxResults.
    for k in ["GET /p1", "GET /p2", "GET /p3"] {
        let r = h
            .call(
                "POST",
                &format!("/v2/apis/{id}/routes"),
                Some(json!({"routeKey": k, "target": format!("integrations/{integ}")})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.error_text());
    }
    let page = h
        .call("GET", &format!("/v2/apis/{id}/routes?maxResults=3"), None)
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let token = page["nextToken"].as_str().expect("nextToken").to_string();
    let last = h
        .call(
            "GET",
            &format!("/v2/apis/{id}/routes?maxResults=3&nextToken={token}"),
            None,
        )
        .await
        .json();
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert!(last.get("nextToken").is_none());
    let r = h
        .call("GET", &format!("/v2/apis/{id}/routes?maxResults=0"), None)
        .await;
    assert_eq!(r.status, 400);
}
