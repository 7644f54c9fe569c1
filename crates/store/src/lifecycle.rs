//! After people leave: extension requests and the expiry batch's reads and
//! writes. The batch reads a step's candidates one stored status (a lane) at
//! a time, a chunk at a time, in the order of that step's index
//! `(institution, status, date, id)`: each chunk is one index range, however
//! many accounts or departed tombstones the table holds. On PostgreSQL the
//! rows are locked `FOR UPDATE SKIP LOCKED`: two runs at once share the work
//! and never handle the same account twice; every step's condition no
//! longer holds once its write commits, so a second run finds nothing.

use crate::AuditEntry;
use crate::account_fields::account_of;
use domain::account::Account;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait,
};
use serde_json::json;

use super::entities::{
    account, account_profile, activation_flow, audit_event, extension_request, guest_invitation,
    held_record, one_time_secret, outbox, password_history,
};
use super::feed::{ChangeKind, PendingChange, append_changes_known, snapshot_of};
use super::outbox::{NewMessage, enqueue_all};
use super::secrets::{NewSecret, Purpose, SecretScope, revoke_live};
use super::self_service::{AccountWrite, AccountWriteError, apply_account_write};
use super::{AuditContext, DatabaseKind, Store, StoreError, audit_row, insert_rows, new_id};
use domain::account::AccountStatus;
use domain::retention::BatchStep;

/// State of an extension request, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionState {
    Pending,
    Approved,
    Denied,
}

impl ExtensionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionState::Pending => "pending",
            ExtensionState::Approved => "approved",
            ExtensionState::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<ExtensionState> {
        Some(match text {
            "pending" => ExtensionState::Pending,
            "approved" => ExtensionState::Approved,
            "denied" => ExtensionState::Denied,
            _ => return None,
        })
    }
}

/// Why an extension request was refused by the store.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    /// The account already has a request waiting for a decision.
    #[error("a request is already pending")]
    AlreadyPending,
    /// The request was decided already.
    #[error("the request was decided already")]
    AlreadyDecided,
    #[error(transparent)]
    Write(#[from] AccountWriteError),
}

impl From<StoreError> for ExtensionError {
    fn from(e: StoreError) -> Self {
        ExtensionError::Write(AccountWriteError::Store(e))
    }
}

impl From<sea_orm::DbErr> for ExtensionError {
    fn from(e: sea_orm::DbErr) -> Self {
        ExtensionError::Write(e.into())
    }
}

/// A new extension request, granted at once when `grant` is given (by
/// policy: the account write moves the retention end).
pub struct NewExtension<'a> {
    pub account: &'a Account,
    pub reason: String,
    pub grant: Option<AccountWrite<'a>>,
    /// Retention end after the grant, recorded on the request.
    pub new_end: Option<NaiveDate>,
}

/// A decision on a pending request; `write` moves the retention end
/// (approval) or only records the decision and tells the person.
pub struct ExtensionDecision<'a> {
    pub request: &'a extension_request::Model,
    pub approve: bool,
    pub decided_by: String,
    pub comment: String,
    pub new_end: Option<NaiveDate>,
    pub write: AccountWrite<'a>,
}

/// One page of extension requests, oldest first, after the
/// `(requested_at, id)` key of the previous page.
pub struct ExtensionQuery<'a> {
    pub institution: &'a str,
    pub state: ExtensionState,
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

/// Where a step looks for candidates: accounts stored in one status, or
/// locked accounts whose hidden state is one the step applies to. Lanes
/// keep each chunk a range of the step's index, whose second column is the
/// status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Status(AccountStatus),
    Locked(&'static [AccountStatus]),
}

/// The lanes of one step, from the states the domain says it applies to.
pub fn lanes(step: BatchStep) -> Vec<Lane> {
    let (states, under_lock) = step.applies_to();
    let mut lanes: Vec<Lane> = states.iter().map(|s| Lane::Status(*s)).collect();
    if under_lock {
        lanes.push(Lane::Locked(states));
    }
    lanes
}

