//! The Lambda Runtime API (version 2018-06-01), one listener per worker on loopback:
//! `GET /runtime/invocation/next`, `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error` and `POST /runtime/init/error`, with the headers the
//! Lambda service sends.

use crate::worker::{Current, Worker};
use crate::{InvokeError, Pool};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// Lambda's limit on a synchronous response (and on what a worker may post at all).
const MAX_RESPONSE: usize = 6 * 1024 * 1024;
const PREFIX: &str = "/2018-06-01/runtime/";

pub(crate) async fn serve(listener: TcpListener, pool: Arc<Pool>, worker: Arc<Worker>) {
    crate::serve_http1(listener, move |req| {
        let (pool, worker) = (pool.clone(), worker.clone());
        async move { handle(req, &pool, &worker).await }
    })
    .await
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_reply(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": kind });
    reply(status, &body.to_string())
}

async fn handle(
    req: Request<Incoming>,
    pool: &Arc<Pool>,
    worker: &Arc<Worker>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error_reply(
            StatusCode::NOT_FOUND,
            "UnknownPath",
            "unknown Runtime API path",
        );
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method(), parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(pool, worker).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = id.to_string();
            let Some(body) = read_body(req).await else {
                return error_reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "the response exceeds 6291556 bytes",
                );
            };
            match worker.take_current(&id) {
                Some(cur) => {
                    cur.state.answer(Ok(body));
                    reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
                }
                None => unknown_id(&id),
            }
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = id.to_string();
            let body = read_body(req).await.unwrap_or_default();
            match worker.take_current(&id) {
                Some(cur) => {
                    tracing::warn!(function = %pool.spec.name, request_id = %id, error = %String::from_utf8_lossy(&body), "the function returned an error");
                    cur.state.answer(Err(InvokeError::Function(body)));
                    reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
                }
                None => unknown_id(&id),
            }
        }
        (&Method::POST, ["init", "error"]) => {
            let body = read_body(req).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&body).into_owned();
            if let Ok(mut g) = worker.init_error.lock() {
                *g = Some(text);
            }
            reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
        }
        _ => error_reply(
            StatusCode::NOT_FOUND,
            "UnknownPath",
            "unknown Runtime API path",
        ),
    }
}

fn unknown_id(id: &str) -> Response<Full<Bytes>> {
    error_reply(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        &format!("invalid request id {id}"),
    )
}

async fn read_body(req: Request<Incoming>) -> Option<Bytes> {
    Limited::new(req.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

/// Counts a worker as waiting for as long as its `/next` waits, however that wait ends.
struct Waiting<'a>(&'a Pool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn next(pool: &Arc<Pool>, worker: &Arc<Worker>) -> Response<Full<Bytes>> {
    worker.reached_next.store(true, Ordering::SeqCst);
    let inv = {
        pool.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(pool);
        let mut rx = pool.rx.lock().await;
        rx.recv().await
    };
    let Some(inv) = inv else {
        return error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceStopping",
            "the function host is stopping",
        );
    };
    pool.queued.fetch_sub(1, Ordering::SeqCst);
    let timeout = pool.spec.timeout;
    let deadline = SystemTime::now()
        .checked_add(timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or(Duration::ZERO);
    if let Ok(mut l) = worker.last_id.lock() {
        *l = Some(inv.id.clone());
    }
    if let Ok(mut c) = worker.current.lock() {
        *c = Some(Current {
            id: inv.id.clone(),
            state: inv.state.clone(),
        });
    }
    // The function's timeout: past it the worker is killed (and replaced), the invocation
    // answered with a timeout.
    let (w, id) = (worker.clone(), inv.id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if w.current_id().as_deref() == Some(id.as_str()) {
            w.timed_out.store(true, Ordering::SeqCst);
            w.kill();
        }
    });
    let mut r = Response::new(Full::new(inv.payload));
    let h = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &inv.id);
    set(
        "lambda-runtime-deadline-ms",
        &deadline.as_millis().to_string(),
    );
    set("lambda-runtime-invoked-function-arn", &pool.arn);
    set("lambda-runtime-trace-id", &inv.trace_id);
    set("content-type", "application/json");
    r
}
