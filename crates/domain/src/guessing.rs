//! The defence against guessing a secret (activation keys, provisional
//! passwords, identity details, codes, current passwords): a few wrong
//! answers are free, then each one makes the next wait twice as long, up to
//! a ceiling. Nothing the person holds is destroyed by someone else's wrong
//! guesses: the right answer still works once the wait is over.
//!
//! Attempts are *reserved* before they are judged (so that concurrent
//! guesses, on any replica, cannot slip past the limit) and *settled* once
//! judged: a right answer gives its reservation back without counting, a
//! wrong one becomes a failure. When every allowed attempt is reserved by
//! calls still being judged, a new attempt waits for them rather than being
//! refused: they may well be right, and then it is judged too.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How one counter (an account, an address, a typed identifier) is
/// defended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessPolicy {
    /// Wrong answers allowed without any wait.
    pub free: u32,
    /// The wait after the first failure past the free ones; doubled by each
    /// further failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget_after: Duration,
}

/// The waits of [`GuessPolicy`] (configuration: `rate_limits.guess_delays`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuessDelays {
    #[serde(with = "formats::duration")]
    pub first: Duration,
    #[serde(with = "formats::duration")]
    pub max: Duration,
}

impl Default for GuessDelays {
    fn default() -> Self {
        GuessDelays {
            first: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
        }
    }
}

/// A counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuessRecord {
    pub failures: u32,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Attempts reserved and not yet settled.
    pub pending: u32,
    /// Reservations older than this were lost (a process that died while
    /// judging) and no longer hold a place.
    pub pending_until: Option<DateTime<Utc>>,
}

/// What to do with a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Judge it (after reserving its place).
    Judge,
    /// Every allowed attempt is being judged: ask again shortly.
    WaitForPending,
    /// Too many failures: not judged before `retry_at`.
    Refuse { retry_at: DateTime<Utc> },
}

/// How long a reservation holds its place without being settled.
pub const RESERVATION_LEASE: Duration = Duration::from_secs(60);

impl GuessRecord {
    /// The counter as it stands at `now`: failures forgotten after a quiet
    /// `forget_after`, lost reservations dropped.
    pub fn at(self, policy: &GuessPolicy, now: DateTime<Utc>) -> GuessRecord {
        let forgotten = self
            .last_failure_at
            .is_none_or(|last| now - last >= to_chrono(policy.forget_after));
        let lost = self.pending_until.is_none_or(|until| until <= now);
        GuessRecord {
            failures: if forgotten { 0 } else { self.failures },
            last_failure_at: if forgotten {
                None
            } else {
                self.last_failure_at
            },
            pending: if lost { 0 } else { self.pending },
            pending_until: if lost { None } else { self.pending_until },
        }
    }

    /// Whether an attempt may be judged now.
    pub fn admit(self, policy: &GuessPolicy, now: DateTime<Utc>) -> Admission {
        let current = self.at(policy, now);
        if current.failures.saturating_add(current.pending) < policy.free {
            return Admission::Judge;
        }
        if current.pending > 0 {
            return Admission::WaitForPending;
        }
        let retry_at = current.last_failure_at.map_or(now, |last| {
            last + to_chrono(wait_after(policy, current.failures))
        });
        if retry_at <= now {
            Admission::Judge
        } else {
            Admission::Refuse { retry_at }
        }
    }

    /// The counter once an attempt is reserved.
    pub fn reserved(self, policy: &GuessPolicy, now: DateTime<Utc>) -> GuessRecord {
        let current = self.at(policy, now);
        GuessRecord {
            pending: current.pending.saturating_add(1),
            pending_until: Some(now + to_chrono(RESERVATION_LEASE)),
            ..current
        }
    }

    /// The counter once a reserved attempt is judged: right, its place is
    /// given back; wrong, it is a failure.
    pub fn settled(self, policy: &GuessPolicy, right: bool, now: DateTime<Utc>) -> GuessRecord {
        let current = self.at(policy, now);
        let pending = current.pending.saturating_sub(1);
        let pending_until = current.pending_until.filter(|_| pending > 0);
        if right {
            return GuessRecord {
                pending,
                pending_until,
                ..current
            };
        }
        GuessRecord {
            failures: current.failures.saturating_add(1),
            last_failure_at: Some(now),
            pending,
            pending_until,
        }
    }
}

/// The wait before the next attempt after `failures` wrong ones: none while
/// they are free, then `first_delay`, doubling, up to `max_delay`.
pub fn wait_after(policy: &GuessPolicy, failures: u32) -> Duration {
    if failures < policy.free {
        return Duration::ZERO;
    }
    let doublings = failures - policy.free;
    let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
    policy
        .first_delay
        .checked_mul(factor)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay)
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> GuessPolicy {
        GuessPolicy {
            free: 3,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(3600),
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap()
    }

    fn fail(record: GuessRecord, now: DateTime<Utc>) -> GuessRecord {
        record
            .reserved(&policy(), now)
            .settled(&policy(), false, now)
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_ceiling() {
        let p = policy();
        let waits: Vec<u64> = (0..12).map(|f| wait_after(&p, f).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(wait_after(&p, u32::MAX), p.max_delay);
    }

    #[test]
    fn failures_past_the_free_ones_make_the_next_attempt_wait() {
        let p = policy();
        let mut record = GuessRecord::default();
        for _ in 0..3 {
            assert_eq!(record.admit(&p, t0()), Admission::Judge);
            record = fail(record, t0());
        }
        let retry_at = t0() + chrono::Duration::seconds(1);
        assert_eq!(record.admit(&p, t0()), Admission::Refuse { retry_at });
        assert_eq!(record.admit(&p, retry_at), Admission::Judge);
        record = fail(record, retry_at);
        assert_eq!(
            record.admit(&p, retry_at),
            Admission::Refuse {
                retry_at: retry_at + chrono::Duration::seconds(2)
            }
        );
    }

    #[test]
    fn right_answers_never_count_and_pending_ones_make_others_wait() {
        let p = policy();
        let mut record = GuessRecord::default();
        for _ in 0..3 {
            record = record.reserved(&p, t0());
        }
        // Three being judged: a fourth waits instead of being refused.
        assert_eq!(record.admit(&p, t0()), Admission::WaitForPending);
        for _ in 0..3 {
            record = record.settled(&p, true, t0());
        }
        assert_eq!(record, GuessRecord::default());
        assert_eq!(record.admit(&p, t0()), Admission::Judge);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_while_and_lost_reservations_expire() {
        let p = policy();
        let mut record = GuessRecord::default();
        for _ in 0..5 {
            record = fail(record, t0());
        }
        let later = t0() + chrono::Duration::hours(1);
        assert_eq!(record.admit(&p, later), Admission::Judge);
        let stuck = GuessRecord::default()
            .reserved(&p, t0())
            .reserved(&p, t0())
            .reserved(&p, t0());
        assert_eq!(stuck.admit(&p, t0()), Admission::WaitForPending);
        let after_lease = t0() + to_chrono(RESERVATION_LEASE);
        assert_eq!(stuck.admit(&p, after_lease), Admission::Judge);
    }
}
