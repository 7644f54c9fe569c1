//! The identity check a profile asks for after its entry: a mailed link
//! proves the personal address, not who opened it, so some universities
//! ask for the birth date once it is followed. The details typed are
//! compared with the record; a wrong one gets the same refusal whatever was
//! wrong, and only the guess limits hold it back (nothing the person holds
//! is destroyed).

use chrono::{DateTime, Utc};
use domain::activation::{self, Step};
use domain::refusal::Precondition;
use store::activation::{FlowWrites, LoadedFlow};

use super::{IdentityFields, Journey, entry_refused};
use crate::error::AppError;
use crate::limits::Counters;
use crate::{App, CallContext, activation::FlowView};

impl App {
    /// Checks the identity details typed on the flow's identity screen.
    ///
    /// # Errors
    /// `InvalidArgument` for a badly written attribute (named) and for
    /// details that are not the record's (one refusal); `FailedPrecondition`
    /// when the flow waits for no identity check; `ResourceExhausted` once
    /// the account or the address guessed too often.
    pub async fn verify_activation_identity(
        &self,
        flow_token: &str,
        typed: &IdentityFields,
        ctx: &CallContext,
    ) -> Result<FlowView, AppError> {
        let now = self.now();
        let loaded = self.load_flow(flow_token, now).await?;
        let journey = self.journey(&loaded.account)?;
        let plan = journey.plan(&loaded.state);
        if loaded.state.pending_verification(&plan) != Some(Step::VerifyIdentity) {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NothingToVerify,
                subject: "identity_match".into(),
                message: "this flow is not waiting for identity details".into(),
            });
        }
        let counters = Counters::guesses(self, ctx, Some(&[loaded.account.id.as_str()]));
        let checked = self.check_identity(&loaded, &journey, typed, ctx, now);
        self.limited(counters, now, checked).await
    }

    async fn check_identity(
        &self,
        loaded: &LoadedFlow,
        journey: &Journey<'_>,
        typed: &IdentityFields,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<FlowView, AppError> {
        let institution = journey.institution;
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let typed = typed.parse(institution, today)?;
        let check = &journey.profile.activation.identity_check_after_entry;
        if !typed.matches(check, (&loaded.account).into()) {
            return Err(entry_refused("identity_match"));
        }
        let mut state = loaded.state.clone();
        activation::verified(&mut state, Step::VerifyIdentity, now);
        let writes = FlowWrites {
            audit: Some(("activation.identity_checked", serde_json::json!({}))),
            ..FlowWrites::default()
        };
        self.store
            .save_flow(loaded, &state, writes, ctx, now)
            .await?;
        self.flow_view(loaded, &state, None, ctx.language, now)
            .await
    }
}
