//! `$ref`s: remote ones refused, local ones followed, and schemas turned into self-contained
//! models.
//!
//! A model is the named schema with every `$ref` to another named schema rewritten to
//! `#/definitions/NAME`, and the schemas it reaches (transitively, itself included when it is
//! recursive) copied under its `definitions`. A circular reference therefore stays a reference
//! and never makes us loop. A `$ref` to anything else local (`#/components/schemas/A/properties/b`)
//! is inlined, with a depth guard that reports a cycle through such pointers.

use super::context::{child, Ctx};
use indexmap::IndexSet;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// `$ref` chains longer than this are reported as circular.
const MAX_REF_HOPS: usize = 32;
/// Inlining deeper than this is reported as circular.
const MAX_INLINE_DEPTH: usize = 32;

/// Schema keywords whose values are data: a `$ref` inside them is not a reference.
const DATA_KEYS: [&str; 5] = ["example", "examples", "enum", "default", "const"];
/// Schema keywords whose values map names to schemas.
const SCHEMA_MAPS: [&str; 6] = [
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependencies",
    "dependentSchemas",
];

/// A JSON pointer token for `name` (`~` → `~0`, `/` → `~1`).
fn escape_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Reports every `$ref` that is not local (`#…`): a URL or another file is never fetched.
pub(crate) fn check_remote_refs(ctx: &mut Ctx, root: &Value) {
    let mut pointer = String::new();
    walk_refs(ctx, root, &mut pointer);
}

fn walk_refs(ctx: &mut Ctx, v: &Value, pointer: &mut String) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                // Examples and these extensions are data; everything else, even an `enum` or a
                // `default`, is searched (a remote `$ref` there is far more likely a mistake).
                if matches!(
                    k.as_str(),
                    "example"
                        | "examples"
                        | "x-amazon-apigateway-documentation"
                        | "x-amazon-apigateway-policy"
                ) {
                    continue;
                }
                let len = pointer.len();
                *pointer = child(pointer, k);
                match (k.as_str(), val) {
                    ("$ref", Value::String(r)) if !r.starts_with('#') => ctx.error(
                        pointer,
                        format!(
                            "`$ref` to `{r}` is refused: only references inside the document (`#/…`) \
                             are followed; Archway never fetches a URL or reads another file"
                        ),
                    ),
                    _ => walk_refs(ctx, val, pointer),
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                *pointer = child(pointer, &i.to_string());
                walk_refs(ctx, item, pointer);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The JSON pointer a local `$ref` (`#/a/b%20c`) names, decoded; `None` for a remote one.
pub(crate) fn ref_pointer(r: &str) -> Option<String> {
    let fragment = r.strip_prefix('#')?;
    Some(
        percent_encoding::percent_decode_str(fragment)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Follows `$ref`s from `v` (at `pointer`) to the object they name: the value and its pointer.
/// Reports a reference that does not resolve or goes round in circles.
pub(crate) fn deref<'v>(
    ctx: &mut Ctx,
    root: &'v Value,
    v: &'v Value,
    pointer: &str,
) -> Option<(&'v Value, String)> {
    let mut cur = v;
    let mut at = pointer.to_string();
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
            return Some((cur, at));
        };
        // A remote reference was reported by `check_remote_refs`.
        let target_pointer = ref_pointer(r)?;
        match root.pointer(&target_pointer) {
            Some(t) => {
                cur = t;
                at = target_pointer;
            }
            None => {
                ctx.error(
                    &child(&at, "$ref"),
                    format!("`$ref` `{r}` does not resolve to anything in this document"),
                );
                return None;
            }
        }
    }
    ctx.error(&child(pointer, "$ref"), "`$ref`s here go round in a circle");
    None
}

/// The named schemas of a document and the models made of them.
pub(crate) struct Schemas<'v> {
    root: &'v Value,
    /// `#/components/schemas/` or `#/definitions/`.
    prefix: &'static str,
    /// `/components/schemas` or `/definitions`.
    base: &'static str,
    /// OpenAPI 3.1 (JSON Schema 2020-12): a few keywords are rewritten to draft 4.
    oas31: bool,
    /// Name → rewritten schema and the named schemas it refers to directly; `None` when it
    /// could not be rewritten.
    cache: HashMap<String, Option<(Value, Vec<String>)>>,
    /// The named schema being rewritten, if any.
    current: Option<String>,
}

