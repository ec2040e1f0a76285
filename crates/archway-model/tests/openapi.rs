//! Tests of `archway_model::openapi`: importing OpenAPI 3.0 / 3.1 and Swagger 2.0 documents with
//! API Gateway's extensions, the fail-closed gate, and export → import round trips.
//!
//! The documents in `shared/fixtures/openapi/` are real API Gateway documents (PetStore, mock +
//! CORS, stage variables, Cognito and Lambda authorizers, base path server variables), copied
//! from localstack's test suite: see `shared/fixtures/SOURCES.md` for where each comes from.

use archway_model::openapi::{
    check_served, export, import, BasePathMode, ExportFormat, Feature, ImportOptions, ImportedApi,
    SourceFormat,
};
use archway_model::source::{Diagnostic, Severity};
use archway_model::*;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/openapi")
}

/// Every fixture: (file name, text).
fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixtures_dir())
        .expect("shared/fixtures/openapi exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("readable fixture");
            (name, text)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 9,
        "expected the nine OpenAPI fixtures, found {}",
        out.len()
    );
    out
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(name)).expect("fixture exists")
}

fn list(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn import_with(name: &str, text: &str, opts: &ImportOptions) -> (ImportedApi, Vec<Diagnostic>) {
    let imported = import(name, text, opts);
    match imported.into_result() {
        Ok(ok) => ok,
        Err(diags) => panic!("{name} did not import:\n{}", list(&diags)),
    }
}

fn import_ok(name: &str, text: &str) -> ImportedApi {
    import_with(name, text, &ImportOptions::default()).0
}

fn http_api() -> ImportOptions {
    ImportOptions {
        protocol: Some(Protocol::Http),
        ..ImportOptions::default()
    }
}

/// The errors an import of `text` reports (it must fail).
fn import_errors(text: &str, opts: &ImportOptions) -> Vec<Diagnostic> {
    let imported = import("doc.yaml", text, opts);
    assert!(
        imported.api.is_none(),
        "expected errors, got none; warnings:\n{}",
        list(&imported.diagnostics)
    );
    let errors: Vec<Diagnostic> = imported.errors().cloned().collect();
    assert!(!errors.is_empty());
    errors
}

fn route<'a>(def: &'a ApiDefinition, key: &str) -> &'a Route {
    def.routes
        .iter()
        .find(|r| r.key.to_string() == key)
        .unwrap_or_else(|| {
            panic!(
                "no route `{key}` among {:?}",
                def.routes
                    .iter()
                    .map(|r| r.key.to_string())
                    .collect::<Vec<_>>()
            )
        })
}

/// A definition in a form two equal definitions share: everything, routes in key order.
fn normalized(def: &ApiDefinition) -> String {
    let mut d = def.clone();
    d.routes.sort_by_key(|r| r.key.to_string());
    format!("{d:#?}")
}

/// Export in `format`, import again, and compare.
fn assert_round_trip(name: &str, api: &ImportedApi, format: ExportFormat) {
    let doc = export(&api.name, api.protocol, &api.definition, None, format);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let opts = ImportOptions {
        protocol: Some(api.protocol),
        ..ImportOptions::default()
    };
    let (again, _) = import_with(&format!("{name} exported as {format:?}"), &text, &opts);
    assert_eq!(again.name, api.name);
    let (a, b) = (normalized(&api.definition), normalized(&again.definition));
    if a != b {
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let context = |s: &str| {
            s.lines()
                .skip(first.saturating_sub(8))
                .take(16)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{name} does not round-trip through {format:?}; first difference at line {first}:\n--- imported\n{}\n--- re-imported\n{}\n--- document\n{text}",
            context(&a),
            context(&b)
        );
    }
}

/// `(route key or "" for the API, feature)` for each use [`check_served`] reports.
fn gate(def: &ApiDefinition) -> Vec<(String, Feature)> {
    check_served(def)
        .into_iter()
        .map(|u| (u.route_key.unwrap_or_default(), u.feature))
        .collect()
}

#[test]
fn every_fixture_imports_without_errors() {
    for (name, text) in fixtures() {
        let (api, diags) = import_with(&name, &text, &ImportOptions::default());
        assert!(!api.definition.routes.is_empty(), "{name} has no routes");
        assert_eq!(api.route_locations.len(), api.definition.routes.len());
        for d in &diags {
            assert_eq!(d.severity, Severity::Warning, "{d}");
        }
    }
}

#[test]
fn the_gate_names_every_route_and_feature_that_is_not_enforced() {
    use Feature::*;
    let expected: &[(&str, &[(&str, Feature)])] = &[
        ("openapi-basepath-server-variable.yaml", &[]),
        (
            "openapi-http-method-integration.json",
            &[
                ("GET /", AwsIntegration),
                ("GET /", ContentHandling),
                ("GET /", MappingTemplate),
            ],
        ),
        ("openapi-mock.json", &[]),
        (
            "openapi.cognito-auth.json",
            &[
                ("GET /default-no-scope", CognitoAuthorizer),
                ("GET /default-scope-override", CognitoAuthorizer),
                ("GET /non-default-authorizer", CognitoAuthorizer),
                ("GET /pets", CognitoAuthorizer),
            ],
        ),
        (
            "openapi.spec.global-auth.json",
            &[
                ("GET /pets", LambdaAuthorizer),
                ("ANY /echo/{data}", LambdaAuthorizer),
            ],
        ),
        ("openapi.spec.stage-variables.json", &[]),
        (
            "petstore-authorizer.swagger.json",
            &[
                ("GET /", LambdaAuthorizer),
                ("GET /pets", LambdaAuthorizer),
                ("GET /pets", IntegrationUri),
                ("POST /pets", IntegrationUri),
                ("GET /pets/{petId}", IntegrationUri),
            ],
        ),
        (
            "petstore-swagger.json",
            &[
                ("GET /pets", IntegrationUri),
                ("POST /pets", IntegrationUri),
                ("GET /pets/{petId}", IntegrationUri),
            ],
        ),
        // AWS_PROXY is served (by local functions; the snapshot refuses a function nobody
        // declared), so the gate lets it through.
        ("swagger-mock-cors.json", &[]),
    ];
    let all = fixtures();
    assert_eq!(
        all.len(),
        expected.len(),
        "a fixture was added: list what the gate says about it"
    );
    for (name, want) in expected {
        let text = fixture(name);
        let api = import_ok(name, &text);
        let got = gate(&api.definition);
        let want: Vec<(String, Feature)> = want.iter().map(|(k, f)| (k.to_string(), *f)).collect();
        assert_eq!(got, want, "{name}");
        // The diagnostics name the route, the feature and the operation's line.
        for d in api.check_served(name) {
            assert!(d.is_error());
            assert!(d.line > 0, "{d}");
            assert!(d.path.starts_with("/paths/"), "{d}");
            assert!(d.message.starts_with("route `"), "{d}");
        }
    }
}

