//! The activation journey as pure rules: which screens a profile goes
//! through (from configuration), what a flow has collected so far, and how a
//! submitted screen advances it. No I/O: the service hashes passwords and
//! sends mail, the store persists [`FlowState`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::consent_items::{self, ConsentAnswers, ConsentInput, Offered};
use super::ids::MailAddress;
use super::problem::{Problem, Violation};

/// One item of the journey. The configuration lists the items a user fills
/// in ([`Step::is_item`]); the entry and verification steps are placed by
/// [`plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The entry secret (key, provisional password, link, identity match).
    VerifySecret,
    /// The code sent by SMS and mail after an identity match.
    VerifyCode,
    /// The identity details typed after the entry (a mailed link opened,
    /// then the birth date), compared with the record.
    VerifyIdentity,
    RecoveryMail,
    RecoveryMailVerification,
    /// A mobile phone the person gives, to receive reset codes by SMS.
    MobilePhone,
    /// The code sent by SMS to that phone, typed back.
    MobilePhoneVerification,
    Charter,
    DirectoryListing,
    PhotoUse,
    CrousSharing,
    /// The institution's own consent items the profile asks
    /// (`activation.consents`), each answered on the same screen.
    Consents,
    MailRedirect,
    MailRedirectVerification,
    Password,
    /// The person types their given and family names, as on their
    /// identity document: guests, whose sponsor may not know them as
    /// written (no enrolment or HR record gives them).
    Names,
}

impl Step {
    /// Whether the step is an item of a configured screen (rather than an
    /// entry or verification step the journey places itself).
    pub fn is_item(self) -> bool {
        !matches!(
            self,
            Step::VerifySecret
                | Step::VerifyCode
                | Step::VerifyIdentity
                | Step::RecoveryMailVerification
                | Step::MobilePhoneVerification
                | Step::MailRedirectVerification
        )
    }

    /// The request field that carries the item.
    pub fn field(self) -> &'static str {
        match self {
            Step::VerifySecret => "entry",
            Step::VerifyCode => "code",
            Step::VerifyIdentity => "identity_match",
            Step::RecoveryMail | Step::RecoveryMailVerification => "recovery_mail",
            Step::MobilePhone | Step::MobilePhoneVerification => "mobile_phone",
            Step::Charter => "charter",
            Step::DirectoryListing => "directory_listed",
            Step::PhotoUse => "photo",
            Step::CrousSharing => "crous_sharing",
            Step::Consents => "consents",
            Step::MailRedirect | Step::MailRedirectVerification => "mail_redirect",
            Step::Password => "password",
            Step::Names => "names",
        }
    }
}

/// How long a mailed verification link or code works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkLifetime {
    /// A fixed duration after sending.
    For(Duration),
    /// Until 23:59:59 of the day it was sent, in the institution's time zone
    /// (Montpellier: "valide le jour même jusqu'à 23h59").
    EndOfDay,
}

impl LinkLifetime {
    /// When a link sent at `sent` stops working.
    pub fn expires_at(self, sent: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
        match self {
            LinkLifetime::For(d) => chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| sent.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            LinkLifetime::EndOfDay => end_of_local_day(sent.with_timezone(&tz).date_naive(), tz)
                .unwrap_or(sent + chrono::Duration::hours(1)),
        }
    }
}

/// 23:59:59 of `day` in `tz`, the last moment a link valid "the same day"
/// (or until a period's last day) works.
pub fn end_of_local_day(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let last = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    // A day-light saving change never falls at 23:59 in the zones
    // universities use; `earliest` also covers a gap.
    tz.from_local_datetime(&last)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

impl Serialize for LinkLifetime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LinkLifetime::For(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            LinkLifetime::EndOfDay => s.serialize_str("end_of_day"),
        }
    }
}

impl<'de> Deserialize<'de> for LinkLifetime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "end_of_day" {
            return Ok(LinkLifetime::EndOfDay);
        }
        humantime::parse_duration(&text)
            .map(LinkLifetime::For)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "expected a duration such as \"24h\" or \"end_of_day\": {e}"
                ))
            })
    }
}

/// How the recovery address is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// A mail with a link and a code; the journey waits for it.
    Link,
    /// Recorded during the journey without waiting; a confirmation link is
    /// mailed once the account is active, and the address serves recovery
    /// only once confirmed.
    AfterActivation,
    /// Trusted as typed twice: it serves recovery without confirmation (a
    /// typo sends recovery mail to a stranger; prefer `after_activation`).
    None,
}

