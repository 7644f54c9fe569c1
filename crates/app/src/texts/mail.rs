//! What the service writes to people, in French (default) or English, with
//! the institution's name. Rendered when queued; see `store::outbox`.

use chrono::{DateTime, Utc};

use std::sync::Arc;

use domain::institution::InstitutionSettings;
use domain::language::Language;
use store::activation::{ActivationLinkFacts, LinkMail};
use store::outbox::Content;

/// A date and time as people of the institution read it.
fn local(at: DateTime<Utc>, tz: chrono_tz::Tz, language: Language) -> String {
    let t = at.with_timezone(&tz);
    match language {
        Language::French => t.format("%d/%m/%Y à %Hh%M").to_string(),
        Language::English => t.format("%d/%m/%Y at %H:%M").to_string(),
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
        Language::French => Content {
            subject: format!("{institution} : activez votre compte informatique"),
            text: format!(
                "Bonjour,\n\nVotre compte informatique {login} a été créé. Pour l'activer et choisir votre mot de passe, suivez ce lien (valable jusqu'au {until}) :\n\n{url}\n\nPassé ce délai, demandez un nouveau lien depuis « 1ère connexion » sur l'ENT.\nSi vous n'êtes pas à l'origine de cette inscription, ignorez ce message.\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: activate your account"),
            text: format!(
                "Hello,\n\nYour account {login} has been created. To activate it and choose your password, follow this link (valid until {until}):\n\n{url}\n\nAfter that, ask for a new link from \"first connection\" on the portal.\nIf you did not enrol, ignore this message.\n\n{institution}\n"
            ),
        },
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
    let text = match language {
        Language::French => format!(
            "{institution} : votre code d'activation est {code} (valable jusqu'au {until}). Ne le communiquez à personne."
        ),
        Language::English => format!(
            "{institution}: your activation code is {code} (valid until {until}). Never share it."
        ),
    };
    if sms {
        return Content {
            subject: String::new(),
            text,
        };
    }
    Content {
        subject: match language {
            Language::French => format!("{institution} : code d'activation de votre compte"),
            Language::English => format!("{institution}: your account activation code"),
        },
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
    let VerificationMail {
        institution,
        after_activation,
        login,
        what,
        url,
        code,
        expires_at,
        tz,
    } = *mail;
    let until = local(expires_at, tz, language);
    match language {
        Language::French => {
            let purpose = match what {
                Verifying::RecoveryMail => "comme adresse mail de secours",
                Verifying::Redirect => "pour y rediriger vos mails universitaires",
            };
            let (when, next) = if after_activation {
                (
                    "depuis la gestion du compte",
                    "Pour la valider, suivez ce lien puis confirmez :\n\n{url}",
                )
            } else {
                (
                    "lors de l'activation du compte",
                    "Pour poursuivre l'activation, suivez ce lien puis confirmez :\n\n{url}\n\nou saisissez ce code : {code}",
                )
            };
            let next = next.replace("{url}", url).replace("{code}", code);
            Content {
                subject: format!("{institution} : validez votre adresse mail"),
                text: format!(
                    "Bonjour,\n\nCette adresse a été indiquée {purpose} {when} {login}.\n{next}\n\nValable jusqu'au {until}. Passé ce délai, il faudra recommencer.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n{institution}\n"
                ),
            }
        }
        Language::English => {
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
    }
}

/// A password-reset link, mailed to the verified recovery address.
pub fn password_reset(to: &RecoveryMail<'_>, url: &str, language: Language) -> Content {
    let RecoveryMail {
        institution,
        login,
        expires_at,
        tz,
    } = *to;
    let until = local(expires_at, tz, language);
    match language {
        Language::French => Content {
            subject: format!("{institution} : changement de votre mot de passe"),
            text: format!(
                "Bonjour,\n\nUn nouveau mot de passe a été demandé pour le compte {login}. Pour le choisir, suivez ce lien (valable jusqu'au {until}, une seule fois) :\n\n{url}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: change your password"),
            text: format!(
                "Hello,\n\nA new password was asked for the account {login}. To choose it, follow this link (valid until {until}, once):\n\n{url}\n\nIf you did not ask for it, ignore this message: your current password still works.\n\n{institution}\n"
            ),
        },
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
    let RecoveryMail {
        institution,
        login,
        expires_at,
        tz,
    } = *to;
    let until = local(expires_at, tz, language);
    match language {
        Language::French => Content {
            subject: format!("{institution} : nouvelle clé d'activation"),
            text: format!(
                "Bonjour,\n\nUne nouvelle clé d'activation a été demandée pour le compte {login}.\n\nIdentifiant : {login}\nClé d'activation : {key}\n\nSaisissez-les sur {portal_url} (champ « Mot de passe / Clé d'activation ») pour réactiver votre compte et choisir un nouveau mot de passe. Clé valable jusqu'au {until}, une seule fois.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: new activation key"),
            text: format!(
                "Hello,\n\nA new activation key was asked for the account {login}.\n\nLogin: {login}\nActivation key: {key}\n\nType them on {portal_url} (\"password / activation key\" field) to activate your account again and choose a new password. Valid until {until}, once.\nIf you did not ask for it, ignore this message: your current password still works.\n\n{institution}\n"
            ),
        },
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
        Language::French => Content {
            subject: format!("{institution} : votre mot de passe a été changé"),
            text: format!(
                "Bonjour,\n\nLe mot de passe du compte {login} a été changé le {when}.\nSi vous n'êtes pas à l'origine de ce changement, demandez immédiatement un nouveau mot de passe et contactez l'assistance : {helpdesk_url}\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: your password was changed"),
            text: format!(
                "Hello,\n\nThe password of the account {login} was changed on {when}.\nIf you did not change it, ask for a new password now and contact the helpdesk: {helpdesk_url}\n\n{institution}\n"
            ),
        },
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
        Language::French => Content {
            subject: format!("{institution} : votre adresse mail de secours a changé"),
            text: format!(
                "Bonjour,\n\nCette adresse n'est plus l'adresse mail de secours du compte {login} : elle a été remplacée par {new_masked}.\nSi vous n'êtes pas à l'origine de ce changement, contactez l'assistance : {helpdesk_url}\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: your recovery address changed"),
            text: format!(
                "Hello,\n\nThis address is no longer the recovery address of the account {login}: it was replaced by {new_masked}.\nIf you did not change it, contact the helpdesk: {helpdesk_url}\n\n{institution}\n"
            ),
        },
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

/// The notice, some days before the retention end, that the account will
/// close.
pub fn expiry_notice(n: &ExpiryNotice<'_>, language: Language) -> Content {
    let (institution, login, last, left) =
        (n.institution, n.login, day(n.retention_end), n.days_left);
    match language {
        Language::French => Content {
            subject: format!("{institution} : votre compte sera fermé après le {last}"),
            text: format!(
                "Bonjour,\n\nVotre activité à l'université a pris fin. Le compte {login} (messagerie et gestion du compte) reste ouvert jusqu'au {last} inclus, soit encore {left} jour(s). Pensez à récupérer vos messages et documents.\n{}Assistance : {}\n\n{institution}\n",
                n.extension_url
                    .map(|u| format!("Vous pouvez demander une prolongation depuis l'ENT, « Gestion de compte » : {u}\n"))
                    .unwrap_or_default(),
                n.helpdesk_url
            ),
        },
        Language::English => Content {
            subject: format!("{institution}: your account closes after {last}"),
            text: format!(
                "Hello,\n\nYour activity at the university has ended. The account {login} (mail and account management) stays open until {last} included, {left} more day(s). Remember to save your mail and documents.\n{}Helpdesk: {}\n\n{institution}\n",
                n.extension_url
                    .map(|u| format!("You may ask for an extension from the portal, \"Account management\": {u}\n"))
                    .unwrap_or_default(),
                n.helpdesk_url
            ),
        },
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
    match language {
        Language::French => Content {
            subject: format!(
                "{institution} : votre mot de passe expire le {}",
                day(expires_at.with_timezone(&tz).date_naive())
            ),
            text: format!(
                "Bonjour,\n\nLe mot de passe du compte {login} expire le {when}. Changez-le avant cette date depuis l'ENT : {portal_url}\nAprès cette date, vous devrez en choisir un nouveau avant de pouvoir vous connecter.\n\n{institution}\n"
            ),
        },
        Language::English => Content {
            subject: format!(
                "{institution}: your password expires on {}",
                day(expires_at.with_timezone(&tz).date_naive())
            ),
            text: format!(
                "Hello,\n\nThe password of the account {login} expires on {when}. Change it before then from the portal: {portal_url}\nAfter that date you will have to choose a new one before signing in.\n\n{institution}\n"
            ),
        },
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
    match (language, new_end) {
        (Language::French, Some(end)) => Content {
            subject: format!("{institution} : prolongation de votre compte accordée"),
            text: format!(
                "Bonjour,\n\nVotre demande de prolongation est accordée : le compte {login} reste ouvert jusqu'au {} inclus.\n{comment}\n\n{institution}\n",
                day(end)
            ),
        },
        (Language::French, None) => Content {
            subject: format!("{institution} : prolongation de votre compte refusée"),
            text: format!(
                "Bonjour,\n\nVotre demande de prolongation du compte {login} n'a pas été accordée.\n{comment}\n\n{institution}\n"
            ),
        },
        (Language::English, Some(end)) => Content {
            subject: format!("{institution}: account extension granted"),
            text: format!(
                "Hello,\n\nYour extension request is granted: the account {login} stays open until {} included.\n{comment}\n\n{institution}\n",
                day(end)
            ),
        },
        (Language::English, None) => Content {
            subject: format!("{institution}: account extension refused"),
            text: format!(
                "Hello,\n\nYour request to extend the account {login} was not granted.\n{comment}\n\n{institution}\n"
            ),
        },
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
