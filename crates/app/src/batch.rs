//! The expiry batch, as `RunExpiryBatch` and `ent-identity expire` run it:
//! for each institution, each step of `domain::retention::BatchStep` in
//! order, a chunk of due accounts per transaction. Every write removes the
//! condition that selected it, so the batch is idempotent; a run killed
//! between chunks keeps what it committed and a new run finishes the rest.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::activation::end_of_local_day;
use domain::alumni::AlumniSettings;
use serde_json::json;
use store::secrets::{NewSecret, Purpose};

use crate::links::PortalLinkToken;

use domain::institution::InstitutionSettings;

use crate::Rules;
use crate::texts::mail;
use domain::account::AccountStatus;
use domain::language::Language;
use domain::retention::{
    AccountFacts, BatchStep, BatchTime, days_left, is_due, next_notice_on, next_password_reminder,
};
use store::batch_runs::{ALL_INSTITUTIONS, BatchCounts, BatchRun};
use store::feed::ChangeKind;
use store::lifecycle::{CandidateQuery, ChunkWrite, batch_audit, batch_change, lanes};
use store::outbox::{Channel, NewMessage};
use store::{AuditContext, Store, StoreError};

/// How far ahead of the service's clock `as_of` may be in a run that
/// changes things (the clocks of the batch's host and the service's differ
/// a little).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(1);

/// Planned actions a dry run reports at most (the counts cover all).
pub const MAX_PLANNED: usize = 1000;

/// What to run.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// The time the run acts as of: now, or an earlier instant to catch up
    /// on a missed day; a later one only in a dry run (a preview).
    pub as_of: DateTime<Utc>,
    /// When the run starts (the service's clock).
    pub started_at: DateTime<Utc>,
    pub dry_run: bool,
    /// One institution, or all configured.
    pub institution: Option<String>,
    pub chunk_size: u32,
    /// Stop after this many chunks; `None`: until done.
    pub max_chunks: Option<u32>,
}

/// One thing the batch did or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAction {
    pub account_id: String,
    pub login: String,
    pub step: BatchStep,
    pub detail: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Accounts handled (or, in a dry run, to handle) per step.
    pub counts: BatchCounts,
    pub planned: Vec<PlannedAction>,
    /// False when `max_chunks` stopped the run early.
    pub complete: bool,
    pub chunks: u32,
    /// The records past their retention the run deleted.
    pub forgotten: store::retention::Forgotten,
}

