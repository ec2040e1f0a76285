//! The working definition of a REST API, kept as an OpenAPI 3 document with the
//! `x-amazon-apigateway-*` extensions, and the conversions around it:
//!
//! - [`import_text`]: an uploaded document → the working document (`openapi::import`, then
//!   `openapi::export` so what is stored is always in the exporter's normal form);
//! - [`freeze`]: the working document → a deployment (refuses methods without an integration,
//!   anything `openapi::check_served` lists, and anything the data plane cannot compile);
//! - [`load_frozen`]: a deployment's document → the [`ApiDefinition`] a stage serves;
//! - [`check_working`]: after an edit by the resource/method/integration operations, the
//!   document (less the methods that have no integration yet) must still import cleanly.
//!
//! Editing resources, methods and integrations edits this document; see `resources.rs`.

use crate::error::ApiError;
use archway_model::openapi::{self, BasePathMode, ExportFormat, ImportOptions};
use archway_model::source::Diagnostic;
use archway_model::{ApiDefinition, Protocol};
use serde_json::{Map, Value};

/// The path-item keys that are operations, with AWS's method names.
pub const OPERATIONS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// The path-item key of an AWS method name (`GET` → `get`, `ANY` →
/// `x-amazon-apigateway-any-method`).
pub fn operation_key(method: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .find(|(_, m)| m.eq_ignore_ascii_case(method))
        .map(|(k, _)| *k)
}

pub const INTEGRATION: &str = "x-amazon-apigateway-integration";

/// An empty working definition.
pub fn empty(name: &str) -> Value {
    openapi::export(
        name,
        Protocol::Rest,
        &ApiDefinition::default(),
        None,
        ExportFormat::Oas30,
    )
}

fn diagnostics_message(diags: &[Diagnostic]) -> String {
    let mut m = String::from("Errors found during import:");
    for d in diags.iter().filter(|d| d.is_error()) {
        m.push_str("\n\t");
        m.push_str(&d.to_string());
    }
    m
}

/// What an import produced: the working document, the API's name and description, warnings.
pub struct ImportedDoc {
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
    pub definition: Value,
    pub warnings: Vec<String>,
}

/// Imports an uploaded document (`ImportRestApi`, `PutRestApi`). `parameters` are AWS's import
/// parameters (`basepath=ignore|prepend|split`; others are accepted and ignored).
pub fn import_text(
    text: &str,
    parameters: &[(String, String)],
    fail_on_warnings: bool,
) -> Result<ImportedDoc, ApiError> {
    let mut opts = ImportOptions::default();
    for (k, v) in parameters {
        if k.eq_ignore_ascii_case("basepath") {
            opts.base_path = BasePathMode::parse(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid value for parameter basepath: {v}; must be one of ignore, prepend, split"
                ))
            })?;
        }
    }
    let imported = openapi::import("body", text, &opts);
    let (api, diags) = match imported.into_result() {
        Ok(x) => x,
        Err(diags) => return Err(ApiError::bad_request(diagnostics_message(&diags))),
    };
    let refused = api.check_served("body");
    if !refused.is_empty() {
        return Err(ApiError::bad_request(diagnostics_message(&refused)));
    }
    let warnings: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    if fail_on_warnings && !warnings.is_empty() {
        let mut m = String::from("Warnings found during import:");
        for w in &warnings {
            m.push_str("\n\t");
            m.push_str(w);
        }
        return Err(ApiError::bad_request(m));
    }
    let definition = openapi::export(
        &api.name,
        Protocol::Rest,
        &api.definition,
        None,
        ExportFormat::Oas30,
    );
    Ok(ImportedDoc {
        name: api.name,
        description: api.description,
        version: api.version,
        definition,
        warnings,
    })
}

/// Imports a document written by `openapi::export` (a working or frozen definition).
fn import_value(doc: &Value) -> Result<ApiDefinition, Vec<Diagnostic>> {
    import_value_as(doc, Protocol::Rest)
}

fn import_value_as(doc: &Value, protocol: Protocol) -> Result<ApiDefinition, Vec<Diagnostic>> {
    let text = serde_json::to_string(doc).unwrap_or_default();
    let opts = ImportOptions {
        protocol: Some(protocol),
        ..ImportOptions::default()
    };
    let imported = openapi::import("definition", &text, &opts);
    imported.into_result().map(|(api, _)| api.definition)
}

