//! [`Diagnostic`]: one problem with a file, line, column and field path; [`Diagnostics`]: a list.

use std::fmt;

use super::Spanned;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a file.
///
/// Displays as `archway.yaml:12:5: apis[0].protocol: expected one of REST, HTTP, found `GRPC``
/// (a warning has `warning: ` before the path; an unknown line or an empty path is left out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub column: u32,
    /// Field path (`apis[0].routes["GET /pets"]`); may be empty.
    pub path: String,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    /// An error at a position.
    pub fn error(
        file: impl Into<String>,
        line: u32,
        column: u32,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            path: path.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// A warning at a position.
    pub fn warning(
        file: impl Into<String>,
        line: u32,
        column: u32,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, column, path, message)
        }
    }

    /// An error at the line, column and path of a [`Spanned`] value.
    pub fn at<T>(file: &str, at: &Spanned<T>, message: impl Into<String>) -> Self {
        Diagnostic::error(file, at.line, at.column, at.path.clone(), message)
    }

    /// A warning at the line, column and path of a [`Spanned`] value.
    pub fn warning_at<T>(file: &str, at: &Spanned<T>, message: impl Into<String>) -> Self {
        Diagnostic::warning(file, at.line, at.column, at.path.clone(), message)
    }

    /// The same diagnostic with another path (e.g. a JSON pointer for an OpenAPI node).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        f.write_str(": ")?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// A list of [`Diagnostic`]s, with a default file name, for the semantic validation pass.
///
/// ```
/// use archway_model::source::{Diagnostics, Spanned};
/// let port = Spanned::with_location(70000u32, 3, 9, "listeners[0].port");
/// let mut diags = Diagnostics::new("archway.yaml");
/// if *port > 65535 {
///     diags.error(&port, format!("port {} is out of range", *port));
/// }
/// assert_eq!(
///     diags.to_string(),
///     "archway.yaml:3:9: listeners[0].port: port 70000 is out of range"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    file: String,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty list whose `error`/`warning` helpers use `file`.
    pub fn new(file: impl Into<String>) -> Self {
        Diagnostics {
            file: file.into(),
            items: Vec::new(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn set_file(&mut self, file: impl Into<String>) {
        self.file = file.into();
    }

    /// Records an error at a [`Spanned`] value's line, column and path, in the default file.
    pub fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.items.push(Diagnostic::at(&self.file, at, message));
    }

    /// Records a warning at a [`Spanned`] value's line, column and path, in the default file.
    pub fn warning<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.items
            .push(Diagnostic::warning_at(&self.file, at, message));
    }

    /// Records an error anywhere: `file` `None` means the default file.
    pub fn error_at(
        &mut self,
        file: Option<&str>,
        line: u32,
        column: u32,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let file = file.unwrap_or(&self.file).to_owned();
        self.items
            .push(Diagnostic::error(file, line, column, path, message));
    }

    /// Records a warning anywhere: `file` `None` means the default file.
    pub fn warning_at(
        &mut self,
        file: Option<&str>,
        line: u32,
        column: u32,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let file = file.unwrap_or(&self.file).to_owned();
        self.items
            .push(Diagnostic::warning(file, line, column, path, message));
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Sorts by file, line and column (stable: same-position diagnostics keep their order).
    pub fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    /// `Ok(value)` with no errors (warnings are dropped; read them first), else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(value)
        }
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.items.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Self {
        let file = items.first().map(|d| d.file.clone()).unwrap_or_default();
        Diagnostics { file, items }
    }
}

/// One diagnostic per line.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            d.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
