//! Proof that the person is present for a sensitive change (recovery
//! address, mail redirect, an irreversible consent): a portal's credential
//! alone must not be enough, or one leaked token, or one session mixed up,
//! becomes every account (issue 19, finding 1). The proof is the current
//! password, or a short-lived step-up token obtained with it.

use domain::problem::Problem;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::secret::{Secret, SecretKind, hash_secret};
use store::accounts::AccountLookup;

use crate::error::AppError;
use crate::passwords::read_password;
use crate::{App, CallContext};

/// How long a step-up token works: long enough to fill a form after typing
/// the password, short enough that a token left in a page is soon useless.
pub const STEP_UP_LIFETIME: chrono::Duration = chrono::Duration::minutes(5);

/// What a request brings as proof of presence (no debug form: it holds a
/// password or a token).
pub enum PresenceProof {
    CurrentPassword(String),
    StepUpToken(String),
}

/// A step-up token, shown once.
pub struct StepUp {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
}

fn presence_needed() -> AppError {
    AppError::field("presence", Problem::PresenceNeeded)
}

impl App {
    /// Checks the current password and returns a step-up token for one
    /// sensitive change of the same account.
    pub async fn confirm_presence(
        &self,
        lookup: AccountLookup<'_>,
        current_password: String,
        ctx: &CallContext,
    ) -> Result<StepUp, AppError> {
        let now = self.now();
        let typed = Arc::new(read_password(current_password, "current_password", true)?);
        let mut account = self.account_in_use(lookup).await?;
        if !self
            .verify_typed_password(&mut account, &typed, ctx, now)
            .await?
        {
            return Err(AppError::field(
                "current_password",
                Problem::WrongCurrentPassword,
            ));
        }
        let expires_at = now + STEP_UP_LIFETIME;
        let token = self
            .store
            .issue_step_up(&account.id, expires_at, now)
            .await?;
        Ok(StepUp { token, expires_at })
    }

    /// Refuses the change unless `proof` shows the person is present: their
    /// current password (a wrong one counts against the guess limits), or
    /// a live step-up token of this account, spent here.
    pub(crate) async fn require_presence(
        &self,
        account: &mut Account,
        proof: Option<PresenceProof>,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        match proof {
            None => Err(presence_needed()),
            Some(PresenceProof::CurrentPassword(typed)) => {
                let field = "presence.current_password";
                let typed = Arc::new(read_password(typed, field, true)?);
                if self
                    .verify_typed_password(account, &typed, ctx, now)
                    .await?
                {
                    return Ok(());
                }
                Err(AppError::field(field, Problem::WrongCurrentPassword))
            }
            Some(PresenceProof::StepUpToken(token)) => {
                let hash = hash_secret(SecretKind::Token, &token);
                if !token.is_empty()
                    && token.len() <= 128
                    && self.store.spend_step_up(&account.id, &hash, now).await?
                {
                    return Ok(());
                }
                Err(AppError::field(
                    "presence.step_up_token",
                    Problem::StepUpTokenInvalid,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::MailAddress;
    use store::accounts::AccountLookup;

    use super::PresenceProof;
    use crate::AppError;
    use crate::testing::{GOOD_PASSWORD, activate_montpellier_staff, call_from, test_app};

    fn refused_field(result: Result<impl std::fmt::Debug, AppError>) -> String {
        match result {
            Err(AppError::InvalidArgument(v)) => v[0].field.clone(),
            other => panic!("refused, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_recovery_address_changes_only_with_the_person_present() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-21").await;
        let other = activate_montpellier_staff(&t, "RH-22").await;
        let ctx = call_from(Some("198.51.100.7"));
        let id = AccountLookup::Id(&account.id);
        let attacker = MailAddress::parse("mallory@evil.example").expect("address");
        let change = |proof| {
            t.app
                .request_recovery_mail_change(id, &attacker, proof, &ctx)
        };
        // A portal credential alone is not enough.
        assert_eq!(refused_field(change(None).await), "presence");
        let wrong = PresenceProof::CurrentPassword("Not-The-Password-1".into());
        assert_eq!(
            refused_field(change(Some(wrong)).await),
            "presence.current_password"
        );
        // Another account's step-up token does not work here.
        let theirs = t
            .app
            .confirm_presence(AccountLookup::Id(&other.id), GOOD_PASSWORD.into(), &ctx)
            .await
            .expect("step-up");
        let borrowed = PresenceProof::StepUpToken(theirs.token.expose().to_owned());
        assert_eq!(
            refused_field(change(Some(borrowed)).await),
            "presence.step_up_token"
        );
        // This account's token works once.
        let mine = t
            .app
            .confirm_presence(id, GOOD_PASSWORD.into(), &ctx)
            .await
            .expect("step-up");
        let token = mine.token.expose().to_owned();
        change(Some(PresenceProof::StepUpToken(token.clone())))
            .await
            .expect("mailed");
        t.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(
            refused_field(change(Some(PresenceProof::StepUpToken(token))).await),
            "presence.step_up_token"
        );
        change(Some(PresenceProof::CurrentPassword(GOOD_PASSWORD.into())))
            .await
            .expect("mailed");
    }

    #[tokio::test]
    async fn a_new_password_voids_step_up_tokens_of_the_old_one() {
        use crate::settings::PasswordChangeInput;
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-23").await;
        let ctx = call_from(None);
        let id = AccountLookup::Id(&account.id);
        let step_up = t
            .app
            .confirm_presence(id, GOOD_PASSWORD.into(), &ctx)
            .await
            .expect("step-up");
        let new = "Yq7&pL3#mN8rWs";
        let change = PasswordChangeInput {
            current: GOOD_PASSWORD.into(),
            new: Some((new.into(), new.into())),
        };
        t.app
            .change_password(id, change, &ctx)
            .await
            .expect("changed");
        let address = MailAddress::parse("ada@home.example").expect("address");
        let token = PresenceProof::StepUpToken(step_up.token.expose().to_owned());
        let refused = t
            .app
            .request_recovery_mail_change(id, &address, Some(token), &ctx)
            .await;
        assert_eq!(refused_field(refused), "presence.step_up_token");
    }
}
