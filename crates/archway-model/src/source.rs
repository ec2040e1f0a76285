//! Loading YAML and JSON files into serde types, reporting *every* problem at once.
//!
//! `serde_yaml`/`serde_json` stop at the first error and cannot say which line a value came from.
//! This module parses text with `saphyr-parser` into a spanned tree ([`Node`]) — with limits
//! against alias bombs and deep nesting — and then runs a serde [`Deserializer`](serde::Deserializer)
//! over that tree that records problems instead of stopping:
//!
//! - keys a struct does not know are reported (with a "did you mean") and skipped — this replaces
//!   `#[serde(deny_unknown_fields)]`;
//! - a value of the wrong type is reported and replaced with an empty/zero value so that the rest
//!   of the file is still checked;
//! - each [`Diagnostic`] names the file, line, column and field path
//!   (`apis[0].routes["GET /pets"].integration.uri`).
//!
//! Wrap a field in [`Spanned<T>`] to keep its line, column and path for later semantic checks
//! ([`Diagnostic::at`], [`Diagnostics`]).
//!
//! Limits (see `docs/config-loading.md`):
//! - `#[serde(flatten)]`, `#[serde(untagged)]` and internally tagged enums go through serde's
//!   buffered `Content` and lose unknown-field reporting and [`Spanned`] positions inside them;
//!   don't use them in file-facing types.
//! - Errors raised by serde-derive or a type's own `Deserialize` impl (missing field, unknown enum
//!   variant, custom validation) cannot be recovered from: they are reported and the result is
//!   `None`. Put `#[serde(default)]` on file-facing structs and keep enums as strings that the
//!   validation pass checks.

mod de;
mod diagnostic;
mod node;
mod parse;
mod path;
mod spanned;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use node::{lookup_pointer, to_json, Node};
pub use parse::{parse, parse_recover, Limits};
pub use path::{join_index, join_key};
pub use spanned::Spanned;

use serde::de::DeserializeOwned;

/// Deserializes `T` from a parsed tree, collecting every problem.
///
/// Returns `Some(value)` unless an unrecoverable error happened (a missing field without
/// `#[serde(default)]`, an unknown enum variant, a custom error from a `Deserialize` impl); the
/// value may still come with error diagnostics (unknown fields, type mismatches), in which case
/// the affected fields hold empty/zero values. Callers must check the diagnostics
/// (e.g. [`has_errors`]). Diagnostics are sorted by line and column.
pub fn from_node<T: DeserializeOwned>(
    file: &str,
    node: &Spanned<Node>,
) -> (Option<T>, Vec<Diagnostic>) {
    let (value, mut diags) = de::deserialize(file, node);
    diags.sort_by_key(|d| (d.line, d.column));
    (value, diags)
}

/// Parses `text` (YAML or JSON) and deserializes `T` from it, collecting every problem.
///
/// Non-fatal parse problems (duplicate keys, unsupported tags, ...) are reported together with
/// the deserialization problems; a syntax error or an exceeded limit stops before deserializing.
pub fn from_str<T: DeserializeOwned>(
    file: &str,
    text: &str,
    limits: &Limits,
) -> (Option<T>, Vec<Diagnostic>) {
    let (node, mut diags) = parse_recover(file, text, limits);
    let Some(node) = node else {
        return (None, diags);
    };
    let (value, more) = de::deserialize(file, &node);
    diags.extend(more);
    diags.sort_by_key(|d| (d.line, d.column));
    (value, diags)
}

/// Whether any of `diags` is an error (as opposed to a warning).
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
