//! The declarative door on the store directly: `Change::ApplyFile` writes the file's APIs as
//! documents, deploys only what changed, is idempotent, deletes what left the file, refuses a
//! bad file without writing anything, and the admin API cannot write what the file manages.

use archway_control::apply::{CreateDeployment, CreateStage};
use archway_control::docs::{KIND_DEPLOYMENT, KIND_RESTAPI, KIND_STAGE};
use archway_control::error::ErrorKind;
use archway_control::state::{load_apis, DefinitionCache};
use archway_control::v2::{RouteInput, V2Change, KIND_HTTPAPI};
use archway_control::{apply, Change};
use archway_model::Api;
use archway_store::{DocumentStore, SqliteStore};

/// A file with a REST API `pets` (stages `prod` and, if `dev`, `dev`) answering `marker`, and
/// if `web`, an HTTP API `web`.
fn file(marker: &str, color: &str, dev: bool, web: bool) -> String {
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
      prod: {{ variables: {{ color: {color} }} }}
"#
    );
    if dev {
        y.push_str("      dev: { description: development }\n");
    }
    if web {
        y.push_str(
            r#"  - name: web
    protocol: HTTP
    routes:
      GET /items/{id}:
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/items/{id}" }
    stages: { $default: {} }
"#,
        );
    }
    y
}

fn apis(yaml: &str) -> Vec<Api> {
    let loaded =
        archway_model::validate::load_config_str("archway.yaml", yaml, std::path::Path::new("."));
    let (model, _) = loaded.into_result().expect("a valid file");
    model.apis
}

fn apply_file(store: &SqliteStore, yaml: &str) -> Result<archway_control::Outcome, String> {
    apply(
        store,
        Change::ApplyFile {
            source: "/etc/archway.yaml".into(),
            apis: apis(yaml),
        },
    )
    .map_err(|e| e.message)
}

fn keys(store: &SqliteStore, kind: &str, scope: &str) -> Vec<String> {
    store
        .list(kind, scope)
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect()
}

fn stage_deployment(store: &SqliteStore, api: &str, stage: &str) -> String {
    let s = store.get(KIND_STAGE, api, stage).unwrap().expect("stage");
    s.body["deploymentId"].as_str().unwrap().to_string()
}

#[test]
fn a_file_applies_declaratively_deploys_only_changes_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();

    apply_file(&store, &file("one", "red", true, true)).unwrap();
    let api = store
        .get(KIND_RESTAPI, "", "pets")
        .unwrap()
        .expect("restapi");
    assert_eq!(api.body["managedBy"]["type"], "FILE");
    assert_eq!(api.body["managedBy"]["source"], "/etc/archway.yaml");
    assert_eq!(api.body["name"], "pets");
    assert!(api.body["definition"]["paths"]["/ping"]["get"].is_object());
    let deps = keys(&store, KIND_DEPLOYMENT, "pets");
    assert_eq!(deps.len(), 1, "one deployment for the two stages");
    assert_eq!(keys(&store, KIND_STAGE, "pets"), ["dev", "prod"]);
    assert_eq!(stage_deployment(&store, "pets", "prod"), deps[0]);
    assert_eq!(stage_deployment(&store, "pets", "dev"), deps[0]);
    let prod = store.get(KIND_STAGE, "pets", "prod").unwrap().unwrap();
    assert_eq!(prod.body["variables"]["color"], "red");
    let web = store
        .get(KIND_HTTPAPI, "", "web")
        .unwrap()
        .expect("httpapi");
    assert_eq!(web.body["managedBy"]["type"], "FILE");
    let routes = web.body["routes"].as_object().unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(
        routes.values().next().unwrap()["routeKey"],
        "GET /items/{id}"
    );
    let web_dep = stage_deployment(&store, "web", "$default");
    let d = store
        .get(KIND_DEPLOYMENT, "web", &web_dep)
        .unwrap()
        .unwrap();
    assert_eq!(d.body["protocol"], "HTTP");

    // What the data plane gets: every stage on its deployment.
    let (_, served) = load_apis(&store, &DefinitionCache::default()).unwrap();
    let pets = served.iter().find(|a| a.id == "pets").unwrap();
    assert_eq!(pets.stages.len(), 2);
    for s in &pets.stages {
        assert_eq!(s.deployment_id.as_deref(), Some(deps[0].as_str()));
        assert_eq!(s.deployment.routes.len(), 1);
    }

    // The same file again writes nothing.
    let rev = store.revision().unwrap();
    let again = apply_file(&store, &file("one", "red", true, true)).unwrap();
    assert_eq!(again.revision, rev);
    assert_eq!(store.revision().unwrap(), rev);

    // A stage variable changes the stage, not the deployment.
    apply_file(&store, &file("one", "blue", true, true)).unwrap();
    assert!(store.revision().unwrap() > rev);
    assert_eq!(keys(&store, KIND_DEPLOYMENT, "pets"), deps);
    let prod = store.get(KIND_STAGE, "pets", "prod").unwrap().unwrap();
    assert_eq!(prod.body["variables"]["color"], "blue");
    assert_eq!(stage_deployment(&store, "web", "$default"), web_dep);

    // A new definition is a new deployment, which both stages serve; the old one is kept.
    apply_file(&store, &file("two", "blue", true, true)).unwrap();
    let now = keys(&store, KIND_DEPLOYMENT, "pets");
    assert_eq!(now.len(), 2);
    let new = now.iter().find(|d| **d != deps[0]).unwrap();
    assert_eq!(&stage_deployment(&store, "pets", "prod"), new);
    assert_eq!(&stage_deployment(&store, "pets", "dev"), new);
    assert_eq!(stage_deployment(&store, "web", "$default"), web_dep);

    // What left the file goes: the HTTP API with its stage and deployments, the dev stage.
    apply_file(&store, &file("two", "blue", false, false)).unwrap();
    assert!(store.get(KIND_HTTPAPI, "", "web").unwrap().is_none());
    assert!(keys(&store, KIND_STAGE, "web").is_empty());
    assert!(keys(&store, KIND_DEPLOYMENT, "web").is_empty());
    assert_eq!(keys(&store, KIND_STAGE, "pets"), ["prod"]);

    // An API of the file can change protocol: the old documents go, new ones come.
    let http_pets = file("two", "blue", false, false).replace("protocol: REST", "protocol: HTTP");
    apply_file(&store, &http_pets).unwrap();
    assert!(store.get(KIND_RESTAPI, "", "pets").unwrap().is_none());
    assert!(store.get(KIND_HTTPAPI, "", "pets").unwrap().is_some());
    assert_eq!(keys(&store, KIND_DEPLOYMENT, "pets").len(), 1);

    // An empty file leaves no API of the file.
    apply_file(&store, "apis: []\n").unwrap();
    assert!(store.list(KIND_HTTPAPI, "").unwrap().is_empty());
    assert!(store.list(KIND_RESTAPI, "").unwrap().is_empty());
}

