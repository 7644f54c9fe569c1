//! What an active person changes from the portal's account page
//! (Montpellier's "Gestion de compte"): password, recovery address,
//! consents, and for staff their directory entry and antispam level. The
//! rules are in `domain::self_service`.

mod consents;
mod page;
mod presence;
mod recovery_mail;
mod recovery_phone;
mod staff;

use domain::account::Account;
use domain::problem::Problem;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::password::{Password, must_change};
use store::accounts::AccountLookup;

use crate::error::AppError;
use crate::passwords::{PasswordChange, read_password};
use crate::{App, CallContext, account_not_usable};

pub use consents::ConsentsUpdated;
pub use page::{AccountPage, Antispam};
pub use presence::{PresenceProof, STEP_UP_LIFETIME, StepUp};

/// A password change as typed on the account page (no debug form: it
/// holds passwords).
pub struct PasswordChangeInput {
    pub current: String,
    /// The new password and its confirmation; `None` when not given.
    pub new: Option<(String, String)>,
}

/// A password checked by the portal: whether it is right, and then
/// whether it must be changed and until when it works.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCheck {
    pub valid: bool,
    pub must_change: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl App {
    /// Changes the password of a signed-in person, who types the current
    /// one (a wrong one counts against the guess limit).
    pub async fn change_password(
        &self,
        lookup: AccountLookup<'_>,
        input: PasswordChangeInput,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let current = Arc::new(read_password(input.current, "current_password", true)?);
        let (new, confirmation) = input
            .new
            .ok_or_else(|| AppError::field("new_password", Problem::Missing))?;
        let new = Arc::new(read_password(new, "new_password.password", true)?);
        let confirmation = Password::new(confirmation);
        let mut account = self.account(lookup).await?;
        if !account.password_usable() || account.password_hash.is_none() {
            return Err(account_not_usable());
        }
        if !self
            .verify_typed_password(&mut account, &current, ctx, now)
            .await?
        {
            return Err(AppError::field(
                "current_password",
                Problem::WrongCurrentPassword,
            ));
        }
        let change = PasswordChange {
            account: &account,
            new,
            confirmation: &confirmation,
            field: "new_password.password",
            action: "password.changed",
            spend: None,
        };
        self.set_new_password(change, ctx.language, ctx, now).await
    }

    /// Checks a password typed at the portal (a wrong one counts against
    /// the guess limit).
    pub async fn check_password(
        &self,
        lookup: AccountLookup<'_>,
        typed: String,
        ctx: &CallContext,
    ) -> Result<PasswordCheck, AppError> {
        let now = self.now();
        let typed = Arc::new(read_password(typed, "password", true)?);
        let mut account = self.account(lookup).await?;
        if !account.password_usable() {
            return Err(account_not_usable());
        }
        let valid = self
            .verify_typed_password(&mut account, &typed, ctx, now)
            .await?;
        let expires_at = account.password_expires_at;
        Ok(PasswordCheck {
            valid,
            must_change: valid && must_change(account.password_must_change, expires_at, now),
            expires_at: expires_at.filter(|_| valid),
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::self_service::{AntispamLevel, ConsentChange};
    use store::accounts::AccountLookup;

    use super::PasswordChangeInput;
    use crate::AppError;
    use crate::testing::{GOOD_PASSWORD, activate_montpellier_staff, call_from, test_app};

    #[tokio::test]
    async fn a_password_changes_only_with_the_current_one() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-13").await;
        let ctx = call_from(Some("198.51.100.7"));
        let id = AccountLookup::Id(&account.id);
        let new = "Yq7&pL3#mN8rWs";
        let change = |current: &str| PasswordChangeInput {
            current: current.to_owned(),
            new: Some((new.to_owned(), new.to_owned())),
        };
        let wrong = t
            .app
            .change_password(id, change("Wrong-One-123"), &ctx)
            .await;
        match wrong {
            Err(AppError::InvalidArgument(v)) => assert_eq!(v[0].field, "current_password"),
            other => panic!("refused, got {other:?}"),
        }
        let check = t
            .app
            .check_password(id, GOOD_PASSWORD.into(), &ctx)
            .await
            .expect("checked");
        assert!(check.valid, "the old password still works");
        t.app
            .change_password(id, change(GOOD_PASSWORD), &ctx)
            .await
            .expect("changed");
        let old = t
            .app
            .check_password(id, GOOD_PASSWORD.into(), &ctx)
            .await
            .expect("checked");
        let current = t
            .app
            .check_password(id, new.into(), &ctx)
            .await
            .expect("checked");
        assert!(!old.valid && current.valid);
    }

    #[tokio::test]
    async fn consents_not_collected_and_empty_changes_are_refused() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-14").await;
        let ctx = call_from(None);
        let id = AccountLookup::Id(&account.id);
        let nothing = t
            .app
            .update_consents(id, ConsentChange::default(), None, &ctx)
            .await;
        assert!(matches!(nothing, Err(AppError::InvalidArgument(_))));
        let crous = ConsentChange {
            crous_sharing: Some(true),
            ..ConsentChange::default()
        };
        let not_offered = t.app.update_consents(id, crous, None, &ctx).await;
        assert!(matches!(
            not_offered,
            Err(AppError::FailedPrecondition { .. })
        ));
        let unlisted = ConsentChange {
            directory_listed: Some(false),
            ..ConsentChange::default()
        };
        let updated = t
            .app
            .update_consents(id, unlisted, None, &ctx)
            .await
            .expect("updated");
        assert_eq!(account.consents.directory_listed.map(|d| d.0), Some(true));
        assert_eq!(
            updated.account.consents.directory_listed.map(|d| d.0),
            Some(false)
        );
    }

    #[tokio::test]
    async fn staff_set_their_antispam_level_and_the_default_applies_before() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-15").await;
        let ctx = call_from(None);
        let id = AccountLookup::Id(&account.id);
        let default = t.app.antispam_level(id).await.expect("a level");
        let other = if default == AntispamLevel::High {
            AntispamLevel::Low
        } else {
            AntispamLevel::High
        };
        let set = t
            .app
            .set_antispam_level(id, other, &ctx)
            .await
            .expect("set");
        assert_eq!(set, other);
        assert_eq!(t.app.antispam_level(id).await.expect("a level"), other);
    }
}
