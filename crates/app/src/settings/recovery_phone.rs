//! The recovery phone on the account page: a new number gets a code by
//! SMS and is in use once the code is typed back; an empty one removes
//! it. Numbers are given to someone else when their owner leaves them: the
//! person keeps theirs current, and is told of every change by mail.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::mask_phone;
use domain::ids::PhoneE164;
use domain::institution::InstitutionSettings;
use domain::problem::Problem;
use domain::recovery::ResetChannel;
use domain::refusal::Precondition;
use domain::secret::SecretKind;
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::outbox::NewMessage;
use store::secrets::Purpose;
use store::self_service::AccountWrite;

use super::PresenceProof;
use crate::error::AppError;
use crate::limits::Counters;
use crate::links::{DeliveryNotice, notice_to};
use crate::sms_codes::{SmsCode, SmsCodeFor};
use crate::texts::mail as mail_texts;
use crate::{App, CallContext};

/// The purposes a new or removed phone voids: its pending code, and the
/// reset codes sent to the former number.
const VOIDED: [Purpose; 2] = [Purpose::RecoveryPhoneChange, Purpose::ResetCode];

impl App {
    /// Sends a code by SMS to `typed` (as the person typed it), to become
    /// the recovery phone once typed back; an empty `typed` removes the
    /// recovery phone at once. `None` in the answer: removed.
    ///
    /// # Errors
    /// `FailedPrecondition` where the institution resets by mail only;
    /// `InvalidArgument` for a number that is not one; `ResourceExhausted`
    /// within the resend cooldown.
    pub async fn request_recovery_phone_change(
        &self,
        lookup: AccountLookup<'_>,
        typed: &str,
        presence: Option<PresenceProof>,
        ctx: &CallContext,
    ) -> Result<Option<DeliveryNotice>, AppError> {
        let now = self.now();
        let mut account = self.account_in_use(lookup).await?;
        let institution = self.sms_recovery(&account)?;
        let phone = match typed.trim() {
            "" => None,
            raw => Some(
                PhoneE164::parse(raw, &institution.phone_region)
                    .map_err(|problem| AppError::field("new_phone", problem))?,
            ),
        };
        self.require_presence(&mut account, presence, ctx, now)
            .await?;
        let Some(phone) = phone else {
            let notice = self.phone_notice(&account, None, ctx, now);
            let write = AccountWrite {
                account: &account,
                changes: vec![AccountChange::RecoveryPhone(None)],
                spend: Vec::new(),
                revoke: VOIDED.to_vec(),
                secrets: Vec::new(),
                messages: notice,
                audit: ("recovery_phone.removed", json!({})),
                feed: Vec::new(),
            };
            self.store.write_account(write, ctx, now).await?;
            return Ok(None);
        };
        self.link_cooldown(&account, Purpose::RecoveryPhoneChange, now)
            .await?;
        let sent = self.send_phone_code(&account, institution, phone.as_str(), ctx, now);
        sent.await.map(Some)
    }

    /// Checks the code sent to the new number: it becomes the verified
    /// recovery phone. A wrong code counts against it, which stops working
    /// after the institution's `recovery.code_attempts`.
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong code; `FailedPrecondition` when no
    /// code is pending; `ResourceExhausted` once the account or the
    /// address guessed too often.
    pub async fn confirm_recovery_phone_change(
        &self,
        lookup: AccountLookup<'_>,
        code: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let code = code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(AppError::field("code", Problem::Missing));
        }
        let account = self.account_in_use(lookup).await?;
        let institution = self.sms_recovery(&account)?;
        let counters = Counters::guesses(self, ctx, Some(&[account.id.as_str()]));
        let checked = self.check_phone_code(&account, institution, code, ctx, now);
        self.limited(counters, now, checked).await
    }

    async fn check_phone_code(
        &self,
        account: &Account,
        institution: &InstitutionSettings,
        code: &str,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<Account, AppError> {
        let secret = self
            .store
            .live_secret(&account.id, Purpose::RecoveryPhoneChange, now)
            .await?
            .ok_or(AppError::FailedPrecondition {
                kind: Precondition::CodeExpired,
                subject: "code".into(),
                message: "no code is pending: ask for a new one".into(),
            })?;
        let keys = self.store.secret_keys()?;
        if !keys.matches(SecretKind::Code, code, &secret.secret_hash) {
            let attempts = institution.recovery.code_attempts;
            self.store
                .secrets_failed(std::slice::from_ref(&secret.id), attempts, now)
                .await?;
            return Err(AppError::field("code", Problem::WrongCode));
        }
        let phone = secret
            .target
            .clone()
            .ok_or_else(|| AppError::inconsistent("phone code without phone"))?;
        let notice = self.phone_notice(account, Some(&phone), ctx, now);
        let write = AccountWrite {
            account,
            changes: vec![AccountChange::RecoveryPhone(Some((phone, now)))],
            spend: vec![secret.id.clone()],
            revoke: VOIDED.to_vec(),
            secrets: Vec::new(),
            messages: notice,
            audit: ("recovery_phone.changed", json!({})),
            feed: Vec::new(),
        };
        Ok(self.store.write_account(write, ctx, now).await?)
    }

    /// The account's institution, if it resets passwords by SMS (else a
    /// recovery phone would serve nothing).
    fn sms_recovery(&self, account: &Account) -> Result<&InstitutionSettings, AppError> {
        let institution = self
            .rules
            .institution(&account.institution)
            .ok_or_else(|| AppError::inconsistent("institution vanished"))?;
        if !institution.recovery.channels.contains(&ResetChannel::Sms) {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NotOffered,
                subject: "new_phone".into(),
                message: "the institution does not reset passwords by SMS".into(),
            });
        }
        Ok(institution)
    }

    /// The code's secret and SMS, with the audit event, in one transaction.
    async fn send_phone_code(
        &self,
        account: &Account,
        institution: &InstitutionSettings,
        phone: &str,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<DeliveryNotice, AppError> {
        let to = SmsCodeFor {
            account,
            institution,
            phone,
            purpose: Purpose::RecoveryPhoneChange,
            lifetime: institution.recovery.code_lifetime,
        };
        let SmsCode {
            secret,
            message,
            notice,
        } = self.sms_code(to, ctx.language, now)?;
        let issue = store::activation::SecretIssue {
            revoke: &[Purpose::RecoveryPhoneChange],
            secrets: vec![secret],
            messages: vec![message],
            audit: Some(("recovery_phone.change_requested", json!({}), &ctx.audit)),
        };
        self.store
            .issue_account_secrets(account, issue, now)
            .await?;
        Ok(notice)
    }

    /// The mail telling the person their recovery phone changed to `phone`
    /// (or was removed), where notices go.
    fn phone_notice(
        &self,
        account: &Account,
        phone: Option<&str>,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        let Some(institution) = self.rules.institution(&account.institution) else {
            return Vec::new();
        };
        let masked = phone.map(mask_phone);
        let content = mail_texts::recovery_phone_changed(
            &institution.name,
            &account.login,
            masked.as_deref(),
            &institution.helpdesk_url,
            ctx.language,
        );
        notice_to(account, "recovery_phone_changed", content, now)
    }
}
