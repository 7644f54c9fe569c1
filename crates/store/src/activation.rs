//! Activation flows and the one-time secrets around them: entry secrets
//! (key, provisional password, mailed link), identity codes, verification
//! links and codes, and completion — the account becomes active in one
//! transaction with everything the flow collected.

use crate::AuditEntry;
use crate::account_fields::account_of;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use super::entities::{account, activation_flow, one_time_secret};
use super::feed::{ChangeKind, PendingChange, append_changes_known, snapshot_of};
use super::outbox::{Content, NewMessage, enqueue};
use super::passwords::push_history;
use super::secrets::{NewSecret, Purpose, SecretScope, revoke_live};
use super::{AuditContext, Store, StoreError, new_id, record_audit};
use domain::account::AccountStatus;
use domain::activation::{FlowState, PhotoDecision};
use domain::institution::portal_link;
use std::collections::HashMap;

/// What the store needs to mail an activation link that it issues inside
/// its own transaction (provisioning allocates the login there): the
/// institution's portal, for the link's address, and the words of the
/// mail, given by the caller — the store never words what people read.
#[derive(Clone)]
pub struct LinkMail {
    /// [`InstitutionSettings::portal_url`](domain::institution::InstitutionSettings::portal_url).
    pub portal_url: String,
    pub word: WordActivationLink,
}

/// Words the mail that carries an activation link.
pub type WordActivationLink =
    std::sync::Arc<dyn Fn(&ActivationLinkFacts<'_>) -> Content + Send + Sync>;

/// What the mail carrying an activation link says.
pub struct ActivationLinkFacts<'a> {
    pub login: &'a str,
    pub url: &'a str,
    /// Absent: the link works until used.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for LinkMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMail")
            .field("portal_url", &self.portal_url)
            .finish_non_exhaustive()
    }
}

/// A fresh activation link for an account awaiting activation: the secret
/// to store and the mail to the personal address that carries it, sent
/// when activation opens and valid until `expires_at`.
pub fn activation_link(
    account: &Account,
    personal_mail: &str,
    link: &LinkMail,
    window: LinkWindow,
) -> Result<MailedLink, StoreError> {
    use domain::secret::{SecretKind, generate};
    let LinkWindow { opens, expires_at } = window;
    let token = generate(SecretKind::Token, &mut rand::rngs::SysRng)?;
    let content = (link.word)(&ActivationLinkFacts {
        login: &account.login,
        url: &portal_link(
            &link.portal_url,
            domain::institution::ACTIVATION_LINK_PAGE,
            &token,
        ),
        expires_at,
    });
    Ok(MailedLink {
        secret: NewSecret {
            account_id: account.id.clone(),
            purpose: Purpose::ActivationLink,
            hash: domain::secret::hash_secret(SecretKind::Token, token.expose()),
            target: Some(personal_mail.to_owned()),
            flow_id: None,
            not_before: Some(opens),
            expires_at,
        },
        message: NewMessage {
            account_id: Some(account.id.clone()),
            channel: super::outbox::Channel::Mail,
            recipient: personal_mail.to_owned(),
            template: Purpose::ActivationLink.as_str().to_owned(),
            content,
            not_before: opens,
        },
    })
}

/// New secrets of an account with the messages that carry them; the live
/// ones of the `revoke` purposes stop working; audited when `audit` says
/// what was done, for whom.
#[derive(Debug, Default)]
pub struct SecretIssue<'a> {
    pub revoke: &'a [Purpose],
    pub secrets: Vec<NewSecret>,
    pub messages: Vec<NewMessage>,
    pub audit: Option<(&'static str, serde_json::Value, &'a AuditContext)>,
}

