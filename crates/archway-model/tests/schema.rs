//! Keeps `schema/archway.schema.json` (the JSON Schema editors use for `archway.yaml`) in step
//! with the file-facing serde types in `src/config.rs` and the checks in `src/validate.rs`.
//!
//! - Every `examples/**/*.yaml` is valid against the schema and loads without errors.
//! - The fields the serde types accept, traced through serde itself, are exactly the properties
//!   the schema allows, at every path and with the same shape (object, map, list, string, ...).
//!   Every field named in `config.rs`'s source appears in the schema too.
//! - A "kitchen sink" document built from the schema (every property; each value its first
//!   `examples`) is accepted by the schema and loads with no error at all.
//! - An extra key on any object is refused by both the schema and the loader ("unknown field");
//!   an extra key on any map is accepted by both or by neither; and a table of values at the
//!   edges of `validate.rs`'s checks gets the same verdict from both.
//!
//! Adding a field to `config.rs` makes this test fail until the schema has it (with a
//! `description` and, for a leaf, `examples` whose first value the kitchen sink can use).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use archway_model::config::ConfigFile;
use archway_model::source::{self, Diagnostic, Limits};
use archway_model::validate::{load_config_file, load_config_str};
use archway_model::{GatewayResponseType, RouteMethod};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers: the schema, the loader, paths.

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let path = repo().join("schema/archway.schema.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &Value) -> jsonschema::Validator {
    if let Err(e) = jsonschema::draft7::meta::validate(schema) {
        panic!("the schema is not a valid draft-07 schema: {e}");
    }
    jsonschema::draft7::new(schema).unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Loads `doc` (as JSON text, which the YAML loader reads) with `load_config_str`, in a fresh
/// folder where every `certFile`/`keyFile` the document names exists.
fn load(doc: &Value) -> Vec<Diagnostic> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    create_named_files(doc, dir.path());
    let text = serde_json::to_string_pretty(doc).expect("JSON");
    load_config_str("kitchen-sink.yaml", &text, dir.path()).diagnostics
}

fn create_named_files(v: &Value, dir: &Path) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let ("certFile" | "keyFile", Value::String(p)) = (k.as_str(), x) {
                    let p = dir.join(p);
                    if let Some(parent) = p.parent() {
                        fs::create_dir_all(parent).expect("mkdir");
                    }
                    fs::write(&p, "").expect("write");
                }
                if let ("openapi", Value::String(p)) = (k.as_str(), x) {
                    // A document with one route that does not collide with the sink's own.
                    let doc = r#"{"openapi": "3.0.1", "info": {"title": "petstore", "version": "1"},
                        "paths": {"/from-openapi": {"get": {"x-amazon-apigateway-integration":
                        {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                         "responses": {"default": {"statusCode": "200"}}}}}}}"#;
                    fs::write(dir.join(p), doc).expect("write");
                }
                create_named_files(x, dir);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| create_named_files(x, dir)),
        _ => {}
    }
}

fn errors(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect()
}

/// A shape path: `/apis/[]/routes/{}/integration` (`[]` any list item, `{}` any map value).
fn join(path: &str, segment: &str) -> String {
    format!("{path}/{segment}")
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// JSON pointers of the nodes of `doc` at a shape path.
fn pointers_at(doc: &Value, path: &str) -> Vec<String> {
    let mut found = vec![(String::new(), doc)];
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for (ptr, v) in found {
            match segment {
                "[]" => {
                    for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                        next.push((format!("{ptr}/{i}"), x));
                    }
                }
                "{}" => {
                    for (k, x) in v.as_object().into_iter().flatten() {
                        next.push((format!("{ptr}/{}", escape(k)), x));
                    }
                }
                field => {
                    if let Some(x) = v.get(field) {
                        next.push((format!("{ptr}/{}", escape(field)), x));
                    }
                }
            }
        }
        found = next;
    }
    found.into_iter().map(|(p, _)| p).collect()
}

