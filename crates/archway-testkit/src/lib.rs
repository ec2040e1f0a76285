//! Test harness shared by the integration tests: a real gateway on a loopback port, real
//! upstreams that record what they receive, real clients, and raw-socket helpers.
//! Test-only; never a dependency of a shipped crate.

use archway_gateway::tls::{CertStore, Certificates};
use archway_gateway::{Gateway, Server, ServerOptions, Snapshot};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A gateway serving `yaml` (with `{UPSTREAM}` replaced by the upstream's address).
pub struct TestGateway {
    pub server: Option<Server>,
    pub addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    pub gateway: Arc<Gateway>,
}

impl TestGateway {
    pub fn start(yaml: &str) -> TestGateway {
        Self::start_in(yaml, Path::new("."))
    }

    pub fn start_in(yaml: &str, base: &Path) -> TestGateway {
        let (model, _warnings) = archway_model::validate::load_config_str("test.yaml", yaml, base)
            .into_result()
            .unwrap_or_else(|d| {
                panic!(
                    "config has errors:\n{}",
                    d.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
        // `archway serve` keeps a file's APIs in the store as their OpenAPI export: every
        // config the tests serve must survive that form, so serving it from the store serves
        // what these tests check.
        for api in &model.apis {
            let stages = api.stages.iter().map(|s| &s.deployment);
            let other = stages.filter(|d| !Arc::ptr_eq(d, &api.definition));
            for def in std::iter::once(&api.definition).chain(other) {
                if let Err(e) =
                    archway_model::openapi::export_faithful(&api.name, api.protocol, def)
                {
                    panic!("API `{}` does not survive the store: {e}", api.name);
                }
            }
        }
        let snapshot = Snapshot::compile(&model).expect("compiles");
        let gateway = Arc::new(Gateway::new(snapshot).unwrap());
        let s = &model.settings;
        let certs = model.settings.tls.as_ref().map(|_| {
            Arc::new(CertStore::new(
                Certificates::load(&model).expect("certificates load"),
            ))
        });
        let opts = ServerOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls_listen: s.tls.as_ref().map(|_| "127.0.0.1:0".parse().unwrap()),
            workers: 2,
            header_read_timeout: s.header_read_timeout,
            idle_timeout: s.idle_timeout,
            drain_timeout: s.drain_timeout,
            idle_poll: s.idle_poll,
            max_head_bytes: 64 * 1024,
        };
        let server = Server::start(gateway.clone(), opts, certs).expect("server starts");
        TestGateway {
            addr: server.local_addr(),
            tls_addr: server.tls_addr(),
            server: Some(server),
            gateway,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A real HTTP/1.1 + h2c upstream on loopback that records every request and answers:
/// - `/status/{code}` with that status,
/// - `/slow/{ms}` after sleeping,
/// - `/stream/{mb}` with that many MiB, streamed in 64 KiB chunks (`?length`: with a
///   `Content-Length`, else chunked),
/// - anything else with 200 and a JSON echo of the request.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let s2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = s2.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let seen = seen.clone();
                        async move { Ok::<_, Infallible>(upstream_handle(req, seen).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream { addr, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Seen {
        self.seen().pop().expect("the upstream saw a request")
    }
}

async fn upstream_handle(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        version: parts.version,
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap_or(500);
        return Response::builder()
            .status(code)
            .header("x-upstream", "yes")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(format!("{{\"upstreamStatus\":{code}}}"))).boxed())
            .unwrap();
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
    }
    if let Some(mb) = path.strip_prefix("/stream/") {
        let mb: usize = mb.parse().unwrap_or(1);
        let chunk_len = 64 * 1024;
        let chunk = Bytes::from(vec![b'x'; chunk_len]);
        let n = mb * 16;
        let stream = futures_util::stream::unfold(0usize, move |i| {
            let chunk = chunk.clone();
            async move {
                if i == n {
                    None
                } else {
                    Some((Ok::<_, Infallible>(Frame::data(chunk)), i + 1))
                }
            }
        });
        let mut resp = Response::builder().header("content-type", "application/octet-stream");
        if parts.uri.query() == Some("length") {
            resp = resp.header("content-length", (n * chunk_len).to_string());
        }
        return resp.body(StreamBody::new(stream).boxed()).unwrap();
    }
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into()),
            )
        })
        .collect();
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "bodyLength": body.len(),
        "body": String::from_utf8_lossy(&body),
    });
    Response::builder()
        .header("content-type", "application/json")
        .header("connection", "x-hop")
        .header("x-hop", "must not reach the client")
        .header("keep-alive", "timeout=5")
        .body(Full::new(Bytes::from(echo.to_string())).boxed())
        .unwrap()
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

pub fn client() -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2c_client() -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// Sends a request and reads the whole response.
pub async fn send(c: &Client, req: Request<Full<Bytes>>) -> Reply {
    let resp = c.request(req).await.expect("request");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub async fn get(c: &Client, url: &str) -> Reply {
    send(c, Request::get(url).body(Full::default()).unwrap()).await
}

/// Writes raw bytes on a new connection and reads until the server closes or `wait` passes.
pub async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A config with one REST API named `api`, stage `prod`, and the given routes block.
pub fn rest_api(routes: &str) -> String {
    format!(
        "apis:\n  - name: api\n    protocol: REST\n    stages:\n      prod:\n        variables:\n          up: '{{UPSTREAM}}'\n    routes:\n{routes}"
    )
}

pub fn with_upstream(yaml: &str, up: &Upstream) -> String {
    yaml.replace("{UPSTREAM}", &up.addr.to_string())
}

/// `archway serve` arguments for a test: every listener on a free loopback port, one worker,
/// state in `data`, then `extra`.
pub fn serve_args(data: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--lambda-listen",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--data-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(data.display().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// A running `archway` process, its stderr collected line by line.
pub struct Process {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `bin` with `args` and waits until it says where it listens.
    pub fn spawn(bin: &str, args: &[&str]) -> Process {
        Self::spawn_with_env(bin, args, &[])
    }

    /// [`Process::spawn`] with extra environment variables (`(name, None)` removes one).
    pub fn spawn_with_env(bin: &str, args: &[&str], env: &[(&str, Option<&str>)]) -> Process {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(bin);
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("archway starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("archway: listening on ") {
                    if let Some(addr) = rest.strip_suffix(" (http)") {
                        let _ = tx.send(addr.parse().expect("address"));
                    }
                }
                l2.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("archway did not start: {:?}", lines.lock().unwrap()));
        Process { child, addr, lines }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// The address of a `archway: <what> on ADDR` line of stderr.
    pub fn announced(&self, what: &str) -> SocketAddr {
        let needle = format!("archway: {what} on ");
        self.wait_for(&needle, 1, Duration::from_secs(10));
        self.stderr()
            .iter()
            .find_map(|l| l.strip_prefix(&needle))
            .and_then(|a| a.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .expect("an address")
    }

    pub fn stderr(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a stderr line contains `needle` for the `nth` time (1-based).
    pub fn wait_for(&self, needle: &str, nth: usize, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let count = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count();
            if count >= nth {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no `{needle}` (#{nth}) in stderr: {:?}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peak resident memory (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
