//! Tests of `archway_model::source`: parsing YAML/JSON into a spanned tree and deserializing it
//! while collecting every problem with file, line and field path.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use archway_model::source::{
    self, from_node, from_str, has_errors, lookup_pointer, parse, parse_recover, to_json,
    Diagnostic, Diagnostics, Limits, Node, Severity, Spanned,
};
use serde::{Deserialize, Serialize};

const FILE: &str = "archway.yaml";

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
struct Config {
    version: u32,
    apis: Vec<Api>,
    stage_variables: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
struct Api {
    name: Spanned<String>,
    protocol: String,
    port: u16,
    enabled: bool,
    timeout_ms: Option<u64>,
    tags: Vec<String>,
    routes: BTreeMap<String, Route>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
struct Route {
    integration: Integration,
    authorizer: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
struct Integration {
    uri: Spanned<String>,
    timeout_ms: u32,
}

fn load<T: serde::de::DeserializeOwned>(text: &str) -> (Option<T>, Vec<Diagnostic>) {
    from_str(FILE, text, &Limits::default())
}

/// `(line, path, message)` of each diagnostic, for compact assertions.
fn summary(diags: &[Diagnostic]) -> Vec<(u32, String, String)> {
    diags
        .iter()
        .map(|d| (d.line, d.path.clone(), d.message.clone()))
        .collect()
}

fn parse_err(text: &str) -> Vec<Diagnostic> {
    match parse(FILE, text, &Limits::default()) {
        Ok(node) => panic!("expected an error, parsed {node:?}"),
        Err(diags) => diags,
    }
}

#[test]
fn valid_config_loads_without_diagnostics() {
    let text = r#"
version: 2
apis:
  - name: pets
    protocol: HTTP
    port: 8080
    enabled: true
    timeoutMs: 29000
    tags: [a, "b"]
    routes:
      "GET /pets":
        integration:
          uri: http://localhost:9000/pets
          timeoutMs: 1000
        authorizer: jwt
stageVariables:
  backend: example.com
"#;
    let (config, diags) = load::<Config>(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let config = config.expect("value");
    assert_eq!(config.version, 2);
    let api = &config.apis[0];
    assert_eq!(*api.name, "pets");
    assert_eq!((api.name.line, api.name.column), (4, 11));
    assert_eq!(api.name.path, "apis[0].name");
    assert_eq!(api.timeout_ms, Some(29000));
    assert_eq!(api.tags, ["a", "b"]);
    let route = &api.routes["GET /pets"];
    assert_eq!(route.integration.uri.value, "http://localhost:9000/pets");
    assert_eq!(route.integration.uri.line, 13);
    assert_eq!(
        route.integration.uri.path,
        r#"apis[0].routes["GET /pets"].integration.uri"#
    );
    let authorizer = route.authorizer.as_ref().expect("authorizer");
    assert_eq!((authorizer.value.as_str(), authorizer.line), ("jwt", 15));
    assert_eq!(config.stage_variables["backend"], "example.com");
}

#[test]
fn every_unknown_key_is_reported_at_every_level() {
    let text = r#"
version: 1
colour: blue
apis:
  - name: a
    protocl: HTTP
    routes:
      "GET /x":
        integraton:
          uri: x
        integration:
          uri: y
          timeout_ms: 5
          extra: 1
  - name: b
    nme: c
"#;
    let (config, diags) = load::<Config>(text);
    assert_eq!(
        summary(&diags),
        vec![
            (3, "colour".into(), "unknown field `colour`, expected one of `version`, `apis`, `stageVariables`".into()),
            (6, "apis[0].protocl".into(), "unknown field `protocl` (did you mean `protocol`?), expected one of `name`, `protocol`, `port`, `enabled`, `timeoutMs`, `tags`, `routes`".into()),
            (9, r#"apis[0].routes["GET /x"].integraton"#.into(), "unknown field `integraton` (did you mean `integration`?), expected one of `integration`, `authorizer`".into()),
            (13, r#"apis[0].routes["GET /x"].integration.timeout_ms"#.into(), "unknown field `timeout_ms` (did you mean `timeoutMs`?), expected one of `uri`, `timeoutMs`".into()),
            (14, r#"apis[0].routes["GET /x"].integration.extra"#.into(), "unknown field `extra`, expected one of `uri`, `timeoutMs`".into()),
            (16, "apis[1].nme".into(), "unknown field `nme` (did you mean `name`?), expected one of `name`, `protocol`, `port`, `enabled`, `timeoutMs`, `tags`, `routes`".into()),
        ]
    );
    assert!(diags
        .iter()
        .all(|d| d.file == FILE && d.severity == Severity::Error));
    assert_eq!((diags[0].column, diags[1].column), (1, 5));
    // Deserialization went on: the known fields were read.
    let config = config.expect("recoverable errors still give a value");
    assert_eq!(config.apis.len(), 2);
    assert_eq!(*config.apis[1].name, "b");
    assert_eq!(config.apis[0].routes["GET /x"].integration.uri.value, "y");
}

#[test]
fn type_mismatches_are_reported_and_loading_goes_on() {
    let text = r#"
version: "two"
apis:
  - name: 42
    port: 70000
    enabled: "yes"
    timeoutMs: -5
    tags: single
    routes: [1, 2]
  - name: ok
    port: [80]
    enabled: true
    tags: [1, x]
stageVariables:
  a: {nested: map}
  b: fine
"#;
    let (config, diags) = load::<Config>(text);
    assert_eq!(
        summary(&diags),
        vec![
            (
                2,
                "version".into(),
                "expected an integer, found string `two`".into()
            ),
            (
                4,
                "apis[0].name".into(),
                "expected a string, found integer `42` (quote it to make it a string)".into()
            ),
            (
                5,
                "apis[0].port".into(),
                "integer `70000` is out of range for u16 (0..=65535)".into()
            ),
            (
                6,
                "apis[0].enabled".into(),
                "expected a boolean (true or false), found string `yes`".into()
            ),
            (
                7,
                "apis[0].timeoutMs".into(),
                "integer `-5` is out of range for u64 (0..=18446744073709551615)".into()
            ),
            (
                8,
                "apis[0].tags".into(),
                "expected a sequence, found string `single`".into()
            ),
            (
                9,
                "apis[0].routes".into(),
                "expected a mapping, found a sequence".into()
            ),
            (
                11,
                "apis[1].port".into(),
                "expected an integer, found a sequence".into()
            ),
            (
                13,
                "apis[1].tags[0]".into(),
                "expected a string, found integer `1` (quote it to make it a string)".into()
            ),
            (
                15,
                "stageVariables.a".into(),
                "expected a string, found a mapping".into()
            ),
        ]
    );
    let config = config.expect("value");
    assert_eq!(config.version, 0);
    assert_eq!(config.apis[0].port, 0);
    assert_eq!(config.apis[0].timeout_ms, Some(0));
    assert_eq!(*config.apis[1].name, "ok");
    assert!(config.apis[1].enabled);
    assert_eq!(config.apis[1].tags, ["", "x"]);
    assert_eq!(config.stage_variables["b"], "fine");
}

#[test]
fn display_names_file_line_column_and_path() {
    let (_, diags) = load::<Config>("apis:\n  - port: x\n");
    assert_eq!(
        diags[0].to_string(),
        "archway.yaml:2:11: apis[0].port: expected an integer, found string `x`"
    );
    let d = Diagnostic::at(
        "archway.yaml",
        &Spanned::with_location("GRPC", 12, 5, "apis[0].protocol"),
        "expected one of REST, HTTP, found `GRPC`",
    );
    assert_eq!(
        d.to_string(),
        "archway.yaml:12:5: apis[0].protocol: expected one of REST, HTTP, found `GRPC`"
    );
    let w = Diagnostic::warning("a.yaml", 0, 0, "", "no routes");
    assert_eq!(w.to_string(), "a.yaml: warning: no routes");
}

#[test]
fn diagnostics_collector_for_validation() {
    let (config, diags) = load::<Config>("apis:\n  - name: pets\n    protocol: GRPC\n");
    assert!(diags.is_empty());
    let config = config.expect("value");
    let mut out = Diagnostics::new(FILE);
    let api = &config.apis[0];
    if api.name.len() < 5 {
        out.warning(&api.name, "short name");
    }
    out.error_at(
        None,
        3,
        15,
        "apis[0].protocol",
        "expected one of REST, HTTP, found `GRPC`",
    );
    out.error_at(Some("pets.json"), 7, 1, "", "bad OpenAPI");
    out.sort();
    assert!(out.has_errors());
    assert_eq!(out.error_count(), 2);
    assert_eq!(
        out.to_string(),
        "archway.yaml:2:11: warning: apis[0].name: short name\n\
         archway.yaml:3:15: apis[0].protocol: expected one of REST, HTTP, found `GRPC`\n\
         pets.json:7:1: bad OpenAPI"
    );
    assert!(out.clone().into_result(()).is_err());
    assert!(Diagnostics::new(FILE).into_result(5).is_ok());
}

#[test]
fn duplicate_keys_are_errors_at_the_second_key() {
    let text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n";
    let diags = parse_err(text);
    assert_eq!(
        summary(&diags),
        vec![
            (
                4,
                String::new(),
                "duplicate key `c` (first defined at line 3)".into()
            ),
            (
                5,
                String::new(),
                "duplicate key `a` (first defined at line 1)".into()
            ),
        ]
    );
    assert_eq!(diags[1].column, 1);
    // from_str reports them together with deserialization problems.
    let (value, diags) = load::<Config>("version: 1\nversion: 2\nbogus: 1\n");
    assert_eq!(
        summary(&diags),
        vec![
            (
                2,
                String::new(),
                "duplicate key `version` (first defined at line 1)".into()
            ),
            (
                3,
                "bogus".into(),
                "unknown field `bogus`, expected one of `version`, `apis`, `stageVariables`".into()
            ),
        ]
    );
    assert_eq!(value.expect("value").version, 1);
}

#[test]
fn json_duplicate_keys_and_non_scalar_keys() {
    let diags = parse_err(r#"{"a": 1, "b": {"x": 1, "x": 2}}"#);
    assert_eq!(
        diags[0].message,
        "duplicate key `x` (first defined at line 1)"
    );
    assert_eq!((diags[0].line, diags[0].column), (1, 24));
    let diags = parse_err("? [a, b]\n: c\nd: e\n");
    assert_eq!(
        summary(&diags),
        vec![(
            1,
            String::new(),
            "mapping keys must be scalars, found a sequence".into()
        )]
    );
}

/// 9 levels of 9 aliases: 9^9 = 387,420,489 nodes if expanded.
fn billion_laughs() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=9 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    text
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let text = billion_laughs();
    let start = Instant::now();
    let diags = parse_err(&text);
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(
        d.message
            .starts_with("expanding alias `*a5` would make the document larger than 1000000 nodes"),
        "{d}"
    );
    assert_eq!((d.line, d.column), (7, 10));

    // A small budget refuses it earlier, with the same message.
    let small = Limits {
        max_nodes: 1000,
        ..Limits::default()
    };
    let diags = parse(FILE, &text, &small).expect_err("refused");
    assert!(
        diags[0].message.contains("larger than 1000 nodes"),
        "{diags:#?}"
    );
    assert_eq!(diags[0].line, 4);
}

#[test]
fn nested_anchors_count_against_the_budget() {
    // Each level anchors a copy of everything below it: storing the anchors would be quadratic.
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!("&a{i} ["));
    }
    text.push_str(&vec!["x"; 20_000].join(","));
    text.push_str(&"]".repeat(100));
    let limits = Limits {
        max_nodes: 200_000,
        ..Limits::default()
    };
    let start = Instant::now();
    let result = parse(FILE, &text, &limits);
    assert!(start.elapsed() < Duration::from_secs(5));
    let diags = result.expect_err("refused");
    assert!(diags[0].message.starts_with("anchored nodes"), "{diags:#?}");
}

#[test]
fn deep_nesting_is_refused_without_stack_overflow() {
    for open in ["[", "{a: ", "- "] {
        let text = open.repeat(10_000);
        let diags = parse_err(&text);
        assert_eq!(diags.len(), 1, "{open}: {diags:#?}");
        assert_eq!(
            diags[0].message, "nesting is deeper than the limit of 128 levels",
            "{open}"
        );
    }
    // Block nesting.
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    let diags = parse_err(&text);
    assert_eq!(
        diags[0].message,
        "nesting is deeper than the limit of 128 levels"
    );
    assert_eq!(diags[0].line, 129);

    // Exactly at the limit loads, and deserializes (into serde_json::Value, recursively) without
    // overflowing the test thread's stack.
    let text = format!("{}1{}", "[".repeat(128), "]".repeat(128));
    let node = parse(FILE, &text, &Limits::default()).expect("128 levels are allowed");
    let (value, diags) = from_node::<serde_json::Value>(FILE, &node);
    assert!(diags.is_empty());
    assert_eq!(value, Some(to_json(&node)));
    let text = format!("{}1{}", "[".repeat(129), "]".repeat(129));
    assert!(parse(FILE, &text, &Limits::default()).is_err());
}

#[test]
fn aliases_cannot_exceed_the_depth_limit() {
    let limits = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    let text = "a: &x [[[1]]]\nb: [[*x]]\n";
    let diags = parse(FILE, text, &limits).expect_err("too deep");
    assert_eq!(
        diags[0].message,
        "expanding alias `*x` makes nesting deeper than the limit of 5 levels"
    );
    assert_eq!(diags[0].line, 2);
    assert!(parse(FILE, "a: &x [[[1]]]\nb: [*x]\n", &limits).is_ok());
}

#[test]
fn aliases_and_merge_keys() {
    let text = "\
defaults: &d
  timeoutMs: 100
  uri: http://default
one:
  <<: *d
  uri: http://one
two:
  <<: [{uri: http://two}, *d]
    ";
    let node = parse(FILE, text, &Limits::default()).expect("parses");
    let json = to_json(&node);
    assert_eq!(
        json,
        serde_json::json!({
            "defaults": {"timeoutMs": 100, "uri": "http://default"},
            "one": {"uri": "http://one", "timeoutMs": 100},
            "two": {"uri": "http://two", "timeoutMs": 100},
        })
    );
    // A merged value keeps the line it was written on.
    let timeout = lookup_pointer(&node, "/one/timeoutMs").expect("merged");
    assert_eq!(timeout.line, 2);

    let diags = parse_err("a: &a [1, *a]\n");
    assert_eq!(
        diags[0].message,
        "alias `*a` refers to a node that contains it (recursive alias)"
    );
    let diags = parse_err("a: *nope\n");
    assert!(diags[0].message.contains("unknown anchor"), "{diags:#?}");
    let diags = parse_err("a:\n  <<: 5\n");
    assert_eq!(
        diags[0].message,
        "the value of a merge key `<<` must be a mapping or a sequence of mappings"
    );
    // A quoted `<<` is an ordinary key.
    let node = parse(FILE, "'<<': 1\n", &Limits::default()).expect("parses");
    assert_eq!(to_json(&node), serde_json::json!({"<<": 1}));
}

#[test]
fn scalars_follow_the_yaml_1_2_core_schema() {
    let text = "\
- ~
- null
- 
- true
- False
- yes
- 0x1F
- 0o17
- -42
- 1.5e3
- .inf
- '12'
- \"true\"
- !!str 7
- !!float 3
- 2024-01-01
- 1.0.0
- |
  block
";
    let node = parse(FILE, text, &Limits::default()).expect("parses");
    let values: Vec<Node> = node
        .value
        .as_seq()
        .expect("seq")
        .iter()
        .map(|n| n.value.clone())
        .collect();
    assert_eq!(
        values,
        vec![
            Node::Null,
            Node::Null,
            Node::Null,
            Node::Bool(true),
            Node::Bool(false),
            Node::Str("yes".into()),
            Node::Int(31),
            Node::Int(15),
            Node::Int(-42),
            Node::Float(1500.0),
            Node::Float(f64::INFINITY),
            Node::Str("12".into()),
            Node::Str("true".into()),
            Node::Str("7".into()),
            Node::Float(3.0),
            Node::Str("2024-01-01".into()),
            Node::Str("1.0.0".into()),
            Node::Str("block\n".into()),
        ]
    );
    // Map keys are the text as written.
    let node = parse(FILE, "200: ok\ntrue: x\n0x10: y\n", &Limits::default()).expect("parses");
    let keys: Vec<&str> = node
        .value
        .as_map()
        .expect("map")
        .iter()
        .map(|(k, _)| k.value.as_str())
        .collect();
    assert_eq!(keys, ["200", "true", "0x10"]);
}

#[test]
fn tags_other_than_the_core_schema_are_errors() {
    let diags = parse_err("a: !Ref other\nb: !!binary aGk=\nc: !!int x\n");
    assert_eq!(
        summary(&diags),
        vec![
            (1, String::new(), "unsupported tag `!Ref`".into()),
            (
                2,
                String::new(),
                "unsupported tag `tag:yaml.org,2002:!binary`".into()
            ),
            (
                3,
                String::new(),
                "`x` is not a valid `tag:yaml.org,2002:!int`".into()
            ),
        ]
    );
}

#[test]
fn empty_files_multiple_documents_and_syntax_errors() {
    for empty in ["", "\n\n", "# only a comment\n", "---\n"] {
        let node = parse(FILE, empty, &Limits::default()).expect("empty is fine");
        assert_eq!(node.value, Node::Null, "{empty:?}");
    }
    // An empty file is an empty config (null → struct is a type error, so use Option).
    let (config, diags) = load::<Option<Config>>("");
    assert!(diags.is_empty());
    assert_eq!(config, Some(None));

    let diags = parse_err("a: 1\n---\nb: 2\n");
    assert_eq!(
        summary(&diags),
        vec![(
            2,
            String::new(),
            "a second YAML document (`---`) starts here; a file must hold one document".into()
        )]
    );

    let diags = parse_err("a:\n\tb: 1\n");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].line, 2);
    assert!(
        diags[0].message.starts_with("invalid YAML: "),
        "{}",
        diags[0]
    );
    assert!(diags[0].message.contains("tab"), "{}", diags[0]);

    let diags = parse_err("a: [1, 2\nb: 3\n");
    assert!(diags[0].message.starts_with("invalid YAML: "));
    let diags = parse_err("{\"a\": 1,,}");
    assert_eq!((diags[0].line, diags[0].column), (1, 9));
}

#[test]
fn spanned_values_carry_their_position() {
    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Doc {
        port: Spanned<u16>,
        list: Vec<Spanned<String>>,
        map: HashMap<Spanned<String>, Spanned<i64>>,
        opt: Option<Spanned<bool>>,
        raw: Option<Spanned<Node>>,
    }
    let text =
        "port: 8080\nlist:\n  - a\n  - b\nmap:\n  k1: 1\n  k2: 2\nopt: true\nraw:\n  x: [1]\n";
    let (doc, diags) = load::<Doc>(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let doc = doc.expect("value");
    assert_eq!(
        (
            *doc.port,
            doc.port.line,
            doc.port.column,
            doc.port.path.as_str()
        ),
        (8080, 1, 7, "port")
    );
    assert_eq!((doc.list[1].value.as_str(), doc.list[1].line), ("b", 4));
    assert_eq!(doc.list[1].path, "list[1]");
    let (key, value) = doc.map.get_key_value("k2").expect("k2");
    assert_eq!((key.line, key.column, key.path.as_str()), (7, 3, "map.k2"));
    assert_eq!((value.value, value.line, value.column), (2, 7, 7));
    let opt = doc.opt.expect("opt");
    assert_eq!((opt.value, opt.line), (true, 8));
    let raw = doc.raw.expect("raw");
    assert_eq!((raw.line, raw.path.as_str()), (10, "raw"));
    let x = lookup_pointer(&raw, "/x/0").expect("x[0]");
    assert_eq!((&x.value, x.line, x.column), (&Node::Int(1), 10, 7));

    // A mismatch inside Spanned is reported at the value's position and the default kept.
    let (doc, diags) = load::<Doc>("port: high\n");
    assert_eq!(
        diags[0].to_string(),
        "archway.yaml:1:7: port: expected an integer, found string `high`"
    );
    assert_eq!(doc.expect("value").port.line, 1);
}

#[test]
fn spanned_falls_back_to_the_plain_value_with_other_deserializers() {
    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Doc {
        name: Spanned<String>,
        ports: Vec<Spanned<u16>>,
        raw: Spanned<Node>,
    }
    let doc: Doc =
        serde_json::from_str(r#"{"name": "x", "ports": [1, 2], "raw": {"a": [true, null, 1.5]}}"#)
            .expect("serde_json");
    assert_eq!(doc.name, Spanned::new("x".to_owned()));
    assert_eq!((doc.name.line, doc.name.path.as_str()), (0, ""));
    assert_eq!(doc.ports.iter().map(|p| **p).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        serde_json::to_value(&doc).expect("serialize"),
        serde_json::json!({"name": "x", "ports": [1, 2], "raw": {"a": [true, null, 1.5]}})
    );
    // From a serde_json::Value too.
    let value = serde_json::json!({"name": "y", "ports": [], "raw": 1});
    let doc: Doc = serde_json::from_value(value).expect("from_value");
    assert_eq!(*doc.name, "y");
    assert_eq!(doc.raw.value, Node::Int(1));
}

#[test]
fn spanned_equality_and_hash_look_at_the_value_only() {
    let a = Spanned::with_location("x".to_owned(), 1, 2, "a");
    let b = Spanned::with_location("x".to_owned(), 9, 9, "b");
    assert_eq!(a, b);
    let mut set = std::collections::HashSet::new();
    set.insert(a.clone());
    assert!(set.contains(&b));
    assert!(set.contains("x"));
    assert_eq!(Spanned::<u8>::default().line, 0);
    assert_eq!(a.clone().map(|s| s.len()).line, 1);
    assert_eq!(format!("{a}"), "x");
}

#[test]
fn options_enums_and_keys() {
    #[derive(Debug, Deserialize, PartialEq, Default)]
    enum Protocol {
        #[default]
        #[serde(rename = "REST")]
        Rest,
        #[serde(rename = "HTTP")]
        Http,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Auth {
        None,
        Jwt { issuer: String },
        Key(String),
        Pair(u8, u8),
    }
    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Doc {
        protocol: Protocol,
        auth: Vec<Auth>,
        missing: Option<u8>,
        nothing: Option<u8>,
        codes: BTreeMap<u16, String>,
    }
    let text = "protocol: HTTP\nauth: [none, {jwt: {issuer: me}}, {key: k}, {pair: [1, 2]}]\nnothing: null\ncodes: {200: ok, '404': nf}\n";
    let (doc, diags) = load::<Doc>(text);
    assert!(diags.is_empty(), "{diags:#?}");
    let doc = doc.expect("value");
    assert_eq!(doc.protocol, Protocol::Http);
    assert_eq!(
        doc.auth,
        vec![
            Auth::None,
            Auth::Jwt {
                issuer: "me".into()
            },
            Auth::Key("k".into()),
            Auth::Pair(1, 2)
        ]
    );
    assert_eq!((doc.missing, doc.nothing), (None, None));
    assert_eq!(doc.codes[&404], "nf");

    // A bad key type is recoverable; an unknown enum variant is not.
    let (doc, diags) =
        load::<Doc>("codes: {abc: x, 200: ok}\nauth: [jwt: {issuer: a, extra: 1}]\n");
    assert_eq!(
        summary(&diags),
        vec![
            (
                1,
                "codes.abc".into(),
                "expected an integer key, found `abc`".into()
            ),
            (
                2,
                "auth[0].jwt.extra".into(),
                "unknown field `extra`, expected one of `issuer`".into()
            ),
        ]
    );
    assert!(doc.is_some());
    let (doc, diags) = load::<Doc>("unknown: 1\nprotocol: GRPC\nauth: []\n");
    assert!(doc.is_none());
    assert_eq!(
        summary(&diags),
        vec![
            (1, "unknown".into(), "unknown field `unknown`, expected one of `protocol`, `auth`, `missing`, `nothing`, `codes`".into()),
            (2, "protocol".into(), "unknown variant `GRPC`, expected `REST` or `HTTP`".into()),
        ]
    );
    let (_, diags) = load::<Doc>("auth: [key]\n");
    assert_eq!(
        summary(&diags),
        vec![(
            1,
            "auth[0]".into(),
            "variant `key` needs a value: write it as `key: ...`".into()
        )]
    );
}

#[test]
fn serde_errors_stop_with_path_and_line() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        required: u8,
    }
    let (value, diags) = load::<Strict>("name: x\ninner:\n  other: 1\n");
    assert!(value.is_none());
    // Same position: kept in the order found (the unknown key first).
    assert_eq!(
        summary(&diags),
        vec![
            (
                3,
                "inner.other".into(),
                "unknown field `other`, expected one of `required`".into()
            ),
            (3, "inner".into(), "missing field `required`".into()),
        ]
    );

    /// A type whose own Deserialize validates.
    #[derive(Debug)]
    struct Even(#[allow(dead_code)] u32);
    impl<'de> Deserialize<'de> for Even {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let n = u32::deserialize(d)?;
            if n % 2 == 0 {
                Ok(Even(n))
            } else {
                Err(serde::de::Error::custom(format!("{n} is odd")))
            }
        }
    }
    let (value, diags) = load::<HashMap<String, Vec<Even>>>("a: [2, 4]\nb:\n  - 6\n  - 7\n");
    assert!(value.is_none());
    assert_eq!(summary(&diags), vec![(4, "b[1]".into(), "7 is odd".into())]);
}

#[test]
fn any_value_and_tuples() {
    let text = "a: [1, 2.5, x, null, true]\nb: {c: d}\n";
    let (value, diags) = load::<serde_json::Value>(text);
    assert!(diags.is_empty());
    assert_eq!(
        value,
        Some(serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}}))
    );
    let (value, diags) = load::<HashMap<String, (u8, String)>>("p: [1, a, extra]\n");
    assert_eq!(value.expect("value")["p"], (1, "a".into()));
    assert_eq!(
        summary(&diags),
        vec![(1, "p".into(), "expected 2 elements, found 3".into())]
    );
}

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/openapi");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "json" || e == "yaml" || e == "yml")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[test]
fn openapi_fixtures_load_and_json_matches_serde_json() {
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let name = path.display().to_string();
        let node = parse(&name, &text, &Limits::default())
            .unwrap_or_else(|diags| panic!("{name}: {}", Diagnostics::from(diags)));
        let json = to_json(&node);
        if path.extension().is_some_and(|e| e == "json") {
            let expected: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(json, expected, "{name}");
        } else {
            assert!(
                json.get("openapi").is_some() || json.get("swagger").is_some(),
                "{name}"
            );
        }
        // from_node into a generic value agrees with to_json.
        let (value, diags) = from_node::<serde_json::Value>(&name, &node);
        assert!(diags.is_empty());
        assert_eq!(value.as_ref(), Some(&json), "{name}");
    }
}

#[test]
fn json_pointers_find_lines() {
    let text = r#"{
  "openapi": "3.0.1",
  "paths": {
    "/pets/{id}": {
      "get": {
        "x-amazon-apigateway-integration": {"uri": "http://x"}
      }
    },
    "a~b": [10, 20]
  }
}"#;
    let node = parse("pets.json", text, &Limits::default()).expect("parses");
    let uri = lookup_pointer(
        &node,
        "/paths/~1pets~1{id}/get/x-amazon-apigateway-integration/uri",
    )
    .expect("found");
    assert_eq!(
        (uri.value.as_str(), uri.line, uri.column),
        (Some("http://x"), 6, 52)
    );
    assert_eq!(
        lookup_pointer(&node, "/paths/a~0b/1").map(|n| n.line),
        Some(9)
    );
    assert_eq!(lookup_pointer(&node, "").map(|n| n.line), Some(1));
    // `get`'s value is the mapping that opens on line 5.
    assert_eq!(
        lookup_pointer(&node, "#/paths/~1pets~1%7Bid%7D/get").map(|n| n.line),
        Some(5)
    );
    for missing in [
        "/nope",
        "/paths/a~0b/2",
        "/paths/a~0b/01",
        "/paths/a~0b/-",
        "paths",
        "/openapi/x",
    ] {
        assert!(lookup_pointer(&node, missing).is_none(), "{missing}");
    }
    let d = Diagnostic::at("pets.json", uri, "unsupported integration")
        .with_path("#/paths/~1pets~1{id}/get");
    assert_eq!(
        d.to_string(),
        "pets.json:6:52: #/paths/~1pets~1{id}/get: unsupported integration"
    );
}

#[test]
fn node_round_trips_through_serde() {
    let node = parse(FILE, "a: [1, x, {b: null}]\n", &Limits::default()).expect("parses");
    let json = serde_json::to_value(&node.value).expect("serialize");
    assert_eq!(json, serde_json::json!({"a": [1, "x", {"b": null}]}));
    let back: Node = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, node.value);
    assert_eq!(node.value.get("a").map(|n| n.line), Some(1));
    assert_eq!(
        source::join_key("apis[0]", "GET /x"),
        r#"apis[0]["GET /x"]"#
    );
}