impl<'v> Schemas<'v> {
    pub fn new(root: &'v Value, swagger2: bool, oas31: bool) -> Schemas<'v> {
        let (prefix, base) = if swagger2 {
            ("#/definitions/", "/definitions")
        } else {
            ("#/components/schemas/", "/components/schemas")
        };
        Schemas {
            root,
            prefix,
            base,
            oas31,
            cache: HashMap::new(),
            current: None,
        }
    }

    /// The named schemas, in document order, with their pointers.
    pub fn names(&self) -> Vec<(String, String)> {
        match self.root.pointer(self.base) {
            Some(Value::Object(m)) => m.keys().map(|k| (k.clone(), child(self.base, k))).collect(),
            _ => Vec::new(),
        }
    }

    /// The schema name a `$ref` names, when it names one directly.
    pub fn named(&self, r: &str) -> Option<String> {
        let pointer = ref_pointer(r)?;
        let token = pointer.strip_prefix(&self.prefix[1..])?;
        if token.is_empty() || token.contains('/') {
            return None;
        }
        Some(unescape_token(token))
    }

    /// `X` when `pointer` is `{base}/{the model being rewritten}/definitions/X` and resolves.
    fn own_definition(&self, pointer: &str) -> Option<String> {
        let current = self.current.as_deref()?;
        let rest = pointer
            .strip_prefix(self.base)?
            .strip_prefix('/')?
            .strip_prefix(escape_token(current).as_str())?
            .strip_prefix("/definitions/")?;
        if rest.is_empty() || rest.contains('/') || self.root.pointer(pointer).is_none() {
            return None;
        }
        Some(unescape_token(rest))
    }

    fn schema(&self, name: &str) -> Option<&'v Value> {
        self.root.pointer(self.base)?.as_object()?.get(name)
    }

    /// The model for the named schema `name`.
    pub fn model(&mut self, ctx: &mut Ctx, name: &str) -> Option<Value> {
        let (own, deps) = self.rewritten(ctx, name)?;
        Some(self.close(ctx, own, deps))
    }

    /// A model for a schema written in place (a request body's), at `pointer`.
    pub fn inline_model(&mut self, ctx: &mut Ctx, schema: &Value, pointer: &str) -> Value {
        let mut deps = IndexSet::new();
        let own = self.rewrite(ctx, schema, pointer, &mut deps, 0);
        self.close(ctx, own, deps.into_iter().collect())
    }

    fn rewritten(&mut self, ctx: &mut Ctx, name: &str) -> Option<(Value, Vec<String>)> {
        if let Some(done) = self.cache.get(name) {
            return done.clone();
        }
        let result = self.schema(name).map(|s| {
            let mut deps = IndexSet::new();
            let outer = self.current.replace(name.to_string());
            let own = self.rewrite(ctx, s, &child(self.base, name), &mut deps, 0);
            self.current = outer;
            (own, deps.into_iter().collect::<Vec<_>>())
        });
        self.cache.insert(name.to_string(), result.clone());
        result
    }

    /// Adds the named schemas `own` reaches under its `definitions`.
    fn close(&mut self, ctx: &mut Ctx, own: Value, deps: Vec<String>) -> Value {
        let mut reached: IndexSet<String> = IndexSet::new();
        let mut stack = deps;
        while let Some(n) = stack.pop() {
            if reached.insert(n.clone()) {
                if let Some((_, more)) = self.rewritten(ctx, &n) {
                    stack.extend(more.into_iter().filter(|m| !reached.contains(m)));
                }
            }
        }
        if reached.is_empty() {
            return own;
        }
        reached.sort();
        let Value::Object(mut obj) = own else {
            return own;
        };
        let defs = obj
            .entry("definitions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(defs) = defs {
            for n in &reached {
                if let Some(Some((s, _))) = self.cache.get(n) {
                    defs.insert(n.clone(), s.clone());
                }
            }
        }
        Value::Object(obj)
    }

