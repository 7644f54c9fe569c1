//! Submitting a screen: everything on it is checked, then the password
//! (if any) is judged and hashed, then the screen is applied; the last one
//! activates the account (or, after a mailed key, sets its new password).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::FlowError;
use domain::activation::{self, Effects, FlowState, ScreenRules, Submission};
use domain::password::{self, PasswordPolicy, Violation as PasswordViolation};
use domain::problem::{Problem, Violation};
use domain::refusal::Precondition;
use store::activation::{Completion, FlowWrites, LoadedFlow};
use store::passwords::NewPassword;
use store::secrets::Purpose;

use super::messages::AddressToVerify;
use super::{Journey, Submitted, flow_error, verification_purpose};
use crate::error::AppError;
use crate::passwords::{read_password, rejected};
use crate::texts::mail::Verifying;
use crate::{App, CallContext};

/// A submitted screen as typed: its items (parsed at the edge) and the new
/// password with its confirmation, if the screen has one. Its debug form
/// says whether a password was typed, not which.
#[derive(Clone, Default)]
pub struct ScreenInput {
    pub submission: Submission,
    /// The mobile phone as typed, read in the institution's region.
    pub mobile_phone: Option<String>,
    /// The new password and its confirmation, as typed.
    pub password: Option<(String, String)>,
    /// The items the edge could not read (an address typed differently
    /// twice, an unchecked charter): reported with the screen's other
    /// problems, so that the person corrects everything at once.
    pub refused: Vec<Violation>,
}

impl std::fmt::Debug for ScreenInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenInput")
            .field("submission", &self.submission)
            .field("password_typed", &self.password.is_some())
            .field("refused", &self.refused)
            .finish()
    }
}

/// A screen that passed its checks, its password hashed: ready to apply.
struct Accepted {
    state: FlowState,
    effects: Effects,
    policy: PasswordPolicy,
}

impl App {
    /// Submits the flow's current screen. A screen submitted again (a
    /// double click, a retry after a lost answer) answers as the first
    /// time without changing anything.
    pub async fn submit_activation_screen(
        &self,
        flow_token: &str,
        input: ScreenInput,
        ctx: &CallContext,
    ) -> Result<Submitted, AppError> {
        let now = self.now();
        let language = ctx.language;
        let loaded = self.load_flow(flow_token, now).await?;
        if loaded.flow.completed_at.is_some() {
            // A repeated final submission: the journey is already complete.
            let flow = self
                .flow_view(&loaded, &loaded.state, Some(&loaded.account), language, now)
                .await?;
            return Ok(Submitted { flow, notice: None });
        }
        let journey = self.journey(&loaded.account)?;
        let typed = read_screen(with_phone(input, &journey.institution.phone_region));
        let (submission, password) = (typed.submission, typed.password);
        if typed.refused.is_empty()
            && self
                .repeats_done_screen(&loaded, &journey, &submission, password.as_ref())
                .await?
        {
            let flow = self
                .flow_view(&loaded, &loaded.state, None, language, now)
                .await?;
            return Ok(Submitted { flow, notice: None });
        }
        let screen = TypedScreen {
            submission,
            password,
            refused: typed.refused,
        };
        let accepted = self
            .accept_screen(&loaded, &journey, screen, language, now)
            .await?;
        if !accepted.effects.completed {
            return self.save_screen(loaded, &journey, accepted, ctx, now).await;
        }
        if accepted.state.reactivation {
            return self.complete_reactivation(loaded, accepted, ctx, now).await;
        }
        self.complete_activation(loaded, &journey, accepted, ctx, now)
            .await
    }

    /// Whether the submission repeats a screen already done, with the same
    /// password if it carries one.
    async fn repeats_done_screen(
        &self,
        loaded: &LoadedFlow,
        journey: &Journey<'_>,
        submission: &Submission,
        password: Option<&Arc<password::Password>>,
    ) -> Result<bool, AppError> {
        let plan = journey.plan(&loaded.state);
        if !activation::repeats_done_screen(&loaded.state, &plan, submission) {
            return Ok(false);
        }
        Ok(match (password, &loaded.state.password_hash) {
            (None, _) => true,
            (Some(typed), Some(stored)) => matches!(
                self.hasher
                    .verify(Arc::clone(typed), stored.clone())
                    .await?,
                hashing::Verified::Yes { .. }
            ),
            (Some(_), None) => false,
        })
    }