/// When a mailed activation link works: from when activation opens, and
/// until the material's end, if it has one.
#[derive(Debug, Clone, Copy)]
pub struct LinkWindow {
    pub opens: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A mailed link: its secret and the mail that carries it.
#[derive(Debug)]
pub struct MailedLink {
    pub secret: NewSecret,
    pub message: NewMessage,
}

/// What goes with a change of a flow, in its transaction.
#[derive(Debug, Default)]
pub struct FlowWrites {
    /// Pending secrets of these purposes (of this flow) stop working.
    pub revoke: Vec<Purpose>,
    /// Secrets whose use this change consumes.
    pub spend: Vec<String>,
    pub secrets: Vec<NewSecret>,
    pub messages: Vec<NewMessage>,
    /// An audit event of the account: action and details.
    pub audit: Option<(&'static str, serde_json::Value)>,
}

/// A new flow: the hash of the token that stands for it, its first state
/// and its end.
#[derive(Debug, Clone, Copy)]
pub struct FlowStart<'a> {
    pub token_hash: &'a str,
    pub state: &'a FlowState,
    pub expires_at: DateTime<Utc>,
}

/// A flow and its account.
#[derive(Debug, Clone)]
pub struct LoadedFlow {
    pub flow: activation_flow::Model,
    pub state: FlowState,
    pub account: Account,
}

/// Why a flow could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FlowWriteError {
    /// Another request changed the flow (or the account) meanwhile.
    #[error("the flow changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for FlowWriteError {
    fn from(e: sea_orm::DbErr) -> Self {
        FlowWriteError::Store(e.into())
    }
}

fn live(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(one_time_secret::Column::UsedAt.is_null())
        .add(one_time_secret::Column::RevokedAt.is_null())
        .add(
            Condition::any()
                .add(one_time_secret::Column::ExpiresAt.is_null())
                .add(one_time_secret::Column::ExpiresAt.gt(now)),
        )
}

fn encode_state(state: &FlowState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(format!("flow state: {e}")))
}

