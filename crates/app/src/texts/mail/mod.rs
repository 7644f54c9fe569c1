//! What the service writes to people, in French (default, `fr.rs`) or
//! English (`en.rs`), with the institution's name. Rendered when queued;
//! see `store::outbox`. This module says which facts each message carries
//! and picks the language.

pub(crate) mod en;
pub(crate) mod fr;

use chrono::{DateTime, Utc};

use std::sync::Arc;

use domain::guest::ValidInvitation;
use domain::helpdesk::DeskAction;
use domain::institution::InstitutionSettings;
use domain::language::Language;
use store::activation::{ActivationLinkFacts, LinkMail};
use store::outbox::Content;

/// A date and time as people of the institution read it.
pub(crate) fn local(at: DateTime<Utc>, tz: chrono_tz::Tz, language: Language) -> String {
    match language {
        Language::French => fr::local(at, tz),
        Language::English => en::local(at, tz),
    }
}

/// The link mailed to a student's personal address to start activation.
pub fn activation_link(
    institution: &str,
    login: &str,
    url: &str,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    language: Language,
) -> Content {
    let until = local(expires_at, tz, language);
    match language {
        Language::French => fr::activation_link(institution, login, url, &until),
        Language::English => en::activation_link(institution, login, url, &until),
    }
}

/// How the store words the activation links it mails for `institution`
/// (it issues them inside its transactions), in `language`.
pub fn activation_link_mail(institution: &InstitutionSettings, language: Language) -> LinkMail {
    let name = institution.name.clone();
    let time_zone = institution.time_zone;
    LinkMail {
        portal_url: institution.portal_url.clone(),
        word: Arc::new(move |facts: &ActivationLinkFacts<'_>| {
            activation_link(
                &name,
                facts.login,
                facts.url,
                facts.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
                time_zone,
                language,
            )
        }),
    }
}

/// The code sent by SMS and mail after an identity match.
pub fn identity_code(
    institution: &str,
    code: &str,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    language: Language,
    sms: bool,
) -> Content {
    let until = local(expires_at, tz, language);
    let (text, subject) = match language {
        Language::French => (
            fr::identity_code(institution, code, &until),
            fr::identity_code_subject(institution),
        ),
        Language::English => (
            en::identity_code(institution, code, &until),
            en::identity_code_subject(institution),
        ),
    };
    if sms {
        return Content {
            subject: String::new(),
            text,
        };
    }
    Content {
        subject,
        text: format!("{text}\n"),
    }
}

/// What an address is being verified for.
#[derive(Debug, Clone, Copy)]
pub enum Verifying {
    RecoveryMail,
    Redirect,
}

/// Whom a recovery mail (reset link, new key) is for and until when what
/// it carries works.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryMail<'a> {
    pub institution: &'a str,
    pub login: &'a str,
    pub expires_at: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

/// What a verification mail says.
pub struct VerificationMail<'a> {
    pub institution: &'a str,
    /// Sent from the account page of an active account rather than during
    /// activation.
    pub after_activation: bool,
    pub login: &'a str,
    pub what: Verifying,
    pub url: &'a str,
    pub code: &'a str,
    pub expires_at: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

/// A mail verifying an address: a link and the same proof as a short code.
pub fn verification(mail: &VerificationMail<'_>, language: Language) -> Content {
    let until = local(mail.expires_at, mail.tz, language);
    match language {
        Language::French => fr::verification(mail, &until),
        Language::English => en::verification(mail, &until),
    }
}

/// A password-reset link, mailed to the verified recovery address.
pub fn password_reset(to: &RecoveryMail<'_>, url: &str, language: Language) -> Content {
    let until = local(to.expires_at, to.tz, language);
    match language {
        Language::French => fr::password_reset(to.institution, to.login, url, &until),
        Language::English => en::password_reset(to.institution, to.login, url, &until),
    }
}

/// The code sent by SMS to a mobile phone given during activation. An SMS
/// has no subject.
pub fn phone_code(
    institution: &str,
    code: &str,
    (expires_at, tz): (DateTime<Utc>, chrono_tz::Tz),
    language: Language,
) -> Content {
    let until = local(expires_at, tz, language);
    let text = match language {
        Language::French => fr::phone_code(institution, code, &until),
        Language::English => en::phone_code(institution, code, &until),
    };
    Content {
        subject: String::new(),
        text,
    }
}

/// The code sent by SMS for a forgotten password, typed on the page that
/// asked for it. An SMS has no subject.
pub fn reset_code(to: &RecoveryMail<'_>, code: &str, language: Language) -> Content {
    let until = local(to.expires_at, to.tz, language);
    let text = match language {
        Language::French => fr::reset_code(to.institution, to.login, code, &until),
        Language::English => en::reset_code(to.institution, to.login, code, &until),
    };
    Content {
        subject: String::new(),
        text,
    }
}