/// Sets (`Some`) or removes (`None`) the member at JSON pointer `ptr`; its parent must exist.
fn edit(doc: &mut Value, ptr: &str, value: Option<Value>) {
    let (parent, key) = ptr.rsplit_once('/').expect("a JSON pointer");
    let key = key.replace("~1", "/").replace("~0", "~");
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("the kitchen sink has nothing at `{parent}`"));
    match (parent, value) {
        (Value::Object(m), Some(v)) => {
            m.insert(key, v);
        }
        (Value::Object(m), None) => {
            m.shift_remove(&key);
        }
        (Value::Array(a), Some(v)) => a[key.parse::<usize>().expect("an index")] = v,
        (other, _) => panic!("cannot edit `{ptr}` in {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes: what the schema allows and what serde accepts, path by path.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// A struct / an object with fixed `properties`.
    Object(BTreeSet<String>),
    /// A map with arbitrary keys.
    Map,
    List,
    String,
    Integer,
    Number,
    Boolean,
    /// Free-form JSON (`serde_json::Value`, e.g. a model's JSON Schema): an object schema with
    /// `additionalProperties: true` and no `properties`.
    Any,
}

type Shapes = BTreeMap<String, Shape>;

fn schema_shapes(s: &Value, path: &str, out: &mut Shapes) {
    let ty = s["type"]
        .as_str()
        .unwrap_or_else(|| panic!("schema at `{path}` names no single `type`"));
    let shape = match ty {
        "object" => match s.get("properties").and_then(Value::as_object) {
            Some(props) => {
                for (k, p) in props {
                    schema_shapes(p, &join(path, k), out);
                }
                Shape::Object(props.keys().cloned().collect())
            }
            None if s["additionalProperties"] == Value::Bool(true) => Shape::Any,
            None => {
                let values = &s["additionalProperties"];
                assert!(
                    values.is_object(),
                    "schema at `{path}`: an object without `properties` is a map and needs an `additionalProperties` schema"
                );
                schema_shapes(values, &join(path, "{}"), out);
                Shape::Map
            }
        },
        "array" => {
            schema_shapes(&s["items"], &join(path, "[]"), out);
            Shape::List
        }
        "string" => Shape::String,
        "integer" => Shape::Integer,
        "number" => Shape::Number,
        "boolean" => Shape::Boolean,
        other => panic!("schema at `{path}`: unexpected type `{other}`"),
    };
    out.insert(path.to_string(), shape);
}

/// A serde `Deserializer` that feeds a type one of everything (every struct field, one list
/// item, one map entry, `Some` for every option) and records the shape it asked for at each path.
/// This is serde's own view of `config.rs`: `rename`s and `rename_all` included.
struct Tracer<'a> {
    path: String,
    out: &'a RefCell<Shapes>,
}

type TraceError = de::value::Error;

impl<'a> Tracer<'a> {
    fn record(&self, shape: Shape) {
        self.out.borrow_mut().insert(self.path.clone(), shape);
    }

    fn child(&self, segment: &str) -> Tracer<'a> {
        Tracer {
            path: join(&self.path, segment),
            out: self.out,
        }
    }
}

macro_rules! trace_integers {
    ($($method:ident => $visit:ident($value:expr),)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
            self.record(Shape::Integer);
            visitor.$visit($value)
        }
    )*};
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = TraceError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        // Only free-form JSON values (`serde_json::Value`) ask for this.
        self.record(Shape::Any);
        visitor.visit_unit()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::Boolean);
        visitor.visit_bool(true)
    }

    trace_integers! {
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_i8 => visit_i64(1),
        deserialize_i16 => visit_i64(1),
        deserialize_i32 => visit_i64(1),
        deserialize_i64 => visit_i64(1),
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::Number);
        visitor.visit_f64(1.0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::Number);
        visitor.visit_f64(1.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::String);
        visitor.visit_str("x")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::String);
        visitor.visit_str("x")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        // `Spanned<T>`: without our loader's location it is a plain `T`.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::List);
        visitor.visit_seq(OneItem(Some(self.child("[]"))))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Shape::Map);
        visitor.visit_map(OneEntry {
            key_given: false,
            value: Some(self.child("{}")),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        self.record(Shape::Object(
            fields.iter().map(|f| f.to_string()).collect(),
        ));
        visitor.visit_map(EveryField {
            fields,
            next: 0,
            parent: self,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct enum identifier
    }
}

struct OneItem<'a>(Option<Tracer<'a>>);

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = TraceError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TraceError> {
        self.0.take().map(|t| seed.deserialize(t)).transpose()
    }
}

struct OneEntry<'a> {
    key_given: bool,
    value: Option<Tracer<'a>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = TraceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        if self.key_given {
            return Ok(None);
        }
        self.key_given = true;
        seed.deserialize(IntoDeserializer::<TraceError>::into_deserializer("key"))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, TraceError> {
        seed.deserialize(self.value.take().expect("one value"))
    }
}

struct EveryField<'a> {
    fields: &'static [&'static str],
    next: usize,
    parent: Tracer<'a>,
}

impl<'de> MapAccess<'de> for EveryField<'_> {
    type Error = TraceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        match self.fields.get(self.next) {
            Some(f) => seed
                .deserialize(IntoDeserializer::<TraceError>::into_deserializer(*f))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, TraceError> {
        let field = self.fields[self.next];
        self.next += 1;
        seed.deserialize(self.parent.child(field))
    }
}

