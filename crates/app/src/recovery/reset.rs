//! Following a mailed reset link: what it is for, and the new password.

use domain::account::Account;
use domain::problem::Problem;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::password::Password;
use store::secrets::Purpose;

use crate::error::AppError;
use crate::passwords::{PasswordChange, read_password};
use crate::{App, CallContext};

/// What a reset link's page shows before the new password is typed.
#[derive(Debug, Clone)]
pub struct ResetLink {
    pub login: String,
    pub institution: String,
    pub profile: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl App {
    /// The account a reset link is for, while the link works.
    pub async fn password_reset(&self, token: &str) -> Result<ResetLink, AppError> {
        let now = self.now();
        let (secret, account) = self
            .account_link(token, Purpose::PasswordReset, now)
            .await?;
        Ok(ResetLink {
            login: account.login,
            institution: account.institution,
            profile: account.profile,
            expires_at: secret.expires_at,
        })
    }

    /// Sets the new password a reset link's holder chose (typed twice);
    /// the link is spent.
    pub async fn complete_password_reset(
        &self,
        token: &str,
        new_password: Option<(String, String)>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let (new, confirmation) =
            new_password.ok_or_else(|| AppError::field("new_password", Problem::Missing))?;
        let new = Arc::new(read_password(new, "new_password.password", true)?);
        let confirmation = Password::new(confirmation);
        let (secret, account) = self
            .account_link(token, Purpose::PasswordReset, now)
            .await?;
        let change = PasswordChange {
            account: &account,
            new,
            confirmation: &confirmation,
            field: "new_password.password",
            action: "password.reset",
            spend: Some(&secret.id),
        };
        self.set_new_password(change, ctx.language, ctx, now).await
    }
}