#[test]
fn every_fixture_round_trips_through_oas30_and_swagger2() {
    for (name, text) in fixtures() {
        let api = import_ok(&name, &text);
        assert_round_trip(&name, &api, ExportFormat::Oas30);
        assert_round_trip(&name, &api, ExportFormat::Swagger2);
    }
}

#[test]
fn fixtures_map_onto_the_model() {
    // Swagger 2.0 PetStore with a TOKEN authorizer.
    let api = import_ok("petstore", &fixture("petstore-authorizer.swagger.json"));
    assert_eq!(api.name, "PetStore");
    assert_eq!(api.format, SourceFormat::Swagger2);
    let def = &api.definition;
    let auth = &def.authorizers["test-authorizer"];
    assert_eq!(auth.kind, AuthorizerType::Token);
    assert_eq!(auth.result_ttl_in_seconds, Some(60));
    assert_eq!(
        auth.identity_validation_expression.as_deref(),
        Some("^x-[a-z]+")
    );
    assert_eq!(auth.auth_type.as_deref(), Some("oauth2"));
    assert_eq!(auth.scheme_name.as_deref(), Some("Authorization"));
    let get_pets = route(def, "GET /pets");
    assert_eq!(
        get_pets.authorization,
        Authorization::Custom("test-authorizer".into())
    );
    assert_eq!(
        get_pets.request_parameters,
        vec![
            RequestParameter {
                location: ParamLocation::QueryString,
                name: "type".into(),
                required: false
            },
            RequestParameter {
                location: ParamLocation::QueryString,
                name: "page".into(),
                required: false
            },
        ]
    );
    assert_eq!(
        get_pets.method_responses["200"].models["application/json"],
        "Pets"
    );
    let post = route(def, "POST /pets");
    assert_eq!(post.operation_id.as_deref(), Some("CreatePet"));
    assert_eq!(post.authorization, Authorization::None);
    assert_eq!(post.request_models["application/json"], "NewPet");
    // Models are self-contained draft-4 schemas.
    assert_eq!(
        def.models["NewPet"],
        serde_json::json!({
            "type": "object",
            "properties": {
                "type": { "$ref": "#/definitions/PetType" },
                "price": { "type": "number" }
            },
            "definitions": {
                "PetType": { "type": "string", "enum": ["dog", "cat", "fish", "bird", "gecko"] }
            }
        })
    );
    let mock = route(def, "OPTIONS /pets");
    assert_eq!(mock.integration.kind, IntegrationType::Mock);
    assert_eq!(
        mock.integration.responses[0].response_parameters[0],
        (
            "access-control-allow-methods".to_string(),
            ResponseParamSource::Static("POST,GET,OPTIONS".into())
        )
    );

    // OpenAPI 3 with Cognito authorizers: scopes per operation, else the document's.
    let def = import_ok("cognito", &fixture("openapi.cognito-auth.json")).definition;
    assert_eq!(
        def.authorizers["cognito-test-identity-source"].kind,
        AuthorizerType::CognitoUserPools
    );
    assert_eq!(
        def.authorizers["cognito-test-identity-source"].provider_arns,
        ["${cognito_pool_arn}"]
    );
    assert!(route(&def, "GET /default-no-scope")
        .authorization_scopes
        .is_empty());
    assert_eq!(
        route(&def, "GET /default-scope-override").authorization_scopes,
        ["openid"]
    );
    assert_eq!(
        route(&def, "GET /non-default-authorizer").authorization_scopes,
        ["email", "openid"]
    );
    let pets = route(&def, "GET /pets");
    assert_eq!(
        pets.authorization,
        Authorization::CognitoUserPools("cognito-test-identity-source".into())
    );
    assert_eq!(pets.authorization_scopes, ["email"]);
    assert_eq!(pets.integration.kind, IntegrationType::HttpProxy);
    assert_eq!(
        pets.integration.payload_format_version.as_deref(),
        Some("1.0")
    );

    // A REQUEST authorizer for the whole document, API keys from the authorizer.
    let def = import_ok("global", &fixture("openapi.spec.global-auth.json")).definition;
    assert_eq!(def.api_key_source, ApiKeySource::Authorizer);
    let a = &def.authorizers["GatewayAuthorizer"];
    assert_eq!(a.kind, AuthorizerType::Request);
    assert_eq!(
        a.identity_source.as_deref(),
        Some("method.request.header.Custom-Authorization")
    );
    assert_eq!(a.result_ttl_in_seconds, Some(300));
    assert_eq!(
        route(&def, "ANY /echo/{data}").authorization,
        Authorization::Custom("GatewayAuthorizer".into())
    );

    // Stage variables in an HTTP_PROXY URI.
    let def = import_ok("stagevars", &fixture("openapi.spec.stage-variables.json")).definition;
    let i = &route(&def, "GET /path1").integration;
    let uri = i.uri.as_ref().unwrap();
    assert_eq!(
        uri.stage_variables().collect::<Vec<_>>(),
        ["TestHost", "testPath", "querystring"]
    );
    assert_eq!(i.http_method.as_deref(), Some("POST"));

    // An AWS integration whose Velocity template is kept for export but refused by the gate.
    let def = import_ok("aws", &fixture("openapi-http-method-integration.json")).definition;
    let i = &route(&def, "GET /").integration;
    assert_eq!(i.kind, IntegrationType::Aws);
    assert_eq!(i.content_handling, Some(ContentHandling::ConvertToText));
    assert_eq!(i.passthrough_behavior, PassthroughBehavior::WhenNoTemplates);
    assert_eq!(i.uri.as_ref().unwrap().source, "${lambda_invocation_arn}");
    let t = &i.request_templates["application/json"];
    assert!(
        t.unsupported().unwrap().contains("#set"),
        "{:?}",
        t.unsupported()
    );
    assert!(t.source().starts_with("#set($allParams"));

    // Lambda proxy integrations keep their ARN.
    let def = import_ok("cors", &fixture("swagger-mock-cors.json")).definition;
    let i = &route(&def, "GET /product").integration;
    assert_eq!(i.kind, IntegrationType::AwsProxy);
    assert!(i
        .uri
        .as_ref()
        .unwrap()
        .source
        .starts_with("arn:aws:apigateway:us-east-1:lambda:path/"));

    // x-amazon-apigateway-any-method is ANY.
    let def = import_ok("mock", &fixture("openapi-mock.json")).definition;
    assert_eq!(def.routes.len(), 1);
    assert_eq!(def.routes[0].key.to_string(), "ANY /echo/{data}");
}

