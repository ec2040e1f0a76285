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
    /// Check a config file and print every problem with file, line and field.
    Validate {
        /// The file to check (archway.yaml).
        file: PathBuf,
    },
    #[command(flatten)]
    Admin(cli::AdminCommand),
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Declarative config (archway.yaml), applied at start and on reload (SIGHUP or a change
    /// to the file).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => validate(&file),
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

fn validate(file: &std::path::Path) -> ExitCode {
    let loaded = archway_model::validate::load_config_file(file);
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
