//! `archway serve`: load, compile, listen, then reload on SIGHUP or a change to the config
//! file, and drain on SIGTERM/SIGINT. See `docs/lifecycle.md`.

use crate::ServeArgs;
use anyhow::{bail, Context};
use archway_control::ControlPlane;
use archway_gateway::tls::{CertStore, Certificates};
use archway_gateway::{Gateway, Server, ServerOptions, Snapshot};
use archway_model::load::{load_openapi_file, OpenApiServe};
use archway_model::openapi::BasePathMode;
use archway_model::validate::load_config_file;
use archway_model::Model;
use notify::Watcher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let source = Source::of(&args)?;
    let model = match &source {
        Some(src) => load(src)?,
        None => Model::default(),
    };
    let snapshot = compile(&model)?;
    let certs = Certificates::load(&model).map_err(anyhow::Error::msg)?;
    let settings = &model.settings;
    let listen = args
        .listen
        .or(settings.listen)
        .unwrap_or_else(|| ([127, 0, 0, 1], 8080).into());
    let workers = args
        .workers
        .or(settings.workers)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = ServerOptions {
        listen,
        tls_listen: settings.tls.as_ref().map(|t| t.listen),
        workers,
        header_read_timeout: settings.header_read_timeout,
        idle_timeout: settings.idle_timeout,
        drain_timeout: settings.drain_timeout,
        max_head_bytes: (settings.max_request_line_bytes + settings.max_header_bytes * 8)
            .max(64 * 1024),
    };
    let cert_store = Arc::new(CertStore::new(certs));
    let gateway = Arc::new(Gateway::new(snapshot).context("cannot set up TLS for upstreams")?);

    // The control plane: the durable store, the admin key, and the stored APIs merged into the
    // snapshot before the first request is accepted.
    let store = archway_store::SqliteStore::open(&args.data_dir)
        .with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let (credentials, key_source) = archway_control::credentials::load_or_create(&args.data_dir)
        .with_context(|| {
            format!(
                "cannot read or write {}",
                archway_control::credentials::path(&args.data_dir).display()
            )
        })?;
    if key_source == archway_control::credentials::Source::Generated {
        // The one time the secret is shown: the operator needs it to sign admin requests.
        eprintln!(
            "archway: generated an admin key (also in {}):\narchway:   access key id:     {}\narchway:   secret access key: {}",
            archway_control::credentials::path(&args.data_dir).display(),
            credentials.access_key_id,
            credentials.secret_access_key
        );
    }
    let control = ControlPlane::start(Arc::new(store), gateway.clone(), model.clone())
        .map_err(anyhow::Error::msg)
        .context("cannot build the snapshot from the stored APIs")?;
    // Both listeners are bound before either is announced, so a taken admin port fails the
    // start instead of leaving a gateway without its admin API.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let admin_listener = rt
        .block_on(tokio::net::TcpListener::bind(args.admin_listen))
        .with_context(|| format!("cannot listen on {} (admin API)", args.admin_listen))?;
    let server = Server::start(
        gateway.clone(),
        opts.clone(),
        settings.tls.as_ref().map(|_| cert_store.clone()),
    )
    .with_context(|| format!("cannot listen on {listen}"))?;
    // Tests and scripts read these lines to find the ports.
    eprintln!("archway: listening on {} (http)", server.local_addr());
    if let Some(a) = server.tls_addr() {
        eprintln!("archway: listening on {a} (https)");
    }
    tracing::info!(workers, "serving");

    eprintln!("archway: admin API on {}", admin_listener.local_addr()?);
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = rt.spawn(archway_control::admin::serve(
        admin_listener,
        control.clone(),
        credentials,
        async move {
            let _ = admin_stopped.await;
        },
    ));
    rt.block_on(lifecycle(source.as_ref(), &control, &cert_store, &opts))?;
    let _ = stop_admin.send(());
    let _ = rt.block_on(admin);
    eprintln!("archway: draining");
    server.shutdown();
    // The usage counted since the last periodic flush (every request has finished).
    control.flush_usage();
    eprintln!("archway: stopped");
    Ok(())
}

/// Where the model comes from: `--config` or `--openapi`.
enum Source {
    Config(PathBuf),
    OpenApi(PathBuf, OpenApiServe),
}

