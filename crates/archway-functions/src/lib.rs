//! Archway's local Lambda host: runs unmodified Lambda handlers as worker processes and speaks
//! the Lambda Runtime API to them, as the Lambda service does, without containers.
//!
//! Owns: the declared functions' worker processes (spawned on demand up to each function's
//! concurrency, kept warm, replaced when they time out or crash), one Runtime API listener on
//! loopback per worker (so that every call names its worker without guessing), the bounded
//! queue of invocations per function, and the workers' output, logged with the request id.
//!
//! Must never: let an invocation wait forever (every one ends with the function's answer, its
//! error, a timeout or a crash), leave a worker process behind when Archway stops (workers are
//! killed when their function host drops), or panic on what a worker sends.
//!
//! The host runs on a runtime of its own (one thread), so that a gateway worker's event loop is
//! never busy with process supervision; [`Functions::invoke`] may be called from any runtime.
//! See `docs/functions.md`.

pub mod invoke_api;
mod remote;
mod runtime_api;
mod worker;

pub use remote::credentials;

use archway_model::{Function, LambdaSettings};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Why an invocation did not produce a function result.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function's own error (`/invocation/{id}/error`): its JSON error document.
    #[error("the function failed: {}", String::from_utf8_lossy(.0))]
    Function(Bytes),
    #[error("the function timed out after {0:?}")]
    Timeout(Duration),
    #[error("the function's worker process exited during the invocation")]
    Crashed,
    #[error("the function could not start: {0}")]
    Init(String),
    /// Concurrency and queue are full: Lambda's `TooManyRequestsException`.
    #[error("rate exceeded: the function's concurrency and queue are full")]
    Throttled,
    #[error("no local function is named {0}")]
    Unknown(String),
    #[error("the function host is stopping")]
    Stopped,
    /// Invoking a function in AWS (or another Invoke API) failed before it ran.
    #[error("remote invocation failed: {0}")]
    Remote(String),
}