/// Candidates of one batch step in one lane, one chunk.
#[derive(Debug, Clone)]
pub struct CandidateQuery<'a> {
    pub step: BatchStep,
    pub lane: Lane,
    pub institution: &'a str,
    /// Only accounts after this one in the step's order (the previous
    /// chunk's last).
    pub after: Option<&'a Account>,
    pub limit: u64,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    /// Accounts expired before this instant are purged.
    pub purge_before: DateTime<Utc>,
    /// The profiles that offer to keep former students' accounts, each
    /// with the latest retention end whose request is due today.
    pub alumni_requests_up_to: &'a [(String, NaiveDate)],
    /// Lock the rows (a real run); a dry run only reads.
    pub lock: bool,
}

/// What one chunk of a batch step writes.
#[derive(Debug, Default)]
pub struct ChunkWrite {
    /// Accounts the step applies to, and whether each is locked (a locked
    /// account's hidden state changes; the lock stays).
    pub accounts: Vec<(String, bool)>,
    /// Notices and reminders: each account's next due date or instant.
    pub next_notice_on: BTreeMap<Option<NaiveDate>, Vec<String>>,
    pub next_reminder_at: BTreeMap<Option<DateTime<Utc>>, Vec<String>>,
    pub messages: Vec<NewMessage>,
    /// Links the messages carry (requests to keep a former student's
    /// account): they replace the accounts' earlier ones.
    pub secrets: Vec<NewSecret>,
    /// Former students' accounts kept from their limited state, by the end
    /// of their new period, each with whether it is locked.
    pub kept: BTreeMap<NaiveDate, Vec<(String, bool)>>,
    /// Former students' kept accounts renewed, by the end of their new
    /// period.
    pub renewed: BTreeMap<NaiveDate, Vec<String>>,
    /// Audit rows (built by `audit_row`).
    pub audit: Vec<audit_event::ActiveModel>,
    pub feed: Vec<PendingChange>,
}

type AccountUpdate = sea_orm::UpdateMany<account::Entity>;

/// An update of these accounts, stamped `now`.
fn touch(ids: Vec<String>, now: DateTime<Utc>) -> AccountUpdate {
    account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.is_in(ids))
}