#[test]
fn base_path_server_variable_and_the_three_modes() {
    let text = fixture("openapi-basepath-server-variable.yaml");
    let keys = |mode| {
        let opts = ImportOptions {
            base_path: mode,
            ..ImportOptions::default()
        };
        let (api, _) = import_with("bp", &text, &opts);
        assert_eq!(api.base_path.as_deref(), Some("/base-var"));
        api.definition
            .routes
            .iter()
            .map(|r| r.key.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(BasePathMode::Ignore), ["GET /test", "OPTIONS /test"]);
    assert_eq!(
        keys(BasePathMode::Prepend),
        ["GET /base-var/test", "OPTIONS /base-var/test"]
    );
    // One segment: it is the stage name, so nothing is left to prepend.
    assert_eq!(keys(BasePathMode::Split), ["GET /test", "OPTIONS /test"]);

    // Swagger 2.0 `basePath`, in YAML.
    let swagger = r#"
swagger: "2.0"
info: {title: shop, version: "1"}
basePath: /a/b/c/
paths:
  /e:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, uri: "http://example.com/e", httpMethod: GET}
  /:
    get:
      x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: 200}}}
"#;
    for (mode, want) in [
        (BasePathMode::Ignore, ["GET /e", "GET /"]),
        (BasePathMode::Prepend, ["GET /a/b/c/e", "GET /a/b/c"]),
        (BasePathMode::Split, ["GET /b/c/e", "GET /b/c"]),
    ] {
        let opts = ImportOptions {
            base_path: mode,
            ..ImportOptions::default()
        };
        let (api, _) = import_with("swagger.yaml", swagger, &opts);
        assert_eq!(api.base_path.as_deref(), Some("/a/b/c"));
        let keys: Vec<String> = api
            .definition
            .routes
            .iter()
            .map(|r| r.key.to_string())
            .collect();
        assert_eq!(keys, want, "{mode:?}");
    }

    // OpenAPI 3 without a basePath variable: the server URL's path, variables substituted.
    let oas = r#"
openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: "https://{host}/{version}/api"
    variables:
      host: {default: example.com}
      version: {default: v2}
paths:
  /x:
    get:
      x-amazon-apigateway-integration: {type: mock}
"#;
    let (api, _) = import_with("oas.yaml", oas, &ImportOptions::default());
    assert_eq!(api.base_path.as_deref(), Some("/v2/api"));
    assert_eq!(api.definition.routes[0].key.to_string(), "GET /x");
}

#[test]
fn openapi_31_yaml() {
    let text = r#"
openapi: 3.1.0
info:
  title: orders
  version: "2024-01-01"
paths:
  /orders:
    post:
      operationId: create-order
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [qty]
              properties:
                qty: {type: integer, exclusiveMinimum: 0}
                kind: {const: standard}
                note: {type: [string, "null"]}
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: https://orders.internal/orders
        httpMethod: ANY
        timeoutInMillis: 5000
"#;
    let api = import_ok("orders.yaml", text);
    assert_eq!(api.format, SourceFormat::OpenApi31);
    let r = route(&api.definition, "POST /orders");
    assert_eq!(r.integration.http_method, None);
    assert_eq!(
        r.integration.timeout,
        std::time::Duration::from_millis(5000)
    );
    // The inline schema became a model, in draft 4.
    let model_name = &r.request_models["application/json"];
    assert_eq!(model_name, "CreateOrderBody");
    assert_eq!(
        api.definition.models[model_name]["properties"],
        serde_json::json!({
            "qty": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
            "kind": {"enum": ["standard"]},
            "note": {"type": ["string", "null"]}
        })
    );
    assert!(gate(&api.definition).is_empty());
    assert_round_trip("orders.yaml", &api, ExportFormat::Oas30);
    assert_round_trip("orders.yaml", &api, ExportFormat::Swagger2);
}

#[test]
fn circular_schema_refs_become_self_contained_models() {
    let text = r##"
openapi: 3.0.1
info: {title: tree, version: "1"}
paths:
  /nodes:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Node"}
      x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: "200"}}}
components:
  schemas:
    Node:
      type: object
      properties:
        children: {type: array, items: {$ref: "#/components/schemas/Node"}}
        owner: {$ref: "#/components/schemas/Person"}
        label: {$ref: "#/components/schemas/Person/properties/name"}
    Person:
      type: object
      properties:
        name: {type: string}
        pets: {type: array, items: {$ref: "#/components/schemas/Pet"}}
    Pet:
      type: object
      properties:
        owner: {$ref: "#/components/schemas/Person"}
"##;
    let api = import_ok("tree.yaml", text);
    let models = &api.definition.models;
    assert_eq!(
        route(&api.definition, "POST /nodes").request_models["application/json"],
        "Node"
    );
    let node = &models["Node"];
    assert_eq!(
        node["properties"]["children"]["items"]["$ref"],
        "#/definitions/Node"
    );
    assert_eq!(node["properties"]["owner"]["$ref"], "#/definitions/Person");
    // A pointer into a schema that is not a model itself is inlined.
    assert_eq!(
        node["properties"]["label"],
        serde_json::json!({"type": "string"})
    );
    let defs = node["definitions"].as_object().unwrap();
    assert_eq!(defs.keys().collect::<Vec<_>>(), ["Node", "Person", "Pet"]);
    // Person ↔ Pet: each model carries the other and itself.
    let person = &models["Person"];
    assert_eq!(
        person["properties"]["pets"]["items"]["$ref"],
        "#/definitions/Pet"
    );
    assert_eq!(
        person["definitions"]["Pet"]["properties"]["owner"]["$ref"],
        "#/definitions/Person"
    );
    assert!(person["definitions"]["Person"].is_object());
    assert_round_trip("tree.yaml", &api, ExportFormat::Oas30);
    assert_round_trip("tree.yaml", &api, ExportFormat::Swagger2);

    // A cycle through pointers that are not named schemas cannot be a model: an error, no loop.
    let cyclic = r##"
