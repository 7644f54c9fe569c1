//! Former students' accounts kept on consent (`domain::alumni`): the page
//! the request's link opens, the answer, and the closing of a kept account
//! at its holder's request. The requests themselves are the expiry batch's
//! (`batch`, step `AlumniOffer`).

use chrono::NaiveDate;
use domain::account::{Account, AccountStatus};
use domain::alumni::AlumniSettings;
use domain::consent::Localized;
use domain::refusal::Precondition;
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::entities::one_time_secret;
use store::secrets::Purpose;
use store::self_service::AccountWrite;

use crate::error::AppError;
use crate::links::link_unusable;
use crate::settings::PresenceProof;
use crate::{App, CallContext};

/// What a request's page shows before the person answers.
#[derive(Debug, Clone)]
pub struct AlumniOffer {
    pub login: String,
    pub institution: String,
    /// What a kept account gives access to.
    pub services: Localized,
    /// Whether the account is already kept (a yearly renewal).
    pub renewal: bool,
    /// The last day of the current period: the answer is due by then.
    pub period_end: NaiveDate,
    /// The last day of the next period, for a "yes".
    pub kept_until: NaiveDate,
}

/// What an answer did.
#[derive(Debug, Clone)]
pub struct AlumniAnswered {
    pub account: Account,
    /// The last day of the next period when kept; `None`: the account
    /// closes after `period_end`.
    pub kept_until: Option<NaiveDate>,
    pub period_end: NaiveDate,
}

/// A request's link, the account it is for and the offer of its profile.
struct OpenRequest {
    secret: one_time_secret::Model,
    account: Account,
    settings: AlumniSettings,
    period_end: NaiveDate,
}

impl App {
    /// The offer a request's link opens, while it can be answered.
    pub async fn alumni_offer(&self, token: &str) -> Result<AlumniOffer, AppError> {
        let open = self.open_alumni_request(token).await?;
        Ok(AlumniOffer {
            login: open.account.login.clone(),
            institution: open.account.institution.clone(),
            renewal: open.account.life_state() == AccountStatus::Alumni,
            kept_until: open.settings.terms().kept_until(open.period_end),
            services: open.settings.services,
            period_end: open.period_end,
        })
    }

    /// The person's answer: keep the account past the end of its period, or
    /// let it close then. The link is spent.
    pub async fn answer_alumni_offer(
        &self,
        token: &str,
        keep: bool,
        ctx: &CallContext,
    ) -> Result<AlumniAnswered, AppError> {
        let now = self.now();
        let open = self.open_alumni_request(token).await?;
        let period_end = open.period_end;
        let kept_until = keep.then(|| open.settings.terms().kept_until(period_end));
        let details = json!({
            "keep": keep,
            "period_end": period_end.to_string(),
            "kept_until": kept_until.map(|d| d.to_string()),
        });
        let write = AccountWrite {
            account: &open.account,
            changes: vec![AccountChange::AlumniAnswer { period_end, keep }],
            spend: vec![open.secret.id.clone()],
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("account.alumni_answered", details),
            feed: Vec::new(),
        };
        let account = self.store.write_account(write, ctx, now).await?;
        Ok(AlumniAnswered {
            account,
            kept_until,
            period_end,
        })
    }

    /// Closes a former student's kept account at their request ("until the
    /// person asks for its deletion", arrêté of 30 November 2006, art. 6):
    /// its personal data is deleted at once, as the purge does. The person
    /// proves they are there (password or step-up token).
    pub async fn close_alumni_account(
        &self,
        lookup: AccountLookup<'_>,
        presence: Option<PresenceProof>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let mut account = self.account_in_use(lookup).await?;
        if account.status != AccountStatus::Alumni {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "only a former student's kept account is closed on request".into(),
            });
        }
        self.require_presence(&mut account, presence, ctx, now)
            .await?;
        let write = AccountWrite {
            account: &account,
            changes: Vec::new(),
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("account.closed_on_request", json!({})),
            feed: Vec::new(),
        };
        Ok(self.store.close_account(write, ctx, now).await?)
    }

    /// A request's link that can still be answered: the account's current
    /// period is the one it was sent for, and its profile still offers to
    /// keep accounts.
    async fn open_alumni_request(&self, token: &str) -> Result<OpenRequest, AppError> {
        let now = self.now();
        let (secret, account) = self.account_link(token, Purpose::AlumniOffer, now).await?;
        let settings = self
            .profile_of(&account)?
            .alumni
            .clone()
            .ok_or_else(link_unusable)?;
        let period_end = account
            .retention_end_date
            .filter(|end| account.alumni.asked(*end))
            .filter(|_| matches!(account.status, AccountStatus::Grace | AccountStatus::Alumni))
            .ok_or_else(link_unusable)?;
        Ok(OpenRequest {
            secret,
            account,
            settings,
            period_end,
        })
    }
}
