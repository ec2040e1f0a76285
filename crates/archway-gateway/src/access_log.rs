//! Access log: one JSON line per request, written when the response body has been sent (or
//! the client went away), with API Gateway's `$context`-style field names.
//!
//! Lines go over a channel to one writer thread, so a request never waits on the disk and no
//! request-path lock is shared between workers. Secrets never appear: no header, query or
//! body value is logged.

use crate::body::{Body, BodyError};
use crate::context::RequestContext;
use arc_swap::ArcSwapOption;
use archway_model::AccessLogDestination;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use serde::Serialize;
use std::io::Write;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// One access log line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub request_id: String,
    pub ip: String,
    pub request_time: String,
    pub http_method: String,
    pub route_key: String,
    pub path: String,
    pub status: u16,
    pub protocol: &'static str,
    pub response_length: u64,
    /// Milliseconds spent waiting for the integration's response head; `null` if none ran.
    pub integration_latency: Option<u64>,
    /// Milliseconds from the request's arrival to the response's last byte.
    pub latency: u64,
    pub api_id: String,
    pub stage: String,
    /// The deployment that served the request (`null` for stages of the declarative file).
    pub deployment_id: Option<String>,
    /// Whether the stage's canary deployment served it.
    pub canary: bool,
}

/// Where lines go; swapped on reload when the destination changes.
#[derive(Default)]
pub struct AccessLog {
    sink: ArcSwapOption<Sink>,
}

struct Sink {
    destination: AccessLogDestination,
    tx: mpsc::Sender<String>,
}

impl AccessLog {
    /// Points the log at `dest` (starting a writer thread), or turns it off.
    pub fn set_destination(&self, dest: Option<&AccessLogDestination>) -> std::io::Result<()> {
        let current = self.sink.load();
        if current.as_ref().map(|s| &s.destination) == dest {
            return Ok(());
        }
        let Some(dest) = dest else {
            self.sink.store(None);
            return Ok(());
        };
        let mut out: Box<dyn Write + Send> = match dest {
            AccessLogDestination::Stdout => Box::new(std::io::stdout()),
            AccessLogDestination::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
        };
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("archway-access-log".into())
            .spawn(move || {
                let mut buf = Vec::with_capacity(64 * 1024);
                while let Ok(line) = rx.recv() {
                    buf.extend_from_slice(line.as_bytes());
                    // Take whatever else is queued, then write it in one go.
                    while let Ok(more) = rx.recv_timeout(Duration::from_millis(0)) {
                        buf.extend_from_slice(more.as_bytes());
                        if buf.len() > 60 * 1024 {
                            break;
                        }
                    }
                    if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
                        tracing::error!("cannot write the access log");
                    }
                    buf.clear();
                }
            })?;
        self.sink.store(Some(Arc::new(Sink {
            destination: dest.clone(),
            tx,
        })));
        Ok(())
    }

    /// Wraps a response body so that its line is written when it ends.
    pub fn wrap(&self, ctx: &RequestContext, status: u16, body: Body) -> LoggedBody {
        let sink = self.sink.load_full();
        let pending = sink.map(|sink| {
            Box::new(Pending {
                tx: sink.tx.clone(),
                entry: Entry {
                    request_id: ctx.request_id.as_str().to_string(),
                    ip: ctx.conn.peer.ip().to_string(),
                    request_time: ctx.request_time_clf(),
                    http_method: ctx.method.as_str().to_string(),
                    route_key: ctx.route_key().to_string(),
                    path: ctx.decoded_path(),
                    status,
                    protocol: ctx.protocol(),
                    response_length: 0,
                    integration_latency: ctx
                        .integration_latency
                        .get()
                        .map(|d| d.as_millis() as u64),
                    latency: 0,
                    api_id: ctx
                        .stage
                        .as_ref()
                        .map_or(String::new(), |s| s.api_id.to_string()),
                    stage: ctx
                        .stage
                        .as_ref()
                        .map_or(String::new(), |s| s.name.to_string()),
                    deployment_id: ctx
                        .stage
                        .as_ref()
                        .and_then(|s| s.deployment_id.as_deref().map(str::to_string)),
                    canary: ctx.stage.as_ref().is_some_and(|s| s.is_canary),
                },
                started: ctx.started,
            })
        });
        LoggedBody {
            inner: body,
            pending,
            ids: None,
        }
    }
}

struct Pending {
    tx: mpsc::Sender<String>,
    entry: Entry,
    started: Instant,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.entry.latency = self.started.elapsed().as_millis() as u64;
        if let Ok(mut line) = serde_json::to_string(&self.entry) {
            line.push('\n');
            let _ = self.tx.send(line);
        }
    }
}

/// A response body that counts its bytes and writes the access log line when it ends.
pub struct LoggedBody {
    inner: Body,
    pending: Option<Box<Pending>>,
    /// For the inline writer: the request id headers it writes (`pipeline::IdHeaders`).
    pub ids: Option<crate::pipeline::IdHeaders>,
}

impl LoggedBody {
    /// See [`crate::upstream::h1::H1Body::take_raw_headers`].
    pub fn take_raw_headers(&mut self) -> Option<Box<crate::upstream::h1::RawHeaders>> {
        self.inner.take_raw_headers()
    }

    /// See [`crate::upstream::h1::H1Body::splice_ready`]: only an upstream body can be spliced.
    pub fn splice_ready(&mut self) -> Option<u64> {
        self.inner.upstream()?.splice_ready()
    }

    /// [`crate::upstream::h1::H1Body::poll_splice`], counting what it moves as `poll_frame`
    /// counts what it returns.
    pub fn poll_splice(
        &mut self,
        cx: &mut Context<'_>,
        pipe: &mut crate::splice::Pipe,
    ) -> Poll<Result<usize, BodyError>> {
        let r = match self.inner.upstream() {
            Some(u) => u.poll_splice(cx, pipe),
            None => Poll::Ready(Err("only an upstream body can be spliced".into())),
        };
        if let Some(p) = self.pending.as_mut() {
            match &r {
                Poll::Ready(Ok(n)) => p.entry.response_length += *n as u64,
                Poll::Ready(Err(_)) => self.pending = None, // written by Drop
                Poll::Pending => {}
            }
        }
        r
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        if let Some(p) = this.pending.as_mut() {
            match &r {
                Poll::Ready(Some(Ok(f))) => {
                    if let Some(d) = f.data_ref() {
                        p.entry.response_length += d.len() as u64;
                    }
                }
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                    this.pending = None; // written by Drop
                }
                Poll::Pending => {}
            }
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
