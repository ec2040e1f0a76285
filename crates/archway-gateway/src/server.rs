//! Listeners and worker threads.
//!
//! Runtime shape (DESIGN.md §6): one single-threaded tokio runtime per worker thread, each
//! accepting on the same listening sockets and serving its connections start to finish; the
//! snapshot, upstream pool and access log are shared. Connections speak HTTP/1.1 or HTTP/2
//! (h2c by prior knowledge on plain listeners, ALPN on TLS). HTTP/1.1 is served inline by
//! [`crate::http1`], which hands a connection to hyper's server for anything else
//! (`docs/http1-server.md`).
//!
//! Shutdown: listeners close, idle connections close, in-flight requests finish (HTTP/2 gets
//! GOAWAY), bounded by the drain timeout. Each worker's event loop keeps running until every
//! worker has drained, because the pooled upstream connections a worker opened may be carrying
//! another worker's last requests. See `docs/lifecycle.md`.

use crate::body::Body;
use crate::context::{AmbiguousFraming, ConnInfo};
use crate::framing::{FramingWatch, Verdicts};
use crate::headers::Forwarded;
use crate::http1;
use crate::idle::IdleIo;
use crate::tls::CertStore;
use crate::{pipeline, Gateway};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: SocketAddr,
    pub tls_listen: Option<SocketAddr>,
    pub workers: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
    /// The most a worker polls for work before it sleeps (`spin`); zero: it sleeps at once.
    pub idle_poll: Duration,
    /// hyper's read buffer: the most a request head may take before 431.
    pub max_head_bytes: usize,
}

/// A running gateway: its worker threads and how to stop them.
pub struct Server {
    shutdown: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
}

impl Server {
    /// Binds the listeners and starts the workers.
    pub fn start(
        gateway: Arc<Gateway>,
        opts: ServerOptions,
        certs: Option<Arc<CertStore>>,
    ) -> io::Result<Server> {
        let plain = bind(opts.listen)?;
        let local_addr = plain.local_addr()?;
        let (tls, tls_addr) = match (opts.tls_listen, &certs) {
            (Some(addr), Some(store)) => {
                let l = bind(addr)?;
                let a = l.local_addr()?;
                let cfg = store.server_config().map_err(io::Error::other)?;
                (Some((l, TlsAcceptor::from(cfg))), Some(a))
            }
            _ => (None, None),
        };
        let (shutdown, rx) = watch::channel(false);
        let n = opts.workers.max(1);
        // Upstream connections run on the worker that opened them but serve every worker, so
        // no worker's event loop may stop before all have drained.
        let drained = Arc::new(tokio::sync::Barrier::new(n));
        let mut workers = Vec::new();
        for i in 0..n {
            let plain = plain.try_clone()?;
            let tls = match &tls {
                Some((l, acc)) => Some((l.try_clone()?, acc.clone())),
                None => None,
            };
            let gw = gateway.clone();
            let opts = opts.clone();
            let rx = rx.clone();
            let drained = drained.clone();
            let handle = std::thread::Builder::new()
                .name(format!("archway-worker-{i}"))
                .spawn(move || {
                    let mut rt = tokio::runtime::Builder::new_current_thread();
                    rt.enable_all();
                    // The hook wakes the idle poller; without one it would only cost each wake.
                    if !opts.idle_poll.is_zero() {
                        rt.on_thread_unpark(crate::spin::unparked);
                    }
                    let rt = match rt.build() {
                        Ok(rt) => rt,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot start a worker runtime");
                            return;
                        }
                    };
                    // Declared after the runtime: dropped (and its timers with it) before it.
                    let _timers = crate::integrate::TimerPool::enable();
                    rt.block_on(async {
                        let drain_timeout = opts.drain_timeout;
                        worker(gw, opts, plain, tls, rx).await;
                        let _ = tokio::time::timeout(drain_timeout, drained.wait()).await;
                    });
                })?;
            workers.push(handle);
        }
        Ok(Server {
            shutdown,
            workers,
            local_addr,
            tls_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// Stops accepting, lets requests in flight finish (up to the drain timeout), and waits
    /// for every worker to end.
    pub fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for w in self.workers {
            let _ = w.join();
        }
    }
}

fn bind(addr: SocketAddr) -> io::Result<StdListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

async fn worker(
    gw: Arc<Gateway>,
    opts: ServerOptions,
    plain: StdListener,
    tls: Option<(StdListener, TlsAcceptor)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let plain = match TcpListener::from_std(plain) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register the listener");
            return;
        }
    };
    let tls = tls.and_then(|(l, acc)| TcpListener::from_std(l).ok().map(|l| (l, acc)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .max_buf_size(opts.max_head_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(opts.max_head_bytes.max(8192) as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let clock = tokio::spawn(crate::clock::tick());
    let poller = tokio::spawn(crate::spin::run(opts.idle_poll));
    // HTTP/1.1 connections served by `http1` end at this signal; each connection task holds a
    // `done` sender, so that the receiver sees the last one end.
    let stop = http1::Stop::new();
    let (done, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    let limits = http1::Limits {
        header_read_timeout: opts.header_read_timeout,
        idle_timeout: opts.idle_timeout,
        max_head_bytes: opts.max_head_bytes,
    };

    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            r = plain.accept() => r.map(|(s, p)| (s, p, false)),
            r = async {
                match &tls {
                    Some((l, _)) => l.accept().await,
                    None => std::future::pending().await,
                }
            } => r.map(|(s, p)| (s, p, true)),
        };
        let (stream, peer, is_tls) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(opts.listen);
        let info = ConnInfo {
            peer,
            local,
            tls: is_tls,
        };
        let conn = Connection {
            gw: gw.clone(),
            info,
            forwarded: Arc::new(Forwarded::new(&info)),
            builder: builder.clone(),
            watcher: graceful.watcher(),
            stop: stop.clone(),
            limits,
            _done: done.clone(),
        };
        if is_tls {
            let Some((_, acceptor)) = &tls else { continue };
            let acceptor = acceptor.clone();
            let handshake_timeout = opts.header_read_timeout;
            tokio::spawn(async move {
                let tls_stream =
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        _ => return,
                    };
                if tls_stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    conn.hyper(tls_stream).await;
                } else {
                    conn.serve(tls_stream).await;
                }
            });
        } else {
            tokio::spawn(conn.serve(stream));
        }
    }
    drop(plain);
    drop(tls);
    stop.cancel();
    drop(done);
    tokio::select! {
        _ = async { tokio::join!(graceful.shutdown(), all_done.recv()) } => {}
        _ = tokio::time::sleep(opts.drain_timeout) => {
            tracing::warn!("drain timeout reached with connections still open");
        }
    }
    clock.abort();
    poller.abort();
}