/// The recovery-mail item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryMailRule {
    /// Whether the item must be filled in (Bordeaux: optional).
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default = "link")]
    pub verification: Verification,
    /// Lifetime of the verification link and code.
    #[serde(default = "one_day")]
    pub link_lifetime: LinkLifetime,
}

fn yes() -> bool {
    true
}
fn link() -> Verification {
    Verification::Link
}
fn one_day() -> LinkLifetime {
    LinkLifetime::For(Duration::from_secs(24 * 3600))
}

impl Default for RecoveryMailRule {
    fn default() -> Self {
        RecoveryMailRule {
            required: true,
            verification: Verification::Link,
            link_lifetime: one_day(),
        }
    }
}

/// Whether a profile may, or must, redirect its university mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectRule {
    #[default]
    Optional,
    /// Teaching vacataires: mail always goes to their own address.
    Mandatory,
}

/// The further proofs a journey asks for after its entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfterEntry {
    /// Identity details typed and compared with the record.
    pub identity: bool,
    /// A code sent to the phone or personal address.
    pub code: bool,
}

/// The screens of a journey, in order: the entry, the identity check and
/// the code after it where the profile asks for them, then the configured
/// screens with a verification screen after each screen that mails a link.
pub fn plan(
    after_entry: AfterEntry,
    screens: &[Vec<Step>],
    recovery: &RecoveryMailRule,
) -> Vec<Vec<Step>> {
    let mut out = vec![vec![Step::VerifySecret]];
    if after_entry.identity {
        out.push(vec![Step::VerifyIdentity]);
    }
    if after_entry.code {
        out.push(vec![Step::VerifyCode]);
    }
    for screen in screens {
        out.push(screen.clone());
        if screen.contains(&Step::RecoveryMail) && recovery.verification == Verification::Link {
            out.push(vec![Step::RecoveryMailVerification]);
        }
        if screen.contains(&Step::MobilePhone) {
            out.push(vec![Step::MobilePhoneVerification]);
        }
        if screen.contains(&Step::MailRedirect) {
            out.push(vec![Step::MailRedirectVerification]);
        }
    }
    out
}

/// Problems of a configured list of screens, as messages.
pub fn screen_problems(screens: &[Vec<Step>]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for screen in screens {
        if screen.is_empty() {
            problems.push("a screen lists no item".to_owned());
        }
        for step in screen {
            if !step.is_item() {
                problems.push(format!(
                    "{step:?} is placed by the journey itself; list only recovery_mail, mobile_phone, charter, directory_listing, photo_use, crous_sharing, consents, mail_redirect and password"
                ));
            } else if !seen.insert(*step) {
                problems.push(format!("{step:?} appears twice"));
            }
        }
    }
    if !seen.contains(&Step::Password) {
        problems.push("the password item is required".to_owned());
    }
    problems
}

/// The photo decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhotoDecision {
    /// The allowed uses (at least one).
    Allow(BTreeSet<PhotoUse>),
    /// Every use refused; irreversible.
    Refuse,
}

/// A use of the photo (Bordeaux Montaigne's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoUse {
    CardReprint,
    TutorialSheets,
    PhotoDirectory,
}

impl PhotoUse {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoUse::CardReprint => "card_reprint",
            PhotoUse::TutorialSheets => "tutorial_sheets",
            PhotoUse::PhotoDirectory => "photo_directory",
        }
    }

    /// The use [`PhotoUse::as_str`] names.
    pub fn parse(text: &str) -> Option<PhotoUse> {
        [
            PhotoUse::CardReprint,
            PhotoUse::TutorialSheets,
            PhotoUse::PhotoDirectory,
        ]
        .into_iter()
        .find(|u| u.as_str() == text)
    }
}

/// The redirect decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectDecision {
    /// `None`: no redirect.
    pub address: Option<String>,
    pub keep_copy: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

