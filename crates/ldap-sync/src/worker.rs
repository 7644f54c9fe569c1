//! The feed loop and the resync.
//!
//! Order: the worker applies changes strictly in feed order and saves the
//! cursor after each one. A change the directory refuses stops the worker
//! on that change (logged with the account, the change's cursor and the
//! LDAP result code) and it is retried with backoff until the directory or
//! the configuration is put right: later changes, of this account or of
//! others, wait. Going on with other accounts would need a per-account
//! hold list kept as durably as the cursor; stopping is what keeps "never
//! skipped" simple to check.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::SyncError;
use crate::directory::{Directory, Outcome};
use crate::mapping::{self, Source};
use crate::metrics::Metrics;
use crate::settings::LdapSyncSettings;

/// Changes read per request.
const PAGE: u32 = 200;

/// What one pass over the feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// This many changes applied (0: nothing new).
    Applied(usize),
    /// Another worker holds the lease.
    Standby,
}

/// The worker, ready to run: settings checked, secrets read.
pub struct Worker {
    /// Names this worker in the lease.
    id: String,
    settings: LdapSyncSettings,
    authorization: MetadataValue<tonic::metadata::Ascii>,
    bind_password: String,
    /// TLS to the directory with `ca_file`, read once.
    ldap_tls: Option<Arc<rustls::ClientConfig>>,
    channel: Channel,
    metrics: Metrics,
}

