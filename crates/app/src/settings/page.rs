//! What the account page shows a signed-in person: who they are, and the
//! forms their institution offers them, with its words.

use domain::account::{Account, AccountKind, AccountStatus};
use domain::activation::{Step, mask_mail};
use domain::form::{self, FieldShape, StepRules};
use domain::institution::ProfileSettings;
use domain::language::Language;
use domain::password::PasswordPolicy;
use domain::self_service::AntispamLevel;
use store::accounts::AccountLookup;

use crate::App;
use crate::error::AppError;
use crate::forms::{FormView, InstitutionView, ItemView, institution_view, items, with_words};
use crate::texts::forms::{self as words, OwnForm, Titles, Wordings};
use crate::texts::{ConsentChoice, consent_choices, item_choices};

/// The account page of one person.
#[derive(Debug, Clone)]
pub struct AccountPage {
    pub institution: InstitutionView,
    pub account: Account,
    /// The verified recovery address, masked; none when there is none.
    pub recovery_mail: Option<String>,
    pub password_policy: PasswordPolicy,
    pub password_change: FormView,
    pub recovery_mail_change: FormView,
    /// The phone reset codes go to, masked (the verified recovery phone,
    /// else the record's proven one); none when there is none.
    pub recovery_phone: Option<String>,
    /// Where the institution resets by SMS: the recovery phone's form, and
    /// the form of the code sent to a new number.
    pub recovery_phone_change: Option<(FormView, FormView)>,
    /// None without a university mailbox to redirect.
    pub redirect_change: Option<FormView>,
    /// The consents the profile collects, as its activation screens show
    /// them, and their options; the photo's item also asks for the
    /// password, which its refusal needs.
    pub consents: Vec<ItemView>,
    pub consent_choices: Vec<ConsentChoice>,
    /// Staff only: their directory entry's editable fields (its values in
    /// `account`), and the antispam level with the levels to choose from.
    pub directory: Option<FormView>,
    pub antispam: Option<Antispam>,
    /// After a departure, where the profile may be extended: the request's
    /// form.
    pub extension: Option<FormView>,
    /// A sponsor's invitation of a guest, for those who may invite.
    pub guest_invitation: Option<GuestInvitationView>,
    /// A former student's kept account: the form that closes it
    /// (`close_alumni_account`).
    pub alumni_closing: Option<FormView>,
}

/// The invitation form of a sponsor, the guest profiles to choose among
/// and the latest end date a stay may have today.
#[derive(Debug, Clone)]
pub struct GuestInvitationView {
    pub form: FormView,
    /// Each guest profile's code and label.
    pub profiles: Vec<(String, String)>,
    pub latest_end_date: chrono::NaiveDate,
}

