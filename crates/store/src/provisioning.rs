//! Provisioning: create or update accounts from enrolment and HR records,
//! idempotent on (institution, external id).
//!
//! One planner serves both paths. The fast path plans a whole chunk with a
//! few batched reads (existing accounts, INE holders, logins taken per name
//! stem) and writes it with batched inserts, in a savepoint. If a concurrent
//! call wins a race (a unique index fires), the chunk is redone record by
//! record, each in its own savepoint and retried, so a refused or raced
//! record never disturbs the others.

use crate::AuditEntry;
use crate::account_fields::account_of;
use domain::account::Account;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use domain::secret::SecretKeys;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;

use super::entities::{account, account_profile, audit_event, held_record, one_time_secret};
use super::feed::{ChangeKind, PendingChange, append_changes_known, snapshot_of};
use super::secrets::{SecretSpec, printed_secret, secret_row};
use super::{AuditContext, DatabaseKind, Store, StoreError, audit_row, insert_rows, new_id};
use domain::account::AccountStatus;
use domain::duplicates::{
    DuplicateAction, DuplicateMatch, DuplicateSettings, HeldResolution, HeldStatus, PersonOnRecord,
    record_person_key, same_person,
};
use domain::institution::{ActivationChannel, ProfileSettings};
use domain::login::{LoginError, NameParts, first_free, fold_name};
use domain::provisioning::ProvisionInput;
use domain::provisioning::{ExternalId, ValidRecord, activation_opens_at, material_expires_at};
use domain::secret::Secret;

/// What provisioning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionOutcome {
    Created,
    Updated,
    Unchanged,
    Restored,
    /// The record named a person who has an account under other ids: its
    /// profile was added to that account.
    Linked,
    /// The record named a person who has an account under other ids, and
    /// the institution holds such records for an administrator: nothing
    /// was created.
    Held,
}

/// Activation material issued to a person: shown once, stored hashed.
#[derive(Debug)]
pub struct IssuedMaterial {
    pub channel: ActivationChannel,
    /// The key or provisional password, for channels that print one.
    pub secret: Option<Secret>,
    pub available_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The result of provisioning one record.
#[derive(Debug)]
pub struct Provisioned {
    pub outcome: ProvisionOutcome,
    /// The account; for a held record, the account of the person it seems
    /// to name (for the audit, not for the caller).
    pub account: Account,
    pub material: Option<IssuedMaterial>,
    /// The held record, when the outcome is `Held`.
    pub held_record_id: Option<String>,
}

/// Why one record could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Another account holds an identifier of the record.
    #[error("{message}")]
    IdentifierTaken {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    NoLogin(#[from] LoginError),
    #[error("every login identifier of this person's scheme is taken")]
    LoginsExhausted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One record to provision with its profile's rules.
#[derive(Debug, Clone)]
pub struct ProvisionItem {
    pub record: ValidRecord,
    pub profile: ProfileSettings,
    /// What a mailed activation link needs (profiles with a mailed link).
    pub link_mail: Option<LinkMail>,
    /// A guest's sponsor and stay (invitations only).
    pub guest: Option<GuestStay>,
    /// Which records name a person who already has an account (the
    /// institution's `duplicates`).
    pub duplicates: DuplicateSettings,
    /// The record as received, kept if it is held for review.
    pub input: Option<ProvisionInput>,
    /// An administrator's decision on a held record this item carries out.
    pub resolution: Option<Resolution>,
}

/// An administrator's decision on a held record, carried out as the
/// record's provisioning.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub held_record_id: String,
    pub decision: HeldResolution,
    /// The account the record seemed to name, and why.
    pub candidate_id: String,
    pub matched: DuplicateMatch,
}

/// What a guest's account starts with: who invited them, and the dates of
/// a stay that ends like any departure (notices, limited access, expiry).
#[derive(Debug, Clone)]
pub struct GuestStay {
    pub sponsor_id: String,
    pub last_day: NaiveDate,
    pub retention_end: NaiveDate,
    pub first_notice_on: Option<NaiveDate>,
}

pub use super::activation::LinkMail;

/// Attempts at one record when concurrent calls keep winning races.
const MAX_ATTEMPTS: u32 = 8;
/// Name stems per range query (each an index range).
const STEM_BATCH: usize = 256;

impl Store {
    /// Provisions `items` in one transaction and answers each on its own.
    pub async fn provision(
        &self,
        items: &[ProvisionItem],
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> Result<Vec<Result<Provisioned, ProvisionError>>, StoreError> {
        let keys = self.secret_keys()?;
        let write = self.begin_write().await?;
        if self.kind() == DatabaseKind::Postgres {
            lock_name_stems(&write.txn, items).await?;
        }
        let all: Vec<&ProvisionItem> = items.iter().collect();
        if !has_repeated_external_id(&all) {
            let savepoint = write.txn.begin().await?;
            match apply(&savepoint, &all, &keys, now, ctx).await {
                Ok(mut batch) => {
                    savepoint.commit().await?;
                    let known = std::mem::take(&mut batch.snapshots);
                    append_changes_known(&write.txn, &batch.changes, known, now).await?;
                    write.commit().await?;
                    if let Err(error) = self
                        .refresh_statistics_after_load(batch.changes.len())
                        .await
                    {
                        // The records are committed; slower plans are all
                        // this costs.
                        tracing::warn!(%error, "cannot refresh planner statistics");
                    }
                    return Ok(batch.results);
                }
                Err(e) if e.is_lost_race() => {
                    tracing::info!(
                        records = items.len(),
                        "provisioning raced a concurrent call: retrying record by record"
                    );
                    savepoint.rollback().await?
                }
                Err(e) => return Err(e),
            }
        }
        let mut results = Vec::with_capacity(items.len());
        let mut changes = Vec::new();
        let mut snapshots = HashMap::new();
        for item in all {
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let savepoint = write.txn.begin().await?;
                match apply(&savepoint, &[item], &keys, now, ctx).await {
                    Ok(mut batch) => {
                        savepoint.commit().await?;
                        changes.append(&mut batch.changes);
                        snapshots.extend(std::mem::take(&mut batch.snapshots));
                        break batch.results.pop().unwrap_or(Err(ProvisionError::Store(
                            StoreError::Corrupt("planner returned no result".into()),
                        )));
                    }
                    Err(e) => {
                        savepoint.rollback().await?;
                        if e.is_lost_race() && attempt < MAX_ATTEMPTS {
                            continue;
                        }
                        break Err(ProvisionError::Store(e));
                    }
                }
            };
            results.push(result);
        }
        append_changes_known(&write.txn, &changes, snapshots, now).await?;
        write.commit().await?;
        Ok(results)
    }
}

/// Provisions one record inside the caller's transaction `txn` (a guest's
/// account, created with its invitation's approval): its rows, its feed
/// entry and its messages, committed or rolled back with the caller's.
pub(crate) async fn provision_within(
    txn: &impl ConnectionTrait,
    item: &ProvisionItem,
    keys: &Arc<SecretKeys>,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Result<Provisioned, ProvisionError>, StoreError> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        lock_name_stems(txn, std::slice::from_ref(item)).await?;
    }
    let mut batch = apply(txn, &[item], keys, now, ctx).await?;
    let known = std::mem::take(&mut batch.snapshots);
    append_changes_known(txn, &batch.changes, known, now).await?;
    Ok(batch
        .results
        .pop()
        .unwrap_or(Err(ProvisionError::Store(StoreError::Corrupt(
            "planner returned no result".into(),
        )))))
}

/// What a bulk chunk spread over lanes did.
#[derive(Debug)]
pub struct LaneResults {
    /// Each record's result, in order; `None` for the records of a lane
    /// whose transaction failed (nothing of them was written).
    pub results: Vec<Option<Result<Provisioned, ProvisionError>>>,
    /// Why a lane failed, if one did.
    pub failure: Option<StoreError>,
}

impl Store {
    /// Provisions a bulk chunk over `self.write_lanes()` transactions at once,
    /// so that the database and the server both work on every core (a
    /// chunk alternates between the two: BENCHMARKS.md). Records are spread
    /// by their family name's login-allocation lock: namesakes share a lane
    /// and allocate in turn, and no lane waits for another's locks. Each
    /// lane commits on its own.
    pub async fn provision_in_lanes(
        &self,
        items: Vec<ProvisionItem>,
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> LaneResults {
        let lanes = self.write_lanes();
        let all: Vec<&ProvisionItem> = items.iter().collect();
        if lanes < 2 || items.len() < 2 || has_repeated_external_id(&all) {
            return match self.provision(&items, now, ctx).await {
                Ok(results) => LaneResults {
                    results: results.into_iter().map(Some).collect(),
                    failure: None,
                },
                Err(failure) => LaneResults {
                    results: items.iter().map(|_| None).collect(),
                    failure: Some(failure),
                },
            };
        }
        let count = items.len();
        let mut by_lane: Vec<(Vec<usize>, Vec<ProvisionItem>)> =
            (0..lanes).map(|_| (Vec::new(), Vec::new())).collect();
        for (position, item) in items.into_iter().enumerate() {
            let lane = &mut by_lane[name_lock_bucket(&item) as usize % lanes];
            lane.0.push(position);
            lane.1.push(item);
        }
        let mut running = tokio::task::JoinSet::new();
        for (positions, items) in by_lane.into_iter().filter(|(p, _)| !p.is_empty()) {
            let (store, ctx) = (self.clone(), ctx.clone());
            running.spawn(async move { (positions, store.provision(&items, now, &ctx).await) });
        }
        let mut outcome = LaneResults {
            results: (0..count).map(|_| None).collect(),
            failure: None,
        };
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok((positions, Ok(results))) => {
                    for (position, result) in positions.into_iter().zip(results) {
                        outcome.results[position] = Some(result);
                    }
                }
                Ok((_, Err(failure))) => outcome.failure = Some(failure),
                Err(panicked) => {
                    outcome.failure = Some(StoreError::Corrupt(format!(
                        "a provisioning lane stopped: {panicked}"
                    )))
                }
            }
        }
        outcome
    }
}

