//! Rate limits on guessable secrets and on requests that mail one, per
//! account and per end-user address, counted in the database (every
//! replica shares them). An attempt is counted before it is judged and
//! forgiven when it succeeds, so only unsuccessful attempts add up.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::limits::counter_key;

use crate::error::{AppError, Exhausted};
use crate::{App, CallContext};

/// At most `max` events per `window`, the window starting at the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    pub max: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

/// Limits on guessing, kept in the database so that every replica counts
/// together. "Address" is the end user's IP address that the portal passes
/// in the `x-end-user-address` metadata (IPv6 counted per /64).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Wrong secrets typed for one account: activation keys, provisional
    /// passwords, identity details, codes, current passwords.
    pub guesses_per_account: RateRule,
    /// Wrong secrets, links and identity details from one address.
    pub guesses_per_address: RateRule,
    /// Requests that mail a secret (password resets, activation links), per
    /// identifier typed, whether or not it names an account.
    pub mail_requests_per_account: RateRule,
    /// The same requests from one address.
    pub mail_requests_per_address: RateRule,
    /// Forgotten-login lookups matching nobody, from one address (per
    /// student number: the institution's `recovery.login_lookup`).
    pub login_lookups_per_address: RateRule,
    /// Networks whose addresses are not limited as addresses (a campus NAT
    /// or eduroam's egress, where thousands share one address); accounts
    /// behind them stay limited. IPv6 networks of /64 or shorter.
    #[serde(default)]
    pub exempt_networks: Vec<ipnet::IpNet>,
}

impl RateLimitSettings {
    /// Every rule, with its key.
    pub fn rules(&self) -> [(&'static str, RateRule); 5] {
        [
            ("guesses_per_account", self.guesses_per_account),
            ("guesses_per_address", self.guesses_per_address),
            ("mail_requests_per_account", self.mail_requests_per_account),
            ("mail_requests_per_address", self.mail_requests_per_address),
            ("login_lookups_per_address", self.login_lookups_per_address),
        ]
    }

    /// The longest window: counters older than it can be deleted.
    pub fn longest_window(&self) -> Duration {
        self.rules()
            .iter()
            .map(|(_, rule)| rule.window)
            .max()
            .unwrap_or_default()
    }
}

/// The counters one attempt counts against.
#[must_use]
pub struct Counters {
    reason: Exhausted,
    /// Requests that mail something are never forgiven: each one costs.
    forgivable: bool,
    keys: Vec<(String, RateRule)>,
}

impl Counters {
    /// A secret typed for `account` (its id, or the identifier typed when
    /// the account is not known yet: an unknown one is limited alike, so
    /// the limit says nothing of which exist).
    pub fn guesses(state: &App, ctx: &CallContext, account: Option<&[&str]>) -> Counters {
        let limits = &state.rules.rate_limits;
        Counters {
            reason: Exhausted::TooManyGuesses,
            forgivable: true,
            keys: Vec::new(),
        }
        .with("guesses", account, limits.guesses_per_account)
        .with_address(
            "guesses",
            ctx,
            limits.guesses_per_address,
            &limits.exempt_networks,
        )
    }

    /// A request that mails a secret to whoever `identifier` names.
    pub fn mail_requests(state: &App, ctx: &CallContext, identifier: &[&str]) -> Counters {
        let limits = &state.rules.rate_limits;
        Counters {
            reason: Exhausted::TooManyRequests,
            forgivable: false,
            keys: Vec::new(),
        }
        .with(
            "mail_requests",
            Some(identifier),
            limits.mail_requests_per_account,
        )
        .with_address(
            "mail_requests",
            ctx,
            limits.mail_requests_per_address,
            &limits.exempt_networks,
        )
    }

    /// A forgotten-login lookup for `student` under the institution's rule.
    pub fn login_lookups(
        state: &App,
        ctx: &CallContext,
        student: &[&str],
        per_student: RateRule,
    ) -> Counters {
        Counters {
            reason: Exhausted::TooManyGuesses,
            forgivable: true,
            keys: Vec::new(),
        }
        .with("forgot_login", Some(student), per_student)
        .with_address(
            "forgot_login",
            ctx,
            state.rules.rate_limits.login_lookups_per_address,
            &state.rules.rate_limits.exempt_networks,
        )
    }

    fn with(mut self, scope: &str, subject: Option<&[&str]>, rule: RateRule) -> Counters {
        if let Some(subject) = subject {
            let mut parts = vec!["account"];
            parts.extend_from_slice(subject);
            self.keys.push((counter_key(scope, &parts), rule));
        }
        self
    }

    fn with_address(
        mut self,
        scope: &str,
        ctx: &CallContext,
        rule: RateRule,
        exempt: &[ipnet::IpNet],
    ) -> Counters {
        if let Some(address) = ctx.end_user
            && !exempt.iter().any(|network| network.contains(&address.ip()))
        {
            let subject = address.counter_subject();
            self.keys
                .push((counter_key(scope, &["address", &subject]), rule));
        }
        self
    }
}

impl App {
    /// Runs `attempt` if no counter of `counters` is over its limit, counting
    /// it first; forgives it when it succeeds (an `Ok`), unless the counters
    /// count every request.
    pub async fn limited<T>(
        &self,
        counters: Counters,
        now: DateTime<Utc>,
        attempt: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        self.limited_if(counters, now, attempt, |_| true).await
    }

    /// [`App::limited`] for attempts whose answer says whether they
    /// succeeded (`succeeded` judges an `Ok`).
    pub async fn limited_if<T>(
        &self,
        counters: Counters,
        now: DateTime<Utc>,
        attempt: impl Future<Output = Result<T, AppError>>,
        succeeded: impl FnOnce(&T) -> bool,
    ) -> Result<T, AppError> {
        let mut wait: Option<DateTime<Utc>> = None;
        for (key, rule) in &counters.keys {
            let window = chrono::Duration::from_std(rule.window)
                .map_err(|e| AppError::Internal(e.into()))?;
            let counted = self.store.count_attempt(key, window, now).await?;
            if counted.count > rule.max {
                wait = wait.max(Some(counted.window_ends_at));
            }
        }
        if let Some(until) = wait {
            tracing::warn!(reason = ?counters.reason, "rate limit reached");
            return Err(AppError::ResourceExhausted {
                reason: counters.reason,
                retry_after: (until - now).to_std().unwrap_or_default(),
            });
        }
        let result = attempt.await;
        if counters.forgivable && result.as_ref().is_ok_and(succeeded) {
            for (key, _) in &counters.keys {
                self.store.forgive_attempt(key).await?;
            }
        }
        result
    }
}
