//! What every RPC that takes a chosen password shares: the policy of an
//! account, evaluation with the history rule, verification with hash
//! upgrade, and storing a new password.

use domain::account::Account;
use domain::problem::Problem;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::App;
use crate::error::AppError;
use crate::texts::mail;
use domain::language::Language;
use domain::password::{
    self, Evaluation, Password, PasswordPolicy, PersonalData, Violation, evaluate,
};
use hashing::Verified;
use store::AuditContext;
use store::outbox::{Channel, NewMessage};
use store::passwords::NewPassword;

/// Longest password read, in bytes: four bytes a character at the longest
/// length any policy allows. A longer one is refused unread.
pub const MAX_PASSWORD_BYTES: usize = 4 * domain::password::policy::MAX_MAX_LENGTH;

/// A typed password from a request field: at most [`MAX_PASSWORD_BYTES`],
/// and not empty when `required` (the meter accepts an empty field).
pub fn read_password(text: String, field: &str, required: bool) -> Result<Password, AppError> {
    if required && text.is_empty() {
        return Err(AppError::field(field, Problem::Missing));
    }
    if text.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::field(
            field,
            Problem::TooManyBytes {
                max: MAX_PASSWORD_BYTES,
            },
        ));
    }
    Ok(Password::new(text))
}

/// The person an account belongs to, for the personal-data rule.
pub fn personal_data(account: &Account) -> PersonalData {
    PersonalData {
        given_name: account.given_name.clone(),
        family_name: account.family_name.clone(),
        login: account.login.clone(),
    }
}

/// A refusal of `violations` on `field`, in `language`.
pub fn rejected(field: &str, violations: &[Violation], language: Language) -> AppError {
    AppError::PasswordRejected {
        field: field.to_owned(),
        violations: violations
            .iter()
            .map(|v| (v.code(), crate::texts::password_violation(language, v)))
            .collect(),
    }
}

impl App {
    /// The password policy of an institution's profile.
    pub fn password_policy(&self, institution: &str, profile: &str) -> Option<PasswordPolicy> {
        let institution = self.rules.institution(institution)?;
        institution
            .profiles
            .contains_key(profile)
            .then(|| institution.password_policy(profile))
    }

    /// The password policy that applies to an account.
    pub fn policy_of(&self, account: &Account) -> Result<PasswordPolicy, AppError> {
        self.profile_of(account)?;
        self.password_policy(&account.institution, &account.profile)
            .ok_or_else(|| AppError::inconsistent("profile vanished"))
    }

    /// Evaluates a candidate for an account (or for a policy alone). The
    /// history rule, which costs one argon2 verification per remembered
    /// password, runs only once every other rule passes.
    pub async fn evaluate_password(
        &self,
        policy: &PasswordPolicy,
        candidate: &Arc<Password>,
        account: Option<&Account>,
    ) -> Result<Evaluation, AppError> {
        let personal = account.map(personal_data);
        let mut evaluation = evaluate(policy, candidate, personal.as_ref());
        if let Some(account) = account
            && evaluation.acceptable()
            && policy.history_count > 0
        {
            let history = self
                .store
                .password_history(&account.id, policy.history_count)
                .await?;
            if !history.is_empty()
                && self
                    .hasher
                    .matches_any(Arc::clone(candidate), history)
                    .await?
            {
                evaluation.violations.push(Violation::Reused {
                    count: policy.history_count,
                });
            }
        }
        Ok(evaluation)
    }

