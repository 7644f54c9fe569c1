//! Mail and SMS in English.

use chrono::{DateTime, Utc};
use domain::helpdesk::DeskAction;
use store::outbox::Content;

use super::{AlumniOffer, ExpiryNotice, GuestExpiry, GuestNotice, VerificationMail, Verifying};

/// A date and time as people of the university read it.
pub fn local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%d/%m/%Y at %H:%M")
        .to_string()
}

pub fn activation_link(institution: &str, login: &str, url: &str, until: &str) -> Content {
    Content {
        subject: format!("{institution}: activate your account"),
        text: format!(
            "Hello,\n\nYour account {login} has been created. To activate it and choose your password, follow this link (valid until {until}):\n\n{url}\n\nAfter that, ask for a new link from \"first connection\" on the portal.\nIf you did not enrol, ignore this message.\n\n{institution}\n"
        ),
    }
}

pub fn identity_code(institution: &str, code: &str, until: &str) -> String {
    format!("{institution}: your activation code is {code} (valid until {until}). Never share it.")
}

pub fn phone_code(institution: &str, code: &str, until: &str) -> String {
    format!(
        "{institution}: your verification code is {code} (valid until {until}). Do not share it."
    )
}

pub fn reset_code(institution: &str, login: &str, code: &str, until: &str) -> String {
    format!(
        "{institution}: your password reset code is {code}, for the account {login} (valid until {until}). Do not share it. If you asked for nothing, ignore this message."
    )
}

pub fn identity_code_subject(institution: &str) -> String {
    format!("{institution}: your account activation code")
}

pub fn verification(mail: &VerificationMail<'_>, until: &str) -> Content {
    let VerificationMail {
        institution,
        after_activation,
        login,
        what,
        url,
        code,
        ..
    } = *mail;
    let purpose = match what {
        Verifying::RecoveryMail => "as the recovery address",
        Verifying::Redirect => "to receive the university mail",
    };
    let (when, next) = if after_activation {
        (
            "from the account page of",
            "To confirm it, follow this link and confirm:\n\n{url}",
        )
    } else {
        (
            "while activating the account",
            "To go on, follow this link and confirm:\n\n{url}\n\nor type this code: {code}",
        )
    };
    let next = next.replace("{url}", url).replace("{code}", code);
    Content {
        subject: format!("{institution}: confirm your mail address"),
        text: format!(
            "Hello,\n\nThis address was given {purpose} {when} {login}.\n{next}\n\nValid until {until}. After that, start again.\nIf you did not ask for this, ignore this message.\n\n{institution}\n"
        ),
    }
}

pub fn password_reset(institution: &str, login: &str, url: &str, until: &str) -> Content {
    Content {
        subject: format!("{institution}: change your password"),
        text: format!(
            "Hello,\n\nA new password was asked for the account {login}. To choose it, follow this link (valid until {until}, once):\n\n{url}\n\nIf you did not ask for it, ignore this message: your current password still works.\n\n{institution}\n"
        ),
    }
}

pub fn reactivation_key(
    institution: &str,
    login: &str,
    key: &str,
    portal_url: &str,
    until: &str,
) -> Content {
    Content {
        subject: format!("{institution}: new activation key"),
        text: format!(
            "Hello,\n\nA new activation key was asked for the account {login}.\n\nLogin: {login}\nActivation key: {key}\n\nType them on {portal_url} (\"password / activation key\" field) to activate your account again and choose a new password. Valid until {until}, once.\nIf you did not ask for it, ignore this message: your current password still works.\n\n{institution}\n"
        ),
    }
}

