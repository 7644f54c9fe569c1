//! Rate limits on guessable secrets and on requests that mail one, per
//! account and per end-user address, counted in the database (every
//! replica shares them). Guesses follow `domain::guessing`: a few wrong
//! ones are free, then each doubles the wait before the next; a right one
//! never counts, even among many at once. Requests that mail something
//! count in fixed windows, each one.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::guessing::{GuessDelays, GuessPolicy};
use serde::{Deserialize, Serialize};
use store::limits::{Reservation, counter_key};

use crate::error::{AppError, Exhausted};
use crate::{App, CallContext};

/// At most `max` events per `window`, the window starting at the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    pub max: u32,
    #[serde(with = "formats::duration")]
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
    /// Calls of one desk agent (`HelpdeskService`: lookups, reset links,
    /// new recovery addresses, activation material),
    /// every one counted: a desk serves the people in front of it, not a
    /// listing of the directory.
    pub desk_requests_per_agent: RateRule,
    /// Calls of one helpdesk client, whatever agents it names: agents are
    /// the client's word, and a client inventing names must not multiply
    /// its limit.
    pub desk_requests_per_client: RateRule,
    /// Networks whose addresses are not limited as addresses (a campus NAT
    /// or eduroam's egress, where thousands share one address); accounts
    /// behind them stay limited. IPv6 networks of /64 or shorter.
    #[serde(default)]
    pub exempt_networks: Vec<ipnet::IpNet>,
    /// The waits once a guess counter's free failures are used: the first,
    /// doubled by each further failure up to the longest.
    #[serde(default)]
    pub guess_delays: GuessDelays,
}

