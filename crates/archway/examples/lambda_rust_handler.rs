//! A Rust Lambda handler written against AWS's `lambda_http`, unmodified: Archway's tests run it
//! as a local function (`crates/archway/tests/functions.rs`) to prove that the Rust runtime
//! reads Archway's Runtime API and events as it reads Lambda's. It answers what it parsed.
//!
//! Build: `cargo build -p archway --example lambda_rust_handler` (`cargo test` builds it too).

use lambda_http::request::RequestContext;
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let (kind, stage) = match req.request_context() {
        RequestContext::ApiGatewayV1(c) => ("rest", c.stage),
        RequestContext::ApiGatewayV2(c) => ("http", c.stage),
        _ => ("other", None),
    };
    let answer = serde_json::json!({
        "kind": kind,
        "stage": stage,
        "method": req.method().as_str(),
        "path": req.raw_http_path(),
        "id": req.path_parameters().first("id"),
        "name": req.query_string_parameters().first("name"),
        "body": String::from_utf8_lossy(req.body().as_ref()),
    });
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("x-handler", "rust")
        .body(Body::from(answer.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}