/// The antispam level of a staff mailbox, and the levels offered.
#[derive(Debug, Clone)]
pub struct Antispam {
    pub titles: Titles,
    pub level: AntispamLevel,
    pub levels: Vec<(AntispamLevel, &'static str)>,
}

/// The steps that collect a consent.
const CONSENT_STEPS: [Step; 4] = [
    Step::DirectoryListing,
    Step::PhotoUse,
    Step::CrousSharing,
    Step::Consents,
];

/// Whether `account` may ask for an extension: its departure is recorded,
/// its profile can be extended and it has not expired.
fn extendable(account: &Account, profile: &ProfileSettings) -> bool {
    let lifecycle = crate::batch::facts(account).lifecycle;
    profile.retention.extension_months.is_some()
        && account.retention_end_date.is_some()
        && !matches!(
            lifecycle,
            AccountStatus::Alumni | AccountStatus::Expired | AccountStatus::DataDeleted
        )
}

/// The verified recovery address of `account`, masked.
fn masked_recovery_mail(account: &Account) -> Option<String> {
    account
        .recovery_mail
        .as_deref()
        .filter(|_| account.recovery_mail_verified_at.is_some())
        .map(mask_mail)
}

/// The consent items the profile's journey collects.
fn collected_consents(profile: &domain::institution::ProfileSettings) -> Vec<Step> {
    let screens = &profile.activation.screens;
    CONSENT_STEPS
        .into_iter()
        .filter(|step| screens.iter().flatten().any(|s| s == step))
        .collect()
}

/// The options of the consents the account page changes: the service's,
/// then the institution's own (a refusal warns of what a withdrawal
/// leaves).
fn page_choices(
    language: Language,
    collected: &[Step],
    rules: &StepRules<'_>,
    institution: &domain::institution::InstitutionSettings,
) -> Vec<ConsentChoice> {
    let mut choices = consent_choices(language, collected, institution, true);
    choices.extend(item_choices(language, &rules.consents, true));
    choices
}

/// The phone reset codes go to, masked: the recovery phone, else the
/// record's proven one.
fn masked_recovery_phone(account: &Account) -> Option<String> {
    account.reset_phone().map(domain::activation::mask_phone)
}

/// Where the institution resets by SMS: the recovery phone's form and the
/// form of the code sent to a new number, made by `form`.
fn phone_forms(
    institution: &domain::institution::InstitutionSettings,
    form: impl Fn(OwnForm, Vec<FieldShape>) -> FormView,
) -> Option<(FormView, FormView)> {
    let channels = &institution.recovery.channels;
    channels
        .contains(&domain::recovery::ResetChannel::Sms)
        .then(|| {
            (
                form(
                    OwnForm::RecoveryPhoneChange,
                    form::recovery_phone_change_fields(),
                ),
                form(OwnForm::RecoveryPhoneCode, form::reset_code_fields()),
            )
        })
}

impl App {
    /// The account page of the account `lookup` names, in `language`.
    ///
    /// # Errors
    /// `NotFound` for no such account, `FailedPrecondition` for one not in
    /// use (not activated, expired, locked).
    pub async fn describe_account(
        &self,
        lookup: AccountLookup<'_>,
        language: Language,
    ) -> Result<AccountPage, AppError> {
        let account = self.account_in_use(lookup).await?;
        let institution = self.institution_of(&account)?;
        let profile = self.profile_of(&account)?;
        let wordings = Wordings::of_profile(institution, profile);
        let policy = institution.password_policy(&account.profile);
        let form = |own: OwnForm, shapes: Vec<FieldShape>| FormView {
            titles: words::own_form(language, wordings, own),
            fields: with_words(shapes, language, wordings),
        };
        let collected = collected_consents(profile);
        let rules = StepRules::of(institution, profile, &policy);
        let mut consents = items(&collected, &rules, wordings, language);
        for item in consents.iter_mut().filter(|i| i.step == Step::PhotoUse) {
            // Needed only to refuse: the choice rule says when.
            let password = FieldShape {
                required: false,
                ..form::current_password_field()
            };
            item.fields
                .extend(with_words(vec![password], language, wordings));
        }
        let staff = account.kind == AccountKind::Staff;
        let directory_fields = &institution.staff_settings.directory_fields;
        let directory = (staff && !directory_fields.is_empty()).then(|| {
            form(
                OwnForm::DirectoryEntry,
                form::directory_fields(directory_fields),
            )
        });
        let antispam = (staff && account.institutional_mail.is_some()).then(|| Antispam {
            titles: words::own_form(language, wordings, OwnForm::Antispam),
            level: self.level_of(&account),
            levels: words::antispam_levels(language),
        });
        let extension = extendable(&account, profile)
            .then(|| form(OwnForm::ExtensionRequest, form::extension_fields()));
        let guest_invitation = self.guest_invitation_view(&account, language, wordings);
        let alumni_closing = (account.status == AccountStatus::Alumni)
            .then(|| form(OwnForm::AlumniClosing, vec![form::current_password_field()]));
        Ok(AccountPage {
            alumni_closing,
            guest_invitation,
            directory,
            antispam,
            extension,
            institution: institution_view(&account.institution, institution),
            password_change: form(
                OwnForm::PasswordChange,
                form::password_change_fields(&policy),
            ),
            recovery_mail_change: form(
                OwnForm::RecoveryMailChange,
                form::recovery_mail_change_fields(),
            ),
            redirect_change: account
                .institutional_mail
                .as_ref()
                .map(|_| form(OwnForm::RedirectChange, form::redirect_change_fields())),
            recovery_mail: masked_recovery_mail(&account),
            recovery_phone: masked_recovery_phone(&account),
            recovery_phone_change: phone_forms(institution, form),
            consent_choices: page_choices(language, &collected, &rules, institution),
            consents,
            password_policy: policy,
            account,
        })
    }
}

impl App {
    /// The invitation form, where `account` may invite guests and its
    /// institution has guest profiles.
    fn guest_invitation_view(
        &self,
        account: &Account,
        language: Language,
        wordings: Wordings<'_>,
    ) -> Option<GuestInvitationView> {
        self.sponsor_may_invite(account).ok()?;
        let institution = self.institution_of(account).ok()?;
        let profiles: Vec<(String, String)> = institution
            .profiles
            .iter()
            .filter(|(_, p)| p.kind == AccountKind::Guest)
            .map(|(code, p)| (code.clone(), words::audience(language, p)))
            .collect();
        if profiles.is_empty() {
            return None;
        }
        let today = self
            .now()
            .with_timezone(&institution.time_zone)
            .date_naive();
        Some(GuestInvitationView {
            form: FormView {
                titles: words::own_form(language, wordings, OwnForm::GuestInvitation),
                fields: with_words(form::guest_invitation_fields(), language, wordings),
            },
            profiles,
            latest_end_date: institution.guests.latest_end(today),
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::language::Language;
    use store::accounts::AccountLookup;

    use crate::testing::{activate_montpellier_staff, test_app};

    #[tokio::test]
    async fn the_account_page_offers_the_forms_of_the_profile() {
        let t = test_app().await;
        let account = activate_montpellier_staff(&t, "RH-77").await;
        let page = t
            .app
            .describe_account(AccountLookup::Id(&account.id), Language::French)
            .await
            .expect("described");
        assert_eq!(page.account.kind, domain::account::AccountKind::Staff);
        // Montpellier's staff journey collects the directory listing only.
        let steps: Vec<_> = page.consents.iter().map(|i| i.step).collect();
        assert_eq!(steps, [domain::activation::Step::DirectoryListing]);
        assert_eq!(page.consent_choices.len(), 2);
        let names: Vec<&str> = page
            .password_change
            .fields
            .iter()
            .map(|f| f.shape.field.path())
            .collect();
        assert_eq!(
            names,
            [
                "current_password",
                "new_password.password",
                "new_password.confirmation"
            ]
        );
        assert!(page.redirect_change.is_some());
        assert_eq!(page.password_change.titles.title, "Changer de mot de passe");
    }
}