#[test]
fn a_refused_file_writes_nothing_and_the_admin_api_cannot_write_the_files_apis() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    apply_file(&store, &file("one", "red", false, true)).unwrap();
    let rev = store.revision().unwrap();

    // A stage that would not compile (its integration needs a variable it lacks).
    let mut bad = apis(
        &file("one", "red", false, true).replace(
            "GET /items/{id}:",
            "GET /v/{id}:\n        integration: { type: HTTP_PROXY, uri: \"http://${stageVariables.up}/\" }\n      GET /items/{id}:",
        )
        .replace("stages: { $default: {} }", "stages: { $default: { variables: { up: a.example } } }"),
    );
    bad[1].stages[0].variables.clear();
    let err = apply(
        &store,
        Change::ApplyFile {
            source: "archway.yaml".into(),
            apis: bad,
        },
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("API `web` (web)"), "{}", err.message);
    assert!(err.message.contains("stage `$default`"), "{}", err.message);
    assert_eq!(store.revision().unwrap(), rev);

    // An id the admin API already uses.
    let imported = apply(
        &store,
        Change::ImportRestApi {
            body: r#"{"openapi": "3.0.1", "info": {"title": "mine", "version": "1"}, "paths": {}}"#
                .into(),
            parameters: vec![],
            fail_on_warnings: false,
        },
    )
    .unwrap();
    let taken = imported.body["id"].as_str().unwrap().to_string();
    let rev = store.revision().unwrap();
    let clash = file("two", "red", false, false).replace(
        "  - name: pets\n",
        &format!("  - name: pets\n    id: {taken}\n"),
    );
    let err = apply_file(&store, &clash).unwrap_err();
    assert!(err.contains(&format!("API id {taken} is taken")), "{err}");
    assert_eq!(store.revision().unwrap(), rev);
    assert!(
        store.get(KIND_HTTPAPI, "", "web").unwrap().is_some(),
        "web stays"
    );

    // The admin API reads the file's APIs but cannot write them.
    let refused = [
        Change::CreateDeployment {
            api_id: "pets".into(),
            input: CreateDeployment::default(),
        },
        Change::CreateStage {
            api_id: "pets".into(),
            input: CreateStage {
                stage_name: Some("extra".into()),
                deployment_id: Some(stage_deployment(&store, "pets", "prod")),
                ..Default::default()
            },
        },
        Change::DeleteRestApi {
            api_id: "pets".into(),
        },
        Change::V2(Box::new(V2Change::CreateRoute {
            api_id: "web".into(),
            input: RouteInput {
                route_key: Some("GET /x".into()),
                ..Default::default()
            },
        })),
        Change::V2(Box::new(V2Change::DeleteApi {
            api_id: "web".into(),
        })),
    ];
    for change in refused {
        let what = format!("{change:?}");
        let err = apply(&store, change).expect_err(&what);
        assert_eq!(err.kind, ErrorKind::BadRequest, "{what}");
        assert!(
            err.message.contains("is managed by FILE /etc/archway.yaml"),
            "{what}: {}",
            err.message
        );
    }
    assert_eq!(store.revision().unwrap(), rev);
    // The admin API's own API is still its own.
    apply(
        &store,
        Change::DeleteRestApi {
            api_id: taken.clone(),
        },
    )
    .unwrap();
}