/// The identifier a record is matched on, within its institution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ExternalKey {
    StudentNumber(String, String),
    HrId(String, String),
    /// A guest's invitation: no account holds it before it is approved.
    Invitation(String, String),
}

impl ExternalKey {
    fn of(record: &ValidRecord) -> ExternalKey {
        match &record.external_id {
            ExternalId::Invitation(id) => {
                ExternalKey::Invitation(record.institution.clone(), id.clone())
            }
            ExternalId::StudentNumber(n) => {
                ExternalKey::StudentNumber(record.institution.clone(), n.as_str().to_owned())
            }
            ExternalId::HrId(id) => {
                ExternalKey::HrId(record.institution.clone(), id.as_str().to_owned())
            }
        }
    }

    fn of_account(a: &account::Model) -> Option<ExternalKey> {
        ExternalKey::of_ids(&a.institution, &a.student_number, &a.hr_id)
    }

    /// The key of a row holding a student number or an HR id (an account,
    /// a linked profile, a held record): the student number first.
    fn of_ids(
        institution: &str,
        student_number: &Option<String>,
        hr_id: &Option<String>,
    ) -> Option<ExternalKey> {
        match (student_number, hr_id) {
            (Some(n), _) => Some(ExternalKey::StudentNumber(
                institution.to_owned(),
                n.clone(),
            )),
            (None, Some(id)) => Some(ExternalKey::HrId(institution.to_owned(), id.clone())),
            (None, None) => None,
        }
    }
}

/// A chunk naming the same person twice is planned record by record (each
/// must see the previous one's writes).
fn has_repeated_external_id(items: &[&ProvisionItem]) -> bool {
    let mut seen = HashSet::with_capacity(items.len());
    !items
        .iter()
        .all(|i| seen.insert(ExternalKey::of(&i.record)))
}

/// What a chunk decided, and the rows it writes.
struct Batch {
    /// The keys that hash the printed secrets.
    keys: Arc<SecretKeys>,
    results: Vec<Result<Provisioned, ProvisionError>>,
    changes: Vec<PendingChange>,
    /// The changed accounts' rows as written, for the feed (JSON by id).
    snapshots: HashMap<String, String>,
    inserts: Vec<account::ActiveModel>,
    updates: Vec<account::ActiveModel>,
    link_inserts: Vec<account_profile::ActiveModel>,
    link_updates: Vec<account_profile::ActiveModel>,
    held_inserts: Vec<held_record::ActiveModel>,
    held_updates: Vec<held_record::ActiveModel>,
    secrets: Vec<one_time_secret::ActiveModel>,
    audits: Vec<audit_event::ActiveModel>,
    messages: Vec<super::outbox::NewMessage>,
}

