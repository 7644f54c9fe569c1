//! What makes an institution's rules unusable, found once at start: each
//! problem with its key under the institution (`profiles.staff.activation.
//! delay`) and why, so that the configuration names `institutions.<code>.…`.

use crate::alumni::{AlumniProblem, MAX_ANSWER_DAYS};
use std::time::Duration;

use crate::account::AccountKind;
use crate::activation::{self, LinkLifetime, RedirectRule, Step};
use crate::institution::{
    ActivationChannel, ActivationSettings, InstitutionSettings, LifecycleSettings, ProfileSettings,
    RecoverySettings,
};
use crate::recovery::MaskStyle;

/// Activation opens at most this long after provisioning.
const MAX_ACTIVATION_DELAY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Printed or mailed material works at most this long.
const MAX_MATERIAL_LIFETIME: Duration = Duration::from_secs(3 * 366 * 24 * 3600);
const DAY: Duration = Duration::from_secs(86400);

/// Problems found, each as (key, message).
#[derive(Debug, Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    fn bad(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push((key.into(), message.into()));
    }

    /// Every problem, in the order found.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

/// Whether `code` may name an institution or (with `_` read as `-`) a
/// profile: 1 to 63 characters among a-z, 0-9 and -.
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 63
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

impl InstitutionSettings {
    /// Where these rules fall short of the CNIL's recommendation on
    /// passwords, each as (key, advice), keys relative to the institution.
    /// A profile's policy is named only for what its institution's does not
    /// already show.
    pub fn advice(&self) -> Vec<(String, String)> {
        let institution = self.password_policy.cnil_advice();
        let mut out: Vec<(String, String)> = institution
            .iter()
            .map(|(field, message)| (format!("password_policy.{field}"), message.clone()))
            .collect();
        for (code, profile) in &self.profiles {
            if profile.password_policy.is_none() {
                continue;
            }
            for (field, message) in self.password_policy(code).cnil_advice() {
                if !institution.iter().any(|(f, _)| *f == field) {
                    out.push((format!("profiles.{code}.password_policy.{field}"), message));
                }
            }
        }
        out
    }

    /// Every problem of these rules; keys are relative to the institution.
    pub fn problems(&self) -> Problems {
        let mut out = Problems::default();
        self.identity_problems(&mut out);
        recovery_problems(&self.recovery, self.charter.is_some(), &mut out);
        for (field, message) in self.password_policy.problems() {
            out.bad(format!("password_policy.{field}"), message);
        }
        lifecycle_problems(&self.lifecycle, &mut out);
        self.consent_item_problems(&mut out);
        if self.profiles.is_empty() {
            out.bad("profiles", "at least one profile is needed");
        }
        for (code, profile) in &self.profiles {
            self.profile_problems(code, profile, &mut out);
        }
        self.guest_problems(&mut out);
        out
    }

    /// Who sponsors guests, and how guests activate.
    fn guest_problems(&self, out: &mut Problems) {
        let guests = &self.guests;
        for sponsor in &guests.sponsor_profiles {
            match self.profiles.get(sponsor) {
                Some(p) if p.kind == AccountKind::Staff => {}
                Some(_) => out.bad(
                    "guests.sponsor_profiles",
                    format!("{sponsor} is not a staff profile: only staff sponsor guests"),
                ),
                None => out.bad(
                    "guests.sponsor_profiles",
                    format!("{sponsor} is not a profile of this institution"),
                ),
            }
        }
        if !(1..=60).contains(&guests.max_months) {
            out.bad("guests.max_months", "must be between 1 and 60");
        }
        if let Some(mail) = &guests.moderator_mail
            && crate::ids::MailAddress::parse(mail).is_err()
        {
            out.bad("guests.moderator_mail", "is not a mail address");
        }
        for (code, profile) in &self.profiles {
            let names_typed = profile
                .activation
                .screens
                .iter()
                .flatten()
                .any(|s| *s == Step::Names);
            if names_typed && profile.kind != AccountKind::Guest {
                out.bad(
                    format!("profiles.{code}.activation.screens"),
                    "names: enrolment and HR give the names of their people; only guests type theirs",
                );
            }
            if profile.kind == AccountKind::Guest
                && profile.activation.channel != ActivationChannel::MailedLink
            {
                out.bad(
                    format!("profiles.{code}.activation.channel"),
                    "a guest activates through the link mailed to the address the sponsor gave: mailed_link",
                );
            }
        }
    }