/// What a flow has collected; stored as JSON with the flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    /// Bumped by every change; the store refuses a write based on an older
    /// version (two tabs submitting at once).
    pub version: u64,
    pub done: BTreeSet<Step>,
    pub recovery_mail: Option<String>,
    pub recovery_mail_verified_at: Option<DateTime<Utc>>,
    /// Charter version and acceptance time.
    pub charter: Option<(String, DateTime<Utc>)>,
    pub directory_listed: Option<(bool, DateTime<Utc>)>,
    pub photo: Option<(PhotoDecision, DateTime<Utc>)>,
    pub crous_sharing: Option<(bool, DateTime<Utc>)>,
    /// The answers to the institution's own consent items.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consents: ConsentAnswers,
    pub redirect: Option<RedirectDecision>,
    /// argon2id hash of the chosen password, held until completion (and
    /// dropped from the stored state then: the account holds it).
    pub password_hash: Option<String>,
    /// An active account going through its journey again with a mailed
    /// activation key (a forgotten password at Bordeaux Montaigne): the
    /// institution's reactivation screens, and completion only sets the
    /// password.
    #[serde(default)]
    pub reactivation: bool,
    /// The given and family names typed (the names step), written to the
    /// account on completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<(String, String)>,
    /// The mobile phone a code sent to it alone proved, and when: the
    /// phone a reset code may go to once the account is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone_verified: Option<(String, DateTime<Utc>)>,
    /// The mobile phone the person gave (the mobile-phone item), and when
    /// the code sent to it was typed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_phone_verified_at: Option<DateTime<Utc>>,
}

impl FlowState {
    /// Index of the first screen with an item not done, or `None` when the
    /// journey is complete.
    pub fn current_screen(&self, plan: &[Vec<Step>]) -> Option<usize> {
        plan.iter()
            .position(|screen| screen.iter().any(|s| !self.done.contains(s)))
    }

    /// The verification the flow waits for, if its current screen is one.
    pub fn pending_verification(&self, plan: &[Vec<Step>]) -> Option<Step> {
        let screen = &plan[self.current_screen(plan)?];
        screen.iter().copied().find(|s| {
            matches!(
                s,
                Step::VerifyIdentity
                    | Step::VerifyCode
                    | Step::RecoveryMailVerification
                    | Step::MobilePhoneVerification
                    | Step::MailRedirectVerification
            )
        })
    }
}

/// The items of one submitted screen, parsed at the edge.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// Given and family names (the names step).
    pub names: Option<(crate::ids::PersonName, crate::ids::PersonName)>,
    pub recovery_mail: Option<MailAddress>,
    /// The mobile phone given, in E.164.
    pub mobile_phone: Option<crate::ids::PhoneE164>,
    pub charter_version: Option<String>,
    pub directory_listed: Option<bool>,
    pub photo: Option<PhotoDecision>,
    pub crous_sharing: Option<bool>,
    /// The answers to the institution's own consent items, as sent
    /// (checked against the profile's items with the screen).
    pub consents: Option<ConsentInput>,
    pub redirect: Option<RedirectInput>,
    /// Set once the password passed the policy and was hashed.
    pub password_hash: Option<String>,
    /// Whether a password was typed at all (it is hashed only if the rest
    /// of the screen is acceptable).
    pub password_given: bool,
}

/// A redirect as typed.
#[derive(Debug, Clone)]
pub struct RedirectInput {
    pub address: Option<MailAddress>,
    pub keep_copy: bool,
}

impl Submission {
    /// The items present, as steps.
    pub fn items(&self) -> BTreeSet<Step> {
        let mut items = BTreeSet::new();
        let mut add = |present: bool, step| {
            if present {
                items.insert(step);
            }
        };
        add(self.names.is_some(), Step::Names);
        add(self.recovery_mail.is_some(), Step::RecoveryMail);
        add(self.mobile_phone.is_some(), Step::MobilePhone);
        add(self.charter_version.is_some(), Step::Charter);
        add(self.directory_listed.is_some(), Step::DirectoryListing);
        add(self.photo.is_some(), Step::PhotoUse);
        add(self.crous_sharing.is_some(), Step::CrousSharing);
        add(self.consents.is_some(), Step::Consents);
        add(self.redirect.is_some(), Step::MailRedirect);
        add(self.password_given, Step::Password);
        items
    }
}

/// The rules a submission is checked against.
pub struct ScreenRules<'a> {
    pub plan: &'a [Vec<Step>],
    pub recovery: &'a RecoveryMailRule,
    pub redirect: RedirectRule,
    /// The charter version in force; `None` when none is configured.
    pub charter_version: Option<&'a str>,
    /// The institutional address, which cannot be a recovery or redirect
    /// address.
    pub institutional_mail: Option<&'a str>,
    /// The institution's consent items the profile asks.
    pub consents: &'a Offered<'a>,
}

/// Why a screen is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// The journey is already complete.
    Completed,
    /// The current screen waits for a code or a mailed link.
    AwaitingVerification(Step),
    /// Field-level problems: (field, message).
    Invalid(Vec<Violation>),
}