/// A REST API deployment's frozen document → the definition it serves.
pub fn load_frozen(doc: &Value) -> Result<ApiDefinition, String> {
    load_frozen_as(doc, Protocol::Rest)
}

/// A deployment's frozen document → the definition it serves, for an API of `protocol`.
pub fn load_frozen_as(doc: &Value, protocol: Protocol) -> Result<ApiDefinition, String> {
    import_value_as(doc, protocol).map_err(|d| diagnostics_message(&d))
}

/// The working document with every method that has no integration left out (and path items
/// left empty by that), as `openapi::import` needs it.
fn without_incomplete(doc: &Value) -> (Value, Vec<String>) {
    let mut doc = doc.clone();
    let mut incomplete = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if let Some(item) = item.as_object_mut() {
                for (key, method) in OPERATIONS {
                    let lacks = item
                        .get(key)
                        .is_some_and(|op| op.get(INTEGRATION).is_none());
                    if lacks {
                        item.remove(key);
                        incomplete.push(format!("{method} {path}"));
                    }
                }
            }
        }
        paths.retain(|_, item| {
            item.as_object()
                .is_some_and(|m| OPERATIONS.iter().any(|(k, _)| m.contains_key(*k)))
        });
    }
    (doc, incomplete)
}

/// Checks an edited working document: everything but the methods still waiting for an
/// integration must import cleanly and pass the gate.
pub fn check_working(doc: &Value) -> Result<(), ApiError> {
    let (complete, _) = without_incomplete(doc);
    let def =
        import_value(&complete).map_err(|d| ApiError::bad_request(diagnostics_message(&d)))?;
    let refused = openapi::check_served(&def);
    if let Some(u) = refused.first() {
        return Err(ApiError::bad_request(u.to_string()));
    }
    Ok(())
}

/// Freezes the working document for a deployment: the definition and the document to store.
pub fn freeze(working: &Value) -> Result<(ApiDefinition, Value), ApiError> {
    let (complete, incomplete) = without_incomplete(working);
    if !incomplete.is_empty() {
        return Err(ApiError::bad_request("No integration defined for method"));
    }
    let has_methods = complete
        .get("paths")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    if !has_methods {
        return Err(ApiError::bad_request(
            "The REST API doesn't contain any methods",
        ));
    }
    let def =
        import_value(&complete).map_err(|d| ApiError::bad_request(diagnostics_message(&d)))?;
    let refused = openapi::check_served(&def);
    if let Some(u) = refused.first() {
        return Err(ApiError::bad_request(u.to_string()));
    }
    let title = complete
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("api")
        .to_string();
    let frozen = openapi::export(&title, Protocol::Rest, &def, None, ExportFormat::Oas30);
    Ok((def, frozen))
}

/// `PutRestApi` with `mode=merge`: the new document's paths, operations, schemas, security
/// schemes and top-level extensions are laid over the working document's.
pub fn merge(working: &Value, new: &Value) -> Value {
    let mut out = working.clone();
    let Some(out_map) = out.as_object_mut() else {
        return new.clone();
    };
    let Some(new_map) = new.as_object() else {
        return out;
    };
    for (k, v) in new_map {
        match k.as_str() {
            "paths" => {
                let paths = object_entry(out_map, "paths");
                if let Some(np) = v.as_object() {
                    for (p, item) in np {
                        let target = object_entry(paths, p);
                        if let Some(item) = item.as_object() {
                            for (ik, iv) in item {
                                target.insert(ik.clone(), iv.clone());
                            }
                        }
                    }
                }
            }
            "components" => {
                let comps = object_entry(out_map, "components");
                if let Some(nc) = v.as_object() {
                    for (ck, cv) in nc {
                        let target = object_entry(comps, ck);
                        if let Some(cv) = cv.as_object() {
                            for (n, s) in cv {
                                target.insert(n.clone(), s.clone());
                            }
                        }
                    }
                }
            }
            "openapi" | "info" => {}
            _ => {
                out_map.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// The object at `key` of `m`, made an empty object first if it is missing or not an object.
pub fn object_entry<'m>(m: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(o) => o,
        _ => unreachable!("made an object above"),
    }
}