/// A new activation key mailed for a forgotten password (Bordeaux
/// Montaigne): typed with the login where the portal asks for the password
/// or activation key.
pub fn reactivation_key(
    to: &RecoveryMail<'_>,
    key: &str,
    portal_url: &str,
    language: Language,
) -> Content {
    let until = local(to.expires_at, to.tz, language);
    let (institution, login) = (to.institution, to.login);
    match language {
        Language::French => fr::reactivation_key(institution, login, key, portal_url, &until),
        Language::English => en::reactivation_key(institution, login, key, portal_url, &until),
    }
}

/// The notice that a password was changed, so that a change the owner did
/// not make is noticed.
pub fn password_changed(
    institution: &str,
    login: &str,
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    helpdesk_url: &str,
    language: Language,
) -> Content {
    let when = local(at, tz, language);
    match language {
        Language::French => fr::password_changed(institution, login, &when, helpdesk_url),
        Language::English => en::password_changed(institution, login, &when, helpdesk_url),
    }
}

/// The notice that a desk agent did `action` for the person, so that a
/// hand-over the owner did not ask for is noticed.
pub fn desk_notice(
    action: DeskAction,
    (institution, login): (&str, &str),
    (at, tz): (DateTime<Utc>, chrono_tz::Tz),
    helpdesk_url: &str,
    language: Language,
) -> Content {
    let when = local(at, tz, language);
    match language {
        Language::French => fr::desk_notice(action, institution, login, &when, helpdesk_url),
        Language::English => en::desk_notice(action, institution, login, &when, helpdesk_url),
    }
}

/// The notice that the desk handed over a copy of the person's data on a
/// written request, so that a request the owner did not make is noticed.
pub fn data_copy_notice(
    (institution, login): (&str, &str),
    (at, tz): (DateTime<Utc>, chrono_tz::Tz),
    reference: &str,
    helpdesk_url: &str,
    language: Language,
) -> Content {
    let when = local(at, tz, language);
    match language {
        Language::French => {
            fr::data_copy_notice(institution, login, &when, reference, helpdesk_url)
        }
        Language::English => {
            en::data_copy_notice(institution, login, &when, reference, helpdesk_url)
        }
    }
}

/// What the sponsor is told of a moderator's decision on their invitation.
pub struct GuestNotice<'a> {
    pub institution: &'a str,
    /// The guest's names.
    pub guest: &'a str,
    pub end_date: chrono::NaiveDate,
    /// The moderator's words, if any.
    pub comment: &'a str,
    pub portal_url: &'a str,
}

/// The sponsor's invitation was approved: the guest was mailed their link.
pub fn invitation_approved(notice: &GuestNotice<'_>, language: Language) -> Content {
    let end = day(notice.end_date);
    match language {
        Language::French => fr::invitation_approved(notice, &end),
        Language::English => en::invitation_approved(notice, &end),
    }
}

/// The sponsor's invitation was rejected: no account was created.
pub fn invitation_rejected(notice: &GuestNotice<'_>, language: Language) -> Content {
    match language {
        Language::French => fr::invitation_rejected(notice),
        Language::English => en::invitation_rejected(notice),
    }
}

/// The moderators' notice of an invitation waiting for them, in both
/// languages (a shared mailbox has no language of its own).
pub fn invitation_to_moderate(
    institution: &str,
    (sponsor_given, sponsor_family): (&str, &str),
    invitation: &ValidInvitation,
) -> Content {
    let sponsor = format!("{sponsor_given} {sponsor_family}");
    let guest = format!(
        "{} {}",
        invitation.given_name.as_str(),
        invitation.family_name.as_str()
    );
    let end = day(invitation.end_date);
    let fr = fr::invitation_to_moderate(institution, &sponsor, &guest, &end, &invitation.reason);
    let en = en::invitation_to_moderate(institution, &sponsor, &guest, &end, &invitation.reason);
    Content {
        subject: format!("{} / {}", fr.subject, en.subject),
        text: format!("{}\n---\n\n{}", fr.text, en.text),
    }
}

/// The notice to the former recovery address that another one replaced it.
pub fn recovery_mail_replaced(
    institution: &str,
    login: &str,
    new_masked: &str,
    helpdesk_url: &str,
    language: Language,
) -> Content {
    match language {
        Language::French => {
            fr::recovery_mail_replaced(institution, login, new_masked, helpdesk_url)
        }
        Language::English => {
            en::recovery_mail_replaced(institution, login, new_masked, helpdesk_url)
        }
    }
}

/// The notice that the recovery phone changed (or was removed: `None`),
/// mailed where notices go, so that a change the owner did not make is
/// noticed.
pub fn recovery_phone_changed(
    institution: &str,
    login: &str,
    new_masked: Option<&str>,
    helpdesk_url: &str,
    language: Language,
) -> Content {
    match language {
        Language::French => {
            fr::recovery_phone_changed(institution, login, new_masked, helpdesk_url)
        }
        Language::English => {
            en::recovery_phone_changed(institution, login, new_masked, helpdesk_url)
        }
    }
}