/// The declared functions and their workers.
pub struct Functions {
    pools: HashMap<String, Arc<Pool>>,
    remote: remote::Remote,
    runtime: Option<tokio::runtime::Runtime>,
    region: String,
    account: String,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("names", &self.pools.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One function: its queue of invocations and its workers.
pub(crate) struct Pool {
    pub spec: Function,
    pub arn: String,
    pub region: String,
    tx: mpsc::Sender<Invocation>,
    /// Taken by a worker's `/next` while it waits for an invocation.
    pub rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// Live worker processes.
    pub workers: AtomicUsize,
    /// Workers waiting in `/next`.
    pub waiting: AtomicUsize,
    /// Invocations queued and not yet taken by a worker.
    pub queued: AtomicUsize,
    pub next_worker: AtomicU64,
    pub handle: tokio::runtime::Handle,
    /// The live workers, so that they can be killed when the host stops.
    pub live: Mutex<Vec<Arc<worker::Worker>>>,
}

/// An invocation waiting for, or being run by, a worker.
pub(crate) struct Invocation {
    pub id: String,
    pub payload: Bytes,
    pub trace_id: String,
    pub state: Arc<InvocationState>,
}

/// The answer slot: whichever of response, error, timeout or crash comes first fills it.
pub(crate) struct InvocationState {
    reply: Mutex<Option<oneshot::Sender<Result<Bytes, InvokeError>>>>,
}

impl InvocationState {
    /// Answers the invocation; false if it was already answered.
    pub fn answer(&self, r: Result<Bytes, InvokeError>) -> bool {
        let tx = self.reply.lock().ok().and_then(|mut g| g.take());
        match tx {
            Some(tx) => {
                let _ = tx.send(r);
                true
            }
            None => false,
        }
    }
}

impl Functions {
    /// Starts the host for `specs`, with `warm_minimum` workers of each started at once;
    /// `lambda` says how other functions are invoked.
    pub fn start(specs: &[Function], lambda: &LambdaSettings) -> std::io::Result<Arc<Functions>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("archway-functions")
            .enable_all()
            .build()?;
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".into());
        let account = "123456789012".to_string();
        let mut pools = HashMap::new();
        for spec in specs {
            let queue = (spec.max_concurrency as usize).max(1) * 10;
            let (tx, rx) = mpsc::channel(queue);
            let pool = Arc::new(Pool {
                arn: format!("arn:aws:lambda:{region}:{account}:function:{}", spec.name),
                region: region.clone(),
                spec: spec.clone(),
                tx,
                rx: tokio::sync::Mutex::new(rx),
                workers: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
                queued: AtomicUsize::new(0),
                next_worker: AtomicU64::new(0),
                handle: runtime.handle().clone(),
                live: Mutex::new(Vec::new()),
            });
            for _ in 0..spec.warm_minimum.min(spec.max_concurrency) {
                worker::spawn_if_allowed(&pool);
            }
            pools.insert(spec.name.clone(), pool);
        }
        let remote = remote::Remote::new(lambda.clone()).map_err(std::io::Error::other)?;
        Ok(Arc::new(Functions {
            pools,
            remote,
            runtime: Some(runtime),
            region,
            account,
        }))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.pools.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// The ARN of a local function of that name.
    pub fn arn_of(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account
        )
    }

    /// Whether a function outside this host can be invoked: credentials must be found.
    pub fn check_remote(&self, function_arn: &str) -> Result<(), String> {
        self.remote.check(function_arn)
    }

    /// Invokes a function through the Lambda Invoke API (AWS's, or the configured endpoint).
    pub async fn invoke_remote(
        &self,
        function_arn: &str,
        payload: Bytes,
    ) -> Result<Bytes, InvokeError> {
        let remote = &self.remote;
        let (arn, handle) = (
            function_arn.to_string(),
            self.runtime.as_ref().map(|r| r.handle().clone()),
        );
        // The HTTP client's connections live on the host's runtime, whichever runtime asks.
        match handle {
            Some(h) => {
                let fut = remote.invoke_owned(arn, payload);
                h.spawn(fut).await.unwrap_or(Err(InvokeError::Stopped))
            }
            None => Err(InvokeError::Stopped),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// Runs the function `name` on `payload` and returns what it answered. `request_id` is the
    /// invocation's id (`Lambda-Runtime-Aws-Request-Id`); a fresh one when None.
    pub async fn invoke(
        &self,
        name: &str,
        payload: Bytes,
        request_id: Option<&str>,
        trace_id: Option<&str>,
    ) -> Result<Bytes, InvokeError> {
        let pool = self
            .pools
            .get(name)
            .ok_or_else(|| InvokeError::Unknown(name.to_string()))?;
        let (tx, rx) = oneshot::channel();
        let id = request_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
        let inv = Invocation {
            trace_id: trace_id.map_or_else(new_trace_id, str::to_string),
            id,
            payload,
            state: Arc::new(InvocationState {
                reply: Mutex::new(Some(tx)),
            }),
        };
        pool.queued.fetch_add(1, Ordering::SeqCst);
        if pool.tx.try_send(inv).is_err() {
            pool.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(InvokeError::Throttled);
        }
        // More queued invocations than workers waiting for one: start another, within the
        // function's concurrency.
        if pool.queued.load(Ordering::SeqCst) > pool.waiting.load(Ordering::SeqCst) {
            let p = pool.clone();
            pool.handle
                .spawn(async move { worker::spawn_if_allowed(&p) });
        }
        rx.await.unwrap_or(Err(InvokeError::Stopped))
    }
}

impl Drop for Functions {
    fn drop(&mut self) {
        for pool in self.pools.values() {
            if let Ok(live) = pool.live.lock() {
                for w in live.iter() {
                    w.kill();
                }
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Serves HTTP/1.1 on `listener` (the Runtime API and the Invoke API, both loopback control
/// channels), answering each request with `handle`, until the task is dropped.
pub(crate) async fn serve_http1<F, Fut>(listener: tokio::net::TcpListener, handle: F)
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = http::Response<http_body_util::Full<Bytes>>> + Send + 'static,
{
    while let Ok((stream, _)) = listener.accept().await {
        let handle = handle.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let fut = handle(req);
                async move { Ok::<_, std::convert::Infallible>(fut.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// An X-Ray trace header for an invocation that came without one.
fn new_trace_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let r = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &r[..24],
        &r[16..32]
    )
}
