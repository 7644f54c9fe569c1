//! An institution's rules, as its configuration file states them: its
//! profiles, how their people activate, recover and leave. Configuration
//! deserialises into these types; the rules read them, never the
//! configuration itself.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::AccountKind;
use crate::activation::{self, RecoveryMailRule, RedirectRule, Step};
use crate::consent::Localized;
use crate::form::FormWording;
use crate::login::{LoginScheme, MailScheme};
use crate::password::{PasswordPolicy, PasswordPolicyOverride};
use crate::recovery::{MaskStyle, ResetMethod};
use crate::retention::{ExtensionApproval, MonthDay, RetentionRule};
use crate::secret::Secret;
use crate::self_service::{AntispamLevel, DirectoryField};

/// The portal page `page` of the portal at `portal_url` that `token` opens
/// (see [`InstitutionSettings::portal_url`]).
/// The portal's page an activation link opens.
pub const ACTIVATION_LINK_PAGE: &str = "activation/link";
/// The portal's page a reset link opens.
pub const RESET_LINK_PAGE: &str = "recovery/reset";

pub fn portal_link(portal_url: &str, page: &str, token: &Secret) -> String {
    format!(
        "{}/{page}/{}",
        portal_url.trim_end_matches('/'),
        token.expose()
    )
}

/// The controller's own entries in the processing record (RGPD art. 30):
/// the service writes the rest from the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataProtection {
    /// How to reach the data-protection officer (an address, a page).
    #[serde(default)]
    pub dpo_contact: String,
    /// The processing's legal basis, as the controller states it (for a
    /// public university, usually a task in the public interest, RGPD art.
    /// 6.1.e, under the arrêté of 30 November 2006 on ENTs).
    #[serde(default)]
    pub legal_basis: String,
}

/// The institutions of a deployment, by code.
pub type Institutions = BTreeMap<String, InstitutionSettings>;

/// One university.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSettings {
    /// Display name.
    pub name: String,
    /// Time zone of the institution, for "until 23:59 the same day" and dates.
    pub time_zone: chrono_tz::Tz,
    /// Region used to read phone numbers typed without `+` (ISO 3166 code).
    #[serde(default = "default_phone_region")]
    pub phone_region: String,
    /// Exact length of student numbers, when the institution fixes one
    /// (Montpellier: 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_number_length: Option<usize>,
    /// URL of the helpdesk form for users whose recovery address is dead.
    #[serde(default)]
    pub helpdesk_url: String,
    /// The portal's address: mailed links are `{portal_url}/activation/link/{token}`
    /// (start activation), `{portal_url}/recovery/reset/{token}` (new
    /// password), `{portal_url}/account/recovery-mail/{token}` and
    /// `{portal_url}/account/redirect/{token}` (addresses changed after
    /// activation) and `{portal_url}/activation/verify/{token}`
    /// (verify an address).
    #[serde(default = "default_portal_url")]
    pub portal_url: String,
    /// Password rules of the institution; a profile may override them.
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    /// The IT charter users accept during activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charter: Option<CharterSettings>,
    /// Forgotten passwords and logins, and the links mailed after
    /// activation.
    #[serde(default)]
    pub recovery: RecoverySettings,
    /// What staff edit themselves (students never do).
    #[serde(default)]
    pub staff_settings: StaffSettings,
    /// Departures: the academic year, notices, reminders and the purge.
    #[serde(default)]
    pub lifecycle: LifecycleSettings,
    /// Who may invite guests, how invitations are decided, how long a stay
    /// lasts.
    #[serde(default)]
    pub guests: crate::guest::GuestSettings,
    /// Which records name a person who already has an account, and what
    /// provisioning does with them (one person, one account).
    #[serde(default)]
    pub duplicates: crate::duplicates::DuplicateSettings,
    /// The institution's consent items, by code (`consents.<code>`): a
    /// profile asks those its `activation.consents` lists, on the
    /// journey's `consents` item; the reserved codes `directory_listing`,
    /// `photo_use` and `crous_sharing` declare the service's own items,
    /// asked by the journey items of those names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consents: BTreeMap<String, crate::consent_items::ConsentItem>,
    /// What the processing record (`ent-identity processing-record`) says
    /// of the institution as controller.
    #[serde(default)]
    pub data_protection: DataProtection,
    /// The institution's own words for its first-connection forms: titles
    /// and introductions of entries and steps, fields' labels, help and
    /// examples (the service words what it leaves out).
    #[serde(default)]
    pub wording: FormWording,
    /// Populations of the institution, by profile code.
    pub profiles: BTreeMap<String, ProfileSettings>,
}