    /// The institution's name, addresses and identifiers.
    fn identity_problems(&self, out: &mut Problems) {
        if self.name.trim().is_empty() {
            out.bad("name", "must not be empty");
        }
        if self
            .phone_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            out.bad(
                "phone_region",
                "is not an ISO 3166 country code known to the phone parser",
            );
        }
        if let Some(len) = self.student_number_length
            && !(1..=20).contains(&len)
        {
            out.bad("student_number_length", "must be between 1 and 20");
        }
        if !self.helpdesk_url.is_empty() && !is_http_url(&self.helpdesk_url) {
            out.bad("helpdesk_url", "must be an http(s) URL");
        }
        if let Some(charter) = &self.charter {
            if charter.version.trim().is_empty() || charter.version.len() > 32 {
                out.bad("charter.version", "must be 1 to 32 characters");
            }
            if !is_http_url(&charter.url) {
                out.bad("charter.url", "must be an http(s) URL");
            }
        }
        if !is_http_url(&self.portal_url) {
            out.bad("portal_url", "must be an http(s) URL");
        }
    }

    /// One profile's rules (`code` is its key).
    fn profile_problems(&self, code: &str, profile: &ProfileSettings, out: &mut Problems) {
        let key = format!("profiles.{code}");
        if !is_code(&code.replace('_', "-")) {
            out.bad(
                key.clone(),
                "profile codes are 1 to 63 characters among a-z, 0-9, - and _",
            );
        }
        retention_problems(profile, &key, out);
        alumni_problems(profile, &key, out);
        for problem in profile
            .login
            .problems(profile.kind, profile.institutional_mail.is_some())
        {
            out.bad(format!("{key}.login"), problem);
        }
        if let Some(mail) = &profile.institutional_mail {
            for problem in mail.problems(profile.kind) {
                out.bad(format!("{key}.institutional_mail"), problem);
            }
        }
        if profile.password_policy.is_some() {
            for (field, message) in self.password_policy(code).problems() {
                out.bad(format!("{key}.password_policy.{field}"), message);
            }
        }
        proof_problems(profile, &key, out);
        let has = |step| {
            profile
                .activation
                .screens
                .iter()
                .flatten()
                .any(|s| *s == step)
        };
        if has(Step::Charter) && self.charter.is_none() {
            out.bad(
                "charter",
                "a profile's journey has a charter item: set version and url",
            );
        }
        if has(Step::MailRedirect) && profile.institutional_mail.is_none() {
            out.bad(
                format!("{key}.activation.screens"),
                "mail_redirect needs a profile with an institutional mailbox",
            );
        }
        let by_sms = self
            .recovery
            .channels
            .contains(&crate::recovery::ResetChannel::Sms);
        if has(Step::MobilePhone) && !by_sms {
            // The phone serves only resets by SMS: collected otherwise, it
            // would be personal data kept for nothing.
            out.bad(
                format!("{key}.activation.screens"),
                "mobile_phone collects a phone for resets by SMS: add sms to recovery.channels",
            );
        }
        journey_problems(&profile.activation, &format!("{key}.activation"), out);
        self.asked_consent_problems(&profile.activation, &key, has(Step::Consents), out);
    }

    /// The consent items a profile asks: listed iff its journey has the
    /// `consents` item, each configured, each once.
    fn asked_consent_problems(
        &self,
        activation: &crate::institution::ActivationSettings,
        key: &str,
        on_journey: bool,
        out: &mut Problems,
    ) {
        let listed = &activation.consents;
        match (on_journey, listed.is_empty()) {
            (true, true) => out.bad(
                format!("{key}.activation.consents"),
                "the journey has a consents item: list the consent items it asks (codes under consents)",
            ),
            (false, false) => out.bad(
                format!("{key}.activation.screens"),
                "activation.consents lists items: place consents on a screen",
            ),
            _ => {}
        }
        let mut seen = std::collections::BTreeSet::new();
        for code in listed {
            if crate::consent::reserved_step(code).is_some() {
                out.bad(
                    format!("{key}.activation.consents"),
                    format!("{code} is the service's own item: place {code} on a screen instead"),
                );
            } else if !self.consents.contains_key(code) {
                out.bad(
                    format!("{key}.activation.consents"),
                    format!("{code} is not a consent item of the institution (consents.{code})"),
                );
            } else if !seen.insert(code) {
                out.bad(
                    format!("{key}.activation.consents"),
                    format!("{code} appears twice"),
                );
            }
        }
    }

    /// The institution's own consent items.
    fn consent_item_problems(&self, out: &mut Problems) {
        for (code, item) in &self.consents {
            if !crate::consent_items::is_consent_code(code) {
                out.bad(
                    format!("consents.{code}"),
                    "consent codes are 1 to 40 characters among a-z, 0-9 and _",
                );
            }
            for (field, message) in consent_item_problems(item) {
                out.bad(format!("consents.{code}.{field}"), message);
            }
            if let Some(step) = crate::consent::reserved_step(code) {
                for (field, message) in reserved_item_problems(step, item) {
                    out.bad(format!("consents.{code}.{field}"), message);
                }
                if self.wording.steps.contains_key(&step) {
                    out.bad(
                        format!("wording.steps.{code}"),
                        "the item's words are its label and help under consents: give them there only",
                    );
                }
            }
        }
    }
}

