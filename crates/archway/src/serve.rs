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
use archway_model::{Function, Model};
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
    let cli_functions = cli_functions(&args.function)?;
    let model = match &source {
        Some(src) => load(src, &cli_functions)?,
        None => with_functions(Model::default(), &cli_functions)?,
    };
    let snapshot = compile(&model)?;
    let snapshot_remote = snapshot.remote_functions();
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
        idle_poll: settings.idle_poll,
        max_head_bytes: (settings.max_request_line_bytes + settings.max_header_bytes * 8)
            .max(64 * 1024),
    };
    let cert_store = Arc::new(CertStore::new(certs));
    let gateway = Arc::new(Gateway::new(snapshot).context("cannot set up TLS for upstreams")?);
    let remote = snapshot_remote.clone();
    let functions = if !model.functions.is_empty() || !remote.is_empty() {
        let f = archway_functions::Functions::start(&model.functions, &model.lambda)
            .context("cannot start the local function host")?;
        check_remote_functions(&f, &remote)?;
        gateway.set_functions(Some(f.clone()));
        Some(f)
    } else {
        None
    };

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
    // The file's APIs go into the store as one change, as on every reload; the rest of the
    // file (settings, domains, access log) is the control plane's base model.
    if let Some(src) = &source {
        let change = archway_control::Change::ApplyFile {
            source: src.name(),
            apis: model.apis.clone(),
        };
        let out = archway_control::apply(&store, change)
            .map_err(|e| anyhow::anyhow!(e.message))
            .with_context(|| format!("cannot apply {}", src.path().display()))?;
        tracing::info!(applied = %out.body, "applied the config file");
    }
    let base = Model {
        apis: Vec::new(),
        ..model.clone()
    };
    let control = ControlPlane::start(Arc::new(store), gateway.clone(), base)
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
    let invoke_listener = if model.functions.is_empty() {
        None
    } else {
        Some(
            rt.block_on(tokio::net::TcpListener::bind(args.lambda_listen))
                .with_context(|| {
                    format!(
                        "cannot listen on {} (Lambda Invoke API)",
                        args.lambda_listen
                    )
                })?,
        )
    };
    let events = {
        let _in_runtime = rt.enter();
        events(source.as_ref())?
    };
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
    // Lambda's Invoke API for the local functions, signed with the admin key.
    let invoke_api = match (&functions, invoke_listener) {
        (Some(f), Some(l)) => {
            eprintln!("archway: Lambda Invoke API on {}", l.local_addr()?);
            let lookup: archway_functions::invoke_api::Lookup = Arc::new(credentials.clone());
            Some(rt.spawn(archway_functions::invoke_api::serve(l, f.clone(), lookup)))
        }
        _ => None,
    };
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = rt.spawn(archway_control::admin::serve(
        admin_listener,
        control.clone(),
        credentials,
        async move {
            let _ = admin_stopped.await;
        },
    ));
    rt.block_on(lifecycle(
        events,
        source.as_ref(),
        &cli_functions,
        &control,
        &cert_store,
        &opts,
    ))?;
    let _ = stop_admin.send(());
    let _ = rt.block_on(admin);
    if let Some(t) = invoke_api {
        t.abort();
    }
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

    /// The file as the documents of its APIs name it (`managedBy.source`): its absolute path.
    fn name(&self) -> String {
        let p = self.path();
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    }
}

/// `--function NAME=COMMAND`: a local function in the current folder with the defaults.
fn cli_functions(specs: &[String]) -> anyhow::Result<Vec<Function>> {
    let cwd = std::env::current_dir().ok();
    specs
        .iter()
        .map(|spec| {
            let Some((name, command)) = spec.split_once('=') else {
                bail!("--function {spec}: expected NAME=COMMAND");
            };
            if !Function::valid_name(name) {
                bail!("--function {spec}: `{name}` is not a function name (1 to 64 letters, digits, `-` or `_`)");
            }
            match shlex::split(command) {
                Some(words) if !words.is_empty() => Ok(Function::new(name, words, cwd.clone())),
                _ => bail!("--function {spec}: the command is empty or has an unclosed quote"),
            }
        })
        .collect()
}