    /// A copy of the schema `v` (at `pointer`) with named `$ref`s rewritten to
    /// `#/definitions/NAME` (recorded in `deps`) and other local ones inlined.
    fn rewrite(
        &mut self,
        ctx: &mut Ctx,
        v: &Value,
        pointer: &str,
        deps: &mut IndexSet<String>,
        depth: usize,
    ) -> Value {
        let Value::Object(m) = v else {
            return match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            self.rewrite(ctx, x, &child(pointer, &i.to_string()), deps, depth)
                        })
                        .collect(),
                ),
                other => other.clone(),
            };
        };
        if let Some(Value::String(r)) = m.get("$ref") {
            let ref_at = child(pointer, "$ref");
            if let Some(name) = self.named(r) {
                if self.schema(&name).is_none() {
                    ctx.error(
                        &ref_at,
                        format!("`$ref` `{r}` names no schema of this document"),
                    );
                }
                deps.insert(name.clone());
                let mut out = m.clone();
                out.insert(
                    "$ref".into(),
                    Value::String(format!("#/definitions/{}", escape_token(&name))),
                );
                return Value::Object(out);
            }
            let Some(target_pointer) = ref_pointer(r) else {
                // Remote: reported by `check_remote_refs`.
                return v.clone();
            };
            if let Some(local) = self.own_definition(&target_pointer) {
                // A definition of the model's own (as `export_model` writes it): it stays in the
                // model's `definitions`, so the reference stays too.
                let mut out = m.clone();
                out.insert(
                    "$ref".into(),
                    Value::String(format!("#/definitions/{}", escape_token(&local))),
                );
                return Value::Object(out);
            }
            if depth >= MAX_INLINE_DEPTH {
                ctx.error(
                    &ref_at,
                    format!("`$ref` `{r}` leads round in a circle through schemas that are not named models"),
                );
                return Value::Object(Map::new());
            }
            let Some(target) = self.root.pointer(&target_pointer) else {
                ctx.error(
                    &ref_at,
                    format!("`$ref` `{r}` does not resolve to anything in this document"),
                );
                return Value::Object(Map::new());
            };
            return self.rewrite(ctx, target, &target_pointer, deps, depth + 1);
        }
        let mut out = Map::with_capacity(m.len());
        for (k, val) in m {
            let p = child(pointer, k);
            match k.as_str() {
                k if DATA_KEYS.contains(&k) && !(k == "const" && self.oas31) => {
                    out.insert(k.to_string(), val.clone());
                }
                k if SCHEMA_MAPS.contains(&k) => {
                    let mapped = match val {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(pk, pv)| {
                                    let pp = child(&p, pk);
                                    (pk.clone(), self.rewrite(ctx, pv, &pp, deps, depth))
                                })
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    out.insert(k.to_string(), mapped);
                }
                _ => {
                    out.insert(k.to_string(), self.rewrite(ctx, val, &p, deps, depth));
                }
            }
        }
        if self.oas31 {
            to_draft4(&mut out);
        }
        Value::Object(out)
    }
}

/// JSON Schema 2020-12 keywords that mean something else in draft 4.
fn to_draft4(m: &mut Map<String, Value>) {
    if let Some(c) = m.remove("const") {
        m.entry("enum").or_insert_with(|| Value::Array(vec![c]));
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(n) = m.get(exclusive).filter(|v| v.is_number()).cloned() {
            m.insert(bound.to_string(), n);
            m.insert(exclusive.to_string(), Value::Bool(true));
        }
    }
}

/// A model as an exported schema: the copies under `definitions` that are models themselves
/// are dropped (they are exported as their own schemas) and `#/definitions/NAME` becomes
/// `prefix` + NAME. A reference to a definition of the model's own that is not a model
/// (`#/definitions/Note` beside `Note` under `Order`'s `definitions`) becomes a pointer into the
/// exported schema (`prefix` + `Order/definitions/Note`), which [`Schemas`] reads back as it was.
pub(crate) fn export_model(
    name: &str,
    model: &Value,
    is_model: &dyn Fn(&str) -> bool,
    prefix: &str,
) -> Value {
    let mut v = model.clone();
    let mut local = Vec::new();
    if let Value::Object(obj) = &mut v {
        if let Some(Value::Object(defs)) = obj.get_mut("definitions") {
            defs.retain(|k, _| !is_model(k));
            local = defs.keys().cloned().collect();
            if defs.is_empty() {
                obj.remove("definitions");
            }
        }
    }
    let rename = |target: &str| -> Option<String> {
        if is_model(target) {
            Some(format!("{prefix}{}", escape_token(target)))
        } else if local.iter().any(|l| l == target) {
            Some(format!(
                "{prefix}{}/definitions/{}",
                escape_token(name),
                escape_token(target)
            ))
        } else {
            None
        }
    };
    rename_refs(&mut v, &rename);
    v
}

fn rename_refs(v: &mut Value, rename: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(token) = r.strip_prefix("#/definitions/") {
                    if !token.contains('/') {
                        if let Some(new) = rename(&unescape_token(token)) {
                            *r = new;
                        }
                    }
                }
            }
            for (k, val) in m.iter_mut() {
                if DATA_KEYS.contains(&k.as_str()) {
                    continue;
                }
                match (SCHEMA_MAPS.contains(&k.as_str()), val) {
                    (true, Value::Object(schemas)) => {
                        for s in schemas.values_mut() {
                            rename_refs(s, rename);
                        }
                    }
                    (_, val) => rename_refs(val, rename),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rename_refs(item, rename);
            }
        }
        _ => {}
    }
}