/// What accepting a screen asks the service to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Send a verification link and code to this address for this step.
    pub verify: Option<(Step, String)>,
    /// Every pending verification of this kind is void (the address changed).
    pub revoke: Vec<Step>,
    /// The journey is complete: apply everything to the account.
    pub completed: bool,
}

/// A submission that passed every check of the current screen; only the
/// hash of its password is missing, if one was typed (the service spends
/// argon2 time only on an acceptable screen).
#[derive(Debug)]
pub struct Checked {
    submission: Submission,
    /// The items the screen accepts.
    allowed: BTreeSet<Step>,
}

impl Checked {
    /// Whether a password was typed, to be judged and hashed before
    /// [`apply`].
    pub fn wants_password(&self) -> bool {
        self.submission.password_given
    }
}

/// Checks a submission against the current screen, without changing
/// anything.
/// The items a screen accepts. While a verification is pending, the only
/// item accepted is a new address for what is being verified.
fn allowed_items(screen: &[Step]) -> BTreeSet<Step> {
    let mut allowed: BTreeSet<Step> = screen.iter().copied().filter(|s| s.is_item()).collect();
    match screen.first() {
        Some(Step::RecoveryMailVerification) => {
            allowed.insert(Step::RecoveryMail);
        }
        Some(Step::MobilePhoneVerification) => {
            allowed.insert(Step::MobilePhone);
        }
        Some(Step::MailRedirectVerification) => {
            allowed.insert(Step::MailRedirect);
        }
        _ => {}
    }
    allowed
}

/// What is wrong with the submitted values themselves.
fn content_problems(
    state: &FlowState,
    rules: &ScreenRules<'_>,
    submission: &Submission,
) -> Vec<Violation> {
    let mut problems = Vec::new();
    let institutional = rules.institutional_mail.map(str::to_lowercase);
    let is_institutional =
        |a: &MailAddress| institutional.as_deref() == Some(a.as_str().to_lowercase().as_str());
    if let Some(address) = &submission.recovery_mail
        && is_institutional(address)
    {
        problems.push(Violation::new(
            "recovery_mail.address",
            Problem::RecoveryMailInside,
        ));
    }
    if let Some(version) = &submission.charter_version
        && Some(version.as_str()) != rules.charter_version
    {
        problems.push(Violation::new(
            "charter.version",
            Problem::CharterVersion {
                current: rules.charter_version.unwrap_or_default().to_owned(),
            },
        ));
    }
    if let Some(redirect) = &submission.redirect {
        match &redirect.address {
            None if rules.redirect == RedirectRule::Mandatory => problems.push(Violation::new(
                "mail_redirect.enabled",
                Problem::RedirectMandatory,
            )),
            Some(a) if is_institutional(a) => problems.push(Violation::new(
                "mail_redirect.address",
                Problem::RedirectToItself,
            )),
            _ => {}
        }
    }
    if submission.photo.is_some() && matches!(state.photo, Some((PhotoDecision::Refuse, _))) {
        problems.push(Violation::new("photo", Problem::PhotoRefused));
    }
    if let Some(input) = &submission.consents {
        let current = &state.consents;
        problems.extend(consent_items::input_problems(
            rules.consents,
            input,
            current,
            true,
        ));
    }
    problems
}

pub fn check(
    state: &FlowState,
    rules: &ScreenRules<'_>,
    submission: Submission,
) -> Result<Checked, FlowError> {
    let Some(current) = state.current_screen(rules.plan) else {
        return Err(FlowError::Completed);
    };
    let screen = &rules.plan[current];
    let items = submission.items();
    let allowed = allowed_items(screen);
    let mut problems: Vec<Violation> = items
        .iter()
        .filter(|s| !allowed.contains(s))
        .map(|s| Violation::new(s.field(), Problem::NotOnThisScreen))
        .collect();
    if allowed.is_empty() {
        let waiting = screen[0];
        if problems.is_empty() {
            return Err(FlowError::AwaitingVerification(waiting));
        }
        return Err(FlowError::Invalid(problems));
    }
    let verifying = !screen.iter().any(|s| s.is_item());
    if verifying && items.is_empty() {
        return Err(FlowError::AwaitingVerification(screen[0]));
    }
    if !verifying {
        for step in &allowed {
            let optional = *step == Step::RecoveryMail && !rules.recovery.required;
            if !items.contains(step) && !optional {
                problems.push(Violation::new(step.field(), Problem::RequiredOnThisScreen));
            }
        }
    }
    problems.extend(content_problems(state, rules, &submission));
    if !problems.is_empty() {
        return Err(FlowError::Invalid(problems));
    }
    Ok(Checked {
        submission,
        allowed,
    })
}

