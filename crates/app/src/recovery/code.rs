//! A reset by SMS: the code sent to the verified mobile phone, typed on the
//! page that asked for it, is traded for a reset link's token; the new
//! password is then set as from a mailed link. Whether the account exists,
//! has a verified phone or was sent a code, a wrong code gets the same
//! refusal.

use chrono::{DateTime, Utc};
use domain::institution::{InstitutionSettings, RESET_LINK_PAGE};
use domain::problem::Problem;
use domain::recovery::ResetChannel;
use domain::secret::SecretKind;
use serde_json::json;
use store::secrets::{NewSecret, Purpose};
use store::self_service::{AccountWrite, AccountWriteError};

use super::{ResetIdentifier, ResetInput, accepted_identifier};
use crate::error::{AppError, internal};
use crate::limits::Counters;
use crate::links::PortalLinkToken;
use crate::{App, CallContext};

/// The longest code the form takes.
const CODE_MAX: usize = 64;

/// A code typed for a reset by SMS, as the edge read the request.
pub struct ResetCodeTyped {
    pub institution: String,
    /// The identifier the reset was asked with, or why it could not be
    /// read.
    pub identifier: Result<ResetInput, AppError>,
    pub code: String,
}

/// Without the code: a secret never reaches a log.
impl std::fmt::Debug for ResetCodeTyped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetCodeTyped")
            .field("institution", &self.institution)
            .field("identifier", &self.identifier)
            .field("code_typed", &!self.code.is_empty())
            .finish()
    }
}

/// A reset link's token, for the new-password form. (No `Debug`: it is a
/// secret.)
pub struct ResetToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The one refusal of a code: wrong, spent, expired or never sent.
fn code_refused() -> AppError {
    AppError::field("code", Problem::ResetCodeRefused)
}

impl App {
    /// Trades the code a reset sent by SMS for a reset link's token.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown institution, one that sends no
    /// code, a bad identifier, and a code that does not work (the same
    /// whether or not the account exists); `ResourceExhausted` once the
    /// identifier or the address guessed too often.
    pub async fn verify_reset_code(
        &self,
        typed: ResetCodeTyped,
        ctx: &CallContext,
    ) -> Result<ResetToken, AppError> {
        let answer_time = crate::timing::AnswerTime::start();
        let now = self.now();
        let institution = typed.institution.trim();
        let rules = self
            .rules
            .institution(institution)
            .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution))
            .and_then(|rules| {
                let by_sms = rules.recovery.channels.contains(&ResetChannel::Sms);
                by_sms
                    .then_some(rules)
                    .ok_or_else(|| AppError::field("institution", Problem::ChannelNotOffered))
            });
        let code = typed.code.trim();
        let code = match code.len() {
            0 => Err(AppError::field("code", Problem::Missing)),
            n if n > CODE_MAX => Err(AppError::field(
                "code",
                Problem::TooLong { max: CODE_MAX as _ },
            )),
            _ => Ok(code),
        };
        let (rules, (identifier, code)) =
            AppError::both(rules, AppError::both(typed.identifier, code))?;
        let identifier = accepted_identifier(identifier, &rules.recovery.reset_identifiers)?;
        // Counted per identifier typed, as the request was: an unknown one
        // is limited alike.
        let name = identifier.decoy_name();
        let counters = Counters::guesses(self, ctx, Some(&[institution, &name]));
        let typed = TypedCode {
            institution: rules,
            code: institution,
            identifier: &identifier,
            typed: code,
        };
        let result = self
            .limited(counters, now, self.redeem_reset_code(&typed, ctx, now))
            .await;
        answer_time.wait().await;
        result
    }

    /// The token a right code is traded for, the code spent; a wrong one
    /// counts against the code, which stops working after the
    /// institution's `recovery.code_attempts`.
    async fn redeem_reset_code(
        &self,
        typed: &TypedCode<'_>,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<ResetToken, AppError> {
        let recovery = &typed.institution.recovery;
        let lookup = typed.identifier.lookup(typed.code);
        let account = self.store.find_account(lookup).await?;
        let account = account.filter(|a| a.password_usable());
        let secret = match &account {
            Some(a) => {
                self.store
                    .live_secret(&a.id, Purpose::ResetCode, now)
                    .await?
            }
            None => None,
        };
        let Some((account, secret)) = account.zip(secret) else {
            return Err(code_refused());
        };
        let keys = self.store.secret_keys()?;
        if !keys.matches(SecretKind::Code, typed.typed, &secret.secret_hash) {
            let ids = [secret.id];
            self.store
                .secrets_failed(&ids, recovery.code_attempts, now)
                .await?;
            return Err(code_refused());
        }
        let link = PortalLinkToken::new(typed.institution, RESET_LINK_PAGE)?;
        let expires_at =
            now + chrono::Duration::from_std(recovery.reset_lifetime).map_err(internal)?;
        // The code spent and the token stored in one transaction; a code
        // another request spent first is refused like any other.
        let write = AccountWrite {
            account: &account,
            changes: Vec::new(),
            spend: vec![secret.id.clone()],
            revoke: vec![Purpose::ResetCode, Purpose::PasswordReset],
            secrets: vec![NewSecret {
                account_id: account.id.clone(),
                purpose: Purpose::PasswordReset,
                hash: link.hash,
                target: secret.target.clone(),
                flow_id: None,
                not_before: None,
                expires_at: Some(expires_at),
            }],
            messages: Vec::new(),
            audit: ("password_reset.code_verified", json!({})),
            feed: Vec::new(),
        };
        match self.store.write_account(write, &ctx.audit, now).await {
            Ok(_) => {}
            Err(AccountWriteError::Conflict) => return Err(code_refused()),
            Err(error) => return Err(error.into()),
        }
        Ok(ResetToken {
            token: link.token.expose().to_owned(),
            expires_at,
        })
    }
}

/// A code typed, with what names its account.
struct TypedCode<'a> {
    institution: &'a InstitutionSettings,
    /// The institution's code.
    code: &'a str,
    identifier: &'a ResetIdentifier,
    typed: &'a str,
}
