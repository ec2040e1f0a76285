//! A control plane in-process: a store in a temporary folder, a real gateway on a loopback
//! port, and the admin API on another, with a signing client.

#![allow(dead_code)]

use archway_aws::sigv4::Credentials;
use archway_control::client::{AdminClient, Reply};
use archway_control::ControlPlane;
use archway_gateway::{Gateway, Server, ServerOptions, Snapshot};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub control: Arc<ControlPlane>,
    pub gateway_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub admin: AdminClient,
    pub credentials: Credentials,
    server: Option<Server>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(|_| archway_model::Model::default()).await
    }

    /// Starts with the declarative model `base(data dir)` (e.g. an access log file).
    pub async fn start_with(
        base: impl FnOnce(&std::path::Path) -> archway_model::Model,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let base = base(dir.path());
        let store = archway_store::SqliteStore::open(dir.path()).unwrap();
        let gateway = Arc::new(Gateway::new(Snapshot::default()).unwrap());
        let control = ControlPlane::start(Arc::new(store), gateway.clone(), base).unwrap();
        let opts = ServerOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls_listen: None,
            workers: 1,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(5),
            idle_poll: archway_model::model::DEFAULT_IDLE_POLL,
            max_head_bytes: 64 * 1024,
        };
        let server = Server::start(gateway, opts, None).unwrap();
        let credentials = Credentials::new("AKIDTESTADMIN", "test-admin-secret-key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(archway_control::admin::serve(
            listener,
            control.clone(),
            credentials.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        let admin = AdminClient::new(&admin_addr.to_string(), credentials.clone()).unwrap();
        Harness {
            dir,
            control,
            gateway_addr: server.local_addr(),
            admin_addr,
            admin,
            credentials,
            server: Some(server),
            stop: Some(tx),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        self.admin.send(method, path, body.as_ref()).await.unwrap()
    }

    /// Sends `text` as the body (an OpenAPI document), signed.
    pub async fn call_text(&self, method: &str, path: &str, text: &str) -> Reply {
        self.admin
            .send_raw(
                method,
                path,
                bytes::Bytes::from(text.to_string()),
                time::OffsetDateTime::now_utc(),
                Some(&self.credentials),
            )
            .await
            .unwrap()
    }

    /// GET through the gateway as `{api}.execute-api.localhost`.
    pub async fn invoke(&self, api: &str, path: &str) -> archway_testkit::Reply {
        let c = archway_testkit::client();
        let req = http::Request::get(format!("http://{}{path}", self.gateway_addr))
            .header("host", format!("{api}.execute-api.localhost"))
            .body(http_body_util::Full::default())
            .unwrap();
        archway_testkit::send(&c, req).await
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

/// An OpenAPI 3 document with one MOCK route `GET /ping` answering `{"v": "<marker>"}`.
pub fn mock_api(title: &str, marker: &str) -> String {
    serde_json::json!({
        "openapi": "3.0.1",
        "info": { "title": title, "version": "1" },
        "paths": {
            "/ping": {
                "get": {
                    "responses": { "200": { "description": "ok" } },
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": { "application/json": "{\"statusCode\": 200}" },
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseTemplates": {
                                    "application/json": format!("{{\"v\": \"{marker}\", \"stage\": \"$context.stage\", \"color\": \"$stageVariables.color\"}}")
                                }
                            }
                        }
                    }
                }
            }
        }
    })
    .to_string()
}