/// Records a checked submission, with the hash of its password when one
/// was typed. On error `state` is unchanged.
/// A recovery address given (or left empty) on its screen: verified as the
/// profile says; a new one voids the pending verification.
fn take_recovery_mail(
    next: &mut FlowState,
    effects: &mut Effects,
    recovery_mail: Option<MailAddress>,
    rules: &ScreenRules<'_>,
    now: DateTime<Utc>,
) {
    next.done.insert(Step::RecoveryMail);
    if let Some(address) = recovery_mail {
        let address = address.as_str().to_owned();
        next.recovery_mail_verified_at = None;
        next.done.remove(&Step::RecoveryMailVerification);
        effects.revoke.push(Step::RecoveryMailVerification);
        match rules.recovery.verification {
            Verification::Link => {
                effects.verify = Some((Step::RecoveryMailVerification, address.clone()));
            }
            Verification::None => next.recovery_mail_verified_at = Some(now),
            Verification::AfterActivation => {}
        }
        next.recovery_mail = Some(address);
    } else {
        next.recovery_mail = None;
    }
    if rules.recovery.verification == Verification::Link && next.recovery_mail.is_none() {
        // Optional and left empty: nothing to verify.
        next.done.insert(Step::RecoveryMailVerification);
    }
}

/// A redirect decision: an address not yet proved is mailed a link.
fn take_redirect(next: &mut FlowState, effects: &mut Effects, redirect: RedirectInput) {
    next.done.insert(Step::MailRedirect);
    next.done.remove(&Step::MailRedirectVerification);
    effects.revoke.push(Step::MailRedirectVerification);
    let address = redirect.address.map(|a| a.as_str().to_owned());
    // The verified recovery address needs no second proof (Montpellier:
    // a link is sent only when the redirect differs from it).
    let already_verified = match (
        &address,
        &next.recovery_mail,
        next.recovery_mail_verified_at,
    ) {
        (Some(a), Some(r), Some(at)) if a.eq_ignore_ascii_case(r) => Some(at),
        _ => None,
    };
    match &address {
        Some(a) if already_verified.is_none() => {
            effects.verify = Some((Step::MailRedirectVerification, a.clone()));
        }
        _ => {
            next.done.insert(Step::MailRedirectVerification);
        }
    }
    next.redirect = Some(RedirectDecision {
        address,
        keep_copy: redirect.keep_copy,
        verified_at: already_verified,
    });
}

pub fn apply(
    state: &mut FlowState,
    rules: &ScreenRules<'_>,
    checked: Checked,
    password_hash: Option<String>,
    now: DateTime<Utc>,
) -> Result<Effects, FlowError> {
    if checked.wants_password() && password_hash.is_none() {
        // The service hashes only an acceptable screen; reaching here
        // without a hash is a caller bug, refused rather than stored.
        return Err(FlowError::Invalid(vec![Violation::new(
            "password",
            Problem::Missing,
        )]));
    }
    let Checked {
        submission,
        allowed,
    } = checked;
    let mut effects = Effects::default();
    let mut next = state.clone();
    if allowed.contains(&Step::RecoveryMail) {
        take_recovery_mail(
            &mut next,
            &mut effects,
            submission.recovery_mail,
            rules,
            now,
        );
    }
    if let Some(phone) = submission.mobile_phone {
        // A new number voids the code sent to the last one.
        let phone = phone.as_str().to_owned();
        next.done.insert(Step::MobilePhone);
        next.done.remove(&Step::MobilePhoneVerification);
        next.recovery_phone_verified_at = None;
        effects.revoke.push(Step::MobilePhoneVerification);
        effects.verify = Some((Step::MobilePhoneVerification, phone.clone()));
        next.recovery_phone = Some(phone);
    }
    if let Some((given, family)) = submission.names {
        next.names = Some((given.as_str().to_owned(), family.as_str().to_owned()));
        next.done.insert(Step::Names);
    }
    if let Some(version) = submission.charter_version {
        next.charter = Some((version, now));
        next.done.insert(Step::Charter);
    }
    if let Some(listed) = submission.directory_listed {
        next.directory_listed = Some((listed, now));
        next.done.insert(Step::DirectoryListing);
    }
    if let Some(photo) = submission.photo {
        next.photo = Some((photo, now));
        next.done.insert(Step::PhotoUse);
    }
    if let Some(sharing) = submission.crous_sharing {
        next.crous_sharing = Some((sharing, now));
        next.done.insert(Step::CrousSharing);
    }
    if let Some(input) = submission.consents {
        // Checked with the screen: a final refusal is not changed here.
        next.consents = consent_items::record(rules.consents, &next.consents, &input, now).0;
        next.done.insert(Step::Consents);
    }
    if let Some(redirect) = submission.redirect {
        take_redirect(&mut next, &mut effects, redirect);
    }
    if let Some(hash) = password_hash {
        next.password_hash = Some(hash);
        next.done.insert(Step::Password);
    }
    next.version += 1;
    effects.completed = next.current_screen(rules.plan).is_none();
    *state = next;
    Ok(effects)
}