impl Batch {
    fn new(keys: Arc<SecretKeys>) -> Batch {
        Batch {
            keys,
            results: Vec::new(),
            changes: Vec::new(),
            snapshots: HashMap::new(),
            inserts: Vec::new(),
            updates: Vec::new(),
            link_inserts: Vec::new(),
            link_updates: Vec::new(),
            held_inserts: Vec::new(),
            held_updates: Vec::new(),
            secrets: Vec::new(),
            audits: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn audit(
        &mut self,
        ctx: &AuditContext,
        now: DateTime<Utc>,
        account: &account::Model,
        action: &str,
        details: serde_json::Value,
    ) {
        self.audits.push(audit_row(
            ctx,
            AuditEntry {
                institution: &account.institution,
                account_id: Some(&account.id),
                action,
                details,
            },
            now,
        ));
    }

    /// Records an administrator's decision on a held record, carried out
    /// with `account` (the one merged into, or created).
    fn resolve_held(
        &mut self,
        resolution: &Resolution,
        account: &Account,
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) {
        use sea_orm::Set;
        let status = match resolution.decision {
            HeldResolution::Merge => HeldStatus::Merged,
            HeldResolution::Create => HeldStatus::Created,
        };
        self.held_updates.push(held_record::ActiveModel {
            id: Set(resolution.held_record_id.clone()),
            status: Set(status.as_str().to_owned()),
            decided_at: Set(Some(now)),
            decided_by: Set(Some(ctx.actor.clone())),
            account_id: Set(Some(account.id.clone())),
            ..Default::default()
        });
        self.audits.push(audit_row(
            ctx,
            AuditEntry {
                institution: &account.institution,
                account_id: Some(&account.id),
                action: "held_record.resolved",
                details: json!({
                    "held_record_id": resolution.held_record_id,
                    "decision": status.as_str(),
                }),
            },
            now,
        ));
    }

    fn change(&mut self, account: &account::Model, kind: ChangeKind) -> Result<(), StoreError> {
        self.changes.push(PendingChange {
            account_id: account.id.clone(),
            institution: account.institution.clone(),
            kind,
        });
        self.snapshots
            .insert(account.id.clone(), snapshot_of(account)?);
        Ok(())
    }

    async fn write(
        &mut self,
        conn: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        insert_rows(conn, std::mem::take(&mut self.inserts)).await?;
        for update in std::mem::take(&mut self.updates) {
            update.update(conn).await?;
        }
        insert_rows(conn, std::mem::take(&mut self.link_inserts)).await?;
        for update in std::mem::take(&mut self.link_updates) {
            update.update(conn).await?;
        }
        insert_rows(conn, std::mem::take(&mut self.held_inserts)).await?;
        for held in std::mem::take(&mut self.held_updates) {
            held.update(conn).await?;
        }
        insert_rows(conn, std::mem::take(&mut self.secrets)).await?;
        insert_rows(conn, std::mem::take(&mut self.audits)).await?;
        super::outbox::enqueue_all(conn, std::mem::take(&mut self.messages), now).await?;
        Ok(())
    }
}

/// Plans `items` against the database as it is, then writes the plan.
async fn apply(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
    keys: &Arc<SecretKeys>,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Batch, StoreError> {
    let mut known = Known::fetch(conn, items).await?;
    let existing = &known.accounts;
    let mut ine_holders = ine_holders(conn, items).await?;
    let mut taken = TakenNames::fetch(conn, items, existing).await?;
    let mut batch = Batch::new(Arc::clone(keys));
    let mut touched: HashSet<String> = HashSet::new();
    for (position, item) in items.iter().enumerate() {
        let record = &item.record;
        let (mut current, mut same) = known.targets(item);
        let target = |c: &Option<account::Model>, s: &Option<(account::Model, DuplicateMatch)>| {
            c.as_ref()
                .or(s.as_ref().map(|(a, _)| a))
                .map(|a| a.id.clone())
        };
        if target(&current, &same).is_some_and(|id| touched.contains(&id)) {
            // Another record of the chunk changed this account (the same
            // person from two systems): plan on what it wrote.
            batch.write(conn, now).await?;
            known = Known::fetch(conn, &items[position..]).await?;
            touched.clear();
            (current, same) = known.targets(item);
        }
        touched.extend(target(&current, &same));
        let current = current.as_ref();
        // The person's own INE may be on the account the record names or
        // is linked to; on any other account it is refused.
        let owner = current.or(same.as_ref().map(|(a, _)| a)).map(|a| &a.id);
        if let Some(ine) = &record.ine {
            let holder = ine_holders.get(&(record.institution.clone(), ine.as_str().to_owned()));
            if holder.is_some_and(|h| owner != Some(h)) {
                batch.results.push(Err(ProvisionError::IdentifierTaken {
                    field: "ine",
                    message: "this INE belongs to another account".into(),
                }));
                continue;
            }
        }
        let result = match (current, same) {
            (Some(account), _) => {
                let links = known.links_of(&account.id);
                plan_update(&mut batch, item, account, &links, now, ctx)
            }
            (None, Some(person)) => plan_for_person(&mut batch, &known, item, person, now, ctx),
            (None, None) => plan_create(&mut batch, &mut taken, item, now, ctx),
        };
        if let (Some(resolution), Ok(done)) = (&item.resolution, &result) {
            batch.resolve_held(resolution, &done.account, now, ctx);
        }
        known.remember(&result, item);
        let result_ok = result.as_ref().ok();
        if let Some(p) = result_ok.filter(|p| p.outcome != ProvisionOutcome::Held) {
            touched.insert(p.account.id.clone());
        }
        if let (Some(p), Some(ine)) = (
            result_ok.filter(|p| p.outcome != ProvisionOutcome::Held),
            &record.ine,
        ) {
            ine_holders.insert(
                (record.institution.clone(), ine.as_str().to_owned()),
                p.account.id.clone(),
            );
        }
        batch.results.push(result);
    }
    batch.write(conn, now).await?;
    Ok(batch)
}

/// A record naming a person who has an account: linked to it, or held for
/// an administrator where the institution says so.
fn plan_for_person(
    batch: &mut Batch,
    known: &Known,
    item: &ProvisionItem,
    (account, matched): (account::Model, DuplicateMatch),
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Provisioned, ProvisionError> {
    let links = known.links_of(&account.id);
    let target = LinkTarget {
        account: &account,
        links: &links,
        matched,
    };
    if item.duplicates.action == DuplicateAction::Hold && item.resolution.is_none() {
        let before = known.held.get(&ExternalKey::of(&item.record)).cloned();
        plan_hold(batch, item, target, before, now, ctx)
    } else {
        plan_link(batch, item, target, now, ctx)
    }
}

/// The accounts a chunk's records name or may name: by external id (their
/// own, or a linked profile's), the profiles of those that hold several,
/// and the people the new records may already be (the institutions'
/// `duplicates`).
struct Known {
    accounts: HashMap<ExternalKey, account::Model>,
    links: HashMap<String, Vec<account_profile::Model>>,
    candidates: Vec<account::Model>,
    /// Records held before under the same ids.
    held: HashMap<ExternalKey, held_record::Model>,
}

/// An account a record is linked to, and why.
struct LinkTarget<'a> {
    account: &'a account::Model,
    links: &'a [account_profile::Model],
    matched: DuplicateMatch,
}

impl Known {
    async fn fetch(
        conn: &impl ConnectionTrait,
        items: &[&ProvisionItem],
    ) -> Result<Known, StoreError> {
        let mut accounts = existing_accounts(conn, items).await?;
        let linked = linked_profiles_by_key(conn, items).await?;
        let missing: Vec<String> = linked
            .iter()
            .filter(|(key, _)| !accounts.contains_key(key))
            .map(|(_, row)| row.account_id.clone())
            .collect();
        let by_id: HashMap<String, account::Model> = locked_accounts(conn, missing)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        for (key, row) in &linked {
            if let Some(account) = by_id.get(&row.account_id) {
                accounts
                    .entry(key.clone())
                    .or_insert_with(|| account.clone());
            }
        }
        let new: Vec<&ProvisionItem> = items
            .iter()
            .copied()
            .filter(|i| {
                i.duplicates.enabled() && !accounts.contains_key(&ExternalKey::of(&i.record))
            })
            .collect();
        let mut candidates = duplicate_candidates(conn, &new).await?;
        // An administrator's merge names its account.
        let merges: Vec<String> = items
            .iter()
            .filter_map(|i| i.resolution.as_ref())
            .filter(|r| r.decision == HeldResolution::Merge)
            .map(|r| r.candidate_id.clone())
            .collect();
        candidates.extend(locked_accounts(conn, merges).await?);
        let held = held_by_key(conn, items).await?;
        // Only accounts of several profiles have profile rows (their copy
        // on the account says so): most chunks read none.
        let ids: Vec<String> = accounts
            .values()
            .chain(&candidates)
            .filter(|a| a.linked_profiles.is_some())
            .map(|a| a.id.clone())
            .collect();
        let links = profiles_of_accounts(conn, ids).await?;
        Ok(Known {
            accounts,
            links,
            candidates,
            held,
        })
    }

    /// The account a record's own id names, else the account of the person
    /// it names (when the institution compares records).
    fn targets(
        &self,
        item: &ProvisionItem,
    ) -> (
        Option<account::Model>,
        Option<(account::Model, DuplicateMatch)>,
    ) {
        match self.accounts.get(&ExternalKey::of(&item.record)) {
            Some(account) => (Some(account.clone()), None),
            None => (None, self.same_person(item)),
        }
    }

    /// The profiles of an account that holds several (none otherwise).
    fn links_of(&self, account_id: &str) -> Vec<account_profile::Model> {
        self.links.get(account_id).cloned().unwrap_or_default()
    }

    /// The account of the person a new record names, when the
    /// institution compares records and one matches.
    /// (Only for a record whose own id names no account: `targets`.)
    fn same_person(&self, item: &ProvisionItem) -> Option<(account::Model, DuplicateMatch)> {
        match &item.resolution {
            Some(r) if r.decision == HeldResolution::Merge => {
                let account = self.candidates.iter().find(|a| a.id == r.candidate_id)?;
                return Some((account.clone(), r.matched));
            }
            Some(_) => return None,
            None if !item.duplicates.enabled() => return None,
            None => {}
        }
        self.candidates
            .iter()
            .filter(|a| a.institution == item.record.institution)
            .find_map(|a| {
                let on_record = PersonOnRecord {
                    kind: domain::account::AccountKind::parse(&a.kind)?,
                    person_key: a.person_key.as_deref(),
                    given_name: &a.given_name,
                    personal_mail: a.personal_mail.as_deref(),
                    mobile_phone: a.mobile_phone.as_deref(),
                };
                same_person(&item.duplicates, &item.record, &on_record).map(|m| (a.clone(), m))
            })
    }

    /// What a planned record leaves for the records after it: a new
    /// account may be the person of a later record of the chunk.
    fn remember(&mut self, result: &Result<Provisioned, ProvisionError>, item: &ProvisionItem) {
        let Ok(provisioned) = result else { return };
        if provisioned.outcome == ProvisionOutcome::Created && item.duplicates.enabled() {
            let account = &provisioned.account;
            self.candidates.push(account::Model {
                person_key: record_person_key(&item.record),
                ..candidate_row(account, &item.record)
            });
        }
    }
}

/// The few columns the comparison reads of an account created in this
/// chunk.
fn candidate_row(account: &Account, record: &ValidRecord) -> account::Model {
    let mut row = new_account(
        record,
        account.login.clone(),
        account.institutional_mail.clone(),
        account.activation_available_at,
        account.created_at,
    );
    row.id = account.id.clone();
    row
}

/// The id a profile row is matched on.
fn profile_key(row: &account_profile::Model) -> Option<ExternalKey> {
    ExternalKey::of_ids(&row.institution, &row.student_number, &row.hr_id)
}

/// The student numbers and HR ids of the records, by institution.
fn ids_by_institution<'a>(
    items: &[&'a ProvisionItem],
) -> HashMap<&'a str, (Vec<&'a str>, Vec<&'a str>)> {
    let mut by_institution: HashMap<&str, (Vec<&str>, Vec<&str>)> = HashMap::new();
    for item in items {
        let entry = by_institution
            .entry(item.record.institution.as_str())
            .or_default();
        match &item.record.external_id {
            ExternalId::StudentNumber(n) => entry.0.push(n.as_str()),
            ExternalId::HrId(id) => entry.1.push(id.as_str()),
            ExternalId::Invitation(_) => {}
        }
    }
    by_institution.retain(|_, (numbers, hr_ids)| !numbers.is_empty() || !hr_ids.is_empty());
    by_institution
}

/// The condition on `institution`, `student_number` and `hr_id` columns
/// that finds the records' ids.
fn ids_condition<C: ColumnTrait>(
    by_institution: HashMap<&str, (Vec<&str>, Vec<&str>)>,
    [institution_col, number_col, hr_col]: [C; 3],
) -> Condition {
    let mut condition = Condition::any();
    for (institution, (numbers, hr_ids)) in by_institution {
        let mut ids = Condition::any();
        if !numbers.is_empty() {
            ids = ids.add(number_col.is_in(numbers));
        }
        if !hr_ids.is_empty() {
            ids = ids.add(hr_col.is_in(hr_ids));
        }
        condition = condition.add(
            Condition::all()
                .add(institution_col.eq(institution))
                .add(ids),
        );
    }
    condition
}

/// The accounts the records already have, by their own external id.
async fn existing_accounts(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
) -> Result<HashMap<ExternalKey, account::Model>, StoreError> {
    let by_institution = ids_by_institution(items);
    if by_institution.is_empty() {
        // Guests only: an invitation names no account before it.
        return Ok(HashMap::new());
    }
    use account::Column as C;
    let condition = ids_condition(by_institution, [C::Institution, C::StudentNumber, C::HrId]);
    let rows = lock_in_id_order(conn, account::Entity::find().filter(condition))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|a| ExternalKey::of_account(&a).map(|k| (k, a)))
        .collect())
}

