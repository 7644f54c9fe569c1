//! Forwarding of university mail after activation. A new address is in
//! force once verified (by a link, or because it is the verified recovery
//! address); a mandatory redirect (teaching vacataires) can be changed but
//! not stopped.

use domain::account::Account;
use domain::activation::RedirectRule;
use domain::ids::MailAddress;
use domain::problem::Problem;
use domain::refusal::Precondition;
use domain::self_service::{Redirect, RedirectError, set_redirect};
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::feed::ChangeKind;
use store::secrets::Purpose;
use store::self_service::AccountWrite;

use crate::error::AppError;
use crate::links::{DeliveryNotice, LinkRecord};
use crate::settings::PresenceProof;
use crate::texts::mail::Verifying;
use crate::{App, CallContext};

/// A redirect as asked for from the account page.
pub struct RedirectRequest<'a> {
    pub address: &'a MailAddress,
    pub keep_copy: bool,
    pub presence: Option<PresenceProof>,
}

/// A redirect to an address in force once its mailed link is followed.
#[derive(Debug)]
pub struct RedirectSet {
    pub account: Account,
    /// Where the verification link went, when one was needed.
    pub notice: Option<DeliveryNotice>,
}

fn no_mailbox() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::NoMailbox,
        subject: "account".into(),
        message: "this account has no university mailbox to redirect".into(),
    }
}

/// A write of the redirect, its pending links revoked.
fn redirect_write<'a>(
    account: &'a Account,
    redirect: Redirect,
    audit: (&'static str, serde_json::Value),
) -> AccountWrite<'a> {
    AccountWrite {
        account,
        changes: vec![AccountChange::Redirect(redirect)],
        spend: Vec::new(),
        revoke: vec![Purpose::RedirectChange],
        secrets: Vec::new(),
        messages: Vec::new(),
        audit,
        feed: vec![ChangeKind::MailRedirectChanged],
    }
}

impl App {
    /// An account in use with a university mailbox.
    pub async fn mailbox_account(&self, lookup: AccountLookup<'_>) -> Result<Account, AppError> {
        let account = self.account_in_use(lookup).await?;
        if account.institutional_mail.is_none() {
            return Err(no_mailbox());
        }
        Ok(account)
    }

    /// Redirects the mailbox to `address`; a link verifies it unless it is
    /// the verified recovery address.
    pub async fn set_mail_redirect(
        &self,
        lookup: AccountLookup<'_>,
        redirect: RedirectRequest<'_>,
        ctx: &CallContext,
    ) -> Result<RedirectSet, AppError> {
        let RedirectRequest {
            address,
            keep_copy,
            presence,
        } = redirect;
        let now = self.now();
        let mut account = self.mailbox_account(lookup).await?;
        self.require_presence(&mut account, presence, ctx, now)
            .await?;
        let recovery = account
            .recovery_mail_verified_at
            .and(account.recovery_mail.as_deref());
        let redirect = set_redirect(
            &account.redirect,
            address,
            keep_copy,
            account.institutional_mail.as_deref(),
            recovery,
            now,
        )
        .map_err(|e| match e {
            RedirectError::Loop => AppError::field("address.address", Problem::RedirectToItself),
        })?;
        let needs_link = redirect.verified_at.is_none();
        let audit = json!({ "verified": !needs_link, "keep_copy": redirect.keep_copy });
        let mut write = redirect_write(&account, redirect, ("mail_redirect.set", audit));
        let mut notice = None;
        if needs_link {
            self.link_cooldown(&account, Purpose::RedirectChange, now)
                .await?;
            let what = Verifying::Redirect;
            let link = self.address_link(&account, what, address.as_str(), ctx.language, now)?;
            write.secrets.push(link.secret);
            write.messages.push(link.message);
            notice = Some(link.notice);
        }
        let account = self.store.write_account(write, ctx, now).await?;
        Ok(RedirectSet { account, notice })
    }

