//! The first-login journey: entry (key, provisional password, mailed link,
//! identity match + code), then the configured screens; the account
//! becomes active at completion, in one transaction. The rules are in
//! `domain::activation`; these use cases load, call them, persist through
//! `store::activation` and describe the flow as a page shows it
//! ([`FlowView`]).

mod after_entry;
mod entry;
mod messages;
mod submit;
mod view;

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::{self, FlowError, FlowState, Step};
use domain::institution::{InstitutionSettings, ProfileSettings};
use domain::problem::Problem;
use domain::refusal::Precondition;
use domain::secret::{SecretKind, generate, hash_secret};
use store::activation::LoadedFlow;
use store::secrets::{NewSecret, Purpose};

use crate::error::{AppError, internal};
use crate::{App, CallContext};

pub use entry::{Entry, IdentityFields};
pub use submit::ScreenInput;
pub use view::{CompletionView, FlowView, PendingView, RedirectView, ScreenView};

/// A started flow: the token that stands for it (given once) and the flow.
pub struct Started {
    pub flow_token: String,
    pub flow: FlowView,
}

/// The token stands for the flow: its debug form leaves it out.
impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

/// What an accepted screen leads to: the flow, and where a verification
/// message went when the screen sent one.
#[derive(Debug)]
pub struct Submitted {
    pub flow: FlowView,
    pub notice: Option<crate::links::DeliveryNotice>,
}

/// What a flow token holder may not learn: one answer for an unknown,
/// expired or completed-elsewhere flow.
fn flow_gone() -> AppError {
    AppError::NotFound("unknown or expired activation flow: start again".into())
}

/// One answer for a wrong secret or a wrong identity, whichever part was
/// wrong.
fn entry_refused(field: &str) -> AppError {
    AppError::field(field, Problem::DetailsDoNotMatch)
}

fn link_gone() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::LinkExpired,
        subject: "token".into(),
        message: "this link has expired or was already used: start again".into(),
    }
}

/// The secrets a verification step waits for.
fn verification_purpose(step: Step) -> Option<Purpose> {
    match step {
        Step::VerifyCode => Some(Purpose::IdentityCode),
        Step::RecoveryMailVerification => Some(Purpose::RecoveryMailVerification),
        Step::MobilePhoneVerification => Some(Purpose::PhoneVerification),
        Step::MailRedirectVerification => Some(Purpose::RedirectVerification),
        _ => None,
    }
}

fn flow_error(e: FlowError) -> AppError {
    match e {
        FlowError::Completed => AppError::FailedPrecondition {
            kind: Precondition::FlowCompleted,
            subject: "flow".into(),
            message: "this activation is already complete".into(),
        },
        FlowError::AwaitingVerification(step) => AppError::FailedPrecondition {
            kind: Precondition::AwaitingVerification,
            subject: step.field().into(),
            message: match step {
                Step::VerifyCode => "type the code sent to you first".into(),
                _ => "follow the link mailed to you, or type its code, first".into(),
            },
        },
        FlowError::Invalid(problems) => AppError::InvalidArgument(problems),
    }
}

/// The institution and profile of an account: the rules of its journey.
struct Journey<'a> {
    institution: &'a InstitutionSettings,
    profile: &'a ProfileSettings,
}

impl Journey<'_> {
    /// The screens of a flow: the profile's, or the institution's
    /// reactivation screens after a mailed key.
    fn plan(&self, state: &FlowState) -> Vec<Vec<Step>> {
        if state.reactivation {
            activation::plan(
                activation::AfterEntry::default(),
                &self.institution.recovery.reactivation_screens,
                &activation::RecoveryMailRule::default(),
            )
        } else {
            self.profile.activation.plan()
        }
    }
}

impl App {
    fn journey(&self, account: &Account) -> Result<Journey<'_>, AppError> {
        let institution = self
            .rules
            .institution(&account.institution)
            .ok_or_else(|| AppError::inconsistent("institution no longer configured"))?;
        let profile = self.profile_of(account)?;
        Ok(Journey {
            institution,
            profile,
        })
    }

    /// The unexpired flow a token stands for, with its account.
    async fn load_flow(&self, token: &str, now: DateTime<Utc>) -> Result<LoadedFlow, AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::field("flow_token", Problem::Missing));
        }
        self.store
            .find_flow(&hash_secret(SecretKind::Token, token), now)
            .await?
            .ok_or_else(flow_gone)
    }

    /// The flow a token stands for, as a page shows it.
    pub async fn activation_flow(
        &self,
        flow_token: &str,
        ctx: &CallContext,
    ) -> Result<FlowView, AppError> {
        let now = self.now();
        let loaded = self.load_flow(flow_token, now).await?;
        let completed = loaded.flow.completed_at.map(|_| loaded.account.clone());
        self.flow_view(
            &loaded,
            &loaded.state,
            completed.as_ref(),
            ctx.language,
            now,
        )
        .await
    }

    /// Opening a mailed verification link: this browser gets its own
    /// handle on the flow. Opening spends nothing (mail scanners open
    /// links); the page then submits the link's token as the code.
    pub async fn confirm_activation_link(
        &self,
        token: &str,
        ctx: &CallContext,
    ) -> Result<Started, AppError> {
        let now = self.now();
        let token = token.trim();
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::field("token", Problem::Missing));
        }
        let hash = hash_secret(SecretKind::Token, token);
        let mut secret = None;
        for purpose in [
            Purpose::RecoveryMailVerification,
            Purpose::RedirectVerification,
        ] {
            secret = self.store.secret_by_hash(&hash, purpose, now).await?;
            if secret.is_some() {
                break;
            }
        }
        let flow_id = secret.and_then(|s| s.flow_id).ok_or_else(link_gone)?;
        let loaded = self
            .store
            .flow_by_id(&flow_id, now)
            .await?
            .ok_or_else(link_gone)?;
        let handle = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        let secret = NewSecret {
            account_id: loaded.account.id.clone(),
            purpose: Purpose::FlowToken,
            hash: hash_secret(SecretKind::Token, handle.expose()),
            target: None,
            flow_id: Some(loaded.flow.id.clone()),
            not_before: None,
            expires_at: Some(loaded.flow.expires_at),
        };
        self.store
            .issue_account_secrets(
                &loaded.account,
                store::activation::SecretIssue {
                    revoke: &[],
                    secrets: vec![secret],
                    messages: Vec::new(),
                    audit: None,
                },
                now,
            )
            .await?;
        let flow = self
            .flow_view(&loaded, &loaded.state, None, ctx.language, now)
            .await?;
        Ok(Started {
            flow_token: handle.expose().to_owned(),
            flow,
        })
    }
}

#[cfg(test)]
mod tests;