openapi: 3.0.1
info: {title: loop, version: "1"}
paths: {}
components:
  schemas:
    A:
      type: object
      properties:
        x: {$ref: "#/components/schemas/A/properties/y"}
        y: {$ref: "#/components/schemas/A/properties/x"}
"##;
    let errors = import_errors(cyclic, &ImportOptions::default());
    assert!(
        errors.iter().any(|e| e.message.contains("circle")),
        "{}",
        list(&errors)
    );

    // A model must be a draft-4 JSON Schema, as the data plane compiles it.
    let invalid = r##"
swagger: "2.0"
info: {title: bad, version: "1"}
paths: {}
definitions:
  Bad: {type: object, properties: {n: {type: 5}}}
"##;
    let errors = import_errors(invalid, &ImportOptions::default());
    assert_eq!(errors[0].path, "/definitions/Bad", "{}", list(&errors));
    assert!(errors[0].message.contains("draft 4"), "{}", list(&errors));
}

#[test]
fn remote_refs_are_refused_with_their_pointer_and_never_fetched() {
    let text = r##"{
  "openapi": "3.0.1",
  "info": {"title": "remote", "version": "1"},
  "paths": {
    "/pets": {
      "get": {
        "parameters": [{"$ref": "https://example.com/params.json#/limit"}],
        "x-amazon-apigateway-integration": {"type": "mock"}
      }
    }
  },
  "components": {
    "schemas": {
      "Pet": {"$ref": "pet.yaml#/Pet"}
    }
  }
}"##;
    let errors = import_errors(text, &ImportOptions::default());
    let pointers: Vec<(&str, u32)> = errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert!(
        pointers.contains(&("/paths/~1pets/get/parameters/0/$ref", 7)),
        "{}",
        list(&errors)
    );
    assert!(
        pointers.contains(&("/components/schemas/Pet/$ref", 14)),
        "{}",
        list(&errors)
    );
    assert!(errors[0].message.contains("never fetches"), "{}", errors[0]);

    // A local reference that goes nowhere is an error too.
    let dangling = r##"
openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /a:
    get:
      parameters: [{$ref: "#/components/parameters/nope"}]
      x-amazon-apigateway-integration: {type: mock}
"##;
    let errors = import_errors(dangling, &ImportOptions::default());
    assert_eq!(
        errors[0].path,
        "/paths/~1a/get/parameters/0/$ref",
        "{}",
        list(&errors)
    );
}

#[test]
fn duplicate_operations_are_errors() {
    let doc = |paths: &str| {
        format!("openapi: 3.0.1\ninfo: {{title: dup, version: '1'}}\npaths:\n{paths}")
    };
    let mock = "x-amazon-apigateway-integration: {type: mock}";
    // The same method and path but for the parameter's name.
    let errors = import_errors(
        &doc(&format!(
            "  /pets/{{id}}:\n    get: {{{mock}}}\n  /pets/{{petId}}:\n    get: {{{mock}}}\n"
        )),
        &ImportOptions::default(),
    );
    assert_eq!(errors.len(), 1, "{}", list(&errors));
    assert_eq!(errors[0].path, "/paths/~1pets~1{petId}/get");
    assert_eq!(errors[0].line, 7);
    assert!(
        errors[0].message.contains("duplicate operation"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].message.contains("/paths/~1pets~1{id}/get"),
        "{}",
        errors[0]
    );

    // A trailing slash names the same resource.
    let errors = import_errors(
        &doc(&format!(
            "  /pets:\n    get: {{{mock}}}\n  /pets/:\n    get: {{{mock}}}\n"
        )),
        &ImportOptions::default(),
    );
    assert!(
        errors[0].message.contains("duplicate operation"),
        "{}",
        errors[0]
    );

    // REST: two names for one variable segment, even on different methods.
    let two_names = doc(&format!(
        "  /pets/{{id}}:\n    get: {{{mock}}}\n  /pets/{{petId}}/toys:\n    post: {{{mock}}}\n"
    ));
    let errors = import_errors(&two_names, &ImportOptions::default());
    assert!(
        errors[0]
            .message
            .contains("one variable segment per position"),
        "{}",
        errors[0]
    );
    // HTTP APIs allow it.
    import_with("http", &two_names, &http_api());
}

#[test]
fn a_malformed_extension_is_an_error_at_its_pointer_and_line() {
    let text = r#"openapi: 3.0.1
info: {title: bad, version: "1"}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: http://example.com/pets
        timeoutInMillis: soon
        passthroughBehavior: sometimes
  /cats:
    get:
      x-amazon-apigateway-integration: [not, an, object]
x-amazon-apigateway-gateway-responses:
  NOT_A_TYPE: {statusCode: 400}
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: yes}
"#;
    let errors = import_errors(text, &ImportOptions::default());
    let got: Vec<(&str, u32)> = errors.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        got,
        [
            (
                "/paths/~1pets/get/x-amazon-apigateway-integration/timeoutInMillis",
                9
            ),
            (
                "/paths/~1pets/get/x-amazon-apigateway-integration/passthroughBehavior",
                10
            ),
            ("/paths/~1cats/get/x-amazon-apigateway-integration", 13),
            ("/x-amazon-apigateway-gateway-responses/NOT_A_TYPE", 15),
            (
                "/x-amazon-apigateway-request-validators/all/validateRequestBody",
                17
            ),
        ],
        "{}",
        list(&errors)
    );
    let shown = errors[0].to_string();
    assert!(
        shown.starts_with("doc.yaml:9:"),
        "a diagnostic shows file and line: {shown}"
    );
}