/// Moves the chunk's accounts to `status`, with the step's other columns
/// (`more`). A locked account's life goes on under the lock: its hidden
/// state moves, the lock stays.
async fn move_state(
    txn: &DatabaseTransaction,
    accounts: &[(String, bool)],
    status: AccountStatus,
    more: impl Fn(AccountUpdate) -> AccountUpdate,
    (now, rows): (DateTime<Utc>, &mut Written),
) -> Result<(), StoreError> {
    for hidden in [false, true] {
        let ids: Vec<String> = accounts
            .iter()
            .filter(|(_, locked)| *locked == hidden)
            .map(|(id, _)| id.clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let update = if hidden {
            touch(ids, now).col_expr(
                account::Column::StatusBeforeLock,
                Expr::value(status.as_str()),
            )
        } else {
            touch(ids, now)
                .col_expr(account::Column::Status, Expr::value(status.as_str()))
                .col_expr(account::Column::StatusChangedAt, Expr::value(now))
        };
        rows.extend(more(update).exec_with_returning(txn).await?)?;
    }
    Ok(())
}

/// The chunk's account rows as its updates left them (`RETURNING`), for
/// the feed's snapshots: a later update of the same row replaces its
/// earlier one.
#[derive(Default)]
struct Written(HashMap<String, String>);

impl Written {
    fn extend(&mut self, rows: Vec<account::Model>) -> Result<(), StoreError> {
        for row in rows {
            let json = snapshot_of(&row)?;
            self.0.insert(row.id, json);
        }
        Ok(())
    }
}

/// Each group of accounts gets its next notice or reminder date.
async fn set_next<V: Into<sea_orm::Value>>(
    txn: &DatabaseTransaction,
    groups: BTreeMap<V, Vec<String>>,
    column: account::Column,
    (now, rows): (DateTime<Utc>, &mut Written),
) -> Result<(), StoreError> {
    for (next, ids) in groups {
        let updated = touch(ids, now)
            .col_expr(column, Expr::value(next))
            .exec_with_returning(txn)
            .await?;
        rows.extend(updated)?;
    }
    Ok(())
}

/// Access removed: the accounts expire, their notices and reminders stop,
/// and their outstanding links and keys die.
async fn expire(
    txn: &DatabaseTransaction,
    accounts: &[(String, bool)],
    (now, rows): (DateTime<Utc>, &mut Written),
) -> Result<(), StoreError> {
    let expired = |u: AccountUpdate| {
        u.col_expr(account::Column::ExpiredAt, Expr::value(now))
            .col_expr(
                account::Column::NextExpiryNoticeOn,
                Expr::value(Option::<NaiveDate>::None),
            )
            .col_expr(
                account::Column::NextPasswordReminderAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
    };
    move_state(txn, accounts, AccountStatus::Expired, expired, (now, rows)).await?;
    let all: Vec<String> = accounts.iter().map(|(id, _)| id.clone()).collect();
    revoke_every_secret(txn, &all, now).await
}

/// Former students who said "yes": accounts leaving their limited state
/// become former students' accounts, kept ones get another period; the
/// retention end moves to the end of the new period.
async fn keep_as_alumni(
    txn: &DatabaseTransaction,
    chunk: &mut ChunkWrite,
    (now, rows): (DateTime<Utc>, &mut Written),
) -> Result<(), StoreError> {
    for (until, accounts) in std::mem::take(&mut chunk.kept) {
        let new_end =
            |u: AccountUpdate| u.col_expr(account::Column::RetentionEndDate, Expr::value(until));
        move_state(
            txn,
            &accounts,
            AccountStatus::Alumni,
            new_end,
            (now, &mut *rows),
        )
        .await?;
    }
    let renewed = std::mem::take(&mut chunk.renewed);
    set_next(txn, renewed, account::Column::RetentionEndDate, (now, rows)).await
}

/// What a step changes on the chunk's accounts.
async fn update_chunk_accounts(
    txn: &DatabaseTransaction,
    step: BatchStep,
    chunk: &mut ChunkWrite,
    now: DateTime<Utc>,
) -> Result<Written, StoreError> {
    let mut rows = Written::default();
    let all: Vec<String> = chunk.accounts.iter().map(|(id, _)| id.clone()).collect();
    let plain: Vec<String> = chunk
        .accounts
        .iter()
        .filter(|(_, locked)| !locked)
        .map(|(id, _)| id.clone())
        .collect();
    match step {
        BatchStep::OpenActivation => {
            let opened = touch(plain, now)
                .col_expr(
                    account::Column::Status,
                    Expr::value(AccountStatus::Created.as_str()),
                )
                // It opened then, not when the batch noticed.
                .col_expr(
                    account::Column::StatusChangedAt,
                    Expr::col(account::Column::ActivationAvailableAt),
                )
                .exec_with_returning(txn)
                .await?;
            rows.extend(opened)?;
        }
        BatchStep::Limit => {
            move_state(
                txn,
                &chunk.accounts,
                AccountStatus::Grace,
                |u| u,
                (now, &mut rows),
            )
            .await?;
        }
        BatchStep::KeepAsAlumni => keep_as_alumni(txn, chunk, (now, &mut rows)).await?,
        BatchStep::Expire => expire(txn, &chunk.accounts, (now, &mut rows)).await?,
        BatchStep::AlumniOffer => {
            let asked = touch(all, now)
                .col_expr(
                    account::Column::AlumniAskedFor,
                    Expr::col(account::Column::RetentionEndDate),
                )
                .exec_with_returning(txn)
                .await?;
            rows.extend(asked)?;
        }
        BatchStep::Notice => {
            let groups = std::mem::take(&mut chunk.next_notice_on);
            let column = account::Column::NextExpiryNoticeOn;
            set_next(txn, groups, column, (now, &mut rows)).await?;
        }
        BatchStep::PasswordReminder => {
            let groups = std::mem::take(&mut chunk.next_reminder_at);
            let column = account::Column::NextPasswordReminderAt;
            set_next(txn, groups, column, (now, &mut rows)).await?;
        }
        BatchStep::PasswordExpire => {
            let expired = touch(plain, now)
                .col_expr(account::Column::PasswordMustChange, Expr::value(true))
                .col_expr(
                    account::Column::NextPasswordReminderAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .exec_with_returning(txn)
                .await?;
            rows.extend(expired)?;
        }
        BatchStep::Purge => rows.extend(purge(txn, &all, now).await?)?,
    }
    Ok(rows)
}

/// The date a step is due by: candidates are read in `(key, id)` order
/// (the last two columns of the step's index, `migrations` 000006).
/// The value of an account's [`step_key`], where the next chunk starts.
fn step_key_value(step: BatchStep, a: &Account) -> Expr {
    match step {
        BatchStep::OpenActivation => Expr::val(a.activation_available_at),
        BatchStep::Limit => Expr::val(a.end_of_activity_date),
        BatchStep::KeepAsAlumni | BatchStep::Expire | BatchStep::AlumniOffer => {
            Expr::val(a.retention_end_date)
        }
        BatchStep::Notice => Expr::val(a.next_expiry_notice_on),
        BatchStep::PasswordReminder => Expr::val(a.next_password_reminder_at),
        BatchStep::PasswordExpire => Expr::val(a.password_expires_at),
        BatchStep::Purge => Expr::val(a.expired_at),
    }
}

fn step_key(step: BatchStep) -> account::Column {
    match step {
        BatchStep::OpenActivation => account::Column::ActivationAvailableAt,
        BatchStep::Limit => account::Column::EndOfActivityDate,
        BatchStep::KeepAsAlumni | BatchStep::Expire | BatchStep::AlumniOffer => {
            account::Column::RetentionEndDate
        }
        BatchStep::Notice => account::Column::NextExpiryNoticeOn,
        BatchStep::PasswordReminder => account::Column::NextPasswordReminderAt,
        BatchStep::PasswordExpire => account::Column::PasswordExpiresAt,
        BatchStep::Purge => account::Column::ExpiredAt,
    }
}

/// A lane's accounts. The status is written into the statement rather than
/// bound: the opening step's index holds `pre_created` accounts only
/// (migration 000012), and a plan PostgreSQL keeps for reuse (a generic
/// plan, made without the parameters' values) proves a partial index's
/// condition from literals only. The values are the domain's own names,
/// never caller text.
fn lane_condition(lane: Lane) -> Condition {
    let literal = |status: AccountStatus| Expr::cust(format!("'{}'", status.as_str()));
    match lane {
        Lane::Status(status) => {
            Condition::all().add(Expr::col(account::Column::Status).eq(literal(status)))
        }
        Lane::Locked(states) => Condition::all()
            .add(Expr::col(account::Column::Status).eq(literal(AccountStatus::Locked)))
            .add(
                account::Column::StatusBeforeLock
                    .is_in(states.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            ),
    }
}

/// The SQL form of `domain::retention::is_due` for one step, the lane
/// aside (`lane_condition` carries the states).
fn due_condition(q: &CandidateQuery<'_>) -> Condition {
    let c = Condition::all();
    match q.step {
        BatchStep::OpenActivation => c.add(account::Column::ActivationAvailableAt.lte(q.now)),
        BatchStep::Limit => c.add(account::Column::EndOfActivityDate.lt(q.today)),
        BatchStep::KeepAsAlumni => c.add(account::Column::RetentionEndDate.lt(q.today)).add(
            Expr::col(account::Column::AlumniKeptFor)
                .eq(Expr::col(account::Column::RetentionEndDate)),
        ),
        BatchStep::Expire => c.add(account::Column::RetentionEndDate.lt(q.today)),
        BatchStep::AlumniOffer => c
            .add(account::Column::RetentionEndDate.gte(q.today))
            .add(account::Column::ActivatedAt.is_not_null())
            .add(
                Condition::any()
                    .add(account::Column::AlumniAskedFor.is_null())
                    .add(
                        Expr::col(account::Column::AlumniAskedFor)
                            .ne(Expr::col(account::Column::RetentionEndDate)),
                    ),
            )
            .add(alumni_request_window(q.alumni_requests_up_to)),
        BatchStep::Notice => c
            .add(account::Column::NextExpiryNoticeOn.lte(q.today))
            .add(account::Column::RetentionEndDate.gte(q.today)),
        BatchStep::PasswordReminder => c
            .add(account::Column::NextPasswordReminderAt.lte(q.now))
            .add(account::Column::PasswordExpiresAt.gt(q.now))
            .add(account::Column::PasswordMustChange.eq(false)),
        BatchStep::PasswordExpire => c
            .add(account::Column::PasswordExpiresAt.lte(q.now))
            .add(account::Column::PasswordMustChange.eq(false)),
        BatchStep::Purge => c.add(account::Column::ExpiredAt.lte(q.purge_before)),
    }
}

/// The accounts of the profiles that offer to keep former students'
/// accounts, whose request is due by today (none when no profile offers).
fn alumni_request_window(up_to: &[(String, NaiveDate)]) -> Condition {
    up_to
        .iter()
        .fold(Condition::any(), |any, (profile, last_end)| {
            any.add(
                Condition::all()
                    .add(account::Column::Profile.eq(profile.as_str()))
                    .add(account::Column::RetentionEndDate.lte(*last_end)),
            )
        })
        .add_option(up_to.is_empty().then(|| Expr::val(false)))
}

/// The candidates of one chunk, in the step's `(date, id)` order.
fn candidate_query(q: &CandidateQuery<'_>) -> sea_orm::Select<account::Entity> {
    let key = step_key(q.step);
    let mut query = account::Entity::find()
        .filter(account::Column::Institution.eq(q.institution))
        .filter(lane_condition(q.lane))
        .filter(due_condition(q));
    if let Some(last) = q.after {
        // Row-value comparison: one index range on both databases.
        query = query.filter(ExprTrait::gt(
            Expr::tuple([Expr::col(key), Expr::col(account::Column::Id)]),
            Expr::tuple([step_key_value(q.step, last), Expr::val(last.id.clone())]),
        ));
    }
    query
        .order_by_asc(key)
        .order_by_asc(account::Column::Id)
        .limit(q.limit)
}

impl Store {
    /// The next chunk of accounts a batch step may apply to. Inside a real
    /// run's transaction on PostgreSQL the rows are locked, skipping those
    /// another run holds.
    pub async fn batch_candidates(
        &self,
        conn: &impl ConnectionTrait,
        q: &CandidateQuery<'_>,
    ) -> Result<Vec<Account>, StoreError> {
        let mut query = candidate_query(q);
        if q.lock && self.kind() == DatabaseKind::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        query.all(conn).await?.into_iter().map(account_of).collect()
    }

    /// The database's plan for a chunk's candidate query, one line per
    /// node: each step must read its lane index (migration 000012), which
    /// a test checks. On PostgreSQL sequential scans are ruled out for the
    /// question, so that a small table still shows whether the index can
    /// serve the query at all.
    pub async fn explain_batch_candidates(
        &self,
        q: &CandidateQuery<'_>,
    ) -> Result<String, StoreError> {
        let backend = self.db.get_database_backend();
        let mut statement = candidate_query(q).build(backend);
        let (explain, column) = match self.kind() {
            DatabaseKind::Postgres => ("EXPLAIN", 0),
            _ => ("EXPLAIN QUERY PLAN", 3),
        };
        let txn = self.db.begin().await?;
        if self.kind() == DatabaseKind::Postgres {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        statement.sql = format!("{explain} {}", statement.sql);
        let rows = txn.query_all_raw(statement).await?;
        txn.rollback().await?;
        let lines: Result<Vec<String>, _> = rows
            .iter()
            .map(|r| r.try_get_by_index::<String>(column))
            .collect();
        Ok(lines?.join("\n"))
    }

    /// Writes one chunk of a batch step.
    pub async fn apply_batch_chunk(
        &self,
        txn: &DatabaseTransaction,
        step: BatchStep,
        mut chunk: ChunkWrite,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let written = update_chunk_accounts(txn, step, &mut chunk, now).await?;
        if !chunk.secrets.is_empty() {
            let ids: Vec<String> = chunk.secrets.iter().map(|s| s.account_id.clone()).collect();
            let scope = SecretScope::Accounts(&ids);
            revoke_live(txn, scope, &[Purpose::AlumniOffer], now).await?;
            insert_rows(txn, chunk.secrets.into_iter().map(|s| s.row(now)).collect()).await?;
        }
        enqueue_all(txn, chunk.messages, now).await?;
        insert_rows(txn, chunk.audit).await?;
        append_changes_known(txn, &chunk.feed, written.0, now).await?;
        Ok(())
    }

    /// Closes an account at its holder's request: the write (its audit
    /// event) and the purge of its personal data in one transaction, the
    /// feed told of the purge. Returns the tombstone.
    pub async fn close_account(
        &self,
        w: AccountWrite<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, AccountWriteError> {
        let write = self.begin_write().await?;
        let id = w.account.id.clone();
        let change = batch_change(w.account, ChangeKind::Purged);
        apply_account_write(&write.txn, w, ctx, now).await?;
        let rows = purge(&write.txn, std::slice::from_ref(&id), now).await?;
        let mut written = Written::default();
        written.extend(rows.clone())?;
        append_changes_known(&write.txn, &[change], written.0, now).await?;
        write.commit().await?;
        let row = rows.into_iter().next().ok_or(AccountWriteError::Conflict)?;
        Ok(account_of(row)?)
    }

    /// Records an extension request, and grants it at once when the
    /// request carries the grant.
    pub async fn request_extension(
        &self,
        e: NewExtension<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<extension_request::Model, ExtensionError> {
        let write = self.begin_write().await?;
        let pending = extension_request::Entity::find()
            .filter(extension_request::Column::AccountId.eq(&e.account.id))
            .filter(extension_request::Column::State.eq(ExtensionState::Pending.as_str()))
            .one(&write.txn)
            .await?;
        if pending.is_some() {
            return Err(ExtensionError::AlreadyPending);
        }
        let granted = e.grant.is_some();
        let row = extension_request::ActiveModel {
            id: Set(new_id()),
            account_id: Set(e.account.id.clone()),
            institution: Set(e.account.institution.clone()),
            state: Set(if granted {
                ExtensionState::Approved
            } else {
                ExtensionState::Pending
            }
            .as_str()
            .to_owned()),
            reason: Set(e.reason),
            requested_at: Set(now),
            decided_at: Set(granted.then_some(now)),
            decided_by: Set(granted.then(|| "policy".to_owned())),
            decision_comment: Set(None),
            previous_retention_end_date: Set(e.account.retention_end_date),
            new_retention_end_date: Set(e.new_end.filter(|_| granted)),
        }
        .insert(&write.txn)
        .await?;
        match e.grant {
            Some(grant) => {
                apply_account_write(&write.txn, grant, ctx, now).await?;
            }
            None => {
                super::record_audit(
                    &write.txn,
                    ctx,
                    AuditEntry {
                        institution: &e.account.institution,
                        account_id: Some(&e.account.id),
                        action: "extension.requested",
                        details: json!({ "request_id": row.id }),
                    },
                    now,
                )
                .await?;
            }
        }
        write.commit().await?;
        Ok(row)
    }

    /// Approves or denies a pending request; refused if it was decided
    /// meanwhile.
    pub async fn decide_extension(
        &self,
        d: ExtensionDecision<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<extension_request::Model, ExtensionError> {
        let write = self.begin_write().await?;
        let state = if d.approve {
            ExtensionState::Approved
        } else {
            ExtensionState::Denied
        };
        let decided = extension_request::Entity::update_many()
            .col_expr(
                extension_request::Column::State,
                Expr::value(state.as_str()),
            )
            .col_expr(extension_request::Column::DecidedAt, Expr::value(now))
            .col_expr(
                extension_request::Column::DecidedBy,
                Expr::value(d.decided_by.clone()),
            )
            .col_expr(
                extension_request::Column::DecisionComment,
                Expr::value(Some(d.comment.clone()).filter(|c| !c.is_empty())),
            )
            .col_expr(
                extension_request::Column::PreviousRetentionEndDate,
                Expr::value(d.write.account.retention_end_date),
            )
            .col_expr(
                extension_request::Column::NewRetentionEndDate,
                Expr::value(d.new_end.filter(|_| d.approve)),
            )
            .filter(extension_request::Column::Id.eq(&d.request.id))
            .filter(extension_request::Column::State.eq(ExtensionState::Pending.as_str()))
            .exec(&write.txn)
            .await?;
        if decided.rows_affected != 1 {
            return Err(ExtensionError::AlreadyDecided);
        }
        apply_account_write(&write.txn, d.write, ctx, now).await?;
        let row = extension_request::Entity::find_by_id(&d.request.id)
            .one(&write.txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("decided request vanished".into()))?;
        write.commit().await?;
        Ok(row)
    }

    pub async fn extension_request(
        &self,
        id: &str,
    ) -> Result<Option<extension_request::Model>, StoreError> {
        Ok(extension_request::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    /// Extension requests matching `q`, oldest first, with their accounts.
    pub async fn list_extension_requests(
        &self,
        q: ExtensionQuery<'_>,
    ) -> Result<Vec<(extension_request::Model, Account)>, StoreError> {
        let mut query = extension_request::Entity::find()
            .filter(extension_request::Column::Institution.eq(q.institution))
            .filter(extension_request::Column::State.eq(q.state.as_str()))
            .order_by_asc(extension_request::Column::RequestedAt)
            .order_by_asc(extension_request::Column::Id)
            .limit(q.limit);
        if let Some((at, id)) = q.after {
            query = query.filter(
                Condition::any()
                    .add(extension_request::Column::RequestedAt.gt(at))
                    .add(
                        Condition::all()
                            .add(extension_request::Column::RequestedAt.eq(at))
                            .add(extension_request::Column::Id.gt(id)),
                    ),
            );
        }
        let requests = query.all(self.connection()).await?;
        let ids: Vec<String> = requests.iter().map(|r| r.account_id.clone()).collect();
        let accounts: std::collections::HashMap<String, account::Model> = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        requests
            .into_iter()
            .map(|r| {
                let account = accounts.get(&r.account_id).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("request {} names a missing account", r.id))
                })?;
                Ok((r, account_of(account)?))
            })
            .collect()
    }
}

/// Revokes every live secret of these accounts.
async fn revoke_every_secret(
    conn: &impl ConnectionTrait,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    one_time_secret::Entity::update_many()
        .col_expr(one_time_secret::Column::RevokedAt, Expr::value(now))
        .filter(one_time_secret::Column::AccountId.is_in(ids.to_vec()))
        .filter(one_time_secret::Column::UsedAt.is_null())
        .filter(one_time_secret::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the personal data of these accounts and keeps a tombstone: id,
/// institution, profile, login and institutional address (never given to
/// anyone else), and the dates of the account's life. External ids are
/// freed, so the same person enrolling again gets a new account.
async fn purge(
    txn: &DatabaseTransaction,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<account::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use account::Column as C;
    let none_text = || Expr::value(Option::<String>::None);
    let none_time = || Expr::value(Option::<DateTime<Utc>>::None);
    let purged = account::Entity::update_many()
        .col_expr(C::Status, Expr::value(AccountStatus::DataDeleted.as_str()))
        .col_expr(C::StatusChangedAt, Expr::value(now))
        .col_expr(C::StatusBeforeLock, none_text())
        .col_expr(C::PurgedAt, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::GivenName, Expr::value(""))
        .col_expr(C::FamilyName, Expr::value(""))
        .col_expr(C::BirthDate, Expr::value(Option::<NaiveDate>::None))
        .col_expr(C::StudentNumber, none_text())
        .col_expr(C::Ine, none_text())
        .col_expr(C::HrId, none_text())
        .col_expr(C::MobilePhone, none_text())
        .col_expr(C::MobilePhoneVerifiedAt, none_time())
        .col_expr(C::PersonalMail, none_text())
        .col_expr(C::RecoveryMail, none_text())
        .col_expr(C::RecoveryMailVerifiedAt, none_time())
        .col_expr(C::RecoveryPhone, none_text())
        .col_expr(C::RecoveryPhoneVerifiedAt, none_time())
        .col_expr(C::PasswordHash, none_text())
        .col_expr(C::PasswordExpiresAt, none_time())
        .col_expr(C::PasswordMustChange, Expr::value(false))
        .col_expr(C::NextPasswordReminderAt, none_time())
        .col_expr(
            C::NextExpiryNoticeOn,
            Expr::value(Option::<NaiveDate>::None),
        )
        .col_expr(C::DirectoryListed, Expr::value(Option::<bool>::None))
        .col_expr(C::PhotoUses, Expr::value(""))
        .col_expr(C::CrousSharing, Expr::value(Option::<bool>::None))
        .col_expr(C::ConsentAnswers, none_text())
        .col_expr(C::RedirectAddress, none_text())
        .col_expr(C::RedirectKeepCopy, Expr::value(false))
        .col_expr(C::RedirectVerifiedAt, none_time())
        .col_expr(C::AntispamLevel, none_text())
        .col_expr(C::DirectoryEntry, none_text())
        .col_expr(C::PersonKey, none_text())
        .col_expr(C::LinkedProfiles, none_text())
        .filter(C::Id.is_in(ids.to_vec()))
        .exec_with_returning(txn)
        .await?;
    purge_related(txn, ids).await?;
    Ok(purged)
}

/// What else of these accounts holds personal data: the feed's earlier
/// snapshots, secrets, flows, password history, messages delivered,
/// extension reasons, guests' invitations.
async fn purge_related(txn: &DatabaseTransaction, ids: &[String]) -> Result<(), StoreError> {
    super::feed::purge_snapshots(txn, ids).await?;
    // A linked profile's ids are free again, like the account's own; a
    // record held against the account goes with its personal data.
    account_profile::Entity::delete_many()
        .filter(account_profile::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    held_record::Entity::delete_many()
        .filter(held_record::Column::CandidateId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    one_time_secret::Entity::delete_many()
        .filter(one_time_secret::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    activation_flow::Entity::delete_many()
        .filter(activation_flow::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    password_history::Entity::delete_many()
        .filter(password_history::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    // Delivered or abandoned messages go; one still on its way is delivered
    // (and scrubbed) first.
    outbox::Entity::delete_many()
        .filter(outbox::Column::AccountId.is_in(ids.to_vec()))
        .filter(
            Condition::any()
                .add(outbox::Column::SentAt.is_not_null())
                .add(outbox::Column::FailedAt.is_not_null()),
        )
        .exec(txn)
        .await?;
    // The decisions stay for the audit; the words about the person go.
    extension_request::Entity::update_many()
        .col_expr(extension_request::Column::Reason, Expr::value(""))
        .col_expr(
            extension_request::Column::DecisionComment,
            Expr::value(Option::<String>::None),
        )
        .filter(extension_request::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    // A guest's invitation keeps its dates and decision; the guest's
    // personal data goes with the account's.
    guest_invitation::Entity::update_many()
        .col_expr(guest_invitation::Column::GivenName, Expr::value(""))
        .col_expr(guest_invitation::Column::FamilyName, Expr::value(""))
        .col_expr(
            guest_invitation::Column::BirthDate,
            Expr::value(Option::<NaiveDate>::None),
        )
        .col_expr(guest_invitation::Column::PersonalMail, Expr::value(""))
        .col_expr(guest_invitation::Column::Reason, Expr::value(""))
        .filter(guest_invitation::Column::AccountId.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    Ok(())
}

/// An audit row of the batch for one account.
pub fn batch_audit(
    ctx: &AuditContext,
    now: DateTime<Utc>,
    account: &Account,
    action: &str,
    details: serde_json::Value,
) -> audit_event::ActiveModel {
    audit_row(
        ctx,
        AuditEntry {
            institution: &account.institution,
            account_id: Some(&account.id),
            action,
            details,
        },
        now,
    )
}

/// A feed entry of the batch for one account.
pub fn batch_change(account: &Account, kind: ChangeKind) -> PendingChange {
    PendingChange {
        account_id: account.id.clone(),
        institution: account.institution.clone(),
        kind,
    }
}