/// Checks a submission against the current screen and records it, its
/// password already hashed (`submission.password_hash`). On error `state`
/// is unchanged.
pub fn submit(
    state: &mut FlowState,
    rules: &ScreenRules<'_>,
    mut submission: Submission,
    now: DateTime<Utc>,
) -> Result<Effects, FlowError> {
    let hash = submission.password_hash.take();
    let checked = check(state, rules, submission)?;
    apply(state, rules, checked, hash, now)
}

/// Whether a submission repeats a screen already done with the same answers
/// (a double click, a reload after a slow answer): it is then accepted
/// without change. A password in it is checked by the caller, which holds
/// the hasher.
pub fn repeats_done_screen(state: &FlowState, plan: &[Vec<Step>], submission: &Submission) -> bool {
    let items = submission.items();
    if items.is_empty() {
        return false;
    }
    let current = state.current_screen(plan).unwrap_or(plan.len());
    let done_screen = plan[..current]
        .iter()
        .any(|screen| items.iter().all(|i| screen.contains(i)));
    if !done_screen {
        return false;
    }
    let same_mail = |a: &MailAddress, b: &Option<String>| {
        b.as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case(a.as_str()))
    };
    submission
        .recovery_mail
        .as_ref()
        .is_none_or(|a| same_mail(a, &state.recovery_mail))
        && submission
            .mobile_phone
            .as_ref()
            .is_none_or(|p| state.recovery_phone.as_deref() == Some(p.as_str()))
        && submission
            .charter_version
            .as_ref()
            .is_none_or(|v| state.charter.as_ref().is_some_and(|c| &c.0 == v))
        && submission
            .directory_listed
            .is_none_or(|d| state.directory_listed.is_some_and(|s| s.0 == d))
        && submission
            .photo
            .as_ref()
            .is_none_or(|p| state.photo.as_ref().is_some_and(|s| &s.0 == p))
        && submission
            .crous_sharing
            .is_none_or(|c| state.crous_sharing.is_some_and(|s| s.0 == c))
        && submission
            .consents
            .as_ref()
            .is_none_or(|input| same_answers(input, &state.consents))
        && submission.redirect.as_ref().is_none_or(|r| {
            state.redirect.as_ref().is_some_and(|s| {
                s.keep_copy == r.keep_copy
                    && match (&r.address, &s.address) {
                        (None, None) => true,
                        (Some(a), b) => same_mail(a, b),
                        _ => false,
                    }
            })
        })
}

/// Whether `input` gives the answers recorded, item for item.
fn same_answers(input: &ConsentInput, answers: &ConsentAnswers) -> bool {
    input.len() == answers.len()
        && input.iter().all(|(code, chosen)| {
            let chosen: BTreeSet<&String> = chosen.iter().collect();
            answers
                .get(code)
                .is_some_and(|a| a.choices.iter().collect::<BTreeSet<_>>() == chosen)
        })
}

/// Records a verified address (the user typed the code or confirmed the
/// link) and moves past its verification screen.
pub fn verified(state: &mut FlowState, step: Step, now: DateTime<Utc>) {
    match step {
        Step::RecoveryMailVerification => state.recovery_mail_verified_at = Some(now),
        Step::MobilePhoneVerification => state.recovery_phone_verified_at = Some(now),
        Step::MailRedirectVerification => {
            if let Some(redirect) = &mut state.redirect {
                redirect.verified_at = Some(now);
            }
        }
        _ => {}
    }
    state.done.insert(step);
    state.version += 1;
}

/// Masks an address for display: `jane.doe@edu.com` → `j*******@e**.com`.
pub fn mask_mail(address: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return "***".to_owned();
    };
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let hide = |part: &str| {
        let mut chars = part.chars();
        match chars.next() {
            Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
            None => String::new(),
        }
    };
    if tld.is_empty() {
        format!("{}@{}", hide(local), hide(host))
    } else {
        format!("{}@{}.{tld}", hide(local), hide(host))
    }
}

