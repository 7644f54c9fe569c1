//! The flow as a page shows it: its screens, where it stands, what it
//! waits for, the rules of the password and the choices it offers.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::{self, FlowState, Step, mask_mail, mask_phone};
use domain::institution::{CharterSettings, CodeChannel};
use domain::language::Language;
use domain::password::PasswordPolicy;
use store::activation::LoadedFlow;

use super::{Journey, verification_purpose};
use crate::App;
use crate::error::AppError;
use crate::forms::{self, InstitutionView, ItemView};
use crate::links::DeliveryNotice;
use crate::texts::forms::{Titles, Wordings};
use crate::texts::{self, ConsentChoice};
use domain::form::StepRules;

/// An activation flow as its holder sees it.
#[derive(Debug, Clone)]
pub struct FlowView {
    pub flow_id: String,
    pub institution: String,
    /// The institution as a page shows it (name, time zone, helpdesk).
    pub institution_view: InstitutionView,
    pub profile: String,
    pub login: String,
    pub screens: Vec<ScreenView>,
    /// The screen to fill in next; the number of screens once complete.
    pub current_screen: usize,
    pub pending_verification: Option<PendingView>,
    pub password_policy: PasswordPolicy,
    pub charter: Option<CharterSettings>,
    pub mail_redirect_mandatory: bool,
    /// The address a redirect screen offers first (the recovery address).
    pub mail_redirect_default_address: String,
    pub expires_at: DateTime<Utc>,
    pub completion: Option<CompletionView>,
    /// The consent options of the journey, as the person reads them.
    pub choices: Vec<ConsentChoice>,
    /// The last screen's words, once the journey is complete.
    pub completed: Titles,
}

/// One screen of the journey.
#[derive(Debug, Clone)]
pub struct ScreenView {
    pub steps: Vec<Step>,
    pub done: bool,
    /// The screen's words: its first step's.
    pub titles: Titles,
    /// Each step with its words, fields and choice rule.
    pub items: Vec<ItemView>,
}

/// The verification the flow waits for, and where its message went.
#[derive(Debug, Clone)]
pub struct PendingView {
    pub step: Step,
    /// Where the message went; none while the person has not chosen.
    pub notice: Option<DeliveryNotice>,
    /// Where the person may have the code sent, masked (profiles with
    /// `code_choice`); empty otherwise.
    pub code_choices: Vec<(CodeChannel, String)>,
}

/// A completed activation: what the person now has and where to go.
#[derive(Debug, Clone)]
pub struct CompletionView {
    pub login: String,
    pub institutional_mail: String,
    pub mail_redirect: Option<RedirectView>,
    pub next_url: String,
    pub next_label: String,
    pub activated_at: Option<DateTime<Utc>>,
}

/// The account's mail redirect after activation.
#[derive(Debug, Clone)]
pub struct RedirectView {
    pub address: String,
    pub keep_copy: bool,
    pub verified: bool,
    pub mandatory: bool,
}

