//! Rate limits on guessable secrets and on requests that mail one, per
//! account and per end-user address, counted in the database (every
//! replica shares them). An attempt is counted before it is judged and
//! forgiven when it succeeds, so only unsuccessful attempts add up.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::status::{ApiError, Exhausted};
use super::{AppState, CallContext};
use crate::config::RateRule;
use crate::store::limits::counter_key;

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
    pub fn guesses(state: &AppState, ctx: &CallContext, account: Option<&[&str]>) -> Counters {
        let limits = &state.settings.rate_limits;
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
    pub fn mail_requests(state: &AppState, ctx: &CallContext, identifier: &[&str]) -> Counters {
        let limits = &state.settings.rate_limits;
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
        state: &AppState,
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
            state.settings.rate_limits.login_lookups_per_address,
            &state.settings.rate_limits.exempt_networks,
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

impl AppState {
    /// Runs `attempt` if no counter of `counters` is over its limit, counting
    /// it first; forgives it when it succeeds (an `Ok`), unless the counters
    /// count every request.
    pub async fn limited<T>(
        &self,
        counters: Counters,
        now: DateTime<Utc>,
        attempt: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        self.limited_if(counters, now, attempt, |_| true).await
    }

    /// [`AppState::limited`] for attempts whose answer says whether they
    /// succeeded (`succeeded` judges an `Ok`).
    pub async fn limited_if<T>(
        &self,
        counters: Counters,
        now: DateTime<Utc>,
        attempt: impl Future<Output = Result<T, ApiError>>,
        succeeded: impl FnOnce(&T) -> bool,
    ) -> Result<T, ApiError> {
        let mut wait: Option<DateTime<Utc>> = None;
        for (key, rule) in &counters.keys {
            let window = chrono::Duration::from_std(rule.window)
                .map_err(|e| ApiError::Internal(e.into()))?;
            let counted = self.store.count_attempt(key, window, now).await?;
            if counted.count > rule.max {
                wait = wait.max(Some(counted.window_ends_at));
            }
        }
        if let Some(until) = wait {
            tracing::warn!(reason = ?counters.reason, "rate limit reached");
            return Err(ApiError::ResourceExhausted {
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
