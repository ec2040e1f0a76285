//! The OpenAPI door: OpenAPI 3.0 / 3.1 and Swagger 2.0 documents (JSON or YAML) with Amazon API
//! Gateway's `x-amazon-apigateway-*` extensions, imported into the one model
//! ([`ApiDefinition`]) and exported from it. See `docs/openapi.md` for the mapping table.
//!
//! - [`import`] reads a document with [`crate::source`]'s loader (line numbers, limits against
//!   YAML bombs), resolves local `$ref`s (circular ones in schemas included; remote ones are
//!   refused, never fetched), and maps every path and extension onto the model. It represents
//!   everything it accepts — Lambda integrations and authorizers included — so that a document
//!   round-trips through [`export`]. Every problem comes back at once, each a [`Diagnostic`]
//!   whose `path` is the JSON pointer of the offending node and whose line is that node's.
//! - [`check_served`] is the fail-closed gate: it lists every route (and API-wide setting) that
//!   uses something the data plane does not enforce yet. Whoever serves or validates an API must
//!   call it and refuse the API when it is not empty. The features it refuses are one list,
//!   [`NOT_ENFORCED`]; enabling a feature is deleting its line there.
//! - [`export`] writes an OpenAPI 3.0 or Swagger 2.0 document, extensions included, that
//!   imports back to the same model.
//!
//! Must never: fetch anything (a `$ref` to a URL or another file is an error), panic on any
//! input, or build a second route model: routes are [`crate::Route`]s like the declarative
//! door's.

mod context;
mod export;
mod ext;
mod gate;
mod import;
mod refs;

pub use export::{export, export_api, ExportFormat};
pub use gate::{check_served, Feature, Unserved, NOT_ENFORCED};
pub use import::import;

use crate::model::{ApiDefinition, Protocol};
use crate::source::{Diagnostic, Limits, Severity};

/// The document an API's definition is kept as in the control plane's store ([`export`],
/// OpenAPI 3.0), checked to import back to the same definition, and that definition.
///
/// "The same" is everything the data plane reads: routes (in any order), integrations,
/// templates, models, gateway responses and the API-wide settings. Method responses that the
/// integration responses imply are added on both sides first, as the exporter writes them. An
/// `Err` names the first difference: a gap between the exporter and the importer, so whoever
/// stores the definition refuses it rather than serve something else.
pub fn export_faithful(
    name: &str,
    protocol: Protocol,
    def: &ApiDefinition,
) -> Result<(serde_json::Value, ApiDefinition), String> {
    let doc = export(name, protocol, def, None, ExportFormat::Oas30);
    let opts = ImportOptions {
        protocol: Some(protocol),
        ..ImportOptions::default()
    };
    let again = match import("definition", &doc.to_string(), &opts).into_result() {
        Ok((api, _)) => api.definition,
        Err(diags) => {
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            return Err(format!(
                "its OpenAPI export does not import again: {}",
                errors.join("; ")
            ));
        }
    };
    let (a, b) = (comparable(def), comparable(&again));
    if a != b {
        let (x, y) = a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .unwrap_or(("(end)", "(end)"));
        return Err(format!(
            "its OpenAPI export reads back differently: `{}` became `{}`",
            x.trim(),
            y.trim()
        ));
    }
    Ok((doc, again))
}

/// A definition as text in a form two definitions that serve alike share.
fn comparable(def: &ApiDefinition) -> String {
    let mut d = def.clone();
    d.routes.sort_by_key(|r| r.key.to_string());
    for r in &mut d.routes {
        import::add_implied_method_responses(&mut r.method_responses, &r.integration);
    }
    format!("{d:#?}")
}

/// How an import reads a document.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The kind of API the document describes; `None` means a REST API (`--api-type http`
    /// gives HTTP).
    pub protocol: Option<Protocol>,
    /// What to do with the document's base path (`basePath`, or the path of `servers[0].url`).
    pub base_path: BasePathMode,
    /// Limits on the parsed document (depth, nodes after alias expansion).
    pub limits: Limits,
}

/// AWS's `basepath` import parameter: how the document's base path (Swagger 2.0 `basePath`;
/// OpenAPI 3: the `basePath` server variable, else the path of the server URL) shapes routes.
/// With base path `/a/b/c` and path `/e`:
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BasePathMode {
    /// Route `/e`: the base path is left out (AWS's default); it is reported in
    /// [`ImportedApi::base_path`] so that a base path mapping can supply it.
    #[default]
    Ignore,
    /// Route `/a/b/c/e`.
    Prepend,
    /// Route `/b/c/e`: the first segment is taken to be the stage name.
    Split,
}

impl BasePathMode {
    /// `ignore`, `prepend` or `split`, as AWS's parameter is written.
    pub fn parse(s: &str) -> Option<BasePathMode> {
        match s.to_ascii_lowercase().as_str() {
            "ignore" => Some(BasePathMode::Ignore),
            "prepend" => Some(BasePathMode::Prepend),
            "split" => Some(BasePathMode::Split),
            _ => None,
        }
    }
}

/// The dialect a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

/// The result of an import: the API when there was no error, and every diagnostic (warnings
/// either way), sorted by line.
#[derive(Debug)]
pub struct Imported {
    pub api: Option<ImportedApi>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Imported {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// The API and the warnings, or every diagnostic when there was an error.
    pub fn into_result(self) -> Result<(ImportedApi, Vec<Diagnostic>), Vec<Diagnostic>> {
        match self.api {
            Some(api) => Ok((api, self.diagnostics)),
            None => Err(self.diagnostics),
        }
    }
}

/// An imported API: what the document says about it and its definition.
#[derive(Debug, Clone)]
pub struct ImportedApi {
    /// `info.title`.
    pub name: String,
    /// `info.description`.
    pub description: Option<String>,
    /// `info.version`.
    pub version: Option<String>,
    pub protocol: Protocol,
    pub format: SourceFormat,
    pub definition: ApiDefinition,
    /// The document's base path (`/a/b`), whatever [`BasePathMode`] did with it.
    pub base_path: Option<String>,
    /// Where each route of `definition.routes` (same order) was declared.
    pub route_locations: Vec<SourceLocation>,
}

/// A JSON pointer into the imported document, with its line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub pointer: String,
    pub line: u32,
    pub column: u32,
}

impl ImportedApi {
    /// [`check_served`] as diagnostics (errors) on the imported file: each names the route,
    /// the feature and the operation's line.
    pub fn check_served(&self, file: &str) -> Vec<Diagnostic> {
        check_served(&self.definition)
            .into_iter()
            .map(|u| {
                let loc = u.route.and_then(|i| self.route_locations.get(i));
                match loc {
                    Some(l) => Diagnostic::error(file, l.line, l.column, &l.pointer, u.to_string()),
                    None => Diagnostic::error(file, 0, 0, u.feature.pointer(), u.to_string()),
                }
            })
            .collect()
    }
}