    /// Checks the whole screen, its password's rules included, and
    /// reports every problem at once; only an acceptable screen spends
    /// argon2 time on its password, then applies to a copy of the flow's
    /// state.
    async fn accept_screen(
        &self,
        loaded: &LoadedFlow,
        journey: &Journey<'_>,
        screen: TypedScreen,
        language: domain::language::Language,
        now: DateTime<Utc>,
    ) -> Result<Accepted, AppError> {
        let TypedScreen {
            submission,
            password,
            mut refused,
        } = screen;
        let account = &loaded.account;
        let plan = journey.plan(&loaded.state);
        let screen_rules = ScreenRules {
            plan: &plan,
            recovery: &journey.profile.activation.recovery_mail,
            redirect: journey.profile.activation.mail_redirect,
            charter_version: journey
                .institution
                .charter
                .as_ref()
                .map(|c| c.version.as_str()),
            institutional_mail: account.institutional_mail.as_deref(),
            consents: &journey.institution.offered_consents(journey.profile),
        };
        let checked = match activation::check(&loaded.state, &screen_rules, submission) {
            Ok(checked) => Some(checked),
            Err(FlowError::Invalid(problems)) => {
                refused.extend(not_yet_reported(problems, &refused));
                None
            }
            Err(_) if !refused.is_empty() => None,
            Err(other) => return Err(flow_error(other)),
        };
        let policy = self.policy_of(account)?;
        if let Some(new) = &password {
            let evaluation = self.evaluate_password(&policy, new, Some(account)).await?;
            refused.extend(
                evaluation
                    .violations
                    .iter()
                    .map(|v| Violation::new("password.password", Problem::Password(v.clone()))),
            );
        }
        let checked = match checked {
            Some(checked) if refused.is_empty() => checked,
            _ => return Err(screen_refused(refused, language)),
        };
        let mut password_hash = None;
        if let Some(new) = password {
            password_hash = Some(self.hasher.hash(new).await?);
        }
        let mut state = loaded.state.clone();
        let effects = activation::apply(&mut state, &screen_rules, checked, password_hash, now)
            .map_err(flow_error)?;
        Ok(Accepted {
            state,
            effects,
            policy,
        })
    }

