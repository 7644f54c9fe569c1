//! ent-identity's use cases: what the service does, whoever asks (the gRPC
//! services, the CLI, the portal), in the domain's terms. Each takes a
//! [`CallContext`] (who, which request, for whom, in which language) and
//! answers with domain results or an [`AppError`]; nothing here knows gRPC.
//! The store keeps the state; the texts word what people read; the clock
//! and the hasher are given.

pub mod activation;
pub mod alumni;
pub mod batch;
pub mod clock;
pub mod error;
pub mod forms;
pub mod guests;
pub mod helpdesk;
pub mod lifecycle;
pub mod limits;
pub mod links;
pub mod passwords;
pub mod personal_data;
pub mod recovery;
pub mod redirection;
pub mod settings;
mod sms_codes;
pub mod texts;
pub mod timing;

#[cfg(test)]
mod testing;

use domain::account::Account;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::end_user::EndUserAddress;
use domain::institution::{InstitutionSettings, Institutions, ProfileSettings};
use domain::language::Language;
use domain::refusal::Precondition;
use hashing::PasswordHasher;
use serde::{Deserialize, Serialize};
use store::accounts::AccountLookup;
use store::{AuditContext, Store};

use clock::SharedClock;
pub use error::AppError;
use limits::RateLimitSettings;

/// The rules the use cases follow: the institutions' and the service's
/// own (the configuration's sections that say what the service does, not
/// how it runs).
#[derive(Debug, Clone)]
pub struct Rules {
    pub institutions: Institutions,
    pub rate_limits: RateLimitSettings,
    pub batch: BatchSettings,
    pub feed: FeedSettings,
    pub retention: RecordRetention,
}

impl Rules {
    /// The institution with this code.
    pub fn institution(&self, code: &str) -> Option<&InstitutionSettings> {
        self.institutions.get(code)
    }

    /// How long attempt counters matter: the longest window of any rate
    /// limit, the institutions' login lookups included.
    pub fn longest_counter_window(&self) -> Duration {
        self.institutions
            .values()
            .map(|i| i.recovery.login_lookup.window)
            .chain([self.rate_limits.longest_window()])
            .max()
            .unwrap_or_default()
    }
}

/// The expiry batch (`RunExpiryBatch`, `ent-identity expire`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSettings {
    /// Accounts handled per transaction: a run killed half-way keeps every
    /// chunk it committed, and a re-run finishes the rest.
    pub chunk_size: u32,
}

/// How long the service keeps what it writes beside the accounts; the
/// expiry batch forgets each kind of record past its time (issue 29).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRetention {
    /// Audit events. The CNIL recommends keeping such logs six months to
    /// a year (recommandation 2021-122 relative à la journalisation).
    #[serde(default = "a_year", with = "formats::duration")]
    pub audit_events: Duration,
    /// Messages sent or given up (recipient, template, payload): kept to
    /// answer "was it sent?".
    #[serde(default = "a_month", with = "formats::duration")]
    pub sent_messages: Duration,
    /// Activation flows completed or expired, and one-time secrets used,
    /// revoked or expired (with their destinations).
    #[serde(default = "a_month", with = "formats::duration")]
    pub finished_flows: Duration,
    /// The change feed's entries (each holds a copy of the account as the
    /// change left it), once every reader has read them: a reader that
    /// has not keeps them, and the batch warns.
    #[serde(default = "a_month", with = "formats::duration")]
    pub feed_entries: Duration,
    /// A reader of the feed silent this long (a worker taken down for good)
    /// no longer keeps the feed's entries; it resyncs if it comes back.
    #[serde(default = "a_month", with = "formats::duration")]
    pub feed_reader_silence: Duration,
    /// Records held for review once decided, and invitations refused.
    #[serde(default = "a_month", with = "formats::duration")]
    pub decided_requests: Duration,
}

fn a_year() -> Duration {
    Duration::from_secs(365 * 86_400)
}
fn a_month() -> Duration {
    Duration::from_secs(30 * 86_400)
}

impl Default for RecordRetention {
    fn default() -> Self {
        RecordRetention {
            audit_events: a_year(),
            sent_messages: a_month(),
            finished_flows: a_month(),
            feed_entries: a_month(),
            feed_reader_silence: a_month(),
            decided_requests: a_month(),
        }
    }
}

/// The change feed's streaming watch (`WatchChanges`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// How often a watch looks for changes committed by other replicas when
    /// it has sent everything.
    #[serde(with = "formats::duration")]
    pub poll_interval: Duration,
}

/// What every use case shares.
#[derive(Clone)]
pub struct App {
    pub rules: Arc<Rules>,
    pub store: Store,
    pub clock: SharedClock,
    /// argon2id on its own threads.
    pub hasher: PasswordHasher,
}

/// What a call carries along: who made it (for the audit trail), its
/// request id, the end user the portal acts for and the language of what
/// the person reads.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub audit: AuditContext,
    pub end_user: Option<EndUserAddress>,
    pub language: Language,
    /// The call comes from an ENT page in the browser, not a back-office
    /// client.
    pub browser: bool,
    /// The caller may read people's personal data (birth date, mobile
    /// phone, personal mail) in the accounts it gets.
    pub personal_data: bool,
}

impl std::ops::Deref for CallContext {
    type Target = AuditContext;

    fn deref(&self) -> &AuditContext {
        &self.audit
    }
}

impl App {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The account `lookup` names, or NOT_FOUND.
    pub async fn account(&self, lookup: AccountLookup<'_>) -> Result<Account, AppError> {
        self.store
            .find_account(lookup)
            .await?
            .ok_or_else(|| AppError::NotFound("no such account".into()))
    }

    /// The configured institution of an account.
    pub fn institution_of(&self, account: &Account) -> Result<&InstitutionSettings, AppError> {
        self.rules
            .institution(&account.institution)
            .ok_or_else(|| AppError::FailedPrecondition {
                kind: Precondition::Configuration,
                subject: account.institution.clone(),
                message: "the account's institution is no longer configured".into(),
            })
    }

    /// The configured profile of an account.
    pub fn profile_of(&self, account: &Account) -> Result<&ProfileSettings, AppError> {
        self.profile_named(account, &account.profile)
    }

    /// One of an account's profiles (an account of several has others
    /// than `account.profile`), as configured.
    pub fn profile_named(
        &self,
        account: &Account,
        profile: &str,
    ) -> Result<&ProfileSettings, AppError> {
        self.rules
            .institution(&account.institution)
            .and_then(|i| i.profiles.get(profile))
            .ok_or_else(|| AppError::FailedPrecondition {
                kind: Precondition::Configuration,
                subject: format!("{}/{profile}", account.institution),
                message: "the account's profile is no longer configured".into(),
            })
    }
}

/// The refusal of an account that is not in use.
pub fn account_not_usable() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::AccountState,
        subject: "account".into(),
        message: "the account has no password in use (not activated, expired, purged or locked)"
            .into(),
    }
}

impl App {
    /// The account a signed-in user manages: active, or in the limited
    /// state after departure (mail and account management stay).
    pub async fn account_in_use(&self, lookup: AccountLookup<'_>) -> Result<Account, AppError> {
        let account = self.account(lookup).await?;
        if !account.password_usable() {
            return Err(account_not_usable());
        }
        Ok(account)
    }
}