impl RateLimitSettings {
    /// Every rule, with its key.
    pub fn rules(&self) -> [(&'static str, RateRule); 7] {
        [
            ("guesses_per_account", self.guesses_per_account),
            ("guesses_per_address", self.guesses_per_address),
            ("mail_requests_per_account", self.mail_requests_per_account),
            ("mail_requests_per_address", self.mail_requests_per_address),
            ("login_lookups_per_address", self.login_lookups_per_address),
            ("desk_requests_per_agent", self.desk_requests_per_agent),
            ("desk_requests_per_client", self.desk_requests_per_client),
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

    /// A desk agent's call: counted for the agent `client` names, and for
    /// the client itself.
    pub fn desk_requests(state: &App, client: &str, agent: &str) -> Counters {
        let limits = &state.rules.rate_limits;
        Counters {
            reason: Exhausted::TooManyRequests,
            forgivable: false,
            keys: vec![
                (
                    counter_key("desk_requests", &["agent", client, agent]),
                    limits.desk_requests_per_agent,
                ),
                (
                    counter_key("desk_requests", &["client", client]),
                    limits.desk_requests_per_client,
                ),
            ],
        }
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

/// How long a call waits, at most, for attempts being judged to settle.
const WAIT_FOR_PENDING: Duration = Duration::from_secs(10);
/// How often it looks again meanwhile.
const PENDING_POLL: Duration = Duration::from_millis(20);

impl Counters {
    /// Each counter with its defence against guessing.
    fn guess_policies(&self, delays: GuessDelays) -> Vec<(String, GuessPolicy)> {
        self.keys
            .iter()
            .map(|(key, rule)| {
                let policy = GuessPolicy {
                    free: rule.max,
                    first_delay: delays.first,
                    max_delay: delays.max,
                    forget_after: rule.window,
                };
                (key.clone(), policy)
            })
            .collect()
    }
}

impl App {
    /// Runs `attempt` if the counters allow it now. Guesses are reserved
    /// before they are judged and count only when wrong (an `Err`);
    /// requests that mail something count whatever happens.
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
        if !counters.forgivable {
            self.count_request(&counters, now).await?;
            return attempt.await;
        }
        let keys = counters.guess_policies(self.rules.rate_limits.guess_delays);
        self.reserve_guess(&keys, counters.reason, now).await?;
        let result = attempt.await;
        // A failure of ours says nothing of the secret typed; a refusal of
        // the account's state (already active, not open yet, a code sent
        // moments ago) comes once the secret was found right.
        let right = match &result {
            Ok(value) => succeeded(value),
            Err(
                AppError::Internal(_)
                | AppError::FailedPrecondition { .. }
                | AppError::NotOpenYet { .. }
                | AppError::ResourceExhausted { .. },
            ) => true,
            Err(_) => false,
        };
        self.store.settle_guess(&keys, right, now).await?;
        result
    }

    /// Reserves a guess, waiting while every allowed attempt is being
    /// judged (they may be right: then this one is judged too).
    async fn reserve_guess(
        &self,
        keys: &[(String, GuessPolicy)],
        reason: Exhausted,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let started = std::time::Instant::now();
        loop {
            match self.store.reserve_guess(keys, now).await? {
                Reservation::Granted => return Ok(()),
                Reservation::Refused { retry_at } => {
                    tracing::warn!(?reason, "guessing limit reached");
                    return Err(AppError::ResourceExhausted {
                        reason,
                        retry_after: (retry_at - now).to_std().unwrap_or_default(),
                    });
                }
                Reservation::Wait if started.elapsed() < WAIT_FOR_PENDING => {
                    tokio::time::sleep(PENDING_POLL).await;
                }
                Reservation::Wait => {
                    return Err(AppError::ResourceExhausted {
                        reason: Exhausted::Busy,
                        retry_after: Duration::from_secs(1),
                    });
                }
            }
        }
    }

    /// Counts a request that mails something against fixed windows.
    async fn count_request(&self, counters: &Counters, now: DateTime<Utc>) -> Result<(), AppError> {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::testing::{TestApp, call_from, test_app};

    /// A wrong secret.
    async fn wrong() -> Result<(), AppError> {
        Err(AppError::NotFound("wrong key".into()))
    }

    async fn guess(t: &TestApp, ctx: &CallContext, account: &str) -> Result<(), AppError> {
        let counters = Counters::guesses(&t.app, ctx, Some(&[account]));
        t.app.limited(counters, t.app.now(), wrong()).await
    }

    fn exhausted(result: &Result<(), AppError>) -> Option<(Exhausted, Duration)> {
        match result {
            Err(AppError::ResourceExhausted {
                reason,
                retry_after,
            }) => Some((*reason, *retry_after)),
            _ => None,
        }
    }

    #[tokio::test]
    async fn wrong_guesses_past_the_free_ones_wait_longer_each_time() {
        let t = test_app().await;
        let ctx = call_from(None);
        let rule = t.app.rules.rate_limits.guesses_per_account;
        for _ in 0..rule.max {
            assert!(exhausted(&guess(&t, &ctx, "account-1").await).is_none());
        }
        // Past the limit the attempt is not even judged.
        let judged = AtomicBool::new(false);
        let counters = Counters::guesses(&t.app, &ctx, Some(&["account-1"]));
        let refused = t
            .app
            .limited(counters, t.app.now(), async {
                judged.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await;
        let (reason, wait) = exhausted(&refused).expect("refused");
        assert_eq!(reason, Exhausted::TooManyGuesses);
        let delays = t.app.rules.rate_limits.guess_delays;
        assert_eq!(wait, delays.first);
        assert!(!judged.load(Ordering::SeqCst));
        // Once the wait is over one more guess is judged; wrong, it doubles
        // the next wait.
        t.clock
            .advance(chrono::Duration::from_std(delays.first).unwrap());
        assert!(exhausted(&guess(&t, &ctx, "account-1").await).is_none());
        let (_, doubled) = exhausted(&guess(&t, &ctx, "account-1").await).expect("refused");
        assert_eq!(doubled, delays.first * 2);
        // Another account is not held back by this one.
        assert!(exhausted(&guess(&t, &ctx, "account-2").await).is_none());
        // A quiet window later, failures are forgotten.
        t.clock.advance(
            chrono::Duration::from_std(rule.window).unwrap() + chrono::Duration::seconds(1),
        );
        assert!(exhausted(&guess(&t, &ctx, "account-1").await).is_none());
    }

    #[tokio::test]
    async fn only_wrong_guesses_add_up() {
        let t = test_app().await;
        let ctx = call_from(Some("198.51.100.7"));
        let max = t.app.rules.rate_limits.guesses_per_account.max;
        let right = || async {
            let counters = Counters::guesses(&t.app, &ctx, Some(&["account-1"]));
            t.app.limited(counters, t.app.now(), async { Ok(()) }).await
        };
        for _ in 0..max - 1 {
            guess(&t, &ctx, "account-1").await.unwrap_err();
            right().await.expect("the right secret, judged");
        }
        // Right secrets took nothing from the allowance: one wrong guess is
        // left, then none.
        assert!(exhausted(&guess(&t, &ctx, "account-1").await).is_none());
        assert!(exhausted(&guess(&t, &ctx, "account-1").await).is_some());
    }

    #[tokio::test]
    async fn requests_that_mail_count_even_when_they_succeed() {
        let t = test_app().await;
        let ctx = call_from(Some("198.51.100.7"));
        let max = t.app.rules.rate_limits.mail_requests_per_account.max;
        let request = || async {
            let counters = Counters::mail_requests(&t.app, &ctx, &["22012345"]);
            t.app.limited(counters, t.app.now(), async { Ok(()) }).await
        };
        for _ in 0..max {
            request().await.expect("sent");
        }
        let (reason, _) = exhausted(&request().await).expect("refused");
        assert_eq!(reason, Exhausted::TooManyRequests);
    }

    #[tokio::test]
    async fn exempt_networks_are_not_limited_as_addresses_but_their_accounts_are() {
        let mut t = test_app().await;
        let mut rules = (*t.app.rules).clone();
        rules.rate_limits.guesses_per_address.max = 3;
        rules.rate_limits.exempt_networks = vec!["192.0.2.0/24".parse().unwrap()];
        t.app.rules = Arc::new(rules);
        let campus = call_from(Some("192.0.2.7"));
        let outside = call_from(Some("198.51.100.7"));
        for n in 0..5 {
            let account = format!("campus-{n}");
            assert!(exhausted(&guess(&t, &campus, &account).await).is_none());
        }
        for n in 0..3 {
            let account = format!("outside-{n}");
            assert!(exhausted(&guess(&t, &outside, &account).await).is_none());
        }
        let (reason, _) = exhausted(&guess(&t, &outside, "outside-9").await).expect("refused");
        assert_eq!(reason, Exhausted::TooManyGuesses);
        // Behind the campus address, one account is still limited.
        let max = t.app.rules.rate_limits.guesses_per_account.max;
        for _ in 0..max {
            guess(&t, &campus, "campus-0").await.unwrap_err();
        }
        assert!(exhausted(&guess(&t, &campus, "campus-0").await).is_some());
    }
}