/// One accepted client connection and what serving it needs.
struct Connection {
    gw: Arc<Gateway>,
    info: ConnInfo,
    /// The connection's `X-Forwarded-*` values, made once for all its requests.
    forwarded: Arc<Forwarded>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
    stop: http1::Stop,
    limits: http1::Limits,
    /// Dropped when the connection ends (see `worker`).
    _done: tokio::sync::mpsc::Sender<()>,
}

impl Connection {
    /// HTTP/1.1 inline (`http1`), until the connection needs hyper.
    async fn serve<S>(self, io: S)
    where
        S: http1::ClientIo + Send + 'static,
    {
        let exit = http1::serve(
            io,
            &self.gw,
            self.info,
            self.forwarded.clone(),
            self.limits,
            self.stop.clone(),
        )
        .await;
        if let http1::Exit::Handoff(io, read) = exit {
            self.hyper(http1::Prefixed::new(read, io)).await;
        }
    }

    /// hyper's HTTP/1 and HTTP/2 server for the rest of the connection.
    async fn hyper<S>(self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let forwarded = self.forwarded.clone();
        let verdicts = Arc::new(Verdicts::default());
        let svc_verdicts = verdicts.clone();
        let gw = self.gw.clone();
        let info = self.info;
        let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let (mut parts, body) = req.into_parts();
            if svc_verdicts.next_is_ambiguous() {
                parts.extensions.insert(AmbiguousFraming);
            }
            let gw = gw.clone();
            let forwarded = forwarded.clone();
            async move {
                let resp = pipeline::handle(
                    &gw,
                    info,
                    forwarded,
                    &mut parts,
                    Body::Incoming(body),
                    false,
                );
                Ok::<_, Infallible>(resp.await)
            }
        });
        let io = IdleIo::new(
            TokioIo::new(FramingWatch::new(io, verdicts)),
            self.limits.idle_timeout,
        );
        let conn = self.builder.serve_connection(io, svc).into_owned();
        let _ = self.watcher.watch(conn).await;
    }
}
