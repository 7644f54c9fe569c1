//! A new recovery address: mailed a link, in use once the link is
//! followed.

use domain::account::Account;
use domain::activation::mask_mail;
use domain::ids::MailAddress;
use domain::problem::Problem;
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::feed::ChangeKind;
use store::outbox::{Channel, NewMessage};
use store::secrets::Purpose;
use store::self_service::AccountWrite;

use super::PresenceProof;
use crate::error::AppError;
use crate::links::{DeliveryNotice, LinkRecord};
use crate::texts::mail::{self as mail_texts, Verifying};
use crate::{App, CallContext};

impl App {
    /// Mails a link confirming `address` as the new recovery address.
    pub async fn request_recovery_mail_change(
        &self,
        lookup: AccountLookup<'_>,
        address: &MailAddress,
        presence: Option<PresenceProof>,
        ctx: &CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let mut account = self.account_in_use(lookup).await?;
        self.require_presence(&mut account, presence, ctx, self.now())
            .await?;
        let record = LinkRecord::audited("recovery_mail.change_requested", json!({}));
        self.recovery_mail_link(&account, address, record, ctx)
            .await
    }

    /// Mails a link confirming `address` as `account`'s new recovery
    /// address, unless it is the university's own or the one in use.
    pub(crate) async fn recovery_mail_link(
        &self,
        account: &Account,
        address: &MailAddress,
        record: LinkRecord,
        ctx: &CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let same =
            |other: Option<&str>| other.is_some_and(|o| o.eq_ignore_ascii_case(address.as_str()));
        if same(account.institutional_mail.as_deref()) {
            return Err(AppError::field(
                "new_recovery_mail.address",
                Problem::RecoveryMailInside,
            ));
        }
        if account.recovery_mail_verified_at.is_some() && same(account.recovery_mail.as_deref()) {
            return Err(AppError::field(
                "new_recovery_mail.address",
                Problem::SameRecoveryMail,
            ));
        }
        let to_verify = (Verifying::RecoveryMail, address.as_str());
        self.mail_address_link(account, to_verify, record, ctx)
            .await
    }

    /// Follows the mailed link: the address becomes the verified recovery
    /// address; a reset sent to the former one stops working, and the
    /// former verified address is told it was replaced.
    pub async fn confirm_recovery_mail_change(
        &self,
        token: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let (secret, account) = self
            .account_link(token, Purpose::RecoveryMailChange, now)
            .await?;
        let address = secret
            .target
            .clone()
            .ok_or_else(|| AppError::inconsistent("verification link without address"))?;
        let messages = self.replaced_notice(&account, &address, ctx, now);
        let write = AccountWrite {
            account: &account,
            changes: vec![AccountChange::RecoveryMail {
                address,
                verified_at: now,
            }],
            spend: vec![secret.id.clone()],
            revoke: vec![
                Purpose::RecoveryMailChange,
                Purpose::PasswordReset,
                Purpose::ReactivationKey,
            ],
            secrets: Vec::new(),
            messages,
            audit: ("recovery_mail.changed", json!({})),
            feed: vec![ChangeKind::RecoveryMailChanged],
        };
        Ok(self.store.write_account(write, ctx, now).await?)
    }

    /// The mail telling the former verified address it was replaced by
    /// `address` (none when there was none, or it is the same).
    fn replaced_notice(
        &self,
        account: &Account,
        address: &str,
        ctx: &CallContext,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<NewMessage> {
        let (Some(old), Some(_)) = (&account.recovery_mail, account.recovery_mail_verified_at)
        else {
            return Vec::new();
        };
        let Some(institution) = self.rules.institution(&account.institution) else {
            return Vec::new();
        };
        if old.eq_ignore_ascii_case(address) {
            return Vec::new();
        }
        let content = mail_texts::recovery_mail_replaced(
            &institution.name,
            &account.login,
            &mask_mail(address),
            &institution.helpdesk_url,
            ctx.language,
        );
        vec![NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Mail,
            recipient: old.clone(),
            template: "recovery_mail_replaced".into(),
            content,
            not_before: now,
        }]
    }
}