#[test]
fn an_unknown_extension_is_a_warning() {
    let text = r#"
openapi: 3.0.1
info: {title: w, version: "1"}
x-amazon-apigateway-foo: true
x-company-thing: ignored silently
paths:
  /a:
    get:
      x-amazon-apigateway-bar: {}
      x-amazon-apigateway-integration:
        type: mock
        colour: blue
        responses: {default: {statusCode: "200"}}
"#;
    let (api, diags) = import_with("w.yaml", text, &ImportOptions::default());
    assert_eq!(api.definition.routes.len(), 1);
    let warnings: Vec<(&str, u32)> = diags.iter().map(|d| (d.path.as_str(), d.line)).collect();
    assert_eq!(
        warnings,
        [
            ("/x-amazon-apigateway-foo", 4),
            ("/paths/~1a/get/x-amazon-apigateway-bar", 9),
            ("/paths/~1a/get/x-amazon-apigateway-integration/colour", 12),
        ],
        "{}",
        list(&diags)
    );
    assert!(diags.iter().all(|d| d.severity == Severity::Warning));
}

#[test]
fn bad_input_gets_clear_errors_and_never_a_panic() {
    // Every prefix of real documents: a truncated file is an error (or, cut at a lucky place,
    // a smaller document), never a panic.
    for (name, text) in fixtures() {
        let cuts: Vec<usize> = (0..text.len())
            .step_by(97)
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        for cut in cuts {
            let imported = import(&name, &text[..cut], &ImportOptions::default());
            if imported.api.is_none() {
                assert!(imported.errors().next().is_some(), "{name} cut at {cut}");
            }
        }
    }
    let truncated = &fixture("openapi-mock.json")[..700];
    let errors = import_errors(truncated, &ImportOptions::default());
    assert!(
        errors[0].message.contains("invalid YAML"),
        "{}",
        list(&errors)
    );

    // A billion laughs.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let errors = import_errors(&bomb, &ImportOptions::default());
    assert!(errors[0].message.contains("alias"), "{}", list(&errors));

    // Deep nesting.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let errors = import_errors(&deep, &ImportOptions::default());
    assert!(errors[0].message.contains("nesting"), "{}", list(&errors));
    let deep_yaml: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let errors = import_errors(&deep_yaml, &ImportOptions::default());
    assert!(errors[0].message.contains("nesting"), "{}", list(&errors));

    // Not an OpenAPI document at all.
    for (text, says) in [
        ("", "must be an object"),
        ("[1, 2]", "must be an object"),
        ("{\"hello\": 1}", "neither `openapi`"),
        ("openapi: 4.0.0\ninfo: {title: x}\npaths: {}", "only OpenAPI 3.0 and 3.1"),
        ("swagger: '1.2'\ninfo: {title: x}\npaths: {}", "only Swagger 2.0"),
        ("openapi: 3.0.0\npaths: {}", "`info` is required"),
        ("openapi: 3.0.0\ninfo: {version: '1'}\npaths: {}", "`title` is required"),
        (
            "openapi: 3.0.0\ninfo: {title: x}\npaths:\n  /a:\n    get: {}\n",
            "has no `x-amazon-apigateway-integration`",
        ),
        ("openapi: 3.0.0\ninfo: {title: x}\npaths: {a: {}}", "must start with `/`"),
        ("openapi: 3.0.0\ninfo: {title: x}\npaths: {\"/a/{b\": {}}", "without closing"),
        ("openapi: 3.0.0\ninfo: {title: x}\npaths: {/a: {trace: {}}}", "TRACE"),
        (
            "openapi: 3.0.0\ninfo: {title: x}\npaths: {$default: {x-amazon-apigateway-any-method: {}}}",
            "only on HTTP APIs",
        ),
    ] {
        let errors = import_errors(text, &ImportOptions::default());
        assert!(
            errors.iter().any(|e| e.message.contains(says)),
            "{text:?} should say {says:?}:\n{}",
            list(&errors)
        );
    }
}

/// A REST API with `n` resources, each with GET and POST (so `2n` routes), models and an
/// authorizer: the size of document the benchmark in `bench/` imports and compiles.
fn generated(n: usize) -> String {
    let mut paths = serde_json::Map::new();
    for i in 0..n {
        paths.insert(
            format!("/resources{i}/{{id}}/items"),
            serde_json::json!({
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "page", "in": "query", "schema": {"type": "string"}}
                    ],
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy",
                        "httpMethod": "GET",
                        "uri": format!("http://backend.internal/r{i}/{{id}}/items")
                    }
                },
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
                    "x-amazon-apigateway-request-validator": "all",
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                        "responses": {"default": {"statusCode": "201"}}
                    }
                }
            }),
        );
    }
    serde_json::to_string(&serde_json::json!({
        "openapi": "3.0.1",
        "info": {"title": "big", "version": "1"},
        "paths": paths,
        "components": {"schemas": {
            "Item": {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}}},
            "Tag": {"type": "string"}
        }},
        "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true}}
    }))
    .unwrap()
}

#[test]
fn a_two_thousand_route_document_imports() {
    // Speed is measured by the benchmark in bench/, never by a timed test; this checks the
    // result.
    let text = generated(1000);
    let api = import_ok("big.json", &text);
    let def = &api.definition;
    assert_eq!(def.routes.len(), 2000);
    assert_eq!(def.models.len(), 2);
    assert!(gate(def).is_empty());
    let post = route(def, "POST /resources999/{id}/items");
    assert_eq!(post.request_models["application/json"], "Item");
    assert!(
        def.request_validator_for(post)
            .unwrap()
            .1
            .validate_request_body
    );
    let doc = export("big", Protocol::Rest, def, None, ExportFormat::Oas30);
    let again = import_ok("big.json", &doc.to_string());
    assert_eq!(again.definition.routes.len(), 2000);
}

