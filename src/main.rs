//! The `ent-identity` command: serve, migrate, check-config.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use ent_identity::clock::SystemClock;
use ent_identity::config::Settings;
use ent_identity::store::Store;
use ent_identity::{server, telemetry};

/// Identity service for universities: account provisioning, activation,
/// recovery, mail redirection and lifecycle over gRPC.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML); repeat to layer several, later ones win.
    /// Environment variables ENT_IDENTITY__SECTION__KEY override them all.
    #[arg(short, long = "config", global = true, env = "ENT_IDENTITY_CONFIG")]
    config: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC server until SIGTERM or SIGINT.
    Serve,
    /// Applies pending database migrations and exits.
    Migrate,
    /// Validates the configuration and prints it, secrets redacted.
    CheckConfig,
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.server.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", settings.server.listen))?;
            server::serve(
                Arc::new(settings),
                Arc::new(SystemClock),
                listener,
                server::shutdown_signal(),
            )
            .await
            .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let store = Store::connect(&settings.database)
                .await
                .map_err(|e| e.to_string())?;
            store.migrate().await.map_err(|e| e.to_string())?;
            tracing::info!("database migrated");
            store.close().await.map_err(|e| e.to_string())
        }
        Command::CheckConfig => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.config) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("ent-identity: {error}");
            return ExitCode::from(2);
        }
    };
    if let Command::CheckConfig = cli.command {
        print!("{}", settings.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ent-identity: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let telemetry =
            telemetry::init(&settings.log, &settings.telemetry).map_err(|e| e.to_string())?;
        let outcome = run(cli.command, settings).await;
        telemetry.shutdown();
        outcome
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "ent-identity stopped");
            eprintln!("ent-identity: {error}");
            ExitCode::FAILURE
        }
    }
}