    /// Follows the mailed link: it verifies the address it was sent to,
    /// only while that address is still the one waiting.
    pub async fn verify_mail_redirect(
        &self,
        token: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let (secret, account) = self
            .account_link(token, Purpose::RedirectChange, now)
            .await?;
        let pending = account.redirect.verified_at.is_none()
            && account
                .redirect
                .address
                .as_deref()
                .zip(secret.target.as_deref())
                .is_some_and(|(a, t)| a.eq_ignore_ascii_case(t));
        if !pending {
            return Err(crate::links::link_unusable());
        }
        let verified = Redirect {
            verified_at: Some(now),
            ..account.redirect.clone()
        };
        let mut write = redirect_write(&account, verified, ("mail_redirect.verified", json!({})));
        write.spend.push(secret.id.clone());
        Ok(self.store.write_account(write, ctx, now).await?)
    }

    /// Mails the waiting address a new link (the former one stops
    /// working), once the cooldown has passed.
    pub async fn resend_mail_redirect_verification(
        &self,
        lookup: AccountLookup<'_>,
        ctx: &CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let account = self.mailbox_account(lookup).await?;
        let Some(address) = account
            .redirect
            .address
            .clone()
            .filter(|_| account.redirect.verified_at.is_none())
        else {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NothingToVerify,
                subject: "account".into(),
                message: "no redirect address is waiting for verification".into(),
            });
        };
        let to_verify = (Verifying::Redirect, address.as_str());
        let record =
            LinkRecord::audited("mail_redirect.verification_resent", serde_json::json!({}));
        self.mail_address_link(&account, to_verify, record, ctx)
            .await
    }

    /// Stops the redirect, unless the profile must keep one; without one,
    /// nothing changes.
    pub async fn disable_mail_redirect(
        &self,
        lookup: AccountLookup<'_>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let account = self.mailbox_account(lookup).await?;
        if self.profile_of(&account)?.activation.mail_redirect == RedirectRule::Mandatory {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::RedirectMandatory,
                subject: "account".into(),
                message: "this profile must keep its mail redirected: change the address instead"
                    .into(),
            });
        }
        if account.redirect.address.is_none() {
            return Ok(account);
        }
        let audit = ("mail_redirect.disabled", json!({}));
        let write = redirect_write(&account, Redirect::default(), audit);
        Ok(self.store.write_account(write, ctx, now).await?)
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::MailAddress;
    use store::accounts::AccountLookup;

    use super::RedirectRequest;
    use crate::AppError;
    use crate::testing::{activate_montpellier_staff, call_from, present, test_app};

    fn redirect_to(address: &MailAddress, keep_copy: bool) -> RedirectRequest<'_> {
        RedirectRequest {
            address,
            keep_copy,
            presence: present(),
        }
    }

    #[tokio::test]
    async fn the_verified_recovery_address_needs_no_link_and_another_one_does() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-11").await;
        let ctx = call_from(Some("198.51.100.7"));
        let id = AccountLookup::Id(&account.id);
        let recovery = MailAddress::parse("ada@example.org").expect("address");
        let set = t
            .app
            .set_mail_redirect(id, redirect_to(&recovery, true), &ctx)
            .await
            .expect("redirected");
        assert!(set.notice.is_none(), "already verified");
        assert!(set.account.redirect.verified_at.is_some());

        let other = MailAddress::parse("ada@elsewhere.example").expect("address");
        let set = t
            .app
            .set_mail_redirect(id, redirect_to(&other, false), &ctx)
            .await
            .expect("redirected");
        assert!(set.notice.is_some(), "a link to follow");
        assert!(set.account.redirect.verified_at.is_none());
        let too_soon = t.app.resend_mail_redirect_verification(id, &ctx).await;
        assert!(matches!(too_soon, Err(AppError::ResourceExhausted { .. })));

        let off = t
            .app
            .disable_mail_redirect(id, &ctx)
            .await
            .expect("stopped");
        assert!(off.redirect.address.is_none());
        let nothing = t.app.resend_mail_redirect_verification(id, &ctx).await;
        assert!(matches!(nothing, Err(AppError::FailedPrecondition { .. })));
    }

    #[tokio::test]
    async fn the_university_address_cannot_be_its_own_redirect() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-12").await;
        let ctx = call_from(None);
        let own = account.institutional_mail.clone().expect("a mailbox");
        let own = MailAddress::parse(&own).expect("address");
        let refused = t
            .app
            .set_mail_redirect(
                AccountLookup::Id(&account.id),
                redirect_to(&own, false),
                &ctx,
            )
            .await;
        assert!(matches!(refused, Err(AppError::InvalidArgument(_))));
    }
}
