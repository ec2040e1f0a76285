//! The `archway` binary: command line, process lifecycle (signals, reload, drain), and the
//! wiring between the model, the data plane and (later) the control plane. Errors meet
//! `anyhow` only here, at the edge.

mod cli;
mod serve;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "archway",
    version,
    about = "A self-hosted API gateway with Amazon API Gateway's model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Check a config file or an OpenAPI document and print every problem with file, line and
    /// field.
    Validate {
        /// The file to check: archway.yaml, or an OpenAPI 3 / Swagger 2 document.
        file: PathBuf,
        /// For an OpenAPI document: the kind of API it describes.
        #[arg(long, value_enum, default_value_t = ApiType::Rest)]
        api_type: ApiType,
    },
    /// Write an API as an OpenAPI document with its x-amazon-apigateway extensions.
    Export(ExportArgs),
    #[command(flatten)]
    Admin(cli::AdminCommand),
}

/// REST API or HTTP API.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiType {
    Rest,
    Http,
}

impl ApiType {
    pub fn protocol(self) -> archway_model::Protocol {
        match self {
            ApiType::Rest => archway_model::Protocol::Rest,
            ApiType::Http => archway_model::Protocol::Http,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// The config file that declares the API.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The API's name or id.
    #[arg(long)]
    pub api: String,
    /// Export what this stage serves (its deployment); default: the working definition.
    #[arg(long)]
    pub stage: Option<String>,
    /// `oas30` or `swagger2`.
    #[arg(long, default_value = "oas30")]
    pub format: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Declarative config (archway.yaml), applied at start and on reload (SIGHUP or a change
    /// to the file).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Serve an OpenAPI 3 / Swagger 2 document (JSON or YAML) directly, as the only API.
    #[arg(long, conflicts_with = "config")]
    pub openapi: Option<PathBuf>,
    /// With --openapi: the kind of API the document describes.
    #[arg(long, value_enum, default_value_t = ApiType::Rest, requires = "openapi")]
    pub api_type: ApiType,
    /// With --openapi: the stage it is served on.
    #[arg(long, default_value = "prod", requires = "openapi")]
    pub stage: String,
    /// With --openapi: what the document's base path does to routes, as AWS's import
    /// parameter: ignore, prepend or split.
    #[arg(long, default_value = "ignore", requires = "openapi")]
    pub basepath: String,
    /// Client listener address (HTTP/1.1 and h2c); overrides `server.listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Folder for Archway's state; created on first start.
    #[arg(long, default_value = "./archway-data")]
    pub data_dir: PathBuf,
    /// Worker threads (one event loop each); overrides `server.workers`. Default: CPUs.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Admin API listener (Amazon API Gateway's management API, SigV4-signed with the admin
    /// key). Never shared with client traffic.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub admin_listen: SocketAddr,
    /// A local Lambda function, NAME=COMMAND (repeatable), run in the current folder with
    /// Lambda's defaults, e.g. `hello='python3 -m awslambdaric app.handler'`. AWS_PROXY
    /// integrations reach it by name.
    #[arg(long, value_name = "NAME=COMMAND")]
    pub function: Vec<String>,
    /// Lambda Invoke API listener for the local functions (`aws lambda invoke --endpoint-url`),
    /// SigV4-signed with the admin key. Only when functions are declared.
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub lambda_listen: SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file, api_type } => validate(&file, api_type),
        Command::Export(args) => export(&args),
        Command::Admin(cmd) => match cli::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("archway: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => {
            init_tracing();
            match serve::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("archway: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ARCHWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn validate(file: &std::path::Path, api_type: ApiType) -> ExitCode {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let loaded = if archway_model::load::looks_like_openapi(&text) {
        let opts = archway_model::load::OpenApiServe {
            protocol: api_type.protocol(),
            ..Default::default()
        };
        archway_model::load::load_openapi_file(file, &opts)
    } else {
        archway_model::validate::load_config_file(file)
    };
    let errors = loaded.errors().count();
    for d in &loaded.diagnostics {
        println!("{d}");
    }
    if errors > 0 || loaded.model.is_none() {
        println!(
            "{}: {errors} error{}",
            file.display(),
            if errors == 1 { "" } else { "s" }
        );
        return ExitCode::FAILURE;
    }
    // Compiling catches what only the data plane checks.
    if let Some(model) = &loaded.model {
        if let Err(errs) = archway_gateway::Snapshot::compile(model) {
            for e in &errs {
                println!("{}: {e}", file.display());
            }
            return ExitCode::FAILURE;
        }
    }
    println!("{}: ok", file.display());
    ExitCode::SUCCESS
}

fn export(args: &ExportArgs) -> ExitCode {
    let Some(format) = archway_model::openapi::ExportFormat::parse(&args.format) else {
        eprintln!("archway: --format must be oas30 or swagger2");
        return ExitCode::FAILURE;
    };
    let model = match archway_model::validate::load_config_file(&args.config).into_result() {
        Ok((m, _)) => m,
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            return ExitCode::FAILURE;
        }
    };
    let Some(api) = model
        .apis
        .iter()
        .find(|a| a.name == args.api || a.id == args.api)
    else {
        eprintln!("archway: no API is named `{}`", args.api);
        return ExitCode::FAILURE;
    };
    match archway_model::openapi::export_api(api, args.stage.as_deref(), format) {
        Some(doc) => {
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "archway: API `{}` has no stage `{}`",
                api.name,
                args.stage.as_deref().unwrap_or("")
            );
            ExitCode::FAILURE
        }
    }
}
