//! One-time secrets: what each is for, how a new one is stored (its hash
//! only), and how the live ones of a purpose stop working. Keys and
//! provisional passwords printed on documents, mailed links, codes.

use chrono::{DateTime, Utc};
use domain::institution::ActivationChannel;
use domain::secret::{Secret, SecretKeys, SecretKind, generate};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::entities::one_time_secret;
use super::{StoreError, new_id};

/// What a one-time secret is for (`one_time_secrets.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ActivationKey,
    ProvisionalPassword,
    /// The link mailed to the personal address (Montpellier students).
    ActivationLink,
    /// An activation link a desk agent handed over in person, after
    /// checking the person's identity (profiles with no printed material).
    DeskActivationLink,
    /// The code sent by SMS and mail after an identity match.
    IdentityCode,
    RecoveryMailVerification,
    /// The code sent by SMS to a mobile phone given during activation.
    PhoneVerification,
    RedirectVerification,
    /// An extra handle on a flow, given to the browser that opened a link.
    FlowToken,
    /// A mailed password-reset link.
    PasswordReset,
    /// A code sent by SMS for a forgotten password, traded for a reset
    /// link's token once typed.
    ResetCode,
    /// A new activation key mailed for a forgotten password (Bordeaux
    /// Montaigne); the account goes through reactivation with it.
    ReactivationKey,
    /// The link verifying a new recovery address after activation.
    RecoveryMailChange,
    /// The code sent by SMS to a new recovery phone, after activation.
    RecoveryPhoneChange,
    /// The link verifying a new redirect address after activation.
    RedirectChange,
    /// Proof that the person typed their password a few minutes ago, for
    /// one sensitive change.
    StepUp,
    /// The link of a request to keep a former student's account
    /// (`domain::alumni`).
    AlumniOffer,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ActivationKey => "activation_key",
            Purpose::ProvisionalPassword => "provisional_password",
            Purpose::ActivationLink => "activation_link",
            Purpose::DeskActivationLink => "desk_activation_link",
            Purpose::IdentityCode => "identity_code",
            Purpose::RecoveryMailVerification => "recovery_mail_verification",
            Purpose::PhoneVerification => "phone_verification",
            Purpose::RedirectVerification => "redirect_verification",
            Purpose::FlowToken => "flow_token",
            Purpose::PasswordReset => "password_reset",
            Purpose::ResetCode => "reset_code",
            Purpose::ReactivationKey => "reactivation_key",
            Purpose::RecoveryMailChange => "recovery_mail_change",
            Purpose::RecoveryPhoneChange => "recovery_phone_change",
            Purpose::RedirectChange => "redirect_change",
            Purpose::StepUp => "step_up",
            Purpose::AlumniOffer => "alumni_offer",
        }
    }
}

/// A secret to store: its hash and where it belongs.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub account_id: String,
    pub purpose: Purpose,
    pub hash: String,
    /// The address it was sent to.
    pub target: Option<String>,
    pub flow_id: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewSecret {
    pub(crate) fn row(self, now: DateTime<Utc>) -> one_time_secret::ActiveModel {
        one_time_secret::ActiveModel {
            id: Set(new_id()),
            account_id: Set(self.account_id),
            purpose: Set(self.purpose.as_str().to_owned()),
            secret_hash: Set(self.hash),
            target: Set(self.target),
            flow_id: Set(self.flow_id),
            failed_attempts: Set(0),
            created_at: Set(now),
            not_before: Set(self.not_before),
            expires_at: Set(self.expires_at),
            used_at: Set(None),
            revoked_at: Set(None),
        }
    }
}

/// Whose secrets a revocation covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SecretScope<'a> {
    Account(&'a str),
    /// Several accounts' (a batch chunk's).
    Accounts(&'a [String]),
    Flow(&'a str),
}

/// Revokes the unused, unrevoked secrets of `purposes` in `scope`.
pub(crate) async fn revoke_live(
    conn: &impl ConnectionTrait,
    scope: SecretScope<'_>,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if purposes.is_empty() {
        return Ok(());
    }
    let owner = match scope {
        SecretScope::Account(id) => one_time_secret::Column::AccountId.eq(id),
        SecretScope::Accounts(ids) => one_time_secret::Column::AccountId.is_in(ids.to_vec()),
        SecretScope::Flow(id) => one_time_secret::Column::FlowId.eq(id),
    };
    one_time_secret::Entity::update_many()
        .col_expr(one_time_secret::Column::RevokedAt, Expr::value(now))
        .filter(owner)
        .filter(
            one_time_secret::Column::Purpose
                .is_in(purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
        )
        .filter(one_time_secret::Column::UsedAt.is_null())
        .filter(one_time_secret::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The secret a channel prints, and its purpose in `one_time_secrets`.
pub(crate) fn printed_secret(channel: ActivationChannel) -> Option<(SecretKind, Purpose)> {
    match channel {
        ActivationChannel::ActivationKey => {
            Some((SecretKind::ActivationKey, Purpose::ActivationKey))
        }
        ActivationChannel::ProvisionalPassword => Some((
            SecretKind::ProvisionalPassword,
            Purpose::ProvisionalPassword,
        )),
        ActivationChannel::MailedLink | ActivationChannel::IdentityMatch => None,
    }
}

/// A secret to print or mail: what kind, for what, when it works, and the
/// keys that hash it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecretSpec<'k> {
    pub kind: SecretKind,
    pub purpose: Purpose,
    pub not_before: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub keys: &'k SecretKeys,
}

/// A new one-time secret and the row that stores its hash.
pub(crate) fn secret_row(
    account_id: &str,
    spec: SecretSpec<'_>,
    now: DateTime<Utc>,
) -> Result<(Secret, one_time_secret::ActiveModel), StoreError> {
    let secret = generate(spec.kind, &mut rand::rngs::SysRng)?;
    let row = NewSecret {
        account_id: account_id.to_owned(),
        purpose: spec.purpose,
        hash: secret.hash(spec.kind, spec.keys),
        target: None,
        flow_id: None,
        not_before: spec.not_before,
        expires_at: spec.expires_at,
    }
    .row(now);
    Ok((secret, row))
}

pub(crate) async fn issue_secret(
    conn: &impl ConnectionTrait,
    account_id: &str,
    spec: SecretSpec<'_>,
    now: DateTime<Utc>,
) -> Result<Secret, StoreError> {
    let (secret, row) = secret_row(account_id, spec, now)?;
    row.insert(conn).await?;
    Ok(secret)
}