/// Mistakes in a consent item's configuration, as (key under the item,
/// message).
pub fn consent_item_problems(item: &crate::consent_items::ConsentItem) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = |key: &str, message: &str| out.push((key.to_owned(), message.to_owned()));
    let texts = [
        Some(&item.label),
        item.help.as_ref(),
        item.withdraw_caveat.as_ref(),
    ];
    if texts.into_iter().flatten().any(half_worded) {
        bad("label", "give every text in French (fr) and English (en)");
    }
    if item.choices.len() < 2 {
        bad(
            "choices",
            "offer at least two choices (to accept, to refuse)",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, choice) in item.choices.iter().enumerate() {
        let key = format!("choices[{i}]");
        if !crate::consent_items::is_consent_code(&choice.code) {
            bad(&key, "code: 1 to 40 characters among a-z, 0-9 and _");
        }
        if !seen.insert(choice.code.as_str()) {
            bad(&key, "code: each choice has its own code");
        }
        let texts = [Some(&choice.label), choice.caveat.as_ref()];
        if texts.into_iter().flatten().any(half_worded) {
            bad(&key, "give every text in French (fr) and English (en)");
        }
        if choice.refusal && !choice.ldap.is_empty() {
            bad(&key, "ldap: a refusal puts nothing in the directory");
        }
        if choice
            .ldap
            .iter()
            .any(|v| !crate::consent_items::is_supann_consent(v))
        {
            bad(
                &key,
                "ldap: values are written {DOMAIN}VALUE, as SupAnn's supannConsentement (for example {SMS}UNIVERSITE)",
            );
        }
    }
    if item.refusal_final && item.refusal_codes().is_empty() {
        bad("refusal_final", "no choice is a refusal (refusal = true)");
    }
    if item.withdraw_caveat.is_some() && !item.withdrawable {
        bad(
            "withdraw_caveat",
            "the item cannot be withdrawn (withdrawable = false)",
        );
    }
    if item.version.trim().is_empty() || item.version.len() > 32 {
        bad("version", "must be 1 to 32 characters");
    }
    out
}

/// What the service's own items keep whatever the configuration: their
/// choices (the API's values), which of them refuse, how they combine, and
/// the photo's final refusal (the photo is deleted).
fn reserved_item_problems(
    step: Step,
    item: &crate::consent_items::ConsentItem,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let options: Vec<crate::consent::ConsentOption> = crate::consent::options_of(step).collect();
    let values: Vec<&str> = options.iter().map(|o| o.value()).collect();
    let mut codes: Vec<&str> = item.choices.iter().map(|c| c.code.as_str()).collect();
    codes.sort_unstable();
    let mut expected = values.clone();
    expected.sort_unstable();
    if codes != expected {
        out.push((
            "choices".to_owned(),
            format!(
                "the service's own item has the choices {}",
                values.join(", ")
            ),
        ));
    }
    for (i, choice) in item.choices.iter().enumerate() {
        let option = options.iter().find(|o| o.value() == choice.code);
        if option.is_some_and(|o| o.is_refusal() != choice.refusal) {
            out.push((
                format!("choices[{i}]"),
                "refusal: true for the refusing choice (refuse, false) only".to_owned(),
            ));
        }
    }
    let photo = step == Step::PhotoUse;
    if item.multiple != photo || item.refusal_final != photo {
        out.push((
            "multiple".to_owned(),
            "the photo's uses combine and its refusal is final (the photo is deleted); the other items take one answer, never final".to_owned(),
        ));
    }
    if step == Step::DirectoryListing && item.choices.iter().any(|c| !c.ldap.is_empty()) {
        out.push((
            "choices".to_owned(),
            "ldap: the directory's answer is supannListeRouge, set by the service".to_owned(),
        ));
    }
    out
}