/// A small deterministic pseudo-random generator (xorshift64*), to need no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Loads `text` both ways; must never panic.
fn exercise(text: &str) {
    let limits = Limits {
        max_depth: 64,
        max_nodes: 100_000,
    };
    let (node, diags) = parse_recover("fuzz.yaml", text, &limits);
    // A panic inside the YAML parser is caught and reported as an internal error: count it too.
    assert!(
        !diags.iter().any(|d| d.message.contains("internal error")),
        "{text:?}: {diags:?}"
    );
    if let Some(node) = node {
        let _ = to_json(&node);
        let _ = from_node::<Config>("fuzz.yaml", &node);
        let _ = from_node::<serde_json::Value>("fuzz.yaml", &node);
    }
}

#[test]
fn random_and_truncated_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet: &[u8] = b" \t\n\r-:?,[]{}&*!|>'\"%@`#~.0123456789abcxyz<=\\";
    // Random bytes, biased towards YAML syntax characters.
    for _ in 0..3000 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(4) == 0 {
                    (rng.next() & 0xff) as u8
                } else {
                    alphabet[rng.below(alphabet.len())]
                }
            })
            .collect();
        exercise(&String::from_utf8_lossy(&bytes));
    }
    // Truncated and mutated fixtures and test documents.
    let mut corpus: Vec<String> = fixtures()
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect();
    corpus.push(billion_laughs());
    corpus.push("a: &x {b: [1, *x]}\n<<: *x\n? [k]\n: v\n--- !!map\n".into());
    for text in &corpus {
        let chars: Vec<char> = text.chars().collect();
        let step = (chars.len() / 150).max(1);
        for cut in (0..chars.len()).step_by(step) {
            let truncated: String = chars[..cut].iter().collect();
            exercise(&truncated);
        }
        for _ in 0..100 {
            let mut mutated = chars.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(mutated.len().max(1));
                let c = char::from(alphabet[rng.below(alphabet.len())]);
                match rng.below(3) {
                    0 if at < mutated.len() => mutated[at] = c,
                    1 if at < mutated.len() => {
                        mutated.remove(at);
                    }
                    _ => mutated.insert(at.min(mutated.len()), c),
                }
            }
            exercise(&mutated.into_iter().collect::<String>());
        }
    }
}