impl Store {
    /// The newest live secret of `purpose` for an account (whatever its
    /// `not_before`: the caller decides what an early use means).
    pub async fn live_secret(
        &self,
        account_id: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Option<one_time_secret::Model>, StoreError> {
        Ok(one_time_secret::Entity::find()
            .filter(one_time_secret::Column::AccountId.eq(account_id))
            .filter(one_time_secret::Column::Purpose.eq(purpose.as_str()))
            .filter(live(now))
            .order_by_desc(one_time_secret::Column::CreatedAt)
            .one(self.connection())
            .await?)
    }

    /// A live secret by its hash.
    pub async fn secret_by_hash(
        &self,
        hash: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Option<one_time_secret::Model>, StoreError> {
        Ok(one_time_secret::Entity::find()
            .filter(one_time_secret::Column::SecretHash.eq(hash))
            .filter(one_time_secret::Column::Purpose.eq(purpose.as_str()))
            .filter(live(now))
            .one(self.connection())
            .await?)
    }

    /// The live secrets of a flow of these purposes, newest first.
    pub async fn flow_secrets(
        &self,
        flow_id: &str,
        purposes: &[Purpose],
        now: DateTime<Utc>,
    ) -> Result<Vec<one_time_secret::Model>, StoreError> {
        Ok(one_time_secret::Entity::find()
            .filter(one_time_secret::Column::FlowId.eq(flow_id))
            .filter(
                one_time_secret::Column::Purpose
                    .is_in(purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
            )
            .filter(live(now))
            .order_by_desc(one_time_secret::Column::CreatedAt)
            .all(self.connection())
            .await?)
    }

    /// The newest secret of `purpose` issued for a flow, live or not (for
    /// the resend cooldown).
    pub async fn last_flow_secret(
        &self,
        flow_id: &str,
        purpose: Purpose,
    ) -> Result<Option<one_time_secret::Model>, StoreError> {
        Ok(one_time_secret::Entity::find()
            .filter(one_time_secret::Column::FlowId.eq(flow_id))
            .filter(one_time_secret::Column::Purpose.eq(purpose.as_str()))
            .order_by_desc(one_time_secret::Column::CreatedAt)
            .one(self.connection())
            .await?)
    }

    /// Counts a wrong entry against secrets (a code and the link mailed
    /// with it count together); at `max_attempts` they are revoked. Returns
    /// whether any was.
    pub async fn secrets_failed(
        &self,
        secret_ids: &[String],
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let write = self.begin_write().await?;
        one_time_secret::Entity::update_many()
            .col_expr(
                one_time_secret::Column::FailedAttempts,
                Expr::col(one_time_secret::Column::FailedAttempts).add(1),
            )
            .filter(one_time_secret::Column::Id.is_in(secret_ids))
            .exec(&write.txn)
            .await?;
        let revoked = one_time_secret::Entity::update_many()
            .col_expr(one_time_secret::Column::RevokedAt, Expr::value(now))
            .filter(one_time_secret::Column::Id.is_in(secret_ids))
            .filter(one_time_secret::Column::RevokedAt.is_null())
            .filter(one_time_secret::Column::FailedAttempts.gte(max_attempts as i32))
            .exec(&write.txn)
            .await?
            .rows_affected
            > 0;
        write.commit().await?;
        Ok(revoked)
    }

    /// Starts a flow, with what goes with it (an identity code and its
    /// messages), and audits the start.
    pub async fn start_flow(
        &self,
        account: &Account,
        start: FlowStart<'_>,
        writes: FlowWrites,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<activation_flow::Model, StoreError> {
        let write = self.begin_write().await?;
        let flow = activation_flow::ActiveModel {
            id: Set(new_id()),
            account_id: Set(account.id.clone()),
            token_hash: Set(start.token_hash.to_owned()),
            state: Set(encode_state(start.state)?),
            created_at: Set(now),
            updated_at: Set(now),
            expires_at: Set(start.expires_at),
            completed_at: Set(None),
        }
        .insert(&write.txn)
        .await?;
        let writes = FlowWrites {
            audit: Some(("activation.started", json!({}))),
            ..writes
        };
        apply_writes(&write.txn, (&flow.id, account), writes, ctx, now).await?;
        write.commit().await?;
        Ok(flow)
    }

    /// The flow a token stands for (its own token, or one given to another
    /// browser), unexpired, with its account.
    pub async fn find_flow(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LoadedFlow>, StoreError> {
        let mut flow = activation_flow::Entity::find()
            .filter(activation_flow::Column::TokenHash.eq(token_hash))
            .one(self.connection())
            .await?;
        if flow.is_none()
            && let Some(handle) = self
                .secret_by_hash(token_hash, Purpose::FlowToken, now)
                .await?
            && let Some(flow_id) = handle.flow_id
        {
            flow = activation_flow::Entity::find_by_id(flow_id)
                .one(self.connection())
                .await?;
        }
        let Some(flow) = flow.filter(|f| f.expires_at > now) else {
            return Ok(None);
        };
        self.load_flow(flow).await
    }

    /// A flow by id (for a mailed link, which names its flow).
    pub async fn flow_by_id(
        &self,
        flow_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LoadedFlow>, StoreError> {
        let Some(flow) = activation_flow::Entity::find_by_id(flow_id)
            .one(self.connection())
            .await?
            .filter(|f| f.expires_at > now)
        else {
            return Ok(None);
        };
        self.load_flow(flow).await
    }

    async fn load_flow(
        &self,
        flow: activation_flow::Model,
    ) -> Result<Option<LoadedFlow>, StoreError> {
        let state: FlowState = serde_json::from_str(&flow.state)
            .map_err(|e| StoreError::Corrupt(format!("flow {}: {e}", flow.id)))?;
        let Some(account) = account::Entity::find_by_id(&flow.account_id)
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(LoadedFlow {
            flow,
            state,
            account: account_of(account)?,
        }))
    }

    /// Stores a flow's new state if nobody changed it since `loaded`, with
    /// what goes with the change.
    pub async fn save_flow(
        &self,
        loaded: &LoadedFlow,
        state: &FlowState,
        writes: FlowWrites,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<(), FlowWriteError> {
        let write = self.begin_write().await?;
        let updated = activation_flow::Entity::update_many()
            .col_expr(
                activation_flow::Column::State,
                Expr::value(encode_state(state)?),
            )
            .col_expr(activation_flow::Column::UpdatedAt, Expr::value(now))
            .filter(activation_flow::Column::Id.eq(&loaded.flow.id))
            .filter(activation_flow::Column::State.eq(&loaded.flow.state))
            .filter(activation_flow::Column::CompletedAt.is_null())
            .exec(&write.txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(FlowWriteError::Conflict);
        }
        let of = (loaded.flow.id.as_str(), &loaded.account);
        apply_writes(&write.txn, of, writes, ctx, now).await?;
        write.commit().await?;
        Ok(())
    }

    /// Completes a flow: the account becomes active with its password,
    /// recovery address, consents and redirect, the entry material is
    /// spent, other flows end, and the change is audited and fed — all in
    /// one transaction, or nothing.
    pub async fn complete_activation(
        &self,
        loaded: &LoadedFlow,
        state: &FlowState,
        completion: Completion<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, FlowWriteError> {
        let write = self.begin_write().await?;
        let account_id = &loaded.account.id;
        finish_flow(&write.txn, loaded, state, now).await?;
        let account = activate(&write.txn, account_id, state, &completion, now).await?;
        push_history(
            &write.txn,
            account_id,
            completion.password_hash,
            completion.history_count,
            now,
        )
        .await?;
        end_activation_material(&write.txn, loaded, now).await?;
        for secret in completion.secrets {
            secret.row(now).insert(&write.txn).await?;
        }
        for message in completion.messages {
            enqueue(&write.txn, message, now).await?;
        }
        record_activation(&write.txn, (loaded, &account), state, ctx, now).await?;
        write.commit().await?;
        Ok(account_of(account)?)
    }

    /// Completes a reactivation flow: the flow ends and the new password is
    /// stored (with the mailed key spent and every other recovery secret
    /// revoked), in one transaction.
    pub async fn complete_reactivation(
        &self,
        loaded: &LoadedFlow,
        state: &FlowState,
        password: super::passwords::NewPassword<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, FlowWriteError> {
        let write = self.begin_write().await?;
        finish_flow(&write.txn, loaded, state, now).await?;
        let account = super::passwords::write_password(&write.txn, password, ctx, now)
            .await
            .map_err(|e| match e {
                super::passwords::SetPasswordError::Store(e) => FlowWriteError::Store(e),
                _ => FlowWriteError::Conflict,
            })?;
        // Other reactivation flows of the account can no longer complete.
        activation_flow::Entity::update_many()
            .col_expr(activation_flow::Column::ExpiresAt, Expr::value(now))
            .filter(activation_flow::Column::AccountId.eq(&loaded.account.id))
            .filter(activation_flow::Column::Id.ne(&loaded.flow.id))
            .filter(activation_flow::Column::CompletedAt.is_null())
            .exec(&write.txn)
            .await?;
        write.commit().await?;
        Ok(account_of(account)?)
    }

    /// Issues secrets and queues messages for an account outside any flow
    /// (a fresh activation link), revoking live secrets of `revoke`.
    pub async fn issue_account_secrets(
        &self,
        account: &Account,
        issue: SecretIssue<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let SecretIssue {
            revoke,
            secrets,
            messages,
            audit,
        } = issue;
        let account_id = &account.id;
        let write = self.begin_write().await?;
        if let Some((action, details, ctx)) = audit {
            record_audit(
                &write.txn,
                ctx,
                AuditEntry {
                    institution: &account.institution,
                    account_id: Some(account_id),
                    action,
                    details,
                },
                now,
            )
            .await?;
        }
        revoke_live(&write.txn, SecretScope::Account(account_id), revoke, now).await?;
        for secret in secrets {
            secret.row(now).insert(&write.txn).await?;
        }
        for message in messages {
            enqueue(&write.txn, message, now).await?;
        }
        write.commit().await
    }
}

/// The photo decision as the account's columns: the uses allowed, the
/// refusal, when it was decided.
fn photo_columns(state: &FlowState) -> (String, bool, Option<DateTime<Utc>>) {
    match &state.photo {
        Some((PhotoDecision::Allow(uses), at)) => {
            let uses: Vec<&str> = uses.iter().map(|u| u.as_str()).collect();
            (uses.join(","), false, Some(*at))
        }
        Some((PhotoDecision::Refuse, at)) => (String::new(), true, Some(*at)),
        None => (String::new(), false, None),
    }
}

/// The flow's consents set on the account.
fn with_consents(
    update: sea_orm::UpdateMany<account::Entity>,
    state: &FlowState,
) -> sea_orm::UpdateMany<account::Entity> {
    use account::Column as A;
    let (photo_uses, photo_refused, photo_at) = photo_columns(state);
    update
        .col_expr(
            A::DirectoryListed,
            Expr::value(state.directory_listed.map(|d| d.0)),
        )
        .col_expr(
            A::DirectoryDecidedAt,
            Expr::value(state.directory_listed.map(|d| d.1)),
        )
        .col_expr(A::PhotoUses, Expr::value(photo_uses))
        .col_expr(A::PhotoRefused, Expr::value(photo_refused))
        .col_expr(A::PhotoDecidedAt, Expr::value(photo_at))
        .col_expr(
            A::CrousSharing,
            Expr::value(state.crous_sharing.map(|c| c.0)),
        )
        .col_expr(
            A::CrousDecidedAt,
            Expr::value(state.crous_sharing.map(|c| c.1)),
        )
        .col_expr(
            A::ConsentAnswers,
            Expr::value(crate::account_fields::answers_text(&state.consents)),
        )
}

/// The account becomes active with the flow's choices and the password,
/// unless another request activated it first.
/// The flow's choices (recovery address, consents, redirect) set on the
/// account.
fn with_choices(
    update: sea_orm::UpdateMany<account::Entity>,
    state: &FlowState,
) -> sea_orm::UpdateMany<account::Entity> {
    use account::Column as A;
    let redirect = state.redirect.as_ref();
    let update = update
        .col_expr(A::RecoveryMail, Expr::value(state.recovery_mail.clone()))
        .col_expr(
            A::RecoveryMailVerifiedAt,
            Expr::value(state.recovery_mail_verified_at),
        )
        .col_expr(A::RecoveryPhone, Expr::value(state.recovery_phone.clone()))
        .col_expr(
            A::RecoveryPhoneVerifiedAt,
            Expr::value(state.recovery_phone_verified_at),
        )
        .col_expr(
            A::CharterVersion,
            Expr::value(state.charter.as_ref().map(|c| c.0.clone())),
        )
        .col_expr(
            A::CharterAcceptedAt,
            Expr::value(state.charter.as_ref().map(|c| c.1)),
        )
        .col_expr(
            A::RedirectAddress,
            Expr::value(redirect.and_then(|r| r.address.clone())),
        )
        .col_expr(
            A::RedirectKeepCopy,
            Expr::value(redirect.is_some_and(|r| r.keep_copy)),
        )
        .col_expr(
            A::RedirectVerifiedAt,
            Expr::value(redirect.and_then(|r| r.verified_at)),
        );
    let update = with_consents(update, state);
    let update = match &state.mobile_phone_verified {
        // Proven only if the record did not bring another number since.
        Some((phone, at)) => update.col_expr(
            A::MobilePhoneVerifiedAt,
            sea_orm::sea_query::CaseStatement::new()
                .case(
                    Expr::col(A::MobilePhone).eq(phone.clone()),
                    Expr::value(*at),
                )
                .finally(Expr::col(A::MobilePhoneVerifiedAt))
                .into(),
        ),
        None => update,
    };
    match &state.names {
        // The names the person typed (a guest's) replace the sponsor's.
        Some((given, family)) => update
            .col_expr(A::GivenName, Expr::value(given.clone()))
            .col_expr(A::FamilyName, Expr::value(family.clone())),
        None => update,
    }
}

async fn activate(
    conn: &impl ConnectionTrait,
    account_id: &str,
    state: &FlowState,
    completion: &Completion<'_>,
    now: DateTime<Utc>,
) -> Result<account::Model, FlowWriteError> {
    use account::Column as A;
    let mut updated = with_choices(account::Entity::update_many(), state)
        .col_expr(A::Status, Expr::value(AccountStatus::Active.as_str()))
        .col_expr(A::StatusChangedAt, Expr::value(now))
        .col_expr(A::ActivatedAt, Expr::value(now))
        .col_expr(A::PasswordHash, Expr::value(completion.password_hash))
        .col_expr(A::PasswordChangedAt, Expr::value(now))
        .col_expr(
            A::PasswordExpiresAt,
            Expr::value(completion.password_expires_at),
        )
        .col_expr(
            A::NextPasswordReminderAt,
            Expr::value(completion.password_reminder_at),
        )
        .col_expr(A::PasswordMustChange, Expr::value(false))
        .col_expr(A::UpdatedAt, Expr::value(now))
        .filter(A::Id.eq(account_id))
        .filter(A::ActivatedAt.is_null())
        .filter(A::Status.is_in([
            AccountStatus::PreCreated.as_str(),
            AccountStatus::Created.as_str(),
        ]))
        // The row as activated: what the call answers and the feed keeps,
        // without reading it again.
        .exec_with_returning(conn)
        .await?;
    match (updated.pop(), updated.is_empty()) {
        (Some(account), true) => Ok(account),
        _ => Err(FlowWriteError::Conflict),
    }
}

/// Every activation secret of the account is spent or void, and its
/// other flows can no longer complete.
async fn end_activation_material(
    conn: &impl ConnectionTrait,
    loaded: &LoadedFlow,
    now: DateTime<Utc>,
) -> Result<(), FlowWriteError> {
    let account_id = &loaded.account.id;
    let flow_id = &loaded.flow.id;
    // Every activation secret of the account is spent or void now:
    // the printed key or password, the mailed link, pending codes. The
    // flow's own handles (a verification link opened in another browser)
    // keep showing its completion until the flow expires, as its first
    // token does; other flows' handles die with their flows, below.
    one_time_secret::Entity::update_many()
        .col_expr(one_time_secret::Column::UsedAt, Expr::value(now))
        .filter(one_time_secret::Column::AccountId.eq(account_id))
        .filter(one_time_secret::Column::UsedAt.is_null())
        .filter(one_time_secret::Column::RevokedAt.is_null())
        .filter(one_time_secret::Column::Purpose.is_in([
            Purpose::ActivationKey.as_str(),
            Purpose::ProvisionalPassword.as_str(),
            Purpose::ActivationLink.as_str(),
            Purpose::DeskActivationLink.as_str(),
            Purpose::IdentityCode.as_str(),
            Purpose::RecoveryMailVerification.as_str(),
            Purpose::RedirectVerification.as_str(),
        ]))
        .exec(conn)
        .await?;
    // Other flows of the account can no longer complete.
    activation_flow::Entity::update_many()
        .col_expr(activation_flow::Column::ExpiresAt, Expr::value(now))
        .filter(activation_flow::Column::AccountId.eq(account_id))
        .filter(activation_flow::Column::Id.ne(flow_id))
        .filter(activation_flow::Column::CompletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The activation's audit event and its two feed entries.
async fn record_activation(
    conn: &impl ConnectionTrait,
    (loaded, activated): (&LoadedFlow, &account::Model),
    state: &FlowState,
    ctx: &AuditContext,
    now: DateTime<Utc>,
) -> Result<(), FlowWriteError> {
    let account_id = &loaded.account.id;
    let flow_id = &loaded.flow.id;
    let redirect = state.redirect.as_ref();
    let photo_refused = matches!(state.photo, Some((PhotoDecision::Refuse, _)));
    record_audit(
        conn,
        ctx,
        AuditEntry {
            institution: &loaded.account.institution,
            account_id: Some(account_id),
            action: "account.activated",
            details: json!({
                "flow_id": flow_id,
                "charter_version": state.charter.as_ref().map(|c| &c.0),
                "directory_listed": state.directory_listed.map(|d| d.0),
                "photo_refused": photo_refused,
                "crous_sharing": state.crous_sharing.map(|c| c.0),
                "redirect": redirect.is_some_and(|r| r.address.is_some()),
            }),
        },
        now,
    )
    .await?;
    // A photo refused while activating is deleted like one refused later
    // (Bordeaux offers the choice only here).
    let kinds = [ChangeKind::Activated, ChangeKind::PasswordChanged]
        .into_iter()
        .chain(photo_refused.then_some(ChangeKind::PhotoDeletionRequested));
    let changes: Vec<PendingChange> = kinds
        .map(|kind| PendingChange {
            account_id: account_id.clone(),
            institution: loaded.account.institution.clone(),
            kind,
        })
        .collect();
    let known = HashMap::from([(account_id.clone(), snapshot_of(activated)?)]);
    append_changes_known(conn, &changes, known, now).await?;
    Ok(())
}

/// What completion writes besides the flow's state.
pub struct Completion<'a> {
    pub password_hash: &'a str,
    pub password_expires_at: Option<DateTime<Utc>>,
    /// When the expiry batch first reminds the owner to change it.
    pub password_reminder_at: Option<DateTime<Utc>>,
    pub history_count: usize,
    /// A confirmation mail, for example.
    pub messages: Vec<NewMessage>,
    /// Secrets issued with the activation (the link confirming a recovery
    /// address after activation).
    pub secrets: Vec<NewSecret>,
}

/// Marks a flow completed with its final state, unless another request
/// changed or completed it since `loaded`.
async fn finish_flow(
    conn: &impl ConnectionTrait,
    loaded: &LoadedFlow,
    state: &FlowState,
    now: DateTime<Utc>,
) -> Result<(), FlowWriteError> {
    let updated = activation_flow::Entity::update_many()
        .col_expr(
            activation_flow::Column::State,
            Expr::value(encode_state(state)?),
        )
        .col_expr(activation_flow::Column::UpdatedAt, Expr::value(now))
        .col_expr(activation_flow::Column::CompletedAt, Expr::value(now))
        .filter(activation_flow::Column::Id.eq(&loaded.flow.id))
        .filter(activation_flow::Column::State.eq(&loaded.flow.state))
        .filter(activation_flow::Column::CompletedAt.is_null())
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(FlowWriteError::Conflict);
    }
    Ok(())
}

async fn apply_writes(
    conn: &impl ConnectionTrait,
    (flow_id, account): (&str, &Account),
    writes: FlowWrites,
    ctx: &AuditContext,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some((action, mut details)) = writes.audit {
        details["flow_id"] = json!(flow_id);
        record_audit(
            conn,
            ctx,
            AuditEntry {
                institution: &account.institution,
                account_id: Some(&account.id),
                action,
                details,
            },
            now,
        )
        .await?;
    }
    revoke_live(conn, SecretScope::Flow(flow_id), &writes.revoke, now).await?;
    if !writes.spend.is_empty() {
        one_time_secret::Entity::update_many()
            .col_expr(one_time_secret::Column::UsedAt, Expr::value(now))
            .filter(one_time_secret::Column::Id.is_in(writes.spend))
            .filter(one_time_secret::Column::UsedAt.is_null())
            .exec(conn)
            .await?;
    }
    for mut secret in writes.secrets {
        if secret.flow_id.is_none() && secret.purpose != Purpose::ActivationLink {
            secret.flow_id = Some(flow_id.to_owned());
        }
        secret.row(now).insert(conn).await?;
    }
    for message in writes.messages {
        enqueue(conn, message, now).await?;
    }
    Ok(())
}