fn half_worded(text: &crate::consent::Localized) -> bool {
    text.fr.trim().is_empty() || text.en.trim().is_empty()
}

/// How long a profile's accounts are kept after departure.
fn retention_problems(profile: &ProfileSettings, key: &str, out: &mut Problems) {
    let retention = &profile.retention;
    match (retention.months, retention.until) {
        (Some(_), Some(_)) | (None, None) => out.bad(
            format!("{key}.retention"),
            "set either months (after the last day of activity) or until (MM-DD after the academic year)",
        ),
        (Some(m), None) if !(1..=120).contains(&m) => out.bad(
            format!("{key}.retention.months"),
            "must be between 1 and 120",
        ),
        _ => {}
    }
    if retention
        .extension_months
        .is_some_and(|m| !(1..=120).contains(&m))
    {
        out.bad(
            format!("{key}.retention.extension_months"),
            "must be between 1 and 120 (omit it for a profile that cannot be extended)",
        );
    }
}

/// The offer to keep former students' accounts.
fn alumni_problems(profile: &ProfileSettings, key: &str, out: &mut Problems) {
    let Some(alumni) = &profile.alumni else {
        return;
    };
    if profile.kind != AccountKind::Student {
        out.bad(
            format!("{key}.alumni"),
            "only a student profile keeps former students' accounts",
        );
    }
    for problem in alumni.problems() {
        let message = match problem {
            AlumniProblem::RenewEvery => {
                "must be between 1 and 12: consent is asked at least every year".to_owned()
            }
            AlumniProblem::AnswerWithin => format!("must be between 1 and {MAX_ANSWER_DAYS}"),
            AlumniProblem::AnswerLongerThanPeriod => {
                "must be shorter than a kept period (renew_every_months)".to_owned()
            }
            AlumniProblem::Services => {
                "name the services a kept account gives access to, in French and English".to_owned()
            }
        };
        out.bad(format!("{key}.alumni.{}", problem.key()), message);
    }
}

/// An activation journey's screens, delays and lifetimes.
fn journey_problems(journey: &ActivationSettings, key: &str, out: &mut Problems) {
    for problem in activation::screen_problems(&journey.screens) {
        out.bad(format!("{key}.screens"), problem);
    }
    let has_redirect = journey
        .screens
        .iter()
        .flatten()
        .any(|s| *s == Step::MailRedirect);
    if journey.mail_redirect == RedirectRule::Mandatory && !has_redirect {
        out.bad(
            format!("{key}.mail_redirect"),
            "a mandatory redirect needs a mail_redirect item in the screens",
        );
    }
    if journey.delay > MAX_ACTIVATION_DELAY {
        out.bad(format!("{key}.delay"), "must be at most 90 days");
    }
    for (name, value, max) in [
        ("flow_lifetime", journey.flow_lifetime, 7 * DAY),
        ("code_lifetime", journey.code_lifetime, DAY),
        (
            "resend_cooldown",
            journey.resend_cooldown,
            Duration::from_secs(3600),
        ),
    ] {
        if value.is_zero() || value > max {
            out.bad(
                format!("{key}.{name}"),
                format!(
                    "must be more than zero and at most {}",
                    humantime::format_duration(max)
                ),
            );
        }
    }
    if !(1..=20).contains(&journey.max_attempts) {
        out.bad(format!("{key}.max_attempts"), "must be between 1 and 20");
    }
    if let LinkLifetime::For(d) = journey.recovery_mail.link_lifetime
        && (d < Duration::from_secs(60) || d > 7 * DAY)
    {
        out.bad(
            format!("{key}.recovery_mail.link_lifetime"),
            "must be between 1 minute and 7 days, or end_of_day",
        );
    }
    if let Some(next) = &journey.next
        && !is_http_url(&next.url)
    {
        out.bad(format!("{key}.next.url"), "must be an http(s) URL");
    }
    material_problems(journey, key, out);
}