impl BatchReport {
    fn count(&mut self, step: BatchStep) {
        let c = &mut self.counts;
        let counter = match step {
            BatchStep::OpenActivation => &mut c.activations_opened,
            BatchStep::Limit => &mut c.accounts_limited,
            BatchStep::Expire => &mut c.accounts_expired,
            BatchStep::Notice => &mut c.notices_sent,
            BatchStep::PasswordReminder => &mut c.password_reminders_sent,
            BatchStep::PasswordExpire => &mut c.passwords_expired,
            BatchStep::Purge => &mut c.accounts_purged,
            BatchStep::AlumniOffer => &mut c.alumni_offers_sent,
            BatchStep::KeepAsAlumni => &mut c.accounts_kept_as_alumni,
        };
        *counter += 1;
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("no institution {0:?} is configured")]
    UnknownInstitution(String),
    /// A run that changes things cannot act ahead of time: it would close
    /// accounts before their day, and report as sent notices whose mail
    /// waits for that day.
    #[error("as_of is later than now: only a dry run previews a later date")]
    AheadOfTime,
    #[error("the system's random generator failed")]
    Random,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The facts the domain rules read, from a stored account.
pub fn facts(a: &Account) -> AccountFacts {
    AccountFacts {
        lifecycle: a.life_state(),
        locked: a.status == AccountStatus::Locked,
        activation_available_at: a.activation_available_at,
        end_of_activity: a.end_of_activity_date,
        retention_end: a.retention_end_date,
        next_notice_on: a.next_expiry_notice_on,
        password_expires_at: a.password_expires_at,
        password_must_change: a.password_must_change,
        next_password_reminder_at: a.next_password_reminder_at,
        expired_at: a.expired_at,
        ever_activated: a.activated_at.is_some(),
        alumni_terms: None,
        alumni: a.alumni,
    }
}

/// Runs the batch.
#[tracing::instrument(name = "expiry_batch", skip_all, fields(
    as_of = %request.as_of,
    dry_run = request.dry_run,
    institution = request.institution.as_deref().unwrap_or(ALL_INSTITUTIONS),
    request_id = %ctx.request_id,
))]
pub async fn run(
    store: &Store,
    rules: &Rules,
    request: &BatchRequest,
    ctx: &AuditContext,
) -> Result<BatchReport, BatchError> {
    let institutions: Vec<(&String, &InstitutionSettings)> = match &request.institution {
        Some(code) => {
            let (code, inst) = rules
                .institutions
                .get_key_value(code)
                .ok_or_else(|| BatchError::UnknownInstitution(code.clone()))?;
            vec![(code, inst)]
        }
        None => rules.institutions.iter().collect(),
    };
    let started_at = request.started_at;
    if !request.dry_run && request.as_of > started_at + CLOCK_SKEW {
        return Err(BatchError::AheadOfTime);
    }
    let mut report = BatchReport {
        complete: true,
        ..Default::default()
    };
    'run: for (code, institution) in institutions {
        let now = request.as_of;
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let pass = Pass {
            store,
            request,
            ctx,
            code,
            institution,
            time: BatchTime { now, today },
            alumni_requests_up_to: alumni_requests_up_to(institution, today),
            purge_after: chrono::Duration::from_std(institution.lifecycle.purge_after)
                .unwrap_or(chrono::Duration::MAX),
        };
        for (step, lane) in BatchStep::ALL
            .into_iter()
            .flat_map(|step| lanes(step).into_iter().map(move |lane| (step, lane)))
        {
            if !pass.run_lane_at_once(step, lane, &mut report).await? {
                report.complete = false;
                break 'run;
            }
        }
    }
    if report.complete && !request.dry_run {
        // Attempt counters whose window is long over count nothing.
        forget_stale_counters(store, rules, request).await?;
        report.forgotten = forget_old_records(store, rules, request).await?;
    }
    if !request.dry_run {
        record_run(store, request, ctx, &report, started_at).await?;
    }
    log_report(&report);
    Ok(report)
}

/// One institution's share of a run.
struct Pass<'a> {
    store: &'a Store,
    request: &'a BatchRequest,
    ctx: &'a AuditContext,
    code: &'a str,
    institution: &'a InstitutionSettings,
    time: BatchTime,
    purge_after: chrono::Duration,
    /// `CandidateQuery::alumni_requests_up_to`.
    alumni_requests_up_to: Vec<(String, NaiveDate)>,
}

/// The profiles that offer to keep former students' accounts, each with
/// the latest retention end whose request is due `today`.
fn alumni_requests_up_to(
    institution: &InstitutionSettings,
    today: NaiveDate,
) -> Vec<(String, NaiveDate)> {
    institution
        .profiles
        .iter()
        .filter_map(|(code, p)| {
            let days = chrono::Days::new(u64::from(p.alumni.as_ref()?.answer_within_days));
            Some((code.clone(), today.checked_add_days(days)?))
        })
        .collect()
}