fn serde_shapes() -> Shapes {
    let out = RefCell::new(Shapes::new());
    ConfigFile::deserialize(Tracer {
        path: String::new(),
        out: &out,
    })
    .unwrap_or_else(|e| panic!("tracing ConfigFile: {e}"));
    out.into_inner()
}

// ---------------------------------------------------------------------------------------------
// The kitchen sink: every property the schema knows, each value its first example.

fn first_example(s: &Value) -> Option<Value> {
    s.get("examples")
        .or_else(|| s.get("enum"))
        .and_then(|e| e.get(0))
        .cloned()
}

fn sample(s: &Value, path: &str) -> Value {
    match s["type"].as_str() {
        Some("object") if s.get("properties").is_none() && s["additionalProperties"] == Value::Bool(true) => {
            first_example(s).unwrap_or_else(|| {
                panic!("schema at `{path}`: give free-form JSON `examples` (the kitchen sink uses the first)")
            })
        }
        Some("object") => match s.get("properties").and_then(Value::as_object) {
            Some(props) => Value::Object(
                props
                    .iter()
                    .map(|(k, p)| (k.clone(), sample(p, &join(path, k))))
                    .collect(),
            ),
            None => {
                let key = first_example(&s["propertyNames"])
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_else(|| {
                        panic!("schema at `{path}`: give the map `propertyNames` with `examples`")
                    });
                let value = sample(&s["additionalProperties"], &join(path, "{}"));
                json!({ key: value })
            }
        },
        Some("array") => json!([sample(&s["items"], &join(path, "[]"))]),
        Some("boolean") => json!(true),
        _ => first_example(s).unwrap_or_else(|| {
            panic!("schema at `{path}`: give it `examples` (the kitchen sink uses the first)")
        }),
    }
}

fn kitchen_sink(schema: &Value) -> Value {
    sample(schema, "")
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// Draft-07-valid; `additionalProperties: false` on every object with properties; a description
/// on every property, list item and map value.
#[test]
fn schema_is_well_formed() {
    let schema = schema();
    validator(&schema);
    let mut problems = Vec::new();
    fn walk(s: &Value, path: &str, problems: &mut Vec<String>) {
        if path.is_empty() || !path.ends_with("[]") {
            match s.get("description").and_then(Value::as_str) {
                Some(d) if !d.trim().is_empty() => {}
                _ => problems.push(format!("`{path}` has no description")),
            }
        }
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            if s.get("additionalProperties") != Some(&Value::Bool(false)) {
                problems.push(format!("`{path}` lacks `additionalProperties: false`"));
            }
            for (k, p) in props {
                walk(p, &join(path, k), problems);
            }
        } else if let Some(v) = s.get("additionalProperties").filter(|v| v.is_object()) {
            walk(v, &join(path, "{}"), problems);
            if s.get("propertyNames")
                .and_then(|n| n.get("description"))
                .is_none()
            {
                problems.push(format!("`{path}`'s `propertyNames` has no description"));
            }
        }
        if let Some(items) = s.get("items") {
            walk(items, &join(path, "[]"), problems);
        }
    }
    walk(&schema, "", &mut problems);
    assert!(schema["title"].is_string(), "the schema has no title");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_example_is_valid() {
    let schema = schema();
    let v = validator(&schema);
    let mut files = Vec::new();
    fn find(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.expect("a folder entry").path();
            if p.is_dir() {
                find(&p, files);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(p);
            }
        }
    }
    find(&repo().join("examples"), &mut files);
    assert!(!files.is_empty(), "no examples/**/*.yaml found");
    for file in files {
        let name = file.display().to_string();
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let node = source::parse(&name, &text, &Limits::default())
            .unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let doc = source::to_json(&node);
        let problems = schema_errors(&v, &doc);
        assert!(
            problems.is_empty(),
            "{name} is not valid against the schema:\n{}",
            problems.join("\n")
        );
        let problems = errors(&load_config_file(&file).diagnostics);
        assert!(
            problems.is_empty(),
            "{name} does not load:\n{}",
            problems.join("\n")
        );
    }
}