pub fn password_changed(institution: &str, login: &str, when: &str, helpdesk_url: &str) -> Content {
    Content {
        subject: format!("{institution}: your password was changed"),
        text: format!(
            "Hello,\n\nThe password of the account {login} was changed on {when}.\nIf you did not change it, ask for a new password now and contact the helpdesk: {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn data_copy_notice(
    institution: &str,
    login: &str,
    when: &str,
    reference: &str,
    helpdesk_url: &str,
) -> Content {
    Content {
        subject: format!("{institution}: a copy of your personal data was handed over"),
        text: format!(
            "Hello,\n\nOn {when}, the helpdesk handed over a copy of the personal data the identity service keeps about the account {login}, answering the written request \"{reference}\".\nIf you did not make this request, contact the helpdesk now: {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn desk_notice(
    action: DeskAction,
    institution: &str,
    login: &str,
    when: &str,
    helpdesk_url: &str,
) -> Content {
    let (subject, what) = match action {
        DeskAction::PasswordReset => (
            "a new-password link was handed to you at the desk",
            format!(
                "handed over in person a link to choose a new password for the account {login}"
            ),
        ),
        DeskAction::Activation => (
            "new activation material was handed to you at the desk",
            format!(
                "handed over in person new activation material (a key, a provisional password or a link) for the account {login}; what was handed over before no longer works"
            ),
        ),
        DeskAction::RecoveryMailChange => (
            "a new recovery address was requested at the desk",
            format!(
                "recorded a new recovery mail address for the account {login}; it will replace the current one once confirmed from its inbox"
            ),
        ),
    };
    Content {
        subject: format!("{institution}: {subject}"),
        text: format!(
            "Hello,\n\nOn {when}, the helpdesk {what}, after checking your identity.\nIf you did not come to the desk, contact the helpdesk now: {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn recovery_phone_changed(
    institution: &str,
    login: &str,
    new_masked: Option<&str>,
    helpdesk_url: &str,
) -> Content {
    let what = match new_masked {
        Some(phone) => format!("is now {phone}"),
        None => "was removed".to_owned(),
    };
    Content {
        subject: format!("{institution}: your recovery phone changed"),
        text: format!(
            "Hello,\n\nThe recovery phone of the account {login}, where a password reset code can be sent by SMS, {what}.\nIf you did not make this change, contact the helpdesk: {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn recovery_mail_replaced(
    institution: &str,
    login: &str,
    new_masked: &str,
    helpdesk_url: &str,
) -> Content {
    Content {
        subject: format!("{institution}: your recovery address changed"),
        text: format!(
            "Hello,\n\nThis address is no longer the recovery address of the account {login}: it was replaced by {new_masked}.\nIf you did not change it, contact the helpdesk: {helpdesk_url}\n\n{institution}\n"
        ),
    }
}

pub fn expiry_notice(n: &ExpiryNotice<'_>, last: &str) -> Content {
    let (institution, login, left) = (n.institution, n.login, n.days_left);
    Content {
        subject: format!("{institution}: your account closes after {last}"),
        text: format!(
            "Hello,\n\nYour activity at the university has ended. The account {login} (mail and account management) stays open until {last} included, {left} more day(s). Remember to save your mail and documents.\n{}Helpdesk: {}\n\n{institution}\n",
            n.extension_url
                .map(|u| format!(
                    "You may ask for an extension from the portal, \"Account management\": {u}\n"
                ))
                .unwrap_or_default(),
            n.helpdesk_url
        ),
    }
}

pub fn alumni_offer(o: &AlumniOffer<'_>, (end, until): (&str, &str)) -> Content {
    let (institution, login, services) = (o.institution, o.login, &o.services.en);
    let why = if o.renewal {
        format!(
            "You chose to keep your account {login} as a former student; as every year, we ask whether you wish to keep it."
        )
    } else {
        format!(
            "Your studies at the university are over and your account {login} closes after {end}. You may choose to keep it as a former student."
        )
    };
    Content {
        subject: format!("{institution}: do you wish to keep your account?"),
        text: format!(
            "Hello,

{why}
A former student's account gives access to: {services}. It is kept until {until} and then every year as long as you answer yes. You may ask for its deletion at any time.

Answer by {end} included: {url}
Without an answer, the account closes after {end} and its data is deleted.

{institution}
",
            url = o.url,
        ),
    }
}

pub fn password_expiry_reminder(
    institution: &str,
    login: &str,
    (when, day): (&str, &str),
    portal_url: &str,
) -> Content {
    Content {
        subject: format!("{institution}: your password expires on {day}"),
        text: format!(
            "Hello,\n\nThe password of the account {login} expires on {when}. Change it before then from the portal: {portal_url}\nAfter that date you will have to choose a new one before signing in.\n\n{institution}\n"
        ),
    }
}

pub fn extension_granted(institution: &str, login: &str, end: &str, comment: &str) -> Content {
    Content {
        subject: format!("{institution}: account extension granted"),
        text: format!(
            "Hello,\n\nYour extension request is granted: the account {login} stays open until {end} included.\n{comment}\n\n{institution}\n"
        ),
    }
}

pub fn extension_refused(institution: &str, login: &str, comment: &str) -> Content {
    Content {
        subject: format!("{institution}: account extension refused"),
        text: format!(
            "Hello,\n\nYour request to extend the account {login} was not granted.\n{comment}\n\n{institution}\n"
        ),
    }
}

pub fn invitation_approved(notice: &GuestNotice<'_>, end: &str) -> Content {
    let GuestNotice {
        institution,
        guest,
        comment,
        portal_url,
        ..
    } = notice;
    let comment = if comment.is_empty() {
        String::new()
    } else {
        format!("\nComment: {comment}\n")
    };
    Content {
        subject: format!("{institution}: your invitation of {guest} is approved"),
        text: format!(
            "Hello,\n\nYour invitation of {guest} (until {end}) was approved. An activation link was mailed to them.\n{comment}\nYour guests are listed on {portal_url}\n\n{institution}\n"
        ),
    }
}

pub fn invitation_rejected(notice: &GuestNotice<'_>) -> Content {
    let GuestNotice {
        institution,
        guest,
        comment,
        ..
    } = notice;
    let comment = if comment.is_empty() {
        String::new()
    } else {
        format!("\nReason: {comment}\n")
    };
    Content {
        subject: format!("{institution}: your invitation of {guest} is rejected"),
        text: format!(
            "Hello,\n\nYour invitation of {guest} was rejected; no account was created.\n{comment}\n{institution}\n"
        ),
    }
}

pub fn invitation_to_moderate(
    institution: &str,
    sponsor: &str,
    guest: &str,
    end: &str,
    reason: &str,
) -> Content {
    Content {
        subject: format!("{institution}: invitation of {guest} to decide"),
        text: format!(
            "Hello,\n\n{sponsor} invites {guest} until {end}.\nReason: {reason}\n\nThe invitation waits for your decision in the account management tool.\n"
        ),
    }
}

pub fn guest_expiry_notice(n: &GuestExpiry<'_>, last: &str) -> Content {
    let GuestExpiry {
        institution,
        guest,
        login,
        portal_url,
        ..
    } = n;
    Content {
        subject: format!("{institution}: your guest {guest}'s account closes after {last}"),
        text: format!(
            "Hello,\n\nThe account {login} of {guest}, whom you sponsor, stays open until {last} included. To renew their stay, go to the \"My guests\" page: {portal_url}\n\n{institution}\n"
        ),
    }
}
