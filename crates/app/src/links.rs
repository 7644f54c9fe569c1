//! Links mailed to an active account's new addresses (recovery address,
//! redirect), shared by the account page, the redirect service and the
//! end of an activation whose recovery address is confirmed afterwards.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::institution::InstitutionSettings;
use domain::problem::Problem;

use crate::App;
use crate::error::{AppError, Exhausted, internal};
use crate::texts::mail::{self, VerificationMail, Verifying};
use domain::activation::mask_mail;
use domain::language::Language;
use domain::refusal::Precondition;
use domain::secret::{SecretKind, generate, hash_secret};
use store::accounts::AccountLookup;
use store::entities::one_time_secret;
use store::outbox::{Channel, NewMessage};
use store::secrets::{NewSecret, Purpose};

/// The one answer to a mailed link that does not work, whatever the
/// reason (used, expired, replaced, unknown).
pub fn link_unusable() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::LinkExpired,
        subject: "token".into(),
        message: "this link was already used, has expired or was replaced: ask for a new one"
            .into(),
    }
}

/// A verification link: the secret to store, the mail that carries it and
/// what the user is shown.
pub struct AddressLink {
    pub secret: NewSecret,
    pub message: NewMessage,
    pub notice: DeliveryNotice,
}

/// A new link's token: the page it opens on the institution's portal, and
/// the hash that is all the store keeps of it. (No `Debug`: the link
/// carries its token.)
pub(crate) struct PortalLinkToken {
    pub token: domain::secret::Secret,
    pub url: String,
    pub hash: String,
}

impl PortalLinkToken {
    pub(crate) fn new(
        institution: &InstitutionSettings,
        page: &str,
    ) -> Result<PortalLinkToken, AppError> {
        let token = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        Ok(PortalLinkToken {
            url: institution.portal_link(page, &token),
            hash: hash_secret(SecretKind::Token, token.expose()),
            token,
        })
    }
}

/// What the issue of a mailed link records in its transaction: the audit
/// event, and the other mails it sends (the desk's notice to the address
/// in use).
pub struct LinkRecord {
    pub action: &'static str,
    pub details: serde_json::Value,
    pub also_mailed: Vec<NewMessage>,
}

impl LinkRecord {
    /// The link's issue audited as `action`, with no other mail.
    pub fn audited(action: &'static str, details: serde_json::Value) -> LinkRecord {
        LinkRecord {
            action,
            details,
            also_mailed: Vec::new(),
        }
    }
}

/// What a person is told of a message on its way to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryNotice {
    /// Where it went, masked.
    pub masked_destination: String,
    /// Whether to look in the spam folder (mail).
    pub check_spam_folder: bool,
    /// Where to ask for help when it does not arrive.
    pub helpdesk_url: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The other places the same message went, masked.
    pub also_sent_to: Vec<String>,
}

impl App {
    /// A link verifying `address` for `what`, valid for the institution's
    /// `recovery.verification_link_lifetime`.
    pub fn address_link(
        &self,
        account: &Account,
        what: Verifying,
        address: &str,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<AddressLink, AppError> {
        let institution = self
            .rules
            .institution(&account.institution)
            .ok_or_else(|| AppError::inconsistent("institution no longer configured"))?;
        let (purpose, page) = match what {
            Verifying::RecoveryMail => (Purpose::RecoveryMailChange, "account/recovery-mail"),
            Verifying::Redirect => (Purpose::RedirectChange, "account/redirect"),
        };
        let token = generate(SecretKind::Token, &mut rand::rngs::SysRng)
            .map_err(|e| AppError::Internal(e.into()))?;
        let lifetime = chrono::Duration::from_std(institution.recovery.verification_link_lifetime)
            .map_err(|e| AppError::Internal(e.into()))?;
        let expires_at = now + lifetime;
        let url = institution.portal_link(page, &token);
        let content = mail::verification(
            &VerificationMail {
                institution: &institution.name,
                after_activation: true,
                login: &account.login,
                what,
                url: &url,
                code: "",
                expires_at,
                tz: institution.time_zone,
            },
            language,
        );
        Ok(AddressLink {
            secret: NewSecret {
                account_id: account.id.clone(),
                purpose,
                hash: hash_secret(SecretKind::Token, token.expose()),
                target: Some(address.to_owned()),
                flow_id: None,
                not_before: None,
                expires_at: Some(expires_at),
            },
            message: NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Mail,
                recipient: address.to_owned(),
                template: purpose.as_str().to_owned(),
                content,
                not_before: now,
            },
            notice: DeliveryNotice {
                also_sent_to: Vec::new(),
                masked_destination: mask_mail(address),
                check_spam_folder: true,
                helpdesk_url: institution.helpdesk_url.clone(),
                expires_at: Some(expires_at),
            },
        })
    }
}

impl App {
    /// Mails `address` a new link verifying it for `what` (the previous
    /// one stops working), once the institution's cooldown has passed,
    /// audited as `action`.
    pub async fn mail_address_link(
        &self,
        account: &Account,
        (what, address): (Verifying, &str),
        record: LinkRecord,
        ctx: &crate::CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let now = self.now();
        let purpose = match what {
            Verifying::RecoveryMail => Purpose::RecoveryMailChange,
            Verifying::Redirect => Purpose::RedirectChange,
        };
        self.link_cooldown(account, purpose, now).await?;
        let link = self.address_link(account, what, address, ctx.language, now)?;
        let issue = store::activation::SecretIssue {
            revoke: &[purpose],
            secrets: vec![link.secret],
            messages: [vec![link.message], record.also_mailed].concat(),
            audit: Some((record.action, record.details, &ctx.audit)),
        };
        self.store
            .issue_account_secrets(account, issue, now)
            .await?;
        Ok(link.notice)
    }
}

impl App {
    /// The live secret of `purpose` a mailed link's token stands for, and
    /// its account (which must not be purged).
    pub async fn account_link(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<(one_time_secret::Model, Account), AppError> {
        if token.trim().is_empty() || token.len() > 128 {
            return Err(AppError::field("token", Problem::Missing));
        }
        let secret = self
            .store
            .secret_by_hash(&hash_secret(SecretKind::Token, token), purpose, now)
            .await?
            .ok_or_else(link_unusable)?;
        let account = self
            .store
            .find_account(AccountLookup::Id(&secret.account_id))
            .await?
            .filter(Account::password_usable)
            .ok_or_else(link_unusable)?;
        Ok((secret, account))
    }
}

impl App {
    /// Refuses a new link while the last one is younger than the
    /// institution's cooldown.
    pub async fn link_cooldown(
        &self,
        account: &Account,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let cooldown = self
            .rules
            .institution(&account.institution)
            .map(|i| i.recovery.resend_cooldown)
            .unwrap_or_default();
        let cooldown =
            chrono::Duration::from_std(cooldown).map_err(|e| AppError::Internal(e.into()))?;
        if let Some(last) = self.store.last_account_secret(&account.id, purpose).await?
            && last.created_at + cooldown > now
        {
            return Err(AppError::ResourceExhausted {
                reason: Exhausted::ResendTooSoon,
                retry_after: (last.created_at + cooldown - now)
                    .to_std()
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// A notice to `account`'s notice address, if it has one.
pub(crate) fn notice_to(
    account: &Account,
    template: &str,
    content: store::outbox::Content,
    now: DateTime<Utc>,
) -> Vec<NewMessage> {
    account
        .notice_address()
        .map(|recipient| NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Mail,
            recipient: recipient.to_owned(),
            template: template.to_owned(),
            content,
            not_before: now,
        })
        .into_iter()
        .collect()
}
