//! Loading an OpenAPI document as a served API: the door `archway serve --openapi`,
//! `archway validate` and `archway.yaml`'s `openapi:` share. The import itself is
//! [`crate::openapi`]; this adds the stage it is served on and the fail-closed gate.

use crate::model::{Api, Model, Protocol, Stage};
use crate::openapi::{self, BasePathMode, ImportOptions, ImportedApi};
use crate::source::{self, Diagnostic, Limits, Node, Severity};
use crate::validate::{derive_id, Loaded};
use indexmap::IndexMap;
use std::path::Path;
use std::sync::Arc;

/// How `archway serve --openapi` serves a document.
#[derive(Debug, Clone)]
pub struct OpenApiServe {
    pub protocol: Protocol,
    /// Default `prod`.
    pub stage: String,
    pub base_path: BasePathMode,
}

impl Default for OpenApiServe {
    fn default() -> Self {
        OpenApiServe {
            protocol: Protocol::Rest,
            stage: "prod".to_string(),
            base_path: BasePathMode::Ignore,
        }
    }
}

/// Whether `text` is an OpenAPI or Swagger document (a top-level `openapi` or `swagger` key).
pub fn looks_like_openapi(text: &str) -> bool {
    match source::parse("", text, &Limits::default()) {
        Ok(node) => match &node.value {
            Node::Map(entries) => entries
                .iter()
                .any(|(k, _)| k.value == "openapi" || k.value == "swagger"),
            _ => false,
        },
        Err(_) => false,
    }
}

/// Imports a document and checks it can be served as written (every problem at once).
pub fn import_served(
    file: &str,
    text: &str,
    protocol: Protocol,
    base_path: BasePathMode,
) -> Result<(ImportedApi, Vec<Diagnostic>), Vec<Diagnostic>> {
    let imported = openapi::import(
        file,
        text,
        &ImportOptions {
            protocol: Some(protocol),
            base_path,
            limits: Limits::default(),
        },
    );
    let (api, mut diags) = imported.into_result()?;
    diags.extend(api.check_served(file));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(diags);
    }
    Ok((api, diags))
}

/// An imported API with its stages; each stage serves the imported definition.
pub fn api_from_import(
    imported: ImportedApi,
    id: Option<String>,
    stages: Vec<(String, Option<String>, IndexMap<String, String>)>,
) -> Api {
    let definition = Arc::new(imported.definition);
    Api {
        id: id.unwrap_or_else(|| derive_id(&imported.name)),
        name: imported.name,
        protocol: imported.protocol,
        description: imported.description,
        stages: stages
            .into_iter()
            .map(|(name, description, variables)| Stage {
                name,
                description,
                variables,
                deployment: definition.clone(),
                deployment_id: None,
                canary: None,
                method_throttles: IndexMap::new(),
            })
            .collect(),
        definition,
    }
}

/// `archway serve --openapi FILE`: the document as the only API, on one stage.
pub fn load_openapi_file(path: &Path, opts: &OpenApiServe) -> Loaded {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Loaded {
                model: None,
                diagnostics: vec![Diagnostic::error(
                    &file,
                    0,
                    0,
                    "",
                    format!("cannot read the file: {e}"),
                )],
            }
        }
    };
    match import_served(&file, &text, opts.protocol, opts.base_path) {
        Ok((api, diagnostics)) => Loaded {
            model: Some(Model {
                apis: vec![api_from_import(
                    api,
                    None,
                    vec![(opts.stage.clone(), None, IndexMap::new())],
                )],
                ..Model::default()
            }),
            diagnostics,
        },
        Err(diagnostics) => Loaded {
            model: None,
            diagnostics,
        },
    }
}