/// A date as people of the institution read it.
fn day(date: chrono::NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// What an expiry notice says.
pub struct ExpiryNotice<'a> {
    pub institution: &'a str,
    pub login: &'a str,
    /// Last day the account works.
    pub retention_end: chrono::NaiveDate,
    pub days_left: i64,
    /// Where to ask for an extension, when the profile may have one.
    pub extension_url: Option<&'a str>,
    pub helpdesk_url: &'a str,
}

/// The request to keep a former student's account (`domain::alumni`).
pub struct AlumniOffer<'a> {
    pub institution: &'a str,
    pub login: &'a str,
    /// What the kept account gives access to, in the mail's language.
    pub services: &'a domain::consent::Localized,
    /// Whether the account is already kept (a yearly renewal) or about to
    /// close after the student's departure.
    pub renewal: bool,
    /// The last day of the current period: the answer is due by then.
    pub period_end: chrono::NaiveDate,
    /// The last day of the next period, for a "yes".
    pub kept_until: chrono::NaiveDate,
    /// The page that takes the answer.
    pub url: &'a str,
}

/// The request, in French then English: the person left, and may read
/// either (a former student from abroad).
pub fn alumni_offer(o: &AlumniOffer<'_>) -> Content {
    let (end, until) = (day(o.period_end), day(o.kept_until));
    let fr = fr::alumni_offer(o, (&end, &until));
    let en = en::alumni_offer(o, (&end, &until));
    Content {
        subject: format!("{} / {}", fr.subject, en.subject),
        text: format!(
            "{}
-- English below --

{}",
            fr.text, en.text
        ),
    }
}

/// What a sponsor is told of their guest's account closing.
pub struct GuestExpiry<'a> {
    pub institution: &'a str,
    /// The guest's names.
    pub guest: &'a str,
    pub login: &'a str,
    /// Last day the account works.
    pub retention_end: chrono::NaiveDate,
    pub portal_url: &'a str,
}

/// The sponsor's notice, beside the guest's, that the guest's account
/// will close.
pub fn guest_expiry_notice(n: &GuestExpiry<'_>, language: Language) -> Content {
    let last = day(n.retention_end);
    match language {
        Language::French => fr::guest_expiry_notice(n, &last),
        Language::English => en::guest_expiry_notice(n, &last),
    }
}

/// The notice, some days before the retention end, that the account will
/// close.
pub fn expiry_notice(n: &ExpiryNotice<'_>, language: Language) -> Content {
    let last = day(n.retention_end);
    match language {
        Language::French => fr::expiry_notice(n, &last),
        Language::English => en::expiry_notice(n, &last),
    }
}

/// The reminder that a password reaches its maximum age.
pub fn password_expiry_reminder(
    institution: &str,
    login: &str,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    portal_url: &str,
    language: Language,
) -> Content {
    let when = local(expires_at, tz, language);
    let on = day(expires_at.with_timezone(&tz).date_naive());
    let dates = (when.as_str(), on.as_str());
    match language {
        Language::French => fr::password_expiry_reminder(institution, login, dates, portal_url),
        Language::English => en::password_expiry_reminder(institution, login, dates, portal_url),
    }
}

/// The answer to an extension request.
pub fn extension_decided(
    institution: &str,
    login: &str,
    new_end: Option<chrono::NaiveDate>,
    comment: &str,
    language: Language,
) -> Content {
    let comment = comment.trim();
    let end = new_end.map(day);
    match (language, end) {
        (Language::French, Some(end)) => fr::extension_granted(institution, login, &end, comment),
        (Language::French, None) => fr::extension_refused(institution, login, comment),
        (Language::English, Some(end)) => en::extension_granted(institution, login, &end, comment),
        (Language::English, None) => en::extension_refused(institution, login, comment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn texts_carry_the_secret_and_local_time() {
        let at = Utc.with_ymd_and_hms(2026, 9, 14, 21, 59, 59).unwrap();
        let paris = chrono_tz::Europe::Paris;
        let c = verification(
            &VerificationMail {
                institution: "Université de Montpellier",
                after_activation: false,
                login: "jane.doe@umontpellier.fr",
                what: Verifying::RecoveryMail,
                url: "https://ent/activation/verify/abc",
                code: "12345678",
                expires_at: at,
                tz: paris,
            },
            Language::French,
        );
        assert!(c.text.contains("https://ent/activation/verify/abc"));
        assert!(c.text.contains("12345678"));
        assert!(c.text.contains("14/09/2026 à 23h59"), "{}", c.text);
        // Debug output never shows the secret.
        assert!(!format!("{c:?}").contains("12345678"));
        let sms = identity_code(
            "Université de Tours",
            "87654321",
            at,
            paris,
            Language::English,
            true,
        );
        assert!(sms.subject.is_empty() && sms.text.contains("87654321"));
    }
}