/// The serde types and the schema agree on every path: the same object fields, maps, lists and
/// value types.
#[test]
fn schema_properties_are_exactly_the_serde_fields() {
    let mut from_schema = Shapes::new();
    schema_shapes(&schema(), "", &mut from_schema);
    let from_serde = serde_shapes();
    let mut problems = Vec::new();
    for (path, shape) in &from_serde {
        match from_schema.get(path) {
            None => problems.push(format!(
                "`{path}` ({shape:?}) is in config.rs but not in the schema"
            )),
            Some(s) if s != shape => problems.push(format!(
                "`{path}`: config.rs has {shape:?}, the schema {s:?}"
            )),
            Some(_) => {}
        }
    }
    for (path, shape) in &from_schema {
        if !from_serde.contains_key(path) {
            problems.push(format!(
                "`{path}` ({shape:?}) is in the schema but not in config.rs"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every field named in `config.rs`'s structs (snake_case → camelCase, or its `rename`) appears
/// in the schema: a check on the source text, beside the trace through serde above.
#[test]
fn every_field_named_in_config_rs_is_in_the_schema() {
    let path = repo().join("crates/archway-model/src/config.rs");
    let src = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let field = regex::Regex::new(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:r#)?([a-z_][a-z0-9_]*)\s*:")
        .expect("regex");
    let rename = regex::Regex::new(r#"#\[serde\(.*\brename\s*=\s*"([^"]+)""#).expect("regex");
    let rename_all = regex::Regex::new(r#"rename_all\s*=\s*"([^"]+)""#).expect("regex");
    for c in rename_all.captures_iter(&src) {
        assert_eq!(&c[1], "camelCase", "config.rs: this test assumes camelCase");
    }
    let mut names = BTreeSet::new();
    let (mut in_struct, mut renamed) = (false, None::<String>);
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("pub struct ") || t.starts_with("struct ") {
            in_struct = t.ends_with('{');
        } else if in_struct && t.starts_with('}') {
            in_struct = false;
        } else if in_struct {
            if let Some(c) = rename.captures(t) {
                renamed = Some(c[1].to_string());
            } else if let Some(c) = field.captures(line) {
                names.insert(renamed.take().unwrap_or_else(|| camel_case(&c[1])));
            }
        }
    }
    assert!(names.len() > 20, "found only {names:?} in config.rs");
    let mut shapes = Shapes::new();
    schema_shapes(&schema(), "", &mut shapes);
    let in_schema: BTreeSet<String> = shapes
        .values()
        .filter_map(|s| match s {
            Shape::Object(fields) => Some(fields.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    let missing: Vec<&String> = names.difference(&in_schema).collect();
    assert!(
        missing.is_empty(),
        "fields of config.rs missing from the schema: {missing:?}"
    );
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The kitchen sink has every field serde knows, the schema accepts it, and the loader finds
/// no unknown field and no error at all in it.
#[test]
fn kitchen_sink_sets_every_field_and_is_valid() {
    let schema = schema();
    let v = validator(&schema);
    let sink = kitchen_sink(&schema);
    for (path, _) in serde_shapes() {
        assert!(
            !pointers_at(&sink, &path).is_empty(),
            "the kitchen sink has nothing at `{path}`"
        );
    }
    let problems = schema_errors(&v, &sink);
    assert!(
        problems.is_empty(),
        "the schema refuses its own kitchen sink:\n{}\n{sink:#}",
        problems.join("\n")
    );
    let diags = load(&sink);
    let unknown: Vec<String> = diags
        .iter()
        .filter(|d| d.message.contains("unknown field"))
        .map(ToString::to_string)
        .collect();
    assert!(
        unknown.is_empty(),
        "the loader does not know fields the schema has:\n{}",
        unknown.join("\n")
    );
    let problems = errors(&diags);
    assert!(
        problems.is_empty(),
        "the kitchen sink does not load:\n{}\n{sink:#}",
        problems.join("\n")
    );
}

/// A key `zzBogus` on any object is refused by the schema and reported by the loader as an
/// unknown field; a key `zzBogus` on any map is accepted by both or refused by both.
#[test]
fn extra_keys_are_refused_by_both() {
    let schema = schema();
    let v = validator(&schema);
    let sink = kitchen_sink(&schema);
    let mut shapes = Shapes::new();
    schema_shapes(&schema, "", &mut shapes);
    let mut problems = Vec::new();
    let (mut objects, mut maps) = (0, 0);
    for (path, shape) in &shapes {
        let ptr = pointers_at(&sink, path)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("the kitchen sink has nothing at `{path}`"));
        let mut doc = sink.clone();
        let target = doc
            .pointer_mut(&ptr)
            .and_then(Value::as_object_mut)
            .map(|m| (m.values().next().cloned(), m));
        match (shape, target) {
            (Shape::Object(_), Some((_, m))) => {
                objects += 1;
                m.insert("zzBogus".into(), json!("x"));
                if v.is_valid(&doc) {
                    problems.push(format!("the schema accepts an extra key at `{path}`"));
                }
                let diags = load(&doc);
                if !diags
                    .iter()
                    .any(|d| d.is_error() && d.message.contains("unknown field `zzBogus`"))
                {
                    problems.push(format!(
                        "the loader reports no unknown field for an extra key at `{path}`: {:?}",
                        errors(&diags)
                    ));
                }
            }
            (Shape::Map, Some((Some(first), m))) => {
                maps += 1;
                m.insert("zzBogus".into(), first);
                let schema_ok = v.is_valid(&doc);
                let loader_errors = errors(&load(&doc));
                if schema_ok != loader_errors.is_empty() {
                    problems.push(format!(
                        "key `zzBogus` in the map at `{path}`: the schema {} it, the loader {}",
                        if schema_ok { "accepts" } else { "refuses" },
                        if loader_errors.is_empty() {
                            "accepts it".to_string()
                        } else {
                            format!("says {loader_errors:?}")
                        }
                    ));
                }
            }
            (Shape::Object(_) | Shape::Map, _) => problems.push(format!(
                "`{path}` in the kitchen sink is not a filled object"
            )),
            _ => {}
        }
    }
    let count = |f: fn(&Shape) -> bool| shapes.values().filter(|s| f(s)).count();
    assert_eq!(
        objects,
        count(|s| matches!(s, Shape::Object(_))),
        "objects tried"
    );
    assert_eq!(maps, count(|s| matches!(s, Shape::Map)), "maps tried");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A JSON pointer into the kitchen sink and the value to set there (`None`: remove it).
type Edit = (String, Option<Value>);

/// Values at the edges of `validate.rs`'s checks get the same verdict from the schema and the
/// loader. Each case edits the kitchen sink: `Some` sets a member, `None` removes it.
#[test]
fn schema_and_loader_agree_on_values() {
    let schema = schema();
    let v = validator(&schema);
    let sink = kitchen_sink(&schema);
    let api = "/apis/0";
    let route = format!("{api}/routes/GET ~1pets~1{{petId}}");
    let int = format!("{route}/integration");
    let resp = format!("{int}/responses/default");
    let gw = format!("{api}/gatewayResponses/MISSING_AUTHENTICATION_TOKEN");
    let stage = format!("{api}/stages/prod");
    let dom = "/domainNames/0";
    let mock = json!({ "integration": { "type": "MOCK" } });
    let stage_body = json!({ "variables": { "backend": "pets.internal:8080" } });
    let long = |n: usize| "a".repeat(n);
    let s = |p: &str, v: Value| (p.to_string(), Some(v));
    let rm = |p: &str| (p.to_string(), None);
    #[rustfmt::skip]
    let cases: Vec<(&str, bool, Vec<Edit>)> = vec![
        ("workers 0", false, vec![s("/server/workers", json!(0))]),
        ("workers 1", true, vec![s("/server/workers", json!(1))]),
        ("workers 1024", true, vec![s("/server/workers", json!(1024))]),
        ("workers 1025", false, vec![s("/server/workers", json!(1025))]),
        ("workers as a string", false, vec![s("/server/workers", json!("4"))]),
        ("headerReadTimeoutMillis 0", false, vec![s("/server/headerReadTimeoutMillis", json!(0))]),
        ("headerReadTimeoutMillis 1", true, vec![s("/server/headerReadTimeoutMillis", json!(1))]),
        ("idleTimeoutMillis 0", false, vec![s("/server/idleTimeoutMillis", json!(0))]),
        ("drainTimeoutMillis 0", true, vec![s("/server/drainTimeoutMillis", json!(0))]),
        ("idlePollMicros 0", true, vec![s("/server/idlePollMicros", json!(0))]),
        ("idlePollMicros 1000", true, vec![s("/server/idlePollMicros", json!(1000))]),
        ("idlePollMicros 1001", false, vec![s("/server/idlePollMicros", json!(1001))]),
        ("maxRequestLineBytes 0", false, vec![s("/server/maxRequestLineBytes", json!(0))]),
        ("maxHeaderBytes 0", false, vec![s("/server/maxHeaderBytes", json!(0))]),
        ("maxPayloadBytes 0", false, vec![s("/server/maxPayloadBytes", json!(0))]),
        ("maxPayloadBytes -1", false, vec![s("/server/maxPayloadBytes", json!(-1))]),
        ("listen localhost", false, vec![s("/server/listen", json!("localhost:8080"))]),
        ("listen IPv6", true, vec![s("/server/listen", json!("[::1]:8080"))]),
        ("listen a number", false, vec![s("/server/listen", json!(8080))]),
        ("tls without listen", false, vec![rm("/server/tls/listen")]),
        ("tls certFile without keyFile", false, vec![rm("/server/tls/keyFile")]),
        ("tls keyFile without certFile", false, vec![rm("/server/tls/certFile")]),
        ("tls certificate only on the domain", true, vec![rm("/server/tls/certFile"), rm("/server/tls/keyFile")]),
        ("api without name or openapi", false, vec![rm(&format!("{api}/name")), rm(&format!("{api}/openapi"))]),
        ("api named by its openapi document", true, vec![rm(&format!("{api}/name"))]),
        ("api name empty", false, vec![s(&format!("{api}/name"), json!(""))]),
        ("api name blank", false, vec![s(&format!("{api}/name"), json!("   "))]),
        ("api without protocol", false, vec![rm(&format!("{api}/protocol"))]),
        ("protocol SOAP", false, vec![s(&format!("{api}/protocol"), json!("SOAP"))]),
        ("protocol HTTP", true, vec![s(&format!("{api}/protocol"), json!("HTTP"))]),
        ("api id with capitals", false, vec![s(&format!("{api}/id"), json!("Pet_Store"))]),
        ("api id of 63", true, vec![s(&format!("{api}/id"), json!(long(63)))]),
        ("api id of 64", false, vec![s(&format!("{api}/id"), json!(long(64)))]),
        ("api maxPayloadBytes 0", false, vec![s(&format!("{api}/maxPayloadBytes"), json!(0))]),
        ("binary media type without /", false, vec![s(&format!("{api}/binaryMediaTypes"), json!(["png"]))]),
        ("binary media type */*", true, vec![s(&format!("{api}/binaryMediaTypes"), json!(["*/*"]))]),
        ("route FETCH", false, vec![s(&format!("{api}/routes/FETCH ~1x"), mock.clone())]),
        ("route without /", false, vec![s(&format!("{api}/routes/GET pets"), mock.clone())]),
        ("route ANY greedy", true, vec![s(&format!("{api}/routes/ANY ~1{{proxy+}}"), mock.clone())]),
        ("route $default on REST", false, vec![s(&format!("{api}/routes/$default"), mock.clone())]),
        ("route $default on HTTP", true, vec![s(&format!("{api}/protocol"), json!("HTTP")), s(&format!("{api}/routes/$default"), mock.clone())]),
        ("route without integration", false, vec![s(&format!("{api}/routes/GET ~1empty"), json!({}))]),
        ("stage $default on REST", false, vec![s(&format!("{api}/stages/$default"), stage_body.clone())]),
        ("stage $default on HTTP", true, vec![s(&format!("{api}/protocol"), json!("HTTP")), s(&format!("{api}/stages/$default"), stage_body.clone())]),
        ("stage name with a space", false, vec![s(&format!("{api}/stages/bad stage"), stage_body.clone())]),
        ("stage name of 128", true, vec![s(&format!("{api}/stages/{}", long(128)), stage_body.clone())]),
        ("stage name of 129", false, vec![s(&format!("{api}/stages/{}", long(129)), stage_body.clone())]),
        ("stage variable name with -", false, vec![s(&format!("{stage}/variables/bad-name"), json!("x"))]),
        ("stage variable value with a space", false, vec![s(&format!("{stage}/variables/other"), json!("has space"))]),
        ("stage variable value empty", true, vec![s(&format!("{stage}/variables/other"), json!(""))]),
        ("method request parameter in the body", false, vec![s(&format!("{route}/requestParameters/method.request.body.x"), json!(true))]),
        ("method request parameter query", true, vec![s(&format!("{route}/requestParameters/method.request.querystring.q"), json!(false))]),
        ("method request parameter not a boolean", false, vec![s(&format!("{route}/requestParameters/method.request.path.petId"), json!("yes"))]),
        ("integration without type", false, vec![rm(&format!("{int}/type"))]),
        ("AWS naming a Lambda function", true, vec![
            s(&format!("{int}/type"), json!("AWS")),
            s(&format!("{int}/uri"), json!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hello/invocations")),
        ]),
        ("AWS_PROXY naming a function", true, vec![
            s(&format!("{int}/type"), json!("AWS_PROXY")),
            s(&format!("{int}/uri"), json!("arn:aws:lambda:us-east-1:123456789012:function:hello")),
            s(&format!("{int}/payloadFormatVersion"), json!("1.0")),
        ]),
        ("integration type HTTP on REST", true, vec![s(&format!("{int}/type"), json!("HTTP"))]),
        ("integration type HTTP on HTTP", false, vec![s(&format!("{api}/protocol"), json!("HTTP")), s(&format!("{int}/type"), json!("HTTP"))]),
        ("integration HTTP_PROXY without uri", false, vec![rm(&format!("{int}/uri"))]),
        ("integration HTTP without uri", false, vec![s(&format!("{int}/type"), json!("HTTP")), rm(&format!("{int}/uri"))]),
        ("integration MOCK without uri", true, vec![s(&format!("{int}/type"), json!("MOCK")), rm(&format!("{int}/uri"))]),
        ("httpMethod FETCH", false, vec![s(&format!("{int}/httpMethod"), json!("FETCH"))]),
        ("httpMethod ANY", true, vec![s(&format!("{int}/httpMethod"), json!("ANY"))]),
        ("timeoutInMillis 49", false, vec![s(&format!("{int}/timeoutInMillis"), json!(49))]),
        ("timeoutInMillis 50", true, vec![s(&format!("{int}/timeoutInMillis"), json!(50))]),
        ("passthroughBehavior ALWAYS", false, vec![s(&format!("{int}/passthroughBehavior"), json!("ALWAYS"))]),
        ("upstreamProtocol HTTP3", false, vec![s(&format!("{int}/upstreamProtocol"), json!("HTTP3"))]),
        ("integration parameter in the body", false, vec![s(&format!("{int}/requestParameters/integration.request.body.x"), json!("'v'"))]),
        ("integration header name with a space", false, vec![s(&format!("{int}/requestParameters/integration.request.header.bad name"), json!("'v'"))]),
        ("integration query parameter", true, vec![s(&format!("{int}/requestParameters/integration.request.querystring.q"), json!("'v'"))]),
        ("integration path parameter", true, vec![s(&format!("{int}/requestParameters/integration.request.path.p"), json!("method.request.path.petId"))]),
        ("integration source a cookie", false, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("method.request.cookie.x"))]),
        ("integration source unquoted", false, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("plain"))]),
        ("integration source a lone quote", false, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("'"))]),
        ("integration source static", true, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("'static'"))]),
        ("integration source stage variable", true, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("stageVariables.backend"))]),
        ("integration source context", true, vec![s(&format!("{int}/requestParameters/integration.request.header.x-pet-id"), json!("context.requestId"))]),
        ("request template content type without /", false, vec![s(&format!("{int}/requestTemplates/json"), json!("{}"))]),
        ("insecureSkipVerification a string", false, vec![s(&format!("{int}/tlsConfig/insecureSkipVerification"), json!("yes"))]),
        ("integration response without statusCode", false, vec![rm(&format!("{resp}/statusCode"))]),
        ("integration response statusCode 600", false, vec![s(&format!("{resp}/statusCode"), json!("600"))]),
        ("integration response statusCode 99", false, vec![s(&format!("{resp}/statusCode"), json!("99"))]),
        ("integration response statusCode 599", true, vec![s(&format!("{resp}/statusCode"), json!("599"))]),
        ("integration response statusCode a number", false, vec![s(&format!("{resp}/statusCode"), json!(200))]),
        ("response header name with a space", false, vec![s(&format!("{resp}/responseParameters/method.response.header.bad name"), json!("'v'"))]),
        ("response parameter not a header", false, vec![s(&format!("{resp}/responseParameters/method.request.header.x"), json!("'v'"))]),
        ("response header from upstream", true, vec![s(&format!("{resp}/responseParameters/method.response.header.x-up"), json!("integration.response.header.x-up"))]),
        ("response header unquoted", false, vec![s(&format!("{resp}/responseParameters/method.response.header.x-up"), json!("no quotes"))]),
        ("response header with a tab", true, vec![s(&format!("{resp}/responseParameters/method.response.header.x-up"), json!("'a\tb'"))]),
        ("response header not ASCII", false, vec![s(&format!("{resp}/responseParameters/method.response.header.x-up"), json!("'é'"))]),
        ("gateway response type unknown", false, vec![s(&format!("{api}/gatewayResponses/NOT_A_TYPE"), json!({}))]),
        ("gateway response DEFAULT_4XX", true, vec![s(&format!("{api}/gatewayResponses/DEFAULT_4XX"), json!({}))]),
        ("gateway response statusCode 99", false, vec![s(&format!("{gw}/statusCode"), json!("99"))]),
        ("gateway response header from the request", false, vec![s(&format!("{gw}/responseParameters/gatewayresponse.header.x-archway-example"), json!("method.request.header.x"))]),
        ("gateway response header name with a space", false, vec![s(&format!("{gw}/responseParameters/gatewayresponse.header.bad name"), json!("'v'"))]),
        ("gateway response parameter not a header", false, vec![s(&format!("{gw}/responseParameters/method.response.header.x"), json!("'v'"))]),
        ("domain without domainName", false, vec![rm(&format!("{dom}/domainName"))]),
        ("domain name with _", false, vec![s(&format!("{dom}/domainName"), json!("bad_host.com"))]),
        ("domain name wildcard", true, vec![s(&format!("{dom}/domainName"), json!("*.example.com"))]),
        ("domain label of 64", false, vec![s(&format!("{dom}/domainName"), json!(format!("{}.com", long(64))))]),
        ("domain certificate without keyFile", false, vec![rm(&format!("{dom}/certificate/keyFile"))]),
        ("domain certificate without certFile", false, vec![rm(&format!("{dom}/certificate/certFile"))]),
        ("domain without certificate", true, vec![rm(&format!("{dom}/certificate"))]),
        ("base path mapping without api", false, vec![rm(&format!("{dom}/basePathMappings/0/api"))]),
        ("base path mapping without stage", false, vec![rm(&format!("{dom}/basePathMappings/0/stage"))]),
        ("base path with an empty segment", false, vec![s(&format!("{dom}/basePathMappings/0/basePath"), json!("a//b"))]),
        ("base path (none)", true, vec![s(&format!("{dom}/basePathMappings/0/basePath"), json!("(none)"))]),
        ("base path with slashes", true, vec![s(&format!("{dom}/basePathMappings/0/basePath"), json!("/v1/"))]),
        ("base path omitted", true, vec![rm(&format!("{dom}/basePathMappings/0/basePath"))]),
    ];
    let mut problems = Vec::new();
    for (name, valid, edits) in cases {
        let mut doc = sink.clone();
        for (ptr, value) in edits {
            edit(&mut doc, &ptr, value);
        }
        let schema_problems = schema_errors(&v, &doc);
        let loader_problems = errors(&load(&doc));
        if schema_problems.is_empty() != valid {
            problems.push(format!(
                "{name}: the schema should {} it: {schema_problems:?}",
                if valid { "accept" } else { "refuse" }
            ));
        }
        if loader_problems.is_empty() != valid {
            problems.push(format!(
                "{name}: the loader should {} it: {loader_problems:?}",
                if valid { "accept" } else { "refuse" }
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every value of every `enum` in the schema loads; a value outside it does not.
#[test]
fn enum_values_load() {
    let schema = schema();
    let sink = kitchen_sink(&schema);
    let mut enums = Vec::new();
    fn walk(s: &Value, path: &str, out: &mut Vec<(String, Vec<Value>)>) {
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            out.push((path.to_string(), e.clone()));
        }
        for (k, p) in s
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            walk(p, &join(path, k), out);
        }
        if let Some(v) = s.get("additionalProperties").filter(|v| v.is_object()) {
            walk(v, &join(path, "{}"), out);
        }
        if let Some(items) = s.get("items") {
            walk(items, &join(path, "[]"), out);
        }
    }
    walk(&schema, "", &mut enums);
    assert!(enums.len() >= 5, "{enums:?}");
    let mut problems = Vec::new();
    for (path, values) in enums {
        let ptr = pointers_at(&sink, &path).remove(0);
        for value in values.into_iter().chain([json!("ZZ_BOGUS")]) {
            let mut doc = sink.clone();
            edit(&mut doc, &ptr, Some(value.clone()));
            if value == "AWS_PROXY" || value == "AWS" {
                // A Lambda integration needs a function for its URI, and REST APIs send
                // payload format 1.0.
                let parent = ptr.rsplit_once('/').map_or("", |(p, _)| p);
                edit(
                    &mut doc,
                    &format!("{parent}/uri"),
                    Some(json!(
                        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hello/invocations"
                    )),
                );
                edit(
                    &mut doc,
                    &format!("{parent}/payloadFormatVersion"),
                    Some(json!("1.0")),
                );
            }
            let loader_problems = errors(&load(&doc));
            if loader_problems.is_empty() == (value == "ZZ_BOGUS") {
                problems.push(format!(
                    "`{path}` = {value}: the loader says {loader_problems:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Names the code lists itself: gateway response types and route methods.
#[test]
fn enumerated_names_match_the_code() {
    let schema = schema();
    let api = &schema["properties"]["apis"]["items"]["properties"];

    let in_schema: BTreeSet<&str> = api["gatewayResponses"]["propertyNames"]["enum"]
        .as_array()
        .expect("gateway response types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let in_code: BTreeSet<&str> = GatewayResponseType::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(in_schema, in_code, "gateway response types");

    let methods: BTreeSet<&str> = RouteMethod::ALL.iter().map(|m| m.as_str()).collect();
    let pattern = api["routes"]["propertyNames"]["pattern"]
        .as_str()
        .expect("route key pattern");
    let listed = regex::Regex::new(r"\(([A-Z|]+)\) /")
        .expect("regex")
        .captures(pattern)
        .and_then(|c| c.get(1))
        .unwrap_or_else(|| panic!("no method list in {pattern}"))
        .as_str()
        .split('|')
        .collect::<BTreeSet<&str>>();
    assert_eq!(listed, methods, "route key methods");
    let http_method: BTreeSet<&str> = api["routes"]["additionalProperties"]["properties"]
        ["integration"]["properties"]["httpMethod"]["enum"]
        .as_array()
        .expect("httpMethod enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(http_method, methods, "integration httpMethod");
}