#[test]
fn http_api_default_route_cors_and_jwt() {
    let text = r#"
openapi: 3.0.1
info: {title: chat, version: "1"}
x-amazon-apigateway-importexport-version: "1.0"
x-amazon-apigateway-cors:
  allowOrigins: [https://app.example.com]
  allowMethods: [GET, POST]
  allowHeaders: [content-type, authorization]
  exposeHeaders: [x-request-id]
  maxAge: 600
  allowCredentials: true
components:
  securitySchemes:
    jwt:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: "$request.header.Authorization"
        jwtConfiguration:
          issuer: https://issuer.example.com
          audience: [chat]
paths:
  $default:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: http://backend.internal
        payloadFormatVersion: "1.0"
  /me:
    get:
      security: [{jwt: [profile]}]
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: http://backend.internal/me
        httpMethod: GET
        payloadFormatVersion: "1.0"
"#;
    let (api, diags) = import_with("chat.yaml", text, &http_api());
    assert!(diags.is_empty(), "{}", list(&diags));
    let def = &api.definition;
    assert_eq!(api.protocol, Protocol::Http);
    assert_eq!(def.routes[0].key, RouteKey::Default);
    let cors = def.cors.as_ref().unwrap();
    assert_eq!(cors.allow_origins, ["https://app.example.com"]);
    assert_eq!(cors.max_age, Some(600));
    assert!(cors.allow_credentials);
    let me = route(def, "GET /me");
    assert_eq!(me.authorization, Authorization::Jwt("jwt".into()));
    assert_eq!(me.authorization_scopes, ["profile"]);
    assert_eq!(
        def.authorizers["jwt"]
            .jwt_configuration
            .as_ref()
            .unwrap()
            .audience,
        ["chat"]
    );
    assert_eq!(gate(def), [("GET /me".to_string(), Feature::JwtAuthorizer)]);
    assert_round_trip("chat.yaml", &api, ExportFormat::Oas30);
    let doc = export(&api.name, api.protocol, def, None, ExportFormat::Oas30);
    assert_eq!(doc["x-amazon-apigateway-importexport-version"], "1.0");

    // The same document as a REST API: `$default` is refused, CORS ignored with a warning.
    let errors = import_errors(text, &ImportOptions::default());
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("only on HTTP APIs")),
        "{}",
        list(&errors)
    );
}

#[test]
fn request_validators_and_models_by_content_type() {
    let text = r##"
swagger: "2.0"
info: {title: pets, version: "1"}
consumes: [application/json]
x-amazon-apigateway-request-validators:
  body-only: {validateRequestBody: true, validateRequestParameters: false}
  params-only: {validateRequestBody: false, validateRequestParameters: true}
x-amazon-apigateway-request-validator: body-only
paths:
  /pets:
    post:
      parameters:
        - {in: body, name: pet, required: true, schema: {$ref: "#/definitions/Pet"}}
        - {in: header, name: x-trace, required: true, type: string}
      x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: "200"}}}
    get:
      x-amazon-apigateway-request-validator: params-only
      parameters:
        - {in: query, name: limit, required: true, type: integer}
      x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: "200"}}}
  /pets/{id}:
    put:
      consumes: [application/json, application/xml]
      parameters:
        - {in: path, name: id, required: true, type: string}
        - {in: body, name: pet, schema: {type: object, properties: {name: {type: string}}}}
      x-amazon-apigateway-request-validator: nope
      x-amazon-apigateway-integration: {type: mock}
definitions:
  Pet: {type: object, required: [name], properties: {name: {type: string}}}
"##;
    let errors = import_errors(text, &ImportOptions::default());
    assert_eq!(errors.len(), 1, "{}", list(&errors));
    assert_eq!(
        errors[0].path,
        "/paths/~1pets~1{id}/put/x-amazon-apigateway-request-validator"
    );

    let text = text.replace("request-validator: nope", "request-validator: body-only");
    let api = import_ok("pets.yaml", &text);
    let def = &api.definition;
    assert_eq!(def.default_request_validator.as_deref(), Some("body-only"));
    let post = route(def, "POST /pets");
    assert_eq!(post.request_validator, None);
    assert_eq!(def.request_validator_for(post).unwrap().0, "body-only");
    assert_eq!(post.request_models["application/json"], "Pet");
    assert!(post.request_parameters.contains(&RequestParameter {
        location: ParamLocation::Header,
        name: "x-trace".into(),
        required: true
    }));
    let get = route(def, "GET /pets");
    let (name, v) = def.request_validator_for(get).unwrap();
    assert_eq!(name, "params-only");
    assert!(v.validate_request_parameters && !v.validate_request_body);
    let put = route(def, "PUT /pets/{id}");
    assert_eq!(
        put.request_models.keys().collect::<Vec<_>>(),
        ["application/json", "application/xml"]
    );
    assert_eq!(put.request_models["application/xml"], "PutPetsIdBody");
    // Request validation is enforced by the data plane: the gate has nothing to say.
    assert!(gate(def).is_empty());
    assert_round_trip("pets.yaml", &api, ExportFormat::Swagger2);
    assert_round_trip("pets.yaml", &api, ExportFormat::Oas30);
}

#[test]
fn api_keys_iam_and_authorizer_choices() {
    let text = r##"
openapi: 3.0.1
info: {title: secure, version: "1"}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
    sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}
    bearer: {type: http, scheme: bearer}
    lambda:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: {type: token, authorizerUri: "arn:aws:lambda:fn"}
security: [{api_key: []}]
paths:
  /keyed:
    get:
      x-amazon-apigateway-integration: {type: mock}
  /signed:
    get:
      security: [{sigv4: []}]
      x-amazon-apigateway-integration: {type: mock}
  /iam:
    get:
      security: []
      x-amazon-apigateway-auth: {type: aws_iam}
      x-amazon-apigateway-integration: {type: mock}
  /open:
    get:
      security: []
      x-amazon-apigateway-integration: {type: mock}
  /both:
    get:
      security: [{lambda: [], api_key: []}]
      x-amazon-apigateway-integration: {type: mock}
  /bearer:
    get:
      security: [{bearer: []}]
      x-amazon-apigateway-integration: {type: mock}