/// What the expiry batch does for an institution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSettings {
    /// First day of the academic year (`MM-DD`), for retention rules that
    /// count from the end of the academic year of departure.
    #[serde(default = "default_academic_year_start")]
    pub academic_year_start: MonthDay,
    /// Days before the retention end at which the person is told that the
    /// account will close (each sent once; a late batch sends only the
    /// nearest).
    #[serde(default = "default_expiry_notice_days")]
    pub expiry_notice_days: Vec<u32>,
    /// Days before a password's maximum age at which its owner is reminded
    /// to change it (only where the password policy has a `max_age`).
    #[serde(default = "default_password_reminder_days")]
    pub password_reminder_days: Vec<u32>,
    /// Time an expired account's personal data is kept before the purge
    /// (a tombstone remains for the audit trail).
    #[serde(default = "default_purge_after", with = "formats::duration")]
    pub purge_after: Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            academic_year_start: default_academic_year_start(),
            expiry_notice_days: default_expiry_notice_days(),
            password_reminder_days: default_password_reminder_days(),
            purge_after: default_purge_after(),
        }
    }
}

fn default_academic_year_start() -> MonthDay {
    MonthDay { month: 9, day: 1 }
}
fn default_expiry_notice_days() -> Vec<u32> {
    vec![30, 7]
}
fn default_password_reminder_days() -> Vec<u32> {
    vec![14, 3]
}
fn default_purge_after() -> Duration {
    Duration::from_secs(90 * 86400)
}

/// How long a profile keeps its account after the last day of activity,
/// and whether it may be extended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Calendar months kept after the last day of activity (Montpellier:
    /// 12 tenured and contract staff, 6 vacataires and hosted staff, 3
    /// others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    /// Or: kept until this day (`MM-DD`) following the end of the academic
    /// year of departure (students: `12-31`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<MonthDay>,
    /// Months one granted extension adds; absent: the profile cannot be
    /// extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_months: Option<u32>,
    /// `administrator` (requests wait for a decision) or `automatic`.
    #[serde(default)]
    pub extension_approval: ExtensionApproval,
}

impl RetentionSettings {
    /// The rule; `months` when both are set (validation refuses that).
    pub fn rule(&self) -> RetentionRule {
        match (self.months, self.until) {
            (Some(m), _) => RetentionRule::Months(m),
            (None, Some(until)) => RetentionRule::AfterAcademicYear(until),
            (None, None) => RetentionRule::Months(0),
        }
    }
}

