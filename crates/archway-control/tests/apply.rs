//! `apply` on the store directly: the documents it writes (kind, scope, key, shape), that a
//! refused change writes nothing, and that frozen definitions read back as deployed.

use archway_control::apply::{CreateDeployment, CreateRestApi, CreateStage};
use archway_control::docs::{KIND_DEPLOYMENT, KIND_RESTAPI, KIND_STAGE};
use archway_control::state::{load_apis, DefinitionCache};
use archway_control::{apply, Change};
use archway_store::{DocumentStore, SqliteStore};
use serde_json::Value;

fn mock(marker: &str) -> String {
    format!(
        r#"openapi: 3.0.1
info: {{ title: applied, version: "1" }}
paths:
  /ping:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {{ application/json: '{{"statusCode": 200}}' }}
        responses: {{ default: {{ statusCode: "200", responseTemplates: {{ application/json: '{{"v": "{marker}"}}' }} }} }}
"#
    )
}

#[test]
fn documents_have_the_documented_shapes_and_refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();

    let out = apply(
        &store,
        Change::ImportRestApi {
            body: mock("a"),
            parameters: vec![],
            fail_on_warnings: false,
        },
    )
    .unwrap();
    let id = out.body["id"].as_str().unwrap().to_string();
    let api = store.get(KIND_RESTAPI, "", &id).unwrap().unwrap();
    for field in ["id", "name", "createdDate", "protocol", "definition"] {
        assert!(api.body.get(field).is_some(), "restapi lacks {field}");
    }
    assert_eq!(api.body["protocol"], "REST");
    assert_eq!(api.body["definition"]["openapi"], "3.0.1");
    assert!(
        api.body["definition"]["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"]
            .is_object()
    );

    let dep = apply(
        &store,
        Change::CreateDeployment {
            api_id: id.clone(),
            input: CreateDeployment {
                description: Some("first".into()),
                ..Default::default()
            },
        },
    )
    .unwrap();
    let dep_id = dep.body["id"].as_str().unwrap().to_string();
    let d = store.get(KIND_DEPLOYMENT, &id, &dep_id).unwrap().unwrap();
    for field in ["id", "description", "createdDate", "definition"] {
        assert!(d.body.get(field).is_some(), "deployment lacks {field}");
    }

    let st = apply(
        &store,
        Change::CreateStage {
            api_id: id.clone(),
            input: CreateStage {
                stage_name: Some("prod".into()),
                deployment_id: Some(dep_id.clone()),
                ..Default::default()
            },
        },
    )
    .unwrap();
    assert_eq!(st.body["deploymentId"], dep_id.as_str());
    let s = store.get(KIND_STAGE, &id, "prod").unwrap().unwrap();
    for field in [
        "stageName",
        "deploymentId",
        "variables",
        "methodSettings",
        "createdDate",
        "lastUpdatedDate",
    ] {
        assert!(s.body.get(field).is_some(), "stage lacks {field}");
    }

    // Refused changes leave the store exactly as it was.
    let before = store.revision().unwrap();
    let refused = [
        Change::CreateStage {
            api_id: id.clone(),
            input: CreateStage {
                stage_name: Some("prod".into()),
                deployment_id: Some(dep_id.clone()),
                ..Default::default()
            },
        },
        Change::CreateStage {
            api_id: id.clone(),
            input: CreateStage {
                stage_name: Some("bad name!".into()),
                deployment_id: Some(dep_id.clone()),
                ..Default::default()
            },
        },
        Change::DeleteDeployment {
            api_id: id.clone(),
            deployment_id: dep_id.clone(),
        },
        Change::CreateRestApi(CreateRestApi::default()),
        Change::ImportRestApi {
            body: "openapi: 3.0.1\npaths: [".into(),
            parameters: vec![],
            fail_on_warnings: false,
        },
        Change::DeleteStage {
            api_id: "nope".into(),
            stage_name: "prod".into(),
        },
    ];
    for change in refused {
        let what = format!("{change:?}");
        assert!(apply(&store, change).is_err(), "{what} was accepted");
    }
    assert_eq!(store.revision().unwrap(), before);

    // What the data plane gets: the stage serving the frozen deployment.
    let (rev, apis) = load_apis(&store, &DefinitionCache::default()).unwrap();
    assert_eq!(rev, before);
    assert_eq!(apis.len(), 1);
    let stage = &apis[0].stages[0];
    assert_eq!(stage.deployment_id.as_deref(), Some(dep_id.as_str()));
    assert_eq!(stage.deployment.routes.len(), 1);
    assert_eq!(stage.deployment.routes[0].key.to_string(), "GET /ping");
    let _: Value = s.body;
}
