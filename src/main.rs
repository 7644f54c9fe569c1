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
    /// Runs the gRPC server until SIGTERM or SIGINT (and, in the quick
    /// start, the portal beside it).
    Serve,
    /// Runs the web portal (the `[portal]` section) until SIGTERM or
    /// SIGINT, as a client of the API at `portal.api_url`.
    Portal,
    /// Provisions demo accounts of the three example universities through
    /// the API (the quick start's server), opens their activation and
    /// prints what to type in the portal.
    Demo(DemoArgs),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Runs the LDAP sync worker (the `[ldap_sync]` section) until SIGTERM
    /// or SIGINT: applies the change feed to the directory in order.
    LdapSync(LdapSyncArgs),
    /// Validates the configuration and prints it, secrets redacted.
    CheckConfig,
    /// Prints the record of processing activities (RGPD article 30) that
    /// the configuration and the access table give: each kind of personal
    /// data, why, who reads it, where it goes, how long it is kept.
    ProcessingRecord,
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
struct DemoArgs {
    /// The API.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    api: String,
    /// A file holding an admin token (the quick start writes one).
    #[arg(long, default_value = "data/local-admin.token")]
    token_file: PathBuf,
    /// The portal, for the addresses printed.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    portal: String,
}

#[derive(clap::Args)]
struct LdapSyncArgs {
    /// Instead of following the feed: make the directory match every
    /// account (a new directory, after a restore, after drift), print what
    /// changed, and exit. The feed goes on from where it was when the
    /// resync began.
    #[arg(long)]
    resync: bool,
    /// With --resync: only this institution.
    #[arg(long, requires = "resync")]
    institution: Option<String>,
    /// Reach the API and the directory, print where the feed and the
    /// directory's cursor stand, and exit.
    #[arg(long, conflicts_with = "resync")]
    check: bool,
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

/// What the configuration does against French recommendations (the CNIL's
/// on passwords), logged once at start; `check-config` prints the same.
fn log_advice(settings: &Settings) {
    for advice in settings.advice() {
        tracing::warn!(key = %advice.key, "{}", advice.message);
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve => {
            log_advice(&settings);
            let mut settings = settings;
            let mut local_portal = None;
            if let Some(path) = ent_identity::auth::add_local_admin(&mut settings)? {
                eprintln!(
                    "ent-identity: no client configured: a one-time admin token for local use is in {} (valid until this server stops; configure auth.clients for real callers)",
                    path.display()
                );
                if settings.portal.is_some() {
                    local_portal = Some(ent_identity::auth::add_local_portal(&mut settings)?);
                }
            }
            let listeners = server::Listeners::bind(&settings).await?;
            if let (Some(token), Some(portal)) = (local_portal, &settings.portal) {
                let api = listeners.grpc.local_addr().map_err(|e| e.to_string())?;
                start_local_portal(portal, &format!("http://{api}"), token.expose()).await?;
            }
            server::serve(
                Arc::new(settings),
                Arc::new(SystemClock),
                listeners,
                server::shutdown_signal(),
            )
            .await
            .map_err(|e| e.to_string())
        }
        Command::Portal => run_portal(&settings).await,
        Command::Demo(args) => {
            let token = std::fs::read_to_string(&args.token_file)
                .map_err(|e| format!("{}: {e} (run `serve` first)", args.token_file.display()))?;
            ent_identity::demo::run(ent_identity::demo::DemoTarget {
                api_url: args.api,
                token,
                portal_url: args.portal,
            })
            .await
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
        Command::ProcessingRecord => {
            print!("{}", ent_identity::processing_record::record(&settings));
            Ok(())
        }
        Command::ClientToken => {
            let (token, hash) =
                ent_identity::auth::new_client_token().map_err(|e| e.to_string())?;
            println!("token = \"{}\"", token.expose());
            println!("token_sha256 = \"{hash}\"");
            Ok(())
        }
        Command::CertificateFingerprint { file } => certificate_fingerprints(&file),
        Command::Expire(args) => expire(args, settings).await,
        Command::LdapSync(args) => ldap_sync(args, settings).await,
    }
}

/// `certificate-fingerprint`: the SHA-256 of each certificate of a PEM file.
fn certificate_fingerprints(file: &std::path::Path) -> Result<(), String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certificates =
        CertificateDer::pem_file_iter(file).map_err(|e| format!("{}: {e}", file.display()))?;
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

/// `ldap-sync`: the worker, or one resync.
async fn ldap_sync(args: LdapSyncArgs, settings: Settings) -> Result<(), String> {
    let sync = settings
        .ldap_sync
        .ok_or("no [ldap_sync] section in the configuration")?;
    let worker = ent_identity::ldap_sync::Worker::new(sync).map_err(|e| e.to_string())?;
    if args.check {
        println!("{}", worker.check().await.map_err(|e| e.to_string())?);
        return Ok(());
    }
    if args.resync {
        let lines = ent_identity::ldap_sync::resync(&worker, args.institution.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        for line in &lines {
            println!("{line}");
        }
        eprintln!("ent-identity: resync done, {} entries changed", lines.len());
        return Ok(());
    }
    if let Some(address) = worker.settings().metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("ldap_sync.metrics_listen {address}: {e}"))?;
        let router = worker.metrics().router();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(server::shutdown_signal())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    worker.run(server::shutdown_signal()).await;
    Ok(())
}

/// The portal's router, as a client of the API at `api_url`.
fn portal_router(
    portal: &ent_identity::portal::PortalSettings,
    api_url: &str,
    token: &str,
) -> Result<axum::Router, String> {
    let ca_pem = match &portal.api_ca_file {
        Some(path) => {
            Some(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let tls = ent_identity::portal::ClientTls {
        ca_pem,
        identity_pem: None,
    };
    let mut api = ent_identity::portal::ApiClient::with_tls(api_url, token, tls)
        .map_err(|e| e.to_string())?;
    if let Some(desk) = &portal.desk {
        // The quick start's own client holds the helpdesk role too.
        let desk_token = match &desk.api_token_file {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => token.to_owned(),
        };
        api = api
            .with_desk_token(&desk_token)
            .map_err(|e| e.to_string())?;
    }
    ent_identity::portal::router(portal, api).map_err(|e| e.to_string())
}

/// Quick start: the portal beside the server, on its own address.
async fn start_local_portal(
    portal: &ent_identity::portal::PortalSettings,
    api_url: &str,
    token: &str,
) -> Result<(), String> {
    let router = portal_router(portal, api_url, token)?;
    let listener = ent_identity::portal::bind(portal)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "ent-identity: the portal is on http://{}/",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tokio::spawn(async move {
        if let Err(e) =
            ent_identity::portal::serve(router, listener, server::shutdown_signal()).await
        {
            tracing::error!(error = %e, "the portal stopped");
        }
    });
    Ok(())
}

/// `ent-identity portal`: the portal alone, as a client of the API.
async fn run_portal(settings: &Settings) -> Result<(), String> {
    let portal = settings
        .portal
        .as_ref()
        .ok_or("no [portal] section in the configuration")?;
    let token_file = portal
        .api_token_file
        .as_ref()
        .ok_or("portal.api_token_file names the file of the portal's token")?;
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| format!("{}: {e}", token_file.display()))?;
    if portal.api_url.is_empty() {
        return Err("portal.api_url names the API the portal calls".into());
    }
    let router = portal_router(portal, &portal.api_url, &token)?;
    let listener = ent_identity::portal::bind(portal)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(listen = %portal.listen, "portal serving");
    ent_identity::portal::serve(router, listener, server::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
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
        "{}activations_opened={} accounts_limited={} accounts_expired={} notices_sent={} password_reminders_sent={} passwords_expired={} accounts_purged={} alumni_offers_sent={} accounts_kept_as_alumni={} chunks={} complete={}",
        if request.dry_run { "dry run: " } else { "" },
        report.counts.activations_opened,
        report.counts.accounts_limited,
        report.counts.accounts_expired,
        report.counts.notices_sent,
        report.counts.password_reminders_sent,
        report.counts.passwords_expired,
        report.counts.accounts_purged,
        report.counts.alumni_offers_sent,
        report.counts.accounts_kept_as_alumni,
        report.chunks,
        report.complete
    );
    let f = &report.forgotten;
    println!(
        "forgotten: audit_events={} sent_messages={} finished_flows={} spent_secrets={} feed_entries={} feed_entries_kept_for_readers={} decided_requests={}",
        f.audit_events,
        f.sent_messages,
        f.finished_flows,
        f.spent_secrets,
        f.feed.forgotten,
        f.feed.kept_for_readers,
        f.decided_requests
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
        for advice in settings.advice() {
            eprintln!("ent-identity: advice: {advice}");
        }
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
