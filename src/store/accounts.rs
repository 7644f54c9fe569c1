//! Accounts: provisioning (create or update, idempotent on the external id),
//! lookups, and activation material.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::json;

use super::entities::{account, one_time_secret};
use super::feed::{ChangeKind, PendingChange, append_changes};
use super::{AuditContext, DatabaseKind, Store, StoreError, new_id, record_audit};
use crate::config::{ActivationChannel, ProfileSettings};
use crate::domain::account::AccountStatus;
use crate::domain::login::{LoginError, NameParts, first_free};
use crate::domain::provisioning::{
    ExternalId, ValidRecord, activation_opens_at, material_expires_at,
};
use crate::domain::secret::{Secret, SecretKind, generate};

/// How to find one account.
#[derive(Debug, Clone, Copy)]
pub enum AccountLookup<'a> {
    Id(&'a str),
    Login {
        institution: &'a str,
        login: &'a str,
    },
    InstitutionalMail {
        institution: &'a str,
        mail: &'a str,
    },
    StudentNumber {
        institution: &'a str,
        number: &'a str,
    },
    Ine {
        institution: &'a str,
        ine: &'a str,
    },
    HrId {
        institution: &'a str,
        hr_id: &'a str,
    },
}

/// What provisioning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionOutcome {
    Created,
    Updated,
    Unchanged,
    Restored,
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
    pub account: account::Model,
    pub material: Option<IssuedMaterial>,
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

impl From<sea_orm::DbErr> for ProvisionError {
    fn from(e: sea_orm::DbErr) -> Self {
        ProvisionError::Store(e.into())
    }
}

/// Why activation material could not be reissued.
#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    #[error("no such account")]
    NotFound,
    #[error("the account is already activated")]
    AlreadyActivated,
    #[error("this profile activates without printed material ({0:?})")]
    NoMaterial(ActivationChannel),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One record to provision with its profile's rules.
#[derive(Debug, Clone)]
pub struct ProvisionItem {
    pub record: ValidRecord,
    pub profile: ProfileSettings,
}

/// Attempts at one record when concurrent calls win the race for a login.
const MAX_ATTEMPTS: u32 = 8;

impl Store {
    /// Provisions `items` in one transaction, each record in its own
    /// savepoint: a refused record leaves the others untouched.
    pub async fn provision(
        &self,
        items: &[ProvisionItem],
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> Result<Vec<Result<Provisioned, ProvisionError>>, StoreError> {
        let write = self.begin_write().await?;
        if self.kind() == DatabaseKind::Postgres {
            lock_login_stems(&write.txn, items).await?;
        }
        let mut results = Vec::with_capacity(items.len());
        let mut changes = Vec::new();
        for item in items {
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let savepoint = write.txn.begin().await?;
                match provision_one(&savepoint, item, now, ctx).await {
                    Ok((provisioned, change)) => {
                        savepoint.commit().await?;
                        changes.extend(change);
                        break Ok(provisioned);
                    }
                    Err(error) => {
                        savepoint.rollback().await?;
                        let race =
                            matches!(&error, ProvisionError::Store(e) if e.is_unique_violation());
                        if race && attempt < MAX_ATTEMPTS {
                            continue;
                        }
                        break Err(error);
                    }
                }
            };
            results.push(result);
        }
        append_changes(&write.txn, &changes, now).await?;
        write.commit().await?;
        Ok(results)
    }

    /// Finds one account.
    pub async fn find_account(
        &self,
        lookup: AccountLookup<'_>,
    ) -> Result<Option<account::Model>, StoreError> {
        Ok(find(self.connection(), lookup).await?)
    }