/// On PostgreSQL, `query` locks its rows: an update writes the whole row
/// as read here, and a change committed in between (an activation, a
/// lock) would be lost; SQLite has one writer at a time. In id order, so
/// that two transactions locking some of the same accounts (a person
/// matched by student number in one, by HR id in another) take them in the
/// same order and cannot deadlock.
fn lock_in_id_order(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<account::Entity>,
) -> sea_orm::Select<account::Entity> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        query.order_by_asc(account::Column::Id).lock_exclusive()
    } else {
        query
    }
}

/// Accounts by id, locked as [`lock_in_id_order`] says.
async fn locked_accounts(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<Vec<account::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = account::Entity::find().filter(account::Column::Id.is_in(ids));
    Ok(lock_in_id_order(conn, query).all(conn).await?)
}

/// The records held before under the records' ids.
async fn held_by_key(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
) -> Result<HashMap<ExternalKey, held_record::Model>, StoreError> {
    let holding: Vec<&ProvisionItem> = items
        .iter()
        .copied()
        .filter(|i| i.duplicates.action == DuplicateAction::Hold || i.resolution.is_some())
        .collect();
    let by_institution = ids_by_institution(&holding);
    if by_institution.is_empty() {
        return Ok(HashMap::new());
    }
    use held_record::Column as C;
    let condition = ids_condition(by_institution, [C::Institution, C::StudentNumber, C::HrId]);
    let rows = held_record::Entity::find()
        .filter(condition)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            ExternalKey::of_ids(&row.institution, &row.student_number, &row.hr_id)
                .map(|key| (key, row))
        })
        .collect())
}