/// Functions invoked through the Invoke API need credentials: checked before serving, so that a
/// missing credential is a start (or reload) error, not a 500 on the first request.
fn check_remote_functions(
    functions: &archway_functions::Functions,
    arns: &[Arc<str>],
) -> anyhow::Result<()> {
    for arn in arns {
        functions.check_remote(arn).map_err(|e| {
            anyhow::anyhow!(
                "an AWS_PROXY integration invokes {arn}, which is not a local function (declare it under `functions:` or with --function), and it cannot be invoked in AWS: {e}"
            )
        })?;
    }
    Ok(())
}

/// Adds the `--function` functions to a loaded model.
fn with_functions(mut model: Model, extra: &[Function]) -> anyhow::Result<Model> {
    for f in extra {
        if model.functions.iter().any(|g| g.name == f.name) {
            bail!(
                "--function {}: the config already declares a function of that name",
                f.name
            );
        }
        model.functions.push(f.clone());
    }
    Ok(model)
}

fn load(src: &Source, functions: &[Function]) -> anyhow::Result<Model> {
    let (path, loaded) = match src {
        Source::Config(p) => (p, load_config_file(p)),
        Source::OpenApi(p, opts) => (p, load_openapi_file(p, opts)),
    };
    match loaded.into_result() {
        Ok((model, warnings)) => {
            for w in warnings {
                tracing::warn!("{w}");
            }
            with_functions(model, functions)
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

/// The signals and config file changes `lifecycle` waits for. Installed before the listeners
/// are announced, so that a SIGHUP or a file change right after start is never missed (nor a
/// SIGHUP's default action taken).
struct Events {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    changed: tokio::sync::mpsc::UnboundedReceiver<()>,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Must run inside the runtime.
fn events(config: Option<&Source>) -> anyhow::Result<Events> {
    let (tx, changed) = tokio::sync::mpsc::unbounded_channel::<()>();
    // Watch the folder, not the file: editors replace files by renaming.
    let watcher = match config {
        Some(src) => watch(src.path(), tx)
            .map_err(|e| tracing::warn!(error = %e, "not watching the config file"))
            .ok(),
        None => None,
    };
    Ok(Events {
        hup: signal(SignalKind::hangup())?,
        term: signal(SignalKind::terminate())?,
        int: signal(SignalKind::interrupt())?,
        changed,
        _watcher: watcher,
    })
}

/// Waits for signals and file changes; returns when it is time to drain.
async fn lifecycle(
    mut ev: Events,
    config: Option<&Source>,
    functions: &[Function],
    gateway: &ControlPlane,
    certs: &CertStore,
    opts: &ServerOptions,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = ev.hup.recv() => reload(config, functions, gateway, certs, opts, "SIGHUP"),
            Some(()) = ev.changed.recv() => {
                // Let a burst of writes settle, then take them as one change.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                while ev.changed.try_recv().is_ok() {}
                reload(config, functions, gateway, certs, opts, "file change");
            }
            _ = ev.term.recv() => return Ok(()),
            _ = ev.int.recv() => return Ok(()),
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
    functions: &[Function],
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
    let model = match load(src, functions) {
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
    let new_certs = match Certificates::load(&model) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{why}: {e}; still serving the previous config");
            eprintln!("archway: reload failed, still serving the previous config");
            return;
        }
    };
    if model.settings.listen.is_some_and(|l| l != opts.listen) {
        tracing::warn!("a new listen address takes effect only after a restart");
    }
    // The file's APIs are applied to the store (all or nothing), then served.
    match gateway.apply_file(&src.name(), model) {
        Ok(out) => tracing::info!(applied = %out.body, "{why}: applied the config file"),
        Err(errs) => {
            tracing::error!(
                "{why}: {}; still serving the previous config",
                errs.join("; ")
            );
            eprintln!("archway: reload failed, still serving the previous config");
            return;
        }
    }
    certs.replace(new_certs);
    tracing::info!("{why}: reloaded {}", path.display());
    eprintln!("archway: reloaded");
}