/// Password recovery, login recovery and the links mailed to active users.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySettings {
    /// What a forgotten password sends to the verified recovery address:
    /// `reset_link` (Montpellier) or `activation_key` (Bordeaux Montaigne:
    /// a new key to activate the account again).
    #[serde(default)]
    pub method: ResetMethod,
    /// What a person may type to be sent it: `login`, `ine`,
    /// `institutional_mail` (all three unless the institution lists
    /// fewer).
    #[serde(default = "crate::recovery::every_reset_identifier")]
    pub reset_identifiers: Vec<crate::recovery::ResetIdentifierKind>,
    /// How a reset reaches the person, in the order offered: `mail` (what
    /// `method` sends, to the verified recovery address) and `sms` (a code
    /// to the mobile phone verified at activation, traded for a reset
    /// link's token). With both, the person chooses.
    #[serde(default = "crate::recovery::mail_channel_only")]
    pub channels: Vec<crate::recovery::ResetChannel>,
    /// Lifetime of a code sent by SMS.
    #[serde(default = "default_reset_code_lifetime", with = "formats::duration")]
    pub code_lifetime: Duration,
    /// Wrong codes typed before a code sent by SMS stops working (the
    /// guess limits apply besides).
    #[serde(default = "default_reset_code_attempts")]
    pub code_attempts: u32,
    /// How the answer shows the address: `full` (`xxxxxxxxxxxx@xxxxxxxx`,
    /// Montpellier) or `partial` (`j*******@g****.com`).
    #[serde(default)]
    pub mask: MaskStyle,
    /// Secret that makes the partial mask shown for unknown accounts
    /// stable and unguessable; required with `mask = "partial"`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decoy_key: String,
    /// Lifetime of a reset link or a mailed activation key.
    #[serde(default = "default_reset_lifetime", with = "formats::duration")]
    pub reset_lifetime: Duration,
    /// Lifetime of a link a desk agent hands over in person (a reset link,
    /// `HelpdeskService.IssueDeskPasswordReset`; an activation link,
    /// `IssueDeskActivation`): shorter than a mailed one, since it is used
    /// there and then.
    #[serde(default = "default_desk_link_lifetime", with = "formats::duration")]
    pub desk_link_lifetime: Duration,
    /// Lifetime of the links verifying a new recovery or redirect address
    /// after activation.
    #[serde(default = "default_verification_lifetime", with = "formats::duration")]
    pub verification_link_lifetime: Duration,
    /// Shortest time between two mails of the same kind to one account
    /// (a reset asked for again within it sends nothing more).
    #[serde(default = "default_resend_cooldown", with = "formats::duration")]
    pub resend_cooldown: Duration,
    /// The screens after a mailed activation key is typed
    /// (`method = "activation_key"`); a `password` item is required.
    #[serde(default = "default_reactivation_screens")]
    pub reactivation_screens: Vec<Vec<Step>>,
    /// Forgotten login (student number and birth date).
    #[serde(default)]
    pub login_lookup: LoginLookupSettings,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        RecoverySettings {
            method: ResetMethod::default(),
            reset_identifiers: crate::recovery::every_reset_identifier(),
            channels: crate::recovery::mail_channel_only(),
            code_lifetime: default_reset_code_lifetime(),
            code_attempts: default_reset_code_attempts(),
            mask: MaskStyle::default(),
            decoy_key: String::new(),
            reset_lifetime: default_reset_lifetime(),
            desk_link_lifetime: default_desk_link_lifetime(),
            verification_link_lifetime: default_verification_lifetime(),
            resend_cooldown: default_resend_cooldown(),
            reactivation_screens: default_reactivation_screens(),
            login_lookup: LoginLookupSettings::default(),
        }
    }
}

fn default_reset_code_lifetime() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_reset_code_attempts() -> u32 {
    5
}
fn default_reset_lifetime() -> Duration {
    Duration::from_secs(3600)
}
fn default_desk_link_lifetime() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_verification_lifetime() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_reactivation_screens() -> Vec<Vec<Step>> {
    vec![vec![Step::Password]]
}

/// The forgotten-login lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginLookupSettings {
    /// Whether students may look their login up.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Wrong birth dates for one student number before lookups of it stop
    /// until the window ends.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_lookup_window", with = "formats::duration")]
    pub window: Duration,
}

