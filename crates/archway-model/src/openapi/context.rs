//! Diagnostics at JSON pointers, and typed reads of JSON values that report what is wrong.

use crate::source::{lookup_pointer, Diagnostic, Node, Spanned};
use serde_json::{Map, Value};

/// The document being read and the diagnostics found so far.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub node: &'a Spanned<Node>,
    pub diags: Vec<Diagnostic>,
}

/// `base` + `/key`, with `~` and `/` escaped (RFC 6901).
pub(crate) fn child(base: &str, key: &str) -> String {
    let mut out = String::with_capacity(base.len() + key.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// `a string`, `an object`, ... for messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            format!("string `{short}`")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a str, node: &'a Spanned<Node>) -> Ctx<'a> {
        Ctx {
            file,
            node,
            diags: Vec::new(),
        }
    }

    /// The line and column of the node at `pointer`, or of its nearest ancestor that exists.
    pub fn locate(&self, pointer: &str) -> (u32, u32) {
        let mut p = pointer;
        loop {
            if let Some(n) = lookup_pointer(self.node, p) {
                return (n.line, n.column);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (0, 0),
            }
        }
    }

    pub fn error(&mut self, pointer: &str, message: impl Into<String>) {
        let (line, column) = self.locate(pointer);
        self.diags
            .push(Diagnostic::error(self.file, line, column, pointer, message));
    }

    pub fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        let (line, column) = self.locate(pointer);
        self.diags.push(Diagnostic::warning(
            self.file, line, column, pointer, message,
        ));
    }

    /// `v` as an object, or an error naming `what`.
    pub fn object<'v>(
        &mut self,
        v: &'v Value,
        pointer: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.error(
                    pointer,
                    format!("{what} must be an object, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// An optional string field.
    pub fn str_field<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        pointer: &str,
        key: &str,
    ) -> Option<&'v str> {
        match m.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.error(
                    &child(pointer, key),
                    format!("`{key}` must be a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// An optional boolean field.
    pub fn bool_field(&mut self, m: &Map<String, Value>, pointer: &str, key: &str) -> Option<bool> {
        match m.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(
                    &child(pointer, key),
                    format!("`{key}` must be a boolean, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// An optional non-negative integer field, at most `max`.
    pub fn uint_field(
        &mut self,
        m: &Map<String, Value>,
        pointer: &str,
        key: &str,
        max: u64,
    ) -> Option<u64> {
        let v = m.get(key)?;
        match v.as_u64() {
            Some(n) if n <= max => Some(n),
            _ => {
                self.error(
                    &child(pointer, key),
                    format!(
                        "`{key}` must be an integer from 0 to {max}, found {}",
                        describe(v)
                    ),
                );
                None
            }
        }
    }

    /// An optional array-of-strings field (absent: empty).
    pub fn strings_field(
        &mut self,
        m: &Map<String, Value>,
        pointer: &str,
        key: &str,
    ) -> Vec<String> {
        let Some(v) = m.get(key) else {
            return Vec::new();
        };
        let p = child(pointer, key);
        let Some(items) = v.as_array() else {
            self.error(
                &p,
                format!("`{key}` must be an array of strings, found {}", describe(v)),
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push(s.to_string()),
                None => self.error(
                    &child(&p, &i.to_string()),
                    format!("expected a string, found {}", describe(item)),
                ),
            }
        }
        out
    }

    /// An optional object whose values are strings: `(key, value, pointer of the value)`.
    pub fn string_map_field(
        &mut self,
        m: &Map<String, Value>,
        pointer: &str,
        key: &str,
    ) -> Vec<(String, String, String)> {
        let Some(v) = m.get(key) else {
            return Vec::new();
        };
        let p = child(pointer, key);
        let Some(obj) = self.object(v, &p, &format!("`{key}`")) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(obj.len());
        for (k, val) in obj {
            let vp = child(&p, k);
            match val.as_str() {
                Some(s) => out.push((k.clone(), s.to_string(), vp)),
                None => self.error(
                    &vp,
                    format!("`{k}` must map to a string, found {}", describe(val)),
                ),
            }
        }
        out
    }

    /// Warns about keys of `m` that are not in `known` (extensions other than
    /// `x-amazon-apigateway-*` are left alone).
    pub fn unknown_keys(
        &mut self,
        m: &Map<String, Value>,
        pointer: &str,
        known: &[&str],
        what: &str,
    ) {
        for k in m.keys() {
            if known.contains(&k.as_str()) {
                continue;
            }
            if k.starts_with("x-") && !k.starts_with("x-amazon-apigateway-") {
                continue;
            }
            self.warn(
                &child(pointer, k),
                format!("`{k}` is not a property of {what} that Archway knows; it is ignored"),
            );
        }
    }
}
