//! Route lookup cost over 10 and 5,000 routes, and the time to load and compile a 2,000-route
//! config into a snapshot. Run: `cargo run --release -p archway-bench-routes`.
//!
//! Lookup cost must not grow linearly with the number of routes: the trie does one hash lookup
//! per path segment whatever the route count.

use archway_gateway::path::RequestPath;
use archway_gateway::router::Router;
use archway_gateway::Snapshot;
use archway_model::RouteKey;
use std::hint::black_box;
use std::time::Instant;

/// `n` routes shaped like a real API: resources with ids, nested collections, a few greedy ones.
fn route_keys(n: usize) -> Vec<String> {
    let methods = ["GET", "POST", "PUT", "DELETE"];
    (0..n)
        .map(|i| {
            let m = methods[i % 4];
            let r = i / 4;
            match r % 5 {
                0 => format!("{m} /svc{r}/items"),
                1 => format!("{m} /svc{r}/items/{{id}}"),
                2 => format!("{m} /svc{r}/items/{{id}}/parts/{{part}}"),
                3 => format!("{m} /svc{r}/static/{{proxy+}}"),
                _ => format!("{m} /svc{r}/a/b/c/d"),
            }
        })
        .collect()
}

fn lookup_ns(n: usize) -> (f64, usize) {
    let keys: Vec<RouteKey> = route_keys(n)
        .iter()
        .map(|k| RouteKey::parse(k).expect("generated keys parse"))
        .collect();
    let router = Router::new(&keys);
    // Requests spread over the whole table, hitting each shape.
    let paths: Vec<(http::Method, RequestPath)> = (0..64)
        .map(|i| {
            let r = (i * 7919) % (n / 4).max(1);
            let path = match r % 5 {
                0 => format!("/svc{r}/items"),
                1 => format!("/svc{r}/items/42"),
                2 => format!("/svc{r}/items/42/parts/7"),
                3 => format!("/svc{r}/static/css/site.css"),
                _ => format!("/svc{r}/a/b/c/d"),
            };
            (
                http::Method::GET,
                RequestPath::parse(&path).expect("valid path"),
            )
        })
        .collect();
    let iterations = 2_000_000;
    let mut found = 0;
    let started = Instant::now();
    for i in 0..iterations {
        let (m, p) = &paths[i % paths.len()];
        if black_box(router.find(m, p.skip(0))).is_some() {
            found += 1;
        }
    }
    let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
    (ns, found * 100 / iterations)
}

fn compile_ms(n: usize) -> f64 {
    let mut yaml = String::from(
        "apis:\n  - name: big\n    protocol: REST\n    stages: { prod: {} }\n    routes:\n",
    );
    for k in route_keys(n) {
        yaml.push_str(&format!(
            "      \"{k}\":\n        integration: {{ type: HTTP_PROXY, uri: \"http://127.0.0.1:9000/x\" }}\n"
        ));
    }
    let started = Instant::now();
    let loaded =
        archway_model::validate::load_config_str("big.yaml", &yaml, std::path::Path::new("."));
    let (model, _) = loaded.into_result().expect("the generated config is valid");
    let snapshot = Snapshot::compile(&model).expect("compiles");
    black_box(snapshot);
    started.elapsed().as_secs_f64() * 1000.0
}

/// Imports a generated 2,000-route OpenAPI document and compiles its snapshot.
fn openapi_ms(n: usize) -> f64 {
    let mut paths = serde_json::Map::new();
    for k in route_keys(n) {
        let (method, path) = k.split_once(' ').unwrap_or(("GET", "/"));
        let entry = paths
            .entry(path.to_string())
            .or_insert_with(|| serde_json::json!({}));
        entry[method.to_ascii_lowercase()] = serde_json::json!({
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": method, "uri": "http://127.0.0.1:9000/x"
            }
        });
    }
    let doc = serde_json::json!({
        "openapi": "3.0.1", "info": {"title": "big", "version": "1"}, "paths": paths
    })
    .to_string();
    let started = Instant::now();
    let (api, _) = archway_model::load::import_served(
        "big.json",
        &doc,
        archway_model::Protocol::Rest,
        Default::default(),
    )
    .expect("the generated document imports");
    let model = archway_model::Model {
        apis: vec![archway_model::load::api_from_import(
            api,
            None,
            vec![("prod".into(), None, Default::default())],
        )],
        ..Default::default()
    };
    black_box(Snapshot::compile(&model).expect("compiles"));
    started.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    println!("| routes | ns per lookup | hit % |");
    println!("| ---: | ---: | ---: |");
    let mut results = Vec::new();
    for n in [10, 5_000] {
        let (ns, hit) = lookup_ns(n);
        println!("| {n} | {ns:.1} | {hit} |");
        results.push(ns);
    }
    println!();
    println!(
        "5,000 routes / 10 routes lookup cost: {:.2}x",
        results[1] / results[0]
    );
    println!();
    println!(
        "load + validate + compile a 2,000-route config: {:.1} ms",
        compile_ms(2_000)
    );
    println!(
        "import + gate + compile a 2,000-route OpenAPI document: {:.1} ms",
        openapi_ms(2_000)
    );
}