impl Default for LoginLookupSettings {
    fn default() -> Self {
        LoginLookupSettings {
            enabled: true,
            max_attempts: default_max_attempts(),
            window: default_lookup_window(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_lookup_window() -> Duration {
    Duration::from_secs(3600)
}

/// What staff edit themselves from the account page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    /// The directory fields staff may edit.
    #[serde(default = "all_directory_fields")]
    pub directory_fields: Vec<DirectoryField>,
    /// The antispam level of a mailbox nobody set.
    #[serde(default)]
    pub antispam_default: AntispamLevel,
}

impl Default for StaffSettings {
    fn default() -> Self {
        StaffSettings {
            directory_fields: all_directory_fields(),
            antispam_default: AntispamLevel::default(),
        }
    }
}

fn all_directory_fields() -> Vec<DirectoryField> {
    DirectoryField::ALL.to_vec()
}

impl InstitutionSettings {
    /// When the first reminder of a password expiring at `expires_at` is
    /// due.
    pub fn password_reminder_at(
        &self,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        crate::retention::first_password_reminder(
            expires_at,
            &self.lifecycle.password_reminder_days,
        )
    }

    /// The portal page a mailed token opens: `activation/link` (start
    /// activation), `activation/verify` (verify an address during
    /// activation), `recovery/reset` (new password), `account/recovery-mail`
    /// or `account/redirect` (verify an address after activation).
    pub fn portal_link(&self, page: &str, token: &Secret) -> String {
        portal_link(&self.portal_url, page, token)
    }

    /// The consent items `profile` asks, in order, with their codes (a
    /// code the configuration check refused is left out).
    pub fn offered_consents(
        &self,
        profile: &ProfileSettings,
    ) -> Vec<(&str, &crate::consent_items::ConsentItem)> {
        let listed = profile.activation.consents.iter();
        listed
            .filter_map(|code| self.consents.get_key_value(code))
            .map(|(code, item)| (code.as_str(), item))
            .collect()
    }

    /// The password policy of a profile: the institution's, with the
    /// profile's overrides. An unknown profile gets the institution's.
    pub fn password_policy(&self, profile: &str) -> PasswordPolicy {
        match self
            .profiles
            .get(profile)
            .and_then(|p| p.password_policy.as_ref())
        {
            Some(patch) => patch.apply(&self.password_policy),
            None => self.password_policy.clone(),
        }
    }
}

/// The IT charter in force.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharterSettings {
    /// Version users accept; a new version makes flows ask again.
    pub version: String,
    /// Where to read it.
    pub url: String,
}

fn default_portal_url() -> String {
    "http://localhost:8080".to_owned()
}

fn default_phone_region() -> String {
    "FR".to_owned()
}

/// One population of an institution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// Student or staff: decides the external id (student number or HR id).
    pub kind: AccountKind,
    /// How the login identifier is built.
    pub login: LoginScheme,
    /// How the institutional mail address is built; none when the profile
    /// gets no mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institutional_mail: Option<MailScheme>,
    /// How the person receives what they activate with.
    pub activation: ActivationSettings,
    /// Changes to the institution's password policy for this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicyOverride>,
    /// How long the account is kept after the person leaves.
    pub retention: RetentionSettings,
    /// What this population is called on the first-connection page
    /// ("Étudiants", "Personnels"); absent: by its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Localized>,
    /// This profile's own words where they differ from the institution's
    /// (Montpellier's teaching vacataires' mandatory redirect).
    #[serde(default)]
    pub wording: FormWording,
    /// Former students' accounts kept on consent (students only); absent:
    /// accounts expire at their retention end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alumni: Option<crate::alumni::AlumniSettings>,
}

/// What a person activates with, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationChannel {
    /// Activation key printed on the enrolment certificate.
    ActivationKey,
    /// Provisional password printed on the staff passport.
    ProvisionalPassword,
    /// Link mailed to the personal address when activation opens.
    MailedLink,
    /// Identity match (the attributes of `identity_check`: Tours' student
    /// number, INE and mobile phone), then a code.
    IdentityMatch,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationSettings {
    pub channel: ActivationChannel,
    /// Time between provisioning and the opening of activation.
    #[serde(with = "formats::duration")]
    pub delay: Duration,
    /// How long the printed or mailed material works; absent: until used.
    #[serde(
        default,
        with = "formats::duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub material_lifetime: Option<Duration>,
    /// The screens after the entry, in order, each listing the items shown
    /// together: `recovery_mail`, `mobile_phone`, `charter`,
    /// `directory_listing`, `photo_use`, `crous_sharing`, `consents`,
    /// `mail_redirect`, `password`. The verification screens (codes, mailed links) are
    /// placed automatically.
    pub screens: Vec<Vec<Step>>,
    /// The institution's consent items (`consents.<code>`) the journey's
    /// `consents` item asks, in the order shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<String>,
    /// What an identity match asks the person to type, each compared with
    /// the provisioned record: `student_number`, `ine`, `hr_id`,
    /// `birth_date`, `family_name`, `mobile_phone`, `personal_mail`
    /// (default: Tours' student number, INE and mobile phone).
    #[serde(default = "crate::identity_check::default_identity_check")]
    pub identity_check: Vec<crate::identity_check::IdentityAttribute>,
    /// What the person types after an entry that is not an identity
    /// match (a mailed link opened, a key), each compared with the record:
    /// the same attributes as `identity_check` ("date de naissance" once
    /// the link is followed). Empty: nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_check_after_entry: Vec<crate::identity_check::IdentityAttribute>,
    /// Where a code is sent after the entry, to be typed before the
    /// screens: `sms` (the mobile phone on record), `mail` (the personal
    /// address on record). Absent: both, whichever the record has, after
    /// an identity match (Tours); no code after the other entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_to: Option<Vec<CodeChannel>>,
    /// Where the record holds several of `code_to`'s destinations, the
    /// person chooses the one the code goes to (nothing is sent before);
    /// otherwise it goes to them all.
    #[serde(default)]
    pub code_choice: bool,
    /// The recovery-mail item: required or not, verified by a mailed link
    /// and code or not, and the link's lifetime.
    #[serde(default)]
    pub recovery_mail: RecoveryMailRule,
    /// `optional` or `mandatory` (teaching vacataires).
    #[serde(default)]
    pub mail_redirect: RedirectRule,
    /// How long a started flow lives.
    #[serde(default = "default_flow_lifetime", with = "formats::duration")]
    pub flow_lifetime: Duration,
    /// Lifetime of the code sent after the entry (`code_to`).
    #[serde(default = "default_code_lifetime", with = "formats::duration")]
    pub code_lifetime: Duration,
    /// Wrong entries of a key, provisional password or code before it is
    /// invalidated.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Shortest time between two sendings of the same message.
    #[serde(default = "default_resend_cooldown", with = "formats::duration")]
    pub resend_cooldown: Duration,
    /// Where the completion screen sends the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextDestination>,
}

/// Where an entry's code is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeChannel {
    /// By SMS to the mobile phone on record.
    Sms,
    /// By mail to the personal address on record.
    Mail,
}

impl ActivationSettings {
    /// The screens of this profile's journey, entry and verifications
    /// included.
    pub fn plan(&self) -> Vec<Vec<Step>> {
        activation::plan(
            activation::AfterEntry {
                identity: !self.identity_check_after_entry.is_empty(),
                code: !self.code_channels().is_empty(),
            },
            &self.screens,
            &self.recovery_mail,
        )
    }

    /// Where the code after the entry goes (or, with `code_choice`, may
    /// go); empty: no code.
    pub fn code_channels(&self) -> Vec<CodeChannel> {
        match (&self.code_to, self.channel) {
            (Some(channels), _) => channels.clone(),
            (None, ActivationChannel::IdentityMatch) => vec![CodeChannel::Sms, CodeChannel::Mail],
            (None, _) => Vec::new(),
        }
    }
}

fn default_flow_lifetime() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn default_code_lifetime() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_max_attempts() -> u32 {
    5
}
fn default_resend_cooldown() -> Duration {
    Duration::from_secs(60)
}

/// The destination offered once the account is active.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextDestination {
    pub url: String,
    /// Button label in French.
    pub label_fr: String,
    /// Button label in English.
    pub label_en: String,
}