"##;
    let (api, warnings) = import_with("secure.yaml", text, &ImportOptions::default());
    let warnings: Vec<Diagnostic> = warnings
        .into_iter()
        .filter(|w| !w.message.contains("MOCK integration without `responses`"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", list(&warnings));
    assert!(
        warnings[0].message.contains("does not enforce it"),
        "{}",
        warnings[0]
    );
    assert_eq!(warnings[0].path, "/components/securitySchemes/bearer");
    let def = &api.definition;
    assert!(route(def, "GET /keyed").api_key_required);
    assert_eq!(route(def, "GET /signed").authorization, Authorization::Iam);
    assert!(!route(def, "GET /signed").api_key_required);
    assert_eq!(route(def, "GET /iam").authorization, Authorization::Iam);
    let both = route(def, "GET /both");
    assert_eq!(both.authorization, Authorization::Custom("lambda".into()));
    assert!(both.api_key_required);
    use Feature::*;
    assert_eq!(
        gate(def),
        [
            // API keys are enforced, so only the authorizers are listed.
            ("GET /signed".to_string(), IamAuthorization),
            ("GET /iam".to_string(), IamAuthorization),
            ("GET /both".to_string(), LambdaAuthorizer),
        ]
    );
    assert_round_trip("secure.yaml", &api, ExportFormat::Oas30);
    assert_round_trip("secure.yaml", &api, ExportFormat::Swagger2);

    // One authorizer per route, as on AWS.
    let two = text.replace(
        "security: [{lambda: [], api_key: []}]",
        "security: [{lambda: []}, {sigv4: []}]",
    );
    let errors = import_errors(&two, &ImportOptions::default());
    assert!(
        errors[0].message.contains("allows one per route"),
        "{}",
        list(&errors)
    );
    assert_eq!(errors[0].path, "/paths/~1both/get/security/1/sigv4");
}

#[test]
fn api_wide_extensions_map_and_round_trip() {
    let text = r##"
openapi: 3.0.1
info: {title: wide, version: "1"}
servers:
  - url: https://api.example.com/{basePath}
    variables: {basePath: {default: prod}}
    x-amazon-apigateway-endpoint-configuration:
      vpcEndpointIds: [vpce-1, vpce-2]
      disableExecuteApiEndpoint: true
x-amazon-apigateway-binary-media-types: [image/png, "*/*"]
x-amazon-apigateway-minimum-compression-size: 1024
x-amazon-apigateway-policy:
  Version: "2012-10-17"
  Statement:
    - {Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*"}
x-amazon-apigateway-gateway-responses:
  MISSING_AUTHENTICATION_TOKEN:
    statusCode: 404
    responseParameters:
      gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
    responseTemplates:
      application/json: '{"message": "no such route", "id": "$context.requestId"}'
  DEFAULT_5XX:
    responseTemplates:
      application/json: '#if(true)x#end'
paths:
  /files/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters: [{name: proxy, in: path, required: true, schema: {type: string}}]
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: https://files.internal/{proxy}
        connectionType: VPC_LINK
        connectionId: abc123
        cacheKeyParameters: [method.request.path.proxy]
        cacheNamespace: files
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
          integration.request.header.x-stage: stageVariables.name
          integration.request.header.x-id: context.requestId
        tlsConfig: {insecureSkipVerification: true}
"##;
    let (api, warnings) = import_with("wide.yaml", text, &ImportOptions::default());
    assert_eq!(api.base_path.as_deref(), Some("/prod"));
    assert_eq!(warnings.len(), 1, "{}", list(&warnings));
    assert_eq!(
        warnings[0].path,
        "/x-amazon-apigateway-minimum-compression-size"
    );
    let def = &api.definition;
    assert_eq!(def.binary_media_types, ["image/png", "*/*"]);
    let e = def.endpoint_configuration.as_ref().unwrap();
    assert!(e.disable_execute_api_endpoint);
    assert_eq!(e.vpc_endpoint_ids, ["vpce-1", "vpce-2"]);
    assert_eq!(
        def.policy.as_ref().unwrap()["Statement"][0]["Effect"],
        "Allow"
    );
    let g = &def.gateway_responses[0];
    assert_eq!(g.kind, GatewayResponseType::MissingAuthenticationToken);
    assert_eq!(g.status_code, Some(404));
    assert_eq!(
        g.headers,
        [("access-control-allow-origin".to_string(), "*".to_string())]
    );
    let i = &route(def, "ANY /files/{proxy+}").integration;
    assert_eq!(i.connection_type, ConnectionType::VpcLink);
    assert_eq!(i.connection_id.as_deref(), Some("abc123"));
    assert_eq!(i.cache_key_parameters, ["method.request.path.proxy"]);
    assert_eq!(i.cache_namespace.as_deref(), Some("files"));
    assert!(i.insecure_skip_verification);
    assert_eq!(i.request_parameters.len(), 3);
    use Feature::*;
    assert_eq!(
        gate(def),
        [
            (String::new(), ResourcePolicy),
            (String::new(), PrivateEndpoint),
            (String::new(), DisableExecuteApiEndpoint),
            (String::new(), MappingTemplate),
            ("ANY /files/{proxy+}".to_string(), VpcLink),
        ]
    );
    for d in api.check_served("wide.yaml") {
        assert!(
            d.message.starts_with("the API uses") || d.message.starts_with("route"),
            "{d}"
        );
    }
    assert_round_trip("wide.yaml", &api, ExportFormat::Oas30);
    assert_round_trip("wide.yaml", &api, ExportFormat::Swagger2);
}

#[test]
fn the_declarative_model_exports_and_imports_back() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/petstore/archway.yaml");
    let text = std::fs::read_to_string(&path).expect("the example config");
    let loaded = validate::load_config_str("archway.yaml", &text, path.parent().unwrap());
    let (model, _) = loaded.into_result().expect("the example config is valid");
    let api = &model.apis[0];
    for format in [ExportFormat::Oas30, ExportFormat::Swagger2] {
        let doc =
            archway_model::openapi::export_api(api, Some("prod"), format).expect("stage prod");
        let again = import_ok("exported", &doc.to_string());
        assert_eq!(again.name, api.name);
        assert_eq!(again.description, api.description);
        assert_eq!(again.base_path.as_deref(), Some("/prod"));
        let before = &api.stages[0].deployment;
        assert_eq!(again.definition.routes.len(), before.routes.len());
        for a in &before.routes {
            let b = route(&again.definition, &a.key.to_string());
            assert_eq!(a.request_parameters, b.request_parameters);
            assert_eq!(
                format!("{:?}", a.integration),
                format!("{:?}", b.integration)
            );
        }
        assert!(gate(&again.definition).is_empty());
    }
    assert!(archway_model::openapi::export_api(api, Some("nope"), ExportFormat::Oas30).is_none());
}

/// Everything the declarative file can say about an API survives the form the control plane
/// stores it in (`export_faithful`: the OpenAPI export, imported again), so that serving a
/// file's API from the store serves exactly what the file says.
#[test]
fn every_declarative_feature_survives_the_stored_form() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pets.yaml"), fixture_doc()).unwrap();
    let yaml = r##"
server: { maxPayloadBytes: 2048 }
apis:
  - name: rest
    protocol: REST
    description: Everything a REST API of the file can have.
    maxPayloadBytes: 1024
    binaryMediaTypes: [image/png]
    models:
      Pet:
        type: object
        required: [name]
        properties: { name: { $ref: "#/definitions/Name" }, tag: { $ref: "#/definitions/Tag" } }
        definitions: { Name: { type: string, maxLength: 10 }, Tag: { type: string } }
      Tag: { type: string }
    requestValidators:
      all: { validateRequestBody: true, validateRequestParameters: true }
    requestValidator: all
    routes:
      GET /pets/{petId}:
        requestParameters: { method.request.path.petId: true, method.request.querystring.verbose: false }
        integration:
          type: HTTP_PROXY
          uri: http://${stageVariables.up}/pets/{petId}
          httpMethod: POST
          timeoutInMillis: 120000
          upstreamProtocol: HTTP2
          tlsConfig: { insecureSkipVerification: true }
      POST /pets:
        requestValidator: all
        requestModels: { application/json: Pet }
        integration:
          type: HTTP
          uri: https://example.com/items/{item}
          requestParameters:
            integration.request.path.item: "'fixed'"
            integration.request.header.x-stage: stageVariables.up
            integration.request.querystring.id: context.requestId
            integration.request.header.x-verbose: method.request.querystring.verbose
          requestTemplates: { application/json: '{"name": $input.json(''$'')}' }
          passthroughBehavior: NEVER
          responses:
            "4\\d{2}":
              statusCode: "400"
              responseParameters: { method.response.header.X-Upstream: integration.response.header.X-Id }
            default:
              statusCode: "201"
              responseParameters: { method.response.header.Location: "'/pets/1'" }
              responseTemplates: { application/json: '{"stage": "$context.stage", "v": "$stageVariables.up"}' }
      ANY /{proxy+}:
        integration: { type: MOCK, requestTemplates: { application/json: '{"statusCode": 200}' }, passthroughBehavior: WHEN_NO_TEMPLATES, responses: { default: { statusCode: "200" } } }
    gatewayResponses:
      DEFAULT_4XX:
        statusCode: "418"
        responseParameters: { gatewayresponse.header.x-why: "'because'" }
        responseTemplates: { application/json: '{"m": $context.error.messageString}' }
    stages:
      prod: { variables: { up: 127.0.0.1:9 } }
  - name: http
    protocol: HTTP
    corsConfiguration: { allowOrigins: [https://a.example], allowMethods: [GET], allowHeaders: [x-a], exposeHeaders: [x-b], maxAge: 60, allowCredentials: true }
    routes:
      $default:
        integration: { type: HTTP_PROXY, uri: "http://${stageVariables.up}/", timeoutInMillis: 30000 }
      GET /items/{id}:
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/items/{id}", httpMethod: GET }
    stages:
      $default: { variables: { up: 127.0.0.1:9 } }
  - name: http2
    protocol: HTTP
    maxPayloadBytes: 4096
    binaryMediaTypes: [image/png]
    models:
      Pet: { type: object }
    requestValidators:
      all: { validateRequestBody: true, validateRequestParameters: true }
    requestValidator: all
    routes:
      POST /pets/{id}:
        requestValidator: all
        requestModels: { application/json: Pet }
        requestParameters: { method.request.querystring.q: true }
        integration:
          type: HTTP_PROXY
          uri: http://127.0.0.1:9/{id}
          requestParameters: { integration.request.header.x-a: "'b'", integration.request.querystring.q: method.request.querystring.q }
      GET /mock:
        integration: { type: MOCK, responses: { default: { statusCode: "200", responseTemplates: { application/json: '{}' } } } }
    gatewayResponses:
      DEFAULT_4XX: { statusCode: "400", responseTemplates: { application/json: '{"m": "x"}' } }
    stages: { prod: {} }
  - name: restcors
    protocol: REST
    corsConfiguration: { allowOrigins: ["*"] }
    routes:
      GET /:
        integration: { type: MOCK, responses: { default: { statusCode: "200" } } }
    stages: { prod: {} }
  - name: fromdoc
    protocol: REST
    openapi: pets.yaml
    routes:
      GET /extra:
        integration: { type: MOCK, responses: { default: { statusCode: "204" } } }
    stages: { prod: {} }
"##;
    let loaded = validate::load_config_str("archway.yaml", yaml, dir.path());
    let (model, _) = loaded
        .into_result()
        .unwrap_or_else(|d| panic!("{}", list(&d)));
    assert_eq!(model.apis.len(), 5);
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/petstore/archway.yaml");
    let (petstore, _) = validate::load_config_file(&example).into_result().unwrap();
    for api in model.apis.iter().chain(&petstore.apis) {
        let (doc, again) =
            archway_model::openapi::export_faithful(&api.name, api.protocol, &api.definition)
                .unwrap_or_else(|e| panic!("API `{}`: {e}", api.name));
        assert!(gate(&again).is_empty(), "API `{}`", api.name);
        assert_eq!(doc["info"]["title"], api.name.as_str());
    }
    let rest = &model.apis[0].definition;
    assert_eq!(rest.max_payload_bytes, Some(1024));
    let (doc, again) =
        archway_model::openapi::export_faithful("rest", Protocol::Rest, rest).unwrap();
    assert_eq!(doc["x-archway-max-payload-bytes"], 1024);
    assert_eq!(again.max_payload_bytes, Some(1024));
    let i = &route(&again, "GET /pets/{petId}").integration;
    assert_eq!(i.upstream_protocol, UpstreamProtocol::Http2);
    assert_eq!(i.timeout, std::time::Duration::from_secs(120));
    assert!(i.insecure_skip_verification);
    // What is read back is what was written, not a default.
    let mut other = (**rest).clone();
    other.routes[0].integration.upstream_protocol = UpstreamProtocol::Http1;
    let (_, back) =
        archway_model::openapi::export_faithful("rest", Protocol::Rest, &other).unwrap();
    assert_eq!(
        route(&back, "GET /pets/{petId}")
            .integration
            .upstream_protocol,
        UpstreamProtocol::Http1
    );
}

/// A small OpenAPI document for an API of the file.
fn fixture_doc() -> &'static str {
    r#"openapi: 3.0.1
info: { title: fromdoc, version: "1" }
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: { application/json: '{"statusCode": 200}' }
        responses: { default: { statusCode: "200" } }
"#
}