impl App {
    /// The flow as its holder sees it; `completed_account` is the account
    /// as the completing transaction left it.
    pub(super) async fn flow_view(
        &self,
        loaded: &LoadedFlow,
        state: &FlowState,
        completed_account: Option<&Account>,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<FlowView, AppError> {
        let account = completed_account.unwrap_or(&loaded.account);
        let journey = self.journey(account)?;
        let plan = journey.plan(state);
        let current = state.current_screen(&plan);
        // An identity check waits for no message: its screen's fields say
        // what to type.
        let pending_verification = match state.pending_verification(&plan) {
            Some(Step::VerifyIdentity) | None => None,
            Some(step) => Some(self.pending(loaded, step, &journey, now).await?),
        };
        let finished = completed_account.or(loaded.flow.completed_at.map(|_| account));
        let completion = match (current, finished) {
            (None, Some(account)) => Some(completion(account, &journey, language)),
            _ => None,
        };
        let steps: Vec<Step> = plan.iter().flatten().copied().collect();
        let policy = self.policy_of(account)?;
        let wordings = Wordings::of_profile(journey.institution, journey.profile);
        let rules = StepRules::of(journey.institution, journey.profile, &policy);
        let screen = |steps: &Vec<Step>| {
            let items = forms::items(steps, &rules, wordings, language);
            ScreenView {
                steps: steps.clone(),
                done: steps.iter().all(|s| state.done.contains(s)),
                // The consents step's own words: its items each have theirs.
                titles: match steps.first() {
                    Some(&Step::Consents) => texts::forms::step(language, wordings, Step::Consents),
                    _ => items.first().map(|i| i.titles.clone()).unwrap_or_default(),
                },
                items,
            }
        };
        let screens = plan.iter().map(screen).collect();
        let choices = journey_choices(language, &steps, &rules, &journey);
        Ok(FlowView {
            flow_id: loaded.flow.id.clone(),
            institution_view: forms::institution_view(&account.institution, journey.institution),
            institution: account.institution.clone(),
            profile: account.profile.clone(),
            login: account.login.clone(),
            screens,
            current_screen: current.unwrap_or(plan.len()),
            pending_verification,
            completed: texts::forms::completed(language, wordings),
            password_policy: policy,
            charter: journey.institution.charter.clone(),
            mail_redirect_mandatory: journey.profile.activation.mail_redirect
                == activation::RedirectRule::Mandatory,
            mail_redirect_default_address: state.recovery_mail.clone().unwrap_or_default(),
            expires_at: loaded.flow.expires_at,
            completion,
            choices,
        })
    }

    /// The verification `step` waits for, with where its live message
    /// went.
    async fn pending(
        &self,
        loaded: &LoadedFlow,
        step: Step,
        journey: &Journey<'_>,
        now: DateTime<Utc>,
    ) -> Result<PendingView, AppError> {
        let secrets = match verification_purpose(step) {
            Some(purpose) => {
                self.store
                    .flow_secrets(&loaded.flow.id, &[purpose], now)
                    .await?
            }
            None => Vec::new(),
        };
        // An identity code by SMS also went to the personal address, where
        // the profile sends it there too; no other message goes two ways.
        let also_mailed = match step {
            Step::VerifyCode => super::messages::code_also_mailed(&loaded.account, journey),
            _ => None,
        };
        let notice = secrets.first().map(|s| {
            let target = s.target.clone().unwrap_or_default();
            let by_sms = target.starts_with('+');
            DeliveryNotice {
                also_sent_to: also_mailed.map(mask_mail).into_iter().collect(),
                masked_destination: if by_sms {
                    mask_phone(&target)
                } else {
                    mask_mail(&target)
                },
                // Spam folders are for mail.
                check_spam_folder: !by_sms || also_mailed.is_some(),
                helpdesk_url: journey.institution.helpdesk_url.clone(),
                expires_at: s.expires_at,
            }
        });
        let code_choices = match step {
            Step::VerifyCode => super::messages::code_choices(&loaded.account, journey),
            _ => Vec::new(),
        };
        Ok(PendingView {
            step,
            notice,
            code_choices,
        })
    }
}

/// The options of the consent items on the journey: the service's, then
/// the institution's own.
fn journey_choices(
    language: Language,
    steps: &[Step],
    rules: &StepRules<'_>,
    journey: &Journey<'_>,
) -> Vec<ConsentChoice> {
    let mut choices = texts::consent_choices(language, steps, journey.institution, false);
    if steps.contains(&Step::Consents) {
        choices.extend(texts::item_choices(language, &rules.consents, false));
    }
    choices
}

/// What a completed activation gives and where the person goes next.
fn completion(account: &Account, journey: &Journey<'_>, language: Language) -> CompletionView {
    let next = journey.profile.activation.next.as_ref();
    let mandatory = journey.profile.activation.mail_redirect == activation::RedirectRule::Mandatory;
    CompletionView {
        login: account.login.clone(),
        institutional_mail: account.institutional_mail.clone().unwrap_or_default(),
        mail_redirect: account
            .redirect
            .address
            .as_ref()
            .map(|address| RedirectView {
                address: address.clone(),
                keep_copy: account.redirect.keep_copy,
                verified: account.redirect.verified_at.is_some(),
                mandatory,
            }),
        next_url: next
            .map(|n| n.url.clone())
            .unwrap_or_else(|| journey.institution.portal_url.clone()),
        next_label: next.map_or_else(
            || texts::sign_in_to_portal(language).to_owned(),
            |n| language.pick(&n.label_fr, &n.label_en).to_owned(),
        ),
        activated_at: account.activated_at,
    }
}