/// The linked profiles the records' ids name.
async fn linked_profiles_by_key(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
) -> Result<Vec<(ExternalKey, account_profile::Model)>, StoreError> {
    let by_institution = ids_by_institution(items);
    if by_institution.is_empty() {
        return Ok(Vec::new());
    }
    use account_profile::Column as C;
    let condition = ids_condition(by_institution, [C::Institution, C::StudentNumber, C::HrId]);
    let rows = account_profile::Entity::find()
        .filter(condition)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| profile_key(&row).map(|key| (key, row)))
        .collect())
}

/// The profile rows of these accounts, by account.
async fn profiles_of_accounts(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<account_profile::Model>>, StoreError> {
    let mut out: HashMap<String, Vec<account_profile::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = account_profile::Entity::find()
        .filter(account_profile::Column::AccountId.is_in(ids))
        .order_by_asc(account_profile::Column::LinkedAt)
        .all(conn)
        .await?;
    for row in rows {
        out.entry(row.account_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// The accounts new records may be the person of: same folded names and
/// birth date, same personal mail or same mobile phone, in the record's
/// institution, not purged (the comparison itself is the domain's).
async fn duplicate_candidates(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
) -> Result<Vec<account::Model>, StoreError> {
    use account::Column as C;
    // Each fact as one IN list per institution: a long OR of equalities
    // costs PostgreSQL's planner more than the look-ups.
    let mut wanted: HashMap<&str, [Vec<String>; 3]> = HashMap::new();
    for item in items {
        let record = &item.record;
        let [keys, mails, phones] = wanted.entry(record.institution.as_str()).or_default();
        for fact in &item.duplicates.match_on {
            match fact {
                DuplicateMatch::NamesAndBirthDate => keys.extend(record_person_key(record)),
                DuplicateMatch::PersonalMail => {
                    mails.extend(record.personal_mail.as_ref().map(|m| m.as_str().to_owned()))
                }
                DuplicateMatch::MobilePhone => {
                    phones.extend(record.mobile_phone.as_ref().map(|p| p.as_str().to_owned()))
                }
            }
        }
    }
    let mut condition = Condition::any();
    for (institution, lists) in wanted {
        let mut facts = Condition::any();
        for (column, values) in [C::PersonKey, C::PersonalMail, C::MobilePhone]
            .into_iter()
            .zip(lists)
        {
            if !values.is_empty() {
                facts = facts.add(column.is_in(values));
            }
        }
        if !facts.is_empty() {
            condition = condition.add(
                Condition::all()
                    .add(C::Institution.eq(institution))
                    .add(facts),
            );
        }
    }
    if condition.is_empty() {
        return Ok(Vec::new());
    }
    let query = account::Entity::find()
        .filter(condition)
        .filter(C::PurgedAt.is_null());
    Ok(lock_in_id_order(conn, query).all(conn).await?)
}

/// Which account holds each INE the records carry.
async fn ine_holders(
    conn: &impl ConnectionTrait,
    items: &[&ProvisionItem],
) -> Result<HashMap<(String, String), String>, StoreError> {
    let mut by_institution: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in items {
        if let Some(ine) = &item.record.ine {
            by_institution
                .entry(item.record.institution.as_str())
                .or_default()
                .push(ine.as_str());
        }
    }
    if by_institution.is_empty() {
        return Ok(HashMap::new());
    }
    let mut condition = Condition::any();
    for (institution, ines) in by_institution {
        condition = condition.add(
            Condition::all()
                .add(account::Column::Institution.eq(institution))
                .add(account::Column::Ine.is_in(ines)),
        );
    }
    let rows: Vec<(String, String, Option<String>)> = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .column(account::Column::Institution)
        .column(account::Column::Ine)
        .filter(condition)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, institution, ine)| ine.map(|ine| ((institution, ine), id)))
        .collect())
}

/// Which logins and institutional mail addresses are taken, per name stem,
/// kept up to date as the chunk allocates.
struct TakenNames {
    taken: HashMap<(String, Column, String), HashSet<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Login,
    Mail,
}

impl Column {
    fn entity_column(self) -> account::Column {
        match self {
            Column::Login => account::Column::LoginKey,
            Column::Mail => account::Column::InstitutionalMail,
        }
    }
}

/// The name stems a new account of `item` allocates from.
fn stems(item: &ProvisionItem) -> Vec<(Column, String)> {
    let record = &item.record;
    let names = names(record);
    let mut stems = Vec::new();
    if let Some(stem) = item
        .profile
        .institutional_mail
        .as_ref()
        .and_then(|s| s.stem(&names))
    {
        stems.push((Column::Mail, stem));
    }
    if let Ok(Some(stem)) = item.profile.login.stem(&names) {
        stems.push((Column::Login, stem.to_lowercase()));
    }
    stems
}

fn names(record: &ValidRecord) -> NameParts<'_> {
    NameParts {
        given_name: record.given_name.as_str(),
        family_name: record.family_name.as_str(),
        student_number: record.student_number(),
        hr_id: record.hr_id(),
    }
}

impl TakenNames {
    async fn fetch(
        conn: &impl ConnectionTrait,
        items: &[&ProvisionItem],
        existing: &HashMap<ExternalKey, account::Model>,
    ) -> Result<TakenNames, StoreError> {
        let mut wanted: HashSet<(String, Column, String)> = HashSet::new();
        for item in items {
            if existing.contains_key(&ExternalKey::of(&item.record)) {
                continue;
            }
            for (column, stem) in stems(item) {
                wanted.insert((item.record.institution.clone(), column, stem));
            }
        }
        let mut taken: HashMap<(String, Column, String), HashSet<String>> =
            wanted.iter().map(|k| (k.clone(), HashSet::new())).collect();
        // One query per (institution, column) and group of stems, so that
        // each is a set of ranges on one index.
        let mut groups: HashMap<(String, Column), Vec<String>> = HashMap::new();
        for (institution, column, stem) in wanted {
            groups.entry((institution, column)).or_default().push(stem);
        }
        for ((institution, column), stems) in groups {
            for group in stems.chunks(STEM_BATCH) {
                let values = taken_in_ranges(conn, &institution, column, group).await?;
                for value in values.into_iter().flatten() {
                    let value = value.to_lowercase();
                    for stem in group.iter().filter(|stem| value.starts_with(stem.as_str())) {
                        if let Some(set) =
                            taken.get_mut(&(institution.clone(), column, stem.clone()))
                        {
                            set.insert(value.clone());
                        }
                    }
                }
            }
        }
        Ok(TakenNames { taken })
    }

    /// The first free candidate, now marked taken.
    fn allocate(
        &mut self,
        institution: &str,
        column: Column,
        stem: &str,
        candidate: impl FnMut(u32) -> Option<String>,
        limit: u32,
    ) -> Option<String> {
        let set = self
            .taken
            .entry((institution.to_owned(), column, stem.to_lowercase()))
            .or_default();
        let chosen = first_free(candidate, |c| set.contains(c), limit)?;
        set.insert(chosen.to_lowercase());
        Some(chosen)
    }
}