/// The lifetime of what a person activates with.
fn material_problems(journey: &ActivationSettings, key: &str, out: &mut Problems) {
    if journey.channel == ActivationChannel::MailedLink && journey.material_lifetime.is_none() {
        out.bad(
            format!("{key}.material_lifetime"),
            "a mailed link needs a lifetime (Montpellier: 24h)",
        );
    }
    if journey
        .material_lifetime
        .is_some_and(|d| d.is_zero() || d > MAX_MATERIAL_LIFETIME)
    {
        out.bad(
            format!("{key}.material_lifetime"),
            "must be more than zero and at most 3 years (omit it for no expiry)",
        );
    }
}

/// Forgotten passwords and logins.
fn recovery_problems(recovery: &RecoverySettings, has_charter: bool, out: &mut Problems) {
    if recovery.mask == MaskStyle::Partial && recovery.decoy_key.len() < 16 {
        out.bad(
            "recovery.decoy_key",
            "a partial mask needs a secret decoy_key of at least 16 characters",
        );
    }
    if recovery.reset_identifiers.is_empty() {
        out.bad(
            "recovery.reset_identifiers",
            "name at least one of login, ine, institutional_mail",
        );
    }
    channel_problems(recovery, out);
    let minute = Duration::from_secs(60);
    for (name, value, min, max) in [
        ("reset_lifetime", recovery.reset_lifetime, minute, 7 * DAY),
        ("code_lifetime", recovery.code_lifetime, minute, DAY),
        (
            "verification_link_lifetime",
            recovery.verification_link_lifetime,
            minute,
            7 * DAY,
        ),
        (
            "resend_cooldown",
            recovery.resend_cooldown,
            Duration::from_secs(1),
            Duration::from_secs(3600),
        ),
        (
            "login_lookup.window",
            recovery.login_lookup.window,
            minute,
            7 * DAY,
        ),
    ] {
        if value < min || value > max {
            out.bad(
                format!("recovery.{name}"),
                format!(
                    "must be between {} and {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            );
        }
    }
    if !(1..=20).contains(&recovery.login_lookup.max_attempts) {
        out.bad(
            "recovery.login_lookup.max_attempts",
            "must be between 1 and 20",
        );
    }
    reactivation_problems(recovery, has_charter, out);
}

/// The channels a reset goes by: at least one, each once; a code sent by
/// SMS is typed within a few attempts.
fn channel_problems(recovery: &RecoverySettings, out: &mut Problems) {
    let channels = &recovery.channels;
    let repeated = channels
        .iter()
        .enumerate()
        .any(|(i, c)| channels[..i].contains(c));
    if channels.is_empty() || repeated {
        out.bad(
            "recovery.channels",
            "name mail, sms or both, each once (with both, the person chooses)",
        );
    }
    if !(1..=10).contains(&recovery.code_attempts) {
        out.bad("recovery.code_attempts", "must be between 1 and 10");
    }
}

/// The screens after a mailed activation key (Bordeaux Montaigne).
fn reactivation_problems(recovery: &RecoverySettings, has_charter: bool, out: &mut Problems) {
    for problem in activation::screen_problems(&recovery.reactivation_screens) {
        out.bad("recovery.reactivation_screens", problem);
    }
    let items: Vec<Step> = recovery
        .reactivation_screens
        .iter()
        .flatten()
        .copied()
        .collect();
    if items
        .iter()
        .any(|s| !matches!(s, Step::Password | Step::Charter))
    {
        out.bad(
            "recovery.reactivation_screens",
            "an account activated again only chooses a password (and accepts the charter)",
        );
    }
    if items.contains(&Step::Charter) && !has_charter {
        out.bad(
            "charter",
            "the reactivation screens have a charter item: set version and url",
        );
    }
}

/// The proofs after a profile's entry: its identity checks and its code.
fn proof_problems(profile: &ProfileSettings, key: &str, out: &mut Problems) {
    let activation = &profile.activation;
    if activation.channel == ActivationChannel::IdentityMatch {
        for problem in crate::identity_check::check_problems(
            &activation.identity_check,
            profile.kind,
            activation.code_to.is_some(),
        ) {
            out.bad(format!("{key}.activation.identity_check"), problem);
        }
    }
    for problem in crate::identity_check::after_entry_problems(
        &activation.identity_check_after_entry,
        profile.kind,
        activation.channel == ActivationChannel::IdentityMatch,
    ) {
        out.bad(
            format!("{key}.activation.identity_check_after_entry"),
            problem,
        );
    }
    if activation.code_choice && activation.code_channels().len() < 2 {
        out.bad(
            format!("{key}.activation.code_choice"),
            "a choice needs code_to to list both sms and mail",
        );
    }
    if let Some(channels) = &activation.code_to {
        let mut unique = channels.clone();
        unique.sort();
        unique.dedup();
        if channels.is_empty() || unique.len() != channels.len() {
            out.bad(
                format!("{key}.activation.code_to"),
                "lists sms and/or mail, each once (leave it out for no code)",
            );
        }
    }
}

/// Departure notices, reminders and the purge.
fn lifecycle_problems(lifecycle: &LifecycleSettings, out: &mut Problems) {
    for (name, days) in [
        ("expiry_notice_days", &lifecycle.expiry_notice_days),
        ("password_reminder_days", &lifecycle.password_reminder_days),
    ] {
        if days.len() > 10 || days.iter().any(|d| !(1..=366).contains(d)) {
            out.bad(
                format!("lifecycle.{name}"),
                "at most 10 numbers of days, each between 1 and 366",
            );
        }
    }
    if lifecycle.purge_after > Duration::from_secs(10 * 366 * 86400) {
        out.bad("lifecycle.purge_after", "must be at most 10 years");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn institution(profile: &str) -> InstitutionSettings {
        toml::from_str(&format!(
            r#"
            name = "Test"
            time_zone = "Europe/Paris"
            [profiles.staff]
            kind = "staff"
            login = {{ scheme = "institutional_mail" }}
            institutional_mail = {{ domain = "univ-test.fr" }}
            {profile}
            "#
        ))
        .expect("an institution")
    }

    fn keys(i: &InstitutionSettings) -> Vec<String> {
        i.problems()
            .into_vec()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn consent_items_are_checked_and_asked_where_the_journey_has_them() {
        let rules = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["consents"], ["password"]], consents = ["sms", "city"] }
            [consents.sms]
            label = { fr = "SMS", en = "" }
            refusal_final = true
            withdrawable = false
            withdraw_caveat = { fr = "Non", en = "No" }
            choices = [
              { code = "yes", label = { fr = "Oui", en = "Yes" }, ldap = ["SMS"] },
              { code = "yes", label = { fr = "Non", en = "No" }, ldap = ["{SMS}NON"] },
            ]
            [consents.Photo]
            label = { fr = "Photo", en = "Photo" }
            choices = [{ code = "yes", label = { fr = "Oui", en = "Yes" } }]"#,
        );
        assert_eq!(
            keys(&rules),
            [
                "consents.Photo",
                "consents.Photo.choices",
                "consents.sms.label",
                "consents.sms.choices[0]",
                "consents.sms.choices[1]",
                "consents.sms.refusal_final",
                "consents.sms.withdraw_caveat",
                "profiles.staff.activation.consents",
            ]
        );
        let unplaced = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["password"]], consents = ["sms"] }
            [consents.sms]
            label = { fr = "SMS", en = "Text messages" }
            choices = [
              { code = "yes", label = { fr = "Oui", en = "Yes" }, ldap = ["{SMS}UNIVERSITE"] },
              { code = "no", label = { fr = "Non", en = "No" }, refusal = true },
            ]"#,
        );
        assert_eq!(keys(&unplaced), ["profiles.staff.activation.screens"]);
    }

    #[test]
    fn the_services_own_items_keep_their_choices_and_rules() {
        let rules = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["directory_listing", "crous_sharing"], ["password"]] }
            [consents.directory_listing]
            label = { fr = "Annuaire", en = "Directory" }
            choices = [
              { code = "true", label = { fr = "Oui", en = "Yes" }, ldap = ["{ANNUAIRE}OUI"] },
              { code = "false", label = { fr = "Non", en = "No" } },
            ]
            [consents.crous_sharing]
            label = { fr = "Crous", en = "Crous" }
            refusal_final = true
            choices = [
              { code = "yes", label = { fr = "Oui", en = "Yes" } },
              { code = "false", refusal = true, label = { fr = "Non", en = "No" } },
            ]
            [consents.photo_use]
            label = { fr = "Photo", en = "Photo" }
            multiple = true
            refusal_final = true
            choices = [
              { code = "card_reprint", label = { fr = "Carte", en = "Card" }, ldap = ["{PHOTO}CARTE"] },
              { code = "tutorial_sheets", label = { fr = "TD", en = "Tutorials" } },
              { code = "photo_directory", label = { fr = "Trombinoscope", en = "Photo directory" } },
              { code = "refuse", refusal = true, label = { fr = "Non", en = "No" } },
            ]
            [wording.steps.photo_use]
            title = { fr = "Photo", en = "Photo" }"#,
        );
        assert_eq!(
            keys(&rules),
            [
                "consents.crous_sharing.choices",
                "consents.crous_sharing.multiple",
                "consents.directory_listing.choices[1]",
                "consents.directory_listing.choices",
                "wording.steps.photo_use",
            ]
        );
    }

    #[test]
    fn sound_rules_have_no_problem() {
        let sound = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["password"]] }"#,
        );
        assert_eq!(keys(&sound), Vec::<String>::new());
    }

    #[test]
    fn problems_are_named_by_their_key_under_the_institution() {
        let broken = institution(
            r#"retention = { months = 3, until = "12-31" }
            activation = { channel = "identity_match", delay = "100d", screens = [["password", "charter"]], max_attempts = 0 }"#,
        );
        let found = keys(&broken);
        for key in [
            "profiles.staff.retention",
            // Tours' default check names a student number: not a staff
            // record's.
            "profiles.staff.activation.identity_check",
            "profiles.staff.activation.delay",
            "profiles.staff.activation.max_attempts",
            "charter",
        ] {
            assert!(
                found.iter().any(|k| k == key),
                "{key} missing from {found:?}"
            );
        }
    }

    #[test]
    fn only_students_are_kept_as_former_students_and_only_within_the_decree() {
        let staff = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["password"]] }
            alumni = { services = { fr = "la messagerie", en = "your mailbox" }, renew_every_months = 24 }"#,
        );
        assert_eq!(
            keys(&staff),
            [
                "profiles.staff.alumni",
                "profiles.staff.alumni.renew_every_months"
            ]
        );
    }

    #[test]
    fn reset_channels_are_named_once_each_with_a_few_attempts() {
        let mut rules = institution(
            r#"retention = { months = 3 }
            activation = { channel = "provisional_password", delay = "15m", screens = [["password"]] }"#,
        );
        use crate::recovery::ResetChannel;
        rules.recovery.channels = vec![ResetChannel::Sms, ResetChannel::Sms];
        rules.recovery.code_attempts = 0;
        rules.recovery.code_lifetime = Duration::from_secs(2 * 86400);
        assert_eq!(
            keys(&rules),
            [
                "recovery.channels",
                "recovery.code_attempts",
                "recovery.code_lifetime"
            ]
        );
        rules.recovery.channels = Vec::new();
        rules.recovery.code_attempts = 3;
        rules.recovery.code_lifetime = Duration::from_secs(600);
        assert_eq!(keys(&rules), ["recovery.channels"]);
        rules.recovery.channels = vec![ResetChannel::Mail, ResetChannel::Sms];
        assert_eq!(keys(&rules), Vec::<String>::new());
        // A phone collected for resets that never go by SMS serves nothing.
        if let Some(staff) = rules.profiles.get_mut("staff") {
            staff.activation.screens = vec![vec![Step::MobilePhone], vec![Step::Password]];
        }
        assert_eq!(keys(&rules), Vec::<String>::new());
        rules.recovery.channels = vec![ResetChannel::Mail];
        assert_eq!(keys(&rules), ["profiles.staff.activation.screens"]);
    }
}
