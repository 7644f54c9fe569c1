//! The `ent-identity` command: serve, migrate, check-config.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use ent_identity::app::clock::SystemClock;
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
    /// Runs the expiry batch once (for cron or a Kubernetes CronJob):
    /// notices, end of access, password reminders, purge. Idempotent; safe
    /// with other runs at the same time on PostgreSQL.
    Expire(ExpireArgs),
    /// Makes a bearer token for a client: prints the token (give it to the
    /// client) and its SHA-256 (put it in auth.clients.NAME.token_sha256).
    ClientToken,
    /// Prints the SHA-256 fingerprint of each certificate of a PEM file, for
    /// auth.clients.NAME.certificate_sha256 (mutual TLS).
    CertificateFingerprint {
        /// PEM file with one or more certificates.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct ExpireArgs {
    /// Run as of this instant (RFC 3339, for example 2027-01-01T03:00:00Z);
    /// default: now.
    #[arg(long)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Print what would be done without doing it.
    #[arg(long)]
    dry_run: bool,
    /// Only this institution (default: all configured).
    #[arg(long)]
    institution: Option<String>,
    /// Accounts per transaction (default: batch.chunk_size).
    #[arg(long)]
    chunk_size: Option<u32>,
    /// Stop after this many chunks; run again to finish.
    #[arg(long)]
    max_chunks: Option<u32>,
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve => {
            let mut settings = settings;
            if let Some(path) = ent_identity::auth::add_local_admin(&mut settings)? {
                eprintln!(
                    "ent-identity: no client configured: a one-time admin token for local use is in {} (valid until this server stops; configure auth.clients for real callers)",
                    path.display()
                );
            }
            let listeners = server::Listeners::bind(&settings).await?;
            server::serve(
                Arc::new(settings),
                Arc::new(SystemClock),
                listeners,
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
        Command::ClientToken => {
            let (token, hash) =
                ent_identity::auth::new_client_token().map_err(|e| e.to_string())?;
            println!("token = \"{}\"", token.expose());
            println!("token_sha256 = \"{hash}\"");
            Ok(())
        }
        Command::CertificateFingerprint { file } => {
            use rustls_pki_types::CertificateDer;
            use rustls_pki_types::pem::PemObject;
            let certificates = CertificateDer::pem_file_iter(&file)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let mut found = false;
            for certificate in certificates {
                let certificate = certificate.map_err(|e| format!("{}: {e}", file.display()))?;
                println!(
                    "{}",
                    ent_identity::auth::certificate_fingerprint(certificate.as_ref())
                );
                found = true;
            }
            if found {
                Ok(())
            } else {
                Err(format!("{}: no certificate", file.display()))
            }
        }
        Command::Expire(args) => expire(args, settings).await,
    }
}

async fn expire(args: ExpireArgs, settings: Settings) -> Result<(), String> {
    use ent_identity::app::batch::{self, BatchRequest};
    let store = server::connect_store(&settings)
        .await
        .map_err(|e| e.to_string())?;
    // As `serve` does: SQLite (or auto_migrate) is migrated here too.
    if store.kind() == ent_identity::store::DatabaseKind::Sqlite || settings.database.auto_migrate {
        store.migrate().await.map_err(|e| e.to_string())?;
    }
    if store
        .pending_migrations()
        .await
        .map_err(|e| e.to_string())?
        > 0
    {
        return Err("the database is not migrated: run `ent-identity migrate` first".into());
    }
    let now = chrono::Utc::now();
    let request = BatchRequest {
        as_of: args.as_of.unwrap_or(now),
        started_at: now,
        dry_run: args.dry_run,
        institution: args.institution,
        chunk_size: args
            .chunk_size
            .unwrap_or(settings.batch.chunk_size)
            .clamp(1, 10_000),
        max_chunks: args.max_chunks,
    };
    let ctx = ent_identity::store::AuditContext {
        actor: "ent-identity expire".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let report = batch::run(&store, &settings.rules(), &request, &ctx)
        .await
        .map_err(|e| e.to_string())?;
    for action in &report.planned {
        println!(
            "would {}\t{}\t{}\t{}",
            action.step.action(),
            action.login,
            action.account_id,
            action.detail
        );
    }
    println!(
        "{}activations_opened={} accounts_limited={} accounts_expired={} notices_sent={} password_reminders_sent={} passwords_expired={} accounts_purged={} chunks={} complete={}",
        if request.dry_run { "dry run: " } else { "" },
        report.counts.activations_opened,
        report.counts.accounts_limited,
        report.counts.accounts_expired,
        report.counts.notices_sent,
        report.counts.password_reminders_sent,
        report.counts.passwords_expired,
        report.counts.accounts_purged,
        report.chunks,
        report.complete
    );
    store.close().await.map_err(|e| e.to_string())
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