/// Masks a phone number: `+33788102599` → `+33 •• •• •• 25 99` style, the
/// last four digits shown.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    let shown = digits.len().saturating_sub(4);
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| if i >= 3 && i < shown { '*' } else { *c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 14, h, m, 0).unwrap()
    }

    fn montpellier_staff() -> (Vec<Vec<Step>>, RecoveryMailRule) {
        let screens = vec![
            vec![Step::RecoveryMail],
            vec![Step::Charter],
            vec![Step::DirectoryListing],
            vec![Step::MailRedirect],
            vec![Step::Password],
        ];
        let rule = RecoveryMailRule {
            link_lifetime: LinkLifetime::EndOfDay,
            ..RecoveryMailRule::default()
        };
        (plan(AfterEntry::default(), &screens, &rule), rule)
    }

    fn mail(a: &str) -> MailAddress {
        MailAddress::parse(a).unwrap()
    }

    #[test]
    fn end_of_day_is_local_midnight() {
        let paris = chrono_tz::Europe::Paris;
        // 14 September, 20:00 UTC = 22:00 in Paris: ends 21:59:59 UTC.
        let end = LinkLifetime::EndOfDay.expires_at(at(20, 0), paris);
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 9, 14, 21, 59, 59).unwrap());
        // 22:30 UTC is already the 15th in Paris.
        let end = LinkLifetime::EndOfDay.expires_at(at(22, 30), paris);
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 9, 15, 21, 59, 59).unwrap());
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert_eq!(
            LinkLifetime::EndOfDay.expires_at(winter, paris),
            Utc.with_ymd_and_hms(2026, 12, 1, 22, 59, 59).unwrap()
        );
        let d = LinkLifetime::For(Duration::from_secs(3600)).expires_at(at(8, 0), paris);
        assert_eq!(d, at(9, 0));
    }

    #[test]
    fn plan_places_entry_and_verification_screens() {
        let (plan, _) = montpellier_staff();
        assert_eq!(plan[0], vec![Step::VerifySecret]);
        assert_eq!(plan[2], vec![Step::RecoveryMailVerification]);
        assert_eq!(plan[6], vec![Step::MailRedirectVerification]);
        let tours = super::plan(
            AfterEntry {
                identity: false,
                code: true,
            },
            &[vec![Step::Password]],
            &RecoveryMailRule::default(),
        );
        assert_eq!(tours[1], vec![Step::VerifyCode]);
    }

    #[test]
    fn a_journey_advances_screen_by_screen() {
        let (plan, recovery) = montpellier_staff();
        let rules = ScreenRules {
            plan: &plan,
            recovery: &recovery,
            redirect: RedirectRule::Optional,
            charter_version: Some("2024"),
            institutional_mail: Some("jane.doe@umontpellier.fr"),
            consents: &[],
        };
        let mut state = FlowState::default();
        state.done.insert(Step::VerifySecret);
        assert_eq!(state.current_screen(&plan), Some(1));
        // Out of order: the charter is not on this screen.
        let err = submit(
            &mut state,
            &rules,
            Submission {
                charter_version: Some("2024".into()),
                ..Submission::default()
            },
            at(8, 0),
        )
        .unwrap_err();
        assert!(matches!(err, FlowError::Invalid(ref p) if p.len() == 2));
        let effects = submit(
            &mut state,
            &rules,
            Submission {
                recovery_mail: Some(mail("jane.doe@edu.com")),
                ..Submission::default()
            },
            at(8, 0),
        )
        .unwrap();
        assert_eq!(
            effects.verify,
            Some((Step::RecoveryMailVerification, "jane.doe@edu.com".into()))
        );
        assert_eq!(
            state.pending_verification(&plan),
            Some(Step::RecoveryMailVerification)
        );
        verified(&mut state, Step::RecoveryMailVerification, at(8, 5));
        for submission in [
            Submission {
                charter_version: Some("2024".into()),
                ..Submission::default()
            },
            Submission {
                directory_listed: Some(true),
                ..Submission::default()
            },
        ] {
            submit(&mut state, &rules, submission, at(8, 6)).unwrap();
        }
        // Redirect to the verified recovery address: no second link.
        let effects = submit(
            &mut state,
            &rules,
            Submission {
                redirect: Some(RedirectInput {
                    address: Some(mail("Jane.Doe@edu.com")),
                    keep_copy: true,
                }),
                ..Submission::default()
            },
            at(8, 7),
        )
        .unwrap();
        assert_eq!(effects.verify, None);
        let effects = submit(
            &mut state,
            &rules,
            Submission {
                password_hash: Some("$argon2id$...".into()),
                password_given: true,
                ..Submission::default()
            },
            at(8, 8),
        )
        .unwrap();
        assert!(effects.completed);
        assert_eq!(
            submit(&mut state, &rules, Submission::default(), at(8, 9)),
            Err(FlowError::Completed)
        );
    }

    #[test]
    fn mandatory_redirect_and_institutional_addresses_are_refused() {
        let screens = vec![vec![Step::MailRedirect], vec![Step::Password]];
        let recovery = RecoveryMailRule::default();
        let plan = plan(AfterEntry::default(), &screens, &recovery);
        let rules = ScreenRules {
            plan: &plan,
            recovery: &recovery,
            redirect: RedirectRule::Mandatory,
            charter_version: None,
            institutional_mail: Some("v.cataire@umontpellier.fr"),
            consents: &[],
        };
        let mut state = FlowState::default();
        state.done.insert(Step::VerifySecret);
        let before = state.clone();
        for address in [None, Some(mail("V.Cataire@umontpellier.fr"))] {
            let err = submit(
                &mut state,
                &rules,
                Submission {
                    redirect: Some(RedirectInput {
                        address,
                        keep_copy: false,
                    }),
                    ..Submission::default()
                },
                at(9, 0),
            );
            assert!(matches!(err, Err(FlowError::Invalid(_))));
            assert_eq!(state, before);
        }
    }

    #[test]
    fn a_repeated_screen_is_recognised_only_with_the_same_answers() {
        let screens = vec![vec![Step::DirectoryListing], vec![Step::Password]];
        let recovery = RecoveryMailRule::default();
        let plan = plan(AfterEntry::default(), &screens, &recovery);
        let rules = ScreenRules {
            plan: &plan,
            recovery: &recovery,
            redirect: RedirectRule::Optional,
            charter_version: None,
            institutional_mail: None,
            consents: &[],
        };
        let mut state = FlowState::default();
        state.done.insert(Step::VerifySecret);
        let listed = |l| Submission {
            directory_listed: Some(l),
            ..Submission::default()
        };
        assert!(!repeats_done_screen(&state, &plan, &listed(true)));
        submit(&mut state, &rules, listed(true), at(8, 0)).unwrap();
        assert!(repeats_done_screen(&state, &plan, &listed(true)));
        assert!(!repeats_done_screen(&state, &plan, &listed(false)));
        assert!(!repeats_done_screen(&state, &plan, &Submission::default()));
    }

    #[test]
    fn a_typed_password_is_hashed_only_after_the_screen_passes() {
        let screens = vec![vec![Step::DirectoryListing, Step::Password]];
        let recovery = RecoveryMailRule::default();
        let plan = plan(AfterEntry::default(), &screens, &recovery);
        let rules = ScreenRules {
            plan: &plan,
            recovery: &recovery,
            redirect: RedirectRule::Optional,
            charter_version: None,
            institutional_mail: None,
            consents: &[],
        };
        let mut state = FlowState::default();
        state.done.insert(Step::VerifySecret);
        // The directory choice is missing: refused before any hashing.
        let incomplete = Submission {
            password_given: true,
            ..Submission::default()
        };
        assert!(matches!(
            check(&state, &rules, incomplete),
            Err(FlowError::Invalid(p)) if p.iter().any(|v| v.field == "directory_listed")
        ));
        let whole = || Submission {
            directory_listed: Some(false),
            password_given: true,
            ..Submission::default()
        };
        let checked = check(&state, &rules, whole()).expect("an acceptable screen");
        assert!(checked.wants_password());
        // Applied without the hash of the typed password: refused, nothing
        // changes.
        let before = state.clone();
        assert!(apply(&mut state, &rules, checked, None, at(8, 0)).is_err());
        assert_eq!(state, before);
        let checked = check(&state, &rules, whole()).unwrap();
        let effects = apply(
            &mut state,
            &rules,
            checked,
            Some("$argon2id$…".into()),
            at(8, 0),
        )
        .expect("applied");
        assert!(effects.completed);
        assert_eq!(state.password_hash.as_deref(), Some("$argon2id$…"));
    }

    #[test]
    fn masks_keep_a_hint_only() {
        assert_eq!(mask_mail("jane.doe@edu.com"), "j*******@e**.com");
        assert_eq!(mask_mail("a@b"), "a*@b*");
        assert_eq!(mask_phone("+33788102599"), "+33*****2599");
    }
}