/// The values of `column` starting with any of `stems`, in one statement:
/// a list of ranges joined to the `(institution, column)` index. (The same
/// ranges as a long OR cost PostgreSQL tens of milliseconds of planning per
/// call.) A range rather than LIKE: LIKE cannot use the index on SQLite
/// (case-insensitive) nor on PostgreSQL outside the C collation.
async fn taken_in_ranges(
    conn: &impl ConnectionTrait,
    institution: &str,
    column: Column,
    stems: &[String],
) -> Result<Vec<Option<String>>, StoreError> {
    use sea_orm::{DbBackend, EntityName, IdenStatic, Statement, Value};
    let backend = conn.get_database_backend();
    // The n-th (from 1) bound parameter in the backend's syntax.
    let at = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let mut values: Vec<Value> = Vec::with_capacity(stems.len() * 2 + 1);
    let mut rows = Vec::with_capacity(stems.len());
    for stem in stems {
        rows.push(format!(
            "({}, {})",
            at(values.len() + 1),
            at(values.len() + 2)
        ));
        values.push(Value::from(stem.clone()));
        values.push(Value::from(prefix_upper_bound(stem)));
    }
    let institution_at = at(values.len() + 1);
    values.push(Value::from(institution.to_owned()));
    // Names from the entity, quoted: never caller text.
    let name = format!("\"{}\"", column.entity_column().as_str());
    let table = format!("\"{}\"", account::Entity.table_name());
    let institution_col = format!("\"{}\"", account::Column::Institution.as_str());
    let sql = format!(
        "SELECT a.{name} FROM (VALUES {}) AS r JOIN {table} a \
         ON a.{institution_col} = {institution_at} AND a.{name} >= r.column1 AND a.{name} < r.column2",
        rows.join(", ")
    );
    let found = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    found
        .iter()
        .map(|row| {
            row.try_get_by_index::<Option<String>>(0)
                .map_err(StoreError::from)
        })
        .collect()
}

/// The smallest string greater than every string starting with `stem`.
fn prefix_upper_bound(stem: &str) -> String {
    let mut bound = stem.to_owned();
    bound.push(char::MAX);
    bound
}

/// The stored form of a record's personal data.
struct WantedData {
    profile: String,
    ine: Option<String>,
    given_name: String,
    family_name: String,
    birth_date: Option<chrono::NaiveDate>,
    mobile_phone: Option<String>,
    personal_mail: Option<String>,
}

impl From<&ValidRecord> for WantedData {
    fn from(record: &ValidRecord) -> Self {
        WantedData {
            profile: record.profile.clone(),
            ine: record.ine.as_ref().map(|i| i.as_str().to_owned()),
            given_name: record.given_name.as_str().to_owned(),
            family_name: record.family_name.as_str().to_owned(),
            birth_date: record.birth_date.map(|b| b.date()),
            mobile_phone: record.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            personal_mail: record.personal_mail.as_ref().map(|m| m.as_str().to_owned()),
        }
    }
}

/// A returning person (re-enrolment, re-hiring) gets full access back and
/// loses any announced departure. Under a lock, the state the lock hides
/// is restored; the lock stays. The state restored, if any.
fn restore_on_return(
    updated: &mut account::Model,
    status: AccountStatus,
    now: DateTime<Utc>,
) -> Option<AccountStatus> {
    let account = updated.clone();
    let hidden = (status == AccountStatus::Locked)
        .then(|| {
            account
                .status_before_lock
                .as_deref()
                .and_then(AccountStatus::parse)
        })
        .flatten();
    let restored = hidden
        .unwrap_or(status)
        .on_return(account.activated_at.is_some());
    if let Some(new_status) = restored {
        if hidden.is_some() {
            updated.status_before_lock = Some(new_status.as_str().to_owned());
        } else {
            updated.status = new_status.as_str().to_owned();
            updated.status_changed_at = now;
        }
    }
    restored
}

fn status_of(account: &account::Model) -> Result<AccountStatus, StoreError> {
    AccountStatus::parse(&account.status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "account {} has status {:?}",
            account.id, account.status
        ))
    })
}

/// The person's data a record brings, on the account its own id names;
/// the changed fields. (A linked profile's record does not rewrite the
/// person the account's own record describes.)
fn sync_person(updated: &mut account::Model, record: &ValidRecord) -> Vec<&'static str> {
    let wanted = WantedData::from(record);
    let mut changed_fields: Vec<&'static str> = Vec::new();
    macro_rules! sync {
        ($field:ident) => {
            if updated.$field != wanted.$field {
                updated.$field = wanted.$field;
                changed_fields.push(stringify!($field));
            }
        };
    }
    sync!(profile);
    sync!(ine);
    sync!(given_name);
    sync!(family_name);
    sync!(birth_date);
    sync!(mobile_phone);
    if changed_fields.contains(&"mobile_phone") {
        // A new number was never proven: a reset code waits until it is.
        updated.mobile_phone_verified_at = None;
    }
    sync!(personal_mail);
    updated.person_key = record_person_key(record);
    changed_fields
}

/// On an account of several profiles, the profile a record names is
/// active again, under the profile code the record now gives; what changed.
fn reopen_profile(
    batch: &mut Batch,
    item: &ProvisionItem,
    links: &[account_profile::Model],
    updated: &mut account::Model,
) -> Result<Option<&'static str>, StoreError> {
    let named = |r: &&account_profile::Model| profile_key(r) == Some(ExternalKey::of(&item.record));
    let stale = |r: &&account_profile::Model| {
        r.end_of_activity_date.is_some() || r.profile != item.record.profile
    };
    let Some(row) = links.iter().find(named).filter(stale) else {
        return Ok(None);
    };
    let changed = if row.end_of_activity_date.is_some() {
        "profile_end"
    } else {
        "profiles"
    };
    let row = account_profile::Model {
        profile: item.record.profile.clone(),
        end_of_activity_date: None,
        retention_end_date: None,
        ..row.clone()
    };
    let all: Vec<account_profile::Model> = links
        .iter()
        .map(|r| {
            if r.id == row.id {
                row.clone()
            } else {
                r.clone()
            }
        })
        .collect();
    updated.linked_profiles = Some(profiles_text(&all)?);
    batch.link_updates.push(row.into_active_model().reset_all());
    Ok(Some(changed))
}