    /// Issues new activation material, revoking what was issued before.
    pub async fn reissue_material(
        &self,
        lookup: AccountLookup<'_>,
        profile: &ProfileSettings,
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> Result<(account::Model, IssuedMaterial), ReissueError> {
        let write = self.begin_write().await?;
        let account = find(&write.txn, lookup)
            .await
            .map_err(StoreError::from)?
            .ok_or(ReissueError::NotFound)?;
        if account.activated_at.is_some() {
            return Err(ReissueError::AlreadyActivated);
        }
        let Some((kind, purpose)) = printed_secret(profile.activation.channel) else {
            return Err(ReissueError::NoMaterial(profile.activation.channel));
        };
        one_time_secret::Entity::update_many()
            .col_expr(one_time_secret::Column::RevokedAt, Expr::value(now))
            .filter(one_time_secret::Column::AccountId.eq(&account.id))
            .filter(one_time_secret::Column::Purpose.eq(purpose))
            .filter(one_time_secret::Column::UsedAt.is_null())
            .filter(one_time_secret::Column::RevokedAt.is_null())
            .exec(&write.txn)
            .await
            .map_err(StoreError::from)?;
        let expires_at = material_expires_at(profile, now);
        let secret = issue_secret(
            &write.txn,
            &account.id,
            kind,
            purpose,
            Some(account.activation_available_at),
            expires_at,
            now,
        )
        .await?;
        record_audit(
            &write.txn,
            ctx,
            now,
            &account.institution,
            Some(&account.id),
            "activation.material_reissued",
            json!({ "channel": purpose }),
        )
        .await?;
        write.commit().await?;
        let available_at = account.activation_available_at;
        Ok((
            account,
            IssuedMaterial {
                channel: profile.activation.channel,
                secret: Some(secret),
                available_at,
                expires_at,
            },
        ))
    }
}

async fn find(
    conn: &impl ConnectionTrait,
    lookup: AccountLookup<'_>,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    use account::Column as C;
    let query = account::Entity::find();
    let query = match lookup {
        AccountLookup::Id(id) => query.filter(C::Id.eq(id)),
        AccountLookup::Login { institution, login } => query
            .filter(C::Institution.eq(institution))
            .filter(C::LoginKey.eq(login.trim().to_lowercase())),
        AccountLookup::InstitutionalMail { institution, mail } => query
            .filter(C::Institution.eq(institution))
            .filter(C::InstitutionalMail.eq(mail.trim().to_lowercase())),
        AccountLookup::StudentNumber {
            institution,
            number,
        } => query
            .filter(C::Institution.eq(institution))
            .filter(C::StudentNumber.eq(number.trim())),
        AccountLookup::Ine { institution, ine } => query
            .filter(C::Institution.eq(institution))
            .filter(C::Ine.eq(ine.trim().to_uppercase())),
        AccountLookup::HrId { institution, hr_id } => query
            .filter(C::Institution.eq(institution))
            .filter(C::HrId.eq(hr_id.trim())),
    };
    query.one(conn).await
}

/// The secret a channel prints, and its purpose in `one_time_secrets`.
fn printed_secret(channel: ActivationChannel) -> Option<(SecretKind, &'static str)> {
    match channel {
        ActivationChannel::ActivationKey => Some((SecretKind::ActivationKey, "activation_key")),
        ActivationChannel::ProvisionalPassword => {
            Some((SecretKind::ProvisionalPassword, "provisional_password"))
        }
        ActivationChannel::MailedLink | ActivationChannel::IdentityMatch => None,
    }
}

async fn issue_secret(
    conn: &impl ConnectionTrait,
    account_id: &str,
    kind: SecretKind,
    purpose: &str,
    not_before: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Secret, StoreError> {
    let secret = generate(kind)?;
    one_time_secret::ActiveModel {
        id: Set(new_id()),
        account_id: Set(account_id.to_owned()),
        purpose: Set(purpose.to_owned()),
        secret_hash: Set(secret.hash(kind)),
        target: Set(None),
        flow_id: Set(None),
        failed_attempts: Set(0),
        created_at: Set(now),
        not_before: Set(not_before),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(secret)
}

/// The lowercased values of `column` in `institution` that start with
/// `stem`.
async fn taken_with_stem(
    conn: &impl ConnectionTrait,
    institution: &str,
    column: account::Column,
    stem: &str,
) -> Result<HashSet<String>, StoreError> {
    let rows: Vec<Option<String>> = account::Entity::find()
        .select_only()
        .column(column)
        .filter(account::Column::Institution.eq(institution))
        // A range rather than LIKE: LIKE cannot use the index on SQLite
        // (case-insensitive) nor on PostgreSQL outside the C locale.
        .filter(column.gte(stem))
        .filter(column.lt(prefix_upper_bound(stem)))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .flatten()
        .map(|v| v.to_lowercase())
        .collect())
}

/// Advisory-lock namespace of login allocation ("ENT" in ASCII).
const LOGIN_LOCK_NAMESPACE: i32 = 0x454E54;
/// Stems are spread over this many locks: enough that unrelated names seldom
/// wait for each other, few enough that a bulk chunk stays far below
/// PostgreSQL's lock table size.
const LOGIN_LOCK_BUCKETS: u32 = 128;

/// On PostgreSQL, serialises login allocation per name stem for the rest of
/// the transaction, so concurrent namesakes never race for `jmartin001`
/// (and never exhaust their retries doing so). Locks are taken in one sorted
/// pass at the start, so two transactions cannot deadlock on them. SQLite
/// needs none: it has one writer at a time.
async fn lock_login_stems(conn: &impl ConnectionTrait, items: &[ProvisionItem]) -> Result<(), StoreError> {
    use sha2::{Digest, Sha256};
    let mut buckets: Vec<i32> = items
        .iter()
        .map(|item| {
            let key = format!("{}\u{0}{}", item.record.institution, item.record.family_name.as_str());
            let digest = Sha256::digest(crate::domain::login::fold_name(&key).as_bytes());
            (u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % LOGIN_LOCK_BUCKETS) as i32
        })
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    for bucket in buckets {
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            [LOGIN_LOCK_NAMESPACE.into(), bucket.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The smallest string greater than every string starting with `stem`.
fn prefix_upper_bound(stem: &str) -> String {
    let mut bound = stem.to_owned();
    bound.push(char::MAX);
    bound
}

async fn provision_one(
    conn: &impl ConnectionTrait,
    item: &ProvisionItem,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<(Provisioned, Option<PendingChange>), ProvisionError> {
    let record = &item.record;
    let lookup = match &record.external_id {
        ExternalId::StudentNumber(n) => AccountLookup::StudentNumber {
            institution: &record.institution,
            number: n.as_str(),
        },
        ExternalId::HrId(id) => AccountLookup::HrId {
            institution: &record.institution,
            hr_id: id.as_str(),
        },
    };
    let existing = find(conn, lookup).await?;
    if let Some(ine) = &record.ine {
        let holder = find(
            conn,
            AccountLookup::Ine {
                institution: &record.institution,
                ine: ine.as_str(),
            },
        )
        .await?;
        if let Some(holder) = holder
            && existing.as_ref().is_none_or(|e| e.id != holder.id)
        {
            return Err(ProvisionError::IdentifierTaken {
                field: "ine",
                message: "this INE belongs to another account".into(),
            });
        }
    }
    match existing {
        Some(account) => update_existing(conn, item, account, now, ctx).await,
        None => create(conn, item, now, ctx).await,
    }
}

async fn update_existing(
    conn: &impl ConnectionTrait,
    item: &ProvisionItem,
    account: account::Model,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<(Provisioned, Option<PendingChange>), ProvisionError> {
    let record = &item.record;
    let status = AccountStatus::parse(&account.status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "account {} has status {:?}",
            account.id, account.status
        ))
    })?;
    let wanted = WantedData::from(record);
    let mut changed_fields: Vec<&'static str> = Vec::new();
    let mut model = account.clone().into_active_model();
    macro_rules! sync {
        ($field:ident, $value:expr) => {
            if account.$field != $value {
                model.$field = Set($value);
                changed_fields.push(stringify!($field));
            }
        };
    }
    sync!(profile, wanted.profile);
    sync!(ine, wanted.ine);
    sync!(given_name, wanted.given_name);
    sync!(family_name, wanted.family_name);
    sync!(birth_date, wanted.birth_date);
    sync!(mobile_phone, wanted.mobile_phone);
    sync!(personal_mail, wanted.personal_mail);

    // A returning person (re-enrolment, re-hiring) gets full access back and
    // loses any announced departure.
    let restored_status = status.on_return(account.activated_at.is_some());
    if let Some(new_status) = restored_status {
        model.status = Set(new_status.as_str().to_owned());
        model.status_changed_at = Set(now);
    }
    if account.end_of_activity_date.is_some() || account.retention_end_date.is_some() {
        model.end_of_activity_date = Set(None);
        model.retention_end_date = Set(None);
        changed_fields.push("end_of_activity_date");
    }
    let outcome = if restored_status.is_some() {
        ProvisionOutcome::Restored
    } else if changed_fields.is_empty() {
        ProvisionOutcome::Unchanged
    } else {
        ProvisionOutcome::Updated
    };
    if outcome == ProvisionOutcome::Unchanged {
        return Ok((
            Provisioned {
                outcome,
                account,
                material: None,
            },
            None,
        ));
    }
    model.updated_at = Set(now);
    let updated = model.update(conn).await?;
    let (action, kind) = match outcome {
        ProvisionOutcome::Restored => ("account.restored", ChangeKind::StatusChanged),
        _ => ("account.updated", ChangeKind::Updated),
    };
    record_audit(
        conn,
        ctx,
        now,
        &updated.institution,
        Some(&updated.id),
        action,
        json!({ "fields": changed_fields, "status": updated.status }),
    )
    .await?;
    let change = PendingChange {
        account_id: updated.id.clone(),
        institution: updated.institution.clone(),
        kind,
    };
    Ok((
        Provisioned {
            outcome,
            account: updated,
            material: None,
        },
        Some(change),
    ))
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
            birth_date: Some(record.birth_date.date()),
            mobile_phone: record.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            personal_mail: record.personal_mail.as_ref().map(|m| m.as_str().to_owned()),
        }
    }
}

async fn create(
    conn: &impl ConnectionTrait,
    item: &ProvisionItem,
    now: DateTime<Utc>,
    ctx: &AuditContext,
) -> Result<(Provisioned, Option<PendingChange>), ProvisionError> {
    let record = &item.record;
    let profile = &item.profile;
    let names = NameParts {
        given_name: record.given_name.as_str(),
        family_name: record.family_name.as_str(),
        student_number: record.student_number(),
    };
    let institutional_mail = match &profile.institutional_mail {
        Some(scheme) => {
            let stem = scheme.stem(&names).ok_or(LoginError::NoLetters)?;
            let taken = taken_with_stem(
                conn,
                &record.institution,
                account::Column::InstitutionalMail,
                &stem,
            )
            .await?;
            Some(
                first_free(
                    |n| Some(scheme.candidate(&stem, n)),
                    |c| taken.contains(c),
                    10_000,
                )
                .ok_or(ProvisionError::LoginsExhausted)?,
            )
        }
        None => None,
    };
    let login = match profile.login.stem(&names)? {
        None => institutional_mail.clone().ok_or(LoginError::NoMailScheme)?,
        Some(stem) => {
            let taken = taken_with_stem(
                conn,
                &record.institution,
                account::Column::LoginKey,
                &stem.to_lowercase(),
            )
            .await?;
            first_free(
                |n| profile.login.candidate(&stem, n),
                |c| taken.contains(c),
                1_000_000,
            )
            .ok_or(ProvisionError::LoginsExhausted)?
        }
    };
    let available_at = activation_opens_at(profile, now);
    let status = AccountStatus::initial(available_at, now);
    let wanted = WantedData::from(record);
    let id = new_id();
    let model = account::ActiveModel {
        id: Set(id.clone()),
        institution: Set(record.institution.clone()),
        profile: Set(wanted.profile),
        kind: Set(record.kind.as_str().to_owned()),
        status: Set(status.as_str().to_owned()),
        status_changed_at: Set(now),
        status_before_lock: Set(None),
        login_key: Set(login.to_lowercase()),
        login: Set(login),
        institutional_mail: Set(institutional_mail),
        student_number: Set(record.student_number().map(str::to_owned)),
        ine: Set(wanted.ine),
        hr_id: Set(record.hr_id().map(str::to_owned)),
        given_name: Set(wanted.given_name),
        family_name: Set(wanted.family_name),
        birth_date: Set(wanted.birth_date),
        mobile_phone: Set(wanted.mobile_phone),
        personal_mail: Set(wanted.personal_mail),
        recovery_mail: Set(None),
        recovery_mail_verified_at: Set(None),
        activation_available_at: Set(available_at),
        activated_at: Set(None),
        password_hash: Set(None),
        password_changed_at: Set(None),
        password_expires_at: Set(None),
        password_must_change: Set(false),
        charter_version: Set(None),
        charter_accepted_at: Set(None),
        directory_listed: Set(None),
        directory_decided_at: Set(None),
        photo_uses: Set(String::new()),
        photo_refused: Set(false),
        photo_decided_at: Set(None),
        crous_sharing: Set(None),
        crous_decided_at: Set(None),
        redirect_address: Set(None),
        redirect_keep_copy: Set(false),
        redirect_verified_at: Set(None),
        antispam_level: Set(None),
        directory_entry: Set(None),
        end_of_activity_date: Set(None),
        retention_end_date: Set(None),
        purged_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let account = model.insert(conn).await?;
    let expires_at = material_expires_at(profile, now);
    let secret = match printed_secret(profile.activation.channel) {
        Some((kind, purpose)) => Some(
            issue_secret(
                conn,
                &id,
                kind,
                purpose,
                Some(available_at),
                expires_at,
                now,
            )
            .await?,
        ),
        None => None,
    };
    record_audit(
        conn,
        ctx,
        now,
        &account.institution,
        Some(&account.id),
        "account.provisioned",
        json!({ "profile": account.profile, "login": account.login }),
    )
    .await?;
    let change = PendingChange {
        account_id: account.id.clone(),
        institution: account.institution.clone(),
        kind: ChangeKind::Created,
    };
    Ok((
        Provisioned {
            outcome: ProvisionOutcome::Created,
            account,
            material: Some(IssuedMaterial {
                channel: profile.activation.channel,
                secret,
                available_at,
                expires_at,
            }),
        },
        Some(change),
    ))
}
