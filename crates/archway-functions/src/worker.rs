//! Worker processes: started on demand within a function's concurrency, supervised until they
//! exit or are killed, their output logged with the id of the invocation they are running.

use crate::{runtime_api, InvocationState, InvokeError, Pool};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The invocation a worker is running.
pub(crate) struct Current {
    pub id: String,
    pub state: Arc<InvocationState>,
}

pub(crate) struct Worker {
    pub id: u64,
    pub current: Mutex<Option<Current>>,
    /// The id of the invocation it ran last, for output that comes after the answer.
    pub last_id: Mutex<Option<String>>,
    /// The worker asked for an invocation at least once: its init succeeded.
    pub reached_next: AtomicBool,
    /// What the runtime reported to `/init/error`, if anything.
    pub init_error: Mutex<Option<String>>,
    /// Set when the worker is killed for running past the function's timeout.
    pub timed_out: AtomicBool,
    kill: Notify,
}

impl Worker {
    pub fn kill(&self) {
        self.kill.notify_one();
    }

    /// The id of the invocation in hand.
    pub fn current_id(&self) -> Option<String> {
        self.current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.id.clone()))
    }

    /// The id of the invocation in hand, or of the last one: output is read after the fact.
    pub fn log_id(&self) -> Option<String> {
        self.current_id()
            .or_else(|| self.last_id.lock().ok().and_then(|l| l.clone()))
    }

    /// Takes the invocation in hand if its id is `id`.
    pub fn take_current(&self, id: &str) -> Option<Current> {
        let mut g = self.current.lock().ok()?;
        if g.as_ref().is_some_and(|c| c.id == id) {
            g.take()
        } else {
            None
        }
    }
}

/// Starts a worker unless the function is at its concurrency.
pub(crate) fn spawn_if_allowed(pool: &Arc<Pool>) {
    let max = (pool.spec.max_concurrency as usize).max(1);
    let reserved = pool
        .workers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
            (w < max).then_some(w + 1)
        })
        .is_ok();
    if reserved {
        let p = pool.clone();
        pool.handle.spawn(run(p));
    }
}

async fn run(pool: Arc<Pool>) {
    let id = pool.next_worker.fetch_add(1, Ordering::SeqCst);
    let name = pool.spec.name.clone();
    let worker = Arc::new(Worker {
        id,
        current: Mutex::new(None),
        last_id: Mutex::new(None),
        reached_next: AtomicBool::new(false),
        init_error: Mutex::new(None),
        timed_out: AtomicBool::new(false),
        kill: Notify::new(),
    });
    let exit = match start(&pool, &worker).await {
        Ok(exit) => exit,
        Err(e) => {
            tracing::error!(function = %name, worker = id, error = %e, "cannot start the function's worker");
            if let Ok(mut g) = worker.init_error.lock() {
                g.get_or_insert(e);
            }
            String::from("did not start")
        }
    };
    pool.workers.fetch_sub(1, Ordering::SeqCst);
    if let Ok(mut live) = pool.live.lock() {
        live.retain(|w| w.id != id);
    }
    // An invocation in hand ends with the worker.
    if let Some(cur) = worker.current.lock().ok().and_then(|mut c| c.take()) {
        let err = if worker.timed_out.load(Ordering::SeqCst) {
            InvokeError::Timeout(pool.spec.timeout)
        } else {
            InvokeError::Crashed
        };
        tracing::warn!(function = %name, worker = id, request_id = %cur.id, %exit, "{err}");
        cur.state.answer(Err(err));
    }
    if !worker.reached_next.load(Ordering::SeqCst) {
        // Init failed: fail a queued invocation at once rather than let it wait for a worker
        // that will fail the same way.
        let why = worker
            .init_error
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .unwrap_or_else(|| format!("the worker process exited during init ({exit})"));
        tracing::error!(function = %name, worker = id, "init failed: {why}");
        if let Ok(mut rx) = pool.rx.try_lock() {
            if let Ok(inv) = rx.try_recv() {
                pool.queued.fetch_sub(1, Ordering::SeqCst);
                inv.state.answer(Err(InvokeError::Init(why)));
            }
        }
    }
    // Keep the warm minimum, and a worker for invocations still queued.
    let workers = pool.workers.load(Ordering::SeqCst);
    if workers < pool.spec.warm_minimum as usize
        || pool.queued.load(Ordering::SeqCst) > pool.waiting.load(Ordering::SeqCst)
    {
        spawn_if_allowed(&pool);
    }
}

/// Runs one worker process to its end; returns how it ended.
async fn start(pool: &Arc<Pool>, worker: &Arc<Worker>) -> Result<String, String> {
    let spec = &pool.spec;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen for the Runtime API: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen for the Runtime API: {e}"))?;
    let Some((program, args)) = spec.command.split_first() else {
        return Err("the function has no command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &spec.working_directory {
        cmd.current_dir(dir);
    }
    let task_root = spec
        .working_directory
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("archway/[$LATEST]{}", uuid::Uuid::new_v4().simple()),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", &pool.region)
        .env("AWS_DEFAULT_REGION", &pool.region)
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_archway")
        .env("LAMBDA_TASK_ROOT", &task_root)
        .env("LAMBDA_RUNTIME_DIR", &task_root)
        .env("TZ", ":UTC")
        // Output reaches the log as it is written, tagged with its invocation (Lambda's own
        // runtimes do not buffer it either).
        .env("PYTHONUNBUFFERED", "1")
        .envs(&spec.environment);
    if let Some(h) = spec.command.last() {
        cmd.env("_HANDLER", h);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    if let Ok(mut live) = pool.live.lock() {
        live.push(worker.clone());
    }
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, pool.spec.name.clone(), worker.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, pool.spec.name.clone(), worker.clone()));
    }
    let server = tokio::spawn(runtime_api::serve(listener, pool.clone(), worker.clone()));
    let exit = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        },
        _ = worker.kill.notified() => {
            let _ = child.kill().await;
            "killed".to_string()
        }
    };
    server.abort();
    Ok(exit)
}

/// Logs a worker's output line by line, tagged with the invocation it is running.
async fn pump(out: impl AsyncRead + Unpin, function: String, worker: Arc<Worker>) {
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let request_id = worker.log_id().unwrap_or_default();
        tracing::info!(target: "archway::function", function = %function, worker = worker.id, request_id = %request_id, "{line}");
    }
}