#[test]
fn has_errors_ignores_warnings() {
    assert!(!has_errors(&[Diagnostic::warning(FILE, 1, 1, "", "w")]));
    assert!(has_errors(&[Diagnostic::error(FILE, 1, 1, "", "e")]));
}

#[test]
fn null_where_a_value_is_wanted() {
    let (config, diags) = load::<Config>("apis:\n  - name:\n    tags:\n");
    assert_eq!(
        summary(&diags),
        vec![
            (
                2,
                "apis[0].name".into(),
                "expected a string, found null".into()
            ),
            (
                3,
                "apis[0].tags".into(),
                "expected a sequence, found null".into()
            ),
        ]
    );
    assert!(config.is_some());
}

#[test]
fn spanned_structs_and_indexmap_style_keys() {
    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Doc {
        apis: Vec<Spanned<Api>>,
        routes: BTreeMap<Spanned<String>, Spanned<Route>>,
    }
    let text = "apis:\n  - name: a\n    bogus: 1\nroutes:\n  \"GET /\":\n    authorizer: x\n";
    let (doc, diags) = load::<Doc>(text);
    assert_eq!(
        summary(&diags),
        vec![(
            3,
            "apis[0].bogus".into(),
            "unknown field `bogus`, expected one of `name`, `protocol`, `port`, `enabled`, `timeoutMs`, `tags`, `routes`".into()
        )]
    );
    let doc = doc.expect("value");
    assert_eq!(
        (doc.apis[0].line, doc.apis[0].path.as_str()),
        (2, "apis[0]")
    );
    assert_eq!(*doc.apis[0].name, "a");
    let (key, route) = doc.routes.iter().next().expect("route");
    assert_eq!((key.line, key.path.as_str()), (5, r#"routes["GET /"]"#));
    assert_eq!(route.line, 6);
    let authorizer = route.authorizer.as_ref().expect("authorizer");
    assert_eq!(authorizer.path, r#"routes["GET /"].authorizer"#);
}