fn plan_update(
    batch: &mut Batch,
    item: &ProvisionItem,
    account: &account::Model,
    links: &[account_profile::Model],
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Provisioned, ProvisionError> {
    let status = status_of(account)?;
    let mut updated = account.clone();
    let own_record = ExternalKey::of_account(account) == Some(ExternalKey::of(&item.record));
    let mut changed_fields = if own_record {
        sync_person(&mut updated, &item.record)
    } else {
        Vec::new()
    };
    changed_fields.extend(reopen_profile(batch, item, links, &mut updated)?);
    let restored = restore_on_return(&mut updated, status, now);
    if updated.end_of_activity_date.is_some() || updated.retention_end_date.is_some() {
        updated.end_of_activity_date = None;
        updated.retention_end_date = None;
        updated.next_expiry_notice_on = None;
        updated.expired_at = None;
        changed_fields.push("end_of_activity_date");
    }
    let outcome = match (restored, changed_fields.is_empty()) {
        (Some(_), _) => ProvisionOutcome::Restored,
        (None, true) => ProvisionOutcome::Unchanged,
        (None, false) => ProvisionOutcome::Updated,
    };
    if outcome != ProvisionOutcome::Unchanged {
        updated.updated_at = now;
        batch
            .updates
            .push(updated.clone().into_active_model().reset_all());
        let (action, kind) = match outcome {
            ProvisionOutcome::Restored => ("account.restored", ChangeKind::Restored),
            _ => ("account.updated", ChangeKind::Updated),
        };
        batch.audit(
            ctx,
            now,
            &updated,
            action,
            json!({ "fields": changed_fields, "status": updated.status }),
        );
        batch.change(&updated, kind)?;
    }
    Ok(Provisioned {
        outcome,
        account: account_of(updated)?,
        material: None,
        held_record_id: None,
    })
}

/// The stored copy, on the account row, of its profile rows.
fn profiles_text(rows: &[account_profile::Model]) -> Result<String, StoreError> {
    let profiles: Vec<_> = rows
        .iter()
        .cloned()
        .map(crate::profiles::linked_of)
        .collect::<Result<_, _>>()?;
    crate::account_fields::linked_profiles_text(&profiles)
}

/// Keeps a record that names a person who has an account, for an
/// administrator; the same record again changes nothing.
fn plan_hold(
    batch: &mut Batch,
    item: &ProvisionItem,
    target: LinkTarget<'_>,
    before: Option<held_record::Model>,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Provisioned, ProvisionError> {
    let record = &item.record;
    let input = item.input.as_ref().ok_or_else(|| {
        StoreError::Corrupt("a record to hold came without the record as received".into())
    })?;
    let text = serde_json::to_string(input)
        .map_err(|e| StoreError::Corrupt(format!("held record: {e}")))?;
    let row = held_record::Model {
        id: before.as_ref().map_or_else(new_id, |h| h.id.clone()),
        institution: record.institution.clone(),
        profile: record.profile.clone(),
        student_number: record.student_number().map(str::to_owned),
        hr_id: record.hr_id().map(str::to_owned),
        record: text,
        candidate_id: target.account.id.clone(),
        matched_on: target.matched.name().to_owned(),
        status: HeldStatus::Pending.as_str().to_owned(),
        held_at: now,
        decided_at: None,
        decided_by: None,
        account_id: None,
    };
    let unchanged = before.as_ref().is_some_and(|b| {
        b.status == row.status && b.record == row.record && b.candidate_id == row.candidate_id
    });
    if !unchanged {
        let active = row.clone().into_active_model().reset_all();
        match before {
            Some(_) => batch.held_updates.push(active),
            None => batch.held_inserts.push(active),
        }
        batch.audit(
            ctx,
            now,
            target.account,
            "account.record_held",
            json!({
                "profile": record.profile,
                "matched_on": row.matched_on,
                "held_record_id": row.id,
            }),
        );
    }
    Ok(Provisioned {
        outcome: ProvisionOutcome::Held,
        account: account_of(target.account.clone())?,
        material: None,
        held_record_id: Some(row.id),
    })
}

/// A profile row of `account` as it stands.
fn profile_row_of(account: &account::Model, now: DateTime<Utc>) -> account_profile::Model {
    account_profile::Model {
        id: new_id(),
        account_id: account.id.clone(),
        institution: account.institution.clone(),
        profile: account.profile.clone(),
        kind: account.kind.clone(),
        student_number: account.student_number.clone(),
        hr_id: account.hr_id.clone(),
        end_of_activity_date: account.end_of_activity_date,
        retention_end_date: account.retention_end_date,
        linked_at: now,
    }
}

/// Adds a record's profile to the account of the same person: the account
/// gets a row per profile (its own first, when it had one profile), lives
/// as long as the last of them, and so loses an announced end. The person
/// keeps their login, password and what they chose; no new material.
fn plan_link(
    batch: &mut Batch,
    item: &ProvisionItem,
    target: LinkTarget<'_>,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Provisioned, ProvisionError> {
    let account = target.account;
    let record = &item.record;
    let status = status_of(account)?;
    let mut all = target.links.to_vec();
    if all.is_empty() {
        let own = profile_row_of(account, now);
        batch
            .link_inserts
            .push(own.clone().into_active_model().reset_all());
        all.push(own);
    }
    let row = account_profile::Model {
        profile: record.profile.clone(),
        kind: record.kind.as_str().to_owned(),
        student_number: record.student_number().map(str::to_owned),
        hr_id: record.hr_id().map(str::to_owned),
        end_of_activity_date: None,
        retention_end_date: None,
        ..profile_row_of(account, now)
    };
    all.push(row.clone());
    batch.link_inserts.push(row.into_active_model().reset_all());
    let mut updated = account.clone();
    updated.linked_profiles = Some(profiles_text(&all)?);
    let restored = restore_on_return(&mut updated, status, now);
    updated.end_of_activity_date = None;
    updated.retention_end_date = None;
    updated.next_expiry_notice_on = None;
    updated.expired_at = None;
    updated.updated_at = now;
    batch
        .updates
        .push(updated.clone().into_active_model().reset_all());
    batch.audit(
        ctx,
        now,
        &updated,
        "account.profile_linked",
        json!({
            "profile": record.profile,
            "matched_on": target.matched.name(),
            "status": updated.status,
        }),
    );
    let kind = match restored {
        Some(_) => ChangeKind::Restored,
        None => ChangeKind::Updated,
    };
    batch.change(&updated, kind)?;
    Ok(Provisioned {
        outcome: ProvisionOutcome::Linked,
        account: account_of(updated)?,
        material: None,
        held_record_id: None,
    })
}

fn plan_create(
    batch: &mut Batch,
    taken: &mut TakenNames,
    item: &ProvisionItem,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<Provisioned, ProvisionError> {
    let profile = &item.profile;
    let (login, institutional_mail) = allocate_identifiers(taken, &item.record, profile)?;
    let available_at = activation_opens_at(profile, now);
    let mut account = new_account(&item.record, login, institutional_mail, available_at, now);
    if let Some(stay) = &item.guest {
        account.sponsor_id = Some(stay.sponsor_id.clone());
        account.end_of_activity_date = Some(stay.last_day);
        account.retention_end_date = Some(stay.retention_end);
        account.next_expiry_notice_on = stay.first_notice_on;
    }
    let created = account_of(account.clone())?;
    let PlannedMaterial { secret, expires_at } =
        plan_material(batch, item, &created, available_at, now)?;
    batch
        .inserts
        .push(account.clone().into_active_model().reset_all());
    batch.audit(
        ctx,
        now,
        &account,
        "account.provisioned",
        json!({ "profile": account.profile, "login": account.login }),
    );
    batch.change(&account, ChangeKind::Created)?;
    Ok(Provisioned {
        outcome: ProvisionOutcome::Created,
        account: created,
        material: Some(IssuedMaterial {
            channel: profile.activation.channel,
            secret,
            available_at,
            expires_at,
        }),
        held_record_id: None,
    })
}

/// A new person's login and institutional mail address, the first free
/// ones of their schemes.
fn allocate_identifiers(
    taken: &mut TakenNames,
    record: &ValidRecord,
    profile: &ProfileSettings,
) -> Result<(String, Option<String>), ProvisionError> {
    let names = names(record);
    let institution = record.institution.as_str();
    let institutional_mail = match &profile.institutional_mail {
        Some(scheme) => {
            let stem = scheme.stem(&names).ok_or(LoginError::NoLetters)?;
            Some(
                taken
                    .allocate(
                        institution,
                        Column::Mail,
                        &stem,
                        |n| scheme.candidate(&stem, n),
                        10_000,
                    )
                    .ok_or(ProvisionError::LoginsExhausted)?,
            )
        }
        None => None,
    };
    let login = match profile.login.stem(&names)? {
        None => institutional_mail.clone().ok_or(LoginError::NoMailScheme)?,
        Some(stem) => taken
            .allocate(
                institution,
                Column::Login,
                &stem,
                |n| profile.login.candidate(&stem, n),
                1_000_000,
            )
            .ok_or(ProvisionError::LoginsExhausted)?,
    };
    Ok((login, institutional_mail))
}

/// The row of a new account, awaiting activation.
fn new_account(
    record: &ValidRecord,
    login: String,
    institutional_mail: Option<String>,
    available_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> account::Model {
    let institution = record.institution.as_str();
    let wanted = WantedData::from(record);
    account::Model {
        id: new_id(),
        institution: institution.to_owned(),
        profile: wanted.profile,
        kind: record.kind.as_str().to_owned(),
        status: AccountStatus::initial(available_at, now)
            .as_str()
            .to_owned(),
        status_changed_at: now,
        status_before_lock: None,
        login_key: login.to_lowercase(),
        login,
        institutional_mail,
        student_number: record.student_number().map(str::to_owned),
        ine: wanted.ine,
        hr_id: record.hr_id().map(str::to_owned),
        given_name: wanted.given_name,
        family_name: wanted.family_name,
        birth_date: wanted.birth_date,
        mobile_phone: wanted.mobile_phone,
        mobile_phone_verified_at: None,
        personal_mail: wanted.personal_mail,
        recovery_mail: None,
        recovery_mail_verified_at: None,
        recovery_phone: None,
        recovery_phone_verified_at: None,
        consent_answers: None,
        activation_available_at: available_at,
        activated_at: None,
        password_hash: None,
        password_changed_at: None,
        password_expires_at: None,
        password_must_change: false,
        charter_version: None,
        charter_accepted_at: None,
        directory_listed: None,
        directory_decided_at: None,
        photo_uses: String::new(),
        photo_refused: false,
        photo_decided_at: None,
        crous_sharing: None,
        crous_decided_at: None,
        redirect_address: None,
        redirect_keep_copy: false,
        redirect_verified_at: None,
        antispam_level: None,
        directory_entry: None,
        end_of_activity_date: None,
        retention_end_date: None,
        purged_at: None,
        next_expiry_notice_on: None,
        next_password_reminder_at: None,
        expired_at: None,
        created_at: now,
        updated_at: now,
        sponsor_id: None,
        person_key: record_person_key(record),
        linked_profiles: None,
        alumni_asked_for: None,
        alumni_kept_for: None,
    }
}

/// What the person activates with, by the profile's channel: a printed
/// secret (returned, to print) or a link mailed when activation opens;
/// and until when it works.
fn plan_material(
    batch: &mut Batch,
    item: &ProvisionItem,
    account: &Account,
    available_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<PlannedMaterial, ProvisionError> {
    let profile = &item.profile;
    let expires_at = material_expires_at(profile, now);
    let secret: Option<Secret> = match printed_secret(profile.activation.channel) {
        Some((kind, purpose)) => {
            let spec = SecretSpec {
                kind,
                purpose,
                not_before: Some(available_at),
                expires_at,
                keys: &batch.keys,
            };
            let (secret, row) = secret_row(&account.id, spec, now)?;
            batch.secrets.push(row);
            Some(secret)
        }
        None => None,
    };
    if profile.activation.channel == ActivationChannel::MailedLink
        && let (Some(link), Some(personal_mail)) = (&item.link_mail, &account.personal_mail)
    {
        // Mailed when activation opens, valid for the material lifetime
        // from then (Montpellier: 15 minutes after enrolment, for 24 hours).
        let window = super::activation::LinkWindow {
            opens: available_at,
            expires_at,
        };
        let mailed = super::activation::activation_link(account, personal_mail, link, window)?;
        batch.secrets.push(mailed.secret.row(now));
        batch.messages.push(mailed.message);
    }
    Ok(PlannedMaterial { secret, expires_at })
}

/// The printed secret of new material, if the channel prints one, and
/// until when the material works.
struct PlannedMaterial {
    secret: Option<Secret>,
    expires_at: Option<DateTime<Utc>>,
}

/// Advisory-lock namespace of login allocation ("ENT" in ASCII).
const LOGIN_LOCK_NAMESPACE: i32 = 0x454E54;
/// Family names are spread over this many locks: enough that unrelated names
/// seldom wait for each other, few enough that a bulk chunk stays far below
/// PostgreSQL's lock table size.
const LOGIN_LOCK_BUCKETS: u32 = 128;

/// The login-allocation lock of a record's family name, within its
/// institution.
fn name_lock_bucket(item: &ProvisionItem) -> i32 {
    use sha2::{Digest, Sha256};
    let key = format!(
        "{} {}",
        item.record.institution,
        fold_name(item.record.family_name.as_str())
    );
    let digest = Sha256::digest(key.as_bytes());
    // Below LOGIN_LOCK_BUCKETS: fits.
    (u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % LOGIN_LOCK_BUCKETS) as i32
}

/// On PostgreSQL, serialises login allocation per family name for the rest of
/// the transaction, so concurrent namesakes never race for `jmartin001`.
/// Every stem of a person contains their family name, so namesakes always
/// share a lock. Locks are taken in one sorted pass at the start, so two
/// transactions cannot deadlock on them. SQLite needs none: it has one writer
/// at a time.
async fn lock_name_stems(
    conn: &impl ConnectionTrait,
    items: &[ProvisionItem],
) -> Result<(), StoreError> {
    let mut buckets: Vec<i32> = items.iter().map(name_lock_bucket).collect();
    buckets.sort_unstable();
    buckets.dedup();
    if buckets.is_empty() {
        return Ok(());
    }
    // One statement for all the chunk's buckets, taken in ascending order
    // (PostgreSQL evaluates a volatile output expression after the sort).
    // The values are our own bucket numbers, not caller input.
    let values: Vec<String> = buckets.iter().map(|b| format!("({b})")).collect();
    conn.execute_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        format!(
            "SELECT pg_advisory_xact_lock({LOGIN_LOCK_NAMESPACE}, b) FROM (VALUES {}) AS v(b) ORDER BY b",
            values.join(", ")
        ),
    ))
    .await?;
    Ok(())
}