impl Pass<'_> {
    /// Handles the due accounts of one step's lane with as many workers as
    /// the database writes in parallel (`Store::write_lanes`), each a chunk
    /// per transaction. The workers share the lane as two runs at once do:
    /// each locks its chunk's rows `FOR UPDATE SKIP LOCKED` and the others
    /// pass them by. The run otherwise waits on one chunk's statements at a
    /// time while the machine's other core idles (BENCHMARKS.md). A run
    /// stopped by `max_chunks`, or a dry run (which lists what it would do
    /// in order), has one worker. False when `max_chunks` stopped the run.
    async fn run_lane_at_once(
        &self,
        step: BatchStep,
        lane: store::lifecycle::Lane,
        report: &mut BatchReport,
    ) -> Result<bool, BatchError> {
        let workers = self.store.write_lanes();
        if workers < 2 || self.request.dry_run || self.request.max_chunks.is_some() {
            return self.run_lane(step, lane, report).await;
        }
        let runs = (0..workers).map(|_| async move {
            let mut share = BatchReport::default();
            let finished = self.run_lane(step, lane, &mut share).await;
            (finished, share)
        });
        let mut failure = None;
        for (finished, share) in futures::future::join_all(runs).await {
            report.counts.add(&share.counts);
            report.chunks += share.chunks;
            if let Err(error) = finished {
                failure.get_or_insert(error);
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(true),
        }
    }

    /// Handles the due accounts of one step's lane, a chunk per
    /// transaction; false when `max_chunks` stopped the run.
    async fn run_lane(
        &self,
        step: BatchStep,
        lane: store::lifecycle::Lane,
        report: &mut BatchReport,
    ) -> Result<bool, BatchError> {
        let (request, now) = (self.request, self.time.now);
        let mut after: Option<Account> = None;
        loop {
            if request.max_chunks.is_some_and(|max| report.chunks >= max) {
                return Ok(false);
            }
            let query = CandidateQuery {
                step,
                lane,
                institution: self.code,
                after: after.as_ref(),
                limit: u64::from(request.chunk_size.max(1)),
                now,
                today: self.time.today,
                purge_before: now.checked_sub_signed(self.purge_after).unwrap_or(now),
                alumni_requests_up_to: &self.alumni_requests_up_to,
                lock: !request.dry_run,
            };
            let write = self.store.begin_write().await?;
            let rows = self.store.batch_candidates(&write.txn, &query).await?;
            let Some(last) = rows.last() else {
                return Ok(true);
            };
            after = Some(last.clone());
            let sponsors = self.sponsors_to_tell(step, &rows).await?;
            let chunk = self.plan_chunk(step, &rows, &sponsors, report)?;
            report.chunks += 1;
            if request.dry_run {
                // Dropping the transaction rolls it back.
                continue;
            }
            self.store
                .apply_batch_chunk(&write.txn, step, chunk, now)
                .await?;
            write.commit().await?;
        }
    }

    /// The sponsors of the guests among `rows` whose expiry notice is due
    /// (the notice step only).
    async fn sponsors_to_tell(
        &self,
        step: BatchStep,
        rows: &[Account],
    ) -> Result<Sponsors, BatchError> {
        if step != BatchStep::Notice {
            return Ok(Sponsors::new());
        }
        let ids: Vec<String> = rows.iter().filter_map(|a| a.sponsor_id.clone()).collect();
        Ok(self
            .store
            .accounts_by_ids(&ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect())
    }

    /// The writes of the due accounts among `rows`, counted in `report`
    /// (and listed, in a dry run).
    fn plan_chunk(
        &self,
        step: BatchStep,
        rows: &[Account],
        sponsors: &Sponsors,
        report: &mut BatchReport,
    ) -> Result<ChunkWrite, BatchError> {
        let mut chunk = ChunkWrite::default();
        for row in rows {
            let mut f = facts(row);
            f.alumni_terms = self.alumni_of(row).map(AlumniSettings::terms);
            if !is_due(step, &f, self.time, self.purge_after) {
                continue;
            }
            let detail = self.plan(step, (row, &f), sponsors, &mut chunk)?;
            report.count(step);
            if self.request.dry_run && report.planned.len() < MAX_PLANNED {
                report.planned.push(PlannedAction {
                    account_id: row.id.clone(),
                    login: row.login.clone(),
                    step,
                    detail,
                });
            }
        }
        Ok(chunk)
    }

    /// The offer to keep former students' accounts of an account's profile.
    fn alumni_of(&self, a: &Account) -> Option<&AlumniSettings> {
        self.institution.profiles.get(&a.profile)?.alumni.as_ref()
    }

    /// Adds one account's share of a step to the chunk; returns the detail
    /// the report shows.
    fn plan(
        &self,
        step: BatchStep,
        (a, f): (&Account, &AccountFacts),
        sponsors: &Sponsors,
        chunk: &mut ChunkWrite,
    ) -> Result<String, BatchError> {
        let now = self.time.now;
        let (detail, kind, (action, details)) = match step {
            BatchStep::OpenActivation => (
                String::new(),
                Some(ChangeKind::ActivationOpened),
                ("account.activation_opened", json!({})),
            ),
            BatchStep::Limit => limited(a),
            BatchStep::KeepAsAlumni => kept_as_alumni(a, f, chunk),
            BatchStep::AlumniOffer => self.alumni_offer((a, f), chunk)?,
            BatchStep::Expire => (
                format!("retention ended {}", fmt_date(a.retention_end_date)),
                Some(ChangeKind::Expired),
                (
                    "account.expired",
                    json!({ "retention_end_date": fmt_date(a.retention_end_date) }),
                ),
            ),
            BatchStep::Notice => self.expiry_notice((a, f), sponsors, chunk),
            BatchStep::PasswordReminder => self.password_reminder(a, f, chunk),
            BatchStep::PasswordExpire => (
                String::new(),
                Some(ChangeKind::PasswordExpired),
                ("password.expired", json!({})),
            ),
            BatchStep::Purge => (
                String::new(),
                Some(ChangeKind::Purged),
                ("account.purged", json!({})),
            ),
        };
        chunk
            .audit
            .push(batch_audit(self.ctx, now, a, action, details));
        chunk.accounts.push((a.id.clone(), f.locked));
        if let Some(kind) = kind {
            chunk.feed.push(batch_change(a, kind));
        }
        Ok(detail)
    }

    /// The request to keep a former student's account past the end of
    /// its period, mailed with its link (`domain::alumni`).
    fn alumni_offer(
        &self,
        (a, f): (&Account, &AccountFacts),
        chunk: &mut ChunkWrite,
    ) -> Result<Planned, BatchError> {
        let (t, institution) = (self.time, self.institution);
        let (Some(offer), Some(end)) = (self.alumni_of(a), f.retention_end) else {
            return Err(BatchError::Store(StoreError::Corrupt(
                "an alumni offer planned without its settings".into(),
            )));
        };
        let until = offer.terms().kept_until(end);
        let link =
            PortalLinkToken::new(institution, ALUMNI_PAGE).map_err(|_| BatchError::Random)?;
        let content = mail::alumni_offer(&mail::AlumniOffer {
            institution: &institution.name,
            login: &a.login,
            services: &offer.services,
            renewal: f.lifecycle == AccountStatus::Alumni,
            period_end: end,
            kept_until: until,
            url: &link.url,
        });
        let sent = message(a, "alumni_offer", content, t.now, chunk);
        if sent {
            chunk.secrets.push(NewSecret {
                account_id: a.id.clone(),
                purpose: Purpose::AlumniOffer,
                hash: link.hash,
                target: a.notice_address().map(str::to_owned),
                flow_id: None,
                not_before: None,
                expires_at: end_of_local_day(end, institution.time_zone),
            });
        }
        let details = json!({ "period_end": end.to_string(), "kept_until": until.to_string(), "mailed": sent });
        Ok((
            format!("answer by {end}"),
            None,
            ("account.alumni_offer_sent", details),
        ))
    }

    /// The notice that the account will close (the notices the batch sends
    /// are in French, the institutions' language).
    fn expiry_notice(
        &self,
        (a, f): (&Account, &AccountFacts),
        sponsors: &Sponsors,
        chunk: &mut ChunkWrite,
    ) -> Planned {
        let (t, institution) = (self.time, self.institution);
        let end = f.retention_end.unwrap_or(t.today);
        let left = days_left(end, t.today);
        let next = next_notice_on(end, &institution.lifecycle.expiry_notice_days, t.today);
        chunk
            .next_notice_on
            .entry(next)
            .or_default()
            .push(a.id.clone());
        let renewable = institution
            .profiles
            .get(&a.profile)
            .is_some_and(|p| p.retention.extension_months.is_some());
        let content = mail::expiry_notice(
            &mail::ExpiryNotice {
                institution: &institution.name,
                login: &a.login,
                retention_end: end,
                days_left: left,
                extension_url: renewable.then_some(institution.portal_url.as_str()),
                helpdesk_url: &institution.helpdesk_url,
            },
            Language::French,
        );
        let sent = message(a, "expiry_notice", content, t.now, chunk);
        // A guest's sponsor hears too, and may renew the stay.
        if let Some(sponsor) = a.sponsor_id.as_ref().and_then(|id| sponsors.get(id)) {
            let content = mail::guest_expiry_notice(
                &mail::GuestExpiry {
                    institution: &institution.name,
                    guest: &format!("{} {}", a.given_name, a.family_name),
                    login: &a.login,
                    retention_end: end,
                    portal_url: &institution.portal_url,
                },
                Language::French,
            );
            message(sponsor, "guest_expiry_notice", content, t.now, chunk);
        }
        (
            format!("{left} days left"),
            None,
            (
                "account.expiry_notice",
                json!({ "days_left": left, "retention_end_date": end.to_string(), "mailed": sent }),
            ),
        )
    }

    /// The reminder that a password will expire.
    fn password_reminder(&self, a: &Account, f: &AccountFacts, chunk: &mut ChunkWrite) -> Planned {
        let (now, institution) = (self.time.now, self.institution);
        let expires = f.password_expires_at.unwrap_or(now);
        let next =
            next_password_reminder(expires, &institution.lifecycle.password_reminder_days, now);
        chunk
            .next_reminder_at
            .entry(next)
            .or_default()
            .push(a.id.clone());
        let content = mail::password_expiry_reminder(
            &institution.name,
            &a.login,
            expires,
            institution.time_zone,
            &institution.portal_url,
            Language::French,
        );
        let sent = message(a, "password_expiry_reminder", content, now, chunk);
        (
            format!("expires {}", expires.to_rfc3339()),
            None,
            (
                "password.expiry_reminder",
                json!({ "expires_at": expires.to_rfc3339(), "mailed": sent }),
            ),
        )
    }
}

/// What one account's step shows in a report, the change it makes in the
/// feed, and its audit action and details.
type Planned = (
    String,
    Option<ChangeKind>,
    (&'static str, serde_json::Value),
);

/// The portal page a request's link opens.
pub const ALUMNI_PAGE: &str = "alumni";

/// A former student who said "yes" keeps the account for another period:
/// from the limited state, a former student's account; a kept one renewed.
fn kept_as_alumni(a: &Account, f: &AccountFacts, chunk: &mut ChunkWrite) -> Planned {
    let end = f.retention_end.unwrap_or(NaiveDate::MIN);
    let until = f.alumni_terms.map_or(end, |terms| terms.kept_until(end));
    let renewal = f.lifecycle == AccountStatus::Alumni;
    let kind = if renewal {
        chunk.renewed.entry(until).or_default().push(a.id.clone());
        ChangeKind::Extended
    } else {
        let locked = (a.id.clone(), f.locked);
        chunk.kept.entry(until).or_default().push(locked);
        ChangeKind::KeptAsAlumni
    };
    let details = json!({ "period_end": end.to_string(), "kept_until": until.to_string(), "renewal": renewal });
    (
        format!("kept until {until}"),
        Some(kind),
        ("account.kept_as_alumni", details),
    )
}

/// An account moved to its limited state after departure.
fn limited(a: &Account) -> Planned {
    let detail = format!(
        "last day {}; kept until {}",
        fmt_date(a.end_of_activity_date),
        fmt_date(a.retention_end_date)
    );
    let details = json!({
        "end_of_activity_date": fmt_date(a.end_of_activity_date),
        "retention_end_date": fmt_date(a.retention_end_date),
    });
    (
        detail,
        Some(ChangeKind::Limited),
        ("account.limited", details),
    )
}

/// Deletes the attempt counters whose window ended before the run's
/// instant.
async fn forget_stale_counters(
    store: &Store,
    rules: &Rules,
    request: &BatchRequest,
) -> Result<(), BatchError> {
    let window =
        chrono::Duration::from_std(rules.longest_counter_window()).unwrap_or(chrono::Duration::MAX);
    if let Some(before) = request.as_of.checked_sub_signed(window) {
        let deleted = store.delete_stale_counters(before).await?;
        let guesses = store.delete_stale_guess_counters(before).await?;
        tracing::info!(deleted, guesses, "stale attempt counters deleted");
    }
    Ok(())
}

/// Forgets the records past the time `[retention]` keeps them.
async fn forget_old_records(
    store: &Store,
    rules: &Rules,
    request: &BatchRequest,
) -> Result<store::retention::Forgotten, BatchError> {
    let keep = &rules.retention;
    let before = |kept: std::time::Duration| {
        let kept = chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
        request
            .as_of
            .checked_sub_signed(kept)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    let forgotten = store
        .forget_old_records(store::retention::Cutoffs {
            audit_events: before(keep.audit_events),
            sent_messages: before(keep.sent_messages),
            finished_flows: before(keep.finished_flows),
            feed_entries: before(keep.feed_entries),
            feed_readers_since: before(keep.feed_reader_silence),
            decided_requests: before(keep.decided_requests),
        })
        .await?;
    tracing::info!(?forgotten, "records past their retention forgotten");
    for (reader, cursor) in &forgotten.feed.behind {
        tracing::warn!(
            reader,
            cursor,
            kept = forgotten.feed.kept_for_readers,
            "a reader of the feed has not read changes past their retention: they are kept for it"
        );
    }
    Ok(forgotten)
}

/// Records the run for the metrics. Wall-clock times: when the run really
/// happened, whatever instant it ran as.
async fn record_run(
    store: &Store,
    request: &BatchRequest,
    ctx: &AuditContext,
    report: &BatchReport,
    started_at: DateTime<Utc>,
) -> Result<(), BatchError> {
    let run = BatchRun {
        scope: request
            .institution
            .clone()
            .unwrap_or_else(|| ALL_INSTITUTIONS.to_owned()),
        as_of: request.as_of,
        started_at,
        finished_at: Utc::now(),
        complete: report.complete,
        chunks: report.chunks,
        counts: report.counts,
    };
    store.record_batch_run(ctx, &run).await?;
    Ok(())
}

fn log_report(report: &BatchReport) {
    let c = &report.counts;
    tracing::info!(
        complete = report.complete,
        chunks = report.chunks,
        activations_opened = c.activations_opened,
        accounts_limited = c.accounts_limited,
        accounts_expired = c.accounts_expired,
        notices_sent = c.notices_sent,
        password_reminders_sent = c.password_reminders_sent,
        passwords_expired = c.passwords_expired,
        accounts_purged = c.accounts_purged,
        alumni_offers_sent = c.alumni_offers_sent,
        accounts_kept_as_alumni = c.accounts_kept_as_alumni,
        "expiry batch finished"
    );
}

/// Queues a notice for an account, if it has somewhere to receive it.
fn message(
    a: &Account,
    template: &str,
    content: store::outbox::Content,
    now: DateTime<Utc>,
    chunk: &mut ChunkWrite,
) -> bool {
    let Some(recipient) = a.notice_address().map(str::to_owned) else {
        return false;
    };
    chunk.messages.push(NewMessage {
        account_id: Some(a.id.clone()),
        channel: Channel::Mail,
        recipient,
        template: template.to_owned(),
        content,
        not_before: now,
    });
    true
}

/// Guests' sponsors, by account id.
type Sponsors = std::collections::HashMap<String, Account>;

fn fmt_date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}