    /// Saves a screen that does not end the journey, with the verification
    /// message it sends, if any.
    async fn save_screen(
        &self,
        loaded: LoadedFlow,
        journey: &Journey<'_>,
        accepted: Accepted,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<Submitted, AppError> {
        let Accepted { state, effects, .. } = accepted;
        let (mut writes, notice) = match &effects.verify {
            Some((step, address)) => {
                let to_verify = AddressToVerify {
                    step: *step,
                    address,
                };
                let sent = self.verification_writes(
                    &loaded.account,
                    journey,
                    to_verify,
                    ctx.language,
                    now,
                )?;
                (sent.writes, Some(sent.notice))
            }
            None => (FlowWrites::default(), None),
        };
        writes.revoke = effects
            .revoke
            .iter()
            .filter_map(|step| verification_purpose(*step))
            .collect();
        let sent = effects.verify.as_ref().map(|(step, _)| step.field());
        writes.audit = Some((
            "activation.screen_submitted",
            serde_json::json!({ "verification_sent": sent }),
        ));
        self.store
            .save_flow(&loaded, &state, writes, ctx, now)
            .await?;
        let flow = self
            .flow_view(&loaded, &state, None, ctx.language, now)
            .await?;
        Ok(Submitted { flow, notice })
    }

    /// Ends a reactivation (after a mailed key): the new password replaces
    /// the old one, the key is spent.
    async fn complete_reactivation(
        &self,
        loaded: LoadedFlow,
        accepted: Accepted,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<Submitted, AppError> {
        let Accepted {
            mut state, policy, ..
        } = accepted;
        let account = &loaded.account;
        let institution = self.institution_of(account)?;
        let hash = completed_password(&mut state)?;
        let key = self
            .store
            .live_secret(&account.id, Purpose::ReactivationKey, now)
            .await?
            .ok_or_else(|| AppError::FailedPrecondition {
                kind: Precondition::LinkExpired,
                subject: "key".into(),
                message: "the mailed activation key has expired or was replaced: ask for a new one"
                    .into(),
            })?;
        let expires_at = password::expires_at(&policy, now);
        let new_password = NewPassword {
            account_id: &account.id,
            replaces: account.password_hash.as_deref(),
            hash: &hash,
            expires_at,
            reminder_at: institution.password_reminder_at(expires_at),
            history_count: policy.history_count,
            action: "password.reset",
            spend: Some(&key.id),
            messages: self.password_notice(account, ctx.language, now),
        };
        let completed = self
            .store
            .complete_reactivation(&loaded, &state, new_password, ctx, now)
            .await?;
        let flow = self
            .completed_view(loaded, &state, &completed, ctx, now)
            .await?;
        Ok(Submitted { flow, notice: None })
    }

    /// Ends an activation: the account becomes active, in one transaction.
    /// A recovery address confirmed after activation is mailed its link
    /// now and serves recovery once confirmed.
    async fn complete_activation(
        &self,
        loaded: LoadedFlow,
        journey: &Journey<'_>,
        accepted: Accepted,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<Submitted, AppError> {
        let Accepted {
            mut state, policy, ..
        } = accepted;
        // The account keeps the hash; the stored flow does not.
        let hash = completed_password(&mut state)?;
        let mut confirm_later = None;
        if journey.profile.activation.recovery_mail.verification
            == activation::Verification::AfterActivation
            && state.recovery_mail_verified_at.is_none()
            && let Some(address) = state.recovery_mail.take()
        {
            let what = Verifying::RecoveryMail;
            let link = self.address_link(&loaded.account, what, &address, ctx.language, now)?;
            confirm_later = Some(link);
        }
        let expires_at = password::expires_at(&policy, now);
        let mut completion = Completion {
            password_hash: &hash,
            password_expires_at: expires_at,
            password_reminder_at: journey.institution.password_reminder_at(expires_at),
            history_count: policy.history_count,
            messages: Vec::new(),
            secrets: Vec::new(),
        };
        let notice = confirm_later.map(|link| {
            completion.secrets.push(link.secret);
            completion.messages.push(link.message);
            link.notice
        });
        let completed = self
            .store
            .complete_activation(&loaded, &state, completion, ctx, now)
            .await?;
        let flow = self
            .completed_view(loaded, &state, &completed, ctx, now)
            .await?;
        Ok(Submitted { flow, notice })
    }
}

impl App {
    /// The flow as its completing transaction left it.
    async fn completed_view(
        &self,
        mut loaded: LoadedFlow,
        state: &FlowState,
        completed: &Account,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<super::FlowView, AppError> {
        loaded.flow.completed_at = Some(now);
        self.flow_view(&loaded, state, Some(completed), ctx.language, now)
            .await
    }
}

/// The submission's items and its password, read: the password and its
/// confirmation must be the same.
/// A screen as read: its items, its password when typed the same twice,
/// and what could not be read.
struct TypedScreen {
    submission: Submission,
    password: Option<Arc<password::Password>>,
    refused: Vec<Violation>,
}

/// The screen with its mobile phone read as the institution writes
/// numbers (`06 12 34 56 78` in France), or refused.
fn with_phone(mut input: ScreenInput, region: &str) -> ScreenInput {
    if let Some(raw) = input.mobile_phone.take() {
        match domain::ids::PhoneE164::parse(raw.trim(), region) {
            Ok(phone) => input.submission.mobile_phone = Some(phone),
            Err(problem) => input
                .refused
                .push(domain::problem::Violation::new("mobile_phone", problem)),
        }
    }
    input
}

fn read_screen(input: ScreenInput) -> TypedScreen {
    let ScreenInput {
        mut submission,
        password,
        mut refused,
        ..
    } = input;
    let Some((typed, confirmation)) = password else {
        return TypedScreen {
            submission,
            password: None,
            refused,
        };
    };
    let mut unreadable = |result: Result<password::Password, AppError>| match result {
        Ok(password) => Some(password),
        Err(AppError::InvalidArgument(violations)) => {
            refused.extend(violations);
            None
        }
        Err(_) => None,
    };
    let new = unreadable(read_password(typed, "password.password", true));
    let confirmation = unreadable(read_password(confirmation, "password.confirmation", true));
    // The password is judged only once typed the same twice.
    let password = match (new, confirmation) {
        (Some(new), Some(confirmation)) if new.same_as(&confirmation) => {
            submission.password_given = true;
            Some(Arc::new(new))
        }
        (Some(_), Some(_)) => {
            let mismatch = PasswordViolation::ConfirmationMismatch;
            refused.push(Violation::new("password", Problem::Password(mismatch)));
            None
        }
        _ => None,
    };
    TypedScreen {
        submission,
        password,
        refused,
    }
}

/// The problems the screen's rules found that the edge did not report
/// already (an address typed differently twice is not also missing).
fn not_yet_reported(problems: Vec<Violation>, reported: &[Violation]) -> Vec<Violation> {
    problems
        .into_iter()
        .filter(|p| {
            !reported
                .iter()
                .any(|r| r.field == p.field || r.field.starts_with(&format!("{}.", p.field)))
        })
        .collect()
}

/// Every problem of a screen in one refusal; a screen whose only problems
/// are its password's is a password refusal (with the rules' codes).
fn screen_refused(refused: Vec<Violation>, language: domain::language::Language) -> AppError {
    let password_only: Option<(String, Vec<PasswordViolation>)> = refused
        .iter()
        .map(|v| match &v.problem {
            Problem::Password(p) => Some((v.field.clone(), p.clone())),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|all| {
            let field = all.first()?.0.clone();
            Some((field, all.into_iter().map(|(_, p)| p).collect()))
        });
    match password_only {
        Some((field, violations)) => rejected(&field, &violations, language),
        None => AppError::InvalidArgument(refused),
    }
}

/// The hash a completed journey's state holds, taken out of it.
fn completed_password(state: &mut FlowState) -> Result<String, AppError> {
    state
        .password_hash
        .take()
        .ok_or_else(|| AppError::inconsistent("completed without a password"))
}