    /// [`App::verify_password`] for a password a person typed: wrong
    /// ones count against the account's guess limit (and the address's).
    pub async fn verify_typed_password(
        &self,
        account: &mut Account,
        typed: &Arc<Password>,
        ctx: &crate::CallContext,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, AppError> {
        let counters = super::limits::Counters::guesses(self, ctx, Some(&[account.id.as_str()]));
        self.limited_if(
            counters,
            now,
            self.verify_password(account, typed),
            |valid| *valid,
        )
        .await
    }

    /// Checks the account's current password, storing an upgraded hash when
    /// the stored one is outdated (and putting it in `account`, so the
    /// caller goes on with the account as stored). An account without a
    /// password costs the same time as a wrong password.
    pub async fn verify_password(
        &self,
        account: &mut Account,
        typed: &Arc<Password>,
    ) -> Result<bool, AppError> {
        let Some(stored) = account.password_hash.clone() else {
            self.hasher.verify_nothing(Arc::clone(typed)).await?;
            return Ok(false);
        };
        match self
            .hasher
            .verify(Arc::clone(typed), stored.clone())
            .await?
        {
            Verified::No => Ok(false),
            Verified::Yes { upgraded } => {
                if let Some(new) = upgraded {
                    let replaced = self
                        .store
                        .upgrade_password_hash(&account.id, &stored, &new)
                        .await?;
                    tracing::info!(account_id = %account.id, replaced, "password hash upgraded");
                    if replaced {
                        account.password_hash = Some(new);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Checks a new password (typed twice) under the account's policy and
    /// history, then hashes and stores it, with the notice that it changed.
    pub async fn set_new_password(
        &self,
        change: PasswordChange<'_>,
        language: Language,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, AppError> {
        let PasswordChange {
            account,
            new,
            confirmation,
            field,
            action,
            spend,
        } = change;
        if !new.same_as(confirmation) {
            return Err(rejected(
                field,
                &[Violation::ConfirmationMismatch],
                language,
            ));
        }
        let policy = self.policy_of(account)?;
        let evaluation = self.evaluate_password(&policy, &new, Some(account)).await?;
        if !evaluation.acceptable() {
            return Err(rejected(field, &evaluation.violations, language));
        }
        let hash = self.hasher.hash(new).await?;
        let expires_at = password::expires_at(&policy, now);
        Ok(self
            .store
            .set_password(
                NewPassword {
                    account_id: &account.id,
                    replaces: account.password_hash.as_deref(),
                    hash: &hash,
                    expires_at,
                    reminder_at: self
                        .rules
                        .institution(&account.institution)
                        .and_then(|i| i.password_reminder_at(expires_at)),
                    history_count: policy.history_count,
                    action,
                    spend,
                    messages: self.password_notice(account, language, now),
                },
                ctx,
                now,
            )
            .await?)
    }

    /// The "your password was changed" mail: to the verified recovery
    /// address, or to the university mailbox when there is none.
    pub fn password_notice(
        &self,
        account: &Account,
        language: Language,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        let Some(institution) = self.rules.institution(&account.institution) else {
            return Vec::new();
        };
        account
            .notice_address()
            .map(str::to_owned)
            .map(|recipient| NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Mail,
                recipient,
                template: "password_changed".into(),
                content: mail::password_changed(
                    &institution.name,
                    &account.login,
                    now,
                    institution.time_zone,
                    &institution.helpdesk_url,
                    language,
                ),
                not_before: now,
            })
            .into_iter()
            .collect()
    }
}

/// A password change asked for by the user.
pub struct PasswordChange<'a> {
    /// The account as read when the change was decided.
    pub account: &'a Account,
    pub new: Arc<Password>,
    pub confirmation: &'a Password,
    /// The request field of the new password, for refusals.
    pub field: &'a str,
    /// Audit action (`password.changed`, `password.reset`).
    pub action: &'static str,
    /// The reset secret the change uses up.
    pub spend: Option<&'a str>,
}

/// Whose password a candidate is judged for, by the live strength meter
/// (no debug form: tokens stand for flows and reset links).
#[derive(Clone)]
pub enum CandidateFor<'a> {
    /// A profile's policy, before any account is known.
    Policy {
        institution: &'a str,
        profile: &'a str,
    },
    /// An account (the portal, for a signed-in person).
    Account(store::accounts::AccountLookup<'a>),
    /// The account of an activation flow in progress.
    FlowToken(&'a str),
    /// The account of a password-reset link.
    ResetToken(&'a str),
}

/// Refuses the browser a judgement against an account's personal data and
/// password history (anyone on the Internet could ask): for the portal
/// only. Adapters check it before reading the account's selector.
pub fn may_judge_for_accounts(ctx: &crate::CallContext) -> Result<(), AppError> {
    if ctx.browser {
        return Err(AppError::PermissionDenied(
            "from the browser, evaluate with a flow_token, reset_token or policy".into(),
        ));
    }
    Ok(())
}

impl App {
    /// Judges a candidate password as it is typed: the policy's rules, the
    /// person's own data and, for an account, its password history.
    /// `subject` is `None` when the caller named none.
    pub async fn judge_candidate(
        &self,
        candidate: String,
        subject: Option<CandidateFor<'_>>,
        ctx: &crate::CallContext,
    ) -> Result<Evaluation, AppError> {
        use domain::secret::{SecretKind, hash_secret};
        let now = self.now();
        let unnamed = || AppError::field("context", Problem::Missing);
        let (candidate, subject) = match (read_password(candidate, "candidate", false), subject) {
            (Ok(candidate), Some(subject)) => (Arc::new(candidate), subject),
            (Ok(_), None) => return Err(unnamed()),
            (Err(e), Some(_)) => return Err(e),
            (Err(e), None) => return Err(AppError::merge(e, unnamed())),
        };
        let not_found = |what: &str| AppError::NotFound(format!("unknown or expired {what}"));
        let account = match subject {
            CandidateFor::Policy {
                institution,
                profile,
            } => {
                let policy = self
                    .password_policy(institution, profile)
                    .ok_or_else(|| AppError::field("policy", Problem::UnknownInstitution))?;
                return self.evaluate_password(&policy, &candidate, None).await;
            }
            CandidateFor::Account(lookup) => {
                may_judge_for_accounts(ctx)?;
                self.account(lookup).await?
            }
            CandidateFor::FlowToken(token) => self
                .store
                .find_flow(&hash_secret(SecretKind::Token, token), now)
                .await?
                .filter(|f| f.flow.completed_at.is_none())
                .map(|f| f.account)
                .ok_or_else(|| not_found("activation flow"))?,
            CandidateFor::ResetToken(token) => self
                .store
                .account_for_reset(&hash_secret(SecretKind::Token, token), now)
                .await?
                .ok_or_else(|| not_found("reset link"))?,
        };
        let policy = self.policy_of(&account)?;
        self.evaluate_password(&policy, &candidate, Some(&account))
            .await
    }
}