impl Source {
    fn of(args: &ServeArgs) -> anyhow::Result<Option<Source>> {
        if let Some(p) = &args.openapi {
            let base_path = BasePathMode::parse(&args.basepath)
                .ok_or_else(|| anyhow::anyhow!("--basepath must be ignore, prepend or split"))?;
            let opts = OpenApiServe {
                protocol: args.api_type.protocol(),
                stage: args.stage.clone(),
                base_path,
            };
            return Ok(Some(Source::OpenApi(p.clone(), opts)));
        }
        Ok(args.config.clone().map(Source::Config))
    }

    fn path(&self) -> &Path {
        match self {
            Source::Config(p) | Source::OpenApi(p, _) => p,
        }
    }
}

fn load(src: &Source) -> anyhow::Result<Model> {
    let (path, loaded) = match src {
        Source::Config(p) => (p, load_config_file(p)),
        Source::OpenApi(p, opts) => (p, load_openapi_file(p, opts)),
    };
    match loaded.into_result() {
        Ok((model, warnings)) => {
            for w in warnings {
                tracing::warn!("{w}");
            }
            Ok(model)
        }
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            bail!("{} has errors", path.display())
        }
    }
}

fn compile(model: &Model) -> anyhow::Result<Snapshot> {
    Snapshot::compile(model).map_err(|errs| anyhow::anyhow!(errs.join("\n")))
}

/// Waits for signals and file changes; returns when it is time to drain.
async fn lifecycle(
    config: Option<&Source>,
    gateway: &ControlPlane,
    certs: &CertStore,
    opts: &ServerOptions,
) -> anyhow::Result<()> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, mut changed) = tokio::sync::mpsc::unbounded_channel::<()>();
    // Watch the folder, not the file: editors replace files by renaming.
    let _watcher = match config {
        Some(src) => watch(src.path(), tx)
            .map_err(|e| tracing::warn!(error = %e, "not watching the config file"))
            .ok(),
        None => None,
    };
    loop {
        tokio::select! {
            _ = hup.recv() => reload(config, gateway, certs, opts, "SIGHUP"),
            Some(()) = changed.recv() => {
                // Let a burst of writes settle, then take them as one change.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                while changed.try_recv().is_ok() {}
                reload(config, gateway, certs, opts, "file change");
            }
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
    }
}

fn watch(
    path: &Path,
    tx: tokio::sync::mpsc::UnboundedSender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    let file: PathBuf = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            let relevant = !ev.kind.is_access()
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(file.as_os_str()));
            if relevant {
                let _ = tx.send(());
            }
        }
    })?;
    w.watch(&dir, notify::RecursiveMode::NonRecursive)?;
    Ok(w)
}

fn reload(
    config: Option<&Source>,
    gateway: &ControlPlane,
    certs: &CertStore,
    opts: &ServerOptions,
    why: &str,
) {
    let Some(src) = config else {
        tracing::info!("{why}: no config file to reload");
        return;
    };
    let path = src.path();
    let model = match load(src) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("{why}: {e:#}; still serving the previous config");
            eprintln!("archway: reload failed, still serving the previous config");
            return;
        }
    };
    // The file alone must compile (its errors are reported as the file's).
    match compile(&model) {
        Ok(_) => {}
        Err(e) => {
            tracing::error!("{why}: {e:#}; still serving the previous config");
            eprintln!("archway: reload failed, still serving the previous config");
            return;
        }
    };
    match Certificates::load(&model) {
        Ok(c) => certs.replace(c),
        Err(e) => {
            tracing::error!("{why}: {e}; still serving the previous config");
            eprintln!("archway: reload failed, still serving the previous config");
            return;
        }
    }
    if model.settings.listen.is_some_and(|l| l != opts.listen) {
        tracing::warn!("a new listen address takes effect only after a restart");
    }
    if let Err(errs) = gateway.set_base(model) {
        tracing::error!(
            "{why}: {}; still serving the previous config",
            errs.join("; ")
        );
        eprintln!("archway: reload failed, still serving the previous config");
        return;
    }
    tracing::info!("{why}: reloaded {}", path.display());
    eprintln!("archway: reloaded");
}