impl Worker {
    /// Checks the settings and reads the token and bind password files.
    pub fn new(settings: LdapSyncSettings) -> Result<Worker, SyncError> {
        let problems = settings.problems();
        if !problems.is_empty() {
            let lines: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
            return Err(SyncError::Setup(lines.join("; ")));
        }
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| SyncError::Setup(format!("{}: {e}", path.display())))
        };
        let token = read(&settings.api_token_file)?;
        let bind_password = read(&settings.bind_password_file)?;
        let authorization = format!("Bearer {token}")
            .parse()
            .map_err(|_| SyncError::Setup("ldap_sync.api_token_file: not a token".into()))?;
        let channel = api_endpoint(&settings, &read)?.connect_lazy();
        let ldap_tls = match &settings.ca_file {
            Some(ca_file) => Some(Arc::new(crate::directory::tls_config(ca_file)?)),
            None => None,
        };
        Ok(Worker {
            id: worker_id(),
            settings,
            authorization,
            bind_password,
            ldap_tls,
            channel,
            metrics: Metrics::new(),
        })
    }

    pub fn settings(&self) -> &LdapSyncSettings {
        &self.settings
    }

    /// The worker's metrics (for `/metrics` and the probes).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    fn request<T>(&self, body: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(body);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
    }

    fn api(&self) -> AccountLifecycleServiceClient<Channel> {
        AccountLifecycleServiceClient::new(self.channel.clone())
    }

    async fn directory(&self) -> Result<Directory, SyncError> {
        let tls = self.ldap_tls.clone();
        Directory::connect(&self.settings, &self.bind_password, tls).await
    }

    /// Follows the feed until `shutdown` completes; failures are retried
    /// with backoff, never passed over.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(500);
        loop {
            let outcome = tokio::select! {
                _ = &mut shutdown => return self.release().await,
                outcome = self.follow() => outcome,
            };
            let Err(e) = outcome else { continue };
            self.metrics.failed(failure_reason(&e));
            match e.ldap_code() {
                Some(code) => {
                    tracing::error!(error = %e, ldap_result = code, "change not applied; retrying")
                }
                None => tracing::warn!(error = %e, "sync interrupted; retrying"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
    }

    /// The feed's position as the API tells it: proves the address, TLS
    /// and the token.
    pub async fn api_position(&self) -> Result<String, SyncError> {
        let page = self
            .api()
            .list_changes(self.request(proto::ListChangesRequest {
                after_cursor: String::new(),
                page_size: 1,
                institution: String::new(),
            }))
            .await?
            .into_inner();
        Ok(page.feed_cursor)
    }

    /// `ldap-sync --check`: reaches the API and the directory and says
    /// where each stands.
    pub async fn check(&self) -> Result<String, SyncError> {
        let feed = self.api_position().await?;
        let mut directory = self.directory().await?;
        let state = directory.sync_state(&self.settings.cursor_dn).await?;
        directory.close().await;
        let state = state.unwrap_or_default();
        let cursor = if state.cursor.is_empty() {
            "none (run --resync first)"
        } else {
            &state.cursor
        };
        let lease = lease_holder(&state.lease, unix_now()).unwrap_or("free");
        Ok(format!(
            "feed at {feed}; directory cursor {cursor}; lease {lease}"
        ))
    }

    /// Gives the lease back on shutdown, so that another worker takes over
    /// at once rather than when it expires.
    async fn release(&self) {
        let released = async {
            let mut directory = self.directory().await?;
            let dn = &self.settings.cursor_dn;
            let state = directory.sync_state(dn).await?.unwrap_or_default();
            if lease_holder(&state.lease, unix_now()) == Some(self.id.as_str()) {
                let expired = format!("{} 0", self.id);
                directory
                    .take_lease(dn, Some(&state.lease), &expired)
                    .await?;
            }
            directory.close().await;
            Ok::<(), SyncError>(())
        };
        match released.await {
            Ok(()) => tracing::info!("stopped; lease given back"),
            Err(e) => tracing::warn!(error = %e, "stopped; the lease expires on its own"),
        }
    }

    /// Connects and applies pages of the feed until something fails.
    async fn follow(&self) -> Result<(), SyncError> {
        let mut directory = self.directory().await?;
        loop {
            match self.apply_page(&mut directory).await? {
                Pass::Applied(n) if n > 0 => {}
                _ => tokio::time::sleep(self.settings.poll_interval).await,
            }
        }
    }

    /// Takes or renews the lease; the lease value now held and the saved
    /// cursor, or `None` while another worker holds it.
    async fn acquire(
        &self,
        directory: &mut Directory,
    ) -> Result<Option<(String, String)>, SyncError> {
        let dn = &self.settings.cursor_dn;
        let state = directory.sync_state(dn).await?;
        let now = unix_now();
        let mine = self.lease_value(now);
        let (held, cursor) = match &state {
            None => (None, String::new()),
            Some(s) => {
                if lease_holder(&s.lease, now).is_some_and(|owner| owner != self.id) {
                    return Ok(None);
                }
                // Renewed only once half of it has gone: an idle worker
                // writes to the directory every `lease / 2`, not at every
                // poll.
                if lease_expiry(&s.lease, &self.id).is_some_and(|at| at - now > self.half_lease()) {
                    return Ok(Some((s.lease.clone(), s.cursor.clone())));
                }
                (Some(s.lease.as_str()), s.cursor.clone())
            }
        };
        let taken = directory.take_lease(dn, held, &mine).await?;
        Ok(taken.then_some((mine, cursor)))
    }

    fn half_lease(&self) -> i64 {
        self.settings.lease.as_secs() as i64 / 2
    }

    fn lease_value(&self, now: i64) -> String {
        format!("{} {}", self.id, now + self.settings.lease.as_secs() as i64)
    }

    /// Applies the changes after the saved cursor, one page, while holding
    /// the lease.
    pub async fn apply_page(&self, directory: &mut Directory) -> Result<Pass, SyncError> {
        let Some((mut held, cursor)) = self.acquire(directory).await? else {
            self.metrics.pass(0, 0, true);
            return Ok(Pass::Standby);
        };
        let page = self
            .api()
            .list_changes(self.request(proto::ListChangesRequest {
                after_cursor: cursor.clone(),
                page_size: PAGE,
                institution: String::new(),
            }))
            .await
            .map_err(|status| cursor_refused(status, &cursor))?
            .into_inner();
        for change in &page.changes {
            self.apply_change(directory, change).await?;
            let renewed = self.lease_value(unix_now());
            let dn = &self.settings.cursor_dn;
            if !directory
                .save_cursor(dn, (&held, &renewed), &change.cursor)
                .await?
            {
                tracing::warn!(cursor = %change.cursor, "another worker took the lease: standing by");
                return Ok(Pass::Standby);
            }
            held = renewed;
            self.metrics.applied();
        }
        self.report_lag(&page, &cursor);
        Ok(Pass::Applied(page.changes.len()))
    }

    /// Lag after a page: the changes between the last applied and the
    /// feed's last, and the age of the last applied while some remain.
    fn report_lag(&self, page: &proto::ListChangesResponse, before: &str) {
        let applied = page.changes.last().map_or(before, |c| c.cursor.as_str());
        let number = |c: &str| c.parse::<i64>().unwrap_or(0);
        let lag = number(&page.feed_cursor) - number(applied);
        let age = page
            .changes
            .last()
            .and_then(|c| c.occurred_at.as_ref())
            .filter(|_| lag > 0)
            .map_or(0, |t| unix_now() - t.seconds);
        self.metrics.pass(lag, age, false);
    }

    async fn apply_change(
        &self,
        directory: &mut Directory,
        change: &proto::AccountChange,
    ) -> Result<(), SyncError> {
        let Some(account) = &change.account else {
            return Ok(());
        };
        let mut source = source(account, &change.entry, change.password_usable);
        source.sponsor_login = self.sponsor_login(account).await?;
        let Some(desired) = self.desired(account, &source) else {
            return Ok(());
        };
        let outcome = directory.apply(&desired).await.inspect_err(|e| {
            tracing::error!(
                error = %e,
                cursor = %change.cursor,
                login = %account.login,
                kind = ?change.kind(),
                "the directory refused a change"
            );
        })?;
        // The account id, never the login: logs carry no personal data.
        tracing::info!(cursor = %change.cursor, account = %account.account_id, kind = ?change.kind(), ?outcome, "applied");
        Ok(())
    }

    /// A guest's sponsor's login, from which their `supannParrainDN` is
    /// built; `None` for other accounts (or a sponsor no longer known).
    async fn sponsor_login(&self, account: &proto::Account) -> Result<Option<String>, SyncError> {
        if account.sponsor_account_id.is_empty() {
            return Ok(None);
        }
        let selector = proto::AccountSelector {
            institution: String::new(),
            identifier: Some(proto::account_selector::Identifier::AccountId(
                account.sponsor_account_id.clone(),
            )),
        };
        let request = self.request(proto::GetAccountRequest {
            account: Some(selector),
        });
        match self.api().get_account(request).await {
            Ok(answer) => Ok(answer.into_inner().account.map(|a| a.login)),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// What the directory should say; `None` for an institution it does
    /// not hold.
    fn desired(&self, account: &proto::Account, source: &Source) -> Option<mapping::Desired> {
        let directory = self.settings.institutions.get(&account.institution)?;
        Some(mapping::desired(source, directory, &self.settings))
    }

    /// Connects to the directory (for tests and `--once`).
    pub async fn connect(&self) -> Result<Directory, SyncError> {
        self.directory().await
    }
}

/// The API's address, with TLS for `https://` (`api_ca_file`, and the
/// worker's certificate for mutual TLS).
fn api_endpoint(
    settings: &LdapSyncSettings,
    read: &dyn Fn(&std::path::Path) -> Result<String, SyncError>,
) -> Result<Endpoint, SyncError> {
    let ca_pem = settings.api_ca_file.as_deref().map(read).transpose()?;
    let identity_pem = match (
        &settings.api_client_certificate_file,
        &settings.api_client_key_file,
    ) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    let tls = proto::client::ClientTls {
        ca_pem,
        identity_pem,
    };
    proto::client::endpoint(&settings.api_url, tls)
        .map_err(|e| SyncError::Setup(format!("ldap_sync.api_url: {e}")))
}

/// The profiles of an account of several whose end was not reported, or
/// all of them once every one has ended (the account then keeps its
/// affiliations through its grace, like an account of one profile).
fn active_profiles(account: &proto::Account) -> Vec<(String, bool)> {
    let staff = |p: &proto::AccountProfile| p.kind() == proto::AccountKind::Staff;
    let active: Vec<(String, bool)> = account
        .profiles
        .iter()
        .filter(|p| p.end_of_activity_date.is_empty())
        .map(|p| (p.profile.clone(), staff(p)))
        .collect();
    if !active.is_empty() {
        return active;
    }
    account
        .profiles
        .iter()
        .map(|p| (p.profile.clone(), staff(p)))
        .collect()
}

/// The mapping's view of an account.
fn source(
    account: &proto::Account,
    entry: &[proto::LdapAttribute],
    password_usable: bool,
) -> Source {
    Source {
        login: account.login.clone(),
        profile: account.profile.clone(),
        staff: account.kind() == proto::AccountKind::Staff,
        guest: account.kind() == proto::AccountKind::Guest,
        sponsor_login: None,
        profiles: active_profiles(account),
        purged: account.status() == proto::AccountStatus::DataDeleted,
        alumni: account.status() == proto::AccountStatus::Alumni,
        password_usable,
        password_set_days: account
            .password_changed_at
            .as_ref()
            .map(|t| t.seconds.div_euclid(86_400)),
        entry: entry
            .iter()
            .map(|a| (a.name.clone(), a.values.clone()))
            .collect(),
    }
}

const LEASE_HELD: &str = "a running worker holds the directory's lease: stop it (it goes on from the resync's position when started again)";
const LEASE_LOST: &str = "another worker took the directory's lease during the resync: run it again with the workers stopped";

/// The label of a failure: the LDAP result code, or where it failed.
/// A refusal of the directory's cursor as what it means for the worker.
fn cursor_refused(status: tonic::Status, cursor: &str) -> SyncError {
    use tonic_types::StatusExt;
    let expired = status
        .get_details_precondition_failure()
        .is_some_and(|f| f.violations.iter().any(|v| v.r#type == "CURSOR_EXPIRED"));
    if expired {
        SyncError::CursorExpired(cursor.to_owned())
    } else {
        SyncError::Api(status)
    }
}

fn failure_reason(e: &SyncError) -> String {
    match e {
        SyncError::Refused { code, .. } => code.to_string(),
        SyncError::Directory(_) => "unreachable".into(),
        SyncError::Api(_) => "api".into(),
        SyncError::Setup(_) => "setup".into(),
        SyncError::CursorExpired(_) => "cursor_expired".into(),
    }
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A name for this worker: the host's, the process id and the start
/// instant (two workers never share one).
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{host}/{}/{started}", std::process::id())
}

/// A lease value: its holder and expiry (`<worker id> <Unix seconds>`).
fn parse_lease(lease: &str) -> Option<(&str, i64)> {
    let (holder, expires) = lease.rsplit_once(' ')?;
    Some((holder, expires.parse().ok()?))
}

/// When the lease held by `owner` expires; `None` when someone else holds
/// it (or nobody).
fn lease_expiry(lease: &str, owner: &str) -> Option<i64> {
    parse_lease(lease).and_then(|(holder, expires)| (holder == owner).then_some(expires))
}

/// Who holds `lease` at `now`; `None` when it is empty or has expired.
fn lease_holder(lease: &str, now: i64) -> Option<&str> {
    parse_lease(lease).and_then(|(holder, expires)| (expires > now).then_some(holder))
}

/// Makes the directory match every account of the configured institutions
/// (or of `only`), then puts the cursor where the feed was when the resync
/// began (never later than it was). Returns one line per entry changed.
pub async fn resync(worker: &Worker, only: Option<&str>) -> Result<Vec<String>, SyncError> {
    if let Some(code) = only.filter(|c| !worker.settings.institutions.contains_key(*c)) {
        return Err(SyncError::Setup(format!(
            "{code}: not an institution of ldap_sync.institutions"
        )));
    }
    let mut directory = worker.directory().await?;
    let Some((held, _)) = worker.acquire(&mut directory).await? else {
        return Err(SyncError::Setup(LEASE_HELD.into()));
    };
    let mut run = Resync {
        worker,
        directory,
        held,
        lines: Vec::new(),
        start: None,
    };
    for code in worker.settings.institutions.keys() {
        if only.is_none_or(|o| o == code) {
            run.institution(code).await?;
        }
    }
    run.finish().await
}

/// A resync under way: the lease it holds, what it changed, and the
/// lowest feed position its institutions' first pages noted.
struct Resync<'a> {
    worker: &'a Worker,
    directory: Directory,
    held: String,
    lines: Vec<String>,
    start: Option<i64>,
}

impl Resync<'_> {
    /// Every page of one institution, the lease renewed after each.
    async fn institution(&mut self, code: &str) -> Result<(), SyncError> {
        let mut token = String::new();
        loop {
            let request = proto::ListLdapEntriesRequest {
                institution: code.to_owned(),
                page_size: 500,
                page_token: token.clone(),
            };
            let mut api = self.worker.api();
            let answer = api.list_ldap_entries(self.worker.request(request)).await?;
            let page = answer.into_inner();
            let position = page.feed_cursor.parse::<i64>().unwrap_or(0);
            self.start = Some(self.start.map_or(position, |s| s.min(position)));
            for entry in &page.entries {
                self.apply(entry).await?;
            }
            self.renew().await?;
            if page.next_page_token.is_empty() {
                return Ok(());
            }
            token = page.next_page_token;
        }
    }

    async fn apply(&mut self, entry: &proto::LdapEntry) -> Result<(), SyncError> {
        let Some(account) = &entry.account else {
            return Ok(());
        };
        let mut source = source(account, &entry.entry, entry.password_usable);
        source.sponsor_login = self.worker.sponsor_login(account).await?;
        let Some(desired) = self.worker.desired(account, &source) else {
            return Ok(());
        };
        let outcome = self.directory.apply(&desired).await?;
        self.lines.extend(describe(desired.dn(), &outcome));
        Ok(())
    }

    /// Keeps the lease through a long resync.
    async fn renew(&mut self) -> Result<(), SyncError> {
        let dn = &self.worker.settings.cursor_dn;
        let renewed = self.worker.lease_value(unix_now());
        if !self
            .directory
            .take_lease(dn, Some(&self.held), &renewed)
            .await?
        {
            return Err(SyncError::Setup(LEASE_LOST.into()));
        }
        self.held = renewed;
        Ok(())
    }

    /// The cursor goes where the feed was when the resync began (never
    /// later than it was), and the lease is given back in the same modify.
    async fn finish(mut self) -> Result<Vec<String>, SyncError> {
        let dn = &self.worker.settings.cursor_dn;
        let saved = self.directory.sync_state(dn).await?.unwrap_or_default();
        let cursor = match (saved.cursor.parse::<i64>(), self.start) {
            (Ok(saved), Some(start)) => saved.min(start).to_string(),
            (Err(_), Some(start)) => start.to_string(),
            (_, None) => saved.cursor,
        };
        let released = format!("{} 0", self.worker.id);
        let saved = self
            .directory
            .save_cursor(dn, (&self.held, &released), &cursor)
            .await?;
        if !saved {
            return Err(SyncError::Setup(LEASE_LOST.into()));
        }
        self.directory.close().await;
        Ok(self.lines)
    }
}

fn describe(dn: &str, outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Unchanged => None,
        Outcome::Added => Some(format!("added {dn}")),
        Outcome::Deleted => Some(format!("deleted {dn}")),
        Outcome::Modified(names) => Some(format!("modified {dn}: {}", names.join(", "))),
    }
}
